//! Windowed thresholds, which k6 lacks: `METRIC{window:30s}: EXPRESSION` holds when the
//! expression holds in every window of the scenarios, not only over the whole test.
//!
//! Windows are consecutive (tumbling), start when the scenarios start, and each is judged
//! once, when it has closed. A window is judged when it is complete; the last one, cut short
//! by the end of the test, only when it lasted at least half the width (or when it is the only
//! one), so that a few seconds of ramp-down do not decide alone. A window without samples is
//! not judged, except a counter's between two windows that had samples: a stall in the middle
//! of a test counts as 0, while the time before a scenario starts or after it ends does not.

use std::time::Duration;

use super::aggregate;
use super::{Expression, Op, Selector};
use crate::metrics::ClosedWindow;
use crate::options::parse_duration;

/// Failed windows listed in a report (the count covers all of them).
pub const MAX_LISTED: usize = 100;

/// Moves a `window:DURATION` filter out of `selector` and returns the duration.
pub(super) fn take_window(selector: &mut Selector) -> Result<Option<Duration>, String> {
    let Some(at) = selector.filter.iter().position(|(k, _)| k == "window") else {
        return Ok(None);
    };
    let (_, text) = selector.filter.remove(at);
    if selector.filter.iter().any(|(k, _)| k == "window") {
        return Err(format!(
            "invalid threshold on `{}`: more than one window",
            selector.name
        ));
    }
    let width = parse_duration(&text).map_err(|e| {
        format!(
            "invalid window `{text}` in threshold on `{}`: {e}",
            selector.name
        )
    })?;
    if width < Duration::from_secs(1) {
        return Err(format!(
            "invalid window `{text}` in threshold on `{}`: a window must be at least 1s",
            selector.name
        ));
    }
    Ok(Some(width))
}

/// Whether a closed window is long enough to be judged (see the module's docs).
pub fn judged(window: &ClosedWindow, width: Duration) -> bool {
    window.len * 2 >= width || window.start.is_zero()
}

/// One judged window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOutcome {
    /// When it began, from the start of the scenarios.
    pub start: Duration,
    /// How long it was.
    pub len: Duration,
    /// The aggregation's value in it.
    pub observed: f64,
    /// Whether the expression held.
    pub ok: bool,
}

/// The windows a windowed threshold has judged.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowReport {
    /// The width of a window.
    pub width: Duration,
    /// Windows judged.
    pub judged: u64,
    /// Windows where the expression did not hold.
    pub failed: u64,
    /// The window furthest on the wrong side of the bound (or nearest to it when all held).
    pub worst: Option<WindowOutcome>,
    /// The first [`MAX_LISTED`] failed windows.
    pub failures: Vec<WindowOutcome>,
    /// Every judged window's value, for charts: `(start in seconds, value)`.
    pub values: Vec<(f64, f64)>,
    /// A counter's empty windows since its last window with samples: judged (as 0) only if
    /// samples come again.
    pending_empty: Vec<(Duration, Duration)>,
    /// Whether any window had samples.
    seen: bool,
}

impl WindowReport {
    /// No window judged yet.
    pub fn new(width: Duration) -> Self {
        Self {
            width,
            judged: 0,
            failed: 0,
            worst: None,
            failures: Vec::new(),
            values: Vec::new(),
            pending_empty: Vec::new(),
            seen: false,
        }
    }

    /// Judges `windows` with `expression`.
    pub fn judge(&mut self, expression: &Expression, windows: &[ClosedWindow]) {
        let width = self.width;
        for w in windows.iter().filter(|w| judged(w, width)) {
            if w.sink.is_empty() {
                let counter = matches!(w.sink, crate::metrics::Sink::Counter(_));
                if counter && self.seen {
                    self.pending_empty.push((w.start, w.len));
                }
                continue;
            }
            self.seen = true;
            for (start, len) in std::mem::take(&mut self.pending_empty) {
                let empty = ClosedWindow {
                    start,
                    len,
                    sink: crate::metrics::Sink::new(crate::metrics::MetricType::Counter),
                };
                self.judge_one(expression, &empty);
            }
            self.judge_one(expression, w);
        }
    }

    fn judge_one(&mut self, expression: &Expression, w: &ClosedWindow) {
        {
            let observed = aggregate(&w.sink, expression.aggregation, w.len);
            let ok = expression.op.holds(observed, expression.value);
            let outcome = WindowOutcome {
                start: w.start,
                len: w.len,
                observed,
                ok,
            };
            self.judged += 1;
            // Charts of a very long test show its first 10,000 windows: bounded.
            if self.values.len() < 10_000 {
                self.values.push((w.start.as_secs_f64(), observed));
            }
            if !ok {
                self.failed += 1;
                if self.failures.len() < MAX_LISTED {
                    self.failures.push(outcome.clone());
                }
            }
            if self.is_worse(&outcome, expression.op) {
                self.worst = Some(outcome);
            }
        }
    }

