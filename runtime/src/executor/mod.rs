//! Executors: when each VU runs each iteration. One file per executor, all built on the shared
//! pieces here — the VU pool, the bounded iteration, and the VU loop — so that the load shape
//! is a parameter, never a copy of a loop.
//!
//! Executors are generic over [`ExecVu`], so their schedules are tested with fake VUs under
//! paused tokio time, without any script engine.

mod arrival;
pub mod config;
mod constant_arrival_rate;
mod constant_vus;
mod parse;
mod per_vu_iterations;
mod ramping_arrival_rate;
mod ramping_vus;
pub mod segment;
mod shared_iterations;
#[cfg(test)]
mod union_tests;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

pub use config::{ExecutorKind, ScenarioConfig};
pub use parse::{execution_tuple, executor_fields, scenarios};
pub use segment::{ExecutionTuple, Segment, SegmentSequence, SegmentedIndex};

use crate::vu::Control;
pub use crate::workers::Spawner;

/// What an executor tells a VU about an iteration it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IterationStart {
    /// When an arrival-rate executor meant it to start: the VU records how late it started,
    /// and its duration from then.
    pub scheduled: Option<Instant>,
    /// Its number in the scenario on this instance, from 0 (k6's
    /// `exec.scenario.iterationInInstance`).
    pub in_instance: u64,
    /// Its number in the scenario across every instance of a split test, from 0 (k6's
    /// `exec.scenario.iterationInTest`).
    pub in_test: u64,
}

/// A VU's numbers, from 1: in this instance (k6's `exec.vu.idInInstance`, `__VU`) and across
/// every instance of a split test (`exec.vu.idInTest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VuIds {
    /// Its number in this instance.
    pub in_instance: u32,
    /// Its number in the whole test.
    pub in_test: u32,
}

/// What an executor needs of a VU.
pub trait ExecVu: Send + 'static {
    /// The VU's id in this instance.
    fn id(&self) -> u32;
    /// Makes the VU part of `scenario` (tags, env, iteration counter).
    fn enter_scenario(&mut self, scenario: &ScenarioShared);
    /// Runs and records one iteration of `exec`.
    fn iteration<'a>(
        &'a mut self,
        exec: &'a str,
        data: &'a Arc<[u8]>,
        start: IterationStart,
    ) -> impl Future<Output = ()> + Send + 'a;
    /// Called when an iteration was cut short: the VU must not trust its state.
    fn interrupted(&mut self);
}

/// Counters of a scenario, for progress and for tests.
#[derive(Debug, Default)]
pub struct Progress {
    /// Iterations that ran to the end (with or without an error).
    pub completed: AtomicU64,
    /// Iterations cut short by the end of the scenario or test.
    pub interrupted: AtomicU64,
    /// Iterations an arrival-rate scenario could not start for lack of a free VU.
    pub dropped: AtomicU64,
    /// VUs running the scenario right now.
    pub active_vus: AtomicU64,
}

/// What a scenario's VUs share.
#[derive(Debug)]
pub struct ScenarioShared {
    /// The scenario's name.
    pub name: Arc<str>,
    /// The entry point its iterations call.
    pub exec: String,
    /// Tags on its samples.
    pub tags: Vec<(String, String)>,
    /// Its variables.
    pub env: Arc<Vec<(String, String)>>,
    /// Its counters.
    pub progress: Progress,
    /// Numbers its iterations in this instance and in the whole test.
    pub iteration_ids: Mutex<SegmentedIndex>,
    /// k6's name of its executor.
    pub executor: &'static str,
    /// What its progress counts toward.
    pub goal: Goal,
    /// When its first VU entered it: the wall clock, and the monotonic clock.
    pub started: std::sync::OnceLock<(std::time::SystemTime, std::time::Instant)>,
}

/// What a scenario's progress (k6's `exec.scenario.progress`) counts toward.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// Iterations completed of so many (shared-iterations, per-vu-iterations).
    Iterations(u64),
    /// Time run of so long (the other executors).
    Time(Duration),
}

