//! Partial results merged into the whole test's metrics, after checking that they are the
//! parts of one test, each once, together covering all of it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{hdr, GeneratorPart, MetricPart, Partial, SinkPart};
use crate::cpu::CpuUse;
use crate::executor::{Segment, SegmentSequence};
use crate::metrics::{
    CheckStats, CounterSink, GaugeSink, MetricType, Metrics, RateSink, Sink, ValueType,
};
use crate::options::{Options, Source, ThresholdSpec};
use crate::output::GeneratorReport;

/// Partials that do not make one whole test (exit code 104).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

/// The whole test, rebuilt from its parts.
pub struct Merged {
    /// The metrics, folded as one run would have folded them.
    pub metrics: Metrics,
    /// The thresholds, as configured.
    pub thresholds: BTreeMap<String, Vec<ThresholdSpec>>,
    /// The options the instances ran with.
    pub options: Options,
    /// From the first instance's start to the last one's end.
    pub elapsed: Duration,
    /// All generators together; the warnings name the instance.
    pub generator: GeneratorReport,
    /// Why the test stopped early (`signal`, `script`, `threshold`), if an instance did.
    pub stopped: Option<(String, String)>,
    /// A failed `setup()` or `teardown()`'s exit code, if any.
    pub lifecycle_exit_code: Option<i32>,
    /// Whether the script marked the test failed on any instance.
    pub marked_failed: bool,
    /// The sequence the test was split by.
    pub sequence: SegmentSequence,
}

fn err(message: impl Into<String>) -> MergeError {
    MergeError(message.into())
}

/// Checks that `parts` (labelled by file) are the segments of one test, each once, covering
/// all of it.
fn check_parts(parts: &[(String, Partial)]) -> Result<(), MergeError> {
    let (first_label, first) = parts
        .first()
        .ok_or_else(|| err("no partial results to merge"))?;
    for (label, p) in &parts[1..] {
        if p.test.script_sha256 != first.test.script_sha256 {
            return Err(err(format!(
                "{label} and {first_label} are results of different scripts ({} and {}): merge the parts of one test only",
                p.test.script, first.test.script
            )));
        }
        if p.test.options_sha256 != first.test.options_sha256 {
            return Err(err(format!(
                "{label} and {first_label} are results of one script run with different options: merge the parts of one test only"
            )));
        }
        if p.sequence != first.sequence {
            return Err(err(format!(
                "{label} split the test by {} and {first_label} by {}: the parts of one test share one execution segment sequence",
                p.sequence, first.sequence
            )));
        }
    }
    let mut by_start: Vec<(&Segment, &str)> = parts
        .iter()
        .map(|(l, p)| (&p.segment, l.as_str()))
        .collect();
    by_start.sort_by(|a, b| a.0.from().cmp(&b.0.from()).then(a.0.to().cmp(&b.0.to())));
    let mut covered = crate::executor::segment::Fraction::ZERO;
    let mut last: Option<(&Segment, &str)> = None;
    for (seg, label) in by_start {
        if seg.from() < covered {
            let (prev, prev_label) = last.expect("something covered it");
            return Err(err(if prev == seg {
                format!("segment {seg} is in both {prev_label} and {label}: each part of the test must be merged once")
            } else {
                format!("segments {prev} ({prev_label}) and {seg} ({label}) overlap")
            }));
        }
        if seg.from() > covered {
            return Err(err(format!(
                "no partial result covers segment {covered}:{} of the test (sequence {}): the merge needs every part",
                seg.from(),
                first.sequence
            )));
        }
        covered = seg.to();
        last = Some((seg, label));
    }
    if covered != crate::executor::segment::Fraction::ONE {
        return Err(err(format!(
            "no partial result covers segment {covered}:1 of the test (sequence {}): the merge needs every part",
            first.sequence
        )));
    }
    Ok(())
}

fn metric_type(name: &str, kind: &str) -> Result<MetricType, MergeError> {
    Ok(match kind {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "rate" => MetricType::Rate,
        "trend" => MetricType::Trend,
        other => {
            return Err(err(format!(
                "metric `{name}` has an unknown type `{other}`"
            )))
        }
    })
}

fn value_type(contains: &str) -> ValueType {
    match contains {
        "time" => ValueType::Time,
        "data" => ValueType::Data,
        _ => ValueType::Default,
    }
}

