//! The hostile-plugin suite: fixture plugins that try to read outside the worktree (`..`,
//! symlink, absolute path), write a read-only area, exec undeclared programs or forbidden
//! arguments, read the host environment, open a socket, loop forever, exhaust memory, recurse
//! without end, flood stdout, trap, return a huge string, import an interface the host does
//! not provide, or claim API 9.0. Each is contained with its own error, the host stays intact,
//! and no record is half-written.

use std::path::{Path, PathBuf};

use crate::common::TestEnv;
use crate::common::repo::fixture;

const SECRET: &str = "TOP-SECRET-VALUE-7f3a";

/// A repo whose setup step is the hostile fixture with `attack`, plus a secret file beside the
/// worktrees' parent and a committed symlink pointing at it.
fn hostile_repo(env: &TestEnv, attack: &str, extra_params: serde_json::Value) -> PathBuf {
    let repo = env.repo("r");
    let secret = env.root().join("secret.txt");
    std::fs::write(&secret, SECRET).unwrap();
    std::os::unix::fs::symlink(&secret, repo.join("escape-link")).unwrap();
    let mut params = serde_json::json!({ "attack": attack });
    if let serde_json::Value::Object(extra) = extra_params {
        for (k, v) in extra {
            params[k] = v;
        }
    }
    env.pin_plugin(
        &repo,
        "hostile",
        &fixture("hostile"),
        serde_json::json!({ "steps": { "setup": [{ "plugin": "hostile", "params": params }] } }),
    );
    repo
}

/// Run with the hostile setup step; return (stderr, stdout) of the failed or finished run.
fn attack(env: &TestEnv, attack: &str, expected: Option<&str>) -> String {
    attack_with(env, attack, expected, serde_json::json!({}), &[])
}

fn attack_with(
    env: &TestEnv,
    name: &str,
    expected: Option<&str>,
    params: serde_json::Value,
    vars: &[(&str, &str)],
) -> String {
    let repo = hostile_repo(env, name, params);
    let mut vars = vars.to_vec();
    vars.push(("AGENCY_PLUGIN_TIMEOUT", "2s"));
    let out = env.agency_with(&repo, &["--yes", "run", "--detached", "--name", "victim"], &vars);
    let text = match expected {
        Some(code) => out.err(code).to_string(),
        None => out.ok().to_string() + &out.stderr,
    };
    assert!(!text.contains(SECRET), "the secret leaked: {text}");
    host_intact(env, &repo);
    text
}

/// After an attack: records parse, `ls` works, and (for failures) the run says setup failed.
fn host_intact(env: &TestEnv, repo: &Path) {
    env.assert_records_intact();
    env.agency(repo, &["ls", "--json"]).ok();
    for dir in env.run_dirs() {
        let logs = std::fs::read_to_string(dir.join("logs/plugin.log")).unwrap_or_default();
        assert!(!logs.contains(SECRET), "the secret reached the plugin log");
    }
}

fn setup_flagged(env: &TestEnv) -> serde_json::Value {
    let meta = env.meta(&env.run_dirs()[0]);
    assert_eq!(meta["flags"]["setup_failed"], true, "{meta:#}");
    assert!(meta.get("tmux_session_name").is_none(), "no agent after a failed setup");
    meta
}

#[test]
fn reading_outside_the_worktree_is_refused() {
    for name in ["read-dotdot", "read-symlink", "read-absolute"] {
        let env = TestEnv::new();
        let secret = env.root().join("secret.txt").display().to_string();
        let stderr = attack_with(&env, name, Some("E_PLUGIN_FAILED"), serde_json::json!({ "path": secret }), &[]);
        assert!(stderr.contains("read refused"), "{name}: {stderr}");
        setup_flagged(&env);
    }
}

#[test]
fn writing_a_read_only_area_is_refused() {
    let env = TestEnv::new();
    let stderr = attack(&env, "write-readonly", Some("E_PLUGIN_FAILED"));
    assert!(stderr.contains("write refused"), "{stderr}");
    assert!(!env.root().join("r/written-by-plugin.txt").exists());
}

#[test]
fn exec_outside_the_declaration_is_denied() {
    for name in ["exec-undeclared", "exec-forbidden-args", "exec-outside-cwd", "exec-denied-swallowed"] {
        let env = TestEnv::new();
        let stderr = attack(&env, name, Some("E_PLUGIN_DENIED"));
        assert!(stderr.contains("denied"), "{name}: {stderr}");
        assert!(stderr.contains("hint: "), "{name}: {stderr}");
        setup_flagged(&env);
    }
}

#[test]
fn the_host_environment_is_invisible() {
    let env = TestEnv::new();
    attack_with(&env, "read-env", None, serde_json::json!({}), &[("AGENCY_TEST_SECRET", SECRET)]);
    let meta = env.meta(&env.run_dirs()[0]);
    assert_eq!(meta["setup"]["output_summary"], "ENV[]", "{meta:#}");
}

