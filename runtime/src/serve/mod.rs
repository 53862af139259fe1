//! The built-in target: a small, fast HTTP server for demos and tests. It speaks HTTP/1.1
//! and HTTP/2 on every listener: over plain TCP, HTTP/2 with prior knowledge (h2c, told apart
//! by its preface); with TLS (a self-signed certificate made at start), whichever protocol the
//! client picks in ALPN (`h2`, `http/1.1`).
//!
//! | path | answer |
//! |---|---|
//! | `/` | `hello from stampede` |
//! | `/get` | the request as JSON (method, proto, path, query, headers) |
//! | `/post` | the request body, echoed with its content type |
//! | `/status/{code}` | that status |
//! | `/delay/{ms}` | `ok` after `ms` milliseconds (at most 60 s) |
//! | `/bytes/{n}` | `n` bytes (at most 64 MiB) |
//! | `/redirect/{n}` | a 302 chain of `n` hops ending at `/get` |
//! | `/redirect-to?url=URL` | a 302 to `URL` |
//! | `/capacity?workers=K&ms=S` | `ok` from one of K workers of S ms each; excess requests queue (see [`capacity`]) |
//! | `/degrade?ms=S&per=N` | `ok` after S·(1 + n/N) ms, n the requests already in flight |

pub mod capacity;
mod routes;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Counts of what the server saw.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    connections: AtomicU64,
    h2_requests: AtomicU64,
    /// The known-capacity targets' workers, which live as long as the server.
    targets: capacity::Targets,
}

impl Stats {
    /// Requests answered (or being answered).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Connections accepted.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Requests that came over HTTP/2.
    pub fn h2_requests(&self) -> u64 {
        self.h2_requests.load(Ordering::Relaxed)
    }

    fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether the server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Security {
    /// Plain TCP: HTTP/1.1, and HTTP/2 with prior knowledge (h2c).
    #[default]
    Plain,
    /// TLS with a self-signed certificate for `localhost`, `127.0.0.1` and `::1`, made at
    /// start; ALPN offers `h2` and `http/1.1`.
    Tls,
}

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    security: Security,
    stats: Arc<Stats>,
    stop: CancellationToken,
}

impl Server {
    /// Starts serving plain HTTP on `addr` (port 0 picks a free port).
    pub async fn start(addr: SocketAddr) -> io::Result<Server> {
        Self::start_with(addr, Security::Plain).await
    }

    /// Starts serving on `addr`, with TLS or without.
    pub async fn start_with(addr: SocketAddr, security: Security) -> io::Result<Server> {
        let tls = match security {
            Security::Plain => None,
            Security::Tls => Some(tls_acceptor()?),
        };
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(listener, tls, stats.clone(), stop.clone()));
        Ok(Server {
            addr,
            security,
            stats,
            stop,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> String {
        match self.security {
            Security::Plain => format!("http://{}", self.addr),
            Security::Tls => format!("https://{}", self.addr),
        }
    }

    /// What it has seen.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A TLS acceptor with a certificate made now, offering `h2` and `http/1.1`.
fn tls_acceptor() -> io::Result<tokio_rustls::TlsAcceptor> {
    let names = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stats: Arc<Stats>,
    stop: CancellationToken,
) {
    loop {
        let (stream, _) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        stats.connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(connection(stream, tls.clone(), stats.clone(), stop.clone()));
    }
}

async fn connection(
    tcp: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stats: Arc<Stats>,
    stop: CancellationToken,
) {
    match tls {
        None => serve(tcp, stats, stop).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp));
            if let Ok(Ok(tls)) = handshake.await {
                serve(tls, stats, stop).await
            }
        }
    }
}

/// Serves one connection: HTTP/1.1, or HTTP/2 when it opens with the HTTP/2 preface.
async fn serve<S>(io: S, stats: Arc<Stats>, stop: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let stats = stats.clone();
        async move {
            if req.version() == hyper::Version::HTTP_2 {
                stats.h2_requests.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, Infallible>(routes::handle(req, &stats).await)
        }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = conn => {}
        _ = stop.cancelled() => {}
    }
}
