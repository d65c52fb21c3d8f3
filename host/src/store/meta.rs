//! `meta.json`: the durable record of one run (schema 1.x, public, additive-only).
//!
//! Field names are the original Go agency's on purpose, so its data dirs read correctly. Every
//! struct keeps unknown fields in `extra`, so a record written by a newer agency survives a
//! rewrite by this one. Reading is lenient where the original was (`title` may be absent and
//! defaults to `name`; `name` may be absent and is derived from the title or branch).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::store::atomic::write_json_atomic;

pub const SCHEMA_VERSION: &str = "1.0";

type Extra = Map<String, Value>;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunMeta {
    pub schema_version: String,
    pub run_id: String,
    pub repo_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub runner: String,
    /// The exact command line the host launched in tmux (shell-quoted).
    #[serde(default)]
    pub runner_cmd: String,
    #[serde(default)]
    pub parent_branch: String,
    #[serde(default)]
    pub branch: String,
    /// The parent's commit the branch started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_commit: Option<String>,
    /// First of the 10 TCP ports reserved for this run (`AGENCY_PORT_BASE`), so parallel dev
    /// servers of different runs do not collide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_base: Option<u16>,
    #[serde(default)]
    pub worktree_path: String,
    /// The common git dir of the checkout the run was started from: the run's repository,
    /// even when another clone of the same GitHub repository shares its repo id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_common_dir: Option<String>,
    #[serde(default)]
    pub created_at: String,
    /// Present only once the session exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmux_session_name: Option<String>,
    /// Socket path of the tmux server the session lives on; every command talks to that server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmux_socket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Flags>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Box<StepRecord>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_number: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verify_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_report_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<Box<Archive>>,
    /// Pipeline progress: which named step completed last and which one failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Pipeline>,
    /// Which plugin performed each step (`setup`, `runner`, `verify`, `archive`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub plugins: Map<String, Value>,
    /// The launch as planned: mode, prompt delivery and, for headless runs, the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch: Option<Box<Launch>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Flags {
    #[serde(default, skip_serializing_if = "is_false")]
    pub setup_failed: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub tmux_failed: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub needs_attention: bool,
    /// `verify_failed`, `stop_requested`, `setup_failed`, `launch_failed`, `pr_not_mergeable`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_attention_reason: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub abandoned: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Result of a setup (or other) step as the original recorded it, plus the plugin's summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StepRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default)]
    pub exit_code: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub timed_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_ok: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_summary: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Archive {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<String>,
    /// `refs/agency/archive/<run_id>`: where the run's work was saved before removal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_ref: Option<String>,
    /// The commit the ref points at (HEAD, or a snapshot of uncommitted work on top of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_commit: Option<String>,
    /// HEAD of the branch when archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_commit: Option<String>,
    /// Whether uncommitted or untracked changes were saved in `saved_commit`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub uncommitted_saved: bool,
    /// Whether the branch had commits no remote has.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unpushed_commits: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<String>,
    /// Tip of the run branch when archived, when it differs from HEAD (kept reachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_commit: Option<String>,
    /// A commit holding the index as it was (the staged/unstaged split), parent HEAD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_commit: Option<String>,
    /// Every archive ref made for the run, oldest first (refs are never moved; a later save
    /// gets a new ref whose commit has the earlier one as a parent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saved_refs: Vec<String>,
    /// Nested repositories and submodules saved as tarballs in the run dir.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<SavedNested>,
    /// What was deleted without being saved (only with `--force` or a human's yes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsaved: Vec<String>,
    /// Set once removal began: the worktree may be partly deleted, so a retry never saves it
    /// again over the good snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal_started_at: Option<String>,
    /// Set while a restore is under way (an interrupted one is finished by the next).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_started_at: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A nested repository or submodule saved as a tarball.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SavedNested {
    /// Path inside the worktree.
    pub path: String,
    /// File name in the run dir's `archive/`.
    pub file: String,
    pub bytes: u64,
    /// An initialised submodule (restored as a standalone nested repository).
    #[serde(default, skip_serializing_if = "is_false")]
    pub submodule: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pipeline {
    /// The last named step of `agency run` that completed (`scaffold`, `setup`, `launch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Launch {
    /// `interactive` or `headless`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the prompt was typed into the pane (interactive runs whose runner pastes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_sent_at: Option<String>,
    /// When the agent was seen to take the prompt (it left idle, or the text is on screen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_delivered_at: Option<String>,
    /// How the prompt reached the agent: `command` (argv or stdin), `paste`, or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_delivery: Option<String>,
    /// How `agency stop` interrupts this agent, as its runner planned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt: Option<InterruptRecord>,
    /// Time limit of a headless run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `{"keys": ["Escape"]}` or `{"signal": "interrupt"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InterruptRecord {
    Keys(Vec<String>),
    Signal(String),
}

/// Why a run needs the user's attention (`flags.needs_attention_reason`, stored as its
/// snake_case name; records may hold reasons this version does not know, which read as `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    SetupFailed,
    LaunchFailed,
    StopRequested,
    PromptNotDelivered,
    VerifyFailed,
    PrNotMergeable,
}

impl Attention {
    pub const ALL: [Attention; 6] = [
        Attention::SetupFailed,
        Attention::LaunchFailed,
        Attention::StopRequested,
        Attention::PromptNotDelivered,
        Attention::VerifyFailed,
        Attention::PrNotMergeable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attention::SetupFailed => "setup_failed",
            Attention::LaunchFailed => "launch_failed",
            Attention::StopRequested => "stop_requested",
            Attention::PromptNotDelivered => "prompt_not_delivered",
            Attention::VerifyFailed => "verify_failed",
            Attention::PrNotMergeable => "pr_not_mergeable",
        }
    }
}

