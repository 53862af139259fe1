//! One HTTP/1.1 connection, spoken on the VU's own task.
//!
//! The exchange is written and read right here: the request goes out in one write, the
//! response head is parsed with `httparse` straight from the connection's read buffer, and the
//! body is framed by hand (length, chunked, or until close). A general-purpose client adds a
//! dispatch task, channels and a body stream per request — a quarter of the CPU stampede spent
//! per request on loopback — none of which a load generator that waits for each response needs.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use smallvec::SmallVec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::errors::{self, RequestError};
use super::io::{Probe, ProbedTcp, Stream};
use super::Timings;

/// Where a connection goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    https: bool,
    host: Arc<str>,
    port: u16,
}

impl Origin {
    /// The origin of an absolute `http://` or `https://` URI.
    pub fn of_uri(uri: &Uri) -> Result<Self, RequestError> {
        let invalid = |why: &str| {
            RequestError::new(errors::INVALID_URL, format!("invalid URL `{uri}`: {why}"))
        };
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(invalid(&format!(
                    "unsupported scheme `{other}` (use http or https)"
                )))
            }
            None => return Err(invalid("not absolute (it needs http:// or https://)")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no host"))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            https,
            host: host.into(),
            port,
        })
    }

    /// Host name or address (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn host_header(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Idle connections, most recently used last.
#[derive(Default)]
pub(crate) struct Pool {
    conns: Vec<Conn>,
    /// The last URL requested, parsed: a VU usually asks for the same few URLs again and again.
    last_url: Option<(Box<str>, Origin, Arc<str>)>,
}

/// A VU's idle connections, shared by its host calls and its `wasi:http` requests. Only the
/// VU's own tasks use it, so the lock is never contended.
#[derive(Clone, Default)]
pub(crate) struct PoolHandle(std::sync::Arc<std::sync::Mutex<Pool>>);

impl PoolHandle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn take(&self, origin: &Origin) -> Option<Conn> {
        self.lock().take(origin)
    }

    /// The origin of `url` and the request target (path and query) to send to it.
    pub(crate) fn parse_url(&self, url: &str) -> Result<(Origin, Arc<str>), RequestError> {
        let mut pool = self.lock();
        if let Some((last, origin, target)) = &pool.last_url {
            if **last == *url {
                return Ok((origin.clone(), target.clone()));
            }
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| RequestError::new(errors::INVALID_URL, format!("invalid URL `{url}`")))?;
        let origin = Origin::of_uri(&uri)?;
        let target: Arc<str> = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .unwrap_or("/")
            .into();
        pool.last_url = Some((url.into(), origin.clone(), target.clone()));
        Ok((origin, target))
    }

    pub(crate) fn put(&self, conn: Conn) {
        self.lock().put(conn);
    }

    pub(crate) fn clear(&self) {
        self.lock().conns.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().conns.len()
    }
}

/// Idle connections kept per VU; beyond this the oldest is closed.
const MAX_IDLE: usize = 32;

impl Pool {
    pub(crate) fn take(&mut self, origin: &Origin) -> Option<Conn> {
        while let Some(i) = self.conns.iter().rposition(|c| &c.origin == origin) {
            let mut conn = self.conns.swap_remove(i);
            if conn.is_usable() {
                return Some(conn);
            }
        }
        None
    }

    pub(crate) fn put(&mut self, conn: Conn) {
        if self.conns.len() >= MAX_IDLE {
            self.conns.remove(0);
        }
        self.conns.push(conn);
    }
}

/// Most header lines a response may have.
const MAX_HEADERS: usize = 128;
/// Largest response head (status line and headers).
const MAX_HEAD: usize = 256 << 10;
/// Longest chunk-size line of a chunked body (with extensions) or trailer line.
const MAX_CHUNK_LINE: usize = 4 << 10;
/// The read buffer of a connection starts at this and grows by it.
const READ_CHUNK: usize = 8 << 10;
/// Request bodies up to this size are copied behind the head and written with it.
const INLINE_BODY: usize = 64 << 10;

