//! What crosses the sandbox boundary (issue 10): every byte a plugin hands the host goes
//! through the one checker, and the host never runs or follows what a plugin or an agent
//! planted. One hostile fixture per class: variables that load or redirect code, host calls
//! that would outlive the budget, oversized denials, launch plans that set loader or shell
//! variables or type into the shell after the agent, a replaced `.git`, symlinks out of the
//! worktree, escape sequences in a declaration, a repository shadowing a built-in, read
//! commands and ungranted bytes, a swapped compile cache, and components of the wrong shape.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use crate::common::env::wait_until;
use crate::common::repo::fixture;

const SECRET: &str = "TOP-SECRET-VALUE-41c9";

/// A repo whose setup step is the hostile fixture with `attack`.
fn hostile_repo(env: &TestEnv, attack: &str) -> PathBuf {
    let repo = env.repo("r");
    env.pin_plugin(
        &repo,
        "hostile",
        &fixture("hostile"),
        serde_json::json!({ "steps": { "setup": [{ "plugin": "hostile", "params": { "attack": attack } }] } }),
    );
    repo
}

fn run_attack(env: &TestEnv, attack: &str, budget: &str) -> (crate::common::env::Outcome, PathBuf) {
    let repo = hostile_repo(env, attack);
    let out = env.agency_with(
        &repo,
        &["--yes", "run", "--detached", "--name", "victim"],
        &[("AGENCY_PLUGIN_TIMEOUT", budget), ("AGENCY_TEST_SECRET", SECRET)],
    );
    (out, repo)
}

fn no_planted_file_ran(env: &TestEnv) {
    let found = env.sh(&env.root(), "find . -name 'PWNED*' 2>/dev/null");
    assert!(found.trim().is_empty(), "a planted program ran: {found}");
}

#[test]
fn literal_and_forwarded_variables_go_through_the_checker() {
    for (attack, needle) in [
        ("env-git-config", "env GIT_CONFIG_COUNT"),
        ("env-ld-preload", "env LD_PRELOAD"),
        ("env-path", "env PATH"),
        ("env-undeclared", "env SOME_TOKEN"),
        ("env-forward-secret", "env AGENCY_TEST_SECRET"),
    ] {
        let env = TestEnv::new();
        let (out, _) = run_attack(&env, attack, "5s");
        let stderr = out.err("E_PLUGIN_DENIED");
        assert!(stderr.contains(needle), "{attack}: {stderr}");
        assert!(!stderr.contains(SECRET) && !out.stdout.contains(SECRET), "{attack}: the secret leaked");
        no_planted_file_ran(&env);
        env.assert_records_intact();
    }
}

