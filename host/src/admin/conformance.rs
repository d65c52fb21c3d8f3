//! `agency plugin test`: the conformance kit for plugin authors. It loads a plugin (info,
//! API version, well-formed capabilities), asks a runner for its interactive and headless
//! plans in a scratch run and passes each through the capability checker, and classifies
//! recorded screens (`<expected-state>--<what>.txt`: shipped with agency for the built-in
//! runners, or the author's own with `--screens DIR`) and compares the states.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::plugin::api::{Activity, Mode, PlanRequest, PluginKind, RunInfo};
use crate::plugin::{CallContext, Plugin, source};

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: String,
    pub passed: bool,
    pub detail: String,
}

fn check(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Check {
    Check { check: name.into(), passed, detail: detail.into() }
}

/// How a `.wasm` file under test is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compile {
    /// Through the content-addressed cache: the same bytes compile once (`agency plugin test`).
    Cached,
    /// In memory, never into the shared cache (`agency plugin dev`).
    InMemory,
}

/// Run the kit against a plugin id or `.wasm` file.
pub fn run(env: &Env, target: &str, screens: Option<&Path>, compile: Compile) -> Result<Vec<Check>> {
    let plugin = if target.ends_with(".wasm") || Path::new(target).is_file() {
        let source = source::file(Path::new(target))?;
        let _progress = env.ui.progress("compiling plugin (first compile of a large component can take a while)…");
        match compile {
            Compile::Cached => env.plugins().load(source)?,
            Compile::InMemory => env.plugins().load_uncached(source)?,
        }
    } else {
        let project = crate::env::repo_config(env)?;
        env.plugins().find(target, project.as_ref().map(|(root, config)| (root.as_path(), config)))?
    };
    let info = &plugin.info;
    let mut checks = vec![
        check("info", true, format!("{} {} ({} plugin)", info.id, info.version, info.kind.as_str())),
        check("api version", true, format!("agency:plugin@{} is supported", plugin.api_version)),
        check("capabilities", true, format!("{} declared, all well-formed", info.capabilities.len())),
    ];
    if info.kind == PluginKind::Runner {
        checks.extend(plans(env, &plugin)?);
        checks.extend(screen_checks(env, &plugin, screens)?);
    }
    Ok(checks)
}

/// A scratch run (real directories, removed afterwards) to plan against.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn plans(env: &Env, plugin: &Plugin) -> Result<Vec<Check>> {
    let root = std::env::temp_dir().join(format!("agency-conformance-{}", std::process::id()));
    let scratch = Scratch(root.clone());
    let dir = |name: &str| -> Result<String> {
        let path = scratch.0.join(name);
        std::fs::create_dir_all(&path)
            .map_err(|e| AgencyError::io(ErrorCode::DirNotWritable, "cannot create scratch dir", &path, e))?;
        Ok(path.display().to_string())
    };
    let run = RunInfo {
        run_id: "20260101000000-c0de".into(),
        name: "conformance".into(),
        title: "Conformance check".into(),
        repo_id: "0000000000000000".into(),
        repo_root: dir("repo")?,
        worktree: dir("worktree")?,
        run_dir: dir("run")?,
        log_dir: dir("run/logs")?,
        plugin_data: dir("data")?,
        branch: "agency/conformance-c0de".into(),
        parent_branch: "main".into(),
        runner: plugin.info.id.clone(),
        params: vec![("command".into(), "sh -c 'echo fake agent'".into())],
    };
    let requests = [
        ("plan interactive", PlanRequest { mode: Mode::Interactive, ..PlanRequest::default() }),
        (
            "plan interactive with prompt",
            PlanRequest {
                mode: Mode::Interactive,
                prompt: Some("describe the repository\nin two lines".into()),
                ..PlanRequest::default()
            },
        ),
        (
            "plan headless",
            PlanRequest {
                mode: Mode::Headless,
                prompt: Some("describe the repository".into()),
                ..PlanRequest::default()
            },
        ),
        (
            "plan a resumed session",
            PlanRequest {
                mode: Mode::Interactive,
                resume_session: Some("0f1e2d3c-session".into()),
                ..PlanRequest::default()
            },
        ),
    ];
    let granted = plugin.info.capabilities.clone();
    let mut checks = Vec::new();
    for (name, request) in requests {
        let ctx = CallContext::for_run(run.clone(), granted.clone());
        let outcome = env.plugins().plan(plugin, &ctx, &request).and_then(|plan| {
            env.plugins().check_launch(plugin, &granted, &run, &plan, "run again")?;
            Ok(std::iter::once(&plan.command.program).chain(&plan.command.args).cloned().collect::<Vec<_>>().join(" "))
        });
        checks.push(match outcome {
            Ok(command) => check(name, true, format!("passes the capability checker: {}", truncate(&command, 80))),
            Err(e) if e.code == ErrorCode::PluginFailed => check(name, true, format!("declined: {}", e.message)),
            Err(e) if e.code == ErrorCode::RunnerNotFound => check(
                name,
                true,
                format!("passes the capability checker (its program is not installed here: {})", e.message),
            ),
            Err(e) => check(name, false, format!("{}: {}", e.code, e.message)),
        });
    }
    drop(scratch);
    Ok(checks)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// An activity as screen file names spell it.
