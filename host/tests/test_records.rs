//! Records as a public contract: broken runs are listed with their fix, temp files from a
//! crashed write are ignored, refs resolve by name → id → prefix, unknown fields survive, and a
//! data dir written by the original Go agency reads correctly.

use std::path::{Path, PathBuf};

use crate::common::TestEnv;

fn create(env: &TestEnv, repo: &Path, name: &str) -> (String, PathBuf) {
    let out = env.agency(repo, &["run", "--detached", "--name", name]);
    out.ok();
    let run_id = out.value("run_id").unwrap();
    let dir = env.run_dirs().into_iter().find(|d| d.ends_with(&run_id)).unwrap();
    (run_id, dir)
}

#[test]
fn corrupt_and_truncated_meta_show_as_broken_without_hiding_others() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (_, good_dir) = create(&env, &repo, "good");
    let (bad_id, bad_dir) = create(&env, &repo, "bad");
    let (gone_id, gone_dir) = create(&env, &repo, "gone");
    let text = std::fs::read_to_string(bad_dir.join("meta.json")).unwrap();
    std::fs::write(bad_dir.join("meta.json"), &text[..text.len() / 2]).unwrap();
    std::fs::remove_file(gone_dir.join("meta.json")).unwrap();

    let ls = env.agency(&repo, &["ls"]);
    let stdout = ls.ok();
    assert!(stdout.lines().any(|l| l.starts_with("good ") && !l.contains("broken")), "{stdout}");
    let bad_line = stdout.lines().find(|l| l.contains(&bad_id)).unwrap();
    assert!(bad_line.contains("broken") && bad_line.contains("agency repair"), "{bad_line}");
    assert!(stdout.lines().any(|l| l.contains(&gone_id) && l.contains("meta.json is missing")), "{stdout}");

    let json = env.agency(&repo, &["ls", "--json"]).json();
    let broken: Vec<_> = json["runs"].as_array().unwrap().iter().filter(|r| !r["broken"].is_null()).collect();
    assert_eq!(broken.len(), 2);

    env.agency(&repo, &["show", &bad_id]).err("E_RUN_BROKEN");
    env.agency(&repo, &["path", &bad_id]).err("E_RUN_BROKEN");
    env.agency(&repo, &["show", "good"]).ok();
    assert!(good_dir.exists());
}

#[test]
fn temp_file_left_by_a_crashed_write_is_ignored() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (run_id, dir) = create(&env, &repo, "one");
    std::fs::write(dir.join(".meta.json.tmp-4242-deadbeef"), "{\"schema_version\": \"1.0\", \"run_").unwrap();
    let runs = dir.parent().unwrap();
    std::fs::create_dir(runs.join(".partial-tmp")).unwrap();
    let json = env.agency(&repo, &["ls", "--json"]).json();
    assert_eq!(json["runs"].as_array().unwrap().len(), 1);
    assert_eq!(json["runs"][0]["run_id"], run_id.as_str());
    assert_eq!(env.agency(&repo, &["show", "one", "--json"]).json()["run"]["name"], "one");
}

#[test]
fn refs_resolve_by_name_then_id_then_unique_prefix() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (id_a, _) = create(&env, &repo, "alpha");
    let (id_b, _) = create(&env, &repo, "beta");
    let path_of = |r: &str| env.agency(&repo, &["path", r]).ok().trim().to_string();
    assert!(path_of("alpha").ends_with(&id_a));
    assert!(path_of(&id_b).ends_with(&id_b));
    let unique = &id_b[id_b.len() - 4..];
    let _ = unique;
    // A prefix long enough to be unique
    let mut prefix_len = 1;
    while id_a[..prefix_len] == id_b[..prefix_len] {
        prefix_len += 1;
    }
    assert!(path_of(&id_a[..prefix_len]).ends_with(&id_a));
    // The common prefix is ambiguous and lists both.
    let common = &id_a[..prefix_len - 1];
    if !common.is_empty() {
        let stderr = env.agency(&repo, &["show", common]).err("E_RUN_ID_AMBIGUOUS").to_string();
        assert!(stderr.contains(&id_a) && stderr.contains(&id_b), "{stderr}");
    }
    env.agency(&repo, &["show", "no-such-run"]).err("E_RUN_NOT_FOUND");
    // From outside the repo, ids still resolve (all repos are searched).
    assert!(env.agency(&env.root(), &["path", &id_a]).ok().trim().ends_with(&id_a));
    // A full run id is looked up directly, but a live run *named* like it still comes first,
    // inside the repository and from outside it, also when the name indexes are gone.
    let (id_c, _) = create(&env, &repo, &id_a);
    assert!(path_of(&id_a).ends_with(&id_c));
    assert!(env.agency(&env.root(), &["path", &id_a]).ok().trim().ends_with(&id_c));
    for index in env.run_dirs().iter().filter_map(|d| Some(d.parent()?.parent()?.join("names.json"))) {
        let _ = std::fs::remove_file(index);
    }
    assert!(env.agency(&env.root(), &["path", &id_a]).ok().trim().ends_with(&id_c));
    assert!(path_of(&id_b).ends_with(&id_b));
    // Once that run is archived, the id names its own run again.
    env.agency(&repo, &["clean", &id_c, "--yes"]).ok();
    assert!(path_of(&id_a).ends_with(&id_a));
}

