//! Running outputs: a thread and a bounded queue for each output that wants samples, fed by
//! the store (a [`SampleTap`]) without ever blocking it; then the report for every output.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Output, OutputStats, Report};
use crate::log::{Level, Logger};
use crate::metrics::{Metrics, Sample, SampleTap};

/// Samples an output may have waiting before new batches are dropped: a few seconds of a busy
/// test (8 MiB), so that a sink that stalls costs bounded memory and never a VU's time.
pub const MAX_QUEUED_SAMPLES: usize = 1 << 18;
/// Batches an output may have waiting (most batches are small: one VU's iteration).
const MAX_QUEUED_BATCHES: usize = 1 << 14;

#[derive(Default)]
struct Counters {
    samples: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn error(&self, e: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }
}

/// The store's side of an output's queue.
struct QueueTap {
    tx: SyncSender<Arc<[Sample]>>,
    cap: usize,
    queued: Arc<AtomicUsize>,
    counters: Arc<Counters>,
}

impl SampleTap for QueueTap {
    fn offer(&mut self, batch: &Arc<[Sample]>) -> bool {
        let n = batch.len();
        if self.queued.load(Ordering::Relaxed) + n > self.cap {
            self.counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
            return true;
        }
        match self.tx.try_send(batch.clone()) {
            Ok(()) => {
                self.queued.fetch_add(n, Ordering::Relaxed);
            }
            // Full, or the output's thread is gone: either way the samples are lost to it.
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
        true
    }
}

enum State {
    /// Streaming on its thread, which hands the output back when the stream ends.
    Streaming {
        thread: JoinHandle<Box<dyn Output>>,
        done: Receiver<()>,
    },
    /// Not streaming (a report-only output, or the stream is over).
    Idle(Box<dyn Output>),
    /// Its thread did not finish in time, or panicked.
    Lost,
}

struct Running {
    name: String,
    counters: Arc<Counters>,
    state: State,
}

/// The outputs of a test.
pub struct Outputs {
    running: Vec<Running>,
    log: Logger,
}

impl Outputs {
    /// Starts `outputs`: those that want samples get a queue fed by `metrics`' store and a
    /// thread that drains it.
    pub fn start(outputs: Vec<Box<dyn Output>>, metrics: &Metrics, log: &Logger) -> Outputs {
        Self::start_with_queue(outputs, metrics, log, MAX_QUEUED_SAMPLES)
    }

    /// [`start`](Self::start), with queues of at most `cap` samples.
    pub fn start_with_queue(
        outputs: Vec<Box<dyn Output>>,
        metrics: &Metrics,
        log: &Logger,
        cap: usize,
    ) -> Outputs {
        let mut running = Vec::new();
        for out in outputs {
            let name = out.description();
            let counters = Arc::new(Counters::default());
            let state = if out.wants_samples() {
                Self::spawn(out, &name, metrics, &counters, log, cap)
            } else {
                State::Idle(out)
            };
            running.push(Running {
                name,
                counters,
                state,
            });
        }
        Outputs {
            running,
            log: log.clone(),
        }
    }

    fn spawn(
        out: Box<dyn Output>,
        name: &str,
        metrics: &Metrics,
        counters: &Arc<Counters>,
        log: &Logger,
        cap: usize,
    ) -> State {
        let (tx, rx) = mpsc::sync_channel(MAX_QUEUED_BATCHES);
        let queued = Arc::new(AtomicUsize::new(0));
        let (done_tx, done) = mpsc::channel();
        let pump = Pump {
            rx,
            queued: queued.clone(),
            counters: counters.clone(),
            log: log.clone(),
            name: name.to_owned(),
        };
        let spawned = std::thread::Builder::new()
            .name("stampede-output".into())
            .spawn(move || {
                let out = pump.run(out);
                let _ = done_tx.send(());
                out
            });
        match spawned {
            Ok(thread) => {
                metrics.store().add_tap(Box::new(QueueTap {
                    tx,
                    cap,
                    queued,
                    counters: counters.clone(),
                }));
                State::Streaming { thread, done }
            }
            Err(e) => {
                counters.error(format!("cannot start its thread: {e}"));
                State::Lost
            }
        }
    }

    /// What the outputs are, for the banner.
    pub fn descriptions(&self) -> Vec<String> {
        self.running.iter().map(|r| r.name.clone()).collect()
    }

    /// Ends the stream of samples: no more batches reach the outputs; each drains its queue
    /// and flushes, within `wait` for all of them together. Returns what became of each
    /// output's stream.
    pub fn end_stream(&mut self, metrics: &Metrics, wait: Duration) -> Vec<OutputStats> {
        metrics.store().clear_taps();
        let deadline = Instant::now() + wait;
        for r in &mut self.running {
            let state = std::mem::replace(&mut r.state, State::Lost);
            r.state = match state {
                State::Streaming { thread, done } => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match done.recv_timeout(left) {
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => match thread.join() {
                            Ok(out) => State::Idle(out),
                            Err(_) => {
                                r.counters.error("the output's thread panicked".into());
                                State::Lost
                            }
                        },
                        Err(RecvTimeoutError::Timeout) => {
                            self.log.log(
                                Level::Warn,
                                &format!(
                                    "the output {} did not finish within {}s: what it had not sent is lost",
                                    r.name,
                                    wait.as_secs()
                                ),
                                &[],
                            );
                            State::Lost
                        }
                    }
                }
                other => other,
            };
        }
        self.stats()
    }

