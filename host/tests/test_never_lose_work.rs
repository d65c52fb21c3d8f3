//! One regression test per defect of the reliability trial (`D1`–`D25`): every way `clean`,
//! `repair`, `restore`, `merge` and `run` were seen to lose, hide or misreport work. Faults
//! that need a precise moment use a `git` wrapper first on the test's PATH (agency resolves
//! git from PATH once, so the wrapper is the git it runs); everything else is real.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::TestEnv;
use crate::common::env::{agency_bin, wait_until};

/// The git the wrapper scripts hand over to.
fn real_git() -> String {
    let out = std::process::Command::new("sh").args(["-c", "command -v git"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A `git` first on PATH that runs `action` (shell) when its arguments contain `pattern`.
fn git_wrapper(env: &TestEnv, pattern: &str, action: &str) {
    env.fake_bin(
        "git",
        &format!("#!/bin/sh\ncase \" $* \" in *\" {pattern} \"*) {action};; esac\nexec {} \"$@\"\n", real_git()),
    );
}

fn remove_git_wrapper(env: &TestEnv) {
    std::fs::remove_file(env.root().join("bin/git")).unwrap();
}

fn kill9(child: &mut std::process::Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
}

fn spawn_agency(env: &TestEnv, cwd: &Path, args: &[&str]) -> std::process::Child {
    env.command(agency_bin(), cwd).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn session_alive(env: &TestEnv, run_dir: &Path) -> bool {
    let session = env.meta(run_dir)["tmux_session_name"].as_str().unwrap_or_default().to_string();
    env.tmux(&["has-session", "-t", &format!("={session}")]).status.success()
}

fn saved_file(env: &TestEnv, repo: &Path, run_id: &str, file: &str) -> String {
    env.sh(repo, &format!("git show refs/agency/archive/{run_id}:{file}"))
}

#[test]
fn d1_repair_after_an_interrupted_clean_keeps_the_saved_snapshot() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "w1");
    std::fs::write(worktree.join("untracked.txt"), "precious uncommitted\n").unwrap();
    git_wrapper(&env, "branch -D", "sleep 30");
    let mut clean = spawn_agency(&env, &repo, &["clean", "w1", "--yes"]);
    wait_until("the worktree to be removed", 30, || if worktree.exists() { Err("still there") } else { Ok(()) });
    std::thread::sleep(Duration::from_millis(300));
    kill9(&mut clean);
    remove_git_wrapper(&env);
    assert_eq!(saved_file(&env, &repo, &run_id, "untracked.txt"), "precious uncommitted\n");

    env.agency(&repo, &["repair"]).ok();
    assert_eq!(saved_file(&env, &repo, &run_id, "untracked.txt"), "precious uncommitted\n", "repair kept it");
    env.agency(&repo, &["restore", &run_id]).ok();
    assert_eq!(std::fs::read_to_string(worktree.join("untracked.txt")).unwrap(), "precious uncommitted\n");
}

#[test]
fn d1_a_clean_retried_after_a_crash_mid_removal_keeps_the_good_snapshot() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "cr1");
    std::fs::write(worktree.join("notes.txt"), "precious notes\n").unwrap();
    std::fs::write(worktree.join("AGENCY.md"), "edited\n").unwrap();
    // git dies halfway through removing the worktree, and takes agency with it.
    let wt = worktree.display().to_string();
    git_wrapper(&env, "remove", &format!("rm -f '{wt}/notes.txt' '{wt}/AGENCY.md'; kill -9 $PPID; kill -9 $$"));
    let out = env.agency(&repo, &["clean", "cr1", "--yes"]);
    assert_ne!(out.code, 0, "agency was killed");
    remove_git_wrapper(&env);
    assert!(worktree.join(".git").exists(), "the half-removed worktree is still there");

    env.agency(&repo, &["clean", "cr1", "--yes"]).ok();
    assert_eq!(saved_file(&env, &repo, &run_id, "notes.txt"), "precious notes\n", "the good snapshot stays");
    let refs = env.sh(&repo, &format!("git for-each-ref --format='%(refname)' refs/agency/archive/{run_id}*"));
    assert_eq!(refs.lines().count(), 1, "nothing was saved over it: {refs}");
    env.agency(&repo, &["restore", &run_id]).ok();
    assert_eq!(std::fs::read_to_string(worktree.join("notes.txt")).unwrap(), "precious notes\n");
    let status = env.sh(&worktree, "git status --porcelain");
    assert!(!status.contains(" D "), "no tracked file comes back deleted: {status}");
    assert!(status.contains(" M AGENCY.md"), "{status}");
}

