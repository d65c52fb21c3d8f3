//! Shared renderings of a run for `ls` and `show`: the versioned JSON object (schema
//! `1.0`, documented in docs/records.md) and the human status cell.

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use crate::cli::output::{Output, Style};
use crate::query::RunView;
use crate::safe_text;
use crate::status::{Status, Tone};

pub const JSON_SCHEMA_VERSION: &str = "1.0";

/// The JSON object describing one run in `ls --json` and `show --json`. Borrowed and typed,
/// so a listing of many runs is written straight to stdout instead of first being built as a
/// tree of values; field order is the documented one.
#[derive(Serialize)]
#[serde(untagged)]
pub enum RunJson<'a> {
    Readable {
        run_id: &'a str,
        repo_id: &'a str,
        name: &'a str,
        title: &'a str,
        runner: &'a str,
        branch: &'a str,
        parent_branch: &'a str,
        worktree_path: &'a str,
        #[serde(serialize_with = "lossy_path")]
        run_dir: &'a Path,
        created_at: &'a str,
        tmux_session_name: Option<&'a str>,
        pr_url: Option<&'a str>,
        archived: bool,
        status: Option<&'a Status>,
        broken: Option<BrokenJson>,
    },
    Broken {
        run_id: &'a str,
        repo_id: &'a str,
        #[serde(serialize_with = "lossy_path")]
        run_dir: &'a Path,
        status: Option<&'a Status>,
        broken: BrokenJson,
    },
}

/// A path as text even when it is not UTF-8 (a listing is written as it is serialised, so a
/// serialisation error would leave half a document on stdout).
fn lossy_path<S: serde::Serializer>(path: &&Path, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_str(&path.display())
}

#[derive(Serialize)]
pub struct BrokenJson {
    reason: String,
    fix: &'static str,
}

pub fn run_json(view: &RunView) -> RunJson<'_> {
    let entry = &view.entry;
    match &entry.meta {
        Ok(meta) => RunJson::Readable {
            run_id: &meta.run_id,
            repo_id: &meta.repo_id,
            name: &meta.name,
            title: meta.display_title(),
            runner: &meta.runner,
            branch: &meta.branch,
            parent_branch: &meta.parent_branch,
            worktree_path: &meta.worktree_path,
            run_dir: &entry.paths.dir,
            created_at: &meta.created_at,
            tmux_session_name: meta.tmux_session_name.as_deref(),
            pr_url: meta.pr_url.as_deref(),
            archived: meta.is_archived(),
            status: view.status.as_ref(),
            broken: None,
        },
        Err(broken) => RunJson::Broken {
            run_id: &entry.run_id,
            repo_id: &entry.repo_id,
            run_dir: &entry.paths.dir,
            status: None,
            broken: BrokenJson { reason: broken.to_string(), fix: "agency repair --dry-run" },
        },
    }
}

/// Text from a record or a plugin for a one-line human field: control characters escaped,
/// whitespace collapsed, cut to `max` characters.
pub fn text(value: &str, max: usize) -> String {
    safe_text::one_line(value, max)
}

/// The style of a status tone.
pub fn tone_style(tone: Tone) -> Style {
    match tone {
        Tone::Problem => Style::Red,
        Tone::NeedsYou => Style::Yellow,
        Tone::Done => Style::Cyan,
        Tone::Active => Style::Green,
        Tone::Quiet => Style::Dim,
    }
}

/// The status cell: label, coloured by how much it needs the user.
pub fn status_cell(out: &Output, view: &RunView) -> String {
    match &view.status {
        None => out.paint("broken", Style::Red),
        Some(status) => out.paint(&status.label, tone_style(status.tone)),
    }
}

/// The one-line reason shown next to the status.
pub fn reason(view: &RunView) -> String {
    match (&view.status, &view.entry.meta) {
        (Some(status), _) => text(&status.reason, 300),
        (None, Err(broken)) => text(&format!("{broken}; fix: agency repair --dry-run"), 300),
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
    let field = |k: &str| text(value.get(k).and_then(|v| v.as_str()).unwrap_or("?"), 200);
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

/// `agency show`'s `key: value` lines of a run (also the dashboard's details page); `status`
/// is the status cell as the caller draws it.
pub fn details(view: &RunView, status: String) -> crate::error::Result<Vec<(String, String)>> {
    let meta = view.entry.meta_or_broken()?;
    let t = |value: &str| text(value, 500);
    let mut lines = vec![
        ("run_id".to_string(), t(&meta.run_id)),
        ("name".to_string(), t(&meta.name)),
        ("title".to_string(), t(meta.display_title())),
        ("repo_id".to_string(), t(&meta.repo_id)),
        ("runner".to_string(), t(&meta.runner)),
        (
            "runner_cmd".to_string(),
            if meta.runner_cmd.is_empty() { "(not launched)".into() } else { t(&meta.runner_cmd) },
        ),
        ("branch".to_string(), t(&format!("{} (from {})", meta.branch, meta.parent_branch))),
        ("created_at".to_string(), meta.created_at.clone()),
        ("session".to_string(), meta.tmux_session_name.clone().unwrap_or_else(|| "(none)".into())),
        ("status".to_string(), status),
        ("reason".to_string(), reason(view)),
    ];
    if let Some(status) = &view.status {
        lines.push(("decided_by".to_string(), status.decided_by.clone()));
        lines.push(("status_parts".to_string(), status_parts(status)));
        if !status.flags.is_empty() {
            lines.push(("flags".to_string(), t(&status.flags.join(", "))));
        }
    }
    if let Some(pr) = &meta.pr_url {
        lines.push(("pr".to_string(), t(pr)));
    }
    if let Some(record) = crate::store::read_json::<Value>(&view.entry.paths.verify_record()) {
        let get = |k: &str| record.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let ok = record.get("ok").and_then(|v| v.as_bool()).unwrap_or(false);
        let commit: String = get("commit").chars().take(12).collect();
        let verdict = if ok { "passed" } else { "failed" };
        lines.push((
            "verify".to_string(),
            t(&format!("{verdict} at {} on {commit}: {}", get("verified_at"), get("summary"))),
        ));
    }
    for (step, provenance) in &meta.plugins {
        lines.push((format!("plugin.{step}"), provenance_line(provenance)));
    }
    Ok(lines)
}
