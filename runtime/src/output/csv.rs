//! `--out csv[=FILE]`: every sample as a CSV row, in k6's layout — `metric_name`,
//! `timestamp`, `metric_value`, one column per system tag (`check` … `url`, sorted), then
//! `extra_tags` (every other tag, `key=value` joined by `&`) and `metadata`.
//!
//! Settings (k6's, renamed): `fileName` / `STAMPEDE_CSV_FILENAME` (default `file.csv`; `-` is
//! standard output; `.gz` compresses), `timeFormat` / `STAMPEDE_CSV_TIME_FORMAT` (`unix`,
//! `unix_milli`, `unix_micro`, `unix_nano`, `rfc3339`, `rfc3339_nano`), `saveInterval` /
//! `STAMPEDE_CSV_SAVE_INTERVAL` (how often the file is written, default 1s).

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::jsonl::{finish, open_file};
use super::settings::{Key, Settings};
use super::{Output, OutputContext, OutputError};
use crate::metrics::{MetricId, Sample, TagSetId};

/// k6's system tags that get a column, in k6's (sorted) order: also k6's default `systemTags`.
pub const COLUMNS: [&str; 14] = [
    "check",
    "error",
    "error_code",
    "expected_response",
    "group",
    "method",
    "name",
    "proto",
    "scenario",
    "service",
    "status",
    "subproto",
    "tls_version",
    "url",
];
/// k6's system tags that are off by default: neither a column nor an extra tag.
const IGNORED: [&str; 2] = ["ip", "ocsp_status"];

const FILE_NAME: Key = Key {
    arg: "fileName",
    env: "STAMPEDE_CSV_FILENAME",
};
const TIME_FORMAT: Key = Key {
    arg: "timeFormat",
    env: "STAMPEDE_CSV_TIME_FORMAT",
};
const SAVE_INTERVAL: Key = Key {
    arg: "saveInterval",
    env: "STAMPEDE_CSV_SAVE_INTERVAL",
};

/// How timestamps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Seconds since the epoch (k6's default).
    Unix,
    /// Milliseconds since the epoch.
    UnixMilli,
    /// Microseconds since the epoch.
    UnixMicro,
    /// Nanoseconds since the epoch.
    UnixNano,
    /// `2024-05-01T12:00:00Z`.
    Rfc3339,
    /// `2024-05-01T12:00:00.123456789Z`, trailing zeros of the fraction cut (as Go does).
    Rfc3339Nano,
}

impl TimeFormat {
    const NAMES: [&'static str; 6] = [
        "unix",
        "unix_milli",
        "unix_micro",
        "unix_nano",
        "rfc3339",
        "rfc3339_nano",
    ];

    fn parse(s: &str) -> TimeFormat {
        match s {
            "unix_milli" => TimeFormat::UnixMilli,
            "unix_micro" => TimeFormat::UnixMicro,
            "unix_nano" => TimeFormat::UnixNano,
            "rfc3339" => TimeFormat::Rfc3339,
            "rfc3339_nano" => TimeFormat::Rfc3339Nano,
            _ => TimeFormat::Unix,
        }
    }

    /// Writes `t` in this format.
    pub fn write(self, t: SystemTime, out: &mut String) {
        let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let _ = match self {
            TimeFormat::Unix => write!(out, "{}", since.as_secs()),
            TimeFormat::UnixMilli => write!(out, "{}", since.as_millis()),
            TimeFormat::UnixMicro => write!(out, "{}", since.as_micros()),
            TimeFormat::UnixNano => write!(out, "{}", since.as_nanos()),
            TimeFormat::Rfc3339 => write!(out, "{}", humantime::format_rfc3339_seconds(t)),
            TimeFormat::Rfc3339Nano => {
                let full = humantime::format_rfc3339_nanos(t).to_string();
                let body = full.trim_end_matches('Z');
                let body = match body.split_once('.') {
                    Some((secs, frac)) => {
                        let frac = frac.trim_end_matches('0');
                        if frac.is_empty() {
                            secs.to_owned()
                        } else {
                            format!("{secs}.{frac}")
                        }
                    }
                    None => body.to_owned(),
                };
                write!(out, "{body}Z")
            }
        };
    }
}

