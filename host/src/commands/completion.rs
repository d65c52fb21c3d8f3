//! `agency completion`: shell completion scripts.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::{Cli, CommandContext};
use crate::error::Result;

/// Print a shell completion script (e.g. `agency completion bash > /etc/bash_completion.d/agency`)
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to generate completions for
    shell: Shell,
}

pub fn cmd_completion(ctx: &CommandContext, args: CompletionArgs) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "agency", &mut script);
    ctx.out.raw(&script);
    Ok(())
}
