//! Cookies, compression, redirects and authentication from JavaScript (a k6 script) and Python,
//! through their SDKs, against the semantics server.

use std::path::Path;

use crate::semantics_server::SemanticsServer;
use crate::support::{run, runtime};

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(name)
}

fn passes_every_check(name: &str, checks: f64) {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let r = run(
        &script(name),
        &["-e", &format!("BASE_URL={}", server.url()), "-q"],
    );
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
