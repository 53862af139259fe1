//! The end-of-test report: what every output and the summary read, built once from the
//! metrics' state — by a run at its end, or from merged metrics without running anything.

use std::time::{Duration, SystemTime};

use super::units::format_time;
use crate::cpu::CpuUse;
use crate::metrics::{
    builtin, CheckStats, CounterSink, MetricId, MetricType, Sink, Store, ValueType,
};
use crate::thresholds::{aggregate, Aggregation, Target, Thresholds, WindowReport};

/// A statistic of trends, as `summaryTrendStats` names them.
#[derive(Debug, Clone, PartialEq)]
pub enum TrendStat {
    /// `avg`
    Avg,
    /// `min`
    Min,
    /// `med`
    Med,
    /// `max`
    Max,
    /// `count`
    Count,
    /// `p(N)`
    Percentile(f64),
}

impl TrendStat {
    /// Parses `avg`, `min`, `med`, `max`, `count` or `p(N)`.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim() {
            "avg" => TrendStat::Avg,
            "min" => TrendStat::Min,
            "med" => TrendStat::Med,
            "max" => TrendStat::Max,
            "count" => TrendStat::Count,
            other => {
                let p = other
                    .strip_prefix("p(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|p| p.trim().parse::<f64>().ok())
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| format!("invalid summaryTrendStats entry `{other}`: use avg, min, med, max, count or p(N)"))?;
                TrendStat::Percentile(p)
            }
        })
    }

    /// Its label, e.g. `p(95)`.
    pub fn label(&self) -> String {
        match self {
            TrendStat::Avg => "avg".into(),
            TrendStat::Min => "min".into(),
            TrendStat::Med => "med".into(),
            TrendStat::Max => "max".into(),
            TrendStat::Count => "count".into(),
            TrendStat::Percentile(p) => format!("p({p})"),
        }
    }

    /// k6's default: avg, min, med, max, p(90), p(95).
    pub fn defaults() -> Vec<TrendStat> {
        vec![
            TrendStat::Avg,
            TrendStat::Min,
            TrendStat::Med,
            TrendStat::Max,
            TrendStat::Percentile(90.0),
            TrendStat::Percentile(95.0),
        ]
    }
}

/// A metric's folded values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Total and rate per second.
    Counter {
        /// Total.
        count: f64,
        /// Per second of the test.
        rate: f64,
    },
    /// Last, smallest and largest value.
    Gauge {
        /// Last value.
        value: f64,
        /// Smallest.
        min: f64,
        /// Largest.
        max: f64,
    },
    /// Non-zero samples among all.
    Rate {
        /// Non-zero samples.
        trues: u64,
        /// All samples.
        total: u64,
    },
    /// The trend statistics asked for, in order.
    Trend {
        /// `(label, value)` pairs.
        stats: Vec<(String, f64)>,
        /// Samples.
        count: u64,
    },
}

/// One metric (or sub-metric) in the report.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricReport {
    /// Name, e.g. `http_req_duration` or `http_req_duration{status:200}`.
    pub name: String,
    /// For a sub-metric, its metric's name.
    pub parent: Option<String>,
    /// Type.
    pub kind: MetricType,
    /// What the values are.
    pub contains: ValueType,
    /// Whether it is built in.
    pub builtin: bool,
    /// Its values.
    pub values: Values,
    /// For a sub-metric, the tags it filters on.
    pub filter: Vec<(String, String)>,
    /// A sub-metric of the per-scenario and per-group breakdown (full mode).
    pub breakdown: bool,
}

/// One threshold's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdReport {
    /// The metric or sub-metric.
    pub metric: String,
    /// The expression.
    pub source: String,
    /// Whether it held.
    pub ok: bool,
    /// The aggregation it read, e.g. `p(95)`.
    pub aggregation: String,
    /// The value observed.
    pub observed: f64,
    /// The metric's type.
    pub kind: MetricType,
    /// What the metric's values are.
    pub contains: ValueType,
    /// For a windowed threshold, the windows it judged (`observed` is the worst one's).
    pub windows: Option<WindowReport>,
}

/// What became of one output's stream of samples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutputStats {
    /// The output, as the banner names it (`json (results.jsonl)`).
    pub name: String,
    /// Samples it was handed.
    pub samples: u64,
    /// Samples it could not take because its queue was full (a slow sink): never waited for.
    pub dropped: u64,
    /// Writes or pushes that failed.
    pub errors: u64,
    /// The last failure.
    pub last_error: Option<String>,
    /// It had not finished flushing when the test ended.
    pub unfinished: bool,
}

