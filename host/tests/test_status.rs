//! Status you can trust, proven with real tmux sessions running fake agents: a fake `claude`
//! that shows recorded Claude Code screens (working, a permission prompt, idle, exit) drives
//! every transition through the real claude runner plugin's `classify`; the agent's status file
//! (fresh, stale, invalid, the scaffold's template), headless results (done, failed, timed out),
//! `show` explaining which signal decided, `show --capture`, and the events of each command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::TestEnv;
use crate::common::env::wait_until;

fn screens_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins/claude/screens")
}

/// Poll `agency ls --json` until the run's status label is `label`; return that status.
#[track_caller]
fn wait_for_label(env: &TestEnv, repo: &Path, label: &str) -> serde_json::Value {
    wait_until(&format!("status {label:?}"), 20, || {
        let status = env.agency(repo, &["ls", "--json"]).json()["runs"][0]["status"].clone();
        if status["label"] == label { Ok(status) } else { Err(format!("{status:#}")) }
    })
}

fn meta_worktree(env: &TestEnv) -> PathBuf {
    PathBuf::from(env.meta(&env.run_dirs()[0])["worktree_path"].as_str().unwrap())
}

/// A fake `claude` on PATH: shows the working screen until `go` exists in its cwd's
/// `.agency/tmp`, then a permission prompt until a line is typed, then the idle prompt until
/// `exit` is typed, then the exit screen.
fn fake_claude(env: &TestEnv) {
    let dir = screens_dir();
    let show = |file: &str| format!("printf '\\033[2J\\033[H'; cat '{}'", dir.join(file).display());
    let script = format!(
        "#!/bin/sh\n{}\nwhile [ ! -e .agency/tmp/go ]; do sleep 0.1; done\n{}\nread answer\n{}\nwhile read line; do [ \"$line\" = exit ] && break; done\n{}\nexit 0\n",
        show("transcribed/working--spinner.txt"),
        show("transcribed/needs-input--bash-permission.txt"),
        show("idle--prompt.txt"),
        show("exited--resume-hint.txt"),
    );
    env.fake_bin("claude", &script);
}

#[test]
fn a_fake_claude_goes_through_every_state() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    fake_claude(&env);
    env.agency(&repo, &["run", "--name", "c", "--runner", "claude"]).ok();
    let session = env.meta(&env.run_dirs()[0])["tmux_session_name"].as_str().unwrap().to_string();

    let working = wait_for_label(&env, &repo, "working");
    assert_eq!(working["decided_by"], "screen:claude");
    assert_eq!(working["activity"], "working");

    std::fs::write(meta_worktree(&env).join(".agency/tmp/go"), "").unwrap();
    let asking = wait_for_label(&env, &repo, "needs input");
    assert_eq!(asking["decided_by"], "screen:claude");
    let reason = asking["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("claude runner saw permission prompt at ")
            && reason.ends_with(": 'Do you want to proceed?'"),
        "{reason}"
    );
    let show = env.agency(&repo, &["show", "c"]);
    assert_eq!(show.value("status").as_deref(), Some("needs input"));
    assert_eq!(show.value("decided_by").as_deref(), Some("screen:claude"));

    env.tmux(&["send-keys", "-t", &format!("={session}:"), "1", "Enter"]);
    let idle = wait_for_label(&env, &repo, "idle");
    assert!(idle["reason"].as_str().unwrap().contains("at the prompt"));

    env.tmux(&["send-keys", "-t", &format!("={session}:"), "exit", "Enter"]);
    let exited = wait_for_label(&env, &repo, "agent exited");
    assert_eq!(exited["runtime"], "agent_exited");
    assert_eq!(exited["decided_by"], "runner_exit");
    assert!(exited["reason"].as_str().unwrap().contains("status 0"));

    // The exit screen names Claude's session: resume continues it.
    let recorded = std::fs::read_to_string(screens_dir().join("exited--resume-hint.txt")).unwrap();
    let id = recorded.split("claude --resume ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let resumed = env.agency(&repo, &["resume", "c", "--detached"]);
    resumed.ok();
    assert!(resumed.stdout.contains(&format!("continued: the agent's session {id}")), "{}", resumed.stdout);
    let runner_cmd = env.meta(&env.run_dirs()[0])["runner_cmd"].as_str().unwrap().to_string();
    assert!(runner_cmd.contains(&format!("--resume {id}")), "{runner_cmd}");
}

