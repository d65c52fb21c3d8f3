//! Which environment variable names a plugin may set or forward. Three kinds:
//! - **host-owned** (`AGENCY_*`): the host sets them for every command it starts; a plugin's
//!   own value for one is dropped, never used;
//! - **forbidden**: names that load code or redirect execution (`LD_PRELOAD`, `PATH`,
//!   `GIT_CONFIG_*`, `SHELL`, `PROMPT_COMMAND`, `NODE_OPTIONS`, …). No plugin can declare them,
//!   so no grant can allow them (the base environment already carries the user's own `PATH`,
//!   `HOME` and `SHELL`);
//! - **forward-only**: names that say where a tool reads configuration or which compiler it
//!   runs (`CARGO_HOME`, `RUSTFLAGS`, `CC`, `XDG_CONFIG_HOME`, …). A plugin may declare them to
//!   pass the user's own value on (`env_from_host` of the same name), never to set one;
//! - everything else is **declarable**: allowed only when declared as `env NAME` and granted.
//!
//! The list is documented in docs/security.md (a test keeps the two in step). It cannot be
//! complete for every tool on earth; it covers the loaders, shells, interpreters and version
//! control agency knows are in play, and the grant prompt shows every other name a plugin asks for.

/// What a variable name is, for the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvRule {
    HostOwned,
    Forbidden(&'static str),
    ForwardOnly(&'static str),
    Declarable,
}

/// Prefix of the variables the host sets itself.
pub const HOST_OWNED_PREFIX: &str = "AGENCY_";

/// Forbidden by prefix: (prefix, why).
pub const FORBIDDEN_PREFIXES: &[(&str, &str)] = &[
    ("LD_", "dynamic loader"),
    ("DYLD_", "dynamic loader (macOS)"),
    ("GIT_CONFIG", "git configuration injection"),
    ("GIT_SSH", "git transport command"),
    ("BASH_FUNC_", "exported shell functions"),
    ("CARGO_TARGET_", "cargo target runners"),
];

/// Forbidden by exact name: (name, why).
pub const FORBIDDEN_NAMES: &[(&str, &str)] = &[
    ("PATH", "program lookup"),
    ("SHELL", "the shell programs start"),
    ("BASH_ENV", "bash startup file"),
    ("ENV", "sh startup file"),
    ("PROMPT_COMMAND", "runs before every prompt"),
    ("PS1", "prompt expansion runs commands"),
    ("PS2", "prompt expansion runs commands"),
    ("PS4", "prompt expansion runs commands"),
    ("IFS", "shell word splitting"),
    ("GIT_EXEC_PATH", "git helper programs"),
    ("GIT_DIR", "which repository git uses"),
    ("GIT_WORK_TREE", "which files git uses"),
    ("GIT_COMMON_DIR", "which repository git uses"),
    ("GIT_INDEX_FILE", "which index git uses"),
    ("GIT_OBJECT_DIRECTORY", "which objects git uses"),
    ("GIT_ALTERNATE_OBJECT_DIRECTORIES", "which objects git uses"),
    ("GIT_TEMPLATE_DIR", "hooks copied into new repositories"),
    ("GIT_ASKPASS", "credential helper program"),
    ("GIT_EDITOR", "editor program"),
    ("GIT_PAGER", "pager program"),
    ("GIT_EXTERNAL_DIFF", "diff program"),
    ("GIT_PROXY_COMMAND", "transport program"),
    ("SSH_ASKPASS", "credential helper program"),
    ("SUDO_ASKPASS", "credential helper program"),
    ("EDITOR", "editor program"),
    ("VISUAL", "editor program"),
    ("PAGER", "pager program"),
    ("MANPAGER", "pager program"),
    ("LESSOPEN", "input preprocessor program"),
    ("LESSCLOSE", "input preprocessor program"),
    ("BROWSER", "browser program"),
    ("NODE_OPTIONS", "node preloads modules"),
    ("PYTHONSTARTUP", "python startup file"),
    ("PERL5OPT", "perl preloads modules"),
    ("RUBYOPT", "ruby preloads libraries"),
    ("JAVA_TOOL_OPTIONS", "JVM agents"),
    ("_JAVA_OPTIONS", "JVM agents"),
    ("JDK_JAVA_OPTIONS", "JVM agents"),
    ("LUA_INIT", "lua startup code"),
    ("PHPRC", "php configuration"),
    ("PHP_INI_SCAN_DIR", "php configuration"),
    ("RUSTC_WRAPPER", "cargo compiler wrapper"),
    ("RUSTC_WORKSPACE_WRAPPER", "cargo compiler wrapper"),
    ("RUSTC", "cargo compiler"),
    ("RUSTDOC", "cargo documentation compiler"),
    ("CARGO_BUILD_RUSTC_WRAPPER", "cargo compiler wrapper"),
    ("GCONV_PATH", "glibc character set modules"),
    ("GLIBC_TUNABLES", "glibc tunables"),
    ("LOCPATH", "glibc locale files"),
    ("NLSPATH", "message catalogues"),
    ("HOSTALIASES", "resolver configuration"),
    ("TMUX", "which tmux server commands talk to"),
];

/// Forward-only by prefix: (prefix, why).
pub const FORWARD_ONLY_PREFIXES: &[(&str, &str)] = &[
    ("NPM_CONFIG_", "npm configuration (script shell, prefix)"),
    ("npm_config_", "npm configuration (script shell, prefix)"),
];

/// Forward-only by exact name: (name, why).
pub const FORWARD_ONLY_NAMES: &[(&str, &str)] = &[
    ("HOME", "where programs read their configuration"),
    ("XDG_CONFIG_HOME", "where programs read their configuration"),
    ("XDG_CONFIG_DIRS", "where programs read their configuration"),
    ("XDG_DATA_HOME", "where programs read their data"),
    ("ZDOTDIR", "zsh startup files"),
    ("CARGO_HOME", "cargo configuration"),
    ("RUSTUP_HOME", "the Rust toolchains"),
    ("RUSTUP_TOOLCHAIN", "the Rust toolchain"),
    ("RUSTFLAGS", "compiler flags (linker, plugins)"),
    ("CC", "the C compiler"),
    ("CXX", "the C++ compiler"),
    ("GOFLAGS", "go flags (toolexec)"),
    ("GOPATH", "go module and tool location"),
    ("NODE_PATH", "node module lookup"),
    ("PYTHONPATH", "python module lookup"),
    ("PYTHONHOME", "python standard library location"),
    ("PYTHONUSERBASE", "python module lookup"),
    ("VIRTUAL_ENV", "the python environment"),
    ("PERL5LIB", "perl module lookup"),
    ("PERLLIB", "perl module lookup"),
    ("RUBYLIB", "ruby library lookup"),
    ("CLASSPATH", "JVM class lookup"),
    ("JAVA_HOME", "the JVM"),
    ("TERMINFO", "terminal description files"),
    ("TERMINFO_DIRS", "terminal description files"),
    ("MAKEFLAGS", "make flags"),
];

/// The rule for `name`.
pub fn rule(name: &str) -> EnvRule {
    if name.starts_with(HOST_OWNED_PREFIX) {
        return EnvRule::HostOwned;
    }
    if let Some((_, why)) = FORBIDDEN_NAMES.iter().find(|(n, _)| *n == name) {
        return EnvRule::Forbidden(why);
    }
    if let Some((_, why)) = FORBIDDEN_PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
        return EnvRule::Forbidden(why);
    }
    if let Some((_, why)) = FORWARD_ONLY_NAMES.iter().find(|(n, _)| *n == name) {
        return EnvRule::ForwardOnly(why);
    }
    if let Some((_, why)) = FORWARD_ONLY_PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
        return EnvRule::ForwardOnly(why);
    }
    EnvRule::Declarable
}

