//! The wasmtime engine and the on-disk cache of compiled components. One engine per process
//! runs every call, with epoch interruption (a ticker thread advances the epoch every 10 ms
//! from the first call on); it has no compiler: a second engine, configured alike and set up
//! only on a cache miss, compiles. Before anything
//! is compiled, a component's shape is checked (how many linear memories its modules define,
//! how large they start), so one that could never run within the limits is refused as invalid
//! instead of failing later.
//!
//! Compiled code is cached in `${AGENCY_CACHE_DIR}/plugins/<sha256>-<engine hash>.cwasm`,
//! written atomically (temp + rename, never rewritten in place because it is memory-mapped)
//! and loaded with `deserialize_file`. Beside each entry a `.digest` file records the sha256 of
//! the compiled bytes and the file's identity (size, inode, change time): an entry whose
//! identity changed is hashed again, and one whose bytes no longer match is recompiled — a
//! file swapped into the cache under a granted sha256 never runs. What a component declared is
//! kept apart from its compiled code ([`super::kept`]), so a warm load opens neither.

use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wasmtime::component::Component;

use super::sandbox::{MEMORY_COUNT_LIMIT, MEMORY_LIMIT};
use crate::error::{AgencyError, ErrorCode, Result};

pub const EPOCH_TICK: Duration = Duration::from_millis(10);

pub struct Engine {
    /// Runs components. It has no compiler: code comes compiled, from the cache or from
    /// `compiler` (setting cranelift up costs a fresh process more than loading cached code).
    pub engine: wasmtime::Engine,
    /// Compiles components, set up on the first cache miss. Same configuration as `engine`, so
    /// what it writes is what `engine` loads (wasmtime checks the target and CPU features when
    /// loading and refuses code built for another host; that entry is then compiled again).
    compiler: std::sync::OnceLock<std::result::Result<wasmtime::Engine, String>>,
    /// Hex digest of the engine's compatibility hash and agency's version.
    compat: String,
    /// The ticker that interrupts calls past their deadline, started by the first call (or why
    /// it could not be: no call runs without it).
    ticker: std::sync::OnceLock<std::result::Result<(), String>>,
}

/// How a component was obtained, for benchmarks and `plugin add` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    CacheHit,
    Compiled,
}

/// What the `.digest` file beside a cache entry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Digest {
    sha256: String,
    len: u64,
    ino: u64,
    ctime_ns: i128,
}

impl Digest {
    fn of(path: &Path, sha256: String) -> std::io::Result<Digest> {
        let meta = std::fs::metadata(path)?;
        Ok(Digest {
            sha256,
            len: meta.len(),
            ino: meta.ino(),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        })
    }
}

fn config(compiler: bool) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(1 << 20);
    config.enable_compiler(compiler);
    config
}

/// The hex digest that names cache entries made under `parts` (what they depend on).
pub fn cache_key(parts: impl Hash) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

fn engine_error(e: impl std::fmt::Display) -> AgencyError {
    AgencyError::internal(format!("cannot create the WebAssembly engine: {e}"))
}

impl Engine {
    pub fn new() -> Result<Engine> {
        let engine = wasmtime::Engine::new(&config(false)).map_err(engine_error)?;
        // Without a compiler the hash covers the code's settings and wasmtime's version, not
        // the CPU: code from another CPU is refused when loaded, and compiled again.
        let compat = cache_key((
            engine.precompile_compatibility_hash(),
            (std::env::consts::ARCH, std::env::consts::OS),
            env!("CARGO_PKG_VERSION"),
        ));
        Ok(Engine { engine, compiler: std::sync::OnceLock::new(), compat, ticker: std::sync::OnceLock::new() })
    }

    fn compiler(&self) -> Result<&wasmtime::Engine> {
        let compiler = self.compiler.get_or_init(|| wasmtime::Engine::new(&config(true)).map_err(|e| e.to_string()));
        compiler.as_ref().map_err(engine_error)
    }

