//! `stampede merge`: the whole test's result from its instances' partial results — the
//! report (which the CLI prints as the summary), the report outputs, the thresholds evaluated
//! on the merged metrics, and the exit code one run of the whole test would have had.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::log::{Level, Logger};
use crate::output::registry::{self, MakeOptions, OutputSpec};
use crate::output::summary_text::SummaryMode;
use crate::output::{OutputContext, Report, TestInfo, TrendStat};
use crate::partial::{self, Partial};
use crate::run::reporting::{self, Ending};
use crate::run::{exit, Failure, Outcome};
use crate::thresholds::Thresholds;
use crate::vu::Stop;

/// What to merge, and how to report it.
pub struct MergeSpec {
    /// The partial result files.
    pub parts: Vec<PathBuf>,
    /// The report outputs: `--summary-export`, …
    pub outputs: Vec<OutputSpec>,
    /// `--summary-mode`.
    pub summary_mode: SummaryMode,
    /// `--no-thresholds`.
    pub no_thresholds: bool,
    /// `--summary-trend-stats` (else the test's `summaryTrendStats`).
    pub summary_trend_stats: Option<Vec<String>>,
    /// `--wait`: how long to wait for the files to appear (instances still running).
    pub wait: Option<Duration>,
    /// `-q`.
    pub quiet: bool,
    /// The log.
    pub log: Logger,
}

fn config(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        exit_code: exit::INVALID_CONFIG,
    }
}

/// Waits until every file in `paths` exists, for at most `wait`.
fn wait_for(paths: &[PathBuf], wait: Duration, log: &Logger) -> Result<(), Failure> {
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        let missing: Vec<&Path> = paths
            .iter()
            .map(PathBuf::as_path)
            .filter(|p| !p.exists())
            .collect();
        let Some(first) = missing.first() else {
            return Ok(());
        };
        if Instant::now() >= deadline {
            return Err(config(format!(
                "{} of {} partial results did not appear within {}, {} among them: its instance may have failed (see its log)",
                missing.len(),
                paths.len(),
                crate::options::format_duration(wait),
                first.display()
            )));
        }
        if !told {
            log.log(
                Level::Info,
                &format!(
                    "waiting for {} of {} partial results",
                    missing.len(),
                    paths.len()
                ),
                &[],
            );
            told = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Merges the partial results and reports the whole test.
pub fn merge(spec: MergeSpec) -> Result<Outcome, Failure> {
    if let Some(wait) = spec.wait {
        wait_for(&spec.parts, wait, &spec.log)?;
    }
    let mut parts = Vec::with_capacity(spec.parts.len());
    for path in &spec.parts {
        parts.push((
            path.display().to_string(),
            Partial::read(path).map_err(config)?,
        ));
    }
    let script = parts
        .first()
        .map(|(_, p)| p.test.script.clone())
        .unwrap_or_default();
    let count = parts.len();
    let merged = partial::merge(parts).map_err(|e| config(e.0))?;
    if !spec.quiet {
        eprintln!(
            "\n     execution: merge of {count} partial result{} (sequence {})\n        script: {script}\n",
            if count == 1 { "" } else { "s" },
            merged.sequence
        );
    }
    let stats = match spec
        .summary_trend_stats
        .as_ref()
        .or(merged.options.summary_trend_stats.as_ref())
    {
        Some(list) => list
            .iter()
            .map(|s| TrendStat::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(config)?,
        None => TrendStat::defaults(),
    };
    let mut thresholds = if spec.no_thresholds {
        Thresholds::default()
    } else {
        Thresholds::build(&merged.thresholds, &merged.metrics).map_err(config)?
    };
    let eval = thresholds.evaluate(&mut merged.metrics.store(), merged.elapsed);
    let full = spec.summary_mode == SummaryMode::Full;
    let mut report = Report::build(
        &merged.metrics.store(),
        &thresholds,
        &stats,
        merged.elapsed,
        merged.generator.clone(),
        full,
    );
    let stopped = merged.stopped.as_ref().map(|(kind, reason)| {
        let reason = reason.clone();
        match kind.as_str() {
            "script" => Stop::Script(reason),
            "threshold" => Stop::Threshold(reason),
            _ => Stop::Signal(reason),
        }
    });
    report.stopped = stopped.as_ref().map(reporting::stopped_reason);
    report.test = TestInfo {
        script,
        started: None,
        scenarios: Vec::new(),
        options: serde_json::to_value(&merged.options).unwrap_or_default(),
        setup_data: None,
    };
    report.ending = Ending {
        stopped,
        lifecycle_code: merged.lifecycle_exit_code,
        thresholds_failed: eval.failed,
        marked_failed: merged.marked_failed,
    };
    // The report outputs (--summary-export, …) as a run writes them.
    let ctx = OutputContext::new(&merged.metrics, spec.log.clone());
    let opts = MakeOptions { full_summary: full };
    for out in &spec.outputs {
        let mut output = registry::make(out, &ctx, opts).map_err(config)?;
        if let Err(e) = output.report(&report) {
            spec.log
                .log(Level::Error, &format!("{}: {e}", output.description()), &[]);
        }
    }
    Ok(Outcome {
        exit_code: reporting::exit_code(&report.ending),
        report: Some(report),
        summary: Default::default(),
    })
}
