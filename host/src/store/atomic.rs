//! Crash-safe file writes: write a temp file in the same directory, fsync it, rename it over
//! the target, fsync the directory. A crash leaves either the old file or the new one, plus
//! possibly a `.<name>.tmp-*` file that every reader ignores.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Atomically replace `path` with `bytes` (mode 0600 for new files, else the file's mode).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// Like [`write_atomic`] with `mode` for a new file; an existing file keeps its mode.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    replace(path, bytes, mode, Durability::Synced)
}

/// Replace a cache file atomically (readers see the old file or the new one) but without
/// waiting for the disk: after a crash it may be old, empty or gone, which a cache reader
/// takes as "not cached". Never for records.
pub fn write_cache_json<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    replace(path, &bytes, 0o600, Durability::Unsynced)
}

#[derive(PartialEq)]
enum Durability {
    Synced,
    Unsynced,
}

fn replace(path: &Path, bytes: &[u8], mode: u32, durability: Durability) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).unwrap_or(mode);
    let dir = path.parent().ok_or_else(|| std::io::Error::other("path has no parent directory"))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut suffix = [0u8; 4];
    let _ = getrandom::fill(&mut suffix);
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{:02x}{:02x}{:02x}{:02x}",
        std::process::id(),
        suffix[0],
        suffix[1],
        suffix[2],
        suffix[3]
    ));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        if durability == Durability::Unsynced {
            return std::fs::rename(&tmp, path);
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Serialize `value` as pretty JSON with a trailing newline and write it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// True for names of temp files left by [`write_atomic`]; scans skip them.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name(".meta.json.tmp-12-abcd0123"));
        assert!(!is_temp_name("meta.json"));
    }
}
