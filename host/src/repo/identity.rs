//! Which data-dir entry (`repos/<repo_id>/`) a checkout's runs live under.
//!
//! The design's key (`github:<owner>/<name>`, else `path:<sha256 of the root>`) is where a
//! checkout starts, so data written by earlier agency versions (and the Go original) is found.
//! Two things break a bare key: moving a checkout changes a path key, and two clones of one
//! GitHub repository share a key. So the first command that writes records **pins** the id in
//! the checkout's own common git dir (`<git-common-dir>/agency-repo-id`): the pin moves with
//! the checkout, and every clone has its own git dir.
//!
//! A pin is only believed while no other existing checkout owns its id (`repo.json` records the
//! owner's common git dir): a checkout copied with `cp -r` carries its original's pin, and a
//! planted pin could point at another repository's runs; both get an identity of their own. A
//! key already owned by another existing checkout (the second clone) becomes
//! `<key>#<12 hex of sha256(common git dir)>`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::Store;
use crate::store::repo_record::{self, RepoRecord};

/// File in the common git dir holding the checkout's pinned identity.
pub const PIN_FILE: &str = "agency-repo-id";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub repo_key: String,
    pub repo_id: String,
}

impl Identity {
    pub fn of_key(key: String) -> Identity {
        let id = super::sha256_hex(key.as_bytes())[..16].to_string();
        Identity { repo_key: key, repo_id: id }
    }
}

/// Who a data-dir entry belongs to, seen from the checkout at `common_dir`.
#[derive(Debug, PartialEq)]
enum Owner {
    /// No record yet, or a record of this very checkout.
    Us,
    /// A checkout that no longer exists where it was (moved or deleted): ours to take.
    Gone,
    /// Another checkout that still exists.
    Other,
}

/// The identity the checkout whose common git dir is `common_dir` uses.
pub fn resolve(store: &Store, root: &Path, common_dir: &Path, design_key: String) -> Identity {
    if let Some(pin) = read_pin(common_dir)
        && owner(store, &pin.repo_id, root, common_dir) != Owner::Other
    {
        return pin;
    }
    if let Some(found) = from_worktree_links(store, common_dir)
        && owner(store, &found.repo_id, root, common_dir) != Owner::Other
    {
        return found;
    }
    let design = Identity::of_key(design_key);
    if owner(store, &design.repo_id, root, common_dir) != Owner::Other {
        return design;
    }
    let clone = super::sha256_hex(common_dir.to_string_lossy().as_bytes());
    Identity::of_key(format!("{}#{}", design.repo_key, &clone[..12]))
}

/// Write the pin when it is missing or different (called by commands that write records).
pub fn pin(common_dir: &Path, identity: &Identity) -> std::io::Result<()> {
    if read_pin(common_dir).as_ref() == Some(identity) {
        return Ok(());
    }
    let mut bytes = serde_json::to_vec(identity).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    crate::store::atomic::write_atomic_mode(&common_dir.join(PIN_FILE), &bytes, 0o644)
}

fn read_pin(common_dir: &Path) -> Option<Identity> {
    let bytes = crate::store::read::read_capped(&common_dir.join(PIN_FILE), 4096).ok()??;
    let pin: Identity = serde_json::from_slice(&bytes).ok()?;
    let valid = pin.repo_id.len() == 16 && pin.repo_id.bytes().all(|b| b.is_ascii_hexdigit());
    (valid && Identity::of_key(pin.repo_key.clone()) == pin).then_some(pin)
}

/// A checkout moved before pins existed: its registered worktrees still live under
/// `repos/<repo_id>/worktrees/`, which names the id its runs use.
fn from_worktree_links(store: &Store, common_dir: &Path) -> Option<Identity> {
    let repos = store.repos_dir().canonicalize().ok()?;
    let store = Store::new(repos.parent()?.to_path_buf());
    std::fs::read_dir(common_dir.join("worktrees")).ok()?.flatten().find_map(|entry| {
        let back = crate::store::read::read_capped(&entry.path().join("gitdir"), 4096).ok()??;
        let back = PathBuf::from(String::from_utf8(back).ok()?.trim_end_matches(['\n', '\r']));
        let (repo_id, _) = store.worktree_owner(back.parent()?)?;
        let record = repo_record::read_record(&store, &repo_id)?;
        Some(Identity { repo_key: record.repo_key, repo_id })
    })
}

fn owner(store: &Store, repo_id: &str, root: &Path, common_dir: &Path) -> Owner {
    let Some(record) = repo_record::read_record(store, repo_id) else { return Owner::Us };
    let same = |a: &Path, b: &Path| a == b || a.canonicalize().ok().is_some_and(|a| Some(a) == b.canonicalize().ok());
    let (theirs, ours) = match recorded_common_dir(&record) {
        Some(theirs) => (theirs, common_dir),
        // Records older than `git_common_dir` name only the checkout's root.
        None => (PathBuf::from(&record.repo_root_last_seen), root),
    };
    if same(&theirs, ours) {
        Owner::Us
    } else if theirs.as_os_str().is_empty() || !theirs.exists() {
        Owner::Gone
    } else {
        Owner::Other
    }
}

fn recorded_common_dir(record: &RepoRecord) -> Option<PathBuf> {
    record.git_common_dir.as_deref().filter(|s| !s.is_empty()).map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_must_name_the_id_of_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let good = Identity::of_key("path:abc".into());
        pin(dir.path(), &good).unwrap();
        assert_eq!(read_pin(dir.path()), Some(good.clone()));
        let forged = Identity { repo_key: "path:abc".into(), repo_id: "0123456789abcdef".into() };
        std::fs::write(dir.path().join(PIN_FILE), serde_json::to_vec(&forged).unwrap()).unwrap();
        assert_eq!(read_pin(dir.path()), None, "an id that is not its key's hash is ignored");
    }
}
