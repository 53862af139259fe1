//! The metric lines of the summary: which section a metric goes in, in which order, and how
//! its values line up — k6 v2.2's layout.

use std::cmp::Ordering;

use super::super::{format_data, format_time_in, MetricReport, TimeUnit, Values};
use crate::metrics::ValueType;

/// A metric as one block of the summary shows it.
#[derive(Debug, Clone)]
pub(super) struct Shown<'a> {
    /// The name shown: the metric's own name (`http_req_duration{expected_response:true}`
    /// for a sub-metric), or, in a group's or scenario's block, its metric's name.
    pub name: String,
    /// The values.
    pub metric: &'a MetricReport,
}

/// k6's sections, in the order it prints them: the custom metrics first.
const SECTIONS: [&str; 8] = [
    "CUSTOM",
    "HTTP",
    "EXECUTION",
    "NETWORK",
    "BROWSER",
    "WEB_VITALS",
    "GRPC",
    "WEBSOCKET",
];

const HTTP: [&str; 9] = [
    "http_reqs",
    "http_req_failed",
    "http_req_duration",
    "http_req_blocked",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
];
const EXECUTION: [&str; 5] = [
    "vus",
    "vus_max",
    "iterations",
    "iteration_duration",
    "dropped_iterations",
];
const NETWORK: [&str; 2] = ["data_sent", "data_received"];

/// The HTTP trends k6 leaves out of the compact summary.
const DETAIL: [&str; 6] = [
    "http_req_blocked",
    "http_req_connecting",
    "http_req_receiving",
    "http_req_sending",
    "http_req_tls_handshaking",
    "http_req_waiting",
];

/// k6 matches its lists by prefix (a custom `http_reqs_retried` goes under HTTP, a custom
/// `checks_extra` is never shown).
fn starts_with_any(name: &str, list: &[&str]) -> bool {
    list.iter().any(|p| name.starts_with(p))
}

/// Whether the summary leaves the metric out: `checks` (shown as the checks block),
/// `group_duration` (k6 never shows it), the compact mode's HTTP details, and stampede's
/// `generator_*` metrics (shown under LOAD GENERATOR).
pub(super) fn hidden(name: &str, builtin: bool, full: bool) -> bool {
    starts_with_any(name, &["checks", "group_duration"])
        || (!full && starts_with_any(name, &DETAIL))
        || (builtin && name.starts_with("generator_"))
}

fn section(name: &str, builtin: bool) -> &'static str {
    if starts_with_any(name, &HTTP) {
        "HTTP"
    } else if starts_with_any(name, &EXECUTION) {
        "EXECUTION"
    } else if starts_with_any(name, &NETWORK) {
        "NETWORK"
    } else if name.starts_with("browser_web_vital_") {
        "WEB_VITALS"
    } else if name.starts_with("browser_") {
        "BROWSER"
    } else if name.starts_with("grpc_") {
        "GRPC"
    } else if name.starts_with("ws_") {
        "WEBSOCKET"
    } else if builtin {
        // stampede's own execution metrics (iteration_errors, iteration_start_delay).
        "EXECUTION"
    } else {
        "CUSTOM"
    }
}

/// A character's weights for [`locale_cmp`]: punctuation before digits before letters, letters
/// without case first.
fn weight(c: char) -> (u32, u32) {
    let primary = match c {
        c if c.is_whitespace() => 0,
        '_' => 1,
        '-' => 2,
        ',' => 3,
        ':' => 4,
        c if c.is_ascii_digit() => 1000 + c as u32,
        c if c.is_alphabetic() => 2000 + c.to_lowercase().next().unwrap_or(c) as u32,
        c => 10 + c as u32,
    };
    (primary, u32::from(c.is_uppercase()))
}

/// Names compared as k6's JavaScript `localeCompare` does (the root collation): `_` before
/// digits before letters, case only breaking ties, lowercase first.
pub(super) fn locale_cmp(a: &str, b: &str) -> Ordering {
    let primary = |s: &str| s.chars().map(|c| weight(c).0).collect::<Vec<_>>();
    let tertiary = |s: &str| s.chars().map(|c| weight(c).1).collect::<Vec<_>>();
    primary(a)
        .cmp(&primary(b))
        .then_with(|| tertiary(a).cmp(&tertiary(b)))
        .then_with(|| a.cmp(b))
}

