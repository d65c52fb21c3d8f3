//! Built-in runner `aider`. Interactive runs start aider without its first-run questions
//! (`--no-gitignore`, `--analytics-disable`, no update check) and paste the prompt only once
//! its `>` prompt is idle — never into a `(Y)es/(N)o` question, where it would be taken as an
//! answer. Headless runs use `--message` (aider exits 0 even when the model call failed, so
//! the output decides). `agency stop` sends Ctrl-C, aider's own interrupt.
//!
//! `classify` reads aider 0.86: its `(Y)es/(N)o` questions; the spinner and retry lines
//! (working); API errors the last request ended on; the `>` prompt (idle).

use agency_plugin::*;

struct Aider;

/// Flags that keep aider from asking first-run questions agency cannot answer for the user.
const QUIET_START: &[&str] = &["--no-gitignore", "--analytics-disable", "--no-check-update", "--no-show-release-notes"];

/// Lines aider prints when a model call failed.
const ERRORS: &[&str] = &[
    "servers are down or overloaded",
    "rate limited you",
    "InternalServerError",
    "APIConnectionError",
    "AuthenticationError",
    "litellm.",
];

impl Runner for Aider {
    fn info() -> PluginInfo {
        PluginInfo::runner("aider", env!("CARGO_PKG_VERSION"), "aider (aider-chat)")
            .capability(Capability::exec("aider", &["**"]))
            .capability(Capability::env("OPENAI_API_KEY"))
            .capability(Capability::env("OPENAI_API_BASE"))
            .capability(Capability::env("ANTHROPIC_API_KEY"))
            .capability(Capability::env("GEMINI_API_KEY"))
            .capability(Capability::env("OPENROUTER_API_KEY"))
            .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let mut command = Command::new("aider").cwd(&run.worktree);
        for name in ["OPENAI_API_KEY", "OPENAI_API_BASE", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENROUTER_API_KEY"] {
            command = command.env_from_host(name);
        }
        let command = command.args(QUIET_START.iter().copied());
        let plan = match (request.mode, request.prompt) {
            (Mode::Headless, Some(prompt)) => LaunchPlan::new(command.args([
                "--message".to_string(),
                prompt,
                "--yes-always".into(),
                "--no-pretty".into(),
                "--no-fancy-input".into(),
            ]))
            .prompt_in_argv(),
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless aider run needs --prompt")),
            (Mode::Interactive, Some(prompt)) => LaunchPlan::new(command).paste_when_idle(&prompt),
            (Mode::Interactive, None) => LaunchPlan::new(command),
        };
        Ok(plan.interrupt_keys(&["C-c"]))
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        if let Some(line) = screen.find_in_tail(3, "(Y)es/(N)o") {
            return Observation::new(Activity::NeedsInput, "confirmation question", Some(line));
        }
        if let Some((_, line)) = screen.find_any_in_tail(3, &["Waiting for ", "Updating repo map", "Retrying in "]) {
            return Observation::new(Activity::Working, "waiting for the model", Some(line));
        }
        let prompt = screen.last_line().filter(|l| is_prompt(l));
        if let Some(line) = prompt {
            let before = screen.tail(8);
            if let Some(error) = before.iter().rev().skip(1).take_while(|l| !is_prompt(l)).find(|l| ERRORS.iter().any(|e| l.contains(e))) {
                return Observation::new(Activity::Error, "the last request failed", Some(error));
            }
            return Observation::new(Activity::Idle, "at the aider prompt", Some(line));
        }
        if screen.tail(1).is_empty() {
            return Observation::new(Activity::Starting, "nothing drawn yet", None);
        }
        if let Some(line) = screen.find_in_tail(12, "Aider v") {
            return Observation::new(Activity::Starting, "starting up", Some(line));
        }
        Observation::unknown("no aider marker on screen")
    }

    /// aider prints no JSON and exits 0 after a failed model call: an error line in the last
    /// output means failure.
    fn headless_result(output: String, exit_code: Option<i32>) -> HeadlessOutcome {
        let tail: Vec<&str> = output.lines().rev().filter(|l| !l.trim().is_empty()).take(20).collect();
        let error = tail.iter().find(|l| ERRORS.iter().any(|e| l.contains(e)));
        match error {
            Some(line) => HeadlessOutcome { ok: false, message: Some(line.trim().to_string()), resume_session: None },
            None => HeadlessOutcome::from_exit(&output, exit_code),
        }
    }
}

/// `> `, `architect> `, `multi> `: aider's input prompt (possibly with text being typed).
fn is_prompt(line: &str) -> bool {
    let word = line.split('>').next().unwrap_or("x");
    line.contains('>') && word.chars().all(|c| c.is_ascii_lowercase() || c == '-') && word.len() <= 12
}

export_runner!(Aider);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_and_headless_errors() {
        assert!(is_prompt("> "));
        assert!(is_prompt("architect> "));
        assert!(!is_prompt("Use > to redirect"));
        let out = "Aider v0.86.2\nlitellm.InternalServerError: Connection error.\nThe API provider's servers are down or overloaded.\n";
        let r = Aider::headless_result(out.into(), Some(0));
        assert!(!r.ok, "exit 0 after a failed call is a failure");
        assert!(r.message.unwrap().contains("overloaded"));
    }
}