/// A counter, gauge or rate from its partial form, checked against the metric's type (trends
/// are read in place: [`fold_part`]).
fn sink(kind: MetricType, part: &SinkPart, what: &str) -> Result<Sink, MergeError> {
    let mismatch = || err(format!("`{what}` is a {kind} but its values are not"));
    Ok(match (kind, part) {
        (MetricType::Counter, SinkPart::Counter { sum, samples }) => Sink::Counter(CounterSink {
            sum: *sum,
            samples: *samples,
        }),
        (MetricType::Gauge, SinkPart::Gauge { value, min, max }) => Sink::Gauge(GaugeSink {
            value: *value,
            min: *min,
            max: *max,
            seen: true,
        }),
        (MetricType::Rate, SinkPart::Rate { trues, total }) => {
            if trues > total {
                return Err(err(format!("`{what}` has more trues than samples")));
            }
            Sink::Rate(RateSink {
                trues: *trues,
                total: *total,
            })
        }
        _ => return Err(mismatch()),
    })
}

/// How the instances' values of one gauge combine into the whole test's.
#[derive(Clone, Copy)]
enum GaugeRule {
    /// VUs: each instance has its own, the test has them all.
    Sum,
    /// The generator's CPU use: the busiest instance's.
    Max,
    /// Anything else: the value of the instance that ended last; min and max over all.
    Last,
}

fn gauge_rule(name: &str) -> GaugeRule {
    match name {
        "vus" | "vus_max" => GaugeRule::Sum,
        "generator_cpu" => GaugeRule::Max,
        _ => GaugeRule::Last,
    }
}

/// Folds `next` (of an instance that ended at `end`) into `acc`.
fn fold(acc: &mut Option<(Sink, f64)>, next: Sink, end: f64, rule: GaugeRule) {
    let Some((have, have_end)) = acc else {
        *acc = Some((next, end));
        return;
    };
    match (have, &next, rule) {
        (Sink::Gauge(a), Sink::Gauge(b), GaugeRule::Sum) => {
            a.value += b.value;
            a.min += b.min;
            a.max += b.max;
        }
        (Sink::Gauge(a), Sink::Gauge(b), GaugeRule::Max) => {
            a.value = a.value.max(b.value);
            a.min = a.min.min(b.min);
            a.max = a.max.max(b.max);
        }
        (Sink::Gauge(a), Sink::Gauge(b), GaugeRule::Last) => {
            if end >= *have_end {
                a.value = b.value;
            }
            a.min = a.min.min(b.min);
            a.max = a.max.max(b.max);
        }
        (have, next, _) => have.merge(next),
    }
    *have_end = have_end.max(end);
}

/// Folds a partial's sink into `acc`. Trends are added bucket by bucket straight from their
/// serialisation ([`hdr::add_into`]); the rest as sinks.
fn fold_part(
    acc: &mut Option<(Sink, f64)>,
    kind: MetricType,
    part: &SinkPart,
    end: f64,
    rule: GaugeRule,
    what: &str,
) -> Result<(), MergeError> {
    if let SinkPart::Trend {
        count,
        sum,
        min,
        max,
        hdr: text,
    } = part
    {
        if kind != MetricType::Trend {
            return Err(err(format!("`{what}` is a {kind} but its values are not")));
        }
        let (have, have_end) = acc.get_or_insert_with(|| (Sink::new(MetricType::Trend), end));
        *have_end = have_end.max(end);
        let Sink::Trend(t) = have else {
            unreachable!("a trend's accumulator is a trend")
        };
        return t
            .merge_parts(*count, *sum, *min, *max, |h| hdr::add_into(text, h))
            .map_err(|e| err(format!("`{what}`: {e}")));
    }
    fold(acc, sink(kind, part, what)?, end, rule);
    Ok(())
}

/// A metric's folded sinks: the total, and each sub-metric with its filter and breakdown.
type Folded = (
    MetricType,
    ValueType,
    Option<(Sink, f64)>,
    BTreeMap<String, (Vec<(String, String)>, bool, Option<(Sink, f64)>)>,
);

