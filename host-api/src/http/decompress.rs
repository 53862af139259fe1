//! Response bodies in `gzip`, `deflate`, `br` and `zstd`, decompressed as k6 does: whenever
//! the response's `Content-Encoding` names them (k6 sends no `Accept-Encoding` of its own, and
//! decodes whatever arrives), codings applied in turn undone last first.
//!
//! Decoding streams into a buffer that may not grow past `responseBodyLimit`: a compression
//! bomb (gigabytes of zeros in a few megabytes) fails the request as soon as the limit is
//! passed, long before memory is in danger. Every layer of a stack of codings is held to the
//! same limit (a bomb inside a bomb stops at the first one's), a response may list at most
//! [`MAX_CODINGS`] codings (as curl allows), and decoding stops at the request's deadline
//! (gzip members that hold nothing can make megabytes of work without a byte of output).
//! Damaged data is k6's error 1701.

use std::io::{self, Read};
use std::time::Instant;

use bytes::Bytes;
use http::header::CONTENT_ENCODING;
use http::HeaderMap;

use super::errors::{self, RequestError};

/// A content coding stampede can undo (and apply, for request bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// `gzip` (RFC 1952), several members allowed.
    Gzip,
    /// `deflate`: zlib (RFC 1950) as the RFC says, or raw deflate (RFC 1951) as some servers
    /// send and browsers accept.
    Deflate,
    /// `br` (RFC 7932).
    Br,
    /// `zstd` (RFC 8878), with the 8 MiB window limit RFC 9659 sets for HTTP.
    Zstd,
}

impl Coding {
    /// The coding named `token` (case-insensitive), if stampede knows it.
    pub(crate) fn from_token(token: &str) -> Option<Self> {
        Some(match token.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" => Coding::Deflate,
            "br" => Coding::Br,
            "zstd" => Coding::Zstd,
            _ => return None,
        })
    }

    /// Its name in `Content-Encoding`.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Br => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// Largest zstd window accepted: 8 MiB (RFC 9659, section 3).
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// Most codings a response may list (curl's limit): one decoder each, each with its buffers
/// and its stack frames.
pub(crate) const MAX_CODINGS: usize = 5;

/// The codings of a response to undo, in the order they were applied; `None` when there is
/// nothing to do (no header, only `identity`) or a coding is unknown — then the body is handed
/// over as it came, as k6 does with codings it does not know.
/// The list stops one past [`MAX_CODINGS`]: [`decode`] refuses such a response.
pub(crate) fn codings(headers: &HeaderMap) -> Option<Vec<Coding>> {
    let mut out = Vec::new();
    for value in headers.get_all(CONTENT_ENCODING) {
        let value = std::str::from_utf8(value.as_bytes()).ok()?;
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if token.eq_ignore_ascii_case("identity") {
                continue;
            }
            out.push(Coding::from_token(token)?);
            if out.len() > MAX_CODINGS {
                return Some(out);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Why a layer stopped early.
#[derive(Debug)]
enum Stop {
    /// It produced more than the limit.
    TooLarge,
    /// The request's deadline passed.
    Deadline,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::TooLarge => "past the limit",
            Stop::Deadline => "past the deadline",
        })
    }
}

impl std::error::Error for Stop {}

/// A layer's reader that fails once it has given more than `left` bytes, or once `deadline`
/// has passed (checked on every read, which is a few times per 32 KiB of input at most).
struct Bounded<R> {
    inner: R,
    left: u64,
    deadline: Option<Instant>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(io::Error::other(Stop::Deadline));
        }
        let n = self.inner.read(buf)?;
        self.left = self
            .left
            .checked_sub(n as u64)
            .ok_or_else(|| io::Error::other(Stop::TooLarge))?;
        Ok(n)
    }
}

/// Undoes `codings` on `body`, refusing to produce more than `limit` bytes at any layer or to
/// go on past `deadline`.
pub(crate) fn decode(
    body: &[u8],
    codings: &[Coding],
    limit: u64,
    deadline: Option<Instant>,
) -> Result<Bytes, RequestError> {
    if codings.len() > MAX_CODINGS {
        return Err(RequestError::new(
            errors::DECOMPRESSION,
            format!(
                "error decompressing response body (Content-Encoding lists more than {MAX_CODINGS} codings)"
            ),
        ));
    }
    let bounded = |inner| Bounded {
        inner,
        left: limit,
        deadline,
    };
    // The body itself is within the limit already: its reader only watches the deadline.
    let mut reader: Box<dyn Read + '_> = Box::new(Bounded {
        inner: body,
        left: u64::MAX,
        deadline,
    });
    for coding in codings.iter().rev() {
        let layer = decoder(*coding, reader).map_err(|e| failed(codings, limit, *coding, &e))?;
        reader = Box::new(bounded(layer));
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit as usize));
    match reader.read_to_end(&mut out) {
        Ok(_) => Ok(Bytes::from(out)),
        Err(e) => Err(failed(codings, limit, codings[0], &e)),
    }
}

/// The request's error for a decoding that stopped with `e` (`coding`: the one that failed,
/// when the data was damaged).
fn failed(codings: &[Coding], limit: u64, coding: Coding, e: &io::Error) -> RequestError {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Stop>()) {
        Some(Stop::TooLarge) => RequestError::new(
            errors::RESPONSE_TOO_LARGE,
            format!(
                "response body is larger than the limit of {limit} bytes (responseBodyLimit) once decompressed ({})",
                names(codings)
            ),
        ),
        Some(Stop::Deadline) => RequestError::new(
            errors::REQUEST_TIMEOUT,
            format!("request timeout while decompressing the response body ({})", names(codings)),
        ),
        None => damaged(coding, e),
    }
}

