//! THE subprocess builder. Every child process agency starts (git, tmux, gh, a plugin's `exec`)
//! goes through [`Cmd`]: stdin is null unless bytes are given, stderr is captured and bounded,
//! a timeout kills the child's whole process group, and errors keep the argv, exit status and a
//! stderr tail so the user sees exactly what failed.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub mod agent;

/// What a scoped thread returned (agency runs independent subprocesses side by side this way).
/// Its panic would be a bug, and goes on unchanged as the caller's own panic report.
pub fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Default limit for commands that should be quick (git plumbing, tmux queries).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const STDOUT_LIMIT: usize = 16 * 1024 * 1024;
const STDERR_LIMIT: usize = 64 * 1024;
/// How long to keep reading pipes after the child exits (a daemonised grandchild may hold them).
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// A step log (`logs/setup.log`, …) stops growing here, with a note saying so.
pub const LOG_FILE_LIMIT: u64 = 32 << 20;

/// Where the child's stdout and stderr go.
#[derive(Debug)]
enum Sink {
    /// Captured in memory (stdout up to 16 MiB, stderr tail up to 64 KiB).
    Capture,
    /// Both appended to a log file, which stops growing at [`LOG_FILE_LIMIT`]; `tail` bytes
    /// of what this child wrote are returned.
    Log { path: PathBuf, tail: usize },
}

/// A command to run. Build with [`Cmd::new`], then call [`Cmd::run`] or [`Cmd::run_ok`].
#[derive(Debug)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    env_clear: bool,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    sink: Sink,
    /// Kill the child's whole process group if agency dies (long scripts and their children).
    supervised: bool,
    /// Let the child finish if agency dies (git steps that must not stop halfway).
    outlive_agency: bool,
}

/// What a finished child left behind.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code, `None` when killed by a signal (including our timeout).
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    /// Stderr (capture mode) or the tail of the log written by this child (log mode).
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    pub duration: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Last non-empty lines of stderr, for error messages.
    pub fn stderr_tail(&self, max_lines: usize) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(max_lines)..].join("\n")
    }

    /// Human description of how the child ended: "exit 1", "killed by signal 9", "timed out".
    pub fn describe_status(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => format!("timed out after {}", crate::clock::format_duration(self.duration)),
            (false, Some(code), _) => format!("exit {code}"),
            (false, None, Some(sig)) => format!("killed by signal {sig}"),
            (false, None, None) => "unknown status".to_string(),
        }
    }
}

/// Why a command could not produce an acceptable [`Output`].
#[derive(Debug, thiserror::Error)]
#[error("{}", self.summary())]
pub enum ProcessError {
    /// The program does not exist on `PATH` (or at the given path).
    NotFound { program: String },
    /// The program exists but could not be started.
    Spawn { argv: String, error: std::io::Error },
    /// The child ran but failed (non-zero exit, signal or timeout); only from [`Cmd::run_ok`].
    Failed { argv: String, output: Output },
}

impl ProcessError {
    /// One-line summary including the argv, status and stderr tail.
    pub fn summary(&self) -> String {
        match self {
            ProcessError::NotFound { program } => format!("`{program}` not found on PATH"),
            ProcessError::Spawn { argv, error } => format!("could not start `{argv}`: {error}"),
            ProcessError::Failed { argv, output } => {
                // One line: the error contract prints messages on one line.
                let tail = output.stderr_tail(5).replace('\n', " | ");
                if tail.is_empty() {
                    format!("`{argv}` failed ({})", output.describe_status())
                } else {
                    format!("`{argv}` failed ({}): {tail}", output.describe_status())
                }
            }
        }
    }

