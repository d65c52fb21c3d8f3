//! The one error type of agency: a stable code (`E_…`), a one-line message, an optional hint
//! with the fixing command, and optional `key: value` details. Every failure a user can see is
//! an [`AgencyError`]; `cli.rs` is the only place that prints one. The code list is a public
//! contract, documented in `docs/errors.md` (a test keeps the two identical).

use std::fmt;

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $code:literal, )+) => {
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
        }
    };
}

error_codes! {
    /// Command-line usage error (unknown flag, missing argument). Exit status 2.
    Usage = "E_USAGE",
    /// The current directory is not inside a git repository.
    NoRepo = "E_NO_REPO",
    /// The repository has no commits yet, so there is nothing to branch from.
    EmptyRepo = "E_EMPTY_REPO",
    /// The command was started inside an agency worktree or the data dir; run it from the main checkout.
    InsideWorktree = "E_INSIDE_WORKTREE",
    /// The parent checkout has uncommitted or untracked changes.
    ParentDirty = "E_PARENT_DIRTY",
    /// The parent branch (`--parent` or the current branch) does not exist locally.
    ParentBranchNotFound = "E_PARENT_BRANCH_NOT_FOUND",
    /// HEAD is detached and no `--parent` was given.
    DetachedHead = "E_DETACHED_HEAD",
    /// A run name is not valid (1–40 of `a-z 0-9 -`, starting and ending with a letter or digit).
    InvalidName = "E_INVALID_NAME",
    /// Another live run of this repository already has that name.
    NameExists = "E_NAME_EXISTS",
    /// `agency.json` is missing at the repository root.
    NoAgencyJson = "E_NO_AGENCY_JSON",
    /// `agency.json` cannot be parsed or fails validation; the message names the field.
    InvalidAgencyJson = "E_INVALID_AGENCY_JSON",
    /// The user config (`config.json` in the config dir) cannot be parsed or fails validation.
    InvalidUserConfig = "E_INVALID_USER_CONFIG",
    /// A data, config or cache directory cannot be created or written.
    DirNotWritable = "E_DIR_NOT_WRITABLE",
    /// The run directory already exists (run id collision or stale state); it is never reused.
    RunDirExists = "E_RUN_DIR_EXISTS",
    /// The run directory could not be created.
    RunDirCreateFailed = "E_RUN_DIR_CREATE_FAILED",
    /// `meta.json` could not be written atomically.
    MetaWriteFailed = "E_META_WRITE_FAILED",
    /// A record other than `meta.json` (events, repo records, verify record) could not be written.
    StoreWriteFailed = "E_STORE_WRITE_FAILED",
    /// The per-repository lock stayed held by another process for longer than the wait bound.
    RepoLocked = "E_REPO_LOCKED",
    /// `git worktree add` failed; the message carries the git command and its stderr.
    WorktreeCreateFailed = "E_WORKTREE_CREATE_FAILED",
    /// A git command failed; the message carries the command and its stderr.
    GitFailed = "E_GIT_FAILED",
    /// A required program (git, tmux, gh) is not installed or not on `PATH`.
    ToolNotFound = "E_TOOL_NOT_FOUND",
    /// A subprocess exceeded its time limit and was killed.
    CommandTimeout = "E_COMMAND_TIMEOUT",
    /// No run matches the reference.
    RunNotFound = "E_RUN_NOT_FOUND",
    /// A run-id prefix matches more than one run; the message lists the candidates.
    RunIdAmbiguous = "E_RUN_ID_AMBIGUOUS",
    /// The run's `meta.json` is missing or unreadable.
    RunBroken = "E_RUN_BROKEN",
    /// The run is archived; its worktree and session are gone.
    RunArchived = "E_RUN_ARCHIVED",
    /// The run has no live tmux session.
    SessionNotFound = "E_SESSION_NOT_FOUND",
    /// A tmux command failed or the session did not start.
    TmuxFailed = "E_TMUX_FAILED",
    /// A setup, verify or archive step reported failure.
    ScriptFailed = "E_SCRIPT_FAILED",
    /// A setup, verify or archive step exceeded its timeout.
    ScriptTimeout = "E_SCRIPT_TIMEOUT",
    /// The configured runner is unknown or its program is not on `PATH`.
    RunnerNotFound = "E_RUNNER_NOT_FOUND",
    /// A confirmation or prompt is needed but stdin is not a terminal (pass `--yes` where offered).
    NotInteractive = "E_NOT_INTERACTIVE",
    /// The user declined a confirmation.
    Aborted = "E_ABORTED",
    /// No plugin with that id is built in or installed.
    PluginNotFound = "E_PLUGIN_NOT_FOUND",
    /// The file is not a WebAssembly component, or it does not export an agency plugin world.
    PluginInvalid = "E_PLUGIN_INVALID",
    /// The plugin was built against an agency plugin API version this host does not support.
    PluginApiUnsupported = "E_PLUGIN_API_UNSUPPORTED",
    /// The plugin imports an interface the host does not provide (for example `wasi:http`).
    PluginImportUnsupported = "E_PLUGIN_IMPORT_UNSUPPORTED",
    /// The plugin trapped (panicked); the message includes its captured stderr.
    PluginTrap = "E_PLUGIN_TRAP",
    /// The plugin exceeded its time limit for one call.
    PluginTimeout = "E_PLUGIN_TIMEOUT",
    /// The plugin exceeded its memory limit.
    PluginMemory = "E_PLUGIN_MEMORY",
    /// The plugin asked for something it was not granted; the message names the capability.
    PluginDenied = "E_PLUGIN_DENIED",
    /// The plugin's capabilities have not been granted for this sha256 yet.
    PluginNotTrusted = "E_PLUGIN_NOT_TRUSTED",
    /// A pinned plugin file's sha256 does not match the pin in `agency.json`.
    PluginHashMismatch = "E_PLUGIN_HASH_MISMATCH",
    /// The plugin returned an error or an invalid result.
    PluginFailed = "E_PLUGIN_FAILED",
    /// The worktree has uncommitted changes; the message lists the files.
    DirtyWorktree = "E_DIRTY_WORKTREE",
    /// The run's branch has no commits beyond its parent.
    EmptyDiff = "E_EMPTY_DIFF",
    /// The repository has no `origin` remote.
    NoOrigin = "E_NO_ORIGIN",
    /// `origin` is not a github.com repository.
    UnsupportedOriginHost = "E_UNSUPPORTED_ORIGIN_HOST",
    /// `gh` is not authenticated (`gh auth status` fails).
    GhNotAuthenticated = "E_GH_NOT_AUTHENTICATED",
    /// A `gh` command failed; the message carries the command and its stderr.
    GhFailed = "E_GH_FAILED",
    /// The run has no pull request yet.
    NoPr = "E_NO_PR",
    /// The pull request is not open or not mergeable.
    PrNotMergeable = "E_PR_NOT_MERGEABLE",
    /// Verification failed and the user chose not to continue.
    VerifyFailed = "E_VERIFY_FAILED",
    /// The run is not archived, so there is nothing to restore.
    NotArchived = "E_NOT_ARCHIVED",
    /// Archiving could not save the run's work, so nothing was removed.
    ArchiveFailed = "E_ARCHIVE_FAILED",
    /// An unexpected internal failure (a bug); the message says where.
    Internal = "E_INTERNAL",
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
#[derive(Debug)]
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
            .with_hint("this is a bug in agency; please report it with the command you ran")
    }
}

impl fmt::Display for AgencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AgencyError {}

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
        }
    }

    #[test]
    fn only_usage_exits_with_two() {
        assert_eq!(ErrorCode::Usage.exit_status(), 2);
        assert_eq!(ErrorCode::ParentDirty.exit_status(), 1);
    }
}