fn names(codings: &[Coding]) -> String {
    codings
        .iter()
        .map(|c| c.token())
        .collect::<Vec<_>>()
        .join(", ")
}

fn damaged(coding: Coding, e: &io::Error) -> RequestError {
    RequestError::new(
        errors::DECOMPRESSION,
        format!(
            "error decompressing response body ({}: {e})",
            coding.token()
        ),
    )
}

fn decoder<'a>(coding: Coding, inner: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match coding {
        Coding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(inner)),
        Coding::Deflate => {
            let mut inner = io::BufReader::new(inner);
            let zlib = {
                let head = io::BufRead::fill_buf(&mut inner)?;
                head.len() >= 2 && is_zlib_header(head[0], head[1])
            };
            if zlib {
                Box::new(flate2::bufread::ZlibDecoder::new(inner))
            } else {
                Box::new(flate2::bufread::DeflateDecoder::new(inner))
            }
        }
        Coding::Br => Box::new(brotli::Decompressor::new(inner, 8 << 10)),
        Coding::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(inner)?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(d)
        }
    })
}

/// RFC 1950: method 8 (deflate), a window of at most 32 KiB, and a check value.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::compress::encode;

    fn headers(ce: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_ENCODING, ce.parse().unwrap());
        h
    }

    #[test]
    fn every_coding_round_trips_and_stacks() {
        let text = b"hello hello hello hello, compressed world".repeat(50);
        for list in [
            "gzip",
            "deflate",
            "br",
            "zstd",
            "gzip, br",
            "zstd,deflate,gzip",
        ] {
            let codings: Vec<Coding> = list
                .split(',')
                .map(|t| Coding::from_token(t.trim()).unwrap())
                .collect();
            let packed = encode(&codings, &text).unwrap();
            assert_ne!(&packed[..], &text[..]);
            let found = self::codings(&headers(list)).unwrap();
            assert_eq!(found, codings);
            assert_eq!(
                decode(&packed, &found, 1 << 20, None).unwrap(),
                text,
                "{list}"
            );
        }
    }

    #[test]
    fn raw_deflate_is_accepted_too() {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"raw deflate body").unwrap();
        let raw = e.finish().unwrap();
        assert_eq!(
            decode(&raw, &[Coding::Deflate], 100, None).unwrap(),
            &b"raw deflate body"[..]
        );
    }

    #[test]
    fn unknown_or_identity_codings_leave_the_body_alone() {
        assert_eq!(codings(&headers("identity")), None);
        assert_eq!(codings(&headers("gzip, compress")), None);
        assert_eq!(codings(&HeaderMap::new()), None);
        assert_eq!(codings(&headers("GZIP")), Some(vec![Coding::Gzip]));
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 8 << 20];
        for c in [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd] {
            let packed = encode(&[c], &zeros).unwrap();
            assert!(packed.len() < 64 << 10, "{c:?}: {}", packed.len());
            let err = decode(&packed, &[c], 1 << 20, None).unwrap_err();
            assert_eq!(err.code, errors::RESPONSE_TOO_LARGE, "{c:?}");
            assert!(err.message.contains("responseBodyLimit"), "{}", err.message);
            assert_eq!(decode(&packed, &[c], 8 << 20, None).unwrap().len(), 8 << 20);
        }
    }

    #[test]
    fn damaged_data_is_error_1701() {
        let packed = encode(&[Coding::Gzip], b"some body that is long enough").unwrap();
        for c in [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Zstd] {
            let err = decode(b"this is not compressed at all", &[c], 1000, None).unwrap_err();
            assert_eq!(err.code, 1701, "{c:?}: {}", err.message);
            assert!(err.message.starts_with("error decompressing response body"));
        }
        let err = decode(&packed[..packed.len() - 6], &[Coding::Gzip], 1000, None).unwrap_err();
        assert_eq!(err.code, 1701, "truncated: {}", err.message);
    }

    #[test]
    fn a_stack_of_codings_is_bounded_in_length_size_and_time() {
        // Six codings are refused before any decoder is made; five are undone.
        let text = b"layers".repeat(10);
        let five = [Coding::Gzip; MAX_CODINGS];
        let packed = encode(&five, &text).unwrap();
        assert_eq!(decode(&packed, &five, 1000, None).unwrap(), text);
        let list = vec!["gzip"; 50_000].join(",");
        let found = codings(&headers(&list)).unwrap();
        assert_eq!(
            found.len(),
            MAX_CODINGS + 1,
            "the list stops one past the limit"
        );
        let err = decode(&packed, &found, 1000, None).unwrap_err();
        assert_eq!(err.code, 1701);
        assert!(
            err.message.contains("more than 5 codings"),
            "{}",
            err.message
        );
        // A bomb inside a bomb: the outer layer's output is held to the limit too, though
        // the inner one would make nothing of it (empty gzip members).
        let member = encode(&[Coding::Gzip], b"").unwrap();
        let members = member.repeat((4 << 20) / member.len());
        let packed = encode(&[Coding::Gzip], &members).unwrap();
        let two = [Coding::Gzip, Coding::Gzip];
        let err = decode(&packed, &two, 1 << 20, None).unwrap_err();
        assert_eq!(err.code, errors::RESPONSE_TOO_LARGE, "{}", err.message);
        // And work without output stops at the deadline.
        let err = decode(&members, &[Coding::Gzip], 1 << 20, Some(Instant::now())).unwrap_err();
        assert_eq!(err.code, errors::REQUEST_TIMEOUT, "{}", err.message);
        assert!(
            err.message.contains("while decompressing"),
            "{}",
            err.message
        );
        assert!(decode(&members, &[Coding::Gzip], 1 << 20, None)
            .unwrap()
            .is_empty());
    }
}
