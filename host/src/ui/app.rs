//! The dashboard's state and what each key does to it. No terminal and no I/O here: a key
//! either changes the state or returns an [`Effect`] the loop carries out, so every view and
//! every key is testable with plain values.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::error::AgencyError;
use crate::status::Tone;

/// One run as the dashboard lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub run_id: String,
    pub name: String,
    /// The repository's directory name (shown with `--all-repos`).
    pub repo: String,
    pub label: String,
    pub tone: Tone,
    /// `5m`, `2h`, `3d`.
    pub age: String,
    pub reason: String,
    /// `#12` when the run has a pull request.
    pub pr: String,
    pub archived: bool,
    /// The run has a live tmux session to preview and attach to.
    pub live: bool,
}

/// A command the dashboard runs for the selected run (always the CLI's own command).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Stop(String),
    Kill(String),
    Resume(String),
    Verify(String),
    Push(String),
    /// Confirmed by typing `merge`.
    Merge(String),
    /// Confirmed after seeing what will be saved; `force` deletes what cannot be saved.
    Clean {
        run_id: String,
        force: bool,
    },
    Restore(String),
    New(NewRun),
}

impl Action {
    /// The `agency` arguments that carry it out.
    pub fn argv(&self) -> Vec<String> {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Action::Stop(id) => words(&["stop", id]),
            Action::Kill(id) => words(&["kill", id]),
            Action::Resume(id) => words(&["resume", id, "--detached"]),
            Action::Verify(id) => words(&["verify", id]),
            Action::Push(id) => words(&["push", id]),
            Action::Merge(id) => words(&["--yes", "merge", id]),
            Action::Clean { run_id, force: false } => words(&["--yes", "clean", run_id]),
            Action::Clean { run_id, force: true } => words(&["--yes", "clean", run_id, "--force"]),
            Action::Restore(id) => words(&["restore", id]),
            Action::New(form) => {
                let mut argv = words(&["run", "--detached"]);
                for (flag, value) in [
                    ("--name", &form.name),
                    ("--title", &form.title),
                    ("--runner", &form.runner),
                    ("--parent", &form.parent),
                    ("--prompt", &form.prompt),
                ] {
                    if !value.trim().is_empty() {
                        argv.extend([flag.to_string(), value.trim().to_string()]);
                    }
                }
                argv
            }
        }
    }

    /// Words for the status line (`verify fix-login`).
    pub fn describe(&self, name: &str) -> String {
        let verb = match self {
            Action::Stop(_) => "stop",
            Action::Kill(_) => "kill",
            Action::Resume(_) => "resume",
            Action::Verify(_) => "verify",
            Action::Push(_) => "push",
            Action::Merge(_) => "merge",
            Action::Clean { .. } => "clean",
            Action::Restore(_) => "restore",
            Action::New(form) => return format!("new run {}", if form.name.is_empty() { "…" } else { &form.name }),
        };
        format!("{verb} {name}")
    }
}

/// The new-run form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRun {
    pub name: String,
    pub title: String,
    pub runner: String,
    pub parent: String,
    pub prompt: String,
    /// Which field the cursor is in.
    pub field: usize,
}

impl NewRun {
    pub const LABELS: [&'static str; 5] = ["name", "title", "runner", "parent", "prompt"];

    fn field_mut(&mut self) -> &mut String {
        match self.field {
            0 => &mut self.name,
            1 => &mut self.title,
            2 => &mut self.runner,
            3 => &mut self.parent,
            _ => &mut self.prompt,
        }
    }

    pub fn values(&self) -> [&str; 5] {
        [&self.name, &self.title, &self.runner, &self.parent, &self.prompt]
    }
}

/// What `clean` will do, shown before it is confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanPlan {
    pub run_id: String,
    pub name: String,
    /// Lines describing what is saved.
    pub saved: Vec<String>,
    /// What cannot be saved (too large, unreadable); needs `F`.
    pub unsaved: Vec<String>,
}

/// Something to read in a full view.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    Details(String),
    Diff(String),
    Logs { run_id: String, kind: usize },
    CleanPlan(String),
}

/// A full-screen text view.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub title: String,
    pub lines: Vec<String>,
    pub scroll: usize,
    /// For the log view: which log is shown (Tab cycles).
    pub log: Option<(String, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    List,
    Filter,
    Help,
    Page(Page),
    New(NewRun),
    ConfirmMerge { run_id: String, name: String, typed: String },
    ConfirmClean(CleanPlan),
}

/// What the loop must do after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    None,
    Quit,
    Refresh,
    Run(Action),
    Attach(String),
    Load(Load),
}

/// A finished background command.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub what: String,
    pub ok: bool,
    /// First lines of its output (success) or its `E_…` report (failure).
    pub message: String,
}

/// The message shown at the bottom, and whether it is bad news.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub problem: bool,
}

