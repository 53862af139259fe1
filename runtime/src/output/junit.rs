//! `--junit FILE`: the thresholds as JUnit XML, for CI systems that show test results — a
//! test case per threshold (a failed one carries the observed value and the expression) and,
//! with `--junit-checks`, one per check. The layout is the one of the Jenkins/Ant JUnit schema
//! (`junit-10.xsd`) that GitLab, Jenkins, Azure DevOps and GitHub reporters read.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::html::esc;
use super::{Output, OutputError, Report, ThresholdReport};
use crate::metrics::MetricType;
use crate::metrics::ValueType;
use crate::options::format_duration;
use crate::output::{format_data, format_time};

/// The JUnit output.
pub struct Junit {
    path: PathBuf,
    checks: bool,
}

impl Junit {
    /// Writes to `path` at the end; `checks` adds a test case per check.
    pub fn new(path: &Path, checks: bool) -> Self {
        Self {
            path: path.to_owned(),
            checks,
        }
    }
}

/// Seconds with at most three decimals, as the schema's time type allows.
fn seconds(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// A threshold's observed value, as the summary shows it.
pub fn observed(t: &ThresholdReport) -> String {
    let v = t.observed;
    let shown = match t.aggregation.as_str() {
        "rate" if t.kind == MetricType::Rate => format!("{:.2}%", v * 100.0),
        "rate" => format!("{v:.2}/s"),
        "count" | "value" if v.fract() == 0.0 => format!("{v:.0}"),
        "count" | "value" => format!("{v}"),
        _ => match t.contains {
            ValueType::Time => format_time(v),
            ValueType::Data => format_data(v),
            ValueType::Default => format!("{v}"),
        },
    };
    format!("{}={shown}", t.aggregation)
}

/// What a failed threshold says: the observed value, the expression, and for a windowed one
/// the windows that broke it.
pub fn failure_message(t: &ThresholdReport) -> String {
    let mut msg = format!(
        "{} on {}: the threshold is {}",
        observed(t),
        t.metric,
        t.source
    );
    if let Some(w) = &t.windows {
        let _ = write!(
            msg,
            "; {} of {} windows of {} broke it",
            w.failed,
            w.judged,
            format_duration(w.width)
        );
        if let Some(worst) = &w.worst {
            let _ = write!(
                msg,
                ", the worst from {} to {}",
                format_duration(worst.start),
                format_duration(worst.start + worst.len)
            );
        }
    }
    msg
}

fn suite_open(x: &mut String, name: &str, tests: usize, failures: usize, report: &Report) {
    let stamp = report
        .test
        .started
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_default();
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{}\" timestamp=\"{}\">",
        esc(name),
        seconds(report.duration),
        esc(&stamp)
    );
}

/// The report as JUnit XML.
pub fn render(report: &Report, with_checks: bool) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let t_failed = report.thresholds.iter().filter(|t| !t.ok).count();
    let c_failed = report.checks.iter().filter(|c| c.fails > 0).count();
    let (tests, failures) = if with_checks {
        (
            report.thresholds.len() + report.checks.len(),
            t_failed + c_failed,
        )
    } else {
        (report.thresholds.len(), t_failed)
    };
    let _ = writeln!(
        x,
        "<testsuites name=\"stampede\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{}\">",
        seconds(report.duration)
    );
    thresholds_suite(&mut x, report, t_failed);
    if with_checks {
        checks_suite(&mut x, report, c_failed);
    }
    x.push_str("</testsuites>\n");
    x
}

fn thresholds_suite(x: &mut String, report: &Report, failed: usize) {
    suite_open(x, "thresholds", report.thresholds.len(), failed, report);
    let _ = writeln!(
        x,
        "    <properties><property name=\"script\" value=\"{}\"/></properties>",
        esc(&report.test.script)
    );
    for t in &report.thresholds {
        let name = format!("{}: {}", t.metric, t.source);
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"stampede.thresholds.{}\" time=\"{}\"",
            esc(&name),
            esc(&t.metric),
            seconds(report.duration)
        );
        if t.ok {
            let _ = writeln!(
                x,
                "><system-out>{}</system-out></testcase>",
                esc(&observed(t))
            );
        } else {
            let msg = failure_message(t);
            let _ = writeln!(
                x,
                ">\n      <failure type=\"threshold\" message=\"{}\">{}</failure>\n    </testcase>",
                esc(&msg),
                esc(&msg)
            );
        }
    }
    if let Some(why) = &report.stopped {
        let _ = writeln!(x, "    <system-err>{}</system-err>", esc(why));
    }
    x.push_str("  </testsuite>\n");
}

fn checks_suite(x: &mut String, report: &Report, failed: usize) {
    suite_open(x, "checks", report.checks.len(), failed, report);
    for c in &report.checks {
        let group = c.group.trim_start_matches("::").replace("::", ".");
        let classname = if group.is_empty() {
            "stampede.checks".to_string()
        } else {
            format!("stampede.checks.{group}")
        };
        let _ = write!(
            x,
            "    <testcase name=\"{}\" classname=\"{}\"",
            esc(&c.name),
            esc(&classname)
        );
        if c.fails == 0 {
            let _ = writeln!(x, "/>");
        } else {
            let all = c.passes + c.fails;
            let msg = format!(
                "{} of {all} failed ({:.2}%)",
                c.fails,
                c.fails as f64 * 100.0 / all as f64
            );
            let _ = writeln!(
                x,
                ">\n      <failure type=\"check\" message=\"{}\"/>\n    </testcase>",
                esc(&msg)
            );
        }
    }
    x.push_str("  </testsuite>\n");
}

impl Output for Junit {
    fn description(&self) -> String {
        format!("JUnit XML to {}", self.path.display())
    }

    fn report(&mut self, report: &Report) -> Result<(), OutputError> {
        std::fs::write(&self.path, render(report, self.checks))
            .map_err(|e| format!("cannot write --junit file {}: {e}", self.path.display()))
    }
}
