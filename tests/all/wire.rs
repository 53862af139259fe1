//! Helpers of the wire-level tests: a raw TCP server that records every request as it arrived
//! and answers with bytes the test chose, and runs of the probe guest's `expect` mode.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::guests::guest;
use crate::support::{run, RunResult};

/// What a [`Capture`] server does with a request.
#[derive(Clone)]
pub enum Answer {
    /// Reads the whole request (head and `Content-Length` or chunked body), writes these bytes.
    Bytes(Vec<u8>),
    /// Reads only the head, writes these bytes and closes at once — with the body unread,
    /// which makes the kernel reset the connection (as a server refusing an upload does).
    EarlyAndClose(Vec<u8>),
}

/// A server that records each request's raw bytes.
pub struct Capture {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    connections: Arc<Mutex<u64>>,
}

impl Capture {
    pub fn start(rt: &tokio::runtime::Runtime, answer: Answer) -> Self {
        Self::start_on(rt, "127.0.0.1:0", answer)
    }

    pub fn start_on(rt: &tokio::runtime::Runtime, addr: &str, answer: Answer) -> Self {
        let listener = rt.block_on(TcpListener::bind(addr)).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (seen, count) = (requests.clone(), connections.clone());
        rt.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                *count.lock().unwrap() += 1;
                tokio::spawn(serve(tcp, answer.clone(), seen.clone()));
            }
        });
        Self {
            addr,
            requests,
            connections,
        }
    }

    /// `http://ADDR` (IPv6 in brackets).
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received, raw.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    pub fn connections(&self) -> u64 {
        *self.connections.lock().unwrap()
    }
}

/// The end of the head in `buf`, if it arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Length of the body announced by `head` (`Content-Length`), or the end of a chunked body in
/// `rest`; `None` while a chunked body is incomplete.
fn body_len(head: &str, rest: &[u8]) -> Option<usize> {
    let field = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    if field("transfer-encoding").is_some() {
        return rest
            .windows(5)
            .position(|w| w == b"0\r\n\r\n")
            .map(|i| i + 5);
    }
    Some(
        field("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    )
}

async fn serve(mut tcp: TcpStream, answer: Answer, seen: Arc<Mutex<Vec<Vec<u8>>>>) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let Some(end) = head_end(&buf) else {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        match &answer {
            Answer::EarlyAndClose(bytes) => {
                seen.lock().unwrap().push(buf[..end].to_vec());
                let _ = tcp.write_all(bytes).await;
                // Closing with unread bytes sends a reset.
                return;
            }
            Answer::Bytes(bytes) => {
                let Some(len) = body_len(&head, &buf[end..]) else {
                    match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    continue;
                };
                if buf.len() < end + len {
                    match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    continue;
                }
                seen.lock().unwrap().push(buf.drain(..end + len).collect());
                if tcp.write_all(bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Runs the probe's `expect` mode: `env` are `NAME=VALUE` pairs (BASE_URL, PATH, METHOD, SIZE,
/// HEADERS, HTTP_VERSION, STATUS, BODY, BATCH), `args` more flags.
pub fn expect(env: &[(&str, &str)], args: &[&str]) -> RunResult {
    let mut all: Vec<String> = vec!["-e".into(), "MODE=expect".into(), "-q".into()];
    for (k, v) in env {
        all.push("-e".into());
        all.push(format!("{k}={v}"));
    }
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    run(&guest("probe"), &all)
}

/// Lets a server see the last closes.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(100));
}
