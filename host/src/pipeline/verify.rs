//! `agency verify`: run the verify step plugins in the worktree and write
//! `verify_record.json`, bound to the commit and the exact working tree it verified. A record
//! is valid only while the worktree's HEAD and tree still match it. A failure flags the run
//! (`needs_attention: verify_failed`); a success clears that flag.

use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

use super::authorize;
use super::session;
use super::steps::{self, PhaseReport};
use crate::clock as time;
use crate::config::{AgencyJson, Phase};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::git;
use crate::query::OpenRun;
use crate::store::atomic::write_json_atomic;
use crate::store::meta::Attention;

pub const SCHEMA_VERSION: &str = "1.0";

/// `verify_record.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VerifyRecord {
    pub schema_version: String,
    pub ok: bool,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    pub summary: String,
    /// HEAD when verified.
    pub commit: String,
    /// The tree of the working files when verified (uncommitted changes included).
    pub tree: String,
    pub verified_at: String,
    pub log_path: String,
    #[serde(default)]
    pub plugins: serde_json::Value,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The worktree's current (HEAD, working tree) identity.
pub fn current_state(run: &OpenRun) -> Result<(String, String)> {
    let head = git::rev_parse(&run.worktree, "HEAD")?
        .ok_or_else(|| AgencyError::new(ErrorCode::GitFailed, "the worktree has no HEAD commit"))?;
    let tree = git::worktree_tree(&run.worktree, &run.entry.paths.dir.join(".verify-index"), &[])?;
    Ok((head, tree))
}

/// The stored record, if it still describes the worktree exactly.
pub fn valid_record(run: &OpenRun) -> Result<Option<VerifyRecord>> {
    let Some(record) = crate::store::read_json::<VerifyRecord>(&run.entry.paths.verify_record()) else {
        return Ok(None);
    };
    let (head, tree) = current_state(run)?;
    Ok((record.commit == head && record.tree == tree).then_some(record))
}

/// Run verify for the run `reference`.
pub fn verify(env: &Env, reference: &str, timeout: Option<Duration>) -> Result<VerifyRecord> {
    let (run, _lock) = session::open_locked(env, reference)?;
    verify_open(env, &run, timeout)
}

/// Run verify for an already opened run (also used by `merge`).
pub fn verify_open(env: &Env, run: &OpenRun, timeout: Option<Duration>) -> Result<VerifyRecord> {
    let config = AgencyJson::load(&run.repo_root)?;
    let project = (run.repo_root.as_path(), &config);
    let steps_config = config.steps_for(Phase::Verify);
    if steps_config.is_empty() {
        return Err(AgencyError::new(ErrorCode::InvalidAgencyJson, "no verify step is configured")
            .with_hint("set scripts.verify.path in agency.json (agency init writes a stub)"));
    }
    let prepared = authorize::steps(env, &steps_config, project)?;
    let record = run.record(env);
    record.command("verify", || {
        let (commit, tree) = current_state(run)?;
        let report = record
            .step("verify", || steps::run_phase(env, &record, &run.meta, project, Phase::Verify, prepared, timeout))?;
        let verified = to_record(&report, commit, tree);
        let path = &run.entry.paths.verify_record();
        write_json_atomic(path, &verified)
            .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write verify_record.json", path, e))?;
        record
            .event("verified", json!({ "ok": verified.ok, "commit": verified.commit, "summary": verified.summary }))?;
        record.update_meta(|m| {
            m.last_verify_at = Some(verified.verified_at.clone());
            m.plugins.insert("verify".into(), verified.plugins.clone());
            let flags = m.flags_mut();
            if !verified.ok {
                flags.raise(Attention::VerifyFailed);
            } else {
                flags.clear(Attention::VerifyFailed);
            }
        })?;
        if !verified.ok {
            return Err(report
                .failure(&run.meta.name)
                .with_hint(format!("agency logs {} verify   # shows what failed", run.meta.name)));
        }
        Ok(verified)
    })
}

fn to_record(report: &PhaseReport, commit: String, tree: String) -> VerifyRecord {
    VerifyRecord {
        schema_version: SCHEMA_VERSION.into(),
        ok: report.ok,
        exit_code: report.exit_code,
        timed_out: report.timed_out,
        duration_ms: report.duration.as_millis() as u64,
        summary: report.summary.clone(),
        commit,
        tree,
        verified_at: time::now_rfc3339(),
        log_path: report.log.display().to_string(),
        plugins: serde_json::to_value(&report.provenance).unwrap_or_default(),
        extra: Default::default(),
    }
}
