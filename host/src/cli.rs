//! Entry point: parse the command line, build the [`CommandContext`], dispatch, and print the
//! error (if any) exactly once with its exit status: 2 for usage errors, 1 otherwise. A panic
//! is reported as `E_INTERNAL` instead of a Rust backtrace.

pub mod context;
pub mod output;
pub mod render;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

pub use context::CommandContext;
use output::Output;

use crate::commands::{self, Command};
use crate::error::{AgencyError, ErrorCode};

/// Isolated, reversible AI coding-agent runs: git worktree + tmux + sandboxed plugins
#[derive(Debug, Parser)]
#[command(name = "agency", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Run as if agency was started in DIR
    #[arg(short = 'C', id = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Answer yes to confirmations and plugin grant prompts (for scripts)
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,

    #[command(subcommand)]
    pub command: Command,
}

pub fn main() -> ExitCode {
    let output = Output::detect();
    install_panic_hook(output);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err, output),
    };
    // The pane process of a run needs no dirs or config, and must not fail on them.
    let cli = match cli.command {
        Command::Agent(args) => {
            let err = commands::run_agent(args).unwrap_err();
            output.error(&err);
            return ExitCode::from(err.code.exit_status());
        }
        Command::Hook(args) => {
            return match commands::run_hook(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    output.error(&err);
                    ExitCode::from(err.code.exit_status())
                }
            };
        }
        command => Cli { command, ..cli },
    };
    let mut ctx = match CommandContext::new(&cli, output) {
        Ok(ctx) => ctx,
        Err(err) => {
            output.error(&err);
            return ExitCode::from(err.code.exit_status());
        }
    };
    let result = commands::dispatch(&ctx, cli.command);
    // Off a terminal, what the command said while it worked comes after its error report.
    if let Err(err) = &result {
        output.error(err);
    }
    for line in ctx.env.ui.take_deferred() {
        output.status_raw(&line);
    }
    ctx.env.leave_plugins_to_exit();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(err.code.exit_status()),
    }
}

fn usage_error(err: clap::Error, output: Output) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    let rendered = err.render().to_string();
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let agency_err = AgencyError::new(ErrorCode::Usage, "a command is required")
            .with_hint("agency --help   # lists the commands");
        output.status(rendered.trim_end());
        output.error(&agency_err);
        return ExitCode::from(ErrorCode::Usage.exit_status());
    }
    let message = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid usage");
    let message = message.trim_start_matches("error: ").to_string();
    let mut agency_err =
        AgencyError::new(ErrorCode::Usage, message).with_hint("agency --help   # or agency <command> --help");
    for line in rendered.lines().skip(1).filter(|l| l.trim_start().starts_with("Usage:")) {
        agency_err = agency_err.with_detail("usage", line.trim().trim_start_matches("Usage: "));
    }
    output.error(&agency_err);
    ExitCode::from(ErrorCode::Usage.exit_status())
}

fn install_panic_hook(output: Output) {
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        output.error(&AgencyError::internal(format!("agency panicked{location}: {payload}")));
        std::process::exit(1);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
