//! `agency plugin …`: manage, inspect and trust plugins.

mod add;
mod dev;
mod inspect;
mod list;
mod new;
mod remove;
mod test;
mod trust;

use clap::Subcommand;

use crate::admin::plugin_admin::PluginView;
use crate::cli::CommandContext;
use crate::cli::output::Output;
use crate::error::Result;

/// Manage, write and check plugins: list, add, inspect, trust, remove, test, new, dev
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    List(list::ListArgs),
    Add(add::AddArgs),
    Inspect(inspect::InspectArgs),
    Trust(trust::TrustArgs),
    Remove(remove::RemoveArgs),
    Test(test::TestArgs),
    New(new::NewArgs),
    Dev(dev::DevArgs),
}

pub fn cmd_plugin(ctx: &CommandContext, command: PluginCommand) -> Result<()> {
    match command {
        PluginCommand::List(args) => list::cmd_list(ctx, args),
        PluginCommand::Add(args) => add::cmd_add(ctx, args),
        PluginCommand::Inspect(args) => inspect::cmd_inspect(ctx, args),
        PluginCommand::Trust(args) => trust::cmd_trust(ctx, args),
        PluginCommand::Remove(args) => remove::cmd_remove(ctx, args),
        PluginCommand::Test(args) => test::cmd_test(ctx, args),
        PluginCommand::New(args) => new::cmd_new(ctx, args),
        PluginCommand::Dev(args) => dev::cmd_dev(ctx, args),
    }
}

/// `key: value` lines describing one plugin, capabilities one per line.
fn print_view(out: &Output, view: &PluginView) {
    out.key_values(&[
        ("id".into(), view.id.clone()),
        ("kind".into(), view.kind.clone()),
        ("version".into(), view.version.clone()),
        ("description".into(), view.description.clone()),
        ("api_version".into(), view.api_version.clone()),
        ("origin".into(), view.origin.clone()),
        ("sha256".into(), view.sha256.clone()),
        ("grant".into(), view.grant.clone()),
    ]);
    for capability in &view.capabilities {
        out.line(&format!("capability: {capability}"));
    }
}
