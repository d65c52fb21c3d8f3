//! Example third-party runner: [OpenCode](https://opencode.ai), which agency does not ship.
//! Interactive runs start `opencode --prompt <p>`; headless runs use `opencode run --format
//! json`. `agency stop` presses Esc twice (OpenCode's own interrupt). `classify` knows OpenCode 1.18's permission dialog, its
//! busy footer (`esc interrupt`, retries included) and its idle input; the screens in
//! `screens/` were recorded from the real CLI by `plugins/record-screens.sh opencode` and are
//! checked by `agency plugin test`.

use agency_plugin::*;

struct OpenCode;

impl Runner for OpenCode {
    fn info() -> PluginInfo {
        PluginInfo::runner("opencode", env!("CARGO_PKG_VERSION"), "OpenCode (example third-party runner)")
            .capability(Capability::exec("opencode", &["**"]))
            .capability(Capability::env("OPENAI_API_KEY"))
            .capability(Capability::env("ANTHROPIC_API_KEY"))
            .capability(Capability::read(Area::Worktree))
    }

    fn plan(run: RunInfo, request: PlanRequest) -> Result<LaunchPlan, Error> {
        let mut command = Command::new("opencode")
            .cwd(&run.worktree)
            .env_from_host("OPENAI_API_KEY")
            .env_from_host("ANTHROPIC_API_KEY");
        if let Some(session) = &request.resume_session {
            command = command.args(["--session", session]);
        }
        let plan = match (request.mode, request.prompt) {
            (Mode::Headless, Some(prompt)) => {
                LaunchPlan::new(command.args(["run".to_string(), "--format".into(), "json".into(), prompt]))
                    .prompt_in_argv()
            }
            (Mode::Headless, None) => return Err(Error::invalid_config("a headless opencode run needs --prompt")),
            (Mode::Interactive, Some(prompt)) => LaunchPlan::new(command.args(["--prompt", &prompt])).prompt_in_argv(),
            (Mode::Interactive, None) => LaunchPlan::new(command),
        };
        // OpenCode asks for Esc twice before it interrupts a turn.
        Ok(plan.interrupt_keys(&["Escape", "Escape"]))
    }

    fn classify(screen: String) -> Observation {
        let screen = Screen::new(&screen);
        if let Some(line) = screen.find_in_tail(12, "Permission required") {
            return Observation::new(Activity::NeedsInput, "permission prompt", Some(line));
        }
        if let Some(line) = screen.find_in_tail(2, "[retrying in") {
            return Observation::new(Activity::Working, "busy (retrying the API)", Some(line));
        }
        if let Some(line) = screen.find_in_tail(3, "esc interrupt") {
            return Observation::new(Activity::Working, "busy", Some(line));
        }
        if let Some(line) = screen.find_in_tail(10, "Ask anything") {
            return Observation::new(Activity::Idle, "at the input", Some(line));
        }
        if let Some((_, line)) = screen.find_any_in_tail(4, &["tab agents", "ctrl+p commands"]) {
            return Observation::new(Activity::Idle, "at the input", Some(line));
        }
        match screen.last_line() {
            None => Observation::new(Activity::Starting, "nothing drawn yet", None),
            Some(_) => Observation::unknown("no OpenCode marker on screen"),
        }
    }

    /// `run --format json` prints one event per line; an `error` event means failure.
    fn headless_result(output: String, exit_code: Option<i32>) -> HeadlessOutcome {
        let events = output::json_lines(&output);
        let error = events.iter().rev().find(|v| output::json_str(v, &["type"]) == Some("error"));
        let session = events.iter().find_map(|v| output::json_str(v, &["sessionID"]));
        let text = events.iter().rev().find_map(|v| {
            (output::json_str(v, &["type"]) == Some("text")).then(|| output::json_str(v, &["part", "text"]))?
        });
        HeadlessOutcome {
            ok: exit_code == Some(0) && error.is_none(),
            message: match error {
                Some(e) => output::json_str(e, &["error", "data", "message"])
                    .or_else(|| output::json_str(e, &["error", "message"]))
                    .map(String::from)
                    .or(Some("failed".into())),
                None => text.map(String::from),
            },
            resume_session: session.map(String::from),
        }
    }
}

export_runner!(OpenCode);