/// A session that ended does not fail the capture of the others: the live ones are still read
/// and classified.
#[test]
fn a_session_that_ended_does_not_hide_the_screens_of_the_others() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (gone, _) = env.start_run(&repo, "gone");
    env.start_run(&repo, "alive");
    env.tmux(&["kill-session", "-t", &format!("=agency_{gone}")]);
    let status_of = |ls: &serde_json::Value, name: &str| {
        ls["runs"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()["status"].clone()
    };
    let ls = wait_until("the live run read as idle", 20, || {
        let ls = env.agency(&repo, &["ls", "--json"]).json();
        if status_of(&ls, "alive")["label"] == "idle" { Ok(ls) } else { Err(format!("{ls:#}")) }
    });
    let status = |name: &str| status_of(&ls, name);
    assert_eq!(status("gone")["runtime"], "session_gone", "{ls}");
    assert_eq!(status("alive")["runtime"], "session_alive", "{ls}");
    assert_eq!(status("alive")["decided_by"], "screen:shell", "{ls}");
}

/// `ls` asks the server new sessions would go to ahead of reading the records; runs recorded on
/// another server are still asked about on theirs (here `AGENCY_TMUX_SOCKET` names a different,
/// running server when `ls` is run).
#[test]
fn runs_on_another_server_than_the_one_asked_ahead_are_still_read() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.start_run(&repo, "alive");
    let other = format!("{}-other", env.socket);
    let started =
        std::process::Command::new("tmux").args(["-L", &other, "new-session", "-d", "-s", "elsewhere"]).status();
    assert!(started.is_ok_and(|s| s.success()));
    let ls = wait_until("the run read as idle from its own server", 20, || {
        let ls = env.agency_with(&repo, &["ls", "--json"], &[("AGENCY_TMUX_SOCKET", other.as_str())]).json();
        if ls["runs"][0]["status"]["label"] == "idle" { Ok(ls) } else { Err(format!("{ls:#}")) }
    });
    let _ = std::process::Command::new("tmux").args(["-L", &other, "kill-server"]).status();
    assert_eq!(ls["runs"][0]["status"]["runtime"], "session_alive", "{ls}");
}

/// A runner id in a record (which an agent can edit) names a plugin by id only: one that is not
/// a plugin id is never looked up as a file, and the status says why the screen was not read.
#[test]
fn a_record_naming_its_runner_with_a_path_reads_nothing_from_that_path() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, _) = env.start_run(&repo, "alive");
    let run_dir = env.run_dir_of(&run_id);
    // A component planted where the path would lead from the plugins directory.
    let planted = env.dir.path().join("planted.wasm");
    std::fs::write(&planted, b"\0asm\x0d\0\x01\0").unwrap();
    env.edit_meta(&run_dir, |record| {
        record["plugins"]["runner"]["id"] =
            format!("../../../../../../../..{}", planted.with_extension("").display()).into();
    });
    let show = env.agency(&repo, &["show", "alive", "--json"]).json();
    let status = &show["run"]["status"];
    assert!(status["reason"].as_str().unwrap_or_default().contains("is not a valid plugin id"), "{show:#}");
    assert_eq!(status["runtime"], "session_alive", "{show:#}");
}

/// A pane with no output since its last reading is answered from the reading kept beside the
/// record (`screen_reading.json`): no capture, no `classify`. The kept reading counts only
/// while the pane is unchanged and the plugin's bytes are the same, and what it says is made
/// safe again when read (anyone who can write the run dir can edit it).
#[test]
fn an_unchanged_pane_is_answered_from_its_kept_reading() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, _) = env.start_run(&repo, "s");
    let kept_path = env.run_dir_of(&run_id).join("screen_reading.json");
    let status = || env.agency(&repo, &["ls", "--json"]).json()["runs"][0]["status"].clone();
    let read_kept = || -> Result<serde_json::Value, String> {
        serde_json::from_slice(&std::fs::read(&kept_path).map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    };
    // Once the shell has been quiet for a second, a capture leaves a reading that can be reused.
    let kept = wait_until("a reusable kept reading", 20, || {
        status();
        let kept = read_kept()?;
        if kept["captured"].as_i64() > kept["activity"].as_i64() { Ok(kept) } else { Err(kept.to_string()) }
    });
    assert_eq!(kept["observation"]["activity"], "idle", "{kept}");

    // Edited, it is what `ls` shows while the pane is unchanged, and shown safely.
    let mut edited = kept.clone();
    edited["observation"]["activity"] = "needs_input".into();
    edited["observation"]["reason"] = "planted\u{1b}[31m reading\nsecond line".into();
    std::fs::write(&kept_path, edited.to_string()).unwrap();
    let shown = status();
    assert_eq!(shown["label"], "needs input", "{shown}");
    let reason = shown["reason"].as_str().unwrap();
    assert!(reason.contains("planted") && !reason.contains('\u{1b}') && !reason.contains('\n'), "{reason}");

    // Made by other plugin bytes, it is not used: the pane is read again.
    edited["plugin_sha256"] = "0".repeat(64).into();
    std::fs::write(&kept_path, edited.to_string()).unwrap();
    assert_eq!(status()["label"], "idle");
    assert_eq!(read_kept().unwrap()["plugin_sha256"], kept["plugin_sha256"]);

    // Output in the pane makes it stale too.
    edited["plugin_sha256"] = kept["plugin_sha256"].clone();
    std::fs::write(&kept_path, edited.to_string()).unwrap();
    assert_eq!(status()["label"], "needs input");
    env.tmux(&["send-keys", "-t", &format!("=agency_{run_id}:"), "echo hi", "Enter"]);
    wait_until("the pane read again after its output", 20, || {
        let shown = status();
        if shown["label"] == "idle" { Ok(()) } else { Err(shown.to_string()) }
    });
}

