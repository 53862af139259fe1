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

fn one_vu(mode: &str, iterations: &str, extra: &[&str]) -> crate::support::RunResult {
    let mode = format!("MODE={mode}");
    let mut args = vec!["-e", mode.as_str(), "-i", iterations, "-q"];
    args.extend_from_slice(extra);
    run(&guest("probe"), &args)
}

#[test]
fn unbounded_memory_growth_stops_at_the_vu_memory_limit() {
    let r = one_vu("grow", "3", &["--vu-memory-limit", "32"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.elapsed < Duration::from_secs(20), "took {:?}", r.elapsed);
    assert_eq!(
        r.metric("iteration_errors", "count"),
        3.0,
        "each iteration is counted, and the VU re-made"
    );
    assert!(
        r.stderr
            .contains("memory allocation of 1048576 bytes failed"),
        "{}",
        r.output()
    );
    // The guest's own backtrace, with the function that allocated.
    assert!(
        r.stderr.contains("rust_oom") || r.stderr.contains("alloc"),
        "{}",
        r.output()
    );
}

#[test]
fn runaway_recursion_is_a_counted_trap_with_a_backtrace() {
    let r = one_vu("recurse", "2", &[]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 2.0);
    assert!(
        r.stderr.contains("recurse"),
        "the backtrace names the function: {}",
        r.output()
    );
    assert!(
        r.stderr.contains("probe/src/lib.rs:"),
        "with its file and line: {}",
        r.output()
    );
}

#[test]
fn absurd_values_from_the_guest_are_taken_in_stride() {
    let r = one_vu("absurd", "2", &[]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(
        r.metric("checks", "passes"),
        2.0,
        "the host survived a 4 MiB log line, NaN and negative sleeps, a 1 MiB env name"
    );
    // The over-long metric name is refused with a clear message, which ends the iteration.
    assert!(r.stderr.contains("invalid metric name"), "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 2.0);
    assert!(
        r.stderr.contains("more bytes)"),
        "the 4 MiB line is cut in the log: {}",
        r.output().len()
    );
    assert!(
        r.stderr.len() < 200_000,
        "the log stays small: {} bytes",
        r.stderr.len()
    );
}

#[test]
fn guest_output_goes_to_the_log_rate_limited() {
    // 3,000 lines in a few milliseconds: the first 1,000 of the second are written.
    let r = one_vu("print", "6", &[]);
    assert_eq!(r.code, 0, "{}", r.output());
    let lines = r.stderr.matches("from the probe").count();
    assert!(
        (1000..3000).contains(&lines),
        "{lines} of 3000 lines logged"
    );
    assert!(
        r.stderr.contains("similar messages were suppressed"),
        "{}",
        r.output()
    );
    assert!(r.stderr.contains("source=stdout"), "{}", r.output());
}
