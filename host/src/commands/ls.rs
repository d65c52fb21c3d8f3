//! `agency ls`: runs of this repository (or all), newest first, with status and why.

use clap::Args;

use crate::cli::CommandContext;
use crate::cli::output::{Style, table};
use crate::cli::render::{self, JSON_SCHEMA_VERSION};
use crate::clock as time;
use crate::error::Result;
use crate::query;

/// List runs with their status and a one-line reason
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Include archived runs (merged, abandoned)
    #[arg(long)]
    all: bool,
    /// List runs of every repository, not just the current one
    #[arg(long)]
    all_repos: bool,
    /// Print JSON (schema in docs/records.md)
    #[arg(long)]
    json: bool,
}

pub fn cmd_ls(ctx: &CommandContext, args: LsArgs) -> Result<()> {
    // tmux answers while git finds the repository and the records are read.
    let panes = query::PanesAhead::start();
    let scope = query::scope(&ctx.env, args.all_repos)?;
    let runs_in_scope = query::list(&ctx.env, &scope, args.all, panes)?;
    let result = print(ctx, &args, &runs_in_scope);
    // The process ends right after a listing: freeing a thousand records one by one would
    // cost more than printing them did. The kernel takes the memory back at exit.
    std::mem::forget(runs_in_scope);
    result
}

fn print(ctx: &CommandContext, args: &LsArgs, runs_in_scope: &[query::RunView]) -> Result<()> {
    if args.json {
        #[derive(serde::Serialize)]
        struct Listing<'a> {
            schema_version: &'static str,
            runs: Vec<render::RunJson<'a>>,
        }
        let runs = runs_in_scope.iter().map(render::run_json).collect();
        ctx.out.json(&Listing { schema_version: JSON_SCHEMA_VERSION, runs });
        return Ok(());
    }
    if runs_in_scope.is_empty() {
        ctx.env.ui.status(if args.all { "no runs" } else { "no live runs (agency ls --all includes archived ones)" });
        return Ok(());
    }
    let now = time::now();
    let mut rows = vec![
        ["NAME", "STATUS", "RUNNER", "CREATED", "RUN ID", "REASON"].map(|h| ctx.out.paint(h, Style::Bold)).to_vec(),
    ];
    for view in runs_in_scope {
        let meta = view.entry.meta.as_ref().ok();
        rows.push(vec![
            meta.map_or("?".into(), |m| render::text(&m.name, 40)),
            render::status_cell(&ctx.out, view),
            meta.map_or("".into(), |m| render::text(&m.runner, 40)),
            meta.and_then(|m| time::parse_rfc3339(&m.created_at)).map_or("".into(), |t| time::ago(t, now)),
            render::text(&view.entry.run_id, 40),
            render::reason(view),
        ]);
    }
    ctx.out.raw(table(&rows).as_bytes());
    Ok(())
}
