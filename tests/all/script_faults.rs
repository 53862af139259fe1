//! Scripts that fail: each failure is counted, the VU is re-made, the test goes on.

use std::time::Duration;

use crate::guests::guest;
use crate::support::{run, runtime, target, TempDir};

fn per_vu_config(dir: &TempDir) -> String {
    let config = dir.path("config.json");
    std::fs::write(&config, r#"{"scenarios": {"faults": {"executor": "per-vu-iterations", "vus": 2, "iterations": 15}}}"#).unwrap();
    config.to_str().unwrap().to_owned()
}

fn faulty(mode: &str) -> crate::support::RunResult {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new(mode);
    let base = format!("BASE_URL={}", server.url());
    let mode = format!("MODE={mode}");
    let r = run(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            &mode,
            "-e",
            "EVERY=3",
            "-c",
            &per_vu_config(&dir),
            "-q",
        ],
    );
    assert_eq!(server.stats().requests(), 30, "{}", r.output());
    r
}

#[test]
fn a_trapping_guest_is_counted_and_the_run_completes() {
    let r = faulty("trap");
    assert_eq!(r.code, 0, "{}", r.output());
    // Every VU fails on its iterations 2, 5, 8, 11 and 14.
    assert_eq!(r.metric("iterations", "count"), 30.0);
    assert_eq!(r.metric("iteration_errors", "count"), 10.0);
    assert_eq!(r.metric("http_reqs", "count"), 30.0);
    assert!(r.stderr.contains("unreachable"), "{}", r.output());
}

#[test]
fn a_panicking_guest_is_counted_with_its_message() {
    let r = faulty("panic");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 10.0);
    assert!(
        r.stderr.contains("the probe panicked on purpose"),
        "{}",
        r.output()
    );
}

#[test]
fn an_erroring_guest_is_counted() {
    let r = faulty("error");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 10.0);
    assert!(
        r.stderr.contains("the probe failed on purpose"),
        "{}",
        r.output()
    );
}

#[test]
fn an_infinite_loop_is_stopped_after_the_duration_and_graceful_stop() {
    let dir = TempDir::new("spin");
    let config = dir.path("config.json");
    std::fs::write(&config, r#"{"scenarios": {"spin": {"executor": "constant-vus", "vus": 2, "duration": "1s", "gracefulStop": "500ms"}}}"#).unwrap();
    let r = run(
        &guest("probe"),
        &["-e", "MODE=spin", "-c", config.to_str().unwrap(), "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    // 1 s + 500 ms, plus start-up; far from the 30 s a stuck VU would take.
    assert!(r.elapsed < Duration::from_secs(6), "took {:?}", r.elapsed);
    assert!(
        !r.has_metric("iterations"),
        "no iteration can complete: {}",
        r.output()
    );
}
