//! Pre-initialisation of an engine component (JavaScript): its `wizer-initialize` export runs
//! once, and its memory and globals afterwards become the component's initial state. Every VU
//! then starts with the JavaScript runtime, its context and the built-in modules already made,
//! mapped copy-on-write from one image instead of built, and kept, once per VU.
//!
//! The result depends only on the engine, so it is made on first use and cached under the
//! hash of the engine.

use std::path::{Path, PathBuf};

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{
    Component, Instance, Lift, Linker, ResourceTable, ResourceType, WasmList,
};
use wasmtime::{Config, Engine, OptLevel, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

/// The store of the one instance that is pre-initialised: WASI (clocks; no files, no
/// network), and every other import traps.
struct InitState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for InitState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Lets wizer read the state of the instance after initialisation.
struct Running<'a> {
    store: &'a mut Store<InitState>,
    instance: Instance,
}

impl Running<'_> {
    async fn call<R: Lift + Send + Sync + 'static>(&mut self, instance: &str, func: &str) -> R {
        let parent = self
            .instance
            .get_export_index(&mut *self.store, None, instance)
            .unwrap_or_else(|| panic!("wizer's accessor instance {instance} is missing"));
        let index = self
            .instance
            .get_export_index(&mut *self.store, Some(&parent), func)
            .unwrap_or_else(|| panic!("wizer's accessor {instance}#{func} is missing"));
        let f = self
            .instance
            .get_typed_func::<(), (R,)>(&mut *self.store, index)
            .expect("wizer's accessors have the types it asks for");
        let (r,) = f
            .call_async(&mut *self.store, ())
            .await
            .expect("wizer's accessors do not trap");
        r
    }
}

impl ComponentInstanceState for Running<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        let list: WasmList<u8> = self.call(instance, func).await;
        contents(list.as_le_slice(&*self.store));
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func).await
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func).await
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call::<f32>(instance, func).await.to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call::<f64>(instance, func).await.to_bits()
    }
}

/// Runs `wizer-initialize` of the component `wasm` and returns the component that starts in
/// the state it left.
pub async fn preinitialize(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let mut wizer = Wizer::new();
    // The component lifts `wizer-initialize` from a core export of the same name: removing the
    // one and not the other would leave the component invalid. Kept, it is harmless (the
    // engine initialises once).
    wizer.keep_init_func(true);
    let (cx, instrumented) = wizer
        .instrument_component(wasm)
        .map_err(|e| format!("cannot prepare the engine for its snapshot: {e:#}"))?;
    // This code runs once: compile it fast rather than well.
    let mut config = Config::new();
    config.cranelift_opt_level(OptLevel::None);
    let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
    let component = Component::new(&engine, &instrumented)
        .map_err(|e| format!("cannot compile the engine for its snapshot: {e:#}"))?;
    let mut linker: Linker<InitState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| format!("{e:#}"))?;
    stub_stampede_imports(&mut linker, &engine, &component).map_err(|e| format!("{e:#}"))?;
    let mut store = Store::new(
        &engine,
        InitState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    let instance = linker
        .instantiate_async(&mut store, &component)
        .await
        .map_err(|e| format!("cannot start the engine for its snapshot: {e:#}"))?;
    let init = instance
        .get_typed_func::<(), ()>(&mut store, wizer.get_init_func())
        .map_err(|e| format!("the engine has no {}: {e:#}", wizer.get_init_func()))?;
    init.call_async(&mut store, ())
        .await
        .map_err(|e| format!("the engine failed to initialise: {e:#}"))?;
    wizer
        .snapshot_component(
            &cx,
            &mut Running {
                store: &mut store,
                instance,
            },
        )
        .await
        .map_err(|e| format!("cannot snapshot the engine: {e:#}"))
}

/// Defines stampede's own imports as functions that trap: initialisation must not reach the
/// host (it runs once, outside any test). (`define_unknown_imports_as_traps` would also shadow
/// WASI's, which the linker matches by semver, with traps.)
fn stub_stampede_imports(
    linker: &mut Linker<InitState>,
    engine: &Engine,
    component: &Component,
) -> wasmtime::Result<()> {
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if !name.starts_with("stampede:") {
            continue;
        }
        let mut stubs = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let what = format!("{name}#{export}");
                    stubs.func_new(export, move |_, _, _, _| {
                        wasmtime::bail!("{what} was called while the engine was pre-initialised")
                    })?;
                }
                ComponentItem::Resource(_) => {
                    stubs.resource(export, ResourceType::host::<()>(), |_, _| Ok(()))?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The pre-initialised form of `wasm`, from `cache` when it was made before (else made and
/// stored there). Without a cache directory it is made every time.
pub fn preinitialized(wasm: &[u8], cache: Option<&Path>) -> Result<Vec<u8>, String> {
    let path = cache.map(|dir| cached_path(dir, wasm));
    if let Some(bytes) = path.as_deref().and_then(|p| std::fs::read(p).ok()) {
        return Ok(bytes);
    }
    // Its own thread and runtime: callers may be inside another runtime, and nothing here
    // waits on I/O.
    let bytes = std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| e.to_string())?
                .block_on(preinitialize(wasm))
        })
        .join()
        .unwrap_or_else(|_| Err("the engine's snapshot panicked".into()))
    })?;
    if let Some(path) = path {
        // A cache that cannot be written only costs time on the next run.
        if let Some(dir) = path.parent() {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::create_dir_all(dir).is_ok() && std::fs::write(&tmp, &bytes).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
    }
    Ok(bytes)
}

/// Where the snapshot of `wasm` is kept.
fn cached_path(dir: &Path, wasm: &[u8]) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"stampede preinit 1, wasmtime-wizer 48, keep-init");
    h.update(wasm);
    let hex: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join(format!("engine-{hex}.wasm"))
}
