//! The per-repository and per-run locks. Mutual exclusion comes from an advisory `flock` on
//! `repos/<repo_id>/lock` (the repository's critical sections: run creation, record writes,
//! repair) or `runs/<run_id>/lock` (one operation on a run at a time: clean, restore, resume,
//! merge, …), which the kernel releases when the holder dies, so a crash can never wedge
//! anything. The file's content names the holder (pid, start time, command) for the
//! "waiting for …" message and for `doctor`/`repair`; content left behind with no live holder
//! is a stale lock, reported and harmlessly taken over.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{AgencyError, ErrorCode, Result};

/// Who holds (or last held) a lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Holder {
    pub pid: u32,
    pub started_at: String,
    pub command: String,
}

/// What a lock protects, for its messages and error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Repo,
    Run,
}

/// An acquired lock; released (content cleared, flock dropped) on drop.
#[derive(Debug)]
pub struct RepoLock {
    file: File,
    path: PathBuf,
}

/// State of a lock file as seen by `doctor` and `repair`.
#[derive(Debug, Clone, PartialEq)]
pub enum LockState {
    Free,
    Held(Option<Holder>),
    /// Content left by a holder that died (its pid is gone and nobody holds the flock).
    Stale(Holder),
}

/// How long a second process waits for a lock before giving up (`AGENCY_LOCK_TIMEOUT`,
/// default 2 min); a value that is not a duration is an error, never silently the default.
pub fn wait_bound() -> Result<Duration> {
    match std::env::var("AGENCY_LOCK_TIMEOUT") {
        Err(_) => Ok(Duration::from_secs(120)),
        Ok(value) => humantime::parse_duration(value.trim()).map_err(|e| {
            AgencyError::new(ErrorCode::InvalidEnv, format!("AGENCY_LOCK_TIMEOUT={value:?} is not a duration: {e}"))
                .with_hint("export AGENCY_LOCK_TIMEOUT=30s   # or unset it for the default of 2m")
        }),
    }
}

impl RepoLock {
    /// Take the lock, waiting up to `bound`. `on_wait` is called once, after one second of
    /// waiting, with the current holder, so the user learns why nothing happens.
    pub fn acquire(
        path: &Path,
        command: &str,
        bound: Duration,
        on_wait: impl FnMut(Option<&Holder>),
    ) -> Result<RepoLock> {
        Self::acquire_scoped(Scope::Repo, path, command, bound, on_wait)
    }

    /// [`RepoLock::acquire`] for `scope` (its error is `E_REPO_LOCKED` or `E_RUN_BUSY`).
    pub fn acquire_scoped(
        scope: Scope,
        path: &Path,
        command: &str,
        bound: Duration,
        mut on_wait: impl FnMut(Option<&Holder>),
    ) -> Result<RepoLock> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| AgencyError::io(ErrorCode::DirNotWritable, "cannot open the lock file", path, e))?;
        let started = Instant::now();
        let mut told = false;
        let mut pause = Duration::from_millis(5);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let waited = started.elapsed();
                    if waited >= bound {
                        let holder = read_holder(&mut file);
                        return Err(locked_error(scope, path, holder.as_ref(), bound));
                    }
                    if !told && waited >= Duration::from_secs(1) {
                        told = true;
                        on_wait(read_holder(&mut file).as_ref());
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(AgencyError::io(ErrorCode::DirNotWritable, "cannot lock the repo lock file", path, e));
                }
            }
        }
        let holder =
            Holder { pid: std::process::id(), started_at: crate::clock::now_rfc3339(), command: command.to_string() };
        let content = serde_json::to_vec(&holder).unwrap_or_default();
        let written =
            file.set_len(0).and_then(|_| file.seek(SeekFrom::Start(0))).and_then(|_| file.write_all(&content));
        if let Err(e) = written {
            return Err(AgencyError::io(ErrorCode::DirNotWritable, "cannot write the repo lock file", path, e));
        }
        Ok(RepoLock { file, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        // Clear the holder first so an empty, unlocked file reads as free, not stale.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn locked_error(scope: Scope, path: &Path, holder: Option<&Holder>, bound: Duration) -> AgencyError {
    let who = holder.map_or("another agency process".to_string(), |h| {
        format!("pid {} (`{}`, since {})", h.pid, h.command, h.started_at)
    });
    let (code, what) = match scope {
        Scope::Repo => (ErrorCode::RepoLocked, "repository is locked"),
        Scope::Run => (ErrorCode::RunBusy, "the run is busy with another command"),
    };
    AgencyError::new(code, format!("{what}: {who} holds it; gave up after {}", humantime::format_duration(bound)))
        .with_detail("lock", path.display())
        .with_hint("wait for that command to finish, or raise AGENCY_LOCK_TIMEOUT (e.g. AGENCY_LOCK_TIMEOUT=10m)")
}

/// Inspect a lock without waiting (for `doctor` and `repair`).
pub fn inspect(path: &Path) -> LockState {
    let Ok(mut file) = OpenOptions::new().read(true).write(true).open(path) else {
        return LockState::Free;
    };
    match file.try_lock() {
        Ok(()) => {
            let holder = read_holder(&mut file);
            let _ = file.unlock();
            // Content with nobody holding the flock: the holder died inside its critical section.
            holder.map_or(LockState::Free, LockState::Stale)
        }
        Err(_) => LockState::Held(read_holder(&mut file)),
    }
}

/// Clear the content of a stale lock (only if nobody holds it).
pub fn clear_stale(path: &Path) -> std::io::Result<bool> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    if file.try_lock().is_err() {
        return Ok(false);
    }
    file.set_len(0)?;
    file.unlock()?;
    Ok(true)
}

/// Whether a process with this pid exists.
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_waits_then_fails_with_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let _held = RepoLock::acquire(&path, "agency run --name a", Duration::from_secs(1), |_| {}).unwrap();
        // flock locks belong to the open file description, so a second open in the same
        // process contends like another process would.
        let err = RepoLock::acquire(&path, "agency run --name b", Duration::from_millis(50), |_| {}).unwrap_err();
        assert_eq!(err.code, ErrorCode::RepoLocked);
        assert!(err.message.contains("agency run --name a"), "{}", err.message);
    }

    #[test]
    fn dead_holder_content_is_stale_and_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        std::fs::write(&path, r#"{"pid":999999999,"started_at":"2026-01-01T00:00:00Z","command":"agency run"}"#)
            .unwrap();
        assert!(matches!(inspect(&path), LockState::Stale(h) if h.pid == 999999999));
        let lock = RepoLock::acquire(&path, "agency run", Duration::from_millis(50), |_| {}).unwrap();
        drop(lock);
        assert_eq!(inspect(&path), LockState::Free);
    }
}
