//! Scripts in other languages and standard wasi:http, end to end: each builds with its
//! toolchain, runs a short load against a local server, and reports like a Rust script.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::guests::{guest, target_dir};
use crate::support::{run, run_command, runtime, stampede, target, TempDir};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs an example script twice against a fresh target, 2 VUs and 10 iterations each: the
/// first run builds it (or finds it cached), the second must reuse the cached build and start
/// within five seconds; both must count every request and check. Then a threshold that cannot
/// pass must give exit code 99.
fn builds_runs_and_is_cached(script: &Path) {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let args = ["-e", base.as_str(), "-u", "2", "-i", "10"];
    let first = run(script, &args);
    let second = run(script, &args);
    assert_eq!(first.code, 0, "{}", first.output());
    assert_eq!(first.metric("http_reqs", "count"), 10.0);
    assert_eq!(first.metric("checks", "passes"), 20.0);
    assert_eq!(second.code, 0, "{}", second.output());
    assert!(
        !second.stderr.contains("building"),
        "the second run uses the cached build: {}",
        second.output()
    );
    assert!(
        second.elapsed < std::time::Duration::from_secs(5),
        "cached start: {:?}",
        second.elapsed
    );
    assert_eq!(server.stats().requests(), 20);
    let failing = run(
        script,
        &[
            "-e",
            &base,
            "-u",
            "1",
            "-i",
            "2",
            "--threshold",
            "http_req_duration: p(95)<0.001",
        ],
    );
    assert_eq!(failing.code, 99, "{}", failing.output());
}

#[test]
fn a_python_script_builds_runs_and_is_cached() {
    builds_runs_and_is_cached(&root().join("examples/py-quickstart/quickstart.py"));
}

#[test]
fn a_javascript_script_builds_runs_and_is_cached() {
    builds_runs_and_is_cached(&root().join("examples/js-quickstart/script.js"));
}

#[test]
fn javascript_fetch_goes_through_wasi_http_and_is_measured() {
    let rt = runtime();
    let server = target(&rt);
    let r = run(
        &root().join("examples/js-fetch/script.js"),
        &[
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-q",
            "--threshold",
            "http_reqs{client:fetch}: count==10",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 10.0);
    assert_eq!(r.metric("checks", "passes"), 20.0);
    assert_eq!(server.stats().requests(), 10);
    assert!(
        server.stats().connections() <= 2,
        "kept alive: {} connections",
        server.stats().connections()
    );
}

#[test]
fn a_c_script_builds_with_clang_and_runs() {
    let rt = runtime();
    let server = target(&rt);
    let dir = TempDir::new("c");
    let wasm = dir.path("quickstart.wasm");
    let status = Command::new(root().join("examples/c-quickstart/build.sh"))
        .arg(root().join("examples/c-quickstart/quickstart.c"))
        .arg(&wasm)
        .status()
        .expect("running examples/c-quickstart/build.sh");
    assert!(
        status.success(),
        "the C example builds (see tests/run.sh for its toolchain)"
    );
    let r = run(
        &wasm,
        &[
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-u",
            "2",
            "-i",
            "10",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 10.0);
    assert_eq!(r.metric("checks", "passes"), 10.0);
    assert_eq!(server.stats().requests(), 10);
    let failing = run(
        &wasm,
        &[
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-i",
            "2",
            "-q",
            "--threshold",
            "checks: rate<0.5",
        ],
    );
    assert_eq!(failing.code, 99, "{}", failing.output());
}

#[test]
fn wasi_http_requests_are_measured_like_sdk_ones() {
    let rt = runtime();
    let server = target(&rt);
    let r = run(
        &guest("wasi-http"),
        &[
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-q",
            "--threshold",
            "http_reqs{client:wstd}: count==20",
            "--threshold",
            "http_req_duration{name:home}: max>0",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), 20.0);
    assert_eq!(server.stats().requests(), 20);
    assert_eq!(r.metric("checks", "passes"), 40.0);
    assert!(r.metric("http_req_duration", "max") > 0.0);
    assert!(
        r.metric("http_req_waiting", "max") > 0.0,
        "phases are timed on the socket"
    );
    // The options' 2 VUs keep their connections alive, as SDK requests do.
    assert!(
        server.stats().connections() <= 2,
        "{} connections for 20 requests",
        server.stats().connections()
    );
}

fn new_project(lang: &str, dir: &Path) -> PathBuf {
    let out = stampede()
        .args(["new", dir.to_str().unwrap(), "--lang", lang])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match lang {
        "rust" => dir.to_owned(),
        "js" => dir.join("script.js"),
        _ => dir.join("script.py"),
    }
}

#[test]
fn new_projects_run_as_generated() {
    let rt = runtime();
    let server = target(&rt);
    let tmp = TempDir::new("new");
    for lang in ["rust", "python", "js"] {
        let script = new_project(lang, &tmp.path(lang));
        let mut cmd = stampede();
        let export = tmp.path(&format!("{lang}.json"));
        cmd.env("CARGO_TARGET_DIR", target_dir())
            .arg("run")
            .arg(&script)
            .args([
                "-e",
                &format!("BASE_URL={}", server.url()),
                "-u",
                "1",
                "-i",
                "2",
                "-q",
                "--summary-export",
            ])
            .arg(&export);
        let r = run_command(cmd, Some(&export));
        assert_eq!(r.code, 0, "{lang}: {}", r.output());
        assert_eq!(r.metric("http_reqs", "count"), 2.0, "{lang}");
        assert_eq!(r.metric("checks", "passes"), 2.0, "{lang}");
    }
}