/// k6's order of metric names: by metric, then a metric before its sub-metrics.
pub(super) fn metric_order(a: &str, b: &str) -> Ordering {
    fn split(s: &str) -> (&str, &str) {
        s.split_at(s.find('{').unwrap_or(s.len()))
    }
    let ((pa, sa), (pb, sb)) = (split(a), split(b));
    locale_cmp(pa, pb).then_with(|| locale_cmp(sa, sb))
}

/// A number as k6 writes one: at most six decimals, no trailing zeros.
pub(super) fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    }
}

/// A rate as k6 writes it: a percentage with two decimals, cut rather than rounded (1 of 6 is
/// `16.66%`).
pub(super) fn percent(rate: f64) -> String {
    format!("{:.2}%", (rate * 100.0 * 100.0).trunc() / 100.0)
}

/// `trues` of `total`, as a rate (0 without samples).
pub(super) fn ratio(trues: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        trues as f64 / total as f64
    }
}

/// A value of a metric that holds `contains`.
pub(super) fn value_cell(v: f64, contains: ValueType, unit: Option<TimeUnit>) -> String {
    match contains {
        ValueType::Time => format_time_in(v, unit),
        ValueType::Data => format_data(v),
        ValueType::Default => number(v),
    }
}

/// A metric's cells: the value and its extras, or for a trend each `stat=value`.
pub(super) fn cells(m: &MetricReport, unit: Option<TimeUnit>) -> Vec<String> {
    let cell = |v: f64| value_cell(v, m.contains, unit);
    match &m.values {
        Values::Counter { count, rate } => vec![cell(*count), format!("{}/s", cell(*rate))],
        Values::Gauge { value, min, max } => vec![
            cell(*value),
            format!("min={}", cell(*min)),
            format!("max={}", cell(*max)),
        ],
        Values::Rate { trues, total } => vec![
            percent(ratio(*trues, *total)),
            format!("{trues} out of {total}"),
        ],
        Values::Trend { stats, .. } => stats
            .iter()
            .map(|(label, v)| {
                let v = if label == "count" {
                    number(*v)
                } else {
                    cell(*v)
                };
                format!("{label}={v}")
            })
            .collect(),
    }
}

/// How a name reads: a sub-metric as `  { tags }`. k6 keeps the tags as the threshold wrote
/// them; stampede's names have lost the spaces, so they get one after each comma.
pub(super) fn display_name(name: &str) -> String {
    match name.find('{') {
        Some(i) => {
            // One brace: a tag's value may end in one of its own (`…/items/${}`).
            let tags = name[i + 1..].strip_suffix('}').unwrap_or(&name[i + 1..]);
            format!("  {{ {} }}", tags.replace(',', ", "))
        }
        None => name.to_string(),
    }
}

/// Rows of cells aligned in columns, as k6 pads them: every trend column, a value always, and
/// the extras after it when there are more than one.
pub(super) struct Grid {
    trend: Vec<usize>,
    value: usize,
    extras: Vec<usize>,
}

fn widen(widths: &mut Vec<usize>, cells: &[String]) {
    for (i, c) in cells.iter().enumerate() {
        let w = c.chars().count();
        if widths.len() <= i {
            widths.push(w);
        } else {
            widths[i] = widths[i].max(w);
        }
    }
}

fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

impl Grid {
    /// The columns of `rows`, each with whether it is a trend's.
    pub fn new<'a>(rows: impl Iterator<Item = (&'a [String], bool)>) -> Self {
        let mut grid = Grid {
            trend: Vec::new(),
            value: 0,
            extras: Vec::new(),
        };
        for (cells, trend) in rows {
            if trend {
                widen(&mut grid.trend, cells);
            } else if let Some((first, extras)) = cells.split_first() {
                grid.value = grid.value.max(first.chars().count());
                widen(&mut grid.extras, extras);
            }
        }
        grid
    }

    /// One row's cells, padded.
    pub fn line(&self, cells: &[String], trend: bool) -> String {
        if trend {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| pad(c, self.trend[i]))
                .collect();
            return padded.join(" ");
        }
        let Some((first, extras)) = cells.split_first() else {
            return String::new();
        };
        let mut s = pad(first, self.value);
        match extras {
            [] => {}
            [one] => {
                s.push(' ');
                s.push_str(one);
            }
            many => {
                for (i, c) in many.iter().enumerate() {
                    s.push(' ');
                    s.push_str(&pad(c, self.extras[i]));
                }
            }
        }
        s
    }
}

