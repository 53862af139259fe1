//! Time windows of a (sub-)metric, for windowed thresholds (`http_req_duration{window:30s}`).
//!
//! Windows are consecutive, `width` long, and start when the scenarios start. Only the windows
//! still open have a sink (an HDR histogram for a trend); a closed window waits, folded, until
//! the thresholds read it, and is then gone: a long test keeps a handful of sinks per windowed
//! series, never one per window.
//!
//! Samples reach the store late and out of order (a VU hands its samples over at the end of
//! each call into the script), so a window closes only once a sample [`GRACE`] past its end
//! has arrived, or when the watcher says the clock is past it. A sample for a window already
//! closed is counted in [`WindowSeries::late`] and left out.

use std::collections::VecDeque;
use std::time::Duration;

use super::{MetricId, MetricType, Sink};

/// How long after its end a window stays open for late samples.
pub const GRACE: Duration = Duration::from_secs(3);

/// A windowed series' index in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowId(pub u32);

/// A closed window, folded.
#[derive(Debug, Clone)]
pub struct ClosedWindow {
    /// When it began, from the start of the scenarios.
    pub start: Duration,
    /// How long it was (shorter than the width for the last one).
    pub len: Duration,
    /// Its samples, folded.
    pub sink: Sink,
}

/// A metric (possibly filtered by tags) cut into windows.
#[derive(Debug, Clone)]
pub struct WindowSeries {
    /// Name, as written in the threshold: `http_req_duration{window:30s}`.
    pub name: String,
    /// The metric.
    pub parent: MetricId,
    /// Tags a sample must all have.
    pub filter: Vec<(String, String)>,
    /// Width of a window.
    pub width: Duration,
    /// Samples that came after their window had closed.
    pub late: u64,
    kind: MetricType,
    /// The metrics' clock (ns) when the scenarios started; `None` before.
    origin: Option<u64>,
    /// The metrics' clock (ns) when the scenarios ended: later samples are not windowed.
    end: Option<u64>,
    /// Open windows by index, oldest first.
    open: VecDeque<(u64, Sink)>,
    /// Index of the first window not yet closed.
    next_open: u64,
    closed: Vec<ClosedWindow>,
}

impl WindowSeries {
    pub(super) fn new(
        name: &str,
        parent: MetricId,
        kind: MetricType,
        filter: Vec<(String, String)>,
        width: Duration,
    ) -> Self {
        Self {
            name: name.to_owned(),
            parent,
            filter,
            width: width.max(Duration::from_millis(1)),
            late: 0,
            kind,
            origin: None,
            end: None,
            open: VecDeque::new(),
            next_open: 0,
            closed: Vec::new(),
        }
    }

    fn width_ns(&self) -> u64 {
        self.width.as_nanos() as u64
    }

    /// Starts the windows at `origin` (ns on the metrics' clock).
    pub(super) fn start(&mut self, origin: u64) {
        if self.origin.is_none() {
            self.origin = Some(origin);
        }
    }

    /// Folds in a sample taken at `time` (ns on the metrics' clock).
    pub(super) fn add(&mut self, time: u64, value: f64) {
        let Some(origin) = self.origin else { return };
        if time < origin || self.end.is_some_and(|end| time >= end) {
            return;
        }
        let idx = (time - origin) / self.width_ns();
        if idx < self.next_open {
            self.late += 1;
            return;
        }
        let at = match self.open.iter().position(|(i, _)| *i >= idx) {
            Some(p) if self.open[p].0 == idx => p,
            Some(p) => {
                self.open.insert(p, (idx, Sink::new(self.kind)));
                p
            }
            None => {
                self.open.push_back((idx, Sink::new(self.kind)));
                self.open.len() - 1
            }
        };
        self.open[at].1.add(value);
        // A sample this late in the test means earlier windows have had their grace.
        self.close_before(time);
    }

    /// Closes every window whose end plus [`GRACE`] is at or before `now` (ns).
    pub(super) fn close_before(&mut self, now: u64) {
        let Some(origin) = self.origin else { return };
        let grace = GRACE.as_nanos() as u64;
        let w = self.width_ns();
        loop {
            let end = origin + (self.next_open + 1) * w;
            if end + grace > now {
                break;
            }
            self.close_next(w, None);
        }
    }