/// `ls` without `--all` reads only the runs the name index lists as live: every way a run
/// becomes live or broken must still show, and an archived one must not.
#[test]
fn ls_of_live_runs_misses_none_through_the_name_index() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (kept, kept_dir) = create(&env, &repo, "kept");
    let (gone, _) = create(&env, &repo, "gone");
    env.agency(&repo, &["clean", "gone", "--yes"]).ok();
    let names = |all: bool| {
        let args: &[&str] = if all { &["ls", "--json", "--all"] } else { &["ls", "--json"] };
        let ls = env.agency(&repo, args).json();
        let mut names: Vec<String> = ls["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().map_or(format!("broken {}", r["run_id"]), str::to_string))
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(false), ["kept"]);
    assert_eq!(names(true), ["gone", "kept"]);

    // A record written behind agency's back (a copy, the Go agency) is listed.
    env.plant_record(&kept_dir, "20200101000000-f00d", "foreign");
    assert_eq!(names(false), ["foreign", "kept"]);

    // A live record damaged after the index was written shows as broken.
    std::fs::write(kept_dir.join("meta.json"), "{ damaged").unwrap();
    assert_eq!(names(false), ["broken \"".to_string() + &kept + "\"", "foreign".to_string()]);

    // A restored run is live again.
    env.agency(&repo, &["restore", &gone]).ok();
    assert!(names(false).contains(&"gone".to_string()));
}

#[test]
fn ambiguous_prefix_lists_candidates() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    create(&env, &repo, "one");
    create(&env, &repo, "two");
    // Both ids start with the year.
    let stderr = env.agency(&repo, &["show", "20"]).err("E_RUN_ID_AMBIGUOUS").to_string();
    assert!(stderr.contains("(one)") && stderr.contains("(two)"), "{stderr}");
}

#[test]
fn unknown_meta_fields_are_preserved_in_show_json() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (_, dir) = create(&env, &repo, "one");
    env.edit_meta(&dir, |meta| meta["written_by_a_newer_agency"] = serde_json::json!({"k": [1, 2]}));
    let show = env.agency(&repo, &["show", "one", "--json"]).json();
    assert_eq!(show["meta"]["written_by_a_newer_agency"]["k"][1], 2);
}

