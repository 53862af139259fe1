//! Outputs by name: `--out NAME[=ARG]`, with k6's names, and the report files the command
//! line asks for (`--summary-export`).

use std::path::Path;

use super::jsonl::JsonLines;
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

/// The names `--out` takes.
pub const NAMES: &[&str] = &["json", "partial"];

/// Names of report outputs the command line adds with flags of their own.
pub mod report {
    /// `--summary-export FILE`.
    pub const SUMMARY_EXPORT: &str = "summary-export";
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
                "unsupported output `{name}` in --out {s}: stampede has {}; see also --summary-export",
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
}

/// What [`make`] needs besides the context.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeOptions {
    /// The summary shows the per-scenario and per-group breakdown (`--summary-mode full`).
    pub full_summary: bool,
}

/// Makes the output `spec` names; a bad argument or a file that cannot be created is an
/// error (a configuration error: the test does not start).
pub fn make(
    spec: &OutputSpec,
    ctx: &OutputContext,
    opts: MakeOptions,
) -> Result<Box<dyn Output>, String> {
    let file = |what: &str| {
        spec.arg.as_deref().map(Path::new).ok_or_else(|| {
            format!(
                "--out {} needs a file: --out {}={what}",
                spec.name, spec.name
            )
        })
    };
    Ok(match spec.name.as_str() {
        "json" => Box::new(JsonLines::create(file("results.jsonl")?, ctx)?),
        "partial" => Box::new(crate::partial::PartialOutput::new(
            file("part-0.json")?,
            ctx,
        )),
        report::SUMMARY_EXPORT => {
            Box::new(SummaryExport::new(file("summary.json")?, opts.full_summary))
        }
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
        assert_eq!(OutputSpec::parse("json").unwrap().arg, None);
        let err = OutputSpec::parse("influxdb=http://x").unwrap_err();
        assert!(err.contains("unsupported output `influxdb`"), "{err}");
    }
}
