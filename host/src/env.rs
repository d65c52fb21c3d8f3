//! The application context every operation shares: resolved dirs, the store, the user config,
//! where agency was started, how to talk to the person running it ([`Ui`]), the re-entrant
//! per-repository lock, and the plugin host opened on first use.

use std::cell::{OnceCell, RefCell};
use std::collections::HashSet;
use std::path::PathBuf;

use crate::config::UserConfig;
use crate::error::Result;
use crate::plugin::PluginHost;
use crate::store::lock::{self, RepoLock};
use crate::store::{Dirs, Store};

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
    /// Status and warning lines held back while the command ran (not on a terminal).
    fn take_deferred(&self) -> Vec<String> {
        Vec::new()
    }
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
    /// Locks this process holds (`repo:<id>`, `run:<id>`), so nested takes do not wait on
    /// themselves.
    held_locks: RefCell<HashSet<String>>,
    /// The plugin host, created on first use (`path`, `ls` without live sessions never do).
    plugins: OnceCell<PluginHost>,
}

/// A held repo or run lock; re-entrant within one process.
pub struct RepoGuard<'a> {
    env: &'a Env,
    key: String,
    lock: Option<RepoLock>,
}

impl Drop for RepoGuard<'_> {
    fn drop(&mut self) {
        if self.lock.take().is_some() {
            self.env.held_locks.borrow_mut().remove(&self.key);
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

    /// Leave the plugin host to the process's exit: its engine, compiled code and linked
    /// components hold only memory and mappings (no file is written on drop), which exit
    /// returns at once, where wasmtime's destructors unmap and free them piece by piece.
    pub fn leave_plugins_to_exit(&mut self) {
        if let Some(host) = self.plugins.take() {
            std::mem::forget(host);
        }
    }

    /// Take the per-repo lock, telling the user after a second of waiting who holds it.
    pub fn lock_repo(&self, repo_id: &str) -> Result<RepoGuard<'_>> {
        crate::store::dirs::ensure_dir(&self.store.repo_dir(repo_id))?;
        let path = self.store.lock_path(repo_id);
        self.lock(lock::Scope::Repo, format!("repo:{repo_id}"), &path, "the repository lock", lock::wait_bound()?)
    }

    /// Take the per-run lock: one command works on a run at a time (a second one waits).
    pub fn lock_run(&self, repo_id: &str, run_id: &str) -> Result<RepoGuard<'_>> {
        let paths = self.store.run_paths(repo_id, run_id);
        self.lock(
            lock::Scope::Run,
            format!("run:{run_id}"),
            &paths.lock(),
            &format!("run {run_id}"),
            lock::wait_bound()?,
        )
    }

    /// The per-run lock if nobody holds it now (`E_RUN_BUSY` naming the holder otherwise).
    pub fn try_lock_run(&self, repo_id: &str, run_id: &str) -> Result<RepoGuard<'_>> {
        let paths = self.store.run_paths(repo_id, run_id);
        self.lock(
            lock::Scope::Run,
            format!("run:{run_id}"),
            &paths.lock(),
            &format!("run {run_id}"),
            std::time::Duration::ZERO,
        )
    }

    fn lock(
        &self,
        scope: lock::Scope,
        key: String,
        path: &std::path::Path,
        what: &str,
        bound: std::time::Duration,
    ) -> Result<RepoGuard<'_>> {
        if self.held_locks.borrow().contains(&key) {
            return Ok(RepoGuard { env: self, key, lock: None });
        }
        let lock = RepoLock::acquire_scoped(scope, path, &self.command_line, bound, |holder| {
            let who =
                holder.map_or("another agency process".to_string(), |h| format!("pid {} (`{}`)", h.pid, h.command));
            self.ui.status(&format!("waiting for {what} held by {who}…"));
        })?;
        self.held_locks.borrow_mut().insert(key.clone());
        Ok(RepoGuard { env: self, key, lock: Some(lock) })
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
