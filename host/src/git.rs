//! Typed git calls, all through `process::Cmd`: never prompts (`GIT_TERMINAL_PROMPT=0`,
//! batch-mode ssh), fixed `C` locale for parseable output, a timeout on every call, and errors
//! that carry the exact command and git's stderr.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::process::{Cmd, Output, ProcessError};

/// Network operations (fetch, push) get longer than local plumbing.
pub const NETWORK_TIMEOUT: Duration = Duration::from_secs(300);

/// A `git -C <dir>` command with the non-interactive environment.
pub fn git(dir: &Path) -> Cmd {
    let mut cmd = Cmd::new("git")
        .arg("-C")
        .arg(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .env("LC_ALL", "C");
    if std::env::var_os("GIT_SSH_COMMAND").is_none() {
        cmd = cmd.env("GIT_SSH_COMMAND", "ssh -oBatchMode=yes");
    }
    cmd
}

/// Convert a failed git call into an error under `code`, keeping the command and stderr.
pub fn error(code: ErrorCode, what: &str, err: ProcessError) -> AgencyError {
    match err {
        ProcessError::NotFound { .. } => {
            AgencyError::new(ErrorCode::ToolNotFound, "git is not installed or not on PATH")
                .with_hint("install git (e.g. `apt-get install git`), then run `agency doctor`")
        }
        other => AgencyError::new(code, format!("{what}: {}", other.summary())),
    }
}

fn run_ok(cmd: Cmd, what: &str) -> Result<Output> {
    cmd.run_ok().map_err(|e| error(ErrorCode::GitFailed, what, e))
}

fn trimmed(output: &Output) -> String {
    output.stdout_str().trim_end_matches(['\n', '\r']).to_string()
}

/// Run and return trimmed stdout when git exits 0, `None` when it exits non-zero.
fn query(cmd: Cmd, what: &str) -> Result<Option<String>> {
    match cmd.run() {
        Ok(out) if out.success() => Ok(Some(trimmed(&out))),
        Ok(out) if out.timed_out => Err(AgencyError::new(ErrorCode::CommandTimeout, format!("{what}: git timed out"))),
        Ok(_) => Ok(None),
        Err(e) => Err(error(ErrorCode::GitFailed, what, e)),
    }
}

/// Top level of the working tree containing `dir`, or `None` outside a repository.
pub fn toplevel(dir: &Path) -> Result<Option<PathBuf>> {
    Ok(query(git(dir).args(["rev-parse", "--show-toplevel"]), "find repository root")?.map(PathBuf::from))
}

/// Absolute path of the common git dir (shared by all worktrees).
pub fn common_dir(dir: &Path) -> Result<PathBuf> {
    let out = run_ok(git(dir).args(["rev-parse", "--path-format=absolute", "--git-common-dir"]), "find git dir")?;
    Ok(PathBuf::from(trimmed(&out)))
}

pub fn has_commits(dir: &Path) -> Result<bool> {
    Ok(query(git(dir).args(["rev-parse", "--verify", "-q", "HEAD"]), "check for commits")?.is_some())
}

/// `git status --porcelain` lines (tracked changes and untracked files).
pub fn status_porcelain(dir: &Path) -> Result<Vec<String>> {
    let out = run_ok(git(dir).env("GIT_OPTIONAL_LOCKS", "0").args(["status", "--porcelain"]), "read git status")?;
    Ok(out.stdout_str().lines().filter(|l| !l.is_empty()).map(str::to_string).collect())
}

/// Current branch name, `None` on a detached HEAD.
pub fn current_branch(dir: &Path) -> Result<Option<String>> {
    query(git(dir).args(["symbolic-ref", "--short", "-q", "HEAD"]), "read current branch")
}

pub fn branch_exists(dir: &Path, branch: &str) -> Result<bool> {
    let refname = format!("refs/heads/{branch}");
    Ok(query(git(dir).args(["show-ref", "--verify", "--quiet", &refname]), "check branch")?.is_some())
}

/// Whether `name` is a valid branch name for git.
pub fn valid_branch_name(dir: &Path, name: &str) -> Result<bool> {
    Ok(query(git(dir).args(["check-ref-format", "--branch", name]), "check branch name")?.is_some())
}

pub fn rev_parse(dir: &Path, rev: &str) -> Result<Option<String>> {
    query(git(dir).args(["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")]), "resolve revision")
}

/// `git config --get <key>` as configured (no `insteadOf` rewriting), `None` when unset.
pub fn config_get(dir: &Path, key: &str) -> Result<Option<String>> {
    query(git(dir).args(["config", "--get", key]), "read git config")
}