    /// What became of each output's stream so far.
    pub fn stats(&self) -> Vec<OutputStats> {
        self.running
            .iter()
            .filter(|r| !matches!(r.state, State::Idle(ref o) if !o.wants_samples()))
            .map(|r| OutputStats {
                name: r.name.clone(),
                samples: r.counters.samples.load(Ordering::Relaxed),
                dropped: r.counters.dropped.load(Ordering::Relaxed),
                errors: r.counters.errors.load(Ordering::Relaxed),
                last_error: r
                    .counters
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone(),
                unfinished: matches!(r.state, State::Lost | State::Streaming { .. }),
            })
            .collect()
    }

    /// Hands the report to every output (after [`end_stream`](Self::end_stream)); failures
    /// are logged. Each runs on a thread of its own, outside any async runtime: writing files
    /// and pushing block.
    pub fn report(&mut self, report: &Report) {
        let log = &self.log;
        std::thread::scope(|scope| {
            for r in &mut self.running {
                if let State::Idle(out) = &mut r.state {
                    let name = &r.name;
                    scope.spawn(move || {
                        if let Err(e) = out.report(report) {
                            log.log(Level::Error, &format!("output {name}: {e}"), &[]);
                        }
                    });
                }
            }
        });
    }
}

/// An output's thread: drains its queue into it, flushing on its interval.
struct Pump {
    rx: Receiver<Arc<[Sample]>>,
    queued: Arc<AtomicUsize>,
    counters: Arc<Counters>,
    log: Logger,
    name: String,
}

impl Pump {
    fn run(self, mut out: Box<dyn Output>) -> Box<dyn Output> {
        let interval = out.flush_interval();
        let mut next = interval.map(|i| Instant::now() + i);
        loop {
            let got = match next {
                Some(at) => self
                    .rx
                    .recv_timeout(at.saturating_duration_since(Instant::now())),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match got {
                Ok(batch) => {
                    self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
                    self.counters
                        .samples
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    if let Err(e) = out.samples(&batch) {
                        self.failed(e);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // A busy stream never times out: flush when due either way.
            if let (Some(at), Some(every)) = (next, interval) {
                if Instant::now() >= at {
                    if let Err(e) = out.flush() {
                        self.failed(e);
                    }
                    next = Some(Instant::now() + every);
                }
            }
        }
        if let Err(e) = out.flush() {
            self.failed(e);
        }
        out
    }

    fn failed(&self, e: String) {
        self.log.limited(
            &format!("output-{}", self.name),
            Level::Error,
            &format!("output {}: {e}", self.name),
            &[],
        );
        self.counters.error(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::builtin;

    /// An output that records what it saw, sleeping `slow` per batch.
    struct Probe {
        seen: Arc<AtomicU64>,
        flushes: Arc<AtomicU64>,
        slow: Duration,
    }

    impl Output for Probe {
        fn description(&self) -> String {
            "probe".into()
        }
        fn wants_samples(&self) -> bool {
            true
        }
        fn flush_interval(&self) -> Option<Duration> {
            Some(Duration::from_millis(20))
        }
        fn samples(&mut self, batch: &[Sample]) -> Result<(), String> {
            std::thread::sleep(self.slow);
            self.seen.fetch_add(batch.len() as u64, Ordering::Relaxed);
            Ok(())
        }
        fn flush(&mut self) -> Result<(), String> {
            self.flushes.fetch_add(1, Ordering::Relaxed);
            Err("nowhere to write".into())
        }
    }

    fn batch(metrics: &Metrics, n: usize) -> Vec<Sample> {
        let tags = metrics.tag_set(&[]);
        vec![
            Sample {
                metric: builtin::HTTP_REQS,
                tags,
                value: 1.0,
                time: 0,
            };
            n
        ]
    }

    #[test]
    fn every_sample_reaches_a_keeping_up_output_and_the_end_flushes() {
        let metrics = Metrics::new();
        let (seen, flushes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let probe = Probe {
            seen: seen.clone(),
            flushes: flushes.clone(),
            slow: Duration::ZERO,
        };
        let log = Logger::to_writer(Level::Error, Box::new(std::io::sink()));
        let mut outputs = Outputs::start(vec![Box::new(probe)], &metrics, &log);
        for _ in 0..100 {
            metrics.record(&batch(&metrics, 10));
        }
        let stats = outputs.end_stream(&metrics, Duration::from_secs(10));
        assert_eq!(seen.load(Ordering::Relaxed), 1000);
        assert!(flushes.load(Ordering::Relaxed) >= 1);
        assert_eq!(stats[0].samples, 1000);
        assert_eq!(stats[0].dropped, 0);
        assert!(stats[0].errors >= 1, "failed flushes are counted");
        assert_eq!(stats[0].last_error.as_deref(), Some("nowhere to write"));
        assert!(!stats[0].unfinished);
    }

    #[test]
    fn a_stalled_output_drops_and_counts_instead_of_blocking() {
        let metrics = Metrics::new();
        let seen = Arc::new(AtomicU64::new(0));
        let probe = Probe {
            seen: seen.clone(),
            flushes: Arc::new(AtomicU64::new(0)),
            slow: Duration::from_millis(200),
        };
        let log = Logger::to_writer(Level::Error, Box::new(std::io::sink()));
        let mut outputs =
            Outputs::start_with_queue(vec![Box::new(probe)], &metrics, &log, 3 * 8192);
        let big = batch(&metrics, 1024);
        let started = Instant::now();
        let sent = 1000u64;
        for _ in 0..sent {
            metrics.record(&big);
        }
        // 1000 batches at 200 ms each would take minutes if recording waited for the output.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        // At most 3 hand-offs of 8192 samples were queued: the end drains them in seconds.
        let stats = outputs.end_stream(&metrics, Duration::from_secs(60));
        let s = &stats[0];
        assert!(s.dropped > 0, "{s:?}");
        assert_eq!(s.samples + s.dropped, sent * 1024, "{s:?}");
        assert_eq!(seen.load(Ordering::Relaxed), s.samples);
    }
}
