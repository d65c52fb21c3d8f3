//! Everything under the data dir: the directory layout, atomic writes, run records
//! (`meta.json`, `events.jsonl`), repo records, the per-repo lock and the run scan used for
//! listing and ref resolution. The store never runs subprocesses.
//!
//! Layout (compatible with the original Go agency):
//! ```text
//! ${AGENCY_DATA_DIR}/repo_index.json
//! ${AGENCY_DATA_DIR}/repos/<repo_id>/repo.json
//! ${AGENCY_DATA_DIR}/repos/<repo_id>/lock
//! ${AGENCY_DATA_DIR}/repos/<repo_id>/names.json   (a cache: which runs hold which names)
//! ${AGENCY_DATA_DIR}/repos/<repo_id>/runs/<run_id>/{meta.json,events.jsonl,logs/,verify_record.json,transcript.txt}
//! ${AGENCY_DATA_DIR}/repos/<repo_id>/worktrees/<run_id>/
//! ```

pub mod atomic;
pub mod confined;
pub mod dirs;
pub mod events;
pub mod lock;
pub mod meta;
pub mod name_index;
pub mod names;
pub mod ports;
pub mod read;
pub mod repo_record;
pub mod runs;
pub mod worktree;

use std::path::{Path, PathBuf};

pub use dirs::Dirs;
pub use worktree::WorktreePaths;

/// A JSON file read by a best-effort reader: `None` when it is missing or does not parse.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&read::read_capped(path, read::MAX_RECORD_BYTES).ok()??).ok()
}

/// One method per file of a run directory: `name => "file"` gives `fn name(&self) -> PathBuf`.
macro_rules! run_files {
    ($($(#[$doc:meta])* $name:ident => $file:literal,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> PathBuf {
                self.dir.join($file)
            }
        )*
    };
}

/// Paths of one run's record directory. Only the directory is stored; the rest are derived
/// on use (a listing holds a thousand of these).
#[derive(Debug, Clone)]
pub struct RunPaths {
    pub dir: PathBuf,
}

impl RunPaths {
    pub fn new(dir: PathBuf) -> Self {
        RunPaths { dir }
    }

    run_files! {
        meta => "meta.json",
        events => "events.jsonl",
        logs => "logs",
        verify_record => "verify_record.json",
        transcript => "transcript.txt",
        /// How the agent ended, written by the pane process.
        runner_exit => "runner_exit.json",
        /// The agent's pid while it runs (interactive runs), for signal-based interrupts.
        agent_pid => "agent.pid",
        /// The per-run lock (one command on a run at a time).
        lock => "lock",
        /// Work saved when archiving that git cannot hold (nested repositories, as tarballs).
        archive => "archive",
        /// The latest agent-hook report (`agency hook`), if the agent has hooks.
        hook => "hook.json",
        /// The run's prompt (mode 0600), so `resume` can start a headless run again.
        prompt => "prompt.txt",
        /// The runner plugin's last reading of the pane, reused while the pane is unchanged.
        screen_reading => "screen_reading.json",
    }

    /// `logs/<name>.log`
    pub fn log(&self, name: &str) -> PathBuf {
        self.logs().join(format!("{name}.log"))
    }
}

/// The data dir and the paths inside it.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: PathBuf) -> Self {
        Store { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn repos_dir(&self) -> PathBuf {
        self.root.join("repos")
    }

    pub fn repo_index_path(&self) -> PathBuf {
        self.root.join("repo_index.json")
    }

    pub fn repo_dir(&self, repo_id: &str) -> PathBuf {
        self.repos_dir().join(repo_id)
    }

    pub fn repo_json_path(&self, repo_id: &str) -> PathBuf {
        self.repo_dir(repo_id).join("repo.json")
    }

    pub fn lock_path(&self, repo_id: &str) -> PathBuf {
        self.repo_dir(repo_id).join("lock")
    }

    pub fn runs_dir(&self, repo_id: &str) -> PathBuf {
        self.repo_dir(repo_id).join("runs")
    }

    pub fn run_paths(&self, repo_id: &str, run_id: &str) -> RunPaths {
        RunPaths::new(self.runs_dir(repo_id).join(run_id))
    }

    pub fn worktrees_dir(&self, repo_id: &str) -> PathBuf {
        self.repo_dir(repo_id).join("worktrees")
    }

    pub fn worktree_path(&self, repo_id: &str, run_id: &str) -> PathBuf {
        self.worktrees_dir(repo_id).join(run_id)
    }

    /// Per-plugin data area (`plugin-data` grant).
    pub fn plugin_data_dir(&self, plugin_id: &str) -> PathBuf {
        self.root.join("plugin-data").join(plugin_id)
    }

    /// Installed user plugins (`agency plugin add`).
    pub fn plugins_dir(&self) -> PathBuf {
        self.root.join("plugins")
    }

    /// If `path` lies inside `repos/<repo_id>/worktrees/<run_id>`, return `(repo_id, run_id)`.
    pub fn worktree_owner(&self, path: &Path) -> Option<(String, String)> {
        let rest = path.strip_prefix(self.repos_dir()).ok()?;
        let mut parts = rest.components().map(|c| c.as_os_str().to_string_lossy().into_owned());
        let repo_id = parts.next()?;
        (parts.next()? == "worktrees").then_some(())?;
        let run_id = parts.next()?;
        Some((repo_id, run_id))
    }
}
