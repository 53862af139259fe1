//! Outputs: where a test's results go — files, time-series databases, reports for people and
//! for CI. Every output implements one trait, [`Output`], and receives the same stream:
//!
//! 1. **metric metadata and samples** — the [`OutputContext`] it is made with names every
//!    metric and tag set; batches of [`Sample`]s follow, in the order the store received them,
//!    on a thread of the output's own ([`runner`]), with [`Output::flush`] called every
//!    [`Output::flush_interval`] (outputs that push periodic aggregates, like Prometheus
//!    remote-write and OpenTelemetry, fold samples with [`series`] and send on flush);
//! 2. **the end of the stream** — a last [`Output::flush`];
//! 3. **the end-of-test [`Report`]** — [`Output::report`], for the summary export, JUnit, the
//!    HTML report and the GitHub job summary.
//!
//! A slow or failing output never stalls the VUs: each has a bounded queue, and what does
//! not fit is dropped and counted ([`OutputStats`], shown in the summary's LOAD GENERATOR
//! section and in the export).
//!
//! Outputs are made by name, with k6's names, from `--out NAME[=ARG]` ([`registry::make`]).

pub mod csv;
pub mod github;
pub mod html;
pub mod jsonl;
pub mod junit;
mod numbers;
pub mod otlp;
mod push;
pub mod registry;
pub mod remote_write;
mod report;
pub mod runner;
pub mod series;
pub mod settings;
pub mod summary_data;
pub mod summary_json;
pub mod summary_text;
mod units;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

pub use report::{
    GeneratorReport, MetricReport, OutputStats, Report, ScenarioInfo, TestInfo, ThresholdReport,
    TrendStat, Values,
};
pub use runner::Outputs;
pub use units::{format_data, format_time, format_time_in, TimeUnit};

use crate::log::Logger;
use crate::metrics::{Metrics, Sample};

/// An error of an output, in words for the log and the summary.
pub type OutputError = String;

/// Where results go.
pub trait Output: Send {
    /// What the banner says of it, e.g. `json (results.jsonl)`.
    fn description(&self) -> String;

    /// Whether it wants the samples (else it only gets the report).
    fn wants_samples(&self) -> bool {
        false
    }

    /// How often [`flush`](Self::flush) is called while samples stream in.
    fn flush_interval(&self) -> Option<Duration> {
        None
    }

    /// A batch of samples.
    fn samples(&mut self, _batch: &[Sample]) -> Result<(), OutputError> {
        Ok(())
    }

    /// Writes or pushes what is pending: every [`flush_interval`](Self::flush_interval), and
    /// once when the stream has ended.
    fn flush(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    /// The end-of-test report, once the stream has ended and been flushed.
    fn report(&mut self, _report: &Report) -> Result<(), OutputError> {
        Ok(())
    }
}

/// What an output is made with.
#[derive(Clone)]
pub struct OutputContext {
    /// The test's metrics: definitions by id, tag sets by id.
    pub metrics: Metrics,
    /// The wall-clock time of the metrics' clock's zero (sample times count from it).
    pub wall_start: SystemTime,
    /// Threshold expressions per metric name (k6 lists them in JSON lines' `Metric` lines).
    pub thresholds: BTreeMap<String, Vec<String>>,
    /// The process environment, for the outputs' `STAMPEDE_*` settings.
    pub env: BTreeMap<String, String>,
    /// How long the test is planned to run (the longest scenario with its graceful stop).
    pub planned: Duration,
    /// What names the script ([`crate::partial::script_sha256`]): what makes partial results
    /// parts of one test.
    pub script_sha256: String,
    /// The log.
    pub log: Logger,
}

impl OutputContext {
    /// A context for `metrics`, with nothing else known (tests, tools).
    pub fn new(metrics: &Metrics, log: Logger) -> Self {
        Self {
            metrics: metrics.clone(),
            wall_start: SystemTime::now() - metrics.start().elapsed(),
            thresholds: BTreeMap::new(),
            env: BTreeMap::new(),
            planned: Duration::from_secs(60),
            script_sha256: String::new(),
            log,
        }
    }

    /// The wall-clock time of a sample taken at `time` ns on the metrics' clock.
    pub fn wall(&self, time: u64) -> SystemTime {
        self.wall_start + Duration::from_nanos(time)
    }
}
