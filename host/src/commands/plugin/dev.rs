//! `agency plugin dev`

use clap::Args;
use std::path::PathBuf;

use crate::admin::{conformance, plugin_admin, plugin_new};
use crate::cli::CommandContext;
use crate::error::Result;

/// Rebuild a Rust plugin project, run the conformance kit, and install it for development
/// (compiled in memory; the shared compile cache is never touched)
#[derive(Debug, Args)]
pub struct DevArgs {
    /// The plugin project directory (with Cargo.toml)
    dir: PathBuf,
}

pub fn cmd_dev(ctx: &CommandContext, args: DevArgs) -> Result<()> {
    let dir = ctx.env.cwd.join(&args.dir);
    let wasm = plugin_new::build(&dir)?;
    let screens = dir.join("screens");
    let checks =
        conformance::run(&ctx.env, &wasm.display().to_string(), screens.is_dir().then_some(screens.as_path()))?;
    let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
    for check in &failed {
        ctx.env.ui.warn(&format!("conformance: {}: {}", check.check, check.detail));
    }
    let added = plugin_admin::add(&ctx.env, &wasm, true)?;
    super::print_view(&ctx.out, &added.view);
    ctx.out.line(&format!("installed: {} (dev: compiled in memory on each use)", added.installed.display()));
    ctx.out.line(&format!("conformance: {} of {} checks passed", checks.len() - failed.len(), checks.len()));
    Ok(())
}
