//! Which live runs carry each name of a repository, kept in `repos/<repo_id>/names.json`, so
//! that `run` checks a name, and a full run id resolves, without reading every record the
//! repository ever had (a repository with a thousand archived runs starts a run as fast as
//! a new one).
//!
//! The file is a cache, never the truth, and anyone may delete it:
//! - an entry counts only when the record it points at still holds the name (live, same name,
//!   its worktree created) — archiving a run frees its name without touching the index;
//! - the file remembers the `runs/` directory as it was when the index last covered every run
//!   in it (modification time, link count, inode). Any run directory created or removed
//!   behind its back (the Go agency, an older agency, a hand edit, `repair`) changes that, and
//!   the next check reads every record again and rebuilds the index;
//! - records that could not be read at the rebuild are listed and read again at every check,
//!   so a record repaired by hand is seen;
//! - it is written only under the repository lock: by the process that creates (or restores)
//!   a run, so two writers never lose each other's entries, and by a reader that had to
//!   rebuild it, when it can take the lock without waiting.
//!
//! What the index trusts: a record's `name` never changes once written (agency never renames
//! a run).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Store;
use super::atomic::write_json_atomic;
use super::lock::RepoLock;
use super::meta::Broken;
use super::runs::{self, RunEntry};
use crate::error::{AgencyError, ErrorCode, Result};

/// The index of one repository, as read (and rebuilt when stale).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct NameIndex {
    /// `runs/` when the index last covered all of it.
    #[serde(default)]
    runs_dir: Option<DirStamp>,
    /// name → the live runs that carried it when they were recorded (newest last).
    #[serde(default)]
    names: BTreeMap<String, Vec<String>>,
    /// Runs whose record could not be read when the index was rebuilt.
    #[serde(default)]
    unreadable: Vec<String>,
    #[serde(skip)]
    repo_id: String,
}

/// What changes whenever an entry is created in or removed from a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct DirStamp {
    mtime_sec: i64,
    mtime_nsec: i64,
    nlink: u64,
    inode: u64,
}

impl DirStamp {
    fn of(store: &Store, repo_id: &str) -> Option<DirStamp> {
        let meta = std::fs::metadata(store.runs_dir(repo_id)).ok()?;
        Some(DirStamp {
            mtime_sec: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            nlink: meta.nlink(),
            inode: meta.ino(),
        })
    }
}

impl NameIndex {
    /// The index of `repo_id`, read from its file when that still covers every run, else
    /// rebuilt from the records (not written: see [`NameIndex::record`]).
    pub fn load(store: &Store, repo_id: &str) -> NameIndex {
        Self::load_or_rebuild(store, repo_id).0
    }

    /// The index, and when it had to be rebuilt, the records it was rebuilt from.
    fn load_or_rebuild(store: &Store, repo_id: &str) -> (NameIndex, Option<Vec<RunEntry>>) {
        let current = DirStamp::of(store, repo_id);
        let stored = super::read_json::<NameIndex>(&path(store, repo_id))
            .map(NameIndex::with_plain_ids)
            .filter(|index| index.runs_dir.is_some() && index.runs_dir == current && index.fits_runs_dir());
        let (mut index, scanned) = match stored {
            Some(index) => (index, None),
            None => {
                // The stamp is taken before the scan: a run created during it changes `runs/`
                // again, and the next load rebuilds once more.
                let entries = runs::scan_repo(store, repo_id);
                (index_of(&entries, current), Some(entries))
            }
        };
        index.repo_id = repo_id.to_string();
        (index, scanned)
    }

    /// Like [`NameIndex::load`]; an index that had to be rebuilt is also written, when the
    /// repository lock can be taken without waiting (a reader never waits for a writer).
    pub fn load_and_keep(store: &Store, repo_id: &str) -> NameIndex {
        Self::load_keeping(store, repo_id).0
    }

