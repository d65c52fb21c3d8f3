//! `agency merge`: the PR must exist and be open and mergeable (retrying while GitHub still
//! computes it), the work must be verified (a still-valid verify record is reused), a human
//! types `merge` (or `--yes`), then `gh pr merge` with one strategy, `merged_at` is recorded
//! and the run is archived. The repo lock is never held while waiting for the human.

use serde_json::json;
use std::time::Duration;

use super::archive::Unsaved;
use super::session;
use super::{RunRecord, archive, push, verify};
use crate::clock as time;
use crate::env::Env;
use crate::error::{AgencyError, ErrorCode, Result};
use crate::gh::{self, PullRequest, Strategy};
use crate::query::OpenRun;
use crate::repo::GithubRepo;
use crate::store::meta::Attention;

#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub strategy: Strategy,
    pub delete_branch: bool,
    /// Merge even when verification fails.
    pub force: bool,
}

#[derive(Debug, Clone)]
pub struct Merged {
    pub pr_number: u64,
    pub pr_url: String,
    /// `reused`, `passed`, or `failed (forced)`.
    pub verification: String,
    pub already_merged: bool,
    pub archived: archive::Archived,
}

fn retries() -> (u32, Duration) {
    let attempts = std::env::var("AGENCY_MERGEABLE_RETRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let delay = std::env::var("AGENCY_MERGEABLE_DELAY")
        .ok()
        .and_then(|v| humantime::parse_duration(&v).ok())
        .unwrap_or(Duration::from_secs(3));
    (attempts, delay)
}

pub fn merge(env: &Env, reference: &str, req: &MergeRequest) -> Result<Merged> {
    let (run, _lock) = session::open_locked(env, reference)?;
    let record = run.record(env);
    record.command("merge", || {
        let github = push::github_origin(&run.repo_root)?;
        gh::require_auth()?;
        let pr = pull_request(&run, &github)?;
        let pr = wait_until_known(&github, pr, &record)?;
        // What archiving after the merge could not save is settled before anything happens.
        archive::survey_and_confirm(env, &run, if req.force { Unsaved::Accept } else { Unsaved::Ask })?;
        if pr.state == "MERGED" {
            // Merged elsewhere (the GitHub UI): record it and archive.
            return finish(env, &run, &record, pr, "not needed (already merged)".into(), true);
        }
        if pr.state != "OPEN" || pr.mergeable != "MERGEABLE" {
            record.update_meta(|m| {
                let flags = m.flags_mut();
                flags.raise(Attention::PrNotMergeable);
            })?;
            return Err(AgencyError::new(
                ErrorCode::PrNotMergeable,
                format!("PR #{} is {} and {}", pr.number, pr.state.to_lowercase(), pr.mergeable.to_lowercase()),
            )
            .with_detail("pr", &pr.url)
            .with_hint("resolve the conflicts on the branch, `agency push`, then merge again"));
        }
        let verification = verification(env, &run, req)?;
        confirm(env, &run, &pr, req.strategy)?;
        record.step("gh_merge", || gh::pr_merge(&github, pr.number, req.strategy, req.delete_branch))?;
        finish(env, &run, &record, pr, verification, false)
    })
}

fn pull_request(run: &OpenRun, github: &GithubRepo) -> Result<PullRequest> {
    let found = match run.meta.pr_number {
        Some(number) => Some(gh::pr_view(github, number)?),
        None => gh::pr_for_branch(github, &run.meta.branch)?,
    };
    found.ok_or_else(|| {
        AgencyError::new(ErrorCode::NoPr, format!("run `{}` has no pull request", run.meta.name))
            .with_hint(format!("agency push {}", run.meta.name))
    })
}

/// GitHub answers UNKNOWN while it computes mergeability: ask again a few times.
fn wait_until_known(github: &GithubRepo, mut pr: PullRequest, record: &RunRecord) -> Result<PullRequest> {
    let (attempts, delay) = retries();
    for _ in 0..attempts {
        if pr.state != "OPEN" || pr.mergeable != "UNKNOWN" {
            return Ok(pr);
        }
        record.event("mergeable_unknown", json!({ "pr": pr.number }))?;
        std::thread::sleep(delay);
        pr = gh::pr_view(github, pr.number)?;
    }
    Ok(pr)
}

/// Reuse a still-valid passing verify record, else verify now; a failure needs `--force` or a
/// human's yes.
fn verification(env: &Env, run: &OpenRun, req: &MergeRequest) -> Result<String> {
    if let Some(record) = verify::valid_record(run)?
        && record.ok
    {
        return Ok(format!(
            "reused (verified {} at {})",
            record.commit.chars().take(12).collect::<String>(),
            record.verified_at
        ));
    }
    let failure = match verify::verify_open(env, run, None) {
        Ok(_) => return Ok("passed".into()),
        Err(err) => err,
    };
    if req.force {
        env.ui.warn(&format!("verification failed ({}); merging anyway (--force)", failure.message));
        return Ok("failed (forced)".into());
    }
    if env.ui.interactive() {
        env.ui.status(&format!("verification failed: {}", failure.message));
        if matches!(env.ui.ask("Merge anyway? [y/N] ").as_deref().map(str::trim), Some("y" | "Y" | "yes")) {
            return Ok("failed (merged anyway)".into());
        }
    }
    Err(AgencyError::new(
        ErrorCode::VerifyFailed,
        format!("verification failed, so `{}` was not merged: {}", run.meta.name, failure.message),
    )
    .with_hint(format!("agency logs {} verify   # then fix and push, or merge anyway with --force", run.meta.name)))
}

/// The human types `merge` (or passes `--yes`). No lock is held here.
fn confirm(env: &Env, run: &OpenRun, pr: &PullRequest, strategy: Strategy) -> Result<()> {
    if env.assume_yes {
        return Ok(());
    }
    if !env.ui.interactive() {
        return Err(AgencyError::new(ErrorCode::NotInteractive, "merging needs a human to confirm")
            .with_hint(format!("agency merge {} --yes", run.meta.name)));
    }
    let prompt = format!(
        "Merge PR #{} ({}) into {} with {}? Type `merge` to confirm: ",
        pr.number,
        pr.url,
        run.meta.parent_branch,
        strategy.flag()
    );
    match env.ui.ask(&prompt).as_deref().map(str::trim) {
        Some("merge") => Ok(()),
        _ => Err(AgencyError::new(ErrorCode::Aborted, "merge cancelled; nothing was changed")),
    }
}

fn finish(
    env: &Env,
    run: &OpenRun,
    record: &RunRecord,
    pr: PullRequest,
    verification: String,
    already_merged: bool,
) -> Result<Merged> {
    record.update_meta(|m| {
        m.archive.get_or_insert_with(Default::default).merged_at = Some(time::now_rfc3339());
        m.pr_number = Some(pr.number);
        m.pr_url = Some(pr.url.clone());
    })?;
    record
        .event("merged", json!({ "pr": pr.number, "verification": verification, "already_merged": already_merged }))?;
    let archived = archive::archive(env, run, record, Unsaved::Accept)?;
    Ok(Merged { pr_number: pr.number, pr_url: pr.url, verification, already_merged, archived })
}
