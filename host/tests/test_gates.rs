//! Every gate of `agency run`: each failure has its own code, exits 1, and creates nothing —
//! no run dir, no branch, no worktree.

use std::path::Path;

use crate::common::TestEnv;

/// Assert that a failed `run` left no trace in the data dir or the repository.
#[track_caller]
fn assert_nothing_created(env: &TestEnv, repo: &Path, branches_before: &[String]) {
    assert!(env.run_dirs().is_empty(), "run dirs were created: {:?}", env.run_dirs());
    assert_eq!(env.branches(repo), branches_before, "branches changed");
    assert_eq!(env.worktree_count(repo), 1, "a worktree was added");
}

#[track_caller]
fn run_fails(env: &TestEnv, repo: &Path, args: &[&str], code: &str) -> String {
    let before = env.branches(repo);
    let mut full = vec!["run", "--detached"];
    full.extend_from_slice(args);
    let stderr = env.agency(repo, &full).err(code).to_string();
    assert_nothing_created(env, repo, &before);
    stderr
}

#[test]
fn outside_a_repository() {
    let env = TestEnv::new();
    let dir = env.root().join("plain-dir");
    std::fs::create_dir(&dir).unwrap();
    let stderr = env.agency(&dir, &["run", "--name", "x"]).err("E_NO_REPO").to_string();
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(env.run_dirs().is_empty());
}

#[test]
fn empty_repository() {
    let env = TestEnv::new();
    let repo = env.root().join("empty");
    std::fs::create_dir(&repo).unwrap();
    env.sh(&repo, "git init -q -b main");
    env.agency(&repo, &["run", "--name", "x"]).err("E_EMPTY_REPO");
    assert!(env.run_dirs().is_empty());
}

#[test]
fn missing_agency_json() {
    let env = TestEnv::new();
    let repo = env.plain_repo("r");
    let stderr = run_fails(&env, &repo, &["--name", "x"], "E_NO_AGENCY_JSON");
    assert!(stderr.contains("hint: agency init"), "{stderr}");
}

#[test]
fn invalid_agency_json_variants_name_the_field() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let cases = [
        ("{ not json", "not valid JSON"),
        (r#"{"version": 2}"#, "`version` must be 1"),
        (r#"{"version": 1, "surprise": true}"#, "`surprise` is not a known field"),
        (r#"{"version": 1, "scripts": {"setup": {"path": "../outside.sh"}}}"#, "`scripts.setup.path`"),
        (r#"{"version": 1, "scripts": {"setup": {"path": "/etc/passwd"}}}"#, "must be relative"),
        (
            r#"{"version": 1, "scripts": {"verify": {"path": "v.sh", "timeout": 5}}}"#,
            "`scripts.verify.timeout` must be a string",
        ),
    ];
    for (text, needle) in cases {
        std::fs::write(repo.join("agency.json"), text).unwrap();
        env.commit_all(&repo, "bad config");
        let stderr = run_fails(&env, &repo, &["--name", "x"], "E_INVALID_AGENCY_JSON");
        assert!(stderr.contains(needle), "{text}: {stderr}");
    }
}

#[test]
fn dirty_parent_lists_the_files() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    std::fs::write(repo.join("README.md"), "changed").unwrap();
    std::fs::write(repo.join("new-file.txt"), "new").unwrap();
    let stderr = run_fails(&env, &repo, &["--name", "x"], "E_PARENT_DIRTY");
    assert!(stderr.contains("README.md") && stderr.contains("new-file.txt"), "{stderr}");
    assert!(stderr.contains("hint: commit or stash"), "{stderr}");
}

#[test]
fn missing_parent_branch() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    run_fails(&env, &repo, &["--name", "x", "--parent", "nope"], "E_PARENT_BRANCH_NOT_FOUND");
}

#[test]
fn detached_head_needs_a_parent() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.sh(&repo, "git checkout -q --detach HEAD");
    run_fails(&env, &repo, &["--name", "x"], "E_DETACHED_HEAD");
    env.agency(&repo, &["run", "--detached", "--name", "x", "--parent", "main"]).ok();
}

#[test]
fn invalid_names() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    for name in ["Bad Name", "-x", "x-", "a--b", "ünï", &"a".repeat(41)] {
        let stderr = run_fails(&env, &repo, &[&format!("--name={name}")], "E_INVALID_NAME");
        assert!(stderr.contains("hint: "), "{stderr}");
    }
}

#[test]
fn duplicate_name_among_live_runs() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--detached", "--name", "dup"]).ok();
    let before = env.run_dirs();
    let branches = env.branches(&repo);
    env.agency(&repo, &["run", "--detached", "--name", "dup"]).err("E_NAME_EXISTS");
    assert_eq!(env.run_dirs(), before);
    assert_eq!(env.branches(&repo), branches);
    assert_eq!(env.worktree_count(&repo), 2);
}

