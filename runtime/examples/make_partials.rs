//! Writes the partial results of a test split N ways, for the scale benchmark
//! (`bench/run.sh --skip …` keeps `scale`): each instance's metrics hold `SAMPLES` requests
//! spread over `SUBS` sub-metrics — trends, counters and rates by endpoint — as a real test
//! with that many named requests folds them.
//!
//!     cargo run --release -p stampede-runtime --example make_partials -- DIR N [SUBS] [SAMPLES]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use stampede_runtime::executor::{ExecutionTuple, SegmentSequence};
use stampede_runtime::metrics::{builtin, MetricId, Metrics, Sample};
use stampede_runtime::options::Options;
use stampede_runtime::output::GeneratorReport;
use stampede_runtime::partial::{capture, OutcomePart, RunFacts};

/// A deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A latency in milliseconds: mostly 1–20 ms, with a long tail.
    fn latency(&mut self) -> f64 {
        let base = 1.0 + 19.0 * self.unit();
        if self.unit() < 0.01 {
            base * (10.0 + 200.0 * self.unit())
        } else {
            base
        }
    }
}

/// One instance's metrics: `samples` requests over `subs` sub-metrics.
fn instance(subs: usize, samples: usize, seed: u64) -> Metrics {
    let metrics = Metrics::new();
    let endpoints = subs.div_ceil(4).max(1);
    let per_metric: [(MetricId, &str); 4] = [
        (builtin::HTTP_REQ_DURATION, "http_req_duration"),
        (builtin::HTTP_REQ_WAITING, "http_req_waiting"),
        (builtin::HTTP_REQS, "http_reqs"),
        (builtin::HTTP_REQ_FAILED, "http_req_failed"),
    ];
    {
        let mut store = metrics.store();
        let mut made = 0;
        'outer: for e in 0..endpoints {
            for (id, name) in per_metric {
                if made == subs {
                    break 'outer;
                }
                let tag = format!("endpoint-{e}");
                store.add_submetric(
                    &format!("{name}{{name:{tag}}}"),
                    id,
                    vec![("name".into(), tag)],
                );
                made += 1;
            }
        }
    }
    let tags: Vec<_> = (0..endpoints)
        .map(|e| {
            let name = format!("endpoint-{e}");
            metrics.tag_set(&[("name", &name), ("status", "200"), ("scenario", "default")])
        })
        .collect();
    let mut rng = Rng(seed);
    let mut batch = Vec::with_capacity(1024);
    for i in 0..samples {
        let t = tags[i % endpoints];
        let d = rng.latency();
        let failed = if rng.unit() < 0.01 { 1.0 } else { 0.0 };
        for (metric, value) in [
            (builtin::HTTP_REQ_DURATION, d),
            (builtin::HTTP_REQ_WAITING, d * 0.9),
            (builtin::HTTP_REQ_SENDING, 0.01),
            (builtin::HTTP_REQ_RECEIVING, d * 0.09),
            (builtin::HTTP_REQ_BLOCKED, 0.002),
            (builtin::HTTP_REQS, 1.0),
            (builtin::HTTP_REQ_FAILED, failed),
            (builtin::ITERATIONS, 1.0),
            (builtin::ITERATION_DURATION, d + 0.05),
            (builtin::DATA_RECEIVED, 180.0),
            (builtin::DATA_SENT, 90.0),
            (builtin::CHECKS, 1.0 - failed),
        ] {
            batch.push(Sample {
                metric,
                tags: t,
                value,
                time: 0,
            });
        }
        if batch.len() >= 1000 {
            metrics.record(&batch);
            batch.clear();
        }
    }
    metrics.record(&batch);
    metrics.record_untagged(&[(builtin::VUS, 10.0), (builtin::VUS_MAX, 10.0)]);
    metrics
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: make_partials DIR N [SUBS=50] [SAMPLES=20000]");
        std::process::exit(2);
    }
    let dir = PathBuf::from(&args[1]);
    let n: u64 = args[2].parse().expect("N");
    let subs: usize = args.get(3).map_or(50, |s| s.parse().expect("SUBS"));
    let samples: usize = args.get(4).map_or(20_000, |s| s.parse().expect("SAMPLES"));
    std::fs::create_dir_all(&dir).unwrap();
    let sequence = SegmentSequence::even(n).unwrap();
    let tuples = ExecutionTuple::all_of(&sequence).unwrap();
    // A few distinct instances, reused: the merge's cost does not depend on which is which.
    let distinct: Vec<Metrics> = (0..n.min(8))
        .map(|i| instance(subs, samples, i + 1))
        .collect();
    let options = Options::default();
    let generator = GeneratorReport::default();
    let started = SystemTime::now();
    for (i, tuple) in tuples.iter().enumerate() {
        let metrics = &distinct[i % distinct.len()];
        let facts = RunFacts {
            script: "bench.wasm",
            script_sha256: "0",
            options: &options,
            tuple,
            thresholds: Default::default(),
            started,
            run_time: Duration::from_secs(60),
            generator: &generator,
            outcome: OutcomePart::default(),
        };
        let partial = capture(&metrics.store(), &facts).unwrap();
        partial
            .write(&dir.join(format!("partial-{i}.json")))
            .unwrap();
    }
}
