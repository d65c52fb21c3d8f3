//! The subcommands: one module each, `<Name>Args` (its doc comment is the help text) and
//! `cmd_<name>(ctx, args)`. Commands parse, call one pipeline function and render; they never
//! spawn processes, touch files or print errors themselves.

mod attach;
mod completion;
mod doctor;
mod init;
mod kill;
mod logs;
mod ls;
mod path;
mod plugin;
mod resume;
mod run;
mod show;
mod stop;
mod views;

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
    Attach(attach::AttachArgs),
    Resume(resume::ResumeArgs),
    Stop(stop::StopArgs),
    Kill(kill::KillArgs),
    Logs(logs::LogsArgs),
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    Completion(completion::CompletionArgs),
}

pub fn dispatch(ctx: &CommandContext, command: Command) -> Result<()> {
    match command {
        Command::Init(args) => init::cmd_init(ctx, args),
        Command::Doctor(args) => doctor::cmd_doctor(ctx, args),
        Command::Run(args) => run::cmd_run(ctx, args),
        Command::Ls(args) => ls::cmd_ls(ctx, args),
        Command::Show(args) => show::cmd_show(ctx, args),
        Command::Path(args) => path::cmd_path(ctx, args),
        Command::Attach(args) => attach::cmd_attach(ctx, args),
        Command::Resume(args) => resume::cmd_resume(ctx, args),
        Command::Stop(args) => stop::cmd_stop(ctx, args),
        Command::Kill(args) => kill::cmd_kill(ctx, args),
        Command::Logs(args) => logs::cmd_logs(ctx, args),
        Command::Plugin(command) => plugin::cmd_plugin(ctx, command),
        Command::Completion(args) => completion::cmd_completion(ctx, args),
    }
}