/// The CSV output's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvConfig {
    /// Where to write.
    pub file: PathBuf,
    /// How timestamps read.
    pub time_format: TimeFormat,
    /// How often the file is written.
    pub save_interval: Duration,
}

impl CsvConfig {
    /// From `STAMPEDE_CSV_*` in `env` and the argument: `FILE`, or `key=value,…`.
    pub fn from(
        env: &std::collections::BTreeMap<String, String>,
        arg: Option<&str>,
    ) -> Result<Self, String> {
        let keys = [FILE_NAME, TIME_FORMAT, SAVE_INTERVAL];
        // A bare argument is the file name, as in k6.
        let (file_arg, pairs) = match arg {
            Some(a) if !a.contains('=') => (Some(a), None),
            other => (None, other),
        };
        let s = Settings::new("csv", env, pairs, &keys)?;
        let file = file_arg
            .map(str::to_owned)
            .or_else(|| s.string(&FILE_NAME))
            .unwrap_or_else(|| "file.csv".into());
        Ok(CsvConfig {
            file: PathBuf::from(file),
            time_format: TimeFormat::parse(
                &s.one_of(&TIME_FORMAT, &TimeFormat::NAMES)?
                    .unwrap_or_else(|| "unix".into()),
            ),
            save_interval: s
                .duration(&SAVE_INTERVAL)?
                .unwrap_or(Duration::from_secs(1)),
        })
    }
}

