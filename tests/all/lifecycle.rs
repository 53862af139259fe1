//! setup and teardown, their timeouts and failures, aborting and failing the test, groups,
//! abortOnFail thresholds, signals, and the exit code of each.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::guests::guest;
use crate::support::{run, run_command, runtime, stampede, target, RunResult, TempDir};

fn probe(args: &[&str]) -> (RunResult, u64) {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let mut all = vec!["-e", base.as_str(), "-q"];
    all.extend_from_slice(args);
    let r = run(&guest("probe"), &all);
    (r, server.stats().requests())
}

fn with_config(json: &str, args: &[&str]) -> (RunResult, u64) {
    let dir = TempDir::new("lifecycle");
    let config = dir.path("config.json");
    std::fs::write(&config, json).unwrap();
    let mut all = vec!["-c", config.to_str().unwrap()];
    all.extend_from_slice(args);
    probe(&all)
}

#[test]
fn a_slow_setup_exits_100_and_skips_the_load() {
    let (r, requests) = with_config(
        r#"{"setupTimeout": "500ms", "iterations": 5}"#,
        &["-e", "SETUP=sleep:10"],
    );
    assert_eq!(r.code, 100, "{}", r.output());
    assert!(r.stderr.contains("setupTimeout"), "{}", r.output());
    assert!(r.elapsed < Duration::from_secs(8), "took {:?}", r.elapsed);
    assert_eq!(requests, 0);
    assert!(r.summary.is_some(), "the summary is still written");
}

#[test]
fn a_slow_teardown_exits_101_after_the_load() {
    let (r, requests) = with_config(
        r#"{"teardownTimeout": "500ms", "iterations": 5}"#,
        &["-e", "TEARDOWN=sleep:10"],
    );
    assert_eq!(r.code, 101, "{}", r.output());
    assert_eq!(requests, 5);
    assert_eq!(r.metric("iterations", "count"), 5.0);
}

#[test]
fn setup_and_teardown_errors_exit_107() {
    let (r, requests) = probe(&["-i", "3", "-e", "SETUP=error"]);
    assert_eq!(r.code, 107, "{}", r.output());
    assert!(
        r.stderr.contains("SETUP failed on purpose"),
        "{}",
        r.output()
    );
    assert_eq!(requests, 0);
    assert!(
        !r.stderr.contains("teardown ran"),
        "no teardown without setup data"
    );

    let (r, _) = probe(&["-i", "3", "-e", "SETUP=trap"]);
    assert_eq!(r.code, 107, "{}", r.output());

    let (r, requests) = probe(&["-i", "3", "-e", "TEARDOWN=error"]);
    assert_eq!(r.code, 107, "{}", r.output());
    assert_eq!(requests, 3);
    assert!(
        r.stderr.contains("TEARDOWN failed on purpose"),
        "{}",
        r.output()
    );
}

