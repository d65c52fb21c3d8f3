//! Saving a run's work before anything is removed. One snapshot commit holds the working
//! files (tracked, untracked, and the ignored files the survey kept) and has as parents
//! everything that must stay reachable: HEAD, a commit of the index (so the staged/unstaged
//! split comes back), the run branch's tip when HEAD is elsewhere, the heads of a rebase or
//! merge in progress, and the run's previous snapshot. Nested repositories and submodules go
//! into tarballs in the run dir. The snapshot gets its own archive ref, created only if it
//! does not exist (`refs/agency/archive/<run_id>`, then `…-2`, `…-3`): refs are never moved.

use std::path::Path;

use super::survey::{Nested, Survey};
use crate::error::{AgencyError, ErrorCode, Result};
use crate::git;
use crate::query::OpenRun;
use crate::store::meta::SavedNested;

/// The first archive ref of a run (later saves add `-2`, `-3`, …).
pub fn saved_ref(run_id: &str) -> String {
    format!("refs/agency/archive/{run_id}")
}

/// Heads of an operation in progress that may hold commits nothing else reaches.
const IN_PROGRESS_HEADS: [&str; 5] = ["ORIG_HEAD", "MERGE_HEAD", "REBASE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD"];

/// What a save produced.
#[derive(Debug, Clone)]
pub struct Saved {
    pub saved_ref: String,
    pub saved_commit: String,
    pub head: String,
    pub branch_commit: Option<String>,
    pub index_commit: Option<String>,
    pub nested: Vec<SavedNested>,
    pub uncommitted: bool,
    pub unpushed: bool,
}

/// Save `run`'s work as `survey` planned. `previous` is the run's earlier snapshot, if any.
pub fn save(run: &OpenRun, survey: &Survey, previous: Option<&str>) -> Result<Saved> {
    let wt = &run.worktree;
    let fail = |e: AgencyError| {
        AgencyError::new(
            ErrorCode::ArchiveFailed,
            format!("could not save the work of `{}`, so nothing was removed: {}", run.meta.name, e.message),
        )
        .with_hint(format!("fix the problem, or save it yourself: cd \"$(agency path {})\"", run.meta.run_id))
    };
    let head = git::rev_parse(wt, "HEAD")
        .map_err(fail)?
        .ok_or_else(|| fail(AgencyError::new(ErrorCode::GitFailed, "the worktree has no HEAD")))?;
    let branch_commit = git::rev_parse(&run.repo_root, &format!("refs/heads/{}", run.meta.branch)).map_err(fail)?;
    let dirty = !git::status_porcelain(wt).map_err(fail)?.is_empty();
    let index_commit = match git::index_tree(wt, &run.entry.paths.dir.join(".archive-staged")).map_err(fail)? {
        Some(tree) => Some(
            git::commit_tree(
                wt,
                &tree,
                std::slice::from_ref(&head),
                &format!("agency: index of run {}", run.meta.run_id),
            )
            .map_err(fail)?,
        ),
        None => None,
    };
    let ignored: Vec<_> = survey.ignored.iter().map(|i| i.path.clone()).collect();
    let scratch = run.entry.paths.dir.join(".archive-index");
    let files_tree = git::worktree_tree(wt, &scratch, &ignored).map_err(fail)?;

    let mut parents = vec![head.clone()];
    let mut extra: Vec<String> = index_commit.iter().cloned().collect();
    extra.extend(branch_commit.iter().cloned());
    for name in IN_PROGRESS_HEADS {
        if let Some(commit) = git::rev_parse(wt, name).map_err(fail)? {
            extra.push(commit);
        }
    }
    extra.extend(previous.map(str::to_string));
    for commit in extra {
        if !parents.contains(&commit) {
            parents.push(commit);
        }
    }
    let uncommitted = dirty || !survey.ignored.is_empty() || !survey.nested.is_empty();
    let saved_commit = if parents.len() == 1 && !uncommitted {
        head.clone()
    } else {
        let message = format!(
            "agency: work of run {} ({}), saved at archive\n\nAgency-Head: {head}\nAgency-Index: {}\nAgency-Branch: {}\n",
            run.meta.name,
            run.meta.run_id,
            index_commit.as_deref().unwrap_or("-"),
            branch_commit.as_deref().unwrap_or("-"),
        );
        git::commit_tree(wt, &files_tree, &parents, &message).map_err(fail)?
    };
    let nested = save_nested(run, &survey.nested).map_err(fail)?;
    let unpushed = !git::on_a_remote(wt, &head).map_err(fail)?;
    let saved_ref = create_archive_ref(&run.repo_root, &run.meta.run_id, &saved_commit).map_err(fail)?;
    Ok(Saved { saved_ref, saved_commit, head, branch_commit, index_commit, nested, uncommitted, unpushed })
}

