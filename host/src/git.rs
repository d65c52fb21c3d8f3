//! Typed git calls, all through `process::Cmd`. Every call runs git by absolute path with a
//! fixed, hardened configuration — the one place these overrides live:
//! - `core.fsmonitor=false`, `core.hooksPath=/dev/null`: no program a repository or worktree
//!   names runs as part of agency's own git (hooks, fsmonitor daemons);
//! - `diff.external=` and `--no-ext-diff --no-textconv` on diffs: no diff drivers;
//! - `core.untrackedCache=false` and `GIT_OPTIONAL_LOCKS=0`: no opportunistic index writes;
//! - `GIT_SSH_COMMAND=ssh -oBatchMode=yes` (unless the caller set their own), which also
//!   overrides a repository's `core.sshCommand`; `GIT_TERMINAL_PROMPT=0`: never prompts;
//! - `LC_ALL=C` for parseable output; `GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE` from the
//!   caller's environment are dropped.
//!
//! A run's worktree is hostile (the agent and plugins write every byte of it), so git never
//! runs there by following its `.git` file: [`Worktree::verify`] checks that the file is a
//! plain file pointing at `<the run's repository>/worktrees/<name>` whose back-link names this
//! worktree, and git then runs with that git dir given explicitly.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::process::{Cmd, Output, ProcessError};

/// Network operations (fetch, push) get longer than local plumbing.
pub const NETWORK_TIMEOUT: Duration = Duration::from_secs(300);
/// Checking out or removing a whole worktree of a big repository takes a while.
const WORKTREE_TIMEOUT: Duration = Duration::from_secs(600);

/// The configuration every agency git call runs with (see the module docs).
pub const HARDENING: &[&str] =
    &["core.fsmonitor=false", "core.hooksPath=/dev/null", "core.untrackedCache=false", "diff.external="];

/// Where a git command runs: a main checkout by path, or a verified run worktree.
pub trait Location {
    /// `git` set up to run here.
    fn git(&self) -> Cmd;
}

impl Location for Path {
    fn git(&self) -> Cmd {
        base().arg("-C").arg(self)
    }
}

impl Location for PathBuf {
    fn git(&self) -> Cmd {
        self.as_path().git()
    }
}

/// A run worktree whose `.git` link was checked against the run's repository.
#[derive(Debug, Clone, PartialEq)]
pub struct Worktree {
    pub path: PathBuf,
    /// `<common dir>/worktrees/<name>`
    pub git_dir: PathBuf,
    pub common_dir: PathBuf,
}

impl Location for Worktree {
    fn git(&self) -> Cmd {
        base().arg("--git-dir").arg(&self.git_dir).arg("--work-tree").arg(&self.path).arg("-C").arg(&self.path)
    }
}

