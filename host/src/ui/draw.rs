//! Rendering the dashboard state (pure: the same state always draws the same frame). Fits
//! 80×24: a header line, the run list, the selected run's live screen, a status line and the
//! key hints; pages (details, diff, logs, help) and forms take the middle. Without colour
//! (`NO_COLOR`) the tones become bold and reversed text.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row as TableRow, Table, TableState, Wrap};

use super::app::{App, Mode, NewRun, Page};
use crate::status::Tone;

pub fn draw(frame: &mut Frame, app: &App) {
    let [header, body, status, hints] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(6), Constraint::Length(1), Constraint::Length(1)])
            .areas(frame.area());
    frame.render_widget(Paragraph::new(header_line(app)), header);
    match &app.mode {
        Mode::Page(page) => draw_page(frame, body, page),
        Mode::Help => draw_help(frame, body),
        _ => draw_list_and_preview(frame, body, app),
    }
    match &app.mode {
        Mode::New(form) => draw_form(frame, body, form),
        Mode::ConfirmMerge { name, typed, .. } => {
            let text = vec![
                Line::from(format!("Merge the pull request of `{name}`, then archive the run?")),
                Line::from("Type merge and press Enter (Esc cancels):"),
                Line::from(format!("> {typed}")),
            ];
            popup(frame, body, "merge", text, 60);
        }
        Mode::ConfirmClean(plan) => {
            let mut text = vec![Line::from(format!("Clean `{}`: save its work, then remove it.", plan.name))];
            text.extend(plan.saved.iter().map(|l| Line::from(format!("  saved: {l}"))));
            if plan.unsaved.is_empty() {
                text.push(Line::from("Nothing is deleted unsaved. y: clean · Esc: cancel"));
            } else {
                text.extend(plan.unsaved.iter().map(|l| Line::from(format!("  NOT saved: {l}"))));
                text.push(Line::from("F: clean and delete those unsaved · Esc: cancel"));
            }
            popup(frame, body, "clean", text, 70);
        }
        _ => {}
    }
    frame.render_widget(Paragraph::new(status_line(app)), status);
    frame.render_widget(Paragraph::new(hint_line(app)).style(Style::default().add_modifier(Modifier::DIM)), hints);
}

fn header_line(app: &App) -> Line<'static> {
    let visible = app.visible();
    // Runs waiting on a question or stopped on an error (the ones that alert).
    let waiting = visible.iter().filter(|r| app.alerted.contains_key(&r.run_id)).count();
    let scope = if app.all_repos { "all repositories" } else { "this repository" };
    let mut spans = vec![
        Span::styled(" agency ", Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)),
        Span::raw(format!(" {scope} · {} runs", visible.len())),
    ];
    if waiting > 0 {
        spans.push(Span::styled(format!(" · {waiting} need you"), tone_style(app, Tone::NeedsYou)));
    }
    if app.show_archived {
        spans.push(Span::raw(" · archived shown"));
    }
    if !app.filter.is_empty() || app.mode == Mode::Filter {
        spans.push(Span::raw(format!(" · filter: {}", app.filter)));
        if app.mode == Mode::Filter {
            spans.push(Span::styled("_", Style::default().add_modifier(Modifier::SLOW_BLINK)));
        }
    }
    Line::from(spans)
}

fn draw_list_and_preview(frame: &mut Frame, area: Rect, app: &App) {
    let visible = app.visible();
    // The list gets what it needs up to half the body; the live screen the rest.
    let list_height = (visible.len() as u16 + 1).clamp(2, (area.height / 2).max(3));
    let [list, preview] = Layout::vertical([Constraint::Length(list_height), Constraint::Min(3)]).areas(area);
    if visible.is_empty() {
        let text = match app.rows.is_empty() {
            true => "No runs yet. n starts one; agency run --help has the details.",
            false => "No runs match (Esc clears the filter; a shows archived runs).",
        };
        frame.render_widget(Paragraph::new(text), list);
    } else {
        let mut header = vec!["NAME", "STATUS", "AGE", "PR", "REASON"];
        if app.all_repos {
            header.insert(1, "REPO");
        }
        let rows = visible.iter().map(|r| {
            let mut cells = vec![Cell::from(r.name.clone()), Cell::from(r.label.clone()), Cell::from(r.age.clone())];
            cells.push(Cell::from(r.pr.clone()));
            cells.push(Cell::from(r.reason.clone()));
            if app.all_repos {
                cells.insert(1, Cell::from(r.repo.clone()));
            }
            let mut style = tone_style(app, r.tone);
            if app.alerted.contains_key(&r.run_id) {
                style = style.add_modifier(Modifier::BOLD);
            }
            TableRow::new(cells).style(style)
        });
        let mut widths = vec![
            Constraint::Length(longest(visible.iter().map(|r| r.name.as_str()), 4, 24)),
            Constraint::Length(longest(visible.iter().map(|r| r.label.as_str()), 6, 22)),
            Constraint::Length(4),
            Constraint::Length(longest(visible.iter().map(|r| r.pr.as_str()), 2, 6)),
            Constraint::Min(10),
        ];
        if app.all_repos {
            widths.insert(1, Constraint::Length(longest(visible.iter().map(|r| r.repo.as_str()), 4, 16)));
        }
        let table = Table::new(rows, widths)
            .header(TableRow::new(header).style(Style::default().add_modifier(Modifier::BOLD)))
            .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
        let mut state = TableState::default().with_selected(Some(app.selected));
        frame.render_stateful_widget(table, list, &mut state);
    }
    let selected = app.selected_row();
    let title = match selected {
        Some(r) if r.live => format!(" {} — live screen (Enter attaches) ", r.name),
        Some(r) => format!(" {} — {} ", r.name, r.label),
        None => String::new(),
    };
    let block = Block::default().borders(Borders::TOP).title(title);
    let text = match (&app.preview, selected) {
        (Some(screen), _) => preview_text(app, screen, preview.height.saturating_sub(1)),
        (None, Some(r)) => Text::from(vec![Line::from(r.reason.clone())]),
        (None, None) => Text::default(),
    };
    frame.render_widget(Paragraph::new(text).block(block), preview);
}

