//! [`TestEnv`]: one isolated world per test. The binary runs with a cleared environment, a temp
//! `HOME`, `AGENCY_*_DIR` inside the temp dir, its own tmux server (`AGENCY_TMUX_SOCKET`) and a
//! fake-bin dir first on `PATH`. The rest of `PATH` is [`hermetic_path`]: the machine's tools
//! without any agent CLI or `gh`, so a test sees an agent only when it puts one there. Compiled
//! plugins are cached in one dir shared by all tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub data: PathBuf,
    pub config: PathBuf,
    pub cache: PathBuf,
    pub bin: PathBuf,
    pub socket: String,
    pub extra_env: Vec<(String, String)>,
}

/// What one invocation of agency produced.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Assert success and return stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Assert failure with exit status 1 (2 for usage) and an error report on stderr that
    /// starts with `error_code: <code>` — the very first line of stderr, since the tests run
    /// without a terminal — followed by the `error:` line, and has a `hint:` line.
    #[track_caller]
    pub fn err(&self, code: &str) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let at = lines.iter().position(|l| l.starts_with("error_code: "));
        let context = format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        let at = at.unwrap_or_else(|| panic!("no error_code line\n{context}"));
        assert_eq!(at, 0, "error_code is the first line of stderr off a terminal\n{context}");
        assert_eq!(lines[at], format!("error_code: {code}"), "{context}");
        assert_eq!(lines.iter().filter(|l| l.starts_with("error_code: ")).count(), 1, "error printed once\n{context}");
        assert!(lines.get(at + 1).is_some_and(|l| l.starts_with("error: ")), "message line\n{context}");
        let hint = lines[at..].iter().position(|l| l.starts_with("hint: "));
        assert!(hint.is_some(), "every error has a hint\n{context}");
        let status = if code == "E_USAGE" { 2 } else { 1 };
        assert_eq!(self.code, status, "exit status for {code}\n{context}");
        &self.stderr
    }

    /// `key: value` lines of stdout.
    pub fn value(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}: ");
        self.stdout.lines().find_map(|l| l.strip_prefix(&prefix)).map(str::to_string)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Poll `probe` until it yields `Ok` (tmux, agents and background work are asynchronous); after
/// `secs` seconds fail with `what` and the last `Err` observation.
#[track_caller]
pub fn wait_until<T, L: std::fmt::Display>(what: &str, secs: u64, mut probe: impl FnMut() -> Result<T, L>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        match probe() {
            Ok(value) => return value,
            Err(last) if std::time::Instant::now() >= deadline => {
                panic!("timed out waiting for {what}; last seen:\n{last}")
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
}

pub fn agency_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_agency"))
}

/// One plugin compile cache for the whole test binary (debug Cranelift is slow).
/// Programs a test must never pick up from the machine: the agents and the GitHub CLI.
const NOT_FROM_THE_MACHINE: &[&str] = &["claude", "codex", "gemini", "aider", "opencode", "gh"];

/// One directory of links to every program on the caller's `PATH` except
/// [`NOT_FROM_THE_MACHINE`], made once per test process.
pub fn hermetic_path() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let dir = root.join(format!("hermetic-bin-{}", std::process::id()));
        // Directories of earlier test processes that are gone.
        for old in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = old.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("hermetic-bin-").and_then(|p| p.parse::<u32>().ok())
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = std::env::var_os("PATH").unwrap_or_default();
        for entry in std::env::split_paths(&path).filter(|p| p.is_absolute()) {
            for program in std::fs::read_dir(&entry).into_iter().flatten().flatten() {
                let name = program.file_name();
                if NOT_FROM_THE_MACHINE.iter().any(|n| name == *n) || dir.join(&name).exists() {
                    continue;
                }
                let _ = std::os::unix::fs::symlink(program.path(), dir.join(&name));
            }
        }
        dir
    })
    .clone()
}

