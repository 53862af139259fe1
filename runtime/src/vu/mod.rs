//! Virtual users: one instance of the script each, in a store of its own, with its own HTTP
//! connections and sample recorder.

mod control;
mod hooks;
mod output;
mod summary;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use stampede_host_api::async_http::{AsyncHttpCtxView, AsyncHttpView, InFlight};
use stampede_host_api::execution::{ExecutionHooks, ExecutionView};
use stampede_host_api::http::{HttpClient, VuClient};
use stampede_host_api::memory::MemoryView;
use stampede_host_api::modules::{ModulesView, ScriptFiles};
use stampede_host_api::wasi_http::Bridge;
use stampede_host_api::{
    RequestMeta, RequestThrown, ScriptCtxView, ScriptView, TestAborted, VuHooks,
};
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub use control::{Control, Stop};
pub use hooks::Hooks;

use crate::engine::{Instance, ScriptEngine};
use crate::executor::{ExecVu, IterationStart, ScenarioShared, VuIds};
use crate::log::Level;
use crate::log::Logger;
use crate::metrics::Metrics;

/// What every VU of a test shares.
pub struct TestContext {
    /// The metrics.
    pub metrics: Metrics,
    /// The HTTP settings and shared state.
    pub http: HttpClient,
    /// Variables from `-e`.
    pub env: BTreeMap<String, String>,
    /// Tags on every sample.
    pub tags: Vec<(String, String)>,
    /// The log.
    pub log: Logger,
    /// Stopping and failing the test.
    pub control: Control,
    /// The script's files, when an engine component runs it (JavaScript).
    pub files: Option<Arc<ScriptFiles>>,
    /// What `k6/execution` reads of the test as a whole.
    pub execution: ExecutionState,
    /// The script's entry points, in its order (`iteration` takes an index into them).
    pub entry_points: Arc<[String]>,
}

/// The test's state that `k6/execution` shows (JavaScript).
#[derive(Debug, Default)]
pub struct ExecutionState {
    /// The merged options, as JSON.
    pub options: Arc<str>,
    /// The scenarios started so far.
    pub scenarios: std::sync::Mutex<Vec<Arc<ScenarioShared>>>,
    /// VUs made for the scenarios (not the VU of setup and teardown).
    pub vus_initialized: std::sync::atomic::AtomicU64,
}

/// A VU's store data.
pub struct VuState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: VuClient,
    hooks: Hooks,
    limits: StoreLimits,
    wasi_http: WasiHttpCtx,
    bridge: Bridge,
    files: Option<Arc<ScriptFiles>>,
    /// Requests the script started with `http.asyncRequest` and has not collected.
    in_flight: InFlight,
    /// Whether the instance has settled its memory (`memory.settle`).
    memory_settled: bool,
}

impl ExecutionView for VuState {
    fn execution(&mut self) -> &mut dyn ExecutionHooks {
        &mut self.hooks
    }
}

impl MemoryView for VuState {
    fn memory_settled(&mut self) -> &mut bool {
        &mut self.memory_settled
    }
}

impl ModulesView for VuState {
    fn modules(&mut self) -> Option<&ScriptFiles> {
        self.files.as_deref()
    }
}

impl WasiHttpView for VuState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.wasi_http,
            table: &mut self.table,
            hooks: &mut self.bridge,
        }
    }
}

impl VuState {
    /// Records the exchanges `wasi:http` requests made since the last call.
    fn record_wasi_http(&mut self) {
        for done in self.http.outbox().drain() {
            let meta = RequestMeta {
                name: done.name.as_deref(),
                tags: &done.tags,
                response_callback: self.http.response_callback(),
            };
            self.hooks.on_request(&meta, &done.exchange);
        }
    }
}

impl AsyncHttpView for VuState {
    fn async_http(&mut self) -> AsyncHttpCtxView<'_> {
        AsyncHttpCtxView {
            script: ScriptCtxView {
                http: &mut self.http,
                hooks: &mut self.hooks,
                table: &mut self.table,
            },
            in_flight: &mut self.in_flight,
        }
    }
}

impl ScriptView for VuState {
    fn script(&mut self) -> ScriptCtxView<'_> {
        ScriptCtxView {
            http: &mut self.http,
            hooks: &mut self.hooks,
            table: &mut self.table,
        }
    }
}

