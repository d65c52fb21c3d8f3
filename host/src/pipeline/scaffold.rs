//! Step 6 of `agency run`: the `.agency/` scaffold inside the new worktree — `out/`, `tmp/`,
//! `state/`, the `report.md` template (never overwritten), the runner-status template and the
//! runner protocol the agent reads. Written through a directory handle, so a `.agency` the
//! worktree already holds as a symlink (a restored or hostile tree) cannot send the writes
//! elsewhere. `.agency/` is also added to the repository's `info/exclude` so the scaffold
//! never shows up as a change, with or without `.gitignore`.

use std::path::Path;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::store::confined::Confined;
use crate::store::worktree::WorktreePaths;

pub use crate::store::worktree::STATUS_TEMPLATE_SUMMARY;

/// The runner protocol: how an agent reports status (also written by `agency init`).
pub const RUNNER_PROTOCOL: &str = include_str!("../../assets/runner-protocol.md");

pub fn report_template(title: &str) -> String {
    format!(
        "# {title}\n\n## Summary\n\n<!-- What changed and why. agency uses this file as the pull request body once it is filled in. -->\n\n## How to test\n\n<!-- Commands a reviewer can run. -->\n"
    )
}

/// Create the scaffold in `worktree`. Existing files are kept.
pub fn scaffold(worktree: &Path, git_common_dir: &Path, title: &str, created_at: &str) -> Result<()> {
    let dir = Confined::open(worktree).map_err(|e| err("cannot open", worktree, e))?;
    for sub in [WorktreePaths::OUT, WorktreePaths::TMP, WorktreePaths::STATE] {
        dir.create_dir_all(sub).map_err(|e| err("cannot create", &worktree.join(sub), e))?;
    }
    let status = serde_json::json!({
        "schema_version": "1.0",
        "status": "working",
        "updated_at": created_at,
        "summary": STATUS_TEMPLATE_SUMMARY,
    });
    let files = [
        (WorktreePaths::REPORT, report_template(title)),
        (WorktreePaths::PROTOCOL, RUNNER_PROTOCOL.to_string()),
        (WorktreePaths::STATUS_FILE, format!("{status:#}\n")),
    ];
    for (relative, content) in files {
        dir.write_new(relative, content.as_bytes(), 0o644)
            .map_err(|e| err("cannot write", &worktree.join(relative), e))?;
    }
    exclude_scaffold(git_common_dir)
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
