//! `agency plugin dev`

use clap::Args;
use std::path::PathBuf;

use crate::admin::{conformance, plugin_admin, plugin_new};
use crate::cli::CommandContext;
use crate::error::{AgencyError, ErrorCode, Result};

/// Build a plugin project (Rust, or Python/JS as `plugin new` scaffolds them), run the
/// conformance kit, and install it for development (compiled in memory; the shared compile
/// cache is never touched). Nothing is installed when a check fails.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// The plugin project directory (with Cargo.toml, build.sh or build.mjs)
    dir: PathBuf,
    /// Install even when conformance checks fail
    #[arg(long)]
    allow_failing: bool,
}

pub fn cmd_dev(ctx: &CommandContext, args: DevArgs) -> Result<()> {
    let dir = ctx.env.cwd.join(&args.dir);
    let wasm = plugin_new::build(&dir)?;
    let screens = dir.join("screens");
    let checks = conformance::run(
        &ctx.env,
        &wasm.display().to_string(),
        screens.is_dir().then_some(screens.as_path()),
        conformance::Compile::InMemory,
    )?;
    let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
    let summary = format!("conformance: {} of {} checks passed", checks.len() - failed.len(), checks.len());
    for check in &failed {
        ctx.env.ui.warn(&format!("conformance: {}: {}", check.check, check.detail));
    }
    if !failed.is_empty() && !args.allow_failing {
        ctx.out.line(&summary);
        return Err(AgencyError::new(
            ErrorCode::PluginFailed,
            format!("{} of {} conformance checks failed; nothing was installed", failed.len(), checks.len()),
        )
        .with_hint(format!(
            "fix the plugin and run agency plugin dev {} again (or --allow-failing)",
            args.dir.display()
        )));
    }
    let added = plugin_admin::add(&ctx.env, &wasm, true)?;
    super::print_view(&ctx.out, &added.view);
    ctx.out.line(&format!("installed: {} (dev: compiled in memory on each use)", added.installed.display()));
    ctx.out.line(&summary);
    if added.view.grant != "granted" {
        ctx.out.line(&format!("next: agency plugin trust {}   # grant what it declares", added.view.id));
    }
    Ok(())
}