#[test]
fn host_calls_are_charged_to_the_call_budget() {
    for attack in ["log-flood", "exec-loop"] {
        let env = TestEnv::new();
        let started = Instant::now();
        let (out, _) = run_attack(&env, attack, "3s");
        let stderr = out.err("E_PLUGIN_TIMEOUT");
        assert!(stderr.contains("host calls included"), "{attack}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(20), "{attack} ran {:?}", started.elapsed());
        let log = env.run_dirs()[0].join("logs/plugin.log");
        let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        assert!(size < 400_000, "{attack}: the plugin log grew to {size} bytes");
    }
}

#[test]
fn an_exec_timeout_is_capped_by_what_is_left() {
    let env = TestEnv::new();
    let started = Instant::now();
    let (out, _) = run_attack(&env, "exec-forever", "3s");
    // The plugin asked for u32::MAX ms; the exec is cut at what is left of the budget.
    assert!(out.ok().contains("setup: RAN exit None timed_out true"), "{}", out.stdout);
    assert!(started.elapsed() < Duration::from_secs(20), "ran {:?}", started.elapsed());
    let pgrep = env.sh(&env.root(), "pgrep -f '^sleep 1000$' || true");
    assert!(pgrep.trim().is_empty(), "the exec'd program outlived its budget: {pgrep}");
}

#[test]
fn denied_requests_are_not_kept_whole() {
    let env = TestEnv::new();
    let (out, _) = run_attack(&env, "denied-huge", "20s");
    let stderr = out.err("E_PLUGIN_DENIED");
    assert!(stderr.len() < 4_000, "the error holds {} bytes", stderr.len());
    let events = std::fs::metadata(env.run_dirs()[0].join("events.jsonl")).unwrap().len();
    assert!(events < 64_000, "events.jsonl grew to {events} bytes");
}

#[test]
fn a_program_run_in_a_read_area_does_not_write_there() {
    let env = TestEnv::new();
    let repo = hostile_repo(&env, "status-in-repo");
    // An index older than the files: a `git status` that may write would refresh it.
    env.sh(&repo, "touch -d '2001-01-01' .git/index && touch agency.json");
    let before = std::fs::metadata(repo.join(".git/index")).unwrap().modified().unwrap();
    let out = env.agency(&repo, &["--yes", "run", "--detached", "--name", "r1"]);
    out.ok();
    let after = std::fs::metadata(repo.join(".git/index")).unwrap().modified().unwrap();
    assert_eq!(before, after, "git status rewrote the main checkout's index");
}

#[test]
fn launch_plans_cannot_set_loader_or_shell_variables_or_type_controls() {
    for (prompt, needle) in [
        ("env-ld-preload", "env LD_PRELOAD"),
        ("env-shell-prompt", "env SHELL"),
        ("env-git-config", "env GIT_CONFIG"),
        ("control-keys", "control characters"),
        ("type-into-shell", "pane messages"),
    ] {
        let env = TestEnv::new();
        let repo = env.repo("r");
        env.pin_plugin(&repo, "hostile-runner", &fixture("hostile-runner"), serde_json::json!({}));
        let out = env.agency(
            &repo,
            &["--yes", "run", "--detached", "--name", "x", "--runner", "hostile-runner", "--prompt", prompt],
        );
        let stderr = out.err("E_PLUGIN_DENIED");
        assert!(stderr.contains(needle), "{prompt}: {stderr}");
        assert!(env.run_dirs().is_empty(), "{prompt}: a denied plan creates nothing");
    }
}

#[test]
fn keystrokes_never_reach_the_shell_left_after_the_agent() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.pin_plugin(&repo, "hostile-runner", &fixture("hostile-runner"), serde_json::json!({}));
    let out = env.agency_with(
        &repo,
        &["--yes", "run", "--detached", "--name", "x", "--runner", "hostile-runner", "--prompt", "type-after-exit"],
        &[("AGENCY_READY_TIMEOUT", "5s")],
    );
    out.ok();
    assert!(out.stderr.contains("prompt was not delivered"), "{}", out.stderr);
    let meta = env.meta(&env.run_dirs()[0]);
    assert_eq!(meta["flags"]["needs_attention_reason"], "prompt_not_delivered", "{meta:#}");
    std::thread::sleep(Duration::from_millis(1500));
    no_planted_file_ran(&env);
}

#[test]
fn agents_start_from_the_callers_documented_environment_only() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    // A tmux server started with a secret of its own, before the run.
    env.command("tmux", &repo)
        .args(["-L", &env.socket, "new-session", "-d", "-s", "keepalive"])
        .env("SERVER_ONLY_SECRET", SECRET)
        .status()
        .unwrap();
    // Written whole, then renamed: the test never reads a half-written dump.
    env.fake_bin(
        "claude",
        "#!/bin/sh\nenv > .agency/tmp/env.part && mv .agency/tmp/env.part .agency/tmp/agent-env.txt\nsleep 60\n",
    );
    let out = env.agency_with(
        &repo,
        &["--yes", "run", "--detached", "--name", "c", "--runner", "claude"],
        &[
            ("ANTHROPIC_API_KEY", "sk-caller-key"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("GH_TOKEN", SECRET),
            ("SSH_AUTH_SOCK", "/tmp/agent.sock"),
        ],
    );
    out.ok();
    let worktree = PathBuf::from(env.meta(&env.run_dirs()[0])["worktree_path"].as_str().unwrap());
    let dump = wait_until("the agent to dump its environment", 15, || {
        std::fs::read_to_string(worktree.join(".agency/tmp/agent-env.txt")).map_err(|e| e.to_string())
    });
    assert!(!dump.contains(SECRET), "a secret reached the agent:\n{dump}");
    assert!(!dump.contains("SSH_AUTH_SOCK"), "{dump}");
    assert!(dump.contains("ANTHROPIC_API_KEY=sk-caller-key"), "a declared variable comes from the caller:\n{dump}");
    for name in ["HOME=", "PATH=", "AGENCY_RUN_ID=", "AGENCY_STATUS_FILE="] {
        assert!(dump.lines().any(|l| l.starts_with(name)), "{name} missing:\n{dump}");
    }
}

