//! The agent in tmux: `run` starts the runner plugin's plan in session `agency_<run_id>` with
//! the worktree as cwd, the session outlives the agent, headless output is captured, prompts
//! are typed once the agent is ready; setup runs before and can stop it; `stop`, `kill`,
//! `resume` and `attach` manage the session; `open` hands the worktree to an editor.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use crate::common::env::wait_until;

/// Wait until `check` holds (tmux and the agent run asynchronously).
#[track_caller]
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    wait_until(what, 15, || if check() { Ok(()) } else { Err("not yet") });
}

fn session_of(env: &TestEnv, run_dir: &Path) -> String {
    env.meta(run_dir)["tmux_session_name"].as_str().expect("session recorded").to_string()
}

fn alive(env: &TestEnv, session: &str) -> bool {
    env.tmux(&["has-session", "-t", &format!("={session}")]).status.success()
}

fn pane(env: &TestEnv, session: &str) -> String {
    String::from_utf8_lossy(&env.tmux(&["capture-pane", "-p", "-t", &format!("={session}:")]).stdout).into_owned()
}

/// A user config whose runner `fake` is the given command line.
fn with_fake_runner(env: &TestEnv, command: &str) {
    let config = serde_json::json!({ "version": 1, "defaults": { "runner": "shell" }, "runners": { "fake": command } });
    env.write_user_config(&config.to_string());
}

#[test]
fn run_starts_the_runner_in_tmux_in_the_worktree() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let out = env.agency(&repo, &["run", "--name", "one"]);
    out.ok();
    let run_dir = env.run_dirs()[0].clone();
    let meta = env.meta(&run_dir);
    let session = session_of(&env, &run_dir);
    assert_eq!(session, format!("agency_{}", meta["run_id"].as_str().unwrap()));
    assert!(alive(&env, &session));
    let cwd = String::from_utf8_lossy(
        &env.tmux(&["display", "-p", "-t", &format!("={session}:"), "#{pane_current_path}"]).stdout,
    )
    .trim()
    .to_string();
    assert_eq!(PathBuf::from(cwd), PathBuf::from(meta["worktree_path"].as_str().unwrap()));
    assert_eq!(meta["runner"], "shell");
    assert!(meta["runner_cmd"].as_str().unwrap().starts_with("sh -c"), "{meta:#}");
    assert_eq!(meta["plugins"]["runner"]["id"], "shell");
    assert_eq!(meta["plugins"]["runner"]["sha256"].as_str().unwrap().len(), 64);
    assert!(meta["plugins"]["runner"]["grants"].as_array().unwrap().iter().any(|g| g == "read worktree"));
    assert_eq!(meta["plugins"]["setup"][0]["id"], "script");
    assert_eq!(meta["setup"]["exit_code"], 0);
    assert_eq!(meta["pipeline"]["last_step"], "launch");
    let ls = env.agency(&repo, &["ls", "--json"]).json();
    assert_eq!(ls["runs"][0]["status"]["runtime"], "session_alive");
    // Not on a terminal: run did not try to attach, and attach says why.
    assert!(out.stderr.contains("agency attach one"), "{}", out.stderr);
    env.agency(&repo, &["attach", "one"]).err("E_NOT_INTERACTIVE");
}

#[test]
fn the_session_outlives_the_agent_and_records_its_exit() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    with_fake_runner(&env, "sh -c 'echo agent-was-here; exit 3'");
    env.agency(&repo, &["run", "--name", "quick", "--runner", "fake"]).ok();
    let run_dir = env.run_dirs()[0].clone();
    let session = session_of(&env, &run_dir);
    eventually("runner_exit.json", || run_dir.join("runner_exit.json").exists());
    let exit: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("runner_exit.json")).unwrap()).unwrap();
    assert_eq!(exit["exit_code"], 3);
    assert!(alive(&env, &session), "the pane stays usable after the agent exits");
    eventually("exit notice in the pane", || pane(&env, &session).contains("the agent exited with status 3"));
    assert_eq!(env.meta(&run_dir)["plugins"]["runner"]["id"], "command");
}

