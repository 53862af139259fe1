//! k6's summary object, the `data` a script's `handleSummary(data)` receives: `metrics` (each
//! with `type`, `contains`, `values` and `thresholds`), `root_group` (nested `groups` and
//! `checks`, as arrays), `options`, `state` and `setup_data`.

use serde_json::{json, Map, Value};

use super::summary_json::{id, num};
use super::{Report, Values};

/// `--no-color` was given.
static NO_COLOR_FLAG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Records k6's `--no-color` flag for the summary's `options.noColor`.
pub fn set_no_color() {
    NO_COLOR_FLAG.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Facts about the terminal the summary goes to (k6's `state`, and `options.noColor`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    /// Whether stdout is a terminal.
    pub stdout_tty: bool,
    /// Whether stderr is a terminal.
    pub stderr_tty: bool,
    /// `--no-color`, or a `NO_COLOR` variable that is set and not empty (as k6 reads it).
    pub no_color: bool,
}

impl Terminal {
    /// This process's stdout and stderr.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        Terminal {
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            no_color: NO_COLOR_FLAG.load(std::sync::atomic::Ordering::Relaxed)
                || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }
}

/// The summary object for `report`.
pub fn render(report: &Report, terminal: Terminal) -> Value {
    let options = &report.test.options;
    let trend_stats = options
        .get("summaryTrendStats")
        .cloned()
        .unwrap_or_else(|| json!(["avg", "min", "med", "max", "p(90)", "p(95)"]));
    let time_unit = options
        .get("summaryTimeUnit")
        .cloned()
        .unwrap_or_else(|| json!(""));
    let mut data = json!({
        "root_group": group(report, "", ""),
        "options": {
            "summaryTrendStats": trend_stats,
            "summaryTimeUnit": time_unit,
            "noColor": terminal.no_color,
        },
        "state": {
            "isStdOutTTY": terminal.stdout_tty,
            "isStdErrTTY": terminal.stderr_tty,
            "testRunDurationMs": report.duration.as_secs_f64() * 1000.0,
        },
        "metrics": metrics(report),
    });
    if let Some(setup) = &report.test.setup_data {
        data["setup_data"] = setup.clone();
    }
    data
}

fn metrics(report: &Report) -> Value {
    let mut out = Map::new();
    // The per-scenario and per-group breakdowns are stampede's; k6 lists the metrics and the
    // sub-metrics thresholds name.
    for m in report.metrics.iter().filter(|m| !m.breakdown) {
        let mut entry = json!({
            "type": m.kind.name(),
            "contains": m.contains.name(),
            "values": values(&m.values),
        });
        let thresholds: Map<String, Value> = report
            .thresholds
            .iter()
            .filter(|t| t.metric == m.name && t.windows.is_none())
            .map(|t| (t.source.clone(), json!({ "ok": t.ok })))
            .collect();
        // The generator's own metrics are left out, unless a threshold judges them: k6's data
        // has none, and the jslib's `textSummary` would lay its columns out for them. So are
        // `vus` and `vus_max` in a test shorter than a second, as in the text summary (k6
        // samples them each second).
        let short = report.duration.as_secs_f64() < 1.0 && (m.name == "vus" || m.name == "vus_max");
        if (m.name.starts_with("generator_") || short) && thresholds.is_empty() {
            continue;
        }
        if !thresholds.is_empty() {
            entry["thresholds"] = Value::Object(thresholds);
        }
        out.insert(m.name.clone(), entry);
    }
    Value::Object(out)
}

fn values(v: &Values) -> Value {
    match v {
        Values::Counter { count, rate } => json!({ "count": num(*count), "rate": num(*rate) }),
        Values::Gauge { value, min, max } => {
            json!({ "value": num(*value), "min": num(*min), "max": num(*max) })
        }
        Values::Rate { trues, total } => {
            let rate = if *total == 0 {
                0.0
            } else {
                *trues as f64 / *total as f64
            };
            json!({ "rate": num(rate), "passes": trues, "fails": total - trues })
        }
        Values::Trend { stats, .. } => Value::Object(
            stats
                .iter()
                .map(|(label, v)| (label.clone(), num(*v)))
                .collect(),
        ),
    }
}

/// A group as k6 hands it to `handleSummary`: sub-groups and checks in the order first seen.
fn group(report: &Report, path: &str, name: &str) -> Value {
    let depth = path.matches("::").count();
    let groups: Vec<Value> = report
        .groups
        .iter()
        .filter(|g| {
            g.starts_with(path) && g.len() > path.len() && g.matches("::").count() == depth + 1
        })
        .map(|g| group(report, g, g.rsplit("::").next().unwrap_or_default()))
        .collect();
    let checks: Vec<Value> = report
        .checks
        .iter()
        .filter(|c| c.group == path)
        .map(|c| {
            let path = format!("{path}::{}", c.name);
            json!({ "name": c.name, "path": path, "id": id(&path), "passes": c.passes, "fails": c.fails })
        })
        .collect();
    json!({ "name": name, "path": path, "id": id(path), "groups": groups, "checks": checks })
}
