//! The one error type of agency: a stable code (`E_…`), a one-line message, a hint with the
//! fixing command (the code's default unless the failure knows a more exact one), and optional
//! `key: value` details. Every failure a user can see is an [`AgencyError`]; `cli.rs` is the
//! only place that prints one. The code list is a public contract, documented in
//! `docs/errors.md` (a test keeps the two identical).

use std::fmt;

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $code:literal => $hint:literal, )+) => {
        /// Stable, documented error codes. Additive only: never rename or reuse one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $(#[doc = $doc])+ $variant, )+ }

        impl ErrorCode {
            /// Every code, in documentation order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The `E_…` string printed on the `error_code:` line.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// One-line description used by `docs/errors.md`.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => concat!($($doc),+).trim_ascii(),)+ }
            }

            /// The hint printed when the error itself carries no more specific one.
            pub fn default_hint(self) -> &'static str {
                match self { $(ErrorCode::$variant => $hint,)+ }
            }
        }
    };
}

error_codes! {
    /// Command-line usage error (unknown flag, missing argument). Exit status 2.
    Usage = "E_USAGE" => "agency --help   # or agency <command> --help",
    /// The current directory is not inside a git repository.
    NoRepo = "E_NO_REPO" => "cd into the repository you want an agent to work on, then run again",
    /// The repository has no commits yet, so there is nothing to branch from.
    EmptyRepo = "E_EMPTY_REPO" => "git commit --allow-empty -m \"Initial commit\"   # then run again",
    /// The command was started inside an agency worktree or the data dir; run it from the main checkout.
    InsideWorktree = "E_INSIDE_WORKTREE"
        => "cd \"$(git rev-parse --path-format=absolute --git-common-dir)/..\"   # the main checkout",
    /// The parent checkout has uncommitted or untracked changes.
    ParentDirty = "E_PARENT_DIRTY" => "git stash -u   # or commit the changes, then run again",
    /// The parent branch (`--parent` or the current branch) does not exist locally.
    ParentBranchNotFound = "E_PARENT_BRANCH_NOT_FOUND"
        => "git branch --list   # then pass an existing branch with --parent",
    /// HEAD is detached and no `--parent` was given.
    DetachedHead = "E_DETACHED_HEAD" => "git switch <branch>   # or pass --parent <branch>",
    /// A run name is not valid (1–40 of `a-z 0-9 -`, starting and ending with a letter or digit).
    InvalidName = "E_INVALID_NAME" => "pick a name like fix-login (a-z, 0-9 and -, at most 40)",
    /// Another live run of this repository already has that name.
    NameExists = "E_NAME_EXISTS"
        => "agency ls   # pick another --name, or archive the other run with agency clean <name>",
    /// `agency.json` is missing at the repository root.
    NoAgencyJson = "E_NO_AGENCY_JSON" => "agency init   # then commit agency.json and run again",
    /// `agency.json` cannot be parsed or fails validation; the message names the field.
    InvalidAgencyJson = "E_INVALID_AGENCY_JSON" => "fix agency.json (see docs/config.md), then: agency doctor",
    /// The user config (`config.json` in the config dir) cannot be parsed or fails validation.
    InvalidUserConfig = "E_INVALID_USER_CONFIG"
        => "fix config.json in the config dir (see docs/config.md), then: agency doctor",
    /// A data, config or cache directory cannot be created or written.
    DirNotWritable = "E_DIR_NOT_WRITABLE" => "check the directory's permissions and free space, then: agency doctor",
    /// The run directory already exists (run id collision or stale state); it is never reused.
    RunDirExists = "E_RUN_DIR_EXISTS"
        => "run again (a fresh run id is drawn); agency repair --dry-run shows stale state",
    /// The run directory could not be created.
    RunDirCreateFailed = "E_RUN_DIR_CREATE_FAILED"
        => "check free space and permissions of the data dir, then: agency doctor",
    /// `meta.json` could not be written atomically.
    MetaWriteFailed = "E_META_WRITE_FAILED" => "check free space and permissions of the data dir, then: agency repair",
    /// A record other than `meta.json` (events, repo records, verify record) could not be written.
    StoreWriteFailed = "E_STORE_WRITE_FAILED"
        => "check free space and permissions of the data dir, then: agency doctor",
    /// The per-repository lock stayed held by another process for longer than the wait bound.
    RepoLocked = "E_REPO_LOCKED"
        => "wait for the other agency command to finish (the message names it), then run again",
    /// `git worktree add` failed; the message carries the git command and its stderr.
    WorktreeCreateFailed = "E_WORKTREE_CREATE_FAILED"
        => "git worktree prune   # then run again; agency doctor checks the rest",
    /// A git command failed; the message carries the command and its stderr.
    GitFailed = "E_GIT_FAILED" => "run the git command from the message yourself to see why it fails",
    /// A required program (git, tmux, gh) is not installed or not on `PATH`.
    ToolNotFound = "E_TOOL_NOT_FOUND" => "agency doctor   # lists what is missing and how to install it",
    /// A subprocess exceeded its time limit and was killed.
    CommandTimeout = "E_COMMAND_TIMEOUT" => "run the command from the message yourself to see why it hangs",
    /// No run matches the reference.
    RunNotFound = "E_RUN_NOT_FOUND" => "agency ls --all   # lists run names and ids",
    /// A run-id prefix matches more than one run; the message lists the candidates.
    RunIdAmbiguous = "E_RUN_ID_AMBIGUOUS" => "use more characters of the run id, or the run name",
    /// The run's `meta.json` is missing or unreadable.
    RunBroken = "E_RUN_BROKEN" => "agency repair --dry-run   # shows what can be rebuilt from git and tmux",
    /// The run is archived; its worktree and session are gone.
    RunArchived = "E_RUN_ARCHIVED" => "agency restore <ref>   # brings the worktree back from the saved ref",
    /// The run has no live tmux session.
    SessionNotFound = "E_SESSION_NOT_FOUND" => "agency resume <ref>   # starts a new session in the run's worktree",
    /// A tmux command failed or the session did not start.
    TmuxFailed = "E_TMUX_FAILED" => "tmux -V && agency doctor   # checks tmux and the sessions agency expects",
    /// A setup, verify or archive step reported failure.
    ScriptFailed = "E_SCRIPT_FAILED" => "agency logs <ref> <setup|verify|archive>   # the step's output",
    /// A setup, verify or archive step exceeded its timeout.
    ScriptTimeout = "E_SCRIPT_TIMEOUT"
        => "raise the step's timeout in agency.json, or agency logs <ref> <step> to see where it hangs",
    /// The configured runner is unknown or its program is not on `PATH`.
    RunnerNotFound = "E_RUNNER_NOT_FOUND"
        => "agency doctor   # lists the runners and whether their programs are on PATH",
    /// A confirmation or prompt is needed but stdin is not a terminal (pass `--yes` where offered).
    NotInteractive = "E_NOT_INTERACTIVE" => "run it on a terminal, or pass --yes where the command offers it",
    /// The user declined a confirmation.
    Aborted = "E_ABORTED" => "nothing was changed; run the command again to proceed",
    /// No plugin with that id is built in or installed.
    PluginNotFound = "E_PLUGIN_NOT_FOUND" => "agency plugin list   # add one with agency plugin add <file.wasm>",
    /// The file is not a WebAssembly component, or it does not export an agency plugin world.
    PluginInvalid = "E_PLUGIN_INVALID" => "agency plugin test <file.wasm>   # the conformance kit says what is wrong",
    /// The plugin was built against an agency plugin API version this host does not support.
    PluginApiUnsupported = "E_PLUGIN_API_UNSUPPORTED"
        => "rebuild the plugin against a supported API (agency plugin inspect shows it)",
    /// The plugin imports an interface the host does not provide (for example `wasi:http`).
    PluginImportUnsupported = "E_PLUGIN_IMPORT_UNSUPPORTED"
        => "rebuild the plugin without that interface (plugins get WASI 0.2 without http)",
    /// The plugin trapped (panicked); the message includes its captured stderr.
    PluginTrap = "E_PLUGIN_TRAP"
        => "agency logs <ref> plugin   # the plugin's captured output; report it to its author",
    /// The plugin exceeded its time limit for one call.
    PluginTimeout = "E_PLUGIN_TIMEOUT" => "agency logs <ref> plugin   # then report the hang to the plugin's author",
    /// The plugin exceeded its memory limit.
    PluginMemory = "E_PLUGIN_MEMORY"
        => "agency logs <ref> plugin   # then report the memory use to the plugin's author",
    /// The plugin asked for something it was not granted; the message names the capability.
    PluginDenied = "E_PLUGIN_DENIED" => "agency plugin inspect <id>   # what it declares and what is granted",
    /// The plugin's capabilities have not been granted for this sha256 yet.
    PluginNotTrusted = "E_PLUGIN_NOT_TRUSTED" => "agency plugin trust <id>   # after reading what it asks for",
    /// A pinned plugin file's sha256 does not match the pin in `agency.json`.
    PluginHashMismatch = "E_PLUGIN_HASH_MISMATCH" => "update the sha256 pin in agency.json if the new file is intended",
    /// The plugin returned an error or an invalid result.
    PluginFailed = "E_PLUGIN_FAILED" => "agency logs <ref> plugin   # the plugin's output",
    /// The worktree has uncommitted changes; the message lists the files.
    DirtyWorktree = "E_DIRTY_WORKTREE"
        => "commit or stash in the worktree (cd \"$(agency path <ref>)\"), or pass --allow-dirty",
    /// The run's branch has no commits beyond its parent.
    EmptyDiff = "E_EMPTY_DIFF" => "commit the agent's work in the worktree first (cd \"$(agency path <ref>)\")",
    /// The repository has no `origin` remote.
    NoOrigin = "E_NO_ORIGIN" => "git remote add origin git@github.com:<owner>/<repo>.git",
    /// `origin` is not a github.com repository.
    UnsupportedOriginHost = "E_UNSUPPORTED_ORIGIN_HOST"
        => "push and open the pull request by hand; agency supports github.com origins",
    /// `gh` is not authenticated (`gh auth status` fails).
    GhNotAuthenticated = "E_GH_NOT_AUTHENTICATED" => "gh auth login",
    /// A `gh` command failed; the message carries the command and its stderr.
    GhFailed = "E_GH_FAILED" => "run the gh command from the message yourself to see why it fails",
    /// The run has no pull request yet.
    NoPr = "E_NO_PR" => "agency push <ref>   # pushes the branch and opens the pull request",
    /// The pull request is not open or not mergeable.
    PrNotMergeable = "E_PR_NOT_MERGEABLE"
        => "gh pr view <number> --web   # resolve conflicts or checks, then merge again",
    /// Verification failed and the user chose not to continue.
    VerifyFailed = "E_VERIFY_FAILED" => "agency logs <ref> verify   # fix, then verify again; or merge with --force",
    /// The run is not archived, so there is nothing to restore.
    NotArchived = "E_NOT_ARCHIVED" => "agency ls   # the run is live; nothing to restore",
    /// Archiving could not save the run's work, so nothing was removed.
    ArchiveFailed = "E_ARCHIVE_FAILED" => "nothing was removed; agency logs <ref> archive shows why saving failed",
    /// A worktree's `.git` does not point at the run's own repository (it was replaced or the
    /// repository moved); agency runs no git in it.
    WorktreeUntrusted = "E_WORKTREE_UNTRUSTED"
        => "agency repair --dry-run   # shows how to relink or archive the run",
    /// Cleaning would delete files that cannot be saved (too large, or not readable); the
    /// message lists them.
    UnsavedWork = "E_UNSAVED_WORK"
        => "move the listed files out of the worktree, or pass --force to delete them unsaved",
    /// Another agency command is working on the same run right now.
    RunBusy = "E_RUN_BUSY" => "wait for the other command (the message names it), then run again",
    /// An environment variable agency reads has a value it cannot use.
    InvalidEnv = "E_INVALID_ENV" => "fix or unset the variable named in the message, then run again",
    /// An unexpected internal failure (a bug); the message says where.
    Internal = "E_INTERNAL" => "this is a bug in agency; please report it with the command you ran",
}

