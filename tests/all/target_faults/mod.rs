//! Faults of the target: a server that resets, closes, stalls, drips or talks nonsense. Every
//! fault must end as a failed request with k6's error code, within its timeout, without a hang
//! and without leaking the connection.
//!
//! The fault server is a raw `TcpListener` writing hand-made HTTP/1.1 bytes; the fault is the
//! first segment of the request's path (`/reset-before`, `/drip-body/post`, …). The probe guest
//! GETs `$BASE_URL$PATH`; the api-flow example POSTs to `$BASE_URL/post` in its `setup()` and,
//! when that fails, reports the request's error message on stderr, which is how these tests
//! read the message the client gives a script.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::guests::guest;
use crate::support::{runtime, target, TempDir};

mod server;
mod watch;

use server::*;
use watch::*;

#[test]
fn a_closed_port_fails_with_1212() {
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("BASE_URL=http://127.0.0.1:{port}");
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-i",
            "3",
            "-q",
            "--threshold",
            "http_reqs{error_code:1212}: count==3",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(w.run.code, 0, "{}", w.run.output());
    assert_eq!(w.run.metric("http_req_failed", "value"), 1.0);
    assert_eq!(w.run.metric("checks", "fails"), 3.0);
    assert!(w.run.metric("iteration_duration", "max") < 500.0);
}

#[test]
fn a_reset_before_any_response_byte_fails_with_1220() {
    expect_fault(&Expect {
        fault: "reset-before",
        code: 1220,
        timeout: "5s",
        duration_ms: (0.0, 1000.0),
        message: "connection reset by peer",
    });
}

#[test]
fn a_reset_in_the_middle_of_the_headers_fails_with_1220() {
    expect_fault(&Expect {
        fault: "reset-headers",
        code: 1220,
        timeout: "5s",
        duration_ms: (50.0, 1000.0),
        message: "connection reset by peer",
    });
}

#[test]
fn a_reset_in_the_middle_of_the_body_fails_with_1220() {
    expect_fault(&Expect {
        fault: "reset-body",
        code: 1220,
        timeout: "5s",
        duration_ms: (50.0, 1000.0),
        message: "connection reset by peer",
    });
}

#[test]
fn a_close_before_any_response_byte_fails_with_1000() {
    expect_fault(&Expect {
        fault: "fin-before",
        code: 1000,
        timeout: "5s",
        duration_ms: (0.0, 1000.0),
        message: "EOF",
    });
}

#[test]
fn a_close_in_the_middle_of_the_body_fails_with_1000() {
    expect_fault(&Expect {
        fault: "fin-body",
        code: 1000,
        timeout: "5s",
        duration_ms: (50.0, 1000.0),
        message: "EOF",
    });
}

/// The client closes a connection it gave up on at once: the server sees each close about the
/// timeout after the request, not at the end of the run.
fn assert_closed_at_timeout(server: &FaultServer, fault: &str, timeout_ms: u64) {
    // The last close may still be on its way to the server.
    let waited = Instant::now();
    while (server.closed_after().len() as u64) < server.connections()
        && waited.elapsed() < Duration::from_secs(2)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let closed = server.closed_after();
    assert_eq!(
        closed.len() as u64,
        server.connections(),
        "{fault}: the client closed every connection it gave up on"
    );
    for c in &closed {
        assert!(
            *c < Duration::from_millis(timeout_ms + 700),
            "{fault}: the client closed a timed-out connection only after {c:?}: {closed:?}"
        );
    }
    eprintln!("[target_faults] {fault}: the server saw the client close after {closed:?}");
}

#[test]
fn no_answer_at_all_times_out_with_1050() {
    let (_, server) = expect_fault(&Expect {
        fault: "silent",
        code: 1050,
        timeout: "300ms",
        duration_ms: (280.0, 1000.0),
        message: "request timeout",
    });
    assert_closed_at_timeout(&server, "silent", 300);
}

#[test]
fn headers_dripped_slower_than_the_timeout_time_out_with_1050() {
    let (_, server) = expect_fault(&Expect {
        fault: "drip-headers",
        code: 1050,
        timeout: "300ms",
        duration_ms: (280.0, 1000.0),
        message: "request timeout",
    });
    assert_closed_at_timeout(&server, "drip-headers", 300);
}

#[test]
fn a_body_dripped_slower_than_the_timeout_times_out_with_1050() {
    let (_, server) = expect_fault(&Expect {
        fault: "drip-body",
        code: 1050,
        timeout: "300ms",
        duration_ms: (280.0, 1000.0),
        message: "request timeout",
    });
    assert_closed_at_timeout(&server, "drip-body", 300);
}