/// A run that just turned `needs input` or `error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub name: String,
    pub label: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct App {
    pub rows: Vec<Row>,
    pub all_repos: bool,
    pub color: bool,
    pub show_archived: bool,
    pub filter: String,
    /// Index into [`App::visible`].
    pub selected: usize,
    pub mode: Mode,
    pub notice: Option<Notice>,
    /// The selected run's screen, with its colours (ANSI), if it is live.
    pub preview: Option<String>,
    /// Background commands still running (for the status line).
    pub busy: Vec<String>,
    /// Runs whose last alert is still standing (highlighted until their label changes).
    pub alerted: std::collections::HashMap<String, String>,
    /// Rows have been read at least once (the first read raises no alerts).
    loaded: bool,
}

impl App {
    pub fn new(all_repos: bool, color: bool) -> App {
        App {
            rows: Vec::new(),
            all_repos,
            color,
            show_archived: false,
            filter: String::new(),
            selected: 0,
            mode: Mode::List,
            notice: None,
            preview: None,
            busy: Vec::new(),
            alerted: std::collections::HashMap::new(),
            loaded: false,
        }
    }

    /// The rows the list shows: archived ones only when toggled on, matching the filter
    /// (name, repository, status or reason, case-insensitive).
    pub fn visible(&self) -> Vec<&Row> {
        let filter = self.filter.to_lowercase();
        self.rows
            .iter()
            .filter(|r| self.show_archived || !r.archived)
            .filter(|r| {
                filter.is_empty()
                    || [&r.name, &r.repo, &r.label, &r.reason].iter().any(|f| f.to_lowercase().contains(&filter))
            })
            .collect()
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.visible().get(self.selected).copied()
    }

    /// New rows from a refresh; the runs that just turned `needs input` or `error` (not on
    /// the first read, and once per turn).
    pub fn update_rows(&mut self, rows: Vec<Row>) -> Vec<Alert> {
        let selected_id = self.selected_row().map(|r| r.run_id.clone());
        let mut alerts = Vec::new();
        for row in &rows {
            let wants_you = row.label == "needs input" || row.label == "error";
            match (wants_you, self.alerted.get(&row.run_id)) {
                (true, Some(label)) if *label == row.label => {}
                (true, _) => {
                    if self.loaded {
                        alerts.push(Alert {
                            name: row.name.clone(),
                            label: row.label.clone(),
                            reason: row.reason.clone(),
                        });
                    }
                    self.alerted.insert(row.run_id.clone(), row.label.clone());
                }
                (false, _) => {
                    self.alerted.remove(&row.run_id);
                }
            }
        }
        self.rows = rows;
        self.loaded = true;
        // Keep the cursor on the same run when rows move.
        let visible = self.visible();
        self.selected = selected_id
            .and_then(|id| visible.iter().position(|r| r.run_id == id))
            .unwrap_or(self.selected)
            .min(visible.len().saturating_sub(1));
        alerts
    }

    pub fn job_done(&mut self, done: Done) {
        let text = match done.ok {
            true => format!(
                "{}: done{}",
                done.what,
                if done.message.is_empty() { String::new() } else { format!(" — {}", done.message) }
            ),
            false => format!("{}: {}", done.what, done.message),
        };
        self.notice = Some(Notice { text, problem: !done.ok });
    }

    pub fn report_error(&mut self, error: &AgencyError) {
        let hint = error.hint.as_deref().map(|h| format!(" — hint: {h}")).unwrap_or_default();
        self.notice = Some(Notice { text: format!("{} {}{hint}", error.code, error.message), problem: true });
    }

