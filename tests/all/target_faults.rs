//! Faults of the target: a server that resets, closes, stalls, drips or talks nonsense. Every
//! fault must end as a failed request with k6's error code, within its timeout, without a hang
//! and without leaking the connection.
//!
//! The fault server is a raw `TcpListener` writing hand-made HTTP/1.1 bytes; the fault is the
//! first segment of the request's path (`/reset-before`, `/drip-body/post`, …). The probe guest
//! GETs `$BASE_URL$PATH`; the api-flow example POSTs to `$BASE_URL/post` in its `setup()` and,
//! when that fails, reports the request's error message on stderr, which is how these tests
//! read the message the client gives a script.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::guests::guest;
use crate::support::{runtime, stampede, target, RunResult, TempDir};

/// How long a fault server waits for the client to close a connection it stalls.
const HOLD: Duration = Duration::from_secs(20);
/// The pace of dripped bytes.
const DRIP: Duration = Duration::from_millis(50);
/// Size of the body of `/big`.
const BIG: usize = 100_000;

/// What the fault server saw.
#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    requests: AtomicU64,
    /// For stalled connections: how long after the fault began the client closed them.
    closed_after: Mutex<Vec<Duration>>,
}

struct FaultServer {
    port: u16,
    stats: Arc<Stats>,
}

impl FaultServer {
    fn start(rt: &tokio::runtime::Runtime) -> Self {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(Stats::default());
        let shared = stats.clone();
        rt.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(tcp, shared.clone()));
            }
        });
        Self { port, stats }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::SeqCst)
    }

    fn closed_after(&self) -> Vec<Duration> {
        self.stats.closed_after.lock().unwrap().clone()
    }
}

/// Reads one request (head and `Content-Length` body) and returns its path; `None` at EOF.
async fn read_request(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let path = head.split_whitespace().nth(1)?.to_owned();
            let len = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let total = end + 4 + len;
            while buf.len() < total {
                let n = tcp.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..total);
            return Some(path);
        }
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Closes with a RST: `SO_LINGER` 0, then close.
fn reset(tcp: TcpStream) {
    tcp.set_zero_linger().unwrap();
    drop(tcp);
}

