//! Time-windowed thresholds: a slow spell late in a test fails `{window:…}` thresholds that the
//! whole-test aggregate hides; `abortOnFail` stops the test while it runs; every report says
//! which window broke it.

use std::time::Duration;

use crate::guests::guest;
use crate::support::{run, runtime, target, RunResult};

/// 5 s of fast requests by 4 VUs, then `slow` seconds of slow ones (`/delay/300`) by 1 VU.
fn slow_spell_for(slow: u64, thresholds: &str, extra: &[&str]) -> RunResult {
    let rt = runtime();
    let server = target(&rt);
    let options = format!(
        r#"{{"scenarios": {{
            "fast": {{"executor": "constant-vus", "vus": 4, "duration": "5s", "gracefulStop": "0s"}},
            "slow": {{"executor": "constant-vus", "vus": 1, "duration": "{slow}s", "startTime": "5s",
                      "env": {{"PATH": "/delay/300"}}}}}},
            "thresholds": {thresholds}}}"#
    );
    let base = format!("BASE_URL={}", server.url());
    let opts = format!("OPTIONS={options}");
    let mut args = vec!["-e", base.as_str(), "-e", opts.as_str()];
    args.extend_from_slice(extra);
    run(&guest("probe"), &args)
}

fn slow_spell(thresholds: &str, extra: &[&str]) -> RunResult {
    slow_spell_for(2, thresholds, extra)
}

#[test]
fn a_slow_window_fails_what_the_whole_test_hides() {
    let r = slow_spell(
        r#"{"http_req_duration": ["p(95)<250"], "http_req_duration{window:1s}": ["p(95)<250"]}"#,
        &[],
    );
    assert_eq!(r.code, 99, "{}", r.output());
    let s = r.summary.as_ref().unwrap();
    let whole = &s["metrics"]["http_req_duration"]["thresholds"]["p(95)<250"];
    assert_eq!(
        *whole, false,
        "the whole test's p(95) holds: {}",
        s["metrics"]["http_req_duration"]
    );
    let windowed = &s["metrics"]["http_req_duration{window:1s}"];
    assert_eq!(windowed["thresholds"]["p(95)<250"], true, "{windowed}");
    let w = &windowed["windows"];
    assert!(w["failed"].as_u64().unwrap() >= 1, "{w}");
    assert!(w["judged"].as_u64().unwrap() >= 6, "{w}");
    let worst = &w["worst"];
    assert!(worst["value"].as_f64().unwrap() >= 300.0, "{w}");
    assert!(
        worst["start_seconds"].as_f64().unwrap() >= 4.0,
        "the slow spell began at 5 s: {w}"
    );
    // The text summary says it too (the sub-metric under its metric, as k6 lays them out).
    assert!(r.stdout.contains("      {window:1s}\n"), "{}", r.stdout);
    assert!(r.stdout.contains(" failed)"), "{}", r.stdout);
}

#[test]
fn abort_on_fail_stops_the_test_in_its_window() {
    // The slow spell lasts 20 s; its first window (5–6 s) closes 3 s after its end, for
    // samples still on their way, and the next evaluation (every 2 s) aborts the test.
    let r = slow_spell_for(
        20,
        r#"{"http_req_duration{window:1s}": [{"threshold": "max<250", "abortOnFail": true}]}"#,
        &[],
    );
    assert_eq!(r.code, 99, "{}", r.output());
    assert!(
        r.stderr.contains("aborting the test (abortOnFail)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("aborted because threshold"),
        "{}",
        r.output()
    );
    assert!(
        r.elapsed < Duration::from_secs(20),
        "25 s without the abort: {:?}",
        r.elapsed
    );
}

#[test]
fn windows_of_counters_judge_their_own_rate() {
    // 4 VUs against a fast target make hundreds of requests every second: a rate of at
    // least one per second holds in every window of the fast scenario, but not in the slow
    // one (1 VU, 300 ms per request: about 3 a second).
    let r = slow_spell(
        r#"{"http_reqs{scenario:fast,window:1s}": ["rate>=1"], "http_reqs{window:1s}": ["rate>=10"]}"#,
        &[],
    );
    assert_eq!(r.code, 99, "{}", r.output());
    let s = r.summary.as_ref().unwrap();
    let fast = &s["metrics"]["http_reqs{scenario:fast,window:1s}"];
    assert_eq!(fast["thresholds"]["rate>=1"], false, "{fast}");
    let all = &s["metrics"]["http_reqs{window:1s}"];
    assert_eq!(all["thresholds"]["rate>=10"], true, "{all}");
}

#[test]
fn bad_windows_are_config_errors() {
    for (t, expect) in [
        (
            r#"{"http_req_duration{window:100ms}": ["p(95)<1"]}"#,
            "at least 1s",
        ),
        (
            r#"{"http_req_duration{window:often}": ["p(95)<1"]}"#,
            "invalid window `often`",
        ),
    ] {
        let rt = runtime();
        let server = target(&rt);
        let opts = format!(r#"OPTIONS={{"iterations": 1, "thresholds": {t}}}"#);
        let base = format!("BASE_URL={}", server.url());
        let r = run(&guest("probe"), &["-e", &base, "-e", &opts]);
        assert_eq!(r.code, 104, "{}", r.output());
        assert!(r.stderr.contains(expect), "{}", r.output());
    }
}