#[test]
fn d1_archive_refs_are_never_moved_and_keep_a_reflog() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "twice");
    std::fs::write(worktree.join("first.txt"), "first\n").unwrap();
    env.agency(&repo, &["clean", "twice", "--yes"]).ok();
    let first = env.sh(&repo, &format!("git rev-parse refs/agency/archive/{run_id}"));
    env.agency(&repo, &["restore", &run_id]).ok();
    std::fs::write(worktree.join("second.txt"), "second\n").unwrap();
    env.agency(&repo, &["clean", "twice", "--yes"]).ok();
    assert_eq!(env.sh(&repo, &format!("git rev-parse refs/agency/archive/{run_id}")), first, "never moved");
    let meta = env.meta(&env.run_dir_of(&run_id));
    let newest = meta["archive"]["saved_ref"].as_str().unwrap().to_string();
    assert_eq!(newest, format!("refs/agency/archive/{run_id}-2"));
    assert_eq!(env.sh(&repo, &format!("git show {newest}:second.txt")), "second\n");
    let parents = env.sh(&repo, &format!("git log -1 --format=%P {newest}"));
    assert!(parents.contains(first.trim()), "the new snapshot descends from the old one: {parents}");
    assert!(!env.sh(&repo, &format!("git reflog show {newest}")).trim().is_empty(), "with a reflog");
}

#[test]
fn d2_commits_on_the_run_branch_survive_when_head_is_elsewhere() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "sw");
    env.sh(&worktree, "echo important > feature.txt && git add . && git commit -qm 'agent: important'");
    let important = env.sh(&worktree, "git rev-parse HEAD").trim().to_string();
    env.sh(&worktree, "git checkout -q -b scratch HEAD~1");
    env.agency(&repo, &["clean", "sw", "--yes"]).ok();
    let holders = env.sh(&repo, &format!("git for-each-ref --contains {important} --format='%(refname)'"));
    assert!(holders.contains("refs/agency/archive/"), "the branch's commit is kept: {holders}");
    env.agency(&repo, &["restore", &run_id]).ok();
    let branch = env.meta(&env.run_dir_of(&run_id))["branch"].as_str().unwrap().to_string();
    assert_eq!(env.sh(&repo, &format!("git rev-parse {branch}")).trim(), important, "the branch is back at its tip");
}

#[test]
fn d2_a_rebase_stopped_on_a_conflict_loses_no_commit() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "rb");
    env.sh(&worktree, "echo mine > conflict.txt && git add . && git commit -qm c1");
    env.sh(&worktree, "echo two > second.txt && git add . && git commit -qm c2");
    let c2 = env.sh(&worktree, "git rev-parse HEAD").trim().to_string();
    env.sh(&repo, "echo theirs > conflict.txt && git add . && git commit -qm main-side");
    let rebase = env.command("git", &worktree).args(["rebase", "main"]).output().unwrap();
    assert!(!rebase.status.success(), "the rebase stops on the conflict");
    env.agency(&repo, &["clean", "rb", "--yes"]).ok();
    let holders = env.sh(&repo, &format!("git for-each-ref --contains {c2} --format='%(refname)'"));
    assert!(holders.contains("refs/agency/archive/"), "c2 is kept: {holders}");
    env.agency(&repo, &["restore", &run_id]).ok();
    let branch = env.meta(&env.run_dir_of(&run_id))["branch"].as_str().unwrap().to_string();
    assert_eq!(env.sh(&repo, &format!("git show {branch}:second.txt")), "two\n");
}

#[test]
fn d3_ignored_files_nested_repositories_and_submodules_come_back() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    // A submodule committed in the repository.
    let sub = env.plain_repo("sub");
    env.sh(&repo, &format!("git -c protocol.file.allow=always submodule add -q {} dep", sub.display()));
    std::fs::write(repo.join(".gitignore"), ".agency/\n.env\nnode_modules/\n*.log\n").unwrap();
    env.commit_all(&repo, "submodule and ignores");
    let (run_id, worktree) = env.start_run(&repo, "ds");
    std::fs::write(worktree.join(".env"), "SECRET=1\n").unwrap();
    std::fs::create_dir(worktree.join("node_modules")).unwrap();
    std::fs::write(worktree.join("node_modules/x.js"), "x\n").unwrap();
    std::fs::write(worktree.join("run.log"), "log\n").unwrap();
    env.sh(&worktree, &format!("git clone -q {} cloned-dep", sub.display()));
    env.sh(&worktree.join("cloned-dep"), "echo local > local.txt && git add . && git commit -qm local-commit");
    std::fs::write(worktree.join("cloned-dep/wip.txt"), "wip in clone\n").unwrap();
    env.sh(&worktree, "git -c protocol.file.allow=always submodule update -q --init");
    env.sh(&worktree.join("dep"), "echo sub > sub-local.txt && git add . && git commit -qm sub-commit");
    std::fs::write(worktree.join("dep/sub-wip.txt"), "sub wip\n").unwrap();

    let out = env.agency(&repo, &["clean", "ds", "--yes"]);
    out.ok();
    env.agency(&repo, &["restore", &run_id]).ok();
    let read = |p: &str| std::fs::read_to_string(worktree.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(read(".env"), "SECRET=1\n");
    assert_eq!(read("node_modules/x.js"), "x\n");
    assert_eq!(read("run.log"), "log\n");
    assert_eq!(read("cloned-dep/wip.txt"), "wip in clone\n");
    assert_eq!(env.sh(&worktree.join("cloned-dep"), "git log -1 --format=%s").trim(), "local-commit");
    assert_eq!(read("dep/sub-wip.txt"), "sub wip\n");
    assert_eq!(env.sh(&worktree.join("dep"), "git log -1 --format=%s").trim(), "sub-commit");
}

