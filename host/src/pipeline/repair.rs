//! `agency repair [--dry-run]`: reconcile run records, `git worktree list`, branches, tmux
//! sessions and locks in both directions. Every finding is printed with its action; a real run
//! performs only safe actions — work is always saved to a ref before anything is removed,
//! unreadable records are never overwritten, live sessions of live runs are never touched.

use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{RunRecord, archive};
use crate::clock as time;
use crate::env::Env;
use crate::error::Result;
use crate::query;
use crate::store::events::{self, Event};
use crate::store::lock::{self, LockState};
use crate::store::meta::{self, Broken, Pipeline, RunMeta};
use crate::store::repo_record;
use crate::store::runs::{self, RunEntry};
use crate::{git, tmux};

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: String,
    pub subject: String,
    pub detail: String,
    pub action: String,
    /// After a real run: `done`, `skipped` or `failed: …`.
    pub result: Option<String>,
}

type Fix<'a> = Box<dyn FnOnce() -> std::result::Result<(), String> + 'a>;

struct Repairs {
    dry_run: bool,
    findings: Vec<Finding>,
}

impl Repairs {
    fn found(
        &mut self,
        kind: &str,
        subject: impl Into<String>,
        detail: impl Into<String>,
        action: impl Into<String>,
        fix: Option<Fix<'_>>,
    ) {
        let result = match (self.dry_run, fix) {
            (true, _) => None,
            (false, None) => Some("no action needed".into()),
            (false, Some(fix)) => Some(match fix() {
                Ok(()) => "done".into(),
                Err(e) => format!("failed: {e}"),
            }),
        };
        self.findings.push(Finding {
            kind: kind.into(),
            subject: subject.into(),
            detail: detail.into(),
            action: action.into(),
            result,
        });
    }
}

pub fn repair(env: &Env, dry_run: bool) -> Result<Vec<Finding>> {
    let scope = query::scope(env, false)?;
    let repo_ids: Vec<String> = match &scope {
        query::Scope::Repo { repo_id } => vec![repo_id.clone()],
        query::Scope::AllRepos => runs::repo_ids(&env.store),
    };
    let mut repairs = Repairs { dry_run, findings: Vec::new() };
    let sessions: Vec<String> = tmux::list_panes().unwrap_or_default().into_iter().map(|p| p.session).collect();
    let mut known_sessions = HashSet::new();
    for repo_id in &repo_ids {
        let root = repo_record::read_record(&env.store, repo_id)
            .map(|r| PathBuf::from(r.repo_root_last_seen))
            .filter(|p| p.is_dir());
        let entries = runs::scan_repo(&env.store, repo_id);
        for entry in &entries {
            if let Ok(meta) = &entry.meta
                && !meta.is_archived()
            {
                known_sessions
                    .insert(meta.tmux_session_name.clone().unwrap_or_else(|| tmux::session_name(&meta.run_id)));
            }
            check_record(env, &mut repairs, entry, root.as_deref(), &sessions);
        }
        check_orphan_worktrees(env, &mut repairs, repo_id, &entries, root.as_deref());
        if let Some(root) = &root {
            check_git_worktrees(&mut repairs, root);
        }
        check_lock(env, &mut repairs, repo_id);
    }
    for session in sessions.iter().filter(|s| s.starts_with("agency_") && !known_sessions.contains(*s)) {
        // Only sessions that belong to this data dir (and scope): another data dir's runs
        // share the tmux server and are none of our business.
        let worktree = tmux::session_env(session, "AGENCY_WORKTREE").unwrap_or_default();
        let ours = repo_ids.iter().any(|id| Path::new(&worktree).starts_with(env.store.worktrees_dir(id)));
        if !ours {
            continue;
        }
        let name = session.clone();
        let fix: Fix = Box::new(move || tmux::kill_session(&name).map_err(|e| e.message));
        repairs.found(
            "orphan_session",
            session,
            "an agency tmux session whose run is archived or has no record",
            "kill the session",
            Some(fix),
        );
    }
    Ok(repairs.findings)
}

