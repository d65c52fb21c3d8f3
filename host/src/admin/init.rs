//! `agency init`: write `agency.json` (atomically; replaced only with `--force`), stub scripts
//! (mode 0755, never overwritten; the verify stub fails until replaced), `.agency/` in
//! `.gitignore` (unless `--no-gitignore`) and the runner protocol (`AGENCY.md`). Reports what
//! it did as `key: value` pairs.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::config::agency_json::{self, AgencyJson};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::pipeline::{gates, scaffold};
use crate::store::atomic::write_atomic_mode;

#[derive(Debug, Clone, Default)]
pub struct InitRequest {
    pub force: bool,
    pub no_gitignore: bool,
}

pub const PROTOCOL_FILE: &str = "AGENCY.md";

/// Marker line of the verify stub; `doctor` warns while it is still present.
pub const VERIFY_STUB_MARKER: &str = "agency: verify stub";

const SETUP_STUB: &str = "#!/bin/sh\n# agency setup: runs in each new worktree before the agent starts (cwd = worktree).\n# Install dependencies, copy config, prepare databases. Non-interactive: stdin is closed.\n# Environment: AGENCY_RUN_ID, AGENCY_NAME, AGENCY_REPO_ROOT, AGENCY_WORKTREE, AGENCY_BRANCH,\n# AGENCY_PARENT_BRANCH, AGENCY_RUNNER, AGENCY_OUTPUT_DIR, AGENCY_LOG_DIR, CI=1.\nset -eu\nexit 0\n";

const VERIFY_STUB: &str = "#!/bin/sh\n# agency: verify stub — replace with your project's checks (tests, lint, build).\n# Runs in the worktree; exit 0 means verified.\necho \"agency: verify stub: replace scripts/agency_verify.sh with your project's checks\" >&2\nexit 1\n";

const ARCHIVE_STUB: &str = "#!/bin/sh\n# agency archive: runs before a run's worktree is removed (cwd = worktree).\n# Stop dev servers, drop databases. Your uncommitted work is saved by agency regardless.\nset -eu\nexit 0\n";

/// Run `init` in the current repository; returns the report lines.
pub fn init(env: &Env, req: &InitRequest) -> Result<Vec<(String, String)>> {
    let repo = gates::require_main_checkout(env)?;
    let root = &repo.root;
    let mut report = vec![("repo_root".to_string(), root.display().to_string())];

    let config_path = root.join(agency_json::FILE_NAME);
    let existed = config_path.exists();
    let action = match (existed, req.force) {
        (true, false) => "kept (use --force to replace it)",
        (true, true) => "replaced",
        (false, _) => "created",
    };
    if !existed || req.force {
        write_atomic_mode(&config_path, agency_json::default_text().as_bytes(), 0o644)
            .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write agency.json", &config_path, e))?;
    }
    report.push(("agency_json".into(), format!("{action} {}", config_path.display())));

    // Stubs for the scripts the (possibly existing) config names.
    let config = AgencyJson::load(root)?;
    for (phase, script) in &config.scripts {
        let stub = match phase {
            crate::config::Phase::Setup => SETUP_STUB,
            crate::config::Phase::Verify => VERIFY_STUB,
            crate::config::Phase::Archive => ARCHIVE_STUB,
        };
        let created = write_new_executable(&root.join(&script.path), stub)?;
        report
            .push((format!("script_{phase}"), format!("{} {}", if created { "created" } else { "kept" }, script.path)));
    }

    let gitignore = if req.no_gitignore { "skipped (--no-gitignore)".to_string() } else { ensure_gitignore(root)? };
    report.push(("gitignore".into(), gitignore));

    let protocol = root.join(PROTOCOL_FILE);
    let created = write_new(&protocol, scaffold::RUNNER_PROTOCOL, 0o644)?;
    report.push(("runner_protocol".into(), format!("{} {PROTOCOL_FILE}", if created { "created" } else { "kept" })));
    report.push(("next".into(), "commit these files, then: agency run --name <name>".into()));
    Ok(report)
}

fn write_new_executable(path: &Path, content: &str) -> Result<bool> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot create directory", dir, e))?;
    }
    write_new(path, content, 0o755)
}

/// Create `path` with `content` unless it exists; true when created.
fn write_new(path: &Path, content: &str, mode: u32) -> Result<bool> {
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path) {
        Ok(mut file) => {
            file.write_all(content.as_bytes())
                .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write", path, e))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(AgencyError::io(ErrorCode::StoreWriteFailed, "cannot create", path, e)),
    }
}

fn ensure_gitignore(root: &Path) -> Result<String> {
    let path = root.join(".gitignore");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current.lines().any(|l| matches!(l.trim(), ".agency/" | "/.agency/" | ".agency" | "/.agency")) {
        return Ok("already ignores .agency/".into());
    }
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(".agency/\n");
    write_atomic_mode(&path, text.as_bytes(), 0o644)
        .map_err(|e| AgencyError::io(ErrorCode::StoreWriteFailed, "cannot write .gitignore", &path, e))?;
    Ok("added .agency/".into())
}
