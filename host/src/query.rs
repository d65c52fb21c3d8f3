//! The read side: which runs are in scope, how a `<ref>` resolves, and each run's composed
//! status from its record plus live signals — one `tmux list-panes` per tmux server for all
//! runs, the agent's status file, the hook report, the runner exit record, and the runner
//! plugin's `classify` of the pane (only for live agents, only with granted bytes, from the
//! compile cache). `ls`, `show` and the dashboard read here; nothing here writes a record.

pub mod logs;
mod open;

pub use open::{OpenRun, RunRepository, open, open_live, repository_of, run_repository};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use time::OffsetDateTime;

use crate::clock::{now, parse_rfc3339};
use crate::config::AgencyJson;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::pipeline::authorize;
use crate::plugin::Plugin;
use crate::repo;
use crate::status::{self, AgentExit, HeadlessOutcome, ScreenSignal, Signals, Status, StatusFile};
use crate::store::confined::Confined;
use crate::store::meta::RunMeta;
use crate::store::name_index::{self, NameIndex};
use crate::store::repo_record;
use crate::store::runs::{self, Resolve, RunEntry};
use crate::store::worktree::{STATUS_TEMPLATE_SUMMARY, WorktreePaths};
use crate::tmux::{self, PaneInfo, Server};

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

/// What a command means to do with the run a `<ref>` names; decides how far resolution looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `show`, `path`, `logs`: any repository's run by name, id or prefix.
    Read,
    /// Commands that change a run: in the current repository by name, id or prefix; another
    /// repository's run only by its full run id.
    Act,
    /// `restore`: like `Act`, and archived runs resolve by name (the newest of that name).
    Restore,
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

/// Runs in scope with their status, newest first. Archived runs only with `include_archived`
/// (without it, only the live runs' records are read: see [`name_index::live_runs`]). `panes`
/// is tmux's answer asked for ahead, if any.
pub fn list(env: &Env, scope: &Scope, include_archived: bool, panes: PanesAhead) -> Result<Vec<RunView>> {
    let entries = match (include_archived, scope) {
        (true, _) => entries(env, scope),
        (false, Scope::Repo { repo_id }) => name_index::live_runs(&env.store, std::slice::from_ref(repo_id)),
        (false, Scope::AllRepos) => name_index::live_runs(&env.store, &runs::repo_ids(&env.store)),
    };
    Ok(Watch::new(env).views_with(entries, panes))
}

/// Status for each entry, reading live signals once for all of them.
pub fn views(env: &Env, entries: Vec<RunEntry>) -> Vec<RunView> {
    Watch::new(env).views(entries)
}

/// Views refreshed again and again (the dashboard): runner plugins stay loaded between
/// refreshes, and a pane whose text has not changed since the last refresh is not classified
/// again (its last reading is reused). Each refresh is one tmux query per server for all
/// sessions and one capture per server, like `ls`.
pub struct Watch<'a> {
    classifier: Classifier<'a>,
}

impl<'a> Watch<'a> {
    pub fn new(env: &'a Env) -> Self {
        Watch { classifier: Classifier::new(env) }
    }

    pub fn views(&mut self, entries: Vec<RunEntry>) -> Vec<RunView> {
        self.views_with(entries, PanesAhead::none())
    }

    fn views_with(&mut self, entries: Vec<RunEntry>, panes: PanesAhead) -> Vec<RunView> {
        let live = LivePanes::read(&entries, panes);
        self.classifier.capture(&entries, &live);
        let env = self.classifier.env;
        // Most runs of a long listing are decided by their record alone (archived, never
        // started, broken): those are judged on a few threads, the rest here, with the plugins.
        let stall_after = env.user.stall_after;
        let decided = crate::parallel::map(&entries, |entry| match &entry.meta {
            Ok(meta) if needs_live_signals(meta) => None,
            Ok(meta) => Some(Some(status::derive(meta, &record_signals(meta, stall_after)))),
            Err(_) => Some(None),
        });
        entries
            .into_iter()
            .zip(decided)
            .map(|(entry, decided)| match decided {
                Some(status) => RunView { entry, status },
                None => view(env, entry, &live, &mut self.classifier),
            })
            .collect()
    }
}

