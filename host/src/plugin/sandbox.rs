//! The per-call sandbox: a fresh store whose data holds the WASI context (no env, no args, no
//! network, only the preopens the checker allows, stdout/stderr captured and bounded), the
//! memory limiter (all memories and tables of the instance together), the call's one
//! wall-clock budget (host functions included: an `exec` gets at most what is left), and the
//! version-independent implementation of the `host` interface (`log`, `exec`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::api::{Area, Capability, CommandSpec, ErrorKind, ExecResult, LogLevel, PluginError};
use super::checker::{AreaRoots, CommandRequest, Denial, Policy};
use crate::process::Cmd;

/// Memory cap per plugin instance: all its linear memories and tables together.
pub const MEMORY_LIMIT: usize = 256 << 20;
/// Linear memories one instance may have (a component of several core modules has several).
pub const MEMORY_COUNT_LIMIT: usize = 8;
/// Captured stdout/stderr per call.
const CAPTURE_LIMIT: usize = 64 << 10;
/// Tail of an exec's output returned to the plugin.
const EXEC_TAIL: usize = 64 << 10;
/// Bytes of `host.log` lines one call may write (then one truncation marker).
pub const LOG_LIMIT: usize = 256 << 10;
/// Refused requests remembered per call (the first decides the error).
const DENIALS_KEPT: usize = 8;
/// Time kept back from an `exec` so the plugin can still return its result.
const EXEC_RESERVE: Duration = Duration::from_secs(5);

/// Everything a call needs to know about its plugin and run.
#[derive(Clone)]
pub struct CallSetup {
    pub plugin_id: String,
    pub declared: Vec<Capability>,
    pub granted: Vec<Capability>,
    pub areas: AreaRoots,
    /// Where `host.log` lines and captured stdout/stderr go.
    pub plugin_log: PathBuf,
    /// Where `host.exec` output goes (the step's log); defaults to the plugin log.
    pub exec_log: Option<PathBuf>,
    /// The call's wall-clock budget, time spent in host functions included.
    pub deadline: Duration,
    /// Bytes of `host.log` output this call may write.
    pub log_limit: usize,
    /// The run's `AGENCY_*` variables, set by the host for every command the plugin runs.
    pub agency_env: Vec<(String, String)>,
    /// The run this call is about, for hints (`agency logs <run> plugin`).
    pub run_name: Option<String>,
}

impl CallSetup {
    pub fn policy(&self) -> Policy<'_> {
        Policy { declared: &self.declared, granted: &self.granted, areas: &self.areas }
    }
}

/// Store data for one call.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: TrackingLimiter,
    pub setup: CallSetup,
    pub stdout: CapturePipe,
    pub stderr: CapturePipe,
    pub started: Instant,
    /// `host.log` bytes written by this call so far.
    log_written: usize,
    /// Capabilities the plugin asked for and was refused during this call (the first few).
    pub denials: Vec<Denial>,
    pub timed_out: bool,
}

