//! `agency plugin test`: the conformance kit.

use clap::Args;
use std::path::PathBuf;

use crate::admin::conformance;
use crate::cli::CommandContext;
use crate::cli::output::{Style, table};
use crate::error::{AgencyError, ErrorCode, Result};

/// Check a plugin: info, API version, capabilities, plans through the checker, recorded screens
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Plugin id or path to a .wasm file
    target: String,
    /// Directory of recorded screens named <state>--<what>.txt (state: starting, working,
    /// needs-input, idle, error, exited, unknown)
    #[arg(long, value_name = "DIR")]
    screens: Option<PathBuf>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn cmd_test(ctx: &CommandContext, args: TestArgs) -> Result<()> {
    let checks = conformance::run(&ctx.env, &args.target, args.screens.as_deref(), conformance::Compile::Cached)?;
    let failed = checks.iter().filter(|c| !c.passed).count();
    if args.json {
        ctx.out.json(&serde_json::json!({ "schema_version": "1.0", "passed": failed == 0, "checks": checks }));
    } else {
        let mut rows = vec![["CHECK", "RESULT", "DETAIL"].map(|h| ctx.out.paint(h, Style::Bold)).to_vec()];
        for c in &checks {
            let result = if c.passed { ctx.out.paint("pass", Style::Green) } else { ctx.out.paint("FAIL", Style::Red) };
            rows.push(vec![c.check.clone(), result, c.detail.clone()]);
        }
        ctx.out.raw(table(&rows).as_bytes());
    }
    if failed > 0 {
        return Err(AgencyError::new(
            ErrorCode::PluginFailed,
            format!("{failed} of {} conformance checks failed", checks.len()),
        )
        .with_hint("fix the plugin (see the FAIL rows), rebuild, and run agency plugin test again"));
    }
    Ok(())
}