/// An open connection.
pub(crate) struct Conn {
    origin: Origin,
    io: Stream,
    probe: Arc<Probe>,
    /// Bytes already attributed to earlier exchanges (a new connection's TLS handshake is
    /// attributed to its first exchange, as k6 does).
    counted: (u64, u64),
    /// The `Host` header for this origin.
    host: Option<HeaderValue>,
    /// Bytes read and not yet consumed.
    rbuf: BytesMut,
    /// The request being written.
    wbuf: Vec<u8>,
}

/// Where the time of an exchange went, and how many bytes it moved.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Phases {
    pub(crate) sending: Duration,
    pub(crate) waiting: Duration,
    pub(crate) receiving: Duration,
    pub(crate) bytes: (u64, u64),
}

pub(crate) enum Outcome {
    Done {
        status: u16,
        proto: &'static str,
        headers: HeaderMap,
        body: Bytes,
        phases: Phases,
        /// The connection can be reused.
        keep: bool,
    },
    Failed {
        error: RequestError,
        phases: Phases,
        /// Nothing at all came back (the server closed an idle connection under us).
        unanswered: bool,
        /// Some of the request reached the connection.
        written: bool,
    },
}

/// A failed exchange, before its phases are known.
struct Fail {
    error: RequestError,
    /// No byte of a response arrived.
    unanswered: bool,
}

impl Fail {
    fn read(err: &io::Error, unanswered: bool) -> Self {
        Self {
            error: errors::io_error("read", err),
            unanswered,
        }
    }

    fn malformed(why: impl std::fmt::Display) -> Self {
        Self {
            error: RequestError::new(
                errors::INVALID_RESPONSE,
                format!("malformed HTTP response: {why}"),
            ),
            unanswered: false,
        }
    }

    fn cut_short(unanswered: bool) -> Self {
        Self {
            error: RequestError::new(
                errors::GENERIC,
                "read: connection closed before the response was complete (unexpected EOF)",
            ),
            unanswered,
        }
    }
}

/// A response head.
struct Head {
    status: u16,
    http10: bool,
    headers: HeaderMap,
}

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A complete response.
struct Answer {
    head: Head,
    body: Bytes,
    keep: bool,
}

/// Connects to `addr`, from the local address `local` when there is one (k6's `localIPs`).
async fn dial(addr: SocketAddr, local: Option<std::net::IpAddr>) -> std::io::Result<TcpStream> {
    let Some(local) = local else {
        return TcpStream::connect(addr).await;
    };
    let socket = if local.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(local, 0))?;
    socket.connect(addr).await
}

