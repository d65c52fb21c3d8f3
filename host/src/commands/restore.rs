//! `agency restore`: bring an archived run back.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::restore;

/// Recreate an archived run's worktree and branch, with its saved uncommitted work
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Run id, unique run-id prefix, or the name of an archived run (the newest of that name)
    reference: String,
}

pub fn cmd_restore(ctx: &CommandContext, args: RestoreArgs) -> Result<()> {
    let meta = restore::restore(&ctx.env, &args.reference)?;
    ctx.out.key_values(&[
        ("name".into(), meta.name.clone()),
        ("run_id".into(), meta.run_id.clone()),
        ("branch".into(), meta.branch.clone()),
        ("worktree".into(), meta.worktree_path.clone()),
        ("next".into(), format!("agency resume {}", meta.name)),
    ]);
    Ok(())
}
