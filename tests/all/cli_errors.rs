//! Bad input exits with 104 and a message naming the problem, before any load is sent.

use crate::guests::guest;
use crate::support::{run, stampede, TempDir};

fn expect_config_error(r: &crate::support::RunResult, needle: &str) {
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(
        r.stderr.contains(needle),
        "expected `{needle}` in stderr:\n{}",
        r.output()
    );
    assert!(
        r.summary.is_none(),
        "no test ran, so no summary: {}",
        r.output()
    );
}

#[test]
fn malformed_wasm_is_refused() {
    let dir = TempDir::new("junk");
    let junk = dir.path("junk.wasm");
    std::fs::write(&junk, b"this is not wasm at all").unwrap();
    expect_config_error(&run(&junk, &[]), "not a WebAssembly binary");
    let core = dir.path("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    expect_config_error(&run(&core, &[]), "core WebAssembly module, not a component");
    let truncated = dir.path("truncated.wasm");
    let bytes = std::fs::read(guest("probe")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    expect_config_error(&run(&truncated, &[]), "not a valid WebAssembly component");
    expect_config_error(&run(&dir.path("missing.wasm"), &[]), "not found");
}

#[test]
fn a_component_of_the_wrong_world_is_refused() {
    expect_config_error(
        &run(&guest("not-a-script"), &[]),
        "does not export what a stampede script must",
    );
}

#[test]
fn bad_flags_and_options_are_refused() {
    let probe = guest("probe");
    expect_config_error(&run(&probe, &["-d", "10 minutes"]), "invalid duration");
    expect_config_error(
        &run(&probe, &["--threshold", "http_req_duration: p95<1"]),
        "unknown aggregation `p95`",
    );
    expect_config_error(
        &run(&probe, &["--threshold", "http_req_durationn: p(95)<1"]),
        "no metric named `http_req_durationn`",
    );
    expect_config_error(
        &run(&probe, &["--threshold", "http_reqs: p(95)<1"]),
        "counter metric",
    );
    expect_config_error(&run(&probe, &["--vus", "0"]), "`vus` must be more than 0");
    expect_config_error(&run(&probe, &["--no-such-flag"]), "--no-such-flag");
    expect_config_error(
        &run(&probe, &["--out", "influxdb=http://x"]),
        "unsupported output",
    );
    // The script's own options are checked too.
    expect_config_error(
        &run(&probe, &["-e", r#"OPTIONS={"vus": 1, "durration": "1s"}"#]),
        "unknown field `durration`",
    );
}

#[test]
fn a_bad_config_file_is_named() {
    let dir = TempDir::new("config");
    let config = dir.path("bad.json");
    std::fs::write(
        &config,
        r#"{"scenarios": {"x": {"executor": "constant-vus", "duration": "1s", "rate": 3}}}"#,
    )
    .unwrap();
    let r = run(&guest("probe"), &["-c", config.to_str().unwrap()]);
    expect_config_error(&r, "unknown option `rate`");
    std::fs::write(&config, "{not json").unwrap();
    let r = run(&guest("probe"), &["-c", config.to_str().unwrap()]);
    expect_config_error(&r, "bad.json");
}

#[test]
fn help_and_version_exit_0() {
    let out = stampede().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("run"));
    let out = stampede().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}
