//! `agency plugin inspect`

use clap::Args;

use crate::admin::plugin_admin;
use crate::cli::CommandContext;
use crate::error::Result;

/// Show a plugin's identity, API version, sha256, declared capabilities and grant state
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Plugin id, or a path to a .wasm file
    target: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn cmd_inspect(ctx: &CommandContext, args: InspectArgs) -> Result<()> {
    let view = plugin_admin::inspect(&ctx.env, &args.target)?;
    if args.json {
        ctx.out.json(&serde_json::json!({ "schema_version": "1.0", "plugin": view }));
    } else {
        super::print_view(&ctx.out, &view);
    }
    Ok(())
}
