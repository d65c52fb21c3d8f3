//! A run's status, composed rather than one flat enum: outcome (open / merged / abandoned),
//! presence (worktree present / archived / missing), runtime (not started / session alive /
//! agent exited inside a live pane / session gone), activity (from the agent's status file and
//! the runner plugin's reading of the screen), flags, and pipeline progress. [`derive`] is pure:
//! callers gather the signals (one `tmux list-panes` for all runs) and pass them in.
//!
//! Activity precedence (documented in docs/status.md, tested below):
//! 1. the screen shows the agent waiting for input (a prompt is live truth, never stale);
//! 2. a fresh status file reporting `needs_input`, `blocked` or `ready_for_review`
//!    (`ready_for_review` never goes stale);
//! 3. the screen shows the agent working;
//! 4. a fresh status file reporting `working`;
//! 5. the screen shows the agent idle at its prompt;
//! 6. a status file older than `stall_after` while the pane has been quiet as long: stalled;
//! 7. otherwise: running, no signal.
//!
//! The status file the scaffold writes is a template and counts as no report at all.

use serde::Serialize;
use time::OffsetDateTime;

use crate::clock::{parse_rfc3339, rfc3339};
use crate::plugin::api::{Activity as ScreenActivity, Observation};
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
    /// The agent ended; its pane (a shell now) is still there.
    AgentExited,
    SessionGone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Working,
    NeedsInput,
    Blocked,
    ReadyForReview,
    Idle,
    Stalled,
    Unknown,
}

/// What the agent wrote in `.agency/state/runner_status.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub status: String,
    pub summary: String,
    pub updated_at: OffsetDateTime,
    pub questions: Vec<String>,
    pub blockers: Vec<String>,
    pub how_to_test: Option<String>,
}

/// The status file as found: absent, the scaffold's template, invalid, or a report.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StatusFile {
    #[default]
    Absent,
    Template,
    Invalid(String),
    Report(StatusReport),
}

/// How the agent process ended (from `runner_exit.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentExit {
    pub code: i32,
    pub timed_out: bool,
    pub started_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
}

/// Live signals gathered by the caller.
#[derive(Debug, Clone)]
pub struct Signals {
    pub now: OffsetDateTime,
    pub worktree_exists: bool,
    pub session_alive: bool,
    /// Last output in the pane (tmux `window_activity`).
    pub pane_activity: Option<OffsetDateTime>,
    pub exit: Option<AgentExit>,
    pub status_file: StatusFile,
    /// The runner plugin's reading of the screen, with the plugin id.
    pub screen: Option<(String, Observation)>,
    pub stall_after: std::time::Duration,
}

impl Signals {
    pub fn new(now: OffsetDateTime) -> Self {
        Signals {
            now,
            worktree_exists: true,
            session_alive: false,
            pane_activity: None,
            exit: None,
            status_file: StatusFile::Absent,
            screen: None,
            stall_after: crate::config::user::DEFAULT_STALL_AFTER,
        }
    }
}

/// The composed status, a short label, a one-line reason, and which signal decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub label: String,
    pub reason: String,
    /// `record`, `tmux`, `runner_exit`, `status_file`, `screen:<plugin>`.
    pub decided_by: String,
    pub outcome: Outcome,
    pub presence: Presence,
    pub runtime: Runtime,
    pub activity: Option<Activity>,
    pub flags: Vec<String>,
    pub last_step: Option<String>,
    pub failed_step: Option<String>,
    /// A problem with the status file (reported, not trusted).
    pub status_file_error: Option<String>,
}

