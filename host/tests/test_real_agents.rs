//! The real agent CLIs under agency, in real tmux, offline: Claude Code, Codex, Gemini CLI
//! and aider reach their trust, login, retry and error screens, and agency must read them as a
//! person would, deliver prompts, stop a turn the agent's way (the agent stays, idle), and
//! end every process of a run on `kill`.
//!
//! The CLIs come from `.ci/install-agents` (pinned versions in `target/agents`, or
//! `AGENCY_TEST_AGENTS=<dir>`). When `AGENCY_TEST_AGENTS` is set they are required; otherwise
//! the tests say they skipped. Each test seeds its own HOME (the config files that skip
//! onboarding), fake keys, and API base URLs pointing at a closed local port, so every API
//! call fails at once instead of waiting for DNS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::TestEnv;
use crate::common::env::wait_until;

/// A closed local port: connection refused at once.
const DEAD_API: &str = "http://127.0.0.1:9";

/// The installed CLIs, or `None` (the test then skips) when they are not required.
fn agents() -> Option<PathBuf> {
    let required = std::env::var_os("AGENCY_TEST_AGENTS").map(PathBuf::from);
    let dir = required.clone().unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/agents"));
    let installed = dir.join("node_modules/.bin/claude").exists();
    match (installed, required) {
        (true, _) => Some(dir.canonicalize().unwrap()),
        (false, Some(dir)) => panic!("AGENCY_TEST_AGENTS={} has no agents (run .ci/install-agents)", dir.display()),
        (false, None) => {
            eprintln!("real agents not installed (.ci/install-agents); skipped");
            None
        }
    }
}

/// A world whose PATH starts with the installed CLIs.
fn world(agents: &Path) -> TestEnv {
    let mut env = TestEnv::new();
    let path = format!(
        "{}:{}:{}:{}",
        agents.join("node_modules/.bin").display(),
        agents.join("venv/bin").display(),
        env.root().join("bin").display(),
        crate::common::env::hermetic_path().display()
    );
    env.set_env("PATH", &path);
    // Claude Code updates itself (globally, with npm) unless told not to.
    env.set_env("DISABLE_AUTOUPDATER", "1");
    env
}

fn status(env: &TestEnv, repo: &Path, name: &str) -> serde_json::Value {
    let json = env.agency(repo, &["ls", "--json"]).json();
    json["runs"].as_array().unwrap().iter().find(|r| r["name"] == name).map(|r| r["status"].clone()).unwrap_or_default()
}

/// Wait until the run's status label is `label` (the real CLIs take seconds to start).
fn wait_label(env: &TestEnv, repo: &Path, name: &str, label: &str, secs: u64) -> serde_json::Value {
    wait_until(&format!("{name} to read `{label}`"), secs, || {
        let status = status(env, repo, name);
        if status["label"] == label { Ok(status) } else { Err(format!("{status:#}")) }
    })
}

fn run_dir(env: &TestEnv, name: &str) -> PathBuf {
    env.run_dirs().into_iter().find(|d| env.meta(d)["name"] == name).unwrap()
}

/// Processes whose environment carries the run's id (what `kill` must leave none of).
fn processes_of(run_id: &str) -> Vec<String> {
    let needle = format!("AGENCY_RUN_ID={run_id}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == needle.as_bytes()))
        })
        .map(|e| std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default().replace('\0', " "))
        .collect()
}

fn assert_kill_ends_everything(env: &TestEnv, repo: &Path, name: &str) {
    let id = run_dir(env, name).file_name().unwrap().to_string_lossy().into_owned();
    assert!(!processes_of(&id).is_empty(), "{name}: the agent runs with its run's id");
    env.agency(repo, &["kill", name]).ok();
    wait_until("every process of the run to end", 15, || {
        let left = processes_of(&id);
        if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) }
    });
}

/// `~/.claude.json` that skips onboarding, optionally trusts the repository and approves the
/// fake key.
fn seed_claude(env: &TestEnv, repo: &Path, trust: bool, key: &str) {
    let mut config = serde_json::json!({ "hasCompletedOnboarding": true, "theme": "dark", "autoUpdates": false });
    if !key.is_empty() {
        config["customApiKeyResponses"] = serde_json::json!({ "approved": [&key[key.len() - 20..]], "rejected": [] });
    }
    if trust {
        config["projects"] = serde_json::json!({ repo.to_str().unwrap(): { "hasTrustDialogAccepted": true } });
    }
    std::fs::write(env.root().join("home/.claude.json"), config.to_string()).unwrap();
}