/// How the load generator fared.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GeneratorReport {
    /// CPU use during the scenarios.
    pub cpu: CpuUse,
    /// Peak resident memory, bytes.
    pub peak_rss: u64,
    /// VUs made before the start.
    pub vus_made: u64,
    /// How long making them took.
    pub vus_init: Duration,
    /// The share of the run the busiest VU thread spent running or waiting for a core.
    pub vu_threads_busy: Option<f64>,
    /// Warnings when the generator itself limited the results.
    pub warnings: Vec<String>,
    /// The outputs that streamed samples.
    pub outputs: Vec<OutputStats>,
}

impl GeneratorReport {
    /// Adds a warning for each sign that the generator, not the target, set the pace.
    pub fn diagnose(&mut self, store: &Store, run_time: Duration) {
        let util = self.cpu.utilisation();
        let long_enough = run_time > Duration::from_secs(1);
        if util > 0.90 && long_enough {
            self.warnings.push(format!(
                "the load generator used {:.0}% of its {} cores: it was probably the bottleneck, and the \
                 latencies include its own queueing. Use fewer VUs, a lighter script, or more cores.",
                util * 100.0,
                self.cpu.cores
            ));
        } else if let Some(busy) = self.vu_threads_busy.filter(|b| *b > 0.90 && long_enough) {
            self.warnings.push(format!(
                "a VU thread was running or waiting for a core {:.0}% of the time: the load generator was \
                 saturated (by its own work, or by other processes on this machine), and the latencies \
                 include its own queueing. Use fewer VUs, a lighter script, or a quieter machine.",
                busy * 100.0
            ));
        }
        if let Some(Sink::Trend(lag)) = store.total(builtin::GENERATOR_TIMER_LAG) {
            let p99 = lag.percentile(99.0);
            if lag.count >= 10 && p99 > 25.0 {
                self.warnings.push(format!(
                    "the VU threads woke up late: a 10 ms timer fired up to {} late (p99), so VUs ran behind \
                     their schedule and measured waits include the generator's own delays.",
                    format_time(p99)
                ));
            }
        }
        if let Some(Sink::Trend(delay)) = store.total(builtin::ITERATION_START_DELAY) {
            let p95 = delay.percentile(95.0);
            if p95 > 10.0 {
                self.warnings.push(format!(
                    "scheduled iterations started {} late (p95): the arrival rate was not met on time; see \
                     iteration_duration_from_schedule for the latency users arriving on time would have seen.",
                    format_time(p95)
                ));
            }
        }
        if let Some(Sink::Counter(dropped)) = store.total(builtin::DROPPED_ITERATIONS) {
            if dropped.sum > 0.0 {
                self.warnings.push(format!(
                    "{} iterations were dropped: an arrival-rate scenario had no free VU for them (raise maxVUs, \
                     or the target is slower than the rate allows).",
                    dropped.sum
                ));
            }
        }
        for o in &self.outputs {
            if o.dropped > 0 {
                self.warnings.push(format!(
                    "the output {} could not keep up and dropped {} of {} samples (its queue was full; \
                     the VUs never waited for it). The summary and thresholds count every sample.",
                    o.name,
                    o.dropped,
                    o.samples + o.dropped
                ));
            }
        }
    }
}

/// What the test was, for reports that show it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TestInfo {
    /// The script, as given.
    pub script: String,
    /// When the scenarios started (wall clock).
    pub started: Option<SystemTime>,
    /// The scenarios, described as the banner does.
    pub scenarios: Vec<ScenarioInfo>,
    /// The merged options, as JSON.
    pub options: serde_json::Value,
    /// What `setup()` returned, when it returned JSON (k6's `setup_data`); `None` without a
    /// `setup()`.
    pub setup_data: Option<serde_json::Value>,
}

/// One scenario, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// Its executor's name.
    pub executor: String,
    /// What it does, e.g. `10 looping VUs for 30s (gracefulStop: 30s)`.
    pub description: String,
}

/// What the test measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// How long the scenarios ran.
    pub duration: Duration,
    /// Metrics with samples, and sub-metrics, sorted by name (sub-metrics after their metric).
    pub metrics: Vec<MetricReport>,
    /// Checks, in the order first seen.
    pub checks: Vec<CheckStats>,
    /// Group paths.
    pub groups: Vec<String>,
    /// Threshold results.
    pub thresholds: Vec<ThresholdReport>,
    /// The load generator.
    pub generator: GeneratorReport,
    /// Why the test stopped early, if it did.
    pub stopped: Option<String>,
    /// What the test was.
    pub test: TestInfo,
    /// How it ended (what decides the exit code), for outputs that keep it: a partial result
    /// must let `stampede merge` decide the whole test's.
    pub ending: crate::run::reporting::Ending,
}

