//! HTTP/1.1 spoken on the VU's own task: the request is written from the connection's buffer
//! and the response decoded by the sans-IO [`decode::Decoder`] straight from the read buffer.
//!
//! A general-purpose client adds a dispatch task, channels and a body stream per request — a
//! quarter of the CPU stampede spent per request on loopback — none of which a load generator
//! that waits for each response needs. The request body is written while the response is
//! read, so a server that answers an upload early (a 413, then close) is reported as that
//! answer, not as the broken pipe that follows.

pub mod decode;

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::Method;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::conn::{Outcome, Phases, Retry};
use super::errors::{self, RequestError};
use super::framing::{self, Framing};
use super::io::{Probe, Stream};
use super::target::{Origin, Target};
use decode::{Decoder, Event, Head, Limits, Version};

/// The read buffer of a connection grows by this.
const READ_CHUNK: usize = 8 << 10;
/// Request bodies up to this size are copied behind the head and written with it.
const INLINE_BODY: usize = 64 << 10;

/// A request as the connection writes it.
pub(crate) struct Outgoing<'a> {
    pub(crate) method: &'a Method,
    pub(crate) target: &'a Target,
    /// The script's headers (framing ones are written from `framing`).
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) framing: &'a Framing,
    pub(crate) body: &'a Bytes,
}

/// An open HTTP/1.1 connection.
pub(crate) struct H1Conn {
    origin: Origin,
    io: Stream,
    probe: Arc<Probe>,
    /// Bytes already attributed to earlier exchanges (a new connection's TLS handshake is
    /// attributed to its first exchange, as k6 does).
    counted: (u64, u64),
    /// Bytes read and not yet consumed.
    rbuf: BytesMut,
    /// The request being written.
    wbuf: Vec<u8>,
    /// The timer of its requests' deadlines, kept from one request to the next: a timer per
    /// request is put into and taken out of the runtime's timer wheel each time. A request
    /// with a deadline no earlier than the timer's leaves it as it is and, should it fire
    /// first (an earlier request's deadline), moves it on to its own.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// A failed exchange, before its phases are known.
struct Fail {
    error: RequestError,
    /// The failure is the connection's (not a malformed answer): worth a retry if nothing
    /// came back.
    connection: bool,
}

impl Fail {
    fn read(err: &io::Error) -> Self {
        Self {
            error: errors::io_error("read", err),
            connection: true,
        }
    }

    fn decode(err: decode::Error) -> Self {
        match err {
            decode::Error::Malformed(_) => Self {
                error: RequestError::new(errors::INVALID_RESPONSE, err.to_string()),
                connection: false,
            },
            decode::Error::Eof { .. } => Self {
                error: RequestError::new(errors::GENERIC, format!("read: {err}")),
                connection: true,
            },
        }
    }

    fn too_large(limit: u64) -> Self {
        Self {
            error: RequestError::new(
                errors::RESPONSE_TOO_LARGE,
                format!(
                    "response body is larger than the limit of {limit} bytes (responseBodyLimit)"
                ),
            ),
            connection: false,
        }
    }
}

/// A complete response.
struct Answer {
    head: Head,
    body: Bytes,
    keep: bool,
}

/// How writing the request went.
enum Sent {
    All,
    /// The server answered before the request was fully written.
    Early(Box<Head>),
    /// Writing failed; the server may still have answered.
    Broken(io::Error),
}

impl H1Conn {
    /// The peer and the TLS parameters.
    pub(crate) fn info(&self) -> super::conn::ConnInfo {
        self.probe.info()
    }

