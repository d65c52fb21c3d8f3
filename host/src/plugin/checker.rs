//! THE capability checker. Every `host.exec`, every launch plan, every forwarded variable and
//! every directory a plugin can see is decided here, by one rule: the capability must be both
//! declared by the plugin and granted by the user (built-ins are granted what they declare).
//! Paths are canonicalised first, so `..` and symlinks cannot escape an area. There is no
//! catch-all arm: a new kind of request must say which capability it needs.

use std::path::{Path, PathBuf};

use super::api::{Access, Area, Capability};
use super::manifest::program_area;

/// The directories a call's areas map to (canonical paths; absent areas are not available).
#[derive(Debug, Clone, Default)]
pub struct AreaRoots {
    roots: Vec<(Area, PathBuf)>,
}

impl AreaRoots {
    pub fn new(areas: impl IntoIterator<Item = (Area, PathBuf)>) -> Self {
        let roots = areas.into_iter().map(|(area, path)| (area, path.canonicalize().unwrap_or(path))).collect();
        AreaRoots { roots }
    }

    pub fn get(&self, area: Area) -> Option<&Path> {
        self.roots.iter().find(|(a, _)| *a == area).map(|(_, p)| p.as_path())
    }

    /// The area containing `path` (canonical), the most specific one first.
    fn area_of(&self, path: &Path) -> Vec<Area> {
        let mut matches: Vec<&(Area, PathBuf)> = self.roots.iter().filter(|(_, root)| path.starts_with(root)).collect();
        matches.sort_by_key(|(_, root)| std::cmp::Reverse(root.components().count()));
        matches.into_iter().map(|(a, _)| *a).collect()
    }
}

/// Something a plugin asks the host to do.
#[derive(Debug)]
pub enum Request<'a> {
    /// `host.exec` of a command.
    Exec(&'a CommandRequest<'a>),
    /// A runner's launch plan (started in tmux by the host).
    Launch(&'a CommandRequest<'a>),
    /// Expose an area's directory to the plugin (a WASI preopen).
    Preopen { area: Area, access: Access },
}

/// A command to check: program, arguments, working directory and forwarded host variables.
#[derive(Debug)]
pub struct CommandRequest<'a> {
    pub program: &'a str,
    pub args: &'a [String],
    pub cwd: &'a Path,
    pub host_env: Vec<&'a str>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    /// What was asked, for the message (`exec rm -rf /`, `env AWS_SECRET`, `write repo`).
    pub asked: String,
    pub reason: String,
    /// Declared but not granted (a grant fixes it), as opposed to never declared.
    pub grantable: bool,
}

/// Declared and granted capabilities of one plugin, plus the directories of the current call.
pub struct Policy<'a> {
    pub declared: &'a [Capability],
    pub granted: &'a [Capability],
    pub areas: &'a AreaRoots,
}

