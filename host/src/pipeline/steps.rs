//! Running the step plugins of one phase (setup, verify, archive) for a run: each configured
//! step in order, with its parameters, timeout and `logs/<phase>.log`, stopping at the first
//! failure. The result says what happened and which plugins did it, for the run record.

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::RunRecord;
use super::authorize::{self, Authorized};
use crate::config::agency_json::default_timeout;
use crate::config::{AgencyJson, Phase, StepConfig};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::plugin::api::Outcome;
use crate::plugin::{CallContext, Provenance};
use crate::store::meta::{RunMeta, StepRecord};

/// What a phase did.
#[derive(Debug, Clone)]
pub struct PhaseReport {
    pub phase: Phase,
    pub ok: bool,
    /// One line: the failing step's summary, or all summaries joined.
    pub summary: String,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
    pub log: PathBuf,
    pub steps: Vec<(String, Outcome)>,
    pub provenance: Vec<Provenance>,
}

impl PhaseReport {
    /// The record kept in `meta.json` (`setup` uses the original system's field names).
    pub fn record(&self) -> StepRecord {
        StepRecord {
            command: Some(self.steps.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(" + ")),
            exit_code: self.exit_code.unwrap_or(if self.ok { 0 } else { 1 }),
            duration_ms: Some(self.duration.as_millis() as u64),
            timed_out: self.timed_out,
            log_path: Some(self.log.display().to_string()),
            output_ok: Some(self.ok),
            output_summary: Some(self.summary.clone()),
            ..StepRecord::default()
        }
    }

    /// `E_SCRIPT_TIMEOUT` / `E_SCRIPT_FAILED` for a failed phase, pointing at its log.
    pub fn failure(&self, run_name: &str) -> AgencyError {
        let code = if self.timed_out { ErrorCode::ScriptTimeout } else { ErrorCode::ScriptFailed };
        AgencyError::new(code, format!("{} failed: {}", self.phase, self.summary))
            .with_detail("log", self.log.display())
            .with_detail("run", run_name)
    }
}

/// The parameters a step receives: its own, plus `timeout_ms` and `script` from agency.json.
fn step_params(
    step: &StepConfig,
    config: &AgencyJson,
    phase: Phase,
    timeout: Duration,
    meta: &RunMeta,
) -> Vec<(String, String)> {
    let mut params = step.params.clone();
    params.push(("timeout_ms".into(), timeout.as_millis().to_string()));
    if let Some(port) = meta.port_base {
        params.push(("port_base".into(), port.to_string()));
    }
    if let Some(script) = config.scripts.get(&phase) {
        params.push(("script".into(), script.path.clone()));
    }
    params
}

/// The step's time limit: its own `timeout`, else `scripts.<phase>.timeout`, else the default.
fn step_timeout(step: &StepConfig, config: &AgencyJson, phase: Phase, override_timeout: Option<Duration>) -> Duration {
    override_timeout
        .or(step.timeout)
        .or_else(|| config.scripts.get(&phase).map(|s| s.timeout))
        .unwrap_or_else(|| default_timeout(phase))
}

/// Run the authorized steps of `phase` for the run in `record`.
pub fn run_phase(
    env: &Env,
    record: &RunRecord,
    meta: &RunMeta,
    (repo_root, config): (&Path, &AgencyJson),
    phase: Phase,
    steps: Vec<(StepConfig, Authorized)>,
    override_timeout: Option<Duration>,
) -> Result<PhaseReport> {
    let started = Instant::now();
    let log = record.paths.log(phase.as_str());
    let mut report = PhaseReport {
        phase,
        ok: true,
        summary: String::new(),
        exit_code: None,
        timed_out: false,
        duration: Duration::ZERO,
        log: log.clone(),
        steps: Vec::new(),
        provenance: Vec::new(),
    };
    if steps.is_empty() {
        report.summary = format!("no {phase} steps configured");
    }
    let progress = env.ui.progress(&format!("{phase}…"));
    for (step, authorized) in steps {
        let id = authorized.plugin.info.id.clone();
        progress.set_message(&format!("{phase}: {id}…"));
        let timeout = step_timeout(&step, config, phase, override_timeout);
        let params = step_params(&step, config, phase, timeout, meta);
        let run = authorize::run_info(env, meta, &record.paths, repo_root, &id, params)?;
        let mut agency_env = crate::child_env::agency_vars(meta, &record.paths, repo_root);
        agency_env.push(("AGENCY_PHASE".into(), phase.as_str().into()));
        agency_env.push(("AGENCY_NONINTERACTIVE".into(), "1".into()));
        let ctx = CallContext {
            run: Some(run),
            granted: authorized.granted.clone(),
            exec_log: Some(log.clone()),
            deadline: Some(timeout),
            agency_env,
        };
        crate::plugin::append_log_line(&log, &format!("[{}] == {phase} step `{id}` ==", crate::clock::now_rfc3339()));
        report.provenance.push(authorized.plugin.provenance(&authorized.granted));
        let step_started = Instant::now();
        let outcome = env.plugins().run_step(&authorized.plugin, phase.into(), &ctx);
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(err) => {
                let _ = record.event(
                    "phase_step",
                    json!({ "phase": phase.as_str(), "plugin": id, "ok": false, "error_code": err.code.as_str() }),
                );
                return Err(err.with_detail("log", log.display()));
            }
        };
        crate::plugin::append_log_line(
            &log,
            &format!(
                "[{}] == `{id}`: {} — {}",
                crate::clock::now_rfc3339(),
                if outcome.ok { "ok" } else { "FAILED" },
                outcome.summary
            ),
        );
        record.event(
            "phase_step",
            json!({ "phase": phase.as_str(), "plugin": id, "ok": outcome.ok, "summary": outcome.summary, "duration_ms": step_started.elapsed().as_millis() as u64 }),
        )?;
        report.exit_code = outcome.exit_code.or(report.exit_code);
        report.timed_out |= outcome.timed_out;
        let ok = outcome.ok;
        report.steps.push((id, outcome));
        if !ok {
            report.ok = false;
            break;
        }
    }
    report.duration = started.elapsed();
    report.summary = match report.steps.iter().find(|(_, o)| !o.ok) {
        Some((id, outcome)) => format!("{id}: {}", outcome.summary),
        None if report.steps.is_empty() => report.summary.clone(),
        None => report.steps.iter().map(|(_, o)| o.summary.as_str()).collect::<Vec<_>>().join("; "),
    };
    Ok(report)
}