/// Resolve `<ref>` for `purpose` (see [`Purpose`]).
pub fn find(env: &Env, reference: &str, purpose: Purpose) -> Result<RunEntry> {
    let local = scope(env, false)?;
    if purpose != Purpose::Restore
        && let Some(found) = resolve_indexed(env, &local, reference.trim())
    {
        return found;
    }
    let how = if purpose == Purpose::Restore { Resolve::ArchivedNamesToo } else { Resolve::LiveNames };
    let candidates = entries(env, &local);
    match runs::resolve(&candidates, reference, how) {
        Ok(entry) => Ok(entry.clone()),
        Err(err) if err.code == ErrorCode::RunNotFound && local != Scope::AllRepos => {
            // An archived run of this repository comes before any run of another (the command
            // then says it is archived, and how to restore it).
            if let Ok(entry) = runs::resolve(&candidates, reference, Resolve::ArchivedNamesToo) {
                return Ok(entry.clone());
            }
            let all = runs::scan_all(&env.store);
            match purpose {
                Purpose::Read => runs::resolve(&all, reference, how).cloned(),
                // Acting on another repository's run takes its full id: a name or a prefix
                // typed in one repository must never act on a run of another.
                Purpose::Act | Purpose::Restore => match all.iter().find(|e| e.run_id == reference.trim()) {
                    Some(entry) => Ok(entry.clone()),
                    None => Err(err.with_hint(
                        "agency ls --all   # runs of this repository; another repository's run takes its full run id",
                    )),
                },
            }
        }
        Err(err) => Err(err),
    }
}

/// `<ref>` resolved in `scope` without reading every record, in the order of
/// [`runs::resolve`]: a live run's exact name through the name indexes, then an exact run id
/// or a unique run-id prefix from the run directories' names; only the records that match are
/// read. `None` when nothing in scope matches: the general path then decides (archived names,
/// other repositories, the error), exactly as before.
fn resolve_indexed(env: &Env, scope: &Scope, reference: &str) -> Option<Result<RunEntry>> {
    if reference.is_empty() {
        return None;
    }
    let repo_ids = match scope {
        Scope::Repo { repo_id } => vec![repo_id.clone()],
        Scope::AllRepos => runs::repo_ids(&env.store),
    };
    let newest_first = |mut runs: Vec<RunEntry>| {
        runs.sort_by(|a, b| b.run_id.cmp(&a.run_id));
        runs
    };
    let named = newest_first(
        repo_ids
            .iter()
            .flat_map(|repo_id| NameIndex::load_and_keep(&env.store, repo_id).live_named(&env.store, reference))
            .collect(),
    );
    if let [one] = named.as_slice() {
        return Some(Ok(one.clone()));
    }
    if !named.is_empty() {
        return Some(Err(runs::ambiguous(reference, &named.iter().collect::<Vec<_>>())));
    }
    let matching: Vec<(&String, String)> = repo_ids
        .iter()
        .flat_map(|repo_id| {
            runs::run_ids(&env.store, repo_id)
                .into_iter()
                .filter(|id| id.starts_with(reference))
                .map(move |id| (repo_id, id))
        })
        .collect();
    let load = |(repo_id, run_id): &(&String, String)| RunEntry::load(&env.store, repo_id, run_id);
    if let Some(exact) = matching.iter().find(|(_, id)| id == reference) {
        return Some(Ok(load(exact)));
    }
    match matching.as_slice() {
        [] => None,
        [one] => Some(Ok(load(one))),
        many => {
            let candidates = newest_first(many.iter().map(load).collect());
            Some(Err(runs::ambiguous(reference, &candidates.iter().collect::<Vec<_>>())))
        }
    }
}

/// One run with its status.
pub fn show(env: &Env, reference: &str) -> Result<RunView> {
    let entry = find(env, reference, Purpose::Read)?;
    Ok(views(env, vec![entry]).remove(0))
}

/// `tmux list-panes` on the server new sessions go to, started before the records that name
/// the servers are read (tmux takes about as long to answer as a hundred records take to read).
/// Used only for that server, and only if it lists every session the records expect there: a
/// session missing from it may have started after it, so that server is asked again.
pub struct PanesAhead(Option<(Server, std::thread::JoinHandle<Result<Vec<PaneInfo>>>)>);

impl PanesAhead {
    /// Ask now, on a thread, if that server is running.
    pub fn start() -> PanesAhead {
        PanesAhead(Server::expected().map(|server| {
            let asked = server.clone();
            (server, std::thread::spawn(move || tmux::list_panes(&asked)))
        }))
    }

