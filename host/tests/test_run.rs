//! `agency run` up to a ready worktree: the record (every meta.json field), events for each
//! step, the worktree on its branch, the `.agency/` scaffold, and derived names.

use std::path::PathBuf;

use crate::common::TestEnv;

#[test]
fn run_creates_worktree_record_events_and_scaffold() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let out = env.agency(&repo, &["run", "--detached", "--name", "feat", "--title", "Add the feature"]);
    out.ok();
    let run_id = out.value("run_id").unwrap();
    let worktree = PathBuf::from(out.value("worktree").unwrap());
    let run_dirs = env.run_dirs();
    assert_eq!(run_dirs.len(), 1);
    let run_dir = &run_dirs[0];
    assert!(run_dir.ends_with(&run_id));
    assert!(run_dir.join("logs").is_dir());

    let meta = env.meta(run_dir);
    assert_eq!(meta["schema_version"], "1.0");
    assert_eq!(meta["run_id"], run_id.as_str());
    assert_eq!(meta["name"], "feat");
    assert_eq!(meta["title"], "Add the feature");
    assert_eq!(meta["runner"], "shell");
    assert_eq!(meta["parent_branch"], "main");
    let short = run_id.rsplit('-').next().unwrap();
    assert_eq!(meta["branch"], format!("agency/feat-{short}"));
    assert_eq!(meta["worktree_path"], worktree.display().to_string());
    assert_eq!(meta["repo_id"].as_str().unwrap().len(), 16);
    assert!(meta["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(meta.get("runner_cmd").is_some());
    // run_id = <UTC yyyymmddhhmmss>-<4 hex>
    let (stamp, hex) = run_id.split_once('-').unwrap();
    assert!(stamp.len() == 14 && stamp.chars().all(|c| c.is_ascii_digit()), "{run_id}");
    assert!(hex.len() == 4 && hex.chars().all(|c| c.is_ascii_hexdigit()), "{run_id}");

    // The worktree is on the run's branch, from the parent.
    assert_eq!(env.sh(&worktree, "git rev-parse --abbrev-ref HEAD").trim(), format!("agency/feat-{short}"));
    assert_eq!(env.sh(&worktree, "git rev-parse HEAD"), env.sh(&repo, "git rev-parse main"));
    for path in [
        ".agency/out",
        ".agency/tmp",
        ".agency/state",
        ".agency/report.md",
        ".agency/PROTOCOL.md",
        ".agency/state/runner_status.json",
    ] {
        assert!(worktree.join(path).exists(), "{path}");
    }
    assert_eq!(env.sh(&worktree, "git status --porcelain"), "", "the scaffold is not a change");

    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let parsed: Vec<serde_json::Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed[0]["event"], "run_started");
    let steps: Vec<&str> =
        parsed.iter().filter(|e| e["event"] == "step_finished").map(|e| e["data"]["step"].as_str().unwrap()).collect();
    for step in ["gates", "identity", "run_dir", "worktree", "meta", "scaffold"] {
        assert!(steps.contains(&step), "missing step {step} in {steps:?}");
    }
    for e in &parsed {
        assert_eq!(e["schema_version"], "1.0");
        assert_eq!(e["run_id"], run_id.as_str());
        assert_eq!(e["repo_id"], meta["repo_id"]);
    }

    // repo records exist after a run
    let repo_id = meta["repo_id"].as_str().unwrap();
    assert!(env.data.join("repos").join(repo_id).join("repo.json").is_file());
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.data.join("repo_index.json")).unwrap()).unwrap();
    assert!(index["repos"].as_object().unwrap().values().any(|v| v["repo_id"] == repo_id));
}

#[test]
fn title_defaults_to_name_and_name_derives_from_title() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let named = env.agency(&repo, &["run", "--detached", "--name", "plain"]);
    let meta = env.meta(&env.run_dirs()[0]);
    assert_eq!(meta["title"], "plain");
    named.ok();

    let from_title = env.agency(&repo, &["run", "--detached", "--title", "Fix the Login Bug!"]);
    assert_eq!(from_title.value("name").as_deref(), Some("fix-the-login-bug"));
    // The same title again gets the short id appended instead of failing.
    let again = env.agency(&repo, &["run", "--detached", "--title", "Fix the Login Bug!"]);
    let name = again.value("name").unwrap();
    assert!(name.starts_with("fix-the-login-bug-") && name.len() == "fix-the-login-bug-".len() + 4, "{name}");
    let anonymous = env.agency(&repo, &["run", "--detached"]);
    assert!(anonymous.value("name").unwrap().starts_with("run-"));
}

#[test]
fn ls_and_show_report_a_run_interrupted_after_the_scaffold() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    // The process dies right after the scaffold step (test builds only).
    let out =
        env.agency_with(&repo, &["run", "--detached", "--name", "one"], &[("AGENCY_TEST_ABORT_AFTER", "scaffold")]);
    assert_ne!(out.code, 0);
    let ls = env.agency(&repo, &["ls"]);
    let line = ls.ok().lines().find(|l| l.starts_with("one ")).unwrap().to_string();
    assert!(line.contains("created, not started") && line.contains("scaffold"), "{line}");
    let json = env.agency(&repo, &["ls", "--json"]).json();
    assert_eq!(json["schema_version"], "1.0");
    assert_eq!(json["runs"][0]["name"], "one");
    assert_eq!(json["runs"][0]["status"]["runtime"], "not_started");
    let show = env.agency(&repo, &["show", "one", "--json"]).json();
    assert_eq!(show["run"]["name"], "one");
    assert!(show["events"].as_array().unwrap().len() >= 6);
    env.assert_records_intact();
}