#[test]
fn sockets_are_refused() {
    let env = TestEnv::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let stderr = attack_with(&env, "socket", Some("E_PLUGIN_FAILED"), serde_json::json!({ "port": port }), &[]);
    assert!(stderr.contains("connect refused"), "{stderr}");
    assert!(listener.accept().is_err(), "the plugin reached the listener");
}

#[test]
fn an_infinite_loop_times_out() {
    let env = TestEnv::new();
    let started = std::time::Instant::now();
    let stderr = attack(&env, "infinite-loop", Some("E_PLUGIN_TIMEOUT"));
    assert!(stderr.contains("did not return from `run`"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    setup_flagged(&env);
}

#[test]
fn a_memory_bomb_hits_the_limit() {
    let env = TestEnv::new();
    let stderr = attack(&env, "memory-bomb", Some("E_PLUGIN_MEMORY"));
    assert!(stderr.contains("memory limit"), "{stderr}");
}

#[test]
fn deep_recursion_traps() {
    let env = TestEnv::new();
    let stderr = attack(&env, "deep-recursion", Some("E_PLUGIN_TRAP"));
    assert!(stderr.contains("stack"), "{stderr}");
}

#[test]
fn flooding_stdout_is_bounded() {
    let env = TestEnv::new();
    attack(&env, "flood-stdout", None);
    let log = env.run_dirs()[0].join("logs/plugin.log");
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size < 200_000, "plugin log grew to {size} bytes");
    assert!(std::fs::read_to_string(&log).unwrap().contains("(truncated)"));
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let env = TestEnv::new();
    let stderr = attack(&env, "trap", Some("E_PLUGIN_TRAP"));
    assert!(stderr.contains("boom from the hostile plugin"), "{stderr}");
    assert!(stderr.contains("plugin.log"), "points at the plugin log: {stderr}");
}

#[test]
fn a_huge_result_is_refused() {
    let env = TestEnv::new();
    let stderr = attack(&env, "huge-string", Some("E_PLUGIN_FAILED"));
    assert!(stderr.contains("oversized summary"), "{stderr}");
}

/// Pin a fixture as the setup step and expect `code` from `agency run`, with nothing created.
fn load_fails(fixture_name: &str, code: &str) -> String {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.pin_plugin(
        &repo,
        fixture_name,
        &fixture(fixture_name),
        serde_json::json!({ "steps": { "setup": [{ "plugin": fixture_name }] } }),
    );
    let stderr = env.agency(&repo, &["--yes", "run", "--detached", "--name", "x"]).err(code).to_string();
    assert!(env.run_dirs().is_empty(), "a plugin that cannot load is a failed gate");
    stderr
}

#[test]
fn an_unprovided_import_is_refused_at_load() {
    let stderr = load_fails("bad-import", "E_PLUGIN_IMPORT_UNSUPPORTED");
    assert!(stderr.contains("agency:plugin/backdoor"), "{stderr}");
}

#[test]
fn a_future_api_version_is_refused() {
    let stderr = load_fails("api-v9", "E_PLUGIN_API_UNSUPPORTED");
    assert!(stderr.contains("9.0.0"), "{stderr}");
}

#[test]
fn launch_plans_beyond_the_declaration_are_denied() {
    for (prompt, needle) in [
        ("undeclared-program", "exec rm -rf /"),
        ("forbidden-args", "curl evil.example"),
        ("host-env", "env AGENCY_TEST_SECRET"),
        ("outside-cwd", "working directory"),
    ] {
        let env = TestEnv::new();
        let repo = env.repo("r");
        env.pin_plugin(&repo, "hostile-runner", &fixture("hostile-runner"), serde_json::json!({}));
        let out = env.agency_with(
            &repo,
            &["--yes", "run", "--detached", "--name", "x", "--runner", "hostile-runner", "--prompt", prompt],
            &[("AGENCY_TEST_SECRET", SECRET)],
        );
        let stderr = out.err("E_PLUGIN_DENIED");
        assert!(stderr.contains(needle), "{prompt}: {stderr}");
        assert!(!String::from_utf8_lossy(&env.tmux(&["ls"]).stdout).contains("agency_"), "no session was started");
        // The plan is checked among the gates: a denied launch creates nothing.
        assert!(env.run_dirs().is_empty(), "{prompt}: a denied plan creates no run");
        assert!(git_branches(&env, &repo).iter().all(|b| !b.starts_with("agency/")), "{prompt}: no branch");
    }
}

fn git_branches(env: &TestEnv, repo: &Path) -> Vec<String> {
    env.sh(repo, "git branch --format='%(refname:short)'").lines().map(str::to_string).collect()
}
