//! `events.jsonl`: an append-only log of what happened to a run, one JSON object per line
//! (`schema_version`, `timestamp`, `repo_id`, `run_id`, `event`, `data`). Each event is written
//! with a single `write` on an `O_APPEND` descriptor, so concurrent writers never interleave
//! inside a line. A line torn by a crash or a full disk is skipped (and counted) when reading,
//! lines are decoded one by one (one bad byte costs one line, not the log), and an append after
//! a torn line starts on a new line so the torn one never swallows the next event.

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
    let encoded = serde_json::to_vec(event).map_err(|e| AgencyError::internal(format!("cannot encode event: {e}")))?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| {
            let mut line = Vec::with_capacity(encoded.len() + 2);
            if !ends_with_newline(&mut f)? {
                line.push(b'\n');
            }
            line.extend_from_slice(&encoded);
            line.push(b'\n');
            f.write_all(&line)
        })
        .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot append to events.jsonl", path, e))
}

/// True when the file is empty or its last byte is a newline. Two writers racing past a torn
/// line may both add a newline: an empty line, which readers skip.
fn ends_with_newline(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// All readable events plus the number of lines that could not be parsed.
pub fn read(path: &Path) -> (Vec<Event>, usize) {
    let Ok(Some(bytes)) = super::read::read_prefix(path, super::read::MAX_EVENTS_BYTES) else {
        return (Vec::new(), 0);
    };
    let mut skipped = 0;
    let events = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .filter_map(|l| serde_json::from_slice(l).map_err(|_| skipped += 1).ok())
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

    #[test]
    fn a_bad_byte_costs_one_line_and_the_next_append_starts_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        append(&path, &Event::new("r", "x", "run_started", serde_json::json!({"title": "café — 日本語"}))).unwrap();
        // A torn multi-byte character at the end, as a full disk leaves it.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"event\":\"x\",\"m\":\"\xe6\x97")
            .unwrap();
        append(&path, &Event::new("r", "x", "session_started", Value::Null)).unwrap();
        let (events, skipped) = read(&path);
        let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(names, ["run_started", "session_started"]);
        assert_eq!(skipped, 1);
    }
}