#[test]
fn no_setup_and_no_teardown_skip_them() {
    let (r, _) = probe(&[
        "-i",
        "2",
        "-e",
        "SETUP=error",
        "-e",
        "TEARDOWN=error",
        "--no-setup",
        "--no-teardown",
    ]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(!r.stderr.contains("teardown ran"), "{}", r.output());
}

#[test]
fn aborting_the_test_exits_108_and_still_runs_teardown() {
    let (r, requests) = probe(&["-u", "2", "-d", "30s", "-e", "MODE=abort", "-e", "AFTER=5"]);
    assert_eq!(r.code, 108, "{}", r.output());
    assert!(r.elapsed < Duration::from_secs(10), "took {:?}", r.elapsed);
    assert!(r.stderr.contains("the probe had enough"), "{}", r.output());
    assert!(r.stderr.contains("teardown ran"), "{}", r.output());
    assert!(r.summary.is_some());
    // An abort interrupts at once: a request in flight then reached the server but is not
    // recorded, at most one per VU.
    let recorded = r.metric("http_reqs", "count");
    assert!(
        recorded <= requests as f64 && recorded >= requests as f64 - 2.0,
        "{recorded} of {requests}"
    );

    let (r, requests) = probe(&["-i", "5", "-e", "SETUP=abort"]);
    assert_eq!(r.code, 108, "{}", r.output());
    assert_eq!(requests, 0);
}

#[test]
fn marking_the_test_failed_exits_110_and_lets_it_finish() {
    let (r, requests) = probe(&["-i", "6", "-e", "MODE=fail"]);
    assert_eq!(r.code, 110, "{}", r.output());
    assert_eq!(requests, 6);
    assert!(
        r.stderr.contains("the probe saw bad data"),
        "{}",
        r.output()
    );
    // A threshold that fails at the end does not change it (k6 keeps the first exit code).
    let (r, _) = probe(&[
        "-i",
        "2",
        "-e",
        "MODE=fail",
        "--threshold",
        "iterations: count>100",
    ]);
    assert_eq!(r.code, 110, "{}", r.output());
}

#[test]
fn groups_nest_and_are_reported() {
    let (r, _) = probe(&[
        "-i",
        "4",
        "-e",
        "MODE=group",
        "--summary-mode",
        "full",
        "--summary-trend-stats",
        "count,avg,p(95)",
    ]);
    assert_eq!(r.code, 0, "{}", r.output());
    let s = r.summary.as_ref().unwrap();
    let outer = &s["root_group"]["groups"]["outer"];
    assert_eq!(outer["path"], "::outer");
    assert_eq!(outer["checks"]["status is 200"]["passes"], 4);
    assert_eq!(outer["groups"]["inner"]["path"], "::outer::inner");
    assert_eq!(
        outer["groups"]["inner"]["checks"]["status is 200"]["passes"],
        4
    );
    assert_eq!(r.metric("group_duration", "count"), 8.0);
    assert_eq!(r.metric("http_reqs{group:::outer::inner}", "count"), 4.0);
    assert!(
        r.stdout.contains("█ GROUP: outer \n") && r.stdout.contains("↳ GROUP: inner \n"),
        "{}",
        r.output()
    );
}

#[test]
fn an_abort_on_fail_threshold_stops_the_test_early_with_99() {
    let config = r#"{"vus": 2, "duration": "30s",
        "thresholds": {"http_req_failed": [{"threshold": "rate<0.1", "abortOnFail": true}]}}"#;
    let (r, _) = with_config(config, &["-e", "PATH=/status/500"]);
    assert_eq!(r.code, 99, "{}", r.output());
    assert!(r.elapsed < Duration::from_secs(10), "took {:?}", r.elapsed);
    assert!(r.stderr.contains("abortOnFail"), "{}", r.output());
    assert!(r.stderr.contains("teardown ran"), "{}", r.output());
    assert_eq!(
        r.summary.as_ref().unwrap()["metrics"]["http_req_failed"]["thresholds"]["rate<0.1"],
        true
    );
}

#[test]
fn delay_abort_eval_postpones_the_abort() {
    let config = r#"{"vus": 1, "duration": "4s",
        "thresholds": {"http_req_failed": [{"threshold": "rate<0.1", "abortOnFail": true, "delayAbortEval": "1m"}]}}"#;
    let (r, _) = with_config(config, &["-e", "PATH=/status/500"]);
    assert_eq!(r.code, 99, "{}", r.output());
    assert!(
        r.elapsed >= Duration::from_secs(4),
        "ran its full duration: {:?}",
        r.elapsed
    );
}