    /// A store for one call, with the epoch ticking (every call has a deadline: without the
    /// ticker a plugin that never returns would hold the host forever, so no call starts).
    pub fn store<T: 'static>(&self, data: T) -> Result<wasmtime::Store<T>> {
        let ticking = self.ticker.get_or_init(|| {
            let ticker = self.engine.clone();
            let tick = move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    ticker.increment_epoch();
                }
            };
            std::thread::Builder::new().name("epoch-ticker".into()).spawn(tick).map(drop).map_err(|e| e.to_string())
        });
        match ticking {
            Ok(()) => Ok(wasmtime::Store::new(&self.engine, data)),
            Err(e) => Err(AgencyError::new(
                ErrorCode::PluginFailed,
                format!("cannot start the thread that enforces plugin deadlines: {e}"),
            )
            .with_hint("the system is out of threads or memory: close some processes, then run again")),
        }
    }

    fn cache_path(&self, cache_dir: &Path, sha256: &str) -> PathBuf {
        cache_dir.join("plugins").join(format!("{sha256}-{}.cwasm", self.compat))
    }

    /// The component for `bytes` (whose sha256 is given), from the cache or compiled into it.
    pub fn load(&self, bytes: &[u8], sha256: &str, cache_dir: &Path) -> Result<(Component, Loaded)> {
        let path = self.cache_path(cache_dir, sha256);
        let digest_path = path.with_extension("digest");
        if path.is_file() {
            if cache_entry_intact(&path, &digest_path) {
                // SAFETY: the entry's bytes are the ones this engine configuration wrote (the
                // digest above checks them), it is replaced only by rename, never modified in
                // place, and wasmtime validates the header.
                if let Ok(component) = unsafe { Component::deserialize_file(&self.engine, &path) } {
                    return Ok((component, Loaded::CacheHit));
                }
            }
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(&digest_path);
        }
        let compiled = self.compile(bytes)?;
        if crate::store::dirs::ensure_dir(path.parent().unwrap_or(cache_dir)).is_ok()
            && crate::store::atomic::write_atomic(&path, &compiled).is_ok()
            && let Ok(digest) = Digest::of(&path, crate::repo::sha256_hex(&compiled))
            && crate::store::atomic::write_json_atomic(&digest_path, &digest).is_ok()
        {
            // SAFETY: as above; we just wrote this file from `precompile_component`.
            if let Ok(component) = unsafe { Component::deserialize_file(&self.engine, &path) } {
                return Ok((component, Loaded::Compiled));
            }
        }
        // An unwritable cache only costs speed.
        Ok((self.load_compiled(&compiled)?, Loaded::Compiled))
    }

    /// Compile without touching the cache (`agency plugin dev`).
    pub fn load_uncached(&self, bytes: &[u8]) -> Result<Component> {
        self.load_compiled(&self.compile(bytes)?)
    }

    /// Code `compile` just returned, loaded from memory.
    fn load_compiled(&self, compiled: &[u8]) -> Result<Component> {
        // SAFETY: `compiled` came from `precompile_component` of an engine configured like
        // this one, in this process.
        unsafe { Component::deserialize(&self.engine, compiled) }
            .map_err(|e| AgencyError::internal(format!("cannot load freshly compiled plugin: {e}")))
    }

    fn compile(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        check_shape(bytes)?;
        self.compiler()?.precompile_component(bytes).map_err(|e| not_a_component(&format!("{e:#}")))
    }
}

/// The entry's identity is the one recorded, or (after a copy or touch) its bytes still hash
/// to the recorded digest.
fn cache_entry_intact(path: &Path, digest_path: &Path) -> bool {
    let Some(recorded) = crate::store::read_json::<Digest>(digest_path) else { return false };
    match Digest::of(path, recorded.sha256.clone()) {
        Ok(now) if now == recorded => true,
        Ok(_) => std::fs::read(path).is_ok_and(|bytes| crate::repo::sha256_hex(&bytes) == recorded.sha256),
        Err(_) => false,
    }
}

fn not_a_component(detail: &str) -> AgencyError {
    AgencyError::new(ErrorCode::PluginInvalid, format!("not a valid agency plugin component: {detail}"))
        .with_hint("build plugins with `cargo build --release --target wasm32-wasip2` (see docs/plugins.md)")
}

/// A component (not a core module), whose modules together define at most
/// [`MEMORY_COUNT_LIMIT`] linear memories starting within [`MEMORY_LIMIT`].
fn check_shape(bytes: &[u8]) -> Result<()> {
    if !(bytes.len() >= 8 && &bytes[..4] == b"\0asm" && bytes[6..8] == [1, 0]) {
        return Err(not_a_component("the file is not a WebAssembly component (a core module or another format)"));
    }
    let mut memories = 0usize;
    let mut initial_bytes = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| not_a_component(&e.to_string()))?;
        if let wasmparser::Payload::MemorySection(section) = payload {
            for memory in section {
                let memory = memory.map_err(|e| not_a_component(&e.to_string()))?;
                memories += 1;
                let page = 1u64 << memory.page_size_log2.unwrap_or(16);
                initial_bytes = initial_bytes.saturating_add(memory.initial.saturating_mul(page));
            }
        }
    }
    if memories > MEMORY_COUNT_LIMIT {
        return Err(AgencyError::new(
            ErrorCode::PluginInvalid,
            format!("the component defines {memories} linear memories; a plugin may have at most {MEMORY_COUNT_LIMIT}"),
        )
        .with_hint("build the plugin as one component of ordinary modules (see docs/plugins.md, Limits)"));
    }
    if initial_bytes > MEMORY_LIMIT as u64 {
        return Err(AgencyError::new(
            ErrorCode::PluginInvalid,
            format!(
                "the component's memories start at {} MiB together; a plugin may use at most {} MiB",
                initial_bytes >> 20,
                MEMORY_LIMIT >> 20
            ),
        )
        .with_hint("lower the plugin's initial memory (see docs/plugins.md, Limits)"));
    }
    Ok(())
}
