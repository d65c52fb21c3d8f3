//! Archiving a run without ever losing work (`clean`, and `merge` after merging). Order:
//! the archive step plugins; a survey of what would be deleted (anything that cannot be saved
//! is listed, and needs a human's yes or `--force`); **save** (a snapshot commit under a new,
//! never-moved archive ref, tarballs of nested repositories); only then mark removal started,
//! end the session and every process the run started, remove the worktree and delete the
//! branch (whose tip the snapshot keeps reachable). A retried archive after a crash resumes
//! where it stopped: once removal started the worktree may be half-deleted, so it is never
//! saved again over the good snapshot. The record, logs and report stay.

pub mod snapshot;
pub mod survey;

pub use snapshot::saved_ref;

use serde_json::json;
use std::path::Path;
use std::time::Duration;

use super::{RunRecord, authorize, steps};
use crate::clock as time;
use crate::config::{AgencyJson, Phase};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::query::{self, OpenRun, Purpose, RunRepository};
use crate::store::confined::Confined;
use crate::store::meta::RunMeta;
use crate::store::worktree::WorktreePaths;
use crate::{git, process, tmux};
use survey::Survey;

/// How long processes of a run get between SIGTERM and SIGKILL when it is removed.
const KILL_GRACE: Duration = Duration::from_secs(3);
/// Largest report or status file copied into the record.
const KEPT_FILE_LIMIT: u64 = 1 << 20;

/// What archiving did.
#[derive(Debug, Clone)]
pub struct Archived {
    pub saved_ref: String,
    pub saved_commit: String,
    pub uncommitted_saved: bool,
    pub unpushed_commits: bool,
    /// The archive steps' summary, or why they failed (archiving continues either way).
    pub steps: String,
    /// Nested repositories and submodules saved as tarballs.
    pub nested_saved: usize,
    /// What was deleted without being saved (accepted by a human or `--force`).
    pub unsaved: Vec<String>,
}

/// How to treat what cannot be saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsaved {
    /// Ask on a terminal (unless `--yes`), refuse in a script.
    Ask,
    /// Already confirmed, or `--force`.
    Accept,
}

/// Survey `run` and get the go-ahead for whatever would be lost (before anything changes).
pub fn survey_and_confirm(env: &Env, run: &OpenRun, unsaved: Unsaved) -> Result<Survey> {
    let plan = survey::survey(&run.worktree, survey::limit()?)?;
    if plan.unsaved.is_empty() || unsaved == Unsaved::Accept {
        return Ok(plan);
    }
    let lines = plan.unsaved_lines();
    if env.ui.interactive() && !env.assume_yes {
        env.ui.status(&format!(
            "these would be deleted without being saved (over the {} archive limit, AGENCY_ARCHIVE_LIMIT):\n  {}",
            survey::human_size(survey::limit()?),
            lines.join("\n  ")
        ));
        if matches!(env.ui.ask("Delete them unsaved? [y/N] ").as_deref().map(str::trim), Some("y" | "Y" | "yes")) {
            return Ok(plan);
        }
        return Err(AgencyError::new(ErrorCode::Aborted, "cancelled; nothing was changed"));
    }
    Err(AgencyError::new(
        ErrorCode::UnsavedWork,
        format!(
            "run `{}` holds {} path(s) that cannot be saved and would be deleted: {}",
            run.meta.name,
            lines.len(),
            lines.join(", ")
        ),
    )
    .with_hint(format!(
        "move them out of the worktree, raise AGENCY_ARCHIVE_LIMIT, or: agency clean {} --force",
        run.meta.run_id
    )))
}

