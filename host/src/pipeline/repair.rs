//! `agency repair [--dry-run]`: reconcile run records, `git worktree list`, branches, tmux
//! sessions and locks in both directions. Every finding is printed with its action; a real
//! run performs only safe actions, under the repository's lock, skipping any run another
//! command is working on:
//! - work is never lost: a recorded snapshot is trusted and never moved; what has none is
//!   saved (to a new archive ref, create-only) before anything is removed;
//! - a record agency cannot read or does not understand (corrupt, or from a newer agency) is
//!   reported and left alone, and so is its session — sessions are only ended for runs whose
//!   record says they are archived, or that no run directory claims;
//! - a worktree a crash left half-made (`locked initializing`) by a run that never got further
//!   is removed and the run marked failed; a repository that moved gets its links repaired.

use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::run::RunStep;
use super::{RunRecord, archive};
use crate::clock as time;
use crate::env::Env;
use crate::error::Result;
use crate::git::{self, Worktree};
use crate::query::{self, RunRepository};
use crate::store::events::{self, Event};
use crate::store::lock::{self, LockState};
use crate::store::meta::{self, Broken, Pipeline, RunMeta};
use crate::store::runs::{self, RunEntry};
use crate::tmux::{self, Server};

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: String,
    pub subject: String,
    pub detail: String,
    pub action: String,
    /// After a real run: `done`, `action required: …`, `skipped: …` or `failed: …`.
    pub result: Option<String>,
}

type Fix<'a> = Box<dyn FnOnce() -> std::result::Result<(), String> + 'a>;

