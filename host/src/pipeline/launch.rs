//! Step 8 of `agency run` (and `resume`): the runner plugin plans, the host checks the plan
//! with the one checker and starts it in tmux session `agency_<run_id>` with the worktree as
//! cwd. A small POSIX wrapper records the agent's exit code in `runner_exit.json`, tees
//! headless output to `logs/runner.log`, and then leaves a shell in the pane, so the session
//! outlives the agent. An interactive prompt is typed once the plan's ready pattern shows.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::RunRecord;
use super::authorize::{self, Authorized};
use crate::clock as time;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::plugin::CallContext;
use crate::plugin::api::{EnvValue, LaunchPlan, Mode, PlanRequest};
use crate::process::{shell_quote, which};
use crate::store::RunPaths;
use crate::store::meta::{Launch, RunMeta};
use crate::tmux;

/// Runs the agent, records how it ended, then keeps the pane usable with the user's shell.
/// Arguments: exit-file, log file or `-`, stdin file or `-`, time limit in seconds or `-`,
/// program, args…  With a limit the agent gets SIGTERM (then SIGKILL) when it expires.
///
/// A limited agent runs in its own session (`setsid`), so the signal reaches every process it
/// started: a child left alive would hold the log pipe open and the run would not end. The
/// watchdog writes nowhere and takes its timer down with it for the same reason.
const WRAPPER: &str = r#"exit_file=$1; log=$2; input=$3; limit=$4; shift 4
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
rm -f "$exit_file.timeout"
own_group=; command -v setsid >/dev/null 2>&1 && own_group=setsid
signal_agent() { kill "-$1" "-$agent" 2>/dev/null || kill "-$1" "$agent" 2>/dev/null; }
run_agent() {
  if [ "$limit" = - ]; then
    if [ "$input" = - ]; then "$@"; else "$@" < "$input"; fi
    return
  fi
  if [ "$input" = - ]; then $own_group "$@" & else $own_group "$@" < "$input" & fi
  agent=$!
  ( sleep "$limit" & timer=$!
    trap 'kill "$timer" 2>/dev/null; exit 0' TERM
    wait "$timer"
    : > "$exit_file.timeout"; signal_agent TERM; sleep 5; signal_agent KILL ) >/dev/null 2>&1 &
  watchdog=$!
  wait "$agent"; status=$?
  kill "$watchdog" 2>/dev/null
  return $status
}
if [ "$log" = - ]; then
  run_agent "$@"; code=$?
else
  { run_agent "$@"; echo $? > "$exit_file.code"; } 2>&1 | tee -a "$log"
  code=$(cat "$exit_file.code" 2>/dev/null); code=${code:-255}; rm -f "$exit_file.code"
fi
timed_out=false; [ -e "$exit_file.timeout" ] && timed_out=true; rm -f "$exit_file.timeout"
printf '{"exit_code": %s, "timed_out": %s, "started_at": "%s", "ended_at": "%s"}\n' "$code" "$timed_out" "$started" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$exit_file.tmp" && mv -f "$exit_file.tmp" "$exit_file"
printf '\n[agency] the agent exited with status %s; this shell stays in the worktree (agency resume --restart starts the agent again)\n' "$code"
exec "${SHELL:-/bin/sh}"
"#;

/// How long to wait for an interactive agent's ready pattern before typing the prompt.
fn ready_timeout() -> Duration {
    std::env::var("AGENCY_READY_TIMEOUT")
        .ok()
        .and_then(|v| humantime::parse_duration(&v).ok())
        .unwrap_or(Duration::from_secs(30))
}

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
    let ctx = CallContext { run: Some(run.clone()), granted: runner.granted.clone(), exec_log: None, deadline: None };
    let plan = env.plugins().plan(&runner.plugin, &ctx, request)?;
    env.plugins().check_launch(&runner.plugin, &runner.granted, &run, &plan)?;
    if which(&plan.command.program).is_none() {
        return Err(AgencyError::new(
            ErrorCode::RunnerNotFound,
            format!("runner `{}` needs `{}`, which is not on PATH", meta.runner, plan.command.program),
        )
        .with_hint(format!("install {} (or fix PATH), then: agency resume {}", plan.command.program, meta.name)));
    }

    let session = tmux::session_name(&meta.run_id);
    let exit = record.paths.runner_exit.clone();
    let _ = std::fs::remove_file(&exit);
    let log = match request.mode {
        Mode::Headless => record.paths.log("runner").display().to_string(),
        Mode::Interactive => "-".to_string(),
    };
    let input = match &plan.stdin {
        Some(text) => {
            let path = record.paths.dir.join("runner_stdin.txt");
            crate::store::atomic::write_atomic(&path, text.as_bytes()).map_err(|e| {
                AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write the runner's stdin", &path, e)
            })?;
            path.display().to_string()
        }
        None => "-".to_string(),
    };
    let limit = launch.timeout.map_or("-".to_string(), |t| t.as_secs().max(1).to_string());
    let mut argv = vec![
        "sh".into(),
        "-c".into(),
        WRAPPER.into(),
        "agency-runner".into(),
        exit.display().to_string(),
        log,
        input,
        limit,
    ];
    argv.push(plan.command.program.clone());
    argv.extend(plan.command.args.iter().cloned());
    let cwd = PathBuf::from(plan.command.cwd.clone().unwrap_or_else(|| meta.worktree_path.clone()));
    let session_env = session_env(meta, &record.paths, repo_root, &plan);
    tmux::new_session(&tmux::NewSession { name: &session, cwd: &cwd, env: &session_env, argv: &argv })?;
    if !tmux::has_session(&session)? {
        return Err(AgencyError::new(ErrorCode::TmuxFailed, format!("tmux session {session} did not start"))
            .with_hint(format!("agency doctor   # checks tmux; then agency resume {}", meta.name)));
    }
    let runner_cmd = std::iter::once(&plan.command.program)
        .chain(&plan.command.args)
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ");
    let provenance = serde_json::to_value(runner.plugin.provenance(&runner.granted)).unwrap_or_default();
    let mode = match request.mode {
        Mode::Interactive => "interactive",
        Mode::Headless => "headless",
    };
    record.event(
        "session_started",
        json!({ "session": session, "runner_cmd": runner_cmd, "mode": mode, "plugin": id }),
    )?;
    let mut updated = record.update_meta(|m| {
        m.tmux_session_name = Some(session.clone());
        m.runner_cmd = runner_cmd.clone();
        m.plugins.insert("runner".into(), provenance.clone());
        let mut record = Launch { mode: mode.into(), started_at: Some(time::now_rfc3339()), ..Launch::default() };
        if let Some(timeout) = launch.timeout {
            record.extra.insert("timeout_secs".into(), json!(timeout.as_secs()));
        }
        m.launch = Some(record);
        if m.flags.as_ref().and_then(|f| f.needs_attention_reason.as_deref()) == Some("launch_failed") {
            let flags = m.flags_mut();
            flags.needs_attention = false;
            flags.needs_attention_reason = None;
        }
    })?;
    if let (Mode::Interactive, Some(text)) = (request.mode, &plan.send_after_ready) {
        updated = deliver_prompt(env, record, &session, &plan, text)?;
    }
    Ok(updated)
}

