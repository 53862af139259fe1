//! Issue 14: k6 scripts run unchanged. Each script of `tests/k6-corpus/` (written for these
//! tests in k6's usual style) runs here against the built-in target (`BASE_URL`) and the
//! semantics server (`ECHO_URL`), and must end as it ends with k6 v2.2 against the same
//! routes: the exit code, and the counts of checks, requests and iterations, and the metric
//! values that do not depend on timing. k6's figures are in the comments.

use std::path::{Path, PathBuf};

use crate::js_engine::js_cache;
use crate::semantics_server::SemanticsServer;
use crate::support::{run_command, runtime, stampede, target, RunResult, TempDir};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/k6-corpus")
        .join(name)
}

/// Runs a corpus script from `cwd` with both servers' URLs and a summary export.
fn run_script(name: &str, cwd: &TempDir) -> RunResult {
    run_script_with(name, cwd, &[])
}

/// The same, with more arguments.
fn run_script_with(name: &str, cwd: &TempDir, args: &[&str]) -> RunResult {
    let rt = runtime();
    let server = target(&rt);
    let echo = SemanticsServer::start(&rt);
    let export = cwd.path("export.json");
    let mut cmd = stampede();
    cmd.current_dir(cwd.path(""))
        .env("STAMPEDE_CACHE_DIR", js_cache())
        .arg("run")
        .arg(corpus(name))
        .args(["-q", "-e", &format!("BASE_URL={}", server.url())])
        .args(["-e", &format!("ECHO_URL={}", echo.url())])
        .args(args)
        .arg("--summary-export")
        .arg(&export);
    run_command(cmd, Some(&export))
}

fn run(name: &str) -> RunResult {
    run_script(name, &TempDir::new("k6-corpus"))
}

fn threshold_ok(r: &RunResult, metric: &str, source: &str) -> bool {
    let s = r.summary.as_ref().expect("an export");
    !s["metrics"][metric]["thresholds"][source]
        .as_bool()
        .unwrap_or_else(|| panic!("no threshold {metric}: {source} in {s:#}"))
}

/// k6: exit 0; one request and one passing check per iteration (56 iterations in one run);
/// `vus_max` 3.
#[test]
fn stages_ramp_up_and_down() {
    let r = run("01-stages.js");
    assert_eq!(r.code, 0, "{}", r.output());
    let iterations = r.metric("iterations", "count");
    assert!(iterations >= 10.0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), iterations);
    assert_eq!(r.metric("checks", "passes"), iterations);
    assert_eq!(r.metric("checks", "fails"), 0.0);
    assert_eq!(r.metric("vus_max", "value"), 3.0);
}

/// k6: exit 0; `browse` 10 iterations, `buy` 6 iterations, 6 requests and 6 passing checks.
#[test]
fn several_executors_side_by_side() {
    let r = run("02-scenarios.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations{scenario:browse}", "count"), 10.0);
    assert_eq!(r.metric("iterations{scenario:buy}", "count"), 6.0);
    assert_eq!(r.metric("http_reqs{scenario:buy}", "count"), 6.0);
    assert_eq!(r.metric("checks{scenario:buy}", "passes"), 6.0);
    assert_eq!(r.metric("checks", "passes"), 6.0);
    // 16 from browse and buy, ~10 from the arrival rate, some from polling.
    assert!(r.metric("iterations", "count") >= 30.0, "{}", r.output());
}

