//! What the dashboard does outside its state: reading rows from the composed status, the
//! selected run's live screen, alerts, the pages (details, diff, logs, the clean plan), and
//! the actions — each one the CLI's own command (`agency verify <run-id>`, …) started as a
//! child of this process, so it does exactly what the command does, its errors come back as
//! the same `E_…` report, and a long verify or merge never freezes the screen.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use super::app::{Action, Alert, App, CleanPlan, Done, Load, Mode, Page, Row};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::query::{self, Purpose, RunView};
use crate::store::runs::RunEntry;

/// Rows for the list, newest first.
pub fn rows(env: &Env, views: Vec<RunView>) -> Vec<Row> {
    let now = crate::clock::now();
    views
        .into_iter()
        .map(|view| {
            let meta = view.entry.meta.as_ref().ok();
            let (label, tone, reason) = match &view.status {
                Some(s) => (s.label.clone(), s.tone, crate::safe_text::one_line(&s.reason, 300)),
                None => ("broken".to_string(), crate::status::Tone::Problem, "unreadable record: agency repair".into()),
            };
            let created = meta.and_then(|m| crate::clock::parse_rfc3339(&m.created_at));
            Row {
                run_id: view.entry.run_id.clone(),
                name: meta.map(|m| m.name.clone()).unwrap_or_else(|| view.entry.run_id.clone()),
                repo: repo_name(env, &view.entry),
                label,
                tone,
                age: created
                    .map(|t| crate::clock::ago(t, now).trim_end_matches(" ago").to_string())
                    .unwrap_or_default(),
                reason,
                pr: meta.and_then(|m| m.pr_number).map(|n| format!("#{n}")).unwrap_or_default(),
                archived: meta.is_some_and(|m| m.is_archived()),
                live: view.status.as_ref().is_some_and(|s| s.runtime == crate::status::Runtime::SessionAlive),
            }
        })
        .collect()
}

fn repo_name(env: &Env, entry: &RunEntry) -> String {
    crate::store::repo_record::read_record(&env.store, &entry.repo_id)
        .and_then(|r| {
            std::path::Path::new(&r.repo_root_last_seen).file_name().map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| entry.repo_id.chars().take(8).collect())
}

/// The selected run's live screen (with colours unless colour is off).
pub fn preview(env: &Env, app: &App) -> Option<String> {
    let row = app.selected_row().filter(|r| r.live)?;
    let run = query::open_live(env, &row.run_id, Purpose::Read).ok()?;
    match app.color {
        true => crate::tmux::capture_pane_styled(&run.server(), &run.session()).ok(),
        false => crate::tmux::capture_pane(&run.server(), &run.session(), 0).ok(),
    }
}

/// Ring the terminal bell once for new alerts and run the configured notification command
/// (`ui.notify` in config.json) for each, without waiting for it.
pub fn alert(env: &Env, alerts: &[Alert]) {
    if alerts.is_empty() {
        return;
    }
    let _ = std::io::stderr().write_all(b"\x07");
    let Some((program, args)) = env.user.notify.split_first() else { return };
    for a in alerts {
        let spawned = Command::new(program)
            .args(args)
            .arg(format!("{}: {}", a.name, a.label))
            .arg(&a.reason)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        // Reap it in the background; a notifier that fails must not disturb the dashboard.
        if let Ok(mut child) = spawned {
            std::thread::spawn(move || child.wait());
        }
    }
}

/// Background commands: each an `agency` child whose outcome arrives on a channel.
#[derive(Default)]
pub struct Jobs {
    running: Vec<(String, mpsc::Receiver<Done>)>,
}

impl Jobs {
    pub fn start(&mut self, env: &Env, app: &mut App, action: Action) {
        let name = match &action {
            Action::New(form) => form.name.clone(),
            other => app
                .rows
                .iter()
                .find(|r| Some(r.run_id.as_str()) == run_of(other))
                .map(|r| r.name.clone())
                .unwrap_or_default(),
        };
        let what = action.describe(&name);
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return app.report_error(&AgencyError::internal(format!("cannot find agency itself: {e}"))),
        };
        let mut command = Command::new(exe);
        command.args(action.argv()).current_dir(&env.cwd).stdin(Stdio::null()).env("NO_COLOR", "1");
        let (tx, rx) = mpsc::channel();
        let label = what.clone();
        std::thread::spawn(move || {
            let done = match command.output() {
                Ok(out) => outcome(label, out),
                Err(e) => Done { what: label, ok: false, message: format!("cannot start agency: {e}") },
            };
            let _ = tx.send(done);
        });
        self.running.push((what, rx));
        app.mode = Mode::List;
    }

    /// Commands that ended since the last call.
    pub fn finished(&mut self) -> Vec<Done> {
        let mut done = Vec::new();
        self.running.retain(|(what, rx)| match rx.try_recv() {
            Ok(d) => {
                done.push(d);
                false
            }
            Err(mpsc::TryRecvError::Empty) => true,
            Err(mpsc::TryRecvError::Disconnected) => {
                done.push(Done { what: what.clone(), ok: false, message: "ended without a result".into() });
                false
            }
        });
        done
    }

    pub fn running(&self) -> Vec<String> {
        self.running.iter().map(|(what, _)| what.clone()).collect()
    }

    /// Leaving the dashboard: commands still running finish on their own.
    pub fn detach(self) {}
}

