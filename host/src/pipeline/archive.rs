//! Archiving a run without ever losing work (`clean`, and `merge` after merging), and bringing
//! it back (`restore`). Archive = the archive step plugins, then **save first**: HEAD — plus a
//! snapshot commit of uncommitted and untracked changes — goes to `refs/agency/archive/<run_id>`
//! and into the record; only then the session is killed, the worktree removed and the branch
//! deleted. The record, logs and report stay.

use serde_json::json;
use std::path::{Path, PathBuf};

use super::session::{self, OpenRun};
use super::{RunRecord, authorize, scaffold, steps};
use crate::clock as time;
use crate::config::{AgencyJson, Phase};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::query;
use crate::store::meta::RunMeta;
use crate::store::repo_record;
use crate::{git, tmux};

/// Where a run's work is saved.
pub fn saved_ref(run_id: &str) -> String {
    format!("refs/agency/archive/{run_id}")
}

/// What archiving did.
#[derive(Debug, Clone)]
pub struct Archived {
    pub saved_ref: String,
    pub saved_commit: String,
    pub uncommitted_saved: bool,
    pub unpushed_commits: bool,
    /// The archive steps' summary, or why they failed (archiving continues either way).
    pub steps: String,
}

/// Archive `run`: steps, save, then remove. Nothing is removed unless the save succeeded.
pub fn archive(env: &Env, run: &OpenRun, record: &RunRecord) -> Result<Archived> {
    let steps = record.step("archive_steps", || run_archive_steps(env, run, record)).unwrap_or_else(|e| {
        env.ui.warn(&format!("archive steps failed ({}); archiving continues, your work is saved first", e.message));
        format!("failed: {} {}", e.code, e.message)
    });
    let saved = record.step("save", || save_work(run))?;
    record.update_meta(|m| {
        let archive = m.archive.get_or_insert_with(Default::default);
        archive.saved_ref = Some(saved.saved_ref.clone());
        archive.saved_commit = Some(saved.saved_commit.clone());
        archive.head_commit = Some(saved.head.clone());
        archive.uncommitted_saved = saved.uncommitted;
        archive.unpushed_commits = saved.unpushed;
    })?;
    record.event("work_saved", json!({ "ref": saved.saved_ref, "commit": saved.saved_commit, "uncommitted": saved.uncommitted, "unpushed": saved.unpushed }))?;
    record.step("remove", || remove(run))?;
    record.update_meta(|m| {
        m.archive.get_or_insert_with(Default::default).archived_at = Some(time::now_rfc3339());
    })?;
    record.event("archived", json!({ "ref": saved.saved_ref }))?;
    Ok(Archived {
        saved_ref: saved.saved_ref,
        saved_commit: saved.saved_commit,
        uncommitted_saved: saved.uncommitted,
        unpushed_commits: saved.unpushed,
        steps,
    })
}

fn run_archive_steps(env: &Env, run: &OpenRun, record: &RunRecord) -> Result<String> {
    let config = match AgencyJson::load(&run.repo_root) {
        Ok(config) => config,
        Err(e) if e.code == ErrorCode::NoAgencyJson => return Ok("no agency.json; no archive steps".into()),
        Err(e) => return Err(e),
    };
    let project = (run.repo_root.as_path(), &config);
    let prepared = authorize::steps(env, &config.steps_for(Phase::Archive), project)?;
    let report = steps::run_phase(env, record, &run.meta, project, Phase::Archive, prepared, None)?;
    if !report.ok {
        return Err(report.failure(&run.meta.name));
    }
    Ok(report.summary)
}

struct Saved {
    saved_ref: String,
    saved_commit: String,
    head: String,
    uncommitted: bool,
    unpushed: bool,
}

