//! Threads that run the VUs: one single-threaded tokio runtime per core, each VU's tasks kept
//! on one of them.
//!
//! A work-stealing runtime moves tasks between threads and wakes sleeping threads to do so; for
//! VUs that each spend a few microseconds between socket events, that costs more CPU than the
//! requests themselves (measured: about 35% more per request on 2 cores). With a runtime per
//! core, a VU's task, its sockets and their readiness events stay on one thread.

use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::metrics::{builtin, Metrics, Sample};

/// Where VU tasks run.
#[derive(Clone)]
pub enum Spawner {
    /// On the runtime of the caller (tests with paused time use this).
    Current,
    /// On the VU threads, by key.
    Workers(Arc<[Handle]>),
}

impl Spawner {
    /// Spawns `fut` into `tasks`, on the VU thread that `key` (a VU id, say) maps to.
    pub fn spawn<F>(&self, tasks: &mut JoinSet<F::Output>, key: u64, fut: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Spawner::Current => {
                tasks.spawn(fut);
            }
            Spawner::Workers(handles) => {
                tasks.spawn_on(fut, &handles[(key % handles.len() as u64) as usize]);
            }
        }
    }
}

/// The VU threads; they stop when this is dropped.
pub struct Workers {
    handles: Arc<[Handle]>,
    /// The kernel's ids of the threads, for their scheduler statistics.
    tids: Vec<libc::pid_t>,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` VU threads (at least one).
    pub fn start(n: usize) -> std::io::Result<Workers> {
        let mut handles = Vec::new();
        let mut tids = Vec::new();
        let mut stops = Vec::new();
        let mut threads = Vec::new();
        for i in 0..n.max(1) {
            let (handle_tx, handle_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name(format!("stampede-vu-{i}"))
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = handle_tx.send(Err(e));
                            return;
                        }
                    };
                    // SAFETY: gettid has no preconditions.
                    let tid = unsafe { libc::gettid() };
                    let _ = handle_tx.send(Ok((rt.handle().clone(), tid)));
                    rt.block_on(async {
                        let _ = stop_rx.await;
                    });
                })?;
            let (handle, tid) = handle_rx
                .recv()
                .map_err(|_| std::io::Error::other("a VU thread died while starting"))??;
            handles.push(handle);
            tids.push(tid);
            stops.push(stop_tx);
            threads.push(thread);
        }
        Ok(Workers {
            handles: handles.into(),
            tids,
            stops,
            threads,
        })
    }

    /// How long each VU thread has run and waited to run so far, from the kernel's scheduler
    /// statistics; `None` where the kernel does not keep them.
    pub fn sched_stats(&self) -> Option<Vec<SchedStat>> {
        self.tids
            .iter()
            .map(|tid| SchedStat::of_thread(*tid))
            .collect()
    }

    /// A spawner onto these threads.
    pub fn spawner(&self) -> Spawner {
        Spawner::Workers(self.handles.clone())
    }

    /// Measures, on every VU thread, how late a 10 ms timer fires: the `generator_timer_lag`
    /// trend. A busy or starved thread shows up here before anywhere else.
    pub fn probe_timer_lag(&self, metrics: &Metrics) {
        for handle in self.handles.iter() {
            let metrics = metrics.clone();
            handle.spawn(async move {
                let tags = metrics.tag_set(&[]);
                loop {
                    let asked = tokio::time::Instant::now();
                    tokio::time::sleep(LAG_PROBE).await;
                    let late = asked.elapsed().saturating_sub(LAG_PROBE);
                    let time = metrics.now();
                    metrics.record(&[Sample {
                        metric: builtin::GENERATOR_TIMER_LAG,
                        tags,
                        value: crate::metrics::millis(late),
                        time,
                    }]);
                }
            });
        }
    }
}

/// A thread's time on a core and time waiting for one, as the kernel counts them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SchedStat {
    pub running: Duration,
    pub waiting: Duration,
}

impl SchedStat {
    fn of_thread(tid: libc::pid_t) -> Option<SchedStat> {
        let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
        Self::parse(&text)
    }

    /// `/proc/…/schedstat`: nanoseconds on a core, nanoseconds runnable but waiting, slices.
    fn parse(text: &str) -> Option<SchedStat> {
        let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
        Some(SchedStat {
            running: Duration::from_nanos(fields.next()??),
            waiting: Duration::from_nanos(fields.next()??),
        })
    }
}

/// The share of `wall` that the busiest VU thread spent running or waiting for a core between
/// two readings: near 1 when a thread always had work — its own CPU was the limit, or other
/// processes kept it from a core.
pub fn busiest_thread(before: &[SchedStat], after: &[SchedStat], wall: Duration) -> Option<f64> {
    if wall.is_zero() || before.len() != after.len() {
        return None;
    }
    before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            let busy = a.running.saturating_sub(b.running) + a.waiting.saturating_sub(b.waiting);
            (busy.as_secs_f64() / wall.as_secs_f64()).min(1.0)
        })
        .max_by(f64::total_cmp)
}

/// How often the timer-lag probe wakes up.
const LAG_PROBE: Duration = Duration::from_millis(10);

impl Drop for Workers {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_lines_parse() {
        let s = SchedStat::parse("1500000000 250000000 42\n").unwrap();
        assert_eq!(s.running, Duration::from_millis(1500));
        assert_eq!(s.waiting, Duration::from_millis(250));
        assert_eq!(SchedStat::parse("garbage"), None);
    }

    #[test]
    fn the_busiest_thread_counts_running_and_waiting() {
        let at = |r, w| SchedStat {
            running: Duration::from_millis(r),
            waiting: Duration::from_millis(w),
        };
        let before = [at(0, 0), at(100, 0)];
        let after = [at(300, 100), at(700, 300)];
        let busy = busiest_thread(&before, &after, Duration::from_secs(1)).unwrap();
        assert!((busy - 0.9).abs() < 1e-9, "{busy}");
        assert_eq!(
            busiest_thread(&before, &after[..1], Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn a_spinning_thread_is_busy_and_a_sleeping_one_is_not() {
        let workers = Workers::start(1).unwrap();
        let before = workers
            .sched_stats()
            .expect("Linux keeps scheduler statistics");
        let started = std::time::Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        workers.handles[0].spawn(async move {
            let until = std::time::Instant::now() + Duration::from_millis(300);
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
            let _ = tx.send(());
        });
        rx.recv().unwrap();
        let after = workers.sched_stats().unwrap();
        let busy = busiest_thread(&before, &after, started.elapsed()).unwrap();
        assert!(busy > 0.8, "spinning: {busy}");

        let before = after;
        let started = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(300));
        let after = workers.sched_stats().unwrap();
        let busy = busiest_thread(&before, &after, started.elapsed()).unwrap();
        assert!(busy < 0.2, "idle: {busy}");
    }
}
