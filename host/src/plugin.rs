//! The WebAssembly plugin host, behind a façade that speaks domain types only: find and load
//! a plugin (compiled-code cache, API version check, `info` validation), decide what it is
//! granted, and call it — `run_step`, `plan`, `classify` — in a fresh sandboxed store with a
//! deadline (host `exec` time excluded), a memory cap and captured output. Every failure is one
//! `E_PLUGIN_*` error naming the plugin, the export and the plugin log. Nothing outside this
//! module names wasmtime.

pub mod api;
mod builtin;
pub mod checker;
mod engine;
pub mod grants;
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
use wasmtime::{Store, Trap, UpdateDeadline};

use api::{Area, Capability, LaunchPlan, Observation, Outcome, Phase, PlanRequest, PluginInfo, PluginKind, RunInfo};
use checker::AreaRoots;
pub use engine::Loaded;
use sandbox::{CallSetup, State};
pub use source::{Origin, Source};

use crate::error::{AgencyError, ErrorCode, Result};
use crate::store::Dirs;

/// Deadlines for the plugin's own computation per export.
const INFO_DEADLINE: Duration = Duration::from_secs(5);
const PLAN_DEADLINE: Duration = Duration::from_secs(10);
const CLASSIFY_DEADLINE: Duration = Duration::from_secs(2);
/// Largest text a plugin may return in one field.
const MAX_SUMMARY: usize = 64 << 10;
const MAX_DATA: usize = 1 << 20;
const MAX_PLAN_TEXT: usize = 1 << 20;

/// A loaded plugin: identity, declarations, and the pre-instantiated component.
pub struct Plugin {
    pub info: PluginInfo,
    pub sha256: String,
    pub origin: Origin,
    pub api_version: String,
    pub loaded: Loaded,
    pre: wit::Pre,
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
    /// Deadline for the plugin's own computation, overriding the export's default.
    pub deadline: Option<Duration>,
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

    /// Compile (or load from cache), check the API version and imports, call `info`, validate.
    pub fn load(&self, source: Source) -> Result<Rc<Plugin>> {
        if let Some(plugin) = self.loaded.borrow().get(&source.sha256) {
            // The same bytes may be found again under another name: that name must still match.
            check_expected_id(&source, &plugin.info)?;
            return Ok(plugin.clone());
        }
        if source.dev {
            return self.load_uncached(source);
        }
        let engine = self.engine()?;
        let (component, loaded) = engine.load(&source.bytes, &source.sha256, &self.cache_dir)?;
        self.finish_load(source, &component, loaded)
    }

    /// Like [`PluginHost::load`] but compiled in memory, never touching the shared cache.
    pub fn load_uncached(&self, source: Source) -> Result<Rc<Plugin>> {
        let component = self.engine()?.load_uncached(&source.bytes)?;
        self.finish_load(source, &component, Loaded::Compiled)
    }

    fn finish_load(
        &self,
        source: Source,
        component: &wasmtime::component::Component,
        loaded: Loaded,
    ) -> Result<Rc<Plugin>> {
        let engine = self.engine()?;
        let exported = wit::exported(&engine.engine, component)?;
        let pre = wit::prepare(&engine.engine, component, &exported)?;
        let label = source.expected_id.clone().unwrap_or_else(|| source.origin.describe());
        let setup = CallSetup {
            plugin_id: label.clone(),
            declared: Vec::new(),
            granted: Vec::new(),
            areas: AreaRoots::default(),
            plugin_log: self.global_log(),
            exec_log: None,
            deadline: effective_deadline(INFO_DEADLINE),
            run_name: None,
        };
        let info = self.call(&label, "info", setup, |store| pre.info(store))?;
        manifest::validate(&info, exported.kind).map_err(|problem| {
            AgencyError::new(ErrorCode::PluginInvalid, format!("plugin {label}: invalid info: {problem}"))
                .with_hint("the plugin's author must fix its declaration")
        })?;
        check_expected_id(&source, &info)?;
        let plugin = Rc::new(Plugin {
            info,
            sha256: source.sha256.clone(),
            origin: source.origin,
            api_version: exported.version,
            loaded,
            pre,
        });
        self.loaded.borrow_mut().insert(source.sha256, plugin.clone());
        Ok(plugin)
    }

