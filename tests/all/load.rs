//! Load runs against the built-in target: exact counts, thresholds and the summary export.

use crate::guests::guest;
use crate::support::{run, runtime, target, TempDir};

#[test]
fn shared_iterations_are_exact_and_match_what_the_server_saw() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &["-e", &base, "-u", "4", "-i", "200", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 200.0);
    assert_eq!(r.metric("http_reqs", "count"), 200.0);
    assert_eq!(server.stats().requests(), 200);
    assert_eq!(r.metric("checks", "passes"), 200.0);
    assert_eq!(r.metric("checks", "fails"), 0.0);
    // Each VU keeps its connection alive: one connection per VU at most.
    assert!(
        server.stats().connections() <= 4,
        "{} connections",
        server.stats().connections()
    );
}

#[test]
fn per_vu_iterations_run_exactly_per_vu() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("pervu");
    let config = dir.path("config.json");
    std::fs::write(
        &config,
        r#"{"scenarios": {"each": {"executor": "per-vu-iterations", "vus": 3, "iterations": 7}}}"#,
    )
    .unwrap();
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &["-e", &base, "-c", config.to_str().unwrap(), "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iterations", "count"), 21.0);
    assert_eq!(server.stats().requests(), 21);
}

#[test]
fn constant_vus_request_counts_match_the_server() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &["-e", &base, "-u", "10", "-d", "2s", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let reqs = r.metric("http_reqs", "count");
    assert!(reqs > 100.0, "only {reqs} requests in 2 s");
    assert_eq!(reqs, server.stats().requests() as f64);
    assert_eq!(r.metric("iterations", "count"), reqs);
    assert_eq!(r.metric("vus", "max"), 10.0);
    assert_eq!(r.metric("vus_max", "value"), 10.0);
}

#[test]
fn a_passing_threshold_exits_0_and_a_failing_one_99() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let quickstart = guest("quickstart");
    let ok = run(&quickstart, &["-e", &base, "-u", "5", "-d", "1s", "-q"]);
    assert_eq!(ok.code, 0, "{}", ok.output());
    assert!(ok.stdout.contains("✓ 'p(95)<250'"), "{}", ok.output());
    assert_eq!(
        ok.summary.as_ref().unwrap()["metrics"]["http_req_duration"]["thresholds"]["p(95)<250"],
        false
    );

    let bad = run(
        &quickstart,
        &[
            "-e",
            &base,
            "-u",
            "5",
            "-d",
            "1s",
            "-q",
            "--threshold",
            "http_req_duration: p(95)<0.001",
        ],
    );
    assert_eq!(bad.code, 99, "{}", bad.output());
    assert!(bad.stdout.contains("✗ 'p(95)<0.001'"), "{}", bad.output());
    assert_eq!(
        bad.summary.as_ref().unwrap()["metrics"]["http_req_duration"]["thresholds"]["p(95)<0.001"],
        true
    );
    assert!(
        bad.stderr
            .contains("thresholds on metrics 'http_req_duration' have been crossed"),
        "{}",
        bad.output()
    );

    let skipped = run(
        &quickstart,
        &[
            "-e",
            &base,
            "-u",
            "1",
            "-i",
            "5",
            "-q",
            "--no-thresholds",
            "--threshold",
            "http_req_duration: p(95)<0.001",
        ],
    );
    assert_eq!(skipped.code, 0, "{}", skipped.output());
}

#[test]
fn sub_metric_thresholds_filter_samples_by_tag() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let args = |t: &'static str| {
        vec![
            "-e".to_string(),
            base.clone(),
            "-e".into(),
            "PATH=/status/404".into(),
            "-i".into(),
            "20".into(),
            "-q".into(),
            "--threshold".into(),
            t.into(),
        ]
    };
    let probe = guest("probe");
    let run_with = |t: &'static str| {
        let a = args(t);
        run(&probe, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let ok = run_with("http_reqs{status:404}: count==20");
    assert_eq!(ok.code, 0, "{}", ok.output());
    assert_eq!(ok.metric("http_reqs{status:404}", "count"), 20.0);
    assert_eq!(ok.metric("http_req_failed", "value"), 1.0);
    let none = run_with("http_reqs{status:200}: count>0");
    assert_eq!(none.code, 99, "{}", none.output());
    let failed = run_with("http_req_failed: rate<0.5");
    assert_eq!(failed.code, 99, "{}", failed.output());
}

