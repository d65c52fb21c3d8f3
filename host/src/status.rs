//! A run's status, composed rather than one flat enum: outcome (open / merged / abandoned),
//! presence (worktree present / archived / missing), runtime (not started / session alive /
//! agent exited inside a live pane / session gone), activity (from the agent's status file and
//! the runner plugin's reading of the screen), flags, and pipeline progress. [`derive`] is pure:
//! callers gather the signals (one `tmux list-panes` for all runs) and pass them in.
//!
//! Activity precedence (documented in docs/status.md, tested below):
//! 1. the screen shows the agent waiting for input (a dialog is live truth, never stale);
//! 2. the screen shows the agent stopped on an error (API 0.2 `error`);
//! 3. the agent's hooks (`agency hook`, `decided_by: hook`): needs input, error, idle, and
//!    working while fresh — believed only while the pane has not changed since the report
//!    (or the screen says nothing clear), because hooks arrive late or not at all;
//! 4. a fresh status file reporting `needs_input`, `blocked` or `ready_for_review`
//!    (`ready_for_review` never goes stale);
//! 5. the screen shows the agent working;
//! 6. a fresh status file reporting `working`;
//! 7. the screen shows the agent starting (API 0.2), then idle at its prompt;
//! 8. a report older than `stall_after` while the pane has been quiet as long: stalled;
//! 9. otherwise: running, with why there is no signal (the runner plugin failed to read the
//!    screen, is not granted, or recognised nothing).
//!
//! The status file the scaffold writes is a template and counts as no report at all. When tmux
//! cannot be asked (not installed, a timeout), live runs say so instead of "session gone".

use serde::Serialize;
use time::OffsetDateTime;

use crate::clock::{parse_rfc3339, rfc3339};
use crate::plugin::api::{Activity as ScreenActivity, Observation};
use crate::safe_text;
use crate::store::meta::{Archive, Flags, Pipeline, RunMeta};

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
    Starting,
    Working,
    NeedsInput,
    Blocked,
    ReadyForReview,
    Error,
    Idle,
    Stalled,
    Unknown,
}

/// How much a status needs the user, for colour and highlighting (typed, so a renamed label
/// can never silently change it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Something is wrong: failed, error, missing, gone.
    Problem,
    /// The agent waits for the user, or the run needs a decision.
    NeedsYou,
    /// Finished work to look at.
    Done,
    /// Working or about to.
    Active,
    /// Archived, merged, abandoned.
    Quiet,
}

/// The runner plugin's reading of the screen, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum ScreenSignal {
    Read {
        plugin: String,
        observation: Observation,
    },
    /// The plugin failed (trap, timeout, …): its error goes into the reason.
    Failed {
        plugin: String,
        error: String,
    },
    /// The plugin's bytes are not granted, so status never runs them.
    NotGranted {
        plugin: String,
    },
}

/// What the agent's hooks last reported (`agency hook`, in the run dir's `hook.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct HookReport {
    pub activity: Activity,
    /// The agent's event name (`PreToolUse`, `Stop`, `agent-turn-complete`).
    pub event: String,
    pub detail: String,
    pub at: OffsetDateTime,
}

/// Bounds of the agent's words kept in `hook.json`, applied when `agency hook` writes it and
/// again when it is read (the agent can write the file itself: it knows `AGENCY_RUN_DIR`).
pub const HOOK_EVENT_LIMIT: usize = 60;
pub const HOOK_DETAIL_LIMIT: usize = 200;

