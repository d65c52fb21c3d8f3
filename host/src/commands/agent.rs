//! `agency __agent` (hidden): the process the launch step starts in a run's tmux pane. Not
//! for people; see `process::agent` for what it does.

use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::process::agent::{self, AgentSpec};

/// Run an agent in a tmux pane with exactly the planned environment (started by agency)
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Where to record how the agent ended
    #[arg(long)]
    exit_file: PathBuf,
    /// Headless: copy the agent's output to this log
    #[arg(long)]
    log: Option<PathBuf>,
    /// Headless: feed this file to the agent's stdin
    #[arg(long)]
    stdin: Option<PathBuf>,
    /// Headless: time limit in seconds
    #[arg(long)]
    limit: Option<u64>,
    /// Comma-separated names of the variables the agent may see
    #[arg(long, default_value = "")]
    keep: String,
    /// The shell left in the pane after the agent exits
    #[arg(long)]
    shell: PathBuf,
    /// The program and its arguments
    #[arg(last = true, required = true)]
    command: Vec<OsString>,
}

pub fn cmd_agent(args: AgentArgs) -> Result<()> {
    let (program, rest) = args.command.split_first().ok_or_else(|| AgencyError::new(ErrorCode::Usage, "no program"))?;
    let spec = AgentSpec {
        exit_file: args.exit_file,
        log: args.log,
        stdin: args.stdin,
        limit: args.limit.map(Duration::from_secs),
        keep: args.keep.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect(),
        shell: args.shell,
        program: PathBuf::from(program),
        args: rest.to_vec(),
    };
    let err = agent::run(&spec);
    Err(AgencyError::new(ErrorCode::Internal, format!("cannot start the shell after the agent: {err}")))
}
