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
    /// Delete what cannot be saved (over the archive size limit) without asking
    #[arg(long)]
    force: bool,
}

pub fn cmd_clean(ctx: &CommandContext, args: CleanArgs) -> Result<()> {
    let cleaned = archive::clean(&ctx.env, &args.reference, args.force)?;
    let a = &cleaned.archived;
    let mut lines = vec![
        (
            "outcome".into(),
            if cleaned.merged { "merged (its changes are already in the parent)".into() } else { "abandoned".into() },
        ),
        ("saved_ref".into(), a.saved_ref.clone()),
        ("saved_commit".into(), a.saved_commit.clone()),
        ("uncommitted_saved".into(), a.uncommitted_saved.to_string()),
        ("unpushed_commits".into(), a.unpushed_commits.to_string()),
        ("nested_repositories_saved".into(), a.nested_saved.to_string()),
        ("archive_steps".into(), a.steps.clone()),
    ];
    if !a.unsaved.is_empty() {
        lines.push(("deleted_unsaved".into(), a.unsaved.join(", ")));
    }
    lines.push(("restore".into(), format!("agency restore {}", cleaned.run_id)));
    ctx.out.key_values(&lines);
    Ok(())
}