/// `git worktree add -b <branch> <path> <parent>`; failure carries the command and stderr.
pub fn worktree_add(repo: &Path, branch: &str, path: &Path, parent: &str) -> Result<()> {
    let cmd = git(repo).args(["worktree", "add", "-b", branch]).arg(path).arg(parent).timeout(Duration::from_secs(600));
    let argv = cmd.display();
    cmd.run_ok().map(|_| ()).map_err(|e| {
        error(ErrorCode::WorktreeCreateFailed, "git worktree add failed", e)
            .with_detail("command", argv)
            .with_hint("agency doctor   # checks git and the repository; then retry the run")
    })
}

/// One entry of `git worktree list --porcelain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Worktree {
    pub path: PathBuf,
    pub head: Option<String>,
    pub branch: Option<String>,
    pub prunable: bool,
}

pub fn worktree_list(repo: &Path) -> Result<Vec<Worktree>> {
    let out = run_ok(git(repo).args(["worktree", "list", "--porcelain"]), "list worktrees")?;
    Ok(parse_worktree_list(&out.stdout_str()))
}

fn parse_worktree_list(text: &str) -> Vec<Worktree> {
    let mut list = Vec::new();
    for block in text.split("\n\n") {
        let mut wt = Worktree { path: PathBuf::new(), head: None, branch: None, prunable: false };
        for line in block.lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "worktree" => wt.path = PathBuf::from(value),
                "HEAD" => wt.head = Some(value.to_string()),
                "branch" => wt.branch = Some(value.trim_start_matches("refs/heads/").to_string()),
                "prunable" => wt.prunable = true,
                _ => {}
            }
        }
        if !wt.path.as_os_str().is_empty() {
            list.push(wt);
        }
    }
    list
}

pub fn worktree_remove(repo: &Path, path: &Path, force: bool) -> Result<()> {
    let mut cmd = git(repo).args(["worktree", "remove"]);
    if force {
        cmd = cmd.arg("--force");
    }
    run_ok(cmd.arg(path), "remove worktree").map(|_| ())
}

pub fn worktree_prune(repo: &Path) -> Result<()> {
    run_ok(git(repo).args(["worktree", "prune"]), "prune worktrees").map(|_| ())
}

pub fn delete_branch(repo: &Path, branch: &str) -> Result<()> {
    run_ok(git(repo).args(["branch", "-D", branch]), "delete branch").map(|_| ())
}

/// `git fetch origin` (network timeout).
pub fn fetch(dir: &Path, remote: &str) -> Result<()> {
    run_ok(git(dir).args(["fetch", "--quiet", remote]).timeout(NETWORK_TIMEOUT), "git fetch").map(|_| ())
}

/// `git push -u <remote> <branch>` (optionally `--force-with-lease`).
pub fn push(dir: &Path, remote: &str, branch: &str, force_with_lease: bool) -> Result<()> {
    let mut cmd = git(dir).args(["push", "--quiet", "-u"]);
    if force_with_lease {
        cmd = cmd.arg("--force-with-lease");
    }
    let cmd = cmd.args([remote, branch]).timeout(NETWORK_TIMEOUT);
    let argv = cmd.display();
    cmd.run_ok().map(|_| ()).map_err(|e| {
        error(ErrorCode::GitFailed, "git push failed", e)
            .with_detail("command", argv)
            .with_hint("if the branch was rewritten on purpose: agency push <ref> --force-with-lease")
    })
}

/// Number of commits in `range` (e.g. `origin/main..HEAD`).
pub fn count(dir: &Path, range: &str) -> Result<u64> {
    let out = run_ok(git(dir).args(["rev-list", "--count", range]), "count commits")?;
    Ok(trimmed(&out).parse().unwrap_or(0))
}

/// `- <short sha> <subject>` lines for `range`, oldest first.
pub fn log_lines(dir: &Path, range: &str) -> Result<Vec<String>> {
    let out = run_ok(git(dir).args(["log", "--reverse", "--format=- %h %s", range]), "git log")?;
    Ok(out.stdout_str().lines().map(str::to_string).collect())
}

/// `git diff --stat` of `range`.
pub fn diff_stat(dir: &Path, range: &str) -> Result<String> {
    Ok(run_ok(git(dir).args(["diff", "--stat=100", range]), "git diff --stat")?.stdout_str())
}

