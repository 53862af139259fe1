//! A guest's stdout and stderr, line by line into the test's log (rate-limited).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::log::{Level, Logger};

/// Longest line kept; the rest of a longer line is cut.
const MAX_LINE: usize = 8 << 10;

pub(super) struct GuestOutput {
    log: Logger,
    vu: u32,
    stream: &'static str,
}

impl GuestOutput {
    pub(super) fn new(log: Logger, vu: u32, stream: &'static str) -> Self {
        Self { log, vu, stream }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            log: self.log.clone(),
            vu: self.vu.to_string(),
            stream: self.stream,
            line: Vec::new(),
        })
    }
}

struct LineWriter {
    log: Logger,
    vu: String,
    stream: &'static str,
    line: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line)
            .trim_end_matches('\r')
            .to_string();
        let level = if self.stream == "stderr" {
            Level::Warn
        } else {
            Level::Info
        };
        self.log.limited_to(
            crate::log::SCRIPT_BURST,
            &format!("guest-{}", self.stream),
            level,
            &text,
            &[("source", self.stream), ("vu", &self.vu)],
        );
        self.line.clear();
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        for &b in buf {
            if b == b'\n' {
                self.emit();
            } else if self.line.len() < MAX_LINE {
                self.line.push(b);
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.emit();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.emit();
    }
}
