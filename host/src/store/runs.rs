//! Finding runs: one directory scan of `repos/<repo_id>/runs/` (the truth; the name index
//! of [`super::name_index`] is a cache over it that a scan rebuilds), and ref
//! resolution (exact name among live runs → exact run id → unique run-id prefix). A run whose
//! `meta.json` is missing or corrupt is still returned, marked broken, so listings show it
//! with its fix instead of failing.

use std::collections::HashMap;

use crate::error::{AgencyError, ErrorCode, Result};
use crate::store::meta::{self, Broken, RunMeta};
use crate::store::{RunPaths, Store};

/// One run directory and what its record says.
#[derive(Debug, Clone)]
pub struct RunEntry {
    pub repo_id: String,
    pub run_id: String,
    pub paths: RunPaths,
    /// Boxed: a record is large, and a listing moves a thousand entries around.
    pub meta: std::result::Result<Box<RunMeta>, Broken>,
}

impl RunEntry {
    /// Live = readable and not archived.
    pub fn is_live(&self) -> bool {
        self.meta.as_ref().is_ok_and(|m| !m.is_archived())
    }

    pub fn name(&self) -> Option<&str> {
        self.meta.as_ref().ok().map(|m| m.name.as_str())
    }

    /// The record, or `E_RUN_BROKEN` with the fix.
    pub fn meta_or_broken(&self) -> Result<&RunMeta> {
        self.meta.as_deref().map_err(|broken| broken_error(self, broken))
    }

    pub fn load(store: &Store, repo_id: &str, run_id: &str) -> RunEntry {
        let paths = store.run_paths(repo_id, run_id);
        let meta = meta::read(&paths.meta()).map(Box::new);
        RunEntry { repo_id: repo_id.to_string(), run_id: run_id.to_string(), paths, meta }
    }

    /// Like [`RunEntry::load`], through a handle on the repository's `runs/` directory.
    fn load_in(store: &Store, runs: &cap_std::fs::Dir, repo_id: &str, run_id: &str) -> RunEntry {
        let paths = store.run_paths(repo_id, run_id);
        let meta = meta::read_in(runs, run_id).map(Box::new);
        RunEntry { repo_id: repo_id.to_string(), run_id: run_id.to_string(), paths, meta }
    }
}

pub fn broken_error(entry: &RunEntry, broken: &Broken) -> AgencyError {
    AgencyError::new(ErrorCode::RunBroken, format!("run {} is broken: {broken}", entry.run_id))
        .with_detail("run_dir", entry.paths.dir.display())
        .with_hint("agency repair --dry-run   # shows how the run will be reconciled")
}

fn dir_names(dir: &std::path::Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// The run ids of one repository (its run directories' names; no record is read).
pub fn run_ids(store: &Store, repo_id: &str) -> Vec<String> {
    dir_names(&store.runs_dir(repo_id))
}

/// Runs of one repository, newest first.
pub fn scan_repo(store: &Store, repo_id: &str) -> Vec<RunEntry> {
    let ids = run_ids(store, repo_id).into_iter().map(|run_id| (repo_id.to_string(), run_id)).collect();
    load_newest_first(store, ids)
}

/// Every repository id known to the data dir.
pub fn repo_ids(store: &Store) -> Vec<String> {
    let mut ids = dir_names(&store.repos_dir());
    ids.sort();
    ids
}

/// Runs of all repositories, newest first.
pub fn scan_all(store: &Store) -> Vec<RunEntry> {
    let ids = repo_ids(store)
        .into_iter()
        .flat_map(|repo_id| {
            dir_names(&store.runs_dir(&repo_id)).into_iter().map(move |run_id| (repo_id.clone(), run_id))
        })
        .collect();
    load_newest_first(store, ids)
}

/// Read the records of `(repo_id, run_id)` pairs, newest first. The ids are sorted before
/// anything is read (sorting the loaded records would move every one of them around), and a
/// large listing is read by a few threads: each record is a file to open, read and parse.
pub fn load_newest_first(store: &Store, mut ids: Vec<(String, String)>) -> Vec<RunEntry> {
    // Stable, so runs with equal ids keep their repository order.
    ids.sort_by(|a, b| b.1.cmp(&a.1));
    let mut handles: HashMap<&str, cap_std::fs::Dir> = HashMap::new();
    for (repo_id, _) in &ids {
        if !handles.contains_key(repo_id.as_str())
            && let Ok(dir) = cap_std::fs::Dir::open_ambient_dir(store.runs_dir(repo_id), cap_std::ambient_authority())
        {
            handles.insert(repo_id, dir);
        }
    }
    // meta::read turns every bad record into a broken entry: no load fails.
    crate::parallel::map(&ids, |(repo_id, run_id)| match handles.get(repo_id.as_str()) {
        Some(runs) => RunEntry::load_in(store, runs, repo_id, run_id),
        None => RunEntry::load(store, repo_id, run_id),
    })
}

/// Which names a `<ref>` may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// Names of live runs only (a name is reused once its run is archived).
    LiveNames,
    /// Also names of archived runs, the newest first (for `restore`).
    ArchivedNamesToo,
}

