//! Example third-party runner: [aider](https://aider.chat), which agency does not ship.
//! Interactive runs start `aider` and type the prompt at its `> ` prompt; headless runs use
//! `aider --message`. `classify` knows aider's confirmation questions, its spinner and its
//! prompt; the recorded screens in `screens/` are checked by `agency plugin test`.

use agency_plugin::*;

struct Aider;

impl Runner for Aider {
    fn info() -> PluginInfo {
        PluginInfo::runner("aider", env!("CARGO_PKG_VERSION"), "aider (example third-party runner)")
            .capability(Capability::exec("aider", &["**"]))
            .capability(Capability::env("OPENAI_API_KEY"))
            .capability(Capability::env("ANTHROPIC_API_KEY"))
            .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let command =
            Command::new("aider").cwd(&run.worktree).env_from_host("OPENAI_API_KEY").env_from_host("ANTHROPIC_API_KEY");
        Ok(match (request.mode, request.prompt) {
            (Mode::Headless, Some(prompt)) => LaunchPlan::new(command.args([
                "--message".to_string(),
                prompt,
                "--yes-always".into(),
                "--no-pretty".into(),
                "--no-fancy-input".into(),
            ])),
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless aider run needs --prompt")),
            (Mode::Interactive, Some(prompt)) => LaunchPlan::new(command).send_when_ready(Some("> "), &prompt),
            (Mode::Interactive, None) => LaunchPlan::new(command),
        })
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        if let Some(line) = screen.find_in_tail(3, "(Y)es/(N)o") {
            return Observation::new(Activity::NeedsInput, "confirmation question", Some(line));
        }
        if let Some(line) = screen.find_in_tail(5, "rate limited you") {
            return Observation::new(Activity::NeedsInput, "rate limited by the API provider", Some(line));
        }
        if let Some((_, line)) = screen.find_any_in_tail(3, &["Waiting for ", "Updating repo map", "Retrying in "]) {
            return Observation::new(Activity::Working, "waiting for the model", Some(line));
        }
        match screen.last_line() {
            Some(line) if line.trim_end().ends_with('>') => {
                Observation::new(Activity::Idle, "at the aider prompt", Some(line))
            }
            _ => Observation::unknown("no aider marker on screen"),
        }
    }
}

export_runner!(Aider);