    pub fn timed_out(&self) -> bool {
        matches!(self, ProcessError::Failed { output, .. } if output.timed_out)
    }
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            env_remove: Vec::new(),
            env_clear: false,
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
            sink: Sink::Capture,
            supervised: false,
            outlive_agency: false,
        }
    }

    /// Let this command run to its end even if agency is killed meanwhile: for git operations
    /// that leave a half-made state when stopped halfway (`worktree add`, `worktree remove`).
    pub fn outlive_agency(mut self) -> Self {
        self.outlive_agency = true;
        self
    }

    /// If agency dies (even by SIGKILL), kill everything this command started, grandchildren
    /// included: a tiny `sh` supervisor gets SIGTERM from the kernel (Linux parent-death signal)
    /// and kills the process group. Stdin is not available to supervised commands.
    pub fn supervised(mut self) -> Self {
        self.supervised = true;
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Do not pass `key` from agency's own environment.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env_remove.push(key.as_ref().to_owned());
        self
    }

    /// Start from an empty environment; only variables added with [`Cmd::env`] are passed.
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self
    }

    pub fn stdin_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Append stdout and stderr to `path` instead of capturing; keep a `tail`-byte tail.
    pub fn log_to(mut self, path: impl Into<PathBuf>, tail: usize) -> Self {
        self.sink = Sink::Log { path: path.into(), tail };
        self
    }

    /// The command line, shell-quoted, for messages and records.
    pub fn display(&self) -> String {
        let mut parts = vec![shell_quote(&self.program.to_string_lossy())];
        parts.extend(self.args.iter().map(|a| shell_quote(&a.to_string_lossy())));
        parts.join(" ")
    }

    /// Run to completion; a non-zero exit is returned as an [`Output`], not an error.
    pub fn run(self) -> Result<Output, ProcessError> {
        let argv = self.display();
        let mut command = match self.supervised {
            false => {
                let mut command = Command::new(&self.program);
                command.args(&self.args);
                if !self.outlive_agency {
                    die_with_parent(&mut command, libc::SIGKILL);
                }
                command
            }
            true => {
                // By absolute path: the child's PATH is the plugin's business, never the host's.
                let mut command = Command::new("/bin/sh");
                command.args(["-c", SUPERVISOR, "agency-exec"]).arg(&self.program).args(&self.args);
                die_with_parent(&mut command, libc::SIGTERM);
                command
            }
        };
        command.process_group(0);
        if self.env_clear {
            command.env_clear();
        }
        for key in &self.env_remove {
            command.env_remove(key);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn().map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound && self.cwd.as_ref().is_none_or(|d| d.is_dir()) {
                ProcessError::NotFound { program: self.program.to_string_lossy().into_owned() }
            } else {
                ProcessError::Spawn { argv: argv.clone(), error }
            }
        })?;
        let pid = child.id() as i32;

        if let (Some(bytes), Some(mut pipe)) = (self.stdin, child.stdin.take()) {
            std::thread::spawn(move || {
                // A child that exits without reading its stdin is not an error.
                let _ = pipe.write_all(&bytes);
            });
        }
        let (stdout_reader, stderr_reader) = match &self.sink {
            Sink::Capture => (
                child.stdout.take().map(|p| spawn_reader(p, STDOUT_LIMIT, false)),
                child.stderr.take().map(|p| spawn_reader(p, STDERR_LIMIT, true)),
            ),
            Sink::Log { path, tail } => {
                let log = LogFile::open(path).map_err(|error| ProcessError::Spawn { argv: argv.clone(), error })?;
                let readers = [
                    child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
                    child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
                ];
                (None, Some(spawn_log_writer(readers.into_iter().flatten().collect(), log, *tail)))
            }
        };

        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done_tx.send(child.wait());
        });
        let mut timed_out = false;
        let status = match done_rx.recv_timeout(self.timeout) {
            Ok(status) => status,
            Err(_) => {
                timed_out = true;
                // SAFETY: kill(2) on our own child's process group; a stale pgid is harmless.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                done_rx.recv().unwrap_or_else(|_| Err(std::io::Error::other("wait thread vanished")))
            }
        };
        let status = status.map_err(|error| ProcessError::Spawn { argv: argv.clone(), error })?;
        let duration = started.elapsed();

        let deadline = Instant::now() + DRAIN_GRACE;
        let stdout = stdout_reader.map(|r| r.finish(deadline)).unwrap_or_default();
        let stderr = stderr_reader.map(|r| r.finish(deadline)).unwrap_or_default();
        Ok(Output { code: status.code(), signal: status.signal(), stdout, stderr, timed_out, duration })
    }

    /// Run and require exit status 0 within the timeout.
    pub fn run_ok(self) -> Result<Output, ProcessError> {
        let argv = self.display();
        let output = self.run()?;
        if output.success() { Ok(output) } else { Err(ProcessError::Failed { argv, output }) }
    }

    /// Run attached to the user's terminal (tmux attach, an editor). No timeout, no capture.
    pub fn run_interactive(self) -> Result<Option<i32>, ProcessError> {
        let argv = self.display();
        let mut command = Command::new(&self.program);
        for key in &self.env_remove {
            command.env_remove(key);
        }
        command.args(&self.args).envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        let status = command.status().map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => {
                ProcessError::NotFound { program: self.program.to_string_lossy().into_owned() }
            }
            _ => ProcessError::Spawn { argv, error },
        })?;
        Ok(status.code())
    }
}