#[test]
fn the_summary_export_has_k6s_shape() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("quickstart"),
        &["-e", &base, "-u", "2", "-i", "10", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let s = r.summary.as_ref().unwrap();
    assert_eq!(s["root_group"]["path"], "");
    assert_eq!(s["root_group"]["id"], "d41d8cd98f00b204e9800998ecf8427e");
    let check = &s["root_group"]["checks"]["status is 200"];
    assert_eq!(check["path"], "::status is 200");
    // k6's id for this check, from the reference export.
    assert_eq!(check["id"], "6210a8cd14cd70477eba5c5e4cb3fb5f");
    assert_eq!(check["passes"], 10);
    for trend in [
        "http_req_duration",
        "http_req_waiting",
        "http_req_blocked",
        "iteration_duration",
        "http_req_duration{expected_response:true}",
    ] {
        for stat in ["avg", "min", "med", "max", "p(90)", "p(95)"] {
            assert!(
                s["metrics"][trend][stat].is_number(),
                "{trend}.{stat} missing: {}",
                s["metrics"][trend]
            );
        }
    }
    for counter in ["http_reqs", "iterations", "data_sent", "data_received"] {
        assert!(
            s["metrics"][counter]["count"].is_number() && s["metrics"][counter]["rate"].is_number(),
            "{counter}"
        );
    }
    for rate in ["checks", "http_req_failed"] {
        for k in ["passes", "fails", "value"] {
            assert!(s["metrics"][rate][k].is_number(), "{rate}.{k}");
        }
    }
    for gauge in ["vus", "vus_max"] {
        for k in ["value", "min", "max"] {
            assert!(s["metrics"][gauge][k].is_number(), "{gauge}.{k}");
        }
    }
    assert!(r.metric("data_sent", "count") > 0.0);
    assert!(r.metric("http_req_duration", "min") <= r.metric("http_req_duration", "p(95)"));
}

#[test]
fn counts_stay_exact_with_200_vus_for_20_seconds() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "MODE=count",
            "-u",
            "200",
            "-d",
            "20s",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let iterations = r.metric("iterations", "count");
    assert!(iterations > 1000.0, "{iterations}");
    assert_eq!(
        r.metric("http_reqs", "count"),
        server.stats().requests() as f64,
        "what the server saw"
    );
    assert_eq!(
        r.metric("probe_iterations", "count"),
        iterations,
        "what the guest counted"
    );
    assert_eq!(r.metric("http_reqs", "count"), iterations);
    assert_eq!(r.metric("checks", "passes"), iterations);
}

/// Runs the probe pinned to the first core, as on a generator with one core.
fn on_one_core(args: &[&str]) -> crate::support::RunResult {
    use std::os::unix::process::CommandExt;
    let dir = TempDir::new("one-core");
    let export = dir.path("summary.json");
    let mut cmd = crate::support::stampede();
    cmd.arg("run")
        .arg(guest("probe"))
        .args(args)
        .arg("--summary-export")
        .arg(&export);
    // SAFETY: between fork and exec, only an async-signal-safe system call on this process.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    crate::support::run_command(cmd, Some(&export))
}

#[test]
fn a_saturated_generator_says_so_in_the_summary_and_the_export() {
    let dir = TempDir::new("saturated");
    let config = dir.path("config.json");
    std::fs::write(
        &config,
        r#"{"scenarios": {"burn": {"executor": "constant-vus", "vus": 2, "duration": "2s", "gracefulStop": "200ms"}}}"#,
    )
    .unwrap();
    // Two VUs spinning on one core: the generator, not any server, sets the pace.
    let r = on_one_core(&["-e", "MODE=spin", "-c", config.to_str().unwrap(), "-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    let generator = &r.summary.as_ref().expect("an export")["generator"];
    assert_eq!(generator["cores"], 1, "{generator}");
    // Always running or waiting to run, whatever else the machine is doing; the process's
    // CPU share shows it too when nothing else competes for the core.
    assert!(
        generator["vu_threads_busy"].as_f64().unwrap() > 0.9,
        "{generator}"
    );
    let warnings = generator["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains("the load generator used") || w.contains("the load generator was saturated")
        }),
        "{generator}"
    );
    assert!(r.stdout.contains("WARNING"), "{}", r.output());
    assert!(r.stdout.contains("vu_threads"), "{}", r.output());

    // A VU that mostly sleeps on the same core leaves it idle: no such warning.
    let r = on_one_core(&[
        "-e",
        "MODE=sleep",
        "-e",
        "SLEEP=0.1",
        "-u",
        "1",
        "-d",
        "2s",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.output());
    let generator = &r.summary.as_ref().expect("an export")["generator"];
    assert!(
        generator["vu_threads_busy"].as_f64().unwrap() < 0.5,
        "{generator}"
    );
    // (Timer lag may still be reported when other tests load the machine.)
    assert!(
        !r.stdout.contains("the load generator used")
            && !r.stdout.contains("the load generator was saturated"),
        "{}",
        r.output()
    );
}
