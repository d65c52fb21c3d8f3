//! Resolution of the data, config and cache directories: `AGENCY_DATA_DIR`,
//! `AGENCY_CONFIG_DIR`, `AGENCY_CACHE_DIR`, else the platform's conventions (XDG on Linux,
//! `~/Library/...` on macOS) through the `directories` crate.

use std::path::{Path, PathBuf};

use crate::error::{AgencyError, ErrorCode, Result};

#[derive(Debug, Clone)]
pub struct Dirs {
    pub data: PathBuf,
    pub config: PathBuf,
    pub cache: PathBuf,
}

impl Dirs {
    /// Resolve from the environment. An override must be absolute: a relative one would
    /// point somewhere else from every directory (inside a repository it even dirties it).
    pub fn resolve() -> Result<Dirs> {
        let project = directories::ProjectDirs::from("", "", "agency");
        let pick = |var: &str, fallback: Option<&Path>| -> Result<PathBuf> {
            match std::env::var_os(var).filter(|v| !v.is_empty()) {
                Some(value) if Path::new(&value).is_absolute() => Ok(PathBuf::from(value)),
                Some(value) => Err(AgencyError::new(
                    ErrorCode::InvalidEnv,
                    format!("{var}={:?} is not an absolute path", value.to_string_lossy()),
                )
                .with_hint(format!("export {var}=\"$PWD/{}\"   # or any absolute path", value.to_string_lossy()))),
                None => fallback.map(Path::to_path_buf).ok_or_else(|| {
                    AgencyError::new(
                        ErrorCode::DirNotWritable,
                        format!("cannot determine a default for {var}: no home directory"),
                    )
                    .with_hint(format!("export {var}=/some/writable/dir"))
                }),
            }
        };
        Ok(Dirs {
            data: pick("AGENCY_DATA_DIR", project.as_ref().map(|p| p.data_dir()))?,
            config: pick("AGENCY_CONFIG_DIR", project.as_ref().map(|p| p.config_dir()))?,
            cache: pick("AGENCY_CACHE_DIR", project.as_ref().map(|p| p.cache_dir()))?,
        })
    }
}

/// Create `dir` (and parents) with private permissions, or explain why not.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| {
        AgencyError::io(ErrorCode::DirNotWritable, "cannot create directory", dir, e)
            .with_hint(format!("check the permissions of {} or point AGENCY_DATA_DIR elsewhere", dir.display()))
    })
}