/// Runs "$@" in the background of its own process group and, on SIGTERM, kills the group.
const SUPERVISOR: &str = r#"trap 'kill -KILL 0' TERM; "$@" & wait $!"#;

/// A child we wait for must not outlive agency: if agency is killed (even with SIGKILL), the
/// kernel sends `signal` to the child (Linux `PR_SET_PDEATHSIG`).
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command, signal: libc::c_int) {
    // SAFETY: prctl is async-signal-safe and touches only the child being spawned.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command, _signal: libc::c_int) {}

/// A log file shared by a child's stdout and stderr, bounded at [`LOG_FILE_LIMIT`].
struct LogFile {
    file: Option<File>,
    size: u64,
}

impl LogFile {
    fn open(path: &Path) -> std::io::Result<LogFile> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogFile { file: Some(file), size })
    }

    fn write(&mut self, bytes: &[u8]) {
        let Some(file) = self.file.as_mut() else { return };
        if self.size + bytes.len() as u64 > LOG_FILE_LIMIT {
            let _ =
                writeln!(file, "\n[agency] this log reached {} MiB; later output was not kept", LOG_FILE_LIMIT >> 20);
            self.file = None;
            return;
        }
        let _ = file.write_all(bytes);
        self.size += bytes.len() as u64;
    }
}

/// Copy the child's pipes into the log (one thread per pipe, one shared file); the last `tail`
/// bytes come back as the reader's result.
fn spawn_log_writer(pipes: Vec<Box<dyn Read + Send>>, log: LogFile, tail: usize) -> Reader {
    let log: SharedLog = std::sync::Arc::new(std::sync::Mutex::new((log, Vec::<u8>::new())));
    let (tx, rx) = mpsc::channel();
    let threads: Vec<_> = pipes
        .into_iter()
        .map(|mut pipe| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                loop {
                    let n = match pipe.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let mut guard = log.lock().unwrap_or_else(|e| e.into_inner());
                    guard.0.write(&chunk[..n]);
                    guard.1.extend_from_slice(&chunk[..n]);
                    let excess = guard.1.len().saturating_sub(tail);
                    guard.1.drain(..excess);
                }
            })
        })
        .collect();
    let shared = log.clone();
    std::thread::spawn(move || {
        for thread in threads {
            let _ = thread.join();
        }
        let kept = log.lock().map(|g| g.1.clone()).unwrap_or_default();
        let _ = tx.send(kept);
    });
    Reader(rx, Some(shared))
}

type SharedLog = std::sync::Arc<std::sync::Mutex<(LogFile, Vec<u8>)>>;