impl ScenarioShared {
    /// How far the scenario has come, from 0 to 1, as k6 measures it.
    pub fn progress_fraction(&self) -> f64 {
        let fraction = match self.goal {
            Goal::Iterations(0) => 1.0,
            Goal::Iterations(n) => {
                self.progress.completed.load(Ordering::Relaxed) as f64 / n as f64
            }
            Goal::Time(d) if d.is_zero() => 1.0,
            Goal::Time(d) => match self.started.get() {
                Some((_, at)) => at.elapsed().as_secs_f64() / d.as_secs_f64(),
                None => 0.0,
            },
        };
        fraction.clamp(0.0, 1.0)
    }
}

impl ScenarioShared {
    /// What the VUs of `config` share.
    pub fn new(config: &ScenarioConfig) -> Self {
        let ids = config
            .iteration_tuple()
            .unwrap_or_else(|| config.tuple.clone())
            .index();
        Self {
            name: Arc::from(config.name.as_str()),
            exec: config.exec.clone(),
            tags: config.tags.clone(),
            env: Arc::new(config.env.clone()),
            progress: Progress::default(),
            iteration_ids: Mutex::new(ids),
            executor: config.executor.name(),
            goal: match &config.executor {
                ExecutorKind::SharedIterations { .. } => {
                    Goal::Iterations(config.shared_iterations())
                }
                ExecutorKind::PerVuIterations { iterations, .. } => {
                    Goal::Iterations(config.max_vus() * iterations)
                }
                _ => Goal::Time(config.max_run_time()),
            },
            started: std::sync::OnceLock::new(),
        }
    }

    /// The numbers of the next iteration to start: in this instance, in the whole test.
    pub fn next_iteration(&self) -> (u64, u64) {
        let (here, whole) = self
            .iteration_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .advance();
        (here - 1, whole - 1)
    }
}

type MakeVu<V> =
    Box<dyn Fn(VuIds) -> Pin<Box<dyn Future<Output = Result<V, String>> + Send>> + Send + Sync>;

/// The test's VUs: made before the start (and, for arrival-rate scenarios, on demand up to
/// their `maxVUs`), lent to scenarios and given back.
///
/// Idle VUs wait in line, as in k6: a scenario takes the one idle longest (at the start, the
/// lowest numbers) and a VU given back goes to the end, so that a VU moves from one scenario to
/// the next with the numbers k6 would give it.
pub struct VuPool<V> {
    idle: Mutex<VecDeque<V>>,
    make: MakeVu<V>,
    ids: Mutex<SegmentedIndex>,
    made: AtomicU32,
    active: AtomicU64,
    peak: AtomicU64,
}

impl<V: ExecVu> VuPool<V> {
    /// A pool that makes VUs with `make(ids)`, numbering them in the whole test by `tuple`,
    /// this instance's segment.
    pub fn new(
        tuple: &ExecutionTuple,
        make: impl Fn(VuIds) -> Pin<Box<dyn Future<Output = Result<V, String>> + Send>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        Self {
            idle: Mutex::new(VecDeque::new()),
            make: Box::new(make),
            ids: Mutex::new(tuple.index()),
            made: AtomicU32::new(0),
            active: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }
    }

    /// Makes `n` more VUs.
    pub async fn grow(&self, n: u64) -> Result<(), String> {
        for _ in 0..n {
            let vu = self.make_one().await?;
            self.lock().push_back(vu);
        }
        Ok(())
    }

