//! The report page: one self-contained HTML file. Tables are rendered here; charts are drawn
//! in the browser by uPlot from data embedded in the page. Nothing is fetched when it opens.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::timeline::Point;
use crate::metrics::{MetricType, ValueType};
use crate::options::format_duration;
use crate::output::{format_data, format_time, MetricReport, Report, ThresholdReport, Values};

const UPLOT_JS: &str = include_str!("../../../assets/vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../../../assets/vendor/uplot/uPlot.min.css");
const REPORT_JS: &str = include_str!("../../../assets/report.js");

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1200px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.sub{color:#57606a} .card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:10px 0}
.verdict{font-size:16px;font-weight:600} .pass{color:#1a7f37} .fail{color:#cf222e} .warn{color:#9a6700}
table{border-collapse:collapse;width:100%;background:#fff} th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;font-variant-numeric:tabular-nums}
th{background:#f6f8fa;font-weight:600} td.num{text-align:right} code{font-size:13px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}
.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:6px;min-height:250px}
details pre{white-space:pre-wrap;background:#fff;border:1px solid #d0d7de;padding:8px;border-radius:6px}
"#;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn value(v: f64, contains: ValueType) -> String {
    match contains {
        ValueType::Time => format_time(v),
        ValueType::Data => format_data(v),
        ValueType::Default if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        ValueType::Default => format!("{v:.4}"),
    }
}

fn threshold_observed(t: &ThresholdReport) -> String {
    match t.aggregation.as_str() {
        "rate" if t.kind == MetricType::Rate => format!("{:.2}%", t.observed * 100.0),
        "rate" => format!("{:.2}/s", t.observed),
        "count" | "value" => value(t.observed, ValueType::Default),
        _ => value(t.observed, t.contains),
    }
}

/// Builds the page.
pub fn render(report: &Report, points: &[Point], wall_start: SystemTime) -> String {
    let mut h = String::with_capacity(128 << 10);
    let title = format!("stampede report: {}", report.test.script);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{UPLOT_CSS}</style><style>{STYLE}</style></head><body><main>",
        esc(&title)
    );
    header(&mut h, report);
    generator(&mut h, report);
    thresholds(&mut h, report);
    checks(&mut h, report);
    h.push_str("<h2>Over time</h2><div class=\"charts\">");
    for id in ["requests", "latency", "failures", "data"] {
        let _ = write!(h, "<div class=\"chart\" id=\"chart-{id}\"></div>");
    }
    h.push_str("</div>");
    windows(&mut h, report);
    phases(&mut h, report);
    breakdown(&mut h, report, "scenario", "Scenarios");
    breakdown(&mut h, report, "group", "Groups");
    all_metrics(&mut h, report);
    options(&mut h, report);
    let data = page_data(report, points, wall_start);
    // `</` cannot appear inside a script element: JSON allows `<\/` for it.
    let data = data.to_string().replace("</", "<\\/");
    let _ = writeln!(
        h,
        "</main><script type=\"application/json\" id=\"stampede-data\">{data}</script>\
         <script>{UPLOT_JS}</script><script>{REPORT_JS}</script></body></html>"
    );
    h
}

fn page_data(report: &Report, points: &[Point], wall_start: SystemTime) -> serde_json::Value {
    let started = report.test.started.map_or(unix(wall_start), unix);
    let windows: Vec<serde_json::Value> = report
        .thresholds
        .iter()
        .filter_map(|t| {
            let w = t.windows.as_ref()?;
            let bound = t
                .source
                .rsplit(['<', '>', '='])
                .next()
                .and_then(|v| v.trim().parse::<f64>().ok());
            Some(json!({
                "title": format!("{}: {} per {} window", t.metric, t.source, format_duration(w.width)),
                "aggregation": t.aggregation,
                "bound": bound,
                "values": w.values.iter().map(|(s, v)| json!([started + s, v])).collect::<Vec<_>>(),
            }))
        })
        .collect();
    json!({
        "start": unix(wall_start),
        "points": points,
        "windows": windows,
    })
}

fn header(h: &mut String, report: &Report) {
    let _ = write!(h, "<h1>{}</h1>", esc(&report.test.script));
    let started = report
        .test
        .started
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_default();
    let _ = write!(
        h,
        "<div class=\"sub\">stampede {} · started {} · ran {}</div>",
        env!("CARGO_PKG_VERSION"),
        esc(&started),
        format_duration(report.duration)
    );
    let failed = report.thresholds.iter().filter(|t| !t.ok).count();
    let (class, text) = match (&report.stopped, failed) {
        (Some(why), _) => ("fail", format!("Stopped early: {why}")),
        (None, 0) if report.thresholds.is_empty() => {
            ("pass", "Ran to the end (no thresholds)".to_string())
        }
        (None, 0) => (
            "pass",
            format!("Passed: all {} thresholds held", report.thresholds.len()),
        ),
        (None, n) => (
            "fail",
            format!(
                "Failed: {n} of {} thresholds crossed",
                report.thresholds.len()
            ),
        ),
    };
    let _ = write!(
        h,
        "<div class=\"card verdict {class}\" id=\"verdict\">{}</div>",
        esc(&text)
    );
    h.push_str("<div class=\"card\"><b>Scenarios</b><ul>");
    for s in &report.test.scenarios {
        let _ = write!(h, "<li>{}</li>", esc(&s.description));
    }
    h.push_str("</ul></div>");
}

fn generator(h: &mut String, report: &Report) {
    let g = &report.generator;
    h.push_str("<h2>Load generator</h2><div class=\"card\" id=\"generator\">");
    if g.warnings.is_empty() {
        let _ = write!(
            h,
            "<div class=\"verdict pass\">The load generator kept up: the latencies are the target's.</div>"
        );
    } else {
        let _ = write!(
            h,
            "<div class=\"verdict warn\">The load generator may have been the bottleneck: the results describe it as much as the target.</div><ul>"
        );
        for w in &g.warnings {
            let _ = write!(h, "<li class=\"warn\">{}</li>", esc(w));
        }
        h.push_str("</ul>");
    }
    h.push_str("<table><tbody>");
    let _ = write!(
        h,
        "<tr><th>CPU</th><td>{:.1}% of {} cores (user {}, system {})</td></tr>",
        g.cpu.utilisation() * 100.0,
        g.cpu.cores,
        format_time(g.cpu.user.as_secs_f64() * 1000.0),
        format_time(g.cpu.sys.as_secs_f64() * 1000.0)
    );
    if let Some(busy) = g.vu_threads_busy {
        let _ = write!(
            h,
            "<tr><th>Busiest VU thread</th><td>{:.1}% busy</td></tr>",
            busy * 100.0
        );
    }
    if let Some(MetricReport {
        values: Values::Trend { stats, .. },
        ..
    }) = report.metric("generator_timer_lag")
    {
        let cells: Vec<String> = stats
            .iter()
            .map(|(k, v)| format!("{k}={}", format_time(*v)))
            .collect();
        let _ = write!(
            h,
            "<tr><th>Timer lag</th><td>{}</td></tr>",
            esc(&cells.join(" "))
        );
    }
    let dropped = match report.metric("dropped_iterations").map(|m| &m.values) {
        Some(Values::Counter { count, .. }) => *count,
        _ => 0.0,
    };
    let _ = write!(h, "<tr><th>Dropped iterations</th><td>{dropped}</td></tr>");
    let _ = write!(
        h,
        "<tr><th>Memory</th><td>{} peak RSS; {} VUs made in {}</td></tr>",
        format_data(g.peak_rss as f64),
        g.vus_made,
        format_time(g.vus_init.as_secs_f64() * 1000.0)
    );
    for o in &g.outputs {
        let _ = write!(
            h,
            "<tr><th>Output</th><td>{}: {} samples, {} dropped, {} failed writes</td></tr>",
            esc(&o.name),
            o.samples,
            o.dropped,
            o.errors
        );
    }
    h.push_str("</tbody></table></div>");
}

fn thresholds(h: &mut String, report: &Report) {
    if report.thresholds.is_empty() {
        return;
    }
    h.push_str("<h2>Thresholds</h2><table id=\"thresholds\"><thead><tr><th></th><th>Metric</th><th>Threshold</th><th>Observed</th><th>Windows</th></tr></thead><tbody>");
    for t in &report.thresholds {
        let windows = t.windows.as_ref().map_or(String::new(), |w| {
            format!(
                "{} of {} windows of {} failed",
                w.failed,
                w.judged,
                format_duration(w.width)
            )
        });
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}={}</td><td>{}</td></tr>",
            if t.ok { "pass" } else { "fail" },
            if t.ok { "✓" } else { "✗" },
            esc(&t.metric),
            esc(&t.source),
            esc(&t.aggregation),
            esc(&threshold_observed(t)),
            esc(&windows)
        );
    }
    h.push_str("</tbody></table>");
}

