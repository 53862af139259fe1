//! The search run for real: each step a scenario of constant load on the test's VUs — made
//! once and reused from step to step — its samples gathered through a tap on the metrics and
//! judged once its last iteration has ended.
//!
//! A step runs its warm-up and its measured part as one scenario, so the load does not pause
//! between them; its samples count from the end of the warm-up until its last iteration ended
//! (iterations still running when the load stops belong to the step: at overload they carry
//! its worst latencies). The next step starts when the previous one has drained, so a step
//! below an overloaded one does not inherit its backlog.
//!
//! A step found generator-bound is run once more before the search believes it: a moment of
//! contention on the machine passes, while a generator at its limit stays there.
//!
//! The driver is generic over the VU and over how the generator's health is read, so that the
//! whole search runs in tests under virtual time against simulated services.

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::judge::{GeneratorHealth, Judge, Measured, Step};
use super::search::{Next, Outcome, Search};
use super::window::Window;
use super::{Answer, Found, Model, Settings};
use crate::cpu::{CpuMeter, CpuUse};
use crate::executor::{self, ExecVu, ExecutorKind, Run, ScenarioConfig, ScenarioShared};
use crate::metrics::{Metrics, Sample};
use crate::vu::Stop;
use crate::workers::{busiest_thread, SchedStat, Workers};

/// The name of the scenario every step runs as.
pub const SCENARIO: &str = "capacity";
/// How many times a generator-bound step is run again before the search believes it.
const GENERATOR_RETRIES: usize = 1;
/// The iteration duration an open step's VUs are made for before it starts.
const PREPARED_FOR: Duration = Duration::from_millis(100);
/// How often the tap is emptied into the step's window while the step runs: often, so that
/// each fold is short (it shares its task with the step's arrival schedule).
const DRAIN_EVERY: Duration = Duration::from_millis(50);

/// Reads the generator's CPU use and its busiest VU thread over a step's measured part.
pub trait Gauge: Send {
    /// The measured part of a step at `load` begins.
    fn start(&mut self, load: f64);
    /// It ends: CPU use, and the share of it the busiest VU thread was running or waiting.
    fn read(&mut self) -> (CpuUse, Option<f64>);
}

/// The process's CPU time and the VU threads' scheduler statistics.
pub struct SystemGauge {
    workers: Option<Arc<Workers>>,
    meter: Option<CpuMeter>,
    before: Option<Vec<SchedStat>>,
    since: std::time::Instant,
}

impl SystemGauge {
    /// A gauge of this process and of `workers`' threads.
    pub fn new(workers: Option<Arc<Workers>>) -> Self {
        Self {
            workers,
            meter: None,
            before: None,
            since: std::time::Instant::now(),
        }
    }
}

impl Gauge for SystemGauge {
    fn start(&mut self, _load: f64) {
        self.meter = Some(CpuMeter::start());
        self.before = self.workers.as_ref().and_then(|w| w.sched_stats());
        self.since = std::time::Instant::now();
    }

    fn read(&mut self) -> (CpuUse, Option<f64>) {
        let cpu = self.meter.take().map(|m| m.read()).unwrap_or_default();
        let after = self.workers.as_ref().and_then(|w| w.sched_stats());
        let busy = match (self.before.take(), after) {
            (Some(b), Some(a)) => busiest_thread(&b, &a, self.since.elapsed()),
            _ => None,
        };
        (cpu, busy)
    }
}

/// What every step's scenario carries besides its load.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// Variables its VUs see on top of `-e` ones.
    pub env: Vec<(String, String)>,
    /// Tags on its samples.
    pub tags: Vec<(String, String)>,
}

/// Everything the search runs with.
pub struct Driver<V: ExecVu> {
    /// The VUs and the test's control.
    pub run: Run<V>,
    /// The test's metrics.
    pub metrics: Metrics,
    /// Every batch of samples (a tap on the metrics' store).
    pub samples: Receiver<Arc<[Sample]>>,
    /// Hands a VU's pending samples over.
    pub flush: fn(&mut V),
    /// The generator's health.
    pub gauge: Box<dyn Gauge>,
    /// How the search runs.
    pub settings: Settings,
    /// The objectives.
    pub judge: Judge,
    /// The scenario's variables and tags.
    pub scenario: Scenario,
}

/// Nanoseconds on the metrics' clock, read from tokio's (the same clock, unless time is paused
/// in a test).
fn clock(metrics: &Metrics, at: Instant) -> u64 {
    at.saturating_duration_since(Instant::from_std(metrics.start()))
        .as_nanos() as u64
}

impl<V: ExecVu> Driver<V> {
    /// Runs the search to its end (or until the test is stopped); `on_step` sees each step
    /// as it is judged.
    pub async fn search(mut self, mut on_step: impl FnMut(usize, &Step)) -> Found {
        let began = Instant::now();
        let mut search = Search::new(self.settings.search);
        let mut steps = Vec::new();
        let (answer, complete) = loop {
            let load = match search.next() {
                Next::Done(answer) => break (answer, true),
                Next::Step(_) if self.run.control.is_stopping() => {
                    break (provisional(&search), false)
                }
                Next::Step(load) => load,
            };
            let mut step = self.step(load).await;
            // A generator-bound step is run once more before it is believed: a moment of
            // contention on the machine passes, a generator at its limit stays there.
            for _ in 0..GENERATOR_RETRIES {
                if step.verdict.outcome() != Outcome::Generator || self.run.control.is_stopping() {
                    break;
                }
                on_step(steps.len(), &step);
                steps.push(step);
                step = self.step(load).await;
            }
            if self.run.control.is_stopping() {
                // Cut short: it says nothing.
                break (provisional(&search), false);
            }
            on_step(steps.len(), &step);
            search.record(step.verdict.outcome());
            steps.push(step);
        };
        let slos = self
            .judge
            .slos()
            .list
            .iter()
            .map(|t| (t.selector.name.clone(), t.expression.source.clone()))
            .collect();
        Found {
            settings: self.settings,
            slos,
            steps,
            answer,
            complete,
            elapsed: began.elapsed(),
            stopped: self.run.control.stopped().map(|s| match s {
                Stop::Script(r) => format!("the script aborted the test: {r}"),
                Stop::Threshold(r) => r,
                Stop::Signal(r) => format!("stopped by {r}"),
            }),
        }
    }

