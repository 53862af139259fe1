//! The lifecycle of a test: the VUs, `setup()`, the scenarios (with the watcher that samples
//! `vus` and evaluates thresholds live), `teardown()`, and signals.
//!
//! [`Lifecycle`] can run scenarios more than once between setup and teardown: a command that
//! makes its own scenarios (a capacity search, step after step) calls
//! [`Lifecycle::run_scenarios`] for each, reading the metrics in between.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_host_api::http::{ClientConfig, HttpClient};
use stampede_host_api::modules::ScriptFiles;

use super::plan::Settings;
use super::{exit, Failure};
use crate::cpu::{CpuMeter, CpuUse};
use crate::engine::{EngineLimits, ScriptEngine};
use crate::executor::{self, Run, ScenarioConfig, ScenarioShared, VuPool};
use crate::instance::{self, Handover, SetupRole};
use crate::log::{Level, Logger};
use crate::metrics::{builtin, Metrics, Sample, SystemTags};
use crate::options::{format_duration, Options, Source};
use crate::progress::{Progress as LiveProgress, Watched};
use crate::thresholds::Thresholds;
use crate::vu::{CallError, Control, Stop, TestContext, Vu};

mod summary;
pub use summary::{ScriptSummary, MAX_SUMMARY_BYTES, MAX_SUMMARY_OUTPUTS};

/// What the script told us when it was first instantiated.
pub struct ScriptInfo {
    /// Its options.
    pub options: Options,
    /// The functions scenarios may call.
    pub entry_points: Vec<String>,
}

/// Instantiates the script once to read its options and entry points (custom metrics it
/// declares register in `metrics`).
pub async fn inspect(
    engine: Arc<ScriptEngine>,
    metrics: &Metrics,
    env: &BTreeMap<String, String>,
    files: &Option<Arc<ScriptFiles>>,
    log: &Logger,
) -> Result<ScriptInfo, Failure> {
    let ctx = Arc::new(TestContext {
        metrics: metrics.clone(),
        http: HttpClient::new(ClientConfig::default()),
        env: env.clone(),
        tags: Vec::new(),
        log: log.clone(),
        control: Control::new(),
        files: files.clone(),
        execution: Default::default(),
        entry_points: Arc::from([]),
    });
    let mut vu = Vu::new(engine, ctx, 0)
        .await
        .map_err(|e| Failure::script(format!("the script failed to start: {e}")))?;
    // A JavaScript script is loaded (its top level run) by this first call.
    let what = if files.is_some() {
        "the script failed to load"
    } else {
        "the script's options() failed"
    };
    let json = vu.options().await.map_err(|e| match e {
        // `exec.test.abort()` in the init context: k6's exit code for an abort, 108.
        CallError::Aborted(reason) => Failure {
            message: format!("the script aborted the test in its init context: {reason}"),
            exit_code: exit::SCRIPT_ABORTED,
        },
        e => Failure::script(format!("{what}: {e}")),
    })?;
    let (options, notices) =
        Options::parse_layer(&json, &Source::Script).map_err(Failure::config)?;
    for n in notices {
        log.log(Level::Warn, &n, &[]);
    }
    let entry_points = vu
        .entry_points()
        .await
        .map_err(|e| Failure::script(format!("the script's entry-points() failed: {e}")))?;
    if let Some(files) = files {
        files.close_remote();
    }
    vu.flush();
    Ok(ScriptInfo {
        options,
        entry_points,
    })
}

/// How the VUs are run.
#[derive(Debug, Clone, Copy)]
pub struct RunConfig {
    /// Threads that run VUs (0: one per core).
    pub vu_threads: usize,
    /// Draw the live progress on stderr.
    pub progress: bool,
    /// React to SIGINT/SIGTERM.
    pub handle_signals: bool,
}

/// What one run of scenarios measured.
#[derive(Debug, Clone, Default)]
pub struct ScenariosRun {
    /// How long the scenarios ran.
    pub run_time: Duration,
    /// The process's CPU use meanwhile.
    pub cpu: CpuUse,
    /// The share of the run the busiest VU thread was running or waiting for a core.
    pub vu_threads_busy: Option<f64>,
}