    fn load_keeping(store: &Store, repo_id: &str) -> (NameIndex, Option<Vec<RunEntry>>) {
        let (index, scanned) = NameIndex::load_or_rebuild(store, repo_id);
        if scanned.is_some() && index.runs_dir.is_some() {
            let lock = RepoLock::acquire(&store.lock_path(repo_id), "keep the run name index", Duration::ZERO, |_| {});
            if lock.is_ok() && DirStamp::of(store, repo_id) == index.runs_dir {
                let _ = write_json_atomic(&path(store, repo_id), &index);
            }
        }
        (index, scanned)
    }

    /// Whether the index names no more runs than `runs/` has directories (its link count is two
    /// more than that, on the filesystems that count them): an index grown behind agency's back
    /// is rebuilt, not followed into a million lookups.
    fn fits_runs_dir(&self) -> bool {
        let Some(stamp) = self.runs_dir else { return false };
        stamp.nlink < 2 || self.run_ids().count() as u64 <= stamp.nlink - 2
    }

    /// Drop ids that are not a plain directory name: the file sits in the data dir, where an
    /// agent can write too, and an id becomes a path (`runs/<id>`) — never one outside `runs/`.
    fn with_plain_ids(mut self) -> NameIndex {
        let plain = |id: &String| !id.is_empty() && !id.starts_with('.') && !id.contains(['/', '\0']);
        for runs in self.names.values_mut() {
            runs.retain(plain);
        }
        self.unreadable.retain(plain);
        self
    }

    /// Every run the index lists (live when recorded, or unreadable at the rebuild).
    fn run_ids(&self) -> impl Iterator<Item = &String> {
        self.names.values().flatten().chain(&self.unreadable)
    }

    /// The run holding `name`, if any: the newest recorded run whose record still holds it,
    /// or a run whose record could not be read at the rebuild and now holds it.
    pub fn holder(&self, store: &Store, name: &str) -> Option<RunEntry> {
        self.live_named(store, name).into_iter().find(|entry| entry.meta.as_ref().is_ok_and(|m| m.holds_name()))
    }

    /// Every live run whose record carries `name`, newest recorded first.
    pub fn live_named(&self, store: &Store, name: &str) -> Vec<RunEntry> {
        let recorded = self.names.get(name).into_iter().flatten().rev();
        recorded
            .chain(&self.unreadable)
            .map(|run_id| RunEntry::load(store, &self.repo_id, run_id))
            .filter(|entry| entry.meta.as_ref().is_ok_and(|m| m.name == name && !m.is_archived()))
            .collect()
    }

    /// Record that `run_id` now holds `name` and write the index, stamped with `runs/` as it
    /// is now. The caller holds the repository lock and has just created (or restored) the
    /// run; entries of runs archived (or gone) since are dropped on the way. A run whose record
    /// cannot be read — one stopped before its record was written, or damaged — stays: `ls`
    /// lists the runs named here, and must go on showing it broken, with its fix.
    pub fn record(mut self, store: &Store, name: &str, run_id: &str) -> Result<()> {
        self.names.retain(|held, runs| {
            runs.retain(|id| {
                let entry = RunEntry::load(store, &self.repo_id, id);
                match &entry.meta {
                    Ok(meta) => meta.name == *held && !meta.is_archived(),
                    Err(_) => entry.paths.dir.is_dir(),
                }
            });
            !runs.is_empty()
        });
        let runs = self.names.entry(name.to_string()).or_default();
        if !runs.iter().any(|id| id == run_id) {
            runs.push(run_id.to_string());
        }
        self.runs_dir = DirStamp::of(store, &self.repo_id);
        let path = path(store, &self.repo_id);
        write_json_atomic(&path, &self).map_err(|e| {
            // The old file may still look current (a restore changes no directory): remove it.
            forget(store, &self.repo_id);
            AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write the run name index", &path, e)
        })
    }
}

/// Forget the index of `repo_id` (after a repair rebuilt or moved records): the next check
/// reads every record again.
pub fn forget(store: &Store, repo_id: &str) {
    let _ = std::fs::remove_file(path(store, repo_id));
}

fn path(store: &Store, repo_id: &str) -> std::path::PathBuf {
    store.repo_dir(repo_id).join("names.json")
}