    pub(crate) fn new(origin: Origin, io: Stream, probe: Arc<Probe>) -> Self {
        Self {
            origin,
            io,
            probe,
            counted: (0, 0),
            rbuf: BytesMut::new(),
            wbuf: Vec::new(),
            timer: None,
        }
    }

    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Whether an idle connection is still open and quiet: a close by the server, a reset, or
    /// bytes nobody asked for (a second response to one request, say) retire it.
    pub(crate) fn is_usable(&mut self) -> bool {
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
    pub(crate) async fn exchange(
        &mut self,
        req: &Outgoing<'_>,
        deadline: tokio::time::Instant,
        discard: bool,
        body_limit: u64,
    ) -> Outcome {
        self.probe.reset_marks();
        let ready_at = Instant::now();
        let mut timer = match self.timer.take() {
            Some(mut timer) => {
                if deadline < timer.deadline() {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        let result = {
            let mut roundtrip = std::pin::pin!(self.roundtrip(req, discard, body_limit));
            poll_fn(|cx| match roundtrip.as_mut().poll(cx) {
                Poll::Ready(answer) => Poll::Ready(Some(answer)),
                Poll::Pending => loop {
                    match timer.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(()) if timer.deadline() >= deadline => {
                            return Poll::Ready(None)
                        }
                        // An earlier request's deadline: on to this one's.
                        Poll::Ready(()) => timer.as_mut().reset(deadline),
                    }
                },
            })
            .await
        };
        self.timer = Some(timer);
        let end = Instant::now();
        let phases = self.phases(ready_at, end);
        match result {
            None => Outcome::Failed {
                error: RequestError::new(errors::REQUEST_TIMEOUT, "request timeout"),
                phases,
                retry: Retry::No,
            },
            Some(Err(fail)) => {
                let unanswered = fail.connection && self.probe.first_read().is_none();
                Outcome::Failed {
                    error: fail.error,
                    phases,
                    retry: if unanswered {
                        Retry::Unanswered {
                            written: self.probe.last_write().is_some(),
                        }
                    } else {
                        Retry::No
                    },
                }
            }
            Some(Ok(answer)) => Outcome::Done {
                status: answer.head.status,
                proto: match answer.head.version {
                    Version::Http10 => "HTTP/1.0",
                    Version::Http11 => "HTTP/1.1",
                },
                headers: answer.head.headers,
                body: answer.body,
                phases,
                keep: answer.keep && !req.framing.close,
            },
        }
    }

    async fn roundtrip(
        &mut self,
        req: &Outgoing<'_>,
        discard: bool,
        body_limit: u64,
    ) -> Result<Answer, Fail> {
        let mut decoder = Decoder::new(*req.method == Method::HEAD, Limits::default());
        let inline = self.encode(req);
        let body: &[u8] = if inline { &[] } else { &req.body[..] };
        let tail: &[u8] = if !inline && req.framing.chunked {
            &b"\r\n0\r\n\r\n"[..]
        } else {
            &[]
        };
        let wbuf = std::mem::take(&mut self.wbuf);
        let sent = self.send([&wbuf, body, tail], &mut decoder).await;
        self.wbuf = wbuf;
        let (head, complete) = match sent? {
            Sent::All => (self.read_head(&mut decoder).await?, true),
            Sent::Early(head) => (*head, false),
            Sent::Broken(write_err) => match self.read_head(&mut decoder).await {
                Ok(head) => (head, false),
                // Nothing came back: the write's error is the story.
                Err(_) if self.probe.first_read().is_none() => {
                    return Err(Fail {
                        error: errors::io_error("write", &write_err),
                        connection: true,
                    })
                }
                Err(fail) => return Err(fail),
            },
        };
        if let decode::Framing::Length(n) = decoder.framing() {
            if n > body_limit {
                return Err(Fail::too_large(body_limit));
            }
        }
        let (body, keep) = self.read_body(&mut decoder, discard, body_limit).await?;
        Ok(Answer {
            head,
            body,
            // A request cut short leaves the connection out of step.
            keep: keep && complete,
        })
    }

    /// Writes the request head into `wbuf`, with the body when it is small; whether it did.
    fn encode(&mut self, req: &Outgoing<'_>) -> bool {
        let w = &mut self.wbuf;
        w.clear();
        w.extend_from_slice(req.method.as_str().as_bytes());
        w.push(b' ');
        w.extend_from_slice(req.target.path.as_bytes());
        w.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        let host = req.framing.host.as_ref().unwrap_or(&req.target.host);
        w.extend_from_slice(host.as_bytes());
        w.extend_from_slice(b"\r\n");
        for (name, value) in req.headers {
            if framing::is_framing(name) {
                continue;
            }
            w.extend_from_slice(name.as_str().as_bytes());
            w.extend_from_slice(b": ");
            w.extend_from_slice(value.as_bytes());
            w.extend_from_slice(b"\r\n");
        }
        if let Some(auth) = &req.target.basic_auth {
            if !req.framing.has_authorization {
                w.extend_from_slice(b"authorization: ");
                w.extend_from_slice(auth.as_bytes());
                w.extend_from_slice(b"\r\n");
            }
        }
        let body = req.body;
        if req.framing.chunked {
            w.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
            if !body.is_empty() {
                w.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            }
            if body.len() <= INLINE_BODY {
                w.extend_from_slice(body);
                if !body.is_empty() {
                    w.extend_from_slice(b"\r\n");
                }
                w.extend_from_slice(b"0\r\n\r\n");
                return true;
            }
            return false;
        }
        let needs_length =
            !body.is_empty() || matches!(*req.method, Method::POST | Method::PUT | Method::PATCH);
        if needs_length {
            w.extend_from_slice(b"content-length: ");
            w.extend_from_slice(itoa(body.len() as u64, &mut [0; 20]));
            w.extend_from_slice(b"\r\n");
        }
        w.extend_from_slice(b"\r\n");
        if body.len() <= INLINE_BODY {
            w.extend_from_slice(body);
            return true;
        }
        false
    }

    /// Writes `parts` in order while reading what the server sends: stops early when a final
    /// response head arrives before the request is written.
    async fn send(&mut self, parts: [&[u8]; 3], decoder: &mut Decoder) -> Result<Sent, Fail> {
        let (mut part, mut off, mut read_closed) = (0, 0, false);
        poll_fn(|cx| loop {
            while part < parts.len() {
                if off == parts[part].len() {
                    (part, off) = (part + 1, 0);
                    continue;
                }
                match Pin::new(&mut self.io).poll_write(cx, &parts[part][off..]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Ok(Sent::Broken(io::ErrorKind::WriteZero.into())))
                    }
                    Poll::Ready(Ok(n)) => off += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Ok(Sent::Broken(e))),
                    Poll::Pending => break,
                }
            }
            if part == parts.len() {
                match Pin::new(&mut self.io).poll_flush(cx) {
                    Poll::Ready(Ok(())) => return Poll::Ready(Ok(Sent::All)),
                    Poll::Ready(Err(e)) => return Poll::Ready(Ok(Sent::Broken(e))),
                    Poll::Pending => {}
                }
            }
            // The write waits for the peer: see whether it answered already.
            if read_closed {
                return Poll::Pending;
            }
            match poll_fill(&mut self.io, &mut self.rbuf, cx) {
                Poll::Pending => return Poll::Pending,
                // The peer stopped sending; the write will tell how it ends.
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => read_closed = true,
                Poll::Ready(Ok(_)) => match decoder.decode(&mut self.rbuf) {
                    Ok(Some(Event::Head(head))) => {
                        return Poll::Ready(Ok(Sent::Early(Box::new(head))))
                    }
                    Ok(_) => {}
                    Err(e) => return Poll::Ready(Err(Fail::decode(e))),
                },
            }
        })
        .await
    }

