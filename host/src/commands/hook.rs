//! `agency hook`: the entry point an agent's own hooks call (see `pipeline::hook`).

use clap::Args;
use std::io::Read;
use std::time::Duration;

use crate::error::Result;
use crate::pipeline::hook::{self, PAYLOAD_LIMIT, Reported};

/// Report the agent's state from its own hooks (Claude Code settings hooks, Codex notify);
/// run by the agent, inside a run
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The runner whose agent reports (claude, codex, …)
    runner: String,
    /// What the agent is doing
    #[arg(value_enum)]
    activity: Reported,
    /// The agent's JSON payload when it passes it as an argument (Codex notify); otherwise
    /// it is read from stdin when stdin is not a terminal
    payload: Option<String>,
}

pub fn cmd_hook(args: HookArgs) -> Result<()> {
    let payload = args.payload.or_else(read_stdin);
    hook::record(&args.runner, args.activity, payload.as_deref()).map(|_| ())
}

/// The payload on stdin: bounded, and never waiting long on a pipe nobody closes.
fn read_stdin() -> Option<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return None;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::io::stdin().take(PAYLOAD_LIMIT as u64).read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    let bytes = rx.recv_timeout(Duration::from_secs(1)).ok()?;
    String::from_utf8(bytes).ok()
}
