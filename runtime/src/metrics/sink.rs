//! Sinks: where a metric's samples are folded into the values the summary and thresholds
//! use. Trends keep an HDR histogram (3 significant digits), never the samples themselves.

use hdrhistogram::Histogram;

use super::MetricType;

/// Trend values are stored in millionths: milliseconds become nanoseconds.
const TREND_SCALE: f64 = 1_000_000.0;

/// Folded samples of one metric (or sub-metric).
#[derive(Debug, Clone)]
pub enum Sink {
    /// See [`CounterSink`].
    Counter(CounterSink),
    /// See [`GaugeSink`].
    Gauge(GaugeSink),
    /// See [`RateSink`].
    Rate(RateSink),
    /// See [`TrendSink`].
    Trend(Box<TrendSink>),
}

impl Sink {
    /// An empty sink for a metric of type `kind`.
    pub fn new(kind: MetricType) -> Self {
        match kind {
            MetricType::Counter => Sink::Counter(CounterSink::default()),
            MetricType::Gauge => Sink::Gauge(GaugeSink::default()),
            MetricType::Rate => Sink::Rate(RateSink::default()),
            MetricType::Trend => Sink::Trend(Box::default()),
        }
    }

    /// Folds in one sample.
    #[inline]
    pub fn add(&mut self, value: f64) {
        match self {
            Sink::Counter(s) => s.add(value),
            Sink::Gauge(s) => s.add(value),
            Sink::Rate(s) => s.add(value),
            Sink::Trend(s) => s.add(value),
        }
    }

    /// Whether no sample was folded in.
    pub fn is_empty(&self) -> bool {
        match self {
            Sink::Counter(s) => s.samples == 0,
            Sink::Gauge(s) => !s.seen,
            Sink::Rate(s) => s.total == 0,
            Sink::Trend(s) => s.count == 0,
        }
    }

    /// Folds another sink of the same type into this one.
    pub fn merge(&mut self, other: &Sink) {
        match (self, other) {
            (Sink::Counter(a), Sink::Counter(b)) => {
                a.sum += b.sum;
                a.samples += b.samples;
            }
            (Sink::Gauge(a), Sink::Gauge(b)) if b.seen => {
                if !a.seen {
                    *a = b.clone();
                } else {
                    a.value = b.value;
                    a.min = a.min.min(b.min);
                    a.max = a.max.max(b.max);
                }
            }
            (Sink::Rate(a), Sink::Rate(b)) => {
                a.trues += b.trues;
                a.total += b.total;
            }
            (Sink::Trend(a), Sink::Trend(b)) => a.merge(b),
            _ => {}
        }
    }
}

/// A sum.
#[derive(Debug, Clone, Default)]
pub struct CounterSink {
    /// Sum of the samples.
    pub sum: f64,
    /// Number of samples.
    pub samples: u64,
}

impl CounterSink {
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.samples += 1;
    }
}

/// The last value, with the smallest and largest seen.
#[derive(Debug, Clone, Default)]
pub struct GaugeSink {
    /// Last value.
    pub value: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Whether any value was seen.
    pub seen: bool,
}

impl GaugeSink {
    fn add(&mut self, v: f64) {
        if !self.seen {
            self.min = v;
            self.max = v;
            self.seen = true;
        }
        self.value = v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
}

/// How many samples were non-zero.
#[derive(Debug, Clone, Default)]
pub struct RateSink {
    /// Non-zero samples.
    pub trues: u64,
    /// All samples.
    pub total: u64,
}

impl RateSink {
    fn add(&mut self, v: f64) {
        self.total += 1;
        if v != 0.0 {
            self.trues += 1;
        }
    }

    /// The share of non-zero samples (0 when there were none).
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.trues as f64 / self.total as f64
        }
    }
}

/// A distribution: exact count, sum, min and max; percentiles from an HDR histogram.
#[derive(Debug, Clone)]
pub struct TrendSink {
    /// Number of samples.
    pub count: u64,
    /// Sum of the samples.
    pub sum: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    hist: Histogram<u64>,
}