/// What to do about a finding.
enum Action<'a> {
    /// Nothing agency may do; the user must (the text says what).
    Manual,
    Fix(Fix<'a>),
}

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
        what: Action<'_>,
    ) {
        let action = action.into();
        let result = match (self.dry_run, what) {
            (true, _) => None,
            (false, Action::Manual) => Some(format!("action required: {action}")),
            (false, Action::Fix(fix)) => Some(match fix() {
                Ok(()) => "done".into(),
                Err(e) => format!("failed: {e}"),
            }),
        };
        self.findings.push(Finding {
            kind: kind.into(),
            subject: subject.into(),
            detail: crate::safe_text::one_line(&detail.into(), 300),
            action,
            result,
        });
    }

    fn skipped(&mut self, kind: &str, subject: impl Into<String>, why: String) {
        self.findings.push(Finding {
            kind: kind.into(),
            subject: subject.into(),
            detail: why.clone(),
            action: "none now".into(),
            result: Some(format!("skipped: {why}")),
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
    if !dry_run && let Some(located) = crate::repo::locate(&env.cwd, &env.store)? {
        // A moved checkout: its record learns where it is now (and its identity is pinned).
        crate::store::repo_record::touch(&env.store, &located.repo, None)?;
    }
    for repo_id in &repo_ids {
        let _repo_lock = if dry_run { None } else { Some(env.lock_repo(repo_id)?) };
        let entries = runs::scan_repo(&env.store, repo_id);
        let repo = query::repository_of(env, repo_id);
        for entry in &entries {
            check_run(env, &mut repairs, entry, repo.as_ref());
        }
        check_orphan_worktrees(env, &mut repairs, repo_id, &entries, repo.as_ref());
        if let Some(repo) = &repo {
            check_git_worktrees(&mut repairs, &repo.root);
        }
        check_lock(env, &mut repairs, repo_id);
        if !dry_run {
            // Repairs rebuild and move records: the next name check reads them all again.
            crate::store::name_index::forget(&env.store, repo_id);
        }
    }
    check_sessions(env, &mut repairs, &repo_ids);
    Ok(repairs.findings)
}

fn check_run(env: &Env, repairs: &mut Repairs, entry: &RunEntry, repo: Option<&RunRepository>) {
    let meta = match &entry.meta {
        Err(Broken::Missing) => return rebuild_meta(env, repairs, entry, repo),
        Err(broken) => {
            return repairs.found(
                "broken_record",
                &entry.run_id,
                broken.to_string(),
                format!(
                    "move {} aside and run agency repair again to rebuild it from events.jsonl (it is never overwritten, and its session is left alone)",
                    entry.paths.meta().display()
                ),
                Action::Manual,
            );
        }
        Ok(meta) if meta.is_archived() => return,
        Ok(meta) => meta,
    };
    // Another command working on this run right now: leave it to that command.
    let _run_lock = match (repairs.dry_run, env.try_lock_run(&entry.repo_id, &entry.run_id)) {
        (true, _) => None,
        (false, Ok(lock)) => Some(lock),
        (false, Err(e)) => return repairs.skipped("run_busy", &meta.name, e.message),
    };
    let worktree = Path::new(&meta.worktree_path);
    if !worktree.is_dir() {
        return worktree_missing(env, repairs, entry, meta, repo);
    }
    let Some(repo) = repo else { return };
    if let Some(found) = git::unfinished_worktree(&repo.root, worktree) {
        return half_made_worktree(env, repairs, entry, meta, repo, found);
    }
    if let Err(e) = Worktree::verify(worktree, &repo.common_dir) {
        return relink(env, repairs, entry, meta, repo, e.message);
    }
    let session_alive = meta.tmux_session_name.as_ref().map(|s| tmux::has_session(&meta.tmux_server(), s));
    match session_alive {
        Some(Err(e)) => repairs.found(
            "tmux_unavailable",
            &meta.name,
            format!("cannot ask tmux about the session: {}", e.message),
            "agency doctor   # checks tmux",
            Action::Manual,
        ),
        Some(Ok(false)) if !entry.paths.runner_exit().exists() => repairs.found(
            "session_gone",
            &meta.name,
            "the run's tmux session no longer exists (reboot or kill)",
            format!("agency resume {}", meta.name),
            Action::Manual,
        ),
        None if meta.pipeline.as_ref().is_none_or(|p| p.failed_step.is_none()) => repairs.found(
            "not_started",
            &meta.name,
            format!(
                "the pipeline stopped after `{}`",
                meta.pipeline.as_ref().and_then(|p| p.last_step.clone()).unwrap_or_default()
            ),
            format!("agency resume {0} finishes it and starts the agent; agency clean {0} abandons it", meta.name),
            Action::Manual,
        ),
        _ => {}
    }
}

/// The worktree is gone: trust the recorded snapshot (or keep the branch), end a session
/// still running, archive the record — all in this one pass.
fn worktree_missing(env: &Env, repairs: &mut Repairs, entry: &RunEntry, meta: &RunMeta, repo: Option<&RunRepository>) {
    let repo = match query::run_repository(env, meta).ok().or_else(|| repo.cloned()) {
        Some(repo) => repo,
        None => {
            return repairs.found(
                "worktree_missing",
                &meta.name,
                format!("{} is gone and the repository was not found", meta.worktree_path),
                "run agency repair from inside the run's repository",
                Action::Manual,
            );
        }
    };
    let saved = meta.archive.as_ref().and_then(|a| a.saved_commit.clone());
    let action = match &saved {
        Some(commit) => {
            format!("keep the recorded snapshot {} and archive the record", &commit[..commit.len().min(12)])
        }
        None => "save the branch to a new refs/agency/archive/<run_id>… ref and archive the record".into(),
    };
    let record = RunRecord::new(env, &entry.repo_id, &entry.run_id);
    let meta_owned = meta.clone();
    let fix: Fix = Box::new(move || {
        archive::finish_vanished(&record, &meta_owned, &repo).map(|_| ()).map_err(|e| e.message)?;
        record.event("repaired", json!({ "finding": "worktree_missing" })).map_err(|e| e.message)
    });
    repairs.found(
        "worktree_missing",
        &entry.run_id,
        format!("the worktree of `{}` is gone", meta.name),
        action,
        Action::Fix(fix),
    );
}

fn half_made_worktree(
    env: &Env,
    repairs: &mut Repairs,
    entry: &RunEntry,
    meta: &RunMeta,
    repo: &RunRepository,
    why: String,
) {
    let progressed = RunStep::completed(meta.pipeline.as_ref().and_then(|p| p.last_step.as_deref())) > RunStep::Meta
        || meta.tmux_session_name.is_some();
    if progressed {
        return repairs.found(
            "half_made_worktree",
            &meta.name,
            format!("{} ({why}), but the run went on in it", meta.worktree_path),
            format!("inspect it; git -C {} worktree unlock {}", repo.root.display(), meta.worktree_path),
            Action::Manual,
        );
    }
    let record = RunRecord::new(env, &entry.repo_id, &entry.run_id);
    let subject = format!("{} ({why}); the run never started in it", meta.worktree_path);
    let (repo, meta) = (repo.clone(), meta.clone());
    let fix: Fix = Box::new(move || {
        // Nothing ran in it: a checkout that `git worktree add` could not finish.
        let path = PathBuf::from(&meta.worktree_path);
        git::worktree_remove(&repo.root, &path).map_err(|e| e.message)?;
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|e| e.to_string())?;
        }
        let _ = git::worktree_prune(&repo.root);
        let tip = git::rev_parse(&repo.root, &format!("refs/heads/{}", meta.branch)).map_err(|e| e.message)?;
        if tip.is_some() && tip == meta.base_commit {
            git::delete_branch(&repo.root, &meta.branch).map_err(|e| e.message)?;
        }
        record
            .update_meta(|m| {
                let p = m.pipeline_mut();
                p.failed_step = Some(RunStep::Worktree.as_str().into());
                p.error_code = Some("E_WORKTREE_CREATE_FAILED".into());
                p.error_message =
                    Some("git worktree add was interrupted; repair removed the half-made checkout".into());
            })
            .map_err(|e| e.message)?;
        record.event("repaired", json!({ "finding": "half_made_worktree" })).map_err(|e| e.message)
    });
    repairs.found(
        "half_made_worktree",
        &entry.run_id,
        subject,
        "remove the half-made checkout and mark the run failed (start a new run)",
        Action::Fix(fix),
    );
}

