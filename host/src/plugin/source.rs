//! Where a plugin's bytes come from: built into the binary, installed with `agency plugin add`
//! (`${AGENCY_DATA_DIR}/plugins/<id>.wasm` plus `<id>.json`), pinned by a project in
//! `agency.json` (path + sha256; a changed file is refused), or a file given on the command line.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::builtin;
use crate::config::AgencyJson;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::repo::sha256_hex;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Origin {
    Builtin,
    Installed { path: PathBuf },
    Project { path: PathBuf },
    File { path: PathBuf },
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Origin::Builtin => "built-in".into(),
            Origin::Installed { path } => format!("installed ({})", path.display()),
            Origin::Project { path } => format!("project pin ({})", path.display()),
            Origin::File { path } => format!("file ({})", path.display()),
        }
    }
}

/// A plugin's bytes and identity before loading.
pub struct Source {
    pub origin: Origin,
    pub bytes: Cow<'static, [u8]>,
    pub sha256: String,
    /// The id the plugin must report in `info` (the name it was looked up by).
    pub expected_id: Option<String>,
    /// Installed by `agency plugin dev`: compiled in memory, never into the shared cache.
    pub dev: bool,
}

/// Metadata written next to an installed plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstalledMeta {
    pub id: String,
    pub version: String,
    pub kind: String,
    pub sha256: String,
    pub added_at: String,
    pub source_path: String,
    /// Installed by `agency plugin dev`.
    #[serde(default)]
    pub dev: bool,
}

/// Where `id` would be installed.
pub fn installed_paths(plugins_dir: &Path, id: &str) -> (PathBuf, PathBuf) {
    (plugins_dir.join(format!("{id}.wasm")), plugins_dir.join(format!("{id}.json")))
}

pub fn builtin(id: &str) -> Option<Source> {
    let (bytes, sha256) = builtin::bytes(id)?;
    Some(Source {
        origin: Origin::Builtin,
        bytes: Cow::Borrowed(bytes),
        sha256: sha256.to_string(),
        expected_id: Some(id.into()),
        dev: false,
    })
}

pub fn file(path: &Path) -> Result<Source> {
    let bytes = std::fs::read(path).map_err(|e| {
        AgencyError::io(ErrorCode::PluginNotFound, "cannot read plugin file", path, e)
            .with_hint("check the path to the .wasm file")
    })?;
    let sha256 = sha256_hex(&bytes);
    Ok(Source {
        origin: Origin::File { path: path.to_path_buf() },
        bytes: Cow::Owned(bytes),
        sha256,
        expected_id: None,
        dev: false,
    })
}

fn installed(plugins_dir: &Path, id: &str) -> Result<Option<Source>> {
    let (wasm, meta) = installed_paths(plugins_dir, id);
    if !wasm.is_file() {
        return Ok(None);
    }
    let mut source = file(&wasm)?;
    source.origin = Origin::Installed { path: wasm };
    source.expected_id = Some(id.into());
    source.dev = crate::store::read_json::<InstalledMeta>(&meta).is_some_and(|m| m.dev);
    Ok(Some(source))
}

fn project(repo_root: &Path, config: &AgencyJson, id: &str) -> Result<Option<Source>> {
    let Some(pin) = config.pin(id) else { return Ok(None) };
    let path = repo_root.join(&pin.path);
    let mut source = file(&path)?;
    if source.sha256 != pin.sha256 {
        return Err(AgencyError::new(
            ErrorCode::PluginHashMismatch,
            format!("plugin `{id}` at {} has sha256 {}, but agency.json pins {}", pin.path, source.sha256, pin.sha256),
        )
        .with_hint(format!(
            "if the new file is intended, update plugins.{id}.sha256 in agency.json to {}",
            source.sha256
        )));
    }
    source.origin = Origin::Project { path };
    source.expected_id = Some(id.into());
    Ok(Some(source))
}

/// Whether `id` names a plugin (pinned, installed or built in), without reading or hashing it.
pub fn exists(id: &str, plugins_dir: &Path, project_config: Option<(&Path, &AgencyJson)>) -> bool {
    crate::config::agency_json::check_plugin_id(id).is_ok()
        && (project_config.is_some_and(|(_, config)| config.pin(id).is_some())
            || installed_paths(plugins_dir, id).0.is_file()
            || builtin::bytes(id).is_some())
}

/// Find plugin `id`: a project pin first, then an installed plugin, then a built-in. An id
/// becomes a file name: one that is not a plugin id (a run record's, which an agent can edit,
/// or a typo) is not looked up anywhere.
pub fn find(id: &str, plugins_dir: &Path, project_config: Option<(&Path, &AgencyJson)>) -> Result<Source> {
    crate::config::agency_json::check_plugin_id(id).map_err(|problem| {
        AgencyError::new(
            ErrorCode::PluginNotFound,
            format!("no plugin `{}`: {problem}", crate::safe_text::one_line(id, 80)),
        )
        .with_hint("agency plugin list   # shows the plugins there are")
    })?;
    if let Some((root, config)) = project_config
        && let Some(source) = project(root, config, id)?
    {
        return Ok(source);
    }
    if let Some(source) = installed(plugins_dir, id)? {
        return Ok(source);
    }
    builtin(id).ok_or_else(|| {
        AgencyError::new(
            ErrorCode::PluginNotFound,
            format!("no plugin `{id}` (looked in agency.json pins, {}, built-ins)", plugins_dir.display()),
        )
        .with_hint("agency plugin list   # shows available plugins; add one with `agency plugin add <file.wasm>`")
    })
}

/// Installed plugins' metadata (for `plugin list`).
pub fn list_installed(plugins_dir: &Path) -> Vec<InstalledMeta> {
    let Ok(entries) = std::fs::read_dir(plugins_dir) else { return Vec::new() };
    let mut list: Vec<InstalledMeta> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| crate::store::read_json(&e.path()))
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}
