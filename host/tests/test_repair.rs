//! `agency repair` finds drift in both directions — records without worktrees, worktrees
//! without records, stale `git worktree` entries, agency tmux sessions without live runs,
//! stale locks, records interrupted before meta.json — prints every finding with its action,
//! changes nothing on `--dry-run`, and never deletes unsaved work.

use std::path::Path;

use crate::common::TestEnv;

fn findings(env: &TestEnv, repo: &Path, dry_run: bool) -> Vec<serde_json::Value> {
    let mut args = vec!["repair", "--json"];
    if dry_run {
        args.push("--dry-run");
    }
    env.agency(repo, &args).json()["findings"].as_array().unwrap().clone()
}

fn kinds(list: &[serde_json::Value]) -> Vec<String> {
    let mut kinds: Vec<String> = list.iter().map(|f| f["kind"].as_str().unwrap().to_string()).collect();
    kinds.sort();
    kinds
}

#[test]
fn repair_reconciles_every_kind_of_drift() {
    let env = TestEnv::new();
    let repo = env.repo("r");

    // A record whose worktree vanished (and git still lists it).
    let (gone_id, gone_wt) = env.start_run(&repo, "gone");
    std::fs::write(gone_wt.join("precious.txt"), "keep me").unwrap();
    env.sh(&gone_wt, "git add precious.txt && git commit -qm precious");
    env.agency(&repo, &["kill", "gone"]).ok();
    std::fs::remove_dir_all(&gone_wt).unwrap();

    // A worktree whose record vanished, with uncommitted work in it.
    let (orphan_id, orphan_wt) = env.start_run(&repo, "orphan");
    env.agency(&repo, &["kill", "orphan"]).ok();
    std::fs::write(orphan_wt.join("unsaved.txt"), "unsaved work").unwrap();
    std::fs::remove_dir_all(env.run_dir_of(&orphan_id)).unwrap();

    // An agency session with no live run, and a stale lock.
    let data_wt = env
        .data
        .join("repos")
        .join(env.meta(&env.run_dir_of(&gone_id))["repo_id"].as_str().unwrap())
        .join("worktrees")
        .join("ghost");
    env.tmux(&[
        "new-session",
        "-d",
        "-s",
        "agency_20990101000000-dead",
        "-e",
        &format!("AGENCY_WORKTREE={}", data_wt.display()),
        "sleep 600",
    ]);
    let lock = env.run_dir_of(&gone_id).parent().unwrap().parent().unwrap().join("lock");
    std::fs::write(&lock, r#"{"pid": 999999999, "started_at": "2026-01-01T00:00:00Z", "command": "agency run"}"#)
        .unwrap();

    let dry = findings(&env, &repo, true);
    let found = kinds(&dry);
    for kind in ["orphan_session", "orphan_worktree", "stale_git_worktree", "stale_lock", "worktree_missing"] {
        assert!(found.contains(&kind.to_string()), "{kind} not found in {found:?}");
    }
    assert!(dry.iter().all(|f| f["result"].is_null()), "dry run applies nothing");
    assert!(orphan_wt.exists(), "dry run changed nothing");
    let human = env.agency(&repo, &["repair", "--dry-run"]);
    assert!(human.ok().contains("(dry run)"));

    let applied = findings(&env, &repo, false);
    let failed: Vec<_> = applied.iter().filter(|f| f["result"].as_str().unwrap_or("").starts_with("failed")).collect();
    assert!(failed.is_empty(), "{failed:#?}");

    // Work was saved before anything was removed.
    assert_eq!(env.sh(&repo, &format!("git show refs/agency/archive/{gone_id}:precious.txt")), "keep me");
    assert_eq!(env.sh(&repo, &format!("git show refs/agency/orphan/{orphan_id}:unsaved.txt")), "unsaved work");
    assert!(!orphan_wt.exists());
    assert!(env.meta(&env.run_dir_of(&gone_id))["archive"]["archived_at"].is_string());
    assert!(!env.tmux(&["has-session", "-t", "=agency_20990101000000-dead"]).status.success());
    assert_eq!(env.worktree_count(&repo), 1, "git worktree list matches the records");

    let again = findings(&env, &repo, false);
    assert!(again.is_empty(), "a second repair finds nothing: {again:#?}");
    env.assert_records_intact();
}

#[test]
fn repair_rebuilds_a_record_interrupted_before_meta_json() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let out =
        env.agency_with(&repo, &["run", "--detached", "--name", "crashy"], &[("AGENCY_TEST_ABORT_AFTER", "worktree")]);
    assert_ne!(out.code, 0);
    let run_dir = env.run_dirs()[0].clone();
    assert!(!run_dir.join("meta.json").exists());
    assert!(env.agency(&repo, &["ls"]).ok().contains("broken"));
    let applied = findings(&env, &repo, false);
    assert!(kinds(&applied).contains(&"meta_missing".to_string()), "{applied:#?}");
    let meta = env.meta(&run_dir);
    assert_eq!(meta["name"], "crashy");
    assert_eq!(meta["pipeline"]["last_step"], "worktree");
    let ls = env.agency(&repo, &["ls", "--json"]).json();
    assert_eq!(ls["runs"][0]["status"]["label"], "created, not started");
    env.agency(&repo, &["resume", "crashy", "--detached"]).ok();
}
