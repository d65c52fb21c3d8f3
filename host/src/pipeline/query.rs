//! Read-only views of runs for `ls`, `show` and `path`: which runs are in scope, how a `<ref>`
//! resolves, and each run's status from its record plus one tmux query for all sessions.

use std::collections::HashMap;

use super::Env;
use crate::error::{ErrorCode, Result};
use crate::repo;
use crate::status::{self, Signals, Status};
use crate::store::runs::{self, RunEntry};
use crate::tmux;

/// Which runs a listing covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    Repo { repo_id: String },
    AllRepos,
}

/// A run and its derived status (`None` for a broken record).
#[derive(Debug, Clone)]
pub struct RunView {
    pub entry: RunEntry,
    pub status: Option<Status>,
}

/// The scope for a listing: the current repository, or all when asked or outside any repo.
pub fn scope(env: &Env, all_repos: bool) -> Result<Scope> {
    if all_repos {
        return Ok(Scope::AllRepos);
    }
    Ok(match repo::locate(&env.cwd, &env.store)? {
        Some(located) => Scope::Repo { repo_id: located.repo.id },
        None => Scope::AllRepos,
    })
}

pub fn entries(env: &Env, scope: &Scope) -> Vec<RunEntry> {
    match scope {
        Scope::Repo { repo_id } => runs::scan_repo(&env.store, repo_id),
        Scope::AllRepos => runs::scan_all(&env.store),
    }
}

/// Runs in scope with their status, newest first. Archived runs only with `include_archived`.
pub fn list(env: &Env, scope: &Scope, include_archived: bool) -> Result<Vec<RunView>> {
    let entries: Vec<RunEntry> = entries(env, scope)
        .into_iter()
        .filter(|e| include_archived || !e.meta.as_ref().is_ok_and(|m| m.is_archived()))
        .collect();
    let alive = live_sessions(&entries)?;
    Ok(entries.into_iter().map(|entry| view(entry, &alive)).collect())
}

/// Resolve `<ref>`: within the current repository first, then across all repositories.
pub fn find(env: &Env, reference: &str) -> Result<RunEntry> {
    let local = scope(env, false)?;
    let candidates = entries(env, &local);
    match runs::resolve(&candidates, reference) {
        Ok(entry) => Ok(entry.clone()),
        Err(err) if err.code == ErrorCode::RunNotFound && local != Scope::AllRepos => {
            let all = runs::scan_all(&env.store);
            runs::resolve(&all, reference).cloned()
        }
        Err(err) => Err(err),
    }
}

/// One run with its status.
pub fn show(env: &Env, reference: &str) -> Result<RunView> {
    let entry = find(env, reference)?;
    let alive = live_sessions(std::slice::from_ref(&entry))?;
    Ok(view(entry, &alive))
}

/// Session name → alive, from one `tmux list-panes -a` (skipped when no run has a session).
fn live_sessions(entries: &[RunEntry]) -> Result<HashMap<String, bool>> {
    let any_session =
        entries.iter().any(|e| e.meta.as_ref().is_ok_and(|m| m.tmux_session_name.is_some() && !m.is_archived()));
    if !any_session {
        return Ok(HashMap::new());
    }
    // A missing tmux cannot have live sessions; report runs as not alive rather than failing.
    let panes = tmux::list_panes().unwrap_or_default();
    Ok(panes.into_iter().map(|p| (p.session, true)).collect())
}

fn view(entry: RunEntry, alive: &HashMap<String, bool>) -> RunView {
    let status = entry.meta.as_ref().ok().map(|meta| {
        let signals = Signals {
            worktree_exists: std::path::Path::new(&meta.worktree_path).is_dir(),
            session_alive: meta.tmux_session_name.as_ref().is_some_and(|s| alive.contains_key(s)),
        };
        status::derive(meta, &signals)
    });
    RunView { entry, status }
}
