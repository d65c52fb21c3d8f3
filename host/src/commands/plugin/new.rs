//! `agency plugin new`

use clap::{Args, ValueEnum};
use std::path::PathBuf;

use crate::admin::plugin_new::{self, Lang};
use crate::cli::CommandContext;
use crate::error::Result;
use crate::plugin::api::PluginKind;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Runner,
    Step,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LangArg {
    Rust,
    Python,
    Js,
}

/// Scaffold a buildable plugin project (capabilities, a test, screens, README, vendored SDK)
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Plugin id (a-z, 0-9, -, _); also the project directory name
    name: String,
    /// What the plugin is
    #[arg(long, value_enum)]
    kind: KindArg,
    /// Language of the scaffold
    #[arg(long, value_enum, default_value = "rust")]
    lang: LangArg,
    /// The agent program a runner starts (default: the plugin id; name the plugin after its
    /// agent, e.g. `agency plugin new gemini --kind runner`)
    #[arg(long)]
    program: Option<String>,
    /// Directory to create (default: ./<name>)
    #[arg(long)]
    dir: Option<PathBuf>,
}

pub fn cmd_new(ctx: &CommandContext, args: NewArgs) -> Result<()> {
    let kind = match args.kind {
        KindArg::Runner => PluginKind::Runner,
        KindArg::Step => PluginKind::Step,
    };
    let lang = match args.lang {
        LangArg::Rust => Lang::Rust,
        LangArg::Python => Lang::Python,
        LangArg::Js => Lang::Js,
    };
    let spec = plugin_new::NewPlugin {
        id: &args.name,
        kind,
        lang,
        program: args.program.as_deref(),
        dir: args.dir.as_deref(),
    };
    let made = plugin_new::new_plugin(&ctx.env, &spec)?;
    ctx.out.line(&format!("created: {}", made.dir.display()));
    for file in &made.files {
        ctx.out.line(&format!("file: {file}"));
    }
    ctx.out.line(&format!("build: cd {} && {}", made.dir.display(), made.build.replace('\n', " && ")));
    ctx.out.line(&format!("then: agency plugin add {}", made.dir.join(&made.wasm).display()));
    Ok(())
}
