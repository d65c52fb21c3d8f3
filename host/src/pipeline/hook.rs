//! `agency hook`: what an agent's own hooks report (Claude Code's settings hooks, Codex's
//! `notify`), written to the run's `hook.json` for status to weigh (`decided_by: hook`). The
//! hook runs inside the agent's environment, so the run is named by the `AGENCY_RUN_ID` and
//! `AGENCY_RUN_DIR` the launch gave it; the directory must be that run's record. An agent can
//! report whatever it likes here — it is the agent's word, like its status file.

use serde_json::{Value, json};
use std::path::PathBuf;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::status::{HOOK_DETAIL_LIMIT as DETAIL_LIMIT, HOOK_EVENT_LIMIT as EVENT_LIMIT};
use crate::store::events::{self, Event};
use crate::store::{RunPaths, atomic, meta};

/// What the agent says it is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Reported {
    Working,
    NeedsInput,
    Idle,
    Error,
    Exited,
}

impl Reported {
    pub fn as_str(self) -> &'static str {
        match self {
            Reported::Working => "working",
            Reported::NeedsInput => "needs_input",
            Reported::Idle => "idle",
            Reported::Error => "error",
            Reported::Exited => "exited",
        }
    }
}

/// Largest payload read (Claude sends a few hundred bytes; Codex's notify includes the
/// turn's last message); a longer one is ignored.
pub const PAYLOAD_LIMIT: usize = 64 << 10;

/// Record one report for the run named by the environment.
pub fn record(runner: &str, reported: Reported, payload: Option<&str>) -> Result<PathBuf> {
    let (paths, meta) = run_from_env()?;
    let payload: Value =
        payload.filter(|p| p.len() <= PAYLOAD_LIMIT).and_then(|p| serde_json::from_str(p).ok()).unwrap_or(Value::Null);
    let text = |keys: &[&str]| keys.iter().find_map(|k| payload.get(*k).and_then(Value::as_str)).map(str::to_string);
    let event = text(&["hook_event_name", "type"]).unwrap_or_else(|| reported.as_str().to_string());
    let detail = text(&["message", "error", "last-assistant-message", "notification_type"])
        .map(|d| crate::safe_text::one_line(&d, DETAIL_LIMIT))
        .unwrap_or_default();
    let session = text(&["session_id", "thread-id"]).filter(|s| crate::plugin::valid_session_id(s));
    let previous = crate::store::read_json::<Value>(&paths.hook());
    let runner = crate::safe_text::one_line(runner, EVENT_LIMIT);
    let report = json!({
        "schema_version": "1.0",
        "runner": runner,
        "activity": reported.as_str(),
        "event": crate::safe_text::one_line(&event, EVENT_LIMIT),
        "detail": detail,
        "session": session,
        "at": crate::clock::now_rfc3339(),
    });
    atomic::write_json_atomic(&paths.hook(), &report)
        .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write hook.json", &paths.hook(), e))?;
    // One event per change of activity (hooks fire on every tool call).
    if previous.as_ref().and_then(|p| p.get("activity")) != report.get("activity") {
        let data = json!({ "activity": reported.as_str(), "event": report["event"], "runner": runner });
        events::append(&paths.events(), &Event::new(&meta.repo_id, &meta.run_id, "hook_reported", data))?;
    }
    Ok(paths.hook())
}

/// The run dir from `AGENCY_RUN_DIR`, checked against `AGENCY_RUN_ID` and its record (which
/// is returned with it).
fn run_from_env() -> Result<(RunPaths, meta::RunMeta)> {
    let outside = || {
        AgencyError::new(
            ErrorCode::Usage,
            "agency hook runs inside an agent that agency started (AGENCY_RUN_DIR is not set)",
        )
        .with_hint("configure it as the agent's hook command; see docs/status.md")
    };
    let dir = PathBuf::from(std::env::var_os("AGENCY_RUN_DIR").ok_or_else(outside)?);
    let run_id = std::env::var("AGENCY_RUN_ID").map_err(|_| outside())?;
    let paths = RunPaths::new(dir.clone());
    let record = meta::read(&paths.meta()).ok().filter(|m| m.run_id == run_id);
    match record {
        Some(meta) if dir.file_name().is_some_and(|n| n == run_id.as_str()) => Ok((paths, meta)),
        _ => Err(AgencyError::new(
            ErrorCode::RunNotFound,
            format!("AGENCY_RUN_DIR={} is not the record of run {run_id}", dir.display()),
        )),
    }
}
