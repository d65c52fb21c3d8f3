//! Runner plugins reading the panes of live agents, for `ls`, `show` and the dashboard: each
//! granted plugin is found once per listing and loaded only when a pane must be read; panes
//! are captured with one tmux call per server; a reading kept beside the record is reused while
//! its pane is unchanged; a finished headless run's result is read once from its output.

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use super::signals::{LivePanes, Prepared};
use crate::clock::now;
use crate::config::AgencyJson;
use crate::env::Env;
use crate::pipeline::authorize;
use crate::plugin::Plugin;
use crate::status::{AgentExit, HeadlessOutcome, ScreenSignal};
use crate::store::RunPaths;
use crate::store::meta::RunMeta;
use crate::store::repo_record;
use crate::store::runs::RunEntry;
use crate::tmux::{self, PaneInfo, Server};

/// How much of a headless run's output its runner plugin reads (the end of `logs/runner.log`).
const HEADLESS_TAIL: u64 = 64 << 10;

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
pub(super) struct Classifier<'a> {
    pub(super) env: &'a Env,
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
    pub(super) fn new(env: &'a Env) -> Self {
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
    pub(super) fn capture(&mut self, entries: &[RunEntry], prepared: &[Prepared], live: &LivePanes) {
        let mut by_server: HashMap<Server, Vec<String>> = HashMap::new();
        self.kept.clear();
        for (entry, prepared) in entries.iter().zip(prepared) {
            let (Ok(meta), Prepared::Live(files)) = (&entry.meta, prepared) else { continue };
            let Some(pane) = live.pane(meta) else { continue };
            if meta.is_headless() || files.exited {
                continue;
            }
            let key = (meta.tmux_server(), pane.session.clone());
            match self.kept_reading(meta, files.kept.as_ref(), pane) {
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
    fn kept_reading(&mut self, meta: &RunMeta, kept: Option<&KeptReading>, pane: &PaneInfo) -> Option<ScreenSignal> {
        let kept = kept?;
        let unchanged = Some(kept.activity) == pane.activity && kept.captured > kept.activity;
        if !unchanged || Some(kept.pane_pid) != pane.pane_pid {
            return None;
        }
        // The plugin's bytes, not the plugin loaded: these bytes made the reading.
        let runner = self.runner(meta).ok()?;
        (runner.sha256 == kept.plugin_sha256).then(|| ScreenSignal::Read {
            plugin: runner.id.clone(),
            observation: crate::plugin::safe_observation(kept.observation.clone()),
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
        let id = authorize::run_runner_id(env, meta, project)
            .map_err(|e| ScreenSignal::Failed { plugin: meta.runner.clone(), error: e.to_string() })?;
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
    pub(super) fn headless(&mut self, meta: &RunMeta, paths: &RunPaths, exit: &AgentExit) -> Option<HeadlessOutcome> {
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

    pub(super) fn classify(&mut self, meta: &RunMeta, paths: &RunPaths, pane: &PaneInfo) -> Option<ScreenSignal> {
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
pub(super) struct KeptReading {
    /// tmux's `window_activity` (unix seconds) when the pane was captured.
    activity: i64,
    /// When the capture began (unix seconds).
    captured: i64,
    pane_pid: u32,
    plugin_sha256: String,
    observation: crate::plugin::api::Observation,
}
