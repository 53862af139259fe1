//! `--summary-export`: k6's summary JSON (`root_group` with groups and checks, `metrics` with
//! each metric's values and threshold results).

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use super::{Output, OutputError, Report, ThresholdReport, Values};
use crate::metrics::CheckStats;

/// `--summary-export FILE`: the report as k6's summary JSON.
pub struct SummaryExport {
    path: PathBuf,
    breakdown: bool,
}

impl SummaryExport {
    /// Writes to `path` at the end; `breakdown` keeps the per-scenario and per-group
    /// sub-metrics (full summary mode).
    pub fn new(path: &Path, breakdown: bool) -> Self {
        Self {
            path: path.to_owned(),
            breakdown,
        }
    }
}

impl Output for SummaryExport {
    fn description(&self) -> String {
        format!("summary export to {}", self.path.display())
    }

    fn report(&mut self, report: &Report) -> Result<(), OutputError> {
        let mut value = render(report);
        if !self.breakdown {
            let breakdowns: Vec<&str> = report
                .metrics
                .iter()
                .filter(|m| m.breakdown)
                .map(|m| m.name.as_str())
                .collect();
            if let Some(metrics) = value["metrics"].as_object_mut() {
                for name in breakdowns {
                    metrics.remove(name);
                }
            }
        }
        let json = serde_json::to_string_pretty(&value).expect("a report serializes");
        std::fs::write(&self.path, json).map_err(|e| {
            format!(
                "cannot write --summary-export file {}: {e}",
                self.path.display()
            )
        })
    }
}

/// A number as k6 (Go's `encoding/json`) writes it: a whole number without a fraction (`3`,
/// not `3.0`); others with the shortest digits that read back the same. Non-finite values,
/// which JSON cannot hold, become `null`.
pub(super) fn num(v: f64) -> Value {
    // Below 2^53 every whole f64 is an exact integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if v.fract() == 0.0 && v.abs() < EXACT {
        if v >= 0.0 {
            Value::from(v as u64)
        } else {
            Value::from(v as i64)
        }
    } else {
        json!(v)
    }
}

