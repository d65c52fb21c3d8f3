//! `agency run`, as named steps ([`RunStep`]): gates → identity → run_dir → worktree → meta →
//! scaffold → setup → launch. The gates include loading and authorizing the runner and setup
//! plugins and checking the runner's plan, so a missing grant, an undeclared launch or a
//! missing program creates nothing. Steps 3–5 (and the final uniqueness check) run under the
//! repo lock; nothing slow (setup scripts, plugin calls, prompts) ever does. The run's own
//! lock is held from the moment its directory exists, so no other command acts on a run
//! that is still being made.

use serde_json::json;
use std::time::Instant;

use super::authorize;
use super::gates::{self, Gated};
use super::steps::{self, PhaseReport};
use super::{RunRecord, launch, scaffold};
use crate::clock as time;
use crate::config::{AgencyJson, Phase, StepConfig};
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::git;
use crate::plugin::api::{Mode, PlanRequest};
use crate::store::meta::{self, Attention, RunMeta};
use crate::store::name_index::NameIndex;
use crate::store::names;
use crate::store::{RunPaths, repo_record};
use std::path::Path;

/// A checked `agency run` invocation.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub name: Option<String>,
    pub title: Option<String>,
    pub runner: Option<String>,
    pub parent: Option<String>,
    pub prompt: Option<String>,
    pub headless: bool,
    /// Time limit for a headless agent.
    pub timeout: Option<std::time::Duration>,
}

/// A run whose worktree and record exist.
#[derive(Debug, Clone)]
pub struct Created {
    pub meta: RunMeta,
    pub paths: RunPaths,
}

/// A run that went through the whole pipeline.
#[derive(Debug, Clone)]
pub struct Started {
    pub meta: RunMeta,
    pub setup: PhaseReport,
}

/// The named steps of `agency run`, in order (the crash tests stop after each one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunStep {
    Gates,
    Identity,
    RunDir,
    Worktree,
    Meta,
    Scaffold,
    Setup,
    Launch,
}

impl RunStep {
    pub const ALL: [RunStep; 8] = [
        RunStep::Gates,
        RunStep::Identity,
        RunStep::RunDir,
        RunStep::Worktree,
        RunStep::Meta,
        RunStep::Scaffold,
        RunStep::Setup,
        RunStep::Launch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStep::Gates => "gates",
            RunStep::Identity => "identity",
            RunStep::RunDir => "run_dir",
            RunStep::Worktree => "worktree",
            RunStep::Meta => "meta",
            RunStep::Scaffold => "scaffold",
            RunStep::Setup => "setup",
            RunStep::Launch => "launch",
        }
    }

    /// The step a record's `pipeline.last_step` names as completed (the run dir when none).
    pub fn completed(last_step: Option<&str>) -> RunStep {
        last_step.and_then(|s| RunStep::ALL.into_iter().find(|step| step.as_str() == s)).unwrap_or(RunStep::RunDir)
    }
}

/// The whole pipeline: gates (with plugins), creation, setup, launch.
pub fn run(env: &Env, req: &RunRequest) -> Result<Started> {
    let gated = gates::check(env, req.name.as_deref(), req.parent.as_deref())?;
    let project = (gated.repo.root.as_path(), &gated.config);
    let runner_name = req.runner.clone().unwrap_or_else(|| env.user.default_runner.clone());
    let prepared = Prepared {
        runner: authorize::runner(env, &runner_name, Some(project))?,
        setup: authorize::steps(env, &gated.config.steps_for(Phase::Setup), project)?,
    };
    gates::check_launch_plan(env, &gated, &prepared.runner, &plan_request(req))?;

    let (created, _run_lock) = create_gated(env, &gated, req, &runner_name)?;
    let record = RunRecord::new(env, &created.meta.repo_id, &created.meta.run_id);
    let started = Instant::now();
    let result = start(env, &record, &created, project, prepared, req);
    match &result {
        Ok(_) => record.event("run_finished", json!({ "duration_ms": started.elapsed().as_millis() as u64 }))?,
        Err(err) => {
            let _ = record.event(
                "run_failed",
                json!({ "error_code": err.code.as_str(), "message": err.message, "step": record.last_failed_step() }),
            );
        }
    }
    result
}

