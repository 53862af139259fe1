//! Tests split between instances: N real `stampede run` processes, each running its execution
//! segment against a server on 127.0.0.1 and writing a partial result, merged by `stampede
//! merge` and compared with one process running the whole test — and with one histogram of
//! every sample the instances wrote as JSON lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use stampede_runtime::metrics::{MetricType, Sink};

use crate::guests::guest;
use crate::support::{run_command, runtime, stampede, target, RunResult, TempDir};

/// One instance's files.
struct Instance {
    partial: PathBuf,
    jsonl: PathBuf,
}

/// A test split `n` ways and run: its instances and what they printed.
struct Split {
    instances: Vec<Instance>,
    results: Vec<RunResult>,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Runs `n` instances of `script` with `args`, each on its segment of an even sequence,
/// started `stagger` apart and all holding until a common start a little later.
fn run_split(dir: &TempDir, script: &Path, args: &[&str], n: usize, stagger: Duration) -> Split {
    let sequence = (0..=n)
        .map(|i| match i {
            0 => "0".to_string(),
            i if i == n => "1".to_string(),
            i => format!("{i}/{n}"),
        })
        .collect::<Vec<_>>()
        .join(",");
    let start_at = rfc3339(SystemTime::now() + stagger * n as u32 + Duration::from_secs(3));
    let setup = dir.path("setup-data");
    let mut children: Vec<(Child, PathBuf)> = Vec::new();
    let mut instances = Vec::new();
    for i in 0..n {
        let inst = Instance {
            partial: dir.path(&format!("part-{i}.json")),
            jsonl: dir.path(&format!("samples-{i}.jsonl")),
        };
        let export = dir.path(&format!("summary-{i}.json"));
        let mut cmd = stampede();
        cmd.arg("run")
            .arg(script)
            .args(args)
            .args(["--execution-segment-sequence", &sequence])
            .args(["--execution-segment-index", &i.to_string()])
            .args(["--start-at", &start_at, "--no-thresholds", "-q"])
            .arg("--setup-data")
            .arg(&setup)
            .arg("--export-setup-data")
            .arg(&setup)
            .arg("--out")
            .arg(format!("partial={}", inst.partial.display()))
            .arg("--out")
            .arg(format!("json={}", inst.jsonl.display()))
            .arg("--summary-export")
            .arg(&export)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        children.push((cmd.spawn().expect("starting stampede"), export));
        instances.push(inst);
        std::thread::sleep(stagger);
    }
    let results = children
        .into_iter()
        .map(|(child, export)| {
            let out = child.wait_with_output().unwrap();
            let summary = std::fs::read_to_string(&export)
                .ok()
                .map(|s| serde_json::from_str(&s).unwrap());
            RunResult {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                elapsed: Duration::ZERO,
                summary,
            }
        })
        .collect();
    Split { instances, results }
}

fn merge(dir: &TempDir, parts: &[&Path], extra: &[&str]) -> RunResult {
    let export = dir.path("merged.json");
    let mut cmd = stampede();
    cmd.arg("merge")
        .args(parts)
        .args(extra)
        .args([
            "--summary-trend-stats",
            "avg,min,med,max,p(90),p(95),p(99),count",
        ])
        .arg("--summary-export")
        .arg(&export);
    run_command(cmd, Some(&export))
}

/// Every `Point` of `metric` in the JSON lines files: (value, tags).
fn points(files: &[&Path], metric: &str) -> Vec<(f64, serde_json::Map<String, Value>)> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["type"] == "Point" && v["metric"] == metric {
                let tags = v["data"]["tags"].as_object().cloned().unwrap_or_default();
                out.push((v["data"]["value"].as_f64().unwrap(), tags));
            }
        }
    }
    out
}

/// The merged trend's statistics must be those of one histogram of every sample.
fn assert_percentiles_exact(merged: &RunResult, files: &[&Path], metric: &str) {
    let mut one = Sink::new(MetricType::Trend);
    let samples = points(files, metric);
    assert!(!samples.is_empty(), "no {metric} samples");
    for (v, _) in &samples {
        one.add(*v);
    }
    let Sink::Trend(one) = one else {
        unreachable!()
    };
    assert_eq!(merged.metric(metric, "count"), samples.len() as f64);
    for (stat, p) in [
        ("med", 50.0),
        ("p(90)", 90.0),
        ("p(95)", 95.0),
        ("p(99)", 99.0),
    ] {
        assert_eq!(
            merged.metric(metric, stat),
            one.percentile(p),
            "{metric} {stat}: merged vs one histogram of all {} samples",
            samples.len()
        );
    }
    assert_eq!(merged.metric(metric, "min"), one.min);
    assert_eq!(merged.metric(metric, "max"), one.max);
    let avg = merged.metric(metric, "avg");
    assert!(
        (avg - one.avg()).abs() <= one.avg().abs() * 1e-9,
        "avg {avg} vs {}",
        one.avg()
    );
}

fn config(dir: &TempDir, json: &str) -> PathBuf {
    let path = dir.path("options.json");
    std::fs::write(&path, json).unwrap();
    path
}