/// Read `hook.json` (`{"schema_version":"1.0","activity":…,"event":…,"detail":…,"at":…}`).
pub fn read_hook(path: &std::path::Path) -> Option<HookReport> {
    let value: serde_json::Value = crate::store::read_json(path)?;
    let get = |k: &str| value.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let activity = match get("activity").as_str() {
        "working" => Activity::Working,
        "needs_input" => Activity::NeedsInput,
        "idle" => Activity::Idle,
        "error" => Activity::Error,
        _ => return None,
    };
    Some(HookReport {
        activity,
        event: crate::safe_text::one_line(&get("event"), HOOK_EVENT_LIMIT),
        detail: crate::safe_text::one_line(&get("detail"), HOOK_DETAIL_LIMIT),
        at: parse_rfc3339(&get("at"))?,
    })
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
    /// The runner plugin's reading of the screen, or why there is none.
    pub screen: Option<ScreenSignal>,
    /// What the agent's hooks last reported.
    pub hook: Option<HookReport>,
    /// What the runner plugin read from a finished headless run's output (API 0.2 runners).
    pub headless: Option<HeadlessOutcome>,
    /// Why tmux could not be asked about the run's server, if it could not.
    pub tmux_error: Option<String>,
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
            hook: None,
            headless: None,
            tmux_error: None,
            stall_after: crate::config::user::DEFAULT_STALL_AFTER,
        }
    }
}

/// The composed status, a short label, a one-line reason, and which signal decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub label: String,
    pub reason: String,
    /// `record`, `tmux`, `runner_exit`, `hook`, `status_file`, `screen:<plugin>`.
    pub decided_by: String,
    pub tone: Tone,
    pub outcome: Outcome,
    pub presence: Presence,
    pub runtime: Runtime,
    pub activity: Option<Activity>,
    pub flags: Vec<String>,
    pub last_step: Option<String>,
    pub failed_step: Option<String>,
    /// A problem with the status file (reported, not trusted).
    pub status_file_error: Option<String>,
    /// How the agent process ended, once it has (exit code, time limit, duration).
    pub agent_exit: Option<ExitFacts>,
    /// The line of screen text (or hook detail) that decided the activity, if any.
    pub evidence: Option<String>,
}

/// How the agent ended, as `show --json` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExitFacts {
    pub exit_code: i32,
    pub timed_out: bool,
    pub duration_ms: Option<u64>,
}

fn hhmm(t: OffsetDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// One decision: the label shown, why, which signal decided, and how urgent it is.
struct Verdict {
    label: String,
    reason: String,
    by: String,
    tone: Tone,
    activity: Option<Activity>,
    evidence: Option<String>,
}

impl Verdict {
    fn new(label: &str, reason: String, by: &str, tone: Tone) -> Self {
        Verdict { label: label.into(), reason, by: by.into(), tone, activity: None, evidence: None }
    }

    fn activity(mut self, activity: Activity) -> Self {
        self.activity = Some(activity);
        self
    }
}

pub fn derive(meta: &RunMeta, signals: &Signals) -> Status {
    // Borrowed, not cloned: a listing derives a thousand statuses.
    let (no_flags, no_archive, no_pipeline) = (Flags::default(), Archive::default(), Pipeline::default());
    let flags = meta.flags.as_ref().unwrap_or(&no_flags);
    let archive = meta.archive.as_deref().unwrap_or(&no_archive);
    let pipeline = meta.pipeline.as_ref().unwrap_or(&no_pipeline);
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
        StatusFile::Invalid(e) => Some(safe_text::one_line(e, 200)),
        _ => None,
    };
    let agent_exit = signals.exit.as_ref().map(|exit| ExitFacts {
        exit_code: exit.code,
        timed_out: exit.timed_out,
        duration_ms: exit.started_at.zip(exit.ended_at).map(|(s, e)| (e - s).whole_milliseconds().max(0) as u64),
    });
    let headless = meta.is_headless();
    let verdict = match (outcome, presence) {
        (Outcome::Merged, _) => Verdict::new(
            "merged",
            format!("merged at {}", archive.merged_at.as_deref().unwrap_or_default()),
            "record",
            Tone::Quiet,
        ),
        (Outcome::Abandoned, Presence::Archived) => {
            Verdict::new("abandoned", "cleaned without merging; its work is saved".into(), "record", Tone::Quiet)
        }
        (_, Presence::Archived) => Verdict::new(
            "archived",
            format!("archived at {}", archive.archived_at.as_deref().unwrap_or_default()),
            "record",
            Tone::Quiet,
        ),
        _ => live(meta, signals, runtime, presence, headless),
    };
    let mut status = Status {
        label: verdict.label,
        reason: safe_text::one_line(&verdict.reason, 300),
        // It can name the runner a record says (`screen:<runner>`): shown as it is by `show`.
        decided_by: safe_text::one_line(&verdict.by, 80),
        tone: verdict.tone,
        outcome,
        presence,
        runtime,
        activity: verdict.activity,
        flags: flag_list,
        last_step: pipeline.last_step.clone(),
        failed_step: pipeline.failed_step.clone(),
        status_file_error,
        agent_exit,
        evidence: verdict.evidence,
    };
    if let Some(error) = &status.status_file_error {
        status.reason.push_str(&format!(" (status file ignored: {error})"));
    }
    if flags.needs_attention
        && !matches!(status.activity, Some(Activity::NeedsInput | Activity::Blocked))
        && outcome == Outcome::Open
    {
        status.reason.push_str(&format!(
            " [needs attention: {}]",
            safe_text::one_line(flags.needs_attention_reason.as_deref().unwrap_or("unknown"), 60)
        ));
        if status.tone == Tone::Active {
            status.tone = Tone::NeedsYou;
        }
    }
    status
}

