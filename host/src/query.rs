//! Read-only views of runs for `ls`, `show` and `path`: which runs are in scope, how a `<ref>`
//! resolves, and each run's composed status from its record plus live signals — one
//! `tmux list-panes` for all runs, the agent's status file, the runner exit record, and the
//! runner plugin's `classify` of the pane (only for live agents, from the compile cache).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use time::OffsetDateTime;

pub mod logs;
mod open;

pub use open::{OpenRun, open_live};

use crate::clock::{now, parse_rfc3339};
use crate::config::AgencyJson;
use crate::env::Env;
use crate::error::{ErrorCode, Result};
use crate::pipeline::authorize;
use crate::plugin::Plugin;
use crate::plugin::api::Observation;
use crate::repo;
use crate::status::{self, AgentExit, Signals, Status, StatusFile};
use crate::store::WorktreePaths;
use crate::store::meta::RunMeta;
use crate::store::repo_record;
use crate::store::runs::{self, RunEntry};
use crate::store::worktree::STATUS_TEMPLATE_SUMMARY;
use crate::tmux::{self, PaneInfo};

/// Which runs a listing covers.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    Repo { repo_id: String },
    AllRepos,
}

/// A run and its derived status (`None` for a broken record).
#[derive(Debug, Clone)]
pub struct RunView {
    pub entry: RunEntry,
    pub status: Option<Status>,
}

/// The scope for a listing: the current repository, or all when asked or outside any repo.
pub fn scope(env: &Env, all_repos: bool) -> Result<Scope> {
    if all_repos {
        return Ok(Scope::AllRepos);
    }
    Ok(match repo::locate(&env.cwd, &env.store)? {
        Some(located) => Scope::Repo { repo_id: located.repo.id },
        None => Scope::AllRepos,
    })
}

pub fn entries(env: &Env, scope: &Scope) -> Vec<RunEntry> {
    match scope {
        Scope::Repo { repo_id } => runs::scan_repo(&env.store, repo_id),
        Scope::AllRepos => runs::scan_all(&env.store),
    }
}

/// Runs in scope with their status, newest first. Archived runs only with `include_archived`.
pub fn list(env: &Env, scope: &Scope, include_archived: bool) -> Result<Vec<RunView>> {
    let entries: Vec<RunEntry> = entries(env, scope)
        .into_iter()
        .filter(|e| include_archived || !e.meta.as_ref().is_ok_and(|m| m.is_archived()))
        .collect();
    let panes = live_panes(&entries);
    let mut classifier = Classifier::new(env, &entries, &panes);
    Ok(entries.into_iter().map(|entry| view(env, entry, &panes, &mut classifier)).collect())
}

/// Resolve `<ref>`: within the current repository first, then across all repositories.
pub fn find(env: &Env, reference: &str) -> Result<RunEntry> {
    let local = scope(env, false)?;
    let candidates = entries(env, &local);
    match runs::resolve(&candidates, reference) {
        Ok(entry) => Ok(entry.clone()),
        Err(err) if err.code == ErrorCode::RunNotFound && local != Scope::AllRepos => {
            let all = runs::scan_all(&env.store);
            runs::resolve(&all, reference).cloned()
        }
        Err(err) => Err(err),
    }
}

/// One run with its status.
pub fn show(env: &Env, reference: &str) -> Result<RunView> {
    let entry = find(env, reference)?;
    let panes = live_panes(std::slice::from_ref(&entry));
    let mut classifier = Classifier::new(env, std::slice::from_ref(&entry), &panes);
    Ok(view(env, entry, &panes, &mut classifier))
}

/// Session name → pane facts, from one `tmux list-panes -a` (skipped when no run has a session).
fn live_panes(entries: &[RunEntry]) -> HashMap<String, PaneInfo> {
    let any_session =
        entries.iter().any(|e| e.meta.as_ref().is_ok_and(|m| m.tmux_session_name.is_some() && !m.is_archived()));
    if !any_session {
        return HashMap::new();
    }
    // No tmux (or no server) means no live sessions, not a failed listing.
    tmux::list_panes().unwrap_or_default().into_iter().map(|p| (p.session.clone(), p)).collect()
}

fn view(env: &Env, entry: RunEntry, panes: &HashMap<String, PaneInfo>, classifier: &mut Classifier) -> RunView {
    let status =
        entry.meta.as_ref().ok().map(|meta| status::derive(meta, &signals(env, &entry, meta, panes, classifier)));
    RunView { entry, status }
}

fn signals(
    env: &Env,
    entry: &RunEntry,
    meta: &RunMeta,
    panes: &HashMap<String, PaneInfo>,
    classifier: &mut Classifier,
) -> Signals {
    let worktree = Path::new(&meta.worktree_path);
    let pane = meta.tmux_session_name.as_ref().and_then(|s| panes.get(s));
    let mut signals = Signals::new(now());
    signals.stall_after = env.user.stall_after;
    signals.worktree_exists = worktree.is_dir();
    signals.session_alive = pane.is_some();
    signals.pane_activity = pane.and_then(|p| p.activity).and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    signals.exit = read_exit(&entry.paths.runner_exit);
    signals.status_file = read_status_file(worktree);
    if let Some(pane) = pane {
        signals.screen = classifier.classify(meta, &pane.session);
    }
    signals
}