/// Archive `run`: steps, save, then remove. Nothing is removed unless the save succeeded.
pub fn archive(env: &Env, run: &OpenRun, record: &RunRecord, unsaved: Unsaved) -> Result<Archived> {
    let meta = record.read_meta()?;
    let mut steps_summary = String::from("skipped (resuming an interrupted archive)");
    if meta.archive.as_ref().is_none_or(|a| a.removal_started_at.is_none()) {
        steps_summary = record.step("archive_steps", || run_archive_steps(env, run, record)).unwrap_or_else(|e| {
            env.ui
                .warn(&format!("archive steps failed ({}); archiving continues, your work is saved first", e.message));
            format!("failed: {} {}", e.code, e.message)
        });
        let plan = survey_and_confirm(env, run, unsaved)?;
        let previous = meta.archive.as_ref().and_then(|a| a.saved_commit.clone());
        let saved = record.step("save", || snapshot::save(run, &plan, previous.as_deref()))?;
        keep_agent_files(run);
        let unsaved_lines = plan.unsaved_lines();
        record.update_meta(|m| {
            let a = m.archive.get_or_insert_with(Default::default);
            a.saved_ref = Some(saved.saved_ref.clone());
            a.saved_commit = Some(saved.saved_commit.clone());
            a.head_commit = Some(saved.head.clone());
            a.branch_commit = saved.branch_commit.clone().filter(|b| *b != saved.head);
            a.index_commit = saved.index_commit.clone();
            a.uncommitted_saved = saved.uncommitted;
            a.unpushed_commits = saved.unpushed;
            if !a.saved_refs.contains(&saved.saved_ref) {
                a.saved_refs.push(saved.saved_ref.clone());
            }
            a.nested = saved.nested.clone();
            a.unsaved = unsaved_lines.clone();
        })?;
        record.event(
            "work_saved",
            json!({ "ref": saved.saved_ref, "commit": saved.saved_commit, "uncommitted": saved.uncommitted,
                    "unpushed": saved.unpushed, "nested": saved.nested.len(), "unsaved": unsaved_lines }),
        )?;
        record.update_meta(|m| {
            m.archive.get_or_insert_with(Default::default).removal_started_at = Some(time::now_rfc3339());
        })?;
    }
    record.step("remove", || remove(run))?;
    let meta = finish(record, &run.repo_root, &run.meta.branch)?;
    let a = meta.archive.unwrap_or_default();
    Ok(Archived {
        saved_ref: a.saved_ref.unwrap_or_default(),
        saved_commit: a.saved_commit.unwrap_or_default(),
        uncommitted_saved: a.uncommitted_saved,
        unpushed_commits: a.unpushed_commits,
        steps: steps_summary,
        nested_saved: a.nested.len(),
        unsaved: a.unsaved,
    })
}

fn run_archive_steps(env: &Env, run: &OpenRun, record: &RunRecord) -> Result<String> {
    let Some(config) = AgencyJson::load_optional(&run.repo_root)? else {
        return Ok("no agency.json; no archive steps".into());
    };
    let project = (run.repo_root.as_path(), &config);
    let prepared = authorize::steps(env, &config.steps_for(Phase::Archive), project)?;
    let report = steps::run_phase(env, record, &run.meta, project, Phase::Archive, prepared, None)?;
    if !report.ok {
        return Err(report.failure(&run.meta.name));
    }
    Ok(report.summary)
}

/// The agent's report and status are ignored files: keep copies with the record (read
/// without following a symlink the agent may have planted).
fn keep_agent_files(run: &OpenRun) {
    let Ok(worktree) = Confined::open(&run.worktree.path) else { return };
    for relative in WorktreePaths::KEPT_ON_ARCHIVE {
        if let Ok(Some(bytes)) = worktree.read_capped(relative, KEPT_FILE_LIMIT) {
            let _ = crate::store::atomic::write_atomic(&run.entry.paths.dir.join(kept_name(relative)), &bytes);
        }
    }
}

/// Where a kept agent file goes in the run dir (`report.md`, `state_runner_status.json`).
pub fn kept_name(relative: &str) -> String {
    relative.trim_start_matches(".agency/").replace('/', "_")
}

