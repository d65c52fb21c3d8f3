//! The WebAssembly plugin host, behind a façade that speaks domain types only: find and load
//! a plugin (compiled-code cache, API version check, shape and `info` validation), decide
//! what it is granted, and call it — `run_step`, `plan`, `classify` — in a fresh sandboxed
//! store with one wall-clock deadline (host calls included), a memory cap over the whole
//! instance and captured, bounded output. Everything a plugin hands back goes through the
//! one checker before the host acts on it. Every failure is one `E_PLUGIN_*` error naming the
//! plugin, the export and the plugin log. Nothing outside this module names wasmtime.

pub mod api;
mod builtin;
mod call;
pub mod checker;
mod engine;
pub mod env_names;
pub mod grants;
mod kept;
pub mod manifest;
mod sandbox;
pub mod source;
mod wit;

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use serde::Serialize;

use api::{
    Capability, HeadlessResult, LaunchPlan, Observation, Outcome, Phase, PlanRequest, PluginInfo, PluginKind, RunInfo,
};
use checker::{Approved, AreaRoots, CommandRequest, LaunchRequest, Policy};
pub use engine::Loaded;
use sandbox::CallSetup;
pub use source::{Origin, Source};

use crate::error::{AgencyError, ErrorCode, Result};
use crate::safe_text;
use crate::store::Dirs;

/// Deadlines per export (wall clock, host calls included).
const INFO_DEADLINE: Duration = Duration::from_secs(5);
const PLAN_DEADLINE: Duration = Duration::from_secs(10);
const CLASSIFY_DEADLINE: Duration = Duration::from_secs(2);
/// A step's budget is its timeout plus this, so it can report a timed-out command.
const STEP_GRACE: Duration = Duration::from_secs(10);
/// `host.log` bytes a classify call may write (it runs on every `ls` of a live run).
const CLASSIFY_LOG_LIMIT: usize = 4 << 10;
/// Largest text a plugin may return in one field.
const MAX_SUMMARY: usize = 64 << 10;
const MAX_DATA: usize = 1 << 20;
const MAX_REASON: usize = 200;
const MAX_EVIDENCE: usize = 300;

/// A loaded plugin: identity and declarations. Its compiled code is loaded, and linked against
/// the host's imports, on the first real call (a load answered from a kept declaration opens
/// neither the engine nor the code).
pub struct Plugin {
    pub info: PluginInfo,
    pub sha256: String,
    pub origin: Origin,
    pub api_version: String,
    pub loaded: Loaded,
    exported: wit::Exported,
    code: Code,
    pre: OnceCell<wit::Pre>,
}

/// Where the compiled component comes from.
enum Code {
    /// Compiled (or taken from the cache) while loading.
    Ready(wasmtime::component::Component),
    /// Not loaded yet: the declaration was kept. These bytes are loaded through the compile
    /// cache on the first call.
    Deferred(std::borrow::Cow<'static, [u8]>),
}

/// What the record keeps about the plugin that performed a step.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    pub id: String,
    pub version: String,
    pub sha256: String,
    pub api_version: String,
    pub origin: String,
    pub grants: Vec<String>,
}

impl Plugin {
    /// The component linked against the host's imports (done once, on first need). Deferred
    /// code must still export what its kept declaration says; if not, the declaration is
    /// forgotten and the call refused (the next load asks `info` again).
    fn linked(&self, engine: &engine::Engine, cache_dir: &Path) -> Result<&wit::Pre> {
        if let Some(pre) = self.pre.get() {
            return Ok(pre);
        }
        let pre = match &self.code {
            Code::Ready(component) => wit::prepare(&engine.engine, component, &self.exported)?,
            Code::Deferred(bytes) => {
                let (component, _) = engine.load(bytes, &self.sha256, cache_dir)?;
                let exported = wit::exported(&engine.engine, &component)?;
                if exported != self.exported {
                    kept::forget(cache_dir, &self.sha256);
                    return Err(AgencyError::new(
                        ErrorCode::PluginInvalid,
                        format!(
                            "plugin `{}`: its compiled code does not match the declaration kept for it",
                            self.info.id
                        ),
                    )
                    .with_hint("run the command again (the kept declaration was dropped and is asked for anew)"));
                }
                wit::prepare(&engine.engine, &component, &exported)?
            }
        };
        Ok(self.pre.get_or_init(|| pre))
    }

