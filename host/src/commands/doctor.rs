//! `agency doctor`: check that a run can succeed here.

use clap::Args;

use crate::admin::doctor::{self, CheckState};
use crate::cli::CommandContext;
use crate::cli::output::Style;
use crate::error::Result;

/// Check git, tmux, gh, the repository, agency.json, scripts and data dirs; exit 0 only when a run can succeed
#[derive(Debug, Args)]
pub struct DoctorArgs {}

pub fn cmd_doctor(ctx: &CommandContext, _args: DoctorArgs) -> Result<()> {
    let mut report = doctor::doctor(&ctx.env);
    ctx.out.key_values(&report.facts);
    for check in &report.checks {
        let state = match check.state {
            CheckState::Ok => ctx.out.paint("ok", Style::Green),
            CheckState::Warn => ctx.out.paint("warn", Style::Yellow),
            CheckState::Fail => ctx.out.paint("FAIL", Style::Red),
        };
        ctx.out.line(&format!("check.{}: {state} {}", check.name, check.detail));
    }
    let passed = report.passed();
    ctx.out.line(&format!("status: {}", if passed { "ok" } else { "failed" }));
    report.first_failure().map_or(Ok(()), Err)
}
