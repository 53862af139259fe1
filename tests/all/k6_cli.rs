//! k6's command lines and config run unchanged: the flags k6 documents, `-i/-d/-u` over a
//! script's execution options as k6 resolves them, thresholds from every layer added up, the
//! options k6 knows taken (with a notice for those that do nothing here), and the summary
//! export written as k6 writes it.

use serde_json::Value;

use crate::guests::guest;
use crate::support::{run, run_command, runtime, stampede, target, RunResult, TempDir};

/// The probe against the built-in target, with `args`; also the requests the target saw.
fn probe(args: &[&str]) -> (RunResult, u64) {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let mut all = vec!["-e", base.as_str()];
    all.extend_from_slice(args);
    let r = run(&guest("probe"), &all);
    (r, server.stats().requests())
}

fn thresholds_of(r: &RunResult, metric: &str) -> Vec<String> {
    let summary = r.summary.as_ref().expect("a summary export");
    let mut list: Vec<String> = summary["metrics"][metric]["thresholds"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    list.sort();
    list
}

#[test]
fn threshold_flags_add_to_the_scripts_thresholds() {
    // The quickstart has its own thresholds on checks and http_req_duration.
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("quickstart"),
        &[
            "-e",
            &base,
            "-q",
            "-i",
            "5",
            "--threshold",
            "http_reqs: count>0",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(thresholds_of(&r, "http_reqs"), ["count>0"]);
    assert!(
        !thresholds_of(&r, "http_req_duration").is_empty(),
        "the script's thresholds are still evaluated: {}",
        r.output()
    );
    assert!(!thresholds_of(&r, "checks").is_empty(), "{}", r.output());
}

#[test]
fn thresholds_from_every_layer_are_evaluated_together() {
    let dir = TempDir::new("k6-thresholds");
    let config = dir.path("config.json");
    std::fs::write(
        &config,
        r#"{"thresholds": {"http_reqs": ["count>0"], "http_req_duration": ["max<60000"]}}"#,
    )
    .unwrap();
    let rt = runtime();
    let server = target(&rt);
    let export = dir.path("summary.json");
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(guest("probe"))
        .args(["-q", "-i", "3", "-c", config.to_str().unwrap()])
        .args(["-e", &format!("BASE_URL={}", server.url())])
        .args([
            "-e",
            r#"OPTIONS={"thresholds": {"http_req_duration": ["p(95)<60000"], "checks": ["rate>0.5"]}}"#,
        ])
        .env(
            "STAMPEDE_THRESHOLDS",
            "http_req_duration: p(99)<60000; http_req_failed: rate<0.5",
        )
        .args(["--threshold", "http_req_duration: p(95)<60000"])
        .args(["--threshold", "iterations: count==3"])
        .arg("--summary-export")
        .arg(&export);
    let r = run_command(cmd, Some(&export));
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(
        thresholds_of(&r, "http_req_duration"),
        ["max<60000", "p(95)<60000", "p(99)<60000"],
        "the config file's, the script's and the variable's; the flag's repeats the script's"
    );
    assert_eq!(thresholds_of(&r, "http_reqs"), ["count>0"]);
    assert_eq!(thresholds_of(&r, "checks"), ["rate>0.5"]);
    assert_eq!(thresholds_of(&r, "http_req_failed"), ["rate<0.5"]);
    assert_eq!(thresholds_of(&r, "iterations"), ["count==3"]);

    // A failing flag threshold fails the run even when the script's hold.
    let (r, _) = probe(&["-q", "-i", "2", "--threshold", "iterations: count>2"]);
    assert_eq!(r.code, 99, "{}", r.output());
}

/// The scenario the banner describes, and the iterations that ran.
fn resolved(options: &str, args: &[&str]) -> (String, f64, String) {
    let opts = format!("OPTIONS={options}");
    let mut all = vec!["-e", opts.as_str()];
    all.extend_from_slice(args);
    let (r, _) = probe(&all);
    assert_eq!(r.code, 0, "{}", r.output());
    let line = r
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("* "))
        .unwrap_or_default()
        .trim()
        .to_owned();
    (line, r.metric("iterations", "count"), r.stderr)
}

#[test]
fn cli_shortcuts_override_a_scripts_scenarios_as_in_k6() {
    let scenarios =
        r#"{"scenarios": {"long": {"executor": "constant-vus", "vus": 2, "duration": "1h"}}}"#;
    // -i replaces the scenarios: shared iterations on one VU.
    let (line, n, stderr) = resolved(scenarios, &["-i", "4"]);
    assert!(
        line.starts_with("* default: 4 iterations shared among 1 VUs"),
        "{line}"
    );
    assert_eq!(n, 4.0);
    assert!(
        stderr.contains(r#"\"cli\" level configuration overrode scenarios configuration entirely"#),
        "{stderr}"
    );
    // -u alone: that many iterations shared by that many VUs, over the scenarios (k6 v2).
    let (line, n, stderr) = resolved(scenarios, &["-u", "3"]);
    assert!(
        line.starts_with("* default: 3 iterations shared among 3 VUs"),
        "{line}"
    );
    assert_eq!(n, 3.0);
    assert!(
        stderr.contains("`vus=3` overrides scenarios configuration"),
        "{stderr}"
    );
    // -d with -u: constant VUs for the duration.
    let (line, _, _) = resolved(scenarios, &["-u", "2", "-d", "300ms"]);
    assert!(
        line.starts_with("* default: 2 looping VUs for 300ms"),
        "{line}"
    );
    // -s with the script's vus as the start.
    let (line, _, _) = resolved(r#"{"vus": 2, "duration": "1h"}"#, &["-s", "300ms:1"]);
    assert!(line.starts_with("* default: Up to 2 looping VUs"), "{line}");
    // -i over the script's vus and duration: the duration goes, the vus stay.
    let (line, n, _) = resolved(r#"{"vus": 2, "duration": "1h"}"#, &["-i", "4"]);
    assert!(
        line.starts_with("* default: 4 iterations shared among 2 VUs"),
        "{line}"
    );
    assert_eq!(n, 4.0);
    // Without flags, the script's scenarios run.
    let (line, _, _) = resolved(
        r#"{"scenarios": {"once": {"executor": "per-vu-iterations", "vus": 2, "iterations": 1}}}"#,
        &[],
    );
    assert!(
        line.starts_with("* once: 1 iterations for each of 2 VUs"),
        "{line}"
    );
}

#[test]
fn k6s_conflicts_and_unit_less_flag_durations_are_refused() {
    let (r, requests) = probe(&[
        "-e",
        r#"OPTIONS={"duration": "10s", "stages": [{"duration": "1s", "target": 2}]}"#,
    ]);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(
        r.stderr.contains("`duration` and `stages`"),
        "{}",
        r.output()
    );
    assert_eq!(requests, 0);
    let (r, _) = probe(&["-d", "30"]);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("missing unit"), "{}", r.output());
    let (r, _) = probe(&["-s", "1000:20"]);
    assert_eq!(r.code, 104, "{}", r.output());
    let (r, _) = probe(&["-e", "1BAD=x"]);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(
        r.stderr.contains("invalid environment variable name"),
        "{}",
        r.output()
    );
}

#[test]
fn every_option_k6_knows_is_taken_and_unknown_ones_are_still_refused() {
    let options = r#"OPTIONS={"iterations": 1, "paused": false, "cloud": {"name": "x"},
        "ext": {"loadimpact": {"projectID": 1}}, "executionSegment": "0:1",
        "executionSegmentSequence": "0,1", "handleSummaryTimeout": "2m",
        "tlsVersion": {"min": "tls1.2", "max": "tls1.3"}, "tlsCipherSuites": ["TLS_AES_128_GCM_SHA256"],
        "tlsAuth": [], "noCookiesReset": true, "localIPs": "127.0.0.1", "metricSamplesBufferSize": 1000,
        "features": [], "rps": 0, "batch": 20, "batchPerHost": 6, "dns": {"ttl": "5m"},
        "noConnectionReuse": false, "noVUConnectionReuse": false, "minIterationDuration": 0,
        "throw": false, "httpDebug": "", "summaryTimeUnit": "ms", "systemTags": ["status"],
        "hosts": {}, "userAgent": "k6-compat", "discardResponseBodies": false,
        "consoleOutput": "", "maxRedirects": 10, "insecureSkipTLSVerify": false,
        "noSetup": false, "noTeardown": false, "setupTimeout": "60s", "teardownTimeout": "60s",
        "summaryTrendStats": ["avg", "p(95)"], "tags": {"k": "v"}, "blockHostnames": [],
        "blacklistIPs": [], "thresholds": {}}"#;
    let (r, requests) = probe(&["-q", "-e", options]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(requests, 1);
    for key in ["cloud", "ext"] {
        assert!(
            r.stderr.contains(&format!("`{key}` is ignored")),
            "a notice for {key}:\n{}",
            r.output()
        );
    }
    // The same through a config file, with its own keys (`out`, `linger`…).
    let dir = TempDir::new("k6-config");
    let config = dir.path("config.json");
    std::fs::write(
        &config,
        r#"{"iterations": 1, "linger": true, "noUsageReport": true, "out": ["json=x.json"],
            "webDashboard": false, "collectors": {}, "noArchiveUpload": true}"#,
    )
    .unwrap();
    let (r, _) = probe(&["-q", "-c", config.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.stderr.contains("`linger` is ignored"), "{}", r.output());
    // A key k6 does not know stays an error naming it.
    let (r, _) = probe(&["-e", r#"OPTIONS={"cloud": {}, "rpss": 5}"#]);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("rpss"), "{}", r.output());
    // So does a value of the wrong type, named by its key (k6: userAgent is a string).
    let (r, _) = probe(&["-e", r#"OPTIONS={"userAgent": false}"#]);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("`userAgent`"), "{}", r.output());
}

#[test]
fn k6s_documented_command_lines_run() {
    let dir = TempDir::new("k6-flags");
    let out = dir.path("out.jsonl");
    let console = dir.path("console.log");
    let out_arg = format!("json={}", out.display());
    let (r, requests) = probe(&[
        "--vus",
        "2",
        "--duration",
        "300ms",
        "-e",
        "X=1",
        "--env",
        "Y",
        "--tag",
        "team=api",
        "--out",
        &out_arg,
        "--http-debug",
        "--no-connection-reuse",
        "--no-vu-connection-reuse",
        "--insecure-skip-tls-verify",
        "--compatibility-mode",
        "base",
        "--console-output",
        console.to_str().unwrap(),
        "--linger",
        "-q",
        "-w",
        "--no-usage-report",
        "--summary-trend-stats",
        "avg,p(99)",
        "--summary-time-unit",
        "ms",
        "--system-tags",
        "status,method,url,name,scenario",
        "--batch",
        "10",
        "--batch-per-host",
        "5",
        "--rps",
        "1000",
        "--dns",
        "ttl=1m,select=first,policy=preferIPv4",
        "--min-iteration-duration",
        "10ms",
        "-p",
        "--execution-segment",
        "0:1",
        "--local-ips",
        "127.0.0.1",
        "-t",
        "js",
        "--traces-output",
        "none",
        "--include-system-env-vars=false",
        "--features",
        "x",
        "--no-color",
        "-a",
        "localhost:6565",
    ]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(requests > 0);
    assert!(out.exists(), "--out json wrote its file");
    assert!(r.stderr.contains("source=http-debug"), "{}", r.output());
    for flag in ["--linger", "--paused", "--address"] {
        assert!(
            r.stderr.contains(&format!("{flag} is ignored")),
            "{flag}: {}",
            r.output()
        );
    }
    // k6's global flags before the command work too.
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("k6-before");
    let export = dir.path("s.json");
    let mut cmd = stampede();
    cmd.args(["-q", "--no-color", "run", "-i", "1"])
        .arg(guest("probe"))
        .args(["-e", &format!("BASE_URL={}", server.url())])
        .arg("--summary-export")
        .arg(&export);
    let r = run_command(cmd, Some(&export));
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        !r.stderr.contains("execution: local"),
        "-q before run: {}",
        r.output()
    );
}

#[test]
fn summary_mode_disabled_neither_prints_nor_exports() {
    let (r, requests) = probe(&["-q", "-i", "2", "--summary-mode", "disabled"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(requests, 2);
    assert!(r.summary.is_none(), "no export, as in k6: {}", r.output());
    assert!(!r.stdout.contains("TOTAL RESULTS"), "{}", r.output());
    // Thresholds are still evaluated.
    let (r, _) = probe(&[
        "-q",
        "-i",
        "2",
        "--summary-mode",
        "disabled",
        "--threshold",
        "http_reqs: count>5",
    ]);
    assert_eq!(r.code, 99, "{}", r.output());
}

/// The keys k6 v2.2 writes for each kind of metric in `--summary-export`.
fn k6_keys(metric: &str) -> &'static [&'static str] {
    match metric {
        "http_reqs" | "iterations" | "data_sent" | "data_received" => &["count", "rate"],
        "vus" | "vus_max" => &["max", "min", "value"],
        "checks" | "http_req_failed" => &["fails", "passes", "value"],
        _ => &["avg", "max", "med", "min", "p(90)", "p(95)"],
    }
}

#[test]
fn the_summary_export_reads_like_k6s() {
    let (r, _) = probe(&["-q", "-i", "3"]);
    assert_eq!(r.code, 0, "{}", r.output());
    let s = r.summary.as_ref().unwrap();
    for name in [
        "http_reqs",
        "http_req_duration",
        "http_req_failed",
        "http_req_waiting",
        "iterations",
        "iteration_duration",
        "checks",
        "data_sent",
        "data_received",
        "vus",
        "vus_max",
    ] {
        let mut keys: Vec<&str> = s["metrics"][name]
            .as_object()
            .unwrap_or_else(|| panic!("no {name}: {s}"))
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "thresholds")
            .collect();
        keys.sort();
        assert_eq!(keys, k6_keys(name), "{name}");
    }
    // Whole numbers are integers, as k6 writes them.
    assert_eq!(s["metrics"]["iterations"]["count"], Value::from(3));
    assert_eq!(s["metrics"]["checks"]["value"], Value::from(1));
    assert!(s["metrics"]["iterations"]["count"].is_u64());
    assert!(s["metrics"]["vus_max"]["max"].is_u64());
    let group = &s["root_group"];
    for key in ["name", "path", "id", "groups", "checks"] {
        assert!(!group[key].is_null(), "root_group.{key}: {group}");
    }
    let check = &group["checks"]["status is 200"];
    assert_eq!(check["path"], "::status is 200");
    assert_eq!(check["passes"], Value::from(3));

    // With no request at all, k6 still lists the data metrics, at 0.
    let (r, requests) = probe(&["-q", "-i", "2", "-e", "MODE=sleep", "-e", "SLEEP=0"]);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(requests, 0);
    let s = r.summary.as_ref().unwrap();
    assert_eq!(s["metrics"]["data_sent"]["count"], Value::from(0));
    assert_eq!(s["metrics"]["data_received"]["count"], Value::from(0));
    assert!(s["metrics"]["http_reqs"].is_null());
}

#[test]
fn the_system_environment_reaches_the_script_as_in_k6() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("k6-env");
    let export = dir.path("s.json");
    let run_with = |include: Option<&str>| {
        let mut cmd = stampede();
        cmd.env_remove("STAMPEDE_INCLUDE_SYSTEM_ENV_VARS")
            .env("BASE_URL", server.url())
            .args(["run", "-q", "-i", "1", "-e", "PATH=/"]);
        if let Some(flag) = include {
            cmd.arg(flag);
        }
        cmd.arg(guest("probe")).arg("--summary-export").arg(&export);
        run_command(cmd, Some(&export))
    };
    let r = run_with(None);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(
        server.stats().requests(),
        1,
        "BASE_URL came from the environment"
    );
    let _ = run_with(Some("--include-system-env-vars=false"));
    assert_eq!(server.stats().requests(), 1, "kept out when asked");
}

/// `stampede run -`, as `k6 run -` (the usual form in a container): the script comes on stdin,
/// JavaScript with its imports resolved against the working directory, or a component.
#[test]
fn a_script_on_stdin_runs_as_k6_runs_it() {
    let dir = TempDir::new("k6-cli-stdin");
    let script = "import { check } from 'k6';\nimport { a } from './lib.js';\n\
                  export const options = { iterations: 3 };\n\
                  export default function () { check(a, { 'imported from the working directory': (x) => x === 7 }); }\n";
    std::fs::write(dir.path("script.js"), script).unwrap();
    std::fs::write(dir.path("lib.js"), "export const a = 7;\n").unwrap();
    let export = dir.path("summary.json");
    let mut cmd = stampede();
    cmd.current_dir(dir.path(""))
        .env("STAMPEDE_CACHE_DIR", crate::js_engine::js_cache())
        .args(["run", "-q", "--summary-export"])
        .arg(&export)
        .arg("-")
        .stdin(std::fs::File::open(dir.path("script.js")).unwrap());
    let r = run_command(cmd, Some(&export));
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 3.0, "{}", r.output());
    // A component on stdin.
    let mut cmd = stampede();
    cmd.current_dir(dir.path(""))
        .args(["run", "-q", "-u", "1", "-i", "2", "--summary-export"])
        .arg(&export)
        .arg("-")
        .stdin(std::fs::File::open(guest("probe")).unwrap());
    let rt = runtime();
    let server = target(&rt);
    cmd.args(["-e", &format!("BASE_URL={}", server.url())]);
    let r = run_command(cmd, Some(&export));
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 2.0, "{}", r.output());
    // Nothing on stdin.
    let mut cmd = stampede();
    cmd.args(["run", "-"]).stdin(std::process::Stdio::null());
    let r = run_command(cmd, None);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(
        r.stderr.contains("the script on stdin is empty"),
        "{}",
        r.output()
    );
}
