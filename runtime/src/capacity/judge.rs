//! One step's verdict, from that step's own samples.
//!
//! In this order:
//!
//! 1. **The generator.** When the load generator was saturated — its CPU, a VU thread always
//!    busy, its timers late, or iterations started late — the step says nothing about the
//!    service: its latencies include the generator's own queueing. The limits are those of the
//!    summary's self-diagnosis.
//! 2. **The objectives.** Each is evaluated, in k6's grammar, on the step's samples alone.
//! 3. **Dropped iterations.** When every VU was busy and iterations were dropped, the dropped
//!    users got no answer and left no latency sample; if no objective broke anyway, the VUs
//!    were the limit, not the service.
//! 4. **Throughput**, an objective of its own. In the open model, a service that completes
//!    fewer iterations than are offered builds a backlog that breaks any objective given time:
//!    a step in which it fell behind by more than half the precision (or by more than 3
//!    iterations) is bad, however short the step was — `iterations rate>=R`, R the offered rate
//!    less that slack. A generator near its limits (two thirds of the way to any of them)
//!    queues iterations of its own, which looks the same: its shortfall makes the step
//!    generator-bound instead, to be run once more. And in either model, iterations still
//!    running `gracefulStop` after the step (`iterations unfinished==0`) left no sample to
//!    judge: the step is bad.

use std::time::Duration;

use super::search::Outcome;
use super::window::Window;
use crate::cpu::CpuUse;
use crate::metrics::{builtin, MetricId, MetricType, Sink, Store, ValueType};
use crate::output::format_time;
use crate::thresholds::{Target, Threshold, Thresholds};

/// Share of its cores past which the generator's CPU was the bottleneck.
pub const CPU_LIMIT: f64 = 0.90;
/// Share of the step past which a VU thread that was always running or waiting for a core was
/// the bottleneck.
pub const THREAD_BUSY_LIMIT: f64 = 0.90;
/// p99 lateness of the VU threads' 10 ms timer past which the generator was behind, ms.
pub const TIMER_LAG_P99_LIMIT_MS: f64 = 25.0;
/// p95 lateness of scheduled iterations past which the arrival rate was not met, ms.
pub const START_DELAY_P95_LIMIT_MS: f64 = 10.0;
/// Timer samples needed before their p99 is trusted.
const MIN_LAG_SAMPLES: u64 = 10;
/// Iterations a service may fall behind by in any step, whatever the precision.
const BEHIND_SLACK: f64 = 3.0;
/// How far towards its limits a generator is near them: its own queue can then hold back
/// as many iterations as a service that falls behind.
const NEAR_LIMITS: f64 = 2.0 / 3.0;

/// How the load generator fared during a step's measured part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GeneratorHealth {
    /// CPU use as a share of its cores.
    pub cpu: f64,
    /// Its cores.
    pub cores: usize,
    /// The share of the step the busiest VU thread was running or waiting for a core.
    pub vu_threads_busy: Option<f64>,
    /// p99 lateness of the VU threads' timer, ms (`None`: too few samples).
    pub timer_lag_p99: Option<f64>,
    /// p95 lateness of scheduled iterations, ms (open model).
    pub start_delay_p95: Option<f64>,
    /// Iterations dropped for lack of a free VU.
    pub dropped: u64,
    /// Most VUs the step could use.
    pub max_vus: u64,
}

fn trend(store: &Store, id: MetricId) -> Option<&crate::metrics::TrendSink> {
    match store.total(id) {
        Some(Sink::Trend(t)) if t.count > 0 => Some(t),
        _ => None,
    }
}

