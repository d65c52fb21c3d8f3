//! `agency path`: print a run's worktree path, for scripting (`cd "$(agency path x)"`).

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::query;

/// Print the worktree path of a run
#[derive(Debug, Args)]
pub struct PathArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
}

pub fn cmd_path(ctx: &CommandContext, args: PathArgs) -> Result<()> {
    let entry = query::find(&ctx.env, &args.reference, query::Purpose::Read)?;
    ctx.out.line(&entry.meta_or_broken()?.worktree_path);
    Ok(())
}
