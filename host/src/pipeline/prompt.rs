//! Delivering an interactive prompt that the runner wants pasted, and confirming it arrived.
//! Not at the first byte of output: the host waits until the agent is ready the runner's way
//! (its `classify` reads idle, or the planned text shows), with dialogs such as a trust or
//! login screen simply holding the prompt back. The text is pasted as one paste (bracketed
//! when the agent asked for it, so a multi-line prompt stays one message), Enter is pressed
//! separately, and only a reaction of the agent — it leaves idle, or the text is on screen —
//! records `prompt_delivered`. Otherwise the run is flagged `prompt_not_delivered` with why.
//!
//! Keystrokes only ever reach the agent: before typing, the host checks that the agent has
//! not exited (its exit record is absent), and the pane process discards queued input before
//! it starts the fallback shell (`process::agent`).

use serde_json::json;
use std::time::{Duration, Instant};

use super::RunRecord;
use crate::clock as time;
use crate::env::Env;
use crate::error::Result;
use crate::plugin::Plugin;
use crate::plugin::api::{Activity, Observation, ReadyWhen};
use crate::store::meta::{Attention, RunMeta};
use crate::tmux::{self, Server};

/// Where and to whom the prompt goes.
pub struct Target<'a> {
    pub server: &'a Server,
    pub session: &'a str,
    pub plugin: &'a Plugin,
    pub ready: &'a ReadyWhen,
}

const POLL: Duration = Duration::from_millis(250);
/// Pause between the paste and Enter (agents treat a fast Enter after a burst as a newline).
const ENTER_DELAY: Duration = Duration::from_millis(200);
/// How long the agent has to react before the prompt counts as not delivered.
const CONFIRM_WINDOW: Duration = Duration::from_secs(10);

/// How long to wait for the agent to become ready (`AGENCY_READY_TIMEOUT`, default 60 s).
fn ready_timeout() -> Duration {
    std::env::var("AGENCY_READY_TIMEOUT")
        .ok()
        .and_then(|v| humantime::parse_duration(&v).ok())
        .unwrap_or(Duration::from_secs(60))
}

/// Wait for readiness, paste, confirm; record what happened.
pub fn deliver(env: &Env, record: &RunRecord, target: &Target, text: &str) -> Result<RunMeta> {
    let progress = env.ui.progress("waiting for the agent to be ready for the prompt…");
    let waited = Instant::now();
    let ready = wait_ready(env, record, target);
    drop(progress);
    if let Err(why) = ready {
        return not_delivered(env, record, &why, waited.elapsed());
    }
    if record.paths.runner_exit().exists() {
        return not_delivered(env, record, "the agent exited before the prompt could be typed", waited.elapsed());
    }
    tmux::paste(target.server, target.session, text)?;
    std::thread::sleep(ENTER_DELAY);
    tmux::send_keys(target.server, target.session, &["Enter"])?;
    record.event("prompt_sent", json!({ "bytes": text.len() }))?;
    record.update_meta(|m| {
        if let Some(launch) = m.launch.as_mut() {
            launch.prompt_sent_at = Some(time::now_rfc3339());
        }
    })?;
    match confirm(env, record, target, text) {
        Ok(how) => delivered(record, text.len(), how),
        Err(why) => not_delivered(env, record, &why, waited.elapsed()),
    }
}

/// Record that the prompt reached the agent, and how that is known (`argv` and `stdin`: it
/// went with the process).
pub fn delivered(record: &RunRecord, bytes: usize, how: &str) -> Result<RunMeta> {
    record.event("prompt_delivered", json!({ "bytes": bytes, "confirmed_by": how }))?;
    record.update_meta(|m| {
        if let Some(launch) = m.launch.as_mut() {
            launch.prompt_delivered_at = Some(time::now_rfc3339());
        }
    })
}

fn observe(env: &Env, record: &RunRecord, target: &Target, screen: &str) -> Option<Observation> {
    env.plugins().classify(target.plugin, screen, Some(&record.paths.log("plugin"))).ok()
}

/// Until the agent is ready: `Err` with the reason when it exits or the time runs out.
fn wait_ready(env: &Env, record: &RunRecord, target: &Target) -> std::result::Result<(), String> {
    let deadline = Instant::now() + ready_timeout();
    let mut last = String::from("nothing on screen yet");
    // Two ready readings in a row: a screen caught mid-redraw is not ready.
    let mut ready_seen = false;
    while Instant::now() < deadline {
        if record.paths.runner_exit().exists() {
            return Err("the agent exited before it was ready for the prompt".into());
        }
        let screen = tmux::capture_pane(target.server, target.session, 0).map_err(|e| e.message)?;
        let ready = match target.ready {
            ReadyWhen::Text(pattern) => {
                last = format!("waiting for {pattern:?} on screen");
                // The text can also appear inside a dialog: a question is never "ready".
                screen.contains(pattern.as_str())
                    && observe(env, record, target, &screen).is_none_or(|o| o.activity != Activity::NeedsInput)
            }
            ReadyWhen::Idle => match observe(env, record, target, &screen) {
                Some(o) => {
                    last = format!("{} ({})", activity_word(o.activity), o.reason);
                    o.activity == Activity::Idle
                }
                None => false,
            },
        };
        if ready && ready_seen {
            return Ok(());
        }
        ready_seen = ready;
        std::thread::sleep(POLL);
    }
    Err(format!("the agent was not ready within {}; last seen: {last}", humantime::format_duration(ready_timeout())))
}

/// After the paste: the agent left idle, or the text shows on screen.
fn confirm(env: &Env, record: &RunRecord, target: &Target, text: &str) -> std::result::Result<&'static str, String> {
    let first_line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let probe: String = first_line.chars().take(40).collect();
    let deadline = Instant::now() + CONFIRM_WINDOW;
    while Instant::now() < deadline {
        if record.paths.runner_exit().exists() {
            return Err("the agent exited right after the prompt was typed".into());
        }
        let screen = tmux::capture_pane(target.server, target.session, 0).map_err(|e| e.message)?;
        if let Some(o) = observe(env, record, target, &screen)
            && matches!(o.activity, Activity::Working | Activity::NeedsInput | Activity::Error)
        {
            return Ok("activity");
        }
        if !probe.is_empty() && screen.contains(&probe) || screen.contains("[Pasted text") {
            return Ok("text_on_screen");
        }
        std::thread::sleep(POLL);
    }
    Err("the agent showed no sign of the prompt after it was typed".into())
}

fn not_delivered(env: &Env, record: &RunRecord, why: &str, waited: Duration) -> Result<RunMeta> {
    record.event("prompt_not_delivered", json!({ "reason": why, "waited_ms": waited.as_millis() as u64 }))?;
    let name = record.read_meta().map(|m| m.name).unwrap_or_default();
    env.ui.warn(&format!(
        "the prompt was not delivered: {why}. It is saved in {}: answer the agent (agency attach {name}) and paste it there",
        record.paths.prompt().display()
    ));
    record.update_meta(|m| m.flags_mut().raise(Attention::PromptNotDelivered))
}

fn activity_word(activity: Activity) -> &'static str {
    match activity {
        Activity::Starting => "starting",
        Activity::Working => "working",
        Activity::NeedsInput => "needs input",
        Activity::Idle => "idle",
        Activity::Error => "error",
        Activity::Exited => "exited",
        Activity::Unknown => "unknown",
    }
}