    pub fn provenance(&self, granted: &[Capability]) -> Provenance {
        Provenance {
            id: self.info.id.clone(),
            version: self.info.version.clone(),
            sha256: self.sha256.clone(),
            api_version: self.api_version.clone(),
            origin: self.origin.describe(),
            grants: granted.iter().map(ToString::to_string).collect(),
        }
    }

    pub fn is_builtin(&self) -> bool {
        self.origin == Origin::Builtin
    }
}

/// How a plugin's declaration is found.
enum Found {
    /// Kept for these bytes by an earlier load.
    Kept(kept::Declaration, std::borrow::Cow<'static, [u8]>),
    /// To be asked of the component.
    Component(wasmtime::component::Component),
}

/// A plugin found under a name (pin, install) must report that name as its id.
fn check_expected_id(source: &Source, info: &PluginInfo) -> Result<()> {
    match &source.expected_id {
        Some(expected) if &info.id != expected => Err(AgencyError::new(
            ErrorCode::PluginInvalid,
            format!("plugin found as `{expected}` reports id `{}`", info.id),
        )
        .with_hint("plugin ids must match the name they are configured or installed under")),
        _ => Ok(()),
    }
}

/// Directories and grants for one call.
pub struct CallContext {
    pub run: Option<RunInfo>,
    pub granted: Vec<Capability>,
    /// Where `host.exec` output goes (a step's log).
    pub exec_log: Option<PathBuf>,
    /// Budget of the call, overriding the export's default.
    pub deadline: Option<Duration>,
    /// The run's `AGENCY_*` variables for the commands the plugin runs.
    pub agency_env: Vec<(String, String)>,
}

impl CallContext {
    /// A call about `run` with what the plugin was granted.
    pub fn for_run(run: RunInfo, granted: Vec<Capability>) -> Self {
        CallContext { run: Some(run), granted, exec_log: None, deadline: None, agency_env: Vec::new() }
    }
}

pub struct PluginHost {
    engine: OnceCell<engine::Engine>,
    cache_dir: PathBuf,
    plugins_dir: PathBuf,
    data_dir: PathBuf,
    loaded: RefCell<HashMap<String, Rc<Plugin>>>,
}

impl PluginHost {
    pub fn new(dirs: &Dirs) -> PluginHost {
        PluginHost {
            engine: OnceCell::new(),
            cache_dir: dirs.cache.clone(),
            plugins_dir: dirs.data.join("plugins"),
            data_dir: dirs.data.clone(),
            loaded: RefCell::new(HashMap::new()),
        }
    }

    pub fn plugins_dir(&self) -> &Path {
        &self.plugins_dir
    }

    fn engine(&self) -> Result<&engine::Engine> {
        if let Some(engine) = self.engine.get() {
            return Ok(engine);
        }
        let engine = engine::Engine::new()?;
        Ok(self.engine.get_or_init(|| engine))
    }