    pub fn none() -> PanesAhead {
        PanesAhead(None)
    }

    /// The early answer, if it was asked of `server` and lists every one of `sessions`.
    fn take_for(&mut self, server: &Server, sessions: &[&str]) -> Option<Vec<PaneInfo>> {
        let (_, handle) = self.0.take_if(|(asked, _)| asked == server)?;
        let panes = handle.join().ok()?.ok()?;
        sessions.iter().all(|s| panes.iter().any(|p| p.session == *s)).then_some(panes)
    }
}

/// Live panes of every tmux server the runs' sessions are on: one `list-panes` per server.
struct LivePanes {
    panes: HashMap<(Server, String), PaneInfo>,
    /// Servers tmux could not be asked about (tmux missing, a timeout), with why.
    errors: HashMap<Server, String>,
}

impl LivePanes {
    fn read(entries: &[RunEntry], mut ahead: PanesAhead) -> LivePanes {
        let mut live = LivePanes { panes: HashMap::new(), errors: HashMap::new() };
        let mut sessions: HashMap<Server, Vec<&str>> = HashMap::new();
        for meta in entries.iter().filter_map(|e| e.meta.as_ref().ok().filter(|m| !m.is_archived())) {
            if let Some(session) = &meta.tmux_session_name {
                sessions.entry(meta.tmux_server()).or_default().push(session);
            }
        }
        for (server, expected) in sessions {
            let listed = match ahead.take_for(&server, &expected) {
                Some(panes) => Ok(panes),
                None => tmux::list_panes(&server),
            };
            match listed {
                Ok(panes) => live.panes.extend(panes.into_iter().map(|p| ((server.clone(), p.session.clone()), p))),
                Err(e) => {
                    live.errors.insert(server, e.message);
                }
            }
        }
        live
    }

    fn pane(&self, meta: &RunMeta) -> Option<&PaneInfo> {
        self.panes.get(&(meta.tmux_server(), meta.tmux_session_name.clone()?))
    }
}

fn view(env: &Env, entry: RunEntry, live: &LivePanes, classifier: &mut Classifier) -> RunView {
    let status =
        entry.meta.as_ref().ok().map(|meta| status::derive(meta, &signals(env, &entry, meta, live, classifier)));
    RunView { entry, status }
}

/// A live run whose agent was started: its status needs tmux, its files and maybe its runner
/// plugin. Any other run is decided by [`record_signals`].
fn needs_live_signals(meta: &RunMeta) -> bool {
    !meta.is_archived() && meta.tmux_session_name.is_some()
}

/// What the record and the worktree's presence say. An archived run, or one whose agent never
/// started, is decided by these alone: no need to look at its worktree or its files (a listing
/// of many old runs stays cheap).
fn record_signals(meta: &RunMeta, stall_after: std::time::Duration) -> Signals {
    let mut signals = Signals::new(now());
    signals.stall_after = stall_after;
    if !meta.is_archived() {
        signals.worktree_exists = Path::new(&meta.worktree_path).is_dir();
    }
    signals
}

fn signals(env: &Env, entry: &RunEntry, meta: &RunMeta, live: &LivePanes, classifier: &mut Classifier) -> Signals {
    let mut signals = record_signals(meta, env.user.stall_after);
    if !needs_live_signals(meta) {
        return signals;
    }
    let worktree = Path::new(&meta.worktree_path);
    let pane = live.pane(meta);
    signals.session_alive = pane.is_some();
    signals.tmux_error = live.errors.get(&meta.tmux_server()).cloned();
    signals.pane_activity = pane.and_then(|p| p.activity).and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    signals.exit = read_exit(&entry.paths.runner_exit());
    signals.status_file = read_status_file(worktree);
    signals.hook = status::read_hook(&entry.paths.hook());
    let headless = meta.launch.as_ref().is_some_and(|l| l.mode == "headless");
    if let Some(pane) = pane
        && signals.exit.is_none()
        && !headless
    {
        signals.screen = classifier.classify(meta, &entry.paths, pane);
    }
    if let Some(exit) = &signals.exit
        && headless
    {
        signals.headless = classifier.headless(meta, &entry.paths, exit);
    }
    signals
}

/// `runner_exit.json` as the pane process writes it.
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

