//! Example verify step that runs the project's tests through `host.exec` — `cargo test` in the
//! worktree, nothing else — and reports a summary (`42 passed, 1 failed`) parsed from cargo's
//! `test result:` lines, with the counts as data for the record.

use agency_plugin::*;

struct CargoTest;

impl Step for CargoTest {
    fn info() -> PluginInfo {
        PluginInfo::step(
            "cargo-test-verify",
            env!("CARGO_PKG_VERSION"),
            "Runs cargo test and reports passed/failed counts",
        )
        .capability(Capability::exec("cargo", &["test", "**"]))
        // rustup and cargo find their toolchain and registry through these.
        .capability(Capability::env("CARGO_TERM_COLOR"))
        .capability(Capability::env("CARGO_HOME"))
        .capability(Capability::env("RUSTUP_HOME"))
        .capability(Capability::read(Area::Worktree))
    }

    fn run(_phase: Phase, run: RunInfo) -> Result<Outcome, Error> {
        let mut args = vec!["test".to_string(), "--color".into(), "never".into()];
        args.extend(run.param_list("args"));
        let command = Command::new("cargo")
            .args(args)
            .cwd(&run.worktree)
            .env("CARGO_TERM_COLOR", "never")
            .env_from_host("CARGO_HOME")
            .env_from_host("RUSTUP_HOME");
        let result = host::exec(&command, run.timeout_ms(30 * 60 * 1000))?;
        let (passed, failed) = count(&result.output_tail);
        let summary = match (result.timed_out, result.exit_code) {
            (true, _) => format!("cargo test timed out ({passed} passed before)"),
            (false, Some(0)) => format!("{passed} passed, {failed} failed"),
            (false, code) => format!("cargo test failed ({passed} passed, {failed} failed, exit {code:?})"),
        };
        let mut outcome = Outcome::from_exec(&result, &summary);
        outcome.data = Some(format!("{{\"passed\":{passed},\"failed\":{failed}}}"));
        Ok(outcome)
    }
}

/// Sum the counts of every `test result: ok. 3 passed; 0 failed; …` line.
fn count(output: &str) -> (u64, u64) {
    let number_before = |line: &str, word: &str| -> u64 {
        line.split(';')
            .find_map(|part| part.trim().strip_suffix(word)?.trim().rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    output
        .lines()
        .filter(|l| l.starts_with("test result:"))
        .fold((0, 0), |(p, f), line| (p + number_before(line, "passed"), f + number_before(line, "failed")))
}

export_step!(CargoTest);

#[cfg(test)]
mod tests {
    #[test]
    fn counts_every_result_line() {
        let out = "running 3 tests\ntest result: ok. 3 passed; 0 failed; 0 ignored\n\ntest result: FAILED. 5 passed; 2 failed; 1 ignored\n";
        assert_eq!(super::count(out), (8, 2));
        assert_eq!(super::count("no tests"), (0, 0));
    }
}
