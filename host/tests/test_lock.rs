//! The per-repo lock: a stale lock never blocks, a held lock makes a second process wait (with
//! a message after a second) instead of failing, the wait is bounded, and ten concurrent runs
//! in one repository all succeed with distinct ids.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::TestEnv;

fn lock_path(env: &TestEnv, repo: &Path) -> std::path::PathBuf {
    // The first run creates the repo dir; its id is in meta.json.
    let out = env.agency(repo, &["run", "--detached", "--name", "first"]);
    out.ok();
    let meta = env.meta(&env.run_dirs()[0]);
    env.data.join("repos").join(meta["repo_id"].as_str().unwrap()).join("lock")
}

#[test]
fn stale_lock_of_a_dead_process_does_not_block() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let lock = lock_path(&env, &repo);
    std::fs::write(
        &lock,
        r#"{"pid": 999999999, "started_at": "2026-01-01T00:00:00Z", "command": "agency run --name crashed"}"#,
    )
    .unwrap();
    let doctor = env.agency(&repo, &["doctor"]);
    assert!(doctor.value("check.repo_lock").unwrap().contains("stale"), "{}", doctor.stdout);
    let out = env.agency_with(&repo, &["run", "--detached", "--name", "after-crash"], &[("AGENCY_LOCK_TIMEOUT", "2s")]);
    out.ok();
    assert!(!out.stderr.contains("waiting"), "{}", out.stderr);
}

#[test]
fn held_lock_makes_a_second_process_wait_then_succeed() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let lock = lock_path(&env, &repo);
    let mut holder = env.command("flock", &repo).arg(&lock).args(["sleep", "2"]).stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = env.agency(&repo, &["run", "--detached", "--name", "waited"]);
    holder.wait().unwrap();
    out.ok();
    assert!(out.stderr.contains("waiting for the repository lock"), "{}", out.stderr);
}

#[test]
fn wait_is_bounded() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let lock = lock_path(&env, &repo);
    let mut holder = env.command("flock", &repo).arg(&lock).args(["sleep", "6"]).stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let branches = env.branches(&repo);
    let out =
        env.agency_with(&repo, &["run", "--detached", "--name", "gives-up"], &[("AGENCY_LOCK_TIMEOUT", "1500ms")]);
    let _ = holder.kill();
    let _ = holder.wait();
    out.err("E_REPO_LOCKED");
    assert_eq!(env.branches(&repo), branches);
    assert_eq!(env.run_dirs().len(), 1);
}

#[test]
fn ten_concurrent_runs_all_succeed_with_distinct_ids() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let children: Vec<_> = (0..10)
        .map(|i| {
            let mut cmd: Command = env.command(crate::common::env::agency_bin(), &repo);
            cmd.args(["run", "--detached", "--name", &format!("par-{i}")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let mut ids = HashSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("E_REPO_LOCKED"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let id = stdout.lines().find_map(|l| l.strip_prefix("run_id: ")).unwrap().to_string();
        assert!(ids.insert(id), "duplicate run id");
    }
    assert_eq!(env.run_dirs().len(), 10);
    assert_eq!(env.worktree_count(&repo), 11);
    for dir in env.run_dirs() {
        let meta = env.meta(&dir);
        assert!(Path::new(meta["worktree_path"].as_str().unwrap()).is_dir());
        for line in std::fs::read_to_string(dir.join("events.jsonl")).unwrap().lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("every event line is valid JSON");
        }
    }
}