#[test]
fn host_git_never_runs_a_planted_git_config() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.pin_plugin(
        &repo,
        "hostile-writer",
        &fixture("hostile-writer"),
        serde_json::json!({ "steps": { "setup": [{ "plugin": "hostile-writer" }] } }),
    );
    env.agency(&repo, &["--yes", "run", "--detached", "--name", "w"]).ok();
    let worktree = PathBuf::from(env.meta(&env.run_dirs()[0])["worktree_path"].as_str().unwrap());
    std::fs::write(worktree.join("precious.txt"), "the agent's work").unwrap();
    env.agency(&repo, &["verify", "w"]).err("E_WORKTREE_UNTRUSTED");
    env.agency(&repo, &["--yes", "clean", "w"]).err("E_WORKTREE_UNTRUSTED");
    assert!(worktree.join("precious.txt").exists(), "nothing was removed");
    no_planted_file_ran(&env);
    let repair = env.agency(&repo, &["repair", "--json"]).json();
    let finding = repair["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "untrusted_worktree").cloned();
    assert_eq!(finding.as_ref().map(|f| f["result"].clone()), Some("done".into()), "{repair:#}");
    let cleaned = env.agency(&repo, &["--yes", "clean", "w"]);
    cleaned.ok();
    no_planted_file_ran(&env);
    let saved = cleaned.value("saved_commit").unwrap();
    let shown = env.sh(&repo, &format!("git show {saved}:precious.txt"));
    assert_eq!(shown, "the agent's work");
}

#[test]
fn symlinks_planted_in_the_worktree_are_never_followed() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let secret = env.root().join("id_rsa");
    std::fs::write(&secret, SECRET).unwrap();
    env.agency(&repo, &["run", "--detached", "--name", "s"]).ok();
    let run_dir = env.run_dirs()[0].clone();
    let worktree = PathBuf::from(env.meta(&run_dir)["worktree_path"].as_str().unwrap());
    for planted in [".agency/report.md", ".agency/state/runner_status.json"] {
        std::fs::remove_file(worktree.join(planted)).unwrap();
        std::os::unix::fs::symlink(&secret, worktree.join(planted)).unwrap();
    }
    let show = env.agency(&repo, &["show", "s", "--json"]);
    assert!(!show.stdout.contains(SECRET), "show read through a symlink");
    env.agency(&repo, &["--yes", "clean", "s"]).ok();
    for kept in ["report.md", "state_runner_status.json"] {
        let copy = std::fs::read_to_string(run_dir.join(kept)).unwrap_or_default();
        assert!(!copy.contains(SECRET), "clean copied {kept} through a symlink");
    }
    let run_id = env.meta(&run_dir)["run_id"].as_str().unwrap().to_string();
    env.agency(&repo, &["restore", &run_id]).ok();
    // The agent's symlink comes back as the symlink it was; its target's bytes are nowhere.
    let report = worktree.join(".agency/report.md");
    let is_link = std::fs::symlink_metadata(&report).is_ok_and(|m| m.file_type().is_symlink());
    assert!(
        is_link || !std::fs::read_to_string(&report).unwrap_or_default().contains(SECRET),
        "restore wrote the secret"
    );
    let in_record = env.sh(&run_dir, &format!("grep -rl {SECRET} . || true"));
    assert!(in_record.trim().is_empty(), "the secret is in the run record: {in_record}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), SECRET, "the target is untouched");
}

#[test]
fn escape_sequences_in_a_declaration_are_refused() {
    let env = TestEnv::new();
    let stderr = env
        .agency(&env.root(), &["--yes", "plugin", "add", fixture("hostile-info").to_str().unwrap()])
        .err("E_PLUGIN_INVALID")
        .to_string();
    assert!(stderr.contains("control characters"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "an escape reached the terminal: {stderr:?}");
}

#[test]
fn a_repository_cannot_shadow_a_builtin_plugin() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.pin_plugin(&repo, "claude", &fixture("hostile-runner"), serde_json::json!({}));
    let stderr = env
        .agency(&repo, &["run", "--detached", "--name", "x", "--runner", "claude"])
        .err("E_INVALID_AGENCY_JSON")
        .to_string();
    assert!(stderr.contains("plugins.claude") && stderr.contains("built-in"), "{stderr}");
    let doctor = env.agency(&repo, &["doctor"]);
    assert!(doctor.stdout.contains("built-in"), "doctor names it:\n{}", doctor.stdout);
}

