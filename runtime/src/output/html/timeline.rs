//! The report's time series: samples folded into intervals (about 600 over the planned test),
//! each with its request rate, VUs, latency percentiles, failures and data. An interval keeps
//! an HDR histogram only while open; when it closes (a few seconds after its end, for samples
//! still on their way) its percentiles are taken and the histogram dropped.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::metrics::{builtin, Sample};

/// Intervals a report aims for over the planned duration.
const TARGET_POINTS: u64 = 600;
/// Intervals kept at most: past this, neighbours are merged (a test far longer than planned).
const MAX_POINTS: usize = 2400;
/// How long after its end an interval waits for late samples.
const GRACE_NS: u64 = 3_000_000_000;

/// One closed interval.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Point {
    /// Start, seconds on the metrics' clock.
    pub t: f64,
    /// Length, seconds.
    pub len: f64,
    /// `http_reqs`.
    pub reqs: f64,
    /// Failed requests (`http_req_failed`).
    pub failed: u64,
    /// `iterations`.
    pub iterations: f64,
    /// Most `vus` seen.
    pub vus: f64,
    /// `http_req_duration` percentiles and mean (ms), absent without requests.
    pub p50: Option<f64>,
    /// p(90).
    pub p90: Option<f64>,
    /// p(95).
    pub p95: Option<f64>,
    /// p(99).
    pub p99: Option<f64>,
    /// Mean.
    pub avg: Option<f64>,
    /// `data_sent` (bytes).
    pub sent: f64,
    /// `data_received` (bytes).
    pub received: f64,
    /// Checks that passed.
    pub checks_ok: u64,
    /// Checks that failed.
    pub checks_failed: u64,
    /// `dropped_iterations`.
    pub dropped: f64,
}

#[derive(Default)]
struct Open {
    /// End, ns on the metrics' clock.
    end: u64,
    point: Point,
    hist: Option<Histogram<u64>>,
    sum: f64,
    count: u64,
}

impl Open {
    fn close(mut self) -> Point {
        if let Some(h) = self.hist.take().filter(|_| self.count > 0) {
            let q = |p: f64| crate::metrics::interpolated(&h, p, 1e6, (0.0, f64::INFINITY));
            self.point.p50 = Some(q(50.0));
            self.point.p90 = Some(q(90.0));
            self.point.p95 = Some(q(95.0));
            self.point.p99 = Some(q(99.0));
            self.point.avg = Some(self.sum / self.count as f64);
        }
        self.point
    }
}

/// Samples folded into intervals.
pub struct Timeline {
    width_ns: u64,
    /// Open intervals by their start (ns on the metrics' clock).
    open: BTreeMap<u64, Open>,
    closed: Vec<Point>,
    latest: u64,
}

impl Timeline {
    /// Intervals sized for a test planned to last `planned` (at least a second each).
    pub fn new(planned: Duration) -> Self {
        let width = planned.as_secs().div_ceil(TARGET_POINTS);
        Self {
            width_ns: width.max(1) * 1_000_000_000,
            open: BTreeMap::new(),
            closed: Vec::new(),
            latest: 0,
        }
    }

    /// Folds in a sample.
    pub fn add(&mut self, s: &Sample) {
        if self
            .closed
            .last()
            .is_some_and(|p| (s.time as f64) < (p.t + p.len) * 1e9)
        {
            // Its interval has closed: too late to count (a chart, not the summary).
            return;
        }
        let width_ns = self.width_ns;
        let start = s.time / width_ns * width_ns;
        let open = self.open.entry(start).or_insert_with(|| Open {
            end: start + width_ns,
            point: Point {
                t: start as f64 / 1e9,
                len: width_ns as f64 / 1e9,
                ..Point::default()
            },
            ..Open::default()
        });
        let p = &mut open.point;
        let v = if s.value.is_finite() { s.value } else { 0.0 };
        match s.metric {
            builtin::HTTP_REQS => p.reqs += v,
            builtin::HTTP_REQ_FAILED if v != 0.0 => p.failed += 1,
            builtin::ITERATIONS => p.iterations += v,
            builtin::VUS => p.vus = p.vus.max(v),
            builtin::DATA_SENT => p.sent += v,
            builtin::DATA_RECEIVED => p.received += v,
            builtin::DROPPED_ITERATIONS => p.dropped += v,
            builtin::CHECKS if v != 0.0 => p.checks_ok += 1,
            builtin::CHECKS => p.checks_failed += 1,
            builtin::HTTP_REQ_DURATION => {
                let h = open
                    .hist
                    .get_or_insert_with(|| Histogram::new(3).expect("a valid precision"));
                let _ = h.record((v * 1e6).clamp(0.0, (u64::MAX >> 2) as f64) as u64);
                open.sum += v;
                open.count += 1;
            }
            _ => {}
        }
        if s.time > self.latest {
            self.latest = s.time;
            self.close_before(self.latest.saturating_sub(GRACE_NS));
        }
    }