fn check_record(env: &Env, repairs: &mut Repairs, entry: &RunEntry, root: Option<&Path>, sessions: &[String]) {
    match &entry.meta {
        Err(Broken::Missing) => rebuild_meta(env, repairs, entry, root),
        Err(broken) => repairs.found(
            "broken_record",
            &entry.run_id,
            broken.to_string(),
            "none (never overwritten): move meta.json aside and run repair again to rebuild it from events.jsonl",
            None,
        ),
        Ok(meta) if meta.is_archived() => {}
        Ok(meta) => {
            let worktree = Path::new(&meta.worktree_path);
            if !worktree.is_dir() {
                let Some(root) = root else {
                    repairs.found(
                        "worktree_missing",
                        &meta.name,
                        format!("{} is gone and the repository was not found", meta.worktree_path),
                        "none",
                        None,
                    );
                    return;
                };
                let (record, meta, root) =
                    (RunRecord::new(env, &entry.repo_id, &entry.run_id), meta.clone(), root.to_path_buf());
                let fix: Fix = Box::new(move || archive_vanished(&record, &meta, &root).map_err(|e| e.message));
                repairs.found(
                    "worktree_missing",
                    &entry.run_id,
                    format!("{} is gone", entry_name(entry)),
                    "save the branch to refs/agency/archive/<run_id> and archive the record",
                    Some(fix),
                );
                return;
            }
            let session = meta.tmux_session_name.clone();
            let finished = query::read_exit(&entry.paths.runner_exit).is_some();
            match session {
                Some(s) if !sessions.contains(&s) && !finished => repairs.found(
                    "session_gone",
                    &meta.name,
                    "the run's tmux session no longer exists (reboot or kill)",
                    format!("none automatic: agency resume {}", meta.name),
                    None,
                ),
                None if meta.pipeline.as_ref().is_none_or(|p| p.failed_step.is_none()) => repairs.found(
                    "not_started",
                    &meta.name,
                    format!(
                        "the pipeline stopped after `{}`",
                        meta.pipeline.as_ref().and_then(|p| p.last_step.clone()).unwrap_or_default()
                    ),
                    format!(
                        "none automatic: agency resume {0} starts the agent, agency clean {0} abandons it",
                        meta.name
                    ),
                    None,
                ),
                _ => {}
            }
        }
    }
}

fn entry_name(entry: &RunEntry) -> String {
    entry.meta.as_ref().map(|m| format!("the worktree of `{}`", m.name)).unwrap_or_else(|_| entry.run_id.clone())
}

/// A record whose worktree vanished: keep its branch in the archive ref, then archive it.
fn archive_vanished(record: &RunRecord, meta: &RunMeta, root: &Path) -> Result<()> {
    let _ = git::worktree_prune(root);
    let head = git::rev_parse(root, &meta.branch)?;
    if let Some(head) = &head {
        git::update_ref(root, &archive::saved_ref(&meta.run_id), head)?;
    }
    record.update_meta(|m| {
        let a = m.archive.get_or_insert_with(Default::default);
        if let Some(head) = &head {
            a.saved_ref = Some(archive::saved_ref(&m.run_id));
            a.saved_commit = Some(head.clone());
            a.head_commit = Some(head.clone());
        }
        a.archived_at = Some(time::now_rfc3339());
        m.flags_mut().abandoned = true;
    })?;
    record.event("repaired", json!({ "finding": "worktree_missing", "saved": head }))
}

/// A run dir without meta.json: rebuild the record from events.jsonl, or remove an empty dir.
fn rebuild_meta(env: &Env, repairs: &mut Repairs, entry: &RunEntry, root: Option<&Path>) {
    let (evs, _) = events::read(&entry.paths.events);
    let Some(started) = evs.iter().find(|e| e.event == "run_started") else {
        let empty =
            std::fs::read_dir(&entry.paths.dir).map(|d| d.flatten().all(|e| e.file_name() == "logs")).unwrap_or(false);
        if empty {
            let dir = entry.paths.dir.clone();
            let fix: Fix = Box::new(move || std::fs::remove_dir_all(&dir).map_err(|e| e.to_string()));
            repairs.found(
                "empty_run_dir",
                &entry.run_id,
                "a run directory with no record and no events (interrupted at creation)",
                "remove the empty directory",
                Some(fix),
            );
        } else {
            repairs.found(
                "broken_record",
                &entry.run_id,
                "no meta.json and no run_started event",
                "none: inspect the run directory by hand",
                None,
            );
        }
        return;
    };
    let meta = rebuilt(env, entry, started, &evs);
    let worktree_exists = Path::new(&meta.worktree_path).is_dir();
    let action = if worktree_exists {
        "rebuild meta.json from events.jsonl (the run can then be resumed or cleaned)"
    } else {
        "rebuild meta.json from events.jsonl and archive it (no worktree was created)"
    };
    let (paths, repo_id, run_id, root) =
        (entry.paths.clone(), entry.repo_id.clone(), entry.run_id.clone(), root.map(Path::to_path_buf));
    let fix: Fix = Box::new(move || {
        let mut meta = meta;
        if !worktree_exists {
            let a = meta.archive.get_or_insert_with(Default::default);
            a.archived_at = Some(time::now_rfc3339());
            meta.flags_mut().abandoned = true;
            if let Some(root) = &root {
                // A branch may exist without its worktree (crash between the two).
                if git::branch_exists(root, &meta.branch).unwrap_or(false) {
                    let head = git::rev_parse(root, &meta.branch).ok().flatten().unwrap_or_default();
                    git::update_ref(root, &archive::saved_ref(&run_id), &head).map_err(|e| e.message)?;
                    git::delete_branch(root, &meta.branch).map_err(|e| e.message)?;
                }
            }
        }
        meta::write(&paths.meta, &meta).map_err(|e| e.message)?;
        events::append(&paths.events, &Event::new(&repo_id, &run_id, "repaired", json!({ "finding": "meta_missing" })))
            .map_err(|e| e.message)
    });
    repairs.found(
        "meta_missing",
        &entry.run_id,
        "meta.json is missing (interrupted before the record was written)",
        action,
        Some(fix),
    );
}

