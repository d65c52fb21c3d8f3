//! `agency logs`: list a run's logs, print one, or follow it.

use clap::Args;

use crate::cli::CommandContext;
use crate::cli::output::table;
use crate::error::Result;
use crate::query::logs;

/// Print a run's log (setup, verify, archive, runner, plugin), or list its logs
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Run name, run id or unique run-id prefix
    reference: String,
    /// Which log: setup, verify, archive, runner or plugin (omit to list them)
    log: Option<String>,
    /// Keep printing as the log grows (a headless runner log ends when the agent exits)
    #[arg(long, short = 'f')]
    follow: bool,
}

pub fn cmd_logs(ctx: &CommandContext, args: LogsArgs) -> Result<()> {
    let Some(kind) = args.log else {
        let available = logs::available(&ctx.env, &args.reference)?;
        if available.is_empty() {
            ctx.env.ui.status("no logs yet");
            return Ok(());
        }
        let rows: Vec<Vec<String>> = available
            .into_iter()
            .map(|(name, path, size)| vec![name, format!("{size} B"), path.display().to_string()])
            .collect();
        ctx.out.raw(table(&rows).as_bytes());
        return Ok(());
    };
    let (path, exit_file) = logs::path(&ctx.env, &args.reference, &kind)?;
    let stop = (kind == "runner").then_some(&exit_file);
    logs::stream(&path, stop, args.follow, |bytes| ctx.out.raw(bytes))
}
