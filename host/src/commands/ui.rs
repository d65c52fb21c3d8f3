//! `agency ui`: the dashboard (see `crate::ui`).

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;

/// A live dashboard of runs: their status and screens; attach, start, stop, kill, resume,
/// verify, push, merge, clean and restore from the keyboard (? lists the keys)
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Runs of every repository (default: the current repository's)
    #[arg(long)]
    all_repos: bool,
}

pub fn cmd_ui(ctx: &CommandContext, args: UiArgs) -> Result<()> {
    crate::ui::run(&ctx.env, args.all_repos)
}
