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
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `n` VU threads (at least one).
    pub fn start(n: usize) -> std::io::Result<Workers> {
        let mut handles = Vec::new();
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
                    let _ = handle_tx.send(Ok(rt.handle().clone()));
                    rt.block_on(async {
                        let _ = stop_rx.await;
                    });
                })?;
            let handle = handle_rx
                .recv()
                .map_err(|_| std::io::Error::other("a VU thread died while starting"))??;
            handles.push(handle);
            stops.push(stop_tx);
            threads.push(thread);
        }
        Ok(Workers {
            handles: handles.into(),
            stops,
            threads,
        })
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
                        value: late.as_secs_f64() * 1000.0,
                        time,
                    }]);
                }
            });
        }
    }
}

/// How often the timer-lag probe wakes up.
const LAG_PROBE: std::time::Duration = std::time::Duration::from_millis(10);

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
