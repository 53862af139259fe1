//! k6's error codes for failed requests, and the classification of what went wrong.
//!
//! A failed request is never a host error: it becomes a response with status 0, a message and
//! one of these codes (the `error_code` tag), and counts in `http_req_failed`.

use std::fmt;
use std::io;

/// A request failure: k6's error code and a message for the script and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// k6's error code (see the constants in this module).
    pub code: u32,
    /// What happened, e.g. `dial: connection refused`.
    pub message: String,
}

/// Longest message a request error keeps, in bytes: a message may quote what a peer sent (a
/// header value of megabytes), and it goes to the script, the log and the outputs.
pub const MAX_MESSAGE: usize = 1024;

impl RequestError {
    /// A failure with `code` and `message` (cut to [`MAX_MESSAGE`] bytes, saying how long it
    /// was).
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE {
            let total = message.len();
            let mut end = MAX_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str(&format!("… (the message was {total} bytes)"));
        }
        Self { code, message }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (error code {})", self.message, self.code)
    }
}

/// Any other failure.
pub const GENERIC: u32 = 1000;
/// The URL could not be parsed or has an unsupported scheme.
pub const INVALID_URL: u32 = 1020;
/// The request did not complete within its timeout.
pub const REQUEST_TIMEOUT: u32 = 1050;
/// Name resolution failed.
pub const DNS: u32 = 1100;
/// The name resolved to no address.
pub const DNS_NO_SUCH_HOST: u32 = 1101;
/// The address is in `blacklistIPs`.
pub const BLACKLISTED_IP: u32 = 1110;
/// The host name is in `blockHostnames`.
pub const BLOCKED_HOSTNAME: u32 = 1111;
/// A TCP error other than the ones below.
pub const TCP: u32 = 1200;
/// Writing to a connection the peer had closed.
pub const TCP_BROKEN_PIPE: u32 = 1201;
/// The connection could not be established.
pub const TCP_DIAL: u32 = 1210;
/// Connecting took longer than the request's timeout.
pub const TCP_DIAL_TIMEOUT: u32 = 1211;
/// Nothing listens at the address.
pub const TCP_DIAL_REFUSED: u32 = 1212;
/// The peer reset the connection.
pub const TCP_RESET_BY_PEER: u32 = 1220;
/// A TLS error other than the ones below.
pub const TLS: u32 = 1300;
/// The peer did not speak TLS (the first record was not a TLS record).
pub const TLS_HEADER: u32 = 1301;
/// The server's certificate is not signed by a trusted authority.
pub const TLS_UNKNOWN_AUTHORITY: u32 = 1310;
/// The server's certificate does not match the host name.
pub const TLS_HOSTNAME_MISMATCH: u32 = 1311;
/// The response body could not be decompressed (k6's 1701).
pub const DECOMPRESSION: u32 = 1701;
/// An HTTP/2 GOAWAY from the server; 1611 + its error code when RFC 9113 defines it.
pub const HTTP2_GOAWAY: u32 = 1610;
/// An HTTP/2 stream reset; 1631 + its error code when RFC 9113 defines it.
pub const HTTP2_STREAM: u32 = 1630;
/// An HTTP/2 connection error; 1651 + its error code when RFC 9113 defines it.
pub const HTTP2_CONNECTION: u32 = 1650;
/// The response was not valid HTTP.
pub const INVALID_RESPONSE: u32 = 1000;
/// The response body is larger than `responseBodyLimit`.
pub const RESPONSE_TOO_LARGE: u32 = 1000;

/// The `error_code` of a response with status >= 400: 1000 + status, as in k6.
pub fn status_error_code(status: u16) -> u32 {
    if status >= 400 {
        1000 + u32::from(status)
    } else {
        0
    }
}

/// Classifies an error that happened while connecting.
pub(crate) fn dial_error(err: &io::Error) -> RequestError {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => {
            RequestError::new(TCP_DIAL_REFUSED, "dial: connection refused")
        }
        io::ErrorKind::TimedOut => RequestError::new(TCP_DIAL_TIMEOUT, "dial: i/o timeout"),
        io::ErrorKind::ConnectionReset => {
            RequestError::new(TCP_RESET_BY_PEER, "dial: connection reset by peer")
        }
        _ => RequestError::new(TCP_DIAL, format!("dial: {err}")),
    }
}

