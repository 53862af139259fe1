//! Hostile HTTP/2 peers, written frame by frame (h2c with prior knowledge): giant SETTINGS,
//! endless CONTINUATION, header bombs, RST storms, GOAWAY before and during a stream, slow
//! drips. Each must end as a failed request with k6's code (or a retried success) within its
//! timeout, never a hang.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::runtime;
use crate::wire::expect;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
/// HPACK: `:status: 200` from the static table.
const STATUS_200: u8 = 0x88;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK integer with an `n`-bit prefix, its first byte or'ed with `high`.
fn hpack_int(value: usize, n: u32, high: u8) -> Vec<u8> {
    let max = (1usize << n) - 1;
    if value < max {
        return vec![high | value as u8];
    }
    let mut out = vec![high | max as u8];
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
    out
}

/// What the peer does once a request's HEADERS arrive on `stream` (its nth connection).
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// A SETTINGS frame far over the frame size.
    GiantSettings,
    /// HEADERS without END_HEADERS, then CONTINUATION frames without end.
    EndlessContinuation,
    /// A 3 KB field in the dynamic table, then referenced 4,000 times (12 MB decoded).
    HeaderBomb,
    /// Every stream reset with this code.
    Reset(u32),
    /// First connection: GOAWAY with last stream 0 (nothing processed); then answers.
    GoAwayFirst,
    /// The head, then GOAWAY (PROTOCOL_ERROR) covering the stream, and the connection closed.
    GoAwayMidStream,
    /// The head, then the body one byte every 50 ms.
    Drip,
    /// A head of this many fields (besides `:status`), in HEADERS and CONTINUATION frames.
    Fields(usize),
}

struct Peer {
    port: u16,
    connections: Arc<AtomicU64>,
    streams: Arc<AtomicU64>,
}

fn start(rt: &tokio::runtime::Runtime, fault: Fault) -> Peer {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicU64::new(0));
    let streams = Arc::new(AtomicU64::new(0));
    let (c, s) = (connections.clone(), streams.clone());
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let nth = c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(tcp, fault, nth, s.clone()));
        }
    });
    Peer {
        port,
        connections,
        streams,
    }
}

/// Reads frames until a HEADERS frame arrives; its stream id.
async fn next_request(tcp: &mut TcpStream) -> Option<u32> {
    loop {
        let mut head = [0u8; 9];
        tcp.read_exact(&mut head).await.ok()?;
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let mut payload = vec![0u8; len];
        tcp.read_exact(&mut payload).await.ok()?;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        if head[3] == SETTINGS && head[4] & 1 == 0 {
            tcp.write_all(&frame(SETTINGS, 1, 0, &[])).await.ok()?;
        }
        if head[3] == HEADERS {
            return Some(stream);
        }
    }
}