    async fn make_one(&self) -> Result<V, String> {
        let (here, whole) = self.ids.lock().unwrap_or_else(|e| e.into_inner()).advance();
        self.made.fetch_add(1, Ordering::Relaxed);
        let too_many = || format!("VU number {whole} is more than stampede can count");
        let ids = VuIds {
            in_instance: u32::try_from(here).map_err(|_| too_many())?,
            in_test: u32::try_from(whole).map_err(|_| too_many())?,
        };
        (self.make)(ids).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<V>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes an idle VU.
    pub fn take(&self) -> Option<V> {
        let vu = self.lock().pop_front();
        if vu.is_some() {
            self.lend(1);
        }
        vu
    }

    /// Takes up to `n` idle VUs, which become busy.
    pub fn take_many(&self, n: u64) -> Vec<V> {
        let vus = self.reserve(n);
        self.lend(vus.len() as u64);
        vus
    }

    /// Takes up to `n` idle VUs for a scenario that marks them busy itself, with
    /// [`busy`](Self::busy), while they run an iteration (arrival-rate scenarios).
    pub fn reserve(&self, n: u64) -> Vec<V> {
        let mut idle = self.lock();
        let k = idle.len().min(n as usize);
        idle.drain(..k).collect()
    }

    /// Makes a new VU for a scenario (arrival-rate ones above their pre-allocated VUs); it is
    /// not busy yet.
    pub async fn make_reserved(&self) -> Result<V, String> {
        self.make_one().await
    }

    /// Gives back VUs from [`reserve`](Self::reserve) or [`make_reserved`](Self::make_reserved).
    pub fn unreserve(&self, vus: impl IntoIterator<Item = V>) {
        self.lock().extend(vus);
    }

    /// Marks a reserved VU busy (`true`) or idle again (`false`).
    pub fn busy(&self, busy: bool) {
        if busy {
            self.lend(1);
        } else {
            self.active.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn lend(&self, n: u64) {
        let now = self.active.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    /// Most VUs lent out at once so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Gives a VU back.
    pub fn give_back(&self, vu: V) {
        self.active.fetch_sub(1, Ordering::Relaxed);
        self.lock().push_back(vu);
    }

    /// VUs lent out now (k6's `vus`).
    pub fn active(&self) -> u64 {
        self.active.load(Ordering::Relaxed)
    }

    /// VUs made so far (k6's `vus_max`).
    pub fn made(&self) -> u64 {
        u64::from(self.made.load(Ordering::Relaxed))
    }

    /// Takes every idle VU (to flush or drop them at the end).
    pub fn drain(&self) -> Vec<V> {
        std::mem::take(&mut *self.lock()).into()
    }
}

/// Called with a scenario and a number of iterations it had to drop.
pub type OnDropped = Arc<dyn Fn(&ScenarioShared, u64) + Send + Sync>;

/// Everything an executor runs with.
pub struct Run<V> {
    /// The VUs.
    pub pool: Arc<VuPool<V>>,
    /// Stop and interrupt signals.
    pub control: Control,
    /// `setup()`'s data.
    pub data: Arc<[u8]>,
    /// Records dropped iterations (besides counting them in the scenario's progress).
    pub on_dropped: OnDropped,
    /// Where VU tasks run.
    pub spawner: Spawner,
    /// k6's `minIterationDuration`: a VU whose iteration ended sooner waits out the rest
    /// before its next one (zero: no wait).
    pub min_iteration_duration: Duration,
}

impl<V> Clone for Run<V> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            control: self.control.clone(),
            data: self.data.clone(),
            on_dropped: self.on_dropped.clone(),
            spawner: self.spawner.clone(),
            min_iteration_duration: self.min_iteration_duration,
        }
    }
}

/// Runs `scenario` to its end: waits for its start time, then hands it to its executor.
pub async fn run_scenario<V: ExecVu>(
    run: Run<V>,
    config: ScenarioConfig,
    shared: Arc<ScenarioShared>,
) {
    if !config.has_work() {
        // This instance's segment has none of the scenario: the other instances run it.
        return;
    }
    if !config.start_time.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(config.start_time) => {}
            _ = run.control.graceful().cancelled() => return,
        }
    }
    let start = Instant::now();
    // Running iterations must end gracefulStop after the scenario's end, or after a graceful
    // stop of the test, whichever comes first; an immediate stop ends them at once.
    let hard_stop = run.control.immediate().child_token();
    let watchdog = {
        let (hard_stop, control) = (hard_stop.clone(), run.control.clone());
        let (end, grace) = (start + config.max_run_time(), config.graceful_stop);
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep_until(end) => {}
                _ = control.graceful().cancelled() => {}
            }
            tokio::time::sleep(grace).await;
            hard_stop.cancel();
        })
    };
    let ctx = ScenarioRun {
        run,
        shared,
        start,
        end: start + config.max_run_time(),
        graceful_stop: config.graceful_stop,
        hard_stop,
    };
    let t = &config.tuple;
    // What this instance runs of each executor; `has_work` made sure the stripe exists.
    let stripe = || {
        config
            .iteration_tuple()
            .expect("a scenario with work has a stripe")
    };
    match config.executor.clone() {
        ExecutorKind::SharedIterations {
            vus, max_duration, ..
        } => {
            let iterations = config.shared_iterations();
            shared_iterations::run(ctx, t.scale(vus), iterations, max_duration).await
        }
        ExecutorKind::PerVuIterations {
            vus,
            iterations,
            max_duration,
        } => per_vu_iterations::run(ctx, t.scale(vus), iterations, max_duration).await,
        ExecutorKind::ConstantVus { vus, duration } => {
            constant_vus::run(ctx, t.scale(vus), duration).await
        }
        ExecutorKind::RampingVus {
            start_vus,
            stages,
            graceful_ramp_down,
        } => ramping_vus::run(ctx, t, start_vus, stages, graceful_ramp_down).await,
        ExecutorKind::ConstantArrivalRate {
            rate,
            time_unit,
            duration,
            pre_allocated_vus,
            max_vus,
        } => {
            let vus = (t.scale(pre_allocated_vus), t.scale(max_vus));
            constant_arrival_rate::run(ctx, &stripe(), rate, time_unit, duration, vus).await
        }
        ExecutorKind::RampingArrivalRate {
            start_rate,
            time_unit,
            stages,
            pre_allocated_vus,
            max_vus,
        } => {
            let vus = (t.scale(pre_allocated_vus), t.scale(max_vus));
            let rates = (start_rate, time_unit);
            ramping_arrival_rate::run(ctx, &stripe(), rates, stages, vus).await
        }
    }
    watchdog.abort();
}

