#![no_main]
//! Differential: the same response bytes read by stampede's decoder and by hyper's HTTP/1
//! client (over an in-memory pipe). Where both accept the response, status, headers, body,
//! trailers and the keep-alive decision must agree; where one refuses what the other accepts,
//! the difference must be one stampede makes on purpose (see `intended`).

#[path = "../common/h1.rs"]
mod h1;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What hyper read.
#[derive(Debug)]
struct Hyper {
    status: u16,
    http10: bool,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    trailers: Vec<(String, Vec<u8>)>,
    keep_alive: bool,
}

fn fields(h: &http::HeaderMap) -> Vec<(String, Vec<u8>)> {
    h.iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

/// Reads `raw` with hyper's client, closing the pipe after it when `close`.
fn hyper_read(raw: &[u8], head_request: bool, close: bool) -> Result<Hyper, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, mut server) = tokio::io::duplex(raw.len() + 64 * 1024);
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(client))
                .await
                .map_err(|e| e.to_string())?;
        let conn = tokio::spawn(conn);
        let method = if head_request { "HEAD" } else { "GET" };
        let req = http::Request::builder()
            .method(method)
            .uri("/")
            .header("host", "x")
            .body(Empty::new())
            .unwrap();
        let response = sender.send_request(req);
        let serve = async {
            let mut sink = [0u8; 1024];
            let _ = server.read(&mut sink).await;
            let _ = server.write_all(raw).await;
            if close {
                let _ = server.shutdown().await;
            }
            server
        };
        let limit = Duration::from_secs(5);
        let (response, _server) = tokio::join!(tokio::time::timeout(limit, response), serve);
        let response = response
            .map_err(|_| "timeout".to_string())?
            .map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        let http10 = response.version() == http::Version::HTTP_10;
        let headers = fields(response.headers());
        let mut body = Vec::new();
        let mut trailers = Vec::new();
        let mut stream = response.into_body();
        loop {
            match tokio::time::timeout(limit, stream.frame()).await {
                Err(_) => return Err("body timeout".into()),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(format!("{e:?}")),
                Ok(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => body.extend_from_slice(&data),
                    Err(frame) => {
                        if let Ok(t) = frame.into_trailers() {
                            trailers = fields(&t);
                        }
                    }
                },
            }
        }
        // hyper keeps a connection it may reuse: the sender becomes ready again.
        let keep_alive = matches!(
            tokio::time::timeout(Duration::from_millis(100), sender.ready()).await,
            Ok(Ok(()))
        ) && !conn.is_finished();
        Ok(Hyper {
            status,
            http10,
            headers,
            body,
            trailers,
            keep_alive,
        })
    })
}

/// Whether the head of `raw` folds a field value over lines (obs-fold): stampede unfolds it,
/// as RFC 9112 §5.2 asks of user agents; hyper refuses it by default.
fn has_obs_fold(raw: &[u8]) -> bool {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    raw[..head_end]
        .windows(2)
        .any(|w| w[0] == b'\n' && (w[1] == b' ' || w[1] == b'\t'))
}

/// Whether the head of `raw` has a field `name` (lower case), as received: stampede leaves
/// some framing fields out of the decoded fields, as Go's client does.
fn has_field(raw: &[u8], name: &str) -> bool {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    raw[..head_end].split(|b| *b == b'\n').any(|line| {
        line.len() > name.len()
            && line[name.len()] == b':'
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
    })
}

/// The fields compared: all but the framing fields, which stampede leaves out of a response's
/// fields as Go's client does (`Transfer-Encoding`, a `Content-Length` chunks override,
/// `Connection: close`, repeated `Content-Length`; README) and hyper keeps.
fn compared(fields: &[(String, Vec<u8>)]) -> Vec<&(String, Vec<u8>)> {
    fields
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "transfer-encoding" | "content-length" | "connection"
            )
        })
        .collect()
}

/// Differences stampede makes on purpose, documented in the README: `None` when `ours` and
/// `theirs` may differ on this input.
fn intended(
    raw: &[u8],
    ours: &Result<h1::Decoded, String>,
    theirs: &Result<Hyper, String>,
) -> bool {
    if has_obs_fold(raw) {
        return true;
    }
    match (ours, theirs) {
        // Go's rule: a Transfer-Encoding other than exactly `chunked` is refused (hyper reads
        // such a body until the close).
        (Err(e), Ok(_)) => {
            e.contains("unsupported Transfer-Encoding")
                // Go's 4 KiB limit on a chunk-size line.
                || e.contains("chunk-size line is longer")
        }
        // stampede allows 10,000 fields and 10 MiB of head (Go's size), hyper 100 fields and
        // about 400 KiB; stampede accepts bare LF line ends in chunked bodies, as Go does.
        (Ok(d), Err(_)) => {
            d.headers.len() > 100
                || d.status == 101
                || d.body.len() + raw.len() > 400 * 1024
                || raw.windows(2).any(|w| w[0] != b'\r' && w[1] == b'\n')
                // hyper checks Content-Length on answers that have no body; stampede, as Go,
                // ignores it there.
                || (d.body.is_empty() && has_field(raw, "content-length"))
        }
        _ => false,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flags, raw)) = data.split_first() else {
        return;
    };
    let head_request = flags & 1 == 1;
    let limits = h1::limits(false);
    // Without the close first: a response complete without it must not need it.
    let open = h1::decode(&[raw], head_request, limits);
    let close = !matches!(&open, Ok(d) if !d.needed_close);
    let ours = if close {
        h1::decode(&[raw], head_request, limits)
    } else {
        open
    };
    let theirs = hyper_read(raw, head_request, close);
    if intended(raw, &ours, &theirs) {
        return;
    }
    match (&ours, &theirs) {
        (Ok(d), Ok(h)) => {
            if d.status == 101 {
                return; // hyper hands the connection over to an upgrade
            }
            assert_eq!(d.status, h.status, "status");
            assert_eq!(d.http10, h.http10, "version");
            assert_eq!(compared(&d.headers), compared(&h.headers), "headers");
            assert_eq!(d.body, h.body, "body");
            assert_eq!(d.trailers, h.trailers, "trailers");
            let te = has_field(raw, "transfer-encoding");
            let cl = has_field(raw, "content-length");
            // Both lengths: stampede does not reuse the connection (RFC 9112 §6.3 says it
            // ought to be an error). HTTP/1.0 with chunks: faulty framing, never reused.
            // Bytes after the response: hyper reads them as the next response and gives the
            // connection up; stampede's pool retires a connection with unread bytes before
            // reuse (`H1Conn::is_usable`), so neither sends on it again.
            if !(te && cl) && !(d.http10 && te) && d.rest.is_empty() {
                assert_eq!(d.keep_alive, h.keep_alive, "keep-alive");
            }
        }
        (Err(_), Err(_)) => {}
        _ => panic!("stampede {ours:?}\nhyper {theirs:?}"),
    }
});