impl Policy<'_> {
    fn allowed(&self, capability: &Capability) -> bool {
        self.declared.contains(capability) && self.granted.contains(capability)
    }

    fn declared_only(&self, capability: &Capability) -> bool {
        self.declared.contains(capability) && !self.granted.contains(capability)
    }

    /// The one decision function.
    pub fn check(&self, request: &Request) -> Result<(), Denial> {
        match request {
            Request::Exec(command) | Request::Launch(command) => self.check_command(command),
            Request::Preopen { area, access } => self.check_area(*area, *access),
        }
    }

    /// The strongest access to `area` this policy allows, if any.
    pub fn area_access(&self, area: Area) -> Option<Access> {
        [Access::Write, Access::Read].into_iter().find(|access| self.check_area(area, *access).is_ok())
    }

    fn check_area(&self, area: Area, access: Access) -> Result<(), Denial> {
        let write = Capability::Fs { area, access: Access::Write };
        let read = Capability::Fs { area, access: Access::Read };
        let ok = match access {
            Access::Write => self.allowed(&write),
            Access::Read => self.allowed(&read) || self.allowed(&write),
        };
        if ok {
            return Ok(());
        }
        let wanted = Capability::Fs { area, access };
        Err(Denial {
            asked: wanted.to_string(),
            reason: "no granted fs capability covers it".into(),
            grantable: self.declared_only(&wanted) || (access == Access::Read && self.declared_only(&write)),
        })
    }

    fn check_command(&self, command: &CommandRequest) -> Result<(), Denial> {
        let asked = std::iter::once(command.program)
            .chain(command.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let matching: Vec<&Capability> = self
            .declared
            .iter()
            .filter(|c| matches!(c, Capability::Exec { program, args } if self.program_matches(program, command.program) && args_match(args, command.args)))
            .collect();
        if !matching.iter().any(|c| self.granted.contains(c)) {
            return Err(Denial {
                asked: format!("exec {asked}"),
                reason: if matching.is_empty() {
                    "no declared exec capability matches".into()
                } else {
                    "the matching exec capability is not granted".into()
                },
                grantable: !matching.is_empty(),
            });
        }
        let cwd = command.cwd.canonicalize().map_err(|e| Denial {
            asked: format!("cwd {}", command.cwd.display()),
            reason: format!("cannot resolve the working directory: {e}"),
            grantable: false,
        })?;
        let areas = self.areas.area_of(&cwd);
        if !areas.iter().any(|area| self.area_access(*area).is_some()) {
            return Err(Denial {
                asked: format!("cwd {}", command.cwd.display()),
                reason: "the working directory is not inside a granted area".into(),
                grantable: false,
            });
        }
        for name in &command.host_env {
            let capability = Capability::Env(name.to_string());
            if !self.allowed(&capability) {
                return Err(Denial {
                    asked: capability.to_string(),
                    reason: "forwarding this host variable is not granted".into(),
                    grantable: self.declared_only(&capability),
                });
            }
        }
        Ok(())
    }

    fn program_matches(&self, pattern: &str, program: &str) -> bool {
        if pattern == "*" {
            return true;
        }
        if let Some((area, glob)) = program_area(pattern) {
            let (Some(root), Ok(resolved)) = (self.areas.get(area), Path::new(program).canonicalize()) else {
                return false;
            };
            // Canonical paths: a symlink or `..` pointing out of the area does not match.
            let Ok(relative) = resolved.strip_prefix(root) else { return false };
            return Path::new(program).is_absolute() && glob_match(glob, &relative.to_string_lossy());
        }
        pattern == program
    }
}

/// Argument patterns: literal, `*` (one argument), `**` (the rest; last only).
pub fn args_match(patterns: &[String], args: &[String]) -> bool {
    match patterns.split_first() {
        None => args.is_empty(),
        Some((first, _)) if first == "**" => true,
        Some((first, rest)) => match args.split_first() {
            None => false,
            Some((arg, args_rest)) => (first == "*" || first == arg) && args_match(rest, args_rest),
        },
    }
}

