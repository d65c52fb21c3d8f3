//! Port blocks of live runs (`AGENCY_PORT_BASE`), kept in `ports.json` at the data dir's root
//! so a new run finds a free block without reading every run ever made: the file lists the
//! blocks handed out, and entries whose run is archived or gone are dropped when the next
//! block is reserved. Updated under its own lock, across all repositories.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::Store;
use super::atomic::write_json_atomic;
use super::lock::{self, RepoLock};
use crate::error::{AgencyError, ErrorCode, Result};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ports {
    /// run id → its block
    #[serde(default)]
    runs: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    repo_id: String,
    base: u16,
}

/// Reserve a free block for the new run `run_id` of `repo_id`.
pub fn reserve(store: &Store, repo_id: &str, run_id: &str) -> Result<Option<u16>> {
    update(store, |ports| {
        // A run still being created has a directory and no record yet: it keeps its block.
        ports.runs.retain(|id, entry| {
            let run = super::runs::RunEntry::load(store, &entry.repo_id, id);
            run.paths.dir.is_dir() && !run.meta.as_ref().is_ok_and(|m| m.is_archived())
        });
        let taken: Vec<u16> = ports.runs.values().map(|e| e.base).collect();
        let base = super::names::free_port_base(&taken);
        if let Some(base) = base {
            ports.runs.insert(run_id.to_string(), Entry { repo_id: repo_id.to_string(), base });
        }
        base
    })
}

/// Give `run_id`'s block back (when the run is archived).
pub fn release(store: &Store, run_id: &str) -> Result<()> {
    update(store, |ports| {
        ports.runs.remove(run_id);
    })
}

fn update<T>(store: &Store, change: impl FnOnce(&mut Ports) -> T) -> Result<T> {
    crate::store::dirs::ensure_dir(store.root())?;
    let path = store.root().join("ports.json");
    let _lock = RepoLock::acquire(&store.root().join("ports.lock"), "reserve ports", lock::wait_bound()?, |_| {})?;
    let mut ports: Ports = match super::read_json(&path) {
        Some(ports) => ports,
        // First use in this data dir (or the file was lost): take the blocks from the runs once.
        None => Ports {
            runs: super::runs::scan_all(store)
                .into_iter()
                .filter_map(|r| {
                    let base = r.meta.as_ref().ok().filter(|m| !m.is_archived())?.port_base?;
                    Some((r.run_id, Entry { repo_id: r.repo_id, base }))
                })
                .collect(),
        },
    };
    let value = change(&mut ports);
    write_json_atomic(&path, &ports)
        .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write ports.json", &path, e))?;
    Ok(value)
}