    fn close_before(&mut self, t: u64) {
        while let Some((&start, open)) = self.open.first_key_value() {
            if open.end > t {
                break;
            }
            let open = self.open.remove(&start).expect("present");
            self.closed.push(open.close());
        }
        if self.closed.len() > MAX_POINTS {
            self.coarsen();
        }
    }

    /// Halves the number of points by merging neighbours (percentiles: count-weighted means,
    /// approximate; counts exact), and doubles the width of intervals to come.
    fn coarsen(&mut self) {
        let old = std::mem::take(&mut self.closed);
        for pair in old.chunks(2) {
            let mut a = pair[0].clone();
            if let Some(b) = pair.get(1) {
                let (wa, wb) = (a.reqs, b.reqs);
                let mix = |x: Option<f64>, y: Option<f64>| match (x, y) {
                    (Some(x), Some(y)) if wa + wb > 0.0 => Some((x * wa + y * wb) / (wa + wb)),
                    (x, None) => x,
                    (None, y) => y,
                    (x, _) => x,
                };
                a.p50 = mix(a.p50, b.p50);
                a.p90 = mix(a.p90, b.p90);
                a.p95 = mix(a.p95, b.p95);
                a.p99 = mix(a.p99, b.p99);
                a.avg = mix(a.avg, b.avg);
                a.len += b.len;
                a.reqs += b.reqs;
                a.failed += b.failed;
                a.iterations += b.iterations;
                a.vus = a.vus.max(b.vus);
                a.sent += b.sent;
                a.received += b.received;
                a.checks_ok += b.checks_ok;
                a.checks_failed += b.checks_failed;
                a.dropped += b.dropped;
            }
            self.closed.push(a);
        }
        self.width_ns *= 2;
    }

    /// Closes every interval and returns them all, oldest first.
    pub fn finish(&mut self) -> Vec<Point> {
        self.close_before(u64::MAX);
        self.closed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MetricId, TagSetId};

    fn s(metric: MetricId, value: f64, secs: f64) -> Sample {
        Sample {
            metric,
            tags: TagSetId(0),
            value,
            time: (secs * 1e9) as u64,
        }
    }

    #[test]
    fn intervals_count_exactly_and_take_percentiles() {
        let mut t = Timeline::new(Duration::from_secs(60));
        for i in 0..100 {
            t.add(&s(builtin::HTTP_REQS, 1.0, 0.5));
            t.add(&s(builtin::HTTP_REQ_DURATION, f64::from(i + 1), 0.5));
        }
        t.add(&s(builtin::HTTP_REQ_FAILED, 1.0, 1.2));
        t.add(&s(builtin::VUS, 7.0, 1.5));
        t.add(&s(builtin::HTTP_REQS, 1.0, 10.0)); // closes 0 s and 1 s
        let points = t.finish();
        assert_eq!(points.len(), 3);
        assert_eq!((points[0].reqs, points[0].failed), (100.0, 0));
        assert!((points[0].p99.unwrap() - 99.0).abs() < 0.2);
        assert_eq!((points[1].failed, points[1].vus), (1, 7.0));
        assert_eq!(points[1].p50, None);
        assert_eq!(points.iter().map(|p| p.reqs).sum::<f64>(), 101.0);
    }

    #[test]
    fn a_test_far_longer_than_planned_stays_bounded_and_counts_everything() {
        let mut t = Timeline::new(Duration::from_secs(10));
        let n = 10_000;
        for i in 0..n {
            t.add(&s(builtin::HTTP_REQS, 1.0, f64::from(i)));
        }
        let points = t.finish();
        assert!(points.len() <= MAX_POINTS, "{}", points.len());
        assert_eq!(points.iter().map(|p| p.reqs).sum::<f64>(), f64::from(n));
    }
}
