//! The process that runs in a run's tmux pane (`agency __agent …`, started by the launch
//! step): it gives the agent exactly the planned environment, runs it, records how it ended,
//! and then leaves a shell in the worktree so the session outlives the agent.
//!
//! - **Environment**: tmux hands a new pane its server's global environment plus what the
//!   launch set with `-e`. Only the names the launch set (`--keep`) and the terminal's own
//!   (`TERM`, `TMUX`, `TMUX_PANE`) survive; nothing else of the tmux server's environment
//!   reaches the agent.
//! - **Interactive** agents run in the pane's foreground process group, with the terminal.
//!   **Headless** agents run in a session of their own (so a time limit reaches everything
//!   they started) with their output copied to the pane and to a bounded `logs/runner.log`.
//! - **After the agent** the exit record is written first (`runner_exit.json`, atomically),
//!   then — after a short pause — any input still queued on the terminal is discarded, so a
//!   prompt the host typed as the agent was exiting can never reach the shell that follows.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::clock;

/// Environment names tmux sets for the pane itself, kept alongside the planned ones.
pub const TERMINAL_VARS: &[&str] = &["TERM", "TMUX", "TMUX_PANE"];
/// How much of a headless agent's output `logs/runner.log` keeps.
pub const RUNNER_LOG_LIMIT: u64 = 64 << 20;
/// How long after the exit record the terminal's input queue is discarded.
const FLUSH_DELAY: Duration = Duration::from_millis(500);
/// Grace between SIGTERM and SIGKILL when a headless time limit expires.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// What the launch step asks the pane process to do.
#[derive(Debug, Clone, Default)]
pub struct AgentSpec {
    pub exit_file: PathBuf,
    /// Headless: copy output here (bounded); interactive runs have no log.
    pub log: Option<PathBuf>,
    /// Headless: feed this file on stdin.
    pub stdin: Option<PathBuf>,
    /// Headless: end the agent after this long.
    pub limit: Option<Duration>,
    /// Names of the environment variables the launch set and the agent may see.
    pub keep: Vec<String>,
    /// The shell left in the pane afterwards (absolute path).
    pub shell: PathBuf,
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// How the agent ended, as `runner_exit.json` records it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExitRecord {
    /// The exit status, or 128 + the signal number when a signal ended it (shell convention).
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub started_at: String,
    pub ended_at: String,
}

/// Run the agent as `spec` says, then turn the pane into a shell. Returns only on failure to
/// start that shell.
pub fn run(spec: &AgentSpec) -> std::io::Error {
    let env = kept_env(&spec.keep);
    let started_at = clock::now_rfc3339();
    let _ = std::fs::remove_file(with_suffix(&spec.exit_file, ".timeout"));
    let (status, timed_out) = match spawn(spec, &env) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("[agency] could not start {}: {e}", spec.program.display());
            (None, false)
        }
    };
    let record = ExitRecord {
        exit_code: status.map_or(127, |(code, signal)| code.unwrap_or(128 + signal.unwrap_or(0))),
        signal: status.and_then(|(_, signal)| signal),
        timed_out,
        started_at,
        ended_at: clock::now_rfc3339(),
    };
    let _ = crate::store::atomic::write_json_atomic(&spec.exit_file, &record);
    std::thread::sleep(FLUSH_DELAY);
    discard_terminal_input();
    println!(
        "\n[agency] the agent exited with status {}{}; this shell stays in the worktree (agency resume starts the agent again)",
        record.exit_code,
        if timed_out { " (time limit)" } else { "" }
    );
    Command::new(&spec.shell).env_clear().envs(env).exec()
}

/// The planned variables (and the terminal's), taken from this process's environment.
fn kept_env(keep: &[String]) -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(k, _)| k.to_str().is_some_and(|k| keep.iter().any(|n| n == k) || TERMINAL_VARS.contains(&k)))
        .collect()
}

type Status = Option<(Option<i32>, Option<i32>)>;

