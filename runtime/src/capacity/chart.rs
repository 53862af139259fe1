//! A compact text chart of latency percentiles and error rate against offered load: one row
//! per load tried, lowest first, with the latency objective's bound drawn as a column and the
//! knee — the capacity and the first bad load above it — marked.
//!
//! ```text
//!   load   1ms         10ms        100ms       1s           errors
//!   100/s  |           ·●○   ┊                 |            0.00%
//!   200/s  |           ·●○   ┊                 |            0.00%  ◀ capacity
//!   206/s  |            · ●  ┊ ○               |            0.00%  ◀ first bad
//! ```

use std::fmt::Write;

use super::judge::Latency;
use crate::output::format_time;

/// Width of the plot area, in characters.
const WIDTH: usize = 48;

/// One row of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The load, as shown (e.g. `200/s` or `40 VUs`).
    pub label: String,
    /// The load, for ordering.
    pub load: f64,
    /// Its latency percentiles.
    pub latency: Option<Latency>,
    /// Its error rate.
    pub errors: Option<f64>,
    /// A mark after the row (`◀ capacity`), if any.
    pub mark: &'static str,
}

/// Maps milliseconds to a column.
#[derive(Debug, Clone, Copy)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    fn fit(values: impl Iterator<Item = f64>) -> Option<Scale> {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
        for v in values.filter(|v| v.is_finite() && *v > 0.0) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if hi <= 0.0 {
            return None;
        }
        if hi / lo > 20.0 {
            // Whole decades around the values, so the ticks fall on round numbers.
            Some(Scale {
                lo: 10f64.powf(lo.log10().floor()),
                hi: 10f64.powf(hi.log10().ceil()),
                log: true,
            })
        } else {
            Some(Scale {
                lo: 0.0,
                hi: nice_ceiling(hi * 1.05),
                log: false,
            })
        }
    }

    fn column(&self, ms: f64) -> usize {
        let f = if self.log {
            (ms.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (ms - self.lo) / (self.hi - self.lo)
        };
        ((f.clamp(0.0, 1.0)) * (WIDTH - 1) as f64).round() as usize
    }

    /// Tick values and their labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let mut v = self.lo;
            let mut out = Vec::new();
            while v <= self.hi * 1.0001 {
                out.push((v, format_time(v)));
                v *= 10.0;
            }
            out
        } else {
            // Round steps, four or so across.
            let step = nice_ceiling(self.hi / 4.0);
            (0..)
                .map(|i| self.lo + i as f64 * step)
                .take_while(|v| *v <= self.hi * 1.0001)
                .map(|v| (v, format_time(v)))
                .collect()
        }
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let e = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * e)
        .find(|c| *c >= v * 0.9999)
        .unwrap_or(10.0 * e)
}

