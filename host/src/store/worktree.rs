//! The `.agency/` layout inside a run's worktree: where the agent reports its status, writes
//! its report and output, and keeps scratch files. One owner for these paths; the scaffold
//! creates them, the launch passes them to the agent, and the read side and push read them.

use std::path::{Path, PathBuf};

/// Summary of the status file written by the scaffold; status derivation treats a file that
/// still says this as "no report yet", so a new run never reads as working forever.
pub const STATUS_TEMPLATE_SUMMARY: &str = "agency scaffold: the agent has not reported a status yet";

/// Paths of one worktree's `.agency/` scaffold.
#[derive(Debug, Clone)]
pub struct WorktreePaths {
    pub root: PathBuf,
}

impl WorktreePaths {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        WorktreePaths { root: root.into() }
    }

    /// `.agency` (relative to the worktree root), the scaffold's top directory.
    pub const AGENCY_DIR: &'static str = ".agency";
    /// The scaffold's files and directories, relative to the worktree root.
    pub const OUT: &'static str = ".agency/out";
    pub const TMP: &'static str = ".agency/tmp";
    pub const STATE: &'static str = ".agency/state";
    pub const STATUS_FILE: &'static str = ".agency/state/runner_status.json";
    pub const REPORT: &'static str = ".agency/report.md";
    pub const PROTOCOL: &'static str = ".agency/PROTOCOL.md";
    /// Files the agent writes that are kept with the run record when the worktree is archived.
    pub const KEPT_ON_ARCHIVE: [&'static str; 2] = [Self::REPORT, Self::STATUS_FILE];

    pub fn join(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub fn out_dir(&self) -> PathBuf {
        self.join(Self::OUT)
    }

    pub fn status_file(&self) -> PathBuf {
        self.join(Self::STATUS_FILE)
    }

    pub fn report(&self) -> PathBuf {
        self.join(Self::REPORT)
    }

    pub fn path(&self) -> &Path {
        &self.root
    }
}