fn parts(split: &Split) -> Vec<&Path> {
    split
        .instances
        .iter()
        .map(|i| i.partial.as_path())
        .collect()
}

fn samples(split: &Split) -> Vec<&Path> {
    split.instances.iter().map(|i| i.jsonl.as_path()).collect()
}

#[test]
fn a_split_shared_iterations_test_merges_into_the_whole_test() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let dir = TempDir::new("split-shared");
    let script = guest("split");
    let common = ["-e", &base, "-u", "7", "-i", "200"];

    let whole = crate::support::run(&script, &common);
    assert_eq!(whole.code, 0, "{}", whole.output());
    let split = run_split(&dir, &script, &common, 3, Duration::from_millis(700));
    for r in &split.results {
        assert_eq!(r.code, 0, "{}", r.output());
    }
    let merged = merge(&dir, &parts(&split), &[]);
    assert_eq!(merged.code, 0, "{}", merged.output());

    for m in ["iterations", "http_reqs", "split_iterations"] {
        assert_eq!(merged.metric(m, "count"), 200.0, "{m}");
        assert_eq!(whole.metric(m, "count"), 200.0, "{m}");
    }
    assert_eq!(merged.metric("checks", "passes"), 400.0);
    assert_percentiles_exact(&merged, &samples(&split), "http_req_duration");
    assert_percentiles_exact(&merged, &samples(&split), "iteration_duration");

    // Every iteration number of the whole test once; each VU on one instance only.
    let seen = points(&samples(&split), "split_iterations");
    let iters: Vec<u64> = seen
        .iter()
        .map(|(_, t)| t["iter_in_test"].as_str().unwrap().parse().unwrap())
        .collect();
    let distinct: BTreeSet<u64> = iters.iter().copied().collect();
    assert_eq!(distinct, (0..200).collect::<BTreeSet<_>>());
    assert_eq!(iters.len(), 200);
    let mut vu_owner: BTreeMap<String, usize> = BTreeMap::new();
    for (i, f) in samples(&split).iter().enumerate() {
        for (_, t) in points(&[f], "split_iterations") {
            let vu = t["vu_in_test"].as_str().unwrap().to_owned();
            assert_eq!(
                *vu_owner.entry(vu.clone()).or_insert(i),
                i,
                "VU {vu} ran on two instances"
            );
        }
    }
    assert_eq!(vu_owner.len(), 7, "{vu_owner:?}");

    // setup() and teardown() ran on the first segment's instance only, and everyone used
    // its token.
    let ran = |what: &str| {
        split
            .results
            .iter()
            .filter(|r| r.stderr.contains(what))
            .count()
    };
    assert_eq!((ran("setup ran"), ran("teardown ran")), (1, 1));
    assert!(
        split.results[0].stderr.contains("setup ran"),
        "{}",
        split.results[0].output()
    );
    let tokens: BTreeSet<&str> = seen
        .iter()
        .map(|(_, t)| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert!(split.results[0]
        .stderr
        .contains(&format!("token {}", tokens.iter().next().unwrap())));
}

#[test]
fn instances_started_apart_begin_the_load_together() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let dir = TempDir::new("split-start");
    let split = run_split(
        &dir,
        &guest("split"),
        &["-e", &base, "-u", "4", "-d", "1s"],
        4,
        Duration::from_millis(600),
    );
    let starts: Vec<f64> = split
        .instances
        .iter()
        .zip(&split.results)
        .map(|(i, r)| {
            assert_eq!(r.code, 0, "{}", r.output());
            let p: Value = serde_json::from_slice(&std::fs::read(&i.partial).unwrap()).unwrap();
            p["window"]["start_unix_ms"].as_f64().unwrap()
        })
        .collect();
    let spread = starts.iter().cloned().fold(f64::MIN, f64::max)
        - starts.iter().cloned().fold(f64::MAX, f64::min);
    // Started 1.8 s apart; the load began within a few milliseconds (timer and scheduling
    // noise of a busy machine allowed).
    assert!(spread < 250.0, "starts spread over {spread} ms: {starts:?}");
}