    /// Reads more of the response into the buffer; 0 at the end of the stream.
    async fn fill(&mut self) -> io::Result<usize> {
        poll_fn(|cx| poll_fill(&mut self.io, &mut self.rbuf, cx)).await
    }

    /// The next event of the response, reading as needed.
    async fn next_event(&mut self, decoder: &mut Decoder) -> Result<Event, Fail> {
        loop {
            if let Some(event) = decoder.decode(&mut self.rbuf).map_err(Fail::decode)? {
                return Ok(event);
            }
            match self.fill().await {
                Ok(n) if n > 0 => {}
                // A TLS server that closes without close_notify still ends the stream.
                Ok(_) => return self.at_eof(decoder),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return self.at_eof(decoder),
                Err(e) => return Err(Fail::read(&e)),
            }
        }
    }

    fn at_eof(&mut self, decoder: &mut Decoder) -> Result<Event, Fail> {
        match decoder.eof(&mut self.rbuf).map_err(Fail::decode)? {
            Some(event) => Ok(event),
            None => Err(Fail::decode(decode::Error::Eof { nothing: false })),
        }
    }

    async fn read_head(&mut self, decoder: &mut Decoder) -> Result<Head, Fail> {
        match self.next_event(decoder).await? {
            Event::Head(head) => Ok(head),
            _ => unreachable!("the head comes first"),
        }
    }