/// The live runs of `repo_ids` (and those whose record cannot be read), newest first, read
/// through each repository's index: archived runs, usually most of a repository's runs, are
/// not opened at all. An index that is stale is rebuilt from the records it reads anyway.
pub fn live_runs(store: &Store, repo_ids: &[String]) -> Vec<RunEntry> {
    let mut ids = Vec::new();
    let mut scanned = Vec::new();
    for repo_id in repo_ids {
        match NameIndex::load_keeping(store, repo_id) {
            (_, Some(entries)) => {
                scanned.extend(entries.into_iter().filter(|e| !e.meta.as_ref().is_ok_and(|m| m.is_archived())))
            }
            (index, None) => ids.extend(index.run_ids().map(|run_id| (repo_id.clone(), run_id.clone()))),
        }
    }
    ids.sort();
    ids.dedup();
    let mut entries = runs::load_newest_first(store, ids);
    // An id with no run directory at all was never a run (a planted entry): not listed broken.
    entries.retain(|e| match &e.meta {
        Ok(meta) => !meta.is_archived(),
        Err(broken) => !matches!(broken, Broken::Missing) || e.paths.dir.is_dir(),
    });
    if !scanned.is_empty() {
        entries.extend(scanned);
        // Newest first; equal ids in repository order, as a scan of every record gives them.
        entries.sort_by(|a, b| b.run_id.cmp(&a.run_id).then_with(|| a.repo_id.cmp(&b.repo_id)));
    }
    entries
}