#[test]
fn an_invalid_status_line_fails_with_1000_at_once() {
    let (_, server) = expect_fault(&Expect {
        fault: "bad-status",
        code: 1000,
        timeout: "5s",
        duration_ms: (0.0, 1000.0),
        message: "malformed HTTP response",
    });
    assert_closed_at_timeout(&server, "bad-status", 0);
}

#[test]
fn garbage_instead_of_a_response_fails_with_1000_at_once() {
    let (_, server) = expect_fault(&Expect {
        fault: "garbage",
        code: 1000,
        timeout: "5s",
        duration_ms: (0.0, 1000.0),
        message: "malformed HTTP response",
    });
    assert_closed_at_timeout(&server, "garbage", 0);
}

#[test]
fn an_invalid_header_line_fails_with_1000_at_once() {
    let (_, server) = expect_fault(&Expect {
        fault: "bad-header",
        code: 1000,
        timeout: "5s",
        duration_ms: (0.0, 1000.0),
        message: "malformed HTTP response",
    });
    assert_closed_at_timeout(&server, "bad-header", 0);
}

#[test]
fn a_body_over_the_limit_fails_with_1000_and_its_connection_is_dropped() {
    let rt = runtime();
    let dir = TempDir::new("body-limit");
    let config = dir.path("config.json");
    std::fs::write(&config, r#"{"responseBodyLimit": 1000}"#).unwrap();
    let config = config.to_str().unwrap();
    let limit = Duration::from_secs(30);

    // Without the limit, the same body is fine and the connection is kept.
    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}", server.base());
    let ok = run_watched(
        &guest("probe"),
        &["-e", &base, "-e", "PATH=/big", "-i", "5", "-q"],
        limit,
    );
    assert_eq!(ok.run.code, 0, "{}", ok.run.output());
    assert_eq!(ok.run.metric("checks", "passes"), 5.0);
    assert_eq!(
        server.connections(),
        1,
        "the server keeps connections alive"
    );

    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}", server.base());
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/big",
            "-i",
            "5",
            "-q",
            "-c",
            config,
            "--threshold",
            "http_reqs{error_code:1000}: count==5",
        ],
        limit,
    );
    let r = &w.run;
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_req_failed", "value"), 1.0);
    assert_eq!(r.metric("checks", "fails"), 5.0);
    assert!(r.metric("iteration_duration", "max") < 1000.0);
    assert_eq!(server.requests(), 5);
    assert_eq!(
        server.connections(),
        5,
        "a connection with an unread body is not reused"
    );

    let (connections, requests) = (server.connections(), server.requests());
    let (message, _) = message_for(&server, "big", &["-c", config]);
    assert!(message.contains("responseBodyLimit"), "{message}");
    eprintln!(
        "[target_faults] big body over responseBodyLimit 1000: error_code 1000 message \
         {message:?}; iterations max {:.1} ms; run {:?}; server: {} connections for {} requests",
        r.metric("iteration_duration", "max"),
        r.elapsed,
        connections,
        requests
    );
}

#[test]
fn a_503_is_a_failed_request_with_1503_but_a_complete_exchange() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/status/503",
            "-i",
            "3",
            "-q",
            "--threshold",
            "http_reqs{error_code:1503}: count==3",
            "--threshold",
            "http_reqs{status:503}: count==3",
            "--threshold",
            "http_reqs{expected_response:false}: count==3",
        ],
        Duration::from_secs(30),
    );
    let r = &w.run;
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("http_req_failed", "value"), 1.0);
    assert_eq!(r.metric("checks", "fails"), 3.0);
    // A response came back: its connection is kept and reused.
    assert_eq!(server.stats().requests(), 3);
    assert_eq!(server.stats().connections(), 1, "{}", r.output());
    assert!(r.metric("data_received", "count") > 0.0);
    eprintln!(
        "[target_faults] 503: error_code 1503, status 503, http_req_failed {}; requests max {:.1} \
         ms; run {:?}; server: {} connection for {} requests",
        r.metric("http_req_failed", "value"),
        r.metric("http_req_duration", "max"),
        r.elapsed,
        server.stats().connections(),
        server.stats().requests()
    );
}

#[test]
fn a_reset_of_a_reused_connection_before_any_answer_is_retried_once() {
    // Each connection answers its first request and resets on the second: iteration 1 opens a
    // connection; every later one finds it reset, retries on a new connection, and succeeds.
    let rt = runtime();
    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}", server.base());
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/reuse-reset",
            "-i",
            "4",
            "-q",
            "--threshold",
            "http_req_failed: rate==0",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(w.run.code, 0, "{}", w.run.output());
    assert_eq!(w.run.metric("http_reqs", "count"), 4.0);
    assert_eq!(server.connections(), 4);
    assert_eq!(server.requests(), 7);
}