impl Flags {
    /// Flag the run for attention for `reason` (replacing an earlier reason).
    pub fn raise(&mut self, reason: Attention) {
        self.needs_attention = true;
        self.needs_attention_reason = Some(reason.as_str().to_string());
    }

    /// Clear the flag if `reason` is what raised it.
    pub fn clear(&mut self, reason: Attention) {
        if self.needs_attention_reason.as_deref() == Some(reason.as_str()) {
            self.needs_attention = false;
            self.needs_attention_reason = None;
        }
    }

    /// The current reason, if it is one this version knows.
    pub fn attention(&self) -> Option<Attention> {
        let reason = self.needs_attention_reason.as_deref()?;
        Attention::ALL.into_iter().find(|a| a.as_str() == reason)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl RunMeta {
    /// Title for display: `title`, else `name`.
    pub fn display_title(&self) -> &str {
        self.title.as_deref().filter(|t| !t.is_empty()).unwrap_or(&self.name)
    }

    pub fn flags_mut(&mut self) -> &mut Flags {
        self.flags.get_or_insert_with(Flags::default)
    }

    pub fn is_archived(&self) -> bool {
        self.archive.as_ref().is_some_and(|a| a.archived_at.is_some())
    }

    /// Whether the agent was launched headless (no screen to read: its result comes from its
    /// output once it exits).
    pub fn is_headless(&self) -> bool {
        self.launch.as_ref().is_some_and(|l| l.mode == "headless")
    }

    /// Whether the run keeps its name from other runs: live, and its worktree was created
    /// (a run that failed before it holds nothing).
    pub fn holds_name(&self) -> bool {
        !self.is_archived() && self.pipeline.as_ref().and_then(|p| p.failed_step.as_deref()) != Some("worktree")
    }

    /// The tmux server the run's session is on.
    pub fn tmux_server(&self) -> crate::tmux::Server {
        crate::tmux::Server::of_run(self.tmux_socket.as_deref())
    }

    pub fn pipeline_mut(&mut self) -> &mut Pipeline {
        self.pipeline.get_or_insert_with(Pipeline::default)
    }

    /// Fill fields the original system did not always write, so callers can rely on them.
    fn normalize(&mut self, run_id_from_dir: &str) {
        if self.run_id.is_empty() {
            self.run_id = run_id_from_dir.to_string();
        }
        if self.name.is_empty() {
            self.name = match self.title.as_deref().map(crate::store::names::slugify).filter(|s| !s.is_empty()) {
                Some(slug) => slug,
                None => self
                    .branch
                    .strip_prefix("agency/")
                    .map(|b| b.rsplit_once('-').map_or(b, |(n, _)| n).to_string())
                    .unwrap_or_else(|| self.run_id.clone()),
            };
        }
    }
}

/// Why a run's record could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum Broken {
    Missing,
    Unreadable(String),
    Invalid(String),
    UnsupportedSchema(String),
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::Missing => write!(f, "meta.json is missing"),
            Broken::Unreadable(e) => write!(f, "meta.json is unreadable: {e}"),
            Broken::Invalid(e) => write!(f, "meta.json is not valid: {e}"),
            Broken::UnsupportedSchema(v) => {
                write!(f, "meta.json has schema_version {v:?}, newer than this agency understands")
            }
        }
    }
}

