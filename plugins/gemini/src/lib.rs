//! Built-in runner `gemini` (Google Gemini CLI). Interactive runs pass the first prompt with
//! `-i` (the CLI starts with it, whatever dialog comes first); headless runs use `-p` with
//! `-o stream-json`, whose `result` and `error` events say how the run ended. `agency stop`
//! presses Esc, which cancels the request and keeps Gemini at its input (Ctrl-C twice quits).
//!
//! `classify` reads Gemini CLI 0.6x, whose dialogs are drawn in boxes (so no "last line"
//! rule works): its resume hint; trust, authentication and confirmation dialogs; the busy
//! line (`esc to cancel`, retries included); an error the last request ended on; the input
//! box (idle); nothing or only the banner (starting).

use agency_plugin::*;

struct Gemini;

const NEEDS_INPUT: &[(&str, &str)] = &[
    ("Do you trust the files in this folder?", "folder trust dialog"),
    ("How would you like to authenticate", "authentication method"),
    ("Enter Gemini API Key", "API key entry"),
    ("Paste your API key here", "API key entry"),
    ("Allow execution of", "permission prompt"),
    ("Apply this change?", "edit approval"),
    ("Do you want to proceed?", "permission prompt"),
    ("Waiting for user confirmation", "permission prompt"),
    ("Usage limit reached", "usage limit"),
];

impl Runner for Gemini {
    fn info() -> PluginInfo {
        PluginInfo::runner("gemini", env!("CARGO_PKG_VERSION"), "Google Gemini CLI (gemini)")
            .capability(Capability::exec("gemini", &["**"]))
            .capability(Capability::env("GEMINI_API_KEY"))
            .capability(Capability::env("GOOGLE_API_KEY"))
            .capability(Capability::env("GOOGLE_GEMINI_BASE_URL"))
            .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let mut command = Command::new("gemini")
            .cwd(&run.worktree)
            .env_from_host("GEMINI_API_KEY")
            .env_from_host("GOOGLE_API_KEY")
            .env_from_host("GOOGLE_GEMINI_BASE_URL");
        if let Some(session) = &request.resume_session {
            command = command.args(["--resume", session]);
        }
        let plan = match (request.mode, request.prompt) {
            (Mode::Headless, Some(prompt)) => {
                LaunchPlan::new(command.args(["-o".to_string(), "stream-json".into(), "-p".into(), prompt]))
                    .prompt_in_argv()
            }
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless gemini run needs --prompt")),
            (Mode::Interactive, Some(prompt)) => LaunchPlan::new(command.args(["-i", &prompt])).prompt_in_argv(),
            (Mode::Interactive, None) => LaunchPlan::new(command),
        };
        Ok(plan.interrupt_keys(&["Escape"]))
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        if let Some(line) = screen.find_in_tail(12, "gemini --resume") {
            return Observation::new(Activity::Exited, "Gemini CLI exited", Some(line))
                .with_resume_session(word_after(line, "--resume"));
        }
        if let Some(line) = screen.find_in_tail(12, "Agent powering down") {
            return Observation::new(Activity::Exited, "Gemini CLI exited", Some(line));
        }
        if let Some((reason, line)) = screen.find_marker(30, NEEDS_INPUT) {
            return Observation::new(Activity::NeedsInput, reason, Some(line));
        }
        if let Some(line) = screen.find_in_tail(8, "esc to cancel") {
            return Observation::new(Activity::Working, "busy", Some(line));
        }
        let input = screen.find_in_tail(6, "Type your message");
        if let (Some(_), Some(line)) = (input, turn_error(&screen)) {
            return Observation::new(Activity::Error, "the last request ended on an error", Some(line));
        }
        if let Some(line) = input {
            return Observation::new(Activity::Idle, "at the input prompt", Some(line));
        }
        if screen.tail(1).is_empty() {
            return Observation::new(Activity::Starting, "nothing drawn yet", None);
        }
        if let Some(line) = screen.find_in_tail(30, "Gemini CLI") {
            return Observation::new(Activity::Starting, "banner shown, no input yet", Some(line));
        }
        Observation::unknown("no Gemini CLI marker on screen")
    }

    /// `-o stream-json`: the `result` event's `status`, an `error` event's message, the
    /// session id from `init`.
    fn headless_result(output: String, exit_code: Option<i32>) -> HeadlessOutcome {
        let events = output::json_lines(&output);
        let kind = |v: &output::Value| output::json_str(v, &["type"]).unwrap_or_default().to_string();
        let session = events.iter().find(|v| kind(v) == "init").and_then(|v| output::json_str(v, &["session_id"]));
        let error = events.iter().rev().find(|v| kind(v) == "error").and_then(|v| output::json_str(v, &["message"]));
        let result = events.iter().rev().find(|v| kind(v) == "result");
        let answer = events
            .iter()
            .rev()
            .find(|v| kind(v) == "message" && output::json_str(v, &["role"]) == Some("assistant"))
            .and_then(|v| output::json_str(v, &["content"]));
        let ok = result.is_some_and(|r| output::json_str(r, &["status"]) == Some("success")) && exit_code == Some(0);
        let message = match ok {
            true => answer.map(String::from),
            false => error
                .or_else(|| result.and_then(|r| output::json_str(r, &["error", "message"])))
                .map(String::from)
                .or_else(|| HeadlessOutcome::from_exit(&output, exit_code).message),
        };
        HeadlessOutcome { ok, message, resume_session: session.map(String::from) }
    }
}

/// The error line (`✕ [API Error …]`) of the last turn: between the last prompt the user sent
/// (` > …`) and the input box's rule, if there is one.
fn turn_error<'a>(screen: &Screen<'a>) -> Option<&'a str> {
    let tail = screen.tail(20);
    let rule = tail.iter().rposition(|l| {
        let l = l.trim();
        l.chars().count() > 10 && l.chars().all(|c| c == '─')
    })?;
    let turn = tail[..rule].iter().rposition(|l| l.starts_with(" > ")).map_or(0, |i| i + 1);
    tail[turn..rule].iter().find(|l| l.trim_start().starts_with('✕')).copied()
}

export_runner!(Gemini);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headless_stream_json() {
        let failed = "{\"type\":\"init\",\"session_id\":\"g-1\"}\n{\"type\":\"error\",\"severity\":\"error\",\"message\":\"fetch failed\"}\n{\"type\":\"result\",\"status\":\"error\"}";
        let r = Gemini::headless_result(failed.into(), Some(1));
        assert!(!r.ok);
        assert_eq!(r.message.as_deref(), Some("fetch failed"));
        assert_eq!(r.resume_session.as_deref(), Some("g-1"));
        let ok = "{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"hi\"}\n{\"type\":\"result\",\"status\":\"success\"}";
        let r = Gemini::headless_result(ok.into(), Some(0));
        assert!(r.ok);
        assert_eq!(r.message.as_deref(), Some("hi"));
    }
}
