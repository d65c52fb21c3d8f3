//! `agency show`: one run's full record, paths, status and recent events.

use clap::Args;
use serde_json::json;

use crate::cli::CommandContext;
use crate::cli::render::{self, JSON_SCHEMA_VERSION};
use crate::error::Result;
use crate::query;
use crate::store::events;

/// Show a run's record, paths, status explanation and last events
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
    /// Print JSON (schema in docs/records.md)
    #[arg(long)]
    json: bool,
    /// Print only the run's paths as `key: path` lines
    #[arg(long)]
    path: bool,
    /// Save the pane's scrollback to transcript.txt (the previous one is kept as transcript.1.txt)
    #[arg(long)]
    capture: bool,
    /// Print exactly the text the runner plugin's `classify` gets now (the visible 200x50 pane,
    /// wrapped lines joined, no scrollback): `agency show x --screen > screens/idle--x.txt`
    #[arg(long, conflicts_with_all = ["json", "path", "capture"])]
    screen: bool,
}

const LAST_EVENTS: usize = 10;

pub fn cmd_show(ctx: &CommandContext, args: ShowArgs) -> Result<()> {
    if args.screen {
        ctx.out.raw(query::screen_as_classified(&ctx.env, &args.reference)?.as_bytes());
        return Ok(());
    }
    if args.capture {
        let path = crate::pipeline::session::capture_transcript(&ctx.env, &args.reference)?;
        ctx.env.ui.status(&format!("transcript: {}", path.display()));
    }
    let view = query::show(&ctx.env, &args.reference)?;
    let paths = &view.entry.paths;
    let worktree = view.entry.meta.as_ref().map(|m| m.worktree_path.clone()).unwrap_or_default();
    let path_lines = vec![
        ("worktree".to_string(), worktree),
        ("run_dir".to_string(), paths.dir.display().to_string()),
        ("meta".to_string(), paths.meta().display().to_string()),
        ("events".to_string(), paths.events().display().to_string()),
        ("logs".to_string(), paths.logs().display().to_string()),
    ];
    if args.path {
        ctx.out.key_values(&path_lines);
        return Ok(());
    }
    let (events, skipped) = events::read(&paths.events());
    let recent = &events[events.len().saturating_sub(LAST_EVENTS)..];
    if args.json {
        let meta = view.entry.meta.as_ref().ok().map(|m| serde_json::to_value(m).unwrap_or_default());
        let paths_json: serde_json::Map<_, _> = path_lines.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        ctx.out.json(&json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "run": render::run_json(&view),
            "meta": meta,
            "paths": paths_json,
            "events": recent,
            "unreadable_event_lines": skipped,
        }));
        return Ok(());
    }
    let mut lines = render::details(&view, render::status_cell(&ctx.out, &view))?;
    lines.extend(path_lines);
    ctx.out.key_values(&lines);
    if !recent.is_empty() {
        ctx.out.line("events:");
        for event in recent {
            ctx.out.line(&format!("  {}  {}  {}", event.timestamp, event.event, event.data));
        }
    }
    if skipped > 0 {
        ctx.out.line(&format!("  ({skipped} unreadable event lines skipped)"));
    }
    Ok(())
}