#[test]
fn a_failed_worktree_leaves_an_explaining_record_and_frees_the_name() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--detached", "--name", "first"]).ok();
    let repo_id = env.meta(&env.run_dirs()[0])["repo_id"].as_str().unwrap().to_string();
    // Something already occupies the worktree path of the next run id.
    let run_id = "20260101000000-beef";
    let blocker = env.data.join("repos").join(&repo_id).join("worktrees").join(run_id);
    std::fs::create_dir_all(&blocker).unwrap();
    std::fs::write(blocker.join("squatter.txt"), "in the way").unwrap();
    let stderr = env
        .agency_with(&repo, &["run", "--detached", "--name", "second"], &[("AGENCY_TEST_RUN_ID", run_id)])
        .err("E_WORKTREE_CREATE_FAILED")
        .to_string();
    assert!(
        stderr.contains(" -C ") && stderr.contains("worktree add -b agency/second-beef"),
        "the exact git command: {stderr}"
    );
    assert!(stderr.contains("already exists"), "git's stderr: {stderr}");
    let meta = env.meta(&env.run_dir_of(run_id));
    assert_eq!(meta["pipeline"]["failed_step"], "worktree");
    assert_eq!(meta["pipeline"]["error_code"], "E_WORKTREE_CREATE_FAILED");
    let ls = env.agency(&repo, &["ls"]);
    assert!(ls.ok().lines().any(|l| l.starts_with("second ") && l.contains("failed: worktree")), "{}", ls.stdout);
    assert!(!env.branches(&repo).iter().any(|b| b.contains("second")), "no branch was left behind");
    // The name is free again: nothing of the failed run holds it.
    env.agency(&repo, &["run", "--detached", "--name", "second"]).ok();
}

#[test]
fn each_run_gets_its_own_port_block() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.setup_script(&repo, "#!/bin/sh\necho \"$AGENCY_PORT_BASE\" > \"$AGENCY_OUTPUT_DIR/port\"\n");
    let (a, wt_a) = env.start_run(&repo, "a");
    let (b, _) = env.start_run(&repo, "b");
    let port_a = env.meta(&env.run_dir_of(&a))["port_base"].as_u64().unwrap();
    let port_b = env.meta(&env.run_dir_of(&b))["port_base"].as_u64().unwrap();
    assert_ne!(port_a, port_b);
    assert_eq!(port_a % 10, 0);
    assert_eq!(
        std::fs::read_to_string(wt_a.join(".agency/out/port")).unwrap().trim(),
        port_a.to_string(),
        "setup sees AGENCY_PORT_BASE"
    );
    let session = env.meta(&env.run_dir_of(&a))["tmux_session_name"].as_str().unwrap().to_string();
    let shown = String::from_utf8_lossy(
        &env.tmux(&["show-environment", "-t", &format!("={session}"), "AGENCY_PORT_BASE"]).stdout,
    )
    .into_owned();
    assert_eq!(shown.trim(), format!("AGENCY_PORT_BASE={port_a}"), "the agent's session sees it too");
    // A freed block is reused.
    env.agency(&repo, &["clean", "a", "--yes"]).ok();
    let (c, _) = env.start_run(&repo, "c");
    assert_eq!(env.meta(&env.run_dir_of(&c))["port_base"].as_u64().unwrap(), port_a);
}

#[test]
fn a_parent_behind_origin_is_pointed_out() {
    let mut env = TestEnv::new();
    let (repo, bare) = env.github_repo("widgets");
    let other = env.root().join("other");
    env.sh(&env.root(), &format!("git clone -q {} {}", bare.display(), other.display()));
    env.sh(&other, "git commit -q --allow-empty -m 'newer upstream work' && git push -q origin main");
    env.sh(&repo, "git fetch -q origin");
    let out = env.agency(&repo, &["run", "--detached", "--name", "stale"]);
    out.ok();
    assert!(out.stderr.contains("`main` is 1 commit(s) behind origin/main"), "{}", out.stderr);
}

/// The worktree's files are written by one git process per core unless the user's git config
/// chose `checkout.workers`, and never by more than agency's bound: that config is shared with
/// the runs' worktrees, where an agent can write it (seen in git's own trace of the command).
#[test]
fn the_worktree_is_checked_out_in_parallel_unless_git_config_says_otherwise() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let worktree_add_argv = |name: &str| {
        let trace = env.dir.path().join(format!("trace-{name}.json"));
        env.agency_with(
            &repo,
            &["run", "--detached", "--name", name],
            &[("GIT_TRACE2_EVENT", trace.to_str().unwrap())],
        )
        .ok();
        let events = std::fs::read_to_string(&trace).unwrap();
        events
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["event"] == "start")
            .map(|e| e["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect::<Vec<_>>())
            .find(|argv| argv.windows(2).any(|w| w == ["worktree", "add"]))
            .expect("git worktree add was traced")
    };
    let workers = |argv: &[String]| {
        let chosen: Vec<&String> = argv.iter().filter(|a| a.starts_with("checkout.workers=")).collect();
        assert_eq!(chosen.len(), 1, "{argv:?}");
        chosen[0].clone()
    };
    assert_eq!(workers(&worktree_add_argv("parallel")), "checkout.workers=0");

    env.sh(&repo, "git config checkout.workers 1");
    assert_eq!(workers(&worktree_add_argv("configured")), "checkout.workers=1");

    // A value planted in the shared config starts no more processes than the bound.
    env.sh(&repo, "git config checkout.workers 100000");
    assert_eq!(workers(&worktree_add_argv("planted")), "checkout.workers=32");
}