/// Sessions whose screen is worth reading: live, not archived, agent not exited.
fn sessions_to_read(entries: &[RunEntry], panes: &HashMap<String, PaneInfo>) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| {
            let meta = e.meta.as_ref().ok().filter(|m| !m.is_archived())?;
            let session = meta.tmux_session_name.as_ref().filter(|s| panes.contains_key(*s))?;
            (!e.paths.runner_exit.exists()).then(|| session.clone())
        })
        .collect()
}

/// `runner_exit.json` as written by the launch wrapper.
pub fn read_exit(path: &Path) -> Option<AgentExit> {
    let value: serde_json::Value = crate::store::read_json(path)?;
    let time = |k: &str| value.get(k).and_then(|v| v.as_str()).and_then(parse_rfc3339);
    Some(AgentExit {
        code: value.get("exit_code")?.as_i64()? as i32,
        timed_out: value.get("timed_out").and_then(|v| v.as_bool()).unwrap_or(false),
        started_at: time("started_at"),
        ended_at: time("ended_at"),
    })
}

fn read_status_file(worktree: &Path) -> StatusFile {
    match std::fs::read_to_string(WorktreePaths::new(worktree).status_file()) {
        Ok(text) => status::parse_status_file(&text, STATUS_TEMPLATE_SUMMARY),
        Err(_) => StatusFile::Absent,
    }
}

/// Runner plugins loaded once per process for `classify` (no grants needed: the call gets no
/// filesystem and no exec). Failures degrade to "no screen signal", never a failed listing.
struct Classifier<'a> {
    env: &'a Env,
    /// Per (repo id, plugin id): pins live in each run's own `agency.json`, so a listing across
    /// repositories must not resolve one repository's runner with another's pins.
    plugins: HashMap<(String, String), Option<Rc<Plugin>>>,
    /// Each repository's root and `agency.json`, read once (no git call) from its repo record.
    projects: HashMap<String, Option<(PathBuf, AgencyJson)>>,
    /// Pane text per session, captured with one tmux call up front.
    screens: HashMap<String, String>,
}

impl<'a> Classifier<'a> {
    fn new(env: &'a Env, entries: &[RunEntry], panes: &HashMap<String, PaneInfo>) -> Self {
        let sessions = sessions_to_read(entries, panes);
        let screens = match tmux::capture_panes(&sessions) {
            Ok(screens) => sessions.into_iter().zip(screens).collect(),
            // A session that vanished mid-batch fails the batch: read the rest one by one.
            Err(_) => sessions.into_iter().filter_map(|s| tmux::capture_pane(&s, 0).ok().map(|t| (s, t))).collect(),
        };
        Classifier { env, plugins: HashMap::new(), projects: HashMap::new(), screens }
    }

    fn plugin(&mut self, meta: &RunMeta) -> Option<Rc<Plugin>> {
        let env = self.env;
        let project = self
            .projects
            .entry(meta.repo_id.clone())
            .or_insert_with(|| {
                let root = PathBuf::from(repo_record::read_record(&env.store, &meta.repo_id)?.repo_root_last_seen);
                AgencyJson::load(&root).ok().map(|config| (root, config))
            })
            .as_ref()
            .map(|(root, config)| (root.as_path(), config));
        let recorded =
            meta.plugins.get("runner").and_then(|p| p.get("id")).and_then(|v| v.as_str()).map(str::to_string);
        let id = match recorded {
            Some(id) => id,
            None => authorize::runner_plugin_id(env, &meta.runner, project).ok()?.0,
        };
        self.plugins
            .entry((meta.repo_id.clone(), id))
            .or_insert_with_key(|(_, id)| env.plugins().find(id, project).ok())
            .clone()
    }

    fn classify(&mut self, meta: &RunMeta, session: &str) -> Option<(String, Observation)> {
        let screen = self.screens.get(session)?.clone();
        let plugin = self.plugin(meta)?;
        let observation = self.env.plugins().classify(&plugin, &screen).ok()?;
        Some((plugin.info.id.clone(), observation))
    }
}

/// Save the pane's scrollback (plain text) to `transcript.txt`, keeping the previous one as
/// `transcript.1.txt`. Returns the path.
pub fn capture_transcript(env: &Env, reference: &str) -> Result<std::path::PathBuf> {
    let run = open_live(env, reference)?;
    if !run.session_alive()? {
        return Err(crate::error::AgencyError::new(
            ErrorCode::SessionNotFound,
            format!("run `{}` has no live session to capture", run.meta.name),
        )
        .with_hint(format!("agency resume {}", run.meta.name)));
    }
    let text = tmux::capture_pane(&run.session(), 100_000)?;
    let path = run.entry.paths.transcript.clone();
    if path.exists() {
        let _ = std::fs::rename(&path, path.with_file_name("transcript.1.txt"));
    }
    crate::store::atomic::write_atomic(&path, text.as_bytes())
        .map_err(|e| crate::error::AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write transcript", &path, e))?;
    run.record(env).event("transcript_captured", serde_json::json!({ "bytes": text.len() }))?;
    Ok(path)
}
