//! Step 6 of `agency run`: the `.agency/` scaffold inside the new worktree — `out/`, `tmp/`,
//! `state/`, the `report.md` template (never overwritten), the runner-status template and the
//! runner protocol the agent reads. `.agency/` is also added to the repository's
//! `info/exclude` so the scaffold never shows up as a change, with or without `.gitignore`.

use std::path::Path;

use crate::error::{AgencyError, ErrorCode, Result};

/// The runner protocol: how an agent reports status (also written by `agency init`).
pub const RUNNER_PROTOCOL: &str = include_str!("../../assets/runner-protocol.md");

pub use crate::store::worktree::STATUS_TEMPLATE_SUMMARY;

pub fn report_template(title: &str) -> String {
    format!(
        "# {title}\n\n## Summary\n\n<!-- What changed and why. agency uses this file as the pull request body once it is filled in. -->\n\n## How to test\n\n<!-- Commands a reviewer can run. -->\n"
    )
}

/// Create the scaffold in `worktree`. Existing files are kept.
pub fn scaffold(worktree: &Path, git_common_dir: &Path, title: &str, created_at: &str) -> Result<()> {
    let base = worktree.join(".agency");
    for sub in ["out", "tmp", "state"] {
        let dir = base.join(sub);
        std::fs::create_dir_all(&dir).map_err(|e| err("cannot create", &dir, e))?;
    }
    write_new(&base.join("report.md"), &report_template(title))?;
    write_new(&base.join("PROTOCOL.md"), RUNNER_PROTOCOL)?;
    let status = serde_json::json!({
        "schema_version": "1.0",
        "status": "working",
        "updated_at": created_at,
        "summary": STATUS_TEMPLATE_SUMMARY,
    });
    write_new(&base.join("state").join("runner_status.json"), &format!("{status:#}\n"))?;
    exclude_scaffold(git_common_dir)
}

fn write_new(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut file) => file.write_all(content.as_bytes()).map_err(|e| err("cannot write", path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err("cannot create", path, e)),
    }
}

/// Add `/.agency/` to `<common git dir>/info/exclude` once.
fn exclude_scaffold(git_common_dir: &Path) -> Result<()> {
    let info = git_common_dir.join("info");
    let exclude = info.join("exclude");
    let current = std::fs::read_to_string(&exclude).unwrap_or_default();
    if current.lines().any(|l| matches!(l.trim(), ".agency/" | "/.agency/" | ".agency")) {
        return Ok(());
    }
    std::fs::create_dir_all(&info).map_err(|e| err("cannot create", &info, e))?;
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# agency run scaffold\n.agency/\n");
    crate::store::atomic::write_atomic_mode(&exclude, text.as_bytes(), 0o644)
        .map_err(|e| err("cannot write", &exclude, e))
}

fn err(what: &str, path: &Path, e: std::io::Error) -> AgencyError {
    AgencyError::io(ErrorCode::StoreWriteFailed, &format!("{what} the worktree scaffold"), path, e)
}
