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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Interactive,
    Headless,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    pub mode: Mode,
    pub prompt: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LaunchPlan {
    pub command: CommandSpec,
    pub stdin: Option<String>,
    pub ready_pattern: Option<String>,
    pub send_after_ready: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Working,
    NeedsInput,
    Idle,
    Exited,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub activity: Activity,
    pub reason: String,
    pub evidence: Option<String>,
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
