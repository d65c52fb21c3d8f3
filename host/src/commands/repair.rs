//! `agency repair`: reconcile records, worktrees, branches, sessions and locks.

use clap::Args;

use crate::cli::CommandContext;
use crate::cli::output::table;
use crate::error::Result;
use crate::pipeline::repair;

/// Find and fix drift between run records, git worktrees, branches, tmux sessions and locks
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Only print the findings and the actions a real run would take
    #[arg(long)]
    dry_run: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn cmd_repair(ctx: &CommandContext, args: RepairArgs) -> Result<()> {
    let findings = repair::repair(&ctx.env, args.dry_run)?;
    if args.json {
        ctx.out.json(&serde_json::json!({ "schema_version": "1.0", "dry_run": args.dry_run, "findings": findings }));
        return Ok(());
    }
    if findings.is_empty() {
        ctx.out.line("nothing to repair");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = findings
        .into_iter()
        .map(|f| {
            vec![f.kind, f.subject, f.detail, format!("→ {}", f.action), f.result.unwrap_or_else(|| "(dry run)".into())]
        })
        .collect();
    ctx.out.raw(table(&rows).as_bytes());
    Ok(())
}