    fn scenario(&self, load: f64) -> ScenarioConfig {
        let s = &self.settings;
        let duration = s.warm_up + s.step_duration;
        let made = self.run.pool.made();
        let executor = match s.model {
            // A rate per 1,000 s keeps three decimals of a rate per second.
            Model::Open => ExecutorKind::ConstantArrivalRate {
                rate: (load * 1000.0).round() as u64,
                time_unit: Duration::from_secs(1000),
                duration,
                pre_allocated_vus: made,
                max_vus: s.max_vus.max(made),
            },
            Model::Closed => ExecutorKind::ConstantVus {
                vus: load as u64,
                duration,
            },
        };
        ScenarioConfig {
            name: SCENARIO.into(),
            executor,
            start_time: Duration::ZERO,
            graceful_stop: s.graceful_stop,
            exec: s.exec.clone(),
            env: self.scenario.env.clone(),
            tags: self.scenario.tags.clone(),
            tuple: crate::executor::segment::ExecutionTuple::full(),
        }
    }

    /// Runs one step and judges it.
    async fn step(&mut self, load: f64) -> Step {
        self.make_vus(load).await;
        let config = self.scenario(load);
        let max_vus = config.max_vus();
        let shared = Arc::new(ScenarioShared::new(&config));
        // Samples of the previous step that arrived since it was judged are not this one's.
        while self.samples.try_recv().is_ok() {}
        let start = Instant::now();
        let measured = (
            start + self.settings.warm_up,
            start + self.settings.warm_up + self.settings.step_duration,
        );
        let mut window = Window::new(
            &self.metrics.store(),
            clock(&self.metrics, measured.0),
            clock(&self.metrics, measured.1),
        );
        let scenario = executor::run_scenario(self.run.clone(), config, shared.clone());
        let (cpu, busy) = self.watch(scenario, load, measured, &mut window).await;
        // Every VU is idle again: hand over what they still hold, then judge.
        let mut vus = self.run.pool.drain();
        for vu in &mut vus {
            (self.flush)(vu);
        }
        self.run.pool.unreserve(vus);
        while let Ok(batch) = self.samples.try_recv() {
            window.fold(&batch);
        }
        let generator = GeneratorHealth::measure(window.store(), cpu, busy, max_vus);
        let measured = Measured {
            load,
            duration: self.settings.step_duration,
            interrupted: shared.progress.interrupted.load(Ordering::Relaxed),
            generator,
        };
        self.judge.judge(measured, &mut window)
    }

    /// Makes VUs between steps, where making them delays nothing: all of a closed step's, and
    /// for an open step enough for its rate at [`PREPARED_FOR`] per iteration (more are made
    /// on demand, and their making counts as start delay). A VU that cannot be made leaves the
    /// step with fewer: its verdict shows it.
    async fn make_vus(&self, load: f64) {
        let wanted = match self.settings.model {
            Model::Closed => load as u64,
            Model::Open => {
                ((load * PREPARED_FOR.as_secs_f64()).ceil() as u64).min(self.settings.max_vus)
            }
        };
        let missing = wanted.saturating_sub(self.run.pool.made());
        let _ = self.run.pool.grow(missing).await;
    }

    /// Runs `scenario` to its end, folding samples into `window` as they come, and reads the
    /// gauge over the `measured` part; returns its reading.
    async fn watch(
        &mut self,
        scenario: impl std::future::Future<Output = ()>,
        load: f64,
        measured: (Instant, Instant),
        window: &mut Window,
    ) -> (CpuUse, Option<f64>) {
        tokio::pin!(scenario);
        let mut phase = Phase::WarmUp;
        let mut reading = (CpuUse::default(), None);
        let mut tick = tokio::time::interval(DRAIN_EVERY);
        loop {
            let edge = async {
                match phase {
                    Phase::WarmUp => tokio::time::sleep_until(measured.0).await,
                    Phase::Measured => tokio::time::sleep_until(measured.1).await,
                    Phase::Tail => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut scenario => break,
                _ = edge => match phase {
                    Phase::WarmUp => {
                        self.gauge.start(load);
                        phase = Phase::Measured;
                    }
                    Phase::Measured => {
                        reading = self.gauge.read();
                        phase = Phase::Tail;
                    }
                    Phase::Tail => {}
                },
                _ = tick.tick() => {
                    while let Ok(batch) = self.samples.try_recv() {
                        window.fold(&batch);
                    }
                }
            }
        }
        // A step stopped early (by a signal) ends within its measured part.
        if phase == Phase::Measured {
            reading = self.gauge.read();
        }
        reading
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    WarmUp,
    Measured,
    Tail,
}

/// The answer so far, for a search stopped before its end.
fn provisional(search: &Search) -> Answer {
    let (bad, why) = search
        .bad()
        .map_or((None, None), |(l, w)| (Some(l), Some(w)));
    Answer {
        capacity: search.good(),
        bad,
        limit: match why {
            Some(Outcome::Generator) => super::Limit::Generator,
            Some(_) => super::Limit::Slo,
            None => super::Limit::MaxRate,
        },
    }
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