    /// Find the declaration of these bytes (kept, or by compiling or loading them from the
    /// cache, checking the API version and imports and calling `info`) and validate it.
    pub fn load(&self, source: Source) -> Result<Rc<Plugin>> {
        if let Some(plugin) = self.loaded.borrow().get(&source.sha256) {
            // The same bytes may be found again under another name: that name must still match.
            check_expected_id(&source, &plugin.info)?;
            return Ok(plugin.clone());
        }
        if source.dev {
            return self.load_uncached(source);
        }
        if let Some(declaration) = kept::read(&self.cache_dir, &source.sha256) {
            let mut source = source;
            let bytes = std::mem::take(&mut source.bytes);
            return self.finish_load(source, Loaded::CacheHit, Found::Kept(declaration, bytes));
        }
        let (component, loaded) = self.engine()?.load(&source.bytes, &source.sha256, &self.cache_dir)?;
        let sha256 = source.sha256.clone();
        let plugin = self.finish_load(source, loaded, Found::Component(component))?;
        let declaration = kept::Declaration { info: plugin.info.clone(), exported: plugin.exported.clone() };
        kept::keep(&self.cache_dir, &sha256, &declaration);
        Ok(plugin)
    }

    /// Like [`PluginHost::load`] but compiled in memory, never touching the shared cache.
    pub fn load_uncached(&self, source: Source) -> Result<Rc<Plugin>> {
        let component = self.engine()?.load_uncached(&source.bytes)?;
        self.finish_load(source, Loaded::Compiled, Found::Component(component))
    }

    /// Validate the declaration: the kept one, or what a component answers to `info` once its
    /// exports are read and it is linked.
    fn finish_load(&self, source: Source, loaded: Loaded, found: Found) -> Result<Rc<Plugin>> {
        let pre = OnceCell::new();
        let label = source.expected_id.clone().unwrap_or_else(|| source.origin.describe());
        let (info, exported, code) = match found {
            Found::Kept(kept, bytes) => (kept.info, kept.exported, Code::Deferred(bytes)),
            Found::Component(component) => {
                let exported = wit::exported(&self.engine()?.engine, &component)?;
                let (info, linked) = self.ask_info(&label, &component, &exported)?;
                let _ = pre.set(linked);
                (info, exported, Code::Ready(component))
            }
        };
        manifest::validate(&info, exported.kind).map_err(|problem| {
            AgencyError::new(ErrorCode::PluginInvalid, format!("plugin {label}: invalid info: {problem}"))
                .with_hint("the plugin's author must fix its declaration")
        })?;
        check_expected_id(&source, &info)?;
        let plugin = Rc::new(Plugin {
            info,
            sha256: source.sha256.clone(),
            origin: source.origin,
            api_version: exported.version.clone(),
            loaded,
            exported,
            code,
            pre,
        });
        self.loaded.borrow_mut().insert(source.sha256, plugin.clone());
        Ok(plugin)
    }

    /// Link the component and call its `info` in a sandbox of its own.
    fn ask_info(
        &self,
        label: &str,
        component: &wasmtime::component::Component,
        exported: &wit::Exported,
    ) -> Result<(PluginInfo, wit::Pre)> {
        let engine = self.engine()?;
        let setup = CallSetup {
            plugin_id: label.to_string(),
            declared: Vec::new(),
            granted: Vec::new(),
            areas: AreaRoots::default(),
            plugin_log: self.global_log(),
            exec_log: None,
            deadline: effective_deadline(INFO_DEADLINE),
            log_limit: sandbox::LOG_LIMIT,
            agency_env: Vec::new(),
            run_name: None,
        };
        let linked = wit::prepare(&engine.engine, component, exported)?;
        let info = call::call(engine, "info", setup, |store| linked.info(store))?;
        Ok((info, linked))
    }

    /// Find plugin `id` (project pins, installed, built-ins) and load it.
    pub fn find(&self, id: &str, project: Option<(&Path, &crate::config::AgencyJson)>) -> Result<Rc<Plugin>> {
        self.load(source::find(id, &self.plugins_dir, project)?)
    }

    /// Find plugin `id` and load it only if the user granted these exact bytes (or it is
    /// built in): read-only commands never run code nobody approved. `Ok(None)` when not granted.
    pub fn find_granted(
        &self,
        id: &str,
        project: Option<(&Path, &crate::config::AgencyJson)>,
        config_dir: &Path,
    ) -> Result<Option<Rc<Plugin>>> {
        self.find_granted_source(id, project, config_dir)?.map(|source| self.load(source)).transpose()
    }

