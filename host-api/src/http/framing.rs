//! Request framing owned by the client: `Host`, `Content-Length`, `Transfer-Encoding` and
//! `Connection` are written from the request itself. A script value that agrees with the
//! request is accepted; one that contradicts it is refused with a message saying what to
//! write instead, so the client can never desynchronise its own connection.

use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::errors::{self, RequestError};

/// What the script's headers say about framing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Framing {
    /// The script's `Host`: sent as `Host` (HTTP/1.1) or `:authority` (HTTP/2), as Go sends
    /// `req.Host`.
    pub(crate) host: Option<HeaderValue>,
    /// The body is sent chunked (the script asked for `Transfer-Encoding: chunked`).
    pub(crate) chunked: bool,
    /// The script asked for `Connection: close`: the connection is not reused.
    pub(crate) close: bool,
    /// The script set `Authorization` (a URL's credentials then do not replace it).
    pub(crate) has_authorization: bool,
}

/// Headers the client writes itself, which the writers skip among the script's.
pub(crate) fn is_framing(name: &HeaderName) -> bool {
    name == HOST || name == CONTENT_LENGTH || name == TRANSFER_ENCODING
}

fn refused(why: String) -> RequestError {
    RequestError::new(errors::GENERIC, format!("invalid request: {why}"))
}

/// Checks the script's framing headers against a body of `body_len` bytes.
pub(crate) fn check(headers: &HeaderMap, body_len: usize) -> Result<Framing, RequestError> {
    let mut framing = Framing::default();
    let mut length: Option<&HeaderValue> = None;
    let mut te: Option<&HeaderValue> = None;
    for (name, value) in headers {
        if name == HOST {
            if framing.host.is_some() {
                return Err(refused("more than one Host header".into()));
            }
            if value.is_empty() || value.as_bytes().iter().any(|b| b.is_ascii_whitespace()) {
                return Err(refused(format!("invalid Host header `{}`", lossy(value))));
            }
            framing.host = Some(value.clone());
        } else if name == CONTENT_LENGTH {
            if length.is_some_and(|l| l != value) {
                return Err(refused("conflicting Content-Length headers".into()));
            }
            length = Some(value);
        } else if name == TRANSFER_ENCODING {
            if te.is_some() {
                return Err(refused("more than one Transfer-Encoding header".into()));
            }
            te = Some(value);
        } else if name == CONNECTION {
            framing.close |= value
                .as_bytes()
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
        } else if name == http::header::AUTHORIZATION {
            framing.has_authorization = true;
        }
    }
    if let Some(te) = te {
        if !te.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked") {
            return Err(refused(format!(
                "Transfer-Encoding `{}` is not supported (only `chunked`; leave it out and the \
                 client frames the body itself)",
                lossy(te)
            )));
        }
        if length.is_some() {
            return Err(refused(
                "both Content-Length and Transfer-Encoding: chunked (use one)".into(),
            ));
        }
        framing.chunked = true;
    }
    if let Some(value) = length {
        let declared = std::str::from_utf8(value.as_bytes())
            .ok()
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok());
        if declared != Some(body_len as u64) {
            return Err(refused(format!(
                "the Content-Length header says `{}` but the body has {body_len} bytes (leave \
                 the header out: the client writes it)",
                lossy(value)
            )));
        }
    }
    Ok(framing)
}

fn lossy(v: &HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn headers_that_agree_with_the_request_are_accepted() {
        let f = check(&headers(&[("content-length", "5")]), 5).unwrap();
        assert!(!f.chunked && f.host.is_none());
        let f = check(&headers(&[("Transfer-Encoding", "Chunked")]), 5).unwrap();
        assert!(f.chunked);
        let f = check(&headers(&[("host", "api.example:8443")]), 0).unwrap();
        assert_eq!(f.host.unwrap(), "api.example:8443");
        let f = check(&headers(&[("connection", "keep-alive, Close")]), 0).unwrap();
        assert!(f.close);
        let f = check(&headers(&[("authorization", "Bearer x")]), 0).unwrap();
        assert!(f.has_authorization);
    }

    #[test]
    fn headers_that_contradict_the_body_are_refused_with_a_reason() {
        for (pairs, body, says) in [
            (
                vec![("content-length", "4")],
                5,
                "says `4` but the body has 5 bytes",
            ),
            (vec![("content-length", "abc")], 5, "says `abc`"),
            (
                vec![("content-length", "5"), ("content-length", "6")],
                5,
                "conflicting",
            ),
            (vec![("transfer-encoding", "gzip")], 5, "not supported"),
            (
                vec![("transfer-encoding", "chunked"), ("content-length", "5")],
                5,
                "both",
            ),
            (vec![("host", "a"), ("host", "b")], 0, "more than one Host"),
            (vec![("host", "a b")], 0, "invalid Host"),
        ] {
            let e = check(&headers(&pairs), body).unwrap_err();
            assert_eq!(e.code, errors::GENERIC);
            assert!(e.message.contains(says), "{pairs:?}: {}", e.message);
        }
    }
}
