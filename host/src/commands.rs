//! The subcommands: one module each, `<Name>Args` (its doc comment is the help text) and
//! `cmd_<name>(ctx, args)`. Commands parse, call one pipeline function and render; they never
//! spawn processes, touch files or print errors themselves.

mod agent;
mod attach;
mod clean;
mod completion;
mod doctor;
mod hook;
mod init;
mod kill;
mod logs;
mod ls;
mod merge;
mod open;
mod path;
mod plugin;
mod push;
mod repair;
mod restore;
mod resume;
mod run;
mod show;
mod stop;
mod ui;
mod verify;

use clap::Subcommand;

use crate::cli::CommandContext;
use crate::error::Result;

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(init::InitArgs),
    Doctor(doctor::DoctorArgs),
    Run(run::RunArgs),
    Ls(ls::LsArgs),
    Show(show::ShowArgs),
    Path(path::PathArgs),
    Open(open::OpenArgs),
    Attach(attach::AttachArgs),
    Resume(resume::ResumeArgs),
    Stop(stop::StopArgs),
    Kill(kill::KillArgs),
    Logs(logs::LogsArgs),
    Verify(verify::VerifyArgs),
    Push(push::PushArgs),
    Merge(merge::MergeArgs),
    Clean(clean::CleanArgs),
    Restore(restore::RestoreArgs),
    Repair(repair::RepairArgs),
    Ui(ui::UiArgs),
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    Completion(completion::CompletionArgs),
    Hook(hook::HookArgs),
    #[command(name = "__agent", hide = true)]
    Agent(agent::AgentArgs),
}

pub fn dispatch(ctx: &CommandContext, command: Command) -> Result<()> {
    match command {
        Command::Init(args) => init::cmd_init(ctx, args),
        Command::Doctor(args) => doctor::cmd_doctor(ctx, args),
        Command::Run(args) => run::cmd_run(ctx, args),
        Command::Ls(args) => ls::cmd_ls(ctx, args),
        Command::Show(args) => show::cmd_show(ctx, args),
        Command::Path(args) => path::cmd_path(ctx, args),
        Command::Open(args) => open::cmd_open(ctx, args),
        Command::Attach(args) => attach::cmd_attach(ctx, args),
        Command::Resume(args) => resume::cmd_resume(ctx, args),
        Command::Stop(args) => stop::cmd_stop(ctx, args),
        Command::Kill(args) => kill::cmd_kill(ctx, args),
        Command::Logs(args) => logs::cmd_logs(ctx, args),
        Command::Verify(args) => verify::cmd_verify(ctx, args),
        Command::Push(args) => push::cmd_push(ctx, args),
        Command::Merge(args) => merge::cmd_merge(ctx, args),
        Command::Clean(args) => clean::cmd_clean(ctx, args),
        Command::Restore(args) => restore::cmd_restore(ctx, args),
        Command::Repair(args) => repair::cmd_repair(ctx, args),
        Command::Ui(args) => ui::cmd_ui(ctx, args),
        Command::Plugin(command) => plugin::cmd_plugin(ctx, command),
        Command::Completion(args) => completion::cmd_completion(ctx, args),
        Command::Hook(args) => hook::cmd_hook(args),
        Command::Agent(args) => agent::cmd_agent(args),
    }
}

/// `agency hook`, which runs inside an agent without a [`CommandContext`] (no config, no
/// repository: the run is named by the agent's environment).
pub fn run_hook(args: hook::HookArgs) -> Result<()> {
    hook::cmd_hook(args)
}

/// `agency __agent`, which runs without a [`CommandContext`].
pub fn run_agent(args: agent::AgentArgs) -> Result<()> {
    agent::cmd_agent(args)
}
