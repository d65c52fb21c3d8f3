//! Step 1 of `agency run`: every check that must pass before anything is created — the
//! repository and its state, the configuration and the setup scripts it names, tmux, and the
//! runner's launch plan (planned for a stand-in worktree and put through the checker, so an
//! undeclared argument or a missing agent program is found here). A failed gate creates
//! nothing: no run dir, no branch, no worktree, no record.

use std::path::Path;

use super::authorize::{self, Authorized};
use crate::config::AgencyJson;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::git;
use crate::plugin::api::PlanRequest;
use crate::repo::{self, Located, Repo};
use crate::store::name_index::NameIndex;
use crate::store::names;

/// What the gates established.
#[derive(Debug, Clone)]
pub struct Gated {
    pub repo: Repo,
    pub config: AgencyJson,
    pub parent_branch: String,
    /// The parent's commit when the gates passed: the run branches from exactly this commit
    /// (the one the clean-checkout gate saw).
    pub parent_commit: String,
    /// The user's `--name`, validated and unique at gate time (rechecked under the lock).
    pub name: Option<String>,
    /// How many processes check the worktree's files out (see [`git::checkout_workers`]).
    pub checkout_workers: i64,
}

/// The repository the command was started in (a run's worktree counts as its repository).
pub fn require_repo(env: &Env) -> Result<Located> {
    repo::locate(&env.cwd, &env.store)?.ok_or_else(|| repo::no_repo_error(&env.cwd))
}

/// The repository, refusing agency worktrees and the data dir (for commands that create runs).
pub fn require_main_checkout(env: &Env) -> Result<Repo> {
    let located = require_repo(env)?;
    if located.run_id.is_some() {
        return Err(inside_error("inside an agency worktree", Some(&located.repo.root)));
    }
    let data = env.store.root().canonicalize().unwrap_or_else(|_| env.store.root().to_path_buf());
    let cwd = env.cwd.canonicalize().unwrap_or_else(|_| env.cwd.clone());
    if cwd.starts_with(&data) {
        return Err(inside_error(&format!("inside agency's data dir ({})", data.display()), None));
    }
    Ok(located.repo)
}

fn inside_error(what: &str, root: Option<&Path>) -> AgencyError {
    let hint = match root {
        Some(root) => format!("cd {}   # run agency from the main checkout", root.display()),
        None => "cd into your repository's main checkout".to_string(),
    };
    AgencyError::new(ErrorCode::InsideWorktree, format!("cannot start a run {what}")).with_hint(hint)
}

/// Error listing up to ten changed paths of a dirty checkout.
pub fn dirty_error(code: ErrorCode, what: &str, dir: &Path, lines: &[String], hint: String) -> AgencyError {
    let mut shown: Vec<String> = lines.iter().take(10).map(|l| l.trim_start().to_string()).collect();
    if lines.len() > 10 {
        shown.push(format!("… and {} more", lines.len() - 10));
    }
    AgencyError::new(code, format!("{what} has uncommitted changes ({} paths): {}", lines.len(), shown.join(", ")))
        .with_detail("checkout", dir.display())
        .with_hint(hint)
}

/// Check a run can be created; establish the parent branch and the validated name.
pub fn check(env: &Env, name: Option<&str>, parent: Option<&str>) -> Result<Gated> {
    let repo = require_main_checkout(env)?;
    // `git status` of a large checkout is the slowest gate and `tmux -V` a process of its
    // own: both start now, run while the other gates do, and are answered in their place
    // (so errors come in the same order as if they ran one after another).
    let (checked, checkout_workers) = std::thread::scope(|scope| {
        let status = scope.spawn(|| git::status_porcelain(&repo.root));
        let tmux = scope.spawn(crate::tmux::version);
        // Not a gate: what it finds only tunes how the worktree is written.
        let workers = scope.spawn(|| git::checkout_workers(&repo.root));
        use crate::process::joined;
        let checked = check_in(env, &repo, name, parent, || joined(tmux).map(drop), || joined(status));
        (checked, joined(workers))
    });
    checked.map(|(config, parent_branch, parent_commit)| Gated {
        repo,
        config,
        parent_branch,
        parent_commit,
        name: name.map(str::to_string),
        checkout_workers,
    })
}

