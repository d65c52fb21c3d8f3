//! Typed `gh` (GitHub CLI) calls through `process::Cmd`. Every call names the repository
//! explicitly (`-R owner/name`), never prompts (`GH_PROMPT_DISABLED=1`) and has a timeout.
//! Tests put a fake `gh` on `PATH`; nothing here knows.

use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::process::{Cmd, ProcessError};
use crate::repo::GithubRepo;

pub const TIMEOUT: Duration = Duration::from_secs(120);

/// A `gh` command with the non-interactive environment.
pub fn gh() -> Cmd {
    Cmd::new("gh")
        .env("GH_PROMPT_DISABLED", "1")
        .env("GH_NO_UPDATE_NOTIFIER", "1")
        .env("NO_COLOR", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .timeout(TIMEOUT)
}

pub fn error(what: &str, err: ProcessError) -> AgencyError {
    match err {
        ProcessError::NotFound { .. } => {
            AgencyError::new(ErrorCode::ToolNotFound, "gh (GitHub CLI) is not installed or not on PATH")
                .with_hint("install gh from https://cli.github.com, then `gh auth login`")
        }
        other => AgencyError::new(ErrorCode::GhFailed, format!("{what}: {}", other.summary())),
    }
}

fn run_ok(cmd: Cmd, what: &str) -> Result<String> {
    cmd.run_ok().map(|o| o.stdout_str()).map_err(|e| error(what, e))
}

pub fn version() -> Result<String> {
    let out = run_ok(gh().arg("--version"), "gh --version")?;
    Ok(out.lines().next().unwrap_or_default().trim().to_string())
}

/// Whether `gh auth status` succeeds (for github.com).
pub fn authenticated() -> Result<bool> {
    match gh().args(["auth", "status", "--hostname", "github.com"]).run() {
        Ok(out) => Ok(out.success()),
        Err(e) => Err(error("gh auth status", e)),
    }
}

/// `E_GH_NOT_AUTHENTICATED` unless gh is installed and logged in.
pub fn require_auth() -> Result<()> {
    if authenticated()? {
        return Ok(());
    }
    Err(AgencyError::new(ErrorCode::GhNotAuthenticated, "gh is not authenticated for github.com")
        .with_hint("gh auth login"))
}

/// A pull request as `gh --json` reports it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    pub number: u64,
    pub url: String,
    /// `OPEN`, `MERGED`, `CLOSED`.
    pub state: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// `MERGEABLE`, `CONFLICTING`, `UNKNOWN`.
    #[serde(default)]
    pub mergeable: String,
    #[serde(default)]
    pub head_ref_name: String,
}

const FIELDS: &str = "number,url,state,title,body,mergeable,headRefName";

/// The PR for `branch`: the open one if any, else the most recent.
pub fn pr_for_branch(repo: &GithubRepo, branch: &str) -> Result<Option<PullRequest>> {
    let out = run_ok(
        gh().args([
            "pr",
            "list",
            "-R",
            &repo.slug(),
            "--head",
            branch,
            "--state",
            "all",
            "--limit",
            "20",
            "--json",
            FIELDS,
        ]),
        "gh pr list",
    )?;
    let prs: Vec<PullRequest> = serde_json::from_str(&out)
        .map_err(|e| AgencyError::new(ErrorCode::GhFailed, format!("gh pr list printed unexpected JSON: {e}")))?;
    Ok(prs.iter().find(|p| p.state == "OPEN").or(prs.first()).cloned())
}

pub fn pr_view(repo: &GithubRepo, number: u64) -> Result<PullRequest> {
    let out =
        run_ok(gh().args(["pr", "view", &number.to_string(), "-R", &repo.slug(), "--json", FIELDS]), "gh pr view")?;
    serde_json::from_str(&out)
        .map_err(|e| AgencyError::new(ErrorCode::GhFailed, format!("gh pr view printed unexpected JSON: {e}")))
}

/// Create a PR; returns its number and URL.
pub fn pr_create(repo: &GithubRepo, head: &str, base: &str, title: &str, body_file: &Path) -> Result<(u64, String)> {
    let out = run_ok(
        gh().args([
            "pr",
            "create",
            "-R",
            &repo.slug(),
            "--head",
            head,
            "--base",
            base,
            "--title",
            title,
            "--body-file",
        ])
        .arg(body_file),
        "gh pr create",
    )?;
    let url = out.lines().rev().find(|l| l.contains("/pull/")).unwrap_or_default().trim().to_string();
    let number = url.rsplit('/').next().and_then(|n| n.parse().ok()).ok_or_else(|| {
        AgencyError::new(ErrorCode::GhFailed, format!("gh pr create did not print a pull request URL: {}", out.trim()))
    })?;
    Ok((number, url))
}

pub fn pr_edit_body(repo: &GithubRepo, number: u64, body_file: &Path) -> Result<()> {
    run_ok(
        gh().args(["pr", "edit", &number.to_string(), "-R", &repo.slug(), "--body-file"]).arg(body_file),
        "gh pr edit",
    )
    .map(|_| ())
}

/// How to merge a PR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Squash,
    Merge,
    Rebase,
}

impl Strategy {
    pub fn flag(self) -> &'static str {
        match self {
            Strategy::Squash => "--squash",
            Strategy::Merge => "--merge",
            Strategy::Rebase => "--rebase",
        }
    }
}

pub fn pr_merge(repo: &GithubRepo, number: u64, strategy: Strategy, delete_branch: bool) -> Result<()> {
    let mut cmd = gh().args(["pr", "merge", &number.to_string(), "-R", &repo.slug(), strategy.flag()]);
    if delete_branch {
        cmd = cmd.arg("--delete-branch");
    }
    run_ok(cmd, "gh pr merge").map(|_| ())
}
