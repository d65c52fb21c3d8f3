//! `agency plugin trust`

use clap::Args;

use crate::admin::plugin_admin;
use crate::cli::CommandContext;
use crate::error::Result;

/// Grant a plugin the capabilities it declares (for its current sha256 only)
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Plugin id (a project pin, an installed plugin) or a path to a .wasm file
    id: String,
}

pub fn cmd_trust(ctx: &CommandContext, args: TrustArgs) -> Result<()> {
    let view = plugin_admin::trust(&ctx.env, &args.id)?;
    super::print_view(&ctx.out, &view);
    Ok(())
}
