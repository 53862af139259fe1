//! Periodic aggregates for outputs that push to time-series databases: samples folded per
//! series (a metric and a tag set), cumulative since the start of the test, as Prometheus
//! counters and OpenTelemetry's cumulative temporality expect. Each push sends the series
//! updated since the last one.
//!
//! A trend keeps what its output asked for: exact count, sum, min and max always; an HDR
//! histogram only when percentiles are wanted; exponential buckets for native histograms;
//! explicit buckets for OTLP. The number of series is bounded ([`MAX_SERIES`]): a script that
//! puts a new URL in a tag on every request cannot make an output grow without end.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::metrics::{MetricId, MetricType, Sample, TagSetId};

/// Series an output keeps; samples of further series are counted in [`Aggregator::overflow`].
pub const MAX_SERIES: usize = 10_000;

/// What a trend's series keep, besides count, sum, min and max.
#[derive(Debug, Clone, Default)]
pub struct TrendNeeds {
    /// An HDR histogram for percentiles.
    pub percentiles: bool,
    /// Exponential buckets of this schema (Prometheus native histograms).
    pub native_schema: Option<i32>,
    /// Explicit bucket bounds (OTLP histograms).
    pub bounds: Option<Vec<f64>>,
}

/// A trend series' state.
#[derive(Debug, Clone)]
pub struct TrendAgg {
    /// Samples.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// For percentiles (values scaled to millionths, as the summary's trends are).
    pub hist: Option<Histogram<u64>>,
    /// Native histogram buckets: index → count; values at or below the zero threshold.
    pub native: Option<(BTreeMap<i32, u64>, u64)>,
    /// Explicit bucket counts (one more than the bounds).
    pub buckets: Option<Vec<u64>>,
}

/// Native histograms' zero threshold (client_golang's default, 2^-128).
pub const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

/// The exponential bucket of `v` (> zero threshold) with `schema`: bucket `i` holds
/// `(base^(i-1), base^i]`, `base = 2^(2^-schema)`.
pub fn native_index(v: f64, schema: i32) -> i32 {
    let (frac, exp) = frexp(v);
    if schema > 0 {
        // v = frac · 2^exp with frac in [0.5, 1): the bucket within the power of two.
        let per = 1i32 << schema;
        let within = (frac.log2() * f64::from(per)).ceil() as i32;
        exp * per + within
    } else {
        let shift = -schema;
        let i = if frac == 0.5 { exp - 1 } else { exp };
        (i + (1 << shift) - 1) >> shift
    }
}

/// `v = frac · 2^exp`, `frac` in `[0.5, 1)`, for positive finite `v`.
fn frexp(v: f64) -> (f64, i32) {
    let bits = v.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    if exp_bits == 0 {
        // Subnormal: scale up first.
        let (f, e) = frexp(v * 2f64.powi(64));
        return (f, e - 64);
    }
    let exp = exp_bits - 1022;
    let frac = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (frac, exp)
}

impl TrendAgg {
    fn new(needs: &TrendNeeds) -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            // Two significant digits (1%): percentiles pushed every few seconds to a dashboard
            // need no more, and a series' histogram costs an eighth of the summary's.
            hist: needs
                .percentiles
                .then(|| Histogram::new(2).expect("2 significant digits is a valid precision")),
            native: needs.native_schema.map(|_| (BTreeMap::new(), 0)),
            buckets: needs.bounds.as_ref().map(|b| vec![0; b.len() + 1]),
        }
    }

    fn add(&mut self, v: f64, needs: &TrendNeeds, native_value: f64) {
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        if self.count == 0 || v > self.max {
            self.max = v;
        }
        self.count += 1;
        self.sum += v;
        if let Some(h) = &mut self.hist {
            let _ = h.record((v * 1e6).clamp(0.0, (u64::MAX >> 2) as f64) as u64);
        }
        if let (Some((buckets, zero)), Some(schema)) = (&mut self.native, needs.native_schema) {
            if native_value <= ZERO_THRESHOLD {
                *zero += 1;
            } else {
                *buckets
                    .entry(native_index(native_value, schema))
                    .or_default() += 1;
            }
        }
        if let (Some(counts), Some(bounds)) = (&mut self.buckets, &needs.bounds) {
            // OTLP explicit buckets: (bounds[i-1], bounds[i]], the last one unbounded.
            let i = bounds.partition_point(|b| *b < v);
            counts[i] += 1;
        }
    }

    /// The mean.
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The `p`th percentile (0–100), as k6 computes it, within 1%, kept inside min and max.
    pub fn percentile(&self, p: f64) -> f64 {
        let Some(h) = &self.hist else { return 0.0 };
        if self.count == 0 {
            return 0.0;
        }
        let bounds = (self.min.max(0.0).min(self.max), self.max);
        crate::metrics::interpolated(h, p, 1e6, bounds)
    }
}