/// A run that is not archived: its pipeline, its session, then what the agent is doing.
fn live(meta: &RunMeta, signals: &Signals, runtime: Runtime, presence: Presence, headless: bool) -> Verdict {
    let no_pipeline = Pipeline::default();
    let pipeline = meta.pipeline.as_ref().unwrap_or(&no_pipeline);
    if let (Some(step), Runtime::NotStarted) = (&pipeline.failed_step, runtime) {
        let reason = format!(
            "{} {}",
            pipeline.error_code.as_deref().unwrap_or_default(),
            pipeline.error_message.as_deref().unwrap_or_default()
        );
        return Verdict::new(&format!("failed: {step}"), reason.trim().to_string(), "record", Tone::Problem);
    }
    if presence == Presence::WorktreeMissing {
        let reason = format!("{} does not exist; see agency repair", meta.worktree_path);
        return Verdict::new("worktree missing", reason, "record", Tone::Problem);
    }
    if runtime == Runtime::NotStarted {
        let reason = format!(
            "the pipeline stopped after `{}`; no agent session was started (agency resume {} starts it)",
            pipeline.last_step.as_deref().unwrap_or("run_dir"),
            meta.name
        );
        return Verdict::new("created, not started", reason, "record", Tone::NeedsYou);
    }
    if let (Some(exit), true) = (&signals.exit, headless) {
        return headless_result(exit, signals.headless.as_ref());
    }
    if headless && runtime == Runtime::SessionAlive && signals.exit.is_none() {
        // A headless agent prints output, not a TUI: nothing for `classify` to read.
        let reason = format!("headless run in progress (agency logs {} runner --follow)", meta.name);
        return Verdict::new("running", reason, "tmux", Tone::Active);
    }
    if let Some(error) = &signals.tmux_error {
        let reason = format!("cannot ask tmux about the session: {error}");
        return Verdict::new("tmux unavailable", reason, "tmux", Tone::Problem);
    }
    match (runtime, &signals.exit) {
        (Runtime::SessionGone, _) => Verdict::new(
            "session gone",
            format!("the tmux session ended (reboot or kill); agency resume {}", meta.name),
            "tmux",
            Tone::Problem,
        ),
        (Runtime::AgentExited, Some(exit)) => Verdict::new(
            "agent exited",
            format!(
                "the agent exited with status {}{}; the pane has a shell (agency resume {} starts it again)",
                exit.code,
                exit.ended_at.map(|t| format!(" at {}", hhmm(t))).unwrap_or_default(),
                meta.name
            ),
            "runner_exit",
            Tone::NeedsYou,
        ),
        _ => activity(signals),
    }
}

