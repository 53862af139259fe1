//! HTTP/2 on the `h2` crate: one connection per origin per VU, requests as concurrent streams.
//!
//! The connection is driven by a task of its own on the VU's thread; each request opens a
//! stream and is timed on it: `sending` ends when the last request frame was handed to the
//! connection (as Go's `WroteRequest`), `waiting` when the response head arrived, and
//! `receiving` at the end of the body. Bytes are counted on the socket (TLS included) and
//! attributed to the stream that completes: each takes what the connection moved since the
//! previous one ended, so connection-level frames (SETTINGS, WINDOW_UPDATE, PING) land on a
//! request and the requests' sum is the wire's.

mod errors;
mod sniff;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, TE, UPGRADE};
use http::uri::Authority;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::conn::{Outcome, Phases, Retry};
use super::errors::{self as codes, RequestError};
use super::framing;
use super::h1::Outgoing;
use super::io::{Probe, Stream};
use super::target::Origin;
pub(crate) use errors::{goaway_error, h2_error};
use sniff::{GoAway, Sniffed};

/// Largest header list a server may send (Go's default, as for HTTP/1.1 heads): 10 MiB.
pub(crate) const MAX_HEADER_LIST: u32 = 10 << 20;
/// Flow-control windows we grant, as Go's client: 4 MiB per stream, 1 GiB per connection.
const STREAM_WINDOW: u32 = 4 << 20;
const CONNECTION_WINDOW: u32 = 1 << 30;

/// An HTTP/2 connection; clones share it.
#[derive(Clone)]
pub(crate) struct H2Conn {
    origin: Origin,
    send: h2::client::SendRequest<Bytes>,
    state: Arc<State>,
}

struct State {
    probe: Arc<Probe>,
    /// Bytes of the connection already attributed to streams.
    counted: (AtomicU64, AtomicU64),
    goaway: Arc<GoAway>,
    closed: AtomicBool,
}

impl H2Conn {
    /// The peer and the TLS parameters.
    pub(crate) fn info(&self) -> super::conn::ConnInfo {
        self.state.probe.info()
    }

    /// Starts HTTP/2 on a fresh connection (after ALPN chose `h2`, or with prior knowledge)
    /// and spawns the task that drives it.
    pub(crate) async fn handshake(
        origin: Origin,
        io: Stream,
        probe: Arc<Probe>,
    ) -> Result<H2Conn, RequestError> {
        let goaway = Arc::new(GoAway::default());
        let io = Sniffed::new(io, goaway.clone());
        let (send, connection) = h2::client::Builder::new()
            .enable_push(false)
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_header_list_size(MAX_HEADER_LIST)
            .handshake::<_, Bytes>(io)
            .await
            .map_err(|e| h2_error(&e))?;
        let state = Arc::new(State {
            probe,
            counted: (AtomicU64::new(0), AtomicU64::new(0)),
            goaway,
            closed: AtomicBool::new(false),
        });
        let watch = state.clone();
        tokio::spawn(async move {
            let _ = connection.await;
            watch.closed.store(true, Ordering::Relaxed);
        });
        Ok(H2Conn {
            origin,
            send,
            state,
        })
    }

    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Whether new streams may still go on this connection.
    pub(crate) fn is_usable(&self) -> bool {
        !self.state.closed.load(Ordering::Relaxed) && self.state.goaway.last_stream().is_none()
    }

    /// Sends one request as a stream and reads the whole response. `queued` in the phases is
    /// the time spent waiting for the server to allow another stream.
    pub(crate) async fn exchange(
        &self,
        req: &Outgoing<'_>,
        deadline: tokio::time::Instant,
        discard: bool,
        body_limit: u64,
    ) -> Outcome {
        let start = Instant::now();
        let mut marks = Marks::default();
        let result = tokio::time::timeout_at(
            deadline,
            self.roundtrip(req, discard, body_limit, &mut marks),
        )
        .await;
        let end = Instant::now();
        let phases = self.phases(start, end, &marks);
        match result {
            Err(_) => Outcome::Failed {
                error: RequestError::new(codes::REQUEST_TIMEOUT, "request timeout"),
                phases,
                retry: Retry::No,
            },
            Ok(Err(mut fail)) => {
                // The connection ended after a GOAWAY: that is the story, as Go tells it.
                if fail.io {
                    if let Some(code) = self.state.goaway.code() {
                        fail.error = goaway_error(code);
                    }
                }
                Outcome::Failed {
                    retry: self.retry_of(&fail, &marks),
                    error: fail.error,
                    phases,
                }
            }
            Ok(Ok((status, headers, body))) => Outcome::Done {
                status,
                proto: "HTTP/2.0",
                headers: headers.into(),
                body,
                phases,
                keep: true,
            },
        }
    }