#[test]
fn d3_what_cannot_be_saved_is_named_before_anything_is_deleted() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    std::fs::write(repo.join(".gitignore"), ".agency/\nnode_modules/\n").unwrap();
    env.commit_all(&repo, "ignore node_modules");
    let (run_id, worktree) = env.start_run(&repo, "big");
    std::fs::create_dir(worktree.join("node_modules")).unwrap();
    std::fs::write(worktree.join("node_modules/blob.bin"), vec![7u8; 64 * 1024]).unwrap();
    let small = [("AGENCY_ARCHIVE_LIMIT", "16KiB")];
    let err = env.agency_with(&repo, &["clean", "big", "--yes"], &small).err("E_UNSAVED_WORK").to_string();
    assert!(err.contains("node_modules") && err.contains("--force"), "{err}");
    assert!(worktree.join("node_modules/blob.bin").exists(), "a refused clean deletes nothing");
    assert!(env.meta(&env.run_dir_of(&run_id))["archive"]["archived_at"].is_null());

    env.agency_with(&repo, &["clean", "big", "--yes", "--force"], &small).ok();
    let unsaved = env.meta(&env.run_dir_of(&run_id))["archive"]["unsaved"].to_string();
    assert!(unsaved.contains("node_modules"), "the record names what was deleted unsaved: {unsaved}");
}

#[test]
fn d4_repair_never_kills_the_session_of_a_record_it_cannot_read() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (id1, _) = env.start_run(&repo, "live1");
    let (id2, _) = env.start_run(&repo, "live2");
    let (dir1, dir2) = (env.run_dir_of(&id1), env.run_dir_of(&id2));
    assert!(session_alive(&env, &dir1) && session_alive(&env, &dir2));
    let session1 = env.meta(&dir1)["tmux_session_name"].as_str().unwrap().to_string();
    let session2 = env.meta(&dir2)["tmux_session_name"].as_str().unwrap().to_string();
    let meta1 = std::fs::read(dir1.join("meta.json")).unwrap();
    std::fs::write(dir1.join("meta.json"), &meta1[..100]).unwrap();
    let newer = std::fs::read_to_string(dir2.join("meta.json")).unwrap().replace("\"1.0\"", "\"2.0\"");
    std::fs::write(dir2.join("meta.json"), newer).unwrap();

    let report = env.agency(&repo, &["repair", "--json"]).json();
    for session in [&session1, &session2] {
        assert!(env.tmux(&["has-session", "-t", &format!("={session}")]).status.success(), "{session} survived");
    }
    let findings = report["findings"].as_array().unwrap();
    let broken: Vec<_> = findings.iter().filter(|f| f["kind"] == "broken_record").collect();
    assert_eq!(broken.len(), 2, "{report:#}");
    for finding in broken {
        assert!(finding["result"].as_str().unwrap().starts_with("action required"), "{finding}");
    }
    assert!(!findings.iter().any(|f| f["kind"] == "orphan_session"), "{report:#}");
}

