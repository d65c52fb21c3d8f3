//! Typed tmux calls, all through `process::Cmd`, always naming the server explicitly. A run
//! records the socket of the server its session lives on (`meta.tmux_socket`) and every later
//! command talks to exactly that server ([`Server::Socket`]); new sessions go to the server
//! of `AGENCY_TMUX_SOCKET` (`tmux -L <name>`), else the tmux the user is inside, else tmux's
//! default server. `$TMUX` is never inherited silently: a tmux that is missing is an error,
//! never "session gone". Sessions are addressed with tmux's exact-match syntax (`=name`) so
//! `agency_2026…-ab` never matches `agency_2026…-abcd`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::process::{Cmd, ProcessError};

/// Session names are `agency_<run_id>`.
pub fn session_name(run_id: &str) -> String {
    format!("agency_{run_id}")
}

/// The tmux server a command talks to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Server {
    /// A server by socket path (what runs record).
    Socket(PathBuf),
    /// `AGENCY_TMUX_SOCKET` (`-L <name>`) when set, else tmux's default socket — never `$TMUX`.
    Default,
}

impl Server {
    /// The server a run's session is on: its recorded socket, else (runs recorded before
    /// sockets were, or by the original agency) the default server.
    pub fn of_run(socket: Option<&str>) -> Server {
        match socket.filter(|s| !s.is_empty()) {
            Some(path) => Server::Socket(PathBuf::from(path)),
            None => Server::Default,
        }
    }

    /// Where a new session should go: `AGENCY_TMUX_SOCKET`, else the tmux server the user is
    /// inside (so attaching can switch the client), else the default server.
    pub fn for_new_session() -> Result<Server> {
        let server = Server::new_session_target();
        let Server::Socket(socket) = &server else { return Ok(server) };
        if !server.alive()? {
            return Err(AgencyError::new(
                ErrorCode::TmuxFailed,
                format!("$TMUX names the tmux server at {}, which does not answer", socket.display()),
            )
            .with_hint("unset TMUX   # or run agency from a live tmux session; then run again"));
        }
        Ok(server)
    }

    /// Where new sessions go, whether or not that server answers: `AGENCY_TMUX_SOCKET`'s
    /// server, else the tmux the user is inside, else the default server.
    fn new_session_target() -> Server {
        match (private_socket_name(), inside_socket()) {
            (None, Some(socket)) => Server::Socket(socket),
            _ => Server::Default,
        }
    }

    /// The server new sessions go to (see [`Server::for_new_session`]), by the socket path tmux
    /// gives it, when that socket exists. `ls` asks it about its panes while the records that
    /// name their servers are still being read.
    pub fn expected() -> Option<Server> {
        let socket = match Server::new_session_target() {
            Server::Socket(socket) => socket,
            Server::Default => socket_dir()?.join(private_socket_name().as_deref().unwrap_or("default")),
        };
        socket.exists().then_some(Server::Socket(socket))
    }

    /// The socket argument for this server, as a user would type it.
    pub fn flag(&self) -> String {
        match (self, private_socket_name()) {
            (Server::Socket(path), _) => format!("-S {}", crate::process::shell_quote(&path.display().to_string())),
            (Server::Default, Some(name)) => format!("-L {}", crate::process::shell_quote(&name)),
            (Server::Default, None) => String::new(),
        }
    }

    /// Whether a server answers on this socket.
    pub fn alive(&self) -> Result<bool> {
        match self.cmd().args(["list-sessions", "-F", "#{session_name}"]).run() {
            Ok(out) => Ok(out.success()),
            Err(e) => Err(error("tmux list-sessions", e)),
        }
    }

    /// A `tmux` command on this server (absolute tmux path, `$TMUX` removed).
    pub fn cmd(&self) -> Cmd {
        let cmd = Cmd::new(program()).timeout(Duration::from_secs(15)).env_remove("TMUX");
        match (self, private_socket_name()) {
            (Server::Socket(path), _) => cmd.arg("-S").arg(path),
            (Server::Default, Some(name)) => cmd.arg("-L").arg(name),
            (Server::Default, None) => cmd,
        }
    }
}

fn private_socket_name() -> Option<String> {
    std::env::var("AGENCY_TMUX_SOCKET").ok().filter(|s| !s.is_empty())
}

