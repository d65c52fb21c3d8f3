//! The wasmtime engine and the on-disk cache of compiled components. One engine per process
//! with epoch interruption (a ticker thread advances the epoch every 10 ms). Compiled code is
//! cached in `${AGENCY_CACHE_DIR}/plugins/<sha256>-<engine hash>.cwasm`, written atomically
//! (temp + rename, never rewritten in place because it is memory-mapped) and loaded with
//! `deserialize_file`; a corrupt or incompatible entry is recompiled, never fatal.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmtime::component::Component;

use crate::error::{AgencyError, ErrorCode, Result};

pub const EPOCH_TICK: Duration = Duration::from_millis(10);

pub struct Engine {
    pub engine: wasmtime::Engine,
    /// Hex digest of the engine's compatibility hash and agency's version.
    compat: String,
}

/// How a component was obtained, for benchmarks and `plugin add` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    CacheHit,
    Compiled,
}

impl Engine {
    pub fn new() -> Result<Engine> {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);
        let engine = wasmtime::Engine::new(&config)
            .map_err(|e| AgencyError::internal(format!("cannot create the WebAssembly engine: {e}")))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        let compat = format!("{:016x}", hasher.finish());
        let ticker = engine.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                ticker.increment_epoch();
            }
        });
        Ok(Engine { engine, compat })
    }

    fn cache_path(&self, cache_dir: &Path, sha256: &str) -> PathBuf {
        cache_dir.join("plugins").join(format!("{sha256}-{}.cwasm", self.compat))
    }

    /// The component for `bytes` (whose sha256 is given), from the cache or compiled into it.
    pub fn load(&self, bytes: &[u8], sha256: &str, cache_dir: &Path) -> Result<(Component, Loaded)> {
        let path = self.cache_path(cache_dir, sha256);
        if path.is_file() {
            // SAFETY: the file is in agency's private cache dir, was written by this engine
            // configuration (the name carries its compatibility hash) and is replaced only by
            // rename, never modified in place; wasmtime also validates the header.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok((component, Loaded::CacheHit)),
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let compiled = self.compile(bytes)?;
        if crate::store::dirs::ensure_dir(path.parent().unwrap_or(cache_dir)).is_ok()
            && crate::store::atomic::write_atomic(&path, &compiled).is_ok()
        {
            // SAFETY: as above; we just wrote this file from `precompile_component`.
            if let Ok(component) = unsafe { Component::deserialize_file(&self.engine, &path) } {
                return Ok((component, Loaded::Compiled));
            }
        }
        // An unwritable cache only costs speed.
        // SAFETY: `compiled` came from this engine's `precompile_component` just now.
        let component = unsafe { Component::deserialize(&self.engine, &compiled) }
            .map_err(|e| AgencyError::internal(format!("cannot load freshly compiled plugin: {e}")))?;
        Ok((component, Loaded::Compiled))
    }

    /// Compile without touching the cache (`agency plugin dev`).
    pub fn load_uncached(&self, bytes: &[u8]) -> Result<Component> {
        Component::new(&self.engine, bytes).map_err(|e| not_a_component(&e.to_string()))
    }

    fn compile(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        if !wasmparser_is_component(bytes) {
            return Err(not_a_component("the file is not a WebAssembly component (a core module or another format)"));
        }
        self.engine.precompile_component(bytes).map_err(|e| not_a_component(&format!("{e:#}")))
    }
}

fn not_a_component(detail: &str) -> AgencyError {
    AgencyError::new(ErrorCode::PluginInvalid, format!("not a valid agency plugin component: {detail}"))
        .with_hint("build plugins with `cargo build --release --target wasm32-wasip2` (see docs/plugins.md)")
}

/// A component starts with `\0asm` and a version/layer word whose layer is 1.
fn wasmparser_is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && &bytes[..4] == b"\0asm" && bytes[6..8] == [1, 0]
}