/// Waits until the client closes (or `HOLD` passes) and notes when it did.
async fn await_close(tcp: &mut TcpStream, since: Instant, stats: &Stats) {
    let mut sink = [0u8; 1024];
    let closed = async {
        loop {
            match tcp.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    if tokio::time::timeout(HOLD, closed).await.is_ok() {
        stats.closed_after.lock().unwrap().push(since.elapsed());
    }
}

/// Writes `bytes` one at a time every `DRIP` until done or the client closes, then waits for
/// the client to close.
async fn drip(tcp: &mut TcpStream, bytes: &[u8], since: Instant, stats: &Stats) {
    let mut sink = [0u8; 1024];
    let (mut r, mut w) = tcp.split();
    let closed = async {
        loop {
            match r.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    let dripping = async {
        for b in bytes {
            tokio::time::sleep(DRIP).await;
            if w.write_all(&[*b]).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = closed => stats.closed_after.lock().unwrap().push(since.elapsed()),
        _ = dripping => {}
        _ = tokio::time::sleep(HOLD) => {}
    }
}

/// Writes a part of a response, and gives the client time to read it before what follows.
async fn partial(tcp: &mut TcpStream, bytes: &[u8]) {
    let _ = tcp.write_all(bytes).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn serve(mut tcp: TcpStream, stats: Arc<Stats>) {
    let mut buf = Vec::new();
    let mut on_this_connection = 0;
    while let Some(path) = read_request(&mut tcp, &mut buf).await {
        stats.requests.fetch_add(1, Ordering::SeqCst);
        on_this_connection += 1;
        let since = Instant::now();
        let fault = path
            .trim_start_matches('/')
            .split(['/', '?'])
            .next()
            .unwrap_or("")
            .to_owned();
        match fault.as_str() {
            "ok" => {
                if tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await
                    .is_err()
                {
                    return;
                }
            }
            "big" => {
                let mut res =
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {BIG}\r\n\r\n").into_bytes();
                res.resize(res.len() + BIG, b'x');
                if tcp.write_all(&res).await.is_err() {
                    return;
                }
            }
            // The first request of a connection is answered and the connection kept; the
            // next one on it is reset before any answer.
            "reuse-reset" if on_this_connection == 1 => {
                let json = br#"{"token":"t0k3n","item":"widget"}"#;
                let mut res = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    json.len()
                )
                .into_bytes();
                res.extend_from_slice(json);
                if tcp.write_all(&res).await.is_err() {
                    return;
                }
            }
            "reset-before" | "reuse-reset" => return reset(tcp),
            "reset-headers" => {
                partial(&mut tcp, b"HTTP/1.1 200 OK\r\nContent-Type: text/pl").await;
                return reset(tcp);
            }
            "reset-body" => {
                let mut res = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
                res.resize(res.len() + 100, b'x');
                partial(&mut tcp, &res).await;
                return reset(tcp);
            }
            "fin-before" => {
                let _ = tcp.shutdown().await;
                return;
            }
            "fin-body" => {
                let mut res = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
                res.resize(res.len() + 100, b'x');
                partial(&mut tcp, &res).await;
                let _ = tcp.shutdown().await;
                return;
            }
            "silent" => return await_close(&mut tcp, since, &stats).await,
            "drip-headers" => {
                let mut res = b"HTTP/1.1 200 OK\r\nX-Drip: ".to_vec();
                res.resize(res.len() + 400, b'd');
                res.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
                return drip(&mut tcp, &res, since, &stats).await;
            }
            "drip-body" => {
                if tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                return drip(&mut tcp, &[b'd'; 400], since, &stats).await;
            }
            "bad-status" | "garbage" | "bad-header" => {
                let bytes: &[u8] = match fault.as_str() {
                    "bad-status" => b"HTTP/1.1 abc\r\n\r\n",
                    "garbage" => b"\x00\x17\xffGARBAGE\x01\x02\r\n\r\n",
                    _ => b"HTTP/1.1 200 OK\r\nthis is no header\r\nContent-Length: 2\r\n\r\nok",
                };
                if tcp.write_all(bytes).await.is_err() {
                    return;
                }
                // Keep the connection open: a client that waits for more would hang here.
                return await_close(&mut tcp, since, &stats).await;
            }
            "bad-chunk" => {
                let bytes =
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n";
                if tcp.write_all(bytes).await.is_err() {
                    return;
                }
                return await_close(&mut tcp, since, &stats).await;
            }
            "huge-headers" => {
                // 11 MiB of header lines, over Go's (and stampede's) 10 MiB, then nothing.
                let mut res = b"HTTP/1.1 200 OK\r\n".to_vec();
                while res.len() < 11 << 20 {
                    res.extend_from_slice(b"X-Filler: ");
                    res.resize(res.len() + 1000, b'f');
                    res.extend_from_slice(b"\r\n");
                }
                let _ = tcp.write_all(&res).await;
                return await_close(&mut tcp, since, &stats).await;
            }
            // Two responses to one request: the second (a 500) must never be taken as the
            // answer to the next request.
            "double" => {
                if tcp
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\
                          HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nstale",
                    )
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // Well-formed answers framed every way HTTP/1.1 allows.
            "chunked" => {
                let res: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                    5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
                if tcp.write_all(res).await.is_err() {
                    return;
                }
            }
            "chunked-slowly" => {
                for part in [
                    &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r"[..],
                    b"\nhel",
                    b"lo\r\n",
                    b"0\r\n",
                    b"\r\n",
                ] {
                    if tcp.write_all(part).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
            }
            "length-slowly" => {
                for part in [
                    &b"HTTP/1.1 200 OK\r\nContent-Le"[..],
                    b"ngth: 5\r\n\r\nhe",
                    b"llo",
                ] {
                    if tcp.write_all(part).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
            }
            "interim" => {
                let res: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
                    HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n\
                    HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                if tcp.write_all(res).await.is_err() {
                    return;
                }
            }
            "no-content" => {
                if tcp
                    .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // The answer to HEAD announces a length but has no body.
            "head" => {
                if tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
            }
            "close" => {
                let res: &[u8] =
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
                let _ = tcp.write_all(res).await;
                let _ = tcp.shutdown().await;
                return;
            }
            "until-close" => {
                let _ = tcp.write_all(b"HTTP/1.0 200 OK\r\n\r\nuntil close").await;
                let _ = tcp.shutdown().await;
                return;
            }
            "http10-keep-alive" => {
                let res: &[u8] =
                    b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok";
                if tcp.write_all(res).await.is_err() {
                    return;
                }
            }
            _ => {
                let _ = tcp
                    .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        }
    }
}

/// Open sockets of a process: entries of `/proc/PID/fd` that link to `socket:[…]`.
fn open_sockets(pid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|link| link.to_string_lossy().starts_with("socket:"))
        .count()
}

/// A run of stampede watched from outside.
struct Watched {
    run: RunResult,
    /// Open sockets of the stampede process, every 100 ms.
    sockets: Vec<usize>,
}

/// Runs `stampede run SCRIPT ARGS… --summary-export FILE`, counting its open sockets every
/// 100 ms, and kills it (failing the test) if it runs longer than `limit`.
fn run_watched(script: &Path, args: &[&str], limit: Duration) -> Watched {
    let dir = TempDir::new("faults");
    let export = dir.path("summary.json");
    let (out, err) = (dir.path("stdout"), dir.path("stderr"));
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(script)
        .args(args)
        .arg("--summary-export")
        .arg(&export)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("starting stampede");
    let pid = child.id();
    let mut sockets = Vec::new();
    let mut next_poll = started;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "stampede {args:?} hung: killed after {limit:?}\n--- stderr ---\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        if Instant::now() >= next_poll {
            sockets.push(open_sockets(pid));
            next_poll += Duration::from_millis(100);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let summary = std::fs::read_to_string(&export)
        .ok()
        .map(|s| serde_json::from_str(&s).expect("the summary export is JSON"));
    Watched {
        run: RunResult {
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&err).unwrap_or_default(),
            elapsed,
            summary,
        },
        sockets,
    }
}

/// The message the client gives a script for `fault`: api-flow's `setup()` POSTs to
/// `$BASE_URL/post` and fails (exit code 107) with the response's error on stderr.
fn message_for(server: &FaultServer, fault: &str, args: &[&str]) -> (String, Duration) {
    let base = format!("BASE_URL={}/{fault}", server.base());
    let mut all = vec!["-e", &base, "-q"];
    all.extend_from_slice(args);
    let w = run_watched(&guest("api-flow"), &all, Duration::from_secs(30));
    let r = w.run;
    assert_eq!(r.code, 107, "setup fails on {fault}: {}", r.output());
    let start = r
        .stderr
        .find("Some(\\\"")
        .unwrap_or_else(|| panic!("no error message in: {}", r.output()))
        + "Some(\\\"".len();
    let len = r.stderr[start..].find("\\\")").expect("the message ends");
    (r.stderr[start..start + len].to_owned(), r.elapsed)
}

/// Requests to a fault: how many, with which timeout, and what must come back.
struct Expect {
    fault: &'static str,
    code: u32,
    /// `--http-timeout`.
    timeout: &'static str,
    /// Bounds of the duration of each failed request (`http_req_duration`), ms.
    duration_ms: (f64, f64),
    /// A part of the message the script gets.
    message: &'static str,
}

const N: u64 = 3;

/// Runs N iterations of the probe against `e.fault`, then checks the code, the time, that every
/// failure had a connection of its own, and the message a script gets.
fn expect_fault(e: &Expect) -> (Watched, FaultServer) {
    let rt = runtime();
    let server = FaultServer::start(&rt);
    let base = format!("BASE_URL={}", server.base());
    let path = format!("PATH=/{}", e.fault);
    let iterations = N.to_string();
    let threshold = format!("http_reqs{{error_code:{}}}: count=={N}", e.code);
    let w = run_watched(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            &path,
            "-i",
            &iterations,
            "-q",
            "--http-timeout",
            e.timeout,
            "--threshold",
            &threshold,
            "--threshold",
            "http_req_failed: rate==1",
        ],
        Duration::from_secs(30),
    );
    let r = &w.run;
    assert_eq!(
        r.code,
        0,
        "{}: every request fails with {}\n{}",
        e.fault,
        e.code,
        r.output()
    );
    assert_eq!(r.metric("http_reqs", "count"), N as f64, "{}", r.output());
    assert_eq!(r.metric("http_req_failed", "value"), 1.0);
    assert_eq!(r.metric("checks", "fails"), N as f64);
    let (min, max) = (
        r.metric("http_req_duration", "min"),
        r.metric("http_req_duration", "max"),
    );
    assert!(
        min >= e.duration_ms.0 && max < e.duration_ms.1,
        "{}: failed requests took {min}..{max} ms, not within {:?} ms",
        e.fault,
        e.duration_ms
    );
    let iteration_max = r.metric("iteration_duration", "max");
    assert!(
        iteration_max < e.duration_ms.1 + 500.0,
        "{}: an iteration took {iteration_max} ms",
        e.fault
    );
    // A failed connection is never reused: one connection per request.
    assert_eq!(server.requests(), N, "{}", e.fault);
    assert_eq!(server.connections(), N, "{}", e.fault);

    let (connections, requests) = (server.connections(), server.requests());
    let (message, took) = message_for(&server, e.fault, &["--http-timeout", e.timeout]);
    assert!(
        message.contains(e.message),
        "{}: the message `{message}` does not say `{}`",
        e.fault,
        e.message
    );
    eprintln!(
        "[target_faults] {}: error_code {} message {message:?}; requests {min:.1}..{max:.1} ms, \
         iterations max {iteration_max:.1} ms; run {:?} (setup run {took:?}); server: {} \
         connections for {} requests; stampede sockets max {}",
        e.fault,
        e.code,
        r.elapsed,
        connections,
        requests,
        w.sockets.iter().max().unwrap_or(&0),
    );
    (w, server)
}

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
