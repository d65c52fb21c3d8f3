//! `agency kill`: end a run's tmux session; the worktree and record stay.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::session;

/// End a run's tmux session (the worktree, branch and record stay; `agency resume` restarts it)
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
}

pub fn cmd_kill(ctx: &CommandContext, args: KillArgs) -> Result<()> {
    let killed = session::kill(&ctx.env, &args.reference)?;
    ctx.out.line(if killed { "session: killed" } else { "session: already gone" });
    Ok(())
}
