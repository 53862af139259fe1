//! Several scenarios, each executor end to end, and the open model's dropped iterations.

use crate::guests::guest;
use crate::support::{run, runtime, target, TempDir};

#[test]
fn the_arrival_rate_example_runs_two_scenarios_with_their_own_entry_points() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("arrival-rate"),
        &[
            "-e",
            &base,
            "-e",
            "RATE=50",
            "-e",
            "DURATION=2s",
            "-e",
            "RAMP=1s",
            "-q",
            "--summary-mode",
            "full",
            "--summary-trend-stats",
            "count,avg,med,p(95)",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    // The open-model scenario started exactly rate × duration iterations.
    assert_eq!(r.metric("iterations{scenario:api}", "count"), 100.0);
    assert_eq!(r.metric("http_reqs{scenario:api}", "count"), 100.0);
    assert!(r.metric("http_reqs{scenario:browse}", "count") > 0.0);
    assert_eq!(
        r.metric("http_reqs", "count"),
        server.stats().requests() as f64
    );
    let s = r.summary.as_ref().unwrap();
    assert_eq!(s["root_group"]["checks"]["event stored"]["passes"], 100);
    assert!(
        s["root_group"]["checks"]["page loads"]["passes"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(r.metric("iteration_start_delay", "count") >= 100.0);
    assert!(r.stdout.contains("█ SCENARIO: api"), "{}", r.output());
    assert!(r.stdout.contains("█ SCENARIO: browse"), "{}", r.output());
}

#[test]
fn the_ramping_example_ramps_up_and_down() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("ramping"),
        &[
            "-e",
            &base,
            "-e",
            "TARGET=6",
            "-e",
            "RAMP_UP=1s",
            "-e",
            "HOLD=2s",
            "-e",
            "RAMP_DOWN=1s",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("vus", "max"), 6.0);
    assert_eq!(r.metric("vus_max", "value"), 6.0);
    assert!(r.elapsed.as_secs_f64() >= 4.0);
    assert_eq!(
        r.metric("http_reqs", "count"),
        server.stats().requests() as f64
    );
}

#[test]
fn an_overloaded_arrival_rate_reports_dropped_iterations_instead_of_a_lower_rate() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("dropped");
    let config = dir.path("config.json");
    std::fs::write(
        &config,
        r#"{"scenarios": {"rate": {"executor": "constant-arrival-rate", "rate": 50, "duration": "2s",
            "preAllocatedVUs": 2, "maxVUs": 4}}}"#,
    )
    .unwrap();
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/delay/200",
            "-c",
            config.to_str().unwrap(),
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let done = r.metric("iterations", "count");
    let dropped = r.metric("dropped_iterations", "count");
    assert!(
        dropped > 50.0,
        "4 VUs × 5 iterations/s is far from 50/s: {dropped} dropped"
    );
    assert_eq!(
        done + dropped,
        100.0,
        "every scheduled iteration is either run or dropped"
    );
    assert_eq!(r.metric("vus_max", "value"), 4.0);
}

#[test]
fn scenarios_start_at_their_start_time_and_tag_their_samples() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("start");
    let config = dir.path("config.json");
    std::fs::write(
        &config,
        r#"{"scenarios": {
            "first": {"executor": "shared-iterations", "vus": 1, "iterations": 3, "tags": {"team": "a"}},
            "later": {"executor": "per-vu-iterations", "vus": 2, "iterations": 2, "startTime": "1s",
                      "exec": "other", "env": {"PATH": "/get"}}
        },
        "thresholds": {"http_reqs{team:a}": ["count==3"], "checks{scenario:later}": ["rate==1"]}}"#,
    )
    .unwrap();
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &["-e", &base, "-c", config.to_str().unwrap(), "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.elapsed.as_secs_f64() >= 1.0);
    assert_eq!(r.metric("iterations", "count"), 7.0);
    let s = r.summary.as_ref().unwrap();
    assert_eq!(s["root_group"]["checks"]["other is 200"]["passes"], 4);
}

#[test]
fn an_unknown_exec_is_a_config_error() {
    let dir = TempDir::new("exec");
    let config = dir.path("config.json");
    std::fs::write(
        &config,
        r#"{"scenarios": {"x": {"executor": "shared-iterations", "exec": "nope"}}}"#,
    )
    .unwrap();
    let r = run(&guest("probe"), &["-c", config.to_str().unwrap()]);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(
        r.stderr
            .contains("calls `nope`, which the script does not export"),
        "{}",
        r.output()
    );
}