impl Worktree {
    /// Check that `path/.git` is a plain file naming `<common_dir>/worktrees/<name>`, and that
    /// that git dir names `path` back. `E_WORKTREE_UNTRUSTED` otherwise; nothing is run.
    pub fn verify(path: &Path, common_dir: &Path) -> Result<Worktree> {
        let untrusted = |why: String| {
            AgencyError::new(
                ErrorCode::WorktreeUntrusted,
                format!("the worktree {} is not a linked worktree of {}: {why}", path.display(), common_dir.display()),
            )
        };
        let link = path.join(".git");
        let meta = std::fs::symlink_metadata(&link).map_err(|e| untrusted(format!("{}: {e}", link.display())))?;
        if !meta.file_type().is_file() || meta.len() > 4096 {
            return Err(untrusted(".git is not a plain file (it was replaced)".into()));
        }
        let text = std::fs::read_to_string(&link).map_err(|e| untrusted(e.to_string()))?;
        let target = text
            .strip_prefix("gitdir: ")
            .map(|t| t.trim_end_matches(['\n', '\r']))
            .ok_or_else(|| untrusted(".git does not say `gitdir: …`".into()))?;
        let target = path.join(target);
        let git_dir = target.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => untrusted(format!(
                "its git dir {} no longer exists (the repository moved? `agency repair` relinks it)",
                target.display()
            )),
            _ => untrusted(format!("its git dir {}: {e}", target.display())),
        })?;
        let common = common_dir.canonicalize().map_err(|e| untrusted(format!("{}: {e}", common_dir.display())))?;
        if git_dir.parent() != Some(&common.join("worktrees")) {
            return Err(untrusted(format!(".git points at {}", git_dir.display())));
        }
        let back = std::fs::read_to_string(git_dir.join("gitdir")).map_err(|e| untrusted(e.to_string()))?;
        let back = PathBuf::from(back.trim_end_matches(['\n', '\r']));
        let here = link.canonicalize().map_err(|e| untrusted(e.to_string()))?;
        if back.canonicalize().ok().as_ref() != Some(&here) {
            return Err(untrusted(format!("its git dir belongs to {}", back.display())));
        }
        Ok(Worktree { path: path.to_path_buf(), git_dir, common_dir: common })
    }

    /// The git dir the repository registered for the worktree at `path` (its back-link names
    /// `path/.git`), whatever the worktree's own `.git` now says.
    pub fn registered_git_dir(path: &Path, common_dir: &Path) -> Option<PathBuf> {
        let here = path.canonicalize().ok()?.join(".git");
        std::fs::read_dir(common_dir.join("worktrees")).ok()?.flatten().map(|e| e.path()).find(|git_dir| {
            std::fs::read_to_string(git_dir.join("gitdir")).ok().is_some_and(|back| {
                let back = PathBuf::from(back.trim_end_matches(['\n', '\r']));
                back.parent().and_then(|p| p.canonicalize().ok()).map(|p| p.join(".git")) == Some(here.clone())
            })
        })
    }

    /// Put back the link a plugin or agent replaced: the `.git` in the worktree is moved aside
    /// (never deleted, never read by git) and a plain link to the registered git dir written.
    pub fn relink(path: &Path, common_dir: &Path) -> Result<(Worktree, PathBuf)> {
        let git_dir = Self::registered_git_dir(path, common_dir).ok_or_else(|| {
            AgencyError::new(
                ErrorCode::WorktreeUntrusted,
                format!("{} has no registered git dir in {}", path.display(), common_dir.display()),
            )
        })?;
        let link = path.join(".git");
        let aside = path.join(format!(".git.untrusted-{}", crate::clock::run_id_stamp(crate::clock::now())));
        let io = |what: &str, e: std::io::Error| AgencyError::io(ErrorCode::WorktreeUntrusted, what, &link, e);
        if std::fs::symlink_metadata(&link).is_ok() {
            std::fs::rename(&link, &aside).map_err(|e| io("cannot move the planted .git aside", e))?;
        }
        std::fs::write(&link, format!("gitdir: {}\n", git_dir.display())).map_err(|e| io("cannot write .git", e))?;
        Ok((Worktree::verify(path, common_dir)?, aside))
    }
}

/// git by absolute path, resolved once from the caller's `PATH`.
fn program() -> PathBuf {
    static GIT: OnceLock<PathBuf> = OnceLock::new();
    GIT.get_or_init(|| crate::plugin::checker::find_on_path("git").unwrap_or_else(|| PathBuf::from("git"))).clone()
}

/// `git` with the hardened configuration and a non-interactive environment.
fn base() -> Cmd {
    let mut cmd = Cmd::new(program());
    for setting in HARDENING {
        cmd = cmd.arg("-c").arg(setting);
    }
    cmd = cmd
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GCM_INTERACTIVE", "never")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
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

/// False when `dir` is certainly outside any working tree: a working tree has `.git` in it or
/// in a parent (GIT_DIR is never passed on, see `base`), so without one anywhere above git
/// would say the same, and the call is spared (it is most of what a command run outside any
/// repository costs).
pub fn may_be_in_a_worktree(dir: &Path) -> bool {
    dir.ancestors().any(|d| d.join(".git").symlink_metadata().is_ok())
}

/// Top level of the working tree containing `dir` and its common git dir (both absolute), or
/// `None` outside a repository (or in a bare one). One git call: every command starts here.
pub fn toplevel_and_common_dir(dir: &Path) -> Result<Option<(PathBuf, PathBuf)>> {
    if !may_be_in_a_worktree(dir) {
        return Ok(None);
    }
    let cmd = dir.git().args(["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir"]);
    let Some(out) = query(cmd, "find repository root")? else { return Ok(None) };
    if let Some((top, common)) = out.split_once('\n')
        && !common.contains('\n')
    {
        return Ok(Some((PathBuf::from(top), PathBuf::from(common))));
    }
    // A path with a newline in it: ask one at a time.
    let top = query(dir.git().args(["rev-parse", "--show-toplevel"]), "find repository root")?;
    match top {
        Some(top) => Ok(Some((PathBuf::from(&top), common_dir(Path::new(&top))?))),
        None => Ok(None),
    }
}

/// Whether `dir` is inside a bare repository (for a clear error instead of "no repository").
pub fn is_bare(dir: &Path) -> bool {
    query(dir.git().args(["rev-parse", "--is-bare-repository"]), "check for a bare repository")
        .ok()
        .flatten()
        .is_some_and(|s| s == "true")
}

/// Absolute path of the common git dir (shared by all worktrees) of a main checkout.
pub fn common_dir(dir: &Path) -> Result<PathBuf> {
    let out = run_ok(dir.git().args(["rev-parse", "--path-format=absolute", "--git-common-dir"]), "find git dir")?;
    Ok(PathBuf::from(trimmed(&out)))
}

pub fn has_commits(dir: &(impl Location + ?Sized)) -> Result<bool> {
    Ok(query(dir.git().args(["rev-parse", "--verify", "-q", "HEAD"]), "check for commits")?.is_some())
}

/// HEAD's commit and the branch it is on (`None` when detached).
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub commit: String,
    pub branch: Option<String>,
}

