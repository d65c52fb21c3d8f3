//! Commands on a run's tmux session: `attach`, `resume [--restart]`, `stop` (interrupt the
//! agent, session stays) and `kill` (end the session, workspace stays). Resume re-plans the
//! launch with the run's runner plugin, so a session lost to a reboot comes back.

use serde_json::json;

use super::authorize;
use super::launch;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::plugin::api::{Mode, PlanRequest};
pub use crate::query::{OpenRun, open_live};
use crate::tmux;

fn no_session(run: &OpenRun) -> AgencyError {
    AgencyError::new(ErrorCode::SessionNotFound, format!("run `{}` has no live tmux session", run.meta.name))
        .with_hint(format!("agency resume {}   # starts the agent again", run.meta.name))
}

/// Attach the terminal to the run's session.
pub fn attach(env: &Env, reference: &str) -> Result<()> {
    let run = open_live(env, reference)?;
    if !run.session_alive()? {
        return Err(no_session(&run));
    }
    attach_session(env, &run.session())
}

/// Attach when a human is at a terminal (the commands' `--detached` decides beforehand).
pub fn attach_session(env: &Env, session: &str) -> Result<()> {
    if !env.ui.interactive() {
        return Err(AgencyError::new(ErrorCode::NotInteractive, "attaching needs a terminal")
            .with_hint(format!("run it from a terminal, or: tmux attach -t {session}")));
    }
    tmux::attach(session)
}

/// What `resume` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Resumed {
    /// The session was alive and left alone.
    AlreadyRunning(String),
    /// A new session was started (after killing the old one with `--restart`).
    Started(String),
}

pub fn resume(env: &Env, reference: &str, restart: bool) -> Result<Resumed> {
    let run = open_live(env, reference)?;
    let record = run.record(env);
    record.command(if restart { "resume --restart" } else { "resume" }, || {
        let session = run.session();
        if run.session_alive()? {
            if !restart {
                return Ok(Resumed::AlreadyRunning(session));
            }
            tmux::kill_session(&session)?;
            record.event("session_killed", json!({ "session": session, "by": "resume --restart" }))?;
        }
        let config = run.project_config()?;
        let project = config.as_ref().map(|c| (run.repo_root.as_path(), c));
        let runner = authorize::runner(env, &run.meta.runner, project)?;
        let request =
            launch::LaunchRequest { plan: PlanRequest { mode: Mode::Interactive, prompt: None }, timeout: None };
        let meta =
            record.step("launch", || launch::launch(env, &record, &run.meta, &run.repo_root, &runner, &request))?;
        record.event("resumed", json!({ "restart": restart }))?;
        Ok(Resumed::Started(meta.tmux_session_name.unwrap_or(session)))
    })
}

/// Interrupt the agent (Ctrl-C in its pane); the session stays. Flags the run for attention.
pub fn stop(env: &Env, reference: &str) -> Result<String> {
    let run = open_live(env, reference)?;
    let record = run.record(env);
    record.command("stop", || {
        if !run.session_alive()? {
            return Err(no_session(&run));
        }
        let session = run.session();
        tmux::send_interrupt(&session)?;
        record.event("stop_requested", json!({ "session": session }))?;
        record.update_meta(|m| {
            let flags = m.flags_mut();
            flags.needs_attention = true;
            flags.needs_attention_reason = Some("stop_requested".into());
        })?;
        Ok(session)
    })
}

/// End the session; the worktree and record stay. `Ok(false)` when it was already gone.
pub fn kill(env: &Env, reference: &str) -> Result<bool> {
    let run = open_live(env, reference)?;
    let record = run.record(env);
    record.command("kill", || {
        if !run.session_alive()? {
            return Ok(false);
        }
        let session = run.session();
        tmux::kill_session(&session)?;
        record.event("session_killed", json!({ "session": session, "by": "kill" }))?;
        Ok(true)
    })
}

/// Open the run's worktree in an editor: `--editor` (a name from `editors` or a command),
/// else `defaults.editor`, `$VISUAL`, `$EDITOR`.
pub fn open_in_editor(env: &Env, reference: &str, editor: Option<&str>) -> Result<()> {
    let run = open_live(env, reference)?;
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