/// Largest status file agency reads.
const STATUS_FILE_LIMIT: u64 = 256 << 10;
/// How much of a headless run's output its runner plugin reads (the end of `logs/runner.log`).
const HEADLESS_TAIL: u64 = 64 << 10;

/// The agent's status file, read without following a symlink the agent may have planted.
fn read_status_file(worktree: &Path) -> StatusFile {
    let read = Confined::open(worktree).and_then(|dir| dir.read_capped(WorktreePaths::STATUS_FILE, STATUS_FILE_LIMIT));
    match read {
        Ok(Some(bytes)) => status::parse_status_file(&String::from_utf8_lossy(&bytes), STATUS_TEMPLATE_SUMMARY),
        Ok(None) => StatusFile::Absent,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StatusFile::Absent,
        Err(e) => StatusFile::Invalid(format!("cannot be read safely: {e}")),
    }
}

/// A granted (or built-in) runner plugin: found at once, loaded only when a pane must be read
/// (a kept reading is checked against the plugin's sha256 alone).
struct RunnerPlugin {
    id: String,
    sha256: String,
    /// The bytes, until they are loaded.
    source: Option<crate::plugin::Source>,
    loaded: Option<std::result::Result<Rc<Plugin>, ScreenSignal>>,
}

/// Runner plugins loaded once per process for `classify` (no grants are used by the call:
/// no filesystem, no exec). Bytes nobody granted are never run; a failing plugin is reported
/// in the run's status, never a failed listing.
struct Classifier<'a> {
    env: &'a Env,
    /// Per (repo id, plugin id): pins live in each run's own `agency.json`, so a listing across
    /// repositories must not resolve one repository's runner with another's pins.
    plugins: HashMap<(String, String), std::result::Result<RunnerPlugin, ScreenSignal>>,
    /// Each repository's root and `agency.json`, read once (no git call) from its repo record.
    projects: HashMap<String, Option<(PathBuf, AgencyJson)>>,
    /// Pane text per (server, session), captured with one tmux call per server up front.
    screens: HashMap<(Server, String), String>,
    /// The last reading per pane and the hash of the text it was made from.
    readings: HashMap<(Server, String), (u64, ScreenSignal)>,
    /// Readings kept on disk that still hold this refresh (the pane is unchanged since).
    kept: HashMap<(Server, String), ScreenSignal>,
    /// When this refresh's capture was started (unix seconds).
    captured_at: i64,
}

impl<'a> Classifier<'a> {
    fn new(env: &'a Env) -> Self {
        Classifier {
            env,
            plugins: HashMap::new(),
            projects: HashMap::new(),
            screens: HashMap::new(),
            readings: HashMap::new(),
            kept: HashMap::new(),
            captured_at: 0,
        }
    }

    /// Capture the panes of the live interactive agents among `entries` (one tmux call per
    /// server), except those whose reading kept on disk still holds.
    fn capture(&mut self, entries: &[RunEntry], live: &LivePanes) {
        let mut by_server: HashMap<Server, Vec<String>> = HashMap::new();
        self.kept.clear();
        for entry in entries {
            let Some(meta) = entry.meta.as_ref().ok().filter(|m| !m.is_archived()) else { continue };
            let headless = meta.launch.as_ref().is_some_and(|l| l.mode == "headless");
            let Some(pane) = live.pane(meta) else { continue };
            if headless || entry.paths.runner_exit().exists() {
                continue;
            }
            let key = (meta.tmux_server(), pane.session.clone());
            match self.kept_reading(meta, &entry.paths, pane) {
                Some(signal) => {
                    self.kept.insert(key, signal);
                }
                None => by_server.entry(key.0).or_default().push(key.1),
            }
        }
        // Taken before tmux is asked: output after the capture is then always later than it.
        self.captured_at = now().unix_timestamp();
        let mut screens = HashMap::new();
        for (server, sessions) in by_server {
            match tmux::capture_panes(&server, &sessions) {
                Ok(texts) => screens.extend(sessions.into_iter().map(|s| (server.clone(), s)).zip(texts)),
                // A session that vanished mid-batch fails the batch: read the rest one by one.
                Err(_) => {
                    for session in sessions {
                        if let Ok(text) = tmux::capture_pane(&server, &session, 0) {
                            screens.insert((server.clone(), session), text);
                        }
                    }
                }
            }
        }
        self.readings.retain(|key, _| screens.contains_key(key));
        self.screens = screens;
    }

