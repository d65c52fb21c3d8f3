//! Pipelines' side of plugins: which plugin a runner name or step config means, whether the
//! user granted it (asking on a TTY, `--yes` for scripts, otherwise the exact trust command),
//! and the `run-info` a call receives.

use std::path::Path;
use std::rc::Rc;

use crate::config::{AgencyJson, StepConfig};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::plugin::api::{Capability, PluginKind, RunInfo};
use crate::plugin::grants::Grants;
use crate::plugin::{self, Plugin, PluginHost};
use crate::safe_text;
use crate::store::RunPaths;
use crate::store::meta::RunMeta;

/// A plugin ready to call: loaded, of the right kind, granted.
pub struct Authorized {
    pub plugin: Rc<Plugin>,
    pub granted: Vec<Capability>,
    pub params: Vec<(String, String)>,
}

/// What `--runner <name>` means: a plugin id, or a `runners` entry of the user config (run by
/// the built-in `command` plugin with the configured command line).
pub fn runner_plugin_id(
    env: &Env,
    name: &str,
    project: Option<(&Path, &AgencyJson)>,
) -> Result<(String, Vec<(String, String)>)> {
    let command =
        env.user.runners.get(name).map(|line| vec![("command".to_string(), line.clone())]).unwrap_or_default();
    let known_plugin = plugin::source::exists(name, env.plugins().plugins_dir(), project);
    match (known_plugin, command.is_empty()) {
        (true, _) => Ok((name.to_string(), command)),
        (false, false) => Ok(("command".to_string(), command)),
        (false, true) => Err(unknown_runner(env, name, project)),
    }
}

/// The runner plugin a run was launched with, as its record says, else (a run recorded before
/// agency recorded plugins) what its runner name resolves to now.
pub fn run_runner_id(env: &Env, meta: &RunMeta, project: Option<(&Path, &AgencyJson)>) -> Result<String> {
    match meta.plugins.get("runner").and_then(|p| p.get("id")).and_then(|v| v.as_str()) {
        Some(id) => Ok(id.to_string()),
        None => Ok(runner_plugin_id(env, &meta.runner, project)?.0),
    }
}

/// `unknown runner`, listing every runner this command could use and the closest name.
fn unknown_runner(env: &Env, name: &str, project: Option<(&Path, &AgencyJson)>) -> AgencyError {
    let mut known: Vec<String> = plugin::builtin_ids()
        .into_iter()
        .filter(|id| !matches!(*id, "script" | "copy-files"))
        .map(String::from)
        .collect();
    known.extend(
        plugin::source::list_installed(env.plugins().plugins_dir())
            .into_iter()
            .filter(|m| m.kind == "runner")
            .map(|m| m.id),
    );
    if let Some((_, config)) = project {
        known.extend(config.plugins.iter().map(|pin| pin.id.clone()));
    }
    known.extend(env.user.runners.keys().cloned());
    known.sort();
    known.dedup();
    let closest = known.iter().min_by_key(|k| strsim::levenshtein(k, name)).filter(|k| {
        strsim::levenshtein(k, name) <= (name.len() / 3).max(2) || k.starts_with(name) || name.starts_with(k.as_str())
    });
    let hint = match closest {
        Some(k) => format!("did you mean --runner {k}? Runners here: {}", known.join(", ")),
        None => format!(
            "runners here: {}; or add \"runners\": {{\"{name}\": \"<command line>\"}} to config.json",
            known.join(", ")
        ),
    };
    AgencyError::new(ErrorCode::RunnerNotFound, format!("unknown runner `{name}`")).with_hint(hint)
}

/// Load and authorize the runner for `name`.
pub fn runner(env: &Env, name: &str, project: Option<(&Path, &AgencyJson)>) -> Result<Authorized> {
    let (id, params) = runner_plugin_id(env, name, project)?;
    let plugin = env.plugins().find(&id, project)?;
    plugin::expect_kind(&plugin, PluginKind::Runner)?;
    let granted = authorize(env, &plugin)?;
    Ok(Authorized { plugin, granted, params })
}

/// Load and authorize the step plugins configured for a phase.
pub fn steps(env: &Env, steps: &[StepConfig], project: (&Path, &AgencyJson)) -> Result<Vec<(StepConfig, Authorized)>> {
    steps
        .iter()
        .map(|step| {
            let plugin = env.plugins().find(&step.plugin, Some(project))?;
            plugin::expect_kind(&plugin, PluginKind::Step)?;
            let granted = authorize(env, &plugin)?;
            Ok((step.clone(), Authorized { plugin, granted, params: step.params.clone() }))
        })
        .collect()
}