/// A finished headless run: the time limit first, then what the runner read from its output
/// (an agent can exit 0 after a failed turn, or print why it failed), then the exit code.
fn headless_result(exit: &AgentExit, outcome: Option<&HeadlessOutcome>) -> Verdict {
    let took = match (exit.started_at, exit.ended_at) {
        (Some(s), Some(e)) => format!(" after {}", crate::clock::format_duration((e - s).unsigned_abs())),
        _ => String::new(),
    };
    let said = |o: Option<&HeadlessOutcome>| {
        o.and_then(|o| o.message.as_deref()).map(|m| format!(": {}", safe_text::one_line(m, 160))).unwrap_or_default()
    };
    if exit.timed_out {
        return Verdict::new(
            "failed",
            format!("headless run timed out{took}{}", said(outcome)),
            "runner_exit",
            Tone::Problem,
        );
    }
    if let Some(o) = outcome {
        let how = format!("status {}{took}", exit.code);
        return match o.ok && exit.code == 0 {
            true => Verdict::new(
                "done",
                format!("headless run finished ({how}){}", said(outcome)),
                "headless_result",
                Tone::Done,
            ),
            false => Verdict::new(
                "failed",
                format!("headless run failed ({how}){}", said(outcome)),
                "headless_result",
                Tone::Problem,
            ),
        };
    }
    match exit.code {
        0 => Verdict::new("done", format!("headless run finished with status 0{took}"), "runner_exit", Tone::Done),
        code => Verdict::new(
            "failed",
            format!("headless run exited with status {code}{took}"),
            "runner_exit",
            Tone::Problem,
        ),
    }
}

/// What the runner plugin read from a finished headless run (cached as `runner_result.json`,
/// keyed by the exit's end time).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeadlessOutcome {
    /// `ended_at` of the exit this reading belongs to (unix seconds).
    pub ended: i64,
    pub ok: bool,
    pub message: Option<String>,
    pub resume_session: Option<String>,
}

/// Screen output this long after a hook report still counts as the state the hook reported
/// (the agent draws its own reaction to the event).
const HOOK_SLACK_SECS: i64 = 2;

