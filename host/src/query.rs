//! The read side: which runs are in scope, how a `<ref>` resolves, and each run's composed
//! status from its record plus live signals ([`signals`]: one `tmux list-panes` per tmux
//! server for all runs, the agent's status file, the hook report, the runner exit record) and
//! the runner plugin's `classify` of the pane ([`classifier`]: only for live agents, only with
//! granted bytes, from the compile cache). `ls`, `show` and the dashboard read here; nothing
//! here writes a record (caches beside records aside: `names.json`, kept readings).

mod classifier;
pub mod logs;
mod open;
mod signals;

pub use open::{OpenRun, RunRepository, open, open_live, repository_of, run_repository};
pub use signals::PanesAhead;

use classifier::Classifier;
use signals::{LivePanes, Prepared, view};

use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::repo;
use crate::status::Status;
use crate::store::name_index::{self, NameIndex};
use crate::store::runs::{self, Resolve, RunEntry};
use crate::tmux;

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
        let env = self.classifier.env;
        let prepared = signals::prepare(&entries, env.user.stall_after);
        // Then, here, with the plugins: what tmux and the runner plugins say of the live agents.
        self.classifier.capture(&entries, &prepared, &live);
        entries
            .into_iter()
            .zip(prepared)
            .map(|(entry, prepared)| match prepared {
                Prepared::Decided(status) => RunView { entry, status },
                Prepared::Live(files) => view(entry, files, &live, &mut self.classifier),
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