/// Socket figures of a watched run: (max, last-second average).
fn socket_figures(w: &Watched) -> (usize, f64) {
    let max = *w.sockets.iter().max().unwrap_or(&0);
    let tail = &w.sockets[w.sockets.len().saturating_sub(10)..];
    let avg = tail.iter().sum::<usize>() as f64 / tail.len().max(1) as f64;
    (max, avg)
}

#[test]
fn thousands_of_resets_leak_no_sockets() {
    let rt = runtime();
    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}", server.base());
    let vus = 10;
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/reset-before",
            "-u",
            &vus.to_string(),
            "-d",
            "4s",
            "-q",
            "--threshold",
            "http_req_failed: rate==1",
            "--threshold",
            "http_reqs{error_code:1220}: count>=1000",
        ],
        Duration::from_secs(30),
    );
    let r = &w.run;
    assert_eq!(r.code, 0, "{}", r.output());
    let requests = r.metric("http_reqs", "count");
    assert_eq!(
        r.summary.as_ref().unwrap()["metrics"]["http_reqs{error_code:1220}"]["count"].as_f64(),
        Some(requests),
        "every request was reset"
    );
    // Each failure had its own connection, and the server saw every one.
    assert_eq!(server.connections() as f64, requests);
    assert_eq!(server.requests() as f64, requests);
    let (max, tail) = socket_figures(&w);
    eprintln!(
        "[target_faults] leak check, reset-before: {requests} failed requests (1220) by {vus} VUs \
         in {:?}; server: {} connections; stampede sockets: max {max}, last second avg {tail:.1}, \
         {} samples {:?}",
        r.elapsed,
        server.connections(),
        w.sockets.len(),
        w.sockets
    );
    assert!(
        w.sockets.len() >= 30,
        "the run was watched: {:?}",
        w.sockets
    );
    assert!(
        max <= 2 * vus + 4,
        "open sockets stay bounded by the VUs, but reached {max}: {:?}",
        w.sockets
    );
}

#[test]
fn hundreds_of_timeouts_leak_no_sockets() {
    let rt = runtime();
    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}", server.base());
    let vus = 10;
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/silent",
            "-u",
            &vus.to_string(),
            "-d",
            "3s",
            "-q",
            "--http-timeout",
            "100ms",
            "--threshold",
            "http_req_failed: rate==1",
            "--threshold",
            "http_reqs{error_code:1050}: count>=100",
        ],
        Duration::from_secs(30),
    );
    let r = &w.run;
    assert_eq!(r.code, 0, "{}", r.output());
    let requests = r.metric("http_reqs", "count");
    assert_eq!(server.connections() as f64, requests);
    // Give the server a moment to see the last closes.
    std::thread::sleep(Duration::from_millis(200));
    let closed = server.closed_after();
    assert_eq!(closed.len() as f64, requests, "every connection was closed");
    let slowest = closed.iter().max().unwrap();
    let (max, tail) = socket_figures(&w);
    eprintln!(
        "[target_faults] leak check, silent (100 ms timeout): {requests} timed-out requests by \
         {vus} VUs in {:?}; server: {} connections, slowest close {slowest:?}; stampede sockets: \
         max {max}, last second avg {tail:.1}, samples {:?}",
        r.elapsed,
        server.connections(),
        w.sockets
    );
    assert!(
        *slowest < Duration::from_millis(800),
        "timed-out connections are closed at once"
    );
    assert!(
        max <= 2 * vus + 4,
        "open sockets stay bounded by the VUs, but reached {max}: {:?}",
        w.sockets
    );
}

#[test]
fn a_malformed_chunked_body_fails_with_1000() {
    let (_, server) = expect_fault(&Expect {
        fault: "bad-chunk",
        code: 1000,
        timeout: "5s",
        duration_ms: (0.0, 1000.0),
        message: "malformed",
    });
    assert_closed_at_timeout(&server, "bad-chunk", 0);
}

#[test]
fn a_huge_header_block_fails_with_1000_at_once() {
    let (_, server) = expect_fault(&Expect {
        fault: "huge-headers",
        code: 1000,
        timeout: "5s",
        duration_ms: (0.0, 1000.0),
        message: "malformed HTTP response",
    });
    assert_closed_at_timeout(&server, "huge-headers", 0);
}

#[test]
fn a_second_unasked_response_is_never_taken_for_the_next_answer() {
    let rt = runtime();
    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}", server.base());
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            "PATH=/double",
            "-i",
            "5",
            "-q",
            "--threshold",
            "http_reqs{status:200}: count==5",
            "--threshold",
            "http_req_failed: rate==0",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(w.run.code, 0, "{}", w.run.output());
    assert_eq!(server.requests(), 5);
    // A connection with bytes nobody asked for is not reused.
    assert_eq!(server.connections(), 5);
}

