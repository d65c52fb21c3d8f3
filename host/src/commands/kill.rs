//! `agency kill`: end a run's tmux session and every process the run started; the worktree
//! and record stay.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::session;

/// End a run's session and every process it started (the worktree, branch and record stay; `agency resume` restarts it)
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
}

pub fn cmd_kill(ctx: &CommandContext, args: KillArgs) -> Result<()> {
    let killed = session::kill(&ctx.env, &args.reference)?;
    let mut lines = vec![("session".into(), if killed.session { "killed" } else { "already gone" }.to_string())];
    if killed.stragglers > 0 {
        lines.push(("other_processes_ended".into(), killed.stragglers.to_string()));
    }
    ctx.out.key_values(&lines);
    Ok(())
}