/// The plugins a run needs, loaded and granted at gate time.
struct Prepared {
    runner: authorize::Authorized,
    setup: Vec<(StepConfig, authorize::Authorized)>,
}

fn plan_request(req: &RunRequest) -> PlanRequest {
    PlanRequest {
        mode: if req.headless { Mode::Headless } else { Mode::Interactive },
        prompt: req.prompt.clone(),
        resume_session: None,
    }
}

/// Steps 7 and 8: setup, then launch.
fn start(
    env: &Env,
    record: &RunRecord,
    created: &Created,
    project: (&Path, &AgencyJson),
    prepared: Prepared,
    req: &RunRequest,
) -> Result<Started> {
    let setup = run_setup_steps(env, record, &created.meta, project, prepared.setup)?;
    if let Some(prompt) = &req.prompt {
        crate::store::atomic::write_atomic(&created.paths.prompt(), prompt.as_bytes()).map_err(|e| {
            AgencyError::io(ErrorCode::StoreWriteFailed, "cannot keep the prompt", &created.paths.prompt(), e)
        })?;
    }
    let request = launch::LaunchRequest { plan: plan_request(req), timeout: req.timeout };
    let meta = record.read_meta()?;
    let launched = record
        .step(RunStep::Launch.as_str(), || launch::launch(env, record, &meta, project.0, &prepared.runner, &request));
    let meta = launched.inspect_err(|_| {
        let _ = record.update_meta(|m| {
            let flags = m.flags_mut();
            flags.raise(Attention::LaunchFailed);
        });
    })?;
    Ok(Started { meta, setup })
}

/// Step 7 for a run whose plugins are not loaded yet (`resume` of a run a crash stopped
/// before its setup).
pub fn setup(env: &Env, record: &RunRecord, meta: &RunMeta, project: (&Path, &AgencyJson)) -> Result<PhaseReport> {
    let prepared = authorize::steps(env, &project.1.steps_for(Phase::Setup), project)?;
    run_setup_steps(env, record, meta, project, prepared)
}

fn run_setup_steps(
    env: &Env,
    record: &RunRecord,
    meta: &RunMeta,
    project: (&Path, &AgencyJson),
    prepared: Vec<(StepConfig, authorize::Authorized)>,
) -> Result<PhaseReport> {
    let mut report = None;
    let setup = record.step(RunStep::Setup.as_str(), || {
        let phase = steps::run_phase(env, record, meta, project, Phase::Setup, prepared, None)?;
        let failure = (!phase.ok).then(|| phase.failure(&meta.name));
        report = Some(phase);
        failure.map_or(Ok(()), Err)
    });
    record_setup(record, report.as_ref(), setup.is_err())?;
    if let Err(err) = setup {
        return Err(setup_hint(err, &meta.name));
    }
    report.ok_or_else(|| AgencyError::internal("setup finished without a report"))
}

/// Keep the setup result (and, on failure, the flags) in the run record.
fn record_setup(record: &RunRecord, report: Option<&PhaseReport>, failed: bool) -> Result<()> {
    record
        .update_meta(|m| {
            if let Some(report) = report {
                m.setup = Some(Box::new(report.record()));
                m.plugins.insert("setup".into(), serde_json::to_value(&report.provenance).unwrap_or_default());
            }
            if failed {
                let flags = m.flags_mut();
                flags.setup_failed = true;
                flags.raise(Attention::SetupFailed);
            }
        })
        .map(|_| ())
}