/// HEAD, asked in one git process (`run`'s gates used to ask twice): `Ok(None)` when the
/// repository has no commit yet.
pub fn head(dir: &(impl Location + ?Sized)) -> Result<Option<Head>> {
    let cmd = dir.git().args(["rev-parse", "HEAD", "--symbolic-full-name", "HEAD", "--"]);
    let Some(out) = query(cmd, "read HEAD")? else { return Ok(None) };
    let mut lines = out.lines();
    let commit = lines.next().unwrap_or_default().to_string();
    let branch = lines.next().and_then(|s| s.strip_prefix("refs/heads/")).map(str::to_string);
    Ok(Some(Head { commit, branch }))
}

/// `git status --porcelain` lines (tracked changes and untracked files).
pub fn status_porcelain(dir: &(impl Location + ?Sized)) -> Result<Vec<String>> {
    let out = run_ok(dir.git().args(["status", "--porcelain"]), "read git status")?;
    Ok(out.stdout_str().lines().filter(|l| !l.is_empty()).map(str::to_string).collect())
}

/// Current branch name, `None` on a detached HEAD.
pub fn current_branch(dir: &(impl Location + ?Sized)) -> Result<Option<String>> {
    query(dir.git().args(["symbolic-ref", "--short", "-q", "HEAD"]), "read current branch")
}

pub fn branch_exists(dir: &(impl Location + ?Sized), branch: &str) -> Result<bool> {
    ref_exists(dir, &format!("refs/heads/{branch}"))
}

pub fn ref_exists(dir: &(impl Location + ?Sized), name: &str) -> Result<bool> {
    Ok(query(dir.git().args(["show-ref", "--verify", "--quiet", name]), "check ref")?.is_some())
}

/// The commit `rev` names, `None` when it names none.
pub fn rev_parse(dir: &(impl Location + ?Sized), rev: &str) -> Result<Option<String>> {
    query(dir.git().args(["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")]), "resolve revision")
}

/// What kind of thing `name` is, for messages: `tag`, `remote branch`, `revision`, or `None`.
pub fn describe_ref(dir: &Path, name: &str) -> Option<&'static str> {
    if ref_exists(dir, &format!("refs/tags/{name}")).unwrap_or(false) {
        return Some("tag");
    }
    if ref_exists(dir, &format!("refs/remotes/{name}")).unwrap_or(false) {
        return Some("remote branch");
    }
    rev_parse(dir, name).ok().flatten().map(|_| "revision")
}

/// `git config --get <key>` as configured (no `insteadOf` rewriting), `None` when unset.
pub fn config_get(dir: &Path, key: &str) -> Result<Option<String>> {
    query(dir.git().args(["config", "--get", key]), "read git config")
}

/// Most processes `git worktree add` may check files out with. The repository's git config is
/// shared with every run's worktree, so an agent can write `checkout.workers` too: a value past
/// this would start a process per file.
pub const MAX_CHECKOUT_WORKERS: i64 = 32;