impl WasiView for VuState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// How an export call ended.
#[derive(Debug)]
pub enum CallError {
    /// The script returned an error.
    Script(String),
    /// The script trapped (panic, `unreachable`, out of memory, stack overflow…); the instance
    /// is gone and the VU will be re-made before its next call.
    Trap(String),
    /// The script called `abort-test`.
    Aborted(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Script(e) => f.write_str(e),
            CallError::Trap(e) => f.write_str(e),
            CallError::Aborted(r) => write!(f, "the script aborted the test: {r}"),
        }
    }
}

/// One virtual user.
pub struct Vu {
    id: u32,
    engine: Arc<ScriptEngine>,
    ctx: Arc<TestContext>,
    /// Always present, except for the moment `reset` swaps it.
    store: Option<Store<VuState>>,
    instance: Option<Instance>,
    /// The same instance, for exports beyond the `script` world's (`handle-summary`).
    raw: Option<wasmtime::component::Instance>,
}

impl Vu {
    /// Creates VU `id` (1-based; 0 for the VU that runs options, setup and teardown).
    pub async fn new(
        engine: Arc<ScriptEngine>,
        ctx: Arc<TestContext>,
        id: u32,
    ) -> Result<Vu, String> {
        Vu::with_ids(
            engine,
            ctx,
            VuIds {
                in_instance: id,
                in_test: id,
            },
        )
        .await
    }

    /// Creates a VU numbered `ids` in this instance and in the whole test.
    pub async fn with_ids(
        engine: Arc<ScriptEngine>,
        ctx: Arc<TestContext>,
        ids: VuIds,
    ) -> Result<Vu, String> {
        let id = ids.in_instance;
        let hooks = Hooks::new(ctx.clone(), id, ids.in_test);
        // k6's VU n (from 1) sends from the nth of `localIPs`; the VU of setup and teardown
        // (0) from the first.
        let http = ctx.http.vu_at(u64::from(ids.in_test.saturating_sub(1)));
        let store = new_store(&engine, &ctx, hooks, http);
        let mut vu = Vu {
            id,
            engine,
            ctx,
            store: Some(store),
            instance: None,
            raw: None,
        };
        vu.instantiate().await?;
        Ok(vu)
    }

