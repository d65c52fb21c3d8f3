//! Reading a headless agent's output: most print JSON lines (Claude's `stream-json`, Codex's
//! `exec --json`, Gemini's `-o stream-json`), some plain text.

pub use serde_json::Value;

/// Every line of `output` that is a JSON object, in order (other lines are skipped: a log
/// can start with warnings, and its first line may be cut off).
pub fn json_lines(output: &str) -> Vec<Value> {
    output.lines().filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok()).filter(Value::is_object).collect()
}

/// The string at `path` (object keys) inside `value`, if there is one.
pub fn json_str<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_skip_text_and_read_paths() {
        let lines = json_lines("warning: x\n{\"type\":\"a\",\"error\":{\"message\":\"m\"}}\n[1]\n{\"type\":\"b\"}\n");
        assert_eq!(lines.len(), 2);
        assert_eq!(json_str(&lines[0], &["error", "message"]), Some("m"));
        assert_eq!(json_str(&lines[1], &["missing"]), None);
    }
}