/// The worktree's link does not name this repository: when the repository moved, git can
/// relink it; anything else is reported (agency runs no git in an untrusted worktree).
fn relink(env: &Env, repairs: &mut Repairs, entry: &RunEntry, meta: &RunMeta, repo: &RunRepository, why: String) {
    let recorded = meta.git_common_dir.as_deref().map(PathBuf::from);
    let moved = recorded.as_ref().is_some_and(|old| !old.exists() && *old != repo.common_dir)
        || link_target(Path::new(&meta.worktree_path)).is_some_and(|target| !target.exists());
    if !moved {
        let path = PathBuf::from(&meta.worktree_path);
        if Worktree::registered_git_dir(&path, &repo.common_dir).is_none() {
            return repairs.found(
                "untrusted_worktree",
                &meta.name,
                why,
                format!(
                    "inspect {}/.git by hand; agency runs no git in it until it links to {}",
                    meta.worktree_path,
                    repo.common_dir.display()
                ),
                Action::Manual,
            );
        }
        let record = RunRecord::new(env, &entry.repo_id, &entry.run_id);
        let common = repo.common_dir.clone();
        let fix: Fix = Box::new(move || {
            let (_, aside) = Worktree::relink(&path, &common).map_err(|e| e.message)?;
            record
                .event("repaired", json!({ "finding": "untrusted_worktree", "moved_aside": aside }))
                .map_err(|e| e.message)
        });
        return repairs.found(
            "untrusted_worktree",
            &meta.name,
            why,
            "move the replaced .git aside (kept, never run) and link the worktree to its repository again",
            Action::Fix(fix),
        );
    }
    let record = RunRecord::new(env, &entry.repo_id, &entry.run_id);
    let action = format!("git -C {} worktree repair {}", repo.root.display(), meta.worktree_path);
    let (repo, path) = (repo.clone(), PathBuf::from(&meta.worktree_path));
    let fix: Fix = Box::new(move || {
        git::worktree_repair(&repo.root, &path).map_err(|e| e.message)?;
        Worktree::verify(&path, &repo.common_dir).map_err(|e| e.message)?;
        record
            .update_meta(|m| m.git_common_dir = Some(repo.common_dir.display().to_string()))
            .map_err(|e| e.message)?;
        record.event("repaired", json!({ "finding": "repository_moved" })).map_err(|e| e.message)
    });
    repairs.found(
        "repository_moved",
        &meta.name,
        format!("the worktree still links to the repository's old place ({why})"),
        action,
        Action::Fix(fix),
    );
}

/// Where a worktree's `.git` file points, if it is one.
fn link_target(worktree: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(worktree.join(".git")).ok()?;
    Some(worktree.join(text.strip_prefix("gitdir: ")?.trim_end()))
}

