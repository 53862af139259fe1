//! HTTP/2 failures as k6 reports them: a GOAWAY from the server is 1610 + 1 + its error code
//! (1611 NO_ERROR … 1624 HTTP_1_1_REQUIRED), a stream reset 1631 + code, a connection error
//! 1651 + code; 1610, 1630 and 1650 when the code is not one RFC 9113 defines.

use crate::http::errors::{self as codes, RequestError};

/// RFC 9113's error code names, by code.
const NAMES: [&str; 14] = [
    "NO_ERROR",
    "PROTOCOL_ERROR",
    "INTERNAL_ERROR",
    "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT",
    "STREAM_CLOSED",
    "FRAME_SIZE_ERROR",
    "REFUSED_STREAM",
    "CANCEL",
    "COMPRESSION_ERROR",
    "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY",
    "HTTP_1_1_REQUIRED",
];

/// k6's code and the code's name: `base + 1 + code` for a known code, `base` otherwise.
fn coded(base: u32, reason: h2::Reason) -> (u32, String) {
    let code = u32::from(reason);
    match NAMES.get(code as usize) {
        Some(name) => (base + 1 + code, (*name).to_owned()),
        None => (base, format!("unknown error code 0x{code:x}")),
    }
}

/// A GOAWAY with error code `code` from the server, as Go reports a connection that closed
/// after one.
pub(crate) fn goaway_error(code: u32) -> RequestError {
    let (code, name) = coded(codes::HTTP2_GOAWAY, h2::Reason::from(code));
    RequestError::new(
        code,
        format!("http2: received GoAway with http2 ErrCode {name}"),
    )
}

/// Classifies an error of the `h2` crate.
pub(crate) fn h2_error(e: &h2::Error) -> RequestError {
    if let Some(io) = e.get_io() {
        return codes::io_error("read", io);
    }
    let Some(reason) = e.reason() else {
        return RequestError::new(codes::GENERIC, format!("http2: {e}"));
    };
    if e.is_go_away() && e.is_remote() {
        let (code, name) = coded(codes::HTTP2_GOAWAY, reason);
        return RequestError::new(
            code,
            format!("http2: received GoAway with http2 ErrCode {name}"),
        );
    }
    if e.is_reset() && e.is_remote() {
        let (code, name) = coded(codes::HTTP2_STREAM, reason);
        return RequestError::new(
            code,
            format!("http2: stream error with http2 ErrCode {name}"),
        );
    }
    if e.is_reset() {
        // stampede reset the stream: the server broke the protocol on it.
        let (code, name) = coded(codes::HTTP2_STREAM, reason);
        return RequestError::new(
            code,
            format!("http2: stream error with http2 ErrCode {name} ({e})"),
        );
    }
    // stampede ended the connection (GOAWAY of its own), or h2 saw a connection error.
    let (code, name) = coded(codes::HTTP2_CONNECTION, reason);
    RequestError::new(
        code,
        format!("http2: connection error with http2 ErrCode {name} ({e})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_k6s() {
        assert_eq!(coded(codes::HTTP2_GOAWAY, h2::Reason::NO_ERROR).0, 1611);
        assert_eq!(
            coded(codes::HTTP2_GOAWAY, h2::Reason::PROTOCOL_ERROR).0,
            1612
        );
        assert_eq!(
            coded(codes::HTTP2_STREAM, h2::Reason::REFUSED_STREAM).0,
            1638
        );
        assert_eq!(coded(codes::HTTP2_STREAM, h2::Reason::CANCEL).0, 1639);
        assert_eq!(
            coded(codes::HTTP2_CONNECTION, h2::Reason::HTTP_1_1_REQUIRED).0,
            1664
        );
        let (code, name) = coded(codes::HTTP2_STREAM, h2::Reason::from(0x99));
        assert_eq!((code, name.as_str()), (1630, "unknown error code 0x99"));
        let e = h2_error(&h2::Error::from(h2::Reason::INTERNAL_ERROR));
        assert_eq!(e.code, 1653);
        assert!(e.message.contains("INTERNAL_ERROR"), "{}", e.message);
    }
}