/// Path globs: `*` matches within one segment, `**` matches any number of segments.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
        match pattern.split_first() {
            None => path.is_empty(),
            Some((&"**", rest)) => (0..=path.len()).any(|skip| segments_match(rest, &path[skip..])),
            Some((seg, rest)) => path
                .split_first()
                .is_some_and(|(p, path_rest)| segment_match(seg, p) && segments_match(rest, path_rest)),
        }
    }
    fn segment_match(pattern: &str, text: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == text,
            Some((prefix, rest)) => {
                text.starts_with(prefix)
                    && (0..=text.len() - prefix.len()).any(|i| {
                        text.is_char_boundary(prefix.len() + i) && segment_match(rest, &text[prefix.len() + i..])
                    })
            }
        }
    }
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    segments_match(&pattern, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(program: &str, args: &[&str]) -> Capability {
        Capability::Exec { program: program.into(), args: args.iter().map(|a| a.to_string()).collect() }
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn arg_patterns() {
        assert!(args_match(&strings(&["status", "**"]), &strings(&["status", "--short"])));
        assert!(args_match(&strings(&["status", "**"]), &strings(&["status"])));
        assert!(!args_match(&strings(&["status", "**"]), &strings(&["push"])));
        assert!(args_match(&strings(&["-c", "*"]), &strings(&["-c", "echo hi"])));
        assert!(!args_match(&strings(&["-c", "*"]), &strings(&["-c"])));
        assert!(!args_match(&strings(&["-c", "*"]), &strings(&["-c", "a", "b"])));
        assert!(args_match(&[], &[]));
        assert!(!args_match(&[], &strings(&["x"])));
    }

    #[test]
    fn globs() {
        assert!(glob_match("scripts/*.sh", "scripts/setup.sh"));
        assert!(!glob_match("scripts/*.sh", "scripts/sub/setup.sh"));
        assert!(glob_match("**", "a/b/c"));
        assert!(glob_match("scripts/**", "scripts/a/b.sh"));
        assert!(glob_match("**/*.sh", "a/b/c.sh"));
        assert!(!glob_match("*.sh", "a/b.sh"));
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        worktree: PathBuf,
        outside: PathBuf,
        areas: AreaRoots,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let worktree = dir.path().join("wt");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(worktree.join("scripts")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(worktree.join("scripts/setup.sh"), "").unwrap();
        std::fs::write(outside.join("evil.sh"), "").unwrap();
        std::os::unix::fs::symlink(outside.join("evil.sh"), worktree.join("scripts/link.sh")).unwrap();
        let areas = AreaRoots::new([(Area::Worktree, worktree.clone())]);
        Fixture { _dir: dir, worktree, outside, areas }
    }

    fn command<'a>(program: &'a str, args: &'a [String], cwd: &'a Path) -> CommandRequest<'a> {
        CommandRequest { program, args, cwd, host_env: vec![] }
    }

    #[test]
    fn exec_needs_declared_and_granted() {
        let f = fixture();
        let declared = [exec("git", &["status", "**"]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let args = strings(&["status"]);
        assert_eq!(policy.check(&Request::Exec(&command("git", &args, &f.worktree))), Ok(()));
        let push = strings(&["push"]);
        let denial = policy.check(&Request::Exec(&command("git", &push, &f.worktree))).unwrap_err();
        assert!(!denial.grantable, "never declared");
        let denial = policy.check(&Request::Exec(&command("curl", &args, &f.worktree))).unwrap_err();
        assert_eq!(denial.asked, "exec curl status");

        let nothing_granted = Policy { declared: &declared, granted: &[], areas: &f.areas };
        let denial = nothing_granted.check(&Request::Launch(&command("git", &args, &f.worktree))).unwrap_err();
        assert!(denial.grantable, "declared but not granted");
    }

    #[test]
    fn area_programs_cannot_escape_by_symlink_or_dotdot() {
        let f = fixture();
        let declared =
            [exec("worktree:scripts/*.sh", &[]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let ok = f.worktree.join("scripts/setup.sh").display().to_string();
        assert_eq!(policy.check(&Request::Exec(&command(&ok, &[], &f.worktree))), Ok(()));
        let link = f.worktree.join("scripts/link.sh").display().to_string();
        assert!(
            policy.check(&Request::Exec(&command(&link, &[], &f.worktree))).is_err(),
            "symlink out of the worktree"
        );
        let dotdot = f.worktree.join("scripts/../../outside/evil.sh").display().to_string();
        assert!(policy.check(&Request::Exec(&command(&dotdot, &[], &f.worktree))).is_err(), "`..` out of the worktree");
        let relative = "scripts/setup.sh";
        assert!(policy.check(&Request::Exec(&command(relative, &[], &f.worktree))).is_err(), "relative program");
    }

    #[test]
    fn cwd_must_be_in_a_granted_area() {
        let f = fixture();
        let declared = [exec("*", &["**"]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        assert!(policy.check(&Request::Exec(&command("ls", &[], &f.worktree))).is_ok());
        assert!(policy.check(&Request::Exec(&command("ls", &[], &f.outside))).is_err());
        let escape = f.worktree.join("..").join("outside");
        assert!(policy.check(&Request::Exec(&command("ls", &[], &escape))).is_err());
    }

    #[test]
    fn env_forwarding_and_preopens() {
        let f = fixture();
        let declared = [
            exec("*", &["**"]),
            Capability::Env("API_KEY".into()),
            Capability::Fs { area: Area::Worktree, access: Access::Write },
        ];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let mut request = command("x", &[], &f.worktree);
        request.host_env = vec!["API_KEY"];
        assert!(policy.check(&Request::Exec(&request)).is_ok());
        request.host_env = vec!["AWS_SECRET_ACCESS_KEY"];
        assert_eq!(policy.check(&Request::Exec(&request)).unwrap_err().asked, "env AWS_SECRET_ACCESS_KEY");
        assert_eq!(policy.area_access(Area::Worktree), Some(Access::Write));
        assert_eq!(policy.area_access(Area::Repo), None);
        assert!(policy.check(&Request::Preopen { area: Area::Repo, access: Access::Read }).is_err());
        assert!(policy.check(&Request::Preopen { area: Area::Worktree, access: Access::Read }).is_ok());
    }
}
