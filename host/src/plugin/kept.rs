//! Declarations kept beside the compile cache. Once a component has loaded, linked and
//! answered `info` (validated), what it declared and what its exports name are kept in
//! `${AGENCY_CACHE_DIR}/plugins/<sha256>-<agency key>.decl.json`. A later load of the same
//! bytes reads that file and needs no engine, no compiled code and no instance: those wait
//! for the first real call (`plan`, `classify`, a step), which loads the compiled code as
//! before (digest checked, recompiled when the entry is gone or wrong) and checks that its
//! exports still say what was kept.
//!
//! A declaration is a fact about the bytes and this agency's reading of them, not about the
//! engine, so the key is agency's version and the API versions it supports, not the engine
//! hash. It is a cache: one that is missing or unreadable costs one `info` call, and one that
//! was edited is validated again on every load like a fresh answer.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::api::PluginInfo;
use super::wit::{self, Exported};

/// What is kept for one component.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Declaration {
    pub info: PluginInfo,
    pub exported: Exported,
}

fn path(cache_dir: &Path, sha256: &str) -> PathBuf {
    let key = super::engine::cache_key((env!("CARGO_PKG_VERSION"), wit::SUPPORTED));
    cache_dir.join("plugins").join(format!("{sha256}-{key}.decl.json"))
}

/// The declaration kept for the component with `sha256`, if any. One naming an API this host
/// does not load is not believed (the API version reaches `plugin inspect` and the records'
/// provenance before any call checks it against the code).
pub fn read(cache_dir: &Path, sha256: &str) -> Option<Declaration> {
    crate::store::read_json::<Declaration>(&path(cache_dir, sha256)).filter(|d| d.exported.is_supported())
}

/// Keep a validated declaration (a failure to write only costs an `info` call later).
pub fn keep(cache_dir: &Path, sha256: &str, declaration: &Declaration) {
    let path = path(cache_dir, sha256);
    if crate::store::dirs::ensure_dir(path.parent().unwrap_or(cache_dir)).is_ok() {
        let _ = crate::store::atomic::write_cache_json(&path, declaration);
    }
}

/// Forget what was kept (the compiled code disagreed with it).
pub fn forget(cache_dir: &Path, sha256: &str) {
    let _ = std::fs::remove_file(path(cache_dir, sha256));
}