#[test]
fn headless_runs_capture_output_to_the_runner_log() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "hl", "--headless", "--prompt", "echo hello-from-headless; exit 0"]).ok();
    let run_dir = env.run_dirs()[0].clone();
    eventually("headless exit", || run_dir.join("runner_exit.json").exists());
    let log = std::fs::read_to_string(run_dir.join("logs/runner.log")).unwrap();
    assert!(log.contains("hello-from-headless"), "{log}");
    assert_eq!(env.meta(&run_dir)["launch"]["mode"], "headless");
    let printed = env.agency(&repo, &["logs", "hl", "runner", "--follow"]);
    assert!(printed.ok().contains("hello-from-headless"));
}

#[test]
fn an_interactive_prompt_is_typed_once_the_agent_is_ready() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.fake_bin("fake-agent", "#!/bin/sh\necho 'fake-agent ready>'\nread line\necho \"$line\" > \"$AGENCY_WORKTREE/.agency/tmp/received.txt\"\nsleep 60\n");
    with_fake_runner(&env, "fake-agent");
    env.agency(&repo, &["run", "--name", "p", "--runner", "fake", "--prompt", "fix the login bug"]).ok();
    let meta = env.meta(&env.run_dirs()[0]);
    let received = PathBuf::from(meta["worktree_path"].as_str().unwrap()).join(".agency/tmp/received.txt");
    eventually("the prompt reached the agent", || {
        std::fs::read_to_string(&received).is_ok_and(|t| t.trim() == "fix the login bug")
    });
    assert!(env.meta(&env.run_dirs()[0])["launch"]["prompt_sent_at"].is_string());
}

#[test]
fn setup_runs_with_the_agency_environment_before_the_agent() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.setup_script(&repo, "#!/bin/sh\nenv | sort > \"$AGENCY_OUTPUT_DIR/env.txt\"\necho setup-output\n");
    env.agency_with(&repo, &["run", "--name", "envy"], &[("AGENCY_TEST_SECRET", "do-not-pass")]).ok();
    let meta = env.meta(&env.run_dirs()[0]);
    let worktree = PathBuf::from(meta["worktree_path"].as_str().unwrap());
    let dumped = std::fs::read_to_string(worktree.join(".agency/out/env.txt")).unwrap();
    for expected in [
        "AGENCY_RUN_ID=",
        "AGENCY_NAME=envy",
        "AGENCY_NONINTERACTIVE=1",
        "CI=1",
        "AGENCY_PARENT_BRANCH=main",
        "AGENCY_RUNNER=shell",
    ] {
        assert!(dumped.contains(expected), "{expected} missing:\n{dumped}");
    }
    assert!(dumped.contains(&format!("AGENCY_WORKTREE={}", worktree.display())));
    assert!(!dumped.contains("do-not-pass"), "exec passes only the base environment");
    let log = env.agency(&repo, &["logs", "envy", "setup"]);
    assert!(log.ok().contains("setup-output"));
}

#[test]
fn failed_setup_keeps_the_worktree_and_starts_no_agent() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.setup_script(&repo, "#!/bin/sh\necho installing deps\necho 'npm ERR! missing' >&2\nexit 7\n");
    let stderr = env.agency(&repo, &["run", "--name", "broken"]).err("E_SCRIPT_FAILED").to_string();
    assert!(stderr.contains("exit code 7") && stderr.contains("setup.log"), "{stderr}");
    assert!(stderr.contains("agency logs broken setup"), "{stderr}");
    let meta = env.meta(&env.run_dirs()[0]);
    assert_eq!(meta["flags"]["setup_failed"], true);
    assert_eq!(meta["setup"]["exit_code"], 7);
    assert_eq!(meta["pipeline"]["failed_step"], "setup");
    assert!(meta.get("tmux_session_name").is_none());
    assert!(Path::new(meta["worktree_path"].as_str().unwrap()).is_dir(), "worktree kept for inspection");
    assert!(std::fs::read_to_string(env.run_dirs()[0].join("logs/setup.log")).unwrap().contains("npm ERR! missing"));
    let ls = env.agency(&repo, &["ls"]);
    assert!(ls.ok().contains("failed: setup"), "{}", ls.stdout);
}

