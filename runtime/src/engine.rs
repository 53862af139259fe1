//! The wasmtime side: the engine, the compiled script, and the linker with its imports.
//!
//! The component is compiled once. A first engine without pooling reads the script's options
//! (which decide how many VUs there will be); the engine that runs the test then gets a pooling
//! allocator sized for exactly that many VUs, and the already compiled code.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use stampede_host_api::{Script, ScriptPre};
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, WasmBacktraceDetails,
};

use crate::vu::VuState;

/// How often the epoch advances: a CPU-bound guest yields to other VUs at least this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits that shape the compiled code and the VU pool.
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// Largest linear memory of a VU, in bytes.
    pub memory_limit: u64,
    /// VUs that may exist at once (the pool's size); `None` allocates on demand.
    pub pool_size: Option<u32>,
    /// The script is an engine component (JavaScript), whose interpreter recurses on the wasm
    /// stack with each call of the script's: its VUs get [`ENGINE_WASM_STACK`].
    pub engine_script: bool,
}

/// Why a script could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not a WebAssembly component (or not valid).
    #[error("{0}")]
    Invalid(String),
    /// A component, but not of the `stampede:script` world.
    #[error("{0}")]
    WrongWorld(String),
    /// The engine could not be set up (e.g. not enough address space for the pool).
    #[error("{0}")]
    Engine(String),
}

/// The host stack of a VU's call into wasm (a fiber's): wasmtime's largest wasm stack
/// (512 KiB) plus room for the deepest host call made from it.
pub const ASYNC_STACK_SIZE: usize = 1 << 20;

/// The wasm stack of an engine script's VU: QuickJS takes about 900 bytes of it for each call
/// of the script's, so 6 MiB lets a script recurse about 7,000 deep (512 KiB: 590). The
/// interpreter's own stack in linear memory (2 MiB, about 350 bytes a call) ends first: past
/// it the iteration fails with an out-of-bounds access, which stampede explains. Only pages
/// that a deep recursion touches cost memory.
pub const ENGINE_WASM_STACK: usize = 6 << 20;

/// Room on a fiber for host calls, above the wasm stack.
const HOST_STACK: usize = ASYNC_STACK_SIZE - (512 << 10);