/// A series' folded samples.
#[derive(Debug, Clone)]
pub enum Agg {
    /// The sum.
    Counter(f64),
    /// The last value.
    Gauge(f64),
    /// Non-zero samples and all samples.
    Rate {
        /// Non-zero.
        trues: u64,
        /// All.
        total: u64,
    },
    /// A distribution.
    Trend(Box<TrendAgg>),
}

/// One series.
#[derive(Debug, Clone)]
pub struct Series {
    /// The metric.
    pub metric: MetricId,
    /// The tags.
    pub tags: TagSetId,
    /// Folded samples since the start.
    pub agg: Agg,
    /// The latest sample's time (ns on the metrics' clock).
    pub latest: u64,
    /// Changed since the last [`Aggregator::take_updated`].
    updated: bool,
}

/// A metric of a tag set that has no series yet.
const NO_SERIES: u32 = u32::MAX;
/// A metric of a tag set whose samples are past [`MAX_SERIES`].
const OVERFLOWED: u32 = u32::MAX - 1;

/// Series of an output.
pub struct Aggregator {
    /// Per tag set id (they are dense), per metric id: the index of the series in `series`
    /// ([`NO_SERIES`] or [`OVERFLOWED`] when it has none) — two array lookups per sample.
    index: Vec<Vec<u32>>,
    series: Vec<Series>,
    updated: Vec<usize>,
    needs: TrendNeeds,
    /// Per metric id: trend values are multiplied by this before native bucketing (e.g. ms
    /// to seconds); 1 when not set.
    native_scale: Vec<f64>,
    /// Samples of series past [`MAX_SERIES`].
    pub overflow: u64,
}

impl Aggregator {
    /// An aggregator whose trends keep `needs`.
    pub fn new(needs: TrendNeeds) -> Self {
        Self {
            index: Vec::new(),
            series: Vec::new(),
            updated: Vec::new(),
            needs,
            native_scale: Vec::new(),
            overflow: 0,
        }
    }

    /// Native buckets of `metric` are made of its values times `scale`.
    pub fn set_native_scale(&mut self, metric: MetricId, scale: f64) {
        let m = usize::from(metric.0);
        if self.native_scale.len() <= m {
            self.native_scale.resize(m + 1, 1.0);
        }
        self.native_scale[m] = scale;
    }

    /// Whether a native scale was set for `metric`.
    pub fn has_native_scale(&self, metric: MetricId) -> bool {
        self.native_scale
            .get(usize::from(metric.0))
            .is_some_and(|&s| s != 1.0)
    }

    /// Folds in `s`, a sample of a metric of type `kind`.
    pub fn add(&mut self, s: &Sample, kind: MetricType) {
        self.fold(s, |_| kind);
    }

    /// Folds in `s`; `kind_of` tells its metric's type when it starts a series.
    #[inline]
    fn fold(&mut self, s: &Sample, kind_of: impl Fn(MetricId) -> MetricType) {
        let at = match self
            .index
            .get(s.tags.0 as usize)
            .and_then(|row| row.get(usize::from(s.metric.0)))
        {
            Some(&at) if at < OVERFLOWED => at as usize,
            Some(&OVERFLOWED) => {
                self.overflow += 1;
                return;
            }
            _ => match self.new_series(s, kind_of(s.metric)) {
                Some(at) => at,
                None => return,
            },
        };
        let series = &mut self.series[at];
        let v = if s.value.is_finite() { s.value } else { 0.0 };
        match &mut series.agg {
            Agg::Counter(sum) => *sum += v,
            Agg::Gauge(last) => *last = v,
            Agg::Rate { trues, total } => {
                *total += 1;
                if v != 0.0 {
                    *trues += 1;
                }
            }
            Agg::Trend(t) => {
                let scale = self
                    .native_scale
                    .get(usize::from(s.metric.0))
                    .copied()
                    .unwrap_or(1.0);
                t.add(v, &self.needs, v * scale);
            }
        }
        series.latest = series.latest.max(s.time);
        if !series.updated {
            series.updated = true;
            self.updated.push(at);
        }
    }

    /// Makes the series of `s`'s metric and tags, or counts `s` as overflow past
    /// [`MAX_SERIES`].
    #[cold]
    fn new_series(&mut self, s: &Sample, kind: MetricType) -> Option<usize> {
        let (t, m) = (s.tags.0 as usize, usize::from(s.metric.0));
        if self.index.len() <= t {
            self.index.resize_with(t + 1, Vec::new);
        }
        let row = &mut self.index[t];
        if row.len() <= m {
            row.resize(m + 1, NO_SERIES);
        }
        if self.series.len() >= MAX_SERIES {
            row[m] = OVERFLOWED;
            self.overflow += 1;
            return None;
        }
        let agg = match kind {
            MetricType::Counter => Agg::Counter(0.0),
            MetricType::Gauge => Agg::Gauge(0.0),
            MetricType::Rate => Agg::Rate { trues: 0, total: 0 },
            MetricType::Trend => Agg::Trend(Box::new(TrendAgg::new(&self.needs))),
        };
        self.series.push(Series {
            metric: s.metric,
            tags: s.tags,
            agg,
            latest: 0,
            updated: false,
        });
        row[m] = (self.series.len() - 1) as u32;
        Some(self.series.len() - 1)
    }

