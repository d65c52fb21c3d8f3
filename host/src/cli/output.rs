//! Where text goes: data (human or `--json`) on stdout; status, warnings, errors and hints on
//! stderr. Colour only when the stream is a terminal and `NO_COLOR` is unset; spinners only on
//! a terminal stderr. This file and `cli.rs` are the only places that print.

use std::io::{BufRead, IsTerminal, Write};

use crate::env::{Progress, Ui};
use crate::error::AgencyError;
use crate::safe_text;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub stdout_color: bool,
    pub stderr_color: bool,
    pub stderr_tty: bool,
    pub stdin_tty: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum Style {
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Red => "31",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Cyan => "36",
        }
    }
}

impl Output {
    pub fn detect() -> Output {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stderr_tty = std::io::stderr().is_terminal();
        Output {
            stdout_color: !no_color && std::io::stdout().is_terminal(),
            stderr_color: !no_color && stderr_tty,
            stderr_tty,
            stdin_tty: std::io::stdin().is_terminal(),
        }
    }

    /// Paint `text` for stdout (plain when colour is off).
    pub fn paint(&self, text: &str, style: Style) -> String {
        paint(self.stdout_color, text, style)
    }

    /// A line of data on stdout.
    pub fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Bytes on stdout as they are (completion scripts).
    pub fn raw(&self, bytes: &[u8]) {
        let _ = std::io::stdout().lock().write_all(bytes);
    }

    /// Pretty JSON on stdout (the only stdout output when `--json` is given).
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) {
        // Written as it is serialised, through one buffer: a listing of a thousand runs is
        // never held in memory as text.
        let mut out = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
        if serde_json::to_writer_pretty(&mut out, value).is_ok() {
            let _ = writeln!(out);
        }
        let _ = out.flush();
    }

    /// `key: value` lines, aligned.
    pub fn key_values(&self, pairs: &[(String, String)]) {
        for (key, value) in pairs {
            self.line(&format!("{key}: {value}"));
        }
    }

    /// A line already escaped and styled (a deferred status or warning).
    pub fn status_raw(&self, line: &str) {
        eprintln!("{line}");
    }

    pub fn status(&self, text: &str) {
        eprintln!("{}", escape_except_newlines(text));
    }

    pub fn warn(&self, text: &str) {
        eprintln!("{}", self.warning_line(text));
    }

    fn warning_line(&self, text: &str) -> String {
        format!("{} {}", paint(self.stderr_color, "warning:", Style::Yellow), escape_except_newlines(text))
    }

    /// The one error printer: `error_code:` first, then the message, details and the hint,
    /// each one line with control characters shown escaped (they may quote a plugin or git).
    pub fn error(&self, err: &AgencyError) {
        let one = |s: &str| safe_text::escape_controls(s).into_owned();
        let mut text = format!("error_code: {}\n", err.code);
        text.push_str(&format!("{} {}\n", paint(self.stderr_color, "error:", Style::Red), one(&err.message)));
        for (key, value) in &err.details {
            text.push_str(&format!("  {}: {}\n", one(key), one(value)));
        }
        text.push_str(&format!("{} {}\n", paint(self.stderr_color, "hint:", Style::Cyan), one(err.hint_or_default())));
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

pub fn paint(enabled: bool, text: &str, style: Style) -> String {
    if enabled { format!("\x1b[{}m{text}\x1b[0m", style.code()) } else { text.to_string() }
}

/// Width of `text` as displayed (ANSI escapes excluded, one column per char).
fn display_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| display_width(s)).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - display_width(cell) + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Escape control characters but keep line breaks (status text may list things).
fn escape_except_newlines(text: &str) -> String {
    text.split('\n').map(|line| safe_text::escape_controls(line).into_owned()).collect::<Vec<_>>().join("\n")
}

/// The terminal [`Ui`] given to pipelines. On a terminal, status lines and spinners show as
/// work happens. Otherwise nothing is printed while the command runs: status and warning
/// lines are kept and printed when it ends — after the error report if it failed — so a
/// script always reads `error_code:` as the first line of stderr.
pub struct TermUi {
    pub output: Output,
    deferred: std::cell::RefCell<Vec<String>>,
}

impl TermUi {
    pub fn new(output: Output) -> Self {
        TermUi { output, deferred: std::cell::RefCell::new(Vec::new()) }
    }
}

impl Ui for TermUi {
    fn status(&self, message: &str) {
        match self.output.stderr_tty {
            true => self.output.status(message),
            false => self.deferred.borrow_mut().push(escape_except_newlines(message)),
        }
    }

    fn warn(&self, message: &str) {
        match self.output.stderr_tty {
            true => self.output.warn(message),
            false => self.deferred.borrow_mut().push(self.output.warning_line(message)),
        }
    }

    fn take_deferred(&self) -> Vec<String> {
        std::mem::take(&mut self.deferred.borrow_mut())
    }

    fn interactive(&self) -> bool {
        self.output.stdin_tty && self.output.stderr_tty
    }

    fn ask(&self, prompt: &str) -> Option<String> {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_string()),
        }
    }

    fn progress(&self, label: &str) -> Box<dyn Progress + '_> {
        if self.output.stderr_tty {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(label.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            Box::new(Spinner(bar))
        } else {
            Box::new(Quiet)
        }
    }
}

struct Spinner(indicatif::ProgressBar);

impl Progress for Spinner {
    fn set_message(&self, message: &str) {
        self.0.set_message(message.to_string());
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

struct Quiet;

impl Progress for Quiet {
    fn set_message(&self, _message: &str) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_ignores_ansi() {
        let rows = vec![
            vec!["NAME".into(), "STATUS".into(), "X".into()],
            vec!["a-long-name".into(), paint(true, "ok", Style::Green), "y".into()],
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME         STATUS  X");
        assert!(lines[1].starts_with("a-long-name  \x1b[32mok\x1b[0m      y"));
    }
}
