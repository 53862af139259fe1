//! The end-of-test summary, laid out as k6 lays it out.

use std::fmt::Write;

use super::{
    format_data, format_time, format_time_in, MetricReport, Report, ThresholdReport, TimeUnit,
    Values,
};
use crate::metrics::{MetricType, ValueType};

/// How much the summary shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SummaryMode {
    /// The main metrics (k6's default).
    #[default]
    Compact,
    /// Every metric, and results per scenario and group.
    Full,
}

/// HTTP trends only shown in full mode.
const DETAIL_METRICS: [&str; 6] = [
    "http_req_blocked",
    "http_req_connecting",
    "http_req_receiving",
    "http_req_sending",
    "http_req_tls_handshaking",
    "http_req_waiting",
];

fn section(m: &MetricReport) -> &'static str {
    let base = m.parent.as_deref().unwrap_or(&m.name);
    if !m.builtin {
        "CUSTOM"
    } else if base.starts_with("http_") {
        "HTTP"
    } else if base.starts_with("data_") {
        "NETWORK"
    } else if base == "checks" {
        ""
    } else {
        "EXECUTION"
    }
}

fn value_cell(v: f64, contains: ValueType, unit: Option<TimeUnit>) -> String {
    match contains {
        ValueType::Time => format_time_in(v, unit),
        ValueType::Data => format_data(v),
        ValueType::Default => number(v),
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn cells(m: &MetricReport, unit: Option<TimeUnit>) -> Vec<String> {
    match &m.values {
        Values::Counter { count, rate } => match m.contains {
            ValueType::Data => vec![format_data(*count), format!("{}/s", format_data(*rate))],
            _ => vec![number(*count), format!("{rate:.6}/s")],
        },
        Values::Gauge { value, min, max } => vec![
            value_cell(*value, m.contains, unit),
            format!("min={}", value_cell(*min, m.contains, unit)),
            format!("max={}", value_cell(*max, m.contains, unit)),
        ],
        Values::Rate { trues, total } => {
            let pct = if *total == 0 {
                0.0
            } else {
                *trues as f64 * 100.0 / *total as f64
            };
            vec![format!("{pct:.2}%"), format!("{trues} out of {total}")]
        }
        Values::Trend { stats, .. } => stats
            .iter()
            .map(|(label, v)| {
                let v = if label == "count" {
                    number(*v)
                } else {
                    value_cell(*v, m.contains, unit)
                };
                format!("{label}={v}")
            })
            .collect(),
    }
}

fn label(m: &MetricReport, bare: bool) -> String {
    match &m.parent {
        None => m.name.clone(),
        Some(parent) if bare && !m.filter.is_empty() => parent.clone(),
        Some(parent) => {
            let tags = m.name[parent.len()..]
                .trim_start_matches('{')
                .trim_end_matches('}');
            format!("  {{ {} }}", tags.replace(',', ", "))
        }
    }
}

/// Column widths shared by every section, so the whole summary lines up.
struct Layout {
    width: usize,
    trend: Grid,
    other: Grid,
    unit: Option<TimeUnit>,
}

impl Layout {
    fn new(shown: &[&MetricReport], unit: Option<TimeUnit>) -> Self {
        let rows: Vec<(String, Vec<String>, bool)> = shown
            .iter()
            .map(|m| (label(m, m.breakdown), cells(m, unit), is_trend(m)))
            .collect();
        let width = rows
            .iter()
            .map(|(l, _, _)| l.chars().count())
            .max()
            .unwrap_or(0)
            + 3;
        Layout {
            width: width.max(19),
            trend: Grid::new(rows.iter().filter(|r| r.2).map(|r| &r.1)),
            other: Grid::new(rows.iter().filter(|r| !r.2).map(|r| &r.1)),
            unit,
        }
    }
}

fn is_trend(m: &MetricReport) -> bool {
    matches!(m.values, Values::Trend { .. })
}

/// Writes metrics under their section headings; `bare` shows breakdown sub-metrics by their
/// metric's name.
fn render_sections(out: &mut String, metrics: &[&MetricReport], layout: &Layout, bare: bool) {
    for name in ["HTTP", "EXECUTION", "NETWORK", "CUSTOM"] {
        let in_section: Vec<&&MetricReport> =
            metrics.iter().filter(|m| section(m) == name).collect();
        if in_section.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    {name}");
        for m in in_section {
            let grid = if is_trend(m) {
                &layout.trend
            } else {
                &layout.other
            };
            let _ = writeln!(
                out,
                "    {} {}",
                dotted(&label(m, bare), layout.width),
                grid.line(&cells(m, layout.unit))
            );
        }
        out.push('\n');
    }
}

struct Grid {
    widths: Vec<usize>,
}

impl Grid {
    fn new<'a>(rows: impl Iterator<Item = &'a Vec<String>>) -> Self {
        let mut widths = Vec::new();
        for row in rows {
            for (i, c) in row.iter().enumerate() {
                let w = c.chars().count();
                if widths.len() <= i {
                    widths.push(w);
                } else {
                    widths[i] = widths[i].max(w);
                }
            }
        }
        Grid { widths }
    }

    fn line(&self, cells: &[String]) -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(c);
            if i + 1 < cells.len() {
                let pad = self.widths[i].saturating_sub(c.chars().count());
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s
    }
}

fn dotted(name: &str, width: usize) -> String {
    let n = name.chars().count();
    format!("{name}{}:", ".".repeat(width.saturating_sub(n).max(3)))
}

fn threshold_line(t: &ThresholdReport, unit: Option<TimeUnit>) -> String {
    let observed = match t.aggregation.as_str() {
        "rate" if t.kind == MetricType::Rate => format!("{:.2}%", t.observed * 100.0),
        "rate" => format!("{}/s", number(t.observed)),
        "count" | "value" => number(t.observed),
        _ => value_cell(t.observed, t.contains, unit),
    };
    let mut line = format!(
        "    {} '{}' {}={}",
        if t.ok { "✓" } else { "✗" },
        t.source,
        t.aggregation,
        observed
    );
    if let Some(w) = &t.windows {
        line.push_str(&window_note(w));
    }
    line
}

/// What a windowed threshold judged: `(worst of 12 windows of 30s: 60s–90s; 2 failed)`.
fn window_note(w: &crate::thresholds::WindowReport) -> String {
    let width = crate::options::format_duration(w.width);
    match &w.worst {
        None => format!(" (no {width} window to judge yet)"),
        Some(worst) => {
            let from = crate::options::format_duration(worst.start);
            let to = crate::options::format_duration(worst.start + worst.len);
            let failed = if w.failed == 0 {
                String::new()
            } else {
                format!("; {} failed", w.failed)
            };
            format!(
                " (worst of {} window{} of {width}: {from}–{to}{failed})",
                w.judged,
                if w.judged == 1 { "" } else { "s" }
            )
        }
    }
}

/// The test's `summaryTimeUnit` (checked when the test was planned).
fn time_unit(report: &Report) -> Option<TimeUnit> {
    report
        .test
        .options
        .get("summaryTimeUnit")
        .and_then(|v| v.as_str())
        .and_then(|u| TimeUnit::parse(u).ok())
}

/// Renders the summary.
pub fn render(report: &Report, mode: SummaryMode) -> String {
    let mut out = String::from("\n\n");
    if !report.thresholds.is_empty() {
        out.push_str("  █ THRESHOLDS \n\n");
        let mut last = "";
        for t in &report.thresholds {
            if t.metric != last {
                if !last.is_empty() {
                    out.push('\n');
                }
                let _ = writeln!(out, "    {}", t.metric);
                last = &t.metric;
            }
            let _ = writeln!(out, "{}", threshold_line(t, time_unit(report)));
        }
        out.push_str("\n\n");
    }

    out.push_str("  █ TOTAL RESULTS \n\n");
    render_checks(&mut out, report);

    let shown: Vec<&MetricReport> = report
        .metrics
        .iter()
        .filter(|m| m.name != "checks" && m.parent.as_deref() != Some("checks"))
        .filter(|m| {
            mode == SummaryMode::Full
                || !DETAIL_METRICS.contains(&m.parent.as_deref().unwrap_or(&m.name))
        })
        .filter(|m| !m.name.starts_with("generator_"))
        .filter(|m| mode == SummaryMode::Full || !m.breakdown)
        .collect();
    let total: Vec<&MetricReport> = shown.iter().copied().filter(|m| !m.breakdown).collect();
    let layout = Layout::new(&shown, time_unit(report));
    render_sections(&mut out, &total, &layout, false);
    if mode == SummaryMode::Full {
        for (key, title) in [("scenario", "SCENARIO"), ("group", "GROUP")] {
            let mut values: Vec<&str> = Vec::new();
            for m in shown
                .iter()
                .filter(|m| m.filter.len() == 1 && m.filter[0].0 == key)
            {
                let v = m.filter[0].1.as_str();
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            for v in values {
                let part: Vec<&MetricReport> = shown
                    .iter()
                    .copied()
                    .filter(|m| m.filter.len() == 1 && m.filter[0].0 == key && m.filter[0].1 == v)
                    .collect();
                let _ = writeln!(
                    out,
                    "  █ {title}: {} \n",
                    v.trim_start_matches("::").replace("::", " › ")
                );
                render_sections(&mut out, &part, &layout, true);
            }
        }
    }
    render_generator(&mut out, report, layout.width);
    out.push('\n');
    out
}

fn render_checks(out: &mut String, report: &Report) {
    if report.checks.is_empty() {
        return;
    }
    let passes: u64 = report.checks.iter().map(|c| c.passes).sum();
    let fails: u64 = report.checks.iter().map(|c| c.fails).sum();
    let total = passes + fails;
    let secs = report.duration.as_secs_f64().max(1e-9);
    let pct = |n: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 * 100.0 / total as f64
        }
    };
    let rows = [
        (
            "checks_total",
            vec![total.to_string(), format!("{:.6}/s", total as f64 / secs)],
        ),
        (
            "checks_succeeded",
            vec![
                format!("{:.2}%", pct(passes)),
                format!("{passes} out of {total}"),
            ],
        ),
        (
            "checks_failed",
            vec![
                format!("{:.2}%", pct(fails)),
                format!("{fails} out of {total}"),
            ],
        ),
    ];
    let grid = Grid::new(rows.iter().map(|r| &r.1));
    for (name, cells) in &rows {
        let _ = writeln!(out, "    {} {}", dotted(name, 19), grid.line(cells));
    }
    out.push('\n');
    let mut groups: Vec<&str> = vec![""];
    for c in &report.checks {
        if !groups.contains(&c.group.as_str()) {
            groups.push(&c.group);
        }
    }
    for group in groups {
        let indent = if group.is_empty() { "    " } else { "      " };
        let mut any = false;
        for c in report.checks.iter().filter(|c| c.group == group) {
            if !any && !group.is_empty() {
                let _ = writeln!(
                    out,
                    "    █ {}\n",
                    group.trim_start_matches("::").replace("::", " › ")
                );
            }
            any = true;
            if c.fails == 0 {
                let _ = writeln!(out, "{indent}✓ {}", c.name);
            } else {
                let all = c.passes + c.fails;
                let _ = writeln!(out, "{indent}✗ {}", c.name);
                let _ = writeln!(
                    out,
                    "{indent}  ↳  {}% — ✓ {} / ✗ {}",
                    (c.passes * 100).checked_div(all).unwrap_or(0),
                    c.passes,
                    c.fails
                );
            }
        }
        if any {
            out.push('\n');
        }
    }
}

