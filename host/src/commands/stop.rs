//! `agency stop`: interrupt the agent; the session and the workspace stay.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::session;

/// Interrupt the agent (Ctrl-C in its pane) and flag the run for attention; the session stays
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
}

pub fn cmd_stop(ctx: &CommandContext, args: StopArgs) -> Result<()> {
    let session = session::stop(&ctx.env, &args.reference)?;
    ctx.out.line(&format!("interrupted: {session}"));
    Ok(())
}
