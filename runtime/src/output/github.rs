//! The GitHub Actions job summary: when `GITHUB_STEP_SUMMARY` names a file (as it does in a
//! workflow step), the report is appended to it as Markdown — the verdict, thresholds, checks,
//! the main HTTP numbers and the load generator's own state.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::junit::observed;
use super::{format_time, Output, OutputError, Report, Values};

/// The variable GitHub Actions sets.
pub const VAR: &str = "GITHUB_STEP_SUMMARY";

/// The job summary output.
pub struct StepSummary {
    path: PathBuf,
}

impl StepSummary {
    /// Appends to `path` at the end.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }
}

/// Text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The report as Markdown.
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let failed = report.thresholds.iter().filter(|t| !t.ok).count();
    let verdict = match (&report.stopped, failed) {
        (Some(why), _) => format!(":x: stopped early: {why}"),
        (None, 0) => ":white_check_mark: passed".to_string(),
        (None, n) => format!(":x: {n} of {} thresholds crossed", report.thresholds.len()),
    };
    let _ = writeln!(
        md,
        "### stampede: {} — {verdict}\n",
        cell(&report.test.script)
    );
    if !report.thresholds.is_empty() {
        md.push_str("| | metric | threshold | observed |\n|---|---|---|---|\n");
        for t in &report.thresholds {
            let _ = writeln!(
                md,
                "| {} | `{}` | `{}` | {} |",
                if t.ok { ":white_check_mark:" } else { ":x:" },
                cell(&t.metric),
                cell(&t.source),
                cell(&observed(t))
            );
        }
        md.push('\n');
    }
    if !report.checks.is_empty() {
        md.push_str("| check | passes | fails |\n|---|---:|---:|\n");
        for c in &report.checks {
            let _ = writeln!(md, "| {} | {} | {} |", cell(&c.name), c.passes, c.fails);
        }
        md.push('\n');
    }
    let reqs = match report.metric("http_reqs").map(|m| &m.values) {
        Some(Values::Counter { count, rate }) => format!("{count:.0} ({rate:.1}/s)"),
        _ => "0".into(),
    };
    let failed_reqs = match report.metric("http_req_failed").map(|m| &m.values) {
        Some(Values::Rate { trues, total }) if *total > 0 => {
            format!("{:.2}%", *trues as f64 * 100.0 / *total as f64)
        }
        _ => "–".into(),
    };
    let duration = match report.metric("http_req_duration").map(|m| &m.values) {
        Some(Values::Trend { stats, .. }) => stats
            .iter()
            .map(|(k, v)| format!("{k}={}", format_time(*v)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => "–".into(),
    };
    let _ = writeln!(
        md,
        "| requests | failed | duration |\n|---|---|---|\n| {reqs} | {failed_reqs} | {} |\n",
        cell(&duration)
    );
    let g = &report.generator;
    let _ = writeln!(
        md,
        "Load generator: {:.0}% of {} cores.",
        g.cpu.utilisation() * 100.0,
        g.cpu.cores
    );
    for w in &g.warnings {
        let _ = writeln!(md, "\n> [!WARNING]\n> {}", w.replace('\n', " "));
    }
    md.push('\n');
    md
}

impl Output for StepSummary {
    fn description(&self) -> String {
        format!("GitHub job summary ({})", self.path.display())
    }

    fn report(&mut self, report: &Report) -> Result<(), OutputError> {
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            f.write_all(render(report).as_bytes())
        };
        write().map_err(|e| format!("cannot append to {VAR} file {}: {e}", self.path.display()))
    }
}