/// Point the archive ref at HEAD, or at a snapshot commit holding uncommitted work.
fn save_work(run: &OpenRun) -> Result<Saved> {
    let worktree = Path::new(&run.meta.worktree_path);
    let fail = |e: AgencyError| {
        AgencyError::new(
            ErrorCode::ArchiveFailed,
            format!("could not save the work of `{}`, so nothing was removed: {}", run.meta.name, e.message),
        )
        .with_hint(format!("fix the problem, or save it yourself: cd \"$(agency path {})\"", run.meta.name))
    };
    let head = git::rev_parse(worktree, "HEAD")
        .map_err(fail)?
        .ok_or_else(|| fail(AgencyError::new(ErrorCode::GitFailed, "no HEAD")))?;
    let uncommitted = !git::status_porcelain(worktree).map_err(fail)?.is_empty();
    let saved_commit = if uncommitted {
        let tree = git::worktree_tree(worktree, &run.entry.paths.dir.join(".archive-index")).map_err(fail)?;
        let message =
            format!("agency: uncommitted work of run {} ({}), saved at archive", run.meta.name, run.meta.run_id);
        git::commit_tree(worktree, &tree, &head, &message).map_err(fail)?
    } else {
        head.clone()
    };
    let unpushed = !git::on_a_remote(worktree, &head).map_err(fail)?;
    let saved_ref = saved_ref(&run.meta.run_id);
    git::update_ref(worktree, &saved_ref, &saved_commit).map_err(fail)?;
    // The agent's report and status are ignored files: keep copies with the record.
    for file in ["report.md", "state/runner_status.json"] {
        let from = worktree.join(".agency").join(file);
        if from.is_file() {
            let _ = std::fs::copy(&from, run.entry.paths.dir.join(file.replace('/', "_")));
        }
    }
    Ok(Saved { saved_ref, saved_commit, head, uncommitted, unpushed })
}

/// Kill the session, remove the worktree, delete the local branch (its work is in the ref).
fn remove(run: &OpenRun) -> Result<()> {
    let session = run.session();
    if tmux::has_session(&session).unwrap_or(false) {
        tmux::kill_session(&session)?;
    }
    let worktree = Path::new(&run.meta.worktree_path);
    git::worktree_remove(&run.repo_root, worktree, true)?;
    if git::branch_exists(&run.repo_root, &run.meta.branch)? {
        git::delete_branch(&run.repo_root, &run.meta.branch)?;
    }
    Ok(())
}

/// Whether the run's branch is merged: its PR is merged, or its changes are already in the
/// parent (merge commit, rebase merge or squash merge).
pub fn merged_elsewhere(run: &OpenRun) -> bool {
    if let (Some(number), Ok(github)) = (run.meta.pr_number, super::push::github_origin(&run.repo_root))
        && let Ok(pr) = crate::gh::pr_view(&github, number)
    {
        return pr.state == "MERGED";
    }
    let worktree = Path::new(&run.meta.worktree_path);
    let _ = git::fetch(worktree, "origin");
    // A branch with no commits of its own has nothing to be merged.
    let start = run.meta.base_commit.clone().unwrap_or_else(|| run.meta.parent_branch.clone());
    if git::count(worktree, &format!("{start}..HEAD")).unwrap_or(0) == 0 {
        return false;
    }
    super::push::base_ref(worktree, &run.meta.parent_branch)
        .and_then(|base| git::is_merged_into(worktree, "HEAD", &base))
        .unwrap_or(false)
}

/// What `clean` decided.
pub struct Cleaned {
    pub merged: bool,
    pub archived: Archived,
}

/// Abandon a run (or record it as merged when its work already is) and archive it.
pub fn clean(env: &Env, reference: &str) -> Result<Cleaned> {
    let run = session::open_live(env, reference)?;
    if !env.assume_yes {
        confirm_clean(env, &run.meta)?;
    }
    let record = run.record(env);
    record.command("clean", || {
        let merged = merged_elsewhere(&run);
        record.update_meta(|m| match merged {
            true => m.archive.get_or_insert_with(Default::default).merged_at = Some(time::now_rfc3339()),
            false => m.flags_mut().abandoned = true,
        })?;
        let archived = archive(env, &run, &record)?;
        Ok(Cleaned { merged, archived })
    })
}