    /// Like [`PluginHost::find_granted`] without loading: the granted bytes and their sha256
    /// (what a kept reading of the plugin is checked against).
    pub fn find_granted_source(
        &self,
        id: &str,
        project: Option<(&Path, &crate::config::AgencyJson)>,
        config_dir: &Path,
    ) -> Result<Option<Source>> {
        let source = source::find(id, &self.plugins_dir, project)?;
        if source.origin != Origin::Builtin {
            let grants = grants::Grants::load(config_dir)?;
            if grants.get(id, &source.sha256).is_none() {
                return Ok(None);
            }
        }
        Ok(Some(source))
    }

    /// Capabilities granted to `plugin`: a built-in's declarations, else the stored grant for
    /// its id and sha256 (`None` when the user has not granted this exact file yet).
    pub fn granted(&self, plugin: &Plugin, config_dir: &Path) -> Result<Option<Vec<Capability>>> {
        if plugin.is_builtin() {
            return Ok(Some(plugin.info.capabilities.clone()));
        }
        let grants = grants::Grants::load(config_dir)?;
        Ok(grants.get(&plugin.info.id, &plugin.sha256).map(|g| g.capabilities.clone()))
    }

    fn global_log(&self) -> PathBuf {
        self.data_dir.join("logs").join("plugins.log")
    }

    fn setup(&self, plugin: &Plugin, ctx: &CallContext, default_deadline: Duration) -> CallSetup {
        let (areas, plugin_log) = match &ctx.run {
            Some(run) => (AreaRoots::for_run(run), PathBuf::from(&run.log_dir).join("plugin.log")),
            None => (AreaRoots::default(), self.global_log()),
        };
        CallSetup {
            plugin_id: plugin.info.id.clone(),
            declared: plugin.info.capabilities.clone(),
            granted: ctx.granted.clone(),
            areas,
            plugin_log,
            exec_log: ctx.exec_log.clone(),
            deadline: effective_deadline(ctx.deadline.unwrap_or(default_deadline)),
            log_limit: sandbox::LOG_LIMIT,
            agency_env: ctx.agency_env.clone(),
            run_name: ctx.run.as_ref().map(|r| r.name.clone()),
        }
    }

    /// The engine, and `plugin` linked on it (see [`Plugin::linked`]).
    fn linked<'p>(&self, plugin: &'p Plugin) -> Result<(&engine::Engine, &'p wit::Pre)> {
        let engine = self.engine()?;
        Ok((engine, plugin.linked(engine, &self.cache_dir)?))
    }

    /// The directory for a plugin's `plugin-data` area.
    pub fn plugin_data_dir(&self, id: &str) -> PathBuf {
        self.data_dir.join("plugin-data").join(id)
    }

    /// Run a step plugin for `phase`. Its budget is the step's timeout plus a grace period.
    pub fn run_step(&self, plugin: &Plugin, phase: Phase, ctx: &CallContext) -> Result<Outcome> {
        let run = ctx.run.as_ref().ok_or_else(|| AgencyError::internal("a step needs a run"))?;
        let mut setup = self.setup(plugin, ctx, Duration::from_secs(600));
        setup.deadline = effective_deadline(ctx.deadline.unwrap_or(Duration::from_secs(600)) + STEP_GRACE);
        let context = call_context(&setup);
        let (engine, pre) = self.linked(plugin)?;
        let outcome = call::call(engine, "run", setup, |store| pre.run_step(store, phase, run))?;
        let mut outcome = outcome.map_err(|e| call::returned_error(&plugin.info.id, "run", e, &context))?;
        check_len(&plugin.info.id, "summary", outcome.summary.len(), MAX_SUMMARY)?;
        check_len(&plugin.info.id, "data", outcome.data.as_ref().map_or(0, String::len), MAX_DATA)?;
        outcome.summary = safe_text::one_line(&outcome.summary, 500);
        Ok(outcome)
    }

