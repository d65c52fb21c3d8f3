//! The ship loop against a local bare repository as `origin` (real `git push`) and a fake `gh`
//! backed by a state file: verify bound to a commit, push with idempotent PR creation and body
//! sync, merge with every refusal, clean that saves work first, restore, and squash/rebase
//! merge detection.

use std::path::Path;

use crate::common::TestEnv;

fn commit_in(env: &TestEnv, worktree: &Path, file: &str, content: &str, message: &str) {
    std::fs::write(worktree.join(file), content).unwrap();
    env.sh(worktree, &format!("git add {file} && git commit -qm '{message}'"));
}

/// A verify script that fails while the worktree contains `broken.txt` (it runs in the worktree).
fn passing_verify(env: &TestEnv, repo: &Path) {
    env.verify_script(
        repo,
        "#!/bin/sh\nif [ -e broken.txt ]; then echo 'test_login FAILED' >&2; exit 1; fi\necho checks pass\n",
    );
}

#[test]
fn verify_records_the_commit_and_tree_it_checked() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    passing_verify(&env, &repo);
    let (run_id, worktree) = env.start_run(&repo, "v");
    let out = env.agency(&repo, &["verify", "v"]);
    out.ok();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.run_dir_of(&run_id).join("verify_record.json")).unwrap()).unwrap();
    assert_eq!(record["ok"], true);
    assert_eq!(record["commit"].as_str().unwrap(), env.sh(&worktree, "git rev-parse HEAD").trim());
    assert_eq!(record["tree"].as_str().unwrap().len(), 40);
    assert_eq!(record["exit_code"], 0);
    assert!(env.meta(&env.run_dir_of(&run_id))["last_verify_at"].is_string());

    // Failing checks flag the run; fixing them clears the flag.
    std::fs::write(worktree.join("broken.txt"), "regression").unwrap();
    let stderr = env.agency(&repo, &["verify", "v"]).err("E_SCRIPT_FAILED").to_string();
    assert!(stderr.contains("agency logs v verify"), "{stderr}");
    assert_eq!(env.meta(&env.run_dir_of(&run_id))["flags"]["needs_attention_reason"], "verify_failed");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.run_dir_of(&run_id).join("verify_record.json")).unwrap()).unwrap();
    assert_eq!(record["ok"], false);
    assert_eq!(record["commit"].as_str().unwrap(), env.sh(&worktree, "git rev-parse HEAD").trim());
    // An agent cannot weaken its own verification: the main checkout's script runs.
    std::fs::write(worktree.join("scripts/agency_verify.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    env.agency(&repo, &["verify", "v"]).err("E_SCRIPT_FAILED");
    env.sh(&worktree, "git checkout -q scripts/agency_verify.sh && rm broken.txt");
    env.agency(&repo, &["verify", "v"]).ok();
    assert!(env.meta(&env.run_dir_of(&run_id))["flags"].get("needs_attention").is_none());
    assert!(env.agency(&repo, &["logs", "v", "verify"]).ok().contains("test_login FAILED"));
}

#[test]
fn push_refuses_dirty_and_empty_then_creates_one_pr_and_syncs_its_body() {
    let mut env = TestEnv::new();
    let (repo, bare) = env.github_repo("widgets");
    let (run_id, worktree) = env.start_run(&repo, "feat");

    env.agency(&repo, &["push", "feat"]).err("E_EMPTY_DIFF");
    std::fs::write(worktree.join("wip.txt"), "half done").unwrap();
    let stderr = env.agency(&repo, &["push", "feat"]).err("E_DIRTY_WORKTREE").to_string();
    assert!(stderr.contains("wip.txt"), "{stderr}");
    std::fs::remove_file(worktree.join("wip.txt")).unwrap();

    commit_in(&env, &worktree, "feature.txt", "v1\n", "Add the feature");
    let first = env.agency(&repo, &["push", "feat"]);
    first.ok();
    assert_eq!(first.value("pr").as_deref(), Some("#1 (created)"));
    let branch = env.meta(&env.run_dir_of(&run_id))["branch"].as_str().unwrap().to_string();
    assert_eq!(
        env.sh(&bare, &format!("git rev-parse {branch}")),
        env.sh(&worktree, "git rev-parse HEAD"),
        "the branch reached origin"
    );
    let state = env.gh_state();
    assert_eq!(state["prs"][0]["headRefName"], branch.as_str());
    assert_eq!(state["prs"][0]["baseRefName"], "main");
    assert!(state["prs"][0]["body"].as_str().unwrap().contains("Add the feature"), "generated body lists commits");
    let meta = env.meta(&env.run_dir_of(&run_id));
    assert_eq!(meta["pr_number"], 1);
    assert_eq!(meta["pr_url"], "https://github.com/acme/widgets/pull/1");
    assert!(meta["last_push_at"].is_string());

    std::fs::write(worktree.join("wip.txt"), "half done").unwrap();
    let dirty = env.agency(&repo, &["push", "feat", "--allow-dirty"]);
    assert_eq!(dirty.value("pr").as_deref(), Some("#1 (unchanged)"), "{}", dirty.stderr);
    let pushed_files = env.sh(&bare, &format!("git ls-tree -r --name-only {branch}"));
    assert!(!pushed_files.lines().any(|f| f == "wip.txt"), "uncommitted files are never pushed: {pushed_files}");
    std::fs::remove_file(worktree.join("wip.txt")).unwrap();

    let again = env.agency(&repo, &["push", "feat"]);
    assert_eq!(again.value("pr").as_deref(), Some("#1 (unchanged)"), "identical pushes do not touch the PR");
    commit_in(&env, &worktree, "feature.txt", "v2\n", "Refine the feature");
    assert_eq!(env.agency(&repo, &["push", "feat"]).value("pr").as_deref(), Some("#1 (updated)"));
    std::fs::write(
        worktree.join(".agency/report.md"),
        "# Feature\n\nAdds the feature.\n\n## How to test\n\ncargo test\n",
    )
    .unwrap();
    assert_eq!(env.agency(&repo, &["push", "feat"]).value("pr").as_deref(), Some("#1 (updated)"));
    let state = env.gh_state();
    assert_eq!(state["prs"].as_array().unwrap().len(), 1, "never a second PR");
    assert_eq!(state["prs"][0]["body"], "# Feature\n\nAdds the feature.\n\n## How to test\n\ncargo test\n");
    let calls = state["calls"].as_array().unwrap();
    assert!(
        calls.iter().all(|c| c[0] != "pr" || c.as_array().unwrap().iter().any(|a| a == "-R")),
        "every gh pr call names the repository"
    );
}

#[test]
fn push_needs_a_github_origin_and_gh_auth() {
    let mut env = TestEnv::new();
    let repo = env.repo("plain");
    let (_, worktree) = env.start_run(&repo, "a");
    commit_in(&env, &worktree, "x.txt", "x", "x");
    env.agency(&repo, &["push", "a"]).err("E_NO_ORIGIN");
    env.sh(&repo, "git remote add origin git@gitlab.com:acme/plain.git");
    env.agency(&repo, &["push", "a"]).err("E_UNSUPPORTED_ORIGIN_HOST");

    let (repo, _) = env.github_repo("gh");
    let (_, worktree) = env.start_run(&repo, "b");
    commit_in(&env, &worktree, "y.txt", "y", "y");
    env.set_gh_state(&serde_json::json!({"authenticated": false, "prs": [], "calls": []}));
    let stderr = env.agency(&repo, &["push", "b"]).err("E_GH_NOT_AUTHENTICATED").to_string();
    assert!(stderr.contains("gh auth login"));
}

#[test]
fn merge_refuses_until_everything_is_in_place() {
    let mut env = TestEnv::new();
    let (repo, _) = env.github_repo("widgets");
    passing_verify(&env, &repo);
    let (_, worktree) = env.start_run(&repo, "m");
    env.agency(&repo, &["merge", "m", "--yes"]).err("E_NO_PR");
    commit_in(&env, &worktree, "f.txt", "f", "Add f");
    env.agency(&repo, &["push", "m"]).ok();

    let mut state = env.gh_state();
    state["prs"][0]["mergeable"] = serde_json::json!("CONFLICTING");
    env.set_gh_state(&state);
    env.agency(&repo, &["merge", "m", "--yes"]).err("E_PR_NOT_MERGEABLE");
    state["prs"][0]["mergeable"] = serde_json::json!("MERGEABLE");
    state["prs"][0]["unknown_views"] = serde_json::json!(2);
    env.set_gh_state(&state);

    // No terminal and no --yes: the human's confirmation cannot be given.
    env.agency_with(&repo, &["merge", "m"], &[("AGENCY_MERGEABLE_DELAY", "10ms")]).err("E_NOT_INTERACTIVE");
    assert_eq!(env.gh_state()["prs"][0]["state"], "OPEN");
    assert!(worktree.is_dir());

    std::fs::write(worktree.join("broken.txt"), "regression").unwrap();
    env.sh(&worktree, "git add broken.txt && git commit -qm 'break verify'");
    env.agency(&repo, &["push", "m"]).ok();
    env.agency_with(&repo, &["merge", "m", "--yes"], &[("AGENCY_MERGEABLE_DELAY", "10ms")]).err("E_VERIFY_FAILED");
    assert_eq!(env.gh_state()["prs"][0]["state"], "OPEN");
}

#[test]
fn merge_squashes_records_and_archives() {
    let mut env = TestEnv::new();
    let (repo, bare) = env.github_repo("widgets");
    passing_verify(&env, &repo);
    let (run_id, worktree) = env.start_run(&repo, "sq");
    commit_in(&env, &worktree, "a.txt", "a", "Add a");
    commit_in(&env, &worktree, "b.txt", "b", "Add b");
    env.agency(&repo, &["push", "sq"]).ok();
    env.agency(&repo, &["verify", "sq"]).ok();
    let out = env.agency(&repo, &["merge", "sq", "--yes"]);
    out.ok();
    assert!(
        out.value("verification").unwrap().starts_with("reused"),
        "a still-valid verify record is reused: {}",
        out.stdout
    );
    let state = env.gh_state();
    assert_eq!(state["prs"][0]["state"], "MERGED");
    assert_eq!(state["prs"][0]["merge_strategy"], "--squash");
    assert!(env.sh(&bare, "git show main:a.txt").contains('a'), "the change is on origin's main");
    let meta = env.meta(&env.run_dir_of(&run_id));
    assert!(meta["archive"]["merged_at"].is_string() && meta["archive"]["archived_at"].is_string());
    assert!(!worktree.exists());
    assert!(!env.branches(&repo).iter().any(|b| b.starts_with("agency/sq")));
    assert!(!env.sh(&repo, &format!("git rev-parse refs/agency/archive/{run_id}")).is_empty());
    let ls = env.agency(&repo, &["ls", "--all", "--json"]).json();
    assert_eq!(ls["runs"][0]["status"]["label"], "merged");
    assert!(env.agency(&repo, &["ls", "--json"]).json()["runs"].as_array().unwrap().is_empty());
}

#[test]
fn merge_with_a_merge_commit_can_keep_the_remote_branch() {
    let mut env = TestEnv::new();
    let (repo, bare) = env.github_repo("widgets");
    passing_verify(&env, &repo);
    let (run_id, worktree) = env.start_run(&repo, "keep");
    commit_in(&env, &worktree, "k.txt", "k", "Add k");
    env.agency(&repo, &["push", "keep"]).ok();
    env.agency(&repo, &["merge", "keep", "--merge", "--no-delete-branch", "--yes"]).ok();
    let state = env.gh_state();
    assert_eq!(state["prs"][0]["merge_strategy"], "--merge");
    let branch = env.meta(&env.run_dir_of(&run_id))["branch"].as_str().unwrap().to_string();
    assert!(
        !env.sh(&bare, &format!("git rev-parse --verify refs/heads/{branch}")).is_empty(),
        "origin keeps the branch"
    );
    assert_eq!(env.sh(&bare, "git log -1 --format=%P main").split_whitespace().count(), 2, "a merge commit on main");
}

#[test]
fn clean_saves_dirty_and_unpushed_work_and_restore_brings_it_back() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "c");
    commit_in(&env, &worktree, "committed.txt", "committed\n", "Unpushed commit");
    std::fs::write(worktree.join("README.md"), "modified, never committed\n").unwrap();
    std::fs::write(worktree.join("untracked.txt"), "untracked work\n").unwrap();
    std::fs::write(worktree.join(".agency/report.md"), "# My report\n").unwrap();
    let session = env.meta(&env.run_dir_of(&run_id))["tmux_session_name"].as_str().unwrap().to_string();

    env.agency(&repo, &["clean", "c"]).err("E_NOT_INTERACTIVE");
    assert!(worktree.is_dir(), "nothing removed without confirmation");

    let out = env.agency(&repo, &["clean", "c", "--yes"]);
    out.ok();
    assert_eq!(out.value("uncommitted_saved").as_deref(), Some("true"));
    assert_eq!(out.value("unpushed_commits").as_deref(), Some("true"));
    assert_eq!(out.value("outcome").as_deref(), Some("abandoned"));
    assert!(!worktree.exists());
    assert!(!env.tmux(&["has-session", "-t", &format!("={session}")]).status.success(), "session killed");
    let saved = format!("refs/agency/archive/{run_id}");
    assert_eq!(env.sh(&repo, &format!("git show {saved}:untracked.txt")), "untracked work\n");
    assert_eq!(env.sh(&repo, &format!("git show {saved}:README.md")), "modified, never committed\n");
    assert_eq!(env.sh(&repo, &format!("git show {saved}~1:committed.txt")), "committed\n");
    let meta = env.meta(&env.run_dir_of(&run_id));
    assert_eq!(meta["flags"]["abandoned"], true);
    assert_eq!(meta["archive"]["uncommitted_saved"], true);
    assert!(env.run_dir_of(&run_id).join("logs").is_dir(), "record and logs stay");
    env.agency(&repo, &["ls", "--all"]).ok();
    env.agency(&repo, &["attach", &run_id]).err("E_RUN_ARCHIVED");

    let restored = env.agency(&repo, &["restore", &run_id]);
    restored.ok();
    assert_eq!(std::fs::read_to_string(worktree.join("untracked.txt")).unwrap(), "untracked work\n");
    assert_eq!(std::fs::read_to_string(worktree.join("README.md")).unwrap(), "modified, never committed\n");
    assert_eq!(std::fs::read_to_string(worktree.join(".agency/report.md")).unwrap(), "# My report\n");
    let status = env.sh(&worktree, "git status --porcelain");
    assert!(
        status.contains(" M README.md") && status.contains("?? untracked.txt"),
        "uncommitted work comes back uncommitted: {status}"
    );
    assert_eq!(env.sh(&worktree, "git log -1 --format=%s").trim(), "Unpushed commit");
    env.agency(&repo, &["restore", &run_id]).err("E_NOT_ARCHIVED");
    env.agency(&repo, &["resume", "c", "--detached"]).ok();
}

