//! The plugin API as domain types, independent of any WIT version. The façade and the rest of
//! agency speak these; each frozen WIT version converts to and from them in `wit/`.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Area {
    Worktree,
    Repo,
    RunDir,
    PluginData,
}

impl Area {
    pub const ALL: [Area; 4] = [Area::Worktree, Area::Repo, Area::RunDir, Area::PluginData];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Worktree => "worktree",
            Area::Repo => "repo",
            Area::RunDir => "run-dir",
            Area::PluginData => "plugin-data",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Read,
    Write,
}

/// One declared (or granted) capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    Exec { program: String, args: Vec<String> },
    Env(String),
    Fs { area: Area, access: Access },
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Exec { program, args } if args.is_empty() => write!(f, "exec {program}"),
            Capability::Exec { program, args } => write!(f, "exec {program} {}", args.join(" ")),
            Capability::Env(name) => write!(f, "env {name}"),
            Capability::Fs { area, access: Access::Read } => write!(f, "read {}", area.as_str()),
            Capability::Fs { area, access: Access::Write } => write!(f, "write {}", area.as_str()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    Runner,
    Step,
}

impl PluginKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Runner => "runner",
            PluginKind::Step => "step",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub id: String,
    pub version: String,
    pub description: String,
    pub kind: PluginKind,
    pub capabilities: Vec<Capability>,
}

/// Facts about the run a call concerns (absolute host paths).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub name: String,
    pub title: String,
    pub repo_id: String,
    pub repo_root: String,
    pub worktree: String,
    pub run_dir: String,
    pub log_dir: String,
    pub plugin_data: String,
    pub branch: String,
    pub parent_branch: String,
    pub runner: String,
    pub params: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    Host(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, EnvValue)>,
    pub cwd: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExecResult {
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    pub output_tail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidConfig,
    Denied,
    Failed,
    Unsupported,
}

/// An error a plugin returned (or `host.exec` returned to a plugin).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Interactive,
    Headless,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanRequest {
    pub mode: Mode,
    pub prompt: Option<String>,
    /// The agent's own session id to continue (API 0.2; 0.1 plugins never see it).
    pub resume_session: Option<String>,
}

/// How the prompt reaches an interactive agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptDelivery {
    /// There is no prompt.
    None,
    /// The prompt is in the command's arguments.
    Argv,
    /// The prompt is the command's standard input.
    Stdin,
    /// Paste this text into the pane once the agent is ready, then press Enter.
    Paste(String),
}

/// When an interactive agent is ready for its prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyWhen {
    /// The runner's `classify` reports it idle.
    Idle,
    /// The screen shows this text.
    Text(String),
}

/// How to interrupt the agent's current turn (`agency stop`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interrupt {
    /// tmux key names sent to the pane, in order (`Escape`, `C-c`).
    Keys(Vec<String>),
    /// A signal sent to the agent's process group.
    Signal(Signal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchPlan {
    pub command: CommandSpec,
    pub stdin: Option<String>,
    pub prompt: PromptDelivery,
    pub ready: ReadyWhen,
    pub interrupt: Interrupt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Launched, not yet ready (API 0.2).
    Starting,
    Working,
    NeedsInput,
    Idle,
    /// Stopped on an error it shows on screen (API 0.2).
    Error,
    Exited,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Observation {
    pub activity: Activity,
    pub reason: String,
    pub evidence: Option<String>,
    /// The agent's own session id, when the screen shows one (to resume it later).
    pub resume_session: Option<String>,
}

impl PromptDelivery {
    /// The name recorded in `meta.launch.prompt_delivery`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PromptDelivery::None => "none",
            PromptDelivery::Argv => "argv",
            PromptDelivery::Stdin => "stdin",
            PromptDelivery::Paste(_) => "paste",
        }
    }

    /// The text the host types into the pane, if any.
    pub fn pasted(&self) -> Option<&str> {
        match self {
            PromptDelivery::Paste(text) => Some(text),
            _ => None,
        }
    }
}

/// What a runner read from a finished headless run's output (API 0.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeadlessResult {
    pub ok: bool,
    /// The agent's final message or error, one line.
    pub message: Option<String>,
    pub resume_session: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Setup,
    Verify,
    Archive,
}

impl From<crate::config::Phase> for Phase {
    fn from(phase: crate::config::Phase) -> Self {
        match phase {
            crate::config::Phase::Setup => Phase::Setup,
            crate::config::Phase::Verify => Phase::Verify,
            crate::config::Phase::Archive => Phase::Archive,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    pub summary: String,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub data: Option<String>,
}