    /// Ask a runner plugin for its launch plan. Check it with [`PluginHost::check_launch`]
    /// before acting on any of it.
    pub fn plan(&self, plugin: &Plugin, ctx: &CallContext, request: &PlanRequest) -> Result<LaunchPlan> {
        let run = ctx.run.as_ref().ok_or_else(|| AgencyError::internal("a plan needs a run"))?;
        let setup = self.setup(plugin, ctx, PLAN_DEADLINE);
        let context = call_context(&setup);
        let (engine, pre) = self.linked(plugin)?;
        let plan = call::call(engine, "plan", setup, |store| pre.plan(store, run, request))?;
        plan.map_err(|e| call::returned_error(&plugin.info.id, "plan", e, &context))
    }

    /// Classify a pane's text with a runner plugin (no filesystem, no exec). Its log lines go
    /// to `log` (the run's plugin log), a few KiB per call at most.
    pub fn classify(&self, plugin: &Plugin, screen: &str, log: Option<&Path>) -> Result<Observation> {
        let ctx =
            CallContext { run: None, granted: Vec::new(), exec_log: None, deadline: None, agency_env: Vec::new() };
        let mut setup = self.setup(plugin, &ctx, CLASSIFY_DEADLINE);
        setup.log_limit = CLASSIFY_LOG_LIMIT;
        if let Some(log) = log {
            setup.plugin_log = log.to_path_buf();
        }
        let (engine, pre) = self.linked(plugin)?;
        let observation = call::call(engine, "classify", setup, |store| pre.classify(store, screen))?;
        Ok(safe_observation(observation))
    }

    /// Read a finished headless run's output with its runner plugin (API 0.2; `None` for 0.1
    /// plugins). Like `classify`: no filesystem, no exec, a small log.
    pub fn headless_result(
        &self,
        plugin: &Plugin,
        output: &str,
        exit_code: Option<i32>,
        log: Option<&Path>,
    ) -> Result<Option<HeadlessResult>> {
        let ctx =
            CallContext { run: None, granted: Vec::new(), exec_log: None, deadline: None, agency_env: Vec::new() };
        let mut setup = self.setup(plugin, &ctx, CLASSIFY_DEADLINE);
        setup.log_limit = CLASSIFY_LOG_LIMIT;
        if let Some(log) = log {
            setup.plugin_log = log.to_path_buf();
        }
        let (engine, pre) = self.linked(plugin)?;
        let result =
            call::call(engine, "headless-result", setup, |store| pre.headless_result(store, output, exit_code))?;
        Ok(result.map(|mut r| {
            r.message = r.message.map(|m| safe_text::one_line(&m, MAX_EVIDENCE));
            r.resume_session = r.resume_session.filter(|s| valid_session_id(s));
            r
        }))
    }

    /// Check a launch plan with the one checker; the result is exactly what the host may run.
    /// `then` is what the user does after installing a missing agent program.
    pub fn check_launch(
        &self,
        plugin: &Plugin,
        granted: &[Capability],
        run: &RunInfo,
        plan: &LaunchPlan,
        then: &str,
    ) -> Result<Approved> {
        let areas = AreaRoots::for_run(run);
        let cwd = PathBuf::from(plan.command.cwd.clone().unwrap_or_else(|| run.worktree.clone()));
        let request = LaunchRequest {
            command: CommandRequest {
                program: &plan.command.program,
                args: &plan.command.args,
                cwd: &cwd,
                env: &plan.command.env,
                stdin: plan.stdin.as_deref(),
            },
            ready_pattern: match &plan.ready {
                api::ReadyWhen::Text(text) => Some(text.as_str()),
                api::ReadyWhen::Idle => None,
            },
            keystrokes: plan.prompt.pasted(),
            interrupt_keys: match &plan.interrupt {
                api::Interrupt::Keys(keys) => keys,
                api::Interrupt::Signal(_) => &[],
            },
        };
        let policy = Policy { declared: &plugin.info.capabilities, granted, areas: &areas };
        policy.check_launch(&request).map_err(|denial| {
            if denial.kind == checker::DenialKind::NotFound {
                return AgencyError::new(
                    ErrorCode::RunnerNotFound,
                    format!("runner `{}` needs `{}`, which is not on PATH", run.runner, plan.command.program),
                )
                .with_hint(format!("install {} (or fix PATH), then: {then}", plan.command.program));
            }
            call::denied(&plugin.info.id, &denial, &format!("launch plan for run {}", run.name))
        })
    }
}