/// How many processes check a new worktree's files out: the user's `checkout.workers`, bounded
/// by [`MAX_CHECKOUT_WORKERS`], else `0` — one per core (a quarter faster on a 5,000-file
/// repository on two cores; git still checks out small trees in one process,
/// `checkout.thresholdForParallelism`).
pub fn checkout_workers(repo: &Path) -> i64 {
    let chosen = config_get(repo, "checkout.workers").ok().flatten().and_then(|v| v.trim().parse::<i64>().ok());
    chosen.map_or(0, |n| n.clamp(0, MAX_CHECKOUT_WORKERS))
}

/// `git worktree add -b <branch> <path> <start>` (`start` a commit); failure carries the
/// command and stderr. It finishes even if agency is killed meanwhile (a half-made worktree
/// is worse). `workers` is [`checkout_workers`]'s answer.
pub fn worktree_add(repo: &Path, branch: &str, path: &Path, start: &str, workers: i64) -> Result<()> {
    let cmd = repo.git().arg("-c").arg(format!("checkout.workers={workers}"));
    let cmd = cmd.args(["worktree", "add", "-b", branch]).arg(path).arg(start).timeout(WORKTREE_TIMEOUT);
    let argv = cmd.display();
    cmd.outlive_agency().run_ok().map(|_| ()).map_err(|e| {
        error(ErrorCode::WorktreeCreateFailed, "git worktree add failed", e)
            .with_detail("command", argv)
            .with_hint("agency doctor   # checks git and the repository; then retry the run")
    })
}

/// One entry of `git worktree list --porcelain -z`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorktreeEntry {
    pub path: PathBuf,
    pub head: Option<String>,
    pub branch: Option<String>,
    pub prunable: bool,
    /// `Some(reason)` when locked (`initializing` while `git worktree add` has not finished).
    pub locked: Option<String>,
}

pub fn worktree_list(repo: &Path) -> Result<Vec<WorktreeEntry>> {
    let out = run_ok(repo.git().args(["worktree", "list", "--porcelain", "-z"]), "list worktrees")?;
    Ok(parse_worktree_list(&out.stdout))
}

/// NUL-separated attributes, entries ended by an empty attribute (paths may hold newlines).
fn parse_worktree_list(bytes: &[u8]) -> Vec<WorktreeEntry> {
    let mut list = Vec::new();
    let mut current = WorktreeEntry::default();
    for field in bytes.split(|b| *b == 0) {
        if field.is_empty() {
            if !current.path.as_os_str().is_empty() {
                list.push(std::mem::take(&mut current));
            }
            continue;
        }
        let text = String::from_utf8_lossy(field);
        let (key, value) = text.split_once(' ').unwrap_or((&text, ""));
        match key {
            "worktree" => {
                use std::os::unix::ffi::OsStrExt;
                current.path = PathBuf::from(std::ffi::OsStr::from_bytes(&field["worktree ".len()..]));
            }
            "HEAD" => current.head = Some(value.to_string()),
            "branch" => current.branch = Some(value.trim_start_matches("refs/heads/").to_string()),
            "prunable" => current.prunable = true,
            "locked" => current.locked = Some(value.to_string()),
            _ => {}
        }
    }
    if !current.path.as_os_str().is_empty() {
        list.push(current);
    }
    list
}

/// Remove a worktree (forced twice: also when locked). It finishes even if agency is killed
/// meanwhile, so a worktree is never left half-deleted by agency's death.
pub fn worktree_remove(repo: &Path, path: &Path) -> Result<()> {
    let cmd = repo.git().args(["worktree", "remove", "--force", "--force"]).arg(path).timeout(WORKTREE_TIMEOUT);
    run_ok(cmd.outlive_agency(), "remove worktree").map(|_| ())
}

/// Why the registered worktree at `path` is one `git worktree add` never finished (still
/// locked `initializing`, or no HEAD), or `None` when it is whole or not registered.
pub fn unfinished_worktree(repo: &Path, path: &Path) -> Option<String> {
    let list = worktree_list(repo).ok()?;
    let canonical = path.canonicalize().ok()?;
    let entry = list.into_iter().find(|w| w.path.canonicalize().ok().as_ref() == Some(&canonical))?;
    match (&entry.locked, &entry.head) {
        (Some(reason), _) if reason.contains("initializing") => Some(format!("locked: {reason}")),
        (_, None) => Some("it has no HEAD".into()),
        _ => None,
    }
}

