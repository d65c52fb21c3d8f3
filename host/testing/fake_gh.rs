//! A fake `gh` for tests (built only with the `test-hooks` feature). It emulates the subset of
//! the GitHub CLI agency uses — `auth status`, `pr list/view/create/edit/merge` with `-R` and
//! `--json` — backed by a JSON state file (`FAKE_GH_STATE`). Merges are real: they are made in
//! the bare repository named by `FAKE_GH_ORIGIN` (squash, merge commit or rebase), so agency's
//! merged-branch detection is tested against real git history. Every call is logged.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn state_path() -> PathBuf {
    PathBuf::from(std::env::var("FAKE_GH_STATE").expect("FAKE_GH_STATE must name the state file"))
}

fn load() -> Value {
    std::fs::read(state_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({ "authenticated": true, "prs": [], "calls": [] }))
}

fn save(state: &Value) {
    std::fs::write(state_path(), serde_json::to_vec_pretty(state).unwrap()).unwrap();
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(1)
}

fn pick(pr: &Value, fields: Option<&str>) -> Value {
    let fields = fields.unwrap_or("number,url,state,title,body,mergeable,headRefName");
    Value::Object(fields.split(',').map(|f| (f.to_string(), pr.get(f).cloned().unwrap_or(Value::Null))).collect())
}

fn main() -> ExitCode {
    // Concurrent agency processes call gh at once: serialise access to the state file.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state_path().with_extension("lock"))
        .unwrap();
    lock.lock().unwrap();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut state = load();
    state["calls"].as_array_mut().unwrap().push(json!(args));
    save(&state);
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["--version", ..] => {
            println!("gh version 2.99.0 (fake)");
            ExitCode::SUCCESS
        }
        ["auth", "status", ..] => {
            if state["authenticated"] == true {
                ExitCode::SUCCESS
            } else {
                fail("You are not logged into any GitHub hosts. To log in, run: gh auth login")
            }
        }
        ["pr", "list", ..] => {
            let head = flag(&args, "--head").unwrap_or_default();
            let prs: Vec<Value> = state["prs"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .filter(|p| p["headRefName"] == head)
                .map(|p| pick(p, flag(&args, "--json")))
                .collect();
            println!("{}", Value::Array(prs));
            ExitCode::SUCCESS
        }
        ["pr", "view", number, ..] => match find(&mut state, number) {
            Some(pr) => {
                let pr = pr.clone();
                // A PR whose mergeability GitHub is still computing reports UNKNOWN a few times.
                if let Some(left) = pr.get("unknown_views").and_then(|v| v.as_u64()).filter(|n| *n > 0) {
                    find(&mut state, number).unwrap()["unknown_views"] = json!(left - 1);
                    save(&state);
                    let mut shown = pick(&pr, flag(&args, "--json"));
                    shown["mergeable"] = json!("UNKNOWN");
                    println!("{shown}");
                } else {
                    println!("{}", pick(&pr, flag(&args, "--json")));
                }
                ExitCode::SUCCESS
            }
            None => fail(&format!("no pull requests found for {number}")),
        },
        ["pr", "create", ..] => {
            let head = flag(&args, "--head").unwrap_or_default().to_string();
            if state["prs"].as_array().unwrap().iter().any(|p| p["headRefName"] == head && p["state"] == "OPEN") {
                return fail(&format!("a pull request for branch \"{head}\" already exists"));
            }
            let number = state["prs"].as_array().unwrap().len() as u64 + 1;
            let repo = flag(&args, "-R").unwrap_or("acme/widgets");
            let body = flag(&args, "--body-file").map(|f| std::fs::read_to_string(f).unwrap()).unwrap_or_default();
            let url = format!("https://github.com/{repo}/pull/{number}");
            let mergeable = std::env::var("FAKE_GH_MERGEABLE").unwrap_or_else(|_| "MERGEABLE".into());
            state["prs"].as_array_mut().unwrap().push(json!({
                "number": number, "url": url, "state": "OPEN", "title": flag(&args, "--title").unwrap_or_default(),
                "body": body, "mergeable": mergeable, "headRefName": head, "baseRefName": flag(&args, "--base").unwrap_or("main"),
                "unknown_views": std::env::var("FAKE_GH_UNKNOWN_VIEWS").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0),
            }));
            save(&state);
            println!("{url}");
            ExitCode::SUCCESS
        }
        ["pr", "edit", number, ..] => {
            let body = flag(&args, "--body-file").map(|f| std::fs::read_to_string(f).unwrap()).unwrap_or_default();
            match find(&mut state, number) {
                Some(pr) => {
                    pr["body"] = json!(body);
                    pr["edits"] = json!(pr.get("edits").and_then(|e| e.as_u64()).unwrap_or(0) + 1);
                    save(&state);
                    println!("https://github.com/acme/widgets/pull/{number}");
                    ExitCode::SUCCESS
                }
                None => fail("no such pull request"),
            }
        }
        ["pr", "merge", number, ..] => {
            let Some(pr) = find(&mut state, number).cloned() else { return fail("no such pull request") };
            if pr["state"] != "OPEN" || pr["mergeable"] != "MERGEABLE" {
                return fail("Pull request is not mergeable");
            }
            let strategy = ["--squash", "--merge", "--rebase"]
                .into_iter()
                .find(|s| args.iter().any(|a| a == s))
                .unwrap_or("--merge");
            let head = pr["headRefName"].as_str().unwrap().to_string();
            let base = pr["baseRefName"].as_str().unwrap_or("main").to_string();
            if let Err(e) = merge_in_origin(&head, &base, strategy, args.iter().any(|a| a == "--delete-branch")) {
                return fail(&e);
            }
            let pr = find(&mut state, number).unwrap();
            pr["state"] = json!("MERGED");
            pr["merge_strategy"] = json!(strategy);
            save(&state);
            ExitCode::SUCCESS
        }
        _ => fail(&format!("fake gh: unsupported command: {}", args.join(" "))),
    }
}

fn find<'a>(state: &'a mut Value, number: &str) -> Option<&'a mut Value> {
    let n: u64 = number.parse().ok()?;
    state["prs"].as_array_mut()?.iter_mut().find(|p| p["number"] == n)
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Merge `head` into `base` inside the bare origin, the way GitHub would.
fn merge_in_origin(head: &str, base: &str, strategy: &str, delete_branch: bool) -> Result<(), String> {
    let origin = PathBuf::from(std::env::var("FAKE_GH_ORIGIN").map_err(|_| "FAKE_GH_ORIGIN is not set")?);
    let work = std::env::temp_dir().join(format!("fake-gh-merge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let status =
        Command::new("git").args(["clone", "-q"]).arg(&origin).arg(&work).status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("clone of origin failed".into());
    }
    let result = (|| {
        git(&work, &["checkout", "-q", base])?;
        match strategy {
            "--squash" => {
                git(&work, &["merge", "--squash", &format!("origin/{head}")])?;
                git(&work, &["commit", "-q", "-m", &format!("Squashed {head} (#pr)")])?;
            }
            "--rebase" => {
                git(&work, &["checkout", "-q", "-b", "rebased", &format!("origin/{head}")])?;
                git(&work, &["rebase", "-q", base])?;
                git(&work, &["checkout", "-q", base])?;
                git(&work, &["merge", "-q", "--ff-only", "rebased"])?;
            }
            _ => {
                git(&work, &["merge", "-q", "--no-ff", "-m", &format!("Merge {head}"), &format!("origin/{head}")])?;
            }
        }
        git(&work, &["push", "-q", "origin", base])?;
        if delete_branch {
            git(&work, &["push", "-q", "origin", "--delete", head])?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}
