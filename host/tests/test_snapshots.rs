//! Snapshots of what people read: `ls`, `show`, `doctor` and error reports, with everything
//! that differs between machines and runs (temp paths, run ids, times, hashes, versions)
//! replaced by placeholders (insta filters). A change in wording or layout shows up as a
//! reviewed diff (`cargo insta review`, or `INSTA_UPDATE=always` and `git diff`).

use crate::common::TestEnv;

/// Check `text` against the snapshot `name` with what varies from run to run normalised.
fn assert_normalised(env: &TestEnv, name: &str, text: &str) {
    let root = regex_escape(&env.root().display().to_string());
    let cache = regex_escape(&env.cache.display().to_string());
    let target_tmp = regex_escape(env!("CARGO_TARGET_TMPDIR"));
    let filters: Vec<(&str, &str)> = vec![
        (&root, "[ROOT]"),
        (&cache, "[CACHE]"),
        (&target_tmp, "[TARGET_TMP]"),
        (r"hermetic-bin-\d+", "hermetic-bin"),
        (r"/tmp/tmux-\d+/agency-test-\d+-\d+", "[TMUX_SOCKET]"),
        (r#""duration_ms":\d+"#, r#""duration_ms":[N]"#),
        (r"tmux \d+\.\d+[a-z]?", "tmux [VERSION]"),
        (r"\d{14}-[0-9a-f]{4}", "[RUN_ID]"),
        (r"-[0-9a-f]{4}\b", "-[ID4]"),
        (r"\b[0-9a-f]{64}\b", "[SHA256]"),
        (r"\b[0-9a-f]{40}\b", "[COMMIT]"),
        (r"\b[0-9a-f]{16}\b", "[REPO_ID]"),
        (r"\b[0-9a-f]{12}\b", "[SHORT_SHA]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]"),
        (r"\b\d\d:\d\d\b", "[HH:MM]"),
        (r"\b\d+(s|m|h|d) ago\b", "[AGE]"),
        (r"\b\d+(ms|s)\b", "[DURATION]"),
        (r"(git|tmux) version [0-9a-z.]+", "$1 version [VERSION]"),
        (r"port_base: \d+", "port_base: [PORT]"),
        (r"shell prompt at \[HH:MM\]: '[#$%]'", "shell prompt at [HH:MM]: '[PROMPT]'"),
        // Table columns are as wide as their widest value, which the placeholders change.
        (r"  +", "  "),
    ];
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

fn regex_escape(text: &str) -> String {
    text.chars().fold(String::new(), |mut out, c| {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

#[test]
fn ls_show_and_doctor_read_the_same_everywhere() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    env.agency(&repo, &["run", "--name", "fix-login", "--title", "Fix the login redirect", "--detached"]).ok();
    // Run ids have one-second resolution: a second apart, `ls` orders them the same every time.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    env.agency(&repo, &["run", "--name", "docs", "--headless", "--prompt", "echo done"]).ok();
    crate::common::env::wait_until("the headless run to finish", 20, || {
        let status = env.agency(&repo, &["ls", "--json"]).json();
        let done = status["runs"].as_array().unwrap().iter().any(|r| r["status"]["label"] == "done");
        if done { Ok(()) } else { Err(status.to_string()) }
    });
    assert_normalised(&env, "ls", env.agency(&repo, &["ls"]).ok());
    assert_normalised(&env, "show_headless_done", env.agency(&repo, &["show", "docs"]).ok());
    let doctor = env.agency(&repo, &["doctor"]);
    assert_normalised(&env, "doctor", &format!("{}\n--- stderr\n{}", doctor.stdout, doctor.stderr));
}

#[test]
fn error_reports_read_the_same_everywhere() {
    let env = TestEnv::new();
    let repo = env.repo("r");
    let mut report = String::new();
    for args in [
        vec!["show", "nope"],
        vec!["run", "--name", "Bad Name"],
        vec!["run", "--parent", "missing"],
        vec!["clean", "nope"],
        vec!["logs", "nope", "bogus"],
        vec!["run", "--runner", "clade"],
    ] {
        let out = env.agency(&repo, &args);
        report.push_str(&format!("$ agency {}\nexit {}\n{}\n", args.join(" "), out.code, out.stderr));
    }
    assert_normalised(&env, "errors", &report);
}