    /// The VU's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    fn store_mut(&mut self) -> &mut Store<VuState> {
        self.store.as_mut().expect("a VU always has a store")
    }

    /// The VU's hooks (execution state and recorder).
    pub fn hooks(&mut self) -> &mut Hooks {
        &mut self.store_mut().data_mut().hooks
    }

    async fn instantiate(&mut self) -> Result<(), String> {
        let store = self.store.as_mut().expect("a VU always has a store");
        let raw = self
            .engine
            .pre()
            .instance_pre()
            .instantiate_async(&mut *store)
            .await
            .map_err(|e| instantiation_error(self.id, e))?;
        let instance =
            Instance::new(&mut *store, &raw).map_err(|e| instantiation_error(self.id, e))?;
        self.instance = Some(instance);
        self.raw = Some(raw);
        Ok(())
    }

    /// Throws the instance away and makes a fresh one, keeping the VU's counters, recorder
    /// and idle connections. Needed after a trap, or after a call was interrupted.
    pub async fn reset(&mut self) -> Result<(), String> {
        self.instance = None;
        let state = self
            .store
            .take()
            .expect("a VU always has a store")
            .into_data();
        self.store = Some(new_store(&self.engine, &self.ctx, state.hooks, state.http));
        self.instantiate().await
    }

    /// Whether the VU has a live instance.
    pub fn is_ready(&self) -> bool {
        self.instance.is_some()
    }

    async fn ensure_instance(&mut self) -> Result<(), CallError> {
        if self.instance.is_none() {
            // Boxed: instantiation's future is large and rarely needed (after a trap or an
            // interrupted call); inline, it would enlarge every VU's task by its size.
            Box::pin(self.reset()).await.map_err(CallError::Trap)?;
        }
        Ok(())
    }

    fn classify(&mut self, err: wasmtime::Error) -> CallError {
        self.instance = None;
        if let Some(aborted) = err.downcast_ref::<TestAborted>() {
            return CallError::Aborted(aborted.0.clone());
        }
        if let Some(thrown) = err.downcast_ref::<RequestThrown>() {
            return CallError::Script(thrown.to_string());
        }
        CallError::Trap(describe_trap(&err))
    }

    /// Calls `options()`, the script's first call: a script that cannot load (the JavaScript
    /// engine, on a syntax error or a missing module) logs why and traps, and its trap then
    /// says no more than that.
    pub async fn options(&mut self) -> Result<String, CallError> {
        self.ensure_instance().await?;
        self.store_mut().data_mut().hooks.take_logged_error();
        let res = self
            .instance
            .as_ref()
            .expect("instantiated")
            .call_options(self.store.as_mut().expect("a VU always has a store"))
            .await;
        let said_why = self
            .store
            .as_mut()
            .is_some_and(|s| s.data_mut().hooks.take_logged_error());
        res.map_err(|e| match self.classify(e) {
            CallError::Trap(_) if said_why => {
                CallError::Trap("the script stopped on the error above".into())
            }
            other => other,
        })
    }

    /// Calls `entry-points()`.
    pub async fn entry_points(&mut self) -> Result<Vec<String>, CallError> {
        self.ensure_instance().await?;
        let res = self
            .instance
            .as_ref()
            .expect("instantiated")
            .call_entry_points(self.store.as_mut().expect("a VU always has a store"))
            .await;
        res.map_err(|e| self.classify(e))
    }

    /// Calls `setup()`.
    pub async fn setup(&mut self) -> Result<Vec<u8>, CallError> {
        self.ensure_instance().await?;
        let res = self
            .instance
            .as_ref()
            .expect("instantiated")
            .call_setup(self.store.as_mut().expect("a VU always has a store"))
            .await;
        self.finish_call();
        match res {
            Ok(Ok(data)) => Ok(data),
            Ok(Err(e)) => Err(CallError::Script(e)),
            Err(e) => Err(self.classify(e)),
        }
    }

    /// Calls `teardown(data)`.
    pub async fn teardown(&mut self, data: &[u8]) -> Result<(), CallError> {
        self.ensure_instance().await?;
        let res = self
            .instance
            .as_ref()
            .expect("instantiated")
            .call_teardown(self.store.as_mut().expect("a VU always has a store"), data)
            .await;
        self.finish_call();
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CallError::Script(e)),
            Err(e) => Err(self.classify(e)),
        }
    }

    /// Runs one iteration of `exec` with `data` (what `setup` returned) and records it. The
    /// caller has set the scenario with [`Hooks::enter_scenario`].
    pub async fn run_iteration(&mut self, exec: &str, data: &Arc<[u8]>) -> Result<(), CallError> {
        let started = Instant::now();
        let entry = self.entry_index(exec)?;
        self.ensure_instance().await?;
        let state = self.store_mut().data_mut();
        state.hooks.set_setup_data(data);
        state.hooks.begin_iteration();
        // As in k6, every iteration starts with an empty cookie jar, unless `noCookiesReset`.
        if !state.http.config().k6.no_cookies_reset {
            state.http.reset_cookies();
        }
        let res = self
            .instance
            .as_ref()
            .expect("instantiated")
            .call_iteration(self.store.as_mut().expect("a VU always has a store"), entry)
            .await;
        self.finish_call();
        let outcome = match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(CallError::Script(e)),
            Err(e) => Err(self.classify(e)),
        };
        let state = self.store_mut().data_mut();
        state
            .hooks
            .end_iteration(started.elapsed(), outcome.is_err());
        if state.http.config().k6.no_vu_connection_reuse {
            // k6's `noVUConnectionReuse`: the next iteration connects anew.
            state.http.close_idle();
        }
        outcome
    }

    /// The index of the entry point `exec` in the script's list (plans only name those).
    fn entry_index(&self, exec: &str) -> Result<u32, CallError> {
        self.ctx
            .entry_points
            .iter()
            .position(|e| e == exec)
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| {
                CallError::Script(format!("the script has no entry point named `{exec}`"))
            })
    }

    /// Records the asynchronous requests that completed and cancels those still in flight (as
    /// k6 cancels them when the call ends), leaves any groups the call did not close, and hands
    /// pending samples over.
    fn finish_call(&mut self) {
        let state = self.store_mut().data_mut();
        state.async_http().finish();
        state.record_wasi_http();
        state.hooks.close_groups();
        state.hooks.flush();
    }

    /// Records that an iteration was cut short (by the end of the test) and drops the
    /// instance, whose state is now unknown.
    pub fn interrupted(&mut self) {
        self.instance = None;
        let state = self.store_mut().data_mut();
        state.async_http().finish();
        state.record_wasi_http();
        state.hooks.close_groups();
        state.hooks.flush();
    }

    /// Hands pending samples over.
    pub fn flush(&mut self) {
        self.store_mut().data_mut().hooks.flush();
    }
}