#[test]
fn d5_a_worktree_left_locked_initializing_is_made_again_or_removed() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let out = env.agency_with(&repo, &["run", "--detached", "--name", "bk"], &[("AGENCY_TEST_ABORT_AFTER", "meta")]);
    assert_ne!(out.code, 0);
    let worktree = PathBuf::from(env.meta(&env.run_dirs()[0])["worktree_path"].as_str().unwrap());
    // What git leaves when it is killed in `worktree add`: locked, no index, half the files.
    env.sh(&repo, &format!("git worktree lock --reason initializing {}", worktree.display()));
    let git_dir = env.sh(&worktree, "git rev-parse --absolute-git-dir").trim().to_string();
    std::fs::remove_file(Path::new(&git_dir).join("index")).unwrap();
    std::fs::remove_file(worktree.join("README.md")).unwrap();

    let dry = env.agency(&repo, &["repair", "--dry-run", "--json"]).json();
    assert!(dry["findings"].as_array().unwrap().iter().any(|f| f["kind"] == "half_made_worktree"), "{dry:#}");
    env.agency(&repo, &["resume", "bk", "--detached"]).err("E_RUN_BROKEN");
    env.agency(&repo, &["repair"]).ok();
    assert!(!worktree.exists(), "the half-made checkout is gone");
    let ls = env.agency(&repo, &["ls", "--all", "--json"]).json();
    assert!(ls["runs"][0]["status"]["label"].as_str().unwrap().starts_with("failed"), "{ls:#}");
    env.agency(&repo, &["clean", "bk", "--yes"]).ok();
    env.assert_consistent(&repo);
}

#[test]
fn d6_an_interrupted_restore_and_a_leftover_directory_never_block_a_restore() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "rk");
    std::fs::write(worktree.join("w.txt"), "w\n").unwrap();
    env.agency(&repo, &["clean", "rk", "--yes"]).ok();
    // Interrupted right after the worktree came back, before the files did.
    let out = env.agency_with(&repo, &["restore", &run_id], &[("AGENCY_TEST_ABORT_AFTER", "restore_worktree")]);
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(worktree.exists());
    env.agency(&repo, &["restore", &run_id]).ok();
    assert_eq!(std::fs::read_to_string(worktree.join("w.txt")).unwrap(), "w\n");

    // A directory in the way (an agent recreated it) is moved aside and named, never deleted.
    env.agency(&repo, &["clean", "rk", "--yes"]).ok();
    std::fs::create_dir_all(&worktree).unwrap();
    std::fs::write(worktree.join("stray.txt"), "stray\n").unwrap();
    let out = env.agency(&repo, &["restore", &run_id]);
    out.ok();
    assert!(out.stderr.contains("moved to"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(worktree.join("w.txt")).unwrap(), "w\n");
    let aside: Vec<PathBuf> = std::fs::read_dir(worktree.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("leftover"))
        .collect();
    assert_eq!(std::fs::read_to_string(aside[0].join("stray.txt")).unwrap(), "stray\n");
}

#[test]
fn d7_a_name_never_acts_on_another_repositorys_run() {
    let env = TestEnv::new();
    let repo_a = env.repo("a");
    let repo_b = env.repo("b");
    env.start_run(&repo_a, "fix");
    env.agency(&repo_a, &["clean", "fix", "--yes"]).ok();
    let (id_b, _) = env.start_run(&repo_b, "fix");
    env.agency(&repo_a, &["clean", "fix", "--yes"]).err("E_RUN_ARCHIVED");
    env.agency(&repo_a, &["kill", "fix"]).err("E_RUN_ARCHIVED");
    assert!(session_alive(&env, &env.run_dir_of(&id_b)), "repo B's agent is untouched");
    assert!(env.meta(&env.run_dir_of(&id_b))["archive"]["archived_at"].is_null());
    // By its full id it can be named from anywhere.
    env.agency(&repo_a, &["show", &id_b]).ok();
}

#[test]
fn d8_a_dead_tmux_variable_does_not_hide_or_spare_the_session() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, _) = env.start_run(&repo, "f2");
    let run_dir = env.run_dir_of(&run_id);
    let dead = format!("{}/nonexistent/sock,1,0", env.root().display());
    let ls = env.agency_with(&repo, &["ls", "--json"], &[("TMUX", &dead)]).json();
    assert_eq!(ls["runs"][0]["status"]["runtime"], "session_alive", "{ls:#}");
    env.agency_with(&repo, &["clean", "f2", "--yes"], &[("TMUX", &dead)]).ok();
    assert!(!session_alive(&env, &run_dir), "clean ended the agent on the run's own server");
}

#[test]
fn d8_a_missing_tmux_is_an_error_and_nothing_is_deleted() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "nt");
    let run_dir = env.run_dir_of(&run_id);
    // A PATH with git but no tmux.
    let only_git = env.root().join("only-git");
    std::fs::create_dir(&only_git).unwrap();
    std::os::unix::fs::symlink(real_git(), only_git.join("git")).unwrap();
    let path = [("PATH", only_git.to_str().unwrap())];
    let err = env.agency_with(&repo, &["clean", "nt", "--yes"], &path).err("E_TOOL_NOT_FOUND").to_string();
    assert!(err.contains("tmux"), "{err}");
    assert!(worktree.is_dir() && session_alive(&env, &run_dir), "nothing removed, the agent is untouched");
    let ls = env.agency_with(&repo, &["ls", "--json"], &path).json();
    let label = ls["runs"][0]["status"]["label"].as_str().unwrap().to_string();
    assert_eq!(label, "tmux unavailable", "{ls:#}");
}