    /// Find plugin `id` (project pins, installed, built-ins) and load it.
    pub fn find(&self, id: &str, project: Option<(&Path, &crate::config::AgencyJson)>) -> Result<Rc<Plugin>> {
        self.load(source::find(id, &self.plugins_dir, project)?)
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
            Some(run) => (
                AreaRoots::new([
                    (Area::Worktree, PathBuf::from(&run.worktree)),
                    (Area::Repo, PathBuf::from(&run.repo_root)),
                    (Area::RunDir, PathBuf::from(&run.run_dir)),
                    (Area::PluginData, PathBuf::from(&run.plugin_data)),
                ]),
                PathBuf::from(&run.log_dir).join("plugin.log"),
            ),
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
            run_name: ctx.run.as_ref().map(|r| r.name.clone()),
        }
    }

    /// The directory for a plugin's `plugin-data` area.
    pub fn plugin_data_dir(&self, id: &str) -> PathBuf {
        self.data_dir.join("plugin-data").join(id)
    }

    /// Run a step plugin for `phase`.
    pub fn run_step(&self, plugin: &Plugin, phase: Phase, ctx: &CallContext) -> Result<Outcome> {
        let run = ctx.run.as_ref().ok_or_else(|| AgencyError::internal("a step needs a run"))?;
        let setup = self.setup(plugin, ctx, Duration::from_secs(600));
        let outcome = self.call(&plugin.info.id, "run", setup, |store| plugin.pre.run_step(store, phase, run))?;
        let outcome = outcome.map_err(|e| plugin_returned_error(&plugin.info.id, "run", e))?;
        check_len(&plugin.info.id, "summary", outcome.summary.len(), MAX_SUMMARY)?;
        check_len(&plugin.info.id, "data", outcome.data.as_ref().map_or(0, String::len), MAX_DATA)?;
        Ok(outcome)
    }

    /// Ask a runner plugin for its launch plan. The caller checks the plan with the checker.
    pub fn plan(&self, plugin: &Plugin, ctx: &CallContext, request: &PlanRequest) -> Result<LaunchPlan> {
        let run = ctx.run.as_ref().ok_or_else(|| AgencyError::internal("a plan needs a run"))?;
        let setup = self.setup(plugin, ctx, PLAN_DEADLINE);
        let plan = self.call(&plugin.info.id, "plan", setup, |store| plugin.pre.plan(store, run, request))?;
        let plan = plan.map_err(|e| plugin_returned_error(&plugin.info.id, "plan", e))?;
        let size = plan.command.program.len()
            + plan.command.args.iter().map(String::len).sum::<usize>()
            + plan.stdin.as_ref().map_or(0, String::len)
            + plan.send_after_ready.as_ref().map_or(0, String::len);
        check_len(&plugin.info.id, "launch plan", size, MAX_PLAN_TEXT)?;
        Ok(plan)
    }

    /// Classify a pane's text with a runner plugin (no filesystem, no exec).
    pub fn classify(&self, plugin: &Plugin, screen: &str) -> Result<Observation> {
        let ctx = CallContext { run: None, granted: Vec::new(), exec_log: None, deadline: None };
        let setup = self.setup(plugin, &ctx, CLASSIFY_DEADLINE);
        let mut observation =
            self.call(&plugin.info.id, "classify", setup, |store| plugin.pre.classify(store, screen))?;
        observation.reason = observation.reason.chars().take(200).collect();
        observation.evidence = observation.evidence.map(|e| e.chars().take(300).collect());
        Ok(observation)
    }

    /// One export call in a fresh store, with the deadline, limits and error classification.
    fn call<T>(
        &self,
        plugin_id: &str,
        export: &str,
        setup: CallSetup,
        body: impl FnOnce(&mut Store<State>) -> wasmtime::Result<T>,
    ) -> Result<T> {
        let engine = self.engine()?;
        let log = setup.plugin_log.clone();
        let hint = match &setup.run_name {
            Some(name) => format!("agency logs {name} plugin   # shows what the plugin printed and logged"),
            None => format!("the plugin's output is in {}", setup.plugin_log.display()),
        };
        let state =
            State::new(setup).map_err(|e| AgencyError::internal(format!("cannot set up the plugin sandbox: {e:#}")))?;
        let mut store = Store::new(&engine.engine, state);
        store.limiter(|state| state.limiter());
        let ticks = |left: Duration| (left.as_millis() / engine::EPOCH_TICK.as_millis()) as u64 + 1;
        store.set_epoch_deadline(ticks(store.data().setup.deadline));
        store.epoch_deadline_callback(move |mut ctx| {
            let state = ctx.data_mut();
            let used = state.guest_time();
            if used >= state.setup.deadline {
                state.timed_out = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            // Host exec time was excluded: extend by what the plugin has left.
            Ok(UpdateDeadline::Continue(ticks(state.setup.deadline - used)))
        });
        let result = body(&mut store);
        let state = store.data();
        let stderr = state.flush_output();
        match result {
            Ok(value) => match state.denials.first() {
                None => Ok(value),
                Some(denial) => {
                    let fix = if denial.grantable {
                        format!("agency plugin trust {plugin_id}   # grants what it declares; {hint}")
                    } else {
                        format!("the plugin does not declare this capability; its author must add it to info ({hint})")
                    };
                    Err(AgencyError::new(
                        ErrorCode::PluginDenied,
                        format!("plugin `{plugin_id}` was denied {}: {}", denial.asked, denial.reason),
                    )
                    .with_hint(fix))
                }
            },
            Err(err) => Err(classify_failure(plugin_id, export, state, &err, &stderr)
                .with_detail("plugin_log", log.display())
                .with_hint(hint)),
        }
    }
}

