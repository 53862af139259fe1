//! Outputs by name: `--out NAME[=ARG]`, with k6's names, and the report files the command
//! line asks for with flags of their own (`--summary-export`, `--report`, `--junit`, the
//! GitHub job summary).

use std::path::Path;

use super::csv::{Csv, CsvConfig};
use super::github::StepSummary;
use super::html::HtmlReport;
use super::jsonl::JsonLines;
use super::junit::Junit;
use super::otlp::{Otlp, OtlpConfig};
use super::remote_write::{RemoteWrite, RwConfig};
use super::summary_json::SummaryExport;
use super::{Output, OutputContext};

/// An output as the command line names it: `json=results.jsonl` is `json` with the argument
/// `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    /// The output's name.
    pub name: String,
    /// What follows `=`, if anything.
    pub arg: Option<String>,
}

/// The names `--out` takes (k6's).
pub const NAMES: &[&str] = &[
    "json",
    "csv",
    super::remote_write::NAME,
    super::otlp::NAME,
    WEB_DASHBOARD,
    "partial",
];

/// k6's name of its web dashboard, whose `export=FILE` is the HTML report.
pub const WEB_DASHBOARD: &str = "web-dashboard";

/// Names of report outputs the command line adds with flags of their own.
pub mod report {
    /// `--summary-export FILE`.
    pub const SUMMARY_EXPORT: &str = "summary-export";
    /// `--junit FILE`.
    pub const JUNIT: &str = "junit";
    /// `--junit FILE --junit-checks`.
    pub const JUNIT_CHECKS: &str = "junit-checks";
    /// `$GITHUB_STEP_SUMMARY`.
    pub const GITHUB: &str = "github-step-summary";
}

impl OutputSpec {
    /// Parses `NAME[=ARG]`, checking the name.
    pub fn parse(s: &str) -> Result<OutputSpec, String> {
        let (name, arg) = match s.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.to_owned())),
            None => (s.trim(), None),
        };
        if !NAMES.contains(&name) {
            return Err(format!(
                "unsupported output `{name}` in --out {s}: stampede has {}; see also --summary-export, --report and --junit",
                NAMES.join(", ")
            ));
        }
        Ok(OutputSpec {
            name: name.to_owned(),
            arg: arg.filter(|a| !a.is_empty()),
        })
    }

    /// A report output with a file.
    pub fn report(name: &str, path: &Path) -> OutputSpec {
        OutputSpec {
            name: name.to_owned(),
            arg: Some(path.display().to_string()),
        }
    }

    /// Whether this is the HTML report (which shows the per-scenario and per-group tables).
    pub fn is_html_report(&self) -> bool {
        self.name == WEB_DASHBOARD
    }
}

/// What [`make`] needs besides the context.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeOptions {
    /// The summary shows the per-scenario and per-group breakdown (`--summary-mode full`).
    pub full_summary: bool,
}

/// The file of k6's `web-dashboard` argument: `export=FILE` (other keys of k6's live
/// dashboard have no use here and are refused).
fn dashboard_export(arg: Option<&str>) -> Result<&str, String> {
    let mut export = None;
    for part in arg.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some(("export", f)) if !f.is_empty() => export = Some(f),
            _ => {
                return Err(format!(
                    "--out {WEB_DASHBOARD}: stampede writes the report only; use --out {WEB_DASHBOARD}=export=FILE.html or --report FILE.html (not `{part}`)"
                ))
            }
        }
    }
    export.ok_or_else(|| format!("--out {WEB_DASHBOARD} needs export=FILE.html"))
}

/// Makes the output `spec` names; a bad argument or a file that cannot be created is an
/// error (a configuration error: the test does not start).
pub fn make(
    spec: &OutputSpec,
    ctx: &OutputContext,
    opts: MakeOptions,
) -> Result<Box<dyn Output>, String> {
    let arg = spec.arg.as_deref();
    let file = |default: &'static str| Path::new(arg.unwrap_or(default));
    Ok(match spec.name.as_str() {
        // As k6: without a file, JSON lines go to stdout.
        "json" => Box::new(JsonLines::create(file("-"), ctx)?),
        "partial" => Box::new(crate::partial::PartialOutput::new(file("part-0.json"), ctx)),
        "csv" => Box::new(Csv::create(CsvConfig::from(&ctx.env, arg)?, ctx)?),
        super::remote_write::NAME => {
            Box::new(RemoteWrite::new(RwConfig::from(&ctx.env, arg)?, ctx)?)
        }
        super::otlp::NAME => Box::new(Otlp::new(OtlpConfig::from(&ctx.env, arg)?, ctx)?),
        WEB_DASHBOARD => Box::new(HtmlReport::new(Path::new(dashboard_export(arg)?), ctx)?),
        report::SUMMARY_EXPORT => {
            Box::new(SummaryExport::new(file("summary.json"), opts.full_summary))
        }
        report::JUNIT => Box::new(Junit::new(file("junit.xml"), false)),
        report::JUNIT_CHECKS => Box::new(Junit::new(file("junit.xml"), true)),
        report::GITHUB => Box::new(StepSummary::new(file("summary.md"))),
        other => return Err(format!("unsupported output `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_k6_names_and_reject_others() {
        assert_eq!(
            OutputSpec::parse("json=out.jsonl").unwrap(),
            OutputSpec {
                name: "json".into(),
                arg: Some("out.jsonl".into())
            }
        );
        assert_eq!(OutputSpec::parse("csv").unwrap().arg, None);
        assert_eq!(
            OutputSpec::parse("experimental-prometheus-rw=url=http://x/api/v1/write")
                .unwrap()
                .arg
                .as_deref(),
            Some("url=http://x/api/v1/write")
        );
        let err = OutputSpec::parse("influxdb=http://x").unwrap_err();
        assert!(err.contains("unsupported output `influxdb`"), "{err}");
    }

    #[test]
    fn the_web_dashboard_takes_an_export_file_only() {
        assert_eq!(dashboard_export(Some("export=r.html")).unwrap(), "r.html");
        assert!(dashboard_export(None).unwrap_err().contains("export=FILE"));
        assert!(dashboard_export(Some("port=5665"))
            .unwrap_err()
            .contains("port=5665"));
    }
}