#[test]
fn d9_a_moved_checkout_keeps_its_runs() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, _) = env.start_run(&repo, "mv");
    let moved = env.root().join("r-renamed");
    std::fs::rename(&repo, &moved).unwrap();
    let ls = env.agency(&moved, &["ls", "--json"]).json();
    assert_eq!(ls["runs"][0]["run_id"], run_id.as_str(), "the runs follow the checkout: {ls:#}");
    let err = env.agency(&moved, &["verify", "mv"]).err("E_WORKTREE_UNTRUSTED").to_string();
    assert!(err.contains("moved"), "says what happened: {err}");
    let dry = env.agency(&moved, &["repair", "--dry-run", "--json"]).json();
    assert!(dry["findings"].as_array().unwrap().iter().any(|f| f["kind"] == "repository_moved"), "{dry:#}");
    env.agency(&moved, &["repair"]).ok();
    env.agency(&moved, &["clean", "mv", "--yes"]).ok();
    env.assert_consistent(&moved);
}

#[test]
fn d9_two_clones_of_one_github_repository_keep_their_runs_apart() {
    let env = TestEnv::new();
    let clone_a = env.repo("a");
    let url = "https://github.com/acme/widgets.git";
    env.sh(&clone_a, &format!("git remote add origin {url}"));
    let clone_b = env.root().join("b");
    env.sh(&env.root(), &format!("git clone -q {} {}", clone_a.display(), clone_b.display()));
    env.sh(&clone_b, &format!("git remote set-url origin {url}"));

    let (id_a, worktree_a) = env.start_run(&clone_a, "froma");
    std::fs::write(worktree_a.join("u.txt"), "u\n").unwrap();
    env.agency(&clone_a, &["clean", "froma", "--yes"]).ok();
    env.start_run(&clone_b, "fromb");
    let ls_b = env.agency(&clone_b, &["ls", "--all", "--json"]).json();
    let names: Vec<_> = ls_b["runs"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["fromb"], "clone B sees only its own runs");
    env.agency(&clone_a, &["restore", "froma"]).ok();
    assert_eq!(std::fs::read_to_string(worktree_a.join("u.txt")).unwrap(), "u\n");
    let ls_a = env.agency(&clone_a, &["ls", "--json"]).json();
    assert_eq!(ls_a["runs"][0]["run_id"], id_a.as_str());
    // The same key, kept apart: the second clone's key names it.
    let key_a = env.agency(&clone_a, &["doctor"]).value("repo_key").unwrap();
    let key_b = env.agency(&clone_b, &["doctor"]).value("repo_key").unwrap();
    assert_eq!(key_a, "github:acme/widgets");
    assert!(key_b.starts_with("github:acme/widgets#"), "{key_b}");
}

#[test]
fn d10_a_missing_setup_script_fails_the_gate() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    std::fs::write(repo.join("agency.json"), r#"{"version":1,"scripts":{"setup":{"path":"nope.sh"}}}"#).unwrap();
    env.commit_all(&repo, "missing script");
    let err = env.agency(&repo, &["run", "--detached", "--name", "m1"]).err("E_INVALID_AGENCY_JSON").to_string();
    assert!(err.contains("scripts.setup.path") && err.contains("nope.sh"), "{err}");
    assert!(env.run_dirs().is_empty(), "a failed gate creates nothing");
}

#[test]
fn d11_the_restore_command_clean_prints_works() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, _) = env.start_run(&repo, "fix");
    let out = env.agency(&repo, &["clean", "fix", "--yes"]);
    assert_eq!(out.value("restore"), Some(format!("agency restore {run_id}")));
    env.agency(&repo, &["restore", "fix"]).ok();
}