/// Appends `field` to `out` as a CSV field: quoted when it holds a comma, a quote, a line
/// break or starts with a space (as Go's encoding/csv writes it).
pub fn field(out: &mut String, field: &str) {
    let quote = field.contains([',', '"', '\n', '\r']) || field.starts_with(' ');
    if quote {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

pub use super::numbers::push_fixed6;

/// The CSV output.
pub struct Csv {
    config: CsvConfig,
    out: BufWriter<Box<dyn Write + Send>>,
    ctx: OutputContext,
    /// Per metric id: the name and a comma.
    names: Vec<Option<Box<[u8]>>>,
    /// Per tag set id: the tag columns, `extra_tags` and `metadata`, and a line break.
    tails: Vec<Option<Box<[u8]>>>,
    start_ns: u128,
    /// The sample times (ns on the metrics' clock) that `time` is the text of: one second
    /// with the default format.
    time_span: std::ops::Range<u64>,
    time: String,
    row: Vec<u8>,
}

impl Csv {
    /// Creates the file and writes the header.
    pub fn create(config: CsvConfig, ctx: &OutputContext) -> Result<Self, OutputError> {
        let file = open_file(&config.file)
            .map_err(|e| format!("cannot write --out csv file {}: {e}", config.file.display()))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut header = String::from("metric_name,timestamp,metric_value");
        for c in COLUMNS {
            header.push(',');
            header.push_str(c);
        }
        header.push_str(",extra_tags,metadata\n");
        out.write_all(header.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write --out csv file {}: {e}", config.file.display()))?;
        Ok(Csv {
            config,
            out,
            ctx: ctx.clone(),
            names: Vec::new(),
            tails: Vec::new(),
            start_ns: ctx
                .wall_start
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
            time_span: 0..0,
            time: String::new(),
            row: Vec::with_capacity(256 << 10),
        })
    }

    fn tail(&self, id: TagSetId) -> Box<[u8]> {
        let set = self.ctx.metrics.tags.get(id);
        let mut tail = String::new();
        for c in COLUMNS {
            tail.push(',');
            field(&mut tail, set.get(c).unwrap_or(""));
        }
        let extra: Vec<String> = set
            .iter()
            .filter(|(k, _)| !COLUMNS.contains(k) && !IGNORED.contains(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        tail.push(',');
        field(&mut tail, &extra.join("&"));
        // k6 puts `vu` and `iter` here when enabled; stampede tags samples with neither.
        tail.push_str(",\n");
        tail.into_bytes().into_boxed_slice()
    }

    fn name(&self, metric: MetricId) -> Box<[u8]> {
        let mut name = String::new();
        field(&mut name, &self.ctx.metrics.registry.def(metric).name);
        name.push(',');
        name.into_bytes().into_boxed_slice()
    }

    /// Makes the name of `s`'s metric and its tags' tail if not done yet.
    #[cold]
    fn prepare(&mut self, s: &Sample) {
        let m = usize::from(s.metric.0);
        if self.names.len() <= m {
            self.names.resize(m + 1, None);
        }
        if self.names[m].is_none() {
            self.names[m] = Some(self.name(s.metric));
        }
        let t = s.tags.0 as usize;
        if self.tails.len() <= t {
            self.tails.resize(t + 1, None);
        }
        if self.tails[t].is_none() {
            self.tails[t] = Some(self.tail(s.tags));
        }
    }

    /// Formats the timestamp of `time` and a comma, and notes which times share that text.
    #[inline(never)]
    fn format_time(&mut self, time: u64) {
        let format = self.config.time_format;
        let wall = self.start_ns + u128::from(time);
        let unit: u128 = match format {
            TimeFormat::Unix | TimeFormat::Rfc3339 => 1_000_000_000,
            TimeFormat::UnixMilli => 1_000_000,
            TimeFormat::UnixMicro => 1_000,
            TimeFormat::UnixNano | TimeFormat::Rfc3339Nano => 1,
        };
        let from = wall - wall % unit;
        let clock = |w: u128| u64::try_from(w.saturating_sub(self.start_ns)).unwrap_or(u64::MAX);
        self.time_span = clock(from)..clock(from + unit);
        self.time.clear();
        if format == TimeFormat::Unix {
            self.time.push_str(itoa::Buffer::new().format(wall / unit));
        } else {
            format.write(self.ctx.wall(time), &mut self.time);
        }
        self.time.push(',');
    }

    fn write_row(&mut self, s: &Sample) {
        let (m, t) = (usize::from(s.metric.0), s.tags.0 as usize);
        let ready =
            |parts: &[Option<Box<[u8]>>], i: usize| parts.get(i).is_some_and(Option::is_some);
        if !ready(&self.names, m) || !ready(&self.tails, t) {
            self.prepare(s);
        }
        // Samples within one second (with the default format) share their time text.
        if !self.time_span.contains(&s.time) {
            self.format_time(s.time);
        }
        let (Some(name), Some(tail)) = (&self.names[m], &self.tails[t]) else {
            unreachable!("prepared")
        };
        let row = &mut self.row;
        row.extend_from_slice(name);
        row.extend_from_slice(self.time.as_bytes());
        push_fixed6(s.value, row);
        row.extend_from_slice(tail);
    }
}

impl Output for Csv {
    fn description(&self) -> String {
        format!("csv ({})", self.config.file.display())
    }

    fn wants_samples(&self) -> bool {
        true
    }

    fn flush_interval(&self) -> Option<Duration> {
        Some(self.config.save_interval)
    }

    fn samples(&mut self, batch: &[Sample]) -> Result<(), OutputError> {
        // Rows are built straight into one buffer, written when it is full.
        for s in batch {
            self.write_row(s);
            if self.row.len() >= 192 << 10 {
                let written = self.out.write_all(&self.row);
                self.row.clear();
                written.map_err(|e| format!("writing {}: {e}", self.config.file.display()))?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        let written = self.out.write_all(&self.row);
        self.row.clear();
        written.map_err(|e| format!("writing {}: {e}", self.config.file.display()))?;
        self.out
            .flush()
            .map_err(|e| format!("writing {}: {e}", self.config.file.display()))
    }

    fn report(&mut self, _report: &super::Report) -> Result<(), OutputError> {
        let done = std::mem::replace(&mut self.out, BufWriter::new(Box::new(std::io::sink())));
        finish(done).map_err(|e| format!("writing {}: {e}", self.config.file.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn settings_take_a_bare_file_or_keys_over_the_environment() {
        let mut env = BTreeMap::new();
        env.insert(
            "STAMPEDE_CSV_TIME_FORMAT".to_string(),
            "rfc3339".to_string(),
        );
        let c = CsvConfig::from(&env, Some("out.csv")).unwrap();
        assert_eq!(c.file, PathBuf::from("out.csv"));
        assert_eq!(c.time_format, TimeFormat::Rfc3339);
        let c = CsvConfig::from(
            &env,
            Some("fileName=x.csv.gz,timeFormat=unix_milli,saveInterval=5s"),
        )
        .unwrap();
        assert_eq!(
            (c.file.to_str().unwrap(), c.time_format, c.save_interval),
            ("x.csv.gz", TimeFormat::UnixMilli, Duration::from_secs(5))
        );
        assert_eq!(
            CsvConfig::from(&BTreeMap::new(), None).unwrap().file,
            PathBuf::from("file.csv")
        );
        let err = CsvConfig::from(&BTreeMap::new(), Some("timeFormat=iso")).unwrap_err();
        assert!(err.contains("rfc3339_nano"), "{err}");
    }

    #[test]
    fn times_and_fields_read_as_k6_writes_them() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        let fmt = |f: TimeFormat| {
            let mut s = String::new();
            f.write(t, &mut s);
            s
        };
        assert_eq!(fmt(TimeFormat::Unix), "1700000000");
        assert_eq!(fmt(TimeFormat::UnixMilli), "1700000000120");
        assert_eq!(fmt(TimeFormat::Rfc3339), "2023-11-14T22:13:20Z");
        assert_eq!(fmt(TimeFormat::Rfc3339Nano), "2023-11-14T22:13:20.12Z");
        let mut s = String::new();
        field(&mut s, "http://x/?a=1,b=\"2\"");
        assert_eq!(s, "\"http://x/?a=1,b=\"\"2\"\"\"");
        let fixed = |v: f64| {
            let mut out = Vec::new();
            push_fixed6(v, &mut out);
            String::from_utf8(out).unwrap()
        };
        for v in [
            0.0,
            1.0,
            24.240823,
            0.0000004,
            -3.5,
            1234567.891,
            1e20,
            f64::NAN,
        ] {
            let want = if v.is_nan() {
                "0.000000".to_string()
            } else {
                format!("{v:.6}")
            };
            assert_eq!(fixed(v), want, "{v}");
        }
    }

    #[test]
    fn a_time_text_is_reused_only_within_its_unit() {
        use crate::log::{Level, Logger};
        use crate::metrics::{builtin, Metrics};
        let metrics = Metrics::new();
        let tags = metrics.tag_set(&[]);
        let mut ctx = OutputContext::new(
            &metrics,
            Logger::to_writer(Level::Error, Box::new(std::io::sink())),
        );
        ctx.wall_start = UNIX_EPOCH + Duration::new(1_700_000_000, 999_999_000);
        // Around the first second's end, back and forth, and much later.
        let times = [
            0,
            999,
            1_000,
            1_001,
            500,
            1_000_999_999,
            1_001_000_000,
            2,
            1_001_000_001,
            61_000_000_000,
        ];
        for (i, format) in TimeFormat::NAMES.iter().enumerate() {
            let file = std::env::temp_dir()
                .join(format!("stampede-csv-span-{}-{i}.csv", std::process::id()));
            let config = CsvConfig {
                file: file.clone(),
                time_format: TimeFormat::parse(format),
                save_interval: Duration::from_secs(1),
            };
            let mut csv = Csv::create(config.clone(), &ctx).unwrap();
            let batch: Vec<Sample> = times
                .iter()
                .map(|&time| Sample {
                    metric: builtin::HTTP_REQS,
                    tags,
                    value: 1.0,
                    time,
                })
                .collect();
            csv.samples(&batch).unwrap();
            csv.flush().unwrap();
            drop(csv);
            let text = std::fs::read_to_string(&file).unwrap();
            let _ = std::fs::remove_file(&file);
            let got: Vec<&str> = text
                .lines()
                .skip(1)
                .map(|l| l.split(',').nth(1).unwrap())
                .collect();
            let want: Vec<String> = times
                .iter()
                .map(|&t| {
                    let mut s = String::new();
                    config.time_format.write(ctx.wall(t), &mut s);
                    s
                })
                .collect();
            assert_eq!(got, want, "{format}");
        }
    }
}
