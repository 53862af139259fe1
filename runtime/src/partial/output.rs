//! `--out partial=FILE`: this instance's partial result, written once the test is over (the
//! store is final then) from the report's facts and the metrics themselves.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{capture, OutcomePart, RunFacts};
use crate::executor::execution_tuple;
use crate::metrics::Metrics;
use crate::options::Options;
use crate::output::{Output, OutputContext, OutputError, Report};
use crate::run::reporting::exit_code;

/// Writes the partial result of this instance.
pub struct PartialOutput {
    path: PathBuf,
    metrics: Metrics,
    script_sha256: String,
}

impl PartialOutput {
    /// An output writing to `path` the partial result of the test `ctx` describes.
    pub fn new(path: &Path, ctx: &OutputContext) -> Self {
        Self {
            path: path.to_path_buf(),
            metrics: ctx.metrics.clone(),
            script_sha256: ctx.script_sha256.clone(),
        }
    }
}

impl Output for PartialOutput {
    fn description(&self) -> String {
        format!("partial result ({})", self.path.display())
    }

    fn report(&mut self, report: &Report) -> Result<(), OutputError> {
        let options: Options = serde_json::from_value(report.test.options.clone())
            .map_err(|e| format!("the test's options cannot be written back: {e}"))?;
        let tuple = execution_tuple(&options)?;
        let ending = &report.ending;
        let facts = RunFacts {
            script: &report.test.script,
            script_sha256: &self.script_sha256,
            options: &options,
            tuple: &tuple,
            thresholds: options.thresholds.clone().unwrap_or_default(),
            started: report
                .test
                .started
                .unwrap_or_else(|| SystemTime::now() - report.duration),
            run_time: report.duration,
            generator: &report.generator,
            outcome: OutcomePart {
                exit_code: exit_code(ending),
                stopped: ending
                    .stopped
                    .as_ref()
                    .map(|s| (s.kind().to_owned(), s.reason().to_owned())),
                lifecycle_exit_code: ending.lifecycle_code,
                marked_failed: ending.marked_failed,
            },
        };
        let partial = capture(&self.metrics.store(), &facts)?;
        partial
            .write(&self.path)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}
