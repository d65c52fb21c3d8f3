//! Parallel load: 30 `agency run --detached` launched at once in one repository, 10 at once in
//! each of 3 repositories, and concurrent `push` and `clean` on different runs of one
//! repository. Every command succeeds with a distinct id, no lock error reaches the user, every
//! record and event line is valid, and `git worktree list` matches the records.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use crate::common::TestEnv;
use crate::common::env::agency_bin;

fn spawn(env: &TestEnv, cwd: &Path, args: &[&str]) -> Child {
    env.command(agency_bin(), cwd).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Wait for every child; each must succeed without a lock error. Returns their stdouts.
fn all_succeed(children: Vec<Child>) -> Vec<String> {
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "a concurrent command failed:\n{stderr}");
            assert!(!stderr.contains("E_REPO_LOCKED"), "{stderr}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect()
}

fn run_ids(stdouts: &[String]) -> Vec<String> {
    stdouts.iter().map(|s| s.lines().find_map(|l| l.strip_prefix("run_id: ")).unwrap().to_string()).collect()
}

#[test]
fn thirty_runs_at_once_in_one_repository() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    // Warm the plugin cache once so the thirty measure the pipeline, not the compiler.
    env.agency(&repo, &["plugin", "inspect", "shell"]).ok();
    let children: Vec<Child> =
        (0..30).map(|i| spawn(&env, &repo, &["run", "--detached", "--name", &format!("load-{i}")])).collect();
    let ids = run_ids(&all_succeed(children));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 30, "distinct run ids");
    assert_eq!(env.run_dirs().len(), 30);
    assert_eq!(env.worktree_count(&repo), 31);
    env.assert_consistent(&repo);
    let ls = env.agency(&repo, &["ls", "--json"]).json();
    assert_eq!(ls["runs"].as_array().unwrap().len(), 30);
}

#[test]
fn ten_runs_at_once_in_each_of_three_repositories() {
    let env = TestEnv::new();
    let repos: Vec<PathBuf> = (0..3).map(|i| env.repo(&format!("repo{i}"))).collect();
    env.agency(&repos[0], &["plugin", "inspect", "shell"]).ok();
    let children: Vec<Child> = repos
        .iter()
        .flat_map(|repo| {
            (0..10).map(|i| spawn(&env, repo, &["run", "--detached", "--name", &format!("p{i}")])).collect::<Vec<_>>()
        })
        .collect();
    let ids = run_ids(&all_succeed(children));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 30);
    for repo in &repos {
        assert_eq!(env.worktree_count(repo), 11);
        env.assert_consistent(repo);
    }
    let all = env.agency(&env.root(), &["ls", "--all-repos", "--json"]).json();
    assert_eq!(all["runs"].as_array().unwrap().len(), 30);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.data.join("repo_index.json")).unwrap()).unwrap();
    assert_eq!(index["repos"].as_object().unwrap().len(), 3, "no lost update in the shared repo index");
}

#[test]
fn concurrent_push_and_clean_on_different_runs() {
    let mut env = TestEnv::new();
    let (repo, bare) = env.github_repo("widgets");
    let names: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    for name in &names {
        let (_, worktree) = env.start_run(&repo, name);
        std::fs::write(worktree.join(format!("{name}.txt")), name).unwrap();
        env.sh(&worktree, &format!("git add {name}.txt && git commit -qm 'work on {name}'"));
    }
    let children: Vec<Child> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if i % 2 == 0 { spawn(&env, &repo, &["push", name]) } else { spawn(&env, &repo, &["clean", name, "--yes"]) }
        })
        .collect();
    all_succeed(children);
    let state = env.gh_state();
    assert_eq!(state["prs"].as_array().unwrap().len(), 3, "one PR per pushed run");
    let remote_branches = env.sh(&bare, "git for-each-ref --format='%(refname:short)' refs/heads/");
    assert_eq!(remote_branches.lines().filter(|b| b.starts_with("agency/")).count(), 3);
    env.assert_consistent(&repo);
}
