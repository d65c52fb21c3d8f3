//! `agency ui` end to end: the dashboard runs in a real tmux pane of the test's server, driven
//! with `send-keys` and read with `capture-pane`, over real runs.

use std::path::Path;

use crate::common::TestEnv;
use crate::common::env::{agency_bin, wait_until};

const UI: &str = "dashboard";

/// Start `agency ui` in its own session (a 100×30 terminal) with exactly the test's
/// environment (not the tmux server's).
fn start_ui(env: &TestEnv, repo: &Path) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let vars: Vec<String> = env.vars().iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
    // The shell around it records how the dashboard ended.
    let exit_file = env.root().join("ui-exit");
    let command = format!(
        "env -i {} TERM=xterm-256color {} ui; echo $? > {}",
        vars.join(" "),
        quote(agency_bin().to_str().unwrap()),
        quote(exit_file.to_str().unwrap())
    );
    let out =
        env.tmux(&["new-session", "-d", "-s", UI, "-x", "100", "-y", "30", "-c", repo.to_str().unwrap(), &command]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    env.tmux(&["set-option", "-t", UI, "remain-on-exit", "on"]);
}

fn screen(env: &TestEnv) -> String {
    String::from_utf8_lossy(&env.tmux(&["capture-pane", "-p", "-t", &format!("={UI}:")]).stdout).into_owned()
}

#[track_caller]
fn wait_screen(env: &TestEnv, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
    wait_until(what, secs, || {
        let text = screen(env);
        if ok(&text) { Ok(text) } else { Err(text) }
    })
}

fn keys(env: &TestEnv, keys: &[&str]) {
    let mut args = vec!["send-keys", "-t", "=dashboard:"];
    args.extend_from_slice(keys);
    env.tmux(&args);
}

fn pane(env: &TestEnv, format: &str) -> String {
    let out = env.tmux(&["display-message", "-p", "-t", &format!("={UI}:"), format]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The dashboard's exit status, once it has ended.
fn ended(env: &TestEnv) -> String {
    let exit_file = env.root().join("ui-exit");
    wait_until("the dashboard to exit", 10, || std::fs::read_to_string(&exit_file)).trim().to_string()
}

fn row<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or("")
}

#[test]
fn lists_runs_follows_status_creates_stops_and_quits() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (_, worktree) = env.start_run(&repo, "alpha");
    env.start_run(&repo, "beta");
    start_ui(&env, &repo);
    let text = wait_screen(&env, "both runs listed", 15, |t| {
        row(t, "alpha").contains("idle") && row(t, "beta").contains("idle")
    });
    assert!(text.contains("this repository · 2 runs"), "{text}");

    // The agent asks a question: the dashboard follows within two refreshes.
    let report = serde_json::json!({
        "schema_version": "1.0", "status": "needs_input", "updated_at": agency::clock::now_rfc3339(),
        "summary": "which database?", "questions": ["Postgres or SQLite?"]
    });
    std::fs::write(worktree.join(".agency/state/runner_status.json"), report.to_string()).unwrap();
    let text = wait_screen(&env, "alpha to need input", 3, |t| row(t, "alpha").contains("needs input"));
    assert!(text.contains("1 need you"), "{text}");

    // `n` opens the form; the run it starts appears in the list.
    keys(&env, &["n"]);
    wait_screen(&env, "the new-run form", 5, |t| t.contains("new run"));
    keys(&env, &["-l", "gamma"]);
    keys(&env, &["Enter"]);
    wait_screen(&env, "gamma listed", 20, |t| row(t, "gamma").contains("idle"));

    // `s` stops the selected run through `agency stop`, and says what happened (the newest
    // run is at the top; the cursor stayed on the run it was on).
    keys(&env, &["k", "k"]);
    keys(&env, &["s"]);
    wait_screen(&env, "the stop outcome", 15, |t| t.contains("stop gamma: done"));

    // `q` quits and leaves the terminal as it was.
    keys(&env, &["q"]);
    assert_eq!(ended(&env), "0", "{}", screen(&env));
    assert_eq!(pane(&env, "#{alternate_on}"), "0", "the alternate screen was left");
}

#[test]
fn attaches_and_returns_on_detach() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.start_run(&repo, "solo");
    start_ui(&env, &repo);
    wait_screen(&env, "the run listed", 15, |t| row(t, "solo").contains("idle"));
    keys(&env, &["Enter"]);
    // The pane now shows the run's own session: its shell, and tmux's status line naming it.
    wait_screen(&env, "attached to the run", 10, |t| t.contains("[agency_"));
    keys(&env, &["C-b", "d"]);
    wait_screen(&env, "back in the dashboard", 10, |t| {
        t.contains("this repository ·") && row(t, "solo").contains("idle")
    });
    keys(&env, &["q"]);
}

#[test]
fn quits_cleanly_on_sigterm() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    start_ui(&env, &repo);
    wait_screen(&env, "the empty dashboard", 15, |t| t.contains("No runs yet"));
    let shell = pane(&env, "#{pane_pid}");
    let child = std::process::Command::new("pgrep").args(["-P", &shell]).output().unwrap();
    let pid: i32 = String::from_utf8_lossy(&child.stdout).trim().parse().unwrap();
    // SAFETY: signalling the dashboard process the test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(ended(&env), "0", "SIGTERM ends the loop, not the process mid-draw");
    assert_eq!(pane(&env, "#{alternate_on}"), "0");
}

#[test]
fn leaves_when_its_terminal_goes_away() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    start_ui(&env, &repo);
    wait_screen(&env, "the empty dashboard", 15, |t| t.contains("No runs yet"));
    let shell = pane(&env, "#{pane_pid}");
    let child = std::process::Command::new("pgrep").args(["-P", &shell]).output().unwrap();
    let pid = String::from_utf8_lossy(&child.stdout).trim().to_string();
    env.tmux(&["kill-session", "-t", &format!("={UI}")]);
    wait_until("the dashboard to exit with its terminal", 10, || {
        if std::path::Path::new(&format!("/proc/{pid}")).exists() { Err("still running") } else { Ok(()) }
    });
}
