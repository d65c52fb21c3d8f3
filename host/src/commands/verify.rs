//! `agency verify`: run the verify step and record the result against the commit verified.

use clap::Args;

use crate::cli::CommandContext;
use crate::error::Result;
use crate::pipeline::verify;

/// Run the verify step(s) in a run's worktree; write verify_record.json bound to HEAD and its tree
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
    /// Override the verify timeout (e.g. 45m)
    #[arg(long, value_parser = humantime::parse_duration)]
    timeout: Option<std::time::Duration>,
}

pub fn cmd_verify(ctx: &CommandContext, args: VerifyArgs) -> Result<()> {
    let record = verify::verify(&ctx.env, &args.reference, args.timeout)?;
    ctx.out.key_values(&[
        ("ok".into(), record.ok.to_string()),
        ("summary".into(), record.summary.clone()),
        ("commit".into(), record.commit.clone()),
        ("tree".into(), record.tree.clone()),
        ("duration_ms".into(), record.duration_ms.to_string()),
        ("log".into(), record.log_path.clone()),
    ]);
    Ok(())
}
