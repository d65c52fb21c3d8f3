//! Built-in runner `claude` (Claude Code). Interactive runs pass the first prompt on the
//! command line (delivered with the process, never typed into a dialog); headless runs use
//! print mode with streamed JSON, whose `result` line says whether the task succeeded and
//! why not. `agency stop` presses Esc, which cancels the turn and keeps Claude at its
//! prompt (Ctrl-C twice would quit it). Claude's hooks report turn start, permission
//! requests and turn end to `agency hook` (see `hooks_settings`).
//!
//! `classify` reads Claude Code 2.1.x screens, in this order: an exit with its resume hint;
//! dialogs and login prompts (waiting for the user); the busy footer or spinner (retries
//! included: a retrying agent is working); an error the last turn ended on; the idle input
//! box; the banner before the input box is drawn (starting). Recorded screens:
//! `screens/` (from the real CLI, offline) and `screens/transcribed/` (states that need a
//! model, from public captures).

use agency_plugin::*;

struct Claude;

/// Markers that the agent is waiting for the user, checked first, with the reason shown.
const NEEDS_INPUT: &[(&str, &str)] = &[
    ("Do you want to proceed?", "permission prompt"),
    ("Do you want to make this edit", "edit approval"),
    ("Do you want to allow", "permission prompt"),
    ("Esc to cancel · Tab to amend", "permission prompt"),
    ("Enter to select · ↑/↓ to navigate", "question"),
    ("Quick safety check", "folder trust dialog"),
    ("Do you trust the files in this folder?", "folder trust dialog"),
    ("Do you want to use this API key?", "API key dialog"),
    ("Select login method", "login required"),
    ("Please run /login", "login required"),
    ("Not logged in · Run /login", "login required"),
    ("Choose the text style", "first-run setup"),
    ("You've hit your", "usage limit"),
    ("What should Claude do instead?", "interrupted, waiting for instructions"),
];

/// Errors a turn can end on (shown as the last message above the input box).
const ERRORS: &[&str] = &["API Error", "Unable to connect to Anthropic services", "Failed to connect to api."];

/// Spinner glyphs Claude draws in front of the busy line.
const SPINNER_GLYPHS: &[char] = &['·', '✢', '✳', '✶', '✻', '✽', '*', '●', '◐', '◑', '◒', '◓'];

/// The `agency hook` calls Claude makes (its settings hooks run through a shell, with the
/// agent's environment, where `AGENCY_BIN` names the agency executable).
fn hooks_settings() -> String {
    let hook = |matcher: &str, activity: &str| {
        format!(
            r#"[{{"matcher":"{matcher}","hooks":[{{"type":"command","command":"\"$AGENCY_BIN\" hook claude {activity} || true"}}]}}]"#
        )
    };
    format!(
        r#"{{"hooks":{{"UserPromptSubmit":{w},"PreToolUse":{w},"PermissionRequest":{n},"Notification":{q},"Stop":{i},"StopFailure":{e},"SessionEnd":{x}}}}}"#,
        w = hook("", "working"),
        n = hook("", "needs-input"),
        // `idle_prompt` notifications come a minute late and mean idle, not a question.
        q = hook("permission_prompt|elicitation_dialog", "needs-input"),
        i = hook("", "idle"),
        e = hook("", "error"),
        x = hook("", "exited"),
    )
}

