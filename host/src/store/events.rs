//! `events.jsonl`: an append-only log of what happened to a run, one JSON object per line
//! (`schema_version`, `timestamp`, `repo_id`, `run_id`, `event`, `data`). Each event is written
//! with a single `write` on an `O_APPEND` descriptor, so concurrent writers never interleave
//! inside a line; a line torn by a crash is skipped (and counted) when reading.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{AgencyError, ErrorCode, Result};

pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub schema_version: String,
    pub timestamp: String,
    pub repo_id: String,
    pub run_id: String,
    pub event: String,
    #[serde(default)]
    pub data: Value,
}

impl Event {
    pub fn new(repo_id: &str, run_id: &str, event: &str, data: Value) -> Self {
        Event {
            schema_version: SCHEMA_VERSION.to_string(),
            timestamp: crate::clock::now_rfc3339(),
            repo_id: repo_id.to_string(),
            run_id: run_id.to_string(),
            event: event.to_string(),
            data,
        }
    }
}

/// Append one event as one line.
pub fn append(path: &Path, event: &Event) -> Result<()> {
    let mut line = serde_json::to_vec(event).map_err(|e| AgencyError::internal(format!("cannot encode event: {e}")))?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(&line))
        .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot append to events.jsonl", path, e))
}

/// All readable events plus the number of lines that could not be parsed.
pub fn read(path: &Path) -> (Vec<Event>, usize) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return (Vec::new(), 0);
    };
    let mut skipped = 0;
    let events = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).map_err(|_| skipped += 1).ok())
        .collect();
    (events, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        append(&path, &Event::new("r", "x", "run_started", serde_json::json!({"a": 1}))).unwrap();
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"schema_ver").unwrap();
        let (events, skipped) = read(&path);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "run_started");
        assert_eq!(skipped, 1);
    }
}
