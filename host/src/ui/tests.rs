//! Every view drawn with ratatui's test backend at 80×24 (the smallest supported terminal) and
//! compared with insta snapshots; keys checked against the state they produce.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Action, App, CleanPlan, Effect, Load, Mode, NewRun, Page, Row};
use super::draw;
use crate::status::Tone;

fn row(name: &str, label: &str, tone: Tone, reason: &str) -> Row {
    Row {
        run_id: format!("20261202120000-{name}"),
        name: name.into(),
        repo: "widgets".into(),
        label: label.into(),
        tone,
        age: "5m".into(),
        reason: reason.into(),
        pr: String::new(),
        archived: false,
        live: true,
    }
}

fn app() -> App {
    let mut app = App::new(false, false);
    app.update_rows(vec![
        row(
            "fix-login",
            "needs input",
            Tone::NeedsYou,
            "claude runner saw permission prompt at 14:02: 'Do you want to proceed?'",
        ),
        row("docs", "working", Tone::Active, "codex runner saw busy at 14:03: '• Working (12s • esc to interrupt)'"),
        Row {
            pr: "#12".into(),
            ..row("api-retry", "ready for review", Tone::Done, "agent reported at 13:50: retries added")
        },
        Row { archived: true, live: false, ..row("old-spike", "abandoned", Tone::Quiet, "archived 2026-11-30") },
    ]);
    app.preview = Some("❯ \n──────────\n  ? for shortcuts".into());
    app
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw::draw(frame, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..buffer.area.height)
        .map(|y| {
            let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn the_list_and_live_screen_fit_80_by_24() {
    insta::assert_snapshot!("ui_list_80x24", render(&app(), 80, 24));
}

#[test]
fn all_repositories_add_a_column_and_scale_up() {
    let mut app = app();
    app.all_repos = true;
    insta::assert_snapshot!("ui_list_all_repos_120x30", render(&app, 120, 30));
}

#[test]
fn help_form_and_confirmations() {
    let mut app = app();
    app.mode = Mode::Help;
    insta::assert_snapshot!("ui_help", render(&app, 80, 24));
    app.mode =
        Mode::New(NewRun { name: "fix-nav".into(), prompt: "Fix the nav bar".into(), field: 4, ..NewRun::default() });
    insta::assert_snapshot!("ui_new_run", render(&app, 80, 24));
    app.mode = Mode::ConfirmMerge { run_id: "x".into(), name: "api-retry".into(), typed: "mer".into() };
    insta::assert_snapshot!("ui_confirm_merge", render(&app, 80, 24));
    app.mode = Mode::ConfirmClean(CleanPlan {
        run_id: "x".into(),
        name: "docs".into(),
        saved: vec!["HEAD, the run branch, the index and every tracked or untracked change".into()],
        unsaved: vec!["node_modules (2.1 GiB)".into()],
    });
    insta::assert_snapshot!("ui_confirm_clean", render(&app, 80, 24));
    app.mode = Mode::Page(Page {
        title: "diff of docs against its parent (main)".into(),
        lines: vec!["diff --git a/README.md b/README.md".into(), "+new line".into()],
        scroll: 0,
        log: None,
    });
    insta::assert_snapshot!("ui_diff_page", render(&app, 80, 24));
}

#[test]
fn an_empty_dashboard_says_how_to_start() {
    insta::assert_snapshot!("ui_empty", render(&App::new(false, false), 80, 24));
}

#[test]
fn keys_map_to_the_cli_commands() {
    let mut app = app();
    assert_eq!(app.selected_row().unwrap().name, "fix-login");
    let id = app.selected_row().unwrap().run_id.clone();
    assert_eq!(app.key(key(KeyCode::Char('s'))), Effect::Run(Action::Stop(id.clone())));
    assert_eq!(Action::Stop(id.clone()).argv(), ["stop", &id]);
    assert_eq!(app.key(key(KeyCode::Enter)), Effect::Attach(id.clone()));
    assert_eq!(app.key(key(KeyCode::Char('c'))), Effect::Load(Load::CleanPlan(id.clone())));
    // Merge needs the word typed out.
    assert_eq!(app.key(key(KeyCode::Char('m'))), Effect::None);
    for c in "merg".chars() {
        app.key(key(KeyCode::Char(c)));
    }
    assert_eq!(app.key(key(KeyCode::Enter)), Effect::None, "not yet: `merg`");
    app.key(key(KeyCode::Char('e')));
    assert_eq!(app.key(key(KeyCode::Enter)), Effect::Run(Action::Merge(id.clone())));
    assert_eq!(Action::Merge(id.clone()).argv(), ["--yes", "merge", &id]);
    // Moving, filtering, archived toggle.
    app.key(key(KeyCode::Down));
    assert_eq!(app.selected_row().unwrap().name, "docs");
    app.key(key(KeyCode::Char('/')));
    for c in "review".chars() {
        app.key(key(KeyCode::Char(c)));
    }
    app.key(key(KeyCode::Enter));
    assert_eq!(app.visible().iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["api-retry"]);
    app.key(key(KeyCode::Esc));
    assert_eq!(app.visible().len(), 3, "archived runs are hidden");
    app.key(key(KeyCode::Char('a')));
    assert_eq!(app.visible().len(), 4);
    // A new run's form turns into `agency run`.
    app.key(key(KeyCode::Char('n')));
    for c in "nav".chars() {
        app.key(key(KeyCode::Char(c)));
    }
    app.key(key(KeyCode::Tab));
    app.key(key(KeyCode::Tab));
    for c in "shell".chars() {
        app.key(key(KeyCode::Char(c)));
    }
    match app.key(key(KeyCode::Enter)) {
        Effect::Run(action) => assert_eq!(action.argv(), ["run", "--detached", "--name", "nav", "--runner", "shell"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Effect::Quit);
    assert_eq!(app.key(key(KeyCode::Char('q'))), Effect::Quit);
}

#[test]
fn a_run_that_turns_needs_input_alerts_once() {
    let mut app = App::new(false, true);
    let working = row("a", "working", Tone::Active, "busy");
    assert!(app.update_rows(vec![working.clone()]).is_empty(), "the first read raises nothing");
    let waiting = row("a", "needs input", Tone::NeedsYou, "permission prompt");
    assert_eq!(app.update_rows(vec![waiting.clone()]).len(), 1);
    assert!(app.update_rows(vec![waiting.clone()]).is_empty(), "once per turn");
    assert!(app.alerted.contains_key(&waiting.run_id), "highlighted while it waits");
    app.update_rows(vec![working.clone()]);
    assert!(!app.alerted.contains_key(&waiting.run_id));
    assert_eq!(app.update_rows(vec![row("a", "error", Tone::Problem, "API Error")]).len(), 1);
}

#[test]
fn diff_and_log_pages_never_send_control_characters() {
    // A worktree file or a log line carrying terminal escapes (clear screen, set title, bell).
    let hostile = "+line \u{1b}[2J\u{1b}]0;pwned\u{7}\n-other\r\n";
    let lines = crate::ui::work::page_lines(hostile);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| !l.chars().any(char::is_control)), "{lines:?}");
    assert!(lines[0].starts_with("+line "), "{lines:?}");
}
