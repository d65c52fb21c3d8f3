//! `agency.json` at the repository root (committed; version 1).
//!
//! ```json
//! {
//!   "version": 1,
//!   "scripts": { "setup":  { "path": "scripts/agency_setup.sh", "timeout": "10m" },
//!                "verify": { "path": "scripts/agency_verify.sh", "timeout": "30m" },
//!                "archive": { "path": "scripts/agency_archive.sh" } },
//!   "steps":   { "setup": [ { "plugin": "copy-files", "params": { "files": [".env"] } },
//!                           { "plugin": "script" } ] },
//!   "plugins": { "my-runner": { "path": "tools/my-runner.wasm", "sha256": "<64 hex>" } }
//! }
//! ```
//! `steps` is optional: a phase without it runs the built-in `script` plugin when
//! `scripts.<phase>` is set. `plugins` pins project-local plugin files by sha256.

use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::time::Duration;

use serde_json::Value;

use super::Phase;
use super::strict::{Fields, invalid, kind, versioned_root};
use crate::error::{AgencyError, ErrorCode, Result};

pub const FILE_NAME: &str = "agency.json";
const CODE: ErrorCode = ErrorCode::InvalidAgencyJson;
pub const MIN_TIMEOUT: Duration = Duration::from_secs(1);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq)]
pub struct ScriptConfig {
    /// Path relative to the repository root (and so to every worktree).
    pub path: String,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepConfig {
    pub plugin: String,
    pub params: Vec<(String, String)>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PluginPin {
    pub id: String,
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgencyJson {
    pub scripts: BTreeMap<Phase, ScriptConfig>,
    pub steps: BTreeMap<Phase, Vec<StepConfig>>,
    pub plugins: Vec<PluginPin>,
}

pub fn default_timeout(phase: Phase) -> Duration {
    match phase {
        Phase::Setup => Duration::from_secs(600),
        Phase::Verify => Duration::from_secs(1800),
        Phase::Archive => Duration::from_secs(300),
    }
}

impl AgencyJson {
    /// Load `<root>/agency.json`; a missing file is `E_NO_AGENCY_JSON`.
    pub fn load(root: &Path) -> Result<AgencyJson> {
        let path = root.join(FILE_NAME);
        let Some(text) = super::strict::read_config_file(&path, CODE)? else {
            return Err(AgencyError::new(ErrorCode::NoAgencyJson, format!("no agency.json in {}", root.display()))
                .with_hint("agency init   # writes agency.json and stub scripts; commit them, then run again"));
        };
        Self::parse(&text)
            .map_err(|e| e.with_hint(format!("fix {} (see docs/config.md), then run `agency doctor`", path.display())))
    }

    /// [`AgencyJson::load`] where a missing file simply means no project configuration.
    pub fn load_optional(root: &Path) -> Result<Option<AgencyJson>> {
        match Self::load(root) {
            Ok(config) => Ok(Some(config)),
            Err(e) if e.code == ErrorCode::NoAgencyJson => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `scripts.<phase>.path` must name an executable file in the checkout at `root`
    /// (checked before a run creates anything).
    pub fn check_scripts_exist(&self, root: &Path, phases: &[Phase]) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for phase in phases {
            let Some(script) = self.scripts.get(phase) else { continue };
            let field = format!("scripts.{}.path", phase.as_str());
            let path = root.join(&script.path);
            let problem = match std::fs::metadata(&path) {
                Err(_) => Some(format!("names {}, which does not exist", script.path)),
                Ok(meta) if !meta.is_file() => Some(format!("names {}, which is not a file", script.path)),
                Ok(meta) if meta.permissions().mode() & 0o111 == 0 => {
                    Some(format!("names {}, which is not executable (chmod +x {})", script.path, script.path))
                }
                Ok(_) => None,
            };
            if let Some(problem) = problem {
                return Err(invalid(CODE, FILE_NAME, &field, &problem)
                    .with_hint(format!("fix {field} in agency.json or create the script (agency init writes stubs)")));
            }
        }
        Ok(())
    }

    pub fn parse(text: &str) -> Result<AgencyJson> {
        let value = versioned_root(text, CODE, FILE_NAME)?;
        let mut root = Fields::new(&value, "", CODE, FILE_NAME)?;
        root.opt_u64("version")?;
        let mut config = AgencyJson::default();
        if let Some(mut scripts) = root.opt_object("scripts")? {
            for phase in Phase::ALL {
                if let Some(mut script) = scripts.opt_object(phase.as_str())? {
                    let path = script.req_str("path")?;
                    check_relative_path(&script, "path", &path)?;
                    let timeout =
                        script.opt_duration("timeout", MIN_TIMEOUT, MAX_TIMEOUT)?.unwrap_or(default_timeout(phase));
                    script.finish()?;
                    config.scripts.insert(phase, ScriptConfig { path, timeout });
                }
            }
            scripts.finish()?;
        }
        if let Some(mut steps) = root.opt_object("steps")? {
            for phase in Phase::ALL {
                if let Some(items) = steps.opt_array(phase.as_str())? {
                    let path = steps.child_path(phase.as_str());
                    let parsed = items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| parse_step(item, &format!("{path}[{i}]")))
                        .collect::<Result<_>>()?;
                    config.steps.insert(phase, parsed);
                }
            }
            steps.finish()?;
        }
        if let Some(plugins) = root.opt_object("plugins")? {
            for (id, value) in plugins.entries() {
                let field = plugins.child_path(id);
                check_plugin_id(id).map_err(|problem| invalid(CODE, FILE_NAME, &field, &problem))?;
                if crate::plugin::is_builtin_id(id) {
                    let problem = format!(
                        "pins a plugin under the built-in id `{id}`; a repository cannot replace a built-in plugin (pin it under another id)"
                    );
                    return Err(invalid(CODE, FILE_NAME, &field, &problem));
                }
                let mut pin = Fields::new(value, &field, CODE, FILE_NAME)?;
                let path = pin.req_str("path")?;
                check_relative_path(&pin, "path", &path)?;
                let sha256 = pin.req_str("sha256")?.to_ascii_lowercase();
                if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(pin.error("sha256", "must be 64 hexadecimal digits"));
                }
                pin.finish()?;
                config.plugins.push(PluginPin { id: id.clone(), path, sha256 });
            }
        }
        root.finish()?;
        Ok(config)
    }

    /// The steps of `phase`: explicit `steps.<phase>`, else the `script` plugin when
    /// `scripts.<phase>` is configured, else none.
    pub fn steps_for(&self, phase: Phase) -> Vec<StepConfig> {
        if let Some(steps) = self.steps.get(&phase) {
            return steps.clone();
        }
        match self.scripts.contains_key(&phase) {
            true => vec![StepConfig { plugin: "script".into(), params: Vec::new(), timeout: None }],
            false => Vec::new(),
        }
    }

    pub fn pin(&self, id: &str) -> Option<&PluginPin> {
        self.plugins.iter().find(|p| p.id == id)
    }
}

fn parse_step(value: &Value, path: &str) -> Result<StepConfig> {
    let mut step = Fields::new(value, path, CODE, FILE_NAME)?;
    let plugin = step.req_str("plugin")?;
    check_plugin_id(&plugin).map_err(|problem| step.error("plugin", &problem))?;
    let timeout = step.opt_duration("timeout", MIN_TIMEOUT, MAX_TIMEOUT)?;
    let mut params = Vec::new();
    if let Some(map) = step.opt_object("params")? {
        for (key, value) in map.entries() {
            params.push((
                key.clone(),
                param_text(value).map_err(|p| invalid(CODE, FILE_NAME, &map.child_path(key), &p))?,
            ));
        }
    }
    step.finish()?;
    if plugin == "copy-files" {
        check_copy_files(&params, path)?;
    }
    Ok(StepConfig { plugin, params, timeout })
}

/// The built-in `copy-files` step copies paths inside the repository; anything else is a
/// configuration error found before a run starts, not a failure after its worktree exists.
fn check_copy_files(params: &[(String, String)], path: &str) -> Result<()> {
    let field = format!("{path}.params.files");
    let files = params.iter().find(|(k, _)| k == "files").map(|(_, v)| v.as_str()).unwrap_or("");
    if files.trim().is_empty() {
        return Err(invalid(CODE, FILE_NAME, &field, "is required: the paths to copy (e.g. [\".env\"])"));
    }
    for file in files.lines() {
        let p = Path::new(file);
        if file.is_empty() || p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(invalid(
                CODE,
                FILE_NAME,
                &field,
                &format!("must hold paths inside the repository, found {file:?}"),
            ));
        }
    }
    Ok(())
}

/// Parameters reach plugins as strings: numbers and booleans in JSON spelling, arrays of
/// strings joined by newlines.
fn param_text(value: &Value) -> std::result::Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(_) | Value::Number(_) => Ok(value.to_string()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(|| format!("must hold only strings, found {}", kind(i))))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(|v| v.join("\n")),
        other => Err(format!("must be a string, number, boolean or array of strings, found {}", kind(other))),
    }
}

