//! Repository discovery and identity. The design key is `github:<owner>/<repo>` for a
//! github.com `origin` (scp or URL form, read as configured, before `insteadOf` rewriting), else
//! `path:<sha256 of the absolute repo root>`; `repo_id` is the first 16 hex digits of
//! sha256(repo_key). [`identity`] pins it per checkout so moved checkouts and second clones
//! keep their own runs. Commands started inside a run's worktree find the main checkout and the run.

pub mod identity;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use crate::error::{AgencyError, ErrorCode, Result};
use crate::git;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq)]
pub struct GithubRepo {
    pub owner: String,
    pub name: String,
}

impl GithubRepo {
    /// `owner/name`, as passed to `gh -R`.
    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct Repo {
    /// Absolute, canonical root of the main checkout.
    pub root: PathBuf,
    /// The common git dir (`<root>/.git` for an ordinary checkout).
    pub common_dir: PathBuf,
    pub key: String,
    pub id: String,
    pub origin_url: Option<String>,
    pub github: Option<GithubRepo>,
}

/// The `origin` remote as configured (before `insteadOf` rewriting).
pub struct Origin {
    pub url: Option<String>,
    pub github: Option<GithubRepo>,
}

impl Origin {
    pub fn read(root: &Path) -> Result<Origin> {
        let url = git::config_get(root, "remote.origin.url")?;
        let github = url.as_deref().and_then(parse_github);
        Ok(Origin { url, github })
    }
}

/// Where a command was started.
#[derive(Debug, Clone)]
pub struct Located {
    pub repo: Repo,
    /// Set when the cwd is inside an agency worktree: the run it belongs to.
    pub run_id: Option<String>,
}

impl Repo {
    /// Identify the repository whose main checkout is `root` with common git dir `common_dir`.
    pub fn identify(store: &Store, root: &Path, common_dir: &Path) -> Result<Repo> {
        Self::identify_with(store, root, common_dir, Origin::read(root)?)
    }

    /// [`Repo::identify`] with the origin already read.
    fn identify_with(store: &Store, root: &Path, common_dir: &Path, origin: Origin) -> Result<Repo> {
        let Origin { url: origin_url, github } = origin;
        let design_key = match &github {
            Some(gh) => format!("github:{}", gh.slug()),
            None => format!("path:{}", sha256_hex(root.to_string_lossy().as_bytes())),
        };
        let identity = identity::resolve(store, root, common_dir, design_key);
        Ok(Repo {
            root: root.to_path_buf(),
            common_dir: common_dir.to_path_buf(),
            key: identity.repo_key,
            id: identity.repo_id,
            origin_url,
            github,
        })
    }

    /// Host part of the origin URL (`github.com`, `gitlab.example.com`), if any.
    pub fn origin_host(&self) -> Option<String> {
        self.origin_url.as_deref().and_then(|u| split_remote(u).map(|(host, _)| host.to_ascii_lowercase()))
    }
}

/// Find the repository (and run, if any) containing `cwd`. `None` outside any repository.
pub fn locate(cwd: &Path, store: &Store) -> Result<Option<Located>> {
    if !git::may_be_in_a_worktree(cwd) {
        return Ok(None);
    }
    // The origin is asked for while git finds the root: two git processes at once instead of
    // one after the other (together they are most of what a command in a repository costs).
    let (found, origin) = std::thread::scope(|scope| {
        let origin = scope.spawn(|| Origin::read(cwd));
        (git::toplevel_and_common_dir(cwd), crate::process::joined(origin))
    });
    let Some((top, common)) = found? else {
        return Ok(None);
    };
    let top = top.canonicalize().unwrap_or(top);
    let common = common.canonicalize().unwrap_or(common);
    let store_root = store.root().canonicalize().unwrap_or_else(|_| store.root().to_path_buf());
    let canonical_store = Store::new(store_root);
    if let Some((_, run_id)) = canonical_store.worktree_owner(&top) {
        // Inside a run's worktree: the main checkout owns the common git dir.
        let root = common.parent().map(Path::to_path_buf).unwrap_or_else(|| common.clone());
        return Ok(Some(Located { repo: Repo::identify(store, &root, &common)?, run_id: Some(run_id) }));
    }
    Ok(Some(Located { repo: Repo::identify_with(store, &top, &common, origin?)?, run_id: None }))
}

/// The error for commands that need a repository but were started outside one (or in a
/// bare one, which has no working tree to branch from).
pub fn no_repo_error(cwd: &Path) -> AgencyError {
    if git::is_bare(cwd) {
        return AgencyError::new(
            ErrorCode::NoRepo,
            format!("{} is a bare repository: agency needs a checkout with a working tree", cwd.display()),
        )
        .with_hint("git clone <this bare repository> <dir> && cd <dir>   # then run agency there");
    }
    AgencyError::new(ErrorCode::NoRepo, format!("not inside a git repository: {}", cwd.display()))
        .with_hint("cd into your repository (or pass -C <repo>), or create one with `git init`")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Split a remote URL into (host, path) for scp (`git@host:path`) and URL forms.
fn split_remote(url: &str) -> Option<(&str, &str)> {
    let url = url.trim();
    if let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = host.split_once(':').map_or(host, |(h, _)| h);
        return Some((host, path));
    }
    // scp-like syntax: [user@]host:path (no slash before the colon)
    let (before, path) = url.split_once(':')?;
    if before.contains('/') {
        return None;
    }
    let host = before.rsplit_once('@').map_or(before, |(_, h)| h);
    Some((host, path))
}

/// `owner/name` of a github.com remote in scp, ssh or https form.
pub fn parse_github(url: &str) -> Option<GithubRepo> {
    let (host, path) = split_remote(url)?;
    if !host.eq_ignore_ascii_case("github.com") {
        return None;
    }
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let (owner, name) = path.split_once('/')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    (ok(owner) && ok(name)).then(|| GithubRepo { owner: owner.to_string(), name: name.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_remotes_in_every_form() {
        let want = Some(GithubRepo { owner: "acme".into(), name: "widgets".into() });
        for url in [
            "git@github.com:acme/widgets.git",
            "github.com:acme/widgets",
            "https://github.com/acme/widgets",
            "https://github.com/acme/widgets.git",
            "https://user@github.com/acme/widgets.git/",
            "ssh://git@github.com/acme/widgets.git",
            "ssh://git@github.com:22/acme/widgets.git",
            "HTTPS://GitHub.com/acme/widgets",
        ] {
            assert_eq!(parse_github(url), want, "{url}");
        }
        for url in ["git@gitlab.com:acme/widgets.git", "/srv/git/widgets.git", "https://github.com/acme", "file:///x/y"]
        {
            assert_eq!(parse_github(url), None, "{url}");
        }
    }

    #[test]
    fn repo_id_is_sixteen_hex_of_the_key_hash() {
        let key = "github:acme/widgets";
        let id = &sha256_hex(key.as_bytes())[..16];
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
