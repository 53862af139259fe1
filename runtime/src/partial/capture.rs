//! A finished run's metrics and facts, as a [`Partial`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use stampede_host_api::modules::ScriptFiles;

use super::{
    hdr, CheckPart, GeneratorPart, MetricPart, OutcomePart, Partial, SinkPart, SubmetricPart,
    TestIdentity, Window, FORMAT, VERSION,
};
use crate::executor::ExecutionTuple;
use crate::metrics::{Sink, Store};
use crate::options::{Options, ThresholdSpec};
use crate::output::GeneratorReport;

/// Options that may differ between the instances of one test: their part, whether they run
/// `setup()` and `teardown()`, tags naming them, and how their own summary looks.
const PER_INSTANCE: [&str; 7] = [
    "executionSegment",
    "executionSegmentSequence",
    "executionSegmentIndex",
    "noSetup",
    "noTeardown",
    "tags",
    "summaryTrendStats",
];

/// What a run knows besides its metrics.
pub struct RunFacts<'a> {
    /// The script, as given.
    pub script: &'a str,
    /// What names the script, hex ([`script_sha256`]).
    pub script_sha256: &'a str,
    /// The merged options.
    pub options: &'a Options,
    /// This instance's segment.
    pub tuple: &'a ExecutionTuple,
    /// Thresholds as configured (none with `--no-thresholds`).
    pub thresholds: BTreeMap<String, Vec<ThresholdSpec>>,
    /// When the scenarios started.
    pub started: SystemTime,
    /// How long they ran.
    pub run_time: Duration,
    /// The generator's self-diagnosis.
    pub generator: &'a GeneratorReport,
    /// How the run ended.
    pub outcome: OutcomePart,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes`, hex: what names a component in a partial result.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// What names the script in a partial result (SHA-256, hex): the component `wasm`; for a
/// script an engine component runs from its `files` (JavaScript), its entry file instead. The
/// engine is pre-initialised by each process that has no snapshot of it cached, and snapshots
/// differ (the engine's random seeds): the pods of one test each make their own. (The engine
/// itself is the binary's, named by the version a partial carries.)
pub fn script_sha256(wasm: &[u8], files: Option<&ScriptFiles>) -> String {
    match files.map(|f| f.read(f.main())) {
        Some(Ok(main)) => {
            let mut h = Sha256::new();
            h.update(b"stampede engine script\0");
            h.update(&main);
            hex(&h.finalize())
        }
        // Not readable: the test fails when its VUs load it.
        Some(Err(_)) | None => sha256_hex(wasm),
    }
}

fn identity(facts: &RunFacts<'_>) -> Result<TestIdentity, String> {
    let options = serde_json::to_value(facts.options).map_err(|e| e.to_string())?;
    let mut shared = options.clone();
    if let Some(map) = shared.as_object_mut() {
        for key in PER_INSTANCE {
            map.remove(key);
        }
    }
    let canonical = serde_json::to_vec(&shared).map_err(|e| e.to_string())?;
    Ok(TestIdentity {
        script: facts.script.to_owned(),
        script_sha256: facts.script_sha256.to_owned(),
        options_sha256: hex(&Sha256::digest(&canonical)),
        options,
    })
}

/// A sink as written in a partial.
pub(super) fn sink_part(sink: &Sink) -> Result<SinkPart, String> {
    Ok(match sink {
        Sink::Counter(c) => SinkPart::Counter {
            sum: c.sum,
            samples: c.samples,
        },
        Sink::Gauge(g) => SinkPart::Gauge {
            value: g.value,
            min: g.min,
            max: g.max,
        },
        Sink::Rate(r) => SinkPart::Rate {
            trues: r.trues,
            total: r.total,
        },
        Sink::Trend(t) => SinkPart::Trend {
            count: t.count,
            sum: t.sum,
            min: t.min,
            max: t.max,
            hdr: hdr::encode(t.histogram())?,
        },
    })
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn generator(g: &GeneratorReport) -> GeneratorPart {
    GeneratorPart {
        host: host(),
        cpu_user_s: g.cpu.user.as_secs_f64(),
        cpu_system_s: g.cpu.sys.as_secs_f64(),
        wall_s: g.cpu.wall.as_secs_f64(),
        cores: g.cpu.cores,
        peak_rss_bytes: g.peak_rss,
        vus_made: g.vus_made,
        vus_init_ms: g.vus_init.as_secs_f64() * 1000.0,
        vu_threads_busy: g.vu_threads_busy,
        warnings: g.warnings.clone(),
    }
}

fn metrics(store: &Store) -> Result<Vec<MetricPart>, String> {
    let registry = store.registry();
    let mut out = Vec::new();
    for def in registry.all() {
        let id = registry.id(&def.name).expect("listed by the registry");
        let sink = store.total(id).filter(|s| !s.is_empty());
        let submetrics = store
            .submetrics()
            .iter()
            .filter(|s| s.parent == id && !s.sink.is_empty())
            .map(|s| {
                Ok(SubmetricPart {
                    name: s.name.clone(),
                    filter: s.filter.clone(),
                    breakdown: s.breakdown,
                    sink: sink_part(&s.sink)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if sink.is_none() && submetrics.is_empty() {
            continue;
        }
        out.push(MetricPart {
            name: def.name.to_string(),
            kind: def.kind.name().to_owned(),
            contains: def.contains.name().to_owned(),
            builtin: def.builtin,
            sink: sink.map(sink_part).transpose()?,
            submetrics,
        });
    }
    Ok(out)
}

/// The partial result of a finished run.
pub fn capture(store: &Store, facts: &RunFacts<'_>) -> Result<Partial, String> {
    let start_unix_ms = facts
        .started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0);
    Ok(Partial {
        format: FORMAT.into(),
        version: VERSION,
        stampede: env!("CARGO_PKG_VERSION").into(),
        test: identity(facts)?,
        segment: facts.tuple.segment(),
        sequence: facts.tuple.sequence(),
        window: Window {
            start_unix_ms,
            duration_ms: facts.run_time.as_secs_f64() * 1000.0,
        },
        thresholds: facts.thresholds.clone(),
        metrics: metrics(store)?,
        checks: store
            .checks()
            .iter()
            .map(|c| CheckPart {
                group: c.group.clone(),
                name: c.name.clone(),
                passes: c.passes,
                fails: c.fails,
            })
            .collect(),
        groups: store.groups().to_vec(),
        generator: generator(facts.generator),
        outcome: facts.outcome.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_javascript_script_is_named_by_its_file_not_by_the_engines_snapshot() {
        let dir = std::env::temp_dir().join(format!("stampede-script-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.js"), dir.join("b.js"));
        std::fs::write(&a, "export default function () {}\n").unwrap();
        std::fs::write(&b, "export default function () { 1 }\n").unwrap();
        let named = |wasm: &[u8], main: &std::path::Path| {
            script_sha256(wasm, Some(&ScriptFiles::new(main)))
        };
        // Two snapshots of the engine (as two pods make them), one script: one name.
        assert_eq!(named(b"snapshot 1", &a), named(b"snapshot 2", &a));
        assert_ne!(named(b"snapshot 1", &a), named(b"snapshot 1", &b));
        // A component is named by its bytes.
        assert_eq!(script_sha256(b"component", None), sha256_hex(b"component"));
        assert_ne!(named(b"component", &a), sha256_hex(b"component"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
