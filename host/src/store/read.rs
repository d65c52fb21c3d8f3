//! Bounded reads of record files. The data dir belongs to the user, but a record can still be
//! damaged or replaced (a FIFO blocks every reader forever, `/dev/zero` never ends), and
//! `ls` reads every record: each read opens without blocking, refuses anything that is not a
//! regular file, and stops at a size limit.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Largest `meta.json`, `repo.json`, `verify_record.json` or `hook.json` agency reads.
pub const MAX_RECORD_BYTES: u64 = 16 << 20;
/// Largest `events.jsonl` agency reads; a longer log is read up to here (the newest events
/// past the limit are not shown, nothing is rewritten).
pub const MAX_EVENTS_BYTES: u64 = 256 << 20;

/// Read a regular file of at most `max` bytes. `Ok(None)` when it does not exist.
pub fn read_capped(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path);
    match file {
        Ok(file) => read_regular(file, &path.display(), max).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The whole of an open file that must be a regular file of at most `max` bytes (`label`
/// names it in errors). One read does it when the size is known: a listing reads a thousand
/// records, and each saved system call shows.
pub fn read_regular(mut file: std::fs::File, label: &dyn std::fmt::Display, max: u64) -> std::io::Result<Vec<u8>> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!("{label} is not a regular file")));
    }
    let too_large = || std::io::Error::other(format!("{label} is larger than {max} bytes"));
    if meta.len() > max {
        return Err(too_large());
    }
    // One byte more than the size: a file that grew since is still read to its end.
    let mut bytes = vec![0; meta.len() as usize + 1];
    let mut filled = 0;
    loop {
        if filled == bytes.len() {
            if filled as u64 > max {
                return Err(too_large());
            }
            bytes.resize((filled * 2).min(max as usize + 1), 0);
        }
        let n = match file.read(&mut bytes[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        filled += n;
        // A regular file reads short only at its end.
        if n == 0 || filled < bytes.len() {
            break;
        }
    }
    if filled as u64 > max {
        return Err(too_large());
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// Like [`read_capped`] but reads at most `max` bytes of a longer file instead of failing.
pub fn read_prefix(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!("{} is not a regular file", path.display())));
    }
    let mut bytes = Vec::new();
    Read::by_ref(&mut file).take(max).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// The last `max` bytes of a regular file (a log), `Ok(None)` when it does not exist.
pub fn read_tail(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::{Seek, SeekFrom};
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!("{} is not a regular file", path.display())));
    }
    file.seek(SeekFrom::Start(meta.len().saturating_sub(max)))?;
    let mut bytes = Vec::new();
    Read::by_ref(&mut file).take(max).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("meta.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_capped(&fifo, 100).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(read_prefix(&fifo, 100).is_err());
    }

    #[test]
    fn sizes_are_capped_and_missing_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(read_capped(&path, 4).unwrap().is_none());
        std::fs::write(&path, b"123456").unwrap();
        assert!(read_capped(&path, 4).is_err());
        assert_eq!(read_prefix(&path, 4).unwrap().unwrap(), b"1234");
        assert_eq!(read_capped(&path, 6).unwrap().unwrap(), b"123456");
        assert_eq!(read_tail(&path, 4).unwrap().unwrap(), b"3456");
    }
}