#[test]
fn claude_retries_stops_on_escape_errors_and_is_killed() {
    let Some(agents) = agents() else { return };
    let mut env = world(&agents);
    let key = "sk-ant-fake-test-key-0123456789";
    env.set_env("ANTHROPIC_API_KEY", key);
    env.set_env("ANTHROPIC_BASE_URL", DEAD_API);
    let repo = env.repo("r");
    seed_claude(&env, &repo, true, key);

    env.agency(&repo, &["run", "--runner", "claude", "--name", "c", "--prompt", "say hi", "--detached"]).ok();
    let meta = env.meta(&run_dir(&env, "c"));
    assert_eq!(meta["launch"]["prompt_delivery"], "argv");
    assert_eq!(meta["launch"]["interrupt"], serde_json::json!({ "keys": ["Escape"] }));
    // The first request's spinner reads `working` too; what is checked is that Claude's retry
    // screen (or its own hook) reads as working, not as an error.
    let working = wait_until("claude retrying to read `working`", 60, || {
        let status = status(&env, &repo, "c");
        let retrying = status["reason"].as_str().unwrap_or_default().contains("Retrying");
        if status["label"] == "working" && (retrying || status["decided_by"] == "hook") {
            Ok(status)
        } else {
            Err(format!("{status:#}"))
        }
    });
    assert_eq!(working["runtime"], "session_alive", "{working:#}");
    assert!(run_dir(&env, "c").join("hook.json").exists(), "Claude's hooks reported to agency hook");

    let stopped = env.agency(&repo, &["stop", "c"]);
    stopped.ok();
    eprintln!("stop: {}", stopped.stdout);
    let idle = wait_label(&env, &repo, "c", "idle", 20);
    assert_eq!(idle["runtime"], "session_alive", "stop leaves the agent running: {idle:#}");
    // A second stop of an idle agent sends nothing (two Ctrl-C would quit Claude).
    let again = env.agency(&repo, &["stop", "c"]);
    again.ok();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(status(&env, &repo, "c")["runtime"], "session_alive", "{}", again.stdout);
    assert_kill_ends_everything(&env, &repo, "c");

    // Out of retries, Claude shows the API error at its prompt: an error, not idle.
    env.set_env("CLAUDE_CODE_MAX_RETRIES", "1");
    env.agency(&repo, &["run", "--runner", "claude", "--name", "e", "--prompt", "say hi", "--detached"]).ok();
    let error = wait_label(&env, &repo, "e", "error", 90);
    // Either signal may be read first: the API error on Claude's screen, or its StopFailure
    // hook (the agent's own word that the turn failed).
    let reason = error["reason"].as_str().unwrap();
    let by_screen = error["decided_by"] == "screen:claude" && reason.contains("API Error");
    let by_hook = error["decided_by"] == "hook" && reason.contains("StopFailure");
    assert!(by_screen || by_hook, "{error:#}");
}

#[test]
fn claude_dialogs_and_login_need_input() {
    let Some(agents) = agents() else { return };
    let mut env = world(&agents);
    let key = "sk-ant-fake-test-key-0123456789";
    env.set_env("ANTHROPIC_BASE_URL", DEAD_API);
    let repo = env.repo("r");
    // Not trusted: the folder trust dialog.
    seed_claude(&env, &repo, false, key);
    env.agency_with(&repo, &["run", "--runner", "claude", "--name", "t", "--detached"], &[("ANTHROPIC_API_KEY", key)])
        .ok();
    let trust = wait_label(&env, &repo, "t", "needs input", 60);
    assert!(trust["reason"].as_str().unwrap().contains("trust"), "{trust:#}");
    // Trusted, no key: the "Not logged in · Run /login" footer is not idle.
    seed_claude(&env, &repo, true, "");
    env.agency(&repo, &["run", "--runner", "claude", "--name", "l", "--detached"]).ok();
    let login = wait_label(&env, &repo, "l", "needs input", 60);
    assert!(login["reason"].as_str().unwrap().contains("login"), "{login:#}");
}

#[test]
fn claude_headless_failure_says_why() {
    let Some(agents) = agents() else { return };
    let mut env = world(&agents);
    env.set_env("ANTHROPIC_BASE_URL", DEAD_API);
    let repo = env.repo("r");
    seed_claude(&env, &repo, true, "");
    env.agency(
        &repo,
        &["run", "--runner", "claude", "--name", "h", "--headless", "--prompt", "say hi", "--timeout", "60s"],
    )
    .ok();
    let failed = wait_label(&env, &repo, "h", "failed", 60);
    assert!(failed["reason"].as_str().unwrap().contains("Not logged in"), "the agent's own message: {failed:#}");
    assert_eq!(failed["decided_by"], "headless_result");
}

fn seed_codex(env: &TestEnv, repo: &Path, trust: bool) {
    let home = env.root().join("home/.codex");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("auth.json"), r#"{"OPENAI_API_KEY": "sk-fake-test-key-0123"}"#).unwrap();
    if trust {
        std::fs::write(
            home.join("config.toml"),
            format!("[projects.\"{}\"]\ntrust_level = \"trusted\"\n", repo.display()),
        )
        .unwrap();
    }
}

