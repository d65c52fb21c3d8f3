//! Commands on a run's tmux session: `attach`, `resume [--restart]`, `stop` (interrupt the
//! agent's current turn the way its runner says, session and agent stay) and `kill` (end the
//! session and every process the run started; the workspace stays). Each takes the run's
//! lock, so two of them never interleave. Resume finishes a pipeline that stopped early
//! (scaffold, setup), relaunches an agent that exited (continuing its own session when the
//! screen named one), and starts a headless run headless again.

use serde_json::json;
use std::time::{Duration, Instant};

use super::launch;
use super::{RunRecord, authorize, run};
use crate::config::AgencyJson;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::plugin::api::{Activity, Mode, PlanRequest};
use crate::query::{self, OpenRun, Purpose};
use crate::store::meta::{Attention, InterruptRecord};
use crate::{process, tmux};

pub use crate::query::open_live;

/// How long `kill` gives a run's processes between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);
/// How long `stop` watches the screen for the agent to settle.
const STOP_WATCH: Duration = Duration::from_secs(8);
/// Between the keys of a planned interrupt.
const KEY_GAP: Duration = Duration::from_millis(300);
/// Between the two readings that say an agent is not busy.
const STOP_RECHECK: Duration = Duration::from_millis(600);
/// When a still-busy agent gets the interrupt a second time.
const STOP_RESEND: Duration = Duration::from_secs(3);

/// Resolve and lock a run for a command that acts on it, then open it (the record is read
/// after the lock is taken, so it is what the previous command left).
pub fn open_locked<'a>(env: &'a Env, reference: &str) -> Result<(OpenRun, crate::env::RepoGuard<'a>)> {
    let entry = query::find(env, reference, Purpose::Act)?;
    let lock = env.lock_run(&entry.repo_id, &entry.run_id)?;
    Ok((query::open(env, entry)?, lock))
}

/// Attach the terminal to the run's session.
pub fn attach(env: &Env, reference: &str) -> Result<()> {
    let run = open_live(env, reference, Purpose::Act)?;
    if !run.session_alive()? {
        return Err(query::no_live_session(&run.meta.name));
    }
    attach_session(env, &run.server(), &run.session())
}

/// Attach when a human is at a terminal (the commands' `--detached` decides beforehand).
pub fn attach_session(env: &Env, server: &tmux::Server, session: &str) -> Result<()> {
    if !env.ui.interactive() {
        return Err(AgencyError::new(ErrorCode::NotInteractive, "attaching needs a terminal")
            .with_hint(format!("run it from a terminal, or: tmux {} attach -t {session}", server.flag())));
    }
    tmux::attach(server, session)
}

/// What `resume` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Resumed {
    /// The agent was running and was left alone.
    AlreadyRunning(String),
    /// A new session was started (after ending the old one when the agent had exited, or
    /// with `--restart`).
    Started { session: String, server: tmux::Server, continued: Option<String> },
}

pub fn resume(env: &Env, reference: &str, restart: bool) -> Result<Resumed> {
    let (run, _lock) = open_locked(env, reference)?;
    let record = run.record(env);
    record.command(if restart { "resume --restart" } else { "resume" }, || {
        let (server, session) = (run.server(), run.session());
        let config = run.project_config()?;
        let project = config.as_ref().map(|c| (run.repo_root.as_path(), c));
        let runner = authorize::runner(env, &run.meta.runner, project)?;
        let mut continued = None;
        if tmux::has_session(&server, &session)? {
            let exited = run.entry.paths.runner_exit().exists();
            if !exited && !restart {
                return Ok(Resumed::AlreadyRunning(session));
            }
            if exited {
                continued = agent_session_on_screen(env, &run, &runner.plugin);
            }
            tmux::kill_session(&server, &session)?;
            record.event("session_killed", json!({ "session": session, "by": "resume", "agent_exited": exited }))?;
        }
        finish_pipeline(env, &record, &run, config.as_ref())?;
        let meta = record.read_meta()?;
        let headless = meta.is_headless();
        let request = launch::LaunchRequest {
            plan: PlanRequest {
                mode: if headless { Mode::Headless } else { Mode::Interactive },
                prompt: if headless { std::fs::read_to_string(run.entry.paths.prompt()).ok() } else { None },
                resume_session: continued.clone(),
            },
            timeout: meta.launch.as_ref().and_then(|l| l.timeout_secs).map(Duration::from_secs),
        };
        let meta = record.step("launch", || launch::launch(env, &record, &meta, &run.repo_root, &runner, &request))?;
        record.event("resumed", json!({ "restart": restart, "continued": continued }))?;
        Ok(Resumed::Started {
            session: meta.tmux_session_name.clone().unwrap_or(session),
            server: meta.tmux_server(),
            continued,
        })
    })
}

