//! Host file operations inside a directory that hostile code may have filled: a run's
//! worktree (the agent and plugins write every byte of it) and its `.agency/` scaffold. Each
//! operation goes through a cap-std directory handle, so no path — `..`, an absolute symlink,
//! a symlink to a parent — resolves outside the directory, the last component is never
//! followed if it is a symlink, and special files (FIFOs, devices) are refused instead of
//! blocking or reading without end.

use std::io::Write;
use std::path::{Path, PathBuf};

use cap_fs_ext::{FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};

/// A directory handle; every path given to it is relative and stays inside.
pub struct Confined {
    dir: Dir,
    root: PathBuf,
}

impl Confined {
    pub fn open(root: &Path) -> std::io::Result<Confined> {
        let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
        Ok(Confined { dir, root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Read a regular file of at most `max` bytes. `Ok(None)` when it does not exist; an
    /// error when it is a symlink, not a regular file, or larger than `max`.
    pub fn read_capped(&self, relative: &str, max: u64) -> std::io::Result<Option<Vec<u8>>> {
        let mut options = OpenOptions::new();
        options.read(true).follow(FollowSymlinks::No).custom_flags(libc::O_NONBLOCK);
        match self.dir.open_with(relative, &options) {
            Ok(file) => super::read::read_regular(file.into_std(), &relative, max).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Create `relative` and its parents as directories (none of them may be a symlink out).
    pub fn create_dir_all(&self, relative: &str) -> std::io::Result<()> {
        self.dir.create_dir_all(relative)
    }

    /// Write a new file; `Ok(false)` and nothing written when something is already there.
    pub fn write_new(&self, relative: &str, bytes: &[u8], mode: u32) -> std::io::Result<bool> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).follow(FollowSymlinks::No).mode(mode);
        match self.dir.open_with(relative, &options) {
            Ok(mut file) => file.write_all(bytes).map(|()| true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Replace `relative` with `bytes` atomically (a temp file renamed over it; a symlink in
    /// its place is replaced, never followed).
    pub fn write_replace(&self, relative: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
        let path = Path::new(relative);
        let name = path.file_name().ok_or_else(|| std::io::Error::other("no file name"))?.to_string_lossy();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let _ = self.dir.remove_file(&tmp);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true).follow(FollowSymlinks::No).mode(mode);
        let written =
            self.dir.open_with(&tmp, &options).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
        if let Err(e) = written {
            let _ = self.dir.remove_file(&tmp);
            return Err(e);
        }
        self.dir.rename(&tmp, &self.dir, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_out_and_special_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("wt");
        std::fs::create_dir_all(root.join(".agency")).unwrap();
        std::fs::write(dir.path().join("secret"), "id_rsa").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join(".agency/report.md")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        let fifo = std::ffi::CString::new(root.join("fifo").display().to_string()).unwrap();
        // SAFETY: mkfifo on a path in our temp dir.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let c = Confined::open(&root).unwrap();
        assert!(c.read_capped(".agency/report.md", 1 << 20).is_err(), "a symlink is never followed");
        assert!(c.read_capped("up/secret", 1 << 20).is_err(), "a symlink out of the dir is never followed");
        assert!(c.read_capped("fifo", 1 << 20).is_err(), "a FIFO does not block");
        assert_eq!(c.read_capped("missing", 10).unwrap(), None);
        c.write_replace(".agency/report.md", b"mine", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("secret")).unwrap(), "id_rsa", "the target is untouched");
        assert_eq!(c.read_capped(".agency/report.md", 10).unwrap().unwrap(), b"mine");
        assert!(c.create_dir_all("up/escape").is_err());
        assert!(c.read_capped(".agency/report.md", 2).is_err(), "size cap");
    }
}