#[test]
fn setup_timeout_kills_the_script() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    std::fs::write(
        repo.join("agency.json"),
        r#"{"version": 1, "scripts": {"setup": {"path": "scripts/agency_setup.sh", "timeout": "1s"}}}"#,
    )
    .unwrap();
    env.setup_script(&repo, "#!/bin/sh\nsleep 30\n");
    let started = Instant::now();
    env.agency(&repo, &["run", "--name", "slow"]).err("E_SCRIPT_TIMEOUT");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(env.meta(&env.run_dirs()[0])["setup"]["timed_out"], true);
}

#[test]
fn output_file_can_downgrade_but_never_upgrade() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.setup_script(&repo, "#!/bin/sh\necho '{\"schema_version\":\"1.0\",\"ok\":false,\"summary\":\"database missing\"}' > \"$AGENCY_OUTPUT_DIR/setup.json\"\n");
    let stderr = env.agency(&repo, &["run", "--name", "down"]).err("E_SCRIPT_FAILED").to_string();
    assert!(stderr.contains("database missing"), "{stderr}");
    env.setup_script(&repo, "#!/bin/sh\necho '{\"schema_version\":\"1.0\",\"ok\":true,\"summary\":\"all good\"}' > \"$AGENCY_OUTPUT_DIR/setup.json\"\nexit 1\n");
    env.agency(&repo, &["run", "--name", "up"]).err("E_SCRIPT_FAILED");
}

#[test]
fn copy_files_brings_ignored_files_into_the_worktree() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    std::fs::write(repo.join(".gitignore"), ".agency/\n.env\n").unwrap();
    std::fs::write(
        repo.join("agency.json"),
        r#"{"version": 1, "scripts": {"setup": {"path": "scripts/agency_setup.sh"}},
            "steps": {"setup": [{"plugin": "copy-files", "params": {"files": [".env", "missing.env"]}}, {"plugin": "script"}]}}"#,
    )
    .unwrap();
    env.commit_all(&repo, "copy env");
    std::fs::write(repo.join(".env"), "API_URL=http://localhost\n").unwrap();
    env.agency(&repo, &["run", "--name", "dotenv"]).ok();
    let meta = env.meta(&env.run_dirs()[0]);
    let worktree = PathBuf::from(meta["worktree_path"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(worktree.join(".env")).unwrap(), "API_URL=http://localhost\n");
    assert!(meta["setup"]["output_summary"].as_str().unwrap().contains("missing.env"), "{meta:#}");
    let ids: Vec<&str> =
        meta["plugins"]["setup"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["copy-files", "script"]);
}

#[test]
fn stop_kill_and_resume_manage_the_session() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "s"]).ok();
    let run_dir = env.run_dirs()[0].clone();
    let session = session_of(&env, &run_dir);

    // An idle agent is not interrupted (a second interrupt quits some agents).
    assert!(env.agency(&repo, &["stop", "s"]).ok().contains("not busy"));
    busy(&env, &session);
    let stopped = env.agency(&repo, &["stop", "s"]);
    assert!(stopped.ok().contains("interrupted: sent C-c"), "{}", stopped.stdout);
    assert_eq!(env.meta(&run_dir)["flags"]["needs_attention_reason"], "stop_requested");
    assert!(alive(&env, &session), "stop keeps the session");

    assert_eq!(env.agency(&repo, &["kill", "s"]).value("session").as_deref(), Some("killed"));
    assert!(!alive(&env, &session));
    assert_eq!(env.agency(&repo, &["kill", "s"]).value("session").as_deref(), Some("already gone"));
    env.agency(&repo, &["stop", "s"]).err("E_SESSION_NOT_FOUND");
    env.agency(&repo, &["attach", "s"]).err("E_SESSION_NOT_FOUND");
    let ls = env.agency(&repo, &["ls", "--json"]).json();
    assert_eq!(ls["runs"][0]["status"]["runtime"], "session_gone");

    assert!(env.agency(&repo, &["resume", "s", "--detached"]).ok().contains("(started)"));
    assert!(alive(&env, &session));
    assert!(env.agency(&repo, &["resume", "s"]).ok().contains("(already running)"));
    let first_pid =
        String::from_utf8_lossy(&env.tmux(&["display", "-p", "-t", &format!("={session}:"), "#{pane_pid}"]).stdout)
            .to_string();
    assert!(env.agency(&repo, &["resume", "s", "--restart", "--detached"]).ok().contains("(started)"));
    let second_pid =
        String::from_utf8_lossy(&env.tmux(&["display", "-p", "-t", &format!("={session}:"), "#{pane_pid}"]).stdout)
            .to_string();
    assert_ne!(first_pid, second_pid, "--restart starts a new agent");
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    for event in ["stop_requested", "session_killed", "resumed"] {
        assert!(events.contains(event), "{event} not recorded");
    }
}

