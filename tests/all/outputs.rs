//! File outputs against the summary export: JSON lines and CSV in k6's layouts (plain and
//! gzip), JUnit XML validated with xmllint against the Jenkins/Ant schema, the GitHub job
//! summary, and bad output settings.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::guests::guest;
use crate::support::{runtime, target, RunResult, TempDir};

/// Runs the probe guest against the built-in target with `args`.
fn probe(args: &[&str], env: &[(&str, &str)]) -> RunResult {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let mut all = vec!["-e", base.as_str(), "-q"];
    all.extend_from_slice(args);
    let mut cmd = crate::support::stampede();
    let dir = TempDir::new("outputs-run");
    let export = dir.path("summary.json");
    cmd.arg("run")
        .arg(guest("probe"))
        .args(&all)
        .arg("--summary-export")
        .arg(&export);
    for (k, v) in env {
        cmd.env(k, v);
    }
    crate::support::run_command(cmd, Some(&export))
}

fn read(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8(bytes).unwrap()
    }
}

#[test]
fn json_lines_and_csv_hold_every_sample_of_the_summary() {
    let dir = TempDir::new("outputs");
    let (jsonl, csv, csv_gz) = (
        dir.path("out.jsonl"),
        dir.path("out.csv"),
        dir.path("out.csv.gz"),
    );
    let r = probe(
        &[
            "-u",
            "3",
            "-i",
            "60",
            "--out",
            &format!("json={}", jsonl.display()),
            "--out",
            &format!("csv={}", csv.display()),
            "--out",
            &format!("csv=fileName={},timeFormat=rfc3339_nano", csv_gz.display()),
            "--threshold",
            "http_req_duration: p(95)<5000",
            "--threshold",
            "http_req_duration{status:200}: p(95)<6000",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let reqs = r.metric("http_reqs", "count");
    assert_eq!(reqs, 60.0);

    let lines = read(&jsonl);
    let points: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let count = |metric: &str| {
        points
            .iter()
            .filter(|p| p["type"] == "Point" && p["metric"] == metric)
            .map(|p| p["data"]["value"].as_f64().unwrap())
            .sum::<f64>()
    };
    assert_eq!(count("http_reqs"), reqs);
    assert_eq!(count("checks"), r.metric("checks", "passes"));
    let declared = points
        .iter()
        .find(|p| p["type"] == "Metric" && p["metric"] == "http_req_duration")
        .expect("a Metric line");
    assert_eq!(declared["data"]["type"], "trend");
    // k6's: the metric's own thresholds (not its sub-metrics'), its sub-metrics listed.
    assert_eq!(
        declared["data"]["thresholds"],
        serde_json::json!(["p(95)<5000"])
    );
    let subs = declared["data"]["submetrics"]
        .as_array()
        .expect("sub-metrics");
    let status = subs
        .iter()
        .find(|s| s["name"] == "http_req_duration{status:200}")
        .expect("the threshold's sub-metric");
    assert_eq!(status["suffix"], "status:200");
    assert_eq!(status["tags"], serde_json::json!({"status": "200"}));
    // And k6's key order, for tools that match the line as text.
    assert!(
        lines.lines().any(|l| l.starts_with(
            r#"{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"http_reqs"}"#
        )),
        "{}",
        &lines[..lines.len().min(2000)]
    );

    for (path, time_check) in [(&csv, is_unix as fn(&str) -> bool), (&csv_gz, is_rfc3339)] {
        let text = read(path);
        let mut rows = text.lines();
        assert_eq!(
            rows.next().unwrap(),
            "metric_name,timestamp,metric_value,check,error,error_code,expected_response,group,method,name,proto,scenario,service,status,subproto,tls_version,url,extra_tags,metadata",
            "k6's header"
        );
        let reqs_rows: Vec<Vec<&str>> = rows
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|c| c[0] == "http_reqs")
            .collect();
        assert_eq!(reqs_rows.len() as f64, reqs, "{}", path.display());
        let row = &reqs_rows[0];
        assert_eq!(row.len(), 19);
        assert!(time_check(row[1]), "timestamp {}", row[1]);
        assert_eq!(row[2], "1.000000", "Go's %f");
        assert_eq!((row[8], row[13], row[11]), ("GET", "200", "default"));
    }
}

fn is_unix(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_rfc3339(s: &str) -> bool {
    s.len() > 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
}

/// The Jenkins/Ant JUnit schema CI systems validate against, as pytest ships it in its
/// source distribution on PyPI (MIT): downloaded once into `target/test-deps`.
fn junit_xsd() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-deps");
    let xsd = dir.join("junit-10.xsd");
    if xsd.exists() {
        return xsd;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let sdist = dir.join("pytest-8.3.5.tar.gz");
    if !sdist.exists() {
        let ok = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "pytest==8.3.5",
                "-d",
            ])
            .arg(&dir)
            .status()
            .expect("running pip");
        assert!(
            ok.success(),
            "pip download of pytest's sdist (for junit-10.xsd) failed"
        );
    }
    let ok = Command::new("tar")
        .arg("xzf")
        .arg(&sdist)
        .arg("-C")
        .arg(&dir)
        .arg("--strip-components=3")
        .arg("pytest-8.3.5/testing/example_scripts/junit-10.xsd")
        .status()
        .unwrap();
    assert!(
        ok.success() && xsd.exists(),
        "junit-10.xsd not in pytest's sdist"
    );
    xsd
}

