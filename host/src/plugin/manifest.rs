//! Validation of what a plugin says about itself in `info`: its id, and capabilities that are
//! well-formed (patterns the checker understands, no writable run dir). A plugin whose
//! declaration is invalid is refused at load time, before anything is granted.

use super::api::{Access, Area, Capability, PluginInfo, PluginKind};

pub const MAX_CAPABILITIES: usize = 64;
const MAX_TEXT: usize = 512;

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
    if info.capabilities.len() > MAX_CAPABILITIES {
        return Err(format!("declares {} capabilities; at most {MAX_CAPABILITIES}", info.capabilities.len()));
    }
    info.capabilities.iter().try_for_each(validate_capability)
}

fn validate_capability(capability: &Capability) -> Result<(), String> {
    match capability {
        Capability::Exec { program, args } => {
            validate_program(program).map_err(|e| format!("capability `{capability}`: {e}"))?;
            if let Some(pos) = args.iter().position(|a| a == "**")
                && pos + 1 != args.len()
            {
                return Err(format!("capability `{capability}`: `**` may only be the last argument pattern"));
            }
            if args.iter().any(|a| a.len() > MAX_TEXT) {
                return Err(format!("capability `{capability}`: argument pattern too long"));
            }
            Ok(())
        }
        Capability::Env(name) => {
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid { Ok(()) } else { Err(format!("capability `env {name}`: not a valid variable name")) }
        }
        Capability::Fs { area: Area::RunDir, access: Access::Write } => {
            Err("capability `write run-dir`: the run record is never writable by plugins".into())
        }
        Capability::Fs { .. } => Ok(()),
    }
}

/// Program patterns: `*`, a bare name, an absolute path, or `<area>:<glob>`.
pub fn validate_program(program: &str) -> Result<(), String> {
    if program.is_empty() || program.len() > MAX_TEXT || program.contains('\0') {
        return Err("program must be 1–512 characters".into());
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
            Capability::Fs { area: Area::RunDir, access: Access::Write },
        ];
        for cap in bad {
            assert!(validate(&info(vec![cap.clone()]), PluginKind::Step).is_err(), "{cap}");
        }
        assert!(validate(&info(vec![]), PluginKind::Runner).is_err(), "kind must match the world");
    }
}