    /// The reading kept beside the record, when nothing can have changed since it was made:
    /// the same pane process, no output since (tmux's `window_activity`, in whole seconds, is
    /// the one it was captured at, and the capture began in a later second, so output after
    /// it would have moved the activity), and the same runner plugin bytes, still granted.
    fn kept_reading(
        &mut self,
        meta: &RunMeta,
        paths: &crate::store::RunPaths,
        pane: &PaneInfo,
    ) -> Option<ScreenSignal> {
        let kept: KeptReading = crate::store::read_json(&paths.screen_reading())?;
        let unchanged = Some(kept.activity) == pane.activity && kept.captured > kept.activity;
        if !unchanged || Some(kept.pane_pid) != pane.pane_pid {
            return None;
        }
        // The plugin's bytes, not the plugin loaded: these bytes made the reading.
        let runner = self.runner(meta).ok()?;
        (runner.sha256 == kept.plugin_sha256).then(|| ScreenSignal::Read {
            plugin: runner.id.clone(),
            observation: crate::plugin::safe_observation(kept.observation),
        })
    }

    /// The runner plugin of `meta`'s run, loaded (compiled or from the compile cache).
    fn plugin(&mut self, meta: &RunMeta) -> std::result::Result<Rc<Plugin>, ScreenSignal> {
        let env = self.env;
        let RunnerPlugin { id, source, loaded, .. } = self.runner(meta)?;
        // The source is there until the first load, and only then.
        let source = source.take();
        loaded
            .get_or_insert_with(|| {
                let failed = |error: String| ScreenSignal::Failed { plugin: id.clone(), error };
                let source = source.ok_or_else(|| failed("its bytes were not found".into()))?;
                env.plugins().load(source).map_err(|e| failed(e.to_string()))
            })
            .clone()
    }

    /// The runner plugin of `meta`'s run as granted, found once per (repository, plugin id).
    fn runner(&mut self, meta: &RunMeta) -> std::result::Result<&mut RunnerPlugin, ScreenSignal> {
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
            None => {
                authorize::runner_plugin_id(env, &meta.runner, project)
                    .map_err(|e| ScreenSignal::Failed { plugin: meta.runner.clone(), error: e.to_string() })?
                    .0
            }
        };
        self.plugins
            .entry((meta.repo_id.clone(), id))
            .or_insert_with_key(|(_, id)| match env.plugins().find_granted_source(id, project, &env.dirs.config) {
                Ok(Some(source)) => Ok(RunnerPlugin {
                    id: id.clone(),
                    sha256: source.sha256.clone(),
                    source: Some(source),
                    loaded: None,
                }),
                Ok(None) => Err(ScreenSignal::NotGranted { plugin: id.clone() }),
                Err(e) => Err(ScreenSignal::Failed { plugin: id.clone(), error: e.to_string() }),
            })
            .as_mut()
            .map_err(|signal| signal.clone())
    }

    /// What the runner plugin reads from a finished headless run's output. Computed once per
    /// exit and kept beside the record (`runner_result.json`); a read-only data dir only
    /// means it is computed again next time.
    fn headless(
        &mut self,
        meta: &RunMeta,
        paths: &crate::store::RunPaths,
        exit: &AgentExit,
    ) -> Option<HeadlessOutcome> {
        let ended = exit.ended_at.map(|t| t.unix_timestamp()).unwrap_or_default();
        let cache = paths.dir.join("runner_result.json");
        if let Some(cached) = crate::store::read_json::<HeadlessOutcome>(&cache).filter(|c| c.ended == ended) {
            return Some(cached);
        }
        let plugin = self.plugin(meta).ok()?;
        let tail =
            crate::store::read::read_tail(&paths.log("runner"), HEADLESS_TAIL).ok().flatten().unwrap_or_default();
        let code = (!exit.timed_out).then_some(exit.code);
        let result = self
            .env
            .plugins()
            .headless_result(&plugin, &String::from_utf8_lossy(&tail), code, Some(&paths.log("plugin")))
            .ok()??;
        let outcome =
            HeadlessOutcome { ended, ok: result.ok, message: result.message, resume_session: result.resume_session };
        let _ = crate::store::atomic::write_json_atomic(&cache, &outcome);
        Some(outcome)
    }

    fn classify(&mut self, meta: &RunMeta, paths: &crate::store::RunPaths, pane: &PaneInfo) -> Option<ScreenSignal> {
        use std::hash::{Hash, Hasher};
        let key = (meta.tmux_server(), meta.tmux_session_name.clone()?);
        if let Some(kept) = self.kept.get(&key) {
            return Some(kept.clone());
        }
        let screen = self.screens.get(&key)?.clone();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        screen.hash(&mut hasher);
        let hash = hasher.finish();
        if let Some((seen, signal)) = self.readings.get(&key)
            && *seen == hash
        {
            return Some(signal.clone());
        }
        let plugin = match self.plugin(meta) {
            Ok(plugin) => plugin,
            Err(signal) => return Some(signal),
        };
        let id = plugin.info.id.clone();
        let signal = match self.env.plugins().classify(&plugin, &screen, Some(&paths.log("plugin"))) {
            Ok(observation) => {
                if let (Some(activity), Some(pane_pid)) = (pane.activity, pane.pane_pid) {
                    let kept = KeptReading {
                        activity,
                        captured: self.captured_at,
                        pane_pid,
                        plugin_sha256: plugin.sha256.clone(),
                        observation: observation.clone(),
                    };
                    // A cache: one not written (a read-only data dir) only means a capture next time.
                    let _ = crate::store::atomic::write_cache_json(&paths.screen_reading(), &kept);
                }
                ScreenSignal::Read { plugin: id, observation }
            }
            Err(e) => ScreenSignal::Failed { plugin: id, error: e.to_string() },
        };
        self.readings.insert(key, (hash, signal.clone()));
        Some(signal)
    }
}