#[test]
fn unknown_runner_is_a_gate_and_a_missing_program_is_recorded() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "x", "--runner", "nope"]).err("E_RUNNER_NOT_FOUND");
    assert!(env.run_dirs().is_empty(), "unknown runner creates nothing");

    // The launch plan is checked among the gates: a missing agent program creates nothing.
    with_fake_runner(&env, "definitely-not-installed-agent --flag");
    let stderr =
        env.agency(&repo, &["run", "--name", "ghost", "--runner", "fake"]).err("E_RUNNER_NOT_FOUND").to_string();
    assert!(stderr.contains("install definitely-not-installed-agent"), "{stderr}");
    assert!(env.run_dirs().is_empty(), "a missing program creates nothing");
}

#[test]
fn open_starts_the_chosen_editor_on_the_worktree() {
    let mut env = TestEnv::new();
    let repo = env.repo("r");
    let (_, worktree) = env.start_run(&repo, "feat");
    let opened = env.root().join("opened.txt");
    env.fake_bin("fake-edit", &format!("#!/bin/sh\necho \"$@\" >> {}\n", opened.display()));

    let stderr = env.agency(&repo, &["open", "feat"]).err("E_USAGE").to_string();
    assert!(stderr.contains("hint: agency open <ref> --editor"), "{stderr}");
    env.write_user_config(
        &serde_json::json!({"version": 1, "defaults": {"runner": "shell"}, "editors": {"fe": "fake-edit --wait"}})
            .to_string(),
    );
    env.agency(&repo, &["open", "feat", "--editor", "fe"]).ok();
    env.set_env("EDITOR", "fake-edit");
    env.agency(&repo, &["open", "feat"]).ok();
    let wt = worktree.display();
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), format!("--wait {wt}\n{wt}\n"));
    env.agency(&repo, &["open", "feat", "--editor", "no-such-editor"]).err("E_TOOL_NOT_FOUND");
}

/// Make the shell agent in `session` busy (a long command in the foreground).
fn busy(env: &TestEnv, session: &str) {
    let target = format!("={session}:");
    env.tmux(&["send-keys", "-t", &target, "-l", "sleep 60"]);
    env.tmux(&["send-keys", "-t", &target, "Enter"]);
    crate::common::env::wait_until("the shell to be busy", 10, || {
        let screen = String::from_utf8_lossy(&env.tmux(&["capture-pane", "-p", "-t", &target]).stdout).into_owned();
        if screen.trim_end().ends_with("sleep 60") { Ok(()) } else { Err(screen) }
    });
}

#[test]
fn an_interactive_run_has_no_runner_log_and_says_so() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "i"]).ok();
    let err = env.agency(&repo, &["logs", "i", "runner"]).err("E_RUN_NOT_FOUND").to_string();
    assert!(err.contains("interactive") && err.contains("agency attach i"), "{err}");
}

