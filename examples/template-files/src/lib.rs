//! Example step that uses only filesystem grants: for every `<name><suffix>` file at the top of
//! the worktree (suffix `.example` unless the `suffix` parameter says otherwise), create
//! `<name>` from it when it does not exist yet — e.g. `.env` from `.env.example`. It runs no
//! programs and declares no `exec`.

use agency_plugin::*;

struct TemplateFiles;

impl Step for TemplateFiles {
    fn info() -> PluginInfo {
        PluginInfo::step(
            "template-files",
            env!("CARGO_PKG_VERSION"),
            "Creates missing files from their *.example templates",
        )
        .capability(Capability::write(Area::Worktree))
    }

    fn run(_phase: Phase, run: RunInfo) -> Result<Outcome, Error> {
        let suffix = run.param("suffix").unwrap_or(".example").to_string();
        let entries =
            std::fs::read_dir(&run.worktree).map_err(|e| Error::failed(&format!("cannot list the worktree: {e}")))?;
        let mut created = Vec::new();
        let mut kept = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(target) = name.strip_suffix(&suffix).filter(|t| !t.is_empty()) else { continue };
            let target_path = format!("{}/{target}", run.worktree);
            if std::path::Path::new(&target_path).exists() {
                kept.push(target.to_string());
                continue;
            }
            std::fs::copy(entry.path(), &target_path)
                .map_err(|e| Error::failed(&format!("cannot create {target}: {e}")))?;
            host::info(&format!("created {target} from {name}"));
            created.push(target.to_string());
        }
        let summary = match (created.is_empty(), kept.is_empty()) {
            (true, true) => format!("no *{suffix} templates found"),
            _ => format!("created: {}; already present: {}", list(&created), list(&kept)),
        };
        Ok(Outcome::ok(&summary))
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

export_step!(TemplateFiles);