/// The gates in order, given the answers of the two probes started early.
fn check_in(
    env: &Env,
    repo: &Repo,
    name: Option<&str>,
    parent: Option<&str>,
    tmux_version: impl FnOnce() -> Result<()>,
    status: impl FnOnce() -> Result<Vec<String>>,
) -> Result<(AgencyJson, String, String)> {
    let Some(head) = git::head(&repo.root)? else {
        return Err(AgencyError::new(ErrorCode::EmptyRepo, "the repository has no commits yet")
            .with_hint("git commit --allow-empty -m 'initial commit'"));
    };
    let config = AgencyJson::load(&repo.root)?;
    config.check_scripts_exist(&repo.root, &[crate::config::Phase::Setup])?;
    if let Some(name) = name {
        names::validate_name(name)?;
    }
    // tmux must be there, and a `$TMUX` that names a dead server is an error now, not after
    // the worktree exists.
    tmux_version()?;
    crate::tmux::Server::for_new_session()?;
    let (parent_branch, parent_commit) = match parent {
        Some(branch) => match git::rev_parse(&repo.root, &format!("refs/heads/{branch}"))? {
            Some(commit) => (branch.to_string(), commit),
            None => return Err(parent_not_found(&repo.root, branch)),
        },
        None => match head.branch {
            Some(branch) => (branch, head.commit),
            None => {
                return Err(AgencyError::new(
                    ErrorCode::DetachedHead,
                    "HEAD is detached, so there is no current branch to branch from",
                )
                .with_hint("agency run --parent main   # or check out a branch first"));
            }
        },
    };
    warn_if_behind(env, &repo.root, &parent_branch);
    let dirty = status()?;
    if !dirty.is_empty() {
        return Err(dirty_error(
            ErrorCode::ParentDirty,
            "the parent checkout",
            &repo.root,
            &dirty,
            format!("commit or stash them first: git -C {} stash --include-untracked", repo.root.display()),
        ));
    }
    if let Some(name) = name {
        // Kept when rebuilt, so the check under the lock finds it current.
        ensure_name_free(env, &NameIndex::load_and_keep(&env.store, &repo.id), name)?;
    }
    Ok((config, parent_branch, parent_commit))
}

/// `--parent` names no local branch: say what it is and how to make a branch of it.
fn parent_not_found(root: &Path, given: &str) -> AgencyError {
    let message = format!("parent branch `{given}` does not exist locally");
    let hint = match git::describe_ref(root, given) {
        Some("remote branch") => {
            let local = given.split_once('/').map_or(given, |(_, b)| b);
            format!("`{given}` is a remote branch: git branch {local} {given}   # then --parent {local}")
        }
        Some(kind) => {
            format!("`{given}` is a {kind}, not a branch: git branch <name> {given}   # then --parent <name>")
        }
        None => format!("git fetch origin {given} && git branch {given} origin/{given}   # or pick another --parent"),
    };
    AgencyError::new(ErrorCode::ParentBranchNotFound, message).with_hint(hint)
}

/// Plan the launch now, for a stand-in worktree (the repository itself), and put the plan
/// through the checker: an undeclared argument, a forbidden variable or a missing agent
/// program stops the run before anything exists.
pub fn check_launch_plan(env: &Env, gated: &Gated, runner: &Authorized, request: &PlanRequest) -> Result<()> {
    authorize::check_plan_in_checkout(env, runner, &gated.repo, request, "run again").map(|_| ())
}
/// A stale base is a common surprise: say so when the local parent is behind what was last
/// fetched from origin (no network here; the run still starts from the local branch).
fn warn_if_behind(env: &Env, root: &Path, parent: &str) {
    let remote = format!("origin/{parent}");
    if git::rev_parse(root, &remote).ok().flatten().is_none() {
        return;
    }
    if let Ok(behind @ 1..) = git::count(root, &format!("{parent}..{remote}")) {
        env.ui.warn(&format!(
            "the parent branch `{parent}` is {behind} commit(s) behind {remote}; the run starts from the local branch (git pull first for the latest)"
        ));
    }
}

/// `E_NAME_EXISTS` when a live run of the repo already uses `name`.
pub fn ensure_name_free(env: &Env, names: &NameIndex, name: &str) -> Result<()> {
    match names.holder(&env.store, name) {
        Some(run) => Err(AgencyError::new(
            ErrorCode::NameExists,
            format!("a live run named `{name}` already exists ({})", run.run_id),
        )
        .with_hint(format!("pick another --name, or finish that run: agency clean {name}"))),
        None => Ok(()),
    }
}