fn write_status(worktree: &Path, body: serde_json::Value) {
    std::fs::write(worktree.join(".agency/state/runner_status.json"), body.to_string()).unwrap();
}

#[test]
fn the_status_file_reports_are_weighed_against_the_screen() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "s"]).ok();
    // The scaffold's template does not make a fresh run read as working.
    let template = wait_for_label(&env, &repo, "idle");
    assert_eq!(template["decided_by"], "screen:shell");

    let worktree = meta_worktree(&env);
    let now = agency::clock::now_rfc3339();
    write_status(
        &worktree,
        serde_json::json!({"schema_version": "1.0", "status": "needs_input", "updated_at": now, "summary": "schema question", "questions": ["Postgres or SQLite?"]}),
    );
    let asking = wait_for_label(&env, &repo, "needs input");
    assert_eq!(asking["decided_by"], "status_file");
    assert!(asking["reason"].as_str().unwrap().contains("Postgres or SQLite?"));

    write_status(
        &worktree,
        serde_json::json!({"schema_version": "1.0", "status": "ready_for_review", "updated_at": "2020-01-01T00:00:00Z", "summary": "done", "how_to_test": "cargo test"}),
    );
    let review = wait_for_label(&env, &repo, "ready for review");
    assert!(review["reason"].as_str().unwrap().contains("cargo test"));

    write_status(
        &worktree,
        serde_json::json!({"schema_version": "1.0", "status": "finished", "updated_at": now, "summary": "?"}),
    );
    let invalid = wait_for_label(&env, &repo, "idle");
    assert!(invalid["status_file_error"].as_str().unwrap().contains("unknown status"));
    assert!(invalid["reason"].as_str().unwrap().contains("status file ignored"));
}

#[test]
fn a_stale_report_and_a_quiet_pane_read_as_stalled() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let config = serde_json::json!({"version": 1, "defaults": {"runner": "shell"}, "runners": {"quiet": "sh -c 'echo thinking hard; sleep 600'"}, "status": {"stall_after": "1s"}});
    env.write_user_config(&config.to_string());
    env.agency(&repo, &["run", "--name", "q", "--runner", "quiet"]).ok();
    write_status(
        &meta_worktree(&env),
        serde_json::json!({"schema_version": "1.0", "status": "working", "updated_at": "2020-01-01T00:00:00Z", "summary": "refactoring"}),
    );
    std::thread::sleep(Duration::from_millis(2100));
    let stalled = wait_for_label(&env, &repo, "stalled");
    assert_eq!(stalled["activity"], "stalled");
    assert!(stalled["reason"].as_str().unwrap().contains("no status update since 2020-01-01T00:00:00Z"));
}