pub fn worktree_prune(repo: &Path) -> Result<()> {
    run_ok(repo.git().args(["worktree", "prune"]), "prune worktrees").map(|_| ())
}

/// `git worktree repair <path>` from the main checkout: relink a worktree after a move.
pub fn worktree_repair(repo: &Path, path: &Path) -> Result<()> {
    run_ok(repo.git().args(["worktree", "repair"]).arg(path), "repair worktree links").map(|_| ())
}

pub fn delete_branch(repo: &Path, branch: &str) -> Result<()> {
    run_ok_past_stale_lock(repo, || repo.git().args(["branch", "-D", branch]), "delete branch").map(|_| ())
}

/// How long a lock file in the git dir may stand before it is taken for one that a git killed
/// together with an earlier agency left behind: git holds a ref lock for milliseconds.
const STALE_LOCK_AGE: Duration = Duration::from_secs(10);

/// Run a ref-changing git command in `repo`, past a stale lock (see [`wait_out_lock`]).
fn run_ok_past_stale_lock(repo: &Path, make: impl Fn() -> Cmd, what: &str) -> Result<Output> {
    match make().run_ok() {
        Ok(output) => Ok(output),
        Err(ProcessError::Failed { output, argv }) if !wait_out_lock(repo, &output.stderr) => {
            Err(error(ErrorCode::GitFailed, what, ProcessError::Failed { argv, output }))
        }
        Err(ProcessError::Failed { .. }) => run_ok(make(), what),
        Err(e) => Err(error(ErrorCode::GitFailed, what, e)),
    }
}