    async fn roundtrip(
        &self,
        req: &Outgoing<'_>,
        discard: bool,
        body_limit: u64,
        marks: &mut Marks,
    ) -> Result<(u16, HeaderMap, Bytes), Fail> {
        let mut send = self
            .send
            .clone()
            .ready()
            .await
            .map_err(|e| Fail::unsent(&e))?;
        marks.ready = Some(Instant::now());
        let request = self.request(req)?;
        let eos = req.body.is_empty();
        let (response, stream) = send
            .send_request(request, eos)
            .map_err(|e| Fail::unsent(&e))?;
        marks.stream = Some(response.stream_id().as_u32());
        let mut first_byte = None;
        if eos {
            marks.sent = Some(Instant::now());
            let result = read_response(response, discard, body_limit, &mut first_byte).await;
            marks.first_byte = first_byte;
            return result;
        }
        // The body goes out as flow control allows while the response is read: the server
        // may answer first (a 413 to an upload), or stream its answer as it reads.
        let mut sent = None;
        let result = {
            let reading = read_response(response, discard, body_limit, &mut first_byte);
            let sending = send_body(stream, req.body.clone());
            tokio::pin!(reading, sending);
            loop {
                tokio::select! {
                    r = &mut reading => break r,
                    s = &mut sending, if sent.is_none() => {
                        // A failure to send is the server's reset after its answer, or shows
                        // in the response's own result.
                        sent = Some(s.unwrap_or_else(|_| Instant::now()));
                    }
                }
            }
        };
        marks.first_byte = first_byte;
        marks.sent = sent.or(first_byte).or_else(|| Some(Instant::now()));
        result
    }

    /// The request's head: `:authority` from the script's `Host` (as Go's `req.Host`) or the
    /// URL; connection-specific fields, which HTTP/2 forbids, left out.
    fn request(&self, req: &Outgoing<'_>) -> Result<http::Request<()>, Fail> {
        let uri = match &req.framing.host {
            None => req.target.uri.clone(),
            Some(host) => {
                let authority = Authority::from_maybe_shared(Bytes::copy_from_slice(
                    host.as_bytes(),
                ))
                .map_err(|_| {
                    Fail::refused(format!(
                        "invalid request: `{}` is not a valid :authority",
                        String::from_utf8_lossy(host.as_bytes())
                    ))
                })?;
                let mut parts = req.target.uri.clone().into_parts();
                parts.authority = Some(authority);
                Uri::from_parts(parts)
                    .map_err(|e| Fail::refused(format!("invalid request: {e}")))?
            }
        };
        let mut headers = HeaderMap::with_capacity(req.headers.len() + 1);
        for (name, value) in req.headers {
            if !framing::is_framing(name) && !connection_specific(name, value) {
                headers.append(name.clone(), value.clone());
            }
        }
        if let Some(auth) = &req.target.basic_auth {
            if !req.framing.has_authorization {
                headers.insert(http::header::AUTHORIZATION, auth.clone());
            }
        }
        // The length when there is a body, as Go sends it: a server can refuse an upload
        // before it arrives (nginx's client_max_body_size answers 413 at once).
        let body = req.body.len();
        if body > 0 || matches!(*req.method, Method::POST | Method::PUT | Method::PATCH) {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(body));
        }
        let mut request = http::Request::new(());
        *request.method_mut() = req.method.clone();
        *request.uri_mut() = uri;
        *request.version_mut() = http::Version::HTTP_2;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// Whether a failed stream may be sent again.
    fn retry_of(&self, fail: &Fail, marks: &Marks) -> Retry {
        if marks.first_byte.is_some() {
            return Retry::No;
        }
        if fail.unsent {
            // The connection could not take the stream at all: nothing reached the server.
            return Retry::Refused;
        }
        let last = self.state.goaway.last_stream();
        match (fail.refused, marks.stream, last) {
            (true, _, _) => Retry::Refused,
            // Above the GOAWAY's last stream id: the server says it never processed it.
            (false, Some(id), Some(last)) if fail.goaway && id > last => Retry::Refused,
            _ if fail.connection => Retry::Unanswered { written: true },
            _ => Retry::No,
        }
    }

    fn phases(&self, start: Instant, end: Instant, marks: &Marks) -> Phases {
        let (sent, recv) = self.state.probe.bytes();
        let sent0 = self.state.counted.0.swap(sent, Ordering::Relaxed);
        let recv0 = self.state.counted.1.swap(recv, Ordering::Relaxed);
        let ready = marks.ready.unwrap_or(end);
        let (sending, waiting, receiving) = match (marks.sent, marks.first_byte) {
            (Some(s), Some(f)) if f < s => (s - ready, Duration::ZERO, end - s.min(end)),
            (Some(s), Some(f)) => (s - ready, f - s, end - f),
            (Some(s), None) => (s - ready, end - s, Duration::ZERO),
            (None, _) => (end - ready, Duration::ZERO, Duration::ZERO),
        };
        Phases {
            queued: ready - start,
            sending,
            waiting,
            receiving,
            bytes: (sent.saturating_sub(sent0), recv.saturating_sub(recv0)),
        }
    }
}

