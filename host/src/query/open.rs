//! Resolving a `<ref>` to a live run that commands can act on: the record, the worktree that
//! must exist, and the repository that owns it.

use std::path::PathBuf;

use crate::config::AgencyJson;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::pipeline::RunRecord;
use crate::store::meta::RunMeta;
use crate::store::runs::RunEntry;
use crate::{git, tmux};

/// A live run with its record and repository, ready for session commands.
pub struct OpenRun {
    pub entry: RunEntry,
    pub meta: RunMeta,
    pub repo_root: PathBuf,
}

impl OpenRun {
    pub fn record<'a>(&self, env: &'a Env) -> RunRecord<'a> {
        RunRecord::new(env, &self.entry.repo_id, &self.entry.run_id)
    }

    pub fn session(&self) -> String {
        self.meta.tmux_session_name.clone().unwrap_or_else(|| tmux::session_name(&self.meta.run_id))
    }

    pub fn session_alive(&self) -> Result<bool> {
        tmux::has_session(&self.session())
    }

    /// agency.json of the run's repository, for project plugin pins (absent is fine).
    pub fn project_config(&self) -> Result<Option<AgencyJson>> {
        match AgencyJson::load(&self.repo_root) {
            Ok(config) => Ok(Some(config)),
            Err(e) if e.code == ErrorCode::NoAgencyJson => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Resolve `reference` to a run that is not archived and whose worktree exists.
pub fn open_live(env: &Env, reference: &str) -> Result<OpenRun> {
    let entry = super::find(env, reference)?;
    let meta = entry.meta_or_broken()?.clone();
    if meta.is_archived() {
        return Err(AgencyError::new(
            ErrorCode::RunArchived,
            format!("run `{}` is archived; its worktree and session are gone", meta.name),
        )
        .with_hint(format!("agency restore {}   # brings the worktree and branch back", meta.run_id)));
    }
    let worktree = PathBuf::from(&meta.worktree_path);
    if !worktree.is_dir() {
        return Err(AgencyError::new(
            ErrorCode::RunBroken,
            format!("the worktree of run `{}` is missing: {}", meta.name, worktree.display()),
        )
        .with_hint("agency repair --dry-run   # shows how to reconcile it"));
    }
    let common = git::common_dir(&worktree)?;
    let repo_root = common.parent().map(PathBuf::from).unwrap_or(common);
    Ok(OpenRun { entry, meta, repo_root })
}