/// A test's VUs and lifecycle.
pub struct Lifecycle {
    engine: Arc<ScriptEngine>,
    ctx: Arc<TestContext>,
    pool: Arc<VuPool<Vu>>,
    lifecycle_vu: Vu,
    settings: Settings,
    config: RunConfig,
    data: Vec<u8>,
    setup_ok: bool,
    /// `teardown()` runs on another instance (the one that ran `setup()`).
    teardown_elsewhere: bool,
    /// An exit code decided by setup or teardown (timeout, exception).
    exit_code: Option<i32>,
    /// VUs made before the start, and how long that took.
    pub vus_made: u64,
    /// How long making them took.
    pub vus_init: Duration,
}

impl Lifecycle {
    /// Makes `initial_vus` VUs (with room in the pool for `max_vus`) from `engine`, for a test
    /// with `settings`; `metrics`, `env`, `files` and `log` are the test's.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        engine: &ScriptEngine,
        memory_limit: u64,
        max_vus: u64,
        initial_vus: u64,
        settings: Settings,
        metrics: &Metrics,
        env: &BTreeMap<String, String>,
        files: &Option<Arc<ScriptFiles>>,
        log: &Logger,
        config: RunConfig,
    ) -> Result<Lifecycle, Failure> {
        let pool_size = u32::try_from(max_vus + 2).map_err(|_| {
            Failure::config(format!("{max_vus} VUs are more than stampede can run"))
        })?;
        crate::limits::check_map_count(max_vus + 2).map_err(Failure::config)?;
        let engine = Arc::new(engine.with_limits(EngineLimits {
            memory_limit,
            pool_size: Some(pool_size),
            ..engine.limits()
        })?);
        let control = Control::new();
        let ctx = Arc::new(TestContext {
            metrics: metrics.clone(),
            http: HttpClient::new(settings.http.clone()),
            env: env.clone(),
            tags: settings.tags.clone(),
            log: log.clone(),
            control: control.clone(),
            files: files.clone(),
            execution: crate::vu::ExecutionState {
                options: settings.options_json.clone(),
                ..Default::default()
            },
            entry_points: settings.entry_points.clone(),
        });
        let pool = {
            let (engine, ctx) = (engine.clone(), ctx.clone());
            Arc::new(VuPool::new(&settings.tuple, move |ids| {
                let (engine, ctx) = (engine.clone(), ctx.clone());
                ctx.execution
                    .vus_initialized
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Box::pin(async move { Vu::with_ids(engine, ctx, ids).await })
            }))
        };
        let init_started = Instant::now();
        warn_if_few_files(max_vus, log);
        if let Err(e) = pool.grow(initial_vus).await {
            let why =
                crate::limits::explain_vu_failure(&e, pool.made().saturating_sub(1), initial_vus)
                    .unwrap_or(e);
            return Err(Failure::config(format!(
                "could not make {initial_vus} VUs: {why}"
            )));
        }
        let vus_init = init_started.elapsed();
        log.log(
            Level::Debug,
            &format!("made {initial_vus} VUs in {}", format_duration(vus_init)),
            &[],
        );
        if config.handle_signals {
            spawn_signal_handler(control.clone(), log.clone());
        }
        let mut lifecycle_vu = Vu::new(engine.clone(), ctx.clone(), pool_size)
            .await
            .map_err(|e| Failure::script(format!("the script failed to start: {e}")))?;
        lifecycle_vu.hooks().set_lifecycle();
        Ok(Lifecycle {
            engine,
            ctx,
            pool,
            lifecycle_vu,
            settings,
            config,
            data: Vec::new(),
            setup_ok: true,
            teardown_elsewhere: false,
            exit_code: None,
            vus_made: initial_vus,
            vus_init,
        })
    }

    /// Stopping and failing the test.
    pub fn control(&self) -> &Control {
        &self.ctx.control
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.ctx.metrics
    }

    /// The VU pool.
    pub fn pool(&self) -> &Arc<VuPool<Vu>> {
        &self.pool
    }

    /// The compiled script, sized for the test's VUs.
    pub fn engine(&self) -> &Arc<ScriptEngine> {
        &self.engine
    }

    /// What executors run with, on `spawner`'s threads: for a command that runs scenarios
    /// itself, one at a time, reading the metrics in between (a capacity search).
    pub fn run_on(&self, spawner: crate::workers::Spawner) -> Run<Vu> {
        Run {
            spawner,
            pool: self.pool.clone(),
            control: self.control().clone(),
            data: Arc::from(self.data.clone()),
            on_dropped: dropped_recorder(&self.ctx.metrics, &self.settings.tags),
            min_iteration_duration: self.settings.k6.min_iteration_duration,
        }
    }

    /// Whether scenarios may run: setup went well and nothing stopped the test.
    pub fn may_run(&self) -> bool {
        self.setup_ok && self.control().stopped().is_none()
    }

    /// What `setup()` returned (empty without one).
    pub fn setup_data(&self) -> &[u8] {
        &self.data
    }

    /// An exit code that setup or teardown decided (a timeout, an exception).
    pub fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// Runs `setup()` (unless `noSetup`), within `setupTimeout`.
    pub async fn setup(&mut self) {
        let log = self.ctx.log.clone();
        self.ctx.metrics.begin_test();
        self.lifecycle_vu
            .hooks()
            .enter_scenario(&Arc::from("setup"), &[], &Arc::new(Vec::new()));
        if self.settings.no_setup {
            return;
        }
        let timeout = self.settings.setup_timeout;
        // As k6: setup's samples, checks and groups are under the group `::setup`.
        self.lifecycle_vu.hooks().set_root_group("::setup");
        let result = tokio::time::timeout(timeout, self.lifecycle_vu.setup()).await;
        self.lifecycle_vu.hooks().set_root_group("");
        match result {
            Ok(Ok(d)) => self.data = d,
            Ok(Err(CallError::Aborted(_))) => self.setup_ok = false,
            Ok(Err(e)) => {
                log.log(
                    Level::Error,
                    &format!("setup() failed: {e}"),
                    &[("source", "setup")],
                );
                self.exit_code = Some(exit::SCRIPT_EXCEPTION);
                self.setup_ok = false;
            }
            Err(_) => {
                log.log(
                    Level::Error,
                    &format!(
                        "setup() did not finish within setupTimeout ({})",
                        format_duration(timeout)
                    ),
                    &[("source", "setup")],
                );
                self.lifecycle_vu.interrupted();
                self.exit_code = Some(exit::SETUP_TIMEOUT);
                self.setup_ok = false;
            }
        }
        self.lifecycle_vu.flush();
    }

    /// `setup()` on a test that may be split: as [`setup`](Self::setup), and then writes its
    /// data for the other instances (`--export-setup-data`); or, on an instance that reads it
    /// (`--setup-data`), waits for the data instead of running `setup()` (see
    /// [`instance::setup_role`]).
    pub async fn setup_handing_over(&mut self, handover: &Handover) {
        let first = self.settings.tuple.segment().from() == executor::segment::Fraction::ZERO;
        let role = instance::setup_role(
            handover.setup_data.as_deref(),
            handover.export_setup_data.as_deref(),
            first,
        );
        let log = self.ctx.log.clone();
        match role {
            SetupRole::Runs(export) => {
                self.setup().await;
                if let (true, Some(path)) = (self.setup_ok, export) {
                    if let Err(e) = instance::write_whole(&path, &self.data) {
                        log.log(
                            Level::Error,
                            &format!(
                                "cannot write --export-setup-data file {}: {e}",
                                path.display()
                            ),
                            &[("source", "setup")],
                        );
                    }
                }
            }
            SetupRole::Reads {
                path,
                skip_teardown,
            } => {
                self.ctx.metrics.begin_test();
                self.teardown_elsewhere = skip_teardown;
                // The instance that writes it may start later: wait until the start, and
                // then as long as setup() may take.
                let until_start = handover
                    .start_at
                    .and_then(|at| instance::until(at, std::time::SystemTime::now()).ok())
                    .unwrap_or_default();
                let wait = self.settings.setup_timeout + until_start;
                match instance::read_setup_data(&path, wait).await {
                    Ok(d) => self.data = d,
                    Err(e) => {
                        log.log(Level::Error, &e, &[("source", "setup")]);
                        self.exit_code = Some(exit::SETUP_TIMEOUT);
                        self.setup_ok = false;
                    }
                }
            }
        }
    }

    /// Runs `scenarios` to their end (or to a stop of the test), with the watcher evaluating
    /// `thresholds` live: they come back evaluated as of the last tick. Windowed thresholds'
    /// windows start with the scenarios and end with them.
    pub async fn run_scenarios(
        &mut self,
        scenarios: &[ScenarioConfig],
        thresholds: Thresholds,
    ) -> Result<(ScenariosRun, Thresholds), Failure> {
        let metrics = self.ctx.metrics.clone();
        let threads = match self.config.vu_threads {
            0 => crate::cpu::cores(),
            n => n,
        };
        let workers = crate::workers::Workers::start(threads)
            .map_err(|e| Failure::config(format!("cannot start the VU threads: {e}")))?;
        workers.probe_timer_lag(&metrics);
        let sched_before = workers.sched_stats();
        let cpu = CpuMeter::start();
        let started = Instant::now();
        metrics.store().start_windows(metrics.now());
        let run = Run {
            spawner: workers.spawner(),
            pool: self.pool.clone(),
            control: self.control().clone(),
            data: Arc::from(self.data.clone()),
            on_dropped: dropped_recorder(&metrics, &self.settings.tags),
            min_iteration_duration: self.settings.k6.min_iteration_duration,
        };
        let mut tasks = tokio::task::JoinSet::new();
        let mut watched = Vec::new();
        for s in scenarios {
            let shared = Arc::new(ScenarioShared::new(s));
            self.ctx
                .execution
                .scenarios
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(shared.clone());
            watched.push(Watched {
                config: s.clone(),
                shared: shared.clone(),
            });
            tasks.spawn(executor::run_scenario(run.clone(), s.clone(), shared));
        }
        let shares: Vec<Arc<ScenarioShared>> = watched.iter().map(|w| w.shared.clone()).collect();
        let progress = self
            .config
            .progress
            .then(|| LiveProgress::start(watched, metrics.clone()));
        let watcher = Watcher::spawn(
            metrics.clone(),
            self.pool.clone(),
            self.control().clone(),
            thresholds,
            self.ctx.log.clone(),
            started,
        );
        while tasks.join_next().await.is_some() {}
        metrics.store().end_windows_at(metrics.now());
        let mut measured = ScenariosRun {
            run_time: started.elapsed(),
            cpu: cpu.read(),
            vu_threads_busy: None,
        };
        if let (Some(before), Some(after)) = (sched_before, workers.sched_stats()) {
            measured.vu_threads_busy =
                crate::workers::busiest_thread(&before, &after, measured.run_time);
        }
        let thresholds = watcher.stop().await;
        if let Some(p) = progress {
            p.finish();
        }
        if let Some(w) = metrics.take_series_warning() {
            self.ctx.log.log(Level::Warn, &w, &[]);
        }
        self.warn_if_none_finished(&shares);
        Ok((measured, thresholds))
    }

    /// k6's warning, in its words, for a test too short for any iteration to end (and not
    /// stopped early: that says why on its own).
    fn warn_if_none_finished(&self, scenarios: &[Arc<ScenarioShared>]) {
        let completed: u64 = scenarios
            .iter()
            .map(|s| {
                s.progress
                    .completed
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum();
        if completed == 0 && !scenarios.is_empty() && self.control().stopped().is_none() {
            self.ctx.log.log(
                Level::Warn,
                "No script iterations fully finished, consider making the test duration longer",
                &[],
            );
        }
    }

    /// Runs `teardown()` (unless `noTeardown`, or setup failed), within `teardownTimeout`;
    /// then hands every VU's pending samples to the store.
    pub async fn teardown(&mut self) {
        if self.setup_ok && !self.settings.no_teardown && !self.teardown_elsewhere {
            self.call_teardown().await;
        }
        self.lifecycle_vu.flush();
        for mut vu in self.pool.drain() {
            vu.flush();
        }
        let metrics = &self.ctx.metrics;
        if metrics.store().total(builtin::VUS).is_none() {
            // The test was over before the first `vus` sample: report the VUs it used.
            metrics.record_untagged(&[
                (builtin::VUS, self.pool.peak() as f64),
                (builtin::VUS_MAX, self.pool.made() as f64),
            ]);
        }
        metrics.store().finish_windows(metrics.now());
        self.ctx.log.flush_suppressed();
    }

    async fn call_teardown(&mut self) {
        let log = self.ctx.log.clone();
        self.lifecycle_vu.hooks().enter_scenario(
            &Arc::from("teardown"),
            &[],
            &Arc::new(Vec::new()),
        );
        let timeout = self.settings.teardown_timeout;
        self.lifecycle_vu.hooks().set_root_group("::teardown");
        let result = tokio::time::timeout(timeout, self.lifecycle_vu.teardown(&self.data)).await;
        self.lifecycle_vu.hooks().set_root_group("");
        match result {
            Ok(Ok(())) | Ok(Err(CallError::Aborted(_))) => {}
            Ok(Err(e)) => {
                log.log(
                    Level::Error,
                    &format!("teardown() failed: {e}"),
                    &[("source", "teardown")],
                );
                self.exit_code.get_or_insert(exit::SCRIPT_EXCEPTION);
            }
            Err(_) => {
                log.log(
                    Level::Error,
                    &format!(
                        "teardown() did not finish within teardownTimeout ({})",
                        format_duration(timeout)
                    ),
                    &[("source", "teardown")],
                );
                self.lifecycle_vu.interrupted();
                self.exit_code.get_or_insert(exit::TEARDOWN_TIMEOUT);
            }
        }
    }
}

/// Records iterations an arrival-rate scenario dropped, tagged as its samples are.
fn dropped_recorder(metrics: &Metrics, tags: &[(String, String)]) -> executor::OnDropped {
    let metrics = metrics.clone();
    let tags = tags.to_vec();
    Arc::new(move |scenario: &ScenarioShared, n: u64| {
        let mut pairs: Vec<(&str, &str)> =
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.extend(scenario.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if metrics.system_tags().has(SystemTags::SCENARIO) {
            pairs.push(("scenario", &scenario.name));
        }
        let tags = metrics.tag_set(&pairs);
        let time = metrics.now();
        metrics.record(&[Sample {
            metric: builtin::DROPPED_ITERATIONS,
            tags,
            value: n as f64,
            time,
        }]);
    })
}

fn warn_if_few_files(max_vus: u64, log: &Logger) {
    let nofile = crate::limits::raise_nofile();
    if nofile > 0 && max_vus + 64 > nofile {
        log.log(
            Level::Warn,
            &format!(
                "up to {max_vus} VUs may each hold a connection, but this process may open only {nofile} files: \
                 requests past the limit will fail (error code 1210). Raise it with `ulimit -n {}`",
                (max_vus * 2).max(65_536)
            ),
            &[],
        );
    }
}

/// Samples `vus` every second and evaluates thresholds every two, aborting the test when an
/// `abortOnFail` threshold fails.
struct Watcher {
    task: tokio::task::JoinHandle<Thresholds>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Watcher {
    fn spawn(
        metrics: Metrics,
        pool: Arc<VuPool<Vu>>,
        control: Control,
        mut thresholds: Thresholds,
        log: Logger,
        started: Instant,
    ) -> Watcher {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // The first sample once the scenarios have taken their VUs, then one a second.
            let first = tokio::time::Instant::now() + Duration::from_millis(50);
            let mut tick = tokio::time::interval_at(first, Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let live = thresholds.list.iter().any(|t| t.abort_on_fail);
            let mut n = 0u64;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stopped => return thresholds,
                }
                n += 1;
                metrics.record_untagged(&[
                    (builtin::VUS, pool.active() as f64),
                    (builtin::VUS_MAX, pool.made() as f64),
                ]);
                metrics.store().flush_taps();
                if let Some(w) = metrics.take_series_warning() {
                    log.log(Level::Warn, &w, &[]);
                }
                // Every 2 s of the test, as k6 judges them (ticks 3, 5, … are 2.05 s, 4.05 s…).
                if n > 1 && n % 2 == 1 && !thresholds.is_empty() {
                    let mut store = metrics.store();
                    store.close_windows_before(metrics.now());
                    let eval = thresholds.evaluate_live(&mut store, started.elapsed());
                    drop(store);
                    if let (true, Some(why)) = (live, eval.abort) {
                        log.log(
                            Level::Error,
                            &format!("{why}; aborting the test (abortOnFail)"),
                            &[],
                        );
                        control.stop(Stop::Threshold(why), true);
                    }
                }
            }
        });
        Watcher { task, stop }
    }

    /// Stops watching; returns the thresholds as last evaluated.
    async fn stop(self) -> Thresholds {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

fn spawn_signal_handler(control: Control, log: Logger) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let mut count = 0;
        loop {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            count += 1;
            if count == 1 {
                log.log(
                    Level::Warn,
                    &format!("{name} received: stopping gracefully (running iterations get their gracefulStop); send it again to stop now"),
                    &[],
                );
                control.stop(Stop::Signal(name.to_owned()), false);
            } else {
                log.log(
                    Level::Warn,
                    &format!("{name} received again: stopping now"),
                    &[],
                );
                control.interrupt();
            }
        }
    });
}