fn values(sink: &Sink, stats: &[TrendStat], elapsed: Duration) -> Values {
    match sink {
        Sink::Counter(c) => Values::Counter {
            count: c.sum,
            rate: aggregate(sink, Aggregation::Rate, elapsed),
        },
        Sink::Gauge(g) => Values::Gauge {
            value: g.value,
            min: g.min,
            max: g.max,
        },
        Sink::Rate(r) => Values::Rate {
            trues: r.trues,
            total: r.total,
        },
        Sink::Trend(t) => Values::Trend {
            stats: stats
                .iter()
                .map(|s| {
                    let v = match s {
                        TrendStat::Avg => t.avg(),
                        TrendStat::Min => t.min,
                        TrendStat::Med => t.med(),
                        TrendStat::Max => t.max,
                        TrendStat::Count => t.count as f64,
                        TrendStat::Percentile(p) => t.percentile(*p),
                    };
                    (s.label(), v)
                })
                .collect(),
            count: t.count,
        },
    }
}

/// The metrics a threshold judges, themselves or through a sub-metric, and the names of the
/// sub-metrics judged.
fn gated_metrics<'a>(store: &'a Store, thresholds: &Thresholds) -> (Vec<MetricId>, Vec<&'a str>) {
    let mut metrics = Vec::new();
    let mut subs = Vec::new();
    for t in &thresholds.list {
        match t.target {
            Target::Metric(id) => metrics.push(id),
            Target::Submetric(sub) => {
                let sub = store.submetric(sub);
                metrics.push(sub.parent);
                subs.push(sub.name.as_str());
            }
            Target::Window(_) => {}
        }
    }
    (metrics, subs)
}

impl Report {
    /// Builds the report from the metrics' state after `elapsed` of running.
    pub fn build(
        store: &Store,
        thresholds: &Thresholds,
        stats: &[TrendStat],
        elapsed: Duration,
        generator: GeneratorReport,
        breakdown: bool,
    ) -> Report {
        let registry = store.registry();
        let (gated, gated_subs) = gated_metrics(store, thresholds);
        let mut metrics = Vec::new();
        let mut defs = registry.all();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        for def in defs {
            let id = registry.id(&def.name).expect("listed by the registry");
            let total = store.total(id);
            // k6 always lists these (its VUs count bytes per iteration, zero included).
            let always = [
                builtin::VUS,
                builtin::VUS_MAX,
                builtin::DATA_SENT,
                builtin::DATA_RECEIVED,
            ]
            .contains(&id);
            let none = Sink::Counter(CounterSink::default());
            let empty;
            let sink = match total {
                Some(s) if !s.is_empty() || always => s,
                // A counter k6 always lists, that saw no sample at all.
                None if always && def.kind == MetricType::Counter => &none,
                // As k6: a metric a threshold judges is listed, samples or not.
                _ if gated.contains(&id) => {
                    empty = Sink::new(def.kind);
                    &empty
                }
                _ => continue,
            };
            metrics.push(MetricReport {
                name: def.name.to_string(),
                parent: None,
                kind: def.kind,
                contains: def.contains,
                builtin: def.builtin,
                values: values(sink, stats, elapsed),
                filter: Vec::new(),
                breakdown: false,
            });
            let subs = store.submetrics().iter().filter(|s| s.parent == id);
            for sub in subs
                .filter(|s| breakdown || !s.breakdown)
                // As k6: a sub-metric without samples only when a threshold judges it (no
                // `{expected_response:true}` of zeros when every request failed).
                .filter(|s| !s.sink.is_empty() || gated_subs.contains(&s.name.as_str()))
            {
                metrics.push(MetricReport {
                    name: sub.name.clone(),
                    parent: Some(def.name.to_string()),
                    kind: def.kind,
                    contains: def.contains,
                    builtin: def.builtin,
                    values: values(&sub.sink, stats, elapsed),
                    filter: sub.filter.clone(),
                    breakdown: sub.breakdown,
                });
            }
        }
        let thresholds = thresholds
            .list
            .iter()
            .map(|t| ThresholdReport {
                metric: t.selector.name.clone(),
                source: t.expression.source.clone(),
                ok: !t.failed,
                aggregation: t.expression.aggregation.to_string(),
                observed: t.observed,
                kind: t.kind,
                contains: registry
                    .def(match t.target {
                        Target::Metric(id) => id,
                        Target::Submetric(id) => store.submetric(id).parent,
                        Target::Window(_) => registry
                            .id(&t.selector.metric)
                            .unwrap_or(builtin::HTTP_REQS),
                    })
                    .contains,
                windows: t.windows.clone(),
            })
            .collect();
        Report {
            duration: elapsed,
            metrics,
            checks: store.checks().to_vec(),
            groups: store.groups().to_vec(),
            thresholds,
            generator,
            stopped: None,
            test: TestInfo::default(),
            ending: Default::default(),
        }
    }

    /// Whether every threshold held.
    pub fn thresholds_ok(&self) -> bool {
        self.thresholds.iter().all(|t| t.ok)
    }

    /// The metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&MetricReport> {
        self.metrics.iter().find(|m| m.name == name)
    }
}