/// Tell the user what to do after a failed setup (keeping a more specific hint if any).
fn setup_hint(err: AgencyError, name: &str) -> AgencyError {
    let hint = format!(
        "agency logs {name} setup   # the worktree is kept; fix and `agency resume {name}` to start the agent anyway"
    );
    match err.hint {
        Some(_) => err.with_detail("next", hint),
        None => err.with_hint(hint),
    }
}

/// How many fresh run ids to try when one collides (same second, same random suffix).
const ID_ATTEMPTS: usize = 8;

/// Steps 2–6 after the gates passed. Returns once the worktree is scaffolded.
/// Create the run; the run's lock is taken as soon as its directory exists and held by the
/// caller for the rest of the pipeline (so `repair` never mistakes a run being made for drift).
fn create_gated<'e>(
    env: &'e Env,
    gated: &Gated,
    req: &RunRequest,
    runner: &str,
) -> Result<(Created, crate::env::RepoGuard<'e>)> {
    let started = Instant::now();
    let runner = runner.to_string();

    let lock = env.lock_repo(&gated.repo.id)?;
    // Identity and creation of the run dir under the lock, so names and ids stay unique.
    let (run_id, name) = claim_run_dir(env, gated, req)?;
    let run_lock = env.lock_run(&gated.repo.id, &run_id)?;
    repo_record::touch(&env.store, &gated.repo, None)?;
    let record = RunRecord::new(env, &gated.repo.id, &run_id);
    let title = req.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| name.clone());
    let port_base = reserve_ports(env, &gated.repo.id, &run_id);
    record.event("run_started", json!({ "command": env.command_line, "name": name, "title": title, "runner": runner, "parent_branch": gated.parent_branch, "port_base": port_base, "git_common_dir": gated.repo.common_dir }))?;
    record.event(
        "step_finished",
        json!({ "step": RunStep::Gates.as_str(), "duration_ms": started.elapsed().as_millis() as u64 }),
    )?;
    record.event("step_finished", json!({ "step": RunStep::Identity.as_str(), "duration_ms": 0 }))?;
    record.event("step_finished", json!({ "step": RunStep::RunDir.as_str(), "duration_ms": 0 }))?;
    super::fault::after(RunStep::RunDir.as_str());

    let branch = names::branch_name(&name, &run_id);
    let worktree = env.store.worktree_path(&gated.repo.id, &run_id);
    let mut initial = RunMeta {
        schema_version: meta::SCHEMA_VERSION.to_string(),
        run_id: run_id.clone(),
        repo_id: gated.repo.id.clone(),
        name: name.clone(),
        title: Some(title.clone()),
        runner,
        runner_cmd: String::new(),
        parent_branch: gated.parent_branch.clone(),
        branch: branch.clone(),
        worktree_path: worktree.display().to_string(),
        git_common_dir: Some(gated.repo.common_dir.display().to_string()),
        created_at: time::now_rfc3339(),
        port_base,
        ..RunMeta::default()
    };

    let worktree_result = record.step(RunStep::Worktree.as_str(), || {
        crate::store::dirs::ensure_dir(&env.store.worktrees_dir(&gated.repo.id))?;
        git::worktree_add(&gated.repo.root, &branch, &worktree, &gated.parent_commit, gated.checkout_workers)
    });
    if let Err(err) = worktree_result {
        // git may have created the (brand-new, commit-less) branch before failing: remove it,
        // then leave a record that explains the failure.
        let p = initial.pipeline_mut();
        p.last_step = Some(RunStep::RunDir.as_str().into());
        p.failed_step = Some(RunStep::Worktree.as_str().into());
        p.error_code = Some(err.code.as_str().into());
        p.error_message = Some(err.message.clone());
        if git::branch_exists(&gated.repo.root, &branch).unwrap_or(false) {
            let _ = git::delete_branch(&gated.repo.root, &branch);
        }
        let _ = git::worktree_prune(&gated.repo.root);
        let _ = meta::write(&record.paths.meta(), &initial);
        return Err(err);
    }

    record.step(RunStep::Meta.as_str(), || {
        initial.pipeline_mut().last_step = Some(RunStep::Worktree.as_str().into());
        initial.base_commit = Some(gated.parent_commit.clone());
        record.event("worktree_created", json!({ "base_commit": initial.base_commit }))?;
        meta::write(&record.paths.meta(), &initial)
    })?;
    drop(lock);

    record.step(RunStep::Scaffold.as_str(), || {
        scaffold::scaffold(&worktree, &gated.repo.common_dir, &title, &initial.created_at)
    })?;
    Ok((Created { meta: record.read_meta()?, paths: record.paths }, run_lock))
}

