//! A run's status, composed from independent parts rather than one flat enum: outcome (open /
//! merged / abandoned), presence (worktree present / archived / missing), runtime (tmux session
//! alive / gone / never started), pipeline progress and flags. [`derive`] is pure: callers
//! gather the signals (one `tmux list-panes` for all runs) and pass them in.

use serde::Serialize;

use crate::store::meta::RunMeta;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Open,
    Merged,
    Abandoned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    WorktreePresent,
    Archived,
    WorktreeMissing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    /// No tmux session was ever recorded for the run.
    NotStarted,
    SessionAlive,
    SessionGone,
}

/// Live signals gathered by the caller.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    pub worktree_exists: bool,
    pub session_alive: bool,
}

/// The composed status plus a one-word-ish label and a one-line reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub label: String,
    pub reason: String,
    pub outcome: Outcome,
    pub presence: Presence,
    pub runtime: Runtime,
    pub flags: Vec<String>,
}

pub fn derive(meta: &RunMeta, signals: &Signals) -> Status {
    let flags = meta.flags();
    let archive = meta.archive.clone().unwrap_or_default();
    let outcome = if archive.merged_at.is_some() {
        Outcome::Merged
    } else if flags.abandoned {
        Outcome::Abandoned
    } else {
        Outcome::Open
    };
    let presence = if meta.is_archived() {
        Presence::Archived
    } else if signals.worktree_exists {
        Presence::WorktreePresent
    } else {
        Presence::WorktreeMissing
    };
    let runtime = match (&meta.tmux_session_name, signals.session_alive) {
        (_, true) => Runtime::SessionAlive,
        (Some(_), false) => Runtime::SessionGone,
        (None, false) => Runtime::NotStarted,
    };
    let mut flag_list = Vec::new();
    if flags.setup_failed {
        flag_list.push("setup_failed".to_string());
    }
    if flags.needs_attention {
        flag_list.push(format!("needs_attention:{}", flags.needs_attention_reason.clone().unwrap_or_default()));
    }
    let pipeline = meta.pipeline.clone().unwrap_or_default();
    let (label, reason) = match (outcome, presence, runtime) {
        (Outcome::Merged, _, _) => ("merged".into(), format!("merged at {}", archive.merged_at.unwrap_or_default())),
        (Outcome::Abandoned, Presence::Archived, _) => {
            ("abandoned".into(), "cleaned without merging; work saved".into())
        }
        (_, Presence::Archived, _) => {
            ("archived".into(), format!("archived at {}", archive.archived_at.unwrap_or_default()))
        }
        _ if pipeline.failed_step.is_some() => (
            format!("failed: {}", pipeline.failed_step.clone().unwrap_or_default()),
            format!("{} {}", pipeline.error_code.unwrap_or_default(), pipeline.error_message.unwrap_or_default())
                .trim()
                .to_string(),
        ),
        (_, Presence::WorktreeMissing, _) => {
            ("worktree missing".into(), format!("{} does not exist", meta.worktree_path))
        }
        (_, _, Runtime::NotStarted) => (
            "created, not started".into(),
            format!(
                "pipeline stopped after `{}`; no agent session was started",
                pipeline.last_step.unwrap_or_else(|| "?".into())
            ),
        ),
        (_, _, Runtime::SessionGone) => ("session gone".into(), "the tmux session no longer exists".into()),
        (_, _, Runtime::SessionAlive) => ("running".into(), "tmux session is alive".into()),
    };
    Status { label, reason, outcome, presence, runtime, flags: flag_list }
}