/// When a stream reached each point.
#[derive(Default)]
struct Marks {
    /// The connection allowed another stream.
    ready: Option<Instant>,
    /// The stream's id.
    stream: Option<u32>,
    /// The last request frame was handed to the connection.
    sent: Option<Instant>,
    /// The response head arrived.
    first_byte: Option<Instant>,
}

/// Reads the response: its head, then its body (and trailers, which end the stream).
async fn read_response(
    response: h2::client::ResponseFuture,
    discard: bool,
    body_limit: u64,
    first_byte: &mut Option<Instant>,
) -> Result<(u16, HeaderMap, Bytes), Fail> {
    let response = response.await.map_err(|e| Fail::stream(&e))?;
    *first_byte = Some(Instant::now());
    let (parts, mut recv) = response.into_parts();
    // The same count as an HTTP/1.1 head's (h2 bounds the bytes, not the fields).
    let max_fields = super::h1::decode::Limits::default().max_fields;
    if parts.headers.len() > max_fields {
        return Err(Fail::refused(format!(
            "malformed HTTP response: more than {max_fields} header fields"
        )));
    }
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_limit) {
        return Err(Fail::too_large(body_limit));
    }
    let mut body = BytesMut::new();
    let mut total: u64 = 0;
    while let Some(piece) = recv.data().await {
        let piece = piece.map_err(|e| Fail::stream(&e))?;
        let _ = recv.flow_control().release_capacity(piece.len());
        total += piece.len() as u64;
        if total > body_limit {
            return Err(Fail::too_large(body_limit));
        }
        if !discard {
            body.extend_from_slice(&piece);
        }
    }
    // Trailers end the stream; stampede does not hand them to scripts.
    let trailers = recv.trailers().await.map_err(|e| Fail::stream(&e))?;
    if trailers.is_some_and(|t| t.len() > max_fields) {
        return Err(Fail::refused(format!(
            "malformed HTTP response: more than {max_fields} trailer fields"
        )));
    }
    Ok((parts.status.as_u16(), parts.headers, body.freeze()))
}

/// Sends `body` as the server's flow-control windows allow; when its last frame was handed to
/// the connection.
async fn send_body(
    mut stream: h2::SendStream<Bytes>,
    mut body: Bytes,
) -> Result<Instant, h2::Error> {
    while !body.is_empty() {
        stream.reserve_capacity(body.len());
        let granted = std::future::poll_fn(|cx| stream.poll_capacity(cx))
            .await
            .ok_or_else(|| h2::Error::from(h2::Reason::CANCEL))??;
        if granted == 0 {
            continue;
        }
        let piece = body.split_to(granted.min(body.len()));
        stream.send_data(piece, body.is_empty())?;
    }
    Ok(Instant::now())
}

/// Fields HTTP/2 forbids (RFC 9113 §8.2.2): `Connection` and those it names, `Keep-Alive`,
/// `Proxy-Connection`, `Upgrade`, and `TE` other than `trailers`.
fn connection_specific(name: &HeaderName, value: &HeaderValue) -> bool {
    name == CONNECTION
        || name == UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
        || (name == TE && !value.as_bytes().eq_ignore_ascii_case(b"trailers"))
}

/// A failed stream.
struct Fail {
    error: RequestError,
    /// The stream was never opened: the connection refused it.
    unsent: bool,
    /// The server refused the stream (`REFUSED_STREAM`).
    refused: bool,
    /// The failure came with a GOAWAY from the server.
    goaway: bool,
    /// The connection itself failed (I/O, closed).
    connection: bool,
    /// An I/O failure (the connection closed or broke).
    io: bool,
}

impl Fail {
    fn of(e: &h2::Error) -> Self {
        Self {
            error: h2_error(e),
            unsent: false,
            refused: e.is_remote()
                && e.is_reset()
                && e.reason() == Some(h2::Reason::REFUSED_STREAM),
            goaway: e.is_remote() && e.is_go_away(),
            connection: e.is_io() || (e.is_remote() && e.is_go_away()),
            io: e.is_io(),
        }
    }

    fn unsent(e: &h2::Error) -> Self {
        Self {
            unsent: true,
            ..Self::of(e)
        }
    }

    fn stream(e: &h2::Error) -> Self {
        Self::of(e)
    }

    fn refused(message: String) -> Self {
        Self {
            error: RequestError::new(codes::GENERIC, message),
            unsent: false,
            refused: false,
            goaway: false,
            connection: false,
            io: false,
        }
    }

    fn too_large(limit: u64) -> Self {
        Self::refused(format!(
            "response body is larger than the limit of {limit} bytes (responseBodyLimit)"
        ))
    }
}