/// End the session and everything the run started, then remove the worktree. A tmux that
/// cannot be asked is an error here: nothing is deleted under an agent that may still run.
fn remove(run: &OpenRun) -> Result<()> {
    let (server, session) = (run.server(), run.session());
    if tmux::has_session(&server, &session)? {
        tmux::kill_session(&server, &session)?;
    }
    process::kill_tagged("AGENCY_RUN_ID", &run.meta.run_id, KILL_GRACE);
    remove_worktree(&run.repo_root, &run.worktree.path)
}

/// `git worktree remove`, and if git refuses (submodules) or stopped halfway, the directory
/// itself (its work is saved by now) and a prune.
fn remove_worktree(repo_root: &Path, path: &Path) -> Result<()> {
    let removed = git::worktree_remove(repo_root, path);
    if path.exists() {
        std::fs::remove_dir_all(path)
            .map_err(|e| AgencyError::io(ErrorCode::ArchiveFailed, "cannot remove the worktree", path, e))?;
    } else {
        removed?;
    }
    git::worktree_prune(repo_root)
}

/// After the worktree is gone: make sure the branch's tip is kept, delete the branch, and
/// mark the record archived.
fn finish(record: &RunRecord, repo_root: &Path, branch: &str) -> Result<RunMeta> {
    let meta = record.read_meta()?;
    let saved = meta.archive.as_ref().and_then(|a| a.saved_commit.clone());
    if let Some(tip) = git::rev_parse(repo_root, &format!("refs/heads/{branch}"))? {
        let kept = match &saved {
            Some(commit) => git::is_ancestor(repo_root, &tip, commit)?,
            None => false,
        };
        if !kept {
            let extra = snapshot::create_archive_ref(repo_root, &meta.run_id, &tip)?;
            record.event("branch_saved", json!({ "ref": extra, "commit": tip }))?;
            record.update_meta(|m| {
                let a = m.archive.get_or_insert_with(Default::default);
                if a.saved_commit.is_none() {
                    a.saved_ref = Some(extra.clone());
                    a.saved_commit = Some(tip.clone());
                    a.head_commit = Some(tip.clone());
                }
                a.saved_refs.push(extra.clone());
            })?;
        }
        git::delete_branch(repo_root, branch)?;
    }
    let meta = record.update_meta(|m| {
        m.archive.get_or_insert_with(Default::default).archived_at = Some(time::now_rfc3339());
    })?;
    let a = meta.archive.clone().unwrap_or_default();
    record.event("archived", json!({ "ref": a.saved_ref, "commit": a.saved_commit }))?;
    // Best effort: a block left listed is dropped at the next reservation anyway.
    let _ = crate::store::ports::release(&record.env.store, &meta.run_id);
    Ok(meta)
}

/// A run whose worktree is gone (an archive interrupted after removal began, or deleted by
/// hand): trust the recorded snapshot if there is one, keep the branch tip otherwise, end a
/// session that may still run, and archive the record. Used by a retried `clean` and `repair`.
pub fn finish_vanished(record: &RunRecord, meta: &RunMeta, repo: &RunRepository) -> Result<RunMeta> {
    let _ = git::worktree_prune(&repo.root);
    let server = meta.tmux_server();
    let session = meta.tmux_session_name.clone().unwrap_or_else(|| tmux::session_name(&meta.run_id));
    if tmux::has_session(&server, &session)? {
        tmux::kill_session(&server, &session)?;
    }
    process::kill_tagged("AGENCY_RUN_ID", &meta.run_id, KILL_GRACE);
    if meta.archive.as_ref().is_none_or(|a| a.merged_at.is_none()) {
        record.update_meta(|m| m.flags_mut().abandoned = true)?;
    }
    record.event("worktree_vanished", json!({ "worktree": meta.worktree_path }))?;
    finish(record, &repo.root, &meta.branch)
}