    /// Show what a [`Load`] produced (or its error).
    pub fn show(&mut self, loaded: crate::error::Result<Mode>) {
        match loaded {
            Ok(mode) => self.mode = mode,
            Err(e) => self.report_error(&e),
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Effect {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Effect::Quit;
        }
        match std::mem::replace(&mut self.mode, Mode::List) {
            Mode::List => self.list_key(key),
            Mode::Filter => self.filter_key(key),
            Mode::Help => Effect::None,
            Mode::Page(page) => self.page_key(page, key),
            Mode::New(form) => self.form_key(form, key),
            Mode::ConfirmMerge { run_id, name, typed } => self.merge_key(run_id, name, typed, key),
            Mode::ConfirmClean(plan) => self.clean_key(plan, key),
        }
    }

    fn list_key(&mut self, key: KeyEvent) -> Effect {
        let count = self.visible().len();
        let selected = self.selected_row().cloned();
        let on = |make: fn(String) -> Action| {
            selected.as_ref().map_or(Effect::None, |r| Effect::Run(make(r.run_id.clone())))
        };
        match key.code {
            KeyCode::Char('q') => Effect::Quit,
            KeyCode::Esc => {
                self.filter.clear();
                Effect::None
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(count.saturating_sub(1));
                Effect::Refresh
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                Effect::Refresh
            }
            KeyCode::PageDown => {
                self.selected = (self.selected + 10).min(count.saturating_sub(1));
                Effect::Refresh
            }
            KeyCode::PageUp => {
                self.selected = self.selected.saturating_sub(10);
                Effect::Refresh
            }
            KeyCode::Char('?') => {
                self.mode = Mode::Help;
                Effect::None
            }
            KeyCode::Char('/') => {
                self.mode = Mode::Filter;
                Effect::None
            }
            KeyCode::Char('a') => {
                self.show_archived = !self.show_archived;
                self.selected = 0;
                Effect::None
            }
            KeyCode::Char('n') => {
                self.mode = Mode::New(NewRun::default());
                Effect::None
            }
            KeyCode::Enter => selected.filter(|r| r.live).map_or_else(
                || {
                    self.notice =
                        Some(Notice { text: "no live session to attach to (r resumes it)".into(), problem: true });
                    Effect::None
                },
                |r| Effect::Attach(r.run_id),
            ),
            KeyCode::Char('s') => on(Action::Stop),
            KeyCode::Char('K') => on(Action::Kill),
            KeyCode::Char('r') => on(Action::Resume),
            KeyCode::Char('v') => on(Action::Verify),
            KeyCode::Char('p') => on(Action::Push),
            KeyCode::Char('R') => on(Action::Restore),
            KeyCode::Char('m') => selected.map_or(Effect::None, |r| {
                self.mode = Mode::ConfirmMerge { run_id: r.run_id, name: r.name, typed: String::new() };
                Effect::None
            }),
            KeyCode::Char('c') => selected.map_or(Effect::None, |r| Effect::Load(Load::CleanPlan(r.run_id))),
            KeyCode::Char('d') => selected.map_or(Effect::None, |r| Effect::Load(Load::Diff(r.run_id))),
            KeyCode::Char('l') => {
                selected.map_or(Effect::None, |r| Effect::Load(Load::Logs { run_id: r.run_id, kind: 0 }))
            }
            KeyCode::Char('i') | KeyCode::Tab => {
                selected.map_or(Effect::None, |r| Effect::Load(Load::Details(r.run_id)))
            }
            _ => Effect::None,
        }
    }

    fn filter_key(&mut self, key: KeyEvent) -> Effect {
        match key.code {
            KeyCode::Enter => {}
            KeyCode::Esc => self.filter.clear(),
            KeyCode::Backspace => {
                self.filter.pop();
                self.mode = Mode::Filter;
            }
            KeyCode::Char(c) => {
                self.filter.push(c);
                self.mode = Mode::Filter;
            }
            _ => self.mode = Mode::Filter,
        }
        self.selected = 0;
        Effect::None
    }

    fn page_key(&mut self, mut page: Page, key: KeyEvent) -> Effect {
        let last = page.lines.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return Effect::None,
            KeyCode::Down | KeyCode::Char('j') => page.scroll = (page.scroll + 1).min(last),
            KeyCode::Up | KeyCode::Char('k') => page.scroll = page.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => page.scroll = (page.scroll + 20).min(last),
            KeyCode::PageUp => page.scroll = page.scroll.saturating_sub(20),
            KeyCode::Home | KeyCode::Char('g') => page.scroll = 0,
            KeyCode::End | KeyCode::Char('G') => page.scroll = last,
            KeyCode::Tab => {
                if let Some((run_id, kind)) = page.log.clone() {
                    return Effect::Load(Load::Logs { run_id, kind: kind + 1 });
                }
            }
            _ => {}
        }
        self.mode = Mode::Page(page);
        Effect::None
    }

    fn form_key(&mut self, mut form: NewRun, key: KeyEvent) -> Effect {
        match key.code {
            KeyCode::Esc => return Effect::None,
            KeyCode::Enter => return Effect::Run(Action::New(form)),
            KeyCode::Tab | KeyCode::Down => form.field = (form.field + 1) % NewRun::LABELS.len(),
            KeyCode::BackTab | KeyCode::Up => {
                form.field = (form.field + NewRun::LABELS.len() - 1) % NewRun::LABELS.len()
            }
            KeyCode::Backspace => {
                form.field_mut().pop();
            }
            KeyCode::Char(c) => form.field_mut().push(c),
            _ => {}
        }
        self.mode = Mode::New(form);
        Effect::None
    }

    fn merge_key(&mut self, run_id: String, name: String, mut typed: String, key: KeyEvent) -> Effect {
        match key.code {
            KeyCode::Esc => return Effect::None,
            KeyCode::Enter if typed == "merge" => return Effect::Run(Action::Merge(run_id)),
            KeyCode::Enter => {}
            KeyCode::Backspace => {
                typed.pop();
            }
            KeyCode::Char(c) => typed.push(c),
            _ => {}
        }
        self.mode = Mode::ConfirmMerge { run_id, name, typed };
        Effect::None
    }

    fn clean_key(&mut self, plan: CleanPlan, key: KeyEvent) -> Effect {
        match key.code {
            KeyCode::Char('y') if plan.unsaved.is_empty() => {
                Effect::Run(Action::Clean { run_id: plan.run_id, force: false })
            }
            KeyCode::Char('F') if !plan.unsaved.is_empty() => {
                Effect::Run(Action::Clean { run_id: plan.run_id, force: true })
            }
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => Effect::None,
            _ => {
                self.mode = Mode::ConfirmClean(plan);
                Effect::None
            }
        }
    }
}