/// Steps of `agency run` a crash skipped (scaffold, setup) run before the agent starts. A
/// checkout that `git worktree add` never finished is no place for an agent.
fn finish_pipeline(env: &Env, record: &RunRecord, run: &OpenRun, config: Option<&AgencyJson>) -> Result<()> {
    let done = run::RunStep::completed(run.meta.pipeline.as_ref().and_then(|p| p.last_step.as_deref()));
    if done < run::RunStep::Setup
        && let Some(why) = crate::git::unfinished_worktree(&run.repo_root, &run.worktree.path)
    {
        return Err(AgencyError::new(
            ErrorCode::RunBroken,
            format!("the worktree of run `{}` is half made ({why}): git worktree add was interrupted", run.meta.name),
        )
        .with_hint("agency repair   # removes the half-made checkout; then start a new run"));
    }
    if done < run::RunStep::Scaffold {
        let common = run.worktree.common_dir.clone();
        record.step(run::RunStep::Scaffold.as_str(), || {
            super::scaffold::scaffold(&run.worktree.path, &common, run.meta.display_title(), &run.meta.created_at)
        })?;
    }
    if done < run::RunStep::Setup && run.meta.setup.is_none() {
        let default = AgencyJson::default();
        let config = config.unwrap_or(&default);
        env.ui.status("the run stopped before its setup; running setup now");
        run::setup(env, record, &run.meta, (run.repo_root.as_path(), config))?;
    }
    Ok(())
}

/// The agent's own session id to continue, so the relaunched agent continues the conversation:
/// from its exit screen (a resume hint a runner plugin of API 0.2 reads), else from what its
/// hooks or its headless output last reported.
fn agent_session_on_screen(env: &Env, run: &OpenRun, plugin: &crate::plugin::Plugin) -> Option<String> {
    let from_screen = || {
        let screen = tmux::capture_pane(&run.server(), &run.session(), 200).ok()?;
        let observation = env.plugins().classify(plugin, &screen, Some(&run.entry.paths.log("plugin"))).ok()?;
        observation.resume_session
    };
    let recorded = |file: &str, key: &str| {
        let value: serde_json::Value = crate::store::read_json(&run.entry.paths.dir.join(file))?;
        let id = value.get(key)?.as_str()?;
        crate::plugin::valid_session_id(id).then(|| id.to_string())
    };
    from_screen()
        .or_else(|| recorded("hook.json", "session"))
        .or_else(|| recorded("runner_result.json", "resume_session"))
}

/// What `stop` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Stopped {
    /// The interrupt was sent; `settled` says what the screen showed afterwards.
    Interrupted { how: String, settled: String },
    /// The agent was not busy, so nothing was sent (a second interrupt quits some agents).
    NotBusy(String),
    /// The agent had already exited.
    Exited,
}

/// Interrupt the agent's current turn the way its runner planned (keys such as Escape, or a
/// signal to the agent); the agent and session stay. Flags the run for attention.
pub fn stop(env: &Env, reference: &str) -> Result<Stopped> {
    let (run, _lock) = open_locked(env, reference)?;
    let record = run.record(env);
    record.command("stop", || {
        let (server, session) = (run.server(), run.session());
        if !tmux::has_session(&server, &session)? {
            return Err(query::no_live_session(&run.meta.name));
        }
        if run.entry.paths.runner_exit().exists() {
            return Ok(Stopped::Exited);
        }
        let plugin = granted_runner(env, &run);
        let observe = || -> Option<crate::plugin::api::Observation> {
            let screen = tmux::capture_pane(&server, &session, 0).ok()?;
            env.plugins().classify(plugin.as_ref()?, &screen, Some(&run.entry.paths.log("plugin"))).ok()
        };
        // Not busy only if two readings a moment apart agree: agents redraw between retries,
        // and one frame can look like the idle prompt.
        let not_busy = |o: &crate::plugin::api::Observation| matches!(o.activity, Activity::Idle | Activity::Exited);
        if let Some(first) = observe().filter(not_busy) {
            std::thread::sleep(STOP_RECHECK);
            if observe().is_some_and(|o| not_busy(&o)) {
                return Ok(Stopped::NotBusy(format!(
                    "the agent is {} ({})",
                    activity_word(first.activity),
                    first.reason
                )));
            }
        }
        let interrupt = run.meta.launch.as_ref().and_then(|l| l.interrupt.clone());
        let interrupt = interrupt.unwrap_or(InterruptRecord::Keys(vec!["C-c".into()]));
        let mut how = send_interrupt(&run, &interrupt)?;
        record.event("stop_requested", json!({ "session": session, "how": how }))?;
        record.update_meta(|m| m.flags_mut().raise(Attention::StopRequested))?;
        let started = Instant::now();
        let mut resent = false;
        let mut settled = String::from("no reading of the screen");
        while started.elapsed() < STOP_WATCH {
            std::thread::sleep(Duration::from_millis(300));
            if run.entry.paths.runner_exit().exists() {
                settled = "the agent exited".into();
                break;
            }
            if let Some(o) = observe() {
                settled = format!("{} ({})", activity_word(o.activity), o.reason);
                if o.activity != Activity::Working {
                    break;
                }
                // A busy agent can miss a key (it reads input between redraws): once, again.
                if !resent && started.elapsed() >= STOP_RESEND {
                    how = format!("{how}, again after {}s", STOP_RESEND.as_secs());
                    send_interrupt(&run, &interrupt)?;
                    resent = true;
                }
            }
        }
        Ok(Stopped::Interrupted { how, settled })
    })
}

