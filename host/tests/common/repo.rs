//! Throwaway git repositories for tests: a repo with one commit, optionally initialised for
//! agency (agency.json, scripts and AGENCY.md committed), and a bare repo as `origin`.

use std::path::{Path, PathBuf};

use super::TestEnv;

impl TestEnv {
    /// `git init` + one commit, under the test's temp dir.
    pub fn plain_repo(&self, name: &str) -> PathBuf {
        let path = self.root().join(name);
        std::fs::create_dir_all(&path).unwrap();
        self.sh(&path, "git init -q -b main && echo hello > README.md && git add README.md && git commit -qm initial");
        path
    }

    /// A repo set up with `agency init`, committed, with a setup script that succeeds.
    pub fn repo(&self, name: &str) -> PathBuf {
        let path = self.plain_repo(name);
        self.agency(&path, &["init"]).ok();
        self.commit_all(&path, "agency init");
        path
    }

    /// Replace a script of the repo and commit it.
    pub fn write_script(&self, repo: &Path, rel: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = repo.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self.commit_all(repo, &format!("update {rel}"));
    }

    pub fn commit_all(&self, repo: &Path, message: &str) {
        self.sh(repo, &format!("git add -A && git commit -qm '{message}'"));
    }

    /// Names of local branches.
    pub fn branches(&self, repo: &Path) -> Vec<String> {
        self.sh(repo, "git for-each-ref --format='%(refname:short)' refs/heads/").lines().map(str::to_string).collect()
    }

    /// Number of entries in `git worktree list`.
    pub fn worktree_count(&self, repo: &Path) -> usize {
        self.sh(repo, "git worktree list --porcelain").lines().filter(|l| l.starts_with("worktree ")).count()
    }
}