#[test]
fn d12_one_operation_on_a_run_at_a_time() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "x");
    std::fs::write(worktree.join("w.txt"), "w\n").unwrap();
    let outputs = |args: &[&str], n: usize| -> Vec<std::process::Output> {
        let children: Vec<_> = (0..n)
            .map(|_| {
                env.command(agency_bin(), &repo)
                    .args(args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        children.into_iter().map(|c| c.wait_with_output().unwrap()).collect()
    };
    let codes_of = |outs: &[std::process::Output]| -> Vec<String> {
        outs.iter()
            .map(|o| match o.status.success() {
                true => "ok".to_string(),
                false => String::from_utf8_lossy(&o.stderr).lines().next().unwrap_or_default().to_string(),
            })
            .collect()
    };
    let cleans = codes_of(&outputs(&["clean", &run_id, "--yes"], 3));
    assert_eq!(cleans.iter().filter(|c| *c == "ok").count(), 1, "{cleans:?}");
    assert!(cleans.iter().all(|c| c == "ok" || c == "error_code: E_RUN_ARCHIVED"), "{cleans:?}");
    let restores = codes_of(&outputs(&["restore", &run_id], 4));
    assert_eq!(restores.iter().filter(|c| *c == "ok").count(), 1, "{restores:?}");
    assert!(restores.iter().all(|c| c == "ok" || c == "error_code: E_NOT_ARCHIVED"), "{restores:?}");
    assert_eq!(std::fs::read_to_string(worktree.join("w.txt")).unwrap(), "w\n");
    let resumes = outputs(&["resume", &run_id, "--detached"], 4);
    assert!(resumes.iter().all(|o| o.status.success()), "{:?}", codes_of(&resumes));
    let started = resumes.iter().filter(|o| String::from_utf8_lossy(&o.stdout).contains("(started)")).count();
    assert_eq!(started, 1, "one resume started the session, the others found it running");
    env.assert_consistent(&repo);
}

#[test]
fn d12_repair_waits_for_a_run_being_created() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.setup_script(&repo, "#!/bin/sh\nsleep 2\n");
    let mut run = spawn_agency(&env, &repo, &["run", "--detached", "--name", "slow"]);
    wait_until("the run dir", 20, || env.run_dirs().first().cloned().ok_or("none"));
    let report = env.agency(&repo, &["repair", "--json"]).json();
    for finding in report["findings"].as_array().unwrap() {
        assert!(
            finding["result"].as_str().unwrap().starts_with("skipped"),
            "a run being created is left alone: {finding}"
        );
    }
    assert!(run.wait().unwrap().success());
    env.assert_consistent(&repo);
}

#[test]
fn d13_one_bad_byte_or_a_torn_append_costs_one_event() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let out = env.agency(&repo, &["run", "--detached", "--name", "uni", "--title", "Fix the café — 日本語"]);
    out.ok();
    let run_dir = env.run_dirs()[0].clone();
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(run_dir.join("events.jsonl"))
        .unwrap()
        .write_all(b"{\"event\":\"x\",\"data\":{\"m\":\"\xe6\x97")
        .unwrap();
    env.agency(&repo, &["kill", "uni"]).ok();
    let show = env.agency(&repo, &["show", "uni", "--json"]).json();
    assert_eq!(show["unreadable_event_lines"], 1, "{show:#}");
    let events: Vec<_> = show["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"session_killed"), "the append after the torn line is kept: {events:?}");
    assert!(events.contains(&"session_started"), "{events:?}");
}

#[test]
fn d14_resume_finishes_an_interrupted_run_and_repair_remembers_the_session() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.setup_script(&repo, "#!/bin/sh\necho set-up > set-up.txt\n");
    let out = env.agency_with(&repo, &["run", "--detached", "--name", "half"], &[("AGENCY_TEST_ABORT_AFTER", "meta")]);
    assert_ne!(out.code, 0);
    let run_dir = env.run_dirs()[0].clone();
    let worktree = PathBuf::from(env.meta(&run_dir)["worktree_path"].as_str().unwrap());
    env.agency(&repo, &["resume", "half", "--detached"]).ok();
    assert!(worktree.join(".agency/PROTOCOL.md").exists(), "the scaffold was made");
    assert!(worktree.join("set-up.txt").exists(), "setup ran before the agent");

    let (run_id, _) = env.start_run(&repo, "lost");
    let lost_dir = env.run_dir_of(&run_id);
    let before = env.meta(&lost_dir);
    std::fs::remove_file(lost_dir.join("meta.json")).unwrap();
    env.agency(&repo, &["repair"]).ok();
    let rebuilt = env.meta(&lost_dir);
    for field in ["tmux_session_name", "base_commit", "port_base", "tmux_socket"] {
        assert_eq!(rebuilt[field], before[field], "{field} is rebuilt from the events");
    }
    let ls = env.agency(&repo, &["ls", "--json"]).json();
    let lost = ls["runs"].as_array().unwrap().iter().find(|r| r["name"] == "lost").unwrap().clone();
    assert_eq!(lost["status"]["runtime"], "session_alive", "{lost:#}");
}

#[test]
fn d15_one_repair_archives_a_vanished_worktree_and_ends_its_session() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "gone");
    let run_dir = env.run_dir_of(&run_id);
    std::fs::remove_dir_all(&worktree).unwrap();
    env.agency(&repo, &["repair"]).ok();
    assert!(env.meta(&run_dir)["archive"]["archived_at"].is_string());
    assert!(!session_alive(&env, &run_dir), "one pass is enough");
    env.assert_consistent(&repo);
}