#[test]
fn sigint_stops_gracefully_with_105_and_the_summary_written() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("sigint");
    let export = dir.path("summary.json");
    let mut cmd = stampede();
    cmd.args([
        "run",
        guest("probe").to_str().unwrap(),
        "-e",
        &format!("BASE_URL={}", server.url()),
        "-u",
        "4",
        "-d",
        "60s",
        "-q",
    ])
    .arg("--summary-export")
    .arg(&export)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(105), "{stderr}");
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    assert!(stderr.contains("SIGINT"), "{stderr}");
    assert!(stderr.contains("teardown ran"), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let reqs = summary["metrics"]["http_reqs"]["count"].as_f64().unwrap();
    assert!(reqs > 0.0);
    assert_eq!(reqs, server.stats().requests() as f64, "exact for what ran");
    assert!(String::from_utf8_lossy(&out.stdout).contains("http_reqs"));
}

#[test]
fn a_second_sigint_stops_at_once_and_still_reports() {
    let dir = TempDir::new("sigint2");
    let export = dir.path("summary.json");
    let config = dir.path("config.json");
    std::fs::write(&config, r#"{"scenarios": {"slow": {"executor": "constant-vus", "vus": 2, "duration": "60s", "gracefulStop": "60s"}}}"#).unwrap();
    let mut cmd = stampede();
    cmd.args([
        "run",
        guest("probe").to_str().unwrap(),
        "-e",
        "MODE=sleep",
        "-e",
        "SLEEP=30",
        "-q",
        "-c",
    ])
    .arg(&config)
    .arg("--summary-export")
    .arg(&export)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    std::thread::sleep(Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(105),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(export.exists(), "the summary export is still written");
}

#[test]
fn options_take_precedence_across_all_five_layers() {
    let dir = TempDir::new("layers");
    let config = dir.path("config.json");
    std::fs::write(&config, r#"{"iterations": 3}"#).unwrap();
    let config = config.to_str().unwrap().to_owned();
    let probe = guest("probe");
    let iterations = |script: bool, env: bool, cli: bool, config_file: bool| {
        let rt = runtime();
        let server = target(&rt);
        let export = dir.path("s.json");
        let mut cmd = stampede();
        cmd.arg("run")
            .arg(&probe)
            .args(["-q", "-e", &format!("BASE_URL={}", server.url())]);
        if config_file {
            cmd.args(["-c", &config]);
        }
        if script {
            cmd.args(["-e", r#"OPTIONS={"iterations": 4}"#]);
        }
        if env {
            cmd.env("STAMPEDE_ITERATIONS", "5");
        }
        if cli {
            cmd.args(["-i", "6"]);
        }
        cmd.arg("--summary-export").arg(&export);
        let r = run_command(cmd, Some(&export));
        assert_eq!(r.code, 0, "{}", r.output());
        r.metric("iterations", "count") as u64
    };
    assert_eq!(iterations(true, true, true, true), 6, "flags win");
    assert_eq!(
        iterations(true, true, false, true),
        5,
        "then STAMPEDE_* variables"
    );
    assert_eq!(iterations(true, false, false, true), 4, "then the script");
    assert_eq!(
        iterations(false, false, false, true),
        3,
        "then the config file"
    );
    assert_eq!(
        iterations(false, false, false, false),
        1,
        "then the default"
    );
}

/// k6 judges what a VU recorded while its iteration still runs: a failed request followed by a
/// long sleep aborts the test during the sleep (k6: after 2 s), not when the iteration ends.
#[test]
fn abort_on_fail_does_not_wait_for_a_sleeping_iteration() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("abort-sleep");
    let script = r#"
import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  vus: 1, duration: '60s',
  thresholds: { http_req_failed: [{ threshold: 'rate<0.5', abortOnFail: true }] },
};
export default function () { http.get(`${__ENV.BASE_URL}/status/500`); sleep(30); }
"#;
    crate::js_engine::write_files(&dir, &[("script.js", script)]);
    let base = format!("BASE_URL={}", server.url());
    let r = crate::js_engine::run_js(&dir.path("script.js"), &["-q", "-e", &base]);
    assert_eq!(r.code, 99, "{}", r.output());
    assert!(r.elapsed < Duration::from_secs(10), "took {:?}", r.elapsed);
    assert_eq!(r.metric("http_reqs", "count"), 1.0, "{}", r.output());
}
