//! THE capability checker. Everything a plugin hands the host to act on passes through
//! [`Policy::check`]: every `host.exec` (program, arguments, working directory, every
//! environment variable, literal or forwarded), every launch plan (the same, plus its stdin,
//! ready pattern and the keystrokes it wants typed) and every directory a plugin can see.
//! One rule decides: the capability must be both declared by the plugin and granted by the
//! user (built-ins are granted what they declare). Some things no grant can allow: variable
//! names that load or redirect code ([`env_names`](super::env_names)), control characters in
//! keystrokes, oversized fields.
//!
//! The checker also resolves the program: a bare name is looked up on the host's `PATH`
//! (absolute entries only), and the approval carries the absolute path the host must execute,
//! so what runs is exactly what was checked. Paths are canonicalised first, so `..` and
//! symlinks cannot escape an area. There is no catch-all arm: a new kind of request must say
//! which capability it needs.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::api::{Access, Area, Capability, EnvValue, RunInfo};
use super::env_names::{self, EnvRule};
use super::manifest::program_area;
use crate::safe_text;

/// Limits on what a plugin can hand the host (bytes unless noted).
pub mod limits {
    pub const PROGRAM: usize = 4096;
    /// One argument (Linux refuses longer ones anyway).
    pub const ARG: usize = 128 << 10;
    pub const ARGS_COUNT: usize = 4096;
    /// Arguments and environment together.
    pub const ARGV_AND_ENV: usize = 1 << 20;
    pub const ENV_COUNT: usize = 256;
    pub const CWD: usize = 4096;
    pub const STDIN: usize = 1 << 20;
    pub const READY_PATTERN: usize = 1024;
    pub const KEYSTROKES: usize = 64 << 10;
    /// What a denial message keeps of the request (a denied 32 MiB command line is not kept).
    pub const DENIAL_TEXT: usize = 300;
}

/// The marker the launch wrapper prints when the agent exits; a ready pattern may not match it.
pub const WRAPPER_MARKER: &str = "[agency]";

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

    /// The four areas of a call about `run`.
    pub fn for_run(run: &RunInfo) -> Self {
        AreaRoots::new([
            (Area::Worktree, PathBuf::from(&run.worktree)),
            (Area::Repo, PathBuf::from(&run.repo_root)),
            (Area::RunDir, PathBuf::from(&run.run_dir)),
            (Area::PluginData, PathBuf::from(&run.plugin_data)),
        ])
    }

    pub fn get(&self, area: Area) -> Option<&Path> {
        self.roots.iter().find(|(a, _)| *a == area).map(|(_, p)| p.as_path())
    }

    /// The areas containing `path` (canonical), the most specific one first.
    fn areas_of(&self, path: &Path) -> Vec<Area> {
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
    Launch(&'a LaunchRequest<'a>),
    /// Expose an area's directory to the plugin (a WASI preopen).
    Preopen { area: Area, access: Access },
}

/// A command to check, exactly as the plugin handed it over.
#[derive(Debug)]
pub struct CommandRequest<'a> {
    pub program: &'a str,
    pub args: &'a [String],
    pub cwd: &'a Path,
    pub env: &'a [(String, EnvValue)],
    pub stdin: Option<&'a str>,
}

/// A launch plan: the command plus what the host would type into the agent's pane.
#[derive(Debug)]
pub struct LaunchRequest<'a> {
    pub command: CommandRequest<'a>,
    pub ready_pattern: Option<&'a str>,
    pub keystrokes: Option<&'a str>,
    /// tmux key names `agency stop` would send.
    pub interrupt_keys: &'a [String],
}

/// Keys a runner may have `agency stop` press: interrupts, never text or a submit.
pub const INTERRUPT_KEYS: &[&str] = &["Escape", "C-c", "C-g", "C-\\"];

