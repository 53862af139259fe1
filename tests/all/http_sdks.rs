//! Cookies, compression, redirects, authentication and bodies kept under
//! `discardResponseBodies` from JavaScript (a k6 script), Python and Rust, through their SDKs,
//! against the semantics server.

use std::path::Path;

use crate::guests::guest;
use crate::semantics_server::SemanticsServer;
use crate::support::{run, runtime};

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(name)
}

fn passes_every_check(name: &str, checks: f64) {
    passes_every_check_with(name, checks, &[]);
}

fn passes_every_check_with(name: &str, checks: f64, args: &[&str]) {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let base = format!("BASE_URL={}", server.url());
    let mut all = vec!["-e", &base, "-q"];
    all.extend_from_slice(args);
    let r = run(&script(name), &all);
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), checks, "{}", r.output());
}

#[test]
fn a_k6_script_uses_cookies_compression_redirects_and_auth() {
    passes_every_check("semantics.js", 22.0);
}

#[test]
fn a_python_script_uses_cookies_compression_redirects_and_auth() {
    passes_every_check("semantics.py", 20.0);
}

/// Under `discardResponseBodies`, a request of the Rust or Python SDK may keep its body (k6's
/// `responseType: 'text'`); the requests that do not say still discard theirs.
#[test]
fn a_request_keeps_its_body_when_the_test_discards_bodies() {
    passes_every_check_with("keep_body.py", 3.0, &["--discard-response-bodies"]);
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let url = format!("URL={}/echo", server.url());
    for (keep, checks) in [(true, 3.0), (false, 2.0)] {
        let mut args = vec![
            "-e",
            &url,
            "-e",
            "EXPECT_STATUS=200",
            "-e",
            "THEN_PLAIN=1",
            "--discard-response-bodies",
            "-q",
        ];
        if keep {
            args.extend(["-e", "KEEP_BODY=1"]);
        }
        let r = run(&guest("semantics"), &args);
        assert_eq!(r.code, 0, "{}", r.output());
        assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
        assert_eq!(r.metric("checks", "passes"), checks, "{}", r.output());
    }
}
