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

    /// Replace (and commit) the repository's `scripts/agency_setup.sh`.
    pub fn setup_script(&self, repo: &Path, body: &str) {
        self.write_script(repo, "scripts/agency_setup.sh", body);
    }

    /// Replace (and commit) the repository's `scripts/agency_verify.sh`.
    pub fn verify_script(&self, repo: &Path, body: &str) {
        self.write_script(repo, "scripts/agency_verify.sh", body);
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

/// A test fixture plugin built by the host's build script (`plugins/fixtures/<name>`).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("AGENCY_FIXTURES_DIR")).join(format!("agency_fixture_{}.wasm", name.replace('-', "_")))
}

pub fn sha256_file(path: &Path) -> String {
    agency::repo::sha256_hex(&std::fs::read(path).unwrap())
}

impl TestEnv {
    /// Copy a plugin file into the repo, pin it in agency.json with `extra` merged into the
    /// config (e.g. steps), and commit.
    pub fn pin_plugin(&self, repo: &Path, id: &str, wasm: &Path, extra: serde_json::Value) {
        let rel = format!("agency-plugins/{id}.wasm");
        std::fs::create_dir_all(repo.join("agency-plugins")).unwrap();
        std::fs::copy(wasm, repo.join(&rel)).unwrap();
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(repo.join("agency.json")).unwrap()).unwrap();
        config["plugins"][id] = serde_json::json!({ "path": rel, "sha256": sha256_file(wasm) });
        if let serde_json::Value::Object(map) = extra {
            for (key, value) in map {
                config[key] = value;
            }
        }
        std::fs::write(repo.join("agency.json"), serde_json::to_string_pretty(&config).unwrap()).unwrap();
        self.commit_all(repo, &format!("pin {id}"));
    }

    /// Every meta.json and events.jsonl line in the data dir parses (nothing half-written).
    #[track_caller]
    pub fn assert_records_intact(&self) {
        for dir in self.run_dirs() {
            if dir.join("meta.json").exists() {
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(dir.join("meta.json")).unwrap())
                    .unwrap_or_else(|e| panic!("{}: meta.json: {e}", dir.display()));
            }
            for line in std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default().lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{}: events line {line:?}: {e}", dir.display()));
            }
        }
    }
}

impl TestEnv {
    /// A repo set up for agency whose `origin` is `git@github.com:acme/<name>.git`, rewritten by
    /// `url.<bare>.insteadOf` to a local bare repository, plus the fake `gh` on PATH whose
    /// merges happen in that bare repository. Returns (repo, bare).
    pub fn github_repo(&mut self, name: &str) -> (PathBuf, PathBuf) {
        let repo = self.repo(name);
        let bare = self.root().join(format!("{name}-origin.git"));
        self.sh(&self.root(), &format!("git init -q --bare -b main {}", bare.display()));
        let url = format!("git@github.com:acme/{name}.git");
        self.sh(
            &repo,
            &format!(
                "git remote add origin {url} && git config url.{}.insteadOf {url} && git push -q -u origin main",
                bare.display()
            ),
        );
        self.install_fake_gh(&bare);
        (repo, bare)
    }

    pub fn install_fake_gh(&mut self, bare: &Path) {
        let gh = self.bin.join("gh");
        std::fs::copy(env!("CARGO_BIN_EXE_fake-gh"), &gh).unwrap();
        let state = self.root().join("fake-gh-state.json");
        self.set_env("FAKE_GH_STATE", state.to_str().unwrap());
        self.set_env("FAKE_GH_ORIGIN", bare.to_str().unwrap());
        // The fake's own merges use the test's git identity (HOME is set by vars()).
    }

    pub fn gh_state(&self) -> serde_json::Value {
        let path = self.root().join("fake-gh-state.json");
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(serde_json::json!({"prs": []}))
    }

    pub fn set_gh_state(&self, state: &serde_json::Value) {
        std::fs::write(self.root().join("fake-gh-state.json"), serde_json::to_vec_pretty(state).unwrap()).unwrap();
    }

    /// Create a run with the shell runner and return (run_id, worktree).
    pub fn start_run(&self, repo: &Path, name: &str) -> (String, PathBuf) {
        let out = self.agency(repo, &["run", "--detached", "--name", name]);
        out.ok();
        (out.value("run_id").unwrap(), PathBuf::from(out.value("worktree").unwrap()))
    }

    pub fn run_dir_of(&self, run_id: &str) -> PathBuf {
        self.run_dirs().into_iter().find(|d| d.ends_with(run_id)).expect("run dir")
    }

