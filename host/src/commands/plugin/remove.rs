//! `agency plugin remove`

use clap::Args;

use crate::admin::plugin_admin;
use crate::cli::CommandContext;
use crate::error::{AgencyError, ErrorCode, Result};

/// Uninstall a plugin and forget its grants
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Plugin id
    id: String,
}

pub fn cmd_remove(ctx: &CommandContext, args: RemoveArgs) -> Result<()> {
    if !plugin_admin::remove(&ctx.env, &args.id)? {
        return Err(AgencyError::new(ErrorCode::PluginNotFound, format!("plugin `{}` is not installed", args.id))
            .with_hint("agency plugin list"));
    }
    ctx.out.line(&format!("removed: {}", args.id));
    Ok(())
}