impl ErrorCode {
    /// Process exit status for this code: 2 for usage errors, 1 for everything else.
    pub fn exit_status(self) -> u8 {
        if self == ErrorCode::Usage { 2 } else { 1 }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user-facing failure. Build with [`AgencyError::new`] and the `with_*` methods where the
/// failure is detected, so the hint names the exact fixing command.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AgencyError {
    pub code: ErrorCode,
    pub message: String,
    pub hint: Option<String>,
    pub details: Vec<(String, String)>,
}

pub type Result<T, E = AgencyError> = std::result::Result<T, E>;

impl AgencyError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AgencyError { code, message: message.into(), hint: None, details: Vec::new() }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_detail(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.details.push((key.into(), value.to_string()));
        self
    }

    /// An I/O failure on `path`, reported under `code`.
    pub fn io(code: ErrorCode, what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        AgencyError::new(code, format!("{what}: {err}")).with_detail("path", path.display())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        AgencyError::new(ErrorCode::Internal, message)
    }

    /// The hint to print: this error's own, else its code's default.
    pub fn hint_or_default(&self) -> &str {
        self.hint.as_deref().unwrap_or(self.code.default_hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(s.starts_with("E_") && s[2..].chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{s}");
            assert!(seen.insert(s), "duplicate {s}");
            assert!(!code.description().is_empty());
            assert!(!code.default_hint().is_empty(), "{s} needs a default hint");
        }
    }

    #[test]
    fn only_usage_exits_with_two() {
        assert_eq!(ErrorCode::Usage.exit_status(), 2);
        assert_eq!(ErrorCode::ParentDirty.exit_status(), 1);
    }
}
