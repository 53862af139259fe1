//! HTTP/2 against real servers: stampede's own target (TLS with ALPN, and h2c), nginx with
//! `http2` (TLS and h2c), batches multiplexed on one connection, HTTP/1.1 forced per test and
//! per request, and early answers to uploads.

use crate::nginx::Nginx;
use crate::support::runtime;
use crate::wire::expect;
use stampede_runtime::serve::{Security, Server};

fn tls_target(rt: &tokio::runtime::Runtime) -> Server {
    rt.block_on(Server::start_with(
        "127.0.0.1:0".parse().unwrap(),
        Security::Tls,
    ))
    .unwrap()
}

fn plain_target(rt: &tokio::runtime::Runtime) -> Server {
    rt.block_on(Server::start("127.0.0.1:0".parse().unwrap()))
        .unwrap()
}

#[test]
fn alpn_picks_http2_over_tls_and_a_batch_shares_one_connection() {
    let rt = runtime();
    let server = tls_target(&rt);
    let base = server.url();
    let r = expect(
        &[("BASE_URL", &base), ("PATH", "/get"), ("BATCH", "10")],
        &[
            "-i",
            "3",
            "--insecure-skip-tls-verify",
            "--threshold",
            "http_reqs{proto:HTTP/2.0}: count==30",
            "--threshold",
            "http_req_failed: rate==0",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 60.0);
    assert_eq!(server.stats().h2_requests(), 30);
    assert_eq!(
        server.stats().connections(),
        1,
        "one connection per origin, batches as streams"
    );
    // Every metric is there as for HTTP/1.1, bytes included.
    assert!(r.metric("data_received", "count") > 30.0 * 100.0);
    assert!(r.metric("data_sent", "count") > 30.0 * 20.0);
    assert!(r.metric("http_req_tls_handshaking", "max") > 0.0);
    assert!(r.metric("http_req_waiting", "avg") > 0.0);
}

/// `noConnectionReuse` over HTTP/2: each request opens its own connection, as in k6.
#[test]
fn no_connection_reuse_holds_over_http2() {
    let rt = runtime();
    let server = tls_target(&rt);
    let base = server.url();
    let r = expect(
        &[("BASE_URL", &base), ("PATH", "/get")],
        &[
            "-i",
            "4",
            "--insecure-skip-tls-verify",
            "--no-connection-reuse",
            "--threshold",
            "http_reqs{proto:HTTP/2.0}: count==4",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(server.stats().h2_requests(), 4);
    assert_eq!(server.stats().connections(), 4, "a connection per request");
    assert!(
        r.metric("http_req_tls_handshaking", "min") > 0.0,
        "every one shook hands"
    );
    // As k6's (Go's GetConn to GotConn): blocked holds connecting and TLS on a new connection.
    let (blocked, tls) = (
        r.metric("http_req_blocked", "min"),
        r.metric("http_req_tls_handshaking", "min"),
    );
    assert!(blocked >= tls, "blocked {blocked} ms < TLS {tls} ms");
}

#[test]
fn http_1_1_can_be_forced_per_test_and_per_request() {
    let rt = runtime();
    let server = tls_target(&rt);
    let base = server.url();
    let per_test = expect(
        &[("BASE_URL", &base), ("BATCH", "4")],
        &[
            "-i",
            "2",
            "--insecure-skip-tls-verify",
            "--http-version",
            "1.1",
            "--threshold",
            "http_reqs{proto:HTTP/1.1}: count==8",
        ],
    );
    assert_eq!(per_test.code, 0, "{}", per_test.output());
    let per_request = expect(
        &[("BASE_URL", &base), ("HTTP_VERSION", "1.1")],
        &[
            "-i",
            "2",
            "--insecure-skip-tls-verify",
            "--threshold",
            "http_reqs{proto:HTTP/1.1}: count==2",
        ],
    );
    assert_eq!(per_request.code, 0, "{}", per_request.output());
    assert_eq!(server.stats().h2_requests(), 0);
    // HTTP/1.1 batches keep one connection per request in flight.
    assert!(server.stats().connections() >= 5);
}

#[test]
fn h2c_with_prior_knowledge_is_opt_in() {
    let rt = runtime();
    let server = plain_target(&rt);
    let base = server.url();
    let auto = expect(
        &[("BASE_URL", &base)],
        &[
            "-i",
            "2",
            "--threshold",
            "http_reqs{proto:HTTP/1.1}: count==2",
        ],
    );
    assert_eq!(auto.code, 0, "{}", auto.output());
    let h2c = expect(
        &[("BASE_URL", &base), ("BATCH", "5")],
        &[
            "-i",
            "2",
            "--http-version",
            "2",
            "--threshold",
            "http_reqs{proto:HTTP/2.0}: count==10",
        ],
    );
    assert_eq!(h2c.code, 0, "{}", h2c.output());
    assert_eq!(server.stats().h2_requests(), 10);
}

#[test]
fn an_invalid_http_version_is_a_config_error() {
    let r = expect(&[], &["-i", "1", "--http-version", "3"]);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(
        r.stderr.contains("unknown HTTP version `3`"),
        "{}",
        r.stderr
    );
}

#[test]
fn nginx_speaks_http2_over_tls_and_h2c_and_refuses_a_large_upload_early() {
    let Some(nginx) = Nginx::start() else {
        eprintln!("[http2] nginx is not installed: skipped");
        return;
    };
    let tls = expect(
        &[
            ("BASE_URL", &nginx.https),
            ("BATCH", "5"),
            ("BODY", "hello from nginx\n"),
        ],
        &[
            "-i",
            "2",
            "--insecure-skip-tls-verify",
            "--threshold",
            "http_reqs{proto:HTTP/2.0}: count==10",
        ],
    );
    assert_eq!(tls.code, 0, "{}", tls.output());
    assert_eq!(tls.metric("checks", "passes"), 20.0);
    let h2c = expect(
        &[("BASE_URL", &nginx.h2c), ("BODY", "hello from nginx\n")],
        &[
            "-i",
            "2",
            "--http-version",
            "2",
            "--threshold",
            "http_reqs{proto:HTTP/2.0}: count==2",
        ],
    );
    assert_eq!(h2c.code, 0, "{}", h2c.output());
    // client_max_body_size 1k: a 16 MiB upload is answered 413 before it is read, over
    // HTTP/1.1 and over HTTP/2.
    for (base, version) in [(&nginx.http, "1.1"), (&nginx.https, "2")] {
        let proto = if version == "2" {
            "HTTP/2.0"
        } else {
            "HTTP/1.1"
        };
        let threshold = format!("http_reqs{{status:413,proto:{proto}}}: count==2");
        let r = expect(
            &[
                ("BASE_URL", base),
                ("PATH", "/upload"),
                ("METHOD", "POST"),
                ("SIZE", "16777216"),
                ("STATUS", "413"),
                ("HTTP_VERSION", version),
            ],
            &[
                "-i",
                "2",
                "--insecure-skip-tls-verify",
                "--threshold",
                &threshold,
            ],
        );
        assert_eq!(r.code, 0, "{version}: {}", r.output());
    }
}

#[test]
fn http2_uploads_and_large_bodies_follow_flow_control() {
    let rt = runtime();
    let server = tls_target(&rt);
    let base = server.url();
    // 10 MiB up (echoed back): more than the windows of both sides.
    let r = expect(
        &[
            ("BASE_URL", &base),
            ("PATH", "/post"),
            ("METHOD", "POST"),
            ("SIZE", "10485760"),
        ],
        &[
            "-i",
            "2",
            "--insecure-skip-tls-verify",
            "--threshold",
            "http_reqs{proto:HTTP/2.0}: count==2",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.metric("data_sent", "count") > 2.0 * 10_485_760.0);
    assert!(r.metric("data_received", "count") > 2.0 * 10_485_760.0);
    // A body over responseBodyLimit fails the request, not the connection.
    let dir = crate::support::TempDir::new("h2-limit");
    let config = dir.path("config.json");
    std::fs::write(&config, r#"{"responseBodyLimit": 1000}"#).unwrap();
    let limited = expect(
        &[("BASE_URL", &base), ("PATH", "/bytes/100000")],
        &[
            "-i",
            "3",
            "--insecure-skip-tls-verify",
            "-c",
            config.to_str().unwrap(),
            "--threshold",
            "http_reqs{error_code:1000}: count==3",
        ],
    );
    assert_eq!(limited.code, 0, "{}", limited.output());
    assert!(
        limited.stderr.contains("responseBodyLimit"),
        "{}",
        limited.stderr
    );
}

#[test]
fn wasi_http_requests_go_over_http2_too() {
    let rt = runtime();
    let server = tls_target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = crate::support::run(
        &crate::guests::guest("wasi-http"),
        &[
            "-e",
            &base,
            "-q",
            "--insecure-skip-tls-verify",
            "--threshold",
            "http_reqs{proto:HTTP/2.0,name:home}: count==20",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0);
    assert_eq!(server.stats().h2_requests(), 20);
    assert_eq!(server.stats().connections(), 2, "one per VU");
}