/// The name check reads `names.json` instead of every record, and never trusts it past what
/// it covers: a record another tool wrote into the runs dir (the Go original, a copy), an
/// archived run, a restored one and a deleted or damaged index are all seen.
#[test]
fn the_name_index_sees_every_way_a_name_is_taken_or_freed() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (first, _) = env.start_run(&repo, "one");
    let first_dir = env.run_dir_of(&first);
    let index = first_dir.parent().unwrap().parent().unwrap().join("names.json");
    assert!(index.is_file(), "run writes the index");

    // A run written behind agency's back holds its name.
    env.plant_record(&first_dir, "20200101000000-f00d", "two");
    env.agency(&repo, &["run", "--detached", "--name", "two"]).err("E_NAME_EXISTS");

    // Archiving frees the name; restoring takes it back, even with a newer run of that name
    // archived in between (the index then lists the restored run again).
    env.agency(&repo, &["clean", "one", "--yes"]).ok();
    let (second, _) = env.start_run(&repo, "one");
    env.agency(&repo, &["clean", &second, "--yes"]).ok();
    env.agency(&repo, &["restore", &first]).ok();
    env.agency(&repo, &["run", "--detached", "--name", "one"]).err("E_NAME_EXISTS");

    // A damaged or deleted index is rebuilt from the records.
    std::fs::write(&index, "{ damaged").unwrap();
    env.agency(&repo, &["run", "--detached", "--name", "one"]).err("E_NAME_EXISTS");
    std::fs::remove_file(&index).unwrap();
    env.agency(&repo, &["run", "--detached", "--name", "two"]).err("E_NAME_EXISTS");
    env.agency(&repo, &["run", "--detached", "--name", "three"]).ok();
}

#[test]
fn inside_an_agency_worktree() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let out = env.agency(&repo, &["run", "--detached", "--name", "one"]);
    let worktree = std::path::PathBuf::from(out.value("worktree").unwrap());
    let stderr = env.agency(&worktree, &["run", "--name", "two"]).err("E_INSIDE_WORKTREE").to_string();
    assert!(stderr.contains(&repo.display().to_string()), "hint names the main checkout: {stderr}");
    assert_eq!(env.run_dirs().len(), 1);
}

#[test]
fn unwritable_data_dir() {
    let mut env = TestEnv::new();
    let repo = env.repo("r");
    // A regular file where the data dir should be: unwritable even for root.
    let blocker = env.root().join("data-is-a-file");
    std::fs::write(&blocker, "").unwrap();
    env.set_env("AGENCY_DATA_DIR", &blocker.display().to_string());
    let before = env.branches(&repo);
    env.agency(&repo, &["run", "--detached", "--name", "x"]).err("E_DIR_NOT_WRITABLE");
    assert_eq!(env.branches(&repo), before);
    assert_eq!(env.worktree_count(&repo), 1);
}

#[test]
fn existing_run_dir_is_never_reused() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let run_id = "20260101000000-dead";
    let first = env.agency_with(&repo, &["run", "--detached", "--name", "a"], &[("AGENCY_TEST_RUN_ID", run_id)]);
    first.ok();
    let meta_before = std::fs::read(env.run_dirs()[0].join("meta.json")).unwrap();
    let branches = env.branches(&repo);
    let stderr = env
        .agency_with(&repo, &["run", "--detached", "--name", "b"], &[("AGENCY_TEST_RUN_ID", run_id)])
        .err("E_RUN_DIR_EXISTS")
        .to_string();
    assert!(stderr.contains(run_id), "{stderr}");
    assert_eq!(env.branches(&repo), branches, "no branch for the refused run");
    assert_eq!(env.worktree_count(&repo), 2);
    assert_eq!(
        std::fs::read(env.run_dirs()[0].join("meta.json")).unwrap(),
        meta_before,
        "the existing record is untouched"
    );
}

#[test]
fn usage_errors_exit_two() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--no-such-flag"]).err("E_USAGE");
    env.agency(&repo, &["run", "--headless"]).err("E_USAGE");
    env.agency(&repo, &["frobnicate"]).err("E_USAGE");
}

#[test]
fn invalid_user_config_is_an_error_for_every_command() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.write_user_config(r#"{"version": 1, "defaults": {"runner": "x", "colour": "blue"}}"#);
    for args in [&["ls"][..], &["run", "--name", "x"], &["doctor"]] {
        let stderr = env.agency(&repo, args).err("E_INVALID_USER_CONFIG").to_string();
        assert!(stderr.contains("defaults.colour"), "{stderr}");
    }
}