fn checks(h: &mut String, report: &Report) {
    if report.checks.is_empty() {
        return;
    }
    h.push_str("<h2>Checks</h2><table id=\"checks\"><thead><tr><th></th><th>Group</th><th>Check</th><th class=\"num\">Passes</th><th class=\"num\">Fails</th><th class=\"num\">Rate</th></tr></thead><tbody>");
    for c in &report.checks {
        let all = c.passes + c.fails;
        let rate = if all == 0 {
            0.0
        } else {
            c.passes as f64 * 100.0 / all as f64
        };
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{rate:.2}%</td></tr>",
            if c.fails == 0 { "pass" } else { "fail" },
            if c.fails == 0 { "✓" } else { "✗" },
            esc(c.group.trim_start_matches("::").replace("::", " › ").as_str()),
            esc(&c.name),
            c.passes,
            c.fails
        );
    }
    h.push_str("</tbody></table>");
}

fn windows(h: &mut String, report: &Report) {
    let windowed: Vec<_> = report
        .thresholds
        .iter()
        .filter(|t| t.windows.is_some())
        .collect();
    if windowed.is_empty() {
        return;
    }
    h.push_str("<h2>Windowed thresholds</h2><div class=\"charts\">");
    for i in 0..windowed.len() {
        let _ = write!(h, "<div class=\"chart\" id=\"chart-window-{i}\"></div>");
    }
    h.push_str("</div>");
}