    fn is_worse(&self, new: &WindowOutcome, op: Op) -> bool {
        let Some(old) = &self.worst else { return true };
        if old.ok != new.ok {
            return !new.ok;
        }
        match op {
            Op::Lt | Op::Le => new.observed > old.observed,
            Op::Gt | Op::Ge => new.observed < old.observed,
            // For equality the first failure is as telling as any.
            Op::Eq | Op::StrictEq | Op::Ne => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_expression;
    use super::*;
    use crate::metrics::{MetricType, Sink};
    use crate::thresholds::parse_selector;

    fn window(start: u64, len: u64, values: &[f64], kind: MetricType) -> ClosedWindow {
        let mut sink = Sink::new(kind);
        for v in values {
            sink.add(*v);
        }
        ClosedWindow {
            start: Duration::from_secs(start),
            len: Duration::from_secs(len),
            sink,
        }
    }

    #[test]
    fn the_window_filter_is_taken_out_and_checked() {
        let mut s = parse_selector("http_req_duration{status:200,window:30s}").unwrap();
        assert_eq!(take_window(&mut s).unwrap(), Some(Duration::from_secs(30)));
        assert_eq!(s.filter, vec![("status".into(), "200".into())]);
        assert_eq!(s.name, "http_req_duration{status:200,window:30s}");
        let mut s = parse_selector("http_req_duration{window:500ms}").unwrap();
        assert!(take_window(&mut s).unwrap_err().contains("at least 1s"));
        let mut s = parse_selector("http_req_duration{window:soon}").unwrap();
        assert!(take_window(&mut s)
            .unwrap_err()
            .contains("invalid window `soon`"));
        let mut s = parse_selector("http_req_duration{window:1s,window:2s}").unwrap();
        assert!(take_window(&mut s).is_err());
        let mut s = parse_selector("http_req_duration").unwrap();
        assert_eq!(take_window(&mut s).unwrap(), None);
    }

    #[test]
    fn any_failing_window_fails_and_the_worst_is_kept() {
        let e = parse_expression("p(95)<250").unwrap();
        let mut r = WindowReport::new(Duration::from_secs(10));
        r.judge(
            &e,
            &[
                window(0, 10, &[100.0, 120.0], MetricType::Trend),
                window(10, 10, &[400.0, 300.0], MetricType::Trend),
                window(20, 10, &[], MetricType::Trend),
                window(30, 10, &[900.0], MetricType::Trend),
                window(40, 2, &[5000.0], MetricType::Trend),
            ],
        );
        assert_eq!(
            (r.judged, r.failed),
            (3, 2),
            "empty and short windows are not judged"
        );
        let worst = r.worst.unwrap();
        assert_eq!((worst.start, worst.ok), (Duration::from_secs(30), false));
        assert!((worst.observed - 900.0).abs() < 1.0);
        assert_eq!(r.failures.len(), 2);
    }

    #[test]
    fn counters_are_judged_in_empty_windows_between_others_and_rates_per_window_second() {
        let count = parse_expression("count>=2").unwrap();
        let mut r = WindowReport::new(Duration::from_secs(10));
        r.judge(
            &count,
            &[
                window(0, 10, &[], MetricType::Counter),
                window(10, 10, &[1.0, 1.0], MetricType::Counter),
                window(20, 10, &[], MetricType::Counter),
            ],
        );
        assert_eq!(
            (r.judged, r.failed),
            (1, 0),
            "empty windows at the ends are not judged"
        );
        r.judge(
            &count,
            &[window(30, 10, &[1.0, 1.0, 1.0], MetricType::Counter)],
        );
        assert_eq!(
            (r.judged, r.failed),
            (3, 1),
            "the stall between two busy windows is"
        );
        let rate = parse_expression("rate>=1").unwrap();
        let mut r = WindowReport::new(Duration::from_secs(10));
        r.judge(&rate, &[window(0, 10, &[1.0; 12], MetricType::Counter)]);
        assert_eq!(r.failed, 0);
        assert!((r.worst.unwrap().observed - 1.2).abs() < 1e-9);
    }

    #[test]
    fn a_test_shorter_than_its_window_is_judged_on_what_ran() {
        let e = parse_expression("max<100").unwrap();
        let mut r = WindowReport::new(Duration::from_secs(60));
        r.judge(&e, &[window(0, 5, &[150.0], MetricType::Trend)]);
        assert_eq!((r.judged, r.failed), (1, 1));
    }
}
