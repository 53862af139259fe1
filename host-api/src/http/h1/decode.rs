//! A sans-IO HTTP/1.x response decoder: fed the bytes that arrive, it emits the response head,
//! body pieces, trailers and the end of the response with the keep-alive decision.
//!
//! It does no I/O and keeps no copy of the body: body pieces are split off the caller's buffer
//! (the response head's values share it too), so a response that arrives in one read costs no
//! copy at all. Memory follows the bytes that arrived, never a length the peer declared, and
//! every size the peer controls (head, field count, chunk-size lines, trailers) is bounded.
//!
//! Framing follows RFC 9112 §6.3 as Go's client reads it: `Transfer-Encoding: chunked` (and
//! only that coding), else `Content-Length`, else the body runs until the connection closes;
//! answers to `HEAD` and 1xx/204/304 have none. Interim 1xx answers are skipped (101 ends the
//! exchange and the connection). An obs-fold in a field value is replaced by spaces, as §5.2
//! asks of user agents.

use bytes::{Buf, Bytes, BytesMut};
use std::borrow::Cow;

use http::{HeaderMap, HeaderName};
use smallvec::SmallVec;

use super::super::headers::{
    known_bit, unfolded, value_at, RawHead, ResponseHeaders, CONNECTION_BIT, CONTENT_LENGTH_BIT,
    TRANSFER_ENCODING_BIT,
};

/// Limits on what a peer may send, in bytes and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest response head (status line and fields); interim 1xx heads and the trailer
    /// section count against it too. Go's `MaxResponseHeaderBytes` default: 10 MiB.
    pub max_head_bytes: usize,
    /// Most fields in a head or a trailer section.
    pub max_fields: usize,
    /// Longest chunk-size line (with its extensions). Go's limit: 4 KiB.
    pub max_chunk_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: 10 << 20,
            max_fields: 10_000,
            max_chunk_line: 4 << 10,
        }
    }
}

/// The protocol version of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    Http11,
}

/// A final (non-1xx, or 101) response head.
#[derive(Debug, Clone)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Protocol version.
    pub version: Version,
    /// Fields, in the order received (obs-folds replaced by spaces); made into a map when
    /// first read as one.
    pub headers: ResponseHeaders,
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (answer to HEAD, 1xx, 204, 304, or `Content-Length: 0`).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// What the decoder found.
#[derive(Debug)]
pub enum Event {
    /// The final response head; body events follow.
    Head(Head),
    /// A piece of the body (never empty).
    Data(Bytes),
    /// The end of the response.
    End(End),
}

/// The end of a response.
#[derive(Debug, Default)]
pub struct End {
    /// The trailer fields of a chunked body (empty otherwise).
    pub trailers: HeaderMap,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

/// Why a response could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not a valid HTTP/1.x response; the message says where.
    Malformed(String),
    /// The connection closed before the response was complete. `nothing` is true when no
    /// byte of a response had arrived at all.
    Eof {
        /// No byte of the response arrived.
        nothing: bool,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Malformed(why) => write!(f, "malformed HTTP response: {why}"),
            Error::Eof { .. } => {
                f.write_str("connection closed before the response was complete (unexpected EOF)")
            }
        }
    }
}

impl std::error::Error for Error {}

fn malformed(why: impl Into<String>) -> Error {
    Error::Malformed(why.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a head; `scanned` bytes of the buffer hold no end of head.
    Head {
        scanned: usize,
    },
    Length {
        remaining: u64,
    },
    ChunkSize,
    ChunkData {
        remaining: u64,
    },
    ChunkEnd,
    Trailers {
        scanned: usize,
    },
    UntilClose,
    /// The body ended; `End` is still to be emitted.
    Ending,
    Done,
}

/// Decodes one response. Make a new one for each request.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    head_request: bool,
    limits: Limits,
    /// Head bytes taken so far (interim heads included), against `max_head_bytes`.
    head_bytes: usize,
    framing: Framing,
    keep_alive: bool,
    trailers: HeaderMap,
    /// Some byte of a response arrived.
    started: bool,
}