#[test]
fn junit_has_a_case_per_threshold_and_check_and_is_valid() {
    let dir = TempDir::new("junit");
    let xml = dir.path("results.xml");
    let summary = dir.path("summary.md");
    let r = probe(
        &[
            "-u",
            "2",
            "-i",
            "20",
            "--threshold",
            "http_req_duration: p(95)<5000",
            "--threshold",
            "http_reqs: count>1000",
            "--threshold",
            "checks: rate>0.99",
            "--junit",
            xml.to_str().unwrap(),
            "--junit-checks",
        ],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    assert_eq!(r.code, 99, "{}", r.output());
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(junit_xsd())
        .arg(&xml)
        .output()
        .expect("xmllint (Debian's libxml2-utils)");
    assert!(
        out.status.success(),
        "not valid against junit-10.xsd: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        read(&xml)
    );
    let text = read(&xml);
    assert!(
        text.contains("<testsuites name=\"stampede\" tests=\"4\" failures=\"1\""),
        "{text}"
    );
    assert!(text.contains("name=\"http_reqs: count&gt;1000\""), "{text}");
    assert!(
        text.contains("message=\"count=20 on http_reqs: the threshold is count&gt;1000\""),
        "the failure names the observed value and the expression: {text}"
    );
    assert!(text.contains("<testcase name=\"status is 200\" classname=\"stampede.checks\"/>"));

    let md = read(&summary);
    assert!(
        md.contains("### stampede:") && md.contains("1 of 3 thresholds crossed"),
        "{md}"
    );
    assert!(
        md.contains("| :x: | `http_reqs` | `count>1000` | count=20 |"),
        "{md}"
    );
    assert!(md.contains("| status is 200 | 20 | 0 |"), "{md}");
}

#[test]
fn bad_output_settings_are_config_errors() {
    let dir = TempDir::new("bad-outputs");
    let missing = dir.path("no/such/dir/out.jsonl");
    for (args, env, expect) in [
        (
            vec!["--out".to_string(), format!("json={}", missing.display())],
            vec![],
            "cannot write --out json file",
        ),
        (
            vec!["--out".into(), "csv=timeFormat=iso".into()],
            vec![],
            "rfc3339_nano",
        ),
        (
            vec!["--out".into(), "experimental-prometheus-rw".into()],
            vec![("STAMPEDE_PROMETHEUS_RW_PUSH_INTERVAL", "often")],
            "STAMPEDE_PROMETHEUS_RW_PUSH_INTERVAL",
        ),
        (
            vec!["--out".into(), "opentelemetry=nope=1".into()],
            vec![],
            "unknown key `nope`",
        ),
        (
            vec![
                "--report".into(),
                missing.with_extension("html").display().to_string(),
            ],
            vec![],
            "no directory",
        ),
    ] {
        let args: Vec<&str> = ["-i", "1"]
            .into_iter()
            .chain(args.iter().map(String::as_str))
            .collect();
        let r = probe(&args, &env);
        assert_eq!(r.code, 104, "{args:?}: {}", r.output());
        assert!(r.stderr.contains(expect), "{args:?}: {}", r.output());
    }
}
