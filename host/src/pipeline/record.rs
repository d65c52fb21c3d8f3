//! The run record writer every pipeline uses: events, `meta.json` updates under the repo lock,
//! named steps that record their progress, whole commands bracketed by events — plus the fault
//! injection the crash tests use to stop the process right after a step.

use serde_json::{Value, json};
use std::cell::RefCell;
use std::time::Instant;

use crate::env::Env;
use crate::error::{AgencyError, Result};
use crate::store::RunPaths;
use crate::store::events::{self, Event};
use crate::store::meta::{self, RunMeta};

/// Writes to one run's record: events, and meta updates under the repo lock.
pub struct RunRecord<'a> {
    pub env: &'a Env,
    pub repo_id: String,
    pub run_id: String,
    pub paths: RunPaths,
    /// The step that failed last, for `command_failed` events.
    failed_step: RefCell<Option<String>>,
}

impl<'a> RunRecord<'a> {
    pub fn new(env: &'a Env, repo_id: &str, run_id: &str) -> Self {
        RunRecord {
            env,
            repo_id: repo_id.to_string(),
            run_id: run_id.to_string(),
            paths: env.store.run_paths(repo_id, run_id),
            failed_step: RefCell::new(None),
        }
    }

    pub fn event(&self, name: &str, data: Value) -> Result<()> {
        events::append(&self.paths.events(), &Event::new(&self.repo_id, &self.run_id, name, data))
    }

    /// The current `meta.json` (no lock needed: every write is an atomic rename).
    pub fn read_meta(&self) -> Result<RunMeta> {
        meta::read(&self.paths.meta()).map_err(|broken| {
            AgencyError::new(crate::error::ErrorCode::RunBroken, format!("run {}: {broken}", self.run_id))
        })
    }

    /// Read-modify-write `meta.json` under the repo lock; returns the written record.
    pub fn update_meta(&self, change: impl FnOnce(&mut RunMeta)) -> Result<RunMeta> {
        let _lock = self.env.lock_repo(&self.repo_id)?;
        let mut record = self.read_meta()?;
        change(&mut record);
        meta::write(&self.paths.meta(), &record)?;
        Ok(record)
    }

    /// Run one named step: time it, append `step_finished` or `step_failed`, and record
    /// progress in meta once meta exists.
    pub fn step<T>(&self, step: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        match body() {
            Ok(value) => {
                let ms = started.elapsed().as_millis() as u64;
                self.event("step_finished", json!({ "step": step, "duration_ms": ms }))?;
                if self.paths.meta().exists() {
                    self.update_meta(|m| m.pipeline_mut().last_step = Some(step.to_string()))?;
                }
                fault::after(step);
                Ok(value)
            }
            Err(err) => {
                self.fail(step, &err);
                Err(err)
            }
        }
    }

    /// The step that failed last in this process, if any.
    pub fn last_failed_step(&self) -> Option<String> {
        self.failed_step.borrow().clone()
    }

    /// Run a whole command on this run, bracketed by `command_started` and `command_finished`
    /// or `command_failed` (with the error code and the step that failed).
    pub fn command<T>(&self, name: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        self.event("command_started", json!({ "command": name, "invocation": self.env.command_line }))?;
        match body() {
            Ok(value) => {
                self.event(
                    "command_finished",
                    json!({ "command": name, "duration_ms": started.elapsed().as_millis() as u64 }),
                )?;
                Ok(value)
            }
            Err(err) => {
                let step = self.failed_step.borrow().clone();
                let data =
                    json!({ "command": name, "error_code": err.code.as_str(), "message": err.message, "step": step });
                let _ = self.event("command_failed", data);
                Err(err)
            }
        }
    }

    /// Record that `step` failed with `err` (best effort: the error itself is what matters).
    pub fn fail(&self, step: &str, err: &AgencyError) {
        *self.failed_step.borrow_mut() = Some(step.to_string());
        let _ =
            self.event("step_failed", json!({ "step": step, "error_code": err.code.as_str(), "message": err.message }));
        if self.paths.meta().exists() {
            let _ = self.update_meta(|m| {
                let p = m.pipeline_mut();
                p.failed_step = Some(step.to_string());
                p.error_code = Some(err.code.as_str().to_string());
                p.error_message = Some(err.message.clone());
            });
        }
    }
}

/// Fault injection for crash-consistency tests: with the `test-hooks` feature,
/// `AGENCY_TEST_ABORT_AFTER=<step>` aborts the process right after that step completes.
pub mod fault {
    #[cfg(feature = "test-hooks")]
    pub fn after(step: &str) {
        if std::env::var("AGENCY_TEST_ABORT_AFTER").is_ok_and(|s| s == step) {
            std::process::abort();
        }
    }

    #[cfg(not(feature = "test-hooks"))]
    pub fn after(_step: &str) {}
}
