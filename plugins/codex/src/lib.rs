//! Built-in runner `codex` (OpenAI Codex CLI). Every launch passes `--no-daemon`: by default
//! Codex runs turns in one background server per Codex home, which outlives the TUI (so
//! `agency kill` would not stop the work) and keeps the environment of whichever run started
//! it (so runs would see each other's `AGENCY_*`). Without it each run's turns live in its own
//! process group. Interactive runs pass the first prompt on the command line; headless runs
//! use `codex exec --json`, whose `turn.failed` / `error` events say why a run failed (its exit
//! code reflects the protocol, not the task). `agency stop` presses Esc.
//!
//! `classify` reads Codex 0.17x: its resume hint; approvals, questions, trust and sign-in
//! (their footers also say "esc to interrupt", so they come first); the busy line (a
//! reconnecting agent is working); the composer with its model footer (idle) or without it
//! (starting: the first turn has not begun). Each completed turn is also reported to
//! `agency hook` through Codex's `notify` setting.

use agency_plugin::*;

struct Codex;

const NEEDS_INPUT: &[(&str, &str)] = &[
    ("Would you like to run the following command?", "command approval"),
    ("Would you like to make the following edits?", "edit approval"),
    ("Press enter to confirm or esc to cancel", "approval"),
    ("Allow command?", "command approval"),
    ("enter to submit answer", "question"),
    ("unanswered)", "question"),
    ("Choose what happens to the current task", "task menu"),
    ("Trust this folder?", "folder trust dialog"),
    ("Do you trust the contents of this directory?", "folder trust dialog"),
    ("Sign in with ChatGPT", "sign-in required"),
    ("Sign in another way", "sign-in required"),
    ("Welcome to Codex", "sign-in required"),
    ("You've hit your usage limit", "usage limit"),
    ("tell the model what to do differently", "interrupted, waiting for instructions"),
];

/// `notify` for `-c`: report each completed turn to `agency hook` (idle).
const NOTIFY: &str = r#"notify=["sh","-c","\"$AGENCY_BIN\" hook codex idle \"$1\" || true","agency-hook"]"#;

impl Runner for Codex {
    fn info() -> PluginInfo {
        PluginInfo::runner("codex", env!("CARGO_PKG_VERSION"), "OpenAI Codex CLI (codex)")
            .capability(Capability::exec("codex", &["**"]))
            .capability(Capability::env("OPENAI_API_KEY"))
            .capability(Capability::env("OPENAI_BASE_URL"))
            .capability(Capability::env("CODEX_HOME"))
            .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let command = Command::new("codex")
            .cwd(&run.worktree)
            .env_from_host("OPENAI_API_KEY")
            .env_from_host("OPENAI_BASE_URL")
            .env_from_host("CODEX_HOME");
        let plan = match (request.mode, request.prompt, request.resume_session) {
            (Mode::Headless, Some(prompt), Some(session)) => {
                LaunchPlan::new(command.args(["exec", "--json", "resume", &session, &prompt])).prompt_in_argv()
            }
            (Mode::Headless, Some(prompt), None) => {
                LaunchPlan::new(command.args(["exec", "--json", &prompt])).prompt_in_argv()
            }
            (Mode::Headless, None, _) => return Err(Error::invalid_config("a headless codex run needs --prompt")),
            (Mode::Interactive, prompt, session) => {
                // Codex's `notify` program runs when a turn completes, with a JSON payload as
                // its last argument, in Codex's environment (where AGENCY_BIN is set).
                let mut command = command.args(["--no-daemon", "-c", NOTIFY]);
                if let Some(session) = session {
                    command = command.args(["resume", &session]);
                }
                match prompt {
                    Some(prompt) => LaunchPlan::new(command.arg(&prompt)).prompt_in_argv(),
                    None => LaunchPlan::new(command),
                }
            }
        };
        Ok(plan.interrupt_keys(&["Escape"]))
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        if let Some(line) = screen.find_in_tail(8, "codex resume ") {
            return Observation::new(Activity::Exited, "Codex exited", Some(line))
                .with_resume_session(word_after(line, "codex resume"));
        }
        if let Some((reason, line)) = screen.find_marker(25, NEEDS_INPUT) {
            return Observation::new(Activity::NeedsInput, reason, Some(line));
        }
        if let Some(line) = screen.find_in_tail(8, "Reconnecting") {
            return Observation::new(Activity::Working, "busy (reconnecting to the API)", Some(line));
        }
        if let Some((_, line)) = screen.find_any_in_tail(8, &["• Working (", "• Running ", "esc to interrupt"]) {
            return Observation::new(Activity::Working, "busy", Some(line));
        }
        if let Some(line) = screen.tail(8).into_iter().rev().find(|l| is_error_line(l)) {
            return Observation::new(Activity::Error, "the last turn ended on an error", Some(line));
        }
        let composer = screen.tail(6).into_iter().rev().find(|l| l.trim_start().starts_with('›'));
        match (composer, screen.find_in_tail(3, "← for agents")) {
            (Some(line), Some(_)) => Observation::new(Activity::Idle, "at the prompt", Some(line)),
            (Some(line), None) => Observation::new(Activity::Starting, "composer drawn, session not ready yet", Some(line)),
            (None, _) if screen.tail(1).is_empty() => Observation::new(Activity::Starting, "nothing drawn yet", None),
            (None, _) => Observation::unknown("no Codex marker on screen"),
        }
    }