#[test]
fn headless_runs_end_as_done_failed_or_timed_out() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "ok", "--headless", "--prompt", "echo fine"]).ok();
    env.agency(&repo, &["run", "--name", "limited", "--headless", "--timeout", "1h", "--prompt", "echo fine"]).ok();
    env.agency(&repo, &["run", "--name", "bad", "--headless", "--prompt", "echo broken >&2; exit 3"]).ok();
    env.agency(&repo, &["run", "--name", "slow", "--headless", "--timeout", "1s", "--prompt", "sleep 97; true"]).ok();
    let (ok, bad, slow) = wait_until("the headless runs to finish", 30, || {
        let json = env.agency(&repo, &["ls", "--json"]).json();
        let label =
            |name: &str| json["runs"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()["status"].clone();
        let (ok, bad, slow, limited) = (label("ok"), label("bad"), label("slow"), label("limited"));
        let finished = ok["label"] == "done" && bad["label"] == "failed" && slow["label"] == "failed";
        let finished = finished && limited["label"] == "done";
        if finished { Ok((ok, bad, slow)) } else { Err(format!("{json:#}")) }
    });
    // The runner read the output: the failure says why, in the agent's own words.
    assert!(
        bad["reason"].as_str().unwrap().contains("failed (status 3")
            && bad["reason"].as_str().unwrap().contains("broken"),
        "{bad}"
    );
    assert!(slow["reason"].as_str().unwrap().contains("timed out"), "{slow}");
    // The timeout reaches the agent's children too: the shell's `sleep` must not outlive it.
    let survivors = std::process::Command::new("pgrep").args(["-f", "^sleep 97$"]).output().unwrap();
    assert!(survivors.stdout.is_empty(), "{}", String::from_utf8_lossy(&survivors.stdout));
    assert_eq!(ok["decided_by"], "headless_result");
    assert_eq!(slow["decided_by"], "runner_exit", "a time limit is decided by the exit record");
    let log = env.agency(&repo, &["logs", "bad", "runner"]);
    assert!(log.ok().contains("broken"));
}

#[test]
fn show_capture_saves_the_transcript_and_keeps_the_previous_one() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "t", "--runner", "shell"]).ok();
    let session = env.meta(&env.run_dirs()[0])["tmux_session_name"].as_str().unwrap().to_string();
    env.tmux(&["send-keys", "-t", &format!("={session}:"), "echo first-marker", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    let out = env.agency(&repo, &["show", "t", "--capture"]);
    out.ok();
    let transcript = env.run_dirs()[0].join("transcript.txt");
    assert!(std::fs::read_to_string(&transcript).unwrap().contains("first-marker"));
    env.tmux(&["send-keys", "-t", &format!("={session}:"), "clear; echo second-marker", "Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    env.agency(&repo, &["show", "t", "--capture"]).ok();
    assert!(std::fs::read_to_string(&transcript).unwrap().contains("second-marker"));
    assert!(env.run_dirs()[0].join("transcript.1.txt").exists(), "the previous transcript is kept");
}

#[test]
fn commands_that_change_a_run_leave_events() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "e"]).ok();
    let session = env.meta(&env.run_dirs()[0])["tmux_session_name"].as_str().unwrap().to_string();
    env.tmux(&["send-keys", "-t", &format!("={session}:"), "-l", "sleep 60"]);
    env.tmux(&["send-keys", "-t", &format!("={session}:"), "Enter"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    env.agency(&repo, &["stop", "e"]).ok();
    env.agency(&repo, &["kill", "e"]).ok();
    env.agency(&repo, &["stop", "e"]).err("E_SESSION_NOT_FOUND");
    let events: Vec<serde_json::Value> = std::fs::read_to_string(env.run_dirs()[0].join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for expected in [
        "run_started",
        "run_finished",
        "command_started",
        "command_finished",
        "stop_requested",
        "session_killed",
        "command_failed",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let failed = events.iter().find(|e| e["event"] == "command_failed").unwrap();
    assert_eq!(failed["data"]["error_code"], "E_SESSION_NOT_FOUND");
    assert_eq!(failed["data"]["command"], "stop");

    env.setup_script(&repo, "#!/bin/sh\nexit 4\n");
    env.agency(&repo, &["run", "--name", "f"]).err("E_SCRIPT_FAILED");
    let dir = env.run_dirs().into_iter().find(|d| env.meta(d)["name"] == "f").unwrap();
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let run_failed: serde_json::Value = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "run_failed")
        .unwrap();
    assert_eq!(run_failed["data"]["error_code"], "E_SCRIPT_FAILED");
    assert_eq!(run_failed["data"]["step"], "setup");
    let show = env.agency(&repo, &["show", "f"]);
    assert!(show.ok().contains("step_failed"), "show lists the last events");
}

#[test]
fn the_builtin_runners_pass_the_conformance_kit() {
    let env = TestEnv::new();
    for runner in ["claude", "codex", "shell", "command"] {
        let out = env.agency(&env.root(), &["plugin", "test", runner, "--json"]);
        let json = out.json();
        assert_eq!(json["passed"], true, "{runner}: {json:#}");
    }
    let claude = env.agency(&env.root(), &["plugin", "test", "claude", "--json"]).json();
    let screens = claude["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"].as_str().unwrap().starts_with("screen "))
        .count();
    assert!(screens >= 10, "recorded claude screens are checked");
}
