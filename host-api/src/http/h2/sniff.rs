//! Watches the frames a server sends for GOAWAY, to learn its last stream id: `h2` reports a
//! GOAWAY to every stream above it, and only those were certainly not processed — the ones
//! Go's client (and so stampede) sends again on a new connection.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The lowest last-stream-id of the GOAWAY frames seen, and the error code of the last one.
#[derive(Debug)]
pub(crate) struct GoAway {
    last_stream: AtomicU32,
    code: AtomicU32,
}

impl Default for GoAway {
    fn default() -> Self {
        Self {
            last_stream: AtomicU32::new(u32::MAX),
            code: AtomicU32::new(0),
        }
    }
}

impl GoAway {
    /// The last stream id the server said it may process, once it sent a GOAWAY.
    pub(crate) fn last_stream(&self) -> Option<u32> {
        Some(self.last_stream.load(Ordering::Relaxed)).filter(|id| *id != u32::MAX)
    }

    /// The error code of the server's GOAWAY, once it sent one.
    pub(crate) fn code(&self) -> Option<u32> {
        self.last_stream()
            .map(|_| self.code.load(Ordering::Relaxed))
    }

    fn saw(&self, id: u32, code: u32) {
        self.code.store(code, Ordering::Relaxed);
        self.last_stream
            .fetch_min(id & 0x7fff_ffff, Ordering::Relaxed);
    }
}

const FRAME_HEADER: usize = 9;
const GOAWAY: u8 = 0x7;

/// A frame scanner: it keeps only the current frame's header and, for a GOAWAY, the first
/// four bytes of its payload.
#[derive(Debug, Default)]
struct Scanner {
    header: [u8; FRAME_HEADER],
    header_len: usize,
    /// Payload bytes of the current frame still to pass.
    payload_left: usize,
    /// Payload bytes passed so far (of a GOAWAY: the last stream id and the error code are
    /// the first eight).
    payload_seen: usize,
    fields: [u8; 8],
    goaway: bool,
}

impl Scanner {
    fn feed(&mut self, mut bytes: &[u8], found: &GoAway) {
        while !bytes.is_empty() {
            if self.header_len < FRAME_HEADER {
                let k = (FRAME_HEADER - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + k].copy_from_slice(&bytes[..k]);
                self.header_len += k;
                bytes = &bytes[k..];
                if self.header_len == FRAME_HEADER {
                    let h = &self.header;
                    self.payload_left =
                        usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
                    self.payload_seen = 0;
                    self.goaway = h[3] == GOAWAY;
                    if self.payload_left == 0 {
                        self.header_len = 0;
                    }
                }
                continue;
            }
            let k = self.payload_left.min(bytes.len());
            if self.goaway && self.payload_seen < 8 {
                let want = (8 - self.payload_seen).min(k);
                self.fields[self.payload_seen..self.payload_seen + want]
                    .copy_from_slice(&bytes[..want]);
                if self.payload_seen + want == 8 {
                    let [a, b, c, d, e, f, g, h] = self.fields;
                    found.saw(
                        u32::from_be_bytes([a, b, c, d]),
                        u32::from_be_bytes([e, f, g, h]),
                    );
                }
            }
            self.payload_seen += k;
            self.payload_left -= k;
            bytes = &bytes[k..];
            if self.payload_left == 0 {
                self.header_len = 0;
            }
        }
    }
}

/// A stream whose incoming HTTP/2 frames are scanned for GOAWAY.
pub(crate) struct Sniffed<S> {
    inner: S,
    scanner: Scanner,
    found: Arc<GoAway>,
}

impl<S> Sniffed<S> {
    pub(crate) fn new(inner: S, found: Arc<GoAway>) -> Self {
        Self {
            inner,
            scanner: Scanner::default(),
            found,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Sniffed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            this.scanner.feed(&buf.filled()[before..], &this.found);
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniffed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, 0];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn a_goaway_is_found_among_frames_however_they_are_split() {
        let mut wire = frame(0x4, 0, &[0; 12]); // SETTINGS
        wire.extend(frame(0x0, 1, b"hello")); // DATA
        wire.extend(frame(0x4, 0, &[])); // SETTINGS ack
        let mut goaway = 5u32.to_be_bytes().to_vec();
        goaway.extend_from_slice(&2u32.to_be_bytes());
        goaway.extend_from_slice(b"bye");
        wire.extend(frame(GOAWAY, 0, &goaway));
        wire.extend(frame(0x0, 3, b"after"));
        for step in [1, 2, 5, wire.len()] {
            let found = GoAway::default();
            let mut s = Scanner::default();
            for piece in wire.chunks(step) {
                s.feed(piece, &found);
            }
            assert_eq!(found.last_stream(), Some(5), "pieces of {step}");
            assert_eq!(found.code(), Some(2), "pieces of {step}");
        }
        let found = GoAway::default();
        Scanner::default().feed(&frame(0x0, 1, b"GOAWAY"), &found);
        assert_eq!(found.last_stream(), None);
    }
}