    /// Closes the window `self.next_open`, `len` long (the width unless given).
    fn close_next(&mut self, w: u64, len: Option<u64>) {
        let idx = self.next_open;
        let sink = match self.open.front() {
            Some((i, _)) if *i == idx => self.open.pop_front().map(|(_, s)| s),
            _ => None,
        };
        self.closed.push(ClosedWindow {
            start: Duration::from_nanos(idx * w),
            len: Duration::from_nanos(len.unwrap_or(w)),
            sink: sink.unwrap_or_else(|| Sink::new(self.kind)),
        });
        self.next_open += 1;
    }

    /// Marks the end of the windows at `end` (ns): later samples are not windowed. The
    /// windows stay open for samples still on their way until [`finish`](Self::finish).
    pub(super) fn end_at(&mut self, end: u64) {
        if self.end.is_none() {
            self.end = Some(end);
        }
    }

    /// Closes every window up to the end (see [`end_at`](Self::end_at); now if not set), the
    /// last one as long as it ran.
    pub(super) fn finish(&mut self, now: u64) {
        let Some(origin) = self.origin else { return };
        let end = *self.end.get_or_insert(now);
        let w = self.width_ns();
        let ran = end.saturating_sub(origin);
        while self.next_open * w < ran {
            let len = (ran - self.next_open * w).min(w);
            self.close_next(w, Some(len));
        }
        self.open.clear();
    }

    /// Takes the windows closed since the last call, oldest first.
    pub fn take_closed(&mut self) -> Vec<ClosedWindow> {
        std::mem::take(&mut self.closed)
    }

    /// Sinks held now (open windows and closed ones not yet taken), for tests of memory use.
    pub fn held(&self) -> usize {
        self.open.len() + self.closed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::builtin;

    const S: u64 = 1_000_000_000;

    fn series(width_s: u64) -> WindowSeries {
        let mut w = WindowSeries::new(
            "http_reqs{window:10s}",
            builtin::HTTP_REQS,
            MetricType::Counter,
            Vec::new(),
            Duration::from_secs(width_s),
        );
        w.start(100 * S);
        w
    }

    fn count(w: &ClosedWindow) -> f64 {
        match &w.sink {
            Sink::Counter(c) => c.sum,
            _ => unreachable!(),
        }
    }

    #[test]
    fn samples_fall_in_the_window_of_their_time_even_out_of_order() {
        let mut w = series(10);
        w.add(101 * S, 1.0); // window 0
        w.add(112 * S, 1.0); // window 1
        w.add(109 * S, 1.0); // late, but window 0 is still open (grace)
        assert!(w.take_closed().is_empty());
        w.add(114 * S, 1.0); // 14 s in: window 0 ended at 10 s, grace 3 s: closed
        let closed = w.take_closed();
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].start, count(&closed[0])), (Duration::ZERO, 2.0));
        w.add(105 * S, 1.0);
        assert_eq!(w.late, 1, "a sample for a closed window is counted as late");
        w.end_at(125 * S);
        w.add(126 * S, 1.0); // after the end (teardown): not windowed
        w.finish(130 * S);
        let closed = w.take_closed();
        assert_eq!(closed.len(), 2);
        assert_eq!(count(&closed[0]), 2.0);
        assert_eq!(
            closed[1].len,
            Duration::from_secs(5),
            "the last window ran 5 s"
        );
    }

    #[test]
    fn empty_windows_close_too_and_memory_stays_bounded() {
        let mut w = series(1);
        for t in 0..10_000u64 {
            w.add(100 * S + t * S / 2, 1.0);
            assert!(w.held() < 16, "{} sinks held at {t}", w.held());
            let _ = w.take_closed();
        }
        w.close_before(100 * S + 20_000 * S);
        let closed = w.take_closed();
        assert!(closed.iter().all(|c| count(c) <= 2.0));
    }

    #[test]
    fn samples_before_the_start_or_after_the_end_are_not_windowed() {
        let mut w = series(10);
        w.add(50 * S, 1.0);
        w.finish(105 * S);
        w.add(106 * S, 1.0);
        let closed = w.take_closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(count(&closed[0]), 0.0);
        assert_eq!(w.late, 0);
    }
}
