//! Stopping and failing a test, from wherever the decision is made: the script, a threshold
//! with `abortOnFail`, or a signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Why a test stopped before its scenarios ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The script called `abort-test` (exit code 108).
    Script(String),
    /// An `abortOnFail` threshold failed (exit code 99).
    Threshold(String),
    /// SIGINT or SIGTERM (exit code 105).
    Signal(String),
}

impl Stop {
    /// `script`, `threshold` or `signal`: how partial results name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Stop::Script(_) => "script",
            Stop::Threshold(_) => "threshold",
            Stop::Signal(_) => "signal",
        }
    }

    /// Why, in words.
    pub fn reason(&self) -> &str {
        match self {
            Stop::Script(r) | Stop::Threshold(r) | Stop::Signal(r) => r,
        }
    }
}

/// Shared by everything that runs in a test. Cheap to clone.
#[derive(Clone, Default)]
pub struct Control {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Set with `graceful`, readable without a lock (checked before every iteration).
    stopping: AtomicBool,
    stop: Mutex<Option<Stop>>,
    failed: Mutex<Option<String>>,
    graceful: CancellationToken,
    immediate: CancellationToken,
}

impl Control {
    /// A test that is running.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the test: no new iterations start; with `immediate`, running ones are
    /// interrupted too, else they get their scenario's gracefulStop. The first reason given is
    /// the one reported.
    pub fn stop(&self, why: Stop, immediate: bool) {
        {
            let mut stop = self.inner.stop.lock().unwrap_or_else(|e| e.into_inner());
            if stop.is_none() {
                *stop = Some(why);
            }
        }
        self.inner.stopping.store(true, Ordering::Relaxed);
        self.inner.graceful.cancel();
        if immediate {
            self.inner.immediate.cancel();
        }
    }

    /// Whether the test is stopping (no new iteration may start).
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::Relaxed)
    }

    /// Interrupts running iterations now (after a graceful stop has begun).
    pub fn interrupt(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
        self.inner.graceful.cancel();
        self.inner.immediate.cancel();
    }

    /// Why the test was stopped early, if it was.
    pub fn stopped(&self) -> Option<Stop> {
        self.inner
            .stop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Cancelled when no new iteration may start.
    pub fn graceful(&self) -> &CancellationToken {
        &self.inner.graceful
    }

    /// Cancelled when running iterations must end now.
    pub fn immediate(&self) -> &CancellationToken {
        &self.inner.immediate
    }

    /// Marks the test as failed (exit code 110), keeping the first reason.
    pub fn fail(&self, reason: &str) {
        let mut failed = self.inner.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed.is_none() {
            *failed = Some(reason.to_owned());
        }
    }

    /// Why the script marked the test as failed, if it did.
    pub fn failed(&self) -> Option<String> {
        self.inner
            .failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
