//! `agency push`: push the run's branch and create or update its pull request.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::push::{self, PushRequest};

/// Push the run's branch to origin (github.com) and create or update its pull request
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
    /// Push even with uncommitted changes in the worktree (they are not pushed)
    #[arg(long)]
    allow_dirty: bool,
    /// Push with --force-with-lease (after rewriting the branch)
    #[arg(long)]
    force_with_lease: bool,
}

pub fn cmd_push(ctx: &CommandContext, args: PushArgs) -> Result<()> {
    let request = PushRequest { allow_dirty: args.allow_dirty, force_with_lease: args.force_with_lease };
    let pushed = push::push(&ctx.env, &args.reference, &request)?;
    ctx.out.key_values(&[
        ("branch".into(), pushed.branch),
        ("commits".into(), pushed.commits.to_string()),
        ("pr".into(), format!("#{} ({})", pushed.pr_number, pushed.pr_action)),
        ("pr_url".into(), pushed.pr_url),
    ]);
    Ok(())
}