/// A syntactically valid variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters.
pub fn valid_name(name: &str) -> bool {
    name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_names() {
        assert_eq!(rule("AGENCY_RUN_ID"), EnvRule::HostOwned);
        for name in ["LD_PRELOAD", "DYLD_INSERT_LIBRARIES", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "PATH", "SHELL"] {
            assert!(matches!(rule(name), EnvRule::Forbidden(_)), "{name}");
        }
        for name in ["GIT_SSH_COMMAND", "NODE_OPTIONS", "PROMPT_COMMAND", "BASH_ENV"] {
            assert!(matches!(rule(name), EnvRule::Forbidden(_)), "{name}");
        }
        for name in ["HOME", "CARGO_HOME", "RUSTFLAGS", "npm_config_script_shell", "XDG_CONFIG_HOME"] {
            assert!(matches!(rule(name), EnvRule::ForwardOnly(_)), "{name}");
        }
        for name in ["ANTHROPIC_API_KEY", "CI", "GIT_AUTHOR_NAME", "RUST_LOG"] {
            assert_eq!(rule(name), EnvRule::Declarable, "{name}");
        }
    }

    #[test]
    fn name_syntax() {
        assert!(valid_name("A_1") && valid_name("_x"));
        assert!(!valid_name("") && !valid_name("1A") && !valid_name("A-B") && !valid_name("A=B"));
        assert!(!valid_name(&"A".repeat(129)));
    }
}