/// The chart: `latency_of` names what the percentiles are of, `bound` is the latency
/// objective's bound in ms (drawn as `┊`), if there is one.
pub fn render(rows: &[Row], latency_of: &str, bound: Option<(f64, &str)>) -> String {
    let mut rows: Vec<&Row> = rows.iter().collect();
    rows.sort_by(|a, b| a.load.total_cmp(&b.load));
    let values = rows
        .iter()
        .filter_map(|r| r.latency)
        .flat_map(|l| [l.p50, l.p95, l.p99])
        .chain(bound.map(|b| b.0));
    let Some(scale) = Scale::fit(values) else {
        return String::new();
    };
    let label_width = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(4);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {latency_of}: · p50  ● p95  ○ p99{}{}",
        bound
            .map(|(v, what)| format!("  ┊ {what} ({})", format_time(v)))
            .unwrap_or_default(),
        if scale.log { "  (log scale)" } else { "" }
    );
    // The axis: tick labels at their columns (column 0 is just right of the row's `│`), and
    // the header of the error column, right-aligned over it.
    let mut axis = vec![' '; WIDTH + 14];
    let mut put = |at: usize, text: &str| {
        for (i, c) in text.chars().enumerate() {
            axis[at + i] = c;
        }
    };
    for (v, label) in scale.ticks() {
        put(
            scale.column(v).min(WIDTH + 7 - label.chars().count()),
            &label,
        );
    }
    put(WIDTH + 8, "errors");
    let axis: String = axis.into_iter().collect();
    let _ = writeln!(out, "  {:>label_width$}   {}", "load", axis.trim_end());
    for row in rows {
        let mut line = vec![' '; WIDTH];
        if let Some((v, _)) = bound {
            line[scale.column(v)] = '┊';
        }
        if let Some(l) = row.latency {
            // Drawn lowest first, so that where they meet the higher percentile shows.
            line[scale.column(l.p50)] = '·';
            line[scale.column(l.p99)] = '○';
            line[scale.column(l.p95)] = '●';
        }
        let errors = row
            .errors
            .map(|e| format!("{:.2}%", e * 100.0))
            .unwrap_or_else(|| "-".into());
        let plot: String = line.into_iter().collect();
        let _ = writeln!(
            out,
            "  {:>label_width$}  │{plot}│  {:>11}{}",
            row.label,
            errors,
            if row.mark.is_empty() {
                String::new()
            } else {
                format!("  {}", row.mark)
            }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(load: f64, p50: f64, p95: f64, p99: f64, errors: f64, mark: &'static str) -> Row {
        Row {
            label: format!("{load}/s"),
            load,
            latency: Some(Latency {
                metric: "http_req_duration",
                p50,
                p95,
                p99,
            }),
            errors: Some(errors),
            mark,
        }
    }

    #[test]
    fn rows_are_ordered_by_load_and_the_knee_is_marked() {
        let rows = [
            row(100.0, 20.0, 21.0, 22.0, 0.0, ""),
            row(400.0, 900.0, 1800.0, 1900.0, 0.0, ""),
            row(200.0, 20.0, 22.0, 25.0, 0.0, "◀ capacity"),
            row(212.5, 40.0, 160.0, 180.0, 0.02, "◀ first bad"),
        ];
        let chart = render(&rows, "http_req_duration", Some((100.0, "p(95)<100")));
        let lines: Vec<&str> = chart.lines().collect();
        assert_eq!(lines.len(), 6, "{chart}");
        assert!(lines[0].contains("(log scale)"), "{chart}");
        assert!(lines[0].contains("┊ p(95)<100 (100ms)"), "{chart}");
        for (line, load) in lines[2..]
            .iter()
            .zip(["100/s", "200/s", "212.5/s", "400/s"])
        {
            assert!(line.trim_start().starts_with(load), "{chart}");
            assert!(line.contains('┊') || line.contains('●'), "{chart}");
        }
        assert!(lines[3].ends_with("◀ capacity"), "{chart}");
        assert!(lines[4].contains("2.00%") && lines[4].ends_with("◀ first bad"));
        // Higher latency lies further right.
        let col = |l: &str| l.chars().position(|c| c == '●').unwrap();
        assert!(col(lines[2]) < col(lines[4]) && col(lines[4]) < col(lines[5]));
        // The bound lies between the good p95s and the bad ones.
        let bound = |l: &str| l.chars().position(|c| c == '┊').unwrap();
        assert!(col(lines[3]) < bound(lines[3]) && bound(lines[4]) < col(lines[4]));
        // Every row is as wide as the others up to the error column.
        let bar = |l: &str| l.chars().filter(|c| *c == '│').count();
        assert!(lines[2..].iter().all(|l| bar(l) == 2), "{chart}");
    }

    #[test]
    fn close_latencies_get_a_linear_scale() {
        let rows = [
            row(10.0, 20.0, 21.0, 22.0, 0.0, ""),
            row(20.0, 20.0, 24.0, 30.0, 0.0, ""),
        ];
        let chart = render(&rows, "http_req_duration", None);
        assert!(!chart.contains("log scale"), "{chart}");
        // Up to 30 ms, on a scale to 50 ms: round ticks every 20 ms.
        let axis = chart.lines().nth(1).unwrap();
        for tick in ["0s", "20ms", "40ms"] {
            assert!(axis.contains(tick), "{chart}");
        }
    }

    #[test]
    fn no_latency_no_chart() {
        let rows = [Row {
            label: "5/s".into(),
            load: 5.0,
            latency: None,
            errors: None,
            mark: "",
        }];
        assert_eq!(render(&rows, "http_req_duration", None), "");
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(23.0), 25.0);
        assert_eq!(nice_ceiling(26.0), 50.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }
}