/// The last `height` lines of the pane with content (a screen's bottom is where agents draw
/// their prompt and status), with its colours unless colour is off.
fn preview_text(app: &App, screen: &str, height: u16) -> Text<'static> {
    let trimmed = screen.trim_end_matches(['\n', ' ']);
    let lines: Vec<&str> = trimmed.lines().collect();
    let tail = lines[lines.len().saturating_sub(height as usize)..].join("\n");
    if !app.color {
        // Captured without colours (work::preview), so plain text.
        return Text::from(tail);
    }
    use ansi_to_tui::IntoText;
    match tail.into_text() {
        Ok(text) => text,
        Err(_) => Text::from(crate::safe_text::escape_controls(&tail).into_owned()),
    }
}

fn longest<'a>(values: impl Iterator<Item = &'a str>, min: u16, max: u16) -> u16 {
    (values.map(|v| v.chars().count()).max().unwrap_or(0) as u16).clamp(min, max)
}

fn draw_page(frame: &mut Frame, area: Rect, page: &Page) {
    let hint = if page.log.is_some() { " (Tab: next log · Esc: back) " } else { " (Esc: back) " };
    let block = Block::default().borders(Borders::TOP).title(format!(" {}{hint}", page.title));
    let height = area.height.saturating_sub(1) as usize;
    let lines: Vec<Line> = page.lines.iter().skip(page.scroll).take(height).map(|l| Line::from(l.clone())).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Every key, one line each (also README's key table).
pub const KEYS: &[(&str, &str)] = &[
    ("↑ ↓ j k", "select a run"),
    ("Enter", "attach to its session (detach returns here)"),
    ("n", "new run (name, title, runner, parent, prompt)"),
    ("s / K", "stop the agent's turn / kill the session"),
    ("r", "resume the agent"),
    ("v / p / m", "verify / push and open the PR / merge (type merge)"),
    ("c / R", "clean (shows what is saved first) / restore"),
    ("d / l / i", "diff against the parent / logs / details"),
    ("/ a", "filter / show archived runs"),
    ("? q", "this help / quit"),
];

fn draw_help(frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = KEYS.iter().map(|(k, what)| Line::from(format!("  {k:<10} {what}"))).collect();
    lines.push(Line::from(""));
    lines.push(Line::from("  Actions run the same agency commands as the CLI; their outcome shows below."));
    lines.push(Line::from("  Any key closes this help."));
    let block = Block::default().borders(Borders::TOP).title(" keys ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_form(frame: &mut Frame, area: Rect, form: &NewRun) {
    let mut text: Vec<Line> = NewRun::LABELS
        .iter()
        .zip(form.values())
        .enumerate()
        .map(|(i, (label, value))| {
            let cursor = if i == form.field { "_" } else { "" };
            let line = format!("{} {label:>7}: {value}{cursor}", if i == form.field { ">" } else { " " });
            Line::from(line)
        })
        .collect();
    text.push(Line::from("Tab: next field · Enter: start the run · Esc: cancel"));
    popup(frame, area, "new run (empty fields use the defaults)", text, 70);
}

/// A box in the middle of `area`, as tall as its wrapped text.
fn popup(frame: &mut Frame, area: Rect, title: &str, text: Vec<Line>, width: u16) {
    let width = width.min(area.width);
    let inner = width.saturating_sub(2).max(1) as usize;
    let wrapped: usize = text.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let height = (wrapped as u16 + 2).min(area.height);
    let rect = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    frame.render_widget(Clear, rect);
    let block = Block::default().borders(Borders::ALL).title(format!(" {title} "));
    frame.render_widget(Paragraph::new(text).block(block).wrap(Wrap { trim: false }), rect);
}

fn status_line(app: &App) -> Line<'static> {
    if !app.busy.is_empty() {
        return Line::from(format!(" … {}", app.busy.join(", ")));
    }
    match &app.notice {
        Some(n) => Line::from(Span::styled(
            format!(" {}", n.text),
            if n.problem { tone_style(app, Tone::Problem) } else { Style::default() },
        )),
        None => Line::from(""),
    }
}

fn hint_line(app: &App) -> Line<'static> {
    let text = match &app.mode {
        Mode::Filter => " type to filter · Enter: keep · Esc: clear",
        Mode::Page(_) => " ↑ ↓ PgUp PgDn: scroll · Esc: back",
        Mode::New(_) | Mode::ConfirmMerge { .. } | Mode::ConfirmClean(_) => " Esc: cancel",
        _ => {
            " Enter attach · n new · s stop · K kill · r resume · v verify · p push · m merge · c clean · ? help · q quit"
        }
    };
    Line::from(text)
}

fn tone_style(app: &App, tone: Tone) -> Style {
    if !app.color {
        return match tone {
            Tone::NeedsYou | Tone::Problem => Style::default().add_modifier(Modifier::BOLD),
            _ => Style::default(),
        };
    }
    match tone {
        Tone::Active => Style::default().fg(Color::Cyan),
        Tone::NeedsYou => Style::default().fg(Color::Yellow),
        Tone::Problem => Style::default().fg(Color::Red),
        Tone::Done => Style::default().fg(Color::Green),
        _ => Style::default().add_modifier(Modifier::DIM),
    }
}