/// `name` followed by dots to `width` (at least three) and a colon.
pub(super) fn dotted(name: &str, width: usize) -> String {
    let n = name.chars().count();
    format!(
        "{name}{}:",
        ".".repeat((width + 3).saturating_sub(n).max(3))
    )
}

/// A block of metric lines at `indent`: a heading per section, then its metrics, each section
/// followed by a break (`"\n"`), as k6 lays it out. Names and columns line up within the block.
pub(super) fn block(metrics: &[Shown], indent: &str, unit: Option<TimeUnit>) -> Vec<String> {
    let rows: Vec<(String, Vec<String>, bool)> = metrics
        .iter()
        .map(|s| {
            let trend = matches!(s.metric.values, Values::Trend { .. });
            (display_name(&s.name), cells(s.metric, unit), trend)
        })
        .collect();
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let grid = Grid::new(rows.iter().map(|r| (r.1.as_slice(), r.2)));
    let mut out = Vec::new();
    for title in SECTIONS {
        let mut members: Vec<usize> = (0..metrics.len())
            .filter(|&i| section(&metrics[i].name, metrics[i].metric.builtin) == title)
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort_by(|&a, &b| metric_order(&metrics[a].name, &metrics[b].name));
        out.push(format!("{indent}{title}"));
        for i in members {
            let (name, cells, trend) = &rows[i];
            out.push(format!(
                "{indent}{} {}",
                dotted(name, width),
                grid.line(cells, *trend)
            ));
        }
        out.push("\n".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_cut_like_k6() {
        assert_eq!(percent(ratio(1, 6)), "16.66%");
        assert_eq!(percent(ratio(2, 3)), "66.66%");
        assert_eq!(percent(ratio(2, 6)), "33.33%");
        assert_eq!(percent(ratio(6, 6)), "100.00%");
        assert_eq!(percent(ratio(0, 0)), "0.00%");
    }

    #[test]
    fn a_sub_metric_keeps_the_braces_of_its_tag_values() {
        assert_eq!(
            display_name("http_reqs{name:http://h/items/${}}"),
            "  { name:http://h/items/${} }"
        );
        assert_eq!(display_name("checks{a:1,b:2}"), "  { a:1, b:2 }");
        assert_eq!(display_name("http_reqs"), "http_reqs");
    }

    #[test]
    fn names_sort_like_k6() {
        let mut names = vec![
            "http_reqs",
            "http_req_duration{expected_response:true}",
            "Zeta",
            "alpha",
            "http_req_duration",
            "a1",
            "a_b",
        ];
        names.sort_by(|a, b| metric_order(a, b));
        assert_eq!(
            names,
            [
                "a_b",
                "a1",
                "alpha",
                "http_req_duration",
                "http_req_duration{expected_response:true}",
                "http_reqs",
                "Zeta"
            ]
        );
    }

    #[test]
    fn sections_and_hidden_metrics_follow_k6_prefixes() {
        assert_eq!(section("http_reqs_retried", false), "HTTP");
        assert_eq!(section("http_custom", false), "CUSTOM");
        assert_eq!(section("ws_sessions", true), "WEBSOCKET");
        assert_eq!(section("iteration_errors", true), "EXECUTION");
        assert_eq!(section("browser_web_vital_lcp", false), "WEB_VITALS");
        assert!(hidden("group_duration", true, true));
        assert!(hidden("checks_extra", false, true));
        assert!(hidden("http_req_waiting", true, false));
        assert!(!hidden("http_req_waiting", true, true));
    }

    #[test]
    fn numbers_read_like_k6() {
        assert_eq!(number(1009.31148), "1009.31148");
        assert_eq!(number(1000.0), "1000");
        assert_eq!(number(123.456789), "123.456789");
        assert_eq!(number(2.0000001), "2");
    }
}
