//! What archiving a worktree would save and what it could not: tracked and untracked work
//! always goes into the git snapshot; ignored files (`.env`, `node_modules/`) and nested
//! repositories or initialised submodules (whose files git would reduce to a gitlink) are
//! saved while they fit the archive size limit, smallest first. Whatever does not fit is
//! listed before anything is deleted.

use std::path::{Path, PathBuf};

use crate::error::{AgencyError, ErrorCode, Result};
use crate::git::{self, Worktree};

/// Default size limit for ignored files and nested repositories together.
pub const DEFAULT_LIMIT: u64 = 200 << 20;

/// `AGENCY_ARCHIVE_LIMIT`: bytes, or with a `K`, `M` or `G` suffix (powers of 1024).
pub fn limit() -> Result<u64> {
    let Ok(value) = std::env::var("AGENCY_ARCHIVE_LIMIT") else { return Ok(DEFAULT_LIMIT) };
    parse_size(value.trim()).ok_or_else(|| {
        AgencyError::new(ErrorCode::InvalidEnv, format!("AGENCY_ARCHIVE_LIMIT={value:?} is not a size"))
            .with_hint("export AGENCY_ARCHIVE_LIMIT=500M   # bytes, or with a K, M or G suffix")
    })
}

fn parse_size(text: &str) -> Option<u64> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let shift = match unit.trim().trim_end_matches(['B', 'b', 'i']).to_ascii_uppercase().as_str() {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// A path inside the worktree and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub path: PathBuf,
    pub bytes: u64,
}

/// A nested repository (its own `.git` directory) or an initialised submodule (a `.git` file
/// pointing into the worktree's git dir).
#[derive(Debug, Clone, PartialEq)]
pub struct Nested {
    pub path: PathBuf,
    pub bytes: u64,
    /// A submodule's git dir, kept outside the working files.
    pub module_git_dir: Option<PathBuf>,
}

/// The archive plan for one worktree.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    pub ignored: Vec<Item>,
    pub nested: Vec<Nested>,
    pub unsaved: Vec<Item>,
}

impl Survey {
    /// One line per unsaved path: `node_modules (2.1 GiB)`.
    pub fn unsaved_lines(&self) -> Vec<String> {
        self.unsaved.iter().map(|i| format!("{} ({})", i.path.display(), human_size(i.bytes))).collect()
    }

    /// What the save keeps besides tracked and untracked changes, one line per kind.
    pub fn saved_lines(&self) -> Vec<String> {
        let mut lines = vec!["HEAD, the run branch, the index and every tracked or untracked change".to_string()];
        if !self.ignored.is_empty() {
            let bytes: u64 = self.ignored.iter().map(|i| i.bytes).sum();
            lines.push(format!(
                "{} ignored path(s), {} (e.g. {})",
                self.ignored.len(),
                human_size(bytes),
                self.ignored[0].path.display()
            ));
        }
        for nested in &self.nested {
            lines.push(format!("nested repository {} (whole)", nested.path.display()));
        }
        lines
    }
}

pub fn survey(worktree: &Worktree, limit: u64) -> Result<Survey> {
    let root = &worktree.path;
    let nested = find_nested(root, worktree);
    let inside_nested = |p: &Path| nested.iter().any(|n| p.starts_with(&n.path));
    let ignored: Vec<Item> = git::ignored_paths(worktree)?
        .into_iter()
        .filter(|p| !inside_nested(p))
        .map(|path| Item { bytes: size_of(&root.join(&path)), path })
        .collect();
    // Smallest first, so one huge directory does not crowd out many small files.
    enum Candidate {
        Ignored(Item),
        Nested(Nested),
    }
    let mut candidates: Vec<(u64, Candidate)> = ignored
        .into_iter()
        .map(|i| (i.bytes, Candidate::Ignored(i)))
        .chain(nested.into_iter().map(|n| (n.bytes, Candidate::Nested(n))))
        .collect();
    candidates.sort_by_key(|(bytes, _)| *bytes);
    let mut plan = Survey::default();
    let mut used = 0u64;
    for (bytes, candidate) in candidates {
        let fits = used.saturating_add(bytes) <= limit;
        if fits {
            used += bytes;
        }
        match (fits, candidate) {
            (true, Candidate::Ignored(item)) => plan.ignored.push(item),
            (true, Candidate::Nested(nested)) => plan.nested.push(nested),
            (false, Candidate::Ignored(item)) => plan.unsaved.push(item),
            (false, Candidate::Nested(nested)) => plan.unsaved.push(Item { path: nested.path, bytes: nested.bytes }),
        }
    }
    Ok(plan)
}

/// Directories below the worktree root holding their own `.git` (never following symlinks,
/// never descending into one found).
fn find_nested(root: &Path, worktree: &Worktree) -> Vec<Nested> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            if !kind.is_dir() {
                continue;
            }
            let path = entry.path();
            let dot_git = path.join(".git");
            let Ok(git_meta) = std::fs::symlink_metadata(&dot_git) else {
                stack.push(path);
                continue;
            };
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let module_git_dir = git_meta.is_file().then(|| submodule_git_dir(&dot_git, worktree)).flatten();
            let bytes = size_of(&path) + module_git_dir.as_deref().map_or(0, size_of);
            found.push(Nested { path: relative, bytes, module_git_dir });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// The git dir a submodule's `.git` file names, when it lies inside the worktree's own git
/// dir (`modules/…`); anything else is treated as a plain nested directory.
fn submodule_git_dir(dot_git: &Path, worktree: &Worktree) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dot_git).ok()?;
    let target = dot_git.parent()?.join(text.strip_prefix("gitdir: ")?.trim_end());
    let target = target.canonicalize().ok()?;
    target.starts_with(worktree.git_dir.join("modules")).then_some(target)
}

/// Bytes under `path` (files counted by size, symlinks by their own size, never followed).
pub fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    total
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("2K"), Some(2048));
        assert_eq!(parse_size("500M"), Some(500 << 20));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(human_size(2 * (1 << 30) + (100 << 20)), "2.1 GiB");
    }
}