fn fold_metric(
    into: &mut BTreeMap<String, Folded>,
    m: &MetricPart,
    end: f64,
    label: &str,
) -> Result<(), MergeError> {
    let kind = metric_type(&m.name, &m.kind)?;
    let entry = into
        .entry(m.name.clone())
        .or_insert_with(|| (kind, value_type(&m.contains), None, BTreeMap::new()));
    if entry.0 != kind {
        return Err(err(format!(
            "metric `{}` is a {} in {label} but a {} in another part",
            m.name, kind, entry.0
        )));
    }
    let rule = gauge_rule(&m.name);
    if let Some(part) = &m.sink {
        fold_part(&mut entry.2, kind, part, end, rule, &m.name)?;
    }
    for sub in &m.submetrics {
        let slot = entry
            .3
            .entry(sub.name.clone())
            .or_insert_with(|| (sub.filter.clone(), sub.breakdown, None));
        if slot.0 != sub.filter {
            return Err(err(format!(
                "sub-metric `{}` filters on different tags in {label}",
                sub.name
            )));
        }
        slot.1 &= sub.breakdown;
        fold_part(&mut slot.2, kind, &sub.sink, end, rule, &sub.name)?;
    }
    Ok(())
}

fn thresholds_of(
    parts: &[(String, Partial)],
) -> Result<BTreeMap<String, Vec<ThresholdSpec>>, MergeError> {
    let mut chosen: Option<(&str, &BTreeMap<String, Vec<ThresholdSpec>>)> = None;
    for (label, p) in parts {
        if p.thresholds.is_empty() {
            continue; // run with --no-thresholds
        }
        match chosen {
            Some((other, t)) if *t != p.thresholds => {
                return Err(err(format!(
                    "{label} and {other} were configured with different thresholds"
                )))
            }
            _ => chosen = Some((label, &p.thresholds)),
        }
    }
    Ok(chosen.map(|(_, t)| t.clone()).unwrap_or_default())
}

fn generator(parts: &[(String, Partial)]) -> GeneratorReport {
    let mut g = GeneratorReport::default();
    let mut wall = 0.0f64;
    for (i, (_, p)) in parts.iter().enumerate() {
        let part: &GeneratorPart = &p.generator;
        g.cpu.user += Duration::from_secs_f64(part.cpu_user_s.max(0.0));
        g.cpu.sys += Duration::from_secs_f64(part.cpu_system_s.max(0.0));
        g.cpu.cores += part.cores;
        wall = wall.max(part.wall_s);
        g.peak_rss = g.peak_rss.max(part.peak_rss_bytes);
        g.vus_made += part.vus_made;
        g.vus_init = g
            .vus_init
            .max(Duration::from_secs_f64(part.vus_init_ms.max(0.0) / 1000.0));
        g.vu_threads_busy = match (g.vu_threads_busy, part.vu_threads_busy) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for w in &part.warnings {
            g.warnings.push(format!(
                "generator {} of {} ({}, segment {}): {w}",
                i + 1,
                parts.len(),
                part.host,
                p.segment
            ));
        }
    }
    g.cpu = CpuUse {
        wall: Duration::from_secs_f64(wall.max(0.0)),
        ..g.cpu
    };
    g
}

/// The store of the whole test: every metric's folded sinks, checks and groups.
fn rebuild(
    folded: BTreeMap<String, Folded>,
    parts: &[(String, Partial)],
) -> Result<Metrics, MergeError> {
    let metrics = Metrics::new();
    {
        let mut store = metrics.store();
        for (name, (kind, contains, total, subs)) in folded {
            let id = match metrics.registry.id(&name) {
                Some(id) if metrics.registry.def(id).builtin => {
                    if metrics.registry.def(id).kind != kind {
                        return Err(err(format!(
                            "`{name}` is a built-in {}, not a {kind}",
                            metrics.registry.def(id).kind
                        )));
                    }
                    id
                }
                _ => metrics
                    .registry
                    .register(&name, kind, contains)
                    .map_err(err)?,
            };
            if let Some((sink, _)) = total {
                store.merge_total(id, &sink);
            }
            for (sub_name, (filter, breakdown, sink)) in subs {
                if breakdown {
                    store.add_breakdown_submetric(&sub_name, id, filter);
                } else {
                    store.add_submetric(&sub_name, id, filter);
                }
                if let Some((sink, _)) = sink {
                    store.merge_submetric(&sub_name, &sink);
                }
            }
        }
        for (_, p) in parts {
            for g in &p.groups {
                store.merge_group(g);
            }
            for c in &p.checks {
                store.merge_check(&CheckStats {
                    group: c.group.clone(),
                    name: c.name.clone(),
                    passes: c.passes,
                    fails: c.fails,
                });
            }
        }
    }

    Ok(metrics)
}