/// A scenario being run: what its executor works with.
pub(crate) struct ScenarioRun<V> {
    pub(crate) run: Run<V>,
    pub(crate) shared: Arc<ScenarioShared>,
    pub(crate) start: Instant,
    /// When the scenario's regular run ends (before gracefulStop).
    pub(crate) end: Instant,
    pub(crate) graceful_stop: Duration,
    /// Cancelled when running iterations must be interrupted.
    pub(crate) hard_stop: tokio_util::sync::CancellationToken,
}

impl<V> Clone for ScenarioRun<V> {
    fn clone(&self) -> Self {
        Self {
            run: self.run.clone(),
            shared: self.shared.clone(),
            start: self.start,
            end: self.end,
            graceful_stop: self.graceful_stop,
            hard_stop: self.hard_stop.clone(),
        }
    }
}

/// How a bounded iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// It ran to its end.
    Completed,
    /// It was cut short.
    Interrupted,
}

impl<V: ExecVu> ScenarioRun<V> {
    /// Whether new iterations may start: before `stop_at` and before any stop of the test.
    pub(crate) fn may_start(&self, stop_at: Instant) -> bool {
        !self.run.control.is_stopping() && Instant::now() < stop_at
    }

    /// Runs one iteration on `vu`. It may run past the end of the scenario for at most
    /// gracefulStop (and, after a graceful stop of the test, for gracefulStop from then): then
    /// `hard_stop` interrupts it.
    pub(crate) async fn iteration(&self, vu: &mut V, scheduled: Option<Instant>) -> Ended {
        self.iteration_retiring(vu, scheduled, None).await
    }

