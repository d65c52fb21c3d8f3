//! `agency plugin list`

use clap::Args;
use serde_json::json;

use crate::admin::plugin_admin;
use crate::cli::CommandContext;
use crate::cli::output::{Style, table};
use crate::error::Result;

/// List built-in, installed and project-pinned plugins with their grant state
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON (schema in docs/records.md)
    #[arg(long)]
    json: bool,
}

pub fn cmd_list(ctx: &CommandContext, args: ListArgs) -> Result<()> {
    let views = plugin_admin::list(&ctx.env)?;
    if args.json {
        ctx.out.json(&json!({ "schema_version": "1.0", "plugins": views }));
        return Ok(());
    }
    let mut rows = vec![
        ["ID", "KIND", "VERSION", "GRANT", "ORIGIN", "DESCRIPTION"].map(|h| ctx.out.paint(h, Style::Bold)).to_vec(),
    ];
    for v in views {
        rows.push(vec![v.id, v.kind, v.version, v.grant, v.origin, v.description]);
    }
    ctx.out.raw(table(&rows).as_bytes());
    Ok(())
}
