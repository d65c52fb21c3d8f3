//! The per-call sandbox: a fresh store whose data holds the WASI context (no env, no args, no
//! network, only the granted preopens, stdout/stderr captured and bounded), the memory limiter,
//! the time accounting that keeps host `exec` time out of the plugin's own deadline, and the
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

use super::api::{Area, Capability, CommandSpec, EnvValue, ErrorKind, ExecResult, LogLevel, PluginError};
use super::checker::{AreaRoots, CommandRequest, Denial, Policy, Request};
use crate::process::Cmd;

/// Default memory cap per plugin instance.
pub const MEMORY_LIMIT: usize = 256 << 20;
/// Captured stdout/stderr per call.
const CAPTURE_LIMIT: usize = 64 << 10;
/// Tail of an exec's output returned to the plugin.
const EXEC_TAIL: usize = 64 << 10;
/// Variables `exec` passes through from the host environment.
const BASE_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TERM", "TMPDIR"];

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
    /// The plugin's own compute budget for this call (host exec time excluded).
    pub deadline: Duration,
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
    /// Time spent inside host functions (not charged to the plugin's deadline).
    pub host_time: Duration,
    /// Capabilities the plugin asked for and was refused during this call.
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
            let (Some(access), Some(root)) = (policy.area_access(area), setup.areas.get(area)) else { continue };
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
            host_time: Duration::ZERO,
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

    /// Time the plugin itself has used.
    pub fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }

    /// `host.log`: one line in the plugin log.
    pub fn host_log(&mut self, level: LogLevel, message: &str) {
        let started = Instant::now();
        let level = match level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        let message: String = message.chars().take(4096).collect();
        append_line(
            &self.setup.plugin_log,
            &format!("[{}] {} {level}: {message}", crate::clock::now_rfc3339(), self.setup.plugin_id),
        );
        self.host_time += started.elapsed();
    }

    /// `host.exec`: check the command with the one checker, then run it with its own timeout.
    pub fn host_exec(&mut self, spec: CommandSpec, timeout_ms: u32) -> Result<ExecResult, PluginError> {
        let started = Instant::now();
        let result = self.exec_checked(spec, timeout_ms);
        self.host_time += started.elapsed();
        result
    }

    fn exec_checked(&mut self, spec: CommandSpec, timeout_ms: u32) -> Result<ExecResult, PluginError> {
        let cwd = match (&spec.cwd, self.setup.areas.get(Area::Worktree)) {
            (Some(cwd), _) => PathBuf::from(cwd),
            (None, Some(worktree)) => worktree.to_path_buf(),
            (None, None) => {
                return Err(plugin_error(ErrorKind::InvalidConfig, "exec needs a cwd when there is no worktree"));
            }
        };
        let host_env: Vec<&str> = spec
            .env
            .iter()
            .filter_map(|(_, v)| if let EnvValue::Host(n) = v { Some(n.as_str()) } else { None })
            .collect();
        let request = CommandRequest { program: &spec.program, args: &spec.args, cwd: &cwd, host_env };
        if let Err(denial) = self.setup.policy().check(&Request::Exec(&request)) {
            let message = format!("{} denied: {}", denial.asked, denial.reason);
            self.denials.push(denial);
            return Err(plugin_error(ErrorKind::Denied, &message));
        }
        let mut cmd = Cmd::new(&spec.program).args(&spec.args).cwd(&cwd).env_clear();
        for name in BASE_ENV {
            if let Some(value) = std::env::var_os(name) {
                cmd = cmd.env(name, value);
            }
        }
        for (name, value) in &spec.env {
            match value {
                EnvValue::Literal(text) => cmd = cmd.env(name, text),
                EnvValue::Host(host) => {
                    if let Some(value) = std::env::var_os(host) {
                        cmd = cmd.env(name, value);
                    }
                }
            }
        }
        let log = self.setup.exec_log.clone().unwrap_or_else(|| self.setup.plugin_log.clone());
        append_line(&log, &format!("[{}] $ {}", crate::clock::now_rfc3339(), cmd.display()));
        let timeout = Duration::from_millis(u64::from(timeout_ms.max(1)));
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

/// Store limits that remember whether the memory cap was what stopped the plugin.
struct TrackingLimiter {
    inner: StoreLimits,
    hit: bool,
}

impl TrackingLimiter {
    fn new(memory: usize) -> Self {
        let inner = StoreLimitsBuilder::new()
            .memory_size(memory)
            .instances(16)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build();
        TrackingLimiter { inner, hit: false }
    }
}

impl ResourceLimiter for TrackingLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let result = self.inner.memory_growing(current, desired, maximum);
        if !matches!(result, Ok(true)) {
            self.hit = true;
        }
        result
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
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
