//! The HTTP client on real sockets: keep-alive, redirects, TLS, and failures that come back as
//! failed requests with k6's error codes.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::guests::guest;
use crate::support::{run, runtime, target};

#[test]
fn redirects_are_followed_and_each_hop_is_a_request() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &["-e", &base, "-e", "PATH=/redirect/3", "-i", "5", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    // Three 302s and the final 200, per iteration.
    assert_eq!(r.metric("http_reqs", "count"), 20.0);
    assert_eq!(server.stats().requests(), 20);
    assert_eq!(r.metric("checks", "passes"), 5.0);
    assert_eq!(r.metric("http_req_failed", "value"), 0.0);
}

#[test]
fn slow_responses_time_out_with_code_1050() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/delay/5000",
            "-i",
            "2",
            "-q",
            "--http-timeout",
            "200ms",
            "--threshold",
            "http_reqs{error_code:1050}: count==2",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.elapsed < std::time::Duration::from_secs(4),
        "took {:?}",
        r.elapsed
    );
    let p95 = r.metric("http_req_duration", "max");
    assert!(
        (150.0..1000.0).contains(&p95),
        "a timed-out request lasts about its timeout, not {p95} ms"
    );
}

/// An HTTPS server with a self-signed certificate for 127.0.0.1 and localhost.
fn tls_server(rt: &tokio::runtime::Runtime) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"hello over tls",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

#[test]
fn https_works_with_insecure_skip_tls_verify_and_fails_with_1310_without() {
    let rt = runtime();
    let port = tls_server(&rt);
    let base = format!("BASE_URL=https://127.0.0.1:{port}");
    let ok = run(
        &guest("probe"),
        &["-e", &base, "-i", "4", "-q", "--insecure-skip-tls-verify"],
    );
    assert_eq!(ok.code, 0, "{}", ok.output());
    assert_eq!(ok.metric("checks", "passes"), 4.0);
    assert!(
        ok.metric("http_req_tls_handshaking", "max") > 0.0,
        "the handshake is timed"
    );
    assert_eq!(
        ok.metric("http_req_tls_handshaking", "min"),
        0.0,
        "later requests reuse the connection"
    );

    let refused = run(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-i",
            "2",
            "-q",
            "--threshold",
            "http_reqs{error_code:1310}: count==2",
        ],
    );
    assert_eq!(refused.code, 0, "{}", refused.output());
    assert_eq!(refused.metric("http_req_failed", "value"), 1.0);
}

/// A connection keeps one timer for its requests' deadlines and moves it (see `H1Conn`): a
/// later deadline must not cut a request at the one before it, an earlier one must.
const DEADLINES: &str = r#"
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 1 };

export default function () {
  const base = __ENV.BASE_URL;
  check(http.get(`${base}/`, { timeout: '300ms' }), { 'a quick request': (r) => r.status === 200 });
  check(http.get(`${base}/delay/800`, { timeout: '5s' }), {
    'the connection is reused': (r) => r.timings.connecting === 0,
    'a later deadline than the last request on the connection is kept': (r) =>
      r.status === 200 && r.timings.duration >= 700,
  });
  check(http.get(`${base}/delay/3000`, { timeout: '400ms' }), {
    'an earlier deadline than the last request on the connection cuts the request': (r) =>
      r.error_code === 1050 && r.timings.duration < 2000,
  });
  check(http.get(`${base}/delay/100`, { timeout: '5s' }), {
    'a new connection after the timeout answers': (r) => r.status === 200,
  });
}
"#;

#[test]
fn each_request_on_a_kept_connection_keeps_its_own_deadline() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url().trim_end_matches('/'));
    crate::js_engine::checks_pass("deadlines", DEADLINES, &["-e", &base, "-q"], 5.0);
}
