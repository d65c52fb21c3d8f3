//! Helpers for `classify`: look at the last non-empty lines of a pane, find marker strings,
//! and build observations that carry the deciding line as evidence.

use crate::{Activity, Observation};

/// The visible text of a pane, split into lines.
pub struct Screen<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Screen<'a> {
    pub fn new(text: &'a str) -> Self {
        Screen { lines: text.lines().collect() }
    }

    /// The last `n` non-empty lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<&'a str> {
        let mut tail: Vec<&'a str> =
            self.lines.iter().rev().filter(|l| !l.trim().is_empty()).take(n).copied().collect();
        tail.reverse();
        tail
    }

    /// The last non-empty line.
    pub fn last_line(&self) -> Option<&'a str> {
        self.tail(1).into_iter().next()
    }

    /// The last line among the final `n` non-empty lines that contains `needle`.
    pub fn find_in_tail(&self, n: usize, needle: &str) -> Option<&'a str> {
        self.tail(n).into_iter().rev().find(|l| l.contains(needle))
    }

    /// The first of `needles` found in the final `n` non-empty lines, with its line.
    pub fn find_any_in_tail<'n>(&self, n: usize, needles: &[&'n str]) -> Option<(&'n str, &'a str)> {
        needles.iter().find_map(|needle| self.find_in_tail(n, needle).map(|line| (*needle, line)))
    }
}

impl<'a> Screen<'a> {
    /// The first `(marker, reason)` whose marker is in the final `n` non-empty lines: the
    /// reason and the line. Order the table by precedence.
    pub fn find_marker<'m>(&self, n: usize, markers: &[(&'m str, &'m str)]) -> Option<(&'m str, &'a str)> {
        markers.iter().find_map(|(marker, reason)| self.find_in_tail(n, marker).map(|line| (*reason, line)))
    }
}

impl Observation {
    /// `reason` is a noun phrase (the host shows "<id> runner saw <reason>"). `evidence` loses
    /// the frame of a boxed TUI (`│ Allow execution? │`) and its runs of spaces (status bars
    /// pad with dozens).
    pub fn new(activity: Activity, reason: &str, evidence: Option<&str>) -> Self {
        Observation { activity, reason: reason.to_string(), evidence: evidence.map(unframe), resume_session: None }
    }

    pub fn unknown(reason: &str) -> Self {
        Observation::new(Activity::Unknown, reason, None)
    }

    /// The agent's own session id shown on screen (to resume it later).
    pub fn with_resume_session(mut self, id: Option<String>) -> Self {
        self.resume_session = id;
        self
    }
}

/// A screen line without the box drawn around it and with its whitespace collapsed.
pub fn unframe(line: &str) -> String {
    const FRAME: &[char] = &['│', '┃', '║', '╎', '┆', '|'];
    let inner = line.trim().trim_matches(FRAME).trim();
    inner.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The word after `marker` in `line` (e.g. the id in `claude --resume <id>`), trimmed of
/// quotes and punctuation around it.
pub fn word_after(line: &str, marker: &str) -> Option<String> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let word = rest.split_whitespace().next()?.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_');
    (!word.is_empty()).then(|| word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_skips_blank_lines() {
        let screen = Screen::new("a\n\nb\n  \nc\n\n");
        assert_eq!(screen.tail(2), vec!["b", "c"]);
        assert_eq!(screen.last_line(), Some("c"));
        assert_eq!(screen.find_in_tail(3, "a"), Some("a"));
        assert_eq!(screen.find_in_tail(2, "a"), None);
    }

    #[test]
    fn words_after_markers_and_collapsed_evidence() {
        assert_eq!(word_after("Resume this session with: claude --resume 1a2b-3c.", "--resume").as_deref(), Some("1a2b-3c"));
        assert_eq!(word_after("no marker", "--resume"), None);
        let o = Observation::new(Activity::Working, "busy", Some("  esc to interrupt          ● high  "));
        assert_eq!(o.evidence.as_deref(), Some("esc to interrupt ● high"));
        assert_eq!(unframe(" │ Do you trust the files in this folder?      │ "), "Do you trust the files in this folder?");
    }
}
