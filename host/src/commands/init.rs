//! `agency init`: set a repository up for agency.

use clap::Args;

use crate::admin::init::{self, InitRequest};
use crate::cli::CommandContext;
use crate::error::Result;

/// Write agency.json, stub scripts, the runner protocol and the .gitignore entry
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing agency.json (scripts and other files are never overwritten)
    #[arg(long)]
    force: bool,
    /// Do not add `.agency/` to .gitignore
    #[arg(long)]
    no_gitignore: bool,
}

pub fn cmd_init(ctx: &CommandContext, args: InitArgs) -> Result<()> {
    let report = init::init(&ctx.env, &InitRequest { force: args.force, no_gitignore: args.no_gitignore })?;
    ctx.out.key_values(&report);
    Ok(())
}