impl Default for TrendSink {
    fn default() -> Self {
        Self {
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
        }
    }
}

impl TrendSink {
    fn add(&mut self, v: f64) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        self.sum += v;
        // Negative values cannot go in the histogram: percentiles treat them as 0, while
        // min, max and avg stay exact.
        let scaled = (v * TREND_SCALE).clamp(0.0, (u64::MAX >> 2) as f64) as u64;
        // The histogram resizes itself, so recording cannot fail.
        let _ = self.hist.record(scaled);
    }

    /// Folds another trend into this one, exactly: HDR histograms of the same precision add
    /// bucket by bucket, so the merge's percentiles are those of one trend of all samples.
    pub fn merge(&mut self, other: &TrendSink) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.count += other.count;
        self.sum += other.sum;
        let _ = self.hist.add(&other.hist);
    }

    /// Folds in another trend known by its exact count, sum, min and max, whose buckets `add`
    /// adds to this trend's histogram (returning how many samples it added, which must be
    /// `count`): a partial result's, read in place.
    pub fn merge_parts(
        &mut self,
        count: u64,
        sum: f64,
        min: f64,
        max: f64,
        add: impl FnOnce(&mut Histogram<u64>) -> Result<u64, String>,
    ) -> Result<(), String> {
        let added = add(&mut self.hist)?;
        if added != count {
            return Err(format!(
                "it counts {count} samples but its histogram holds {added}"
            ));
        }
        if count == 0 {
            return Ok(());
        }
        if self.count == 0 {
            (self.min, self.max) = (min, max);
        } else {
            self.min = self.min.min(min);
            self.max = self.max.max(max);
        }
        self.count += count;
        self.sum += sum;
        Ok(())
    }

    /// The histogram of the samples (values in millionths of their unit: nanoseconds for
    /// times in milliseconds), for serializing.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// The mean (0 without samples).
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The median.
    pub fn med(&self) -> f64 {
        self.percentile(50.0)
    }

    /// The `p`th percentile (0–100) as k6 computes it, within the histogram's 0.1% precision
    /// and never outside the exact min and max: see [`interpolated`].
    pub fn percentile(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        if p <= 0.0 {
            return self.min;
        }
        if p >= 100.0 {
            return self.max;
        }
        let lowest = self.min.max(0.0).min(self.max);
        interpolated(&self.hist, p, TREND_SCALE, (lowest, self.max))
    }
}