/// What parsing a head gave.
// The head is the usual case: boxing it would cost an allocation per response.
#[allow(clippy::large_enum_variant)]
enum Parsed {
    Final(Head),
    /// A 1xx head was skipped.
    Interim,
    Incomplete,
}

/// Field slots on the stack: enough for nearly every real response.
const STACK_FIELDS: usize = 64;

/// The longest field name a [`HeaderName`] takes.
const MAX_NAME_LEN: usize = (1 << 16) - 1;

impl Decoder {
    /// A decoder for the answer to a request; `head_request` when the method was `HEAD`.
    pub fn new(head_request: bool, limits: Limits) -> Self {
        Self {
            state: State::Head { scanned: 0 },
            head_request,
            limits,
            head_bytes: 0,
            framing: Framing::Empty,
            keep_alive: false,
            trailers: HeaderMap::new(),
            started: false,
        }
    }

    /// How the body is delimited (known once the head was emitted).
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Whether the response is complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the final head was emitted.
    pub fn has_head(&self) -> bool {
        !matches!(self.state, State::Head { .. })
    }

    /// The whole body and the end at once, when the body is all in `buf` already (an empty
    /// or length-delimited body that came with its head: nearly every response); `None`
    /// otherwise, with nothing consumed.
    pub fn take_complete(&mut self, buf: &mut BytesMut) -> Option<(Bytes, End)> {
        let body = match self.state {
            State::Ending => Bytes::new(),
            State::Length { remaining } if buf.len() as u64 >= remaining => {
                buf.split_to(remaining as usize).freeze()
            }
            _ => return None,
        };
        self.state = State::Done;
        let end = End {
            trailers: HeaderMap::new(),
            keep_alive: self.keep_alive,
        };
        Some((body, end))
    }