/// A pipe reader on its own thread, keeping the first (`keep_tail == false`) or last `limit`
/// bytes; for a log, what was kept so far is returned if the pipes stay open past the deadline.
struct Reader(mpsc::Receiver<Vec<u8>>, Option<SharedLog>);

impl Reader {
    fn finish(self, deadline: Instant) -> Vec<u8> {
        match self.0.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(bytes) => bytes,
            Err(_) => self.1.and_then(|log| log.lock().ok().map(|g| g.1.clone())).unwrap_or_default(),
        }
    }
}

fn spawn_reader(mut pipe: impl Read + Send + 'static, limit: usize, keep_tail: bool) -> Reader {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&chunk[..n]);
                    if kept.len() > limit {
                        if keep_tail {
                            kept.drain(..kept.len() - limit);
                        } else {
                            kept.truncate(limit);
                        }
                    }
                }
            }
        }
        let _ = tx.send(kept);
    });
    Reader(rx, None)
}

/// End every process whose environment carries `name=value` (a run's `AGENCY_RUN_ID`): what
/// an agent started keeps the variable even when it leaves the agent's process group or
/// session (daemons, background servers). SIGTERM, then SIGKILL for what is left after
/// `grace`. Returns how many processes were signalled. Linux (`/proc`); elsewhere nothing.
pub fn kill_tagged(name: &str, value: &str, grace: Duration) -> usize {
    let tagged = || tagged_pids(&format!("{name}={value}"));
    let first = tagged();
    for pid in &first {
        // SAFETY: kill(2) on a process of this user that carries the run's tag.
        unsafe { libc::kill(*pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !tagged().is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in tagged() {
        // SAFETY: as above, for the ones that ignored SIGTERM.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    first.len()
}

/// Pids (other than this process) whose environment holds the exact entry `entry`.
pub fn tagged_pids(entry: &str) -> Vec<i32> {
    let own = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != own)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == entry.as_bytes()))
        })
        .collect()
}

/// Quote one word for a POSIX shell, leaving plain words untouched.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_stdout_and_status() {
        let out = Cmd::new("sh").args(["-c", "echo hi; echo err >&2; exit 3"]).run().unwrap();
        assert_eq!(out.stdout_str(), "hi\n");
        assert_eq!(out.stderr_tail(1), "err");
        assert_eq!(out.code, Some(3));
        assert!(!out.success());
    }

    #[test]
    fn timeout_kills_the_process_group() {
        let out = Cmd::new("sh").args(["-c", "sleep 30 & sleep 30"]).timeout(Duration::from_millis(200)).run().unwrap();
        assert!(out.timed_out);
        assert!(out.duration < Duration::from_secs(5));
    }

    #[test]
    fn missing_program_is_not_found() {
        let err = Cmd::new("agency-no-such-program-xyz").run().unwrap_err();
        assert!(matches!(err, ProcessError::NotFound { .. }), "{err:?}");
    }

    #[test]
    fn stdin_bytes_reach_the_child() {
        let out = Cmd::new("cat").stdin_bytes("data").run_ok().unwrap();
        assert_eq!(out.stdout_str(), "data");
    }

    #[test]
    fn log_mode_appends_and_returns_tail() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        std::fs::write(&log, "earlier\n").unwrap();
        // Two pipes have no order between them: the pause lets `one` arrive first.
        let out = Cmd::new("sh").args(["-c", "echo one; sleep 0.2; echo two >&2"]).log_to(&log, 1024).run_ok().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "one\ntwo\n");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "earlier\none\ntwo\n");
    }

    #[test]
    fn env_clear_drops_inherited_variables() {
        let out = Cmd::new("/usr/bin/env").env_clear().env("ONLY", "1").run_ok().unwrap();
        assert_eq!(out.stdout_str(), "ONLY=1\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("plain-word"), "plain-word");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