/// Classifies an I/O error on an established connection.
pub(crate) fn io_error(op: &str, err: &io::Error) -> RequestError {
    // A TLS alert after the handshake (a server that refuses the client certificate tells so
    // in TLS 1.3 only once the client has started sending).
    if let Some(tls) = rustls_error(err) {
        return classify_tls(tls);
    }
    match err.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            RequestError::new(TCP_RESET_BY_PEER, format!("{op}: connection reset by peer"))
        }
        io::ErrorKind::BrokenPipe => {
            RequestError::new(TCP_BROKEN_PIPE, format!("{op}: broken pipe"))
        }
        io::ErrorKind::UnexpectedEof => RequestError::new(GENERIC, format!("{op}: unexpected EOF")),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            RequestError::new(INVALID_RESPONSE, format!("malformed HTTP response: {err}"))
        }
        _ => RequestError::new(TCP, format!("{op}: {err}")),
    }
}

/// Classifies a TLS handshake failure.
pub(crate) fn tls_error(err: &io::Error) -> RequestError {
    if let Some(tls) = rustls_error(err) {
        return classify_tls(tls);
    }
    match err.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => {
            RequestError::new(TLS, format!("tls: handshake failed: {err}"))
        }
        _ => RequestError::new(TLS, format!("tls: {err}")),
    }
}

/// The rustls error inside an I/O error, if that is what it is.
pub(crate) fn rustls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
}

/// k6's code for a TLS failure: 1310 for an unknown authority (a self-signed certificate
/// too), 1311 for a name mismatch, 1301 for a peer that does not speak TLS, 1300 otherwise
/// (an expired certificate, a handshake the server refused, no common version or suite).
pub(crate) fn classify_tls(tls: &rustls::Error) -> RequestError {
    use rustls::CertificateError as C;
    match tls {
        rustls::Error::InvalidCertificate(
            C::UnknownIssuer | C::BadSignature | C::UnknownRevocationStatus,
        ) => RequestError::new(
            TLS_UNKNOWN_AUTHORITY,
            "x509: certificate signed by unknown authority",
        ),
        rustls::Error::InvalidCertificate(C::Other(other))
            if other.to_string().contains("CaUsedAsEndEntity") =>
        {
            RequestError::new(
                TLS_UNKNOWN_AUTHORITY,
                "x509: certificate signed by unknown authority (a CA certificate used by the server)",
            )
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => RequestError::new(
            TLS_HOSTNAME_MISMATCH,
            "x509: certificate doesn't match hostname",
        ),
        rustls::Error::InvalidMessage(_) => RequestError::new(
            TLS_HEADER,
            format!("tls: the server does not speak TLS ({tls})"),
        ),
        other => RequestError::new(TLS, format!("tls: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_above_400_get_k6_codes() {
        assert_eq!(status_error_code(200), 0);
        assert_eq!(status_error_code(302), 0);
        assert_eq!(status_error_code(404), 1404);
        assert_eq!(status_error_code(503), 1503);
    }

    #[test]
    fn io_errors_map_to_k6_codes() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(dial_error(&refused).code, TCP_DIAL_REFUSED);
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(io_error("read", &reset).code, TCP_RESET_BY_PEER);
        assert_eq!(
            io_error("write", &io::Error::from(io::ErrorKind::BrokenPipe)).code,
            TCP_BROKEN_PIPE
        );
    }

    #[test]
    fn a_message_quoting_megabytes_of_a_peer_is_cut() {
        let value = "é".repeat(3 << 20);
        let e = RequestError::new(GENERIC, format!("invalid Content-Length `{value}`"));
        assert!(e.message.len() < MAX_MESSAGE + 64, "{}", e.message.len());
        assert!(e.message.starts_with("invalid Content-Length `éé"));
        assert!(
            e.message.ends_with("… (the message was 6291481 bytes)"),
            "{}",
            &e.message[1000..]
        );
        assert_eq!(RequestError::new(GENERIC, "short").message, "short");
    }
}