fn rebuilt(env: &Env, entry: &RunEntry, started: &Event, evs: &[Event]) -> RunMeta {
    let field = |k: &str| started.data.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    let name = field("name");
    let last_step = evs
        .iter()
        .rev()
        .find(|e| e.event == "step_finished")
        .and_then(|e| e.data.get("step")?.as_str().map(str::to_string));
    RunMeta {
        schema_version: meta::SCHEMA_VERSION.into(),
        run_id: entry.run_id.clone(),
        repo_id: entry.repo_id.clone(),
        name: name.clone(),
        title: Some(field("title")),
        runner: field("runner"),
        parent_branch: field("parent_branch"),
        branch: crate::store::names::branch_name(&name, &entry.run_id),
        worktree_path: env.store.worktree_path(&entry.repo_id, &entry.run_id).display().to_string(),
        created_at: started.timestamp.clone(),
        pipeline: Some(Pipeline { last_step, ..Default::default() }),
        ..RunMeta::default()
    }
}

/// Worktree dirs under the data dir that no run record claims.
fn check_orphan_worktrees(env: &Env, repairs: &mut Repairs, repo_id: &str, entries: &[RunEntry], root: Option<&Path>) {
    let dir = env.store.worktrees_dir(repo_id);
    let Ok(read) = std::fs::read_dir(&dir) else { return };
    let claimed: HashSet<&str> = entries.iter().map(|e| e.run_id.as_str()).collect();
    for path in read.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        let id = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if claimed.contains(id.as_str()) {
            continue;
        }
        let Some(root) = root.map(Path::to_path_buf) else {
            repairs.found(
                "orphan_worktree",
                path.display().to_string(),
                "no run record claims it; the repository was not found",
                "none",
                None,
            );
            continue;
        };
        let orphan = path.clone();
        let fix: Fix = Box::new(move || save_and_remove_orphan(&root, &orphan, &id).map_err(|e| e.message));
        repairs.found(
            "orphan_worktree",
            path.display().to_string(),
            "no run record claims this worktree",
            "save its work to refs/agency/orphan/<id>, then remove it",
            Some(fix),
        );
    }
}

fn save_and_remove_orphan(root: &Path, worktree: &Path, id: &str) -> Result<()> {
    let branch = git::current_branch(worktree)?;
    if let Some(head) = git::rev_parse(worktree, "HEAD")? {
        let dirty = !git::status_porcelain(worktree)?.is_empty();
        let saved = match dirty {
            true => {
                let tree = git::worktree_tree(worktree, &worktree.with_extension("repair-index"))?;
                git::commit_tree(worktree, &tree, &head, "agency repair: uncommitted work of an orphan worktree")?
            }
            false => head,
        };
        git::update_ref(root, &format!("refs/agency/orphan/{id}"), &saved)?;
    }
    git::worktree_remove(root, worktree, true)?;
    if let Some(branch) = branch.filter(|b| b.starts_with("agency/")) {
        git::delete_branch(root, &branch)?;
    }
    Ok(())
}

fn check_git_worktrees(repairs: &mut Repairs, root: &Path) {
    let Ok(list) = git::worktree_list(root) else { return };
    for wt in list.iter().filter(|w| w.prunable || !w.path.exists()) {
        let root = root.to_path_buf();
        let fix: Fix = Box::new(move || git::worktree_prune(&root).map_err(|e| e.message));
        repairs.found(
            "stale_git_worktree",
            wt.path.display().to_string(),
            "`git worktree list` names a directory that no longer exists",
            "git worktree prune",
            Some(fix),
        );
    }
}

fn check_lock(env: &Env, repairs: &mut Repairs, repo_id: &str) {
    let path = env.store.lock_path(repo_id);
    if let LockState::Stale(holder) = lock::inspect(&path) {
        let fix: Fix = Box::new(move || lock::clear_stale(&path).map(|_| ()).map_err(|e| e.to_string()));
        repairs.found(
            "stale_lock",
            repo_id,
            format!("pid {} (`{}`) died holding it at {}", holder.pid, holder.command, holder.started_at),
            "clear the lock file",
            Some(fix),
        );
    }
}
