//! Partial results: what one instance of a split test writes (`--out partial=FILE`) so that
//! `stampede merge` can rebuild the whole test's result — exactly, since counters, rates and
//! HDR histograms add up.
//!
//! The format is JSON, versioned by `format` and `version`:
//!
//! - `test`: the script's name and SHA-256, the options every instance ran with (merged from
//!   all layers) and their SHA-256 without the keys that may differ between instances
//!   (`executionSegment*`, `noSetup`, `noTeardown`, `tags`, `summaryTrendStats`): partials
//!   of different tests do not merge;
//! - `segment`, `sequence`: the part of the test this instance ran;
//! - `window`: when its scenarios started (Unix time) and how long they ran;
//! - `thresholds`: as configured (empty with `--no-thresholds`), evaluated again on the merge;
//! - `metrics`: every metric with samples, its type and unit, its sink — counters `sum` and
//!   `samples`, rates `trues` and `total`, gauges `value`, `min`, `max`, trends `count`,
//!   `sum`, `min`, `max` and `hdr`, the HdrHistogram V2+DEFLATE serialisation in base64 of
//!   its values in millionths of their unit — and its sub-metrics with their tag filters;
//! - `checks` (passes and fails per group and name) and `groups`;
//! - `generator`: the instance's self-diagnosis (CPU, memory, VU start-up, warnings);
//! - `outcome`: its exit code and why it stopped early, if it did.

mod capture;
pub mod hdr;
mod merge;
mod output;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use capture::{capture, script_sha256, sha256_hex, RunFacts};
pub use merge::{merge, MergeError, Merged};
pub use output::PartialOutput;

use crate::executor::{Segment, SegmentSequence};
use crate::options::ThresholdSpec;

/// The `format` of a partial result.
pub const FORMAT: &str = "stampede-partial";
/// The version written; readers refuse others.
pub const VERSION: u32 = 1;
/// The largest partial file read (a partial of a test with thousands of sub-metrics is a
/// few MiB).
pub const MAX_FILE: u64 = 256 << 20;

/// One instance's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The stampede that wrote it.
    pub stampede: String,
    /// Which test it is part of.
    pub test: TestIdentity,
    /// The part of the test this instance ran.
    pub segment: Segment,
    /// All the parts.
    pub sequence: SegmentSequence,
    /// When it ran.
    pub window: Window,
    /// Thresholds as configured.
    pub thresholds: BTreeMap<String, Vec<ThresholdSpec>>,
    /// Metrics with samples, and their sub-metrics.
    pub metrics: Vec<MetricPart>,
    /// Checks.
    pub checks: Vec<CheckPart>,
    /// Group paths.
    pub groups: Vec<String>,
    /// The generator's self-diagnosis.
    pub generator: GeneratorPart,
    /// How the instance ended.
    pub outcome: OutcomePart,
}

/// What makes two partials parts of the same test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestIdentity {
    /// The script, as given.
    pub script: String,
    /// SHA-256 of the component, or of a JavaScript script's entry file, hex.
    pub script_sha256: String,
    /// SHA-256 of the options without the keys that may differ between instances, hex.
    pub options_sha256: String,
    /// The merged options (k6's JSON).
    pub options: serde_json::Value,
}

/// When an instance's scenarios ran.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// When they started, milliseconds since the Unix epoch.
    pub start_unix_ms: f64,
    /// How long they ran, milliseconds.
    pub duration_ms: f64,
}

/// A metric and what it folded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricPart {
    /// Its name.
    pub name: String,
    /// `counter`, `gauge`, `rate` or `trend`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `default`, `time` or `data`.
    pub contains: String,
    /// Whether it is built in.
    pub builtin: bool,
    /// All its samples (absent when it had none but has sub-metrics).
    pub sink: Option<SinkPart>,
    /// Its sub-metrics.
    pub submetrics: Vec<SubmetricPart>,
}

/// A sub-metric and what it folded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmetricPart {
    /// Its full name, `metric{tag:value}`.
    pub name: String,
    /// The tags it filters on.
    pub filter: Vec<(String, String)>,
    /// Made for the per-scenario and per-group breakdown of the full summary.
    pub breakdown: bool,
    /// Its samples.
    pub sink: SinkPart,
}

