//! Thresholds: pass/fail criteria on metrics, evaluated during the run (for `abortOnFail`)
//! and at the end (for the exit code).
//!
//! Building thresholds has two steps: [`Thresholds::parse`] reads and checks them against the
//! metrics the test knows (pure: planning does it before anything runs), and
//! [`Thresholds::attach`] declares the sub-metrics and windowed series they read in a store.
//!
//! A threshold may name a window: `http_req_duration{window:30s}: p(95)<250` fails when the
//! p(95) of any 30-second window of the scenarios is 250 ms or more (see [`windowed`]).

mod parse;
mod windowed;

use std::collections::BTreeMap;
use std::time::Duration;

pub use parse::{
    parse_expression, parse_selector, split_flag, Aggregation, Expression, Op, Selector,
};
pub use windowed::{judged, WindowOutcome, WindowReport};

use crate::metrics::{MetricId, MetricType, Metrics, Registry, Sink, Store, SubmetricId, WindowId};
use crate::options::ThresholdSpec;

/// What a threshold reads: a whole metric, one of its sub-metrics, or its windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The whole metric.
    Metric(MetricId),
    /// A sub-metric.
    Submetric(SubmetricId),
    /// A windowed series.
    Window(WindowId),
}

/// A threshold parsed and checked against the test's metrics, not yet attached to a store.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdDef {
    /// The metric or sub-metric, as written (the window is part of its name).
    pub selector: Selector,
    /// The criterion.
    pub expression: Expression,
    /// Stop the test when it fails.
    pub abort_on_fail: bool,
    /// Do not abort before this much of the test has run.
    pub delay_abort_eval: Duration,
    /// The metric.
    pub metric: MetricId,
    /// The metric's type.
    pub kind: MetricType,
    /// The window, for a windowed threshold.
    pub window: Option<Duration>,
}

/// One threshold and its latest result.
#[derive(Debug, Clone)]
pub struct Threshold {
    /// The metric or sub-metric, as written.
    pub selector: Selector,
    /// The criterion.
    pub expression: Expression,
    /// Stop the test when it fails.
    pub abort_on_fail: bool,
    /// Do not abort before this much of the test has run.
    pub delay_abort_eval: Duration,
    /// What it reads.
    pub target: Target,
    /// The metric's type.
    pub kind: MetricType,
    /// The value last observed (for a windowed threshold: the worst window's).
    pub observed: f64,
    /// Whether it failed at the last evaluation (for a windowed one: in any window so far).
    pub failed: bool,
    /// The windows judged so far, for a windowed threshold.
    pub windows: Option<WindowReport>,
}

/// The thresholds of a test.
#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    /// In the order of the options (metric name order, then as listed).
    pub list: Vec<Threshold>,
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// Whether any threshold failed.
    pub failed: bool,
    /// An `abortOnFail` threshold that failed and is past its delay, if any.
    pub abort: Option<String>,
}

fn allowed(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Trend => "avg, min, max, med or p(N)",
        MetricType::Rate => "rate",
        MetricType::Counter => "count or rate",
        MetricType::Gauge => "value",
    }
}

fn fits(kind: MetricType, agg: Aggregation) -> bool {
    use Aggregation as A;
    match kind {
        MetricType::Trend => matches!(agg, A::Avg | A::Min | A::Max | A::Med | A::Percentile(_)),
        MetricType::Rate => matches!(agg, A::Rate),
        MetricType::Counter => matches!(agg, A::Count | A::Rate),
        MetricType::Gauge => matches!(agg, A::Value),
    }
}

fn parse_one(
    selector: &Selector,
    metric: MetricId,
    kind: MetricType,
    window: Option<Duration>,
    spec: &ThresholdSpec,
) -> Result<ThresholdDef, String> {
    let expression =
        parse_expression(spec.expression()).map_err(|e| format!("{e} (on `{}`)", selector.name))?;
    if !fits(kind, expression.aggregation) {
        return Err(format!(
            "invalid threshold `{}` on `{}`: {} is a {kind} metric, which has {}, not {}",
            expression.source,
            selector.name,
            selector.metric,
            allowed(kind),
            expression.aggregation
        ));
    }
    let (abort_on_fail, delay_abort_eval) = match spec {
        ThresholdSpec::Short(_) => (false, Duration::ZERO),
        ThresholdSpec::Long(l) => (
            l.abort_on_fail,
            l.delay_abort_eval.map(|d| d.0).unwrap_or_default(),
        ),
    };
    Ok(ThresholdDef {
        selector: selector.clone(),
        expression,
        abort_on_fail,
        delay_abort_eval,
        metric,
        kind,
        window,
    })
}

