//! Text that came from outside agency — a plugin's reason or error, an agent's status file, a
//! title, git's stderr — made safe to show on a terminal: control characters (ANSI escapes,
//! carriage returns, newlines) are shown as visible escapes instead of being interpreted, and
//! one-line fields stay on one line. Every human rendering of such text goes through here.

use std::borrow::Cow;

/// Escape every control character (C0, DEL, C1) except tab, which becomes a space. A newline
/// becomes the two characters `\n`, an ESC `\e`, anything else `\u{..}`.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push_str("\\e"),
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn is_control(c: char) -> bool {
    c.is_control()
}

/// One display line: runs of whitespace (newlines included) collapse to one space, the ends
/// are trimmed, control characters are escaped, and the result is cut to `max` characters
/// with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let escaped = escape_controls(&collapsed);
    truncate(&escaped, max)
}

/// Cut `text` to at most `max` characters, ending with `…` when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Whether `text` holds a control character other than newline and tab (for inputs that must
/// be refused rather than escaped, such as keystrokes a plugin wants typed into a pane).
pub fn has_control_except_newline(text: &str) -> bool {
    text.chars().any(|c| is_control(c) && c != '\n' && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_interpret() {
        assert_eq!(escape_controls("plain ü ✓"), "plain ü ✓");
        assert_eq!(escape_controls("a\x1b[31mred\x1b[0m"), "a\\e[31mred\\e[0m");
        assert_eq!(escape_controls("two\nlines\r"), "two\\nlines\\r");
        assert_eq!(escape_controls("bell\x07 c1\u{9b}"), "bell\\u{7} c1\\u{9b}");
        assert_eq!(escape_controls("tab\there"), "tab here");
    }

    #[test]
    fn one_line_collapses_and_cuts() {
        assert_eq!(one_line("  a\n\n  b   c ", 80), "a b c");
        assert_eq!(one_line(&format!("x{}y", " ".repeat(150)), 80), "x y");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("forged\nrow\x1b[2J", 80), "forged row\\e[2J");
    }
}
