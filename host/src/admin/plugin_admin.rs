//! `agency plugin list | add | inspect | trust | remove`: the user's view of plugins — what is
//! available (built-in, installed, pinned by the project), what each declares, and what is
//! granted. `add` validates and precompiles a `.wasm` file before installing it.

use serde::Serialize;
use std::path::Path;
use std::rc::Rc;

use crate::env::{Env, repo_config};
use crate::error::{AgencyError, ErrorCode, Result};
use crate::pipeline::authorize;
use crate::plugin::grants::Grants;
use crate::plugin::source::{self, InstalledMeta};
use crate::plugin::{Loaded, Plugin};

/// One plugin as shown by `list` and `inspect`.
#[derive(Debug, Clone, Serialize)]
pub struct PluginView {
    pub id: String,
    pub kind: String,
    pub version: String,
    pub description: String,
    pub api_version: String,
    pub origin: String,
    pub sha256: String,
    /// `built-in`, `granted` or `not granted`.
    pub grant: String,
    pub capabilities: Vec<String>,
}

fn view(env: &Env, plugin: &Plugin) -> Result<PluginView> {
    let grant = match (plugin.is_builtin(), env.plugins().granted(plugin, &env.dirs.config)?) {
        (true, _) => "built-in",
        (false, Some(_)) => "granted",
        (false, None) => "not granted",
    };
    Ok(PluginView {
        id: plugin.info.id.clone(),
        kind: plugin.info.kind.as_str().into(),
        version: plugin.info.version.clone(),
        description: plugin.info.description.clone(),
        api_version: plugin.api_version.clone(),
        origin: plugin.origin.describe(),
        sha256: plugin.sha256.clone(),
        grant: grant.into(),
        capabilities: plugin.info.capabilities.iter().map(ToString::to_string).collect(),
    })
}

/// Built-ins, installed plugins and the current repository's pins.
pub fn list(env: &Env) -> Result<Vec<PluginView>> {
    let host = env.plugins();
    let mut ids: Vec<String> = crate::plugin::builtin_ids().into_iter().map(String::from).collect();
    ids.extend(source::list_installed(host.plugins_dir()).into_iter().map(|m| m.id));
    let project = repo_config(env)?;
    if let Some((_, config)) = &project {
        ids.extend(config.plugins.iter().map(|p| p.id.clone()));
    }
    ids.sort();
    ids.dedup();
    let project_ref = project.as_ref().map(|(root, config)| (root.as_path(), config));
    ids.iter().map(|id| host.find(id, project_ref).and_then(|p| view(env, &p))).collect()
}

/// A plugin by id (pins, installed, built-in) or by `.wasm` path.
fn load_target(env: &Env, target: &str) -> Result<Rc<Plugin>> {
    let path = Path::new(target);
    if target.ends_with(".wasm") || path.is_file() {
        return env.plugins().load(source::file(path)?);
    }
    let project = repo_config(env)?;
    env.plugins().find(target, project.as_ref().map(|(root, config)| (root.as_path(), config)))
}

pub fn inspect(env: &Env, target: &str) -> Result<PluginView> {
    let plugin = load_target(env, target)?;
    view(env, &plugin)
}

/// Grant `id` what it declares (for this exact sha256).
pub fn trust(env: &Env, id: &str) -> Result<PluginView> {
    let plugin = load_target(env, id)?;
    if !plugin.is_builtin() {
        Grants::grant(&env.dirs.config, &plugin.info.id, &plugin.sha256, plugin.info.capabilities.clone())?;
    }
    view(env, &plugin)
}

/// What `add` did.
pub struct Added {
    pub view: PluginView,
    pub installed: std::path::PathBuf,
    pub compiled: bool,
}