/// A `classify` answer made safe to show: one line each, bounded, a session id only if valid.
/// Also applied to a reading kept on disk, which anyone who can write the run dir could edit.
pub fn safe_observation(mut observation: Observation) -> Observation {
    observation.reason = safe_text::one_line(&observation.reason, MAX_REASON);
    // Boxed TUIs frame their lines (`│ … │`); 0.1 plugins leave the frame in.
    observation.evidence =
        observation.evidence.map(|e| safe_text::one_line(e.trim().trim_matches(['│', '┃', '║', '|']), MAX_EVIDENCE));
    observation.resume_session = observation.resume_session.filter(|s| valid_session_id(s));
    observation
}

/// An agent's session id as a plugin reports it: it goes back into a launch plan as an
/// argument, so only short ids of letters, digits, `-`, `_` and `.` are kept.
pub fn valid_session_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn call_context(setup: &CallSetup) -> String {
    match &setup.run_name {
        Some(name) => format!("agency logs {name} plugin   # what the plugin printed and logged"),
        None => format!("the plugin's output is in {}", setup.plugin_log.display()),
    }
}

/// `AGENCY_PLUGIN_TIMEOUT` caps every plugin call's own deadline (for tests and slow machines).
fn effective_deadline(default: Duration) -> Duration {
    std::env::var("AGENCY_PLUGIN_TIMEOUT")
        .ok()
        .and_then(|v| humantime::parse_duration(&v).ok())
        .map_or(default, |cap| cap.min(default))
}

fn check_len(plugin_id: &str, field: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(AgencyError::new(
            ErrorCode::PluginFailed,
            format!("plugin `{plugin_id}` returned an oversized {field} ({len} bytes; limit {max})"),
        )
        .with_hint("the plugin's author must return less"));
    }
    Ok(())
}

/// Recorded screens shipped with agency for runner `id` (conformance kit): (file, text).
pub fn shipped_screens(id: &str) -> Vec<(&'static str, &'static str)> {
    builtin::screens(id)
}

/// Ids of the built-in plugins.
pub fn builtin_ids() -> Vec<&'static str> {
    builtin::ids().collect()
}

/// Whether a plugin kind matches what a caller needs, as an error.
pub fn expect_kind(plugin: &Plugin, kind: PluginKind) -> Result<()> {
    if plugin.info.kind == kind {
        return Ok(());
    }
    Err(AgencyError::new(
        ErrorCode::PluginInvalid,
        format!("plugin `{}` is a {} plugin, not a {}", plugin.info.id, plugin.info.kind.as_str(), kind.as_str()),
    )
    .with_hint("agency plugin list   # shows each plugin's kind"))
}

/// Append a line to a log file (used for step logs and plugin logs alike).
pub fn append_log_line(path: &Path, line: &str) {
    sandbox::append_line(path, line);
}

/// Whether `id` is a built-in plugin's id (reserved: a repository cannot pin another plugin under it).
pub fn is_builtin_id(id: &str) -> bool {
    builtin::bytes(id).is_some()
}