/// Whether the run's branch is merged: its PR is merged, or its changes are already in the
/// parent (merge commit, rebase merge or squash merge).
pub fn merged_elsewhere(run: &OpenRun) -> bool {
    if let (Some(number), Ok(github)) = (run.meta.pr_number, super::push::github_origin(&run.repo_root))
        && let Ok(pr) = crate::gh::pr_view(&github, number)
    {
        return pr.state == "MERGED";
    }
    let wt = &run.worktree;
    let _ = git::fetch(wt, "origin");
    // A branch with no commits of its own has nothing to be merged.
    let start = run.meta.base_commit.clone().unwrap_or_else(|| run.meta.parent_branch.clone());
    if git::count(wt, &format!("{start}..HEAD")).unwrap_or(0) == 0 {
        return false;
    }
    super::push::base_ref(wt, &run.meta.parent_branch)
        .and_then(|base| git::is_merged_into(wt, "HEAD", &base))
        .unwrap_or(false)
}

/// What `clean` decided.
pub struct Cleaned {
    pub merged: bool,
    pub archived: Archived,
    pub run_id: String,
}

/// Abandon a run (or record it as merged when its work already is) and archive it. One
/// command per run at a time: a second `clean` waits, then finds the run archived.
pub fn clean(env: &Env, reference: &str, force: bool) -> Result<Cleaned> {
    let entry = query::find(env, reference, Purpose::Act)?;
    let _run_lock = env.lock_run(&entry.repo_id, &entry.run_id)?;
    let meta = crate::store::meta::read(&entry.paths.meta())
        .map_err(|broken| crate::store::runs::broken_error(&entry, &broken))?;
    if meta.is_archived() {
        return Err(AgencyError::new(ErrorCode::RunArchived, format!("run `{}` is already archived", meta.name))
            .with_hint(format!("agency restore {}   # brings it back", meta.run_id)));
    }
    if !env.assume_yes {
        confirm_clean(env, &meta)?;
    }
    let record = RunRecord::new(env, &entry.repo_id, &entry.run_id);
    let unsaved = if force { Unsaved::Accept } else { Unsaved::Ask };
    if !Path::new(&meta.worktree_path).is_dir() {
        let repo = query::run_repository(env, &meta)?;
        return record.command("clean", || {
            let meta = finish_vanished(&record, &meta, &repo)?;
            Ok(Cleaned { merged: false, archived: archived_from(&meta), run_id: meta.run_id.clone() })
        });
    }
    let run = query::open(env, entry)?;
    record.command("clean", || {
        let resuming = run.meta.archive.as_ref().is_some_and(|a| a.removal_started_at.is_some());
        let merged = !resuming && merged_elsewhere(&run);
        record.update_meta(|m| match merged {
            true => m.archive.get_or_insert_with(Default::default).merged_at = Some(time::now_rfc3339()),
            false => m.flags_mut().abandoned = m.archive.as_ref().is_none_or(|a| a.merged_at.is_none()),
        })?;
        let archived = archive(env, &run, &record, unsaved)?;
        Ok(Cleaned { merged, archived, run_id: run.meta.run_id.clone() })
    })
}

fn archived_from(meta: &RunMeta) -> Archived {
    let a = meta.archive.clone().unwrap_or_default();
    Archived {
        saved_ref: a.saved_ref.unwrap_or_default(),
        saved_commit: a.saved_commit.unwrap_or_default(),
        uncommitted_saved: a.uncommitted_saved,
        unpushed_commits: a.unpushed_commits,
        steps: "skipped (the worktree was already gone)".into(),
        nested_saved: a.nested.len(),
        unsaved: a.unsaved,
    }
}

fn confirm_clean(env: &Env, meta: &RunMeta) -> Result<()> {
    if !env.ui.interactive() {
        return Err(AgencyError::new(
            ErrorCode::NotInteractive,
            format!("cleaning `{}` needs confirmation", meta.name),
        )
        .with_hint(format!("agency clean {} --yes", meta.run_id)));
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