#[test]
fn d17_a_byte_order_mark_is_accepted() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let config = std::fs::read_to_string(repo.join("agency.json")).unwrap();
    std::fs::write(repo.join("agency.json"), format!("\u{feff}{config}")).unwrap();
    env.commit_all(&repo, "bom");
    env.write_user_config("\u{feff}{\"version\": 1, \"defaults\": {\"runner\": \"shell\"}}");
    env.agency(&repo, &["doctor"]).ok();
    env.start_run(&repo, "bom");
}

#[test]
fn d18_copy_files_paths_are_checked_at_the_gate() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    for bad in ["../../etc/passwd", "/etc/passwd"] {
        let config =
            format!(r#"{{"version":1,"steps":{{"setup":[{{"plugin":"copy-files","params":{{"files":"{bad}"}}}}]}}}}"#);
        std::fs::write(repo.join("agency.json"), config).unwrap();
        env.commit_all(&repo, "copy");
        let err = env.agency(&repo, &["run", "--detached"]).err("E_INVALID_AGENCY_JSON").to_string();
        assert!(err.contains("steps.setup[0].params.files"), "{err}");
        assert!(env.run_dirs().is_empty(), "{bad}: nothing created");
    }
}

#[test]
fn d19_a_parent_that_is_not_a_branch_gets_a_sensible_hint() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.sh(&repo, "git tag v1");
    let err = env.agency(&repo, &["run", "--parent", "v1"]).err("E_PARENT_BRANCH_NOT_FOUND").to_string();
    assert!(err.contains("is a tag") && err.contains("git branch <name> v1"), "{err}");
    let err = env.agency(&repo, &["run", "--parent", "HEAD~1"]).err("E_PARENT_BRANCH_NOT_FOUND").to_string();
    assert!(!err.contains("origin/HEAD~1"), "{err}");
}

#[test]
fn d20_one_line_outputs_stay_one_line() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--detached", "--name", "esc", "--title", "line one\nline two \x1b[31mred"]).ok();
    let show = env.agency(&repo, &["show", "esc"]);
    show.ok();
    assert!(!show.stdout.contains('\x1b'), "no escape reaches the terminal");
    let title = show.stdout.lines().find(|l| l.starts_with("title:")).unwrap();
    assert!(title.contains("line one") && title.contains("line two"), "one line: {title}");
    // A multi-line failure reason stays on its row.
    env.agency(&repo, &["kill", "esc"]).ok();
    let run_dir = env.run_dirs()[0].clone();
    env.edit_meta(&run_dir, |meta| {
        meta["pipeline"] = serde_json::json!({"failed_step": "worktree", "error_code": "E_WORKTREE_CREATE_FAILED",
            "error_message": "fatal: one\nfatal: two\nfatal: three"});
    });
    let ls = env.agency(&repo, &["ls"]);
    assert_eq!(ls.ok().lines().count(), 2, "header and one row: {}", ls.stdout);
}

#[test]
fn d21_bare_repositories_and_newlines_in_paths() {
    let env = TestEnv::new();
    let bare = env.root().join("bare.git");
    env.sh(&env.root(), &format!("git init -q --bare {}", bare.display()));
    let err = env.agency(&bare, &["run"]).err("E_NO_REPO").to_string();
    assert!(err.contains("bare repository"), "{err}");
    let odd = env.plain_repo("odd\nname");
    env.agency(&odd, &["init"]).ok();
    env.commit_all(&odd, "init");
    env.start_run(&odd, "nl");
    let dry = env.agency(&odd, &["repair", "--dry-run", "--json"]).json();
    assert!(dry["findings"].as_array().unwrap().is_empty(), "no false findings: {dry:#}");
}

#[test]
fn d22_special_files_never_hang_a_command() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, _) = env.start_run(&repo, "fifo");
    let meta = env.run_dir_of(&run_id).join("meta.json");
    std::fs::remove_file(&meta).unwrap();
    let c = std::ffi::CString::new(meta.to_str().unwrap()).unwrap();
    // SAFETY: plain libc call with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let ls = env.agency(&repo, &["ls"]);
    assert!(ls.ok().contains("broken"), "{}", ls.stdout);
    std::fs::remove_file(env.config.join("config.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", env.config.join("config.json")).unwrap();
    env.agency(&repo, &["ls"]).err("E_INVALID_USER_CONFIG");
}

