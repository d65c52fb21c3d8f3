//! Built-in runner `shell`: the user's login shell in the worktree (the default for demos and
//! tests). Headless runs execute the prompt as a shell command.

use agency_plugin::*;

struct Shell;

impl Runner for Shell {
    fn info() -> PluginInfo {
        PluginInfo::runner(
            "shell",
            env!("CARGO_PKG_VERSION"),
            "Your shell in the run's worktree; --prompt runs a command",
        )
        .capability(Capability::exec("sh", &["-c", "*"]))
        .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let command = match (request.mode, &request.prompt) {
            (Mode::Headless, Some(prompt)) => Command::new("sh").args(["-c", prompt]),
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless shell run needs --prompt")),
            (Mode::Interactive, _) => Command::new("sh").args(["-c", "exec \"${SHELL:-/bin/sh}\""]),
        };
        let plan = LaunchPlan::new(command.cwd(&run.worktree));
        Ok(match (request.mode, request.prompt) {
            (Mode::Headless, Some(_)) => plan.prompt_in_argv(),
            (Mode::Interactive, Some(prompt)) => plan.paste_when_idle(&prompt),
            _ => plan,
        })
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        match screen.last_line() {
            Some(line) if ["$", "#", "%", ">"].iter().any(|p| line.trim_end().ends_with(p)) => {
                Observation::new(Activity::Idle, "shell prompt", Some(line))
            }
            Some(line) => Observation::new(Activity::Working, "output without a prompt", Some(line)),
            None => Observation::new(Activity::Starting, "nothing drawn yet", None),
        }
    }
}

export_runner!(Shell);