    /// Decodes from the front of `buf`, consuming what it uses. `Ok(None)`: more bytes are
    /// needed. After `End`, the rest of `buf` is not this response's.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, Error> {
        if !buf.is_empty() {
            self.started = true;
        }
        loop {
            match self.state {
                State::Head { scanned } => match self.head(buf, scanned)? {
                    Parsed::Final(head) => return Ok(Some(Event::Head(head))),
                    Parsed::Incomplete => return Ok(None),
                    Parsed::Interim => {}
                },
                State::Length { remaining } => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let k = (buf.len() as u64).min(remaining);
                    let left = remaining - k;
                    self.state = if left == 0 {
                        State::Ending
                    } else {
                        State::Length { remaining: left }
                    };
                    return Ok(Some(Event::Data(buf.split_to(k as usize).freeze())));
                }
                State::ChunkSize => {
                    let Some(line) = self.line(buf, "chunk-size")? else {
                        return Ok(None);
                    };
                    let size = chunk_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers { scanned: 0 }
                    } else {
                        State::ChunkData { remaining: size }
                    };
                }
                State::ChunkData { remaining } => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let k = (buf.len() as u64).min(remaining);
                    let left = remaining - k;
                    self.state = if left == 0 {
                        State::ChunkEnd
                    } else {
                        State::ChunkData { remaining: left }
                    };
                    return Ok(Some(Event::Data(buf.split_to(k as usize).freeze())));
                }
                State::ChunkEnd => match buf.first() {
                    None => return Ok(None),
                    Some(b'\n') => {
                        buf.advance(1);
                        self.state = State::ChunkSize;
                    }
                    Some(b'\r') if buf.len() == 1 => return Ok(None),
                    Some(b'\r') if buf[1] == b'\n' => {
                        buf.advance(2);
                        self.state = State::ChunkSize;
                    }
                    Some(_) => return Err(malformed("a chunk is longer than its size")),
                },
                State::Trailers { scanned } => {
                    if !self.trailer_section(buf, scanned)? {
                        return Ok(None);
                    }
                    self.state = State::Ending;
                }
                State::UntilClose => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    return Ok(Some(Event::Data(buf.split().freeze())));
                }
                State::Ending => {
                    self.state = State::Done;
                    return Ok(Some(Event::End(End {
                        trailers: std::mem::take(&mut self.trailers),
                        keep_alive: self.keep_alive,
                    })));
                }
                State::Done => return Ok(None),
            }
        }
    }

    /// The peer closed the connection: ends a body delimited by the close, and fails any
    /// other response that is not complete. Call it until it gives `End` (body pieces still in
    /// `buf` come first) or an error.
    pub fn eof(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, Error> {
        if let Some(event) = self.decode(buf)? {
            return Ok(Some(event));
        }
        match self.state {
            State::UntilClose => {
                self.state = State::Done;
                Ok(Some(Event::End(End {
                    trailers: HeaderMap::new(),
                    keep_alive: false,
                })))
            }
            State::Done => Ok(None),
            State::Head { .. } if !buf.is_empty() => {
                // A head cut short: malformed bytes in it are the answer, as they are when
                // the same bytes come at once.
                let cap = buf.len().min(self.head_room() + 1);
                parse_head(buf, cap, &self.limits)?;
                Err(Error::Eof {
                    nothing: !self.started,
                })
            }
            _ => Err(Error::Eof {
                nothing: !self.started,
            }),
        }
    }

    /// Parses a head at the front of `buf`.
    fn head(&mut self, buf: &mut BytesMut, scanned: usize) -> Result<Parsed, Error> {
        if buf.is_empty() {
            return Ok(Parsed::Incomplete);
        }
        let room = self.head_room();
        // Re-parse only when a possible end of head arrived since the last try, so a head
        // that trickles in costs linear time; past the size limit, parse once more so that
        // the answer is the one the whole buffer at once would have given.
        if buf.len() <= room && scanned > 0 && find_head_end(buf, scanned).is_none() {
            return Ok(self.head_incomplete(buf));
        }
        // Only the bytes a head may have are parsed: an error past them is a head too large,
        // however the bytes arrived.
        let parsed = parse_head(buf, buf.len().min(room + 1), &self.limits)?;
        let Some((len, head, fields)) = parsed else {
            if buf.len() > room {
                return Err(head_too_large(&self.limits));
            }
            return Ok(self.head_incomplete(buf));
        };
        self.head_bytes += len;
        if self.head_bytes > self.limits.max_head_bytes {
            return Err(head_too_large(&self.limits));
        }
        if (100..200).contains(&head.status) && head.status != 101 {
            // 100 Continue, 103 Early Hints…: the real answer follows.
            self.state = State::Head { scanned: 0 };
            return Ok(Parsed::Interim);
        }
        let mut head = head;
        head.headers.hide(self.hidden_fields(&head, &fields));
        self.start_body(&head, fields)?;
        Ok(Parsed::Final(head))
    }

    /// Bytes the head being read may still have.
    fn head_room(&self) -> usize {
        self.limits.max_head_bytes.saturating_sub(self.head_bytes)
    }

    fn head_incomplete(&mut self, buf: &BytesMut) -> Parsed {
        self.state = State::Head {
            scanned: buf.len().saturating_sub(3).max(1),
        };
        Parsed::Incomplete
    }

    /// The framing fields Go's client takes out of a final head's fields (`net/http`'s
    /// `readTransfer`): `Transfer-Encoding` always; `Content-Length` when chunks override it
    /// (HTTP/1.1, a body expected); `Connection` when it says `close` (HTTP/1.1).
    fn hidden_fields(&self, head: &Head, f: &FramingFields) -> u8 {
        let mut mask = TRANSFER_ENCODING_BIT;
        let http11 = head.version == Version::Http11;
        let no_body = self.head_request || matches!(head.status, 100..=199 | 204 | 304);
        if f.has_te && http11 && !no_body {
            mask |= CONTENT_LENGTH_BIT;
        }
        if f.close && http11 {
            mask |= CONNECTION_BIT;
        }
        mask
    }

    /// Decides the framing and keep-alive of the body that follows `head`.
    fn start_body(&mut self, head: &Head, f: FramingFields) -> Result<(), Error> {
        let (has_te, has_cl) = (f.has_te, f.has_cl);
        f.te?;
        let no_body = self.head_request || matches!(head.status, 100..=199 | 204 | 304);
        self.framing = if no_body {
            Framing::Empty
        } else if has_te {
            Framing::Chunked
        } else if has_cl {
            match f.length? {
                0 => Framing::Empty,
                n => Framing::Length(n),
            }
        } else {
            Framing::UntilClose
        };
        let persistent = match head.version {
            // HTTP/1.0 keeps a connection only when it says so, with a delimited body.
            Version::Http10 => f.keep_alive && !has_te,
            Version::Http11 => !f.close,
        };
        // Both lengths at once may be an attempt at response splitting (RFC 9112 §6.3):
        // the chunks are read, and the connection is not trusted with another request.
        self.keep_alive = persistent
            && self.framing != Framing::UntilClose
            && head.status != 101
            && !(has_te && has_cl);
        self.state = match self.framing {
            Framing::Empty => State::Ending,
            Framing::Length(n) => State::Length { remaining: n },
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Ok(())
    }

    /// One line (chunk size) without its line end, or `None` when incomplete.
    fn line(&mut self, buf: &mut BytesMut, what: &str) -> Result<Option<Bytes>, Error> {
        let limit = self.limits.max_chunk_line;
        let searched = buf.len().min(limit + 2);
        match buf[..searched].iter().position(|b| *b == b'\n') {
            Some(i) => {
                let mut line = buf.split_to(i + 1);
                line.truncate(i);
                if line.last() == Some(&b'\r') {
                    line.truncate(i - 1);
                }
                Ok(Some(line.freeze()))
            }
            None if buf.len() > limit => Err(malformed(format!(
                "a {what} line is longer than {} bytes",
                limit
            ))),
            None => Ok(None),
        }
    }

    /// Takes the trailer section; `false` when incomplete.
    fn trailer_section(&mut self, buf: &mut BytesMut, scanned: usize) -> Result<bool, Error> {
        // No trailers: the empty line right away.
        if buf.starts_with(b"\r\n") || buf.starts_with(b"\n") {
            buf.advance(if buf[0] == b'\r' { 2 } else { 1 });
            return Ok(true);
        }
        if buf.is_empty() || buf[..] == b"\r"[..] {
            return Ok(false);
        }
        let Some(end) = find_head_end(buf, scanned) else {
            if self.head_bytes + buf.len() > self.limits.max_head_bytes {
                return Err(malformed(format!(
                    "the trailer section is larger than {} bytes",
                    self.limits.max_head_bytes
                )));
            }
            self.state = State::Trailers {
                scanned: buf.len().saturating_sub(3),
            };
            return Ok(false);
        };
        self.head_bytes += end;
        if self.head_bytes > self.limits.max_head_bytes {
            return Err(malformed(format!(
                "the trailer section is larger than {} bytes",
                self.limits.max_head_bytes
            )));
        }
        let section = buf.split_to(end).freeze();
        self.trailers = parse_trailers(&section, &self.limits)?;
        Ok(true)
    }
}

fn head_too_large(limits: &Limits) -> Error {
    malformed(format!(
        "the response head is larger than {} bytes",
        limits.max_head_bytes
    ))
}

/// The end (exclusive) of a head or trailer section in `buf`, searching from `from`: the
/// empty line after a line end (`\n\n` or `\n\r\n`).
fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from.saturating_sub(1);
    while let Some(p) = buf.get(i..)?.iter().position(|b| *b == b'\n') {
        let lf = i + p;
        match (buf.get(lf + 1), buf.get(lf + 2)) {
            (Some(b'\n'), _) => return Some(lf + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(lf + 3),
            _ => i = lf + 1,
        }
    }
    None
}

/// Parses the head at the front of `buf` and consumes it: `(length, head)`, or `None` when
/// incomplete. Field values share the buffer's memory.
fn parse_head(
    buf: &mut BytesMut,
    cap: usize,
    limits: &Limits,
) -> Result<Option<(usize, Head, FramingFields)>, Error> {
    let mut stack = [httparse::EMPTY_HEADER; STACK_FIELDS];
    let mut heap = Vec::new();
    let mut on_heap = false;
    let mut config = httparse::ParserConfig::default();
    config.allow_obsolete_multiline_headers_in_responses(true);
    let (len, status, version, (fields, known, framing)) = loop {
        let slots: &mut [httparse::Header<'_>] = if on_heap { &mut heap } else { &mut stack };
        let mut res = httparse::Response::new(slots);
        match config.parse_response(&mut res, &buf[..cap]) {
            Ok(httparse::Status::Complete(len)) => {
                let (known, framing) = scan(&res)?;
                let n = res.headers.len();
                break (len, res.code.unwrap_or(0), res.version, (n, known, framing));
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders)
                if !on_heap && limits.max_fields > STACK_FIELDS =>
            {
                heap = vec![httparse::EMPTY_HEADER; limits.max_fields];
                on_heap = true;
            }
            Err(httparse::Error::TooManyHeaders) => return Err(too_many_fields(limits)),
            Err(e) => return Err(malformed(e.to_string())),
        }
    };
    if fields > limits.max_fields {
        return Err(too_many_fields(limits));
    }
    if status < 100 {
        // Status 0 is how a failed request reads: a response must not look like one.
        return Err(malformed(format!("invalid status code {status:03}")));
    }
    let version = if version == Some(0) {
        Version::Http10
    } else {
        Version::Http11
    };
    let bytes = buf.split_to(len).freeze();
    let raw = RawHead {
        bytes,
        fields,
        known,
        hidden: 0,
    };
    let headers = ResponseHeaders::raw(raw);
    Ok(Some((
        len,
        Head {
            status,
            version,
            headers,
        },
        framing,
    )))
}

fn too_many_fields(limits: &Limits) -> Error {
    malformed(format!("more than {} header fields", limits.max_fields))
}

/// What the fields that decide a body's framing and the connection's reuse say.
struct FramingFields {
    has_te: bool,
    has_cl: bool,
    /// Whether `Transfer-Encoding` is `chunked` alone (when there is one).
    te: Result<(), Error>,
    /// The `Content-Length` (0 without one).
    length: Result<u64, Error>,
    /// `Connection` lists `close` / `keep-alive`.
    close: bool,
    keep_alive: bool,
}

/// Field values, borrowed from the head unless an obs-fold had to be made spaces.
type Values<'a> = SmallVec<[Cow<'a, [u8]>; 2]>;

/// One pass over the fields httparse found: which of the fields the client looks at are
/// there, and the framing fields' values.
///
/// httparse accepts only token bytes in a name, as a [`HeaderName`] does, and in a value only
/// the bytes a [`http::HeaderValue`] takes (line ends aside, which an obs-fold has and which
/// become spaces): a name's length is all that is left to check for the map to be made
/// without failing later.
fn scan(res: &httparse::Response<'_, '_>) -> Result<(u8, FramingFields), Error> {
    let mut known = 0;
    let (mut te, mut cl, mut connection) = (Values::new(), Values::new(), Values::new());
    for h in res.headers.iter() {
        if h.name.is_empty() || h.name.len() > MAX_NAME_LEN {
            return Err(malformed(format!("invalid header name `{}`", h.name)));
        }
        let bit = known_bit(h.name.as_bytes());
        known |= bit;
        let list = match bit {
            1 => &mut te,
            2 => &mut cl,
            4 => &mut connection,
            _ => continue,
        };
        list.push(unfolded(h.value));
    }
    let framing = FramingFields {
        has_te: !te.is_empty(),
        has_cl: !cl.is_empty(),
        te: if te.is_empty() {
            Ok(())
        } else {
            check_transfer_encoding(&te)
        },
        length: content_length(&cl),
        close: lists_token(&connection, "close"),
        keep_alive: lists_token(&connection, "keep-alive"),
    };
    Ok((known, framing))
}

fn parse_trailers(section: &Bytes, limits: &Limits) -> Result<HeaderMap, Error> {
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_fields.min(section.len() / 3 + 1)];
    let fields = match httparse::parse_headers(section, &mut slots) {
        Ok(httparse::Status::Complete((_, fields))) => fields,
        Ok(httparse::Status::Partial) => return Err(malformed("incomplete trailer section")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(malformed(format!(
                "more than {} trailer fields",
                limits.max_fields
            )))
        }
        Err(e) => return Err(malformed(format!("trailer section: {e}"))),
    };
    let base = section.as_ptr() as usize;
    let mut trailers = HeaderMap::with_capacity(fields.len());
    for f in fields {
        let name = HeaderName::from_bytes(f.name.as_bytes())
            .map_err(|_| malformed(format!("invalid trailer name `{}`", f.name)))?;
        let start = f.value.as_ptr() as usize - base;
        let value = value_at(section, start, start + f.value.len())
            .ok_or_else(|| malformed(format!("invalid value of trailer `{name}`")))?;
        trailers.append(name, value);
    }
    Ok(trailers)
}