impl Conn {
    /// Connects to the first address that answers, then does the TLS handshake for `https`.
    pub(crate) async fn connect(
        origin: &Origin,
        addrs: &[SocketAddr],
        local: Option<std::net::IpAddr>,
        tls: &tokio_rustls::TlsConnector,
        base: Instant,
        timings: &mut Timings,
    ) -> Result<Conn, RequestError> {
        let connect_start = Instant::now();
        let mut last_err = None;
        let mut tcp = None;
        for addr in addrs {
            match dial(*addr, local).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last_err = Some(e),
            }
        }
        let tcp = match tcp {
            Some(tcp) => tcp,
            None => {
                let err = last_err.expect("at least one address was tried");
                return Err(errors::dial_error(&err));
            }
        };
        let _ = tcp.set_nodelay(true);
        let connected = Instant::now();
        timings.connecting = connected - connect_start;
        let probe = Probe::new(base);
        let tcp = ProbedTcp::new(tcp, probe.clone());
        let io = if origin.https {
            let host = origin.host.trim_start_matches('[').trim_end_matches(']');
            let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|_| {
                RequestError::new(
                    errors::INVALID_URL,
                    format!("invalid TLS server name `{host}`"),
                )
            })?;
            let tls = tls
                .connect(name, tcp)
                .await
                .map_err(|e| errors::tls_error(&e))?;
            timings.tls_handshaking = connected.elapsed();
            Stream::Tls(Box::new(tls))
        } else {
            Stream::Plain(tcp)
        };
        Ok(Conn {
            origin: origin.clone(),
            io,
            probe,
            counted: (0, 0),
            host: HeaderValue::from_str(&origin.host_header()).ok(),
            rbuf: BytesMut::new(),
            wbuf: Vec::new(),
        })
    }

    /// Whether an idle connection is still open and quiet: a close by the server, a reset, or
    /// bytes nobody asked for (a second response to one request, say) retire it.
    fn is_usable(&mut self) -> bool {
        if !self.rbuf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut buf),
            Poll::Pending
        )
    }

    /// Sends one request and reads the whole response.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn exchange(
        &mut self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: Bytes,
        deadline: tokio::time::Instant,
        discard: bool,
        body_limit: u64,
    ) -> Outcome {
        self.probe.reset_marks();
        let ready_at = Instant::now();
        let close_asked = has_token(headers, &CONNECTION, "close");
        let result = tokio::time::timeout_at(
            deadline,
            self.roundtrip(method, target, headers, body, discard, body_limit),
        )
        .await;
        let end = Instant::now();
        let phases = self.phases(ready_at, end);
        match result {
            Err(_) => Outcome::Failed {
                error: RequestError::new(errors::REQUEST_TIMEOUT, "request timeout"),
                phases,
                unanswered: false,
                written: true,
            },
            Ok(Err(fail)) => Outcome::Failed {
                error: fail.error,
                phases,
                unanswered: fail.unanswered && self.probe.first_read().is_none(),
                written: self.probe.last_write().is_some(),
            },
            Ok(Ok(answer)) => Outcome::Done {
                status: answer.head.status,
                proto: if answer.head.http10 {
                    "HTTP/1.0"
                } else {
                    "HTTP/1.1"
                },
                headers: answer.head.headers,
                body: answer.body,
                phases,
                keep: answer.keep && !close_asked,
            },
        }
    }

    async fn roundtrip(
        &mut self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: Bytes,
        discard: bool,
        body_limit: u64,
    ) -> Result<Answer, Fail> {
        self.write_request(method, target, headers, body)
            .await
            .map_err(|e| Fail {
                error: errors::io_error("write", &e),
                unanswered: true,
            })?;
        let head = loop {
            let head = self.read_head().await?;
            // Interim answers (100 Continue, 103 Early Hints) precede the real one.
            if !(100..200).contains(&head.status) || head.status == 101 {
                break head;
            }
        };
        let framing = framing(&head, method)?;
        let body = self.read_body(framing, discard, body_limit).await?;
        let keep = framing != Framing::UntilClose
            && head.status != 101
            && if head.http10 {
                has_token(&head.headers, &CONNECTION, "keep-alive")
            } else {
                !has_token(&head.headers, &CONNECTION, "close")
            };
        Ok(Answer { head, body, keep })
    }

    /// Writes the request: small bodies go out with the head in one write.
    async fn write_request(
        &mut self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> io::Result<()> {
        let chunked = headers.contains_key(TRANSFER_ENCODING);
        let w = &mut self.wbuf;
        w.clear();
        w.extend_from_slice(method.as_str().as_bytes());
        w.push(b' ');
        w.extend_from_slice(target.as_bytes());
        w.extend_from_slice(b" HTTP/1.1\r\n");
        if !headers.contains_key(HOST) {
            if let Some(host) = &self.host {
                w.extend_from_slice(b"host: ");
                w.extend_from_slice(host.as_bytes());
                w.extend_from_slice(b"\r\n");
            }
        }
        for (name, value) in headers {
            w.extend_from_slice(name.as_str().as_bytes());
            w.extend_from_slice(b": ");
            w.extend_from_slice(value.as_bytes());
            w.extend_from_slice(b"\r\n");
        }
        let needs_length =
            !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        if !chunked && needs_length && !headers.contains_key(CONTENT_LENGTH) {
            w.extend_from_slice(b"content-length: ");
            w.extend_from_slice(itoa(body.len() as u64, &mut [0; 20]));
            w.extend_from_slice(b"\r\n");
        }
        w.extend_from_slice(b"\r\n");
        if chunked {
            if !body.is_empty() {
                w.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                w.extend_from_slice(&body);
                w.extend_from_slice(b"\r\n");
            }
            w.extend_from_slice(b"0\r\n\r\n");
            self.io.write_all(&self.wbuf).await?;
        } else if body.len() <= INLINE_BODY {
            w.extend_from_slice(&body);
            self.io.write_all(&self.wbuf).await?;
        } else {
            self.io.write_all(&self.wbuf).await?;
            self.io.write_all(&body).await?;
        }
        self.io.flush().await
    }

    /// Reads more of the response into the buffer; 0 at the end of the stream.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 2 {
            self.rbuf.reserve(READ_CHUNK);
        }
        self.io.read_buf(&mut self.rbuf).await
    }

    /// Reads more of a body that must go on: the end of the stream cuts it short.
    async fn fill_body(&mut self) -> Result<(), Fail> {
        match self.fill().await {
            Ok(0) => Err(Fail::cut_short(false)),
            Ok(_) => Ok(()),
            Err(e) => Err(Fail::read(&e, false)),
        }
    }

    async fn read_head(&mut self) -> Result<Head, Fail> {
        loop {
            if !self.rbuf.is_empty() {
                if let Some(head) = parse_head(&mut self.rbuf)? {
                    return Ok(head);
                }
                if self.rbuf.len() > MAX_HEAD {
                    return Err(Fail::malformed(format!(
                        "the response head is larger than {} KiB",
                        MAX_HEAD >> 10
                    )));
                }
            }
            let nothing_yet = self.rbuf.is_empty();
            match self.fill().await {
                Ok(0) => return Err(Fail::cut_short(nothing_yet)),
                Ok(_) => {}
                Err(e) => return Err(Fail::read(&e, nothing_yet)),
            }
        }
    }

    async fn read_body(
        &mut self,
        framing: Framing,
        discard: bool,
        limit: u64,
    ) -> Result<Bytes, Fail> {
        let too_large = || Fail {
            error: RequestError::new(
                errors::RESPONSE_TOO_LARGE,
                format!(
                    "response body is larger than the limit of {limit} bytes (responseBodyLimit)"
                ),
            ),
            unanswered: false,
        };
        match framing {
            Framing::Empty => Ok(Bytes::new()),
            Framing::Length(n) => {
                if n > limit {
                    return Err(too_large());
                }
                // The usual case: the whole body came with the head.
                if self.rbuf.len() as u64 >= n {
                    let body = self.rbuf.split_to(n as usize);
                    return Ok(if discard { Bytes::new() } else { body.freeze() });
                }
                let mut out = BytesMut::new();
                if !discard {
                    out.reserve(n as usize);
                }
                self.take_exact(n, &mut out, discard).await?;
                Ok(out.freeze())
            }
            Framing::Chunked => {
                let mut out = BytesMut::new();
                let mut total: u64 = 0;
                loop {
                    let line = self.read_line().await?;
                    let size = chunk_size(&line)?;
                    if size == 0 {
                        // Trailers, up to the empty line.
                        while !self.read_line().await?.is_empty() {}
                        return Ok(out.freeze());
                    }
                    total = total.saturating_add(size);
                    if total > limit {
                        return Err(too_large());
                    }
                    self.take_exact(size, &mut out, discard).await?;
                    if !self.read_line().await?.is_empty() {
                        return Err(Fail::malformed("a chunk is longer than its size"));
                    }
                }
            }
            Framing::UntilClose => {
                let mut out = BytesMut::new();
                let mut total: u64 = 0;
                loop {
                    total += self.rbuf.len() as u64;
                    if total > limit {
                        return Err(too_large());
                    }
                    if !discard {
                        out.extend_from_slice(&self.rbuf);
                    }
                    self.rbuf.clear();
                    match self.fill().await {
                        Ok(0) => return Ok(out.freeze()),
                        Ok(_) => {}
                        // A TLS server that closes without close_notify still ends the body.
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            return Ok(out.freeze())
                        }
                        Err(e) => return Err(Fail::read(&e, false)),
                    }
                }
            }
        }
    }

    /// Moves exactly `n` body bytes into `out` (or drops them), reading as needed.
    async fn take_exact(
        &mut self,
        mut n: u64,
        out: &mut BytesMut,
        discard: bool,
    ) -> Result<(), Fail> {
        loop {
            let k = (self.rbuf.len() as u64).min(n) as usize;
            if !discard {
                out.extend_from_slice(&self.rbuf[..k]);
            }
            self.rbuf.advance(k);
            n -= k as u64;
            if n == 0 {
                return Ok(());
            }
            self.fill_body().await?;
        }
    }

    /// One CRLF-terminated line of a chunked body, without its CRLF.
    async fn read_line(&mut self) -> Result<BytesMut, Fail> {
        let mut searched = 0;
        loop {
            if let Some(i) = self.rbuf[searched..].iter().position(|b| *b == b'\n') {
                let end = searched + i;
                let mut line = self.rbuf.split_to(end + 1);
                line.truncate(end);
                if line.last() == Some(&b'\r') {
                    line.truncate(end - 1);
                }
                return Ok(line);
            }
            searched = self.rbuf.len();
            if searched > MAX_CHUNK_LINE {
                return Err(Fail::malformed("a chunk-size line is too long"));
            }
            self.fill_body().await?;
        }
    }

    fn phases(&mut self, ready_at: Instant, end: Instant) -> Phases {
        let (sent, recv) = self.probe.bytes();
        let (sent0, recv0) = std::mem::replace(&mut self.counted, (sent, recv));
        let written = self.probe.last_write().filter(|t| *t >= ready_at);
        let first_byte = self.probe.first_read().filter(|t| *t >= ready_at);
        let (sending, waiting, receiving) = match (written, first_byte) {
            (Some(w), Some(f)) => (
                w - ready_at,
                f.saturating_duration_since(w),
                end.saturating_duration_since(f),
            ),
            (Some(w), None) => (
                w - ready_at,
                end.saturating_duration_since(w),
                Duration::ZERO,
            ),
            (None, _) => (end - ready_at, Duration::ZERO, Duration::ZERO),
        };
        Phases {
            sending,
            waiting,
            receiving,
            bytes: (sent - sent0, recv - recv0),
        }
    }
}

