//! `--out json=FILE`: every sample as a line of JSON, in k6's format — a `Metric` line the
//! first time a metric appears, then a `Point` line per sample. A name ending in `.gz` is
//! written gzip-compressed, as k6 does.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::{Output, OutputContext, OutputError};
use crate::metrics::{MetricId, Sample, TagSetId};

/// Bytes gathered before a write: lines are built straight into this buffer, copied once.
const WRITE_AT: usize = 192 << 10;

/// The JSON lines output.
pub struct JsonLines {
    path: PathBuf,
    out: BufWriter<Box<dyn Write + Send>>,
    buf: Vec<u8>,
    ctx: OutputContext,
    thresholds: BTreeMap<String, Vec<String>>,
    /// Per metric id: `{"metric":"NAME","type":"Point","data":{"time":"`, once declared.
    heads: Vec<Option<Box<[u8]>>>,
    /// Per tag set id: `,"tags":{…}}}` and a line break.
    tails: Vec<Option<Box<[u8]>>>,
    clock: WallClock,
    lines: u64,
}

/// Unix nanoseconds as Go's RFC 3339 (UTC, the fraction without trailing zeros), followed by
/// a fixed suffix. The seconds are formatted once per second, and a whole timestamp once per
/// distinct sample time: the samples of one request share theirs.
pub struct WallClock {
    start_secs: u64,
    start_nanos: u64,
    second: u64,
    seconds_text: Vec<u8>,
    suffix: &'static [u8],
    last: Option<u64>,
    last_text: Vec<u8>,
}

impl WallClock {
    /// A clock whose sample time 0 is `start`, each time followed by `suffix`.
    pub fn new(start: std::time::SystemTime, suffix: &'static [u8]) -> Self {
        let since = start
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            start_secs: since.as_secs(),
            start_nanos: u64::from(since.subsec_nanos()),
            second: u64::MAX,
            seconds_text: Vec::new(),
            suffix,
            last: None,
            last_text: Vec::new(),
        }
    }

    /// The time of a sample taken at `time` ns on the metrics' clock, and the suffix.
    #[inline]
    pub fn text(&mut self, time: u64) -> &[u8] {
        if self.last != Some(time) {
            self.format(time);
        }
        &self.last_text
    }

    #[inline(never)]
    fn format(&mut self, time: u64) {
        self.last = Some(time);
        let ns = self.start_nanos + time;
        let secs = self.start_secs + ns / 1_000_000_000;
        let frac = (ns % 1_000_000_000) as u32;
        if secs != self.second {
            self.second = secs;
            let t = std::time::UNIX_EPOCH + Duration::from_secs(secs);
            let full = humantime::format_rfc3339_seconds(t).to_string();
            self.seconds_text = full.trim_end_matches('Z').as_bytes().to_vec();
        }
        let out = &mut self.last_text;
        out.clear();
        out.extend_from_slice(&self.seconds_text);
        if frac != 0 {
            let digits = super::numbers::nanos(frac);
            let mut keep = 9;
            while digits[keep - 1] == b'0' {
                keep -= 1;
            }
            out.push(b'.');
            out.extend_from_slice(&digits[..keep]);
        }
        out.push(b'Z');
        out.extend_from_slice(self.suffix);
    }
}

pub use super::numbers::push_number;

/// Opens `path` for an output: `-` is standard output; a name ending in `.gz` is compressed.
pub fn open_file(path: &Path) -> std::io::Result<Box<dyn Write + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdout()));
    }
    let file = std::fs::File::create(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::default(),
        )))
    } else {
        Ok(Box::new(file))
    }
}

