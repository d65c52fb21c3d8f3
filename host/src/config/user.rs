//! The per-user `config.json` in the config dir (version 1, the original system's format):
//! `defaults.runner`, `defaults.editor`, optional `runners` (name → command line run by the
//! built-in `command` runner) and `editors` (name → command line), `status.stall_after`, and
//! `ui.notify` (a command the dashboard runs when a run needs input or hits an error).
//! A missing file means built-in defaults; an invalid one is an error for every command.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::strict::{Fields, invalid, versioned_root};
use crate::error::{ErrorCode, Result};

pub const FILE_NAME: &str = "config.json";
const CODE: ErrorCode = ErrorCode::InvalidUserConfig;
pub const DEFAULT_RUNNER: &str = "claude";
pub const DEFAULT_STALL_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, PartialEq)]
pub struct UserConfig {
    pub default_runner: String,
    pub default_editor: Option<String>,
    pub runners: BTreeMap<String, String>,
    pub editors: BTreeMap<String, String>,
    /// A status file not updated for this long while the pane shows no activity is "stalled".
    pub stall_after: Duration,
    /// `ui.notify`: program and arguments run (with the run's name and status, and the reason
    /// appended) when a run turns `needs input` or `error` in the dashboard.
    pub notify: Vec<String>,
    /// Whether the file existed (doctor reports built-in defaults otherwise).
    pub from_file: bool,
}

impl Default for UserConfig {
    fn default() -> Self {
        UserConfig {
            default_runner: DEFAULT_RUNNER.to_string(),
            default_editor: None,
            runners: BTreeMap::new(),
            editors: BTreeMap::new(),
            stall_after: DEFAULT_STALL_AFTER,
            notify: Vec::new(),
            from_file: false,
        }
    }
}

impl UserConfig {
    pub fn load(config_dir: &Path) -> Result<UserConfig> {
        let path = config_dir.join(FILE_NAME);
        let Some(text) = super::strict::read_config_file(&path, CODE)? else { return Ok(UserConfig::default()) };
        Self::parse(&text).map_err(|e| e.with_hint(format!("fix or remove {} (see docs/config.md)", path.display())))
    }

    pub fn parse(text: &str) -> Result<UserConfig> {
        let value = versioned_root(text, CODE, FILE_NAME)?;
        let mut root = Fields::new(&value, "", CODE, FILE_NAME)?;
        root.opt_u64("version")?;
        let mut config = UserConfig { from_file: true, ..UserConfig::default() };
        if let Some(mut defaults) = root.opt_object("defaults")? {
            if let Some(runner) = defaults.opt_str("runner")? {
                if runner.trim().is_empty() {
                    return Err(defaults.error("runner", "must not be empty"));
                }
                config.default_runner = runner;
            }
            config.default_editor = defaults.opt_str("editor")?;
            defaults.finish()?;
        }
        config.runners = command_map(root.opt_object("runners")?)?;
        config.editors = command_map(root.opt_object("editors")?)?;
        if let Some(mut status) = root.opt_object("status")? {
            let stall = status.opt_duration("stall_after", Duration::from_secs(1), Duration::from_secs(7 * 86400))?;
            config.stall_after = stall.unwrap_or(DEFAULT_STALL_AFTER);
            status.finish()?;
        }
        if let Some(mut ui) = root.opt_object("ui")? {
            if let Some(words) = ui.opt_array("notify")? {
                let notify: Option<Vec<String>> = words.iter().map(|w| w.as_str().map(String::from)).collect();
                match notify {
                    Some(notify) if !notify.is_empty() && !notify[0].trim().is_empty() => config.notify = notify,
                    _ => {
                        return Err(ui.error("notify", "must be a non-empty list of strings (program, then arguments)"));
                    }
                }
            }
            ui.finish()?;
        }
        root.finish()?;
        Ok(config)
    }
}

fn command_map(fields: Option<Fields>) -> Result<BTreeMap<String, String>> {
    let Some(fields) = fields else {
        return Ok(BTreeMap::new());
    };
    let mut map = BTreeMap::new();
    for (name, value) in fields.entries() {
        let field = fields.child_path(name);
        match value {
            Value::String(cmd) if !cmd.trim().is_empty() => {
                map.insert(name.clone(), cmd.clone());
            }
            _ => {
                return Err(invalid(CODE, FILE_NAME, &field, "must be a non-empty command string"));
            }
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_defaults() {
        let c = UserConfig::parse(
            r#"{"version":1,"defaults":{"runner":"shell","editor":"code"},"runners":{"fake":"./fake-agent --fast"}}"#,
        )
        .unwrap();
        assert_eq!(c.default_runner, "shell");
        assert_eq!(c.runners["fake"], "./fake-agent --fast");
        assert_eq!(UserConfig::default().default_runner, "claude");
    }

    #[test]
    fn ui_notify_is_a_command_list() {
        let c = UserConfig::parse(r#"{"version":1,"ui":{"notify":["notify-send","agency"]}}"#).unwrap();
        assert_eq!(c.notify, ["notify-send", "agency"]);
        let err = UserConfig::parse(r#"{"version":1,"ui":{"notify":"notify-send"}}"#).unwrap_err();
        assert!(err.message.contains("`ui.notify`"), "{}", err.message);
        assert!(UserConfig::parse(r#"{"version":1,"ui":{"notify":[]}}"#).is_err());
    }

    #[test]
    fn rejects_unknown_keys_inside_defaults() {
        let err = UserConfig::parse(r#"{"version":1,"defaults":{"runner":"x","model":"y"}}"#).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidUserConfig);
        assert!(err.message.contains("`defaults.model`"));
        let err = UserConfig::parse(r#"{"version":1,"runners":{"x":""}}"#).unwrap_err();
        assert!(err.message.contains("`runners.x`"));
    }
}
