//! Built-in runner `command`: runs the command line configured for a runner name in the
//! user's `config.json` (`"runners": {"mytool": "mytool --fast"}`). Interactive runs paste the
//! prompt once `classify` sees the command idle at a prompt (not at the first byte of output,
//! not into a question); headless runs feed the prompt on stdin. It knows no agent: for
//! Claude, Codex, Gemini and aider use their own runners.

use agency_plugin::*;

struct CommandRunner;

impl Runner for CommandRunner {
    fn info() -> PluginInfo {
        PluginInfo::runner(
            "command",
            env!("CARGO_PKG_VERSION"),
            "Any agent command configured in config.json `runners`",
        )
        .capability(Capability::exec("*", &["**"]))
        .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let line = run.param("command").ok_or_else(|| {
            Error::invalid_config(&format!("runner `{}` has no command configured", run.runner))
                .with_hint(&format!(r#"add "runners": {{"{}": "<command line>"}} to config.json"#, run.runner))
        })?;
        let words = split_words(line)?;
        let (program, args) =
            words.split_first().ok_or_else(|| Error::invalid_config("the configured command is empty"))?;
        let plan = LaunchPlan::new(Command::new(program).args(args.iter().cloned()).cwd(&run.worktree));
        Ok(match (request.mode, request.prompt) {
            (Mode::Headless, Some(prompt)) => plan.stdin(&prompt),
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless run needs --prompt")),
            (Mode::Interactive, Some(prompt)) => plan.paste_when_idle(&prompt),
            (Mode::Interactive, None) => plan,
        })
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        let tail = screen.tail(4);
        let asks = ["(y/n)", "[y/n]", "[Y/n]", "[y/N]", "(Y)es/(N)o", "Press enter", "Press Enter"];
        if let Some((_, line)) = screen.find_any_in_tail(4, &asks) {
            return Observation::new(Activity::NeedsInput, "waiting for an answer", Some(line));
        }
        match tail.last() {
            Some(line) if line.trim_end().ends_with('?') => {
                Observation::new(Activity::NeedsInput, "asked a question", Some(line))
            }
            Some(line) if ["$", "#", "%", ">"].iter().any(|p| line.trim_end().ends_with(p)) => {
                Observation::new(Activity::Idle, "at a prompt", Some(line))
            }
            Some(line) => Observation::new(Activity::Unknown, "output without a recognisable prompt", Some(line)),
            None => Observation::new(Activity::Starting, "nothing drawn yet", None),
        }
    }
}

export_runner!(CommandRunner);