impl State {
    /// Build the sandbox: preopens for exactly the areas the policy allows.
    pub fn new(setup: CallSetup) -> wasmtime::Result<State> {
        let stdout = CapturePipe::new(CAPTURE_LIMIT);
        let stderr = CapturePipe::new(CAPTURE_LIMIT);
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false);
        let policy = setup.policy();
        for area in Area::ALL {
            let (Some(access), Some(root)) = (policy.preopen_access(area), setup.areas.get(area)) else { continue };
            let perms = match access {
                super::api::Access::Write => FsPerms::ReadWrite,
                super::api::Access::Read => FsPerms::ReadOnly,
            };
            // Mounted at the real absolute path, so paths in run-info work unchanged.
            let guest = root.to_string_lossy().into_owned();
            builder.preopened_dir(root, &guest, perms)?;
        }
        let wasi = builder.build();
        Ok(State {
            wasi,
            table: ResourceTable::new(),
            limits: TrackingLimiter::new(MEMORY_LIMIT),
            setup,
            stdout,
            stderr,
            started: Instant::now(),
            log_written: 0,
            denials: Vec::new(),
            timed_out: false,
        })
    }

    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    pub fn memory_limit_hit(&self) -> bool {
        self.limits.hit
    }

    /// Time left of the call's budget.
    pub fn remaining(&self) -> Duration {
        self.setup.deadline.saturating_sub(self.started.elapsed())
    }

    /// `host.log`: one line in the plugin log, within the call's log budget.
    pub fn host_log(&mut self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        if self.log_written >= self.setup.log_limit {
            return;
        }
        let message = crate::safe_text::truncate(message, 4096);
        let line = format!("[{}] {} {level}: {message}", crate::clock::now_rfc3339(), self.setup.plugin_id);
        self.log_written += line.len() + 1;
        append_line(&self.setup.plugin_log, &line);
        if self.log_written >= self.setup.log_limit {
            let note = format!(
                "[{}] {} …further log lines of this call dropped",
                crate::clock::now_rfc3339(),
                self.setup.plugin_id
            );
            append_line(&self.setup.plugin_log, &note);
        }
    }

    /// `host.exec`: check the command with the one checker, then run exactly what it approved
    /// with a clean environment and a timeout capped by what is left of the call's budget.
    pub fn host_exec(&mut self, spec: CommandSpec, timeout_ms: u32) -> Result<ExecResult, PluginError> {
        let cwd = match (&spec.cwd, self.setup.areas.get(Area::Worktree)) {
            (Some(cwd), _) => PathBuf::from(cwd),
            (None, Some(worktree)) => worktree.to_path_buf(),
            (None, None) => {
                return Err(plugin_error(ErrorKind::InvalidConfig, "exec needs a cwd when there is no worktree"));
            }
        };
        let request =
            CommandRequest { program: &spec.program, args: &spec.args, cwd: &cwd, env: &spec.env, stdin: None };
        let approved = match self.setup.policy().check_exec(&request) {
            Ok(approved) => approved,
            Err(denial) => {
                let message = format!("{} denied: {}", denial.asked, denial.reason);
                if self.denials.len() < DENIALS_KEPT {
                    self.denials.push(denial);
                }
                return Err(plugin_error(ErrorKind::Denied, &message));
            }
        };
        let budget = self.remaining().saturating_sub(EXEC_RESERVE.min(self.setup.deadline / 4));
        if budget.is_zero() {
            return Err(plugin_error(ErrorKind::Failed, "the time budget of this call is used up"));
        }
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1))).min(budget);
        let mut cmd = Cmd::new(&approved.program).args(&spec.args).cwd(&approved.cwd).env_clear();
        for (name, value) in crate::child_env::base() {
            cmd = cmd.env(name, value);
        }
        for (name, value) in &self.setup.agency_env {
            cmd = cmd.env(name, value);
        }
        // Programs a plugin runs never take git's optional locks (a `git status` in a read-only
        // area must not rewrite the index there).
        cmd = cmd.env("GIT_OPTIONAL_LOCKS", "0");
        for (name, value) in crate::child_env::resolve(&approved.env) {
            cmd = cmd.env(name, value);
        }
        let log = self.setup.exec_log.clone().unwrap_or_else(|| self.setup.plugin_log.clone());
        append_line(&log, &format!("[{}] $ {}", crate::clock::now_rfc3339(), cmd.display()));
        match cmd.timeout(timeout).log_to(&log, EXEC_TAIL).supervised().run() {
            Ok(out) => Ok(ExecResult {
                exit_code: if out.timed_out { None } else { out.code },
                timed_out: out.timed_out,
                duration_ms: out.duration.as_millis() as u64,
                output_tail: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
            Err(e) => Err(plugin_error(ErrorKind::Failed, &e.summary())),
        }
    }

    /// Append what the plugin printed to its log (and return stderr for error messages).
    pub fn flush_output(&self) -> String {
        for (stream, pipe) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let text = pipe.text();
            if !text.is_empty() {
                let note = if pipe.truncated() { " (truncated)" } else { "" };
                append_line(
                    &self.setup.plugin_log,
                    &format!(
                        "[{}] {} {stream}{note}:\n{}",
                        crate::clock::now_rfc3339(),
                        self.setup.plugin_id,
                        text.trim_end()
                    ),
                );
            }
        }
        self.stderr.text()
    }
}

fn plugin_error(kind: ErrorKind, message: &str) -> PluginError {
    PluginError { kind, message: message.to_string(), hint: None }
}

pub fn append_line(path: &std::path::Path, line: &str) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{line}");
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Store limits over the whole instance: the sum of all linear memories and tables is capped,
/// not each one (a component with many memories must not multiply the cap), and the number of
/// memories is capped too. Remembers whether a cap is what stopped the plugin.
struct TrackingLimiter {
    inner: StoreLimits,
    limit: usize,
    /// Bytes of all memories and tables of this store.
    total: usize,
    hit: bool,
}

/// Bytes a table element is charged (a funcref is a pointer-sized entry plus bookkeeping).
const TABLE_ELEMENT_BYTES: usize = 16;

impl TrackingLimiter {
    fn new(memory: usize) -> Self {
        let inner = StoreLimitsBuilder::new()
            .instances(64)
            .tables(64)
            .memories(MEMORY_COUNT_LIMIT)
            .trap_on_grow_failure(true)
            .build();
        TrackingLimiter { inner, limit: memory, total: 0, hit: false }
    }

    fn charge(&mut self, current: usize, desired: usize) -> bool {
        let next = self.total.saturating_add(desired.saturating_sub(current));
        if next > self.limit {
            self.hit = true;
            return false;
        }
        self.total = next;
        true
    }
}

impl ResourceLimiter for TrackingLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if !self.charge(current, desired) {
            return Err(wasmtime::format_err!("the plugin's memories together exceed {} MiB", self.limit >> 20));
        }
        self.inner.memory_growing(current, desired, maximum)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if !self.charge(current.saturating_mul(TABLE_ELEMENT_BYTES), desired.saturating_mul(TABLE_ELEMENT_BYTES)) {
            return Err(wasmtime::format_err!(
                "the plugin's tables and memories together exceed {} MiB",
                self.limit >> 20
            ));
        }
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// A bounded in-memory stdout/stderr: keeps the first `capacity` bytes and silently drops the
/// rest (a flooding plugin is slowed by nothing and then stopped by its deadline).
#[derive(Clone)]
pub struct CapturePipe {
    inner: Arc<Mutex<(Vec<u8>, bool)>>,
    capacity: usize,
}

impl CapturePipe {
    fn new(capacity: usize) -> Self {
        CapturePipe { inner: Arc::new(Mutex::new((Vec::new(), false))), capacity }
    }

    fn push(&self, bytes: &[u8]) {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.capacity.saturating_sub(guard.0.len());
        if bytes.len() > room {
            guard.1 = true;
        }
        guard.0.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.inner.lock().unwrap_or_else(|e| e.into_inner()).0).into_owned()
    }

    pub fn truncated(&self) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

impl IsTerminal for CapturePipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturePipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturePipe {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturePipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturePipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
