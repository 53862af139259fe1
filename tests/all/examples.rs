//! The examples and the demo, end to end.

use crate::guests::{guest, target_dir};
use crate::support::{run, run_command, runtime, stampede, target, TempDir};

#[test]
fn the_quickstart_runs_from_its_crate_directory() {
    guest("quickstart"); // built once, so the run below only links
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("crate");
    let export = dir.path("summary.json");
    let mut cmd = stampede();
    cmd.env("CARGO_TARGET_DIR", target_dir())
        .arg("run")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart"))
        .args([
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-u",
            "3",
            "-i",
            "30",
            "-q",
            "--summary-export",
        ])
        .arg(&export);
    let r = run_command(cmd, Some(&export));
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 30.0);
    assert_eq!(r.metric("checks", "passes"), 60.0);
}

#[test]
fn api_flow_uses_setup_data_custom_metrics_groups_and_tags() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("api-flow"),
        &["-e", &base, "-q", "--summary-mode", "full"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    // 20 orders and the login in setup.
    assert_eq!(server.stats().requests(), 21);
    assert_eq!(r.metric("orders_placed", "count"), 20.0);
    assert!(r.metric("order_time", "p(95)") > 0.0);
    let s = r.summary.as_ref().unwrap();
    assert_eq!(
        s["metrics"]["http_req_duration{name:create order}"]["thresholds"]["p(99)<1000"],
        false
    );
    let checkout = &s["root_group"]["groups"]["checkout"];
    assert_eq!(checkout["path"], "::checkout");
    assert_eq!(s["root_group"]["checks"]["order accepted"]["passes"], 20);
    assert!(
        r.stderr.contains("the session token was t0k3n-from-setup"),
        "{}",
        r.output()
    );
    assert!(r.stdout.contains("CUSTOM"), "{}", r.output());
    assert!(r.stdout.contains("order_time"), "{}", r.output());
}

#[test]
fn the_demo_serves_and_loads_itself() {
    let mut cmd = stampede();
    cmd.args(["demo", "--duration", "2s", "--vus", "4"]);
    let r = run_command(cmd, None);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.stdout.contains("http_reqs"), "{}", r.output());
    assert!(r.stdout.contains("✓ status is 200"), "{}", r.output());
    assert!(r.stderr.contains("the target answered"), "{}", r.output());
}
