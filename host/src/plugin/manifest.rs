//! Validation of what a plugin says about itself in `info`: its id, and capabilities that are
//! well-formed (patterns the checker understands, no writable run dir). A plugin whose
//! declaration is invalid is refused at load time, before anything is granted.

use super::api::{Access, Area, Capability, PluginInfo, PluginKind};
use super::env_names::{self, EnvRule};

pub const MAX_CAPABILITIES: usize = 64;
const MAX_TEXT: usize = 512;
const MAX_ARG_PATTERNS: usize = 64;

/// Check a plugin's `info` for the world it exports.
pub fn validate(info: &PluginInfo, world: PluginKind) -> Result<(), String> {
    crate::config::agency_json::check_plugin_id(&info.id)?;
    if info.kind != world {
        return Err(format!(
            "info says kind `{}` but the component exports the {} world",
            info.kind.as_str(),
            world.as_str()
        ));
    }
    if info.version.trim().is_empty() || info.version.len() > 64 {
        return Err("info.version must be 1–64 characters".into());
    }
    if info.description.len() > MAX_TEXT {
        return Err(format!("info.description is longer than {MAX_TEXT} bytes"));
    }
    // Text shown in the grant prompt must be exactly what the terminal shows.
    if [&info.version, &info.description].iter().any(|t| t.chars().any(char::is_control)) {
        return Err("info.version and info.description may not contain control characters".into());
    }
    if info.capabilities.len() > MAX_CAPABILITIES {
        return Err(format!("declares {} capabilities; at most {MAX_CAPABILITIES}", info.capabilities.len()));
    }
    info.capabilities.iter().try_for_each(validate_capability)
}

fn validate_capability(capability: &Capability) -> Result<(), String> {
    match capability {
        Capability::Exec { program, args } => {
            let shown = crate::safe_text::one_line(&capability.to_string(), 200);
            validate_program(program).map_err(|e| format!("capability `{shown}`: {e}"))?;
            if let Some(pos) = args.iter().position(|a| a == "**")
                && pos + 1 != args.len()
            {
                return Err(format!("capability `{shown}`: `**` may only be the last argument pattern"));
            }
            if args.len() > MAX_ARG_PATTERNS || args.iter().any(|a| a.len() > MAX_TEXT) {
                return Err(format!("capability `{shown}`: too many or too long argument patterns"));
            }
            if args.iter().any(|a| a.chars().any(char::is_control)) {
                return Err(format!("capability `{shown}`: argument patterns may not contain control characters"));
            }
            Ok(())
        }
        Capability::Env(name) => {
            let shown = crate::safe_text::one_line(name, 80);
            if !env_names::valid_name(name) {
                return Err(format!("capability `env {shown}`: not a valid variable name"));
            }
            match env_names::rule(name) {
                EnvRule::Declarable | EnvRule::ForwardOnly(_) => Ok(()),
                EnvRule::HostOwned => Err(format!("capability `env {name}`: AGENCY_* variables are set by the host")),
                EnvRule::Forbidden(why) => Err(format!(
                    "capability `env {name}`: no plugin may set or forward it ({why}); see docs/security.md"
                )),
            }
        }
        Capability::Fs { area: Area::RunDir, access: Access::Write } => {
            Err("capability `write run-dir`: the run record is never writable by plugins".into())
        }
        Capability::Fs { .. } => Ok(()),
    }
}

/// Program patterns: `*`, a bare name, an absolute path, or `<area>:<glob>`.
pub fn validate_program(program: &str) -> Result<(), String> {
    if program.is_empty() || program.len() > MAX_TEXT || program.chars().any(char::is_control) {
        return Err("program must be 1–512 characters without control characters".into());
    }
    if program == "*" || program.starts_with('/') {
        return Ok(());
    }
    if let Some((area, glob)) = program.split_once(':') {
        let known = ["worktree", "repo", "plugin-data"];
        if !known.contains(&area) {
            return Err(format!("unknown area `{area}` (use worktree:, repo: or plugin-data:)"));
        }
        if glob.is_empty() || glob.starts_with('/') || glob.split('/').any(|p| p == "..") {
            return Err("the glob after the area must be a relative pattern without `..`".into());
        }
        return Ok(());
    }
    if program.contains('/') {
        return Err("a program with a slash must be an absolute path or <area>:<glob>".into());
    }
    Ok(())
}

/// The area a program pattern is relative to, if any.
pub fn program_area(program: &str) -> Option<(Area, &str)> {
    let (area, glob) = program.split_once(':')?;
    let area = match area {
        "worktree" => Area::Worktree,
        "repo" => Area::Repo,
        "plugin-data" => Area::PluginData,
        _ => return None,
    };
    Some((area, glob))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(capabilities: Vec<Capability>) -> PluginInfo {
        PluginInfo {
            id: "p".into(),
            version: "1".into(),
            description: "d".into(),
            kind: PluginKind::Step,
            capabilities,
        }
    }

    #[test]
    fn accepts_well_formed_declarations() {
        let caps = vec![
            Capability::Exec { program: "git".into(), args: vec!["status".into(), "**".into()] },
            Capability::Exec { program: "worktree:scripts/*.sh".into(), args: vec![] },
            Capability::Env("ANTHROPIC_API_KEY".into()),
            Capability::Fs { area: Area::Worktree, access: Access::Write },
        ];
        assert_eq!(validate(&info(caps), PluginKind::Step), Ok(()));
    }

    #[test]
    fn rejects_malformed_declarations() {
        let bad = [
            Capability::Exec { program: "git".into(), args: vec!["**".into(), "x".into()] },
            Capability::Exec { program: "bin/tool".into(), args: vec![] },
            Capability::Exec { program: "home:x".into(), args: vec![] },
            Capability::Exec { program: "worktree:../x".into(), args: vec![] },
            Capability::Env("1BAD".into()),
            Capability::Env("LD_PRELOAD".into()),
            Capability::Env("AGENCY_RUN_ID".into()),
            Capability::Exec { program: "git\x1b[2K".into(), args: vec![] },
            Capability::Exec { program: "git".into(), args: vec!["status\x1b[1A".into()] },
            Capability::Fs { area: Area::RunDir, access: Access::Write },
        ];
        for cap in bad {
            assert!(validate(&info(vec![cap.clone()]), PluginKind::Step).is_err(), "{cap}");
        }
        assert!(validate(&info(vec![]), PluginKind::Runner).is_err(), "kind must match the world");
    }
}
