//! `agency merge`: merge the run's pull request after verification and a human's yes.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::gh::Strategy;
use crate::pipeline::merge::{self, MergeRequest};

/// Merge the run's PR (verify first, type `merge` to confirm), then archive the run
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
    /// Squash merge (the default)
    #[arg(long, group = "strategy")]
    squash: bool,
    /// Merge commit
    #[arg(long, group = "strategy")]
    merge: bool,
    /// Rebase merge
    #[arg(long, group = "strategy")]
    rebase: bool,
    /// Keep the remote branch after merging
    #[arg(long)]
    no_delete_branch: bool,
    /// Merge even if verification fails
    #[arg(long)]
    force: bool,
}

pub fn cmd_merge(ctx: &CommandContext, args: MergeArgs) -> Result<()> {
    let strategy = match (args.merge, args.rebase) {
        (true, _) => Strategy::Merge,
        (_, true) => Strategy::Rebase,
        _ => Strategy::Squash,
    };
    let request = MergeRequest { strategy, delete_branch: !args.no_delete_branch, force: args.force };
    let merged = merge::merge(&ctx.env, &args.reference, &request)?;
    ctx.out.key_values(&[
        ("pr".into(), format!("#{}", merged.pr_number)),
        ("pr_url".into(), merged.pr_url),
        (
            "merged".into(),
            if merged.already_merged {
                "already merged on GitHub".into()
            } else {
                strategy.flag().trim_start_matches("--").to_string()
            },
        ),
        ("verification".into(), merged.verification),
        ("saved_ref".into(), merged.archived.saved_ref),
        ("archived".into(), "yes (record and logs kept)".into()),
    ]);
    Ok(())
}
