//! `agency clean`: abandon a run and archive it, saving its work first.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::archive;

/// Abandon a run: save its work to refs/agency/archive/<id>, then remove session, worktree and branch
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
}

pub fn cmd_clean(ctx: &CommandContext, args: CleanArgs) -> Result<()> {
    let cleaned = archive::clean(&ctx.env, &args.reference)?;
    let a = &cleaned.archived;
    ctx.out.key_values(&[
        (
            "outcome".into(),
            if cleaned.merged { "merged (its changes are already in the parent)".into() } else { "abandoned".into() },
        ),
        ("saved_ref".into(), a.saved_ref.clone()),
        ("saved_commit".into(), a.saved_commit.clone()),
        ("uncommitted_saved".into(), a.uncommitted_saved.to_string()),
        ("unpushed_commits".into(), a.unpushed_commits.to_string()),
        ("archive_steps".into(), a.steps.clone()),
        ("restore".into(), format!("agency restore {}", args.reference)),
    ]);
    Ok(())
}
