//! Bindings for the frozen `agency:plugin@0.2.0` API (`wit/since_v0.2.0/`): the runner's
//! prompt-delivery / ready / interrupt contract, the `starting` and `error` activities, the
//! agent's resume session and `headless-result`. Shared conversions: `shared.rs`.

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::plugin::api;
use crate::plugin::sandbox::State;

mod runner_world {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.2.0",
        world: "runner-plugin",
    });
}

mod step_world {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.2.0",
        world: "step-plugin",
        with: {
            "agency:plugin/types": super::runner_world::agency::plugin::types,
            "agency:plugin/host": super::runner_world::agency::plugin::host,
        },
    });
}

use runner_world::agency::plugin::{host, types};
use runner_world::exports::agency::plugin::runner as runner_api;
use step_world::exports::agency::plugin::step as step_api;

/// The minor version this module serves (0.2.x plugins).
pub const VERSION: (u64, u64) = (0, 2);

super::shared::shared_conversions!();

impl Pre {
    pub fn plan(
        &self,
        store: &mut Store<State>,
        run: &api::RunInfo,
        request: &api::PlanRequest,
    ) -> wasmtime::Result<Result<api::LaunchPlan, api::PluginError>> {
        let request = runner_api::PlanRequest {
            mode: match request.mode {
                api::Mode::Interactive => runner_api::Mode::Interactive,
                api::Mode::Headless => runner_api::Mode::Headless,
            },
            prompt: request.prompt.clone(),
            resume_session: request.resume_session.clone(),
        };
        let result = self.runner()?.instantiate(&mut *store)?.agency_plugin_runner().call_plan(
            &mut *store,
            &run.into(),
            &request,
        )?;
        Ok(result.map(Into::into).map_err(Into::into))
    }

    pub fn classify(&self, store: &mut Store<State>, screen: &str) -> wasmtime::Result<api::Observation> {
        Ok(self.runner()?.instantiate(&mut *store)?.agency_plugin_runner().call_classify(&mut *store, screen)?.into())
    }

    pub fn headless_result(
        &self,
        store: &mut Store<State>,
        output: &str,
        exit_code: Option<i32>,
    ) -> wasmtime::Result<api::HeadlessResult> {
        let outcome = self.runner()?.instantiate(&mut *store)?.agency_plugin_runner().call_headless_result(
            &mut *store,
            output,
            exit_code,
        )?;
        Ok(api::HeadlessResult { ok: outcome.ok, message: outcome.message, resume_session: outcome.resume_session })
    }
}

impl From<runner_api::LaunchPlan> for api::LaunchPlan {
    fn from(p: runner_api::LaunchPlan) -> Self {
        api::LaunchPlan {
            command: p.command.into(),
            stdin: p.stdin,
            prompt: match p.prompt {
                runner_api::PromptDelivery::None => api::PromptDelivery::None,
                runner_api::PromptDelivery::Argv => api::PromptDelivery::Argv,
                runner_api::PromptDelivery::Stdin => api::PromptDelivery::Stdin,
                runner_api::PromptDelivery::Paste(text) => api::PromptDelivery::Paste(text),
            },
            ready: match p.ready {
                runner_api::ReadyWhen::Idle => api::ReadyWhen::Idle,
                runner_api::ReadyWhen::Text(text) => api::ReadyWhen::Text(text),
            },
            interrupt: match p.interrupt {
                runner_api::Interrupt::Keys(keys) => api::Interrupt::Keys(keys),
                runner_api::Interrupt::Signal(runner_api::Signal::Interrupt) => {
                    api::Interrupt::Signal(api::Signal::Interrupt)
                }
                runner_api::Interrupt::Signal(runner_api::Signal::Terminate) => {
                    api::Interrupt::Signal(api::Signal::Terminate)
                }
            },
        }
    }
}

impl From<runner_api::Observation> for api::Observation {
    fn from(o: runner_api::Observation) -> Self {
        let activity = match o.activity {
            runner_api::Activity::Starting => api::Activity::Starting,
            runner_api::Activity::Working => api::Activity::Working,
            runner_api::Activity::NeedsInput => api::Activity::NeedsInput,
            runner_api::Activity::Idle => api::Activity::Idle,
            runner_api::Activity::Error => api::Activity::Error,
            runner_api::Activity::Exited => api::Activity::Exited,
            runner_api::Activity::Unknown => api::Activity::Unknown,
        };
        api::Observation { activity, reason: o.reason, evidence: o.evidence, resume_session: o.resume_session }
    }
}