/// What the host may run: the absolute program path to execute, the canonical working
/// directory, and the environment entries to apply (host-owned names removed).
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    pub program: PathBuf,
    pub cwd: PathBuf,
    pub env: Vec<(String, EnvValue)>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Approval {
    Command(Approved),
    Area,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    /// The plugin never declared a capability that covers it.
    NotDeclared,
    /// Declared but not granted: a grant fixes it.
    NotGranted,
    /// No grant can allow it (a forbidden variable, a program resolving into an area).
    Forbidden,
    /// Malformed or oversized.
    Invalid,
    /// The program is not on `PATH`.
    NotFound,
}

/// A refusal, with what was asked (bounded, terminal-safe) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    /// What was asked, for the message (`exec rm -rf /`, `env AWS_SECRET`, `write repo`).
    pub asked: String,
    pub reason: String,
    pub kind: DenialKind,
}

impl Denial {
    fn new(asked: impl AsRef<str>, reason: impl Into<String>, kind: DenialKind) -> Self {
        Denial { asked: safe_text::one_line(asked.as_ref(), limits::DENIAL_TEXT), reason: reason.into(), kind }
    }

    /// Declared but not granted: a grant fixes it.
    pub fn grantable(&self) -> bool {
        self.kind == DenialKind::NotGranted
    }
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
    pub fn check(&self, request: &Request) -> Result<Approval, Denial> {
        match request {
            Request::Exec(command) => self.check_command(command).map(Approval::Command),
            Request::Launch(launch) => {
                check_launch_text(launch)?;
                self.check_command(&launch.command).map(Approval::Command)
            }
            Request::Preopen { area, access } => self.check_area(*area, *access).map(|()| Approval::Area),
        }
    }

    /// [`Policy::check`] for a command (`host.exec`), returning what to run.
    pub fn check_exec(&self, command: &CommandRequest) -> Result<Approved, Denial> {
        match self.check(&Request::Exec(command))? {
            Approval::Command(approved) => Ok(approved),
            Approval::Area => unreachable_approval(),
        }
    }

    /// [`Policy::check`] for a launch plan, returning what to run.
    pub fn check_launch(&self, launch: &LaunchRequest) -> Result<Approved, Denial> {
        match self.check(&Request::Launch(launch))? {
            Approval::Command(approved) => Ok(approved),
            Approval::Area => unreachable_approval(),
        }
    }

    /// The strongest access to `area` the checker allows, if any (for the call's preopens).
    pub fn preopen_access(&self, area: Area) -> Option<Access> {
        [Access::Write, Access::Read]
            .into_iter()
            .find(|access| self.check(&Request::Preopen { area, access: *access }).is_ok())
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
        let grantable = self.declared_only(&wanted) || (access == Access::Read && self.declared_only(&write));
        let kind = if grantable { DenialKind::NotGranted } else { DenialKind::NotDeclared };
        Err(Denial::new(wanted.to_string(), "no granted fs capability covers it", kind))
    }

    fn check_command(&self, command: &CommandRequest) -> Result<Approved, Denial> {
        let asked = bounded_command_line(command);
        check_sizes(command, &asked)?;
        let matching: Vec<&Capability> = self
            .declared
            .iter()
            .filter(|c| matches!(c, Capability::Exec { program, args } if self.program_matches(program, command.program) && args_match(args, command.args)))
            .collect();
        if !matching.iter().any(|c| self.granted.contains(c)) {
            let (reason, kind) = match matching.is_empty() {
                true => ("no declared exec capability matches", DenialKind::NotDeclared),
                false => ("the matching exec capability is not granted", DenialKind::NotGranted),
            };
            return Err(Denial::new(&asked, reason, kind));
        }
        let cwd = command.cwd.canonicalize().map_err(|e| {
            Denial::new(
                format!("cwd {}", command.cwd.display()),
                format!("cannot resolve the working directory: {e}"),
                DenialKind::Invalid,
            )
        })?;
        if !self.areas.areas_of(&cwd).iter().any(|area| self.preopen_access(*area).is_some()) {
            return Err(Denial::new(
                format!("cwd {}", command.cwd.display()),
                "the working directory is not inside a granted area",
                DenialKind::NotDeclared,
            ));
        }
        let env = self.check_env(command.env)?;
        // Last: a program that is not on PATH here says nothing about the plan's other fields.
        let program = self.resolve_program(command.program, &asked)?;
        Ok(Approved { program, cwd, env })
    }