#[test]
fn codex_starts_reconnects_stops_on_escape_and_leaves_no_server_behind() {
    let Some(agents) = agents() else { return };
    let env = world(&agents);
    let repo = env.repo("r");
    seed_codex(&env, &repo, true);
    env.agency(&repo, &["run", "--runner", "codex", "--name", "x", "--prompt", "say hi", "--detached"]).ok();
    env.agency(&repo, &["run", "--runner", "codex", "--name", "y", "--detached"]).ok();
    let meta = env.meta(&run_dir(&env, "x"));
    assert!(meta["runner_cmd"].as_str().unwrap().contains("--no-daemon"), "{}", meta["runner_cmd"]);
    wait_label(&env, &repo, "x", "working", 60);
    assert_eq!(wait_label(&env, &repo, "y", "idle", 60)["decided_by"], "screen:codex");
    // Each run's codex carries its own run's environment (no shared server started by another).
    for name in ["x", "y"] {
        let id = run_dir(&env, name).file_name().unwrap().to_string_lossy().into_owned();
        assert!(processes_of(&id).iter().any(|p| p.contains("codex")), "{name} runs its own codex");
    }
    env.agency(&repo, &["stop", "x"]).ok();
    let idle = wait_label(&env, &repo, "x", "idle", 20);
    assert_eq!(idle["runtime"], "session_alive", "{idle:#}");
    assert_kill_ends_everything(&env, &repo, "x");
    assert_kill_ends_everything(&env, &repo, "y");
}

#[test]
fn codex_trust_dialog_needs_input() {
    let Some(agents) = agents() else { return };
    let env = world(&agents);
    let repo = env.repo("r");
    seed_codex(&env, &repo, false);
    env.agency(&repo, &["run", "--runner", "codex", "--name", "t", "--prompt", "say hi", "--detached"]).ok();
    let trust = wait_label(&env, &repo, "t", "needs input", 60);
    assert!(trust["reason"].as_str().unwrap().contains("trust"), "{trust:#}");
}

fn seed_gemini(env: &TestEnv, repo: &Path, trust: bool) {
    let home = env.root().join("home/.gemini");
    std::fs::create_dir_all(&home).unwrap();
    if trust {
        // Gemini trusts folders, not repositories: the runs' worktrees live under the data dir.
        let trusted =
            serde_json::json!({ repo.to_str().unwrap(): "TRUST_FOLDER", env.data.to_str().unwrap(): "TRUST_FOLDER" });
        std::fs::write(home.join("trustedFolders.json"), trusted.to_string()).unwrap();
    }
    std::fs::write(
        home.join("settings.json"),
        r#"{"security":{"auth":{"selectedType":"gemini-api-key"}},"general":{"disableAutoUpdate":true}}"#,
    )
    .unwrap();
}

#[test]
fn gemini_boxed_dialogs_work_and_stop() {
    let Some(agents) = agents() else { return };
    let mut env = world(&agents);
    env.set_env("GEMINI_API_KEY", "fake-gemini-test-key");
    env.set_env("GOOGLE_GEMINI_BASE_URL", DEAD_API);
    let repo = env.repo("r");
    seed_gemini(&env, &repo, false);
    env.agency(&repo, &["run", "--runner", "gemini", "--name", "t", "--detached"]).ok();
    let trust = wait_label(&env, &repo, "t", "needs input", 60);
    assert!(trust["reason"].as_str().unwrap().contains("trust"), "{trust:#}");

    seed_gemini(&env, &repo, true);
    env.agency(&repo, &["run", "--runner", "gemini", "--name", "g", "--prompt", "say hi", "--detached"]).ok();
    wait_label(&env, &repo, "g", "working", 60);
    env.agency(&repo, &["stop", "g"]).ok();
    let idle = wait_label(&env, &repo, "g", "idle", 20);
    assert_eq!(idle["runtime"], "session_alive", "{idle:#}");
    assert_kill_ends_everything(&env, &repo, "g");
}

#[test]
fn aider_gets_its_prompt_at_its_prompt_and_retries_as_working() {
    let Some(agents) = agents() else { return };
    let mut env = world(&agents);
    env.set_env("OPENAI_API_KEY", "sk-fake-test-key-0123");
    env.set_env("OPENAI_API_BASE", &format!("{DEAD_API}/v1"));
    let repo = env.repo("r");
    let out = env.agency(&repo, &["run", "--runner", "aider", "--name", "a", "--prompt", "say hi\nand then stop"]);
    out.ok();
    let events = std::fs::read_to_string(run_dir(&env, "a").join("events.jsonl")).unwrap();
    assert!(events.contains("\"prompt_delivered\""), "the paste was confirmed: {events}");
    let working = wait_label(&env, &repo, "a", "working", 60);
    assert_eq!(working["decided_by"], "screen:aider", "{working:#}");
    let screen = env.agency(&repo, &["show", "a", "--capture"]);
    let text = std::fs::read_to_string(run_dir(&env, "a").join("transcript.txt")).unwrap_or_default();
    assert!(text.contains("say hi"), "the whole prompt reached aider's input: {}{text}", screen.stdout);
    assert_kill_ends_everything(&env, &repo, "a");
}
