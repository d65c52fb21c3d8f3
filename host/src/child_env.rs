//! The environment of every process agency starts for a plugin (`host.exec`) or as an agent
//! (a launch plan): never inherited wholesale. It is built from
//! 1. a documented base taken from the **caller's** environment (the `agency` process's, at
//!    `run`/`resume`/`verify` time — never the tmux server's): [`BASE_NAMES`] and `LC_*`;
//! 2. the run's `AGENCY_*` variables, set by the host (plugins cannot set or override them);
//! 3. the variables the plugin declared and the user granted (checked by the one checker),
//!    literal values as given, forwarded ones read from the caller's environment by name.
//!
//! Anything else in the caller's environment (tokens, agent keys, `SSH_AUTH_SOCK`) reaches a
//! child only through a declared and granted `env` capability.

use std::ffi::OsString;
use std::path::Path;

use crate::plugin::api::EnvValue;
use crate::store::meta::RunMeta;
use crate::store::{RunPaths, WorktreePaths};

/// Variables every child gets from the caller when set.
pub const BASE_NAMES: &[&str] = &["HOME", "USER", "LOGNAME", "SHELL", "LANG", "TERM", "TZ", "PATH", "TMPDIR"];
/// Prefix of the locale variables passed through as well.
pub const BASE_PREFIX: &str = "LC_";

/// The caller's values for the base names.
pub fn base() -> Vec<(String, OsString)> {
    std::env::vars_os()
        .filter_map(|(key, value)| {
            let key = key.into_string().ok()?;
            (BASE_NAMES.contains(&key.as_str()) || key.starts_with(BASE_PREFIX)).then_some((key, value))
        })
        .collect()
}

/// Approved plugin entries with forwarded values read from the caller (unset ones left out).
pub fn resolve(entries: &[(String, EnvValue)]) -> Vec<(String, OsString)> {
    entries
        .iter()
        .filter_map(|(name, value)| match value {
            EnvValue::Literal(text) => Some((name.clone(), OsString::from(text))),
            EnvValue::Host(host) => std::env::var_os(host).map(|v| (name.clone(), v)),
        })
        .collect()
}

/// The `AGENCY_*` variables of a run (for its agent and for the commands its steps run).
pub fn agency_vars(meta: &RunMeta, paths: &RunPaths, repo_root: &Path) -> Vec<(String, String)> {
    let worktree = WorktreePaths::new(&meta.worktree_path);
    let mut vars = vec![
        ("AGENCY_RUN_ID".to_string(), meta.run_id.clone()),
        ("AGENCY_NAME".into(), meta.name.clone()),
        ("AGENCY_TITLE".into(), meta.display_title().to_string()),
        ("AGENCY_REPO_ROOT".into(), repo_root.display().to_string()),
        ("AGENCY_WORKTREE".into(), meta.worktree_path.clone()),
        ("AGENCY_BRANCH".into(), meta.branch.clone()),
        ("AGENCY_PARENT_BRANCH".into(), meta.parent_branch.clone()),
        ("AGENCY_RUNNER".into(), meta.runner.clone()),
        ("AGENCY_OUTPUT_DIR".into(), worktree.out_dir().display().to_string()),
        ("AGENCY_LOG_DIR".into(), paths.logs().display().to_string()),
        ("AGENCY_RUN_DIR".into(), paths.dir.display().to_string()),
        ("AGENCY_STATUS_FILE".into(), worktree.status_file().display().to_string()),
    ];
    // For an agent's hooks (`"$AGENCY_BIN" hook …`): the agency that started the run.
    if let Ok(exe) = std::env::current_exe() {
        vars.push(("AGENCY_BIN".into(), exe.display().to_string()));
    }
    if let Some(port) = meta.port_base {
        vars.push(("AGENCY_PORT_BASE".into(), port.to_string()));
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_takes_only_the_documented_names() {
        let names: Vec<String> = base().into_iter().map(|(k, _)| k).collect();
        assert!(names.iter().all(|n| BASE_NAMES.contains(&n.as_str()) || n.starts_with(BASE_PREFIX)), "{names:?}");
    }

    #[test]
    fn forwarded_values_come_from_the_caller() {
        let resolved = resolve(&[
            ("A".into(), EnvValue::Literal("1".into())),
            ("B".into(), EnvValue::Host("AGENCY_CHILD_ENV_TEST_UNSET".into())),
        ]);
        assert_eq!(resolved, vec![("A".to_string(), OsString::from("1"))]);
    }
}
