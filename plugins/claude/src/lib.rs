//! Built-in runner `claude` (Claude Code). Interactive runs pass the first prompt on the
//! command line; headless runs use print mode with streamed JSON. `classify` reads the screen
//! markers of Claude Code 2.1.x: approval dialogs and questions before the busy spinner, the
//! busy spinner before the idle prompt (see `tests/screens/` for the recorded screens).

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
    ("Choose the text style", "first-run setup"),
    ("You've hit your", "usage limit"),
    ("What should Claude do instead?", "interrupted, waiting for instructions"),
];

/// Spinner glyphs Claude draws in front of the busy line.
const SPINNER_GLYPHS: &[char] = &['·', '✢', '✳', '✶', '✻', '✽', '*', '●', '◐', '◑', '◒', '◓'];

impl Runner for Claude {
    fn info() -> PluginInfo {
        PluginInfo::runner("claude", env!("CARGO_PKG_VERSION"), "Claude Code (claude)")
            .capability(Capability::exec("claude", &["**"]))
            .capability(Capability::env("ANTHROPIC_API_KEY"))
            .capability(Capability::env("CLAUDE_CONFIG_DIR"))
            .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let mut command = Command::new("claude")
            .cwd(&run.worktree)
            .env_from_host("ANTHROPIC_API_KEY")
            .env_from_host("CLAUDE_CONFIG_DIR");
        command = match (request.mode, request.prompt) {
            (Mode::Headless, Some(prompt)) => command.args([
                "-p".to_string(),
                prompt,
                "--output-format".into(),
                "stream-json".into(),
                "--verbose".into(),
            ]),
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless claude run needs --prompt")),
            (Mode::Interactive, Some(prompt)) => command.arg(&prompt),
            (Mode::Interactive, None) => command,
        };
        Ok(LaunchPlan::new(command))
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        if let Some(line) = screen.find_in_tail(8, "claude --resume") {
            return Observation::new(Activity::Exited, "Claude Code exited", Some(line));
        }
        if let Some((reason, line)) = screen.find_marker(25, NEEDS_INPUT) {
            return Observation::new(Activity::NeedsInput, reason, Some(line));
        }
        // The interrupt hint is trusted only in the status lines at the bottom.
        if let Some((_, line)) = screen.find_any_in_tail(4, &["esc to interrupt", "ctrl+c to interrupt"]) {
            return Observation::new(Activity::Working, "busy (interrupt hint shown)", Some(line));
        }
        if let Some(line) = screen.tail(8).into_iter().rev().find(|l| is_spinner_line(l)) {
            return Observation::new(Activity::Working, "busy (spinner)", Some(line));
        }
        if let Some(line) = screen.find_in_tail(6, "Running…") {
            return Observation::new(Activity::Working, "running a tool", Some(line));
        }
        if let Some(line) = screen.find_in_tail(4, "? for shortcuts") {
            return Observation::new(Activity::Idle, "at the prompt", Some(line));
        }
        if let Some(line) = screen.tail(6).into_iter().rev().find(|l| l.trim() == "❯" || l.trim() == ">") {
            return Observation::new(Activity::Idle, "at the prompt", Some(line));
        }
        Observation::unknown("no Claude Code marker on screen")
    }
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