/// A data dir as the original Go agency wrote it: `title` but no `name`, `setup`, `flags`,
/// `archive`, `pr_*`, a runner_status.json in the worktree, and no events.jsonl.
#[test]
fn original_go_agency_records_read() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (_, dir) = create(&env, &repo, "seed");
    let repo_id = env.meta(&dir)["repo_id"].as_str().unwrap().to_string();
    let runs = env.data.join("repos").join(&repo_id).join("runs");
    let old_id = "20250101120000-a3f2";
    let old_dir = runs.join(old_id);
    std::fs::create_dir_all(old_dir.join("logs")).unwrap();
    let worktree = env.data.join("repos").join(&repo_id).join("worktrees").join(old_id);
    std::fs::create_dir_all(worktree.join(".agency/state")).unwrap();
    std::fs::write(
        worktree.join(".agency/state/runner_status.json"),
        r#"{"schema_version":"1.0","status":"needs_input","updated_at":"2025-01-01T12:05:00Z","summary":"Which DB?","questions":["Postgres or SQLite?"]}"#,
    )
    .unwrap();
    let meta = serde_json::json!({
        "schema_version": "1.0", "run_id": old_id, "repo_id": repo_id, "title": "Legacy Work",
        "runner": "claude", "runner_cmd": "claude", "parent_branch": "main", "branch": "agency/legacy-a3f2",
        "worktree_path": worktree.display().to_string(), "created_at": "2025-01-01T12:00:00Z",
        "tmux_session_name": format!("agency_{old_id}"),
        "flags": {"needs_attention": true, "needs_attention_reason": "verify_failed"},
        "setup": {"command": "sh -lc scripts/agency_setup.sh", "exit_code": 0, "duration_ms": 1200, "log_path": "/x/setup.log"},
        "pr_number": 12, "pr_url": "https://github.com/acme/widgets/pull/12", "last_push_at": "2025-01-01T13:00:00Z",
        "last_report_sync_at": "2025-01-01T13:00:00Z"
    });
    std::fs::write(old_dir.join("meta.json"), serde_json::to_vec_pretty(&meta).unwrap()).unwrap();

    let ls = env.agency(&repo, &["ls", "--json"]).json();
    let legacy = ls["runs"].as_array().unwrap().iter().find(|r| r["run_id"] == old_id).unwrap().clone();
    assert_eq!(legacy["name"], "legacy-work");
    assert_eq!(legacy["title"], "Legacy Work");
    assert_eq!(legacy["pr_url"], "https://github.com/acme/widgets/pull/12");
    assert!(legacy["broken"].is_null());
    assert_eq!(env.agency(&repo, &["path", old_id]).ok().trim(), worktree.display().to_string());
    assert_eq!(env.agency(&repo, &["path", "legacy-work"]).ok().trim(), worktree.display().to_string());
    let show = env.agency(&repo, &["show", "legacy-work", "--json"]).json();
    assert_eq!(show["meta"]["last_report_sync_at"], "2025-01-01T13:00:00Z");
    assert_eq!(show["events"].as_array().unwrap().len(), 0);
    env.agency(&repo, &["show", old_id]).ok();
}

/// A listing past the size where records are read and judged on several threads: every run
/// once, newest first, each with the status its record and its session give — the agent with a
/// live tmux session, runs never started, archived runs and damaged records alike.
#[test]
fn a_long_listing_keeps_every_run_in_order_with_its_status() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (live_id, _) = env.start_run(&repo, "live");
    let live_dir = env.run_dir_of(&live_id);
    let mut planted = Vec::new();
    for n in 0..90 {
        let id = format!("20200101{n:06}-{n:04x}");
        let dir = env.plant_record(&live_dir, &id, &format!("old-{n}"));
        let mut record = env.meta(&dir);
        record.as_object_mut().unwrap().remove("tmux_session_name");
        record.as_object_mut().unwrap().remove("tmux_socket");
        let kind = match n % 10 {
            0 => "broken",
            1 | 4 | 7 => "archived",
            _ => "not started",
        };
        if kind == "archived" {
            record["archive"] = serde_json::json!({"archived_at": "2020-01-02T00:00:00Z"});
        }
        let text = if kind == "broken" { "{ damaged".to_string() } else { record.to_string() };
        std::fs::write(dir.join("meta.json"), text).unwrap();
        planted.push((id, kind));
    }

    let check = |all: bool| {
        let args: &[&str] = if all { &["ls", "--json", "--all"] } else { &["ls", "--json"] };
        let ls = env.agency(&repo, args).json();
        let runs = ls["runs"].as_array().unwrap();
        let mut expected: Vec<(&str, &str)> = planted
            .iter()
            .filter(|(_, kind)| all || *kind != "archived")
            .map(|(id, kind)| (id.as_str(), *kind))
            .collect();
        expected.push((live_id.as_str(), "live"));
        expected.sort_by(|a, b| b.0.cmp(a.0));
        let listed: Vec<&str> = runs.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
        assert_eq!(listed, expected.iter().map(|(id, _)| *id).collect::<Vec<_>>(), "every run once, newest first");
        for (run, (id, kind)) in runs.iter().zip(&expected) {
            let label = run["status"]["label"].as_str().unwrap_or_default();
            match *kind {
                "broken" => assert_eq!(run["broken"]["fix"], "agency repair --dry-run", "{id}: {run}"),
                "archived" => assert_eq!(label, "archived", "{id}: {run}"),
                "not started" => assert_eq!(label, "created, not started", "{id}: {run}"),
                _ => assert_eq!(run["status"]["runtime"], "session_alive", "{id}: {run}"),
            }
        }
    };
    check(true);
    check(false);
}