impl GeneratorHealth {
    /// The generator's health from a step's samples, its CPU use and its busiest VU thread.
    pub fn measure(store: &Store, cpu: CpuUse, vu_threads_busy: Option<f64>, max_vus: u64) -> Self {
        let dropped = match store.total(builtin::DROPPED_ITERATIONS) {
            Some(Sink::Counter(c)) => c.sum as u64,
            _ => 0,
        };
        Self {
            cpu: cpu.utilisation(),
            cores: cpu.cores,
            vu_threads_busy,
            timer_lag_p99: trend(store, builtin::GENERATOR_TIMER_LAG)
                .filter(|t| t.count >= MIN_LAG_SAMPLES)
                .map(|t| t.percentile(99.0)),
            start_delay_p95: trend(store, builtin::ITERATION_START_DELAY)
                .map(|t| t.percentile(95.0)),
            dropped,
            max_vus,
        }
    }

    /// Every sign that the generator, not the service, set the pace (dropped iterations aside).
    pub fn saturation(&self) -> Vec<String> {
        self.past(1.0)
    }

    /// Every sign that the generator was near its limits: enough of a queue of its own to
    /// hold back a few iterations, though not to set the pace.
    pub fn near_limits(&self) -> Vec<String> {
        self.past(NEAR_LIMITS)
    }

    /// Each of the generator's measures past `share` of its limit, in words.
    fn past(&self, share: f64) -> Vec<String> {
        let mut why = Vec::new();
        if self.cpu > CPU_LIMIT * share {
            why.push(format!(
                "the generator used {:.0}% of its {} cores",
                self.cpu * 100.0,
                self.cores
            ));
        }
        if let Some(busy) = self
            .vu_threads_busy
            .filter(|b| *b > THREAD_BUSY_LIMIT * share)
        {
            why.push(format!(
                "a VU thread was running or waiting for a core {:.0}% of the time",
                busy * 100.0
            ));
        }
        if let Some(lag) = self
            .timer_lag_p99
            .filter(|l| *l > TIMER_LAG_P99_LIMIT_MS * share)
        {
            why.push(format!(
                "its 10 ms timers fired {} late (p99)",
                format_time(lag)
            ));
        }
        if let Some(late) = self
            .start_delay_p95
            .filter(|l| *l > START_DELAY_P95_LIMIT_MS * share)
        {
            why.push(format!(
                "iterations started {} behind schedule (p95)",
                format_time(late)
            ));
        }
        why
    }
}

/// One objective's value in a step.
#[derive(Debug, Clone, PartialEq)]
pub struct SloResult {
    /// The metric or sub-metric, e.g. `http_req_duration{status:200}`.
    pub metric: String,
    /// The expression, e.g. `p(95)<250`.
    pub threshold: String,
    /// The value the step had.
    pub observed: f64,
    /// Whether the value is a time (ms).
    pub time: bool,
    /// Whether it held.
    pub ok: bool,
    /// Whether stampede added it (throughput, unfinished iterations) rather than the user.
    pub implicit: bool,
    /// Whether the step had samples to evaluate it on: a trend or a rate without any is not
    /// met — a step that measured nothing proves nothing.
    pub sampled: bool,
}

impl SloResult {
    /// `http_req_duration p(95)=312.5ms (<250)`, say; stampede's own objectives in words.
    pub fn describe(&self) -> String {
        if !self.sampled {
            return format!("{} {}: no samples in the step", self.metric, self.threshold);
        }
        if self.implicit {
            if let Some(needed) = self.threshold.strip_prefix("rate>=") {
                return format!(
                    "the service fell behind: {}/s completed, {needed}/s needed",
                    trim_number(self.observed)
                );
            }
            if self.threshold.starts_with("unfinished") {
                return format!(
                    "{} iterations were still running gracefulStop after the step",
                    trim_number(self.observed)
                );
            }
        }
        let value = if self.time {
            format_time(self.observed)
        } else {
            trim_number(self.observed)
        };
        let (agg, rest) = split_expression(&self.threshold);
        format!("{} {agg}={value} ({rest})", self.metric)
    }
}