    /// `codex exec --json` events: `turn.failed` or a top-level `error` mean failure (with
    /// their message) unless a turn completed; the last `agent_message` is the answer;
    /// `thread.started` names the session.
    fn headless_result(output: String, exit_code: Option<i32>) -> HeadlessOutcome {
        let events = output::json_lines(&output);
        let kind = |v: &output::Value| output::json_str(v, &["type"]).unwrap_or_default().to_string();
        let completed = events.iter().any(|v| kind(v) == "turn.completed");
        let failure = events.iter().rev().find(|v| kind(v) == "turn.failed" || kind(v) == "error");
        let answer = events
            .iter()
            .rev()
            .find_map(|v| (output::json_str(v, &["item", "type"]) == Some("agent_message")).then(|| output::json_str(v, &["item", "text"]))?);
        let session = events.iter().find(|v| kind(v) == "thread.started").and_then(|v| output::json_str(v, &["thread_id"]));
        let failed_with = failure.filter(|_| !completed).map(|v| {
            output::json_str(v, &["error", "message"]).or_else(|| output::json_str(v, &["message"])).unwrap_or("failed").to_string()
        });
        HeadlessOutcome {
            ok: exit_code == Some(0) && completed && failed_with.is_none(),
            message: failed_with.or_else(|| answer.map(String::from)).or_else(|| HeadlessOutcome::from_exit(&output, exit_code).message),
            resume_session: session.map(String::from),
        }
    }
}

/// `■ <something> error …` (but not `■ Conversation interrupted`, which is idle).
fn is_error_line(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('■') && !line.contains("Conversation interrupted") && line.to_ascii_lowercase().contains("error")
}

export_runner!(Codex);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headless_events_decide() {
        let failed = r#"{"type":"thread.started","thread_id":"t-1"}
{"type":"error","message":"Reconnecting... waiting for network"}
{"type":"turn.failed","error":{"message":"stream disconnected"}}"#;
        let r = Codex::headless_result(failed.into(), Some(0));
        assert!(!r.ok, "a failed turn fails the run even with exit code 0");
        assert_eq!(r.message.as_deref(), Some("stream disconnected"));
        assert_eq!(r.resume_session.as_deref(), Some("t-1"));
        let done = r#"{"type":"item.completed","item":{"type":"agent_message","text":"Fixed it."}}
{"type":"turn.completed","usage":{}}"#;
        let r = Codex::headless_result(done.into(), Some(0));
        assert!(r.ok);
        assert_eq!(r.message.as_deref(), Some("Fixed it."));
    }
}