/// The capabilities granted to `plugin`, asking the user when they have not been granted yet.
pub fn authorize(env: &Env, plugin: &Plugin) -> Result<Vec<Capability>> {
    let host: &PluginHost = env.plugins();
    if let Some(granted) = host.granted(plugin, &env.dirs.config)? {
        return Ok(granted);
    }
    let id = &plugin.info.id;
    let declared = &plugin.info.capabilities;
    if env.assume_yes {
        Grants::grant(&env.dirs.config, id, &plugin.sha256, declared.clone())?;
        env.ui.status(&format!(
            "granted plugin `{id}` ({}) its declared capabilities (--yes; remembered for these exact bytes, revoke with agency plugin remove {id})",
            short_sha(&plugin.sha256)
        ));
        return Ok(declared.clone());
    }
    if env.ui.interactive() {
        env.ui.status(&describe_request(plugin));
        let answer = env.ui.ask(&format!("Grant these capabilities to `{id}`? [y/N] ")).unwrap_or_default();
        if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            Grants::grant(&env.dirs.config, id, &plugin.sha256, declared.clone())?;
            return Ok(declared.clone());
        }
        return Err(AgencyError::new(ErrorCode::Aborted, format!("capabilities of plugin `{id}` were not granted"))
            .with_hint(format!("agency plugin inspect {id}   # review them; agency plugin trust {id} grants them")));
    }
    Err(AgencyError::new(
        ErrorCode::PluginNotTrusted,
        format!(
            "plugin `{id}` ({}, from {}) has not been granted its capabilities: {}",
            short_sha(&plugin.sha256),
            safe_text::one_line(&plugin.origin.describe(), 200),
            list(declared)
        ),
    )
    .with_hint(format!(
        "agency plugin inspect {id}   # review it; then agency plugin trust {id} (or pass --yes, which also remembers the grant)"
    )))
}

/// Text shown before asking for a grant. Everything the plugin supplied is escaped, so the
/// terminal shows exactly what is granted (no escape sequence can redraw the list).
pub fn describe_request(plugin: &Plugin) -> String {
    let mut text = format!(
        "plugin `{}` {} ({} plugin, sha256 {}, {}) asks for:",
        plugin.info.id,
        safe_text::one_line(&plugin.info.version, 64),
        plugin.info.kind.as_str(),
        short_sha(&plugin.sha256),
        safe_text::one_line(&plugin.origin.describe(), 200)
    );
    if plugin.info.capabilities.is_empty() {
        text.push_str("\n  (nothing)");
    }
    for capability in &plugin.info.capabilities {
        text.push_str(&format!("\n  - {}", safe_text::escape_controls(&capability.to_string())));
    }
    text
}

fn list(capabilities: &[Capability]) -> String {
    if capabilities.is_empty() {
        "none".into()
    } else {
        capabilities
            .iter()
            .map(|c| safe_text::escape_controls(&c.to_string()).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub fn short_sha(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// `run-info` for a call about `meta`'s run.
pub fn run_info(
    env: &Env,
    meta: &RunMeta,
    paths: &RunPaths,
    repo_root: &Path,
    plugin_id: &str,
    params: Vec<(String, String)>,
) -> Result<RunInfo> {
    let plugin_data = env.plugins().plugin_data_dir(plugin_id);
    crate::store::dirs::ensure_dir(&plugin_data)?;
    Ok(RunInfo {
        run_id: meta.run_id.clone(),
        name: meta.name.clone(),
        title: meta.display_title().to_string(),
        repo_id: meta.repo_id.clone(),
        repo_root: repo_root.display().to_string(),
        worktree: meta.worktree_path.clone(),
        run_dir: paths.dir.display().to_string(),
        log_dir: paths.logs().display().to_string(),
        plugin_data: plugin_data.display().to_string(),
        branch: meta.branch.clone(),
        parent_branch: meta.parent_branch.clone(),
        runner: meta.runner.clone(),
        params,
    })
}

/// Ask `runner` for a plan in the main checkout (standing in for a worktree that does not exist
/// yet) and put it through the checker: what a run would launch, known before it is created.
/// `then` is what to do after installing a missing agent program.
pub fn check_plan_in_checkout(
    env: &Env,
    runner: &Authorized,
    repo: &crate::repo::Repo,
    request: &crate::plugin::api::PlanRequest,
    then: &str,
) -> Result<crate::plugin::checker::Approved> {
    let id = &runner.plugin.info.id;
    let root = repo.root.display().to_string();
    let scratch = env.store.repo_dir(&repo.id).display().to_string();
    let run = RunInfo {
        run_id: "gate".into(),
        name: "gate".into(),
        repo_id: repo.id.clone(),
        repo_root: root.clone(),
        worktree: root,
        run_dir: scratch.clone(),
        log_dir: scratch,
        plugin_data: env.store.plugin_data_dir(id).display().to_string(),
        runner: id.clone(),
        params: runner.params.clone(),
        ..RunInfo::default()
    };
    let ctx = crate::plugin::CallContext::for_run(run.clone(), runner.granted.clone());
    let plan = env.plugins().plan(&runner.plugin, &ctx, request)?;
    env.plugins().check_launch(&runner.plugin, &runner.granted, &run, &plan, then)
}