/// After git failed with `stderr`: when it failed on a lock file inside `repo`'s git dir
/// (`Unable to create '….lock': File exists`), wait for the lock to go (a live git finishes);
/// one that stays past [`STALE_LOCK_AGE`] is stale — git never removes those itself, and every
/// later command would fail on it — so it is removed. True when the command is worth running
/// again. Locks anywhere else, symlinks, and locks that stay young are left alone.
fn wait_out_lock(repo: &Path, stderr: &[u8]) -> bool {
    let stderr = String::from_utf8_lossy(stderr);
    let lock = stderr
        .split("Unable to create '")
        .nth(1)
        .and_then(|rest| rest.split_once("': File exists"))
        .map(|(path, _)| PathBuf::from(path))
        .filter(|path| path.extension().is_some_and(|e| e == "lock"));
    let Some(lock) = lock.filter(|l| common_dir(repo).is_ok_and(|common| l.starts_with(common))) else {
        return false;
    };
    let deadline = std::time::Instant::now() + STALE_LOCK_AGE + Duration::from_secs(1);
    while let Ok(meta) = lock.symlink_metadata() {
        let age = meta.modified().ok().and_then(|m| m.elapsed().ok()).unwrap_or_default();
        if meta.is_file() && age >= STALE_LOCK_AGE {
            return std::fs::remove_file(&lock).is_ok();
        }
        if !meta.is_file() || std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    true
}

/// `git fetch origin` (network timeout).
pub fn fetch(dir: &(impl Location + ?Sized), remote: &str) -> Result<()> {
    run_ok(dir.git().args(["fetch", "--quiet", remote]).timeout(NETWORK_TIMEOUT), "git fetch").map(|_| ())
}

/// `git push -u <remote> <branch>` (optionally `--force-with-lease`).
pub fn push(dir: &(impl Location + ?Sized), remote: &str, branch: &str, force_with_lease: bool) -> Result<()> {
    let mut cmd = dir.git().args(["push", "--quiet", "-u"]);
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
pub fn count(dir: &(impl Location + ?Sized), range: &str) -> Result<u64> {
    let out = run_ok(dir.git().args(["rev-list", "--count", range]), "count commits")?;
    Ok(trimmed(&out).parse().unwrap_or(0))
}

/// `- <short sha> <subject>` lines for `range`, oldest first.
pub fn log_lines(dir: &(impl Location + ?Sized), range: &str) -> Result<Vec<String>> {
    let out = run_ok(dir.git().args(["log", "--reverse", "--format=- %h %s", range]), "git log")?;
    Ok(out.stdout_str().lines().map(str::to_string).collect())
}

/// `git diff --stat` of `range` (no external diff drivers, no textconv).
pub fn diff_stat(dir: &(impl Location + ?Sized), range: &str) -> Result<String> {
    Ok(run_ok(dir.git().args(["diff", "--no-ext-diff", "--no-textconv", "--stat=100", range]), "git diff --stat")?
        .stdout_str())
}

/// The tree of the working directory as it is (tracked changes and untracked, non-ignored
/// files, plus the ignored `extra` paths given), computed in a scratch index so the real one
/// is untouched.
pub fn worktree_tree(dir: &(impl Location + ?Sized), scratch_index: &Path, extra: &[PathBuf]) -> Result<String> {
    // The scratch index is the caller's alone (it holds the run lock): a lock file left by a
    // git killed with an earlier agency is stale.
    let _ = std::fs::remove_file(scratch_index);
    let mut lock = scratch_index.as_os_str().to_owned();
    lock.push(".lock");
    let _ = std::fs::remove_file(lock);
    let with_index = |cmd: Cmd| cmd.env("GIT_INDEX_FILE", scratch_index);
    if has_commits(dir)? {
        run_ok(with_index(dir.git().args(["read-tree", "HEAD"])), "read HEAD into a scratch index")?;
    }
    run_ok(with_index(dir.git().args(["add", "-A", "."])), "stage the worktree in a scratch index")?;
    if !extra.is_empty() {
        use std::os::unix::ffi::OsStrExt;
        let mut list = Vec::new();
        for path in extra {
            list.extend_from_slice(path.as_os_str().as_bytes());
            list.push(0);
        }
        run_ok(
            with_index(
                dir.git().args(["add", "-f", "--pathspec-from-file=-", "--pathspec-file-nul"]).stdin_bytes(list),
            ),
            "stage ignored files in a scratch index",
        )?;
    }
    let out = run_ok(with_index(dir.git().arg("write-tree")), "write the worktree tree")?;
    let _ = std::fs::remove_file(scratch_index);
    Ok(trimmed(&out))
}

/// The tree of the worktree's index as it is (what is staged), written from a private copy
/// at `scratch`: `git write-tree` takes the index lock, and a lock held by a git process that
/// a killed agency left running must neither stop a save nor make it drop the staged/unstaged
/// split. `None` when there is no index, or while it has unmerged entries (a stopped merge or
/// rebase, whose heads are saved instead); any other failure is an error.
pub fn index_tree(dir: &Worktree, scratch: &Path) -> Result<Option<String>> {
    use std::os::unix::fs::OpenOptionsExt;
    let index = dir.git_dir.join("index");
    let copy_error = |e: std::io::Error| {
        AgencyError::io(ErrorCode::GitFailed, "cannot copy the worktree's index to save it", &index, e)
    };
    // Never follow a symlink planted in the git dir, never block on a FIFO.
    let opened = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(&index);
    let mut source = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(copy_error(e)),
    };
    if !source.metadata().map_err(copy_error)?.is_file() {
        return Err(copy_error(std::io::Error::other("not a regular file")));
    }
    let _ = std::fs::remove_file(scratch);
    let copied = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(scratch)
        .and_then(|mut target| std::io::copy(&mut source, &mut target));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(scratch);
        return Err(copy_error(e));
    }
    let with_copy = |cmd: Cmd| cmd.env("GIT_INDEX_FILE", scratch);
    let result = (|| {
        if let Some(tree) = query(with_copy(dir.git().arg("write-tree")), "write the index tree")? {
            return Ok(Some(tree));
        }
        let unmerged = run_ok(with_copy(dir.git().args(["ls-files", "--unmerged"])), "list unmerged entries")?;
        if !unmerged.stdout.is_empty() {
            return Ok(None);
        }
        // Not a conflict: once more, to fail with git's own message.
        run_ok(with_copy(dir.git().arg("write-tree")), "write the index tree").map(|out| Some(trimmed(&out)))
    })();
    let _ = std::fs::remove_file(scratch);
    result
}

/// A commit with `tree` on top of `parents` (no ref is moved).
pub fn commit_tree(dir: &(impl Location + ?Sized), tree: &str, parents: &[String], message: &str) -> Result<String> {
    let mut cmd = dir.git().args(["commit-tree", tree]);
    for parent in parents {
        cmd = cmd.args(["-p", parent]);
    }
    let out = run_ok(cmd.args(["-m", message]), "create a commit")?;
    Ok(trimmed(&out))
}