/// Parses a response head from the front of `buf`, consuming it; `None` when incomplete.
/// Header values share the buffer's memory rather than being copied.
fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, Fail> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut slots);
    let len = match res.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Fail::malformed(format!(
                "more than {MAX_HEADERS} header lines"
            )))
        }
        Err(e) => return Err(Fail::malformed(e)),
    };
    let status = res.code.unwrap_or(0);
    let http10 = res.version == Some(0);
    let base = buf.as_ptr() as usize;
    let mut fields: SmallVec<[(HeaderName, usize, usize); 16]> = SmallVec::new();
    for h in res.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| Fail::malformed(format!("invalid header name `{}`", h.name)))?;
        let start = h.value.as_ptr() as usize - base;
        fields.push((name, start, start + h.value.len()));
    }
    let raw = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, start, end) in fields {
        let value = HeaderValue::from_maybe_shared(raw.slice(start..end))
            .map_err(|_| Fail::malformed(format!("invalid value of header `{name}`")))?;
        headers.append(name, value);
    }
    Ok(Some(Head {
        status,
        http10,
        headers,
    }))
}

/// How the body of `head`, the answer to `method`, is delimited (RFC 9112, section 6.3).
fn framing(head: &Head, method: &Method) -> Result<Framing, Fail> {
    if *method == Method::HEAD || matches!(head.status, 100..=199 | 204 | 304) {
        return Ok(Framing::Empty);
    }
    if head.headers.contains_key(TRANSFER_ENCODING) {
        let last = head
            .headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|t| !t.is_empty());
        return Ok(match last {
            Some(t) if t.eq_ignore_ascii_case("chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        });
    }
    let mut length: Option<u64> = None;
    for value in head.headers.get_all(CONTENT_LENGTH) {
        for part in value.as_bytes().split(|b| *b == b',') {
            let part = part.trim_ascii();
            let n = std::str::from_utf8(part)
                .ok()
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u64>().ok())
                .ok_or_else(|| Fail::malformed("invalid Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(Fail::malformed("conflicting Content-Length values"));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None => Framing::UntilClose,
    })
}

/// The size of a chunk from its size line (extensions ignored).
fn chunk_size(line: &[u8]) -> Result<u64, Fail> {
    let digits = line
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(Fail::malformed(format!(
            "invalid chunk size `{}`",
            String::from_utf8_lossy(line)
        )));
    }
    let digits = std::str::from_utf8(digits).expect("hex digits are ASCII");
    u64::from_str_radix(digits, 16).map_err(Fail::malformed)
}

/// Whether any `name` header lists `token` (case-insensitive), as `Connection: close`.
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|b| *b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// `n` in decimal, without allocating.
fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> Result<Option<Head>, Fail> {
        parse_head(&mut BytesMut::from(raw))
    }

    #[test]
    fn a_head_parses_with_its_values_shared() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nok"[..],
        );
        let h = parse_head(&mut buf).ok().flatten().expect("complete");
        assert_eq!((h.status, h.http10), (200, false));
        assert_eq!(h.headers.get_all("set-cookie").iter().count(), 2);
        assert_eq!(&buf[..], b"ok");
        assert_eq!(framing(&h, &Method::GET).ok(), Some(Framing::Length(2)));
        assert_eq!(framing(&h, &Method::HEAD).ok(), Some(Framing::Empty));
    }

    #[test]
    fn a_partial_head_waits_and_a_bad_one_fails() {
        assert!(matches!(head(b"HTTP/1.1 200 OK\r\nConte"), Ok(None)));
        for bad in [
            &b"HTTP/1.1 abc\r\n\r\n"[..],
            b"\x00\x17\xffGARBAGE\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nthis is no header\r\n\r\n",
        ] {
            let err = head(bad).err().expect("malformed");
            assert_eq!(err.error.code, errors::INVALID_RESPONSE);
            assert!(err.error.message.contains("malformed HTTP response"));
        }
    }

    #[test]
    fn bodies_are_framed_as_rfc_9112_says() {
        let frame = |raw: &[u8]| {
            let h = head(raw).ok().flatten().expect("complete");
            framing(&h, &Method::GET).map_err(|f| f.error.message)
        };
        assert_eq!(
            frame(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n"
            ),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            frame(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
            Ok(Framing::UntilClose)
        );
        assert_eq!(frame(b"HTTP/1.1 200 OK\r\n\r\n"), Ok(Framing::UntilClose));
        assert_eq!(
            frame(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
            Ok(Framing::Empty)
        );
        assert_eq!(
            frame(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n"),
            Ok(Framing::Length(5))
        );
        assert!(
            frame(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").is_err()
        );
        assert!(frame(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        assert!(frame(b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n").is_err());
    }

    #[test]
    fn chunk_sizes_are_hex_with_optional_extensions() {
        assert_eq!(chunk_size(b"1a").ok(), Some(26));
        assert_eq!(chunk_size(b"0;ext=1").ok(), Some(0));
        assert!(chunk_size(b"zz").is_err());
        assert!(chunk_size(b"").is_err());
        assert!(chunk_size(b"11111111111111111").is_err());
    }

    #[test]
    fn connection_tokens_are_found_in_lists() {
        let mut h = HeaderMap::new();
        h.append(CONNECTION, HeaderValue::from_static("Keep-Alive, Upgrade"));
        assert!(has_token(&h, &CONNECTION, "keep-alive"));
        assert!(!has_token(&h, &CONNECTION, "close"));
        assert_eq!(itoa(0, &mut [0; 20]), b"0");
        assert_eq!(itoa(1234567, &mut [0; 20]), b"1234567");
    }
}
