//! `agency open`: open a run's worktree in an editor.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::session;

/// Open a run's worktree in your editor (--editor, defaults.editor, $VISUAL, $EDITOR)
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
    /// Editor name from config.json `editors`, or a command
    #[arg(long)]
    editor: Option<String>,
}

pub fn cmd_open(ctx: &CommandContext, args: OpenArgs) -> Result<()> {
    session::open_in_editor(&ctx.env, &args.reference, args.editor.as_deref())
}
