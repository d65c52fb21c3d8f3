//! Step 8 of `agency run` (and `resume`): the runner plugin plans, the one checker approves the
//! plan (program, arguments, cwd, every variable, stdin, ready text, keystrokes), and the host
//! starts exactly the approved program in tmux session `agency_<run_id>` on a server it then
//! records. The pane process is `agency __agent` (see `process::agent`): it gives the agent
//! the clean environment built here — the caller's documented base, the run's `AGENCY_*`
//! variables and the declared-and-granted ones, never the tmux server's — records how the
//! agent ended, and leaves a shell in the worktree. An interactive prompt the runner wants
//! pasted is delivered by [`super::prompt`].

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::RunRecord;
use super::authorize::{self, Authorized};
use crate::clock as time;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::plugin::CallContext;
use crate::plugin::api::{Interrupt, LaunchPlan, Mode, PlanRequest, PromptDelivery, Signal};
use crate::process::shell_quote;
use crate::store::meta::{Attention, InterruptRecord, Launch, RunMeta};
use crate::{child_env, safe_text, tmux};

/// How much of the launched command line the record keeps.
const RUNNER_CMD_LIMIT: usize = 8 << 10;

/// How to launch: the plugin's request plus the host's own time limit (headless runs).
pub struct LaunchRequest {
    pub plan: PlanRequest,
    pub timeout: Option<Duration>,
}

/// Plan, check and start the agent; returns the updated record.
pub fn launch(
    env: &Env,
    record: &RunRecord,
    meta: &RunMeta,
    repo_root: &Path,
    runner: &Authorized,
    launch: &LaunchRequest,
) -> Result<RunMeta> {
    let request = &launch.plan;
    let id = runner.plugin.info.id.clone();
    let run = authorize::run_info(env, meta, &record.paths, repo_root, &id, runner.params.clone())?;
    let ctx = CallContext::for_run(run.clone(), runner.granted.clone());
    let plan = env.plugins().plan(&runner.plugin, &ctx, request)?;
    let then = format!("agency resume {}", meta.name);
    let approved = env.plugins().check_launch(&runner.plugin, &runner.granted, &run, &plan, &then)?;
    let server = tmux::Server::for_new_session()?;

    let session = tmux::session_name(&meta.run_id);
    let _ = std::fs::remove_file(record.paths.runner_exit());
    let mut vars: Vec<(String, String)> = child_env::base()
        .into_iter()
        .filter(|(name, _)| name != "TERM") // tmux sets the pane's own TERM
        .filter_map(|(name, value)| Some((name, value.into_string().ok()?)))
        .collect();
    vars.extend(child_env::agency_vars(meta, &record.paths, repo_root));
    vars.extend(child_env::resolve(&approved.env).into_iter().filter_map(|(n, v)| Some((n, v.into_string().ok()?))));
    let argv = agent_argv(record, request.mode, &plan, launch.timeout, &vars, &approved.program)?;
    // tmux reports the session's server only once the session exists, so no second call
    // asks whether it started (a session that ends later is what `ls` reports).
    let socket =
        tmux::new_session(&server, &tmux::NewSession { name: &session, cwd: &approved.cwd, env: &vars, argv: &argv })?;

    let runner_cmd = safe_text::truncate(
        &std::iter::once(&plan.command.program)
            .chain(&plan.command.args)
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" "),
        RUNNER_CMD_LIMIT,
    );
    let provenance = serde_json::to_value(runner.plugin.provenance(&runner.granted)).unwrap_or_default();
    let mode = match request.mode {
        Mode::Interactive => "interactive",
        Mode::Headless => "headless",
    };
    let delivery = plan.prompt.as_str();
    record.event(
        "session_started",
        json!({ "session": session, "socket": socket, "runner_cmd": runner_cmd, "mode": mode, "plugin": id, "prompt_delivery": delivery }),
    )?;
    let interrupt = match &plan.interrupt {
        Interrupt::Keys(keys) => InterruptRecord::Keys(keys.clone()),
        Interrupt::Signal(Signal::Interrupt) => InterruptRecord::Signal("interrupt".into()),
        Interrupt::Signal(Signal::Terminate) => InterruptRecord::Signal("terminate".into()),
    };
    let updated = record.update_meta(|m| {
        m.tmux_session_name = Some(session.clone());
        m.tmux_socket = Some(socket.display().to_string());
        m.runner_cmd = runner_cmd.clone();
        m.plugins.insert("runner".into(), provenance.clone());
        m.launch = Some(Box::new(Launch {
            mode: mode.into(),
            started_at: Some(time::now_rfc3339()),
            prompt_delivery: Some(delivery.into()),
            interrupt: Some(interrupt.clone()),
            timeout_secs: launch.timeout.map(|t| t.as_secs()),
            ..Launch::default()
        }));
        let flags = m.flags_mut();
        flags.clear(Attention::LaunchFailed);
        flags.clear(Attention::StopRequested);
        flags.clear(Attention::PromptNotDelivered);
    })?;
    match (request.mode, &plan.prompt, &request.prompt) {
        (Mode::Interactive, PromptDelivery::Paste(text), _) => super::prompt::deliver(
            env,
            record,
            &super::prompt::Target { server: &server, session: &session, plugin: &runner.plugin, ready: &plan.ready },
            text,
        ),
        (_, PromptDelivery::Argv | PromptDelivery::Stdin, Some(prompt)) => {
            super::prompt::delivered(record, prompt.len(), delivery)
        }
        _ => Ok(updated),
    }
}

/// `agency __agent … -- <program> <args>` for the pane: the exit record, the headless log,
/// stdin and time limit, the names of the variables the agent keeps, and the shell to leave.
fn agent_argv(
    record: &RunRecord,
    mode: Mode,
    plan: &LaunchPlan,
    timeout: Option<Duration>,
    vars: &[(String, String)],
    program: &Path,
) -> Result<Vec<String>> {
    let exe = std::env::current_exe()
        .map_err(|e| AgencyError::internal(format!("cannot find the agency executable to start the agent: {e}")))?;
    let mut argv = vec![
        exe.display().to_string(),
        "__agent".into(),
        "--exit-file".into(),
        record.paths.runner_exit().display().to_string(),
    ];
    if mode == Mode::Headless {
        argv.extend(["--log".into(), record.paths.log("runner").display().to_string()]);
    }
    if let Some(text) = &plan.stdin {
        let path = record.paths.dir.join("runner_stdin.txt");
        crate::store::atomic::write_atomic(&path, text.as_bytes())
            .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write the runner's stdin", &path, e))?;
        argv.extend(["--stdin".into(), path.display().to_string()]);
    }
    if let Some(limit) = timeout {
        argv.extend(["--limit".into(), limit.as_secs().max(1).to_string()]);
    }
    let keep: Vec<&str> = vars.iter().map(|(name, _)| name.as_str()).collect();
    argv.extend(["--keep".into(), keep.join(",")]);
    argv.extend(["--shell".into(), user_shell().display().to_string()]);
    argv.push("--".into());
    argv.push(program.display().to_string());
    argv.extend(plan.command.args.iter().cloned());
    Ok(argv)
}

/// The caller's login shell for the pane after the agent (an absolute, executable path), else `/bin/sh`.
fn user_shell() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("SHELL")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .unwrap_or_else(|| PathBuf::from("/bin/sh"))
}