/// `p(95)<250` → (`p(95)`, `<250`).
fn split_expression(expr: &str) -> (&str, &str) {
    let at = expr.find(['<', '>', '=', '!']).unwrap_or(expr.len());
    (expr[..at].trim(), expr[at..].trim())
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// A step's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every objective held and the generator kept up.
    Good,
    /// These objectives broke.
    Slo(Vec<SloResult>),
    /// The generator was the bottleneck, for these reasons.
    Generator(Vec<String>),
}

impl Verdict {
    /// What the search makes of it.
    pub fn outcome(&self) -> Outcome {
        match self {
            Verdict::Good => Outcome::Good,
            Verdict::Slo(_) => Outcome::Slo,
            Verdict::Generator(_) => Outcome::Generator,
        }
    }

    /// Its reasons, in words.
    pub fn reasons(&self) -> Vec<String> {
        match self {
            Verdict::Good => Vec::new(),
            Verdict::Slo(broken) => broken.iter().map(SloResult::describe).collect(),
            Verdict::Generator(r) => r.clone(),
        }
    }
}

/// Latency percentiles of a step, ms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Latency {
    /// The metric they are of.
    pub metric: &'static str,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// A judged step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The load offered: iterations per second (open model) or VUs (closed model).
    pub load: f64,
    /// How long its measured part lasted (the warm-up excluded).
    pub measured: Duration,
    /// Iterations completed per second while measured.
    pub achieved: f64,
    /// Requests (all of the step's samples).
    pub requests: u64,
    /// Latency percentiles.
    pub latency: Option<Latency>,
    /// Share of failed requests.
    pub error_rate: Option<f64>,
    /// Share of passed checks.
    pub checks: Option<f64>,
    /// Iterations still running `gracefulStop` after the step.
    pub interrupted: u64,
    /// The generator's health.
    pub generator: GeneratorHealth,
    /// Each objective's value.
    pub slos: Vec<SloResult>,
    /// The verdict.
    pub verdict: Verdict,
}

/// Judges steps against objectives.
pub struct Judge {
    slos: Thresholds,
    open: bool,
    precision: f64,
}

/// What a step measured besides its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The load offered.
    pub load: f64,
    /// How long its measured part lasted.
    pub duration: Duration,
    /// Iterations interrupted after the step's gracefulStop.
    pub interrupted: u64,
    /// The generator's health.
    pub generator: GeneratorHealth,
}

impl Judge {
    /// A judge of `slos` (built on the test's metrics), for the open or the closed model; the
    /// search's precision sets how far behind the offered load a service may fall.
    pub fn new(slos: Thresholds, open: bool, precision: f64) -> Self {
        Self {
            slos,
            open,
            precision,
        }
    }

    /// The objectives.
    pub fn slos(&self) -> &Thresholds {
        &self.slos
    }

    /// Judges a step from its window of samples.
    pub fn judge(&mut self, m: Measured, window: &mut Window) -> Step {
        let secs = m.duration.as_secs_f64().max(1e-9);
        self.slos.evaluate(window.store_mut(), m.duration);
        let store = window.store();
        let slos: Vec<SloResult> = self
            .slos
            .list
            .iter()
            .map(|t| {
                let sampled = sampled(store, t);
                SloResult {
                    metric: t.selector.name.clone(),
                    threshold: t.expression.source.clone(),
                    observed: t.observed,
                    time: is_time(store, t),
                    ok: sampled && !t.failed,
                    implicit: false,
                    sampled,
                }
            })
            .collect();
        let achieved = window.completed() / secs;
        let verdict = self.verdict(&m, &slos, window.completed());
        let rate = |id| match store.total(id) {
            Some(Sink::Rate(r)) if r.total > 0 => Some(r.rate()),
            _ => None,
        };
        Step {
            load: m.load,
            measured: m.duration,
            achieved,
            requests: match store.total(builtin::HTTP_REQS) {
                Some(Sink::Counter(c)) => c.sum as u64,
                _ => 0,
            },
            latency: self.latency(store),
            error_rate: rate(builtin::HTTP_REQ_FAILED),
            checks: rate(builtin::CHECKS),
            interrupted: m.interrupted,
            generator: m.generator,
            slos,
            verdict,
        }
    }

