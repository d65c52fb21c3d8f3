//! Shared renderings of a run for `ls` and `show`: the versioned JSON object (schema
//! `1.0`, documented in docs/records.md) and the human status cell.

use serde_json::{Value, json};

use crate::cli::output::{Output, Style};
use crate::query::RunView;

pub const JSON_SCHEMA_VERSION: &str = "1.0";

/// The JSON object describing one run in `ls --json` and `show --json`.
pub fn run_json(view: &RunView) -> Value {
    let entry = &view.entry;
    match &entry.meta {
        Ok(meta) => json!({
            "run_id": meta.run_id,
            "repo_id": meta.repo_id,
            "name": meta.name,
            "title": meta.display_title(),
            "runner": meta.runner,
            "branch": meta.branch,
            "parent_branch": meta.parent_branch,
            "worktree_path": meta.worktree_path,
            "run_dir": entry.paths.dir,
            "created_at": meta.created_at,
            "tmux_session_name": meta.tmux_session_name,
            "pr_url": meta.pr_url,
            "archived": meta.is_archived(),
            "status": view.status,
            "broken": Value::Null,
        }),
        Err(broken) => json!({
            "run_id": entry.run_id,
            "repo_id": entry.repo_id,
            "run_dir": entry.paths.dir,
            "status": Value::Null,
            "broken": { "reason": broken.to_string(), "fix": "agency repair --dry-run" },
        }),
    }
}

/// The status cell: label, coloured by how much it needs the user.
pub fn status_cell(out: &Output, view: &RunView) -> String {
    match &view.status {
        None => out.paint("broken", Style::Red),
        Some(status) => {
            let style = match status.label.as_str() {
                l if l.starts_with("failed") || l == "worktree missing" || l == "session gone" => Style::Red,
                "needs input" | "blocked" | "stalled" | "agent exited" | "created, not started" => Style::Yellow,
                "ready for review" | "done" => Style::Cyan,
                "merged" | "archived" | "abandoned" => Style::Dim,
                _ => Style::Green,
            };
            out.paint(&status.label, style)
        }
    }
}

/// The one-line reason shown next to the status.
pub fn reason(view: &RunView) -> String {
    match (&view.status, &view.entry.meta) {
        (Some(status), _) => status.reason.clone(),
        (None, Err(broken)) => format!("{broken}; fix: agency repair --dry-run"),
        (None, Ok(_)) => String::new(),
    }
}

/// `outcome=open presence=worktree_present runtime=session_alive activity=working`
pub fn status_parts(status: &crate::status::Status) -> String {
    let word = |v: serde_json::Value| v.as_str().unwrap_or("-").to_string();
    let activity = status.activity.map(|a| word(json!(a))).unwrap_or_else(|| "-".into());
    format!(
        "outcome={} presence={} runtime={} activity={activity}",
        word(json!(status.outcome)),
        word(json!(status.presence)),
        word(json!(status.runtime))
    )
}

/// One line about the plugin that performed a step: `script 0.1.0 (built-in, sha256 1a2b3c…)`.
pub fn provenance_line(value: &Value) -> String {
    let field = |k: &str| value.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
    match value {
        Value::Array(items) => items.iter().map(provenance_line).collect::<Vec<_>>().join("; "),
        _ => format!(
            "{} {} ({}, sha256 {})",
            field("id"),
            field("version"),
            field("origin"),
            field("sha256").chars().take(12).collect::<String>()
        ),
    }
}