    /// Folds in a batch; `kind_of` is asked a metric's type when a series starts.
    pub fn add_batch(&mut self, batch: &[Sample], kind_of: impl Fn(MetricId) -> MetricType) {
        for s in batch {
            self.fold(s, &kind_of);
        }
    }

    /// The series updated since the last call.
    pub fn take_updated(&mut self) -> Vec<&Series> {
        let updated = std::mem::take(&mut self.updated);
        for &i in &updated {
            self.series[i].updated = false;
        }
        updated.into_iter().map(|i| &self.series[i]).collect()
    }

    /// Every series.
    pub fn all(&self) -> &[Series] {
        &self.series
    }
}

/// An error for the samples of series past [`MAX_SERIES`] since the last call, if any.
pub fn overflowed(agg: &Aggregator, reported: &mut u64) -> Result<(), String> {
    let n = agg.overflow - *reported;
    if n == 0 {
        return Ok(());
    }
    *reported = agg.overflow;
    Err(format!(
        "{n} samples belonged to series past the first {MAX_SERIES} (too many tag combinations: a URL in a tag?) and were not sent"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::builtin;

    fn sample(metric: MetricId, tags: u32, value: f64, time: u64) -> Sample {
        Sample {
            metric,
            tags: TagSetId(tags),
            value,
            time,
        }
    }

    #[test]
    fn series_are_cumulative_and_pushed_when_updated() {
        let mut a = Aggregator::new(TrendNeeds {
            percentiles: true,
            ..TrendNeeds::default()
        });
        a.add(&sample(builtin::HTTP_REQS, 1, 1.0, 10), MetricType::Counter);
        a.add(&sample(builtin::HTTP_REQS, 1, 1.0, 20), MetricType::Counter);
        a.add(&sample(builtin::HTTP_REQS, 2, 1.0, 15), MetricType::Counter);
        for v in 1..=100 {
            a.add(
                &sample(builtin::HTTP_REQ_DURATION, 1, v as f64, 30),
                MetricType::Trend,
            );
        }
        let up = a.take_updated();
        assert_eq!(up.len(), 3);
        assert!(matches!(up[0].agg, Agg::Counter(c) if c == 2.0));
        assert_eq!(up[0].latest, 20);
        let Agg::Trend(t) = &up[2].agg else { panic!() };
        assert_eq!((t.count, t.min, t.max, t.sum), (100, 1.0, 100.0, 5050.0));
        assert!((t.percentile(99.0) - 99.0).abs() <= 1.0);
        assert!(a.take_updated().is_empty());
        a.add(&sample(builtin::HTTP_REQS, 2, 1.0, 40), MetricType::Counter);
        let up = a.take_updated();
        assert_eq!(up.len(), 1);
        assert!(matches!(up[0].agg, Agg::Counter(c) if c == 2.0));
    }

    #[test]
    fn series_are_bounded() {
        let mut a = Aggregator::new(TrendNeeds::default());
        for i in 0..(MAX_SERIES as u32 + 10) {
            a.add(&sample(builtin::HTTP_REQS, i, 1.0, 0), MetricType::Counter);
        }
        assert_eq!(a.all().len(), MAX_SERIES);
        assert_eq!(a.overflow, 10);
    }

    #[test]
    fn native_buckets_match_the_definition() {
        // Bucket i holds (base^(i-1), base^i]: check the bounds themselves and values near them.
        for schema in [-2, 0, 1, 3, 8] {
            let base = 2f64.powf(2f64.powi(-schema));
            for i in -40..40 {
                let upper = base.powi(i);
                let inside = upper * (1.0 - 1e-9);
                let above = upper * (1.0 + 1e-9);
                assert_eq!(native_index(inside, schema), i, "schema {schema}, {inside}");
                assert_eq!(
                    native_index(above, schema),
                    i + 1,
                    "schema {schema}, {above}"
                );
            }
        }
        assert_eq!(native_index(1.0, 3), 0);
        assert_eq!(native_index(2.0, 3), 8);
        assert_eq!(native_index(0.25, 0), -2);
    }

    #[test]
    fn explicit_buckets_are_upper_inclusive() {
        let needs = TrendNeeds {
            bounds: Some(vec![0.0, 5.0, 10.0]),
            ..TrendNeeds::default()
        };
        let mut a = Aggregator::new(needs);
        for v in [0.0, 3.0, 5.0, 7.0, 10.0, 11.0] {
            a.add(
                &sample(builtin::HTTP_REQ_DURATION, 0, v, 0),
                MetricType::Trend,
            );
        }
        let Agg::Trend(t) = &a.all()[0].agg else {
            panic!()
        };
        assert_eq!(t.buckets.as_deref(), Some(&[1, 2, 2, 1][..]));
    }
}