    /// A live run written behind agency's back (the Go agency, a copy by hand): a copy of the
    /// record in `like`, as run `run_id` named `name`, beside it.
    pub fn plant_record(&self, like: &Path, run_id: &str, name: &str) -> PathBuf {
        let dir = like.parent().unwrap().join(run_id);
        std::fs::create_dir(&dir).unwrap();
        let mut record = self.meta(like);
        record["run_id"] = run_id.into();
        record["name"] = name.into();
        std::fs::write(dir.join("meta.json"), record.to_string()).unwrap();
        dir
    }
}

/// The toolchain environment of the real user (tests run with a temporary HOME).
pub fn toolchain_env() -> Vec<(String, String)> {
    let home = std::env::var("HOME").unwrap_or_default();
    let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo"));
    let rustup_home = std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{home}/.rustup"));
    vec![("CARGO_HOME".into(), cargo_home), ("RUSTUP_HOME".into(), rustup_home)]
}

/// Build the Rust examples (`examples/`) once per test binary, as a third party would.
pub fn rust_examples() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("examples");
            let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
                .arg(root.join("examples/Cargo.toml"))
                .arg("--target-dir")
                .arg(&target)
                .envs(toolchain_env())
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("RUSTFLAGS")
                .status()
                .expect("run cargo for the examples");
            assert!(status.success(), "building examples/ failed");
            target.join("wasm32-wasip2/release")
        })
        .clone()
}

impl TestEnv {
    /// Records, git and tmux agree: every live run has its worktree (listed by git) and branch;
    /// every extra git worktree, every `agency/*` branch and every `agency_*` session belongs to
    /// a live run; every record parses.
    #[track_caller]
    pub fn assert_consistent(&self, repo: &Path) {
        self.assert_records_intact();
        let root = repo.canonicalize().unwrap().display().to_string();
        let repo_id = std::fs::read_dir(self.data.join("repos"))
            .unwrap()
            .flatten()
            .find(|e| {
                let record: serde_json::Value = std::fs::read(e.path().join("repo.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or_default();
                record["repo_root_last_seen"] == root.as_str()
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .expect("the repo has a repo.json");
        let live: Vec<serde_json::Value> = self
            .run_dirs()
            .iter()
            .filter(|d| d.join("meta.json").exists())
            .map(|d| self.meta(d))
            .filter(|m| m["repo_id"] == repo_id.as_str() && m["archive"]["archived_at"].is_null())
            .collect();
        let git_worktrees: Vec<PathBuf> = self
            .sh(repo, "git worktree list --porcelain")
            .lines()
            .filter_map(|l| l.strip_prefix("worktree "))
            .map(PathBuf::from)
            .filter(|p| p != &repo.canonicalize().unwrap())
            .collect();
        let branches: Vec<String> = self.branches(repo).into_iter().filter(|b| b.starts_with("agency/")).collect();
        for meta in &live {
            let worktree = PathBuf::from(meta["worktree_path"].as_str().unwrap());
            assert!(worktree.is_dir(), "live run {} lost its worktree", meta["name"]);
            assert!(git_worktrees.contains(&worktree), "git does not list {}", worktree.display());
            assert!(
                branches.contains(&meta["branch"].as_str().unwrap().to_string()),
                "branch of {} missing",
                meta["name"]
            );
        }
        let live_worktrees: Vec<PathBuf> =
            live.iter().map(|m| PathBuf::from(m["worktree_path"].as_str().unwrap())).collect();
        for wt in &git_worktrees {
            assert!(live_worktrees.contains(wt), "orphan git worktree {}", wt.display());
        }
        let live_branches: Vec<&str> = live.iter().map(|m| m["branch"].as_str().unwrap()).collect();
        for branch in &branches {
            assert!(live_branches.contains(&branch.as_str()), "orphan branch {branch}");
        }
        let sessions =
            String::from_utf8_lossy(&self.tmux(&["list-sessions", "-F", "#{session_name}"]).stdout).into_owned();
        let all_live: Vec<serde_json::Value> = self
            .run_dirs()
            .iter()
            .filter(|d| d.join("meta.json").exists())
            .map(|d| self.meta(d))
            .filter(|m| m["archive"]["archived_at"].is_null())
            .collect();
        for session in sessions.lines().filter(|s| s.starts_with("agency_")) {
            assert!(all_live.iter().any(|m| m["tmux_session_name"] == session), "orphan session {session}");
        }
    }
}
