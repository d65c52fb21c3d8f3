//! Resolving a `<ref>` to a live run that commands can act on: the record, the repository
//! that owns it (from the run's own record first — `git_common_dir` — so two clones of one
//! GitHub repository never act on each other's checkout), and its worktree with a verified
//! `.git` link (agency runs no git in a worktree whose link was replaced).

use std::path::{Path, PathBuf};

use super::Purpose;
use crate::config::AgencyJson;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::git::{self, Worktree};
use crate::pipeline::RunRecord;
use crate::store::meta::RunMeta;
use crate::store::repo_record;
use crate::store::runs::RunEntry;
use crate::tmux::{self, Server};

/// A live run with its record, repository and verified worktree.
pub struct OpenRun {
    pub entry: RunEntry,
    pub meta: RunMeta,
    pub repo_root: PathBuf,
    pub worktree: Worktree,
}

impl OpenRun {
    pub fn record<'a>(&self, env: &'a Env) -> RunRecord<'a> {
        RunRecord::new(env, &self.entry.repo_id, &self.entry.run_id)
    }

    pub fn session(&self) -> String {
        self.meta.tmux_session_name.clone().unwrap_or_else(|| tmux::session_name(&self.meta.run_id))
    }

    pub fn server(&self) -> Server {
        self.meta.tmux_server()
    }

    pub fn session_alive(&self) -> Result<bool> {
        tmux::has_session(&self.server(), &self.session())
    }

    /// agency.json of the run's repository, for project plugin pins (absent is fine).
    pub fn project_config(&self) -> Result<Option<AgencyJson>> {
        AgencyJson::load_optional(&self.repo_root)
    }
}

/// Where a run's repository is: its main checkout and common git dir.
#[derive(Debug, Clone)]
pub struct RunRepository {
    pub root: PathBuf,
    pub common_dir: PathBuf,
}

/// The repository of `meta`'s run: the common git dir its record names, else the checkout
/// agency runs in when it has the run's repository id (a moved checkout), else the last-seen
/// checkout of that id.
pub fn run_repository(env: &Env, meta: &RunMeta) -> Result<RunRepository> {
    if let Some(common) = meta.git_common_dir.as_deref().map(PathBuf::from).filter(|p| p.is_dir()) {
        let root = common.parent().map(Path::to_path_buf).unwrap_or_else(|| common.clone());
        return Ok(RunRepository { root, common_dir: common });
    }
    repository_of(env, &meta.repo_id).ok_or_else(|| {
        AgencyError::new(ErrorCode::NoRepo, format!("cannot find the repository of run `{}`", meta.name))
            .with_hint("run the command from inside the run's repository (if it moved: there, agency repair)")
    })
}

/// The checkout of repository id `repo_id`: the one agency runs in if it has that id, else the
/// last one seen (`repo.json`).
pub fn repository_of(env: &Env, repo_id: &str) -> Option<RunRepository> {
    if let Ok(Some(located)) = crate::repo::locate(&env.cwd, &env.store)
        && located.repo.id == repo_id
    {
        return Some(RunRepository { root: located.repo.root, common_dir: located.repo.common_dir });
    }
    let record = repo_record::read_record(&env.store, repo_id)?;
    let root = PathBuf::from(&record.repo_root_last_seen);
    let common_dir = match record.git_common_dir.map(PathBuf::from) {
        Some(common) if common.is_dir() => common,
        _ if root.is_dir() => git::common_dir(&root).ok()?,
        _ => return None,
    };
    Some(RunRepository { root, common_dir })
}

/// Resolve `reference` to a run that is not archived and whose worktree exists and is linked
/// to the run's repository.
pub fn open_live(env: &Env, reference: &str, purpose: Purpose) -> Result<OpenRun> {
    open(env, super::find(env, reference, purpose)?)
}

/// [`open_live`] for a run already resolved.
pub fn open(env: &Env, entry: RunEntry) -> Result<OpenRun> {
    let meta = crate::store::meta::read(&entry.paths.meta())
        .map_err(|broken| crate::store::runs::broken_error(&entry, &broken))?;
    if meta.is_archived() {
        return Err(AgencyError::new(
            ErrorCode::RunArchived,
            format!("run `{}` is archived; its worktree and session are gone", meta.name),
        )
        .with_hint(format!("agency restore {}   # brings the worktree and branch back", meta.run_id)));
    }
    let path = PathBuf::from(&meta.worktree_path);
    if !path.is_dir() {
        return Err(AgencyError::new(
            ErrorCode::RunBroken,
            format!("the worktree of run `{}` is missing: {}", meta.name, path.display()),
        )
        .with_hint("agency repair --dry-run   # shows how to reconcile it"));
    }
    let repo = run_repository(env, &meta)?;
    let worktree = Worktree::verify(&path, &repo.common_dir).map_err(|e| {
        e.with_hint(format!(
            "agency repair --dry-run   # relinks it if the repository moved (git worktree repair), else reports it; run {}",
            meta.run_id
        ))
    })?;
    Ok(OpenRun { entry, meta, repo_root: repo.root, worktree })
}
