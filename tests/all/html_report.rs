//! `--report FILE.html` in headless Chromium (Debian's `chromium`): the page renders offline
//! with no console message and no script error, its charts hold the run's data (read back from
//! the rendered DOM), and a 1280×800 screenshot lands in `target/test-artifacts/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::guests::guest;
use crate::support::{run_command, runtime, stampede, target, RunResult, TempDir};

/// Chromium with the flags that work on this kind of machine (no network, no sandbox as root).
fn chromium(profile: &Path) -> Command {
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1280,800",
        "--virtual-time-budget=5000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn attr(dom: &str, id: &str, name: &str) -> Option<String> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let open = dom[..at].rfind('<')?;
    let end = at + dom[at..].find('>')?;
    let tag = &dom[open..end];
    let key = format!("{name}=\"");
    let from = tag.find(&key)? + key.len();
    Some(tag[from..from + tag[from..].find('"')?].to_owned())
}

fn body_attr(dom: &str, name: &str) -> Option<String> {
    let at = dom.find("<body")?;
    let tag = &dom[at..at + dom[at..].find('>')?];
    let key = format!("{name}=\"");
    let from = tag.find(&key)? + key.len();
    Some(tag[from..from + tag[from..].find('"')?].to_owned())
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the probe with two scenarios (one with groups), plain and windowed thresholds, and
/// `--report FILE`.
fn run_with_report(report: &Path) -> RunResult {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("html-run");
    let export = dir.path("summary.json");
    let options = r#"{"scenarios": {
        "browse": {"executor": "constant-vus", "vus": 3, "duration": "4s"},
        "grouped": {"executor": "per-vu-iterations", "vus": 1, "iterations": 5, "exec": "default",
                    "env": {"MODE": "group"}}},
        "thresholds": {"http_req_duration": ["p(95)<5000"], "http_req_duration{window:2s}": ["p(99)<5000"],
                       "checks": ["rate>0.99"]}}"#;
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(guest("probe"))
        .args(["-e", &format!("BASE_URL={}", server.url()), "-q"])
        .args(["-e", &format!("OPTIONS={options}")])
        .arg("--report")
        .arg(report)
        .arg("--summary-export")
        .arg(&export);
    let r = run_command(cmd, Some(&export));
    assert_eq!(r.code, 0, "{}", r.output());
    r
}

#[test]
fn the_report_renders_offline_with_the_runs_data() {
    let dir = TempDir::new("html");
    let report = dir.path("report.html");
    let r = run_with_report(&report);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("http://") || !html.contains("<script src"),
        "nothing fetched"
    );
    assert!(!html.contains("<link"), "no external stylesheet");

    let profile = TempDir::new("chromium");
    let out = chromium(&profile.0)
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("file://{}", report.display()))
        .output()
        .expect("chromium (Debian's `chromium`; tests/run.sh installs it)");
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE(")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(body_attr(&dom, "data-errors"), None, "script errors");
    assert_eq!(
        body_attr(&dom, "data-charts").as_deref(),
        Some("5"),
        "4 charts and 1 window chart"
    );

    let reqs = r.metric("http_reqs", "count");
    let plotted: f64 = attr(&dom, "chart-requests", "data-total-requests")
        .expect("the requests chart says what it holds")
        .parse()
        .unwrap();
    assert!(
        (plotted - reqs).abs() < 1e-6,
        "chart {plotted} vs summary {reqs}"
    );
    let iterations: f64 = attr(&dom, "chart-requests", "data-total-iterations")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(iterations, r.metric("iterations", "count"));
    let sent: f64 = attr(&dom, "chart-data", "data-total-sent")
        .unwrap()
        .parse()
        .unwrap();
    assert!((sent - r.metric("data_sent", "count")).abs() < 1.0);
    let points: usize = attr(&dom, "chart-latency", "data-points")
        .unwrap()
        .parse()
        .unwrap();
    assert!(points >= 3, "{points} intervals over 4 s");

    // What a reader sees: the verdict, the generator's (as the export has it), thresholds,
    // scenarios and groups.
    let warnings = r.summary.as_ref().unwrap()["generator"]["warnings"]
        .as_array()
        .unwrap()
        .len();
    let generator_verdict = if warnings == 0 {
        "The load generator kept up"
    } else {
        "The load generator may have been the bottleneck"
    };
    for text in [
        "Passed: all 3 thresholds held",
        generator_verdict,
        "http_req_duration{window:2s}",
        "browse: 3 looping VUs for 4s",
        "outer › inner",
        "waiting (time to first byte)",
    ] {
        assert!(dom.contains(text), "the page lacks `{text}`");
    }

    screenshot(&profile.0, &report);
}

/// A 1280×800 screenshot of the page for a reviewer, in `target/test-artifacts/report.png`.
fn screenshot(profile: &Path, report: &Path) {
    let shot = artifacts().join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1280, 800));
}
