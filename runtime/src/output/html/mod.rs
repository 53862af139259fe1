//! `--report FILE.html` (k6's web dashboard export, `--out web-dashboard=export=FILE`): one
//! self-contained HTML file — options and scenarios, thresholds, checks, time series per
//! interval, the HTTP phases, per-scenario and per-group tables, and the load generator's own
//! verdict. The chart library (uPlot) is compiled into stampede and embedded in the file: it
//! opens offline.

mod page;
mod timeline;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use page::esc;
pub use timeline::{Point, Timeline};

use super::{Output, OutputContext, OutputError, Report};
use crate::metrics::Sample;

/// The HTML report.
pub struct HtmlReport {
    path: PathBuf,
    timeline: Timeline,
    wall_start: SystemTime,
}

impl HtmlReport {
    /// A report to `path` for `ctx`'s test; the directory must exist (checked now, so that a
    /// typo fails before the test rather than after it).
    pub fn new(path: &Path, ctx: &OutputContext) -> Result<Self, OutputError> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            if !dir.is_dir() {
                return Err(format!(
                    "cannot write the report {}: no directory {}",
                    path.display(),
                    dir.display()
                ));
            }
        }
        Ok(Self {
            path: path.to_owned(),
            timeline: Timeline::new(ctx.planned),
            wall_start: ctx.wall_start,
        })
    }

    /// The page for `report`, with the intervals seen so far.
    pub fn render(&mut self, report: &Report) -> String {
        let points = self.timeline.finish();
        page::render(report, &points, self.wall_start)
    }
}

impl Output for HtmlReport {
    fn description(&self) -> String {
        format!("HTML report to {}", self.path.display())
    }

    fn wants_samples(&self) -> bool {
        true
    }

    fn flush_interval(&self) -> Option<Duration> {
        None
    }

    fn samples(&mut self, batch: &[Sample]) -> Result<(), OutputError> {
        for s in batch {
            self.timeline.add(s);
        }
        Ok(())
    }

    fn report(&mut self, report: &Report) -> Result<(), OutputError> {
        let html = self.render(report);
        std::fs::write(&self.path, html)
            .map_err(|e| format!("cannot write the report {}: {e}", self.path.display()))
    }
}