    /// Every variable a command sets or forwards: host-owned names are dropped (the host sets
    /// its own), forbidden ones refused, the rest must be declared and granted as `env NAME`.
    fn check_env(&self, env: &[(String, EnvValue)]) -> Result<Vec<(String, EnvValue)>, Denial> {
        let mut kept = Vec::new();
        for (name, value) in env {
            let forwarded = match value {
                EnvValue::Host(host) => Some(host.as_str()),
                EnvValue::Literal(_) => None,
            };
            for checked in std::iter::once(name.as_str()).chain(forwarded) {
                if !env_names::valid_name(checked) {
                    return Err(Denial::new(
                        format!("env {checked}"),
                        "not a valid variable name",
                        DenialKind::Invalid,
                    ));
                }
            }
            match (env_names::rule(name), forwarded) {
                // The host sets its own; a plugin's literal value is dropped, never used.
                (EnvRule::HostOwned, None) => continue,
                (EnvRule::HostOwned, Some(_)) => {
                    return Err(Denial::new(
                        format!("env {name}"),
                        "AGENCY_* variables are the host's to set",
                        DenialKind::Forbidden,
                    ));
                }
                (EnvRule::Forbidden(why), _) => {
                    return Err(Denial::new(
                        format!("env {name}"),
                        format!("no plugin may set this variable ({why})"),
                        DenialKind::Forbidden,
                    ));
                }
                (EnvRule::ForwardOnly(why), host) if host != Some(name.as_str()) => {
                    return Err(Denial::new(
                        format!("env {name}"),
                        format!("this variable can only pass on the user's own {name} ({why}), never be set"),
                        DenialKind::Forbidden,
                    ));
                }
                (EnvRule::ForwardOnly(_) | EnvRule::Declarable, _) => {}
            }
            let capability = Capability::Env(name.clone());
            if !self.allowed(&capability) {
                let kind =
                    if self.declared_only(&capability) { DenialKind::NotGranted } else { DenialKind::NotDeclared };
                let what = if forwarded.is_some() { "forwarding" } else { "setting" };
                return Err(Denial::new(
                    capability.to_string(),
                    format!("{what} this variable is not declared and granted"),
                    kind,
                ));
            }
            if let Some(host) = forwarded
                && host != name
                && !matches!(env_names::rule(host), EnvRule::Declarable | EnvRule::ForwardOnly(_))
            {
                return Err(Denial::new(
                    format!("env {name} from {host}"),
                    "this host variable cannot be forwarded",
                    DenialKind::Forbidden,
                ));
            }
            kept.push((name.clone(), value.clone()));
        }
        Ok(kept)
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

    /// The absolute path to execute. A bare name is looked up on `PATH` and must not resolve
    /// into an area (a worktree on `PATH` would let the agent choose what the plugin runs).
    fn resolve_program(&self, program: &str, asked: &str) -> Result<PathBuf, Denial> {
        self.resolve_program_in(program, asked, &std::env::var_os("PATH").unwrap_or_default())
    }

    fn resolve_program_in(&self, program: &str, asked: &str, search_path: &OsStr) -> Result<PathBuf, Denial> {
        if program.contains('/') {
            if !Path::new(program).is_absolute() {
                return Err(Denial::new(asked, "a program path must be absolute", DenialKind::Invalid));
            }
            return Ok(PathBuf::from(program));
        }
        let found = find_in(program, search_path)
            .ok_or_else(|| Denial::new(asked, format!("`{program}` is not on PATH"), DenialKind::NotFound))?;
        let canonical = found.canonicalize().unwrap_or_else(|_| found.clone());
        if let Some(area) = self.areas.areas_of(&canonical).first() {
            return Err(Denial::new(
                asked,
                format!(
                    "`{program}` resolves to {} inside the {} area; declare it as {}:<glob>",
                    canonical.display(),
                    area.as_str(),
                    area.as_str()
                ),
                DenialKind::Forbidden,
            ));
        }
        Ok(found)
    }
}

/// `exec <program> <args…>` for messages, built from no more than it can show (a denied
/// 32 MiB argument is never copied whole).
fn bounded_command_line(command: &CommandRequest) -> String {
    let mut line = String::from("exec");
    for word in std::iter::once(command.program).chain(command.args.iter().map(String::as_str)) {
        if line.len() > limits::DENIAL_TEXT * 2 {
            break;
        }
        line.push(' ');
        let room = limits::DENIAL_TEXT * 2 + 1 - line.len().min(limits::DENIAL_TEXT * 2);
        let cut = word.char_indices().nth(room).map_or(word.len(), |(i, _)| i);
        line.push_str(&word[..cut]);
    }
    line
}

fn unreachable_approval<T>() -> T {
    // `check` answers a command request with `Approval::Command`, by construction above.
    panic!("the checker approved a command request as an area")
}

fn check_sizes(command: &CommandRequest, asked: &str) -> Result<(), Denial> {
    let invalid = |reason: String| Err(Denial::new(asked, reason, DenialKind::Invalid));
    if command.program.is_empty() || command.program.len() > limits::PROGRAM {
        return invalid(format!("the program must be 1–{} bytes", limits::PROGRAM));
    }
    if command.args.len() > limits::ARGS_COUNT {
        return invalid(format!("more than {} arguments", limits::ARGS_COUNT));
    }
    if command.args.iter().any(|a| a.len() > limits::ARG) {
        return invalid(format!("an argument is longer than {} bytes", limits::ARG));
    }
    if command.env.len() > limits::ENV_COUNT {
        return invalid(format!("more than {} environment variables", limits::ENV_COUNT));
    }
    let env_bytes: usize = command
        .env
        .iter()
        .map(|(n, v)| {
            n.len()
                + match v {
                    EnvValue::Literal(t) | EnvValue::Host(t) => t.len(),
                }
        })
        .sum();
    let total = command.args.iter().map(String::len).sum::<usize>() + env_bytes;
    if total > limits::ARGV_AND_ENV {
        return invalid(format!("arguments and environment exceed {} bytes", limits::ARGV_AND_ENV));
    }
    if command.cwd.as_os_str().len() > limits::CWD {
        return invalid(format!("the working directory is longer than {} bytes", limits::CWD));
    }
    if command.stdin.is_some_and(|s| s.len() > limits::STDIN) {
        return invalid(format!("stdin is longer than {} bytes", limits::STDIN));
    }
    let has_nul = std::iter::once(command.program)
        .chain(command.args.iter().map(String::as_str))
        .chain(command.env.iter().flat_map(|(n, v)| {
            [
                n.as_str(),
                match v {
                    EnvValue::Literal(t) | EnvValue::Host(t) => t.as_str(),
                },
            ]
        }))
        .any(|s| s.contains('\0'));
    if has_nul {
        return invalid("a NUL byte in the program, an argument or the environment".into());
    }
    Ok(())
}

/// Keystrokes and the ready pattern: bounded, and nothing a terminal would interpret.
fn check_launch_text(launch: &LaunchRequest) -> Result<(), Denial> {
    if let Some(pattern) = launch.ready_pattern {
        let asked = format!("ready pattern {pattern:?}");
        if pattern.len() > limits::READY_PATTERN || pattern.trim().is_empty() {
            return Err(Denial::new(&asked, format!("must be 1–{} bytes", limits::READY_PATTERN), DenialKind::Invalid));
        }
        if pattern.chars().any(char::is_control) || pattern.contains(WRAPPER_MARKER) {
            return Err(Denial::new(
                &asked,
                "control characters and the host's own pane messages cannot be ready patterns",
                DenialKind::Invalid,
            ));
        }
    }
    if launch.interrupt_keys.len() > 4 || launch.interrupt_keys.iter().any(|k| !INTERRUPT_KEYS.contains(&k.as_str())) {
        return Err(Denial::new(
            format!("interrupt keys {:?}", launch.interrupt_keys),
            format!("interrupt keys must be at most 4 of {}", INTERRUPT_KEYS.join(", ")),
            DenialKind::Invalid,
        ));
    }
    if let Some(keys) = launch.keystrokes {
        let asked = format!("type {keys:?}");
        if keys.len() > limits::KEYSTROKES {
            return Err(Denial::new(&asked, format!("longer than {} bytes", limits::KEYSTROKES), DenialKind::Invalid));
        }
        if safe_text::has_control_except_newline(keys) {
            return Err(Denial::new(
                &asked,
                "keystrokes may not contain control characters (only text and newlines are typed)",
                DenialKind::Forbidden,
            ));
        }
    }
    Ok(())
}

/// The first executable regular file named `program` in an absolute entry of the host's `PATH`.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    find_in(program, &std::env::var_os("PATH")?)
}

