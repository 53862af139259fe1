//! Reporting: the final evaluation of thresholds, the [`Report`], and the exit code — from a
//! store's state, whether a run filled it or merged metrics did.

use std::time::Duration;

use super::exit;
use crate::cpu::{peak_rss, CpuUse};
use crate::metrics::{builtin, Metrics};
use crate::output::{GeneratorReport, OutputStats, Report, TrendStat};
use crate::thresholds::{Evaluation, Thresholds};
use crate::vu::Stop;

/// Everything that decides the exit code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ending {
    /// Why the test stopped early, if it did.
    pub stopped: Option<Stop>,
    /// A code setup or teardown decided (a timeout, an exception).
    pub lifecycle_code: Option<i32>,
    /// Whether a threshold failed at the end.
    pub thresholds_failed: bool,
    /// Whether the script marked the test as failed.
    pub marked_failed: bool,
}

/// k6's exit code for how a test ended. A signal or the script's abort wins over everything;
/// then setup's and teardown's own codes; then a live threshold abort (`abortOnFail`); then
/// the script's `fail_test`; then thresholds failed at the end (k6 judges them last, and
/// keeps an exit code already set: a test marked failed exits 110 whatever its thresholds).
pub fn exit_code(e: &Ending) -> i32 {
    match (&e.stopped, e.lifecycle_code) {
        (Some(Stop::Signal(_)), _) => exit::EXTERNAL_ABORT,
        (Some(Stop::Script(_)), _) => exit::SCRIPT_ABORTED,
        (_, Some(code)) => code,
        (Some(Stop::Threshold(_)), _) => exit::THRESHOLDS_FAILED,
        _ if e.marked_failed => exit::MARKED_FAILED,
        _ if e.thresholds_failed => exit::THRESHOLDS_FAILED,
        _ => exit::OK,
    }
}

/// How an early stop reads in the summary.
pub fn stopped_reason(stop: &Stop) -> String {
    match stop {
        Stop::Script(r) => format!("the script aborted the test: {r}"),
        Stop::Threshold(r) => format!("the test was aborted because {r}"),
        Stop::Signal(r) => format!("the test was stopped by {r}"),
    }
}

/// What the generator measured of itself over the scenarios.
#[derive(Debug, Clone, Default)]
pub struct GeneratorFacts {
    /// CPU use during the scenarios.
    pub cpu: CpuUse,
    /// VUs made before the start.
    pub vus_made: u64,
    /// How long making them took.
    pub vus_init: Duration,
    /// The busiest VU thread's share of the run.
    pub vu_threads_busy: Option<f64>,
    /// What became of the outputs' streams.
    pub outputs: Vec<OutputStats>,
}

/// Evaluates `thresholds` for the last time over `elapsed` of running, and builds the report
/// from `metrics` (recording the generator's CPU use as `generator_cpu` first).
pub fn finish(
    metrics: &Metrics,
    thresholds: &mut Thresholds,
    trend_stats: &[TrendStat],
    elapsed: Duration,
    facts: GeneratorFacts,
    breakdown: bool,
) -> (Report, Evaluation) {
    // Counter rates divide by the running time: never by zero.
    let elapsed = elapsed.max(Duration::from_millis(1));
    let eval = thresholds.evaluate(&mut metrics.store(), elapsed);
    let mut generator = GeneratorReport {
        cpu: facts.cpu,
        peak_rss: peak_rss(),
        vus_made: facts.vus_made,
        vus_init: facts.vus_init,
        vu_threads_busy: facts.vu_threads_busy,
        warnings: Vec::new(),
        outputs: facts.outputs,
    };
    metrics.record_untagged(&[(builtin::GENERATOR_CPU, facts.cpu.utilisation())]);
    generator.diagnose(&metrics.store(), elapsed);
    let report = Report::build(
        &metrics.store(),
        thresholds,
        trend_stats,
        elapsed,
        generator,
        breakdown,
    );
    (report, eval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_k6s_precedence() {
        let code = |e: Ending| exit_code(&e);
        assert_eq!(code(Ending::default()), exit::OK);
        assert_eq!(
            code(Ending {
                thresholds_failed: true,
                marked_failed: true,
                ..Ending::default()
            }),
            exit::MARKED_FAILED
        );
        assert_eq!(
            code(Ending {
                stopped: Some(Stop::Threshold("x".into())),
                marked_failed: true,
                ..Ending::default()
            }),
            exit::THRESHOLDS_FAILED
        );
        assert_eq!(
            code(Ending {
                marked_failed: true,
                ..Ending::default()
            }),
            exit::MARKED_FAILED
        );
        assert_eq!(
            code(Ending {
                stopped: Some(Stop::Threshold("x".into())),
                ..Ending::default()
            }),
            exit::THRESHOLDS_FAILED
        );
        assert_eq!(
            code(Ending {
                lifecycle_code: Some(exit::SETUP_TIMEOUT),
                thresholds_failed: true,
                ..Ending::default()
            }),
            exit::SETUP_TIMEOUT
        );
        assert_eq!(
            code(Ending {
                stopped: Some(Stop::Signal("SIGINT".into())),
                lifecycle_code: Some(exit::SCRIPT_EXCEPTION),
                thresholds_failed: true,
                ..Ending::default()
            }),
            exit::EXTERNAL_ABORT
        );
        assert_eq!(
            code(Ending {
                stopped: Some(Stop::Script("done".into())),
                thresholds_failed: true,
                ..Ending::default()
            }),
            exit::SCRIPT_ABORTED
        );
    }

    #[test]
    fn a_report_is_built_from_metrics_alone() {
        use crate::metrics::TagSet;
        use crate::options::ThresholdSpec;
        use std::collections::BTreeMap;
        // What `stampede merge` does: metrics from elsewhere, thresholds, no run.
        let metrics = Metrics::new();
        let mut specs = BTreeMap::new();
        specs.insert(
            "http_reqs".to_string(),
            vec![ThresholdSpec::Short("count>=3".into())],
        );
        let mut thresholds = Thresholds::build(&specs, &metrics).unwrap();
        let tags = metrics.tags.intern(TagSet::from_pairs([("status", "200")]));
        metrics.record(&[crate::metrics::Sample {
            metric: builtin::HTTP_REQS,
            tags,
            value: 2.0,
            time: 0,
        }]);
        let (report, eval) = finish(
            &metrics,
            &mut thresholds,
            &TrendStat::defaults(),
            Duration::from_secs(2),
            GeneratorFacts::default(),
            false,
        );
        assert!(eval.failed);
        assert!(!report.thresholds_ok());
        assert_eq!(report.thresholds[0].observed, 2.0);
        let ending = Ending {
            thresholds_failed: eval.failed,
            ..Ending::default()
        };
        assert_eq!(exit_code(&ending), exit::THRESHOLDS_FAILED);
    }
}