fn confirm_clean(env: &Env, meta: &RunMeta) -> Result<()> {
    if !env.ui.interactive() {
        return Err(AgencyError::new(
            ErrorCode::NotInteractive,
            format!("cleaning `{}` needs confirmation", meta.name),
        )
        .with_hint(format!("agency clean {} --yes", meta.name)));
    }
    let prompt = format!(
        "Clean run `{}`? Its session, worktree and branch are removed; its work is saved to {} first. [y/N] ",
        meta.name,
        saved_ref(&meta.run_id)
    );
    match env.ui.ask(&prompt).as_deref().map(str::trim) {
        Some("y" | "Y" | "yes") => Ok(()),
        _ => Err(AgencyError::new(ErrorCode::Aborted, "clean cancelled; nothing was changed")),
    }
}

/// Bring an archived run's worktree, branch and saved uncommitted work back.
pub fn restore(env: &Env, reference: &str) -> Result<RunMeta> {
    let entry = query::find(env, reference)?;
    let meta = entry.meta_or_broken()?.clone();
    let archive = meta.archive.clone().unwrap_or_default();
    if archive.archived_at.is_none() {
        return Err(AgencyError::new(ErrorCode::NotArchived, format!("run `{}` is not archived", meta.name))
            .with_hint(format!("agency show {}", meta.name)));
    }
    let (Some(saved), Some(head)) = (archive.saved_commit.clone(), archive.head_commit.clone()) else {
        return Err(AgencyError::new(
            ErrorCode::RunBroken,
            format!("run `{}` has no saved work to restore", meta.name),
        ));
    };
    let repo_root = repo_root_of(env, &meta)?;
    let worktree = PathBuf::from(&meta.worktree_path);
    if worktree.exists() {
        return Err(AgencyError::new(ErrorCode::RunBroken, format!("{} already exists", worktree.display()))
            .with_hint("agency repair --dry-run"));
    }
    let record = RunRecord::new(env, &entry.repo_id, &entry.run_id);
    record.command("restore", || {
        if !git::branch_exists(&repo_root, &meta.branch)? {
            git::create_branch(&repo_root, &meta.branch, &head)?;
        }
        git::worktree_add_existing(&repo_root, &worktree, &meta.branch)?;
        if saved != head {
            git::restore_files(&worktree, &saved)?;
        }
        let common = git::common_dir(&repo_root)?;
        scaffold::scaffold(&worktree, &common, meta.display_title(), &meta.created_at)?;
        for file in ["report.md", "state/runner_status.json"] {
            let kept = entry.paths.dir.join(file.replace('/', "_"));
            if kept.is_file() {
                let _ = std::fs::copy(&kept, worktree.join(".agency").join(file));
            }
        }
        record.event("restored", json!({ "ref": archive.saved_ref, "uncommitted_restored": saved != head }))?;
        record.update_meta(|m| {
            let a = m.archive.get_or_insert_with(Default::default);
            a.archived_at = None;
            a.merged_at = None;
            a.restored_at = Some(time::now_rfc3339());
            m.flags_mut().abandoned = false;
        })
    })
}

/// The main checkout of the run's repository (from the repo record, else the cwd's repo).
pub fn repo_root_of(env: &Env, meta: &RunMeta) -> Result<PathBuf> {
    if let Some(record) = repo_record::read_record(&env.store, &meta.repo_id) {
        let root = PathBuf::from(record.repo_root_last_seen);
        if root.is_dir() {
            return Ok(root);
        }
    }
    match crate::repo::locate(&env.cwd, &env.store)? {
        Some(located) if located.repo.id == meta.repo_id => Ok(located.repo.root),
        _ => Err(AgencyError::new(ErrorCode::NoRepo, format!("cannot find the repository of run `{}`", meta.name))
            .with_hint("run the command from inside the run's repository")),
    }
}
