//! `agency logs`: which logs a run has, printing one, and following one as it grows (a
//! headless runner log stops being followed when the agent exits).

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::query;

pub const KINDS: [&str; 5] = ["setup", "verify", "archive", "runner", "plugin"];

/// The logs of a run: (name, path, size in bytes) for those that exist.
pub fn available(env: &Env, reference: &str) -> Result<Vec<(String, PathBuf, u64)>> {
    let entry = query::find(env, reference, query::Purpose::Read)?;
    Ok(KINDS
        .iter()
        .filter_map(|kind| {
            let path = entry.paths.log(kind);
            let size = std::fs::metadata(&path).ok()?.len();
            Some((kind.to_string(), path, size))
        })
        .collect())
}

/// The path of one log, or `E_USAGE`/`E_RUN_NOT_FOUND`-style errors that say what exists.
pub fn path(env: &Env, reference: &str, kind: &str) -> Result<(PathBuf, PathBuf)> {
    if !KINDS.contains(&kind) {
        return Err(AgencyError::new(ErrorCode::Usage, format!("unknown log `{kind}`; one of: {}", KINDS.join(", ")))
            .with_hint(format!("agency logs {reference}   # lists the run's logs")));
    }
    let entry = query::find(env, reference, query::Purpose::Read)?;
    let path = entry.paths.log(kind);
    if !path.exists() {
        let interactive = kind == "runner"
            && entry.meta.as_ref().ok().and_then(|m| m.launch.as_ref()).is_some_and(|l| l.mode == "interactive");
        if interactive {
            // An interactive agent draws in its pane; nothing is logged, so none will come.
            return Err(AgencyError::new(
                ErrorCode::RunNotFound,
                format!("run {} is interactive: its agent writes to its tmux pane, not to a runner log", entry.run_id),
            )
            .with_hint(format!("agency attach {reference}   # or: agency show {reference} --capture")));
        }
        return Err(AgencyError::new(ErrorCode::RunNotFound, format!("run {} has no {kind} log yet", entry.run_id))
            .with_hint(format!("agency logs {reference}   # lists the run's logs")));
    }
    Ok((path, entry.paths.runner_exit()))
}

/// Call `sink` with the log's content, then (when `follow`) with each addition, until the
/// agent exits (runner log) or forever (other logs; the user interrupts).
pub fn stream(
    path: &PathBuf,
    stop_when_exists: Option<&PathBuf>,
    follow: bool,
    mut sink: impl FnMut(&[u8]),
) -> Result<()> {
    let mut file =
        std::fs::File::open(path).map_err(|e| AgencyError::io(ErrorCode::RunNotFound, "cannot open log", path, e))?;
    let mut buf = Vec::new();
    let mut position = 0u64;
    loop {
        buf.clear();
        let _ = file.seek(SeekFrom::Start(position));
        let read = file.read_to_end(&mut buf).unwrap_or(0);
        if read > 0 {
            position += read as u64;
            sink(&buf);
        }
        if !follow {
            return Ok(());
        }
        if read == 0 && stop_when_exists.is_some_and(|p| p.exists()) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