fn render_generator(out: &mut String, report: &Report, width: usize) {
    let g = &report.generator;
    out.push_str("    LOAD GENERATOR\n");
    let _ = writeln!(
        out,
        "    {} {:.2}% of {} cores (user {}, system {}, over {})",
        dotted("cpu", width),
        g.cpu.utilisation() * 100.0,
        g.cpu.cores,
        format_time(g.cpu.user.as_secs_f64() * 1000.0),
        format_time(g.cpu.sys.as_secs_f64() * 1000.0),
        format_time(g.cpu.wall.as_secs_f64() * 1000.0),
    );
    if let Some(busy) = g.vu_threads_busy {
        let _ = writeln!(
            out,
            "    {} {:.2}% busy (the busiest VU thread: running, or waiting for a core)",
            dotted("vu_threads", width),
            busy * 100.0
        );
    }
    if g.peak_rss > 0 {
        let _ = writeln!(
            out,
            "    {} {} peak RSS",
            dotted("memory", width),
            format_data(g.peak_rss as f64)
        );
    }
    if g.vus_made > 0 {
        let _ = writeln!(
            out,
            "    {} {} VUs made in {}",
            dotted("vus_init", width),
            g.vus_made,
            format_time(g.vus_init.as_secs_f64() * 1000.0)
        );
    }
    if let Some(lag) = report.metric("generator_timer_lag") {
        if let Values::Trend { stats, .. } = &lag.values {
            let get = |l: &str| {
                stats
                    .iter()
                    .find(|(k, _)| k == l)
                    .map(|(_, v)| format_time(*v))
            };
            let _ = writeln!(
                out,
                "    {} avg={} p(95)={} max={} (how late a 10 ms timer fired on the VU threads)",
                dotted("timer_lag", width),
                get("avg").unwrap_or_else(|| "-".into()),
                get("p(95)").unwrap_or_else(|| "-".into()),
                get("max").unwrap_or_else(|| "-".into()),
            );
        }
    }
    for o in &g.outputs {
        let mut line = format!("{} {} samples", o.name, o.samples);
        if o.dropped > 0 {
            line.push_str(&format!(", {} dropped (queue full)", o.dropped));
        }
        if o.errors > 0 {
            line.push_str(&format!(
                ", {} failed writes ({})",
                o.errors,
                o.last_error.as_deref().unwrap_or("")
            ));
        }
        if o.unfinished {
            line.push_str(", not finished");
        }
        let _ = writeln!(out, "    {} {line}", dotted("output", width));
    }
    for w in &g.warnings {
        let _ = writeln!(out, "\n    WARNING: {w}");
    }
}