#[test]
fn agent_hooks_report_through_agency_hook() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "h"]).ok();
    let run_dir = env.run_dirs()[0].clone();
    let run_id = run_dir.file_name().unwrap().to_string_lossy().into_owned();
    let hook = |activity: &str, payload: &str| {
        let run_dir_var = run_dir.to_str().unwrap();
        env.agency_with(
            &repo,
            &["hook", "codex", activity, payload],
            &[("AGENCY_RUN_DIR", run_dir_var), ("AGENCY_RUN_ID", &run_id)],
        )
    };
    // Codex's notify payload (recorded shape): a completed turn, with its thread id.
    let payload = r#"{"type":"agent-turn-complete","thread-id":"0199-abc","turn-id":"1","cwd":"/w","input-messages":["say hi"],"last-assistant-message":"Hi! What next?"}"#;
    hook("needs-input", payload).ok();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir.join("hook.json")).unwrap()).unwrap();
    assert_eq!(report["activity"], "needs_input");
    assert_eq!(report["event"], "agent-turn-complete");
    assert_eq!(report["session"], "0199-abc");
    assert_eq!(report["detail"], "Hi! What next?");
    // The shell's screen is clear (a prompt), so a hook only decides when the pane has been
    // quiet since; the record keeps one event per change of activity.
    hook("needs-input", payload).ok();
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    assert_eq!(events.matches("\"hook_reported\"").count(), 1, "{events}");
    let status = crate::common::env::wait_until("the hook to decide", 10, || {
        let status = env.agency(&repo, &["ls", "--json"]).json()["runs"][0]["status"].clone();
        if status["decided_by"] == "hook" { Ok(status) } else { Err(format!("{status:#}")) }
    });
    assert_eq!(status["label"], "needs input");
    // Outside an agent's environment it refuses, and a forged run dir is refused.
    env.agency(&repo, &["hook", "codex", "idle"]).err("E_USAGE");
    env.agency_with(&repo, &["hook", "codex", "idle"], &[("AGENCY_RUN_DIR", "/tmp"), ("AGENCY_RUN_ID", &run_id)])
        .err("E_RUN_NOT_FOUND");
}

/// The agent owns what it reports: a forged `hook.json` (it knows `AGENCY_RUN_DIR`) and
/// hostile hook arguments reach records and listings bounded, on one line, escaped.
#[test]
fn agent_hook_words_are_bounded_and_escaped() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "h"]).ok();
    let run_dir = env.run_dirs()[0].clone();
    let run_id = run_dir.file_name().unwrap().to_string_lossy().into_owned();
    let runner = format!("codex\u{1b}[2J{}", "r".repeat(5000));
    let payload = r#"{"type":"x","thread-id":"../../etc/passwd","message":"hi"}"#;
    env.agency_with(
        &repo,
        &["hook", &runner, "working", payload],
        &[("AGENCY_RUN_DIR", run_dir.to_str().unwrap()), ("AGENCY_RUN_ID", &run_id)],
    )
    .ok();
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir.join("hook.json")).unwrap()).unwrap();
    assert!(report["session"].is_null(), "an invalid session id is never kept: {report}");
    let kept = report["runner"].as_str().unwrap();
    assert!(kept.chars().count() <= 60 && !kept.contains('\u{1b}'), "{kept:?}");

    // The file forged by the agent itself: a megabyte of detail with terminal escapes.
    let forged = serde_json::json!({
        "schema_version": "1.0", "activity": "error", "event": "Stop\u{1b}]0;pwned\u{7}",
        "detail": format!("\u{1b}[31m{}", "x".repeat(1 << 20)), "at": "2099-01-01T00:00:00Z",
    });
    std::fs::write(run_dir.join("hook.json"), forged.to_string()).unwrap();
    let status = crate::common::env::wait_until("the forged hook to decide", 10, || {
        let status = env.agency(&repo, &["ls", "--json"]).json()["runs"][0]["status"].clone();
        if status["decided_by"] == "hook" { Ok(status) } else { Err(format!("{status:#}")) }
    });
    let reason = status["reason"].as_str().unwrap();
    assert!(reason.len() < 400 && !reason.contains('\u{1b}') && !reason.contains('\u{7}'), "{reason:?}");
    let listed = env.agency(&repo, &["ls"]);
    let text = listed.ok();
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text:?}");
}
