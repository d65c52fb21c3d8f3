//! # agency-plugin
//!
//! Write [agency](https://github.com/) plugins in plain Rust. Implement [`Runner`] (how to
//! launch an agent and read its screen) or [`Step`] (a setup, verify or archive step), then
//! export it with [`export_runner!`] or [`export_step!`]. Build with
//! `cargo build --release --target wasm32-wasip2`; the `.wasm` file is the plugin.
//!
//! ```ignore
//! use agency_plugin::*;
//!
//! struct Hello;
//!
//! impl Step for Hello {
//!     fn info() -> PluginInfo {
//!         PluginInfo::step("hello", env!("CARGO_PKG_VERSION"), "Says hello")
//!             .capability(Capability::exec("echo", &["**"]))
//!     }
//!     fn run(_phase: Phase, run: RunInfo) -> Result<Outcome, Error> {
//!         let result = host::exec(&Command::new("echo").arg("hello").cwd(&run.worktree), 10_000)?;
//!         Ok(Outcome::from_exec(&result, "said hello"))
//!     }
//! }
//!
//! export_step!(Hello);
//! ```
//!
//! The generated WebAssembly bindings are private; everything an author needs is re-exported
//! here with plain Rust types.

mod builders;
pub use builders::split_words;
pub mod host;
pub mod output;
pub mod screen;

/// Generated bindings. Not part of the API: use the re-exports at the crate root.
#[doc(hidden)]
pub mod __private {
    pub mod runner_world {
        wit_bindgen::generate!({
            path: "wit/since_v0.2.0",
            world: "runner-plugin",
            pub_export_macro: true,
            export_macro_name: "export_runner_world",
            default_bindings_module: "agency_plugin::__private::runner_world",
        });
    }

    pub mod step_world {
        wit_bindgen::generate!({
            path: "wit/since_v0.2.0",
            world: "step-plugin",
            with: {
                "agency:plugin/types@0.2.0": crate::__private::runner_world::agency::plugin::types,
                "agency:plugin/host@0.2.0": crate::__private::runner_world::agency::plugin::host,
            },
            pub_export_macro: true,
            export_macro_name: "export_step_world",
            default_bindings_module: "agency_plugin::__private::step_world",
        });
    }
}

pub use __private::runner_world::agency::plugin::types::{
    Access, Area, Capability, Command, EnvValue, EnvVar, Error, ErrorKind, ExecCapability, ExecResult, FsCapability,
    LogLevel, PluginInfo, PluginKind, RunInfo,
};
pub use __private::runner_world::exports::agency::plugin::runner::{
    Activity, HeadlessOutcome, Interrupt, LaunchPlan, Mode, Observation, PlanRequest, PromptDelivery, ReadyWhen,
    Signal,
};
pub use __private::step_world::exports::agency::plugin::step::{Outcome, Phase};
pub use screen::{Screen, unframe, word_after};

/// A runner integration: plans the agent's launch and reads its screen.
pub trait Runner {
    /// Identity and the capabilities the plugin needs.
    fn info() -> PluginInfo;

    /// The command the host should start in the run's tmux session.
    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error>;

    /// What the agent on screen is doing. The default recognises nothing.
    fn classify(screen: String) -> Observation {
        let _ = screen;
        Observation::unknown("this runner does not classify screens")
    }

    /// What a finished headless run's output says. The default: success is exit code 0, the
    /// message is the last line.
    fn headless_result(output: String, exit_code: Option<i32>) -> HeadlessOutcome {
        HeadlessOutcome::from_exit(&output, exit_code)
    }
}

/// A setup, verify or archive step.
pub trait Step {
    /// Identity and the capabilities the plugin needs.
    fn info() -> PluginInfo;

    /// Do the step for `run`. Return `Ok` with `ok: false` when the work ran and failed.
    fn run(phase: Phase, run: RunInfo) -> Result<Outcome, Error>;
}

/// Export a [`Runner`] implementation as this component's `runner-plugin` world.
#[macro_export]
macro_rules! export_runner {
    ($plugin:ty) => {
        const _: () = {
            struct AgencyRunnerExport;
            impl $crate::__private::runner_world::exports::agency::plugin::runner::Guest for AgencyRunnerExport {
                fn info() -> $crate::PluginInfo {
                    <$plugin as $crate::Runner>::info()
                }
                fn plan(run: $crate::RunInfo, request: $crate::PlanRequest) -> Result<$crate::LaunchPlan, $crate::Error> {
                    <$plugin as $crate::Runner>::plan(run, request)
                }
                fn classify(screen: String) -> $crate::Observation {
                    <$plugin as $crate::Runner>::classify(screen)
                }
                fn headless_result(output: String, exit_code: Option<i32>) -> $crate::HeadlessOutcome {
                    <$plugin as $crate::Runner>::headless_result(output, exit_code)
                }
            }
            $crate::__private::runner_world::export_runner_world!(AgencyRunnerExport with_types_in $crate::__private::runner_world);
        };
    };
}

/// Export a [`Step`] implementation as this component's `step-plugin` world.
#[macro_export]
macro_rules! export_step {
    ($plugin:ty) => {
        const _: () = {
            struct AgencyStepExport;
            impl $crate::__private::step_world::exports::agency::plugin::step::Guest for AgencyStepExport {
                fn info() -> $crate::PluginInfo {
                    <$plugin as $crate::Step>::info()
                }
                fn run(phase: $crate::Phase, run: $crate::RunInfo) -> Result<$crate::Outcome, $crate::Error> {
                    <$plugin as $crate::Step>::run(phase, run)
                }
            }
            $crate::__private::step_world::export_step_world!(AgencyStepExport with_types_in $crate::__private::step_world);
        };
    };
}