#[test]
fn read_commands_never_run_bytes_nobody_granted() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.pin_plugin(&repo, "hostile-runner", &fixture("hostile-runner"), serde_json::json!({}));
    env.agency(&repo, &["--yes", "run", "--detached", "--name", "h", "--runner", "hostile-runner"]).ok();
    let log = env.run_dirs()[0].join("logs/plugin.log");
    wait_until("ls to classify the granted runner", 10, || {
        env.agency(&repo, &["ls"]).ok();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("CLASSIFIED") { Ok(()) } else { Err(text) }
    });
    // The grant goes away (for example, the pinned file changed and was not granted again).
    std::fs::write(env.config.join("grants.json"), r#"{"version": 1, "plugins": {}}"#).unwrap();
    std::fs::write(&log, "").unwrap();
    let ls = env.agency(&repo, &["ls", "--json"]).json();
    assert!(ls["runs"][0]["status"]["reason"].as_str().unwrap().contains("not granted"), "{ls:#}");
    env.agency(&repo, &["show", "h"]).ok();
    assert!(!std::fs::read_to_string(&log).unwrap().contains("CLASSIFIED"), "ungranted bytes ran");
    let doctor = env.agency(&repo, &["doctor"]);
    assert!(doctor.stdout.contains("not granted"), "doctor lists the pin and its trust:\n{}", doctor.stdout);
}

#[test]
fn a_swapped_compile_cache_entry_never_runs() {
    let mut env = TestEnv::new();
    let cache = env.root().join("private-cache");
    env.set_env("AGENCY_CACHE_DIR", cache.to_str().unwrap());
    env.agency(&env.root(), &["plugin", "inspect", "shell"]).ok();
    env.agency(&env.root(), &["plugin", "inspect", "claude"]).ok();
    let entries: Vec<PathBuf> = std::fs::read_dir(cache.join("plugins"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(entries.len(), 2);
    // Put one component's compiled code under the other's name.
    let bytes = std::fs::read(&entries[1]).unwrap();
    std::fs::remove_file(&entries[0]).unwrap();
    std::fs::write(&entries[0], bytes).unwrap();
    for id in ["shell", "claude"] {
        let shown = env.agency(&env.root(), &["plugin", "inspect", id, "--json"]).json();
        assert_eq!(shown["plugin"]["id"], id, "{shown:#}");
    }
}

/// A component (layer 1) holding one core module with `memories` memories of `pages` pages.
fn component_with_memories(memories: u8, pages: u32) -> Vec<u8> {
    fn leb(mut n: u32, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut section = Vec::new();
    leb(u32::from(memories), &mut section);
    for _ in 0..memories {
        section.push(0x00);
        leb(pages, &mut section);
    }
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    module.push(5);
    leb(section.len() as u32, &mut module);
    module.extend(section);
    let mut component = b"\0asm\x0d\0\x01\0".to_vec();
    component.push(1);
    leb(module.len() as u32, &mut component);
    component.extend(module);
    component
}

#[test]
fn components_of_the_wrong_shape_are_invalid() {
    let env = TestEnv::new();
    let cases = [
        ("many-memories.wasm", component_with_memories(16, 1), "16 linear memories"),
        ("huge-memories.wasm", component_with_memories(2, 3200), "MiB together"),
    ];
    for (name, bytes, needle) in cases {
        let path = env.root().join(name);
        std::fs::write(&path, bytes).unwrap();
        let stderr =
            env.agency(&env.root(), &["plugin", "add", path.to_str().unwrap()]).err("E_PLUGIN_INVALID").to_string();
        assert!(stderr.contains(needle), "{name}: {stderr}");
    }
    let stderr = env
        .agency(&env.root(), &["plugin", "add", fixture("bad-shape").to_str().unwrap()])
        .err("E_PLUGIN_INVALID")
        .to_string();
    assert!(stderr.contains("does not match the API"), "{stderr}");
}
