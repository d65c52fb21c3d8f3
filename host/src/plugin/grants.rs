//! The user's grants: `grants.json` in the config dir, keyed by plugin id **and** the wasm's
//! sha256, so changed bytes ask again. A grant is the list of capabilities the user approved.
//! Built-in plugins are granted what they declare and are never written here.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::api::Capability;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::store::atomic::write_json_atomic;

pub const FILE_NAME: &str = "grants.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Grant {
    pub capabilities: Vec<Capability>,
    pub granted_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Grants {
    pub version: u32,
    /// plugin id → wasm sha256 → grant
    #[serde(default)]
    pub plugins: BTreeMap<String, BTreeMap<String, Grant>>,
}

fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(FILE_NAME)
}

impl Grants {
    pub fn load(config_dir: &Path) -> Result<Grants> {
        let path = path(config_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                AgencyError::new(ErrorCode::InvalidUserConfig, format!("grants.json is not valid: {e}"))
                    .with_detail("path", path.display())
                    .with_hint(format!(
                        "fix or delete {} and grant plugins again with `agency plugin trust <id>`",
                        path.display()
                    ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Grants { version: 1, plugins: BTreeMap::new() }),
            Err(e) => Err(AgencyError::io(ErrorCode::InvalidUserConfig, "cannot read grants.json", &path, e)),
        }
    }

    pub fn get(&self, id: &str, sha256: &str) -> Option<&Grant> {
        self.plugins.get(id)?.get(sha256)
    }

    /// Record a grant for (id, sha256) and save atomically.
    pub fn grant(config_dir: &Path, id: &str, sha256: &str, capabilities: Vec<Capability>) -> Result<()> {
        let mut grants = Grants::load(config_dir)?;
        grants.version = 1;
        let grant = Grant { capabilities, granted_at: crate::clock::now_rfc3339() };
        grants.plugins.entry(id.to_string()).or_default().insert(sha256.to_string(), grant);
        grants.save(config_dir)
    }

    /// Forget every grant of `id`; true when there was one.
    pub fn revoke(config_dir: &Path, id: &str) -> Result<bool> {
        let mut grants = Grants::load(config_dir)?;
        let removed = grants.plugins.remove(id).is_some();
        if removed {
            grants.save(config_dir)?;
        }
        Ok(removed)
    }

    fn save(&self, config_dir: &Path) -> Result<()> {
        crate::store::dirs::ensure_dir(config_dir)?;
        let path = path(config_dir);
        write_json_atomic(&path, self)
            .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write grants.json", &path, e))
    }
}