impl JsonLines {
    /// Creates `path` for the samples of `ctx`'s test.
    pub fn create(path: &Path, ctx: &OutputContext) -> Result<Self, OutputError> {
        let file = open_file(path)
            .map_err(|e| format!("cannot write --out json file {}: {e}", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            out: BufWriter::with_capacity(1 << 16, file),
            thresholds: ctx.thresholds.clone(),
            ctx: ctx.clone(),
            heads: Vec::new(),
            tails: Vec::new(),
            clock: WallClock::new(ctx.wall_start, b"\",\"value\":"),
            buf: Vec::with_capacity(WRITE_AT + (64 << 10)),
            lines: 0,
        })
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Writes the `Metric` line of `metric` and returns the head of its `Point` lines.
    fn declare(&mut self, metric: MetricId) -> std::io::Result<Box<[u8]>> {
        let def = self.ctx.metrics.registry.def(metric);
        let name = Value::String(def.name.to_string());
        let thresholds = self.thresholds.get(&*def.name).cloned().unwrap_or_default();
        // k6's keys in k6's order (a line may be matched as text: `{"type":"Metric",…`).
        writeln!(
            self.buf,
            "{{\"type\":\"Metric\",\"data\":{{\"name\":{name},\"type\":\"{}\",\"contains\":\"{}\",\
             \"thresholds\":{},\"submetrics\":{}}},\"metric\":{name}}}",
            def.kind.name(),
            def.contains.name(),
            Value::from(thresholds),
            self.submetrics(metric),
        )?;
        self.lines += 1;
        let head = format!(
            "{{\"metric\":{},\"type\":\"Point\",\"data\":{{\"time\":\"",
            Value::String(def.name.to_string())
        );
        Ok(head.into_bytes().into_boxed_slice())
    }

    /// The sub-metrics of `metric` (those thresholds asked for, and `expected_response:true`),
    /// as k6 lists them: `name`, `suffix` and `tags`; `null` for none.
    fn submetrics(&self, metric: MetricId) -> Value {
        let store = self.ctx.metrics.store();
        let subs: Vec<Value> = store
            .submetrics()
            .iter()
            .filter(|s| s.parent == metric && !s.breakdown)
            .map(|s| {
                let suffix = s
                    .name
                    .split_once('{')
                    .map_or("", |(_, rest)| rest.trim_end_matches('}'));
                let tags: Map<String, Value> = s
                    .filter
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                json!({ "name": s.name, "suffix": suffix, "tags": tags })
            })
            .collect();
        if subs.is_empty() {
            Value::Null
        } else {
            Value::Array(subs)
        }
    }

    fn tail(&self, tags: TagSetId) -> Box<[u8]> {
        let set = self.ctx.metrics.tags.get(tags);
        let map: Map<String, Value> = set
            .iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect();
        format!(",\"tags\":{}}}}}\n", Value::Object(map))
            .into_bytes()
            .into_boxed_slice()
    }

    /// Declares `s`'s metric and makes its tags' tail if not done yet.
    #[cold]
    fn prepare(&mut self, s: &Sample) -> std::io::Result<()> {
        let m = usize::from(s.metric.0);
        if self.heads.len() <= m {
            self.heads.resize(m + 1, None);
        }
        if self.heads[m].is_none() {
            let head = self.declare(s.metric)?;
            self.heads[m] = Some(head);
        }
        let t = s.tags.0 as usize;
        if self.tails.len() <= t {
            self.tails.resize(t + 1, None);
        }
        if self.tails[t].is_none() {
            self.tails[t] = Some(self.tail(s.tags));
        }
        Ok(())
    }

    fn write(&mut self, s: &Sample) -> std::io::Result<()> {
        let (m, t) = (usize::from(s.metric.0), s.tags.0 as usize);
        let ready =
            |parts: &[Option<Box<[u8]>>], i: usize| parts.get(i).is_some_and(Option::is_some);
        if !ready(&self.heads, m) || !ready(&self.tails, t) {
            self.prepare(s)?;
        }
        let (Some(head), Some(tail)) = (&self.heads[m], &self.tails[t]) else {
            unreachable!("prepared")
        };
        let buf = &mut self.buf;
        buf.extend_from_slice(head);
        // The time and `","value":`.
        buf.extend_from_slice(self.clock.text(s.time));
        push_number(s.value, buf);
        buf.extend_from_slice(tail);
        self.lines += 1;
        if buf.len() >= WRITE_AT {
            self.out.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    }
}

impl Output for JsonLines {
    fn description(&self) -> String {
        format!("json ({})", self.path.display())
    }

    fn wants_samples(&self) -> bool {
        true
    }

    fn flush_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    fn samples(&mut self, batch: &[Sample]) -> Result<(), OutputError> {
        for s in batch {
            self.write(s)
                .map_err(|e| format!("writing {}: {e}", self.path.display()))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        let written = self
            .out
            .write_all(&self.buf)
            .and_then(|()| self.out.flush());
        self.buf.clear();
        written.map_err(|e| format!("writing {}: {e}", self.path.display()))
    }

    fn report(&mut self, _report: &super::Report) -> Result<(), OutputError> {
        // Finishes a gzip stream: the writer is replaced, and the old one dropped, closed.
        let done = std::mem::replace(&mut self.out, BufWriter::new(Box::new(std::io::sink())));
        finish(done).map_err(|e| format!("writing {}: {e}", self.path.display()))
    }
}

/// Flushes and closes a writer from [`open_file`] (a gzip stream writes its trailer on drop,
/// silently: flush first so that errors are seen).
pub fn finish(mut out: BufWriter<Box<dyn Write + Send>>) -> std::io::Result<()> {
    out.flush()?;
    let inner = out.into_inner().map_err(|e| e.into_error())?;
    drop(inner);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_numbers_read_as_k6_writes_them() {
        let start = std::time::UNIX_EPOCH + Duration::new(1_780_000_000, 0);
        let mut clock = WallClock::new(start, b" ");
        let mut out = Vec::new();
        out.extend_from_slice(clock.text(740_923_270));
        out.extend_from_slice(clock.text(740_923_270));
        out.extend_from_slice(clock.text(1_000_000_000));
        push_number(1.0, &mut out);
        out.push(b' ');
        push_number(24.240823, &mut out);
        out.push(b' ');
        push_number(f64::NAN, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-05-28T20:26:40.74092327Z 2026-05-28T20:26:40.74092327Z 2026-05-28T20:26:41Z 1 24.240823 0"
        );
    }
}