impl Thresholds {
    /// Parses and checks thresholds against the metrics in `registry` (built-in ones and
    /// those the script declared). Pure: nothing is declared anywhere.
    pub fn parse(
        specs: &BTreeMap<String, Vec<ThresholdSpec>>,
        registry: &Registry,
    ) -> Result<Vec<ThresholdDef>, String> {
        let mut defs = Vec::new();
        for (selector, specs) in specs {
            let mut selector = parse_selector(selector)?;
            let window = windowed::take_window(&mut selector)?;
            let id = registry.id(&selector.metric).ok_or_else(|| {
                format!(
                    "invalid threshold on `{}`: no metric named `{}` (built-in metrics are k6's, like http_req_duration or checks; \
                     a custom metric must be declared before the test starts, e.g. in the script's `metrics: [...]`)",
                    selector.name, selector.metric
                )
            })?;
            let kind = registry.def(id).kind;
            for spec in specs {
                defs.push(parse_one(&selector, id, kind, window, spec)?);
            }
        }
        Ok(defs)
    }

    /// Declares in `store` the sub-metrics and windowed series that `defs` read.
    pub fn attach(defs: Vec<ThresholdDef>, store: &mut Store) -> Thresholds {
        let list = defs
            .into_iter()
            .map(|d| {
                let filter = d.selector.filter.clone();
                let target = match d.window {
                    Some(width) => {
                        Target::Window(store.add_window(&d.selector.name, d.metric, filter, width))
                    }
                    None if filter.is_empty() => Target::Metric(d.metric),
                    None => {
                        Target::Submetric(store.add_submetric(&d.selector.name, d.metric, filter))
                    }
                };
                Threshold {
                    windows: d.window.map(WindowReport::new),
                    selector: d.selector,
                    expression: d.expression,
                    abort_on_fail: d.abort_on_fail,
                    delay_abort_eval: d.delay_abort_eval,
                    target,
                    kind: d.kind,
                    observed: 0.0,
                    failed: false,
                }
            })
            .collect();
        Thresholds { list }
    }