/// A runner plugin's reading of a pane, kept beside the run's record (`screen_reading.json`)
/// with what it was read from, so that `ls` over many idle agents neither captures nor
/// classifies panes that have not changed.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct KeptReading {
    /// tmux's `window_activity` (unix seconds) when the pane was captured.
    activity: i64,
    /// When the capture began (unix seconds).
    captured: i64,
    pane_pid: u32,
    plugin_sha256: String,
    observation: crate::plugin::api::Observation,
}

/// The pane text exactly as `classify` receives it (no scrollback; what `ls` reads).
pub fn screen_as_classified(env: &Env, reference: &str) -> Result<String> {
    let run = open_live(env, reference, Purpose::Read)?;
    if !run.session_alive()? {
        return Err(no_live_session(&run.meta.name));
    }
    tmux::capture_pane(&run.server(), &run.session(), 0)
}

pub fn no_live_session(name: &str) -> AgencyError {
    AgencyError::new(ErrorCode::SessionNotFound, format!("run `{name}` has no live tmux session"))
        .with_hint(format!("agency resume {name}   # starts the agent again"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked_ahead(server: &Server, sessions: &[&str]) -> PanesAhead {
        let panes: Vec<PaneInfo> = sessions
            .iter()
            .map(|s| PaneInfo { session: s.to_string(), pane_pid: Some(1), activity: Some(1) })
            .collect();
        PanesAhead(Some((server.clone(), std::thread::spawn(move || Ok(panes)))))
    }

    #[test]
    fn an_early_pane_listing_serves_only_its_server_and_only_when_it_lists_every_session() {
        let server = Server::Socket("/tmp/tmux-test/agency".into());
        let other = Server::Socket("/tmp/tmux-test/other".into());
        assert!(asked_ahead(&server, &["a", "b"]).take_for(&server, &["a", "b"]).is_some());
        assert!(asked_ahead(&server, &["a", "b"]).take_for(&server, &["b"]).is_some());
        // A session started after the listing was taken: the server is asked again.
        assert!(asked_ahead(&server, &["a"]).take_for(&server, &["a", "c"]).is_none());
        assert!(asked_ahead(&server, &["a"]).take_for(&other, &["a"]).is_none());
        assert!(asked_ahead(&server, &["a"]).take_for(&Server::Default, &["a"]).is_none());
        // Used once: the next server asks tmux itself.
        let mut ahead = asked_ahead(&server, &["a"]);
        assert!(ahead.take_for(&server, &["a"]).is_some());
        assert!(ahead.take_for(&server, &["a"]).is_none());
        let mut failed =
            PanesAhead(Some((server.clone(), std::thread::spawn(|| Err(AgencyError::internal("no tmux"))))));
        assert!(failed.take_for(&server, &[]).is_none());
    }
}
