//! What the host offers: logging into the plugin's log, and running commands through the
//! host's capability checker.

use crate::__private::runner_world::agency::plugin::host as imports;
use crate::{Command, Error, ExecResult, LogLevel};

/// Append a line to the plugin's log.
pub fn log(level: LogLevel, message: &str) {
    imports::log(level, message);
}

pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

pub fn error(message: &str) {
    log(LogLevel::Error, message);
}

/// Run `command` to completion (stdin closed), killing it after `timeout_ms`. Its output goes
/// to the step's log; the returned result holds the exit code and the output's tail. Fails
/// with [`crate::ErrorKind::Denied`] when the command was not declared and granted.
pub fn exec(command: &Command, timeout_ms: u32) -> Result<ExecResult, Error> {
    imports::exec(command, timeout_ms)
}