/// Send the planned interrupt: keys to the pane, or a signal to the agent's process.
fn send_interrupt(run: &OpenRun, interrupt: &InterruptRecord) -> Result<String> {
    match interrupt {
        InterruptRecord::Keys(keys) => {
            // One at a time: a double press sent at once reads as one to some agents.
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(KEY_GAP);
                }
                tmux::send_keys(&run.server(), &run.session(), &[key.as_str()])?;
            }
            Ok(format!("sent {}", keys.join(" ")))
        }
        InterruptRecord::Signal(name) => {
            let signal = if name == "terminate" { libc::SIGTERM } else { libc::SIGINT };
            let pid = std::fs::read_to_string(run.entry.paths.agent_pid())
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
                .ok_or_else(|| AgencyError::new(ErrorCode::TmuxFailed, "the agent's pid is not recorded"))?;
            // SAFETY: kill(2) on the agent process the pane process started and recorded.
            unsafe { libc::kill(pid, signal) };
            Ok(format!("sent SIG{}", if signal == libc::SIGTERM { "TERM" } else { "INT" }))
        }
    }
}

/// The run's runner plugin when its bytes are granted (reading the screen never runs more).
fn granted_runner(env: &Env, run: &OpenRun) -> Option<std::rc::Rc<crate::plugin::Plugin>> {
    let config = run.project_config().ok().flatten();
    let project = config.as_ref().map(|c| (run.repo_root.as_path(), c));
    let id = authorize::run_runner_id(env, &run.meta, project).ok()?;
    env.plugins().find_granted(&id, project, &env.dirs.config).ok().flatten()
}

fn activity_word(activity: Activity) -> &'static str {
    match activity {
        Activity::Starting => "starting",
        Activity::Working => "working",
        Activity::NeedsInput => "waiting for input",
        Activity::Idle => "idle",
        Activity::Error => "stopped on an error",
        Activity::Exited => "exited",
        Activity::Unknown => "in an unknown state",
    }
}

/// What `kill` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Killed {
    pub session: bool,
    /// Processes the run started that were still alive outside the session (daemons).
    pub stragglers: usize,
}

/// End the session and every process the run started; the worktree and record stay.
pub fn kill(env: &Env, reference: &str) -> Result<Killed> {
    let (run, _lock) = open_locked(env, reference)?;
    let record = run.record(env);
    record.command("kill", || {
        let (server, session) = (run.server(), run.session());
        let alive = tmux::has_session(&server, &session)?;
        if alive {
            tmux::kill_session(&server, &session)?;
        }
        let stragglers = process::kill_tagged("AGENCY_RUN_ID", &run.meta.run_id, KILL_GRACE);
        record.event("session_killed", json!({ "session": session, "by": "kill", "stragglers": stragglers }))?;
        Ok(Killed { session: alive, stragglers })
    })
}

/// Open the run's worktree in an editor: `--editor` (a name from `editors` or a command),
/// else `defaults.editor`, `$VISUAL`, `$EDITOR`.
pub fn open_in_editor(env: &Env, reference: &str, editor: Option<&str>) -> Result<()> {
    let run = open_live(env, reference, Purpose::Read)?;
    let choice = editor
        .map(str::to_string)
        .or_else(|| env.user.default_editor.clone())
        .or_else(|| std::env::var("VISUAL").ok())
        .or_else(|| std::env::var("EDITOR").ok())
        .ok_or_else(|| {
            AgencyError::new(ErrorCode::Usage, "no editor configured")
                .with_hint("agency open <ref> --editor code   # or set defaults.editor in config.json")
        })?;
    let line = env.user.editors.get(&choice).cloned().unwrap_or(choice);
    let words: Vec<&str> = line.split_whitespace().collect();
    let (program, args) =
        words.split_first().ok_or_else(|| AgencyError::new(ErrorCode::Usage, "the editor command is empty"))?;
    crate::process::Cmd::new(program).args(args).arg(&run.meta.worktree_path).run_interactive().map(|_| ()).map_err(
        |e| {
            AgencyError::new(ErrorCode::ToolNotFound, format!("cannot start the editor: {}", e.summary()))
                .with_hint("agency open <ref> --editor <command>")
        },
    )
}

/// Save the pane's scrollback (plain text) to `transcript.txt`, keeping the previous one as
/// `transcript.1.txt`. Returns the path.
pub fn capture_transcript(env: &Env, reference: &str) -> Result<std::path::PathBuf> {
    let run = open_live(env, reference, Purpose::Read)?;
    if !run.session_alive()? {
        return Err(query::no_live_session(&run.meta.name));
    }
    let text = tmux::capture_pane(&run.server(), &run.session(), 100_000)?;
    let path = run.entry.paths.transcript();
    if path.exists() {
        let _ = std::fs::rename(&path, path.with_file_name("transcript.1.txt"));
    }
    crate::store::atomic::write_atomic(&path, text.as_bytes())
        .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write transcript", &path, e))?;
    run.record(env).event("transcript_captured", json!({ "bytes": text.len() }))?;
    Ok(path)
}