impl Runner for Claude {
    fn info() -> PluginInfo {
        PluginInfo::runner("claude", env!("CARGO_PKG_VERSION"), "Claude Code (claude)")
            .capability(Capability::exec("claude", &["**"]))
            .capability(Capability::env("ANTHROPIC_API_KEY"))
            .capability(Capability::env("ANTHROPIC_BASE_URL"))
            .capability(Capability::env("CLAUDE_CONFIG_DIR"))
            .capability(Capability::env("CLAUDE_CODE_MAX_RETRIES"))
            .capability(Capability::env("DISABLE_AUTOUPDATER"))
            .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let mut command = Command::new("claude")
            .cwd(&run.worktree)
            .env_from_host("ANTHROPIC_API_KEY")
            .env_from_host("ANTHROPIC_BASE_URL")
            .env_from_host("CLAUDE_CONFIG_DIR")
            .env_from_host("CLAUDE_CODE_MAX_RETRIES")
            .env_from_host("DISABLE_AUTOUPDATER");
        if let Some(session) = &request.resume_session {
            command = command.args(["--resume", session]);
        }
        let plan = match (request.mode, request.prompt) {
            (Mode::Headless, Some(prompt)) => LaunchPlan::new(command.args([
                "-p".to_string(),
                prompt,
                "--output-format".into(),
                "stream-json".into(),
                "--verbose".into(),
            ]))
            .prompt_in_argv(),
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless claude run needs --prompt")),
            (Mode::Interactive, prompt) => {
                let command = command.args(["--settings".to_string(), hooks_settings()]);
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
        if let Some(line) = screen.find_in_tail(8, "claude --resume") {
            return Observation::new(Activity::Exited, "Claude Code exited", Some(line))
                .with_resume_session(word_after(line, "--resume"));
        }
        if let Some((reason, line)) = screen.find_marker(25, NEEDS_INPUT) {
            return Observation::new(Activity::NeedsInput, reason, Some(line));
        }
        // The interrupt hint is trusted only in the status lines at the bottom.
        if let Some((_, line)) = screen.find_any_in_tail(4, &["esc to interrupt", "ctrl+c to interrupt"]) {
            let reason = if line_above_box(&screen).is_some_and(|l| l.contains("Retrying in")) {
                "busy (retrying the API)"
            } else {
                "busy (interrupt hint shown)"
            };
            return Observation::new(Activity::Working, reason, Some(line_above_box(&screen).unwrap_or(line)));
        }
        if let Some(line) = screen.tail(8).into_iter().rev().find(|l| is_spinner_line(l)) {
            return Observation::new(Activity::Working, "busy (spinner)", Some(line));
        }
        if let Some(line) = screen.find_in_tail(6, "Running…") {
            return Observation::new(Activity::Working, "running a tool", Some(line));
        }
        if let Some(line) = last_message(&screen).filter(|l| ERRORS.iter().any(|e| l.contains(e))) {
            return Observation::new(Activity::Error, "the last turn ended on an error", Some(line));
        }
        if let Some(line) = screen.find_in_tail(12, "Unable to connect to Anthropic services") {
            return Observation::new(Activity::Error, "cannot reach the API", Some(line));
        }
        if let Some((_, line)) = screen.find_any_in_tail(4, &["? for shortcuts", "again to exit"]) {
            return Observation::new(Activity::Idle, "at the prompt", Some(line));
        }
        if let Some(line) = input_box(&screen) {
            return Observation::new(Activity::Idle, "at the prompt (input box, nothing running)", Some(line));
        }
        if screen.tail(1).is_empty() {
            return Observation::new(Activity::Starting, "nothing drawn yet", None);
        }
        if let Some((_, line)) = screen.find_any_in_tail(30, &["Claude Code", "Welcome"]) {
            return Observation::new(Activity::Starting, "banner shown, no input box yet", Some(line));
        }
        Observation::unknown("no Claude Code marker on screen")
    }

    /// The stream-json `result` line: `is_error` and `result` (the final text or the error),
    /// and the session id to continue.
    fn headless_result(output: String, exit_code: Option<i32>) -> HeadlessOutcome {
        let lines = output::json_lines(&output);
        let Some(result) = lines.iter().rev().find(|v| output::json_str(v, &["type"]) == Some("result")) else {
            return HeadlessOutcome::from_exit(&output, exit_code);
        };
        HeadlessOutcome {
            ok: exit_code == Some(0) && result.get("is_error").and_then(|v| v.as_bool()) != Some(true),
            message: output::json_str(result, &["result"]).map(String::from),
            resume_session: output::json_str(result, &["session_id"]).map(String::from),
        }
    }
}

/// The input box: a `❯` line between two rules near the bottom (the prompt may hold text
/// Claude put back after an interrupt).
fn input_box<'a>(screen: &Screen<'a>) -> Option<&'a str> {
    let tail = screen.tail(6);
    tail.windows(3).rev().find(|w| is_rule(w[0]) && w[1].trim_start().starts_with('❯') && is_rule(w[2])).map(|w| w[1])
}

/// The line right above the input box's top rule (the spinner or the last message).
fn line_above_box<'a>(screen: &Screen<'a>) -> Option<&'a str> {
    let tail = screen.tail(12);
    let top = tail.windows(2).rposition(|w| is_rule(w[0]) && w[1].trim_start().starts_with('❯'))?;
    tail[..top].last().copied()
}

/// The last message above the input box, skipping the `✻ Brewed for 2s` completion line.
fn last_message<'a>(screen: &Screen<'a>) -> Option<&'a str> {
    let tail = screen.tail(16);
    let top = tail.windows(2).rposition(|w| is_rule(w[0]) && w[1].trim_start().starts_with('❯'))?;
    tail[..top].iter().rev().find(|l| !is_completion_line(l)).copied()
}

fn is_rule(line: &str) -> bool {
    let line = line.trim();
    line.chars().count() > 10 && line.chars().all(|c| c == '─')
}

/// `✻ Brewed for 2s`, `✻ Worked for 54s · done 3:37 PM`: a glyph, a verb, ` for `.
fn is_completion_line(line: &str) -> bool {
    let line = line.trim_start();
    line.chars().next().is_some_and(|c| SPINNER_GLYPHS.contains(&c)) && line.contains(" for ") && !line.contains('…')
}

/// `✳ Gusting… (35s · ↑ 673 tokens)`: a glyph, a verb ending in an ellipsis, then `(`.
/// Completion lines (`✻ Worked for 54s`) have no ellipsis and do not match.
fn is_spinner_line(line: &str) -> bool {
    let line = line.trim_start();
    let mut chars = line.chars();
    let Some(first) = chars.next() else { return false };
    SPINNER_GLYPHS.contains(&first) && chars.next() == Some(' ') && line.contains("… (")
}

export_runner!(Claude);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headless_results_say_why() {
        let out = r#"{"type":"system","subtype":"init","session_id":"abc-1"}
{"type":"result","subtype":"success","is_error":true,"result":"Not logged in · Please run /login","session_id":"abc-1"}"#;
        let r = Claude::headless_result(out.into(), Some(1));
        assert!(!r.ok);
        assert_eq!(r.message.as_deref(), Some("Not logged in · Please run /login"));
        assert_eq!(r.resume_session.as_deref(), Some("abc-1"));
        let ok = r#"{"type":"result","subtype":"success","is_error":false,"result":"Done: \"fixed\"","session_id":"s"}"#;
        let r = Claude::headless_result(ok.into(), Some(0));
        assert!(r.ok);
        assert_eq!(r.message.as_deref(), Some("Done: \"fixed\""));
    }

    #[test]
    fn hook_settings_are_json_naming_agency() {
        let settings = hooks_settings();
        assert!(settings.starts_with(r#"{"hooks":{"UserPromptSubmit""#), "{settings}");
        assert!(settings.contains(r#"\"$AGENCY_BIN\" hook claude needs-input"#), "{settings}");
        assert_eq!(settings.matches('{').count(), settings.matches('}').count());
    }
}
