//! Docs kept honest: `docs/errors.md` lists exactly the error codes the binary knows, and
//! `docs/cli.md` is the current `--help` of every command (regenerate with
//! `UPDATE_DOCS=1 cargo test -p agency --test cli test_docs`). The completion scripts offer the
//! same commands and flags, checked by asking a real bash.

use std::path::PathBuf;

use agency::error::ErrorCode;

use crate::common::TestEnv;

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("docs")
}

/// Compare a generated doc with the committed one; `UPDATE_DOCS=1` rewrites it.
fn check_doc(name: &str, generated: &str) {
    let path = docs_dir().join(name);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, generated).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "docs/{name} is out of date: run UPDATE_DOCS=1 cargo test -p agency --test cli test_docs"
    );
}

#[test]
fn the_security_page_lists_every_variable_rule() {
    use agency::plugin::env_names::{FORBIDDEN_NAMES, FORBIDDEN_PREFIXES, FORWARD_ONLY_NAMES, FORWARD_ONLY_PREFIXES};
    let page = std::fs::read_to_string(docs_dir().join("security.md")).unwrap();
    let (forbidden, forward_only) = page.split_once("<!-- forward-only-list -->").expect("the forward-only marker");
    for (name, _) in FORBIDDEN_NAMES {
        assert!(forbidden.contains(&format!("`{name}`")), "docs/security.md does not list forbidden `{name}`");
    }
    for (prefix, _) in FORBIDDEN_PREFIXES {
        assert!(forbidden.contains(&format!("`{prefix}")), "docs/security.md does not list forbidden `{prefix}*`");
    }
    for (name, _) in FORWARD_ONLY_NAMES {
        assert!(forward_only.contains(&format!("`{name}`")), "docs/security.md does not list forward-only `{name}`");
    }
    for (prefix, _) in FORWARD_ONLY_PREFIXES {
        assert!(
            forward_only.contains(&format!("`{prefix}")),
            "docs/security.md does not list forward-only `{prefix}*`"
        );
    }
}

#[test]
fn error_list_matches_the_code() {
    let mut text = String::from(include_str!("../../docs/errors.head.md"));
    text.push_str("| code | exit | meaning | default hint |\n|---|---|---|---|\n");
    for code in ErrorCode::ALL {
        let hint = code.default_hint().replace('|', "\\|");
        let row = [code.as_str().to_string(), code.exit_status().to_string(), code.description().into(), hint];
        text.push_str(&format!("| `{}` | {} | {} | `{}` |\n", row[0], row[1], row[2], row[3]));
    }
    check_doc("errors.md", &text);
}

fn command_names() -> Vec<String> {
    use clap::CommandFactory;
    let cli = agency::cli::Cli::command();
    let mut names = Vec::new();
    for sub in cli.get_subcommands() {
        names.push(sub.get_name().to_string());
        for nested in sub.get_subcommands() {
            names.push(format!("{} {}", sub.get_name(), nested.get_name()));
        }
    }
    names
}

#[test]
fn cli_reference_is_current() {
    let env = TestEnv::new();
    let mut text =
        String::from("# Command reference\n\nGenerated from `agency <command> --help`; a test keeps it current.\n\n");
    let mut sections = vec![String::new()];
    sections.extend(command_names());
    for name in sections {
        let mut args: Vec<&str> = name.split_whitespace().collect();
        args.push("--help");
        let out = env.agency(&env.root(), &args);
        let title = if name.is_empty() { "agency".to_string() } else { format!("agency {name}") };
        text.push_str(&format!("## {title}\n\n```text\n{}```\n\n", out.ok()));
    }
    check_doc("cli.md", &text);
}

#[test]
fn example_configs_are_valid() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/configs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            agency::config::AgencyJson::parse(&text).unwrap_or_else(|e| panic!("{}: {}", path.display(), e.message));
            checked += 1;
        }
    }
    assert!(checked >= 2);
}

#[test]
fn bash_completion_offers_commands_and_flags() {
    let env = TestEnv::new();
    let script = env.root().join("agency.bash");
    std::fs::write(&script, env.agency(&env.root(), &["completion", "bash"]).ok()).unwrap();
    // What bash offers for the last word of `words`, as a user pressing Tab would see it.
    let complete = |words: &str| {
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             _agency agency \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[*]}}\"",
            script.display()
        );
        std::fs::write(env.root().join("probe.bash"), probe).unwrap();
        env.sh(&env.root(), "bash probe.bash").trim().to_string()
    };
    assert_eq!(complete("agency re"), "resume restore repair");
    assert_eq!(complete("agency merge --no-d"), "--no-delete-branch");
    env.agency(&env.root(), &["completion", "tcsh"]).err("E_USAGE");
}