async fn serve(mut tcp: TcpStream, fault: Fault, nth: u64, streams: Arc<AtomicU64>) {
    let mut preface = [0u8; 24];
    if tcp.read_exact(&mut preface).await.is_err() {
        return;
    }
    let _ = tcp.write_all(&frame(SETTINGS, 0, 0, &[])).await;
    while let Some(id) = next_request(&mut tcp).await {
        streams.fetch_add(1, Ordering::SeqCst);
        let ok = [
            frame(HEADERS, END_HEADERS, id, &[STATUS_200]),
            frame(DATA, END_STREAM, id, b"ok"),
        ]
        .concat();
        let bytes = match fault {
            Fault::GiantSettings => frame(SETTINGS, 0, 0, &vec![0u8; 6 * 100_000]),
            Fault::EndlessContinuation => {
                let _ = tcp.write_all(&frame(HEADERS, 0, id, &[STATUS_200])).await;
                let junk = frame(
                    CONTINUATION,
                    0,
                    id,
                    &[0x40, 0x01, b'x', 0x01, b'y'].repeat(3000),
                );
                for _ in 0..5000 {
                    if tcp.write_all(&junk).await.is_err() {
                        return;
                    }
                }
                return;
            }
            Fault::HeaderBomb => {
                let mut block = vec![STATUS_200, 0x40];
                block.extend(hpack_int(5, 7, 0));
                block.extend_from_slice(b"x-big");
                block.extend(hpack_int(3000, 7, 0));
                block.resize(block.len() + 3000, b'b');
                // Index 62: the field just added; 4,000 references of one byte each.
                block.extend(std::iter::repeat_n(0xbe, 4000));
                [frame(HEADERS, END_HEADERS | END_STREAM, id, &block)].concat()
            }
            Fault::Reset(code) => frame(RST_STREAM, 0, id, &code.to_be_bytes()),
            Fault::GoAwayFirst if nth == 0 => {
                let mut p = 0u32.to_be_bytes().to_vec();
                p.extend_from_slice(&0u32.to_be_bytes());
                let _ = tcp.write_all(&frame(GOAWAY, 0, 0, &p)).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
                return;
            }
            Fault::GoAwayFirst => ok,
            Fault::GoAwayMidStream => {
                let mut p = id.to_be_bytes().to_vec();
                p.extend_from_slice(&1u32.to_be_bytes());
                let out = [
                    frame(HEADERS, END_HEADERS, id, &[STATUS_200]),
                    frame(DATA, 0, id, b"par"),
                    frame(GOAWAY, 0, 0, &p),
                ]
                .concat();
                let _ = tcp.write_all(&out).await;
                // Closed as servers do after a GOAWAY: our side first, then what the client
                // still sends is read until it closes. Dropping the socket with unread bytes
                // would send a RST, which may discard the GOAWAY before the client reads it.
                let _ = tcp.shutdown().await;
                let mut sink = [0u8; 1024];
                let drain = async { while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {} };
                let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
                return;
            }
            Fault::Fields(n) => {
                let mut block = vec![STATUS_200];
                for i in 0..n {
                    // A literal field with a new name, not indexed: `x-<i>: v`.
                    let name = format!("x-{i}");
                    block.push(0x00);
                    block.extend(hpack_int(name.len(), 7, 0));
                    block.extend_from_slice(name.as_bytes());
                    block.extend(hpack_int(1, 7, 0));
                    block.push(b'v');
                }
                let pieces: Vec<&[u8]> = block.chunks(16 << 10).collect();
                let mut out = Vec::new();
                for (i, piece) in pieces.iter().enumerate() {
                    let kind = if i == 0 { HEADERS } else { CONTINUATION };
                    let end = if i + 1 == pieces.len() {
                        END_HEADERS
                    } else {
                        0
                    };
                    out.extend(frame(kind, end, id, piece));
                }
                out.extend(frame(DATA, END_STREAM, id, b"ok"));
                out
            }
            Fault::Drip => {
                let _ = tcp
                    .write_all(&frame(HEADERS, END_HEADERS, id, &[STATUS_200]))
                    .await;
                for _ in 0..200 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if tcp.write_all(&frame(DATA, 0, id, b"d")).await.is_err() {
                        return;
                    }
                }
                return;
            }
        };
        if tcp.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// Runs 2 iterations of the probe with h2c against `fault`; `threshold` must hold.
fn run_fault(fault: Fault, threshold: &str, timeout: &str) -> (crate::support::RunResult, Peer) {
    let rt = runtime();
    let peer = start(&rt, fault);
    let base = format!("http://127.0.0.1:{}", peer.port);
    let r = expect(
        &[("BASE_URL", &base), ("BODY", "ok")],
        &[
            "-i",
            "2",
            "--http-version",
            "2",
            "--http-timeout",
            timeout,
            "--threshold",
            threshold,
        ],
    );
    eprintln!(
        "[http2_hostile] {fault:?}: exit {}, {} connections, {} streams, run {:?}",
        r.code,
        peer.connections.load(Ordering::SeqCst),
        peer.streams.load(Ordering::SeqCst),
        r.elapsed
    );
    (r, peer)
}

#[test]
fn a_giant_settings_frame_is_a_connection_error() {
    // FRAME_SIZE_ERROR (6): 1651 + 6.
    let (r, _) = run_fault(
        Fault::GiantSettings,
        "http_reqs{error_code:1657}: count==2",
        "5s",
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.elapsed < Duration::from_secs(8), "{:?}", r.elapsed);
}

#[test]
fn endless_continuation_frames_are_cut_off() {
    let (r, _) = run_fault(
        Fault::EndlessContinuation,
        "http_req_failed: rate==1",
        "10s",
    );
    assert_eq!(r.code, 0, "{}", r.output());
    let code = r.metric("http_req_duration", "max");
    assert!(code < 9000.0, "cut off before the timeout: {code} ms");
    assert!(r.stderr.contains("http2: connection error"), "{}", r.stderr);
}

#[test]
fn a_header_bomb_over_the_list_limit_fails_the_request() {
    let (r, _) = run_fault(Fault::HeaderBomb, "http_req_failed: rate==1", "5s");
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.metric("http_req_duration", "max") < 4000.0);
    assert!(r.stderr.contains("http2"), "{}", r.stderr);
}

