//! `agency stop`: interrupt the agent's current turn; the agent and the session stay.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::session::{self, Stopped};

/// Interrupt the agent's current turn the way its runner says (Escape for Claude and Codex); the agent stays
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
}

pub fn cmd_stop(ctx: &CommandContext, args: StopArgs) -> Result<()> {
    match session::stop(&ctx.env, &args.reference)? {
        Stopped::Interrupted { how, settled } => {
            ctx.out.key_values(&[("interrupted".into(), how), ("now".into(), settled)]);
        }
        Stopped::NotBusy(what) => {
            ctx.out
                .key_values(&[("interrupted".into(), "nothing (the agent was not busy)".into()), ("now".into(), what)]);
        }
        Stopped::Exited => {
            ctx.out.key_values(&[("interrupted".into(), "nothing (the agent has exited)".into())]);
        }
    }
    Ok(())
}