/// tmux's directory of sockets as tmux names it: `$TMUX_TMPDIR` (else `/tmp`), `tmux-<uid>`,
/// resolved.
fn socket_dir() -> Option<PathBuf> {
    let base = std::env::var_os("TMUX_TMPDIR").filter(|v| !v.is_empty()).unwrap_or_else(|| "/tmp".into());
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    std::fs::canonicalize(Path::new(&base).join(format!("tmux-{uid}"))).ok()
}

/// The socket of the tmux server this process runs inside (`$TMUX` = `socket,pid,session`).
fn inside_socket() -> Option<PathBuf> {
    let value = std::env::var("TMUX").ok().filter(|v| !v.is_empty())?;
    let socket = value.split(',').next()?;
    Some(PathBuf::from(socket))
}

/// tmux by absolute path, resolved once from the caller's `PATH`.
fn program() -> PathBuf {
    static TMUX: OnceLock<PathBuf> = OnceLock::new();
    TMUX.get_or_init(|| crate::plugin::checker::find_on_path("tmux").unwrap_or_else(|| PathBuf::from("tmux"))).clone()
}

fn exact(session: &str) -> String {
    format!("={session}")
}

/// The session's active pane, exact session match.
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
    let out = Cmd::new(program()).arg("-V").run_ok().map_err(|e| error("tmux -V", e))?;
    Ok(out.stdout_str().trim().to_string())
}

/// Whether `session` exists on `server`. No server running means no session; a tmux that
/// cannot be run is an error.
pub fn has_session(server: &Server, session: &str) -> Result<bool> {
    match server.cmd().args(["has-session", "-t", &exact(session)]).run() {
        Ok(out) if out.timed_out => Err(AgencyError::new(ErrorCode::TmuxFailed, "tmux has-session timed out")),
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

/// Start a detached session; returns the socket path of the server it is on.
pub fn new_session(server: &Server, spec: &NewSession) -> Result<PathBuf> {
    let mut cmd = server
        .cmd()
        .args(["new-session", "-d", "-P", "-F", "#{socket_path}", "-s", spec.name, "-x", "200", "-y", "50", "-c"])
        .arg(spec.cwd);
    for (key, value) in spec.env {
        cmd = cmd.arg("-e").arg(format!("{key}={value}"));
    }
    let out = cmd.arg("--").args(spec.argv).run_ok().map_err(|e| error("tmux new-session failed", e))?;
    let socket = out.stdout_str().trim().to_string();
    if socket.is_empty() {
        return Err(AgencyError::new(ErrorCode::TmuxFailed, "tmux new-session did not report its server's socket"));
    }
    Ok(PathBuf::from(socket))
}

pub fn kill_session(server: &Server, session: &str) -> Result<()> {
    server
        .cmd()
        .args(["kill-session", "-t", &exact(session)])
        .run_ok()
        .map(|_| ())
        .map_err(|e| error("tmux kill-session", e))
}

/// Live facts about one session's active pane, from a single `list-panes -a` call.
#[derive(Debug, Clone, PartialEq)]
pub struct PaneInfo {
    pub session: String,
    pub pane_pid: Option<u32>,
    /// tmux's `window_activity`: the last output, in unix seconds.
    pub activity: Option<i64>,
}

/// Every session's active pane on `server` (one tmux call for all its runs). No server
/// running means no sessions; tmux missing is an error. Only cheap fields are asked for
/// (`pane_current_command` would make tmux read `/proc` for every pane), and the session name
/// comes last, so a tab in another program's session name cannot shift the fields.
pub fn list_panes(server: &Server) -> Result<Vec<PaneInfo>> {
    let format = "#{pane_active}\t#{pane_pid}\t#{window_activity}\t#{session_name}";
    let out = server.cmd().args(["list-panes", "-a", "-F", format]).run().map_err(|e| error("tmux list-panes", e))?;
    if !out.success() {
        // "no server running" / "error connecting": nothing is alive on that server.
        return Ok(Vec::new());
    }
    let mut seen = std::collections::HashSet::new();
    Ok(out
        .stdout_str()
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.splitn(4, '\t').collect();
            if f.len() < 4 || f[0] != "1" || !seen.insert(f[3].to_string()) {
                return None;
            }
            Some(PaneInfo { session: f[3].to_string(), pane_pid: f[1].parse().ok(), activity: f[2].parse().ok() })
        })
        .collect())
}

