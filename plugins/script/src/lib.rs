//! Built-in step `script`: runs the repository's `scripts.<phase>` (from `agency.json`) with the
//! worktree as its working directory, non-interactively, with the configured timeout. The host
//! gives every command the run's `AGENCY_*` environment (the original system's, plus
//! `AGENCY_PHASE` and `AGENCY_NONINTERACTIVE=1`); this plugin adds `CI=1`. The script is taken from the main checkout (the
//! version the user controls, resolved like the original system did), so an agent cannot weaken
//! its own verification by editing the script in its worktree. An optional `.agency/out/<phase>.json` (`{schema_version, ok, summary,
//! data}`) may downgrade success to failure and add a summary, but never upgrades a failure.

use agency_plugin::*;

struct Script;

/// Used when no timeout is configured (the host normally passes `timeout_ms`).
const DEFAULT_TIMEOUT_MS: u32 = 10 * 60 * 1000;

impl Step for Script {
    fn info() -> PluginInfo {
        PluginInfo::step("script", env!("CARGO_PKG_VERSION"), "Runs the repository's scripts.<phase> from agency.json")
            .capability(Capability::exec("repo:**", &["**"]))
            .capability(Capability::env("CI"))
            .capability(Capability::read(Area::Worktree))
    }

    fn run(phase: Phase, run: RunInfo) -> Result<Outcome, Error> {
        let phase_name = phase_name(phase);
        let script = run.param("path").or(run.param("script")).ok_or_else(|| {
            Error::invalid_config(&format!("no script configured for {phase_name}"))
                .with_hint(&format!("set scripts.{phase_name}.path in agency.json (agency init writes stubs)"))
        })?;
        if script.starts_with('/') || script.split('/').any(|part| part == "..") {
            return Err(Error::invalid_config(&format!("script path {script:?} must stay inside the repository")));
        }
        let program = format!("{}/{}", run.repo_root, script);
        let out_dir = format!("{}/.agency/out", run.worktree);
        let command = Command::new(&program).cwd(&run.worktree).env("CI", "1");
        host::info(&format!("{phase_name}: running {script}"));
        let result = host::exec(&command, run.timeout_ms(DEFAULT_TIMEOUT_MS))?;
        let summary = match (result.timed_out, result.exit_code) {
            (true, _) => format!("{script} timed out after {}ms", result.duration_ms),
            (false, Some(0)) => format!("{script} succeeded"),
            (false, Some(code)) => format!("{script} failed with exit code {code}"),
            (false, None) => format!("{script} was killed by a signal"),
        };
        let outcome = Outcome::from_exec(&result, &summary);
        Ok(apply_output_file(outcome, &format!("{out_dir}/{phase_name}.json")))
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Setup => "setup",
        Phase::Verify => "verify",
        Phase::Archive => "archive",
    }
}

/// Merge `.agency/out/<phase>.json` into the outcome: it can turn success into failure and
/// replace the summary; an invalid file is reported in the summary and never trusted.
fn apply_output_file(mut outcome: Outcome, path: &str) -> Outcome {
    let Ok(text) = std::fs::read_to_string(path) else { return outcome };
    let parsed: Result<serde_json::Value, _> = serde_json::from_str(&text);
    let Some(object) = parsed.ok().filter(|v| v.is_object()) else {
        host::warn(&format!("{path} is not a JSON object; ignored"));
        outcome.summary.push_str(" (ignored invalid .agency/out file)");
        return outcome;
    };
    if object.get("schema_version").and_then(|v| v.as_str()).is_none_or(|v| !v.starts_with("1.")) {
        host::warn(&format!("{path} lacks schema_version \"1.x\"; ignored"));
        return outcome;
    }
    if object.get("ok").and_then(|v| v.as_bool()) == Some(false) && outcome.ok {
        outcome.ok = false;
        outcome.summary = format!("{} but {path} reports ok=false", outcome.summary);
    }
    if let Some(summary) = object.get("summary").and_then(|v| v.as_str()).filter(|s| !s.trim().is_empty()) {
        outcome.summary = summary.chars().take(500).collect();
    }
    if let Some(data) = object.get("data").filter(|d| d.is_object()) {
        outcome.data = Some(data.to_string());
    }
    outcome
}

export_step!(Script);
