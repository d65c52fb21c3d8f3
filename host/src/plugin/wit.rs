//! API version dispatch. A component's exports name the API it was built against
//! (`agency:plugin/runner@0.1.0`); this module reads that, refuses versions the host does not
//! support, and routes calls to the adapter of the matching frozen WIT folder: one
//! `since_v<x>_<y>_0.rs` per folder and one arm per version in each match. What the versions
//! share is converted once (`shared.rs`).

mod shared;
pub mod since_v0_1_0;
pub mod since_v0_2_0;

use wasmtime::component::Component;
use wasmtime::{Engine, Store};

use super::api;
use super::sandbox::State;
use crate::error::{AgencyError, ErrorCode, Result};

/// Interfaces the host provides to plugins, by name prefix (any 0.2.x WASI, agency 0.1.x).
const PROVIDED_IMPORTS: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
    "agency:plugin/types@0.1.",
    "agency:plugin/host@0.1.",
    "agency:plugin/types@0.2.",
    "agency:plugin/host@0.2.",
];

/// API versions this host loads, as `major.minor`.
pub const SUPPORTED: &[(u64, u64)] = &[since_v0_1_0::VERSION, since_v0_2_0::VERSION];

/// A loaded plugin, ready to instantiate per call.
pub enum Pre {
    V0_1(since_v0_1_0::Pre),
    V0_2(since_v0_2_0::Pre),
}

/// What a component's exports say: which world, which API version.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Exported {
    pub kind: api::PluginKind,
    pub version: String,
}

impl Exported {
    fn major_minor(&self) -> (Option<u64>, Option<u64>) {
        let mut parts = self.version.split('.').map(|p| p.parse::<u64>().ok());
        (parts.next().flatten(), parts.next().flatten())
    }

    /// A version this host loads, written as a component names it (`major.minor.patch`): what
    /// a declaration kept on disk must say before it is believed.
    pub fn is_supported(&self) -> bool {
        let numeric = self.version.len() <= 32 && self.version.split('.').all(|p| p.parse::<u64>().is_ok());
        numeric && matches!(self.major_minor(), (Some(major), Some(minor)) if SUPPORTED.contains(&(major, minor)))
    }
}

/// Read the exported world and API version from the component's type.
pub fn exported(engine: &Engine, component: &Component) -> Result<Exported> {
    let ty = component.component_type();
    let names: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    for name in &names {
        let (interface, kind) = match name.split_once('@') {
            Some(("agency:plugin/runner", _)) => (name, api::PluginKind::Runner),
            Some(("agency:plugin/step", _)) => (name, api::PluginKind::Step),
            _ => continue,
        };
        let version = interface.split_once('@').map(|(_, v)| v.to_string()).unwrap_or_default();
        return Ok(Exported { kind, version });
    }
    Err(AgencyError::new(
        ErrorCode::PluginInvalid,
        format!(
            "the component does not export an agency plugin world (exports: {})",
            if names.is_empty() { "none".into() } else { names.join(", ") }
        ),
    )
    .with_hint("a plugin exports agency:plugin/runner or agency:plugin/step (see docs/plugins.md)"))
}

/// Check the version and pre-instantiate against the host's imports.
pub fn prepare(engine: &Engine, component: &Component, exported: &Exported) -> Result<Pre> {
    let version = exported.major_minor();
    let unsupported = || {
        let supported: Vec<String> = SUPPORTED.iter().map(|(major, minor)| format!("{major}.{minor}.x")).collect();
        AgencyError::new(
            ErrorCode::PluginApiUnsupported,
            format!(
                "the plugin was built for agency:plugin@{}; this agency supports {}",
                exported.version,
                supported.join(", ")
            ),
        )
        .with_hint("rebuild the plugin against a supported API version, or upgrade agency")
    };
    let import_error = |e: wasmtime::Error| import_error(engine, component, &e);
    match version {
        (Some(major), Some(minor)) if (major, minor) == since_v0_1_0::VERSION => {
            Ok(Pre::V0_1(since_v0_1_0::Pre::new(engine, component, exported.kind).map_err(import_error)?))
        }
        (Some(major), Some(minor)) if (major, minor) == since_v0_2_0::VERSION => {
            Ok(Pre::V0_2(since_v0_2_0::Pre::new(engine, component, exported.kind).map_err(import_error)?))
        }
        _ => Err(unsupported()),
    }
}

fn import_error(engine: &Engine, component: &Component, err: &wasmtime::Error) -> AgencyError {
    let unknown: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .filter(|name| !PROVIDED_IMPORTS.iter().any(|p| name.starts_with(p)))
        .collect();
    if unknown.is_empty() {
        // Every import is provided, so the exports or the imports' types do not match the API.
        return AgencyError::new(
            ErrorCode::PluginInvalid,
            format!(
                "the plugin does not match the API it names: {}",
                crate::safe_text::one_line(&format!("{err:#}"), 300)
            ),
        )
        .with_hint("rebuild the plugin against the frozen WIT of its API version (agency plugin new scaffolds one)");
    }
    AgencyError::new(
        ErrorCode::PluginImportUnsupported,
        format!("the plugin imports {} which agency does not provide", unknown.join(", ")),
    )
    .with_hint("plugins get WASI 0.2 (no http) and agency:plugin/host; for componentize-js, build without the http and fetch-event features")
}

impl Pre {
    pub fn info(&self, store: &mut Store<State>) -> wasmtime::Result<api::PluginInfo> {
        match self {
            Pre::V0_1(pre) => pre.info(store),
            Pre::V0_2(pre) => pre.info(store),
        }
    }

    pub fn plan(
        &self,
        store: &mut Store<State>,
        run: &api::RunInfo,
        request: &api::PlanRequest,
    ) -> wasmtime::Result<Result<api::LaunchPlan, api::PluginError>> {
        match self {
            Pre::V0_1(pre) => pre.plan(store, run, request),
            Pre::V0_2(pre) => pre.plan(store, run, request),
        }
    }

    pub fn classify(&self, store: &mut Store<State>, screen: &str) -> wasmtime::Result<api::Observation> {
        match self {
            Pre::V0_1(pre) => pre.classify(store, screen),
            Pre::V0_2(pre) => pre.classify(store, screen),
        }
    }

    /// `None` for 0.1 plugins, which cannot read headless output (the host decides from the
    /// exit code alone).
    pub fn headless_result(
        &self,
        store: &mut Store<State>,
        output: &str,
        exit_code: Option<i32>,
    ) -> wasmtime::Result<Option<api::HeadlessResult>> {
        match self {
            Pre::V0_1(_) => Ok(None),
            Pre::V0_2(pre) => pre.headless_result(store, output, exit_code).map(Some),
        }
    }

    pub fn run_step(
        &self,
        store: &mut Store<State>,
        phase: api::Phase,
        run: &api::RunInfo,
    ) -> wasmtime::Result<Result<api::Outcome, api::PluginError>> {
        match self {
            Pre::V0_1(pre) => pre.run_step(store, phase, run),
            Pre::V0_2(pre) => pre.run_step(store, phase, run),
        }
    }
}
