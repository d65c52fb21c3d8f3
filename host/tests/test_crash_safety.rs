//! Crash consistency: for every step of `agency run` and of archiving, the process is aborted
//! right after that step (a test-only switch), then: no JSON is half-written, `ls` explains
//! where the run stopped, and `repair` plus `resume` or `clean` bring everything back to a
//! consistent state (no orphan worktree, branch or session). Also a `kill -9` from outside in
//! the middle of a long setup script.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::TestEnv;
use crate::common::env::wait_until;

const RUN_STEPS: [&str; 6] = ["run_dir", "worktree", "meta", "scaffold", "setup", "launch"];

fn crash_run_after(env: &TestEnv, repo: &Path, step: &str, name: &str) {
    let out = env.agency_with(repo, &["run", "--detached", "--name", name], &[("AGENCY_TEST_ABORT_AFTER", step)]);
    assert_ne!(out.code, 0, "{step}: the process was expected to abort");
    env.assert_records_intact();
}

/// The status label and reason of the single run named `name` (or of the broken run).
fn ls_line(env: &TestEnv, repo: &Path, run_dir_hint: &str) -> String {
    let ls = env.agency(repo, &["ls", "--all"]);
    ls.ok().lines().find(|l| l.contains(run_dir_hint)).unwrap_or_default().to_string()
}

#[test]
fn every_run_step_can_be_interrupted_and_recovered() {
    for (i, step) in RUN_STEPS.iter().enumerate() {
        for recovery in ["resume", "clean"] {
            let env = TestEnv::new();
            let repo = env.repo("r");
            let name = format!("crash-{i}");
            crash_run_after(&env, &repo, step, &name);
            let run_dir = env.run_dirs()[0].clone();
            let run_id = run_dir.file_name().unwrap().to_string_lossy().into_owned();
            let line = ls_line(&env, &repo, &run_id);
            assert!(!line.is_empty(), "{step}: ls does not list the run");
            if run_dir.join("meta.json").exists() {
                assert!(!line.contains("broken"), "{step}: {line}");
            } else {
                assert!(line.contains("broken") && line.contains("agency repair"), "{step}: {line}");
            }
            let repaired = env.agency(&repo, &["repair"]);
            repaired.ok();
            env.assert_records_intact();
            let meta = env.meta(&run_dir);
            let archived = !meta["archive"]["archived_at"].is_null();
            match (recovery, archived) {
                (_, true) => {}
                ("resume", false) => {
                    env.agency(&repo, &["resume", &run_id, "--detached"]).ok();
                    let status = env.agency(&repo, &["ls", "--json"]).json()["runs"][0]["status"]["runtime"].clone();
                    assert_eq!(status, "session_alive", "{step}");
                }
                (_, false) => {
                    env.agency(&repo, &["clean", &run_id, "--yes"]).ok();
                }
            }
            env.assert_consistent(&repo);
            let again = env.agency(&repo, &["repair", "--json"]).json();
            let findings: Vec<&str> =
                again["findings"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
            assert!(findings.iter().all(|k| *k == "session_gone"), "{step}/{recovery}: left drift {findings:?}");
        }
    }
}

/// A run that stopped before its record was written is still listed by `ls` (which reads
/// live runs through the name index) after other runs were created and archived since: it is
/// shown broken, with its fix, never dropped from sight.
#[test]
fn a_run_stopped_before_its_record_stays_listed_after_later_runs() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    crash_run_after(&env, &repo, "run_dir", "early");
    let stopped = env.run_dirs()[0].file_name().unwrap().to_string_lossy().into_owned();
    env.start_run(&repo, "later");
    env.agency(&repo, &["clean", "later", "--yes"]).ok();
    env.start_run(&repo, "last");
    let ls = env.agency(&repo, &["ls", "--json"]).json();
    let stopped_entry = ls["runs"].as_array().unwrap().iter().find(|r| r["run_id"] == stopped.as_str()).cloned();
    let stopped_entry = stopped_entry.unwrap_or_else(|| panic!("the stopped run is not listed: {ls:#}"));
    assert_eq!(stopped_entry["broken"]["fix"], "agency repair --dry-run", "{stopped_entry}");
}

#[test]
fn every_archive_step_can_be_interrupted_and_finished() {
    for step in ["archive_steps", "save", "remove"] {
        let env = TestEnv::new();
        let repo = env.repo("r");
        let (run_id, worktree) = env.start_run(&repo, "a");
        std::fs::write(worktree.join("notes.txt"), "uncommitted notes").unwrap();
        let out = env.agency_with(&repo, &["clean", "a", "--yes"], &[("AGENCY_TEST_ABORT_AFTER", step)]);
        assert_ne!(out.code, 0, "{step}");
        env.assert_records_intact();
        assert!(!ls_line(&env, &repo, &run_id).is_empty(), "{step}: still listed");
        // Finish: clean again if the run is still whole, else repair reconciles it.
        if worktree.exists() {
            env.agency(&repo, &["clean", "a", "--yes"]).ok();
        } else {
            env.agency(&repo, &["repair"]).ok();
        }
        env.assert_consistent(&repo);
        let meta = env.meta(&env.run_dir_of(&run_id));
        assert!(meta["archive"]["archived_at"].is_string(), "{step}: archived in the end");
        let saved = meta["archive"]["saved_ref"].as_str().unwrap();
        assert_eq!(
            env.sh(&repo, &format!("git show {saved}:notes.txt")),
            "uncommitted notes",
            "{step}: the work survived"
        );
    }
}

#[test]
fn kill_dash_nine_during_a_long_setup() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.setup_script(&repo, "#!/bin/sh\necho started > \"$AGENCY_OUTPUT_DIR/started\"\nsleep 6543\n");
    let mut child = env
        .command(crate::common::env::agency_bin(), &repo)
        .args(["run", "--detached", "--name", "killed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = wait_until("the setup script to start", 20, || {
        let path = env
            .run_dirs()
            .first()
            .filter(|d| d.join("meta.json").exists())
            .and_then(|d| env.meta(d)["worktree_path"].as_str().map(|w| Path::new(w).join(".agency/out/started")));
        path.filter(|p| p.exists()).ok_or("no .agency/out/started yet")
    });
    // SAFETY: killing our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert!(started.exists());
    std::thread::sleep(Duration::from_millis(300));
    let worktree = started.parent().unwrap().parent().unwrap().parent().unwrap().to_path_buf();
    for pattern in [worktree.join("scripts/agency_setup.sh").display().to_string(), "sleep 6543".to_string()] {
        let left = std::process::Command::new("pgrep").args(["-f", &pattern]).output().unwrap();
        assert!(String::from_utf8_lossy(&left.stdout).trim().is_empty(), "`{pattern}` outlived agency");
    }
    env.assert_records_intact();
    let status = env.agency(&repo, &["ls", "--json"]).json()["runs"][0]["status"].clone();
    assert_eq!(status["label"], "created, not started", "{status:#}");
    assert_eq!(status["last_step"], "scaffold");
    env.agency(&repo, &["clean", "killed", "--yes"]).ok();
    env.assert_consistent(&repo);
}