fn state_name(activity: Activity) -> &'static str {
    match activity {
        Activity::Starting => "starting",
        Activity::Working => "working",
        Activity::NeedsInput => "needs-input",
        Activity::Idle => "idle",
        Activity::Error => "error",
        Activity::Exited => "exited",
        Activity::Unknown => "unknown",
    }
}

/// The expected activity encoded in a screen file name (`needs-input--question.txt`).
fn expected(file: &str) -> Option<Activity> {
    const ALL: [Activity; 7] = [
        Activity::Starting,
        Activity::Working,
        Activity::NeedsInput,
        Activity::Idle,
        Activity::Error,
        Activity::Exited,
        Activity::Unknown,
    ];
    let prefix = file.split("--").next()?;
    ALL.into_iter().find(|a| state_name(*a) == prefix)
}

/// `*.txt` files in `dir` and its direct subdirectories (e.g. `transcribed/`), sorted, named
/// relative to `dir`.
fn screen_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path)?.flatten() {
                let inner_name = inner.file_name().to_string_lossy().into_owned();
                if inner_name.ends_with(".txt") {
                    files.push((format!("{name}/{inner_name}"), inner.path()));
                }
            }
        } else if name.ends_with(".txt") {
            files.push((name, path));
        }
    }
    files.sort();
    Ok(files)
}

fn screen_checks(env: &Env, plugin: &Plugin, dir: Option<&Path>) -> Result<Vec<Check>> {
    let screens: Vec<(String, String)> = match dir {
        Some(dir) => screen_files(dir)
            .map_err(|e| AgencyError::io(ErrorCode::Usage, "cannot read --screens dir", dir, e))?
            .into_iter()
            .filter_map(|(name, path)| Some((name, std::fs::read_to_string(&path).ok()?)))
            .collect(),
        None => crate::plugin::shipped_screens(&plugin.info.id)
            .into_iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
    };
    if screens.is_empty() {
        return Ok(vec![check(
            "classify",
            true,
            "skipped: no recorded screens (pass --screens DIR with <state>--<what>.txt files)",
        )]);
    }
    let mut checks = Vec::new();
    for (file, text) in screens {
        let Some(want) = expected(file.rsplit('/').next().unwrap_or(&file)) else {
            checks.push(check(
                format!("screen {file}"),
                false,
                "file name must start with starting--, working--, needs-input--, idle--, error--, exited-- or unknown--",
            ));
            continue;
        };
        let row = match env.plugins().classify(plugin, &text, None) {
            Ok(o) if o.activity == want => {
                check(format!("screen {file}"), true, format!("{}: {}", state_name(o.activity), o.reason))
            }
            Ok(o) => check(
                format!("screen {file}"),
                false,
                format!("expected {}, got {} ({})", state_name(want), state_name(o.activity), o.reason),
            ),
            Err(e) => check(format!("screen {file}"), false, format!("{}: {}", e.code, e.message)),
        };
        checks.push(row);
    }
    Ok(checks)
}