fn run_of(action: &Action) -> Option<&str> {
    match action {
        Action::Stop(id)
        | Action::Kill(id)
        | Action::Resume(id)
        | Action::Verify(id)
        | Action::Push(id)
        | Action::Merge(id)
        | Action::Restore(id) => Some(id),
        Action::Clean { run_id, .. } => Some(run_id),
        Action::New(_) => None,
    }
}

/// A command's outcome for the status line: its first `key: value` lines on success, its
/// error report (`E_…`, message, hint) on failure.
fn outcome(what: String, out: std::process::Output) -> Done {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        let message = stdout
            .lines()
            .filter(|l| {
                ["summary:", "status:", "pr_url:", "outcome:", "run_id:", "session:", "interrupted:", "now:"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .take(2)
            .collect::<Vec<_>>()
            .join(" · ");
        return Done { what, ok: true, message };
    }
    let code = stderr.lines().find_map(|l| l.strip_prefix("error_code: ")).unwrap_or("E_INTERNAL");
    let message = stderr.lines().find_map(|l| l.strip_prefix("error: ")).unwrap_or("failed");
    let hint =
        stderr.lines().find_map(|l| l.strip_prefix("hint: ")).map(|h| format!(" — hint: {h}")).unwrap_or_default();
    Done { what, ok: false, message: crate::safe_text::one_line(&format!("{code} {message}{hint}"), 400) }
}

/// Largest diff or log the pages show (their end).
const PAGE_LIMIT: u64 = 2 << 20;

/// Read what a page or the clean confirmation shows.
pub fn load(env: &Env, app: &App, what: Load) -> Result<Mode> {
    match what {
        Load::Details(run_id) => {
            let view = query::show(env, &run_id)?;
            let status = view.status.as_ref().map(|s| s.label.clone()).unwrap_or_else(|| "broken".into());
            let mut lines: Vec<String> =
                crate::cli::render::details(&view, status)?.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
            lines.push(String::new());
            lines.push("recent events:".into());
            let (events, _) = crate::store::events::read(&view.entry.paths.events());
            let recent = events.iter().rev().take(20).map(|e| format!("  {}  {}  {}", e.timestamp, e.event, e.data));
            lines.extend(recent.map(|line| crate::safe_text::escape_controls(&line).into_owned()));
            Ok(page(format!("details of {}", name_of(app, &run_id)), lines, None))
        }
        Load::Diff(run_id) => {
            let run = query::open_live(env, &run_id, Purpose::Read)?;
            let base = run.meta.base_commit.clone().unwrap_or_else(|| run.meta.parent_branch.clone());
            let diff = crate::git::diff_against(&run.worktree, &base, PAGE_LIMIT)?;
            let lines: Vec<String> = match diff.trim().is_empty() {
                true => vec![format!("no changes against {base}")],
                false => page_lines(&diff),
            };
            Ok(page(format!("diff of {} against its parent ({})", run.meta.name, run.meta.parent_branch), lines, None))
        }
        Load::Logs { run_id, kind } => {
            let logs = crate::query::logs::available(env, &run_id)?;
            if logs.is_empty() {
                return Err(AgencyError::new(
                    ErrorCode::RunNotFound,
                    format!("run {} has no logs yet", name_of(app, &run_id)),
                ));
            }
            let (name, path, _) = &logs[kind % logs.len()];
            let bytes = crate::store::read::read_tail(path, PAGE_LIMIT)
                .map_err(|e| AgencyError::io(ErrorCode::RunNotFound, "cannot read the log", path, e))?
                .unwrap_or_default();
            let lines = page_lines(&String::from_utf8_lossy(&bytes));
            let scroll = lines.len().saturating_sub(10);
            let mut page = page(
                format!("{name} log of {} ({}/{})", name_of(app, &run_id), kind % logs.len() + 1, logs.len()),
                lines,
                Some((run_id, kind)),
            );
            page_scroll(&mut page, scroll);
            Ok(page)
        }
        Load::CleanPlan(run_id) => {
            let run = query::open_live(env, &run_id, Purpose::Act)?;
            let plan =
                crate::pipeline::archive::survey::survey(&run.worktree, crate::pipeline::archive::survey::limit()?)?;
            Ok(Mode::ConfirmClean(CleanPlan {
                run_id,
                name: run.meta.name.clone(),
                saved: plan.saved_lines(),
                unsaved: plan.unsaved_lines(),
            }))
        }
    }
}

/// The lines of a page. Diffs and logs are the worktree's and the agent's bytes: control
/// characters are shown escaped, never sent to the terminal.
pub fn page_lines(text: &str) -> Vec<String> {
    text.lines().map(|l| crate::safe_text::escape_controls(l).into_owned()).collect()
}

fn name_of(app: &App, run_id: &str) -> String {
    app.rows.iter().find(|r| r.run_id == run_id).map(|r| r.name.clone()).unwrap_or_else(|| run_id.to_string())
}

fn page(title: String, lines: Vec<String>, log: Option<(String, usize)>) -> Mode {
    Mode::Page(Page { title, lines, scroll: 0, log })
}

fn page_scroll(mode: &mut Mode, scroll: usize) {
    if let Mode::Page(page) = mode {
        page.scroll = scroll;
    }
}