#[test]
fn a_reset_stream_fails_with_k6s_stream_error_code() {
    // INTERNAL_ERROR (2): 1631 + 2, at once and without a retry.
    let (r, peer) = run_fault(
        Fault::Reset(2),
        "http_reqs{error_code:1633}: count==2",
        "5s",
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(peer.streams.load(Ordering::SeqCst), 2);
    assert!(
        r.stderr
            .contains("http2: stream error with http2 ErrCode INTERNAL_ERROR"),
        "{}",
        r.stderr
    );
}

#[test]
fn refused_streams_are_retried_until_the_timeout_as_go_does() {
    // REFUSED_STREAM (7) says the stream was not processed: sent again (Go backs off 1 s,
    // 2 s…), so a server that refuses everything ends in a timeout.
    let (r, peer) = run_fault(
        Fault::Reset(7),
        "http_reqs{error_code:1050}: count==2",
        "1500ms",
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(peer.streams.load(Ordering::SeqCst) >= 6, "retried");
}

#[test]
fn a_stream_refused_by_goaway_is_sent_again_on_a_new_connection() {
    let (r, peer) = run_fault(Fault::GoAwayFirst, "http_req_failed: rate==0", "5s");
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 4.0);
    assert_eq!(peer.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn a_goaway_in_the_middle_of_a_stream_fails_it_with_the_goaway_code() {
    // The stream is covered by the GOAWAY (it was processed): not retried. PROTOCOL_ERROR
    // (1): 1611 + 1.
    let (r, peer) = run_fault(
        Fault::GoAwayMidStream,
        "http_reqs{error_code:1612}: count==2",
        "5s",
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(peer.streams.load(Ordering::SeqCst), 2, "not sent again");
}

#[test]
fn a_dripped_body_times_out_with_1050() {
    let (r, _) = run_fault(Fault::Drip, "http_reqs{error_code:1050}: count==2", "400ms");
    assert_eq!(r.code, 0, "{}", r.output());
    let max = r.metric("http_req_duration", "max");
    assert!((300.0..1500.0).contains(&max), "{max} ms");
}

#[test]
fn a_head_of_more_than_10000_fields_fails_as_over_http_1_1() {
    let (r, _) = run_fault(Fault::Fields(10_000), "http_req_failed: rate==0", "5s");
    assert_eq!(r.code, 0, "{}", r.output());
    let (r, _) = run_fault(Fault::Fields(10_001), "http_req_failed: rate==1", "5s");
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(
        r.stderr.contains("more than 10000 header fields"),
        "{}",
        r.stderr
    );
}
