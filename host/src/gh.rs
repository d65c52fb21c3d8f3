//! Typed `gh` (GitHub CLI) calls through `process::Cmd`. Every call names the repository
//! explicitly (`-R owner/name`), never prompts (`GH_PROMPT_DISABLED=1`) and has a timeout.
//! Tests put a fake `gh` on `PATH`; nothing here knows.

use std::time::Duration;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::process::{Cmd, ProcessError};

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

pub fn version() -> Result<String> {
    let out = gh().arg("--version").run_ok().map_err(|e| error("gh --version", e))?;
    Ok(out.stdout_str().lines().next().unwrap_or_default().trim().to_string())
}

/// Whether `gh auth status` succeeds (for github.com).
pub fn authenticated() -> Result<bool> {
    match gh().args(["auth", "status", "--hostname", "github.com"]).run() {
        Ok(out) => Ok(out.success()),
        Err(e) => Err(error("gh auth status", e)),
    }
}
