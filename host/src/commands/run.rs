//! `agency run`: create a run — worktree, record, setup — and start the agent in tmux.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::run::{self, RunRequest};
use crate::pipeline::session;

/// Create an isolated run: a worktree on its own branch, a record, setup, and the agent in tmux
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run name (a-z, 0-9, -); derived from the title or `run-<shortid>` when omitted
    #[arg(long)]
    name: Option<String>,
    /// Human title (defaults to the name)
    #[arg(long)]
    title: Option<String>,
    /// Runner plugin or configured runner (default: defaults.runner from config.json)
    #[arg(long)]
    runner: Option<String>,
    /// Branch to start from (default: the current branch)
    #[arg(long)]
    parent: Option<String>,
    /// Task for the agent
    #[arg(long)]
    prompt: Option<String>,
    /// Run the agent without a TUI, output to logs/runner.log (requires --prompt)
    #[arg(long, requires = "prompt")]
    headless: bool,
    /// Time limit for a headless agent (e.g. 30m); it and every process it started get SIGTERM
    /// when it expires (SIGKILL 5 s later)
    #[arg(long, requires = "headless", value_parser = humantime::parse_duration)]
    timeout: Option<std::time::Duration>,
    /// Do not attach to the session (the default when not on a terminal)
    #[arg(long)]
    detached: bool,
}

pub fn cmd_run(ctx: &CommandContext, args: RunArgs) -> Result<()> {
    let request = RunRequest {
        name: args.name,
        title: args.title,
        runner: args.runner,
        parent: args.parent,
        prompt: args.prompt,
        headless: args.headless,
        timeout: args.timeout,
    };
    let started = run::run(&ctx.env, &request)?;
    let meta = &started.meta;
    let session = meta.tmux_session_name.clone().unwrap_or_default();
    ctx.out.key_values(&[
        ("run_id".into(), meta.run_id.clone()),
        ("name".into(), meta.name.clone()),
        ("branch".into(), meta.branch.clone()),
        ("worktree".into(), meta.worktree_path.clone()),
        ("setup".into(), started.setup.summary.clone()),
        ("session".into(), session.clone()),
        ("runner_cmd".into(), meta.runner_cmd.clone()),
    ]);
    let attach = !args.detached && !args.headless && ctx.env.ui.interactive();
    if attach {
        session::attach_session(&ctx.env, &meta.tmux_server(), &session)?;
    } else {
        ctx.env.ui.status(&format!("attach with: agency attach {}", meta.name));
    }
    Ok(())
}