/// Create ref `name` at `target` only if it does not exist yet, with a reflog. Archive refs
/// are made this way and never moved. `Ok(false)` when the ref already exists.
pub fn create_ref(repo: &Path, name: &str, target: &str, message: &str) -> Result<bool> {
    let create = || repo.git().args(["update-ref", "--create-reflog", "-m", message, name, target, ""]).run();
    let mut out = create().map_err(|e| error(ErrorCode::GitFailed, "create ref", e))?;
    if !out.success() && !ref_exists(repo, name)? && wait_out_lock(repo, &out.stderr) {
        out = create().map_err(|e| error(ErrorCode::GitFailed, "create ref", e))?;
    }
    if out.success() {
        return Ok(true);
    }
    if ref_exists(repo, name)? {
        return Ok(false);
    }
    Err(AgencyError::new(ErrorCode::GitFailed, format!("create ref {name}: {}", out.stderr_tail(3))))
}

/// Whether `commit` is reachable from any remote-tracking branch.
pub fn on_a_remote(dir: &(impl Location + ?Sized), commit: &str) -> Result<bool> {
    let out = run_ok(dir.git().args(["rev-list", "--count", commit, "--not", "--remotes"]), "count unpushed commits")?;
    Ok(trimmed(&out) == "0")
}

/// Whether `ancestor` is reachable from `commit`.
pub fn is_ancestor(dir: &(impl Location + ?Sized), ancestor: &str, commit: &str) -> Result<bool> {
    let out = dir
        .git()
        .args(["merge-base", "--is-ancestor", ancestor, commit])
        .run()
        .map_err(|e| error(ErrorCode::GitFailed, "merge-base", e))?;
    Ok(out.success())
}

/// Whether the changes of `branch` are already in `target`: an ancestor (merge commit or
/// fast-forward), every commit applied with the same patch (rebase merge), or the whole branch
/// applied as one patch (squash merge).
pub fn is_merged_into(dir: &(impl Location + ?Sized), branch: &str, target: &str) -> Result<bool> {
    if is_ancestor(dir, branch, target)? {
        return Ok(true);
    }
    let Some(base) = query(dir.git().args(["merge-base", target, branch]), "merge-base")? else { return Ok(false) };
    let all_applied = |upstream: &str, head: &str| -> Result<bool> {
        let out = run_ok(dir.git().args(["cherry", upstream, head]), "git cherry")?;
        let text = out.stdout_str();
        Ok(!text.trim().is_empty() && text.lines().all(|l| l.starts_with('-')))
    };
    if all_applied(target, branch)? {
        return Ok(true);
    }
    let tree = trimmed(&run_ok(dir.git().args(["rev-parse", &format!("{branch}^{{tree}}")]), "resolve tree")?);
    let squashed = commit_tree(dir, &tree, &[base], "agency: squash probe")?;
    all_applied(target, &squashed)
}

/// `git worktree add <path> <branch>` for restoring (finishes even if agency is killed).
pub fn worktree_add_existing(repo: &Path, path: &Path, branch: &str) -> Result<()> {
    let cmd = repo.git().args(["worktree", "add"]).arg(path).arg(branch).timeout(WORKTREE_TIMEOUT);
    run_ok(cmd.outlive_agency(), "git worktree add").map(|_| ())
}