/// `AGENCY_PLUGIN_TIMEOUT` caps every plugin call's own deadline (for tests and slow machines).
fn effective_deadline(default: Duration) -> Duration {
    std::env::var("AGENCY_PLUGIN_TIMEOUT")
        .ok()
        .and_then(|v| humantime::parse_duration(&v).ok())
        .map_or(default, |cap| cap.min(default))
}

fn classify_failure(plugin_id: &str, export: &str, state: &State, err: &wasmtime::Error, stderr: &str) -> AgencyError {
    if state.timed_out {
        return AgencyError::new(
            ErrorCode::PluginTimeout,
            format!(
                "plugin `{plugin_id}` did not return from `{export}` within {}",
                humantime::format_duration(state.setup.deadline)
            ),
        );
    }
    if state.memory_limit_hit() {
        return AgencyError::new(
            ErrorCode::PluginMemory,
            format!(
                "plugin `{plugin_id}` exceeded its memory limit of {} MiB in `{export}`",
                sandbox::MEMORY_LIMIT >> 20
            ),
        );
    }
    let what = match err.downcast_ref::<Trap>() {
        Some(Trap::MemoryOutOfBounds) => {
            format!("{} (usually a stack overflow from deep recursion)", Trap::MemoryOutOfBounds)
        }
        Some(Trap::StackOverflow) => format!("{} (stack overflow)", Trap::StackOverflow),
        Some(trap) => trap.to_string(),
        None => format!("{err:#}").lines().next().unwrap_or_default().to_string(),
    };
    let panic = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join(" | ");
    let message = match panic.is_empty() {
        true => format!("plugin `{plugin_id}` trapped in `{export}`: {what}"),
        false => format!("plugin `{plugin_id}` trapped in `{export}`: {what}; stderr: {panic}"),
    };
    AgencyError::new(ErrorCode::PluginTrap, message)
}

fn plugin_returned_error(plugin_id: &str, export: &str, e: api::PluginError) -> AgencyError {
    let code = if e.kind == api::ErrorKind::Denied { ErrorCode::PluginDenied } else { ErrorCode::PluginFailed };
    let err = AgencyError::new(code, format!("plugin `{plugin_id}` failed in `{export}`: {}", e.message));
    match e.hint {
        Some(hint) => err.with_hint(hint),
        None => err,
    }
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

impl PluginHost {
    /// Check a launch plan with the one checker before the host starts it.
    pub fn check_launch(
        &self,
        plugin: &Plugin,
        granted: &[Capability],
        run: &RunInfo,
        plan: &LaunchPlan,
    ) -> Result<()> {
        let areas = AreaRoots::new([
            (Area::Worktree, PathBuf::from(&run.worktree)),
            (Area::Repo, PathBuf::from(&run.repo_root)),
            (Area::RunDir, PathBuf::from(&run.run_dir)),
            (Area::PluginData, PathBuf::from(&run.plugin_data)),
        ]);
        let cwd = PathBuf::from(plan.command.cwd.clone().unwrap_or_else(|| run.worktree.clone()));
        let host_env = plan
            .command
            .env
            .iter()
            .filter_map(|(_, v)| if let api::EnvValue::Host(n) = v { Some(n.as_str()) } else { None })
            .collect();
        let request =
            checker::CommandRequest { program: &plan.command.program, args: &plan.command.args, cwd: &cwd, host_env };
        let policy = checker::Policy { declared: &plugin.info.capabilities, granted, areas: &areas };
        policy.check(&checker::Request::Launch(&request)).map_err(|denial| {
            let id = &plugin.info.id;
            let hint = if denial.grantable {
                format!("agency plugin trust {id}")
            } else {
                format!("plugin `{id}` must declare it in info; contact its author")
            };
            AgencyError::new(
                ErrorCode::PluginDenied,
                format!("launch plan of plugin `{id}` denied: {}: {}", denial.asked, denial.reason),
            )
            .with_hint(hint)
        })
    }
}