/// Resolve a `<ref>` among `runs` (newest first): a live run's exact name, then (for
/// `ArchivedNamesToo`) the newest archived run of that name, then an exact run id, then a
/// unique run-id prefix.
pub fn resolve<'a>(runs: &'a [RunEntry], reference: &str, how: Resolve) -> Result<&'a RunEntry> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(AgencyError::new(ErrorCode::Usage, "empty run reference")
            .with_hint("agency ls   # lists run names and ids"));
    }
    let by_name: Vec<&RunEntry> = runs.iter().filter(|r| r.is_live() && r.name() == Some(reference)).collect();
    match by_name.as_slice() {
        [one] => return Ok(one),
        [] => {}
        many => return Err(ambiguous(reference, many)),
    }
    if how == Resolve::ArchivedNamesToo
        && let Some(newest) = runs.iter().find(|r| !r.is_live() && r.name() == Some(reference))
    {
        return Ok(newest);
    }
    if let Some(exact) = runs.iter().find(|r| r.run_id == reference) {
        return Ok(exact);
    }
    let by_prefix: Vec<&RunEntry> = runs.iter().filter(|r| r.run_id.starts_with(reference)).collect();
    match by_prefix.as_slice() {
        [one] => Ok(one),
        [] => Err(AgencyError::new(ErrorCode::RunNotFound, format!("no run matches `{reference}`"))
            .with_hint("agency ls --all   # lists every run with its name and id")),
        many => Err(ambiguous(reference, many)),
    }
}

pub fn ambiguous(reference: &str, candidates: &[&RunEntry]) -> AgencyError {
    let list: Vec<String> =
        candidates.iter().map(|r| format!("{} ({})", r.run_id, r.name().unwrap_or("broken"))).collect();
    AgencyError::new(
        ErrorCode::RunIdAmbiguous,
        format!("`{reference}` matches {} runs: {}", candidates.len(), list.join(", ")),
    )
    .with_hint("give the full run id, or enough of it to be unique")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(run_id: &str, name: &str, archived: bool) -> RunEntry {
        let mut m =
            RunMeta { run_id: run_id.into(), name: name.into(), schema_version: "1.0".into(), ..Default::default() };
        if archived {
            m.archive = Some(Box::new(meta::Archive {
                archived_at: Some("2026-01-01T00:00:00Z".into()),
                ..Default::default()
            }));
        }
        RunEntry {
            repo_id: "r".into(),
            run_id: run_id.into(),
            paths: RunPaths::new(run_id.into()),
            meta: Ok(Box::new(m)),
        }
    }

    #[test]
    fn resolution_order() {
        let runs = vec![
            entry("20260102000000-aaaa", "feat", false),
            entry("20260101000000-bbbb", "feat", true),
            entry("20260101000000-cccc", "20260101", false),
        ];
        let live = Resolve::LiveNames;
        assert_eq!(resolve(&runs, "feat", live).unwrap().run_id, "20260102000000-aaaa");
        assert_eq!(resolve(&runs, "20260101000000-bbbb", live).unwrap().run_id, "20260101000000-bbbb");
        // a live name wins over an id prefix
        assert_eq!(resolve(&runs, "20260101", live).unwrap().run_id, "20260101000000-cccc");
        assert_eq!(resolve(&runs, "20260102", live).unwrap().run_id, "20260102000000-aaaa");
        let err = resolve(&runs, "2026010", live).unwrap_err();
        assert_eq!(err.code, ErrorCode::RunIdAmbiguous);
        assert!(err.message.contains("20260101000000-bbbb"));
        assert_eq!(resolve(&runs, "nope", live).unwrap_err().code, ErrorCode::RunNotFound);
    }

    #[test]
    fn archived_names_resolve_only_for_restore_newest_first() {
        let runs = vec![entry("20260102000000-cccc", "old", true), entry("20260101000000-bbbb", "old", true)];
        assert_eq!(resolve(&runs, "old", Resolve::LiveNames).unwrap_err().code, ErrorCode::RunNotFound);
        assert_eq!(resolve(&runs, "old", Resolve::ArchivedNamesToo).unwrap().run_id, "20260102000000-cccc");
    }
}
