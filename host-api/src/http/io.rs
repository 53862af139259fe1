//! The connection's byte stream, instrumented: it notes when the request was last written and
//! when the response's first byte arrived, and counts bytes both ways. These marks, taken on
//! the real socket, give the sending / waiting / receiving phases of a request.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Marks and byte counts shared between a connection's stream and the request using it.
///
/// Times are nanoseconds since `base`; 0 means "not yet". The stream and the request run on
/// the same task, so relaxed atomics are only there to make the type `Sync`.
#[derive(Debug)]
pub(crate) struct Probe {
    base: Instant,
    last_write: AtomicU64,
    first_read: AtomicU64,
    written: AtomicU64,
    read: AtomicU64,
    /// The peer and the TLS parameters, once connected.
    info: std::sync::OnceLock<super::conn::ConnInfo>,
}

impl Probe {
    pub(crate) fn new(base: Instant) -> Arc<Self> {
        Arc::new(Self {
            base,
            last_write: AtomicU64::new(0),
            first_read: AtomicU64::new(0),
            written: AtomicU64::new(0),
            read: AtomicU64::new(0),
            info: std::sync::OnceLock::new(),
        })
    }

    fn now(&self) -> u64 {
        // Never 0, which means "not yet".
        (self.base.elapsed().as_nanos() as u64).max(1)
    }

    /// Notes what the connection knows of its peer (once, when it is made).
    pub(crate) fn set_info(&self, info: super::conn::ConnInfo) {
        let _ = self.info.set(info);
    }

    /// The peer and the TLS parameters of the connection.
    pub(crate) fn info(&self) -> super::conn::ConnInfo {
        self.info.get().copied().unwrap_or_default()
    }

    /// Forgets the marks of the previous request on this connection.
    pub(crate) fn reset_marks(&self) {
        self.last_write.store(0, Ordering::Relaxed);
        self.first_read.store(0, Ordering::Relaxed);
    }

    /// When the request was last written to, if it was.
    pub(crate) fn last_write(&self) -> Option<Instant> {
        self.at(self.last_write.load(Ordering::Relaxed))
    }

    /// When the first byte after the request arrived, if it did.
    pub(crate) fn first_read(&self) -> Option<Instant> {
        self.at(self.first_read.load(Ordering::Relaxed))
    }

    fn at(&self, nanos: u64) -> Option<Instant> {
        (nanos != 0).then(|| self.base + std::time::Duration::from_nanos(nanos))
    }

    /// Bytes written and read so far on this connection.
    pub(crate) fn bytes(&self) -> (u64, u64) {
        (
            self.written.load(Ordering::Relaxed),
            self.read.load(Ordering::Relaxed),
        )
    }
}

/// A TCP stream that reports to a [`Probe`].
pub(crate) struct ProbedTcp {
    inner: TcpStream,
    probe: Arc<Probe>,
}

impl ProbedTcp {
    pub(crate) fn new(inner: TcpStream, probe: Arc<Probe>) -> Self {
        Self { inner, probe }
    }
}

impl AsyncRead for ProbedTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        if n > 0 {
            let p = &self.probe;
            p.read.fetch_add(n, Ordering::Relaxed);
            if p.first_read.load(Ordering::Relaxed) == 0
                && p.last_write.load(Ordering::Relaxed) != 0
            {
                p.first_read.store(p.now(), Ordering::Relaxed);
            }
        }
        res
    }
}

impl AsyncWrite for ProbedTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = res {
            self.note_written(n);
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl ProbedTcp {
    fn note_written(&self, n: usize) {
        if n > 0 {
            self.probe.written.fetch_add(n as u64, Ordering::Relaxed);
            self.probe
                .last_write
                .store(self.probe.now(), Ordering::Relaxed);
        }
    }
}

/// A connection's stream: plain TCP or TLS over it.
pub(crate) enum Stream {
    Plain(ProbedTcp),
    Tls(Box<TlsStream<ProbedTcp>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