pub(super) fn id(path: &str) -> String {
    let digest = Md5::digest(path.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn checks_of(checks: &[CheckStats], group: &str) -> Value {
    let mut map = Map::new();
    for c in checks.iter().filter(|c| c.group == group) {
        let path = format!("{group}::{}", c.name);
        map.insert(
            c.name.clone(),
            json!({ "name": c.name, "path": path, "id": id(&path), "passes": c.passes, "fails": c.fails }),
        );
    }
    Value::Object(map)
}

fn group(report: &Report, path: &str, name: &str) -> Value {
    let mut groups = Map::new();
    let depth = path.matches("::").count();
    for g in &report.groups {
        let is_child =
            g.starts_with(path) && g.len() > path.len() && g.matches("::").count() == depth + 1;
        if is_child {
            let child_name = g.rsplit("::").next().unwrap_or_default();
            groups.insert(child_name.to_owned(), group(report, g, child_name));
        }
    }
    json!({
        "name": name,
        "path": path,
        "id": id(path),
        "groups": groups,
        "checks": checks_of(&report.checks, path),
    })
}

/// The summary as k6's `--summary-export` writes it.
pub fn render(report: &Report) -> Value {
    let mut metrics = Map::new();
    for m in &report.metrics {
        let mut obj = Map::new();
        match &m.values {
            Values::Counter { count, rate } => {
                obj.insert("count".into(), num(*count));
                obj.insert("rate".into(), num(*rate));
            }
            Values::Gauge { value, min, max } => {
                obj.insert("value".into(), num(*value));
                obj.insert("min".into(), num(*min));
                obj.insert("max".into(), num(*max));
            }
            Values::Rate { trues, total } => {
                obj.insert("passes".into(), json!(trues));
                obj.insert("fails".into(), json!(total - trues));
                let value = if *total == 0 {
                    0.0
                } else {
                    *trues as f64 / *total as f64
                };
                obj.insert("value".into(), num(value));
            }
            Values::Trend { stats, .. } => {
                for (label, v) in stats {
                    obj.insert(label.clone(), num(*v));
                }
            }
        }
        let thresholds: Map<String, Value> = report
            .thresholds
            .iter()
            .filter(|t| t.metric == m.name)
            .map(|t| (t.source.clone(), Value::Bool(!t.ok)))
            .collect();
        if !thresholds.is_empty() {
            obj.insert("thresholds".into(), Value::Object(thresholds));
        }
        metrics.insert(m.name.clone(), Value::Object(obj));
    }
    for t in report.thresholds.iter().filter(|t| t.windows.is_some()) {
        windowed(&mut metrics, t);
    }
    let mut out = json!({
        "root_group": group(report, "", ""),
        "metrics": metrics,
        "generator": generator(report),
    });
    // As k6: present when setup() ran, `null` when it returned nothing.
    if let Some(data) = &report.test.setup_data {
        out["setup_data"] = data.clone();
    }
    out
}

/// A windowed threshold's entry, which k6 has no shape for: its worst window's value under
/// the aggregation's name (as a metric's values are), its result, and a `windows` object.
fn windowed(metrics: &mut Map<String, Value>, t: &ThresholdReport) {
    let Some(w) = &t.windows else { return };
    let entry = metrics
        .entry(t.metric.clone())
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("an object");
    entry.insert(t.aggregation.clone(), num(t.observed));
    let thresholds = entry
        .entry("thresholds")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("an object");
    thresholds.insert(t.source.clone(), Value::Bool(!t.ok));
    let worst = w.worst.as_ref().map(|o| {
        json!({"start_seconds": o.start.as_secs_f64(), "seconds": o.len.as_secs_f64(), "value": o.observed})
    });
    let failures: Vec<Value> = w
        .failures
        .iter()
        .map(|o| json!({"start_seconds": o.start.as_secs_f64(), "seconds": o.len.as_secs_f64(), "value": o.observed}))
        .collect();
    entry.insert(
        "windows".into(),
        json!({
            "width_seconds": w.width.as_secs_f64(),
            "judged": w.judged,
            "failed": w.failed,
            "worst": worst,
            "failures": failures,
        }),
    );
}

/// How busy the load generator was, and its warnings: k6 has no such key; readers of k6's
/// export ignore it.
fn generator(report: &Report) -> Value {
    let g = &report.generator;
    json!({
        "cpu": g.cpu.utilisation(),
        "cores": g.cpu.cores,
        "cpu_user_seconds": g.cpu.user.as_secs_f64(),
        "cpu_system_seconds": g.cpu.sys.as_secs_f64(),
        "peak_rss_bytes": g.peak_rss,
        "vus_made": g.vus_made,
        "vus_init_ms": g.vus_init.as_secs_f64() * 1000.0,
        "vu_threads_busy": g.vu_threads_busy,
        "warnings": g.warnings,
        "outputs": g.outputs.iter().map(|o| json!({
            "name": o.name,
            "samples": o.samples,
            "dropped": o.dropped,
            "errors": o.errors,
            "last_error": o.last_error,
            "unfinished": o.unfinished,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_written_as_integers_like_k6() {
        let text = |v: f64| serde_json::to_string(&num(v)).unwrap();
        assert_eq!(text(3.0), "3");
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(-2.0), "-2");
        assert_eq!(text(1.0), "1");
        assert_eq!(text(641550.0), "641550");
        assert_eq!(text(0.5), "0.5");
        assert_eq!(text(1017.2528456771789), "1017.2528456771789");
        // Exponents as Go writes them too.
        assert_eq!(text(1e300), "1e+300");
        assert_eq!(text(f64::NAN), "null");
    }

    #[test]
    fn group_ids_are_md5_of_the_path_like_k6() {
        // k6's root group id, from the reference export.
        assert_eq!(id(""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