    fn verdict(&self, m: &Measured, slos: &[SloResult], completed: f64) -> Verdict {
        let saturated = m.generator.saturation();
        if !saturated.is_empty() {
            return Verdict::Generator(saturated);
        }
        let broken: Vec<SloResult> = slos.iter().filter(|s| !s.ok).cloned().collect();
        if !broken.is_empty() {
            return Verdict::Slo(broken);
        }
        if m.generator.dropped > 0 {
            return Verdict::Generator(vec![format!(
                "{} iterations were dropped: all {} VUs were busy (raise --max-vus)",
                m.generator.dropped, m.generator.max_vus
            )]);
        }
        let implicit = |threshold: String, observed: f64| SloResult {
            metric: "iterations".into(),
            threshold,
            observed,
            time: false,
            ok: false,
            implicit: true,
            sampled: true,
        };
        if m.interrupted > 0 {
            return Verdict::Slo(vec![implicit("unfinished==0".into(), m.interrupted as f64)]);
        }
        if self.open {
            let secs = m.duration.as_secs_f64().max(1e-9);
            let offered = m.load * secs;
            let slack = (offered * self.precision / 2.0).max(BEHIND_SLACK);
            if completed + slack < offered {
                let required = ((offered - slack) / secs * 100.0).floor() / 100.0;
                let achieved = (completed / secs * 100.0).round() / 100.0;
                let behind = implicit(format!("rate>={}", trim_number(required)), achieved);
                let near = m.generator.near_limits();
                if !near.is_empty() {
                    return Verdict::Generator(vec![format!(
                        "{}, with the generator near its limits ({}): its own queue holds \
                         iterations back too",
                        behind.describe(),
                        near.join(", ")
                    )]);
                }
                return Verdict::Slo(vec![behind]);
            }
        }
        Verdict::Good
    }

    /// `http_req_duration`'s percentiles, or the iterations' when the script sent no request.
    fn latency(&self, store: &Store) -> Option<Latency> {
        let (metric, t) = match trend(store, builtin::HTTP_REQ_DURATION) {
            Some(t) => ("http_req_duration", t),
            None if self.open => (
                "iteration_duration_from_schedule",
                trend(store, builtin::ITERATION_DURATION_FROM_SCHEDULE)?,
            ),
            None => (
                "iteration_duration",
                trend(store, builtin::ITERATION_DURATION)?,
            ),
        };
        Some(Latency {
            metric,
            p50: t.percentile(50.0),
            p95: t.percentile(95.0),
            p99: t.percentile(99.0),
        })
    }
}

/// Whether a trend or a rate has samples (counters and gauges always have a value).
fn sampled(store: &Store, t: &Threshold) -> bool {
    if !matches!(t.kind, MetricType::Trend | MetricType::Rate) {
        return true;
    }
    match t.target {
        Target::Metric(id) => store.total(id).is_some_and(|s| !s.is_empty()),
        Target::Submetric(id) => !store.submetric(id).sink.is_empty(),
        // Windowed objectives are refused before a search starts.
        Target::Window(_) => false,
    }
}

