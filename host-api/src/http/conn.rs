//! Opening a connection (TCP, then TLS with ALPN for `https`), and what an exchange on any
//! connection reports back.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::errors::{self, RequestError};
use super::io::{Probe, ProbedTcp, Stream};
use super::target::Origin;
pub(crate) use super::tls::Alpn;
use super::Timings;

/// What a connection knows of its peer (k6's `remote_ip`, `remote_port`, `tls_version` and
/// `tls_cipher_suite` of a response).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnInfo {
    /// The server's address.
    pub remote: Option<SocketAddr>,
    /// `tls1.2`, `tls1.3`; empty over plain TCP.
    pub tls_version: &'static str,
    /// k6's (Go's) name of the cipher suite, e.g. `TLS_AES_128_GCM_SHA256`; empty over plain
    /// TCP.
    pub tls_cipher_suite: &'static str,
}

/// A new connection, before any request.
pub(crate) struct Connected {
    pub(crate) io: Stream,
    pub(crate) probe: Arc<Probe>,
    /// The TLS handshake chose `h2`.
    pub(crate) h2: bool,
}

/// Connects to `addr`, from the local address `local` when there is one (k6's `localIPs`).
async fn dial(addr: SocketAddr, local: Option<IpAddr>) -> std::io::Result<TcpStream> {
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

/// Connects to the first address that answers (from `local` when given), then does the TLS
/// handshake for `https`.
pub(crate) async fn connect(
    origin: &Origin,
    (addrs, local): (&[SocketAddr], Option<IpAddr>),
    tls: &super::tls::Connectors,
    alpn: Alpn,
    base: Instant,
    timings: &mut Timings,
) -> Result<Connected, RequestError> {
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
    let Some(tcp) = tcp else {
        let err = last_err.expect("at least one address was tried");
        return Err(errors::dial_error(&err));
    };
    let _ = tcp.set_nodelay(true);
    let connected = Instant::now();
    timings.connecting = connected - connect_start;
    let probe = Probe::new(base);
    let mut info = ConnInfo {
        remote: tcp.peer_addr().ok(),
        ..ConnInfo::default()
    };
    let tcp = ProbedTcp::new(tcp, probe.clone());
    if !origin.https() {
        probe.set_info(info);
        return Ok(Connected {
            io: Stream::Plain(tcp),
            probe,
            h2: false,
        });
    }
    let host = origin.bare_host();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|_| {
        RequestError::new(
            errors::INVALID_URL,
            format!("invalid TLS server name `{host}`"),
        )
    })?;
    let tls = tls
        .for_host(host, alpn)
        .connect(name, tcp)
        .await
        .map_err(|e| errors::tls_error(&e))?;
    timings.tls_handshaking = connected.elapsed();
    let session = tls.get_ref().1;
    let h2 = session.alpn_protocol() == Some(b"h2");
    info.tls_version = match session.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "tls1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "tls1.2",
        Some(rustls::ProtocolVersion::TLSv1_1) => "tls1.1",
        Some(rustls::ProtocolVersion::TLSv1_0) => "tls1.0",
        _ => "",
    };
    info.tls_cipher_suite = session
        .negotiated_cipher_suite()
        .map_or("", |s| super::tls::suite_name(s.suite()));
    probe.set_info(info);
    Ok(Connected {
        io: Stream::Tls(Box::new(tls)),
        probe,
        h2,
    })
}

/// Where the time of an exchange went, and how many bytes it moved.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Phases {
    /// Waiting for the connection to take the request (an HTTP/2 stream slot); counts as
    /// blocked.
    pub(crate) queued: Duration,
    pub(crate) sending: Duration,
    pub(crate) waiting: Duration,
    pub(crate) receiving: Duration,
    pub(crate) bytes: (u64, u64),
}

/// How an exchange on a connection ended.
// A response is the usual case: boxing it would cost an allocation per response.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Outcome {
    Done {
        status: u16,
        proto: &'static str,
        headers: super::ResponseHeaders,
        body: bytes::Bytes,
        phases: Phases,
        /// The connection can carry another request.
        keep: bool,
    },
    Failed {
        error: RequestError,
        phases: Phases,
        /// Whether sending it again is safe whatever the method (the server said it did not
        /// process it: a refused HTTP/2 stream), or only as Go's rules allow.
        retry: Retry,
    },
}

/// Whether a failed exchange may be sent again on another connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// No: a response (or part of one) arrived, or the failure was not the connection's.
    No,
    /// The connection failed before any byte of a response; `written` tells whether any of
    /// the request reached it. Go retries such a request on a reused connection when it was
    /// not written, or when it is replayable.
    Unanswered { written: bool },
    /// The server refused the stream without processing it (HTTP/2 `REFUSED_STREAM`, or a
    /// stream above a GOAWAY's last id): safe to send again whatever the method.
    Refused,
}