#[test]
fn clean_recognises_squash_and_rebase_merged_branches() {
    for strategy in ["--squash", "--rebase", "--merge"] {
        let mut env = TestEnv::new();
        let (repo, bare) = env.github_repo("widgets");
        let (run_id, worktree) = env.start_run(&repo, "done");
        commit_in(&env, &worktree, "one.txt", "1", "One");
        commit_in(&env, &worktree, "two.txt", "2", "Two");
        // Merged outside agency, with no PR agency knows of: detection is by content.
        let branch = env.meta(&env.run_dir_of(&run_id))["branch"].as_str().unwrap().to_string();
        env.sh(&worktree, &format!("git push -q origin {branch}"));
        let work = env.root().join("elsewhere");
        env.sh(&env.root(), &format!("git clone -q {} {}", bare.display(), work.display()));
        let merge = match strategy {
            "--squash" => format!("git merge -q --squash origin/{branch} && git commit -qm squashed"),
            "--rebase" => format!(
                "git checkout -q -b tmp origin/{branch} && git rebase -q main && git checkout -q main && git merge -q --ff-only tmp"
            ),
            _ => format!("git merge -q --no-ff -m merged origin/{branch}"),
        };
        env.sh(&work, &format!("git commit -q --allow-empty -m 'unrelated' && {merge} && git push -q origin main"));
        let out = env.agency(&repo, &["clean", "done", "--yes"]);
        out.ok();
        assert!(out.value("outcome").unwrap().starts_with("merged"), "{strategy}: {}", out.stdout);
        let meta = env.meta(&env.run_dir_of(&run_id));
        assert!(meta["archive"]["merged_at"].is_string(), "{strategy}");
        assert!(meta["flags"].get("abandoned").is_none(), "{strategy}");
    }
}

#[test]
fn a_pr_merged_on_github_is_recognised() {
    let mut env = TestEnv::new();
    let (repo, _) = env.github_repo("widgets");
    let (run_id, worktree) = env.start_run(&repo, "ui");
    commit_in(&env, &worktree, "u.txt", "u", "U");
    env.agency(&repo, &["push", "ui"]).ok();
    env.sh(&repo, "gh pr merge 1 -R acme/widgets --squash");
    let out = env.agency(&repo, &["clean", "ui", "--yes"]);
    assert!(out.value("outcome").unwrap().starts_with("merged"), "{}", out.stdout);
    assert!(env.meta(&env.run_dir_of(&run_id))["archive"]["merged_at"].is_string());
}
