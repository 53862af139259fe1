//! One HTTP/1.1 connection, driven on the VU's own task.
//!
//! hyper's connection future is polled right here, next to the request, instead of on a task
//! of its own: one task and no cross-task wake-up per request, which is most of the cost of a
//! request on loopback.

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Uri, Version};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::errors::{self, RequestError};
use super::io::{Probe, ProbedTcp, Stream};
use super::Timings;

/// Where a connection goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    https: bool,
    host: Box<str>,
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

    /// The origin of a URL string.
    pub fn of_url(url: &str) -> Result<Self, RequestError> {
        let uri: Uri = url
            .parse()
            .map_err(|_| RequestError::new(errors::INVALID_URL, format!("invalid URL `{url}`")))?;
        Self::of_uri(&uri)
    }

    /// Host name or address (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether this is an `https` origin.
    pub fn is_https(&self) -> bool {
        self.https
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

type Driver = http1::Connection<TokioIo<Stream>, Full<Bytes>>;

/// An open connection: the request side and the connection future that does the I/O.
pub(crate) struct Conn {
    origin: Origin,
    sender: http1::SendRequest<Full<Bytes>>,
    driver: Pin<Box<Driver>>,
    probe: Arc<Probe>,
    /// Bytes already attributed to earlier exchanges (a new connection's TLS handshake is
    /// attributed to its first exchange, as k6 does).
    counted: (u64, u64),
    /// The `Host` header for this origin.
    host: Option<http::HeaderValue>,
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

impl Conn {
    /// Connects to the first address that answers, then does the TLS handshake for `https`.
    pub(crate) async fn connect(
        origin: &Origin,
        addrs: &[SocketAddr],
        tls: &tokio_rustls::TlsConnector,
        base: Instant,
        timings: &mut Timings,
    ) -> Result<Conn, RequestError> {
        let connect_start = Instant::now();
        let mut last_err = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
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
        let stream = if origin.https {
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
        let (sender, driver) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| errors::hyper_error(&e))?;
        Ok(Conn {
            origin: origin.clone(),
            sender,
            driver: Box::pin(driver),
            probe,
            counted: (0, 0),
            host: http::HeaderValue::from_str(&origin.host_header()).ok(),
        })
    }

    /// Whether an idle connection is still open: polls the connection once, which notices a
    /// close by the server.
    fn is_usable(&mut self) -> bool {
        if self.sender.is_closed() {
            return false;
        }
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match self.driver.as_mut().poll(&mut cx) {
            Poll::Ready(_) => false,
            Poll::Pending => !self.sender.is_closed(),
        }
    }

    /// Sends one request and reads the whole response, polling the connection alongside.
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

        let mut builder = http::Request::builder().method(method.clone()).uri(target);
        if let Some(h) = builder.headers_mut() {
            *h = headers.clone();
            if !h.contains_key(http::header::HOST) {
                if let Some(host) = &self.host {
                    h.insert(http::header::HOST, host.clone());
                }
            }
        }
        let request = match builder.body(Full::new(body)) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Failed {
                    error: RequestError::new(errors::GENERIC, format!("invalid request: {e}")),
                    phases: Phases::default(),
                    unanswered: false,
                    written: false,
                }
            }
        };

        let mut driver_done = false;
        let result = {
            let sender = &mut self.sender;
            let exchange = async move {
                poll_fn(|cx| sender.poll_ready(cx))
                    .await
                    .map_err(|e| (errors::hyper_error(&e), true))?;
                let response = sender.send_request(request).await.map_err(|e| {
                    let unanswered = e.is_canceled() || e.is_incomplete_message() || is_reset(&e);
                    (errors::hyper_error(&e), unanswered)
                })?;
                let (parts, mut incoming) = response.into_parts();
                let mut buf = if discard {
                    BytesMut::new()
                } else {
                    let hint = hyper::body::Body::size_hint(&incoming)
                        .lower()
                        .min(body_limit);
                    BytesMut::with_capacity(hint as usize)
                };
                let mut total: u64 = 0;
                while let Some(frame) = incoming.frame().await {
                    let frame = frame.map_err(|e| (errors::hyper_error(&e), false))?;
                    if let Ok(data) = frame.into_data() {
                        total += data.len() as u64;
                        if total > body_limit {
                            return Err((
                            RequestError::new(
                                errors::RESPONSE_TOO_LARGE,
                                format!("response body is larger than the limit of {body_limit} bytes (responseBodyLimit)"),
                            ),
                            false,
                        ));
                        }
                        if !discard {
                            buf.extend_from_slice(&data);
                        }
                    }
                }
                Ok((parts, buf.freeze()))
            };

            let mut exchange = std::pin::pin!(exchange);
            let driver = &mut self.driver;
            let timed = async {
                loop {
                    tokio::select! {
                        biased;
                        res = &mut exchange => break res,
                        res = driver.as_mut(), if !driver_done => {
                            driver_done = true;
                            if let Err(e) = res {
                                // The exchange future sees the same error; keep it for the message.
                                let _ = e;
                            }
                        }
                    }
                }
            };
            tokio::time::timeout_at(deadline, timed).await
        };
        let end = Instant::now();
        let phases = self.phases(ready_at, end);

        match result {
            Err(_) => Outcome::Failed {
                error: RequestError::new(errors::REQUEST_TIMEOUT, "request timeout"),
                phases,
                unanswered: false,
                written: true,
            },
            Ok(Err((error, unanswered))) => Outcome::Failed {
                error,
                phases,
                unanswered: unanswered && self.probe.first_read().is_none(),
                written: self.probe.last_write().is_some(),
            },
            Ok(Ok((parts, body))) => {
                let proto = match parts.version {
                    Version::HTTP_10 => "HTTP/1.0",
                    Version::HTTP_2 => "HTTP/2.0",
                    _ => "HTTP/1.1",
                };
                let keep = !driver_done && !self.sender.is_closed();
                Outcome::Done {
                    status: parts.status.as_u16(),
                    proto,
                    headers: parts.headers,
                    body,
                    phases,
                    keep,
                }
            }
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

fn is_reset(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            );
        }
        source = s.source();
    }
    false
}
