//! Typed tmux calls, all through `process::Cmd`. `AGENCY_TMUX_SOCKET` selects a private server
//! (`tmux -L <name>`), which tests use for isolation. Sessions are addressed with tmux's exact
//! match syntax (`=name`) so `agency_2026…-ab` never matches `agency_2026…-abcd`.

use std::path::Path;
use std::time::Duration;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::process::{Cmd, ProcessError};

/// Session names are `agency_<run_id>`.
pub fn session_name(run_id: &str) -> String {
    format!("agency_{run_id}")
}

/// A `tmux` command on the configured server.
pub fn tmux() -> Cmd {
    let mut cmd = Cmd::new("tmux").timeout(Duration::from_secs(15));
    if let Some(socket) = std::env::var_os("AGENCY_TMUX_SOCKET").filter(|s| !s.is_empty()) {
        cmd = cmd.arg("-L").arg(socket);
    }
    cmd
}

fn exact(session: &str) -> String {
    format!("={session}")
}

/// First pane of the session's first window, exact session match.
fn pane(session: &str) -> String {
    format!("={session}:")
}

pub fn error(what: &str, err: ProcessError) -> AgencyError {
    match err {
        ProcessError::NotFound { .. } => {
            AgencyError::new(ErrorCode::ToolNotFound, "tmux is not installed or not on PATH").with_hint(
                "install tmux (e.g. `apt-get install tmux` or `brew install tmux`), then run `agency doctor`",
            )
        }
        other => AgencyError::new(ErrorCode::TmuxFailed, format!("{what}: {}", other.summary())),
    }
}

pub fn version() -> Result<String> {
    let out = Cmd::new("tmux").arg("-V").run_ok().map_err(|e| error("tmux -V", e))?;
    Ok(out.stdout_str().trim().to_string())
}

pub fn has_session(session: &str) -> Result<bool> {
    match tmux().args(["has-session", "-t", &exact(session)]).run() {
        Ok(out) => Ok(out.success()),
        Err(e) => Err(error("check session", e)),
    }
}

/// What to start in a new detached session.
pub struct NewSession<'a> {
    pub name: &'a str,
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    pub argv: &'a [String],
}

pub fn new_session(spec: &NewSession) -> Result<()> {
    let mut cmd = tmux().args(["new-session", "-d", "-s", spec.name, "-x", "200", "-y", "50", "-c"]).arg(spec.cwd);
    for (key, value) in spec.env {
        cmd = cmd.arg("-e").arg(format!("{key}={value}"));
    }
    cmd.arg("--").args(spec.argv).run_ok().map(|_| ()).map_err(|e| error("tmux new-session failed", e))
}

pub fn kill_session(session: &str) -> Result<()> {
    tmux().args(["kill-session", "-t", &exact(session)]).run_ok().map(|_| ()).map_err(|e| error("tmux kill-session", e))
}

/// Live facts about one session's first pane, from a single `list-panes -a` call.
#[derive(Debug, Clone, PartialEq)]
pub struct PaneInfo {
    pub session: String,
    pub pane_dead: bool,
    pub pane_pid: Option<u32>,
    pub current_command: String,
    pub activity: Option<i64>,
    pub attached: bool,
    pub title: String,
}

/// Every session's first pane (one tmux call for all runs). No server means no sessions.
pub fn list_panes() -> Result<Vec<PaneInfo>> {
    let format = "#{session_name}\t#{window_index}.#{pane_index}\t#{pane_dead}\t#{pane_pid}\t#{pane_current_command}\t#{window_activity}\t#{session_attached}\t#{pane_title}";
    let out = tmux().args(["list-panes", "-a", "-F", format]).run().map_err(|e| error("tmux list-panes", e))?;
    if !out.success() {
        // "no server running" / "error connecting": nothing is alive.
        return Ok(Vec::new());
    }
    let mut seen = std::collections::HashSet::new();
    Ok(out
        .stdout_str()
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.splitn(8, '\t').collect();
            if f.len() < 8 || !seen.insert(f[0].to_string()) {
                return None;
            }
            Some(PaneInfo {
                session: f[0].to_string(),
                pane_dead: f[2] == "1",
                pane_pid: f[3].parse().ok(),
                current_command: f[4].to_string(),
                activity: f[5].parse().ok(),
                attached: f[6] != "0" && !f[6].is_empty(),
                title: f[7].to_string(),
            })
        })
        .collect())
}

