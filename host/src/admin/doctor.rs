//! `agency doctor`: checks that a run can succeed here — tools (git, tmux, gh and its auth),
//! the repository, `agency.json` and its scripts, the data dirs, locks — and reports the
//! resolved directories and the repository's identity. Writes `repo.json` / `repo_index.json`
//! only when every required check passes.

use std::os::unix::fs::PermissionsExt;

use crate::config::{AgencyJson, Phase};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode};
use crate::pipeline::authorize::short_sha;
use crate::pipeline::{authorize, gates};
use crate::plugin;
use crate::plugin::api::{Mode, PlanRequest};
use crate::store::lock::{self, LockState};
use crate::store::repo_record;
use crate::{gh, git, repo, tmux};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckState {
    Ok,
    /// Worth knowing, but a run can still succeed.
    Warn,
    Fail,
}

#[derive(Debug)]
pub struct Check {
    pub name: String,
    pub state: CheckState,
    pub detail: String,
    /// For failures: the error that explains it (its code becomes doctor's exit error).
    pub error: Option<AgencyError>,
}

#[derive(Debug, Default)]
pub struct DoctorReport {
    pub facts: Vec<(String, String)>,
    pub checks: Vec<Check>,
}

impl DoctorReport {
    fn ok(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(Check { name: name.into(), state: CheckState::Ok, detail: detail.into(), error: None });
    }

    fn warn(&mut self, name: &str, detail: impl Into<String>) {
        self.checks.push(Check { name: name.into(), state: CheckState::Warn, detail: detail.into(), error: None });
    }

    fn fail(&mut self, name: &str, error: AgencyError) {
        let detail = error.message.clone();
        self.checks.push(Check { name: name.into(), state: CheckState::Fail, detail, error: Some(error) });
    }

    fn fact(&mut self, key: &str, value: impl Into<String>) {
        self.facts.push((key.into(), value.into()));
    }

    /// The first failure, if any.
    pub fn first_failure(&mut self) -> Option<AgencyError> {
        self.checks.iter_mut().find_map(|c| c.error.take())
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.state != CheckState::Fail)
    }
}

pub fn doctor(env: &Env) -> DoctorReport {
    let mut report = DoctorReport::default();
    report.fact("data_dir", env.dirs.data.display().to_string());
    report.fact("config_dir", env.dirs.config.display().to_string());
    report.fact("cache_dir", env.dirs.cache.display().to_string());
    report.fact(
        "user_config",
        if env.user.from_file { "config.json".to_string() } else { "built-in defaults (no config.json)".to_string() },
    );
    report.fact("default_runner", env.user.default_runner.clone());

    match git::version() {
        Ok(v) => report.ok("git", v),
        Err(e) => report.fail("git", e),
    }
    match tmux::version() {
        Ok(v) => report.ok("tmux", v),
        Err(e) => report.fail("tmux", e),
    }
    check_gh(&mut report);
    check_dirs(env, &mut report);

    let repo = match gates::require_repo(env) {
        Ok(located) => located.repo,
        Err(e) => {
            report.fail("repo", e);
            return report;
        }
    };
    report.fact("repo_root", repo.root.display().to_string());
    report.fact("repo_key", repo.key.clone());
    report.fact("repo_id", repo.id.clone());
    report.fact("origin_url", repo.origin_url.clone().unwrap_or_else(|| "(none)".into()));
    report.fact("origin_host", repo.origin_host().unwrap_or_else(|| "(none)".into()));
    report.fact(
        "github_repo",
        repo.github.as_ref().map(|g| g.slug()).unwrap_or_else(|| "(not a github.com origin)".into()),
    );
    match git::has_commits(&repo.root) {
        Ok(true) => report.ok("repo", "has commits"),
        Ok(false) => report.fail(
            "repo",
            AgencyError::new(ErrorCode::EmptyRepo, "the repository has no commits yet")
                .with_hint("git commit --allow-empty -m 'initial commit'"),
        ),
        Err(e) => report.fail("repo", e),
    }
    if let Some(config) = check_config(&repo, &mut report) {
        check_plugins(env, &repo, &config, &mut report);
    }
    check_lock(env, &repo, &mut report);
    match crate::pipeline::repair::repair(env, true) {
        Ok(findings) if findings.is_empty() => report.ok("drift", "records, worktrees, branches and sessions agree"),
        Ok(findings) => {
            let kinds: Vec<String> = findings.iter().map(|f| format!("{} {}", f.kind, f.subject)).collect();
            report.warn(
                "drift",
                format!(
                    "{} findings ({}); agency repair --dry-run shows the actions",
                    findings.len(),
                    kinds.join(", ")
                ),
            )
        }
        Err(e) => report.warn("drift", e.message),
    }

    if report.passed() {
        let gh_authed = report.checks.iter().find(|c| c.name == "gh_auth").map(|c| c.state == CheckState::Ok);
        if let Err(e) = repo_record::touch(&env.store, &repo, gh_authed) {
            report.fail("repo_record", e);
        }
    }
    report
}

