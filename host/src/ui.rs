//! `agency ui`: the dashboard. A thin layer over the same code as the commands — the read side
//! (`query::Watch`, the composed status) for what it shows, and the `agency` commands
//! themselves for what it does — so there is no second implementation of anything:
//!
//! - [`app`] is the state and the key handling (pure, tested without a terminal);
//! - [`draw`] renders the state with ratatui (pure, tested with its test backend);
//! - [`work`] runs actions: each is the CLI command (`agency stop <run>`, `agency verify …`)
//!   started in the background, its outcome shown in the status line; attach suspends the
//!   dashboard and returns on detach; diff, logs and the clean preview are read in process.
//!
//! The loop refreshes about once a second (one tmux query per server for every session, a
//! pane classified only when its text changed) and redraws only when something changed. The
//! terminal is restored on every way out: `q`, Ctrl-C, SIGTERM, an error, a panic; on SIGHUP
//! (the terminal is gone) it exits at once.

pub mod app;
pub mod draw;
pub mod work;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::{execute, terminal};

use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use app::{App, Effect};

/// How often the runs are read again.
pub const REFRESH: Duration = Duration::from_secs(1);
/// How long the loop waits for a key before it looks at the clock and the jobs.
const TICK: Duration = Duration::from_millis(200);

/// Set by SIGTERM: leave the loop and restore the terminal.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_terminate(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// The terminal is gone (its window closed, its tmux session killed): there is nothing to
/// restore, and the terminal library would read end-of-file forever. Leave at once.
extern "C" fn on_hangup(_: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(129) };
}

/// Run the dashboard until the user quits.
pub fn run(env: &Env, all_repos: bool) -> Result<()> {
    if !env.ui.interactive() {
        return Err(AgencyError::new(ErrorCode::NotInteractive, "agency ui needs a terminal")
            .with_hint("agency ls   # the same runs and status, for scripts (ls --json)"));
    }
    let scope = crate::query::scope(env, all_repos)?;
    let mut app = App::new(matches!(scope, crate::query::Scope::AllRepos), std::env::var_os("NO_COLOR").is_none());
    let mut watch = crate::query::Watch::new(env);
    let mut jobs = work::Jobs::default();
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGTERM, on_terminate as *const () as libc::sighandler_t);
        libc::signal(libc::SIGHUP, on_hangup as *const () as libc::sighandler_t);
    }
    let mut terminal = Screen::enter()?;
    let result = (|| -> Result<()> {
        let mut next_refresh = Instant::now();
        let mut dirty = true;
        while !STOP.load(Ordering::SeqCst) {
            if Instant::now() >= next_refresh {
                let views = crate::query::entries(env, &scope);
                let rows = work::rows(env, watch.views(views));
                let alerts = app.update_rows(rows);
                work::alert(env, &alerts);
                app.preview = work::preview(env, &app);
                next_refresh = Instant::now() + REFRESH;
                dirty = true;
            }
            for done in jobs.finished() {
                app.job_done(done);
                next_refresh = Instant::now();
                dirty = true;
            }
            app.busy = jobs.running();
            if dirty {
                terminal.draw(&app)?;
                dirty = false;
            }
            if !event::poll(TICK).map_err(io_error)? {
                continue;
            }
            let Event::Key(key) = event::read().map_err(io_error)? else {
                dirty = true; // a resize
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            dirty = true;
            match app.key(key) {
                Effect::None => {}
                Effect::Quit => break,
                Effect::Refresh => next_refresh = Instant::now(),
                Effect::Run(action) => jobs.start(env, &mut app, action),
                Effect::Attach(run_id) => {
                    terminal.suspend()?;
                    let attached = crate::pipeline::session::attach(env, &run_id);
                    terminal.resume()?;
                    if let Err(e) = attached {
                        app.report_error(&e);
                    }
                    next_refresh = Instant::now();
                }
                Effect::Load(what) => app.show(work::load(env, &app, what)),
            }
        }
        Ok(())
    })();
    drop(terminal);
    jobs.detach();
    result
}

fn io_error(e: std::io::Error) -> AgencyError {
    AgencyError::new(ErrorCode::Internal, format!("terminal: {e}"))
}

/// The terminal in dashboard mode: raw, alternate screen, no cursor. Dropping it (or a panic)
/// puts the terminal back the way it was.
struct Screen {
    terminal: ratatui::Terminal<ratatui::backend::CrosstermBackend<std::io::Stderr>>,
}

impl Screen {
    fn enter() -> Result<Screen> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        terminal::enable_raw_mode().map_err(io_error)?;
        execute!(std::io::stderr(), terminal::EnterAlternateScreen).map_err(io_error)?;
        let backend = ratatui::backend::CrosstermBackend::new(std::io::stderr());
        let terminal = ratatui::Terminal::new(backend).map_err(io_error)?;
        Ok(Screen { terminal })
    }

    fn draw(&mut self, app: &App) -> Result<()> {
        self.terminal.draw(|frame| draw::draw(frame, app)).map(|_| ()).map_err(io_error)
    }

    /// Hand the terminal to another program (tmux attach) until `resume`.
    fn suspend(&mut self) -> Result<()> {
        restore();
        Ok(())
    }

    fn resume(&mut self) -> Result<()> {
        terminal::enable_raw_mode().map_err(io_error)?;
        execute!(std::io::stderr(), terminal::EnterAlternateScreen).map_err(io_error)?;
        self.terminal.clear().map_err(io_error)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen, show the cursor (safe to call twice).
fn restore() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(std::io::stderr(), terminal::LeaveAlternateScreen, ratatui::crossterm::cursor::Show);
    let _ = std::io::stderr().flush();
}
