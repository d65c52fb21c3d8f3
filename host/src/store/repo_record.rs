//! Repository records: `repos/<repo_id>/repo.json` (identity, last-seen root, origin facts) and
//! `repo_index.json` (repo key → id, known paths, last seen). Both follow the original Go
//! agency's contracts and are written atomically; unknown fields survive rewrites.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

use crate::clock as time;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::repo::Repo;
use crate::store::atomic::write_json_atomic;
use crate::store::{Store, read_json};

pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepoRecord {
    pub schema_version: String,
    pub repo_key: String,
    pub repo_id: String,
    pub repo_root_last_seen: String,
    /// The checkout's common git dir (added in 1.1): which checkout owns this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_common_dir: Option<String>,
    #[serde(default)]
    pub agency_json_path: String,
    #[serde(default)]
    pub origin_present: bool,
    #[serde(default)]
    pub origin_url: String,
    #[serde(default)]
    pub origin_host: String,
    #[serde(default)]
    pub capabilities: Map<String, Value>,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RepoIndex {
    pub schema_version: String,
    #[serde(default)]
    pub repos: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IndexEntry {
    pub repo_id: String,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub last_seen_at: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn write_error(path: &Path, e: std::io::Error) -> AgencyError {
    AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write repo record", path, e)
}

pub fn read_record(store: &Store, repo_id: &str) -> Option<RepoRecord> {
    read_json(&store.repo_json_path(repo_id))
}

/// Create or refresh `repo.json` and the index entry for `repo`, and pin the checkout's
/// identity in its git dir (see `repo::identity`).
pub fn touch(store: &Store, repo: &Repo, gh_authed: Option<bool>) -> Result<()> {
    let now = time::now_rfc3339();
    let root = repo.root.display().to_string();
    let path = store.repo_json_path(&repo.id);
    crate::store::dirs::ensure_dir(&store.repo_dir(&repo.id))?;
    let mut record: RepoRecord =
        read_json(&path).unwrap_or_else(|| RepoRecord { created_at: now.clone(), ..Default::default() });
    record.schema_version = SCHEMA_VERSION.to_string();
    record.repo_key = repo.key.clone();
    record.repo_id = repo.id.clone();
    record.repo_root_last_seen = root.clone();
    record.git_common_dir = Some(repo.common_dir.display().to_string());
    record.agency_json_path = repo.root.join("agency.json").display().to_string();
    record.origin_present = repo.origin_url.is_some();
    record.origin_url = repo.origin_url.clone().unwrap_or_default();
    record.origin_host = repo.origin_host().unwrap_or_default();
    record.capabilities.insert("github_origin".into(), Value::Bool(repo.github.is_some()));
    record.capabilities.insert("origin_host".into(), Value::String(record.origin_host.clone()));
    if let Some(authed) = gh_authed {
        record.capabilities.insert("gh_authed".into(), Value::Bool(authed));
    }
    record.updated_at = now.clone();
    write_json_atomic(&path, &record).map_err(|e| write_error(&path, e))?;
    let identity = crate::repo::identity::Identity { repo_key: repo.key.clone(), repo_id: repo.id.clone() };
    crate::repo::identity::pin(&repo.common_dir, &identity).map_err(|e| {
        AgencyError::io(ErrorCode::StoreWriteFailed, "cannot pin the repository identity", &repo.common_dir, e)
    })?;

    let index_path = store.repo_index_path();
    // The index is shared by all repos, whose runs hold different repo locks.
    let _index_lock = crate::store::lock::RepoLock::acquire(
        &store.root().join("repo_index.lock"),
        "update repo_index.json",
        crate::store::lock::wait_bound()?,
        |_| {},
    )?;
    let mut index: RepoIndex = read_json(&index_path).unwrap_or_default();
    index.schema_version = SCHEMA_VERSION.to_string();
    let mut entry: IndexEntry =
        index.repos.get(&repo.key).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    entry.repo_id = repo.id.clone();
    entry.paths.retain(|p| p != &root);
    entry.paths.insert(0, root);
    entry.last_seen_at = now;
    let value = serde_json::to_value(&entry).map_err(|e| AgencyError::internal(e.to_string()))?;
    index.repos.insert(repo.key.clone(), value);
    write_json_atomic(&index_path, &index).map_err(|e| write_error(&index_path, e))
}