fn check_gh(report: &mut DoctorReport) {
    match gh::version() {
        Ok(v) => {
            report.ok("gh", v);
            match gh::authenticated() {
                Ok(true) => report.ok("gh_auth", "authenticated for github.com"),
                Ok(false) => {
                    report.warn("gh_auth", "not authenticated: `agency push` and `merge` need `gh auth login`")
                }
                Err(e) => report.warn("gh_auth", e.message),
            }
        }
        Err(_) => report.warn("gh", "not installed: `agency push` and `merge` need it (https://cli.github.com)"),
    }
}

fn check_dirs(env: &Env, report: &mut DoctorReport) {
    for (name, dir) in [("data_dir", &env.dirs.data), ("cache_dir", &env.dirs.cache)] {
        let probe = dir.join(format!(".doctor-probe-{}", std::process::id()));
        let writable = crate::store::dirs::ensure_dir(dir).and_then(|_| {
            std::fs::write(&probe, b"ok")
                .map_err(|e| AgencyError::io(ErrorCode::DirNotWritable, "cannot write", dir, e))
        });
        let _ = std::fs::remove_file(&probe);
        match writable {
            Ok(()) => report.ok(&format!("{name}_writable"), dir.display().to_string()),
            Err(e) => report.fail(&format!("{name}_writable"), e),
        }
    }
}

fn check_config(repo: &repo::Repo, report: &mut DoctorReport) -> Option<AgencyJson> {
    let config = match AgencyJson::load(&repo.root) {
        Ok(c) => {
            report.ok("agency_json", "valid");
            c
        }
        Err(e) => {
            report.fail("agency_json", e);
            return None;
        }
    };
    for (phase, script) in &config.scripts {
        let path = repo.root.join(&script.path);
        let name = format!("script_{phase}");
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if *phase == crate::config::Phase::Verify && text.contains(super::init::VERIFY_STUB_MARKER) {
                    report.warn(
                        &name,
                        format!("{} is still the stub and always fails; replace it with your checks", script.path),
                    );
                } else {
                    report.ok(&name, script.path.clone());
                }
            }
            Ok(_) => report.fail(
                &name,
                AgencyError::new(ErrorCode::InvalidAgencyJson, format!("{} is not an executable file", script.path))
                    .with_hint(format!("chmod +x {}", path.display())),
            ),
            Err(_) => report.fail(
                &name,
                AgencyError::new(
                    ErrorCode::InvalidAgencyJson,
                    format!("scripts.{phase}.path {} does not exist", script.path),
                )
                .with_hint("agency init   # writes missing stub scripts"),
            ),
        }
    }
    Some(config)
}