/// The activity of a live agent, by the precedence in the module documentation.
fn activity(s: &Signals) -> Verdict {
    let fresh = |t: OffsetDateTime| (s.now - t).unsigned_abs() < s.stall_after;
    let report = match &s.status_file {
        StatusFile::Report(r) => Some(r),
        _ => None,
    };
    let observed = match &s.screen {
        Some(ScreenSignal::Read { plugin, observation }) => Some((plugin.as_str(), observation)),
        _ => None,
    };
    let screen_says = |activity: ScreenActivity| observed.filter(|(_, o)| o.activity == activity);
    let from_screen = |(plugin, o): (&str, &Observation), label: &str, activity: Activity, tone: Tone| {
        let evidence = o.evidence.as_ref().map(|e| format!(": '{}'", safe_text::one_line(e, 120))).unwrap_or_default();
        let mut verdict = Verdict::new(
            label,
            format!("{plugin} runner saw {} at {}{evidence}", o.reason, hhmm(s.now)),
            &format!("screen:{plugin}"),
            tone,
        )
        .activity(activity);
        verdict.evidence = o.evidence.clone();
        verdict
    };
    let from_report = |r: &StatusReport, label: &str, activity: Activity, tone: Tone, detail: String| {
        Verdict::new(label, format!("agent reported at {}: {detail}", hhmm(r.updated_at)), "status_file", tone)
            .activity(activity)
    };
    if let Some(found) = screen_says(ScreenActivity::NeedsInput) {
        return from_screen(found, "needs input", Activity::NeedsInput, Tone::NeedsYou);
    }
    if let Some(found) = screen_says(ScreenActivity::Error) {
        return from_screen(found, "error", Activity::Error, Tone::Problem);
    }
    // Hooks can arrive late or be missed (a notification a minute after the fact, no hook
    // for a question): a report is believed while the pane has not changed since, or while
    // the screen itself says nothing clear.
    let screen_clear = observed.is_some_and(|(_, o)| o.activity != ScreenActivity::Unknown);
    let hook_current = |h: &&HookReport| {
        !screen_clear || s.pane_activity.is_none_or(|p| p <= h.at + time::Duration::seconds(HOOK_SLACK_SECS))
    };
    if let Some(hook) = s.hook.as_ref().filter(|h| h.activity != Activity::Working || fresh(h.at)).filter(hook_current)
    {
        let (label, tone) = match hook.activity {
            Activity::NeedsInput => ("needs input", Tone::NeedsYou),
            Activity::Error => ("error", Tone::Problem),
            Activity::Idle => ("idle", Tone::NeedsYou),
            _ => ("working", Tone::Active),
        };
        let detail = if hook.detail.is_empty() { String::new() } else { format!(": {}", hook.detail) };
        let mut verdict =
            Verdict::new(label, format!("agent hook {} at {}{detail}", hook.event, hhmm(hook.at)), "hook", tone)
                .activity(hook.activity);
        verdict.evidence = (!hook.detail.is_empty()).then(|| hook.detail.clone());
        return verdict;
    }
    if let Some(r) = report {
        match r.status.as_str() {
            "needs_input" if fresh(r.updated_at) => {
                return from_report(r, "needs input", Activity::NeedsInput, Tone::NeedsYou, r.questions.join(" / "));
            }
            "blocked" if fresh(r.updated_at) => {
                return from_report(r, "blocked", Activity::Blocked, Tone::NeedsYou, r.blockers.join(" / "));
            }
            "ready_for_review" => {
                let detail = format!("{} — test: {}", r.summary, r.how_to_test.clone().unwrap_or_default());
                return from_report(r, "ready for review", Activity::ReadyForReview, Tone::Done, detail);
            }
            _ => {}
        }
    }
    if let Some(found) = screen_says(ScreenActivity::Working) {
        return from_screen(found, "working", Activity::Working, Tone::Active);
    }
    if let Some(r) = report.filter(|r| r.status == "working" && fresh(r.updated_at)) {
        return from_report(r, "working", Activity::Working, Tone::Active, r.summary.clone());
    }
    if let Some(found) = screen_says(ScreenActivity::Starting) {
        return from_screen(found, "starting", Activity::Starting, Tone::Active);
    }
    if let Some(found) = screen_says(ScreenActivity::Idle) {
        return from_screen(found, "idle", Activity::Idle, Tone::NeedsYou);
    }
    let quiet = s.pane_activity.is_none_or(|t| !fresh(t));
    if let Some(r) = report.filter(|r| !fresh(r.updated_at) && quiet) {
        let reason = format!(
            "no status update since {} and no output in the pane since {}",
            rfc3339(r.updated_at),
            s.pane_activity.map(rfc3339).unwrap_or_else(|| "?".into())
        );
        return Verdict::new("stalled", reason, "status_file", Tone::NeedsYou).activity(Activity::Stalled);
    }
    let (reason, by) = match &s.screen {
        Some(ScreenSignal::Read { plugin, observation }) => {
            (format!("session alive; {plugin} runner: {}", observation.reason), format!("screen:{plugin}"))
        }
        Some(ScreenSignal::Failed { plugin, error }) => (
            format!(
                "session alive; runner plugin {plugin} failed to read the screen: {} (agency plugin test {plugin})",
                safe_text::one_line(error, 200)
            ),
            format!("screen:{plugin}"),
        ),
        Some(ScreenSignal::NotGranted { plugin }) => (
            format!(
                "session alive; runner plugin {plugin} is not granted, so its screen is not read (agency plugin trust {plugin})"
            ),
            "tmux".into(),
        ),
        None => ("session alive; no status signal yet".into(), "tmux".into()),
    };
    Verdict::new("running", reason, &by, Tone::Active).activity(Activity::Unknown)
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