/// `AGENCY_*` variables for the agent, the plan's literal variables, and forwarded host values.
fn session_env(meta: &RunMeta, paths: &RunPaths, repo_root: &Path, plan: &LaunchPlan) -> Vec<(String, String)> {
    let worktree = Path::new(&meta.worktree_path);
    let mut env = vec![
        ("AGENCY_RUN_ID".to_string(), meta.run_id.clone()),
        ("AGENCY_NAME".into(), meta.name.clone()),
        ("AGENCY_TITLE".into(), meta.display_title().to_string()),
        ("AGENCY_REPO_ROOT".into(), repo_root.display().to_string()),
        ("AGENCY_WORKTREE".into(), meta.worktree_path.clone()),
        ("AGENCY_BRANCH".into(), meta.branch.clone()),
        ("AGENCY_PARENT_BRANCH".into(), meta.parent_branch.clone()),
        ("AGENCY_RUNNER".into(), meta.runner.clone()),
        ("AGENCY_OUTPUT_DIR".into(), worktree.join(".agency/out").display().to_string()),
        ("AGENCY_LOG_DIR".into(), paths.logs.display().to_string()),
        ("AGENCY_STATUS_FILE".into(), worktree.join(".agency/state/runner_status.json").display().to_string()),
    ];
    if let Some(port) = meta.port_base {
        env.push(("AGENCY_PORT_BASE".into(), port.to_string()));
    }
    for (name, value) in &plan.command.env {
        match value {
            EnvValue::Literal(text) => env.push((name.clone(), text.clone())),
            EnvValue::Host(host) => {
                if let Ok(value) = std::env::var(host) {
                    env.push((name.clone(), value));
                }
            }
        }
    }
    env
}

/// Wait for the ready pattern (or any output), then type the prompt.
fn deliver_prompt(env: &Env, record: &RunRecord, session: &str, plan: &LaunchPlan, text: &str) -> Result<RunMeta> {
    let progress = env.ui.progress("waiting for the agent to be ready for the prompt…");
    let deadline = Instant::now() + ready_timeout();
    let mut ready = false;
    while Instant::now() < deadline {
        let screen = tmux::capture_pane(session, 0).unwrap_or_default();
        ready = match &plan.ready_pattern {
            Some(pattern) => screen.contains(pattern.as_str()),
            None => !screen.trim().is_empty(),
        };
        if ready {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(progress);
    if !ready {
        record.event(
            "prompt_not_delivered",
            json!({ "waited_ms": ready_timeout().as_millis() as u64, "ready_pattern": plan.ready_pattern }),
        )?;
        env.ui.warn(&format!(
            "the agent did not become ready within {}; the prompt was not sent",
            humantime::format_duration(ready_timeout())
        ));
        return record.update_meta(|m| {
            let flags = m.flags_mut();
            flags.needs_attention = true;
            flags.needs_attention_reason = Some("prompt_not_delivered".into());
        });
    }
    // Let the TUI finish drawing, so the first keys are not swallowed.
    std::thread::sleep(Duration::from_millis(150));
    tmux::send_text(session, text)?;
    record.event("prompt_sent", json!({ "bytes": text.len() }))?;
    record.update_meta(|m| {
        if let Some(launch) = m.launch.as_mut() {
            launch.prompt_sent_at = Some(time::now_rfc3339());
        }
    })
}