/// The tree of the working directory as it is (tracked changes and untracked, non-ignored
/// files), computed in a temporary index so the real one is untouched.
pub fn worktree_tree(dir: &Path, scratch_index: &Path) -> Result<String> {
    let _ = std::fs::remove_file(scratch_index);
    let with_index = |cmd: Cmd| cmd.env("GIT_INDEX_FILE", scratch_index);
    run_ok(with_index(git(dir).args(["read-tree", "HEAD"])), "read HEAD into a scratch index")?;
    run_ok(with_index(git(dir).args(["add", "-A", "."])), "stage the worktree in a scratch index")?;
    let out = run_ok(with_index(git(dir).arg("write-tree")), "write the worktree tree")?;
    let _ = std::fs::remove_file(scratch_index);
    Ok(trimmed(&out))
}

/// A commit with `tree` on top of `parent` (no ref is moved).
pub fn commit_tree(dir: &Path, tree: &str, parent: &str, message: &str) -> Result<String> {
    let out = run_ok(git(dir).args(["commit-tree", tree, "-p", parent, "-m", message]), "create a commit")?;
    Ok(trimmed(&out))
}

pub fn update_ref(dir: &Path, name: &str, target: &str) -> Result<()> {
    run_ok(git(dir).args(["update-ref", name, target]), "update ref").map(|_| ())
}

pub fn delete_ref(dir: &Path, name: &str) -> Result<()> {
    run_ok(git(dir).args(["update-ref", "-d", name]), "delete ref").map(|_| ())
}

/// Whether `commit` is reachable from any remote-tracking branch.
pub fn on_a_remote(dir: &Path, commit: &str) -> Result<bool> {
    let out = run_ok(git(dir).args(["rev-list", "--count", commit, "--not", "--remotes"]), "count unpushed commits")?;
    Ok(trimmed(&out) == "0")
}

/// Whether the changes of `branch` are already in `target`: an ancestor (merge commit or
/// fast-forward), every commit applied with the same patch (rebase merge), or the whole branch
/// applied as one patch (squash merge).
pub fn is_merged_into(dir: &Path, branch: &str, target: &str) -> Result<bool> {
    let ancestor = git(dir)
        .args(["merge-base", "--is-ancestor", branch, target])
        .run()
        .map_err(|e| error(ErrorCode::GitFailed, "merge-base", e))?;
    if ancestor.success() {
        return Ok(true);
    }
    let Some(base) = query(git(dir).args(["merge-base", target, branch]), "merge-base")? else { return Ok(false) };
    let all_applied = |upstream: &str, head: &str| -> Result<bool> {
        let out = run_ok(git(dir).args(["cherry", upstream, head]), "git cherry")?;
        let text = out.stdout_str();
        Ok(!text.trim().is_empty() && text.lines().all(|l| l.starts_with('-')))
    };
    if all_applied(target, branch)? {
        return Ok(true);
    }
    let tree = rev_parse_tree(dir, branch)?;
    let squashed = commit_tree(dir, &tree, &base, "agency: squash probe")?;
    all_applied(target, &squashed)
}

fn rev_parse_tree(dir: &Path, rev: &str) -> Result<String> {
    Ok(trimmed(&run_ok(git(dir).args(["rev-parse", &format!("{rev}^{{tree}}")]), "resolve tree")?))
}

/// `git worktree add [-b <branch>] <path> <start>` for restoring; `branch` is created when new.
pub fn worktree_add_existing(repo: &Path, path: &Path, branch: &str) -> Result<()> {
    run_ok(
        git(repo).args(["worktree", "add"]).arg(path).arg(branch).timeout(Duration::from_secs(600)),
        "git worktree add",
    )
    .map(|_| ())
}

/// Create `branch` at `start` without checking it out.
pub fn create_branch(repo: &Path, branch: &str, start: &str) -> Result<()> {
    run_ok(git(repo).args(["branch", branch, start]), "create branch").map(|_| ())
}

/// Make the working files of `dir` equal to `commit`'s tree while the index stays at HEAD:
/// restores saved uncommitted changes as uncommitted changes.
pub fn restore_files(dir: &Path, commit: &str) -> Result<()> {
    run_ok(git(dir).args(["read-tree", "--reset", "-u", commit]), "restore saved files")?;
    run_ok(git(dir).args(["reset", "-q"]), "unstage restored files").map(|_| ())
}

/// `git --version`, for doctor.
pub fn version() -> Result<String> {
    let out = Cmd::new("git").arg("--version").run_ok().map_err(|e| error(ErrorCode::GitFailed, "git --version", e))?;
    Ok(trimmed(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_worktree_list() {
        let text = "worktree /r\nHEAD abc\nbranch refs/heads/main\n\nworktree /w\nHEAD def\nbranch refs/heads/agency/x-1a2b\nprunable gitdir file points to non-existent location\n\n";
        let list = parse_worktree_list(text);
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].branch.as_deref(), Some("agency/x-1a2b"));
        assert!(list[1].prunable);
        assert!(!list[0].prunable);
    }
}