/// The pane's text (wrapped lines joined). `history` extra lines of scrollback are included.
pub fn capture_pane(session: &str, history: u32) -> Result<String> {
    let start = format!("-{history}");
    let out = tmux()
        .args(["capture-pane", "-p", "-J", "-S", &start, "-t", &pane(session)])
        .run_ok()
        .map_err(|e| error("tmux capture-pane", e))?;
    Ok(out.stdout_str())
}

/// The visible text of many panes with one tmux call (commands joined with `;`, separated by
/// a marker line), so `ls` costs one process for any number of live sessions.
pub fn capture_panes(sessions: &[String]) -> Result<Vec<String>> {
    const MARK: &str = "\u{1f}agency-capture-separator\u{1f}";
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = tmux();
    for (i, session) in sessions.iter().enumerate() {
        if i > 0 {
            cmd = cmd.arg(";");
        }
        cmd = cmd.args(["capture-pane", "-p", "-J", "-t", &pane(session), ";", "display-message", "-p", MARK]);
    }
    let out = cmd.run_ok().map_err(|e| error("tmux capture-pane", e))?;
    let text = out.stdout_str();
    let mut screens: Vec<String> = text.split(&format!("{MARK}\n")).map(str::to_string).collect();
    screens.truncate(sessions.len());
    if screens.len() != sessions.len() {
        return Err(AgencyError::new(ErrorCode::TmuxFailed, "tmux returned fewer pane captures than asked for"));
    }
    Ok(screens)
}

/// Type `text` into the pane literally, then press Enter. Multi-line text goes through a
/// uniquely named paste buffer so newlines do not submit early.
pub fn send_text(session: &str, text: &str) -> Result<()> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let target = pane(session);
    if text.contains('\n') {
        let buffer = format!("agency-{}-{}", std::process::id(), session);
        tmux()
            .args(["load-buffer", "-b", &buffer, "-"])
            .stdin_bytes(text)
            .run_ok()
            .map_err(|e| error("tmux load-buffer", e))?;
        tmux()
            .args(["paste-buffer", "-p", "-r", "-d", "-b", &buffer, "-t", &target])
            .run_ok()
            .map_err(|e| error("tmux paste-buffer", e))?;
    } else {
        tmux()
            .args(["send-keys", "-l", "-t", &target, "--", &text])
            .run_ok()
            .map_err(|e| error("tmux send-keys", e))?;
    }
    tmux().args(["send-keys", "-t", &target, "Enter"]).run_ok().map(|_| ()).map_err(|e| error("tmux send-keys", e))
}

/// A variable of the session's environment (`tmux show-environment`), if set.
pub fn session_env(session: &str, name: &str) -> Option<String> {
    let out = tmux().args(["show-environment", "-t", &exact(session), name]).run().ok()?;
    let text = out.stdout_str();
    let line = text.lines().next()?;
    line.strip_prefix(&format!("{name}=")).map(str::to_string)
}

/// Send Ctrl-C to the pane.
pub fn send_interrupt(session: &str) -> Result<()> {
    tmux().args(["send-keys", "-t", &pane(session), "C-c"]).run_ok().map(|_| ()).map_err(|e| error("tmux send-keys", e))
}

/// Attach the user's terminal (or switch the client when already inside tmux).
pub fn attach(session: &str) -> Result<()> {
    let inside = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    let verb = if inside { "switch-client" } else { "attach-session" };
    let mut cmd = Cmd::new("tmux");
    if let Some(socket) = std::env::var_os("AGENCY_TMUX_SOCKET").filter(|s| !s.is_empty()) {
        cmd = cmd.arg("-L").arg(socket);
    }
    cmd.args([verb, "-t", &exact(session)]).run_interactive().map(|_| ()).map_err(|e| error("tmux attach", e))
}