fn config(limits: &EngineLimits) -> Config {
    let mut c = Config::new();
    c.epoch_interruption(true);
    c.wasm_backtrace_details(WasmBacktraceDetails::Enable);
    c.memory_reservation(limits.memory_limit);
    c.memory_guard_size(64 << 10);
    c.memory_reservation_for_growth(0);
    if limits.engine_script {
        c.max_wasm_stack(ENGINE_WASM_STACK);
        c.async_stack_size(ENGINE_WASM_STACK + HOST_STACK);
    } else {
        c.async_stack_size(ASYNC_STACK_SIZE);
    }
    if let Some(n) = limits.pool_size {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(n)
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .total_stacks(n)
            .total_core_instances(n.saturating_mul(16))
            .max_memory_size(limits.memory_limit as usize)
            .max_memories_per_component(4)
            .max_tables_per_component(16)
            .max_core_instances_per_component(32)
            .max_unused_warm_slots(n.min(256));
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    c
}

/// Advances an engine's epoch every [`EPOCH_TICK`] until dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("stampede-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A compiled script, ready to be instantiated once per VU.
pub struct ScriptEngine {
    engine: Engine,
    component: Component,
    pre: ScriptPre<VuState>,
    limits: EngineLimits,
    _ticker: EpochTicker,
}

impl ScriptEngine {
    /// Compiles `wasm` (a component binary) with `limits`.
    pub fn compile(wasm: &[u8], limits: EngineLimits) -> Result<Self, LoadError> {
        Self::compile_cached(wasm, limits, None)
    }

    /// Like [`compile`](Self::compile), keeping the compiled code in `cache` (a directory):
    /// the next run of the same component with the same settings loads it in milliseconds.
    pub fn compile_cached(
        wasm: &[u8],
        limits: EngineLimits,
        cache: Option<&Path>,
    ) -> Result<Self, LoadError> {
        let engine =
            Engine::new(&config(&limits)).map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let cached = cache.map(|dir| dir.join(format!("{}.cwasm", cache_key(wasm, &limits))));
        if let Some(path) = cached.as_deref().filter(|p| p.is_file()) {
            // SAFETY: the file was written by `serialize` below, in stampede's own cache; wasmtime
            // checks that it was made by this version with a compatible configuration, and
            // anything else is an error we recover from by compiling again.
            if let Ok(component) = unsafe { Component::deserialize_file(&engine, path) } {
                mark_used(path);
                return Self::link(engine, component, limits);
            }
        }
        let component = Component::new(&engine, wasm).map_err(|e| describe_invalid(wasm, e))?;
        if let Some(path) = cached {
            // A cache that cannot be written only costs time on the next run.
            if let Ok(bytes) = component.serialize() {
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                let dir = path.parent().unwrap_or(Path::new("."));
                if std::fs::create_dir_all(dir).is_ok()
                    && std::fs::write(&tmp, bytes).is_ok()
                    && std::fs::rename(&tmp, &path).is_ok()
                {
                    prune_cache(dir, CACHE_BUDGET, &path);
                }
            }
        }
        Self::link(engine, component, limits)
    }

    /// The same script on an engine with other limits (a pool sized for the test), reusing
    /// the compiled code.
    pub fn with_limits(&self, limits: EngineLimits) -> Result<Self, LoadError> {
        let engine =
            Engine::new(&config(&limits)).map_err(|e| LoadError::Engine(pool_error(&limits, e)))?;
        let bytes = self.component.serialize().map_err(|e| {
            LoadError::Engine(format!("could not reuse the compiled script: {e:#}"))
        })?;
        // SAFETY: the bytes were produced just now by `serialize` on a compatible engine.
        let component = unsafe { Component::deserialize(&engine, &bytes) }.map_err(|e| {
            LoadError::Engine(format!("could not reuse the compiled script: {e:#}"))
        })?;
        Self::link(engine, component, limits)
    }

    fn link(engine: Engine, component: Component, limits: EngineLimits) -> Result<Self, LoadError> {
        let mut linker: Linker<VuState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        stampede_host_api::add_to_linker(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        stampede_host_api::modules::add_to_linker(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        stampede_host_api::execution::add_to_linker(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        stampede_host_api::async_http::add_to_linker(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        stampede_host_api::memory::add_to_linker(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;

        let instance_pre = linker.instantiate_pre(&component).map_err(|e| {
            LoadError::WrongWorld(format!(
                "the component cannot run as a stampede script: {e:#} \
                 (scripts target the world stampede:script/script@0.3.0; see host-api/wit/script.wit)"
            ))
        })?;
        let pre = ScriptPre::new(instance_pre).map_err(|e| {
            LoadError::WrongWorld(format!(
                "the component does not export what a stampede script must (options, entry-points, setup, \
                 iteration, teardown of stampede:script/script@0.3.0): {e:#}"
            ))
        })?;
        let ticker = EpochTicker::start(engine.clone());
        Ok(Self {
            engine,
            component,
            pre,
            limits,
            _ticker: ticker,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The pre-instantiated script.
    pub fn pre(&self) -> &ScriptPre<VuState> {
        &self.pre
    }

    /// The limits it was built with.
    pub fn limits(&self) -> EngineLimits {
        self.limits
    }
}

/// The most compiled code the cache keeps, in bytes: past it, the least recently used entries
/// go (a JavaScript or Python script compiles to about 50 MB).
pub const CACHE_BUDGET: u64 = 1 << 30;

/// Notes that a cache entry was used, so that pruning keeps it.
fn mark_used(path: &Path) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Removes the least recently used compiled scripts (`*.cwasm`) from `dir` until they take at
/// most `budget` bytes, never `keep` (the one just written).
pub fn prune_cache(dir: &Path, budget: u64, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let path = e.path();
            if path.extension()? != "cwasm" {
                return None;
            }
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), path))
        })
        .collect();
    let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
    entries.sort_by_key(|(used, _, _)| *used);
    for (_, len, path) in entries {
        if total <= budget {
            break;
        }
        if path != keep && std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// The name of a component's compiled form in the cache: the hash of the component and of
/// what else shapes the compiled code (stampede's version, the memory reservation).
pub fn cache_key(wasm: &[u8], limits: &EngineLimits) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(wasm);
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(limits.memory_limit.to_le_bytes());
    let digest = h.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    // wasmtime itself refuses code compiled by another version or configuration; such an
    // entry is then compiled again and replaced.
    hex
}

/// Makes a loading error say what the file is, and what was expected.
fn describe_invalid(wasm: &[u8], e: wasmtime::Error) -> LoadError {
    const MAGIC: &[u8] = b"\0asm";
    let what = if wasm.len() < 8 || &wasm[..4] != MAGIC {
        "it is not a WebAssembly binary (no `\\0asm` header)".to_string()
    } else if wasm[4..8] == [1, 0, 0, 0] {
        "it is a core WebAssembly module, not a component: build the script for wasm32-wasip2 \
         (or run `wasm-tools component new`)"
            .to_string()
    } else {
        format!("it is not a valid WebAssembly component: {e:#}")
    };
    LoadError::Invalid(what)
}

fn pool_error(limits: &EngineLimits, e: wasmtime::Error) -> String {
    let n = limits.pool_size.unwrap_or(0);
    format!(
        "could not reserve memory for {n} VUs of up to {} MiB each: {e:#}. Lower the number of VUs or \
         the VU memory limit (--vu-memory-limit), or allow more address space (ulimit -v unlimited)",
        limits.memory_limit >> 20
    )
}

/// Only the bindings' `Script` type is needed outside; re-exported for the VU module.
pub(crate) type Instance = Script;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn the_cache_keeps_the_most_recently_used_within_its_budget() {
        let dir = std::env::temp_dir().join(format!("stampede-prune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let now = SystemTime::now();
        let entry = |name: &str, age_s: u64| {
            let path = dir.join(name);
            std::fs::write(&path, [0u8; 100]).unwrap();
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(now - Duration::from_secs(age_s)).unwrap();
            path
        };
        let oldest = entry("a.cwasm", 300);
        let old = entry("b.cwasm", 200);
        let recent = entry("c.cwasm", 100);
        let kept = entry("d.cwasm", 400); // just written, but with an old time
        let other = entry("toolchain.txt", 500);
        prune_cache(&dir, 250, &kept);
        assert!(
            !oldest.exists() && !old.exists(),
            "the least recently used go first"
        );
        assert!(
            recent.exists() && kept.exists(),
            "within budget: 200 of 250 bytes"
        );
        assert!(other.exists(), "only compiled scripts are pruned");

        mark_used(&kept);
        let used = std::fs::metadata(&kept).unwrap().modified().unwrap();
        assert!(used > now - Duration::from_secs(10));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