/// The `p`th percentile (0–100) of the samples in `hist` (recorded as value × `scale`) the
/// way k6 computes it from its sorted samples: at rank `p/100 × (count − 1)`, interpolated
/// linearly between the samples at the ranks below and above — the median of 1, 2, 3, 4 is
/// 2.5, and p(90) of 1…20 is 18.1. Each sample is its bucket's middle, kept within `bounds`
/// (the exact min and max).
pub fn interpolated(hist: &Histogram<u64>, p: f64, scale: f64, bounds: (f64, f64)) -> f64 {
    let n = hist.len();
    if n == 0 {
        return 0.0;
    }
    let at = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
    let below = at.floor() as u64;
    let frac = at - at.floor();
    let above = if frac > 0.0 { below + 1 } else { below };
    let value = |raw: u64| (hist.median_equivalent(raw) as f64 / scale).clamp(bounds.0, bounds.1);
    let (mut lo, mut seen) = (None, 0u64);
    for bucket in hist.iter_recorded() {
        seen += bucket.count_at_value();
        let v = bucket.value_iterated_to();
        if lo.is_none() && seen > below {
            lo = Some(value(v));
        }
        if seen > above {
            let lo = lo.unwrap_or_else(|| value(v));
            // In the histogram's own unit (a nanosecond for times): the same samples give the
            // same figure to the bit however the sum's rounding falls — a merge of histograms
            // and one histogram of every sample agree exactly.
            return ((lo + (value(v) - lo) * frac) * scale).round() / scale;
        }
    }
    bounds.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_percentiles_are_within_hdr_precision() {
        let mut t = TrendSink::default();
        for i in 1..=10_000 {
            t.add(i as f64 / 10.0); // 0.1 ms .. 1000 ms
        }
        assert_eq!(t.count, 10_000);
        assert_eq!(t.min, 0.1);
        assert_eq!(t.max, 1000.0);
        assert!((t.avg() - 500.05).abs() < 1e-9);
        for (p, exact) in [(50.0, 500.0), (90.0, 900.0), (95.0, 950.0), (99.0, 990.0)] {
            let got = t.percentile(p);
            assert!(
                (got - exact).abs() / exact < 0.002,
                "p({p}) = {got}, want ~{exact}"
            );
        }
    }

    /// k6's percentile: sorted samples, rank `p × (n − 1)`, linear between its neighbours.
    fn k6_percentile(sorted: &[f64], p: f64) -> f64 {
        let i = p / 100.0 * (sorted.len() - 1) as f64;
        let (j, k) = (sorted[i.floor() as usize], sorted[i.ceil() as usize]);
        j + (k - j) * (i - i.floor())
    }

    #[test]
    fn percentiles_interpolate_between_samples_as_k6_does() {
        let trend = |values: &[f64]| {
            let mut t = TrendSink::default();
            values.iter().for_each(|v| t.add(*v));
            t
        };
        let close = |got: f64, want: f64| (got - want).abs() <= want.abs() * 0.001 + 1e-9;
        let t = trend(&[1.0, 2.0, 3.0, 4.0]);
        assert!(close(t.med(), 2.5), "{}", t.med());
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        let t = trend(&twenty);
        for (p, want) in [(50.0, 10.5), (90.0, 18.1), (95.0, 19.05), (99.0, 19.81)] {
            assert!(close(t.percentile(p), want), "p({p}) = {}", t.percentile(p));
        }
        assert_eq!(trend(&[7.5]).percentile(95.0), 7.5);
        // Against k6's formula on the exact samples: 2,000 pseudo-random latencies from
        // 0.05 ms to about 30 s, every percentile from 1 to 99.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut values: Vec<f64> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                0.05 * (1.0 + (x % 1_000_000) as f64).powf(0.9)
            })
            .collect();
        let t = trend(&values);
        values.sort_by(f64::total_cmp);
        for p in 1..100 {
            let (got, want) = (
                t.percentile(f64::from(p)),
                k6_percentile(&values, f64::from(p)),
            );
            assert!(close(got, want), "p({p}) = {got}, k6: {want}");
        }
    }

    #[test]
    fn merged_trends_equal_one_trend_of_all_samples() {
        let (mut a, mut b, mut all) = (
            TrendSink::default(),
            TrendSink::default(),
            TrendSink::default(),
        );
        for i in 0..1000 {
            let v = (i * 7 % 1000) as f64;
            if i % 2 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a.count, all.count);
        assert_eq!(a.min, all.min);
        assert_eq!(a.max, all.max);
        assert_eq!(a.percentile(95.0), all.percentile(95.0));
    }

    #[test]
    fn rates_gauges_and_counters() {
        let mut r = Sink::new(MetricType::Rate);
        for v in [1.0, 0.0, 1.0, 1.0] {
            r.add(v);
        }
        let Sink::Rate(r) = r else { unreachable!() };
        assert_eq!(r.rate(), 0.75);
        let mut g = GaugeSink::default();
        for v in [5.0, 2.0, 9.0, 4.0] {
            g.add(v);
        }
        assert_eq!((g.value, g.min, g.max), (4.0, 2.0, 9.0));
        let mut c = CounterSink::default();
        c.add(2.0);
        c.add(3.5);
        assert_eq!(c.sum, 5.5);
    }
}