fn new_store(
    engine: &ScriptEngine,
    ctx: &Arc<TestContext>,
    hooks: Hooks,
    http: VuClient,
) -> Store<VuState> {
    let id = hooks.vu_id();
    let wasi = WasiCtxBuilder::new()
        .stdout(output::GuestOutput::new(
            ctx.log.console().clone(),
            id,
            "stdout",
        ))
        .stderr(output::GuestOutput::new(
            ctx.log.console().clone(),
            id,
            "stderr",
        ))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let limits = StoreLimitsBuilder::new()
        .memory_size(engine.limits().memory_limit as usize)
        .build();
    let bridge = Bridge::new(http.clone());
    let mut store = Store::new(
        engine.engine(),
        VuState {
            wasi,
            table: ResourceTable::new(),
            http,
            hooks,
            limits,
            wasi_http: WasiHttpCtx::new(),
            bridge,
            files: ctx.files.clone(),
            in_flight: InFlight::default(),
            memory_settled: false,
        },
    );
    store.limiter(|s| &mut s.limits);
    // Every tick, a guest that is still running yields to the scheduler: a CPU-bound script
    // cannot starve the other VUs, and an interrupted call is noticed promptly. Through
    // tokio's `yield_now`, so that the thread also polls its sockets before the guest goes
    // on: a plain wake-up would keep the VU runnable, and a VU thread reads its sockets' events
    // only when idle or every 61 polls (610 ms of a spinning guest), holding up the VU's
    // requests in flight (`http.asyncRequest`) and the other VUs' responses.
    //
    // A tick that passed while the VU waited in a host call (a request, a sleep) is not a
    // tick of running: the thread served the others meanwhile. Such a VU goes on, for one
    // more tick, without the yield — a reschedule per tick that fell between its requests.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut cx| {
        if cx.data_mut().hooks.take_parked() {
            return Ok(UpdateDeadline::Continue(1));
        }
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(tokio::task::yield_now()),
        ))
    });
    store
}

fn instantiation_error(id: u32, e: wasmtime::Error) -> String {
    let text = format!("{e:#}");
    if text.contains("maximum concurrent") || text.contains("pooling") {
        format!("could not create VU {id}: the VU pool is full ({text})")
    } else {
        format!("could not create VU {id}: {}", describe_trap(&e))
    }
}

/// A trap's message and the guest's backtrace, when the component carries names.
pub fn describe_trap(e: &wasmtime::Error) -> String {
    // What happened first, in words; then where, as the guest's backtrace (with file and
    // line when the component carries debug info).
    let reason = match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::StackOverflow) => "stack overflow (the script recursed too deep)".to_string(),
        Some(wasmtime::Trap::UnreachableCodeReached) => {
            "the script trapped (`unreachable`: a panic, an abort or an out-of-memory in the script)".to_string()
        }
        Some(wasmtime::Trap::Interrupt) => "the script was interrupted".to_string(),
        Some(wasmtime::Trap::MemoryOutOfBounds) => {
            "the script accessed memory out of bounds (a recursion too deep for the script's own stack does \
             this)"
                .to_string()
        }
        Some(trap) => format!("the script trapped: {trap}"),
        None => format!("{:#}", e.root_cause()),
    };
    let mut msg = reason;
    if let Some(bt) = e.downcast_ref::<wasmtime::WasmBacktrace>() {
        let frames = bt.to_string();
        let frames = frames.trim_end();
        if !frames.is_empty() {
            msg.push('\n');
            msg.push_str(frames);
        }
    }
    msg
}

impl ExecVu for Vu {
    fn id(&self) -> u32 {
        self.id
    }

    fn enter_scenario(&mut self, scenario: &ScenarioShared) {
        scenario
            .started
            .get_or_init(|| (std::time::SystemTime::now(), Instant::now()));
        self.hooks()
            .enter_scenario(&scenario.name, &scenario.tags, &scenario.env);
    }

    async fn iteration<'a>(
        &'a mut self,
        exec: &'a str,
        data: &'a Arc<[u8]>,
        start: IterationStart,
    ) {
        self.hooks()
            .set_scenario_iteration(start.in_instance, start.in_test);
        if let Some(at) = start.scheduled {
            self.hooks().record_schedule(at.into_std());
        }
        match self.run_iteration(exec, data).await {
            Ok(()) | Err(CallError::Aborted(_)) => {}
            Err(e) => {
                let kind = if matches!(e, CallError::Trap(_)) {
                    "trap"
                } else {
                    "error"
                };
                let vu = self.id.to_string();
                self.ctx.log.limited(
                    "iteration",
                    Level::Error,
                    &format!("iteration failed: {e}"),
                    &[("source", kind), ("vu", &vu), ("exec", exec)],
                );
            }
        }
    }

    fn interrupted(&mut self) {
        Vu::interrupted(self);
    }
}