/// Read and parse a run's `meta.json`.
pub fn read(path: &Path) -> std::result::Result<RunMeta, Broken> {
    let bytes = match super::read::read_capped(path, super::read::MAX_RECORD_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => return Err(Broken::Missing),
        Err(e) => return Err(Broken::Unreadable(e.to_string())),
    };
    let dir_name =
        path.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parse(&bytes, &dir_name)
}

/// Read `<run_id>/meta.json` through a handle on the repository's `runs/` directory: a
/// listing opens a thousand records, and each open then walks two path components instead
/// of the whole path from `/`.
pub fn read_in(runs: &cap_std::fs::Dir, run_id: &str) -> std::result::Result<RunMeta, Broken> {
    use cap_std::fs::OpenOptionsExt;
    let relative = format!("{run_id}/meta.json");
    let mut options = cap_std::fs::OpenOptions::new();
    options.read(true).custom_flags(libc::O_NONBLOCK);
    let bytes = match runs.open_with(&relative, &options) {
        Ok(file) => super::read::read_regular(file.into_std(), &relative, super::read::MAX_RECORD_BYTES),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Broken::Missing),
        Err(e) => Err(e),
    };
    parse(&bytes.map_err(|e| Broken::Unreadable(e.to_string()))?, run_id)
}

/// Parse a record read from the run directory named `dir_name`.
fn parse(bytes: &[u8], dir_name: &str) -> std::result::Result<RunMeta, Broken> {
    let mut meta: RunMeta = serde_json::from_slice(bytes).map_err(|e| Broken::Invalid(e.to_string()))?;
    if meta.schema_version.split('.').next() != Some("1") {
        return Err(Broken::UnsupportedSchema(meta.schema_version));
    }
    meta.normalize(dir_name);
    Ok(meta)
}

/// Atomically write `meta.json`.
pub fn write(path: &Path, meta: &RunMeta) -> Result<()> {
    write_json_atomic(path, meta).map_err(|e| {
        AgencyError::io(ErrorCode::MetaWriteFailed, "cannot write meta.json atomically", path, e)
            .with_hint("check free space and permissions of the data dir (agency doctor shows it)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("20260101000000-abcd");
        std::fs::create_dir(&run_dir).unwrap();
        let path = run_dir.join("meta.json");
        std::fs::write(
            &path,
            r#"{"schema_version":"1.3","run_id":"20260101000000-abcd","repo_id":"r","name":"n","runner":"shell",
               "runner_cmd":"sh","parent_branch":"main","branch":"agency/n-abcd","worktree_path":"/w",
               "created_at":"2026-01-01T00:00:00Z","future_field":{"x":1},"flags":{"setup_failed":true,"future_flag":true}}"#,
        )
        .unwrap();
        let mut meta = read(&path).unwrap();
        meta.pr_number = Some(7);
        write(&path, &meta).unwrap();
        let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(value["future_field"]["x"], 1);
        assert_eq!(value["flags"]["future_flag"], true);
        assert_eq!(value["pr_number"], 7);
        assert_eq!(value["schema_version"], "1.3");
    }

    #[test]
    fn original_records_without_title_or_name_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.json");
        std::fs::write(&path, r#"{"schema_version":"1.0","run_id":"x","repo_id":"r","title":"Fix the Bug","runner":"claude","runner_cmd":"claude","parent_branch":"main","branch":"agency/fix-a3f2","worktree_path":"/w","created_at":"2026-01-01T00:00:00Z"}"#).unwrap();
        let meta = read(&path).unwrap();
        assert_eq!(meta.name, "fix-the-bug");
        assert_eq!(meta.display_title(), "Fix the Bug");
        std::fs::write(&path, r#"{"schema_version":"1.0","run_id":"x","repo_id":"r","runner":"claude","runner_cmd":"claude","parent_branch":"main","branch":"agency/fix-a3f2","worktree_path":"/w","created_at":"2026-01-01T00:00:00Z"}"#).unwrap();
        let meta = read(&path).unwrap();
        assert_eq!(meta.name, "fix");
        assert_eq!(meta.display_title(), "fix");
    }

    #[test]
    fn broken_records_are_classified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.json");
        assert_eq!(read(&path), Err(Broken::Missing));
        std::fs::write(&path, "{\"schema_version\":\"1.0\",\"run_").unwrap();
        assert!(matches!(read(&path), Err(Broken::Invalid(_))));
        std::fs::write(&path, r#"{"schema_version":"2.0","run_id":"x","repo_id":"r"}"#).unwrap();
        assert!(matches!(read(&path), Err(Broken::UnsupportedSchema(_))));
    }
}