/// A run dir without meta.json: rebuild the record from events.jsonl, or remove an empty dir.
fn rebuild_meta(env: &Env, repairs: &mut Repairs, entry: &RunEntry, repo: Option<&RunRepository>) {
    if !repairs.dry_run && env.try_lock_run(&entry.repo_id, &entry.run_id).is_err() {
        return repairs.skipped("meta_missing", &entry.run_id, "a command is creating this run right now".into());
    }
    let (evs, _) = events::read(&entry.paths.events());
    let Some(started) = evs.iter().find(|e| e.event == "run_started") else {
        let empty = std::fs::read_dir(&entry.paths.dir)
            .map(|d| d.flatten().all(|e| ["logs", "lock"].contains(&e.file_name().to_string_lossy().as_ref())))
            .unwrap_or(false);
        if empty {
            let dir = entry.paths.dir.clone();
            let fix: Fix = Box::new(move || std::fs::remove_dir_all(&dir).map_err(|e| e.to_string()));
            return repairs.found(
                "empty_run_dir",
                &entry.run_id,
                "a run directory with no record and no events (interrupted at creation)",
                "remove the empty directory",
                Action::Fix(fix),
            );
        }
        return repairs.found(
            "broken_record",
            &entry.run_id,
            "no meta.json and no run_started event",
            format!("inspect {} by hand", entry.paths.dir.display()),
            Action::Manual,
        );
    };
    let meta = rebuilt(env, entry, started, &evs);
    let worktree_exists = Path::new(&meta.worktree_path).is_dir();
    let action = if worktree_exists {
        "rebuild meta.json from events.jsonl (the run can then be resumed or cleaned)"
    } else {
        "rebuild meta.json from events.jsonl and archive it (no worktree was created)"
    };
    let (paths, repo_id, run_id, root) =
        (entry.paths.clone(), entry.repo_id.clone(), entry.run_id.clone(), repo.map(|r| r.root.clone()));
    let fix: Fix = Box::new(move || {
        let mut meta = meta;
        if !worktree_exists {
            let a = meta.archive.get_or_insert_with(Default::default);
            a.archived_at = Some(time::now_rfc3339());
            meta.flags_mut().abandoned = true;
            if let Some(root) = &root
                && let Some(head) =
                    git::rev_parse(root, &format!("refs/heads/{}", meta.branch)).map_err(|e| e.message)?
            {
                // A branch may exist without its worktree (crash between the two): keep it.
                let saved = archive::snapshot::create_archive_ref(root, &run_id, &head).map_err(|e| e.message)?;
                let a = meta.archive.get_or_insert_with(Default::default);
                a.saved_ref = Some(saved.clone());
                a.saved_refs.push(saved);
                a.saved_commit = Some(head.clone());
                a.head_commit = Some(head);
                git::delete_branch(root, &meta.branch).map_err(|e| e.message)?;
            }
        }
        meta::write(&paths.meta(), &meta).map_err(|e| e.message)?;
        events::append(
            &paths.events(),
            &Event::new(&repo_id, &run_id, "repaired", json!({ "finding": "meta_missing" })),
        )
        .map_err(|e| e.message)
    });
    repairs.found(
        "meta_missing",
        &entry.run_id,
        "meta.json is missing (interrupted before the record was written, or moved aside)",
        action,
        Action::Fix(fix),
    );
}

/// A record rebuilt from the events: identity from `run_started`, the base commit from
/// `worktree_created`, the session from the last `session_started`, progress from the steps.
fn rebuilt(env: &Env, entry: &RunEntry, started: &Event, evs: &[Event]) -> RunMeta {
    let text = |e: &Event, k: &str| e.data.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let field = |k: &str| text(started, k).unwrap_or_default();
    let name = field("name");
    let last = |name: &str| evs.iter().rev().find(|e| e.event == name);
    let last_step = evs
        .iter()
        .rev()
        .find(|e| e.event == "step_finished")
        .and_then(|e| e.data.get("step")?.as_str().map(str::to_string));
    let session = last("session_started");
    let mut meta = RunMeta {
        schema_version: meta::SCHEMA_VERSION.into(),
        run_id: entry.run_id.clone(),
        repo_id: entry.repo_id.clone(),
        name: name.clone(),
        title: Some(field("title")),
        runner: field("runner"),
        runner_cmd: session.and_then(|e| text(e, "runner_cmd")).unwrap_or_default(),
        parent_branch: field("parent_branch"),
        branch: crate::store::names::branch_name(&name, &entry.run_id),
        base_commit: last("worktree_created").and_then(|e| text(e, "base_commit")),
        port_base: started.data.get("port_base").and_then(|v| v.as_u64()).and_then(|p| u16::try_from(p).ok()),
        worktree_path: env.store.worktree_path(&entry.repo_id, &entry.run_id).display().to_string(),
        git_common_dir: text(started, "git_common_dir"),
        created_at: started.timestamp.clone(),
        tmux_session_name: session.and_then(|e| text(e, "session")),
        tmux_socket: session.and_then(|e| text(e, "socket")),
        pipeline: Some(Pipeline { last_step, ..Default::default() }),
        ..RunMeta::default()
    };
    if let Some(e) = session {
        meta.launch = Some(Box::new(crate::store::meta::Launch {
            mode: text(e, "mode").unwrap_or_else(|| "interactive".into()),
            started_at: Some(e.timestamp.clone()),
            ..Default::default()
        }));
    }
    meta
}

