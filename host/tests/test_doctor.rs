//! `agency doctor`: prints the resolved directories and the repository's identity, checks the
//! tools, config, scripts, runner and plugins, exits 0 only when a run can succeed, and writes
//! the repo records only then.

use crate::common::TestEnv;

#[test]
fn doctor_passes_in_a_ready_repository_and_records_it() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let out = env.agency(&repo, &["doctor"]);
    out.ok();
    assert_eq!(out.value("status").as_deref(), Some("ok"));
    for key in ["data_dir", "config_dir", "cache_dir", "repo_root", "repo_key", "repo_id", "origin_url", "github_repo"]
    {
        assert!(out.value(key).is_some(), "{key} missing:\n{}", out.stdout);
    }
    assert!(out.value("repo_key").unwrap().starts_with("path:"));
    assert!(out.value("check.runner").unwrap().starts_with("ok shell"), "{}", out.stdout);
    assert!(out.value("check.script_verify").unwrap().starts_with("warn"), "the verify stub is flagged");
    let repo_id = out.value("repo_id").unwrap();
    assert!(env.data.join("repos").join(&repo_id).join("repo.json").is_file());
    assert!(env.data.join("repo_index.json").is_file());
}

#[test]
fn doctor_fails_when_a_run_cannot_succeed_and_writes_nothing() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.write_user_config(r#"{"version": 1, "defaults": {"runner": "claude"}}"#);
    let out = env.agency(&repo, &["doctor"]);
    out.err("E_RUNNER_NOT_FOUND");
    assert_eq!(out.value("status").as_deref(), Some("failed"));
    assert!(out.value("check.runner").unwrap().contains("claude"), "{}", out.stdout);
    assert!(!env.data.join("repo_index.json").exists(), "no records on failure");

    let dir = env.root().join("elsewhere");
    std::fs::create_dir(&dir).unwrap();
    let out = env.agency(&dir, &["doctor"]);
    out.err("E_NO_REPO");
    assert!(out.value("data_dir").is_some(), "directories are printed even outside a repo");
}

#[test]
fn doctor_reports_drift() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (_, worktree) = env.start_run(&repo, "d");
    env.agency(&repo, &["kill", "d"]).ok();
    std::fs::remove_dir_all(&worktree).unwrap();
    let out = env.agency(&repo, &["doctor"]);
    let drift = out.value("check.drift").unwrap();
    assert!(drift.starts_with("warn") && drift.contains("worktree_missing"), "{drift}");
}