    /// Reads the body to its end: the body (unless discarded) and the keep-alive decision.
    async fn read_body(
        &mut self,
        decoder: &mut Decoder,
        discard: bool,
        limit: u64,
    ) -> Result<(Bytes, bool), Fail> {
        if let Some((body, end)) = decoder.take_complete(&mut self.rbuf) {
            let body = if discard { Bytes::new() } else { body };
            return Ok((body, end.keep_alive));
        }
        let mut body = BodyBuf::default();
        let mut total: u64 = 0;
        loop {
            match self.next_event(decoder).await? {
                Event::Data(piece) => {
                    total += piece.len() as u64;
                    if total > limit {
                        return Err(Fail::too_large(limit));
                    }
                    if !discard {
                        body.push(piece);
                    }
                }
                Event::End(end) => return Ok((body.finish(), end.keep_alive)),
                Event::Head(_) => unreachable!("one head per response"),
            }
        }
    }

    fn phases(&mut self, ready_at: Instant, end: Instant) -> Phases {
        let (sent, recv) = self.probe.bytes();
        let (sent0, recv0) = std::mem::replace(&mut self.counted, (sent, recv));
        let written = self.probe.last_write().filter(|t| *t >= ready_at);
        let first_byte = self.probe.first_read().filter(|t| *t >= ready_at);
        let (sending, waiting, receiving) = match (written, first_byte) {
            // An answer that came before the request was written: no waiting.
            (Some(w), Some(f)) if f < w => (w - ready_at, Duration::ZERO, end - w.min(end)),
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
            queued: Duration::ZERO,
            sending,
            waiting,
            receiving,
            bytes: (sent - sent0, recv - recv0),
        }
    }
}

/// Reads into `rbuf`, growing it by what arrives (never by what the peer announced).
fn poll_fill(
    io: &mut Stream,
    rbuf: &mut BytesMut,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    if rbuf.capacity() - rbuf.len() < READ_CHUNK / 2 {
        rbuf.reserve(READ_CHUNK);
    }
    let dst = rbuf.spare_capacity_mut();
    let mut buf = ReadBuf::uninit(dst);
    match Pin::new(io).poll_read(cx, &mut buf) {
        Poll::Ready(Ok(())) => {
            let n = buf.filled().len();
            // SAFETY: `poll_read` initialised the first `n` bytes of the spare capacity.
            unsafe { rbuf.set_len(rbuf.len() + n) };
            Poll::Ready(Ok(n))
        }
        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        Poll::Pending => Poll::Pending,
    }
}

/// A body gathered from pieces: one piece is kept as it came (no copy).
#[derive(Default)]
struct BodyBuf {
    first: Option<Bytes>,
    rest: BytesMut,
}

impl BodyBuf {
    fn push(&mut self, piece: Bytes) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(piece);
            return;
        }
        if let Some(first) = self.first.take() {
            self.rest.extend_from_slice(&first);
        }
        self.rest.extend_from_slice(&piece);
    }

    fn finish(self) -> Bytes {
        match self.first {
            Some(first) => first,
            None => self.rest.freeze(),
        }
    }
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

    #[test]
    fn numbers_are_written_without_allocating() {
        assert_eq!(itoa(0, &mut [0; 20]), b"0");
        assert_eq!(itoa(1234567, &mut [0; 20]), b"1234567");
        assert_eq!(itoa(u64::MAX, &mut [0; 20]), b"18446744073709551615");
    }

    #[test]
    fn a_body_of_one_piece_is_not_copied() {
        let piece = Bytes::from_static(b"hello");
        let mut b = BodyBuf::default();
        b.push(piece.clone());
        assert_eq!(b.finish().as_ptr(), piece.as_ptr());
        let mut b = BodyBuf::default();
        b.push(Bytes::from_static(b"he"));
        b.push(Bytes::from_static(b"llo"));
        assert_eq!(&b.finish()[..], b"hello");
    }
}