fn hhmm(t: OffsetDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

pub fn derive(meta: &RunMeta, signals: &Signals) -> Status {
    let flags = meta.flags();
    let archive = meta.archive.clone().unwrap_or_default();
    let pipeline = meta.pipeline.clone().unwrap_or_default();
    let outcome = match (archive.merged_at.is_some(), flags.abandoned) {
        (true, _) => Outcome::Merged,
        (false, true) => Outcome::Abandoned,
        _ => Outcome::Open,
    };
    let presence = match (meta.is_archived(), signals.worktree_exists) {
        (true, _) => Presence::Archived,
        (false, true) => Presence::WorktreePresent,
        (false, false) => Presence::WorktreeMissing,
    };
    let runtime = match (&meta.tmux_session_name, signals.session_alive, &signals.exit) {
        (_, true, Some(_)) => Runtime::AgentExited,
        (_, true, None) => Runtime::SessionAlive,
        (Some(_), false, _) => Runtime::SessionGone,
        (None, false, _) => Runtime::NotStarted,
    };
    let mut flag_list = Vec::new();
    if flags.setup_failed {
        flag_list.push("setup_failed".to_string());
    }
    if flags.needs_attention {
        flag_list.push(format!(
            "needs_attention:{}",
            flags.needs_attention_reason.clone().unwrap_or_else(|| "unknown".into())
        ));
    }
    if flags.abandoned {
        flag_list.push("abandoned".into());
    }
    let status_file_error = match &signals.status_file {
        StatusFile::Invalid(e) => Some(e.clone()),
        _ => None,
    };
    let headless = meta.launch.as_ref().is_some_and(|l| l.mode == "headless");
    let mut status = Status {
        label: String::new(),
        reason: String::new(),
        decided_by: "record".into(),
        outcome,
        presence,
        runtime,
        activity: None,
        flags: flag_list,
        last_step: pipeline.last_step.clone(),
        failed_step: pipeline.failed_step.clone(),
        status_file_error,
    };
    let (label, reason, by): (String, String, String) = match (outcome, presence) {
        (Outcome::Merged, _) => {
            ("merged".into(), format!("merged at {}", archive.merged_at.unwrap_or_default()), "record".into())
        }
        (Outcome::Abandoned, Presence::Archived) => {
            ("abandoned".into(), "cleaned without merging; its work is saved".into(), "record".into())
        }
        (_, Presence::Archived) => {
            ("archived".into(), format!("archived at {}", archive.archived_at.unwrap_or_default()), "record".into())
        }
        _ => match (&pipeline.failed_step, presence, runtime, &signals.exit) {
            (Some(step), _, Runtime::NotStarted, _) => (
                format!("failed: {step}"),
                format!(
                    "{} {}",
                    pipeline.error_code.clone().unwrap_or_default(),
                    pipeline.error_message.clone().unwrap_or_default()
                )
                .trim()
                .to_string(),
                "record".into(),
            ),
            (_, Presence::WorktreeMissing, _, _) => (
                "worktree missing".into(),
                format!("{} does not exist; see agency repair", meta.worktree_path),
                "record".into(),
            ),
            (_, _, Runtime::NotStarted, _) => (
                "created, not started".into(),
                format!(
                    "the pipeline stopped after `{}`; no agent session was started",
                    pipeline.last_step.unwrap_or_else(|| "run_dir".into())
                ),
                "record".into(),
            ),
            (_, _, _, Some(exit)) if headless => headless_result(exit),
            (_, _, Runtime::SessionGone, _) => (
                "session gone".into(),
                format!("the tmux session ended (reboot or kill); agency resume {}", meta.name),
                "tmux".into(),
            ),
            (_, _, Runtime::AgentExited, Some(exit)) => (
                "agent exited".into(),
                format!(
                    "the agent exited with status {}{}; the pane has a shell",
                    exit.code,
                    exit.ended_at.map(|t| format!(" at {}", hhmm(t))).unwrap_or_default()
                ),
                "runner_exit".into(),
            ),
            _ => {
                let (activity, label, reason, by) = activity(signals);
                status.activity = Some(activity);
                (label, reason, by)
            }
        },
    };
    status.label = label;
    status.reason = reason;
    status.decided_by = by;
    if let Some(error) = &status.status_file_error {
        status.reason.push_str(&format!(" (status file ignored: {error})"));
    }
    if flags.needs_attention
        && !matches!(status.activity, Some(Activity::NeedsInput | Activity::Blocked))
        && outcome == Outcome::Open
    {
        status.reason.push_str(&format!(
            " [needs attention: {}]",
            flags.needs_attention_reason.unwrap_or_else(|| "unknown".into())
        ));
    }
    status
}

fn headless_result(exit: &AgentExit) -> (String, String, String) {
    let took = match (exit.started_at, exit.ended_at) {
        (Some(s), Some(e)) => format!(" after {}", crate::clock::format_duration((e - s).unsigned_abs())),
        _ => String::new(),
    };
    match (exit.timed_out, exit.code) {
        (true, _) => ("failed".into(), format!("headless run timed out{took}"), "runner_exit".into()),
        (false, 0) => ("done".into(), format!("headless run finished with status 0{took}"), "runner_exit".into()),
        (false, code) => {
            ("failed".into(), format!("headless run exited with status {code}{took}"), "runner_exit".into())
        }
    }
}

/// The activity of a live agent, by the precedence in the module documentation.
fn activity(s: &Signals) -> (Activity, String, String, String) {
    let fresh = |t: OffsetDateTime| (s.now - t).unsigned_abs() < s.stall_after;
    let report = match &s.status_file {
        StatusFile::Report(r) => Some(r),
        _ => None,
    };
    let screen = s.screen.as_ref();
    let screen_says = |activity: ScreenActivity| screen.filter(|(_, o)| o.activity == activity);
    let from_screen = |(plugin, o): &(String, Observation), label: &str, activity: Activity| {
        let evidence = o.evidence.as_ref().map(|e| format!(": '{e}'")).unwrap_or_default();
        (
            activity,
            label.to_string(),
            format!("{plugin} runner saw {} at {}{evidence}", o.reason, hhmm(s.now)),
            format!("screen:{plugin}"),
        )
    };
    let from_report = |r: &StatusReport, label: &str, activity: Activity, detail: String| {
        (
            activity,
            label.to_string(),
            format!("agent reported at {}: {detail}", hhmm(r.updated_at)),
            "status_file".to_string(),
        )
    };
    if let Some(found) = screen_says(ScreenActivity::NeedsInput) {
        return from_screen(found, "needs input", Activity::NeedsInput);
    }
    if let Some(r) = report {
        match r.status.as_str() {
            "needs_input" if fresh(r.updated_at) => {
                return from_report(r, "needs input", Activity::NeedsInput, r.questions.join(" / "));
            }
            "blocked" if fresh(r.updated_at) => {
                return from_report(r, "blocked", Activity::Blocked, r.blockers.join(" / "));
            }
            "ready_for_review" => {
                return from_report(
                    r,
                    "ready for review",
                    Activity::ReadyForReview,
                    format!("{} — test: {}", r.summary, r.how_to_test.clone().unwrap_or_default()),
                );
            }
            _ => {}
        }
    }
    if let Some(found) = screen_says(ScreenActivity::Working) {
        return from_screen(found, "working", Activity::Working);
    }
    if let Some(r) = report.filter(|r| r.status == "working" && fresh(r.updated_at)) {
        return from_report(r, "working", Activity::Working, r.summary.clone());
    }
    if let Some(found) = screen_says(ScreenActivity::Idle) {
        return from_screen(found, "idle", Activity::Idle);
    }
    let quiet = s.pane_activity.is_none_or(|t| !fresh(t));
    if let Some(r) = report.filter(|r| !fresh(r.updated_at) && quiet) {
        let reason = format!(
            "no status update since {} and no output in the pane since {}",
            rfc3339(r.updated_at),
            s.pane_activity.map(rfc3339).unwrap_or_else(|| "?".into())
        );
        return (Activity::Stalled, "stalled".into(), reason, "status_file".into());
    }
    let reason = match screen {
        Some((plugin, o)) => format!("session alive; {plugin} runner: {}", o.reason),
        None => "session alive; no status signal yet".into(),
    };
    (Activity::Unknown, "running".into(), reason, if screen.is_some() { "screen".into() } else { "tmux".into() })
}

/// Parse `runner_status.json` (the original system's contract, schema 1.0), rejecting what
/// it forbids: missing fields, unknown statuses, and statuses without their required lists.
pub fn parse_status_file(text: &str, template_summary: &str) -> StatusFile {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return StatusFile::Invalid(format!("not JSON ({e})")),
    };
    let get = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let list = |k: &str| -> Vec<String> {
        value
            .get(k)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    if get("schema_version").as_deref() != Some("1.0") {
        return StatusFile::Invalid("schema_version must be \"1.0\"".into());
    }
    let Some(status) = get("status") else { return StatusFile::Invalid("status is missing".into()) };
    if !["working", "needs_input", "blocked", "ready_for_review"].contains(&status.as_str()) {
        return StatusFile::Invalid(format!("unknown status {status:?}"));
    }
    let Some(updated_at) = get("updated_at").as_deref().and_then(parse_rfc3339) else {
        return StatusFile::Invalid("updated_at must be an RFC 3339 time".into());
    };
    let summary = get("summary").unwrap_or_default();
    if summary == template_summary {
        return StatusFile::Template;
    }
    let report = StatusReport {
        status,
        summary,
        updated_at,
        questions: list("questions"),
        blockers: list("blockers"),
        how_to_test: get("how_to_test"),
    };
    match report.status.as_str() {
        "needs_input" if report.questions.is_empty() => StatusFile::Invalid("needs_input without questions".into()),
        "blocked" if report.blockers.is_empty() => StatusFile::Invalid("blocked without blockers".into()),
        "ready_for_review" if report.how_to_test.as_deref().is_none_or(str::is_empty) => {
            StatusFile::Invalid("ready_for_review without how_to_test".into())
        }
        _ => StatusFile::Report(report),
    }
}

#[cfg(test)]
mod tests;