fn is_time(store: &Store, t: &Threshold) -> bool {
    store
        .registry()
        .id(&t.selector.metric)
        .is_some_and(|id| store.registry().def(id).contains == ValueType::Time)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metrics::{Metrics, Sample, TagSet};
    use crate::options::ThresholdSpec;
    use crate::output::GeneratorReport;

    fn slos(metrics: &Metrics, list: &[(&str, &str)]) -> Thresholds {
        let mut m: BTreeMap<String, Vec<ThresholdSpec>> = BTreeMap::new();
        for (k, v) in list {
            m.entry(k.to_string())
                .or_default()
                .push(ThresholdSpec::Short(v.to_string()));
        }
        Thresholds::build(&m, metrics).unwrap()
    }

    /// A window with `n` requests of `ms` each (every `fail_every`th failed) and `completed`
    /// iterations, all after the warm-up.
    fn window(metrics: &Metrics, n: u64, ms: f64, fail_every: u64, completed: u64) -> Window {
        let ok = metrics.tags.intern(TagSet::from_pairs([("status", "200")]));
        let mut w = Window::new(&metrics.store(), 0, u64::MAX);
        let mut batch = Vec::new();
        for i in 0..n {
            let failed = fail_every > 0 && i % fail_every == 0;
            for (metric, value) in [
                (builtin::HTTP_REQ_DURATION, ms),
                (builtin::HTTP_REQS, 1.0),
                (builtin::HTTP_REQ_FAILED, if failed { 1.0 } else { 0.0 }),
            ] {
                batch.push(Sample {
                    metric,
                    tags: ok,
                    value,
                    time: 1,
                });
            }
        }
        for _ in 0..completed {
            batch.push(Sample {
                metric: builtin::ITERATIONS,
                tags: ok,
                value: 1.0,
                time: 1,
            });
        }
        w.fold(&batch);
        w
    }

    fn measured(load: f64) -> Measured {
        Measured {
            load,
            duration: Duration::from_secs(2),
            interrupted: 0,
            generator: GeneratorHealth {
                cpu: 0.2,
                cores: 2,
                max_vus: 100,
                ..GeneratorHealth::default()
            },
        }
    }

    #[test]
    fn a_step_within_its_objectives_is_good() {
        let metrics = Metrics::new();
        let mut judge = Judge::new(
            slos(
                &metrics,
                &[
                    ("http_req_duration", "p(95)<250"),
                    ("http_req_failed", "rate<0.01"),
                ],
            ),
            true,
            0.05,
        );
        let step = judge.judge(measured(100.0), &mut window(&metrics, 200, 20.0, 0, 200));
        assert_eq!(step.verdict, Verdict::Good);
        assert_eq!(step.achieved, 100.0);
        assert_eq!(step.requests, 200);
        assert_eq!(step.error_rate, Some(0.0));
        let latency = step.latency.unwrap();
        assert!((latency.p95 - 20.0).abs() < 0.05, "{latency:?}");
        assert!(step.slos.iter().all(|s| s.ok));
    }

    #[test]
    fn broken_objectives_name_the_metric_the_value_and_the_bound() {
        let metrics = Metrics::new();
        let mut judge = Judge::new(
            slos(
                &metrics,
                &[
                    ("http_req_duration", "p(95)<250"),
                    ("http_req_failed", "rate<0.01"),
                ],
            ),
            true,
            0.05,
        );
        let step = judge.judge(measured(100.0), &mut window(&metrics, 200, 400.0, 10, 200));
        assert_eq!(
            step.verdict.reasons(),
            [
                "http_req_duration p(95)=400ms (<250)".to_string(),
                "http_req_failed rate=0.1 (<0.01)".to_string()
            ]
        );
        assert_eq!(step.verdict.outcome(), Outcome::Slo);
    }

    #[test]
    fn a_step_without_samples_proves_nothing() {
        let metrics = Metrics::new();
        let mut judge = Judge::new(
            slos(
                &metrics,
                &[
                    ("http_req_failed", "rate<0.01"),
                    ("http_req_duration{status:200}", "p(95)<250"),
                    ("dropped_iterations", "count==0"),
                ],
            ),
            false,
            0.05,
        );
        let step = judge.judge(measured(1.0), &mut window(&metrics, 0, 0.0, 0, 0));
        assert_eq!(
            step.verdict.reasons(),
            [
                "http_req_duration{status:200} p(95)<250: no samples in the step",
                "http_req_failed rate<0.01: no samples in the step"
            ]
        );
        // A counter without samples is zero, which may well be what the objective asks.
        assert!(step
            .slos
            .iter()
            .any(|s| s.metric == "dropped_iterations" && s.ok));
    }

    #[test]
    fn a_service_that_falls_behind_the_offered_load_is_bad() {
        let metrics = Metrics::new();
        let mut judge = Judge::new(
            slos(&metrics, &[("http_req_duration", "p(95)<250")]),
            true,
            0.05,
        );
        // 2 s at 100/s: 200 offered. 196 is within half the precision (2.5%); 190 is not.
        let ok = judge.judge(measured(100.0), &mut window(&metrics, 196, 20.0, 0, 196));
        assert_eq!(ok.verdict, Verdict::Good);
        let behind = judge.judge(measured(100.0), &mut window(&metrics, 190, 20.0, 0, 190));
        assert_eq!(
            behind.verdict.reasons(),
            ["the service fell behind: 95/s completed, 97.5/s needed"]
        );
        assert_eq!(behind.verdict.outcome(), Outcome::Slo);
        // The closed model offers VUs, not a rate: there is nothing to fall behind.
        let mut closed = Judge::new(
            slos(&metrics, &[("http_req_duration", "p(95)<250")]),
            false,
            0.05,
        );
        let step = closed.judge(measured(10.0), &mut window(&metrics, 5, 20.0, 0, 5));
        assert_eq!(step.verdict, Verdict::Good);
        // Iterations still running long after the step are a backlog too.
        let mut m = measured(100.0);
        m.interrupted = 3;
        let step = judge.judge(m, &mut window(&metrics, 200, 20.0, 0, 200));
        assert_eq!(
            step.verdict.reasons(),
            ["3 iterations were still running gracefulStop after the step"]
        );
    }

    #[test]
    fn a_shortfall_with_the_generator_near_its_limits_is_the_generators() {
        let metrics = Metrics::new();
        let mut judge = Judge::new(
            slos(&metrics, &[("http_req_duration", "p(95)<250")]),
            true,
            0.05,
        );
        // Two thirds of the way to each limit: 60% of the cores, a VU thread busy 60% of the
        // time, timers 16.7 ms late, iterations starting 6.7 ms late.
        for (cpu, busy, lag, delay) in [
            (0.61, None, None, None),
            (0.2, Some(0.61), None, None),
            (0.2, None, Some(17.0), None),
            (0.2, None, None, Some(7.0)),
        ] {
            let mut m = measured(100.0);
            m.generator.cpu = cpu;
            m.generator.vu_threads_busy = busy;
            m.generator.timer_lag_p99 = lag;
            m.generator.start_delay_p95 = delay;
            assert!(m.generator.saturation().is_empty());
            let step = judge.judge(m.clone(), &mut window(&metrics, 190, 20.0, 0, 190));
            assert_eq!(step.verdict.outcome(), Outcome::Generator, "{step:?}");
            let why = &step.verdict.reasons()[0];
            assert!(
                why.starts_with("the service fell behind: 95/s completed, 97.5/s needed, with the generator near its limits ("),
                "{why}"
            );
            // Keeping up, the same generator is no reason to doubt the step.
            let step = judge.judge(m, &mut window(&metrics, 200, 20.0, 0, 200));
            assert_eq!(step.verdict, Verdict::Good);
        }
        // Just below two thirds of every limit, the shortfall is the service's.
        let mut m = measured(100.0);
        m.generator.cpu = 0.59;
        m.generator.vu_threads_busy = Some(0.59);
        m.generator.timer_lag_p99 = Some(16.0);
        m.generator.start_delay_p95 = Some(6.5);
        let step = judge.judge(m, &mut window(&metrics, 190, 20.0, 0, 190));
        assert_eq!(step.verdict.outcome(), Outcome::Slo, "{step:?}");
    }

    #[test]
    fn a_saturated_generator_is_never_the_services_limit() {
        let metrics = Metrics::new();
        let mut judge = Judge::new(
            slos(&metrics, &[("http_req_duration", "p(95)<250")]),
            true,
            0.05,
        );
        // Latencies over the objective, but the generator's timers were late.
        let mut m = measured(100.0);
        m.generator.timer_lag_p99 = Some(40.0);
        let step = judge.judge(m, &mut window(&metrics, 200, 400.0, 0, 150));
        assert_eq!(step.verdict.outcome(), Outcome::Generator);
        assert!(
            step.verdict.reasons()[0].contains("timers fired 40ms late"),
            "{:?}",
            step.verdict
        );
        for (cpu, busy, delay) in [
            (0.95, None, None),
            (0.5, Some(0.97), None),
            (0.5, None, Some(12.0)),
        ] {
            let mut m = measured(100.0);
            m.generator.cpu = cpu;
            m.generator.vu_threads_busy = busy;
            m.generator.start_delay_p95 = delay;
            let step = judge.judge(m, &mut window(&metrics, 200, 20.0, 0, 200));
            assert_eq!(step.verdict.outcome(), Outcome::Generator, "{step:?}");
        }
    }

    #[test]
    fn dropped_iterations_are_the_vus_limit_unless_an_objective_broke() {
        let metrics = Metrics::new();
        let mut judge = Judge::new(
            slos(&metrics, &[("http_req_duration", "p(95)<250")]),
            true,
            0.05,
        );
        let mut m = measured(100.0);
        m.generator.dropped = 7;
        let step = judge.judge(m.clone(), &mut window(&metrics, 190, 20.0, 0, 190));
        assert_eq!(step.verdict.outcome(), Outcome::Generator);
        assert!(step.verdict.reasons()[0].contains("raise --max-vus"));
        // The dropped users could only have waited longer: a broken objective stands.
        let step = judge.judge(m, &mut window(&metrics, 190, 900.0, 0, 190));
        assert_eq!(step.verdict.outcome(), Outcome::Slo);
    }

    #[test]
    fn the_limits_are_those_of_the_summarys_self_diagnosis() {
        // The step's judge and the end-of-test summary must agree on when the generator was
        // saturated.
        for (cpu, busy, lag, delay) in [
            (0.89, None, 20.0, 9.0),
            (0.91, None, 20.0, 9.0),
            (0.5, Some(0.89), 20.0, 9.0),
            (0.5, Some(0.91), 20.0, 9.0),
            (0.5, None, 26.0, 9.0),
            (0.5, None, 20.0, 11.0),
        ] {
            let metrics = Metrics::new();
            let tags = metrics.tag_set(&[]);
            let samples: Vec<Sample> = (0..20)
                .flat_map(|_| {
                    [
                        (builtin::GENERATOR_TIMER_LAG, lag),
                        (builtin::ITERATION_START_DELAY, delay),
                    ]
                })
                .map(|(metric, value)| Sample {
                    metric,
                    tags,
                    value,
                    time: 0,
                })
                .collect();
            metrics.record(&samples);
            let use_ = CpuUse {
                wall: Duration::from_secs(2),
                user: Duration::from_secs_f64(cpu * 4.0),
                sys: Duration::ZERO,
                cores: 2,
            };
            let mut report = GeneratorReport {
                cpu: use_,
                vu_threads_busy: busy,
                ..GeneratorReport::default()
            };
            report.diagnose(&metrics.store(), Duration::from_secs(2));
            let health = GeneratorHealth::measure(&metrics.store(), use_, busy, 10);
            assert_eq!(
                health.saturation().is_empty(),
                report.warnings.is_empty(),
                "cpu {cpu}, busy {busy:?}, lag {lag}, delay {delay}: {:?} vs {:?}",
                health.saturation(),
                report.warnings
            );
        }
    }
}