    /// Like [`iteration`](Self::iteration), and when `retire` (a ramping-down VU count and
    /// this VU's slot, with gracefulRampDown) drops to the slot or below, the iteration gets
    /// gracefulRampDown to finish.
    pub(crate) async fn iteration_retiring(
        &self,
        vu: &mut V,
        scheduled: Option<Instant>,
        retire: Option<(&mut tokio::sync::watch::Receiver<u64>, u64, Duration)>,
    ) -> Ended {
        let hard_stop = &self.hard_stop;
        let began = Instant::now();
        let (in_instance, in_test) = self.shared.next_iteration();
        let start = IterationStart {
            scheduled,
            in_instance,
            in_test,
        };
        let ended = {
            let fut = vu.iteration(&self.shared.exec, &self.run.data, start);
            tokio::pin!(fut);
            match retire {
                // The common case: one wait, no timer of its own.
                None => tokio::select! {
                    biased;
                    _ = &mut fut => Ended::Completed,
                    _ = hard_stop.cancelled() => Ended::Interrupted,
                },
                Some((target, slot, ramp_down)) => {
                    let mut target = Some(target);
                    let mut retire_at: Option<Instant> = None;
                    loop {
                        let retiring = async {
                            match retire_at {
                                Some(at) => tokio::time::sleep_until(at).await,
                                None => std::future::pending().await,
                            }
                        };
                        tokio::select! {
                            biased;
                            _ = &mut fut => break Ended::Completed,
                            _ = hard_stop.cancelled() => break Ended::Interrupted,
                            _ = retiring => break Ended::Interrupted,
                            changed = async { target.as_mut().expect("guarded").changed().await }, if target.is_some() => {
                                match changed {
                                    Ok(()) => {
                                        let now_target = *target.as_mut().expect("guarded").borrow_and_update();
                                        if now_target <= slot {
                                            retire_at.get_or_insert(Instant::now() + ramp_down);
                                        } else {
                                            retire_at = None;
                                        }
                                    }
                                    // The controller is gone: the scenario is over.
                                    Err(_) => target = None,
                                }
                            }
                        }
                    }
                }
            }
        };
        let p = &self.shared.progress;
        match ended {
            Ended::Completed => p.completed.fetch_add(1, Ordering::Relaxed),
            Ended::Interrupted => {
                vu.interrupted();
                p.interrupted.fetch_add(1, Ordering::Relaxed)
            }
        };
        if ended == Ended::Completed {
            self.pause_after(began).await;
        }
        ended
    }

