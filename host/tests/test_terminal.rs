//! Prompts on a real terminal (an agency command running in a tmux pane): the grant prompt for
//! a new plugin, the typed `merge` confirmation (declined and given), and the confirmation of
//! `clean`. Declining changes nothing.

use crate::common::TestEnv;
use crate::common::env::wait_until;
use crate::common::repo::fixture;

#[test]
fn the_grant_prompt_asks_and_remembers() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.pin_plugin(
        &repo,
        "hostile",
        &fixture("hostile"),
        serde_json::json!({ "steps": { "setup": [{ "plugin": "hostile", "params": { "attack": "none" } }] } }),
    );

    let declined = env.in_terminal(&repo, &["run", "--detached", "--name", "no"]);
    let screen = declined.wait_for("Grant these capabilities to `hostile`? [y/N]");
    assert!(screen.contains("exec git status") && screen.contains("read repo"), "lists what it asks for:\n{screen}");
    declined.type_line("n");
    let (code, screen) = declined.finish();
    assert_eq!(code, 1);
    assert!(screen.contains("error_code: E_ABORTED"), "{screen}");
    assert!(env.run_dirs().is_empty(), "declining creates nothing");

    let granted = env.in_terminal(&repo, &["run", "--detached", "--name", "yes"]);
    granted.wait_for("[y/N]");
    granted.type_line("y");
    assert_eq!(granted.finish().0, 0);
    // Remembered for this sha256: no prompt the second time, even without a terminal.
    env.agency(&repo, &["run", "--detached", "--name", "again"]).ok();
}

#[test]
fn merge_needs_the_word_merge() {
    let mut env = TestEnv::new();
    let (repo, _) = env.github_repo("widgets");
    env.verify_script(&repo, "#!/bin/sh\nexit 0\n");
    let (_, worktree) = env.start_run(&repo, "m");
    std::fs::write(worktree.join("f.txt"), "f").unwrap();
    env.sh(&worktree, "git add f.txt && git commit -qm f");
    env.agency(&repo, &["push", "m"]).ok();

    let term = env.in_terminal(&repo, &["merge", "m"]);
    term.wait_for("Type `merge` to confirm:");
    term.type_line("yes please");
    let (code, screen) = term.finish();
    assert_eq!(code, 1);
    assert!(screen.contains("error_code: E_ABORTED"), "{screen}");
    assert_eq!(env.gh_state()["prs"][0]["state"], "OPEN");
    assert!(worktree.is_dir());

    let term = env.in_terminal(&repo, &["merge", "m"]);
    term.wait_for("Type `merge` to confirm:");
    term.type_line("merge");
    assert_eq!(term.finish().0, 0);
    assert_eq!(env.gh_state()["prs"][0]["state"], "MERGED");
    assert!(!worktree.exists());
}

#[test]
fn clean_asks_before_archiving() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let (_, worktree) = env.start_run(&repo, "c");
    let term = env.in_terminal(&repo, &["clean", "c"]);
    term.wait_for("[y/N]");
    term.type_line("");
    let (code, screen) = term.finish();
    assert_eq!(code, 1);
    assert!(screen.contains("E_ABORTED"), "{screen}");
    assert!(worktree.is_dir());
    let term = env.in_terminal(&repo, &["clean", "c"]);
    term.wait_for("[y/N]");
    term.type_line("y");
    assert_eq!(term.finish().0, 0);
    assert!(!worktree.exists());
}

#[test]
fn run_attaches_on_a_terminal() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let term = env.in_terminal(&repo, &["run", "--name", "att"]);
    wait_until("the run's session to be attached", 20, || {
        let sessions =
            String::from_utf8_lossy(&env.tmux(&["list-sessions", "-F", "#{session_name} #{session_attached}"]).stdout)
                .into_owned();
        let attached = sessions.lines().any(|l| l.starts_with("agency_") && l.ends_with(" 1"));
        if attached { Ok(()) } else { Err(format!("{sessions}\n{}", term.screen())) }
    });
}
