//! Built-in runner `codex` (OpenAI Codex CLI). Interactive runs pass the first prompt on the
//! command line; headless runs use `codex exec --json`. `classify` reads the screen markers of
//! Codex 0.1xx: approvals and questions first (their footer also says "esc to interrupt"),
//! then the busy line, then the idle composer.

use agency_plugin::*;

struct Codex;

const NEEDS_INPUT: &[(&str, &str)] = &[
    ("Would you like to run the following command?", "command approval"),
    ("Would you like to make the following edits?", "edit approval"),
    ("Press enter to confirm or esc to cancel", "approval"),
    ("Allow command?", "command approval"),
    ("enter to submit answer", "question"),
    ("unanswered)", "question"),
    ("Trust this folder?", "folder trust dialog"),
    ("Do you trust the contents of this directory?", "folder trust dialog"),
    ("Welcome to Codex", "sign-in required"),
    ("You've hit your usage limit", "usage limit"),
    ("tell the model what to do differently", "interrupted, waiting for instructions"),
];

impl Runner for Codex {
    fn info() -> PluginInfo {
        PluginInfo::runner("codex", env!("CARGO_PKG_VERSION"), "OpenAI Codex CLI (codex)")
            .capability(Capability::exec("codex", &["**"]))
            .capability(Capability::env("OPENAI_API_KEY"))
            .capability(Capability::env("CODEX_HOME"))
            .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let mut command =
            Command::new("codex").cwd(&run.worktree).env_from_host("OPENAI_API_KEY").env_from_host("CODEX_HOME");
        command = match (request.mode, request.prompt) {
            (Mode::Headless, Some(prompt)) => command.args(["exec".to_string(), "--json".into(), prompt]),
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless codex run needs --prompt")),
            (Mode::Interactive, Some(prompt)) => command.arg(&prompt),
            (Mode::Interactive, None) => command,
        };
        Ok(LaunchPlan::new(command))
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        if let Some(line) = screen.find_in_tail(8, "codex resume") {
            return Observation::new(Activity::Exited, "Codex exited", Some(line));
        }
        if let Some((reason, line)) = screen.find_marker(25, NEEDS_INPUT) {
            return Observation::new(Activity::NeedsInput, reason, Some(line));
        }
        if let Some((_, line)) = screen.find_any_in_tail(8, &["• Working (", "• Running ", "esc to interrupt"]) {
            return Observation::new(Activity::Working, "busy", Some(line));
        }
        if let Some((_, line)) = screen.find_any_in_tail(6, &["Ask Codex to do anything", "? for shortcuts"]) {
            return Observation::new(Activity::Idle, "at the prompt", Some(line));
        }
        if let Some(line) = screen.tail(6).into_iter().rev().find(|l| l.trim_start().starts_with('›')) {
            return Observation::new(Activity::Idle, "at the prompt", Some(line));
        }
        Observation::unknown("no Codex marker on screen")
    }
}

export_runner!(Codex);