/// A sink's exact state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SinkPart {
    /// A sum.
    Counter {
        /// Sum of the samples.
        sum: f64,
        /// Number of samples.
        samples: u64,
    },
    /// The last value and the extremes.
    Gauge {
        /// The last value.
        value: f64,
        /// Smallest.
        min: f64,
        /// Largest.
        max: f64,
    },
    /// Non-zero samples among all.
    Rate {
        /// Non-zero samples.
        trues: u64,
        /// All samples.
        total: u64,
    },
    /// A distribution.
    Trend {
        /// Samples.
        count: u64,
        /// Their sum.
        sum: f64,
        /// Smallest.
        min: f64,
        /// Largest.
        max: f64,
        /// The histogram ([`hdr::encode`]).
        hdr: String,
    },
}

/// One check's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckPart {
    /// The group it ran in.
    pub group: String,
    /// Its name.
    pub name: String,
    /// Passes.
    pub passes: u64,
    /// Fails.
    pub fails: u64,
}

/// An instance's self-diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GeneratorPart {
    /// The machine it ran on.
    pub host: String,
    /// CPU seconds, user.
    pub cpu_user_s: f64,
    /// CPU seconds, system.
    pub cpu_system_s: f64,
    /// Wall seconds the CPU was measured over.
    pub wall_s: f64,
    /// Cores it had.
    pub cores: usize,
    /// Peak resident memory, bytes.
    pub peak_rss_bytes: u64,
    /// VUs made before the start.
    pub vus_made: u64,
    /// How long making them took, milliseconds.
    pub vus_init_ms: f64,
    /// The share of the run the busiest VU thread was running or waiting for a core.
    pub vu_threads_busy: Option<f64>,
    /// Its warnings (saturation, late timers, dropped iterations).
    pub warnings: Vec<String>,
}

/// How an instance ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OutcomePart {
    /// Its exit code.
    pub exit_code: i32,
    /// Why it stopped early: `signal`, `script` (abort) or `threshold` (abortOnFail), with
    /// the reason.
    pub stopped: Option<(String, String)>,
    /// Set when `setup()` or `teardown()` failed: the exit code that gave (100, 101, 107).
    pub lifecycle_exit_code: Option<i32>,
    /// Set when the script marked the test failed.
    pub marked_failed: bool,
}

impl Partial {
    /// Writes the partial to `path` (making its directory), whole or not at all (to a
    /// temporary file first, then renamed): a merge that polls for it never reads half a file.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::to_vec(self).map_err(|e| e.to_string())?;
        crate::instance::write_whole(path, &json).map_err(|e| e.to_string())
    }

    /// Reads a partial from `path`, checking its format and version.
    pub fn read(path: &Path) -> Result<Partial, String> {
        let here = path.display();
        let size = std::fs::metadata(path)
            .map_err(|e| format!("cannot read partial result {here}: {e}"))?
            .len();
        if size > MAX_FILE {
            return Err(format!(
                "partial result {here} is {size} bytes, more than the {MAX_FILE} accepted"
            ));
        }
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read partial result {here}: {e}"))?;
        Partial::from_slice(&bytes).map_err(|e| format!("{here}: {e}"))
    }

    /// Parses a partial, checking its format and version.
    pub fn from_slice(bytes: &[u8]) -> Result<Partial, String> {
        // Look at the header first, so that a newer version says so instead of failing on a
        // field it does not know.
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u32>,
        }
        let header: Header = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a stampede partial result (invalid JSON: {e})"))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(format!(
                "not a stampede partial result (its `format` is not \"{FORMAT}\"; write one with --out partial=FILE)"
            ));
        }
        match header.version {
            Some(VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "partial result version {v} is not the version {VERSION} this stampede reads"
                ))
            }
            None => return Err("not a stampede partial result (it has no `version`)".into()),
        }
        serde_json::from_slice(bytes).map_err(|e| format!("invalid partial result: {e}"))
    }
}
