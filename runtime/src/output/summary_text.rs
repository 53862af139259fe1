//! The end-of-test summary, laid out as k6 v2.2 lays it out: thresholds, the total results
//! (checks, then the metrics by section, custom ones first) and, in full mode, a section per
//! group and per scenario. stampede adds its LOAD GENERATOR block at the end.

use std::fmt::Write;

mod metrics;
mod parts;
#[cfg(test)]
mod tests;

use self::metrics::{block, dotted, metric_order, number, percent, ratio, value_cell};
use self::parts::{Checks, Part};
use super::{format_data, format_time, Report, ThresholdReport, TimeUnit, Values};
use crate::metrics::MetricType;

/// How much the summary shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SummaryMode {
    /// The main metrics (k6's default).
    #[default]
    Compact,
    /// Every metric, and results per scenario and group.
    Full,
}

/// `level` steps of indentation (two spaces each).
fn indent(level: usize) -> String {
    "  ".repeat(level)
}

/// The value a threshold judged, as k6 shows it next to the aggregation.
fn observed(t: &ThresholdReport, aggregation: &str, unit: Option<TimeUnit>) -> String {
    match t.kind {
        MetricType::Rate => percent(t.observed),
        MetricType::Counter if aggregation != "count" => {
            format!("{}/s", value_cell(t.observed, t.contains, unit))
        }
        MetricType::Trend if aggregation == "count" => number(t.observed),
        _ => value_cell(t.observed, t.contains, unit),
    }
}

fn threshold_line(t: &ThresholdReport, unit: Option<TimeUnit>) -> String {
    let source = t.source.trim();
    let aggregation = source
        .split(['=', '>', '<'])
        .next()
        .unwrap_or_default()
        .trim();
    let mut line = format!(
        "{} '{source}' {aggregation}={}",
        if t.ok { "✓" } else { "✗" },
        observed(t, aggregation, unit)
    );
    if let Some(w) = &t.windows {
        line.push_str(&window_note(w));
    }
    line
}

/// The thresholds, by metric in k6's order; a sub-metric whose metric has thresholds too
/// under it, by its tags.
fn threshold_lines(report: &Report, unit: Option<TimeUnit>) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    for t in &report.thresholds {
        if !names.contains(&t.metric.as_str()) {
            names.push(&t.metric);
        }
    }
    names.sort_by(|a, b| metric_order(a, b));
    let mut out = Vec::new();
    for name in &names {
        let parent = &name[..name.find('{').unwrap_or(name.len())];
        let under = parent.len() < name.len() && names.contains(&parent);
        let (pad, label) = if under {
            (indent(3), &name[parent.len()..])
        } else {
            (indent(2), *name)
        };
        out.push(format!("{pad}{label}"));
        for t in report.thresholds.iter().filter(|t| t.metric == *name) {
            out.push(format!("{pad}{}", threshold_line(t, unit)));
        }
        out.push("\n".into());
    }
    out
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

/// A checks block at `level`: the counts, a break, each check (a failing one with its share
/// of passes under it, at k6's deeper indentation), a break.
fn check_lines(checks: &Checks, level: usize, duration: f64) -> Vec<String> {
    let failed = checks.total - checks.passes;
    let rows = [
        (
            "checks_total",
            vec![
                number(checks.total as f64),
                format!("{}/s", number(checks.total as f64 / duration)),
            ],
        ),
        (
            "checks_succeeded",
            vec![
                percent(ratio(checks.passes, checks.total)),
                format!("{} out of {}", checks.passes, checks.total),
            ],
        ),
        (
            "checks_failed",
            vec![
                percent(ratio(failed, checks.total)),
                format!("{failed} out of {}", checks.total),
            ],
        ),
    ];
    let grid = metrics::Grid::new(rows.iter().map(|r| (r.1.as_slice(), false)));
    let pad = indent(level);
    let mut out: Vec<String> = rows
        .iter()
        .map(|(name, cells)| format!("{pad}{} {}", dotted(name, 16), grid.line(cells, false)))
        .collect();
    out.push("\n".into());
    for c in &checks.list {
        if c.fails == 0 {
            out.push(format!("{pad}✓ {}", c.name));
        } else {
            let share = (c.passes * 100) / (c.passes + c.fails);
            out.push(format!(
                "{pad}✗ {}\n{}↳  {share}% — ✓ {} / ✗ {}",
                c.name,
                indent(2 * level - 1),
                c.passes,
                c.fails
            ));
        }
    }
    out.push("\n".into());
    out
}

/// A part's lines at `level`: its checks, its metrics, then its groups (`↳ GROUP: name`).
fn part_lines(part: &Part, level: usize, report: &Report) -> Vec<String> {
    let duration = report.duration.as_secs_f64().max(1e-9);
    let mut out = Vec::new();
    if let Some(checks) = &part.checks {
        out.extend(check_lines(checks, level, duration));
    }
    out.extend(block(&part.metrics, &indent(level), time_unit(report)));
    for (name, group) in &part.groups {
        out.push(format!("{}↳ GROUP: {name} \n", indent(level)));
        out.extend(part_lines(group, level + 1, report));
    }
    out
}

/// Renders the summary.
pub fn render(report: &Report, mode: SummaryMode) -> String {
    let full = mode == SummaryMode::Full;
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    if !report.thresholds.is_empty() {
        let lines = threshold_lines(report, time_unit(report));
        sections.push(("THRESHOLDS".into(), lines));
    }
    let total = parts::total(report, full);
    sections.push(("TOTAL RESULTS".into(), part_lines(&total, 2, report)));
    if full {
        let (groups, scenarios) = parts::full(report);
        for (name, part) in groups {
            sections.push((format!("GROUP: {name}"), part_lines(&part, 2, report)));
        }
        for (name, part) in scenarios {
            sections.push((format!("SCENARIO: {name}"), part_lines(&part, 2, report)));
        }
    }
    // k6 joins its lines with a newline before each, a lone "\n" standing for a break.
    let mut out = String::from("\n");
    for (title, lines) in sections {
        out.push_str(&format!("\n  █ {title} \n"));
        for line in lines.iter().map(String::as_str).chain(["\n"]) {
            if line != "\n" {
                out.push('\n');
            }
            out.push_str(line);
        }
    }
    let width = total
        .metrics
        .iter()
        .map(|m| metrics::display_name(&m.name).chars().count())
        .max()
        .unwrap_or(0)
        .max(16);
    render_generator(&mut out, report, width);
    out.push('\n');
    out
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
