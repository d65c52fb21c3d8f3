//! `agency restore`: bring an archived run back — its branch (at the tip it had), a worktree
//! at the same path, HEAD where it was, the saved working files with the staged/unstaged
//! split, nested repositories and submodules from their tarballs, and the agent's report and
//! status. Restore is idempotent: an interrupted one is finished by the next, a half-made
//! worktree is made again, and a directory in the way is moved aside, never deleted.

use serde_json::json;
use std::path::{Path, PathBuf};

use super::RunRecord;
use super::archive::{kept_name, snapshot};
use crate::clock as time;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::git::{self, Worktree};
use crate::query::{self, Purpose, RunRepository};
use crate::store::confined::Confined;
use crate::store::meta::{Archive, RunMeta};
use crate::store::name_index::NameIndex;
use crate::store::worktree::WorktreePaths;

pub fn restore(env: &Env, reference: &str) -> Result<RunMeta> {
    let entry = query::find(env, reference, Purpose::Restore)?;
    let _run_lock = env.lock_run(&entry.repo_id, &entry.run_id)?;
    let meta = crate::store::meta::read(&entry.paths.meta())
        .map_err(|broken| crate::store::runs::broken_error(&entry, &broken))?;
    let archive = meta.archive.clone().unwrap_or_default();
    if archive.archived_at.is_none() && archive.restore_started_at.is_none() {
        return Err(AgencyError::new(ErrorCode::NotArchived, format!("run `{}` is not archived", meta.name))
            .with_hint(format!("agency show {}", meta.run_id)));
    }
    let (Some(saved), Some(head)) = (archive.saved_commit.clone(), archive.head_commit.clone()) else {
        return Err(AgencyError::new(
            ErrorCode::RunBroken,
            format!("run `{}` has no saved work to restore", meta.name),
        ));
    };
    let repo = query::run_repository(env, &meta)?;
    let record = RunRecord::new(env, &entry.repo_id, &entry.run_id);
    record.command("restore", || {
        record.update_meta(|m| {
            m.archive.get_or_insert_with(Default::default).restore_started_at = Some(time::now_rfc3339());
        })?;
        let worktree = recreate_worktree(env, &record, &meta, &archive, &repo, &head)?;
        super::record::fault::after("restore_worktree");
        if archive.restore_started_at.is_some() && worktree.clear_stale_index_lock().unwrap_or(false) {
            record.event("stale_lock_removed", json!({ "lock": worktree.git_dir.join("index.lock") }))?;
        }
        if git::rev_parse(&worktree, "HEAD")?.as_deref() != Some(head.as_str()) {
            git::checkout_detached(&worktree, &head)?;
        }
        if saved != head {
            git::restore_files(&worktree, &saved, archive.index_commit.as_deref())?;
        }
        for nested in &archive.nested {
            let tarball = entry.paths.archive().join(&nested.file);
            snapshot::restore_nested(&tarball, &worktree.path.join(&nested.path), nested.submodule).map_err(|e| {
                AgencyError::io(ErrorCode::ArchiveFailed, "cannot restore a nested repository", &tarball, e)
            })?;
        }
        super::scaffold::scaffold(&worktree.path, &repo.common_dir, meta.display_title(), &meta.created_at)?;
        bring_back_agent_files(&entry.paths.dir, &worktree.path);
        record.event(
            "restored",
            json!({ "ref": archive.saved_ref, "uncommitted_restored": saved != head, "nested": archive.nested.len() }),
        )?;
        record.update_meta(|m| {
            let a = m.archive.get_or_insert_with(Default::default);
            a.archived_at = None;
            a.merged_at = None;
            a.restored_at = Some(time::now_rfc3339());
            a.restore_started_at = None;
            a.removal_started_at = None;
            m.flags_mut().abandoned = false;
            m.git_common_dir = Some(repo.common_dir.display().to_string());
            // The run holds its name again, recorded under the same lock as the record. Restore
            // does not refuse a name a newer run took meanwhile (getting work back comes
            // first; both answer to their run ids), so the index keeps both holders. It is a
            // cache: one not written is stale, and the next check reads every record.
            let _ = NameIndex::load(&env.store, &m.repo_id).record(&env.store, &m.name, &m.run_id);
        })
    })
}

/// The run's branch and a worktree of it at the recorded path, whatever an interrupted
/// restore or a stray directory left there.
fn recreate_worktree(
    env: &Env,
    record: &RunRecord,
    meta: &RunMeta,
    archive: &Archive,
    repo: &RunRepository,
    head: &str,
) -> Result<Worktree> {
    let path = PathBuf::from(&meta.worktree_path);
    if !git::branch_exists(&repo.root, &meta.branch)? {
        git::create_branch(&repo.root, &meta.branch, archive.branch_commit.as_deref().unwrap_or(head))?;
    }
    if path.exists() {
        let registered = git::worktree_list(&repo.root)?
            .into_iter()
            .find(|w| w.path.canonicalize().ok() == path.canonicalize().ok());
        match registered {
            Some(w) if w.locked.is_none() && w.head.is_some() && Worktree::verify(&path, &repo.common_dir).is_ok() => {
                return Worktree::verify(&path, &repo.common_dir);
            }
            Some(_) => {
                // Our own interrupted `worktree add`: a checkout and nothing else. Make it again.
                git::worktree_remove(&repo.root, &path)?;
            }
            None => move_aside(env, record, &path)?,
        }
    }
    if let Some(parent) = path.parent() {
        crate::store::dirs::ensure_dir(parent)?;
    }
    git::worktree_add_existing(&repo.root, &path, &meta.branch)?;
    Worktree::verify(&path, &repo.common_dir)
}

/// A directory at the worktree path that git does not know: empty ones go, anything else is
/// moved beside it and named — never deleted.
fn move_aside(env: &Env, record: &RunRecord, path: &Path) -> Result<()> {
    if std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none()) {
        return std::fs::remove_dir(path)
            .map_err(|e| AgencyError::io(ErrorCode::ArchiveFailed, "cannot remove an empty directory", path, e));
    }
    let aside = path.with_extension(format!("leftover-{}", crate::clock::run_id_stamp(crate::clock::now())));
    std::fs::rename(path, &aside)
        .map_err(|e| AgencyError::io(ErrorCode::ArchiveFailed, "cannot move a leftover directory aside", path, e))?;
    env.ui.warn(&format!("{} was in the way; it was moved to {}", path.display(), aside.display()));
    record.event("leftover_moved", json!({ "from": path, "to": aside }))
}

/// Copies of the report and status kept at archive time go back into the worktree (written
/// without following a symlink in the worktree).
fn bring_back_agent_files(run_dir: &Path, worktree: &Path) {
    let Ok(dir) = Confined::open(worktree) else { return };
    for relative in WorktreePaths::KEPT_ON_ARCHIVE {
        if let Ok(bytes) = std::fs::read(run_dir.join(kept_name(relative))) {
            let _ = dir.write_replace(relative, &bytes, 0o644);
        }
    }
}