fn find_in(program: &str, search_path: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(search_path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Argument patterns: literal, `*` (one argument), `**` (the rest; last only).
pub fn args_match(patterns: &[String], args: &[String]) -> bool {
    let mut args = args.iter();
    for (i, pattern) in patterns.iter().enumerate() {
        if pattern == "**" && i + 1 == patterns.len() {
            return true;
        }
        match args.next() {
            Some(arg) if pattern == "*" || pattern == arg => {}
            _ => return false,
        }
    }
    args.next().is_none()
}

/// Path globs: `*` matches within one segment, `**` matches any number of segments. Both
/// levels use the greedy algorithm that only remembers the last star, so matching takes
/// polynomial time whatever the input (no exponential backtracking).
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    wildcard_match(&pattern, &path, |p| *p == "**", |p, s| segment_match(p, s))
}

/// `*` within one segment, by characters.
fn segment_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    wildcard_match(&pattern, &text, |c| *c == '*', |p, t| p == t)
}

/// Greedy wildcard matching with one remembered star: O(|pattern|·|text|) at worst.
fn wildcard_match<P, T>(
    pattern: &[P],
    text: &[T],
    is_star: impl Fn(&P) -> bool,
    item_match: impl Fn(&P, &T) -> bool,
) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && is_star(&pattern[p]) {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && item_match(&pattern[p], &text[t]) {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(is_star)
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
        assert!(glob_match("a*b*c", "aXXbYYc") && !glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("**/x/**", "a/b/x/c") && !glob_match("**/x/**", "a/b/c"));
    }

    #[test]
    fn globs_take_polynomial_time_on_hostile_patterns() {
        let pattern = format!("{}b", "*a".repeat(40));
        let text = "a".repeat(400);
        let started = std::time::Instant::now();
        assert!(!segment_match(&pattern, &text));
        let deep = format!("{}/z", vec!["**"; 30].join("/"));
        let path = vec!["a"; 300].join("/");
        assert!(!glob_match(&deep, &path));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
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
        CommandRequest { program, args, cwd, env: &[], stdin: None }
    }

    #[test]
    fn exec_needs_declared_and_granted() {
        let f = fixture();
        let declared = [exec("sh", &["-c", "**"]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let args = strings(&["-c", "true"]);
        let approved = policy.check_exec(&command("sh", &args, &f.worktree)).unwrap();
        assert!(approved.program.is_absolute(), "the host runs the resolved path: {approved:?}");
        let other = strings(&["-x"]);
        let denial = policy.check_exec(&command("sh", &other, &f.worktree)).unwrap_err();
        assert_eq!(denial.kind, DenialKind::NotDeclared);
        let denial = policy.check_exec(&command("curl", &args, &f.worktree)).unwrap_err();
        assert_eq!(denial.asked, "exec curl -c true");

        let nothing_granted = Policy { declared: &declared, granted: &[], areas: &f.areas };
        let launch = LaunchRequest {
            command: command("sh", &args, &f.worktree),
            ready_pattern: None,
            keystrokes: None,
            interrupt_keys: &[],
        };
        let denial = nothing_granted.check_launch(&launch).unwrap_err();
        assert!(denial.grantable(), "declared but not granted");
    }

    #[test]
    fn area_programs_cannot_escape_by_symlink_or_dotdot() {
        let f = fixture();
        let declared =
            [exec("worktree:scripts/*.sh", &[]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let ok = f.worktree.join("scripts/setup.sh").display().to_string();
        assert!(policy.check_exec(&command(&ok, &[], &f.worktree)).is_ok());
        let link = f.worktree.join("scripts/link.sh").display().to_string();
        assert!(policy.check_exec(&command(&link, &[], &f.worktree)).is_err(), "symlink out of the worktree");
        let dotdot = f.worktree.join("scripts/../../outside/evil.sh").display().to_string();
        assert!(policy.check_exec(&command(&dotdot, &[], &f.worktree)).is_err(), "`..` out of the worktree");
        let relative = "scripts/setup.sh";
        assert!(policy.check_exec(&command(relative, &[], &f.worktree)).is_err(), "relative program");
    }

    #[test]
    fn cwd_must_be_in_a_granted_area() {
        let f = fixture();
        let declared = [exec("*", &["**"]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        assert!(policy.check_exec(&command("ls", &[], &f.worktree)).is_ok());
        assert!(policy.check_exec(&command("ls", &[], &f.outside)).is_err());
        let escape = f.worktree.join("..").join("outside");
        assert!(policy.check_exec(&command("ls", &[], &escape)).is_err());
    }

    #[test]
    fn environment_names_are_declared_forbidden_or_host_owned() {
        let f = fixture();
        let declared = [
            exec("*", &["**"]),
            Capability::Env("API_KEY".into()),
            Capability::Env("CI".into()),
            Capability::Fs { area: Area::Worktree, access: Access::Write },
        ];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let check = |env: Vec<(String, EnvValue)>| {
            policy.check_exec(&CommandRequest { program: "ls", args: &[], cwd: &f.worktree, env: &env, stdin: None })
        };
        let literal = |n: &str, v: &str| (n.to_string(), EnvValue::Literal(v.into()));
        let host = |n: &str| (n.to_string(), EnvValue::Host(n.into()));
        assert!(check(vec![host("API_KEY"), literal("CI", "1")]).is_ok());
        let denial = check(vec![host("AWS_SECRET_ACCESS_KEY")]).unwrap_err();
        assert_eq!((denial.asked.as_str(), denial.kind), ("env AWS_SECRET_ACCESS_KEY", DenialKind::NotDeclared));
        assert_eq!(check(vec![literal("SOME_FLAG", "x")]).unwrap_err().kind, DenialKind::NotDeclared);
        for name in ["LD_PRELOAD", "PATH", "GIT_CONFIG_COUNT", "SHELL", "PROMPT_COMMAND", "NODE_OPTIONS"] {
            assert_eq!(check(vec![literal(name, "x")]).unwrap_err().kind, DenialKind::Forbidden, "{name}");
        }
        let approved = check(vec![literal("AGENCY_RUN_ID", "forged"), literal("CI", "1")]).unwrap();
        assert_eq!(approved.env, vec![literal("CI", "1")], "host-owned names are dropped");
        let forwarded_forbidden = vec![("API_KEY".to_string(), EnvValue::Host("SSH_AUTH_SOCK".into()))];
        assert!(check(forwarded_forbidden).is_ok(), "declarable host names may be forwarded under a granted name");
        let from_path = vec![("API_KEY".to_string(), EnvValue::Host("LD_PRELOAD".into()))];
        assert_eq!(check(from_path).unwrap_err().kind, DenialKind::Forbidden);
        let forward_only = [
            Capability::Env("CARGO_HOME".into()),
            exec("*", &["**"]),
            Capability::Fs { area: Area::Worktree, access: Access::Read },
        ];
        let policy = Policy { declared: &forward_only, granted: &forward_only, areas: &f.areas };
        let check = |env: Vec<(String, EnvValue)>| {
            policy.check_exec(&CommandRequest { program: "ls", args: &[], cwd: &f.worktree, env: &env, stdin: None })
        };
        assert!(check(vec![host("CARGO_HOME")]).is_ok(), "the user's own value passes on");
        assert_eq!(check(vec![literal("CARGO_HOME", "/plugin-data/evil")]).unwrap_err().kind, DenialKind::Forbidden);
        let other = vec![("CARGO_HOME".to_string(), EnvValue::Host("TMPDIR".into()))];
        assert_eq!(check(other).unwrap_err().kind, DenialKind::Forbidden, "never another variable's value");
    }

    #[test]
    fn launch_text_is_bounded_and_free_of_control_characters() {
        let f = fixture();
        let declared = [exec("*", &["**"]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let launch = |ready: Option<&'static str>, keys: Option<&'static str>| LaunchRequest {
            command: command("ls", &[], Path::new("/")),
            ready_pattern: ready,
            keystrokes: keys,
            interrupt_keys: &[],
        };
        let mut ok = launch(Some("ready>"), Some("fix the bug\nand the test"));
        ok.command.cwd = &f.worktree;
        assert!(policy.check_launch(&ok).is_ok());
        for mut bad in
            [launch(None, Some("ls\x1b[A")), launch(None, Some("x\x03")), launch(Some("[agency] the agent"), None)]
        {
            bad.command.cwd = &f.worktree;
            assert!(policy.check_launch(&bad).is_err(), "{bad:?}");
        }
        let typing = ["q".to_string(), "Enter".to_string()];
        let mut keys = launch(None, None);
        keys.command.cwd = &f.worktree;
        keys.interrupt_keys = &typing;
        assert!(policy.check_launch(&keys).is_err(), "interrupt keys cannot type or submit");
        let escape = ["Escape".to_string()];
        keys.interrupt_keys = &escape;
        assert!(policy.check_launch(&keys).is_ok());
    }

    #[test]
    fn oversized_requests_are_refused_and_denials_stay_small() {
        let f = fixture();
        let declared = [exec("git", &["status", "**"]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let huge = vec!["status".to_string(), "x".repeat(1 << 20)];
        let denial = policy.check_exec(&command("git", &huge, &f.worktree)).unwrap_err();
        assert_eq!(denial.kind, DenialKind::Invalid);
        assert!(denial.asked.chars().count() <= limits::DENIAL_TEXT);
        let undeclared = vec!["y".repeat(100_000)];
        let denial = policy.check_exec(&command("curl", &undeclared, &f.worktree)).unwrap_err();
        assert!(denial.asked.chars().count() <= limits::DENIAL_TEXT);
    }

    #[test]
    fn bare_names_must_not_resolve_into_an_area() {
        let f = fixture();
        let declared = [exec("tool", &[]), Capability::Fs { area: Area::Worktree, access: Access::Read }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        let tool = f.worktree.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let denial = policy.resolve_program_in("tool", "exec tool", f.worktree.as_os_str()).unwrap_err();
        assert_eq!(denial.kind, DenialKind::Forbidden, "{denial:?}");
        let denial = policy.resolve_program_in("tool", "exec tool", OsStr::new("relative/dir")).unwrap_err();
        assert_eq!(denial.kind, DenialKind::NotFound, "relative PATH entries are skipped");
        let elsewhere = f.outside.join("bin");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::copy(&tool, elsewhere.join("tool")).unwrap();
        let search = std::env::join_paths([&elsewhere, &f.worktree]).unwrap();
        assert_eq!(policy.resolve_program_in("tool", "exec tool", &search).unwrap(), elsewhere.join("tool"));
    }

    #[test]
    fn preopens_follow_fs_grants() {
        let f = fixture();
        let declared = [Capability::Fs { area: Area::Worktree, access: Access::Write }];
        let policy = Policy { declared: &declared, granted: &declared, areas: &f.areas };
        assert_eq!(policy.preopen_access(Area::Worktree), Some(Access::Write));
        assert_eq!(policy.preopen_access(Area::Repo), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("LD_PRELOAD".to_string()),
            Just("PATH".to_string()),
            Just("GIT_CONFIG_KEY_0".to_string()),
            Just("AGENCY_RUN_ID".to_string()),
            Just("CARGO_HOME".to_string()),
            Just("API_KEY".to_string()),
            Just("CI".to_string()),
            "[A-Z_][A-Z0-9_]{0,12}",
            ".{0,6}",
        ]
    }

    fn value() -> impl Strategy<Value = EnvValue> {
        prop_oneof![".{0,8}".prop_map(EnvValue::Literal), name().prop_map(EnvValue::Host)]
    }

    proptest! {
        /// Whatever variables a plugin asks for, what is approved is declared and granted,
        /// never forbidden, never a host-owned name, and forward-only names carry only the
        /// user's own value.
        #[test]
        fn approved_environments_respect_every_rule(env in prop::collection::vec((name(), value()), 0..6), granted_api in any::<bool>()) {
            let dir = tempfile::tempdir().unwrap();
            let areas = AreaRoots::new([(Area::Worktree, dir.path().to_path_buf())]);
            let mut declared = vec![
                Capability::Exec { program: "*".into(), args: vec!["**".into()] },
                Capability::Fs { area: Area::Worktree, access: Access::Read },
                Capability::Env("CI".into()),
                Capability::Env("CARGO_HOME".into()),
                Capability::Env("API_KEY".into()),
            ];
            let granted: Vec<Capability> = declared.iter().filter(|c| granted_api || **c != Capability::Env("API_KEY".into())).cloned().collect();
            declared.push(Capability::Env("LATER".into()));
            let policy = Policy { declared: &declared, granted: &granted, areas: &areas };
            let request = CommandRequest { program: "sh", args: &[], cwd: dir.path(), env: &env, stdin: None };
            if let Ok(approved) = policy.check_exec(&request) {
                for (name, value) in &approved.env {
                    prop_assert!(granted.contains(&Capability::Env(name.clone())), "{name} not granted");
                    let rule = env_names::rule(name);
                    prop_assert!(!matches!(rule, EnvRule::Forbidden(_) | EnvRule::HostOwned), "{name}: {rule:?}");
                    if let EnvRule::ForwardOnly(_) = env_names::rule(name) {
                        prop_assert_eq!(value, &EnvValue::Host(name.clone()));
                    }
                }
            }
        }

        /// Keystrokes with a control character other than a newline or tab are never approved.
        #[test]
        fn keystrokes_with_controls_are_never_approved(keys in "\\PC{0,20}[\\x00-\\x08\\x0b-\\x1f\\x7f\\u{80}-\\u{9f}]\\PC{0,20}") {
            let dir = tempfile::tempdir().unwrap();
            let areas = AreaRoots::new([(Area::Worktree, dir.path().to_path_buf())]);
            let declared = [
                Capability::Exec { program: "*".into(), args: vec!["**".into()] },
                Capability::Fs { area: Area::Worktree, access: Access::Read },
            ];
            let policy = Policy { declared: &declared, granted: &declared, areas: &areas };
            let launch = LaunchRequest {
                command: CommandRequest { program: "sh", args: &[], cwd: dir.path(), env: &[], stdin: None },
                ready_pattern: None,
                keystrokes: Some(&keys),
                interrupt_keys: &[],
            };
            prop_assert!(policy.check_launch(&launch).is_err());
        }

        /// Arguments are approved exactly when a declared pattern matches them.
        #[test]
        fn arguments_are_approved_exactly_when_a_pattern_matches(args in prop::collection::vec("[a-z*-]{0,4}", 0..5), patterns in prop::collection::vec(prop_oneof![Just("*".to_string()), "[a-z-]{0,3}"], 0..4), rest in any::<bool>()) {
            let dir = tempfile::tempdir().unwrap();
            let areas = AreaRoots::new([(Area::Worktree, dir.path().to_path_buf())]);
            let mut patterns = patterns;
            if rest {
                patterns.push("**".into());
            }
            let declared = [
                Capability::Exec { program: "sh".into(), args: patterns.clone() },
                Capability::Fs { area: Area::Worktree, access: Access::Read },
            ];
            let policy = Policy { declared: &declared, granted: &declared, areas: &areas };
            let request = CommandRequest { program: "sh", args: &args, cwd: dir.path(), env: &[], stdin: None };
            prop_assert_eq!(policy.check_exec(&request).is_ok(), args_match(&patterns, &args));
        }
    }
}
