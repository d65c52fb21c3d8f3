//! `agency resume`: bring a run's agent session back (after a reboot, a kill, or an exit).

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::session::{self, Resumed};

/// Recreate a run's tmux session from its runner plugin's plan, then attach
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
    /// Kill a live session first and start the agent again
    #[arg(long)]
    restart: bool,
    /// Do not attach (the default when not on a terminal)
    #[arg(long)]
    detached: bool,
}

pub fn cmd_resume(ctx: &CommandContext, args: ResumeArgs) -> Result<()> {
    let (server, session) = match session::resume(&ctx.env, &args.reference, args.restart)? {
        Resumed::AlreadyRunning(session) => {
            ctx.out.line(&format!("session: {session} (already running)"));
            let run = session::open_live(&ctx.env, &args.reference, crate::query::Purpose::Act)?;
            (run.server(), session)
        }
        Resumed::Started { session, server, continued } => {
            ctx.out.line(&format!("session: {session} (started)"));
            if let Some(id) = continued {
                ctx.out.line(&format!("continued: the agent's session {id}"));
            }
            (server, session)
        }
    };
    if !args.detached && ctx.env.ui.interactive() {
        session::attach_session(&ctx.env, &server, &session)?;
    }
    Ok(())
}