    /// k6's `minIterationDuration`: holds the VU until that long after its iteration `began`.
    /// The pause is not part of the iteration, and ends with the scenario or the test, when no
    /// further iteration could start anyway.
    async fn pause_after(&self, began: Instant) {
        let min = self.run.min_iteration_duration;
        if !min.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep_until((began + min).min(self.end)) => {}
                _ = self.run.control.graceful().cancelled() => {}
                _ = self.hard_stop.cancelled() => {}
            }
        }
    }

    /// Lends `vu` to this scenario for a loop: `next()` claims the next iteration (false when
    /// there is none left); iterations start until `stop_at`.
    pub(crate) async fn vu_loop(
        &self,
        mut vu: V,
        stop_at: Instant,
        mut next: impl FnMut() -> bool,
    ) -> V {
        vu.enter_scenario(&self.shared);
        self.shared
            .progress
            .active_vus
            .fetch_add(1, Ordering::Relaxed);
        while self.may_start(stop_at) && next() {
            if self.iteration(&mut vu, None).await == Ended::Interrupted {
                break;
            }
        }
        self.shared
            .progress
            .active_vus
            .fetch_sub(1, Ordering::Relaxed);
        vu
    }

    /// Runs `vus` VUs, each in [`vu_loop`](Self::vu_loop) with its own `next`, and gives them
    /// back when all are done.
    pub(crate) async fn looping_vus<F>(
        &self,
        vus: u64,
        stop_at: Instant,
        mut next_for: impl FnMut(u64) -> F,
    ) where
        F: FnMut() -> bool + Send + 'static,
    {
        let taken = self.run.pool.take_many(vus);
        let mut tasks = tokio::task::JoinSet::new();
        for (i, vu) in taken.into_iter().enumerate() {
            let this = self.clone();
            let next = next_for(i as u64);
            let key = u64::from(vu.id());
            self.run.spawner.spawn(&mut tasks, key, async move {
                let vu = this.vu_loop(vu, stop_at, next).await;
                this.run.pool.give_back(vu);
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Fake VUs whose iterations take a fixed time, for schedule tests under paused time.

    use super::*;

    /// What the fake VUs did.
    #[derive(Default)]
    pub struct Log {
        /// (VU id, scenario, start time since the test start) of every iteration started.
        pub starts: Mutex<Vec<(u32, String, Duration)>>,
        /// Iterations completed.
        pub done: AtomicU64,
        /// Iterations interrupted.
        pub interrupted: AtomicU64,
        /// How late each scheduled iteration started.
        pub late: Mutex<Vec<Duration>>,
        /// Every iteration started: its VU's id in the test, its numbers, when.
        pub iterations: Mutex<Vec<Started>>,
    }

    /// An iteration a fake VU started.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Started {
        /// The VU's id in the whole test.
        pub vu_in_test: u32,
        /// The iteration's numbers.
        pub in_instance: u64,
        pub in_test: u64,
        /// When it started, from the test's start.
        pub at: Duration,
    }

    pub struct FakeVu {
        pub id: u32,
        pub id_in_test: u32,
        pub work: Duration,
        pub log: Arc<Log>,
        pub origin: Instant,
        pub scenario: String,
    }

    impl ExecVu for FakeVu {
        fn id(&self) -> u32 {
            self.id
        }
        fn enter_scenario(&mut self, s: &ScenarioShared) {
            self.scenario = s.name.to_string();
        }
        async fn iteration<'a>(
            &'a mut self,
            _exec: &'a str,
            _data: &'a Arc<[u8]>,
            start: IterationStart,
        ) {
            let now = Instant::now();
            self.log.iterations.lock().unwrap().push(Started {
                vu_in_test: self.id_in_test,
                in_instance: start.in_instance,
                in_test: start.in_test,
                at: now - self.origin,
            });
            self.log.starts.lock().unwrap().push((
                self.id,
                self.scenario.clone(),
                now - self.origin,
            ));
            if let Some(s) = start.scheduled {
                self.log.late.lock().unwrap().push(now - s);
            }
            tokio::time::sleep(self.work).await;
            self.log.done.fetch_add(1, Ordering::Relaxed);
        }
        fn interrupted(&mut self) {
            self.log.interrupted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A run with `vus` fake VUs whose iterations take `work`.
    pub async fn fake_run(vus: u64, work: Duration) -> (Run<FakeVu>, Arc<Log>) {
        fake_run_in(&ExecutionTuple::full(), vus, work).await
    }

    /// [`fake_run`] on the instance of `tuple`'s segment.
    pub async fn fake_run_in(
        tuple: &ExecutionTuple,
        vus: u64,
        work: Duration,
    ) -> (Run<FakeVu>, Arc<Log>) {
        let log = Arc::new(Log::default());
        let origin = Instant::now();
        let l = log.clone();
        let pool = Arc::new(VuPool::new(tuple, move |ids: VuIds| {
            let log = l.clone();
            Box::pin(async move {
                Ok(FakeVu {
                    id: ids.in_instance,
                    id_in_test: ids.in_test,
                    work,
                    log,
                    origin,
                    scenario: String::new(),
                })
            })
        }));
        pool.grow(vus).await.unwrap();
        (
            Run {
                pool,
                control: Control::new(),
                data: Arc::from(Vec::new()),
                on_dropped: Arc::new(|_: &ScenarioShared, _| {}),
                min_iteration_duration: Duration::ZERO,
                spawner: Spawner::Current,
            },
            log,
        )
    }

    pub fn shared(name: &str) -> Arc<ScenarioShared> {
        Arc::new(ScenarioShared {
            name: Arc::from(name),
            exec: "default".into(),
            tags: Vec::new(),
            env: Arc::new(Vec::new()),
            progress: Progress::default(),
            iteration_ids: Mutex::new(ExecutionTuple::full().index()),
            executor: "constant-vus",
            goal: Goal::Time(Duration::from_secs(1)),
            started: std::sync::OnceLock::new(),
        })
    }

    pub fn scenario(executor: ExecutorKind) -> ScenarioConfig {
        ScenarioConfig {
            name: "test".into(),
            executor,
            start_time: Duration::ZERO,
            graceful_stop: config::DEFAULT_GRACEFUL_STOP,
            exec: "default".into(),
            env: Vec::new(),
            tags: Vec::new(),
            tuple: ExecutionTuple::full(),
        }
    }
}