/// Directories under `worktrees/` that no run record claims.
fn check_orphan_worktrees(
    env: &Env,
    repairs: &mut Repairs,
    repo_id: &str,
    entries: &[RunEntry],
    repo: Option<&RunRepository>,
) {
    let dir = env.store.worktrees_dir(repo_id);
    let Ok(read) = std::fs::read_dir(&dir) else { return };
    let claimed: HashSet<&str> = entries.iter().map(|e| e.run_id.as_str()).collect();
    for path in read.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        let id = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if claimed.contains(id.as_str()) {
            continue;
        }
        let linked = repo.and_then(|r| Worktree::verify(&path, &r.common_dir).ok());
        let (Some(repo), Some(worktree)) = (repo, linked) else {
            repairs.found(
                "orphan_dir",
                path.display().to_string(),
                "no run record claims it and it is not a worktree of the repository",
                "inspect it and delete it by hand if nothing in it matters (agency never deletes it)",
                Action::Manual,
            );
            continue;
        };
        let root = repo.root.clone();
        let fix: Fix = Box::new(move || save_and_remove_orphan(&root, &worktree, &id).map_err(|e| e.message));
        repairs.found(
            "orphan_worktree",
            path.display().to_string(),
            "no run record claims this worktree",
            "save its work to refs/agency/orphan/<id>, then remove it",
            Action::Fix(fix),
        );
    }
}

fn save_and_remove_orphan(root: &Path, worktree: &Worktree, id: &str) -> Result<()> {
    let survey = archive::survey::survey(worktree, archive::survey::limit()?)?;
    if !survey.unsaved.is_empty() || !survey.nested.is_empty() {
        return Err(crate::error::AgencyError::new(
            crate::error::ErrorCode::UnsavedWork,
            format!("it holds work git cannot save here: {}", survey.unsaved_lines().join(", ")),
        ));
    }
    let branch = git::current_branch(worktree)?;
    if let Some(head) = git::rev_parse(worktree, "HEAD")? {
        let ignored: Vec<PathBuf> = survey.ignored.iter().map(|i| i.path.clone()).collect();
        let tree = git::worktree_tree(worktree, &worktree.path.with_extension("repair-index"), &ignored)?;
        let saved = git::commit_tree(worktree, &tree, &[head], "agency repair: work of an orphan worktree")?;
        git::create_ref(root, &format!("refs/agency/orphan/{id}"), &saved, "agency repair: orphan")?;
    }
    git::worktree_remove(root, &worktree.path)?;
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
            Action::Fix(fix),
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
            Action::Fix(fix),
        );
    }
}

/// Sessions named `agency_<run_id>` on the servers agency uses: ended only when their run is
/// archived (by a readable record) or no run directory of this data dir claims them. A run
/// whose record cannot be read keeps its session.
fn check_sessions(env: &Env, repairs: &mut Repairs, repo_ids: &[String]) {
    let mut servers = vec![Server::Default];
    let mut runs_by_id: HashMap<String, (String, Option<RunMeta>)> = HashMap::new();
    for repo_id in repo_ids {
        for entry in runs::scan_repo(&env.store, repo_id) {
            if let Ok(meta) = &entry.meta {
                let server = meta.tmux_server();
                if !servers.contains(&server) {
                    servers.push(server);
                }
            }
            runs_by_id.insert(entry.run_id.clone(), (entry.repo_id.clone(), entry.meta.ok().map(|m| *m)));
        }
    }
    for server in servers {
        let Ok(panes) = tmux::list_panes(&server) else { continue };
        for pane in panes {
            let Some(run_id) = pane.session.strip_prefix("agency_") else { continue };
            let orphan = match runs_by_id.get(run_id) {
                Some((_, Some(meta))) => meta.is_archived(),
                Some((_, None)) => false,
                None => {
                    // Another data dir's runs share the tmux server: only ours are our business.
                    let worktree = tmux::session_env(&server, &pane.session, "AGENCY_WORKTREE").unwrap_or_default();
                    repo_ids.iter().any(|id| Path::new(&worktree).starts_with(env.store.worktrees_dir(id)))
                }
            };
            if !orphan {
                continue;
            }
            let (server, session) = (server.clone(), pane.session.clone());
            let fix: Fix = Box::new(move || tmux::kill_session(&server, &session).map_err(|e| e.message));
            repairs.found(
                "orphan_session",
                &pane.session,
                "an agency tmux session whose run is archived or has no run directory",
                "kill the session",
                Action::Fix(fix),
            );
        }
    }
}
