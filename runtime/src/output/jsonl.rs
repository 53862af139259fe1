//! `--out json=FILE`: every sample as a line of JSON, in k6's format — a `Metric` line the
//! first time a metric appears, then a `Point` line per sample.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use crate::metrics::{MetricId, Metrics, Sample, TagSetId};

/// A JSON lines output being written by its own thread.
pub struct JsonLines {
    path: PathBuf,
    thread: Option<JoinHandle<io::Result<u64>>>,
}

impl JsonLines {
    /// Starts writing every sample of `metrics` to `path`. `thresholds` lists the threshold
    /// expressions per metric name, which k6 puts in the `Metric` lines.
    pub fn start(
        path: &Path,
        metrics: &Metrics,
        thresholds: BTreeMap<String, Vec<String>>,
    ) -> io::Result<Self> {
        let file = File::create(path)?;
        let (tx, rx) = channel();
        metrics.store().add_tap(tx);
        let metrics = metrics.clone();
        let wall_start = SystemTime::now() - metrics.start().elapsed();
        let thread = std::thread::Builder::new()
            .name("stampede-jsonl".into())
            .spawn(move || {
                write_all(
                    BufWriter::with_capacity(1 << 16, file),
                    rx,
                    &metrics,
                    wall_start,
                    &thresholds,
                )
            })?;
        Ok(Self {
            path: path.to_owned(),
            thread: Some(thread),
        })
    }

    /// Waits for every sample to be written (after the store's taps were cleared); returns
    /// the number of lines.
    pub fn finish(mut self) -> io::Result<u64> {
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(res)) => res,
            Some(Err(_)) => Err(io::Error::other(format!(
                "the writer of {} panicked",
                self.path.display()
            ))),
            None => Ok(0),
        }
    }
}

fn write_all(
    mut out: BufWriter<File>,
    rx: Receiver<Vec<Sample>>,
    metrics: &Metrics,
    wall_start: SystemTime,
    thresholds: &BTreeMap<String, Vec<String>>,
) -> io::Result<u64> {
    let mut declared: HashSet<MetricId> = HashSet::new();
    let mut names: HashMap<MetricId, String> = HashMap::new();
    let mut tags: HashMap<TagSetId, String> = HashMap::new();
    let mut lines = 0u64;
    for batch in rx {
        for s in batch {
            if declared.insert(s.metric) {
                let def = metrics.registry.def(s.metric);
                let line = json!({
                    "type": "Metric",
                    "data": {
                        "name": &*def.name,
                        "type": def.kind.name(),
                        "contains": def.contains.name(),
                        "thresholds": thresholds.get(&*def.name).cloned().unwrap_or_default(),
                        "submetrics": Value::Null,
                    },
                    "metric": &*def.name,
                });
                writeln!(out, "{line}")?;
                names.insert(s.metric, def.name.to_string());
                lines += 1;
            }
            let tag_json = tags.entry(s.tags).or_insert_with(|| {
                let set = metrics.tags.get(s.tags);
                let map: Map<String, Value> = set
                    .iter()
                    .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                    .collect();
                Value::Object(map).to_string()
            });
            let time = humantime::format_rfc3339_nanos(wall_start + Duration::from_nanos(s.time));
            let value = if s.value.is_finite() { s.value } else { 0.0 };
            writeln!(
                out,
                "{{\"metric\":{},\"type\":\"Point\",\"data\":{{\"time\":\"{time}\",\"value\":{},\"tags\":{tag_json}}}}}",
                Value::String(names[&s.metric].clone()),
                json!(value),
            )?;
            lines += 1;
        }
    }
    out.flush()?;
    Ok(lines)
}