#[test]
fn a_full_accept_queue_times_out_with_1050() {
    // A listener that never accepts, with its queue filled: further SYNs are dropped, so the
    // connect itself hangs until the request's timeout.
    let rt = runtime();
    let (port, _listener, _queued) = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut queued = Vec::new();
        for _ in 0..4 {
            match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => queued.push(s),
                _ => break,
            }
        }
        (addr.port(), listener, queued)
    });
    let base = format!("BASE_URL=http://127.0.0.1:{port}");
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-i",
            "2",
            "-q",
            "--http-timeout",
            "300ms",
            "--threshold",
            "http_reqs{error_code:1050}: count==2",
        ],
        Duration::from_secs(30),
    );
    let r = &w.run;
    assert_eq!(r.code, 0, "{}", r.output());
    let max = r.metric("iteration_duration", "max");
    assert!((280.0..1300.0).contains(&max), "an iteration took {max} ms");
    eprintln!(
        "[target_faults] full accept queue: error_code 1050; iterations max {max:.1} ms; run {:?}",
        r.elapsed
    );
}

#[test]
fn a_post_on_a_reset_reused_connection_is_not_replayed() {
    // api-flow POSTs in setup (its own VU) and in each iteration. Each connection answers its
    // first request and resets on the second, after reading it: a POST the server may have
    // acted on. k6 (Go's transport) retries only idempotent requests, so iterations 2 and 4
    // must fail with 1220 and the server must see exactly the requests stampede reports.
    let rt = runtime();
    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}/reuse-reset", server.base());
    let w = run_watched(
        &guest("api-flow"),
        &["-e", &base, "-u", "1", "-i", "4", "-q", "--no-thresholds"],
        Duration::from_secs(30),
    );
    let r = &w.run;
    assert_eq!(r.code, 0, "{}", r.output());
    let reported = r.metric("http_reqs", "count");
    assert_eq!(
        server.requests() as f64,
        reported,
        "the server received {} POSTs, stampede reported {reported} requests",
        server.requests()
    );
    assert_eq!(
        r.summary.as_ref().unwrap()["metrics"]["http_reqs"]["count"].as_f64(),
        Some(5.0)
    );
    assert_eq!(r.metric("http_req_failed", "value"), 0.4);
}

/// Runs the probe's `expect` mode against `path` for N iterations and returns the connections
/// the server saw; every request must succeed with `status` and, if given, `body`.
fn expect_answer(path: &str, method: &str, status: u16, body: Option<&str>) -> u64 {
    let rt = runtime();
    let server = FaultServer::start(&rt);
    let mut args: Vec<String> = [
        "-e".into(),
        format!("BASE_URL={}", server.base()),
        "-e".into(),
        "MODE=expect".into(),
        "-e".into(),
        format!("PATH=/{path}"),
        "-e".into(),
        format!("METHOD={method}"),
        "-e".into(),
        format!("STATUS={status}"),
        "-i".into(),
        N.to_string(),
        "-q".into(),
        "--http-timeout".into(),
        "5s".into(),
    ]
    .into();
    if let Some(body) = body {
        args.extend(["-e".into(), format!("BODY={body}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let w = run_watched(&guest("probe"), &args, Duration::from_secs(30));
    let r = &w.run;
    assert_eq!(r.code, 0, "{path}: {}", r.output());
    assert_eq!(r.metric("http_reqs", "count"), N as f64, "{path}");
    assert_eq!(
        r.metric("http_req_failed", "passes"),
        0.0,
        "{path}: {}",
        r.output()
    );
    assert_eq!(
        r.metric("checks", "passes"),
        2.0 * N as f64,
        "{path}: {}",
        r.output()
    );
    assert_eq!(server.requests(), N, "{path}");
    server.connections()
}

#[test]
fn every_framing_of_a_response_is_read_and_keep_alive_honoured() {
    // Bodies framed by chunks (with extensions and trailers), by length, and by the close;
    // answers arriving a few bytes at a time; interim 1xx answers skipped.
    for (path, body) in [
        ("chunked", "hello, world"),
        ("chunked-slowly", "hello"),
        ("length-slowly", "hello"),
        ("interim", "ok"),
        ("http10-keep-alive", "ok"),
    ] {
        assert_eq!(
            expect_answer(path, "GET", 200, Some(body)),
            1,
            "{path}: kept alive"
        );
    }
    assert_eq!(expect_answer("no-content", "GET", 204, Some("")), 1);
    assert_eq!(expect_answer("head", "HEAD", 200, Some("")), 1);
    // The server says it closes, or closes to end the body: a new connection each time.
    assert_eq!(expect_answer("close", "GET", 200, Some("ok")), N);
    assert_eq!(
        expect_answer("until-close", "GET", 200, Some("until close")),
        N
    );
}