/// Validate, precompile and install a plugin file; grant it on a TTY or with `--yes`. A `dev`
/// install (from `agency plugin dev`) is compiled in memory only, never into the shared cache.
pub fn add(env: &Env, file: &Path, dev: bool) -> Result<Added> {
    let mut source = source::file(file)?;
    source.dev = dev;
    let bytes = source.bytes.clone().into_owned();
    let plugin = {
        let _progress = env.ui.progress("compiling plugin (first compile of a large component can take a while)…");
        env.plugins().load(source)?
    };
    let id = plugin.info.id.clone();
    if crate::plugin::builtin_ids().contains(&id.as_str()) {
        return Err(AgencyError::new(
            ErrorCode::PluginInvalid,
            format!("plugin id `{id}` is reserved by a built-in plugin"),
        )
        .with_hint("give the plugin another id in its info"));
    }
    let dir = env.plugins().plugins_dir().to_path_buf();
    crate::store::dirs::ensure_dir(&dir)?;
    let (wasm, meta_path) = source::installed_paths(&dir, &id);
    let previous = crate::store::read_json::<InstalledMeta>(&meta_path);
    if let Some(old) = previous.as_ref().filter(|old| old.dev && !dev) {
        env.ui.warn(&format!("this replaces the development build of `{id}` installed from {}", old.source_path));
    }
    let write_err = |path: &Path, e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot install plugin", path, e);
    crate::store::atomic::write_atomic(&wasm, &bytes).map_err(|e| write_err(&wasm, e))?;
    let meta = InstalledMeta {
        id: id.clone(),
        version: plugin.info.version.clone(),
        kind: plugin.info.kind.as_str().into(),
        sha256: plugin.sha256.clone(),
        added_at: crate::clock::now_rfc3339(),
        source_path: file.canonicalize().unwrap_or(file.to_path_buf()).display().to_string(),
        dev,
    };
    crate::store::atomic::write_json_atomic(&meta_path, &meta).map_err(|e| write_err(&meta_path, e))?;
    if dev && let Some(old) = previous.filter(|old| old.dev) {
        carry_dev_grant(env, &plugin, &old.sha256)?;
    }
    // Ask for (or record) the grant now, so later runs need no prompt; a refusal keeps it installed.
    if (env.assume_yes || env.ui.interactive())
        && let Err(err) = authorize::authorize(env, &plugin)
    {
        env.ui.warn(&format!("{}; grant later with: agency plugin trust {id}", err.message));
    }
    Ok(Added { view: view(env, &plugin)?, installed: wasm, compiled: plugin.loaded == Loaded::Compiled })
}

/// A development rebuild that declares exactly what the previous granted build declared keeps
/// its grant (the user approved those capabilities for this project minutes ago); anything
/// more or different asks again.
fn carry_dev_grant(env: &Env, plugin: &Plugin, previous_sha: &str) -> Result<()> {
    let grants = Grants::load(&env.dirs.config)?;
    let Some(old) = grants.get(&plugin.info.id, previous_sha) else { return Ok(()) };
    if grants.get(&plugin.info.id, &plugin.sha256).is_some() || old.capabilities != plugin.info.capabilities {
        return Ok(());
    }
    Grants::grant(&env.dirs.config, &plugin.info.id, &plugin.sha256, plugin.info.capabilities.clone())?;
    env.ui
        .status(&format!("grant: kept from the previous development build (same capabilities) for {}", plugin.info.id));
    Ok(())
}

/// Uninstall `id` and forget its grants; false when it was not installed.
pub fn remove(env: &Env, id: &str) -> Result<bool> {
    if crate::plugin::builtin_ids().contains(&id) {
        return Err(AgencyError::new(
            ErrorCode::PluginInvalid,
            format!("`{id}` is a built-in plugin and cannot be removed"),
        ));
    }
    let (wasm, meta) = source::installed_paths(env.plugins().plugins_dir(), id);
    let existed = wasm.exists();
    for path in [&wasm, &meta] {
        if path.exists() {
            std::fs::remove_file(path)
                .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot remove", path, e))?;
        }
    }
    let revoked = Grants::revoke(&env.dirs.config, id)?;
    Ok(existed || revoked)
}
