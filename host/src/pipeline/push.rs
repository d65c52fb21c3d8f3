//! `agency push`: dirty gate, origin must be github.com, `git fetch`, refuse an empty diff,
//! `git push -u origin <branch>`, then create the pull request or update its body — never a
//! second PR for the same branch. The body is `.agency/report.md` once the agent filled it in,
//! else a generated summary of commits and diffstat that is identical for identical pushes.

use serde_json::json;
use std::path::Path;

use crate::store::confined::Confined;
use crate::store::worktree::WorktreePaths;

use super::session;
use super::{gates, scaffold};
use crate::clock as time;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::query::OpenRun;
use crate::repo::{GithubRepo, Origin, sha256_hex};
use crate::{gh, git};

#[derive(Debug, Clone, Default)]
pub struct PushRequest {
    pub allow_dirty: bool,
    pub force_with_lease: bool,
}

/// What push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub branch: String,
    pub commits: u64,
    pub pr_number: u64,
    pub pr_url: String,
    /// `created`, `updated` (body changed) or `unchanged`.
    pub pr_action: &'static str,
}

/// The run's repository as a GitHub repository, or the reason it is not one.
pub fn github_origin(repo_root: &Path) -> Result<GithubRepo> {
    let origin = Origin::read(repo_root)?;
    let Some(url) = origin.url.clone() else {
        return Err(AgencyError::new(ErrorCode::NoOrigin, "the repository has no `origin` remote")
            .with_hint("git remote add origin git@github.com:<owner>/<repo>.git"));
    };
    origin.github.ok_or_else(|| {
        AgencyError::new(ErrorCode::UnsupportedOriginHost, format!("origin {url} is not a github.com repository"))
            .with_hint("agency pushes and opens pull requests on github.com only; push other hosts with git directly")
    })
}

/// The parent to compare with: `origin/<parent>` when the remote has it, else the local branch.
pub fn base_ref(worktree: &git::Worktree, parent: &str) -> Result<String> {
    let remote = format!("origin/{parent}");
    Ok(if git::rev_parse(worktree, &remote)?.is_some() { remote } else { parent.to_string() })
}

pub fn push(env: &Env, reference: &str, req: &PushRequest) -> Result<Pushed> {
    let (run, _lock) = session::open_locked(env, reference)?;
    let record = run.record(env);
    record.command("push", || {
        let worktree = &run.worktree;
        let dirty = git::status_porcelain(worktree)?;
        if !dirty.is_empty() && !req.allow_dirty {
            return Err(gates::dirty_error(
                ErrorCode::DirtyWorktree,
                &format!("the worktree of `{}`", run.meta.name),
                &worktree.path,
                &dirty,
                format!(
                    "commit them (cd \"$(agency path {0})\" && git commit -am …), or: agency push {0} --allow-dirty",
                    run.meta.name
                ),
            ));
        }
        let github = github_origin(&run.repo_root)?;
        gh::require_auth()?;
        record.step("fetch", || git::fetch(worktree, "origin"))?;
        let base = base_ref(worktree, &run.meta.parent_branch)?;
        let commits = git::count(worktree, &format!("{base}..HEAD"))?;
        if commits == 0 {
            return Err(AgencyError::new(
                ErrorCode::EmptyDiff,
                format!("`{}` has no commits beyond {base}; there is nothing to push", run.meta.branch),
            )
            .with_hint(format!("let the agent commit its work first: agency attach {}", run.meta.name)));
        }
        record.step("push", || git::push(worktree, "origin", &run.meta.branch, req.force_with_lease))?;
        let (number, url, action) = record.step("pull_request", || sync_pull_request(&run, &github, &base))?;
        let body_hash = sha256_hex(pr_body(&run, &base)?.as_bytes());
        record.event("pushed", json!({ "commits": commits, "pr_number": number, "pr_action": action }))?;
        record.update_meta(|m| {
            m.pr_number = Some(number);
            m.pr_url = Some(url.clone());
            m.last_push_at = Some(time::now_rfc3339());
            m.last_report_hash = Some(body_hash.clone());
        })?;
        Ok(Pushed { branch: run.meta.branch.clone(), commits, pr_number: number, pr_url: url, pr_action: action })
    })
}

/// Create the PR, or update its body when it changed. Returns (number, url, action).
fn sync_pull_request(run: &OpenRun, github: &GithubRepo, base: &str) -> Result<(u64, String, &'static str)> {
    let body = pr_body(run, base)?;
    let body_file = run.entry.paths.dir.join("pr_body.md");
    crate::store::atomic::write_atomic(&body_file, body.as_bytes())
        .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write the PR body", &body_file, e))?;
    let existing = gh::pr_for_branch(github, &run.meta.branch)?.filter(|pr| pr.state == "OPEN");
    match existing {
        Some(pr) if pr.body.trim_end() == body.trim_end() => Ok((pr.number, pr.url, "unchanged")),
        Some(pr) => {
            gh::pr_edit_body(github, pr.number, &body_file)?;
            Ok((pr.number, pr.url, "updated"))
        }
        None => {
            let (number, url) =
                gh::pr_create(github, &run.meta.branch, &run.meta.parent_branch, run.meta.display_title(), &body_file)?;
            Ok((number, url, "created"))
        }
    }
}

/// Largest report used as a pull request body (GitHub refuses bodies over 65,536 characters).
const REPORT_LIMIT: u64 = 64 << 10;

/// `.agency/report.md` once it is more than the scaffold's template, else a generated body.
/// The report is read without following a symlink the agent may have planted.
pub fn pr_body(run: &OpenRun, base: &str) -> Result<String> {
    let report = Confined::open(&run.worktree.path)
        .and_then(|dir| dir.read_capped(WorktreePaths::REPORT, REPORT_LIMIT))
        .ok()
        .flatten()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    if let Some(text) = report {
        let untouched = text.trim() == scaffold::report_template(run.meta.display_title()).trim();
        if !untouched && !text.trim().is_empty() {
            return Ok(text);
        }
    }
    let worktree = &run.worktree;
    let range = format!("{base}..HEAD");
    let commits = git::log_lines(worktree, &range)?;
    let stat = git::diff_stat(worktree, &format!("{base}...HEAD"))?;
    Ok(format!(
        "## {}\n\n### Commits\n\n{}\n\n### Changes\n\n```\n{}```\n\n_Opened by agency for run `{}` ({} runner)._\n",
        run.meta.display_title(),
        commits.join("\n"),
        stat,
        run.meta.run_id,
        run.meta.runner
    ))
}
