//! Metrics: samples from every VU, folded into sinks per metric and sub-metric.
//!
//! A VU records into its own [`Recorder`] (no lock, no allocation per sample once its tag
//! sets are cached) and hands full batches to the shared [`Store`], one lock per batch.

mod recorder;
mod registry;
mod sink;
mod store;
mod system_tags;
mod tag_set;
mod tags;
pub mod window;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

pub use recorder::Recorder;
pub use registry::{
    builtin, valid_metric_name, MetricDef, MetricId, MetricType, Registry, ValueType,
};
pub use sink::{interpolated, CounterSink, GaugeSink, RateSink, Sink, TrendSink};
pub use store::{CheckStats, SampleTap, Store, SubmetricId};
pub use system_tags::SystemTags;
pub use tags::{Interned, TagInterner, TagSet, TagSetId, DEFAULT_MAX_SERIES, OVERFLOW};
pub use window::{ClosedWindow, WindowId, WindowSeries};

pub use stampede_host_api::http::millis;

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Which metric.
    pub metric: MetricId,
    /// Its tags.
    pub tags: TagSetId,
    /// The value (milliseconds for time metrics, bytes for data).
    pub value: f64,
    /// When, in nanoseconds since the test started.
    pub time: u64,
}

/// The metrics of a test, shared by every VU: cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    /// Metric definitions.
    pub registry: Arc<Registry>,
    /// Tag sets.
    pub tags: Arc<TagInterner>,
    store: Arc<Mutex<Store>>,
    start: Instant,
    /// When the test run began (setup, then the scenarios): after the script was built,
    /// compiled and its VUs made.
    begun: Arc<std::sync::OnceLock<Instant>>,
    /// The system tags samples carry (`systemTags`), set once the options are known.
    system_tags: Arc<std::sync::OnceLock<SystemTags>>,
}

impl Metrics {
    /// Metrics for a test starting now.
    pub fn new() -> Self {
        let registry = Arc::new(Registry::new());
        let tags = Arc::new(TagInterner::default());
        let start = Instant::now();
        Self {
            store: Arc::new(Mutex::new(Store::new(registry.clone(), tags.clone()))),
            registry,
            tags,
            start,
            begun: Arc::default(),
            system_tags: Arc::default(),
        }
    }

    /// Sets the system tags samples carry (k6's `systemTags`): for VUs made from now on. Only
    /// the first call counts.
    pub fn set_system_tags(&self, tags: SystemTags) {
        let _ = self.system_tags.set(tags);
    }

    /// The system tags samples carry (k6's default until set).
    pub fn system_tags(&self) -> SystemTags {
        self.system_tags.get().copied().unwrap_or_default()
    }

    /// Marks the start of the test run; later calls change nothing.
    pub fn begin_test(&self) {
        let _ = self.begun.set(Instant::now());
    }

    /// Time since the test run began (zero before it has).
    pub fn test_elapsed(&self) -> std::time::Duration {
        self.begun.get().map(Instant::elapsed).unwrap_or_default()
    }

    /// When the metrics' clock started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Nanoseconds since the start.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// The folded state, locked.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave a sink half-updated in a way that matters
        // more than losing the results: keep going with what is there.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A recorder for one VU.
    pub fn recorder(&self) -> Recorder {
        Recorder::new(self.clone())
    }

    /// Records samples directly (for the engine's own gauges; VUs use a [`Recorder`]).
    pub fn record(&self, samples: &[Sample]) {
        self.store().apply(samples);
    }

    /// Records the engine's own samples (VU counts, CPU use), untagged, now.
    pub fn record_untagged(&self, values: &[(MetricId, f64)]) {
        let tags = self.tag_set(&[]);
        let time = self.now();
        let samples: Vec<Sample> = values
            .iter()
            .map(|&(metric, value)| Sample {
                metric,
                tags,
                value,
                time,
            })
            .collect();
        self.record(&samples);
    }

    /// Once, after the first tag set was folded into an overflow series (see
    /// [`TagInterner::set_limit`]): the warning that says so and which tag to set.
    pub fn take_series_warning(&self) -> Option<String> {
        let lost = self.tags.take_overflow_notice()?;
        let lost = if lost.is_empty() {
            String::new()
        } else {
            format!(" (without their {} tags)", lost.join(", "))
        };
        Some(format!(
            "the test made more than {} metric series (distinct tag sets): new ones are folded into \
             series tagged name={OVERFLOW}{lost}, so that memory stays bounded. For URLs with IDs in \
             them, set the `name` tag to the URL's pattern (e.g. {{ tags: {{ name: '/user/{{id}}' }} }}); \
             or raise the limit with maxSeries (--max-series)",
            self.tags.limit()
        ))
    }

    /// The id of the tag set made of `pairs`.
    pub fn tag_set(&self, pairs: &[(&str, &str)]) -> TagSetId {
        self.tags.intern_pairs(pairs, &mut Vec::new()).id
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_are_the_nanoseconds_of_a_duration_over_a_million_to_the_last_digit() {
        let mut n: u64 = 1;
        while n < u64::MAX / 7 {
            for d in [n, n + 1, n * 3 - 1, 257_012, 999_999_999] {
                let d = std::time::Duration::from_nanos(d);
                assert_eq!(millis(d), d.as_nanos() as f64 / 1e6, "{d:?}");
            }
            n = n * 7 + 3;
        }
        assert_eq!(millis(std::time::Duration::from_nanos(257_012)), 0.257012);
    }

    #[test]
    fn the_test_clock_starts_when_the_run_begins_not_when_metrics_are_made() {
        let metrics = Metrics::new();
        std::thread::sleep(std::time::Duration::from_millis(30));
        assert_eq!(metrics.test_elapsed(), std::time::Duration::ZERO);
        metrics.begin_test();
        let first = metrics.test_elapsed();
        assert!(first < std::time::Duration::from_millis(30), "{first:?}");
        std::thread::sleep(std::time::Duration::from_millis(5));
        metrics.clone().begin_test(); // a second mark changes nothing
        assert!(metrics.test_elapsed() >= first + std::time::Duration::from_millis(5));
    }
}