/// The index of scanned records (newest first, as scans return them).
fn index_of(entries: &[RunEntry], stamp: Option<DirStamp>) -> NameIndex {
    let mut index = NameIndex { runs_dir: stamp, ..NameIndex::default() };
    // Oldest first, so each name's list ends with its newest holder.
    for entry in entries.iter().rev() {
        match &entry.meta {
            Ok(meta) if !meta.is_archived() => {
                index.names.entry(meta.name.clone()).or_default().push(entry.run_id.clone())
            }
            Ok(_) => {}
            Err(_) => index.unreadable.push(entry.run_id.clone()),
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::meta::{self, RunMeta};

    fn world() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf());
        (dir, store)
    }

    fn write_run(store: &Store, run_id: &str, name: &str, archived: bool) {
        let paths = store.run_paths("r", run_id);
        std::fs::create_dir_all(&paths.dir).unwrap();
        let mut m = RunMeta {
            schema_version: "1.0".into(),
            run_id: run_id.into(),
            repo_id: "r".into(),
            name: name.into(),
            ..Default::default()
        };
        if archived {
            m.archive = Some(Box::new(meta::Archive {
                archived_at: Some("2026-01-01T00:00:00Z".into()),
                ..Default::default()
            }));
        }
        meta::write(&paths.meta(), &m).unwrap();
    }

    fn holder(store: &Store, name: &str) -> Option<String> {
        NameIndex::load(store, "r").holder(store, name).map(|e| e.run_id)
    }

    #[test]
    fn a_written_index_answers_without_a_scan_and_archiving_frees_the_name() {
        let (_dir, store) = world();
        write_run(&store, "20260101000000-aaaa", "fix", false);
        NameIndex::load(&store, "r").record(&store, "fix", "20260101000000-aaaa").unwrap();
        assert_eq!(holder(&store, "fix").as_deref(), Some("20260101000000-aaaa"));
        // Archived in place (no run dir created or removed): the entry no longer counts.
        write_run(&store, "20260101000000-aaaa", "fix", true);
        assert_eq!(holder(&store, "fix"), None);
        // A record the index does not know, written into the stamped directory without
        // changing it, is invisible: the index really is what answers.
        let stamp = DirStamp::of(&store, "r");
        let hidden = store.run_paths("r", "20260101000000-aaaa");
        write_run(&store, "20260101000000-aaaa", "other", false);
        assert_eq!(DirStamp::of(&store, "r"), stamp);
        assert!(hidden.meta().is_file());
        assert_eq!(holder(&store, "other"), None);
    }

    #[test]
    fn a_run_created_behind_its_back_is_found() {
        let (_dir, store) = world();
        write_run(&store, "20260101000000-aaaa", "fix", false);
        NameIndex::load(&store, "r").record(&store, "fix", "20260101000000-aaaa").unwrap();
        write_run(&store, "20260102000000-bbbb", "foreign", false);
        assert_eq!(holder(&store, "foreign").as_deref(), Some("20260102000000-bbbb"));
        assert_eq!(holder(&store, "fix").as_deref(), Some("20260101000000-aaaa"));
    }

    #[test]
    fn an_unreadable_record_is_read_again_at_every_check() {
        let (_dir, store) = world();
        let paths = store.run_paths("r", "20260101000000-aaaa");
        std::fs::create_dir_all(&paths.dir).unwrap();
        std::fs::write(paths.meta(), "{ not json").unwrap();
        NameIndex::load(&store, "r").record(&store, "x", "20260101000000-aaaa").unwrap();
        assert_eq!(holder(&store, "fix"), None);
        write_run(&store, "20260101000000-aaaa", "fix", false);
        assert_eq!(holder(&store, "fix").as_deref(), Some("20260101000000-aaaa"));
    }

    #[test]
    fn an_id_that_is_not_a_directory_name_is_ignored() {
        let (dir, store) = world();
        write_run(&store, "20260101000000-aaaa", "fix", false);
        NameIndex::load(&store, "r").record(&store, "fix", "20260101000000-aaaa").unwrap();
        // A record outside `runs/`, named by a planted index entry.
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::copy(store.run_paths("r", "20260101000000-aaaa").meta(), outside.join("meta.json")).unwrap();
        let mut planted: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path(&store, "r")).unwrap()).unwrap();
        planted["names"]["fix"] = serde_json::json!(["../../../outside", "20260101000000-aaaa"]);
        planted["unreadable"] = serde_json::json!(["../../../outside"]);
        std::fs::write(path(&store, "r"), planted.to_string()).unwrap();
        let index = NameIndex::load(&store, "r");
        let named: Vec<String> = index.live_named(&store, "fix").into_iter().map(|e| e.run_id).collect();
        assert_eq!(named, ["20260101000000-aaaa"]);
        assert_eq!(index.run_ids().count(), 1);
    }

    #[test]
    fn an_index_naming_runs_that_are_not_there_is_not_followed() {
        let (_dir, store) = world();
        write_run(&store, "20260101000000-aaaa", "fix", false);
        write_run(&store, "20260101000000-bbbb", "other", false);
        NameIndex::load(&store, "r").record(&store, "fix", "20260101000000-aaaa").unwrap();
        let planted = |names: serde_json::Value, unreadable: serde_json::Value| {
            let mut index: serde_json::Value =
                serde_json::from_slice(&std::fs::read(path(&store, "r")).unwrap()).unwrap();
            index["names"] = names;
            index["unreadable"] = unreadable;
            std::fs::write(path(&store, "r"), index.to_string()).unwrap();
        };
        let listed = || live_runs(&store, &["r".to_string()]).into_iter().map(|e| e.run_id).collect::<Vec<_>>();
        // More runs than `runs/` has directories: rebuilt from the directories.
        let many: Vec<String> = (0..1000).map(|n| format!("20250101000000-{n:04x}")).collect();
        planted(serde_json::json!({"fix": ["20260101000000-aaaa"]}), serde_json::json!(many));
        assert_eq!(listed(), ["20260101000000-bbbb", "20260101000000-aaaa"]);
        // Within the count, a run that has no directory is not shown as a broken run.
        planted(serde_json::json!({"fix": ["20260101000000-aaaa"]}), serde_json::json!(["20250101000000-dead"]));
        assert_eq!(listed(), ["20260101000000-aaaa"]);
    }

    #[test]
    fn a_damaged_or_deleted_index_is_rebuilt() {
        let (_dir, store) = world();
        write_run(&store, "20260101000000-aaaa", "fix", false);
        NameIndex::load(&store, "r").record(&store, "fix", "20260101000000-aaaa").unwrap();
        std::fs::write(path(&store, "r"), "garbage").unwrap();
        assert_eq!(holder(&store, "fix").as_deref(), Some("20260101000000-aaaa"));
        forget(&store, "r");
        assert_eq!(holder(&store, "fix").as_deref(), Some("20260101000000-aaaa"));
    }
}