/// The default runner, every configured step plugin and every project pin: found, granted
/// (bytes nobody granted are not even loaded), and the runner's plan passes the checker with
/// its program on PATH.
fn check_plugins(env: &Env, repo: &repo::Repo, config: &AgencyJson, report: &mut DoctorReport) {
    let project = (repo.root.as_path(), config);
    for pin in &config.plugins {
        let name = format!("plugin_pin_{}", pin.id);
        let found = plugin::source::find(&pin.id, env.plugins().plugins_dir(), Some(project));
        match found.and_then(|source| Ok((source.sha256.clone(), env.plugins().find_granted(&pin.id, Some(project), &env.dirs.config)?))) {
            Ok((sha, Some(_))) => report.ok(&name, format!("{} (sha256 {}), granted", pin.path, short_sha(&sha))),
            Ok((sha, None)) => report.warn(
                &name,
                format!("{} (sha256 {}) is pinned by this repository and not granted: agency plugin inspect {} then agency plugin trust {}", pin.path, short_sha(&sha), pin.id, pin.id),
            ),
            Err(e) => report.fail(&name, e),
        }
    }
    match check_runner(env, repo, project) {
        Ok(detail) => report.ok("runner", detail),
        Err(e) => report.fail("runner", e),
    }
    for phase in Phase::ALL {
        for step in config.steps_for(phase) {
            let name = format!("plugin_{phase}_{}", step.plugin);
            match env.plugins().find_granted(&step.plugin, Some(project), &env.dirs.config) {
                Ok(Some(plugin)) => report
                    .ok(&name, format!("{} {} ({})", plugin.info.id, plugin.info.version, plugin.origin.describe())),
                Ok(None) => report.fail(&name, not_granted("step", &step.plugin)),
                Err(e) => report.fail(&name, e),
            }
        }
    }
    if let Err(e) = config.check_scripts_exist(&repo.root, &Phase::ALL) {
        report.fail("scripts", e);
    }
}

fn not_granted(kind: &str, id: &str) -> AgencyError {
    AgencyError::new(ErrorCode::PluginNotTrusted, format!("{kind} plugin `{id}` is not granted"))
        .with_hint(format!("agency plugin inspect {id}   # review it, then: agency plugin trust {id}"))
}

fn check_runner(
    env: &Env,
    repo: &repo::Repo,
    project: (&std::path::Path, &AgencyJson),
) -> crate::error::Result<String> {
    let runner_name = env.user.default_runner.clone();
    let (id, params) = authorize::runner_plugin_id(env, &runner_name, Some(project))?;
    let plugin =
        env.plugins().find_granted(&id, Some(project), &env.dirs.config)?.ok_or_else(|| not_granted("runner", &id))?;
    let granted = env.plugins().granted(&plugin, &env.dirs.config)?.ok_or_else(|| not_granted("runner", &id))?;
    let runner = authorize::Authorized { plugin, granted, params };
    let request = PlanRequest { mode: Mode::Interactive, ..PlanRequest::default() };
    let hint = "or set defaults.runner in config.json (for example \"shell\")";
    let approved = authorize::check_plan_in_checkout(env, &runner, repo, &request, hint)?;
    Ok(format!("{runner_name} (plugin {id}, runs {})", approved.program.display()))
}

fn check_lock(env: &Env, repo: &repo::Repo, report: &mut DoctorReport) {
    match lock::inspect(&env.store.lock_path(&repo.id)) {
        LockState::Free => report.ok("repo_lock", "free"),
        LockState::Held(holder) => report.ok(
            "repo_lock",
            holder.map_or("held by another agency process".into(), |h| {
                format!("held by pid {} (`{}`)", h.pid, h.command)
            }),
        ),
        LockState::Stale(h) => report.warn(
            "repo_lock",
            format!(
                "stale: pid {} (`{}`) died holding it at {}; harmless, `agency repair` clears it",
                h.pid, h.command, h.started_at
            ),
        ),
    }
}
