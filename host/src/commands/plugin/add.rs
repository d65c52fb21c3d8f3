//! `agency plugin add`

use clap::Args;
use std::path::PathBuf;

use crate::admin::plugin_admin;
use crate::cli::CommandContext;
use crate::error::Result;

/// Validate, precompile and install a plugin (.wasm component); asks to grant it on a terminal
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Path to the plugin's .wasm file
    file: PathBuf,
}

pub fn cmd_add(ctx: &CommandContext, args: AddArgs) -> Result<()> {
    let added = plugin_admin::add(&ctx.env, &args.file, false)?;
    super::print_view(&ctx.out, &added.view);
    ctx.out.line(&format!("installed: {}", added.installed.display()));
    ctx.out.line(&format!("compiled: {}", if added.compiled { "yes (cached for later runs)" } else { "cache hit" }));
    if added.view.grant == "not granted" {
        ctx.env.ui.status(&format!("not granted yet: agency plugin trust {}", added.view.id));
    }
    Ok(())
}