pub fn shared_cache() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("agency-test-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let mut dir = tempfile::Builder::new().prefix("agency-test-").tempdir().unwrap();
        // AGENCY_TEST_KEEP=1 keeps each test's world for a post-mortem (its path is printed).
        if std::env::var_os("AGENCY_TEST_KEEP").is_some() {
            dir.disable_cleanup(true);
            eprintln!("test world kept: {}", dir.path().display());
        }
        let root = dir.path().canonicalize().unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let env = TestEnv {
            home: root.join("home"),
            data: root.join("data"),
            config: root.join("config"),
            cache: shared_cache(),
            bin: root.join("bin"),
            socket: format!("agency-test-{}-{n}", std::process::id()),
            extra_env: Vec::new(),
            dir,
        };
        for d in [&env.home, &env.config, &env.bin] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(
            env.home.join(".gitconfig"),
            "[user]\n\tname = Agency Test\n\temail = test@agency.invalid\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
        )
        .unwrap();
        env.write_user_config(r#"{"version": 1, "defaults": {"runner": "shell"}}"#);
        env
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub fn write_user_config(&self, text: &str) {
        std::fs::write(self.config.join("config.json"), text).unwrap();
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.to_string(), value.to_string()));
    }

    /// The environment every child (agency, git, tmux) gets.
    pub fn vars(&self) -> Vec<(String, String)> {
        let path = format!("{}:{}", self.bin.display(), hermetic_path().display());
        let mut vars = vec![
            ("HOME".into(), self.home.display().to_string()),
            ("PATH".into(), path),
            ("LANG".into(), "C.UTF-8".into()),
            ("SHELL".into(), "/bin/sh".into()),
            ("TERM".into(), "xterm-256color".into()),
            ("USER".into(), "agency-test".into()),
            ("NO_COLOR".into(), "1".into()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("AGENCY_DATA_DIR".into(), self.data.display().to_string()),
            ("AGENCY_CONFIG_DIR".into(), self.config.display().to_string()),
            ("AGENCY_CACHE_DIR".into(), self.cache.display().to_string()),
            ("AGENCY_TMUX_SOCKET".into(), self.socket.clone()),
        ];
        vars.extend(self.extra_env.iter().cloned());
        vars
    }

    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(self.vars()).current_dir(cwd).stdin(Stdio::null());
        cmd
    }

    /// Run agency in `cwd`.
    pub fn agency(&self, cwd: &Path, args: &[&str]) -> Outcome {
        self.agency_with(cwd, args, &[])
    }

    /// Run agency in `cwd` with extra environment variables.
    pub fn agency_with(&self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut cmd = self.command(agency_bin(), cwd);
        cmd.args(args).envs(env.iter().copied());
        let out = cmd.output().expect("run agency");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run a program (git, tmux, sh) in the test's environment and return stdout; panics on failure.
    #[track_caller]
    pub fn sh(&self, cwd: &Path, script: &str) -> String {
        let out = self.command("sh", cwd).args(["-c", script]).output().unwrap();
        assert!(out.status.success(), "`{script}` failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `tmux -L <socket> …` for this test.
    pub fn tmux(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = self.command("tmux", &self.root());
        cmd.arg("-L").arg(&self.socket).args(args);
        cmd.output().unwrap()
    }

    /// Put an executable script named `name` first on the test's PATH.
    pub fn fake_bin(&self, name: &str, script: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Run directories that exist in the data dir (any repo).
    pub fn run_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        let Ok(repos) = std::fs::read_dir(self.data.join("repos")) else { return dirs };
        for repo in repos.flatten() {
            if let Ok(runs) = std::fs::read_dir(repo.path().join("runs")) {
                dirs.extend(runs.flatten().map(|r| r.path()).filter(|p| p.is_dir()));
            }
        }
        dirs.sort();
        dirs
    }

    pub fn meta(&self, run_dir: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(run_dir.join("meta.json")).unwrap()).unwrap()
    }

    /// Rewrite a run's `meta.json` as `edit` changes it (as an agent, another tool or a newer
    /// agency could).
    pub fn edit_meta(&self, run_dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut meta = self.meta(run_dir);
        edit(&mut meta);
        std::fs::write(run_dir.join("meta.json"), serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).stderr(Stdio::null()).status();
    }
}

/// An agency command running in a tmux pane: a real terminal, for prompts.
pub struct Terminal<'a> {
    env: &'a TestEnv,
    session: String,
}

impl TestEnv {
    /// Start `agency <args>` in a terminal (a pane of the test's tmux server) in `cwd`.
    pub fn in_terminal(&self, cwd: &Path, args: &[&str]) -> Terminal<'_> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let session = format!("term-{n}");
        let quote = |s: &str| agency::process::shell_quote(s);
        let vars: Vec<String> = self.vars().iter().map(|(k, v)| quote(&format!("{k}={v}"))).collect();
        let command = format!(
            "env -i {} {} {}; echo \"EXIT:$?\"; sleep 600",
            vars.join(" "),
            quote(&agency_bin().display().to_string()),
            args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
        );
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            "200",
            "-y",
            "50",
            "-c",
            &cwd.display().to_string(),
            "sh",
            "-c",
            &command,
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Terminal { env: self, session }
    }
}

impl Terminal<'_> {
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self.env.tmux(&["capture-pane", "-p", "-J", "-S", "-200", "-t", &format!("={}:", self.session)]).stdout,
        )
        .into_owned()
    }

    /// Wait until the screen shows `text`; return the screen.
    #[track_caller]
    pub fn wait_for(&self, text: &str) -> String {
        wait_until(&format!("the terminal to show {text:?}"), 20, || {
            let screen = self.screen();
            if screen.contains(text) { Ok(screen) } else { Err(screen) }
        })
    }

    /// Type a line.
    pub fn type_line(&self, text: &str) {
        let target = format!("={}:", self.session);
        self.env.tmux(&["send-keys", "-t", &target, "-l", text]);
        self.env.tmux(&["send-keys", "-t", &target, "Enter"]);
    }

    /// Wait for the command to end and return its exit status and screen.
    #[track_caller]
    pub fn finish(&self) -> (i32, String) {
        let screen = self.wait_for("EXIT:");
        let code = screen
            .lines()
            .find_map(|l| l.trim().strip_prefix("EXIT:"))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(-1);
        (code, screen)
    }
}