fn spawn(spec: &AgentSpec, env: &[(OsString, OsString)]) -> std::io::Result<(Status, bool)> {
    let mut command = Command::new(&spec.program);
    command.args(&spec.args).env_clear().envs(env.iter().map(|(k, v)| (k, v)));
    // The pane process outlives interrupts meant for the agent; the handler is reset in the
    // child by exec, so the agent gets the default behaviour.
    ignore_interrupts();
    let Some(log) = &spec.log else {
        let mut child = command.spawn()?;
        // Signal-based interrupts (`agency stop`) need the agent's pid.
        let pid_file = spec.exit_file.with_file_name("agent.pid");
        let _ = std::fs::write(&pid_file, child.id().to_string());
        let status = child.wait();
        let _ = std::fs::remove_file(&pid_file);
        let status = status?;
        return Ok((Some((status.code(), status.signal())), false));
    };
    match &spec.stdin {
        Some(path) => command.stdin(std::fs::File::open(path)?),
        None => command.stdin(Stdio::null()),
    };
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn()?;
    let pid = child.id() as i32;
    let copiers: Vec<_> = [
        child.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>),
        child.stderr.take().map(|e| Box::new(e) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|pipe| {
        let log = log.clone();
        std::thread::spawn(move || copy_bounded(pipe, &log))
    })
    .collect();
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if !timed_out && spec.limit.is_some_and(|limit| started.elapsed() >= limit) {
            timed_out = true;
            let _ = std::fs::write(with_suffix(&spec.exit_file, ".timeout"), b"");
            signal_group(pid, libc::SIGTERM);
            let grace = Instant::now();
            while child.try_wait()?.is_none() && grace.elapsed() < KILL_GRACE {
                std::thread::sleep(Duration::from_millis(50));
            }
            signal_group(pid, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Whatever the agent left running in its group must not hold the pipes open.
    signal_group(pid, libc::SIGKILL);
    for copier in copiers {
        let _ = copier.join();
    }
    let _ = std::fs::remove_file(with_suffix(&spec.exit_file, ".timeout"));
    Ok((Some((status.code(), status.signal())), timed_out))
}

/// Copy a pipe to the pane and to the log; the log stops growing at [`RUNNER_LOG_LIMIT`].
fn copy_bounded(mut pipe: impl Read, log: &Path) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(log).ok();
    let mut written = file.as_ref().and_then(|f| f.metadata().ok()).map_or(0, |m| m.len());
    let mut buf = [0u8; 8192];
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let _ = std::io::stdout().write_all(&buf[..n]);
        let _ = std::io::stdout().flush();
        if let Some(f) = file.as_mut() {
            if written + n as u64 > RUNNER_LOG_LIMIT {
                let _ = writeln!(
                    f,
                    "\n[agency] runner.log reached {} MiB; later output was not kept",
                    RUNNER_LOG_LIMIT >> 20
                );
                file = None;
                continue;
            }
            let _ = f.write_all(&buf[..n]);
            written += n as u64;
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn signal_group(pgid: i32, signal: libc::c_int) {
    // SAFETY: kill(2) on the agent's own process group (it was created for it).
    unsafe { libc::kill(-pgid, signal) };
}

extern "C" fn ignore(_: libc::c_int) {}

fn ignore_interrupts() {
    // SAFETY: installs a handler that does nothing; exec in the child resets it to default.
    unsafe {
        libc::signal(libc::SIGINT, ignore as *const () as libc::sighandler_t);
        libc::signal(libc::SIGQUIT, ignore as *const () as libc::sighandler_t);
    }
}

fn discard_terminal_input() {
    // SAFETY: tcflush on our own stdin; harmless when stdin is not a terminal.
    unsafe { libc::tcflush(libc::STDIN_FILENO, libc::TCIFLUSH) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_records_keep_the_shell_convention() {
        let record = ExitRecord {
            exit_code: 143,
            signal: Some(15),
            timed_out: true,
            started_at: "a".into(),
            ended_at: "b".into(),
        };
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["exit_code"], 143);
        assert_eq!(value["timed_out"], true);
    }

    #[test]
    fn the_log_stops_at_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("runner.log");
        std::fs::write(&log, vec![b'x'; (RUNNER_LOG_LIMIT - 10) as usize]).unwrap();
        copy_bounded(&b"0123456789abcdefghij"[..], &log);
        let text = std::fs::read(&log).unwrap();
        assert!(text.len() as u64 <= RUNNER_LOG_LIMIT + 200);
        assert!(String::from_utf8_lossy(&text[text.len() - 100..]).contains("later output was not kept"));
    }
}
