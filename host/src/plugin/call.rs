//! One export call: a fresh store with the sandbox state, the memory limiter, and one
//! wall-clock deadline enforced by epoch interruption — host functions included, so a plugin
//! looping on `host.exec` or `host.log` runs out of time like one looping on its own. Every
//! way a call can fail becomes one `E_PLUGIN_*` error naming the plugin, the export and where
//! its output went; a plugin's own words (its error text, its hint) are labelled as its own.

use std::time::Duration;

use wasmtime::{Store, Trap, UpdateDeadline};

use super::api::PluginError;
use super::checker::{Denial, DenialKind};
use super::engine::{self, Engine};
use super::sandbox::{self, CallSetup, State};
use crate::error::{AgencyError, ErrorCode, Result};
use crate::safe_text;

/// Run `body` against a fresh store built from `setup`.
pub fn call<T>(
    engine: &Engine,
    export: &str,
    setup: CallSetup,
    body: impl FnOnce(&mut Store<State>) -> wasmtime::Result<T>,
) -> Result<T> {
    let plugin_id = setup.plugin_id.clone();
    let log = setup.plugin_log.clone();
    let hint = log_hint(&setup);
    let state = State::new(setup).map_err(|e| {
        AgencyError::new(ErrorCode::PluginFailed, format!("cannot set up the sandbox of plugin `{plugin_id}`: {e:#}"))
            .with_hint("agency show <ref>   # a directory the plugin was granted may have been removed meanwhile")
    })?;
    let mut store = engine.store(state)?;
    store.limiter(|state| state.limiter());
    let ticks = |left: Duration| (left.as_millis() / engine::EPOCH_TICK.as_millis()) as u64 + 1;
    store.set_epoch_deadline(ticks(store.data().setup.deadline));
    store.epoch_deadline_callback(move |mut ctx| {
        let state = ctx.data_mut();
        let left = state.remaining();
        if left.is_zero() {
            state.timed_out = true;
            return Ok(UpdateDeadline::Interrupt);
        }
        Ok(UpdateDeadline::Continue(ticks(left)))
    });
    let result = body(&mut store);
    let state = store.data();
    let stderr = state.flush_output();
    match result {
        Ok(value) => match state.denials.first() {
            None => Ok(value),
            Some(denial) => Err(denied(&plugin_id, denial, &hint)),
        },
        Err(err) => {
            Err(failure(&plugin_id, export, state, &err, &stderr, &hint).with_detail("plugin_log", log.display()))
        }
    }
}

fn log_hint(setup: &CallSetup) -> String {
    match &setup.run_name {
        Some(name) => format!("agency logs {name} plugin   # shows what the plugin printed and logged"),
        None => format!("the plugin's output is in {}", setup.plugin_log.display()),
    }
}

/// The one wording of a refused request: `E_PLUGIN_DENIED` with the fixing command when a
/// grant fixes it, else who has to change what.
pub fn denied(plugin_id: &str, denial: &Denial, context: &str) -> AgencyError {
    let hint = match denial.kind {
        DenialKind::NotGranted => format!("agency plugin trust {plugin_id}   # grants what it declares; {context}"),
        DenialKind::NotDeclared => {
            format!("plugin `{plugin_id}` does not declare this capability; its author must add it to info ({context})")
        }
        DenialKind::Forbidden | DenialKind::Invalid => {
            format!("no grant allows this (docs/security.md); report it to the author of `{plugin_id}` ({context})")
        }
        DenialKind::NotFound => format!("install the program or fix PATH, then run again ({context})"),
    };
    AgencyError::new(
        ErrorCode::PluginDenied,
        format!("plugin `{plugin_id}` was denied {}: {}", denial.asked, denial.reason),
    )
    .with_hint(hint)
}

/// An error the plugin returned: its message and hint are shown as the plugin's words.
pub fn returned_error(plugin_id: &str, export: &str, e: PluginError, context: &str) -> AgencyError {
    let code = match e.kind {
        super::api::ErrorKind::Denied => ErrorCode::PluginDenied,
        _ => ErrorCode::PluginFailed,
    };
    let message = safe_text::one_line(&e.message, 500);
    let mut err = AgencyError::new(code, format!("plugin `{plugin_id}` failed in `{export}`: {message}"));
    if let Some(hint) = e.hint {
        err = err.with_detail("plugin_says", safe_text::one_line(&hint, 500));
    }
    err.with_hint(context.to_string())
}

fn failure(
    plugin_id: &str,
    export: &str,
    state: &State,
    err: &wasmtime::Error,
    stderr: &str,
    hint: &str,
) -> AgencyError {
    if state.timed_out {
        return AgencyError::new(
            ErrorCode::PluginTimeout,
            format!(
                "plugin `{plugin_id}` did not return from `{export}` within {} (host calls included)",
                humantime::format_duration(state.setup.deadline)
            ),
        )
        .with_hint(hint);
    }
    if state.memory_limit_hit() {
        return AgencyError::new(
            ErrorCode::PluginMemory,
            format!(
                "plugin `{plugin_id}` exceeded its memory limit of {} MiB in `{export}`",
                sandbox::MEMORY_LIMIT >> 20
            ),
        )
        .with_hint(hint);
    }
    let Some(trap) = err.downcast_ref::<Trap>() else {
        // Not a trap in the guest: the call itself could not be made as the API says (a
        // changed signature, a resource the instance may not have).
        let what = safe_text::one_line(&format!("{err:#}"), 300);
        return AgencyError::new(
            ErrorCode::PluginInvalid,
            format!("plugin `{plugin_id}` cannot be called as `{export}`: {what}"),
        )
        .with_hint("agency plugin test <file.wasm>   # the conformance kit says what does not match the API");
    };
    let what = match trap {
        Trap::MemoryOutOfBounds => format!("{trap} (usually a stack overflow from deep recursion)"),
        Trap::StackOverflow => format!("{trap} (stack overflow)"),
        other => other.to_string(),
    };
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let panic = safe_text::one_line(&lines[lines.len().saturating_sub(3)..].join(" | "), 600);
    let message = match panic.is_empty() {
        true => format!("plugin `{plugin_id}` trapped in `{export}`: {what}"),
        false => format!("plugin `{plugin_id}` trapped in `{export}`: {what}; stderr: {panic}"),
    };
    AgencyError::new(ErrorCode::PluginTrap, message).with_hint(hint)
}