/// k6: exit 0; checks 36 passes and 4 fails; 16 requests; the export's groups
/// `shop` > `catalog` (2 checks, 8 passes each) and `cart` (`even iteration` 4 / 4).
#[test]
fn nested_groups_and_checks() {
    let r = run("03-groups-checks.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 36.0);
    assert_eq!(r.metric("checks", "fails"), 4.0);
    assert_eq!(r.metric("http_reqs", "count"), 16.0);
    let root = &r.summary.as_ref().unwrap()["root_group"];
    let shop = &root["groups"]["shop"]["groups"];
    assert_eq!(shop["catalog"]["checks"]["catalog is JSON"]["passes"], 8);
    let even = &shop["cart"]["checks"]["even iteration"];
    assert_eq!(
        (even["passes"].as_u64(), even["fails"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(even["path"], "::shop::cart::even iteration");
    assert_eq!(root["checks"]["outside any group"]["passes"], 8);
    assert!(threshold_ok(
        &r,
        "http_reqs{group:::shop::catalog}",
        "count==8"
    ));
}

/// k6: exit 99 (`avg<20` fails, avg 30); orders 10; basket_size 5 (min 1, max 5);
/// fast_enough 0.6 (3 / 2); order_price min 10, med 30, max 50.
#[test]
fn custom_metrics_and_their_thresholds() {
    let r = run("04-custom-metrics.js");
    assert_eq!(r.code, 99, "{}", r.output());
    assert_eq!(r.metric("orders", "count"), 10.0);
    assert_eq!(r.metric("basket_size", "value"), 5.0);
    assert_eq!(r.metric("basket_size", "min"), 1.0);
    assert_eq!(r.metric("fast_enough", "passes"), 3.0);
    assert_eq!(r.metric("fast_enough", "fails"), 2.0);
    assert_eq!(r.metric("order_price", "avg"), 30.0);
    assert_eq!(r.metric("order_price", "max"), 50.0);
    assert_eq!(r.metric("order_price", "min"), 10.0);
    assert!(threshold_ok(&r, "order_price", "max==50"));
    assert!(!threshold_ok(&r, "order_price", "avg<20"));
    assert!(threshold_ok(&r, "fast_enough", "rate>=0.6"));
}

/// k6: exit 0; 5 requests (setup's and 4); 6 passing checks; `setup_data` {token, ttl}.
#[test]
fn setup_data_reaches_iterations_and_teardown() {
    let r = run("05-setup-data.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 5.0);
    assert_eq!(r.metric("checks", "passes"), 6.0);
    assert_eq!(r.metric("checks", "fails"), 0.0);
    let s = r.summary.as_ref().unwrap();
    assert_eq!(
        s["setup_data"],
        serde_json::json!({"token": "tok-123", "ttl": 60})
    );
    assert_eq!(
        s["root_group"]["groups"]["setup"]["checks"]["logged in"]["passes"],
        1
    );
    assert_eq!(
        s["root_group"]["groups"]["teardown"]["checks"]["teardown got the data"]["passes"],
        1
    );
}

/// k6 (with the jslib fetched): exit 0; only handleSummary's text on stdout; 3 requests.
#[test]
fn handle_summary_with_text_summary() {
    let dir = TempDir::new("k6-corpus-summary");
    let r = run_script("06-handle-summary.js", &dir);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.stdout.contains("     █ home\n\n       ✓ status is 200\n"),
        "{}",
        r.output()
    );
    assert!(r.stdout.contains("   ✓ http_reqs."), "{}", r.output());
    assert!(!r.stdout.contains("TOTAL RESULTS"), "{}", r.output());
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path("summary.json")).unwrap()).unwrap();
    assert_eq!(data["metrics"]["http_reqs"]["values"]["count"], 3);
    let junit = std::fs::read_to_string(dir.path("junit.xml")).unwrap();
    assert!(
        junit.contains("<testcase name=\"http_reqs - count==3\" />"),
        "{junit}"
    );
    assert_eq!(r.metric("http_reqs", "count"), 3.0);
}

/// k6: exit 0; 12 requests, 6 tagged `step:pay` and 6 `step:browse`; 30 passing checks.
#[test]
fn execution_facts_and_vu_tags() {
    let r = run("07-execution.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 12.0);
    assert_eq!(r.metric("http_reqs{step:pay}", "count"), 6.0);
    assert_eq!(r.metric("http_reqs{step:browse}", "count"), 6.0);
    assert_eq!(r.metric("checks", "passes"), 30.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0);
}

/// k6: exit 0; 9 requests; 18 passing checks.
#[test]
fn shared_array_of_users() {
    let r = run("08-shared-array.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 9.0);
    assert_eq!(r.metric("checks", "passes"), 18.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0);
}

/// k6: exit 0; 8 requests; 8 passing checks.
#[test]
fn cookies_set_sent_and_jars() {
    let r = run("09-cookies.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 8.0);
    assert_eq!(r.metric("checks", "passes"), 8.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0);
}

/// k6: exit 0; 4 passing checks.
#[test]
fn html_of_a_page() {
    let r = run("10-html.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 4.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0);
}

/// k6: exit 0 with `-e VUS=2 -e ITERS=4 -e MAX_REDIRECTS=5`: 4 iterations on 2 VUs, 4 passing
/// checks (the options are the strings "2", "4" and "5"); without them, 2 iterations on 1.
#[test]
fn options_from_the_environment_are_read_as_numbers() {
    let dir = TempDir::new("k6-corpus");
    let args = ["-e", "VUS=2", "-e", "ITERS=4", "-e", "MAX_REDIRECTS=5"];
    let r = run_script_with("11-env-options.js", &dir, &args);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 4.0);
    assert_eq!(r.metric("checks", "passes"), 4.0);
    assert_eq!(r.metric("vus_max", "value"), 2.0);
    let r = run("11-env-options.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 2.0);
    assert_eq!(r.metric("vus_max", "value"), 1.0);
}

/// k6: exit 0; `score` med 10.5, p(90) 18.1, p(95) 19.05, max 20 — every threshold holds.
#[test]
fn percentiles_of_a_custom_trend_are_k6s() {
    let r = run("12-trend-percentiles.js");
    assert_eq!(r.code, 0, "{}", r.output());
    let near = |field: &str, want: f64| {
        let got = r.metric("score", field);
        assert!(
            (got - want).abs() <= want * 0.001,
            "{field} {got}, k6 {want}"
        );
    };
    near("med", 10.5);
    near("p(90)", 18.1);
    near("p(95)", 19.05);
    assert_eq!(r.metric("score", "max"), 20.0);
}

/// k6: exit 0; 12 passing checks (4 of the script's own `Rate('checks')`); `http_reqs` 12 (4
/// requests and 8 added); `http_req_duration` max 1000; both refusals caught.
#[test]
fn a_script_may_hold_built_in_metrics_as_k6_s_jslib_does() {
    let r = run("13-builtin-metrics.js");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 12.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 12.0);
    assert_eq!(r.metric("http_req_duration", "max"), 1000.0);
    assert_eq!(r.metric("http_req_failed", "passes"), 0.0);
    assert!(threshold_ok(&r, "http_reqs", "count==12"));
    assert!(threshold_ok(
        &r,
        "checks{check:counted by the script}",
        "rate==1"
    ));
}

/// k6: exit 0; `retries`, `dropped_iterations` (count 0) and `http_req_duration` with
/// `http_req_duration{name:checkout}` (all values 0) listed, each judged metric with its
/// threshold passed; `http_req_duration{expected_response:true}` not listed.
#[test]
fn metrics_judged_by_thresholds_are_listed_without_samples() {
    let cwd = TempDir::new("k6-corpus");
    let r = run_script("14-unsampled-thresholds.js", &cwd);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("retries", "count"), 0.0);
    assert_eq!(r.metric("dropped_iterations", "count"), 0.0);
    assert_eq!(r.metric("http_req_duration{name:checkout}", "p(95)"), 0.0);
    assert_eq!(r.metric("http_req_duration", "max"), 0.0);
    assert!(threshold_ok(&r, "retries", "count==0"));
    assert!(threshold_ok(
        &r,
        "http_req_duration{name:checkout}",
        "p(95)<500"
    ));
    let s = r.summary.as_ref().unwrap();
    assert!(s["metrics"]["http_req_duration{expected_response:true}"].is_null());
    let data = std::fs::read_to_string(cwd.path("summary-data.json")).unwrap();
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["retries"]["values"]["count"], 0);
    assert_eq!(data["retries"]["thresholds"]["count==0"]["ok"], true);
    let sub = &data["http_req_duration{name:checkout}"];
    assert_eq!(sub["thresholds"]["p(95)<500"]["ok"], true, "{data:#}");
    assert_eq!(sub["type"], "trend");
}