fn trend_cells(m: &MetricReport) -> String {
    let Values::Trend { stats, .. } = &m.values else {
        return String::new();
    };
    stats
        .iter()
        .map(|(k, v)| {
            let v = if k == "count" {
                format!("{v:.0}")
            } else {
                value(*v, m.contains)
            };
            format!("<td class=\"num\">{}</td>", esc(&v))
        })
        .collect()
}

fn trend_header(m: &MetricReport) -> String {
    let Values::Trend { stats, .. } = &m.values else {
        return String::new();
    };
    stats
        .iter()
        .map(|(k, _)| format!("<th class=\"num\">{}</th>", esc(k)))
        .collect()
}

fn phases(h: &mut String, report: &Report) {
    let names = [
        ("http_req_blocked", "blocked (until a connection is ready)"),
        ("http_req_connecting", "connecting"),
        ("http_req_tls_handshaking", "TLS handshaking"),
        ("http_req_sending", "sending"),
        ("http_req_waiting", "waiting (time to first byte)"),
        ("http_req_receiving", "receiving"),
        (
            "http_req_duration",
            "duration (sending + waiting + receiving)",
        ),
    ];
    let rows: Vec<(&MetricReport, &str)> = names
        .iter()
        .filter_map(|(n, label)| report.metric(n).map(|m| (m, *label)))
        .collect();
    let Some((first, _)) = rows.first() else {
        return;
    };
    let _ = write!(
        h,
        "<h2>HTTP request phases</h2><table id=\"phases\"><thead><tr><th>Phase</th>{}</tr></thead><tbody>",
        trend_header(first)
    );
    for (m, label) in rows {
        let _ = write!(h, "<tr><td>{}</td>{}</tr>", esc(label), trend_cells(m));
    }
    h.push_str("</tbody></table>");
}