#[test]
fn a_split_arrival_rate_test_keeps_its_schedule() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let dir = TempDir::new("split-rate");
    let options = config(
        &dir,
        r#"{"scenarios": {
            "steady": {"executor": "constant-arrival-rate", "rate": 60, "timeUnit": "1s",
                       "duration": "3s", "preAllocatedVUs": 6, "maxVUs": 12},
            "ramp": {"executor": "ramping-arrival-rate", "startRate": 10, "timeUnit": "1s",
                     "preAllocatedVUs": 5, "stages": [{"duration": "2s", "target": 40},
                                                      {"duration": "1s", "target": 0}]},
            "each": {"executor": "per-vu-iterations", "vus": 5, "iterations": 4}
        }}"#,
    );
    let opts = options.display().to_string();
    // Full mode: the instances record the per-scenario breakdown, which the merge adds up.
    let common = ["-e", &base, "-c", &opts, "--summary-mode", "full"];
    let whole = crate::support::run(&guest("split"), &common);
    assert_eq!(whole.code, 0, "{}", whole.output());
    let split = run_split(
        &dir,
        &guest("split"),
        &common,
        3,
        Duration::from_millis(300),
    );
    for r in &split.results {
        assert_eq!(r.code, 0, "{}", r.output());
    }
    let merged = merge(&dir, &parts(&split), &["--summary-mode", "full"]);
    assert_eq!(merged.code, 0, "{}", merged.output());
    // per-vu-iterations: exactly the whole test's; the arrival rates: within one iteration
    // per instance of one process running it all (an iteration due on the very last instant
    // may or may not start), and of the schedule (180 and 70).
    let count = |r: &RunResult, s: &str| r.metric(&format!("iterations{{scenario:{s}}}"), "count");
    assert_eq!(count(&merged, "each"), 20.0);
    assert_eq!(count(&whole, "each"), 20.0);
    for (s, scheduled) in [("steady", 180.0), ("ramp", 70.0)] {
        let (m, w) = (count(&merged, s), count(&whole, s));
        assert!((m - w).abs() <= 3.0, "{s}: merged {m}, one process {w}");
        assert!(
            (m - scheduled).abs() <= 3.0,
            "{s}: merged {m}, scheduled {scheduled}"
        );
    }
    assert_percentiles_exact(&merged, &samples(&split), "http_req_duration");
    // Iteration numbers of each arrival-rate scenario are unique across the instances.
    let seen = points(&samples(&split), "split_iterations");
    let mut per_scenario: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, t) in &seen {
        per_scenario
            .entry(t["scn"].as_str().unwrap().to_owned())
            .or_default()
            .push(t["iter_in_test"].as_str().unwrap().parse().unwrap());
    }
    for (s, ids) in &per_scenario {
        let distinct: BTreeSet<&u64> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            ids.len(),
            "{s}: an iteration number repeats"
        );
    }
}

#[test]
fn merge_refuses_parts_that_do_not_make_one_test() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let dir = TempDir::new("split-bad");
    let script = guest("split");
    let split = run_split(
        &dir,
        &script,
        &["-e", &base, "-i", "9", "-u", "3"],
        3,
        Duration::ZERO,
    );
    let p = parts(&split);

    let missing = merge(&dir, &[p[0], p[2]], &[]);
    assert_eq!(missing.code, 104, "{}", missing.output());
    assert!(
        missing.stderr.contains("covers segment 1/3:2/3"),
        "{}",
        missing.output()
    );

    let twice = merge(&dir, &[p[0], p[1], p[1], p[2]], &[]);
    assert_eq!(twice.code, 104, "{}", twice.output());
    assert!(twice.stderr.contains("is in both"), "{}", twice.output());

    // A part of another test: more iterations.
    let other_dir = TempDir::new("split-other");
    let other = run_split(
        &other_dir,
        &script,
        &["-e", &base, "-i", "12", "-u", "3"],
        3,
        Duration::ZERO,
    );
    let mixed = merge(&dir, &[p[0], p[1], &other.instances[2].partial], &[]);
    assert_eq!(mixed.code, 104, "{}", mixed.output());
    assert!(
        mixed.stderr.contains("different options"),
        "{}",
        mixed.output()
    );

    let garbage = dir.path("garbage.json");
    std::fs::write(&garbage, "{\"format\": \"something else\"}").unwrap();
    let bad = merge(&dir, &[&garbage], &[]);
    assert_eq!(bad.code, 104, "{}", bad.output());
    assert!(
        bad.stderr.contains("not a stampede partial result"),
        "{}",
        bad.output()
    );

    let ok = merge(&dir, &p, &[]);
    assert_eq!(ok.code, 0, "{}", ok.output());
    assert_eq!(ok.metric("iterations", "count"), 9.0);
}

#[test]
fn merged_thresholds_judge_the_whole_test() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let dir = TempDir::new("split-thresholds");
    // 30 iterations in all: each instance alone has 10, the whole test 30.
    let split = run_split(
        &dir,
        &guest("split"),
        &[
            "-e",
            &base,
            "-i",
            "30",
            "-u",
            "3",
            "--threshold",
            "iterations: count>=25",
            "--threshold",
            "http_reqs: count<20",
        ],
        3,
        Duration::ZERO,
    );
    for r in &split.results {
        assert_eq!(
            r.code,
            0,
            "each instance runs with --no-thresholds: {}",
            r.output()
        );
    }
    let merged = merge(&dir, &parts(&split), &[]);
    assert_eq!(merged.code, 99, "{}", merged.output());
    let summary = merged.summary.as_ref().unwrap();
    assert_eq!(
        summary["metrics"]["iterations"]["thresholds"]["count>=25"],
        false
    );
    assert_eq!(
        summary["metrics"]["http_reqs"]["thresholds"]["count<20"],
        true
    );
    // Without the failing one, the merge passes.
    let lenient = merge(&dir, &parts(&split), &["--no-thresholds"]);
    assert_eq!(lenient.code, 0, "{}", lenient.output());
    assert!(
        merged.stdout.contains("LOAD GENERATOR"),
        "{}",
        merged.output()
    );
}
