//! A step's own samples: every sample recorded from the end of the step's warm-up until its
//! last iteration ended, folded into a store of their own; and how many iterations completed
//! while the step's load was offered.
//!
//! Samples carry the time they were taken, so a sample that reaches the store late (VUs hand
//! samples over in batches) still lands in the right window.

use crate::metrics::{builtin, Sample, Store};

/// The samples of one step.
pub struct Window {
    from: u64,
    to: u64,
    store: Store,
    completed: f64,
    kept: Vec<Sample>,
}

impl Window {
    /// A window over samples taken from `from` on (nanoseconds on the metrics' clock); `to` is
    /// when the step stops offering load. `like` gives the metrics and sub-metrics.
    pub fn new(like: &Store, from: u64, to: u64) -> Self {
        Self {
            from,
            to,
            store: like.empty_like(),
            completed: 0.0,
            kept: Vec::new(),
        }
    }

    /// Folds in the samples of `batch` that fall in the window.
    pub fn fold(&mut self, batch: &[Sample]) {
        self.kept.clear();
        for s in batch.iter().filter(|s| s.time >= self.from) {
            if s.metric == builtin::ITERATIONS && s.time < self.to {
                self.completed += s.value;
            }
            self.kept.push(*s);
        }
        if !self.kept.is_empty() {
            self.store.apply(&self.kept);
        }
    }

    /// The window's samples.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The window's samples, to evaluate thresholds on.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Iterations that completed between the end of the warm-up and the end of the step.
    pub fn completed(&self) -> f64 {
        self.completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, Sink};

    #[test]
    fn only_samples_after_the_warm_up_count_and_completions_only_while_load_is_offered() {
        let metrics = Metrics::new();
        let tags = metrics.tag_set(&[]);
        let at = |metric, value, time| Sample {
            metric,
            tags,
            value,
            time,
        };
        let mut w = Window::new(&metrics.store(), 1_000, 2_000);
        w.fold(&[
            at(builtin::HTTP_REQ_DURATION, 500.0, 999), // warm-up
            at(builtin::ITERATIONS, 1.0, 999),
            at(builtin::HTTP_REQ_DURATION, 10.0, 1_000),
            at(builtin::ITERATIONS, 1.0, 1_500),
        ]);
        // The tail: samples of iterations still running when the load stopped.
        w.fold(&[
            at(builtin::HTTP_REQ_DURATION, 30.0, 2_500),
            at(builtin::ITERATIONS, 1.0, 2_500),
        ]);
        let Some(Sink::Trend(d)) = w.store().total(builtin::HTTP_REQ_DURATION) else {
            panic!("no durations")
        };
        assert_eq!((d.count, d.min, d.max), (2, 10.0, 30.0));
        assert_eq!(w.completed(), 1.0);
        let Some(Sink::Counter(i)) = w.store().total(builtin::ITERATIONS) else {
            panic!("no iterations")
        };
        assert_eq!(i.sum, 2.0);
    }
}
