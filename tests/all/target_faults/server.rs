//! The fault server: a raw `TcpListener` writing hand-made HTTP/1.1 bytes, the fault picked by
//! the first segment of the request's path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a fault server waits for the client to close a connection it stalls.
pub(super) const HOLD: Duration = Duration::from_secs(20);
/// The pace of dripped bytes.
pub(super) const DRIP: Duration = Duration::from_millis(50);
/// Size of the body of `/big`.
pub(super) const BIG: usize = 100_000;

/// What the fault server saw.
#[derive(Default)]
pub(super) struct Stats {
    pub(super) connections: AtomicU64,
    pub(super) requests: AtomicU64,
    /// For stalled connections: how long after the fault began the client closed them.
    pub(super) closed_after: Mutex<Vec<Duration>>,
}

pub(super) struct FaultServer {
    pub(super) port: u16,
    pub(super) stats: Arc<Stats>,
}

impl FaultServer {
    pub(super) fn start(rt: &tokio::runtime::Runtime) -> Self {
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

    pub(super) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(super) fn connections(&self) -> u64 {
        self.stats.connections.load(Ordering::SeqCst)
    }

    pub(super) fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::SeqCst)
    }

    pub(super) fn closed_after(&self) -> Vec<Duration> {
        self.stats.closed_after.lock().unwrap().clone()
    }
}

/// Reads one request (head and `Content-Length` body) and returns its path; `None` at EOF.
pub(super) async fn read_request(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
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
pub(super) fn reset(tcp: TcpStream) {
    tcp.set_zero_linger().unwrap();
    drop(tcp);
}

/// Waits until the client closes (or `HOLD` passes) and notes when it did.
pub(super) async fn await_close(tcp: &mut TcpStream, since: Instant, stats: &Stats) {
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
pub(super) async fn drip(tcp: &mut TcpStream, bytes: &[u8], since: Instant, stats: &Stats) {
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
pub(super) async fn partial(tcp: &mut TcpStream, bytes: &[u8]) {
    let _ = tcp.write_all(bytes).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
}

pub(super) async fn serve(mut tcp: TcpStream, stats: Arc<Stats>) {
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