#[test]
fn d23_bad_environment_values_are_errors() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let err = env
        .agency_with(&repo, &["run", "--detached"], &[("AGENCY_LOCK_TIMEOUT", "abc")])
        .err("E_INVALID_ENV")
        .to_string();
    assert!(err.contains("AGENCY_LOCK_TIMEOUT"), "{err}");
    let err = env.agency_with(&repo, &["ls"], &[("AGENCY_DATA_DIR", "reldata")]).err("E_INVALID_ENV").to_string();
    assert!(err.contains("absolute"), "{err}");
    assert!(!repo.join("reldata").exists());
    let file = repo.join("README.md");
    env.agency(&repo, &["-C", file.to_str().unwrap(), "ls"]).err("E_USAGE");
}

#[test]
fn d24_a_flood_of_setup_output_is_capped() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.setup_script(&repo, "#!/bin/sh\nhead -c 48000000 /dev/zero | tr '\\0' x\n");
    env.start_run(&repo, "flood");
    let log = env.run_dirs()[0].join("logs/setup.log");
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size <= 33 << 20, "setup.log is capped, got {size} bytes");
}

#[test]
fn d25_the_staged_and_unstaged_split_comes_back() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "split");
    std::fs::write(worktree.join("README.md"), "staged version\n").unwrap();
    env.sh(&worktree, "git add README.md");
    std::fs::write(worktree.join("README.md"), "working version\n").unwrap();
    std::fs::write(worktree.join("new.txt"), "staged new file\n").unwrap();
    env.sh(&worktree, "git add new.txt");
    let before = env.sh(&worktree, "git status --porcelain");
    env.agency(&repo, &["clean", "split", "--yes"]).ok();
    env.agency(&repo, &["restore", &run_id]).ok();
    assert_eq!(env.sh(&worktree, "git status --porcelain"), before);
    assert_eq!(env.sh(&worktree, "git show :README.md"), "staged version\n");
    assert_eq!(std::fs::read_to_string(worktree.join("README.md")).unwrap(), "working version\n");
}

/// Found by the crash campaign: a `git status` that a killed agency left running holds the
/// index lock while the next `clean` saves; the staged split must still be saved (from a copy
/// of the index), never silently dropped.
#[test]
fn d25_a_held_index_lock_does_not_drop_the_staged_split() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, worktree) = env.start_run(&repo, "locked");
    std::fs::write(worktree.join("README.md"), "staged version\n").unwrap();
    env.sh(&worktree, "git add README.md");
    std::fs::write(worktree.join("README.md"), "working version\n").unwrap();
    let before = env.sh(&worktree, "git status --porcelain");
    let git_dir = env.sh(&worktree, "git rev-parse --absolute-git-dir").trim().to_string();
    std::fs::write(Path::new(&git_dir).join("index.lock"), "").unwrap();
    env.agency(&repo, &["clean", "locked", "--yes"]).ok();
    env.agency(&repo, &["restore", &run_id]).ok();
    assert_eq!(env.sh(&worktree, "git show :README.md"), "staged version\n");
    assert_eq!(std::fs::read_to_string(worktree.join("README.md")).unwrap(), "working version\n");
    assert_eq!(env.sh(&worktree, "git status --porcelain"), before);
}

/// Found by the crash campaign: `kill -9` while `clean` deletes the run branch kills git too,
/// and the ref lock it held stays; git never removes such a lock, so every later `clean` failed
/// with E_GIT_FAILED. A lock that outlives any git operation is removed and the clean finishes.
#[test]
fn d26_a_ref_lock_left_by_a_killed_git_does_not_block_clean_forever() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, _worktree) = env.start_run(&repo, "locked-ref");
    let branch = env.meta(&env.run_dir_of(&run_id))["branch"].as_str().unwrap().to_string();
    // The run branch's lock (killed during `branch -D`) and the archive ref's (killed during
    // `update-ref`), both left a minute ago.
    let locks = [
        repo.join(".git/refs/heads").join(format!("{branch}.lock")),
        repo.join(".git/refs/agency/archive").join(format!("{run_id}.lock")),
    ];
    for lock in &locks {
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        std::fs::write(lock, "").unwrap();
        env.sh(&repo, &format!("touch -d '-1 minute' '{}'", lock.display()));
    }
    env.agency(&repo, &["clean", "locked-ref", "--yes"]).ok();
    assert!(locks.iter().all(|l| !l.exists()), "the stale locks are gone");
    assert_eq!(
        env.meta(&env.run_dir_of(&run_id))["archive"]["saved_ref"],
        format!("refs/agency/archive/{run_id}"),
        "the work went to its own archive ref"
    );
    assert_eq!(env.sh(&repo, &format!("git branch --list '{branch}'")), "", "the branch was deleted");
    assert!(env.meta(&env.run_dir_of(&run_id))["archive"]["archived_at"].is_string());
}
