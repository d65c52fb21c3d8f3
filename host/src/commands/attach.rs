//! `agency attach`: attach the terminal to a run's tmux session.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::session;

/// Attach to a run's tmux session (detach again with the tmux prefix, then d)
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
}

pub fn cmd_attach(ctx: &CommandContext, args: AttachArgs) -> Result<()> {
    session::attach(&ctx.env, &args.reference)
}
