//! Live signals of runs: what tmux says about their sessions (one `list-panes` per server; the
//! server new sessions go to is asked ahead), what each live agent's files say (exit record,
//! status file, hook report, kept reading; read for many runs at once), and the status composed
//! from them and the runner plugin's reading.

use std::collections::HashMap;
use std::path::Path;

use time::OffsetDateTime;

use super::RunView;
use super::classifier::{Classifier, KeptReading};
use crate::clock::{now, parse_rfc3339};
use crate::error::Result;
use crate::status::{self, AgentExit, Signals, Status, StatusFile};
use crate::store::confined::Confined;
use crate::store::meta::RunMeta;
use crate::store::runs::RunEntry;
use crate::store::worktree::{STATUS_TEMPLATE_SUMMARY, WorktreePaths};
use crate::tmux::{self, PaneInfo, Server};

/// `tmux list-panes` on the server new sessions go to, started before the records that name
/// the servers are read (tmux takes about as long to answer as a hundred records take to read).
/// Used only for that server, and only if it lists every session the records expect there: a
/// session missing from it may have started after it, so that server is asked again.
pub struct PanesAhead(Option<(Server, std::thread::JoinHandle<Result<Vec<PaneInfo>>>)>);

impl PanesAhead {
    /// Ask now, on a thread, if that server is running (and a thread can be had: without one,
    /// the server is asked in its turn).
    pub fn start() -> PanesAhead {
        PanesAhead(Server::expected().and_then(|server| {
            let asked = server.clone();
            let thread = std::thread::Builder::new().spawn(move || tmux::list_panes(&asked)).ok()?;
            Some((server, thread))
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
pub(super) struct LivePanes {
    panes: HashMap<(Server, String), PaneInfo>,
    /// Servers tmux could not be asked about (tmux missing, a timeout), with why.
    errors: HashMap<Server, String>,
}

impl LivePanes {
    pub(super) fn read(entries: &[RunEntry], mut ahead: PanesAhead) -> LivePanes {
        let mut live = LivePanes { panes: HashMap::new(), errors: HashMap::new() };
        let mut sessions: HashMap<Server, Vec<&str>> = HashMap::new();
        for meta in entries.iter().filter_map(|e| e.meta.as_ref().ok().filter(|m| needs_live_signals(m))) {
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

    pub(super) fn pane(&self, meta: &RunMeta) -> Option<&PaneInfo> {
        self.panes.get(&(meta.tmux_server(), meta.tmux_session_name.clone()?))
    }
}

/// On a few threads: the status of each run its record alone decides (archived, never started,
/// broken), and the files of each live agent (most runs of a long listing are the former).
pub(super) fn prepare(entries: &[RunEntry], stall_after: std::time::Duration) -> Vec<Prepared> {
    crate::parallel::map(entries, |entry| match &entry.meta {
        Ok(meta) if needs_live_signals(meta) => Prepared::Live(Box::new(AgentFiles::read(entry, meta, stall_after))),
        Ok(meta) => Prepared::Decided(Some(status::derive(meta, &record_signals(meta, stall_after)))),
        Err(_) => Prepared::Decided(None),
    })
}

/// A run as [`prepare`] left it: decided, or a live agent with its files read.
// Most runs of a long listing are decided: their status stays inline, the rarer live agent's
// files are boxed.
#[allow(clippy::large_enum_variant)]
pub(super) enum Prepared {
    Decided(Option<Status>),
    Live(Box<AgentFiles>),
}

/// What a live agent's run has on disk besides its record, read for many runs at once.
pub(super) struct AgentFiles {
    /// The record's signals with the files' added: exit record, status file, hook report.
    signals: Signals,
    /// `runner_exit.json` is there (even unreadable: the agent has exited).
    pub(super) exited: bool,
    pub(super) kept: Option<KeptReading>,
}

impl AgentFiles {
    fn read(entry: &RunEntry, meta: &RunMeta, stall_after: std::time::Duration) -> AgentFiles {
        let (exited, exit) = read_exit(&entry.paths.runner_exit());
        let mut signals = record_signals(meta, stall_after);
        signals.exit = exit;
        signals.status_file = read_status_file(Path::new(&meta.worktree_path));
        signals.hook = status::read_hook(&entry.paths.hook());
        AgentFiles { signals, exited, kept: crate::store::read_json(&entry.paths.screen_reading()) }
    }
}

/// The status of a live agent's run, from its files, tmux and its runner plugin.
pub(super) fn view(entry: RunEntry, files: Box<AgentFiles>, live: &LivePanes, classifier: &mut Classifier) -> RunView {
    let status =
        entry.meta.as_ref().ok().map(|meta| status::derive(meta, &signals(&entry, meta, *files, live, classifier)));
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

/// The files' signals, with what tmux and the runner plugin add.
fn signals(
    entry: &RunEntry,
    meta: &RunMeta,
    files: AgentFiles,
    live: &LivePanes,
    classifier: &mut Classifier,
) -> Signals {
    let mut signals = files.signals;
    let pane = live.pane(meta);
    signals.session_alive = pane.is_some();
    signals.tmux_error = live.errors.get(&meta.tmux_server()).cloned();
    signals.pane_activity = pane.and_then(|p| p.activity).and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    let headless = meta.is_headless();
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

/// Whether `runner_exit.json` is there (even unreadable, the agent has exited), and what it
/// says as the pane process wrote it.
fn read_exit(path: &Path) -> (bool, Option<AgentExit>) {
    use crate::store::read::{MAX_RECORD_BYTES, read_capped};
    let bytes = match read_capped(path, MAX_RECORD_BYTES) {
        Ok(None) => return (false, None),
        Ok(Some(bytes)) => bytes,
        Err(_) => return (true, None),
    };
    let parsed = || {
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let time = |k: &str| value.get(k).and_then(|v| v.as_str()).and_then(parse_rfc3339);
        Some(AgentExit {
            // The pane process writes it, but so can the agent: a code no process has is no code.
            code: i32::try_from(value.get("exit_code")?.as_i64()?).ok()?,
            timed_out: value.get("timed_out").and_then(|v| v.as_bool()).unwrap_or(false),
            started_at: time("started_at"),
            ended_at: time("ended_at"),
        })
    };
    (true, parsed())
}

/// Largest status file agency reads.
const STATUS_FILE_LIMIT: u64 = 256 << 10;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AgencyError;

    fn asked_ahead(server: &Server, sessions: &[&str]) -> PanesAhead {
        let panes: Vec<PaneInfo> = sessions
            .iter()
            .map(|s| PaneInfo { session: s.to_string(), pane_pid: Some(1), activity: Some(1) })
            .collect();
        PanesAhead(Some((server.clone(), std::thread::spawn(move || Ok(panes)))))
    }

    #[test]
    fn an_exit_record_with_a_code_no_process_has_says_the_agent_exited_but_gives_no_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runner_exit.json");
        assert!(matches!(read_exit(&path), (false, None)));
        std::fs::write(&path, r#"{"exit_code": 3, "timed_out": false}"#).unwrap();
        assert!(matches!(read_exit(&path), (true, Some(AgentExit { code: 3, .. }))));
        // Written by an agent: past i32 it would have wrapped to 1.
        std::fs::write(&path, r#"{"exit_code": 4294967297}"#).unwrap();
        assert!(matches!(read_exit(&path), (true, None)));
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
