//! Built-in step `copy-files`: copies files that git does not carry (`.env`, local config)
//! from the main checkout into a new worktree. Filesystem grants only — it runs no programs.
//! Parameter `files`: the relative paths to copy (an array in `agency.json`).

use agency_plugin::*;

struct CopyFiles;

impl Step for CopyFiles {
    fn info() -> PluginInfo {
        PluginInfo::step(
            "copy-files",
            env!("CARGO_PKG_VERSION"),
            "Copies ignored files (e.g. .env) from the main checkout into the worktree",
        )
        .capability(Capability::read(Area::Repo))
        .capability(Capability::write(Area::Worktree))
    }

    fn run(_phase: Phase, run: RunInfo) -> Result<Outcome, Error> {
        let files = run.param_list("files");
        if files.is_empty() {
            return Err(Error::invalid_config("copy-files needs a `files` parameter").with_hint(
                r#"in agency.json: "steps": {"setup": [{"plugin": "copy-files", "params": {"files": [".env"]}}]}"#,
            ));
        }
        let mut copied = Vec::new();
        let mut missing = Vec::new();
        for file in &files {
            if file.starts_with('/') || file.split('/').any(|p| p == "..") {
                return Err(Error::invalid_config(&format!("{file:?} must be a path inside the repository")));
            }
            let from = format!("{}/{file}", run.repo_root);
            let to = format!("{}/{file}", run.worktree);
            match std::fs::read(&from) {
                Ok(bytes) => {
                    if let Some((dir, _)) = to.rsplit_once('/') {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| Error::failed(&format!("cannot create {dir}: {e}")))?;
                    }
                    std::fs::write(&to, bytes).map_err(|e| Error::failed(&format!("cannot write {to}: {e}")))?;
                    host::info(&format!("copied {file}"));
                    copied.push(file.as_str());
                }
                Err(e) => {
                    host::warn(&format!("not copied {file}: {e}"));
                    missing.push(file.as_str());
                }
            }
        }
        let summary = match missing.is_empty() {
            true => format!("copied {}", copied.join(", ")),
            false => format!(
                "copied {} of {}; missing in the main checkout: {}",
                copied.len(),
                files.len(),
                missing.join(", ")
            ),
        };
        Ok(Outcome::ok(&summary))
    }
}

export_step!(CopyFiles);