/// Plugin ids: 1–64 of `a-z 0-9 - _`, starting with a letter or digit.
pub fn check_plugin_id(id: &str) -> std::result::Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(format!("{id:?} is not a valid plugin id (use a-z, 0-9, - and _)")) }
}

fn check_relative_path(fields: &Fields, key: &str, path: &str) -> Result<()> {
    let p = Path::new(path);
    if path.is_empty() {
        return Err(fields.error(key, "must not be empty"));
    }
    if p.is_absolute() {
        return Err(fields.error(key, &format!("must be relative to the repository root, found absolute {path:?}")));
    }
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(fields.error(key, &format!("must stay inside the repository (no `..`), found {path:?}")));
    }
    if path.contains('\0') {
        return Err(fields.error(key, "must not contain NUL"));
    }
    Ok(())
}

/// The file `agency init` writes.
pub fn default_text() -> String {
    r#"{
  "version": 1,
  "scripts": {
    "setup": { "path": "scripts/agency_setup.sh", "timeout": "10m" },
    "verify": { "path": "scripts/agency_verify.sh", "timeout": "30m" },
    "archive": { "path": "scripts/agency_archive.sh", "timeout": "5m" }
  }
}
"#
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text_parses() {
        let config = AgencyJson::parse(&default_text()).unwrap();
        assert_eq!(config.scripts[&Phase::Setup].path, "scripts/agency_setup.sh");
        assert_eq!(config.scripts[&Phase::Verify].timeout, Duration::from_secs(1800));
        assert_eq!(config.steps_for(Phase::Setup)[0].plugin, "script");
    }

    fn error_of(text: &str) -> String {
        let err = AgencyJson::parse(text).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidAgencyJson);
        err.message
    }

    #[test]
    fn rejections_name_the_field() {
        assert!(error_of("{").contains("not valid JSON"));
        assert!(error_of(r#"{"version": 2}"#).contains("`version` must be 1"));
        assert!(error_of(r#"{}"#).contains("`version` is required"));
        assert!(error_of(r#"{"version":1,"extra":1}"#).contains("`extra` is not a known field"));
        assert!(
            error_of(r#"{"version":1,"scripts":{"setup":{"path":"/bin/sh"}}}"#)
                .contains("`scripts.setup.path` must be relative")
        );
        assert!(error_of(r#"{"version":1,"scripts":{"setup":{"path":"../x.sh"}}}"#).contains("no `..`"));
        assert!(
            error_of(r#"{"version":1,"scripts":{"setup":{"path":"a","timeout":"soon"}}}"#)
                .contains("`scripts.setup.timeout` must be a duration")
        );
        assert!(
            error_of(r#"{"version":1,"scripts":{"setup":{"path":"a","bogus":1}}}"#).contains("`scripts.setup.bogus`")
        );
        assert!(
            error_of(r#"{"version":1,"steps":{"setup":[{"plugin":"Bad Id"}]}}"#).contains("`steps.setup[0].plugin`")
        );
        assert!(
            error_of(r#"{"version":1,"steps":{"setup":[{"plugin":"x","params":{"k":{}}}]}}"#)
                .contains("`steps.setup[0].params.k`")
        );
        assert!(
            error_of(r#"{"version":1,"plugins":{"p":{"path":"p.wasm","sha256":"abc"}}}"#)
                .contains("`plugins.p.sha256`")
        );
        let sha = "a".repeat(64);
        assert!(
            error_of(&format!(r#"{{"version":1,"plugins":{{"claude":{{"path":"c.wasm","sha256":"{sha}"}}}}}}"#))
                .contains("built-in id `claude`")
        );
        for files in [r#"["../../etc/passwd"]"#, r#"["/etc/passwd"]"#, r#"[]"#] {
            let text = format!(
                r#"{{"version":1,"steps":{{"setup":[{{"plugin":"copy-files","params":{{"files":{files}}}}}]}}}}"#
            );
            assert!(error_of(&text).contains("`steps.setup[0].params.files`"), "{files}");
        }
        assert!(AgencyJson::parse("\u{feff}{\"version\":1}").is_ok(), "a byte-order mark is accepted");
    }

    #[test]
    fn steps_and_params() {
        let config = AgencyJson::parse(r#"{"version":1,"steps":{"setup":[{"plugin":"copy-files","params":{"files":[".env","a/.env"],"n":3,"b":true}}]}}"#).unwrap();
        let step = &config.steps_for(Phase::Setup)[0];
        assert_eq!(
            step.params,
            vec![("files".into(), ".env\na/.env".into()), ("n".into(), "3".into()), ("b".into(), "true".into())]
        );
        assert!(config.steps_for(Phase::Verify).is_empty());
    }
}