/// The pane's text (wrapped lines joined). `history` extra lines of scrollback are included.
pub fn capture_pane(server: &Server, session: &str, history: u32) -> Result<String> {
    let start = format!("-{history}");
    let out = server
        .cmd()
        .args(["capture-pane", "-p", "-J", "-S", &start, "-t", &pane(session)])
        .run_ok()
        .map_err(|e| error("tmux capture-pane", e))?;
    Ok(out.stdout_str())
}

/// The pane's visible text with its colours (for previews), wrapped lines joined.
pub fn capture_pane_styled(server: &Server, session: &str) -> Result<String> {
    let out = server
        .cmd()
        .args(["capture-pane", "-p", "-e", "-J", "-t", &pane(session)])
        .run_ok()
        .map_err(|e| error("tmux capture-pane", e))?;
    Ok(out.stdout_str())
}

/// The visible text of many panes of one server with one tmux call (commands joined with
/// `;`, separated by a marker line), so `ls` costs one process per server.
pub fn capture_panes(server: &Server, sessions: &[String]) -> Result<Vec<String>> {
    const MARK: &str = "\u{1f}agency-capture-separator\u{1f}";
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let mut cmd = server.cmd();
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

/// Paste `text` into the pane as one paste (bracketed when the program asked for bracketed
/// paste; newlines stay newlines, nothing is submitted). Through a uniquely named buffer that
/// is deleted afterwards; the text goes on stdin, never on a command line.
pub fn paste(server: &Server, session: &str, text: &str) -> Result<()> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let buffer = format!("agency-{}-{}", std::process::id(), session);
    server
        .cmd()
        .args(["load-buffer", "-b", &buffer, "-"])
        .stdin_bytes(text)
        .run_ok()
        .map_err(|e| error("tmux load-buffer", e))?;
    server
        .cmd()
        .args(["paste-buffer", "-p", "-r", "-d", "-b", &buffer, "-t", &pane(session)])
        .run_ok()
        .map(|_| ())
        .map_err(|e| error("tmux paste-buffer", e))
}

/// Press named keys in the pane (`Enter`, `Escape`, `C-c`), in order.
pub fn send_keys(server: &Server, session: &str, keys: &[&str]) -> Result<()> {
    server
        .cmd()
        .args(["send-keys", "-t", &pane(session)])
        .args(keys)
        .run_ok()
        .map(|_| ())
        .map_err(|e| error("tmux send-keys", e))
}

/// A variable of the session's environment (`tmux show-environment`), if set.
pub fn session_env(server: &Server, session: &str, name: &str) -> Option<String> {
    let out = server.cmd().args(["show-environment", "-t", &exact(session), name]).run().ok()?;
    let text = out.stdout_str();
    let line = text.lines().next()?;
    line.strip_prefix(&format!("{name}=")).map(str::to_string)
}

/// Attach the user's terminal: switch the client when already inside tmux on that server,
/// else attach (nested when inside another server). Fails when tmux does.
pub fn attach(server: &Server, session: &str) -> Result<()> {
    let same_server = match (server, inside_socket()) {
        (Server::Socket(path), Some(inside)) => same_file(path, &inside),
        (Server::Default, Some(inside)) => private_socket_name().is_none() && inside.ends_with("default"),
        (_, None) => false,
    };
    let mut cmd = server.cmd();
    if same_server {
        // switch-client needs to know which client: the one of this terminal.
        cmd = cmd.env("TMUX", std::env::var_os("TMUX").unwrap_or_default());
    }
    let verb = if same_server { "switch-client" } else { "attach-session" };
    let argv = cmd.display();
    match cmd.args([verb, "-t", &exact(session)]).run_interactive() {
        Ok(Some(0)) => Ok(()),
        Ok(status) => Err(AgencyError::new(
            ErrorCode::TmuxFailed,
            format!("tmux {verb} failed (exit {})", status.map_or("signal".into(), |c| c.to_string())),
        )
        .with_hint(format!("{argv} {verb} -t {session}   # try it yourself to see why"))),
        Err(e) => Err(error("tmux attach", e)),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