/// A port block no live run holds (`store::ports`: `run` costs the same however many runs
/// the data dir holds).
fn reserve_ports(env: &Env, repo_id: &str, run_id: &str) -> Option<u16> {
    crate::store::ports::reserve(&env.store, repo_id, run_id).ok().flatten()
}

/// Pick a run id and name and create the run dir exclusively (`E_RUN_DIR_EXISTS` is never
/// reused: a collision draws a fresh id, unless the id is pinned by a test).
fn claim_run_dir(env: &Env, gated: &Gated, req: &RunRequest) -> Result<(String, String)> {
    let index = NameIndex::load(&env.store, &gated.repo.id);
    if let Some(name) = &gated.name {
        gates::ensure_name_free(env, &index, name)?;
    }
    let runs_dir = env.store.runs_dir(&gated.repo.id);
    crate::store::dirs::ensure_dir(&runs_dir)?;
    let pinned = pinned_run_id();
    for _ in 0..ID_ATTEMPTS {
        let run_id = pinned.clone().unwrap_or_else(names::new_run_id);
        let short = names::short_id(&run_id).to_string();
        let name = match &gated.name {
            Some(name) => name.clone(),
            None => names::derive_name(req.title.as_deref(), &short, |candidate| {
                gates::ensure_name_free(env, &index, candidate).is_err()
            }),
        };
        if pinned.is_none() && git::branch_exists(&gated.repo.root, &names::branch_name(&name, &run_id))? {
            continue;
        }
        let paths = env.store.run_paths(&gated.repo.id, &run_id);
        match std::fs::create_dir(&paths.dir) {
            Ok(()) => {
                std::fs::create_dir(paths.logs()).map_err(|e| {
                    AgencyError::io(ErrorCode::RunDirCreateFailed, "cannot create the run's logs dir", &paths.logs(), e)
                })?;
                // A cache: an index that could not be written is stale, and the next check
                // reads every record instead.
                let _ = index.record(&env.store, &name, &run_id);
                return Ok((run_id, name));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && pinned.is_none() => continue,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(AgencyError::new(
                    ErrorCode::RunDirExists,
                    format!("run directory for {run_id} already exists; it is never reused"),
                )
                .with_detail("run_dir", paths.dir.display())
                .with_hint("agency repair --dry-run   # explains stale run directories"));
            }
            Err(e) => {
                return Err(AgencyError::io(
                    ErrorCode::RunDirCreateFailed,
                    "cannot create the run directory",
                    &paths.dir,
                    e,
                )
                .with_hint("check the permissions of the data dir (agency doctor shows it)"));
            }
        }
    }
    Err(AgencyError::new(
        ErrorCode::RunDirExists,
        format!("{ID_ATTEMPTS} fresh run ids all collided with existing run directories"),
    )
    .with_detail("runs_dir", runs_dir.display())
    .with_hint("agency repair --dry-run"))
}

/// Tests pin the run id (`AGENCY_TEST_RUN_ID`) to exercise collisions; test builds only.
fn pinned_run_id() -> Option<String> {
    if cfg!(feature = "test-hooks") { std::env::var("AGENCY_TEST_RUN_ID").ok().filter(|s| !s.is_empty()) } else { None }
}