fn counter(m: Option<&MetricReport>) -> String {
    match m.map(|m| &m.values) {
        Some(Values::Counter { count, .. }) => format!("{count:.0}"),
        Some(Values::Rate { trues, total }) if *total > 0 => {
            format!("{:.2}%", *trues as f64 * 100.0 / *total as f64)
        }
        _ => "–".into(),
    }
}

fn breakdown(h: &mut String, report: &Report, key: &str, title: &str) {
    let mut values: Vec<&str> = Vec::new();
    for m in report.metrics.iter().filter(|m| m.breakdown) {
        if let [(k, v)] = m.filter.as_slice() {
            if k == key && !values.contains(&v.as_str()) {
                values.push(v);
            }
        }
    }
    if values.is_empty() {
        return;
    }
    let get = |metric: &str, v: &str| report.metric(&format!("{metric}{{{key}:{v}}}"));
    let duration_head = values
        .iter()
        .find_map(|v| get("http_req_duration", v))
        .map(trend_header)
        .unwrap_or_default();
    let _ = write!(
        h,
        "<h2>{title}</h2><table id=\"{key}s\"><thead><tr><th>{}</th><th class=\"num\">requests</th><th class=\"num\">failed</th><th class=\"num\">iterations</th><th class=\"num\">checks</th>{duration_head}</tr></thead><tbody>",
        esc(key)
    );
    for v in values {
        let shown = v.trim_start_matches("::").replace("::", " › ");
        let duration = get("http_req_duration", v)
            .map(trend_cells)
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{duration}</tr>",
            esc(&shown),
            counter(get("http_reqs", v)),
            counter(get("http_req_failed", v)),
            counter(get("iterations", v)),
            counter(get("checks", v)),
        );
    }
    h.push_str("</tbody></table>");
}

fn all_metrics(h: &mut String, report: &Report) {
    h.push_str("<h2>All metrics</h2><table id=\"metrics\"><thead><tr><th>Metric</th><th>Values</th></tr></thead><tbody>");
    for m in report.metrics.iter().filter(|m| !m.breakdown) {
        let cells = match &m.values {
            Values::Counter { count, rate } => format!(
                "{} ({}/s)",
                value(*count, m.contains),
                value(*rate, m.contains)
            ),
            Values::Gauge { value: v, min, max } => format!(
                "{} min={} max={}",
                value(*v, m.contains),
                value(*min, m.contains),
                value(*max, m.contains)
            ),
            Values::Rate { trues, total } => {
                let pct = if *total == 0 {
                    0.0
                } else {
                    *trues as f64 * 100.0 / *total as f64
                };
                format!("{pct:.2}% ({trues} of {total})")
            }
            Values::Trend { stats, .. } => stats
                .iter()
                .map(|(k, v)| {
                    let v = if k == "count" {
                        format!("{v:.0}")
                    } else {
                        value(*v, m.contains)
                    };
                    format!("{k}={v}")
                })
                .collect::<Vec<_>>()
                .join(" "),
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            esc(&m.name),
            esc(&cells)
        );
    }
    h.push_str("</tbody></table>");
}

fn options(h: &mut String, report: &Report) {
    let text = serde_json::to_string_pretty(&report.test.options).unwrap_or_default();
    let _ = write!(
        h,
        "<h2>Options</h2><details><summary>The test's options, merged</summary><pre id=\"options\">{}</pre></details>",
        esc(&text)
    );
}