/// Accepts `Transfer-Encoding: chunked` and nothing else, as Go's client does: another coding
/// would hand the script encoded bytes as the body.
fn check_transfer_encoding(values: &[Cow<'_, [u8]>]) -> Result<(), Error> {
    let mut codings = values
        .iter()
        .flat_map(|v| v.split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty());
    let first = codings.next();
    if first.is_some_and(|t| t.eq_ignore_ascii_case(b"chunked")) && codings.next().is_none() {
        return Ok(());
    }
    let all: Vec<String> = values
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    Err(malformed(format!(
        "unsupported Transfer-Encoding `{}` (only `chunked` is supported)",
        all.join(", ")
    )))
}

/// The body length of `Content-Length` fields, which must all agree.
fn content_length(values: &[Cow<'_, [u8]>]) -> Result<u64, Error> {
    let mut length: Option<u64> = None;
    for value in values {
        for part in value.split(|b| *b == b',') {
            let part = part.trim_ascii();
            let n = std::str::from_utf8(part)
                .ok()
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u64>().ok())
                .ok_or_else(|| {
                    malformed(format!(
                        "invalid Content-Length `{}`",
                        String::from_utf8_lossy(value)
                    ))
                })?;
            if length.is_some_and(|l| l != n) {
                return Err(malformed("conflicting Content-Length values"));
            }
            length = Some(n);
        }
    }
    Ok(length.unwrap_or(0))
}

/// The size of a chunk from its size line (extensions ignored).
fn chunk_size(line: &[u8]) -> Result<u64, Error> {
    let digits = line
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(malformed(format!(
            "invalid chunk size `{}`",
            String::from_utf8_lossy(line)
        )));
    }
    let digits = std::str::from_utf8(digits).expect("hex digits are ASCII");
    u64::from_str_radix(digits, 16).map_err(|e| malformed(e.to_string()))
}

/// Whether any `name` field lists `token` (case-insensitive), as `Connection: close`.
pub fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    let values: Values<'_> = headers
        .get_all(name)
        .iter()
        .map(|v| Cow::Borrowed(v.as_bytes()))
        .collect();
    lists_token(&values, token)
}

/// Whether any of `values` lists `token` (case-insensitive).
fn lists_token(values: &[Cow<'_, [u8]>], token: &str) -> bool {
    values.iter().any(|v| {
        v.split(|b| *b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
