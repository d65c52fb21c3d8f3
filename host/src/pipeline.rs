//! The pipelines: `run` and the commands that change a run, each written as a list of named
//! steps. After every step the run record says how far it got (`meta.pipeline.last_step` and a
//! `step_finished` event), so a crash at any point leaves a run that `ls`/`show` explain and
//! `resume`, `clean` or `repair` can finish or undo. Pipelines never print and never build
//! git/tmux argv themselves: they talk to the user through [`Ui`] and to the world through the
//! adapters.

pub mod archive;
pub mod conformance;
pub mod doctor;
pub mod gates;
pub mod init;
pub mod launch;
pub mod logs;
pub mod merge;
pub mod names;
pub mod plugin_admin;
pub mod plugin_new;
pub mod plugins;
pub mod push;
pub mod query;
pub mod repair;
pub mod run;
pub mod scaffold;
pub mod session;
pub mod steps;
pub mod verify;

use serde_json::{Value, json};
use std::cell::{OnceCell, RefCell};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use crate::config::UserConfig;
use crate::error::{AgencyError, Result};
use crate::plugin::PluginHost;
use crate::store::events::{self, Event};
use crate::store::lock::{self, RepoLock};
use crate::store::meta::{self, RunMeta};
use crate::store::{Dirs, RunPaths, Store};

/// How pipelines talk to the person (or script) running agency. Implemented by the CLI.
pub trait Ui {
    /// A progress or status line (stderr).
    fn status(&self, message: &str);
    /// A warning that does not stop the command (stderr).
    fn warn(&self, message: &str);
    /// Whether a human can answer prompts (stdin and stderr are terminals).
    fn interactive(&self) -> bool;
    /// Ask for a line of input after `prompt`; `None` at end of input.
    fn ask(&self, prompt: &str) -> Option<String>;
    /// Show a spinner for a long step on a TTY; cleared when the guard drops.
    fn progress(&self, label: &str) -> Box<dyn Progress + '_>;
}

/// A running progress indicator.
pub trait Progress {
    fn set_message(&self, message: &str);
}

/// What every pipeline needs: resolved dirs, the store, user config, where it was started.
pub struct Env {
    pub dirs: Dirs,
    pub store: Store,
    pub user: UserConfig,
    pub cwd: PathBuf,
    /// The invocation, recorded as the lock holder and in events.
    pub command_line: String,
    pub ui: Box<dyn Ui>,
    /// `--yes`: proceed where a human would otherwise be asked.
    pub assume_yes: bool,
    /// Repo locks this process holds, so nested record writes do not wait on themselves.
    held_locks: RefCell<HashSet<String>>,
    /// The plugin host, created on first use (`path`, `ls` without live sessions never do).
    plugins: OnceCell<PluginHost>,
}

/// A held repo lock; re-entrant within one process.
pub struct RepoGuard<'a> {
    env: &'a Env,
    repo_id: String,
    lock: Option<RepoLock>,
}

impl Drop for RepoGuard<'_> {
    fn drop(&mut self) {
        if self.lock.take().is_some() {
            self.env.held_locks.borrow_mut().remove(&self.repo_id);
        }
    }
}

impl Env {
    pub fn new(
        dirs: Dirs,
        user: UserConfig,
        cwd: PathBuf,
        command_line: String,
        ui: Box<dyn Ui>,
        assume_yes: bool,
    ) -> Env {
        let store = Store::new(dirs.data.clone());
        Env {
            dirs,
            store,
            user,
            cwd,
            command_line,
            ui,
            assume_yes,
            held_locks: RefCell::new(HashSet::new()),
            plugins: OnceCell::new(),
        }
    }

    pub fn plugins(&self) -> &PluginHost {
        self.plugins.get_or_init(|| PluginHost::new(&self.dirs))
    }

    /// Take the per-repo lock, telling the user after a second of waiting who holds it.
    pub fn lock_repo(&self, repo_id: &str) -> Result<RepoGuard<'_>> {
        if self.held_locks.borrow().contains(repo_id) {
            return Ok(RepoGuard { env: self, repo_id: repo_id.to_string(), lock: None });
        }
        crate::store::dirs::ensure_dir(&self.store.repo_dir(repo_id))?;
        let lock =
            RepoLock::acquire(&self.store.lock_path(repo_id), &self.command_line, lock::wait_bound(), |holder| {
                let who =
                    holder.map_or("another agency process".to_string(), |h| format!("pid {} (`{}`)", h.pid, h.command));
                self.ui.status(&format!("waiting for the repository lock held by {who}…"));
            })?;
        self.held_locks.borrow_mut().insert(repo_id.to_string());
        Ok(RepoGuard { env: self, repo_id: repo_id.to_string(), lock: Some(lock) })
    }
}

/// The current repository's root and `agency.json`, when agency runs inside one that has it.
pub fn repo_config(env: &Env) -> Result<Option<(PathBuf, crate::config::AgencyJson)>> {
    let Some(located) = crate::repo::locate(&env.cwd, &env.store)? else { return Ok(None) };
    match crate::config::AgencyJson::load(&located.repo.root) {
        Ok(config) => Ok(Some((located.repo.root, config))),
        Err(e) if e.code == crate::error::ErrorCode::NoAgencyJson => Ok(None),
        Err(e) => Err(e),
    }
}

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
        events::append(&self.paths.events, &Event::new(&self.repo_id, &self.run_id, name, data))
    }

    /// The current `meta.json` (no lock needed: every write is an atomic rename).
    pub fn read_meta(&self) -> Result<RunMeta> {
        meta::read(&self.paths.meta).map_err(|broken| {
            AgencyError::new(crate::error::ErrorCode::RunBroken, format!("run {}: {broken}", self.run_id))
        })
    }

    /// Read-modify-write `meta.json` under the repo lock; returns the written record.
    pub fn update_meta(&self, change: impl FnOnce(&mut RunMeta)) -> Result<RunMeta> {
        let _lock = self.env.lock_repo(&self.repo_id)?;
        let mut record = self.read_meta()?;
        change(&mut record);
        meta::write(&self.paths.meta, &record)?;
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
                if self.paths.meta.exists() {
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
        if self.paths.meta.exists() {
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