/// Merges partial results, each labelled (by its file name) for messages.
pub fn merge(mut parts: Vec<(String, Partial)>) -> Result<Merged, MergeError> {
    check_parts(&parts)?;
    parts.sort_by_key(|p| p.1.segment.from());
    let first = &parts[0].1;
    let options = serde_json::to_string(&first.test.options)
        .ok()
        .and_then(|json| Options::from_json(&json, &Source::Script).ok())
        .ok_or_else(|| err(format!("{}: its options cannot be read back", parts[0].0)))?;

    let mut folded: BTreeMap<String, Folded> = BTreeMap::new();
    let (mut start, mut end) = (f64::INFINITY, f64::NEG_INFINITY);
    for (label, p) in &parts {
        let p_end = p.window.start_unix_ms + p.window.duration_ms;
        start = start.min(p.window.start_unix_ms);
        end = end.max(p_end);
        for m in &p.metrics {
            fold_metric(&mut folded, m, p_end, label)?;
        }
    }

    let metrics = rebuild(folded, &parts)?;

    let longest = parts
        .iter()
        .map(|(_, p)| p.window.duration_ms)
        .fold(0.0f64, f64::max);
    let elapsed_ms = (end - start).max(longest).max(1.0);
    let stopped = ["signal", "script", "threshold"].iter().find_map(|kind| {
        parts
            .iter()
            .find_map(|(_, p)| p.outcome.stopped.clone().filter(|(k, _)| k == kind))
    });
    Ok(Merged {
        metrics,
        thresholds: thresholds_of(&parts)?,
        options,
        elapsed: Duration::from_secs_f64(elapsed_ms / 1000.0),
        generator: generator(&parts),
        stopped,
        lifecycle_exit_code: parts
            .iter()
            .find_map(|(_, p)| p.outcome.lifecycle_exit_code),
        marked_failed: parts.iter().any(|(_, p)| p.outcome.marked_failed),
        sequence: first.sequence.clone(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::executor::ExecutionTuple;
    use crate::metrics::{builtin, Sample, TagSet};
    use crate::partial::{capture, OutcomePart, RunFacts};

    /// A sample: its metric, value and tags.
    type Raw<'a> = (crate::metrics::MetricId, f64, &'a [(&'a str, &'a str)]);

    /// A partial of segment `index` of `n`, with `samples`.
    fn part(n: u64, index: usize, samples: &[Raw<'_>], generator: &GeneratorReport) -> Partial {
        let metrics = Metrics::new();
        metrics.store().add_submetric(
            "http_req_duration{status:200}",
            builtin::HTTP_REQ_DURATION,
            vec![("status".into(), "200".into())],
        );
        let batch: Vec<Sample> = samples
            .iter()
            .map(|(metric, value, tags)| Sample {
                metric: *metric,
                tags: metrics
                    .tags
                    .intern(TagSet::from_pairs(tags.iter().copied())),
                value: *value,
                time: 0,
            })
            .collect();
        metrics.record(&batch);
        let seq = SegmentSequence::even(n).unwrap();
        let tuple = ExecutionTuple::of_index(&seq, index).unwrap();
        let options = Options::default();
        let facts = RunFacts {
            script: "t.wasm",
            script_sha256: "abc",
            options: &options,
            tuple: &tuple,
            thresholds: Default::default(),
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1000),
            run_time: Duration::from_secs(10),
            generator,
            outcome: OutcomePart::default(),
        };
        let store = metrics.store();
        let p = capture(&store, &facts).unwrap();
        drop(store);
        p
    }

    fn label(parts: Vec<Partial>) -> Vec<(String, Partial)> {
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("part-{i}.json"), p))
            .collect()
    }

    #[test]
    fn merged_parts_equal_one_store_of_every_sample() {
        let ok: &[(&str, &str)] = &[("status", "200"), ("check", "c")];
        let bad: &[(&str, &str)] = &[("status", "500"), ("check", "c")];
        let mut all = Vec::new();
        let mut parts = Vec::new();
        for i in 0..3usize {
            let mut samples = Vec::new();
            for k in 0..500 {
                let v = ((k * 37 + i * 11) % 997) as f64 / 3.0;
                let tags = if k % 10 == 0 { bad } else { ok };
                samples.push((builtin::HTTP_REQ_DURATION, v, tags));
                samples.push((builtin::HTTP_REQS, 1.0, tags));
                samples.push((builtin::CHECKS, if k % 10 == 0 { 0.0 } else { 1.0 }, tags));
            }
            samples.push((builtin::VUS, 4.0, &[]));
            all.extend(samples.clone());
            parts.push(part(3, i, &samples, &GeneratorReport::default()));
        }
        let merged = merge(label(parts)).unwrap();
        let one = Metrics::new();
        let sub = one.store().add_submetric(
            "http_req_duration{status:200}",
            builtin::HTTP_REQ_DURATION,
            vec![("status".into(), "200".into())],
        );
        for (metric, value, tags) in &all {
            let tags = one.tags.intern(TagSet::from_pairs(tags.iter().copied()));
            one.record(&[Sample {
                metric: *metric,
                tags,
                value: *value,
                time: 0,
            }]);
        }
        let (m, o) = (merged.metrics.store(), one.store());
        let trend = |s: &Sink| match s {
            Sink::Trend(t) => (
                t.count,
                t.min,
                t.max,
                t.percentile(50.0),
                t.percentile(95.0),
                t.percentile(99.9),
            ),
            _ => panic!("not a trend"),
        };
        let d = builtin::HTTP_REQ_DURATION;
        assert_eq!(trend(m.total(d).unwrap()), trend(o.total(d).unwrap()));
        let msub = m
            .submetrics()
            .iter()
            .find(|s| s.name == "http_req_duration{status:200}")
            .unwrap();
        assert_eq!(trend(&msub.sink), trend(&o.submetric(sub).sink));
        let Some(Sink::Counter(c)) = m.total(builtin::HTTP_REQS) else {
            panic!()
        };
        assert_eq!(c.sum, 1500.0);
        assert_eq!((m.checks()[0].passes, m.checks()[0].fails), (1350, 150));
        // VUs: each instance's own, added up.
        let Some(Sink::Gauge(v)) = m.total(builtin::VUS) else {
            panic!()
        };
        assert_eq!(v.value, 12.0);
    }

    #[test]
    fn parts_that_do_not_make_one_test_are_refused() {
        let g = GeneratorReport::default();
        let p = |n, i| part(n, i, &[(builtin::HTTP_REQS, 1.0, &[])], &g);
        let e = merge(label(vec![p(3, 0), p(3, 2)])).err().unwrap().0;
        assert!(e.contains("covers segment 1/3:2/3"), "{e}");
        let e = merge(label(vec![p(3, 0), p(3, 1)])).err().unwrap().0;
        assert!(e.contains("covers segment 2/3:1"), "{e}");
        let e = merge(label(vec![p(3, 0), p(3, 1), p(3, 1), p(3, 2)]))
            .err()
            .unwrap()
            .0;
        assert!(e.contains("is in both part-1.json and part-2.json"), "{e}");
        let e = merge(label(vec![p(2, 0), p(3, 1), p(3, 2)]))
            .err()
            .unwrap()
            .0;
        assert!(e.contains("split the test by"), "{e}");
        let mut other = p(3, 2);
        other.test.script_sha256 = "def".into();
        let e = merge(label(vec![p(3, 0), p(3, 1), other])).err().unwrap().0;
        assert!(e.contains("different scripts"), "{e}");
        let mut lie = p(1, 0);
        if let Some(SinkPart::Counter { .. }) = lie.metrics[0].sink {
            lie.metrics[0].sink = Some(SinkPart::Rate { trues: 2, total: 1 });
        }
        assert!(merge(label(vec![lie])).is_err());
        assert!(merge(Vec::new()).is_err());
    }

    #[test]
    fn the_merged_summary_names_the_generator_that_saturated() {
        let busy = GeneratorReport {
            warnings: vec!["the load generator used 97% of its 2 cores".into()],
            ..GeneratorReport::default()
        };
        let quiet = GeneratorReport::default();
        let s = &[(builtin::HTTP_REQS, 1.0, &[][..])];
        let merged = merge(label(vec![part(2, 0, s, &quiet), part(2, 1, s, &busy)])).unwrap();
        assert_eq!(merged.generator.warnings.len(), 1);
        let w = &merged.generator.warnings[0];
        assert!(
            w.starts_with("generator 2 of 2") && w.contains("segment 1/2:1") && w.contains("97%"),
            "{w}"
        );
    }
}
