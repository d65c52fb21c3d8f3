//! The context every command receives: output settings and the pipeline [`Env`] (resolved
//! dirs, the store, the user config, where agency was started). Built once per process; the
//! repository itself is located by the pipelines that need it.

use std::path::PathBuf;

use super::Cli;
use super::output::{Output, TermUi};
use crate::config::UserConfig;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::process::shell_quote;
use crate::store::Dirs;

pub struct CommandContext {
    pub out: Output,
    pub env: Env,
}

impl CommandContext {
    pub fn new(cli: &Cli, out: Output) -> Result<CommandContext> {
        let cwd = resolve_cwd(cli.chdir.as_ref())?;
        let dirs = Dirs::resolve()?;
        let user = UserConfig::load(&dirs.config)?;
        let command_line = std::iter::once("agency".to_string())
            .chain(std::env::args().skip(1).map(|a| shell_quote(&a)))
            .collect::<Vec<_>>()
            .join(" ");
        let env = Env::new(dirs, user, cwd, command_line, Box::new(TermUi::new(out)), cli.yes);
        Ok(CommandContext { out, env })
    }
}

fn resolve_cwd(dir: Option<&PathBuf>) -> Result<PathBuf> {
    let current = std::env::current_dir()
        .map_err(|e| AgencyError::new(ErrorCode::Internal, format!("cannot read the current directory: {e}")))?;
    match dir {
        None => Ok(current),
        Some(dir) => {
            let usage = |problem: String| {
                AgencyError::new(ErrorCode::Usage, format!("-C {}: {problem}", dir.display()))
                    .with_hint("pass an existing directory to -C")
            };
            let path = current.join(dir).canonicalize().map_err(|e| usage(e.to_string()))?;
            if !path.is_dir() {
                return Err(usage("not a directory".to_string()));
            }
            Ok(path)
        }
    }
}
