//! Bindings for the frozen `agency:plugin@0.1.0` API (`wit/since_v0.1.0/`) and thin
//! conversions between its generated types and the domain types in `plugin::api`. The host
//! interface is implemented by delegating to the version-independent `sandbox::State`.

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

use crate::plugin::api;
use crate::plugin::sandbox::State;

mod runner_world {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
        world: "runner-plugin",
    });
}

mod step_world {
    wasmtime::component::bindgen!({
        path: "../wit/since_v0.1.0",
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

/// The minor version this module serves (0.1.x plugins).
pub const VERSION: (u64, u64) = (0, 1);

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
}

/// API 0.1 plans say "type this once that text shows (or at once)"; they interrupt with
/// Ctrl-C. In 0.2 terms: a paste, ready on the pattern or when `classify` reads idle.
impl From<runner_api::LaunchPlan> for api::LaunchPlan {
    fn from(p: runner_api::LaunchPlan) -> Self {
        let prompt = match (p.send_after_ready, &p.stdin) {
            (Some(text), _) => api::PromptDelivery::Paste(text),
            (None, Some(_)) => api::PromptDelivery::Stdin,
            (None, None) => api::PromptDelivery::None,
        };
        api::LaunchPlan {
            command: p.command.into(),
            stdin: p.stdin,
            prompt,
            ready: p.ready_pattern.map_or(api::ReadyWhen::Idle, api::ReadyWhen::Text),
            interrupt: api::Interrupt::Keys(vec!["C-c".into()]),
        }
    }
}

impl From<runner_api::Observation> for api::Observation {
    fn from(o: runner_api::Observation) -> Self {
        let activity = match o.activity {
            runner_api::Activity::Working => api::Activity::Working,
            runner_api::Activity::NeedsInput => api::Activity::NeedsInput,
            runner_api::Activity::Idle => api::Activity::Idle,
            runner_api::Activity::Exited => api::Activity::Exited,
            runner_api::Activity::Unknown => api::Activity::Unknown,
        };
        api::Observation { activity, reason: o.reason, evidence: o.evidence, resume_session: None }
    }
}