/// Point a new archive ref at `commit`: the first free of `<run_id>`, `<run_id>-2`, ….
pub fn create_archive_ref(repo: &Path, run_id: &str, commit: &str) -> Result<String> {
    for n in 1..=1000 {
        let name = if n == 1 { saved_ref(run_id) } else { format!("{}-{n}", saved_ref(run_id)) };
        if git::rev_parse(repo, &name)?.as_deref() == Some(commit) {
            return Ok(name);
        }
        if git::create_ref(repo, &name, commit, "agency: archive")? {
            return Ok(name);
        }
    }
    Err(AgencyError::new(ErrorCode::GitFailed, format!("run {run_id} has 1000 archive refs already")))
}

/// Tarballs of nested repositories and submodules, written atomically into the run dir.
fn save_nested(run: &OpenRun, nested: &[Nested]) -> Result<Vec<SavedNested>> {
    if nested.is_empty() {
        return Ok(Vec::new());
    }
    let dir = &run.entry.paths.archive();
    crate::store::dirs::ensure_dir(dir)?;
    let stamp = crate::clock::run_id_stamp(crate::clock::now());
    nested
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let file = format!("nested-{stamp}-{i}.tar");
            let path = dir.join(&file);
            write_tarball(&run.worktree.path.join(&n.path), n.module_git_dir.as_deref(), &path)
                .map_err(|e| AgencyError::io(ErrorCode::ArchiveFailed, "cannot save a nested repository", &path, e))?;
            Ok(SavedNested {
                path: n.path.display().to_string(),
                file,
                bytes: n.bytes,
                submodule: n.module_git_dir.is_some(),
            })
        })
        .collect()
}

/// `source` as a tarball (symlinks stored as symlinks, never followed); a submodule's git dir
/// goes in as its `.git/`, so it comes back as a standalone repository.
fn write_tarball(source: &Path, module_git_dir: Option<&Path>, target: &Path) -> std::io::Result<()> {
    let tmp = target.with_extension("tar.tmp");
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
        builder.follow_symlinks(false);
        for entry in std::fs::read_dir(source)? {
            let entry = entry?;
            let name = entry.file_name();
            if module_git_dir.is_some() && name == ".git" {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                builder.append_dir_all(&name, &path)?;
            } else {
                builder.append_path_with_name(&path, &name)?;
            }
        }
        if let Some(git_dir) = module_git_dir {
            builder.append_dir_all(".git", git_dir)?;
        }
        let file = builder.into_inner()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Unpack a saved tarball into `dest` (entries cannot escape it), and turn a submodule that
/// came back as a standalone repository into one that works where it is.
pub fn restore_nested(tarball: &Path, dest: &Path, submodule: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    let mut archive = tar::Archive::new(std::fs::File::open(tarball)?);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    archive.unpack(dest)?;
    if submodule {
        // Its config named the worktree path it had inside the parent's git dir.
        let config = dest.join(".git").join("config");
        let _ = git::unset_config_in_file(&config, "core.worktree");
    }
    Ok(())
}