    /// Parses, checks and attaches thresholds to `metrics`' store in one step.
    pub fn build(
        specs: &BTreeMap<String, Vec<ThresholdSpec>>,
        metrics: &Metrics,
    ) -> Result<Thresholds, String> {
        let defs = Self::parse(specs, &metrics.registry)?;
        Ok(Self::attach(defs, &mut metrics.store()))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Evaluates every threshold on the current state; `elapsed` is the test's running time
    /// (for counter rates and abort delays). Windowed thresholds judge the windows that
    /// closed since the last evaluation.
    pub fn evaluate(&mut self, store: &mut Store, elapsed: Duration) -> Evaluation {
        self.evaluate_at(store, elapsed, false)
    }

    /// [`evaluate`](Self::evaluate) during the run: as in k6, a metric or sub-metric with no
    /// samples yet is not judged (it keeps its last verdict), so `abortOnFail` waits for data.
    pub fn evaluate_live(&mut self, store: &mut Store, elapsed: Duration) -> Evaluation {
        self.evaluate_at(store, elapsed, true)
    }

    fn evaluate_at(&mut self, store: &mut Store, elapsed: Duration, live: bool) -> Evaluation {
        let mut eval = Evaluation::default();
        let mut closed: Vec<(WindowId, Vec<crate::metrics::ClosedWindow>)> = Vec::new();
        for t in &self.list {
            if let Target::Window(id) = t.target {
                if !closed.iter().any(|(w, _)| *w == id) {
                    closed.push((id, store.window_mut(id).take_closed()));
                }
            }
        }
        for t in &mut self.list {
            let failed_now = match t.target {
                Target::Window(id) => {
                    let windows = closed
                        .iter()
                        .find(|(w, _)| *w == id)
                        .map(|(_, c)| c.as_slice())
                        .unwrap_or_default();
                    match t.windows.as_mut() {
                        Some(report) => {
                            report.judge(&t.expression, windows);
                            t.observed = report.worst.as_ref().map_or(0.0, |w| w.observed);
                            report.failed > 0
                        }
                        None => false,
                    }
                }
                Target::Metric(_) | Target::Submetric(_) => {
                    let sink = match t.target {
                        Target::Metric(id) => store.total(id),
                        Target::Submetric(id) => Some(&store.submetric(id).sink),
                        Target::Window(_) => None,
                    };
                    if live && sink.is_none_or(Sink::is_empty) {
                        continue;
                    }
                    t.observed = sink
                        .map(|s| aggregate(s, t.expression.aggregation, elapsed))
                        .unwrap_or(0.0);
                    // As in k6, a rate of no samples is not judged: it passes (`checks:
                    // ['rate>0.9']` in a test that made no check).
                    let unjudged = t.kind == MetricType::Rate && sink.is_none_or(Sink::is_empty);
                    !unjudged && !t.expression.op.holds(t.observed, t.expression.value)
                }
            };
            t.failed = failed_now;
            if t.failed {
                eval.failed = true;
                if t.abort_on_fail && elapsed >= t.delay_abort_eval && eval.abort.is_none() {
                    eval.abort = Some(format!(
                        "threshold `{}` on `{}` failed",
                        t.expression.source, t.selector.name
                    ));
                }
            }
        }
        eval
    }
}

/// The value of `agg` on `sink`.
pub fn aggregate(sink: &Sink, agg: Aggregation, elapsed: Duration) -> f64 {
    match (sink, agg) {
        (Sink::Trend(t), Aggregation::Avg) => t.avg(),
        (Sink::Trend(t), Aggregation::Min) => t.min,
        (Sink::Trend(t), Aggregation::Max) => t.max,
        (Sink::Trend(t), Aggregation::Med) => t.med(),
        (Sink::Trend(t), Aggregation::Percentile(p)) => t.percentile(p),
        (Sink::Counter(c), Aggregation::Count) => c.sum,
        (Sink::Counter(c), Aggregation::Rate) => {
            let secs = elapsed.as_secs_f64();
            if secs > 0.0 {
                c.sum / secs
            } else {
                0.0
            }
        }
        (Sink::Rate(r), Aggregation::Rate) => r.rate(),
        (Sink::Gauge(g), Aggregation::Value) => g.value,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{builtin, Sample, TagSet};

    fn specs(list: &[(&str, &str)]) -> BTreeMap<String, Vec<ThresholdSpec>> {
        let mut m: BTreeMap<String, Vec<ThresholdSpec>> = BTreeMap::new();
        for (k, v) in list {
            m.entry(k.to_string())
                .or_default()
                .push(ThresholdSpec::Short(v.to_string()));
        }
        m
    }

    #[test]
    fn unknown_metrics_and_wrong_aggregations_are_config_errors() {
        let metrics = Metrics::new();
        let err =
            Thresholds::build(&specs(&[("http_req_duraton", "p(95)<1")]), &metrics).unwrap_err();
        assert!(err.contains("no metric named `http_req_duraton`"), "{err}");
        let err = Thresholds::build(&specs(&[("http_reqs", "p(95)<1")]), &metrics).unwrap_err();
        assert!(
            err.contains("counter") && err.contains("count or rate"),
            "{err}"
        );
        let err = Thresholds::build(&specs(&[("checks", "avg<1")]), &metrics).unwrap_err();
        assert!(err.contains("rate metric"), "{err}");
        assert!(Thresholds::build(&specs(&[("vus", "value<=10")]), &metrics).is_ok());
    }

    #[test]
    fn a_rate_of_no_samples_passes_as_in_k6() {
        let metrics = Metrics::new();
        let list = specs(&[
            ("checks", "rate>0.9"),
            ("http_req_failed{status:500}", "rate>0"),
        ]);
        let mut th = Thresholds::build(&list, &metrics).unwrap();
        let eval = th.evaluate(&mut metrics.store(), Duration::from_secs(1));
        assert!(!eval.failed && eval.abort.is_none());
        // With samples, it is judged.
        metrics.record_untagged(&[(builtin::CHECKS, 0.0)]);
        let eval = th.evaluate(&mut metrics.store(), Duration::from_secs(1));
        assert!(eval.failed);
    }

    #[test]
    fn evaluates_metrics_and_submetrics() {
        let metrics = Metrics::new();
        let mut t = Thresholds::build(
            &specs(&[
                ("http_req_duration", "p(95)<100"),
                ("http_req_duration{status:200}", "max<50"),
                ("http_reqs", "count>=3"),
                ("http_reqs", "rate>10"),
            ]),
            &metrics,
        )
        .unwrap();
        let ok = metrics.tags.intern(TagSet::from_pairs([("status", "200")]));
        let slow = metrics.tags.intern(TagSet::from_pairs([("status", "500")]));
        let d = |tags, value| Sample {
            metric: builtin::HTTP_REQ_DURATION,
            tags,
            value,
            time: 0,
        };
        let r = |tags| Sample {
            metric: builtin::HTTP_REQS,
            tags,
            value: 1.0,
            time: 0,
        };
        metrics.record(&[
            d(ok, 10.0),
            d(ok, 20.0),
            d(slow, 200.0),
            r(ok),
            r(ok),
            r(slow),
        ]);
        let eval = t.evaluate(&mut metrics.store(), Duration::from_secs(1));
        let results: Vec<(bool, f64)> = t.list.iter().map(|t| (t.failed, t.observed)).collect();
        assert!(results[0].0, "p(95) of 10,20,200 is ~200");
        assert_eq!(results[1], (false, 20.0));
        assert_eq!(results[2], (false, 3.0));
        assert_eq!(results[3], (true, 3.0));
        assert!(eval.failed);
        assert!(eval.abort.is_none());
    }

    #[test]
    fn abort_on_fail_waits_for_its_delay() {
        let metrics = Metrics::new();
        let mut m = BTreeMap::new();
        m.insert(
            "http_reqs".to_string(),
            vec![ThresholdSpec::Long(crate::options::LongThreshold {
                threshold: "count>100".into(),
                abort_on_fail: true,
                delay_abort_eval: Some(crate::options::Dur(Duration::from_secs(10))),
            })],
        );
        let mut t = Thresholds::build(&m, &metrics).unwrap();
        assert!(t
            .evaluate(&mut metrics.store(), Duration::from_secs(5))
            .abort
            .is_none());
        assert!(t
            .evaluate(&mut metrics.store(), Duration::from_secs(11))
            .abort
            .is_some());
    }
}