/// Detach HEAD at `commit` in a worktree (restoring a HEAD that was not on the run branch).
impl Worktree {
    /// Remove an `index.lock` a git killed together with an earlier agency left behind. Only
    /// for a worktree no agent and no other command can be using (a restore under the run lock).
    pub fn clear_stale_index_lock(&self) -> std::io::Result<bool> {
        match std::fs::remove_file(self.git_dir.join("index.lock")) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The worktree's changes against `base` (committed and not), as a patch; at most `limit`
/// bytes (the rest cut with a note). Untracked files are not in it.
pub fn diff_against(dir: &Worktree, base: &str, limit: u64) -> Result<String> {
    let out = run_ok(dir.git().args(["diff", "--no-color", "--no-ext-diff", base]), "diff the worktree")?;
    let mut text = out.stdout_str();
    if text.len() as u64 > limit {
        let mut cut = limit as usize;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n… (diff cut at the dashboard's limit; git diff in the worktree has the rest)\n");
    }
    Ok(text)
}

pub fn checkout_detached(dir: &Worktree, commit: &str) -> Result<()> {
    run_ok(dir.git().args(["checkout", "-q", "--detach", commit]), "check out the saved HEAD").map(|_| ())
}

/// Create `branch` at `start` without checking it out.
pub fn create_branch(repo: &Path, branch: &str, start: &str) -> Result<()> {
    run_ok_past_stale_lock(repo, || repo.git().args(["branch", branch, start]), "create branch").map(|_| ())
}

/// Make the working files equal to `files_tree` and the index equal to `index_tree` (or to
/// HEAD): brings saved uncommitted work back with its staged/unstaged split.
pub fn restore_files(dir: &Worktree, files_tree: &str, index_tree: Option<&str>) -> Result<()> {
    run_ok(dir.git().args(["read-tree", "--reset", "-u", files_tree]), "restore saved files")?;
    match index_tree {
        Some(tree) => run_ok(dir.git().args(["read-tree", tree]), "restore the saved index").map(|_| ()),
        None => run_ok(dir.git().args(["reset", "-q"]), "unstage restored files").map(|_| ()),
    }
}

/// Paths git ignores in the worktree, whole ignored directories collapsed to `dir/`.
pub fn ignored_paths(dir: &Worktree) -> Result<Vec<PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let out = run_ok(
        dir.git().args(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"]),
        "list ignored files",
    )?;
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p.strip_suffix(b"/").unwrap_or(p))))
        .collect())
}

/// Remove `key` from one config file (and nothing else: no repository is opened).
pub fn unset_config_in_file(file: &Path, key: &str) -> Result<()> {
    run_ok(base().args(["config", "--file"]).arg(file).args(["--unset", key]), "edit a git config file").map(|_| ())
}

/// `git --version`, for doctor.
pub fn version() -> Result<String> {
    let out =
        Cmd::new(program()).arg("--version").run_ok().map_err(|e| error(ErrorCode::GitFailed, "git --version", e))?;
    Ok(trimmed(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_worktree_list_with_odd_paths() {
        let bytes = b"worktree /r\nline\0HEAD abc\0branch refs/heads/main\0\0worktree /w\0HEAD def\0branch refs/heads/agency/x-1a2b\0locked initializing\0prunable gitdir file points to non-existent location\0\0";
        let list = parse_worktree_list(bytes);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].path, PathBuf::from("/r\nline"));
        assert_eq!(list[1].branch.as_deref(), Some("agency/x-1a2b"));
        assert_eq!(list[1].locked.as_deref(), Some("initializing"));
        assert!(list[1].prunable && !list[0].prunable);
    }

    #[test]
    fn a_replaced_dot_git_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let common = dir.path().join("repo/.git");
        let wt = dir.path().join("wt");
        std::fs::create_dir_all(common.join("worktrees/wt")).unwrap();
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(common.join("worktrees/wt/gitdir"), format!("{}\n", wt.join(".git").display())).unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", common.join("worktrees/wt").display())).unwrap();
        assert!(Worktree::verify(&wt, &common).is_ok());
        let evil = dir.path().join("evil/.git");
        std::fs::create_dir_all(evil.join("worktrees/wt")).unwrap();
        std::fs::write(evil.join("worktrees/wt/gitdir"), format!("{}\n", wt.join(".git").display())).unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", evil.join("worktrees/wt").display())).unwrap();
        assert_eq!(Worktree::verify(&wt, &common).unwrap_err().code, ErrorCode::WorktreeUntrusted);
        std::fs::remove_file(wt.join(".git")).unwrap();
        std::fs::create_dir(wt.join(".git")).unwrap();
        assert_eq!(Worktree::verify(&wt, &common).unwrap_err().code, ErrorCode::WorktreeUntrusted);
        assert_eq!(Worktree::registered_git_dir(&wt, &common), Some(common.join("worktrees/wt")));
        let (relinked, aside) = Worktree::relink(&wt, &common).unwrap();
        assert_eq!(relinked.git_dir, common.join("worktrees/wt").canonicalize().unwrap());
        assert!(aside.is_dir(), "the planted .git is kept aside");
        std::fs::remove_file(wt.join(".git")).unwrap();
        std::os::unix::fs::symlink(common.join("worktrees/wt"), wt.join(".git")).unwrap();
        assert_eq!(Worktree::verify(&wt, &common).unwrap_err().code, ErrorCode::WorktreeUntrusted);
    }
}
