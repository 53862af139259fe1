//! Targets whose capacity is known by construction, for `stampede capacity`'s tests and demo.
//!
//! - `/capacity?workers=K&ms=S`: K workers, each taking exactly S ms per request; requests that
//!   find every worker busy wait their turn, in order of arrival. The capacity is K·1000/S
//!   requests per second: below it every request takes S ms, above it the queue grows without
//!   end.
//! - `/degrade?ms=S&per=N`: no queue, but each request takes S·(1 + n/N) ms, where n is the
//!   number of requests already in flight when it arrives — a service whose shared resources
//!   contend. At a steady rate λ its latency is S/(1 − λS/N): it degrades gradually and has no
//!   single breaking point, so the load a latency objective allows depends on the objective.
//!
//! The workers run on a virtual schedule: a worker's next request starts when its previous one
//! was due to end, not when the timer that ended it fired, so timer lateness never accumulates
//! and the capacity holds exactly. A request that would wait more than a minute for a worker is
//! refused at once with 503 (the queue is full).
//!
//! Each server keeps its own workers per distinct `(workers, ms)` and `(ms, per)`, at most
//! [`MAX_TARGETS`] of them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use tokio::time::Instant;

/// Distinct targets one server keeps.
pub const MAX_TARGETS: usize = 64;
/// Most workers of one target.
pub const MAX_WORKERS: u64 = 10_000;
/// Longest service time, in milliseconds.
pub const MAX_MS: f64 = 60_000.0;
/// Longest a request may wait for a worker before it is refused.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A target's key: `(workers, µs)` or `(µs, per × 1000)`.
type Key = (u64, u64);

/// The state of a server's capacity targets.
#[derive(Debug, Default)]
pub struct Targets {
    queues: Mutex<HashMap<Key, Arc<Mutex<Workers>>>>,
    degrading: Mutex<HashMap<Key, Arc<AtomicU64>>>,
}

/// When each worker is next free, earliest first.
#[derive(Debug)]
struct Workers {
    free_at: BinaryHeap<Reverse<Instant>>,
}

impl Workers {
    fn new(n: u64, now: Instant) -> Self {
        Self {
            free_at: (0..n).map(|_| Reverse(now)).collect(),
        }
    }

    /// Books the earliest free worker for `service` from `now` (or from when it frees up);
    /// returns when the request is done, or `None` when it would wait longer than `max_wait`.
    fn book(&mut self, now: Instant, service: Duration, max_wait: Duration) -> Option<Instant> {
        let Reverse(free) = *self.free_at.peek()?;
        let start = free.max(now);
        if start - now > max_wait {
            return None;
        }
        let done = start + service;
        self.free_at.pop();
        self.free_at.push(Reverse(done));
        Some(done)
    }
}

/// Reads `name=NUMBER` from a query string.
fn param(query: &str, name: &str) -> Option<Result<f64, String>> {
    let value = query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))?;
    Some(
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{name}={value}` is not a number")),
    )
}

/// A required parameter within `lo..=hi`.
fn bounded(query: &str, name: &str, lo: f64, hi: f64) -> Result<f64, String> {
    let v = param(query, name).ok_or_else(|| format!("give `{name}=`"))??;
    if v < lo || v > hi {
        return Err(format!("`{name}` must be between {lo} and {hi}, not {v}"));
    }
    Ok(v)
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}

fn too_many() -> Response<Full<Bytes>> {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("this server keeps at most {MAX_TARGETS} distinct capacity targets\n"),
    )
}

/// Milliseconds as a whole number of microseconds (the key of a target).
fn micros(ms: f64) -> u64 {
    (ms * 1000.0).round() as u64
}

impl Targets {
    /// `/capacity?workers=K&ms=S`.
    pub async fn queue(&self, query: Option<&str>) -> Response<Full<Bytes>> {
        let query = query.unwrap_or("");
        let parsed = bounded(query, "workers", 1.0, MAX_WORKERS as f64)
            .and_then(|k| Ok((k, bounded(query, "ms", 0.001, MAX_MS)?)));
        let (workers, ms) = match parsed {
            Ok(p) => p,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
        };
        let workers = workers as u64;
        let key = (workers, micros(ms));
        let target = {
            let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            if !queues.contains_key(&key) && queues.len() >= MAX_TARGETS {
                return too_many();
            }
            queues
                .entry(key)
                .or_insert_with(|| Arc::new(Mutex::new(Workers::new(workers, Instant::now()))))
                .clone()
        };
        let service = Duration::from_micros(key.1);
        let booked = target.lock().unwrap_or_else(|e| e.into_inner()).book(
            Instant::now(),
            service,
            MAX_WAIT,
        );
        match booked {
            Some(done) => {
                tokio::time::sleep_until(done).await;
                text(StatusCode::OK, "ok\n")
            }
            None => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the queue is full: every worker is booked for more than a minute\n",
            ),
        }
    }

    /// `/degrade?ms=S&per=N`.
    pub async fn degrade(&self, query: Option<&str>) -> Response<Full<Bytes>> {
        let query = query.unwrap_or("");
        let parsed = bounded(query, "ms", 0.001, MAX_MS)
            .and_then(|ms| Ok((ms, bounded(query, "per", 0.001, 1e6)?)));
        let (ms, per) = match parsed {
            Ok(p) => p,
            Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
        };
        let key = (micros(ms), micros(per));
        let in_flight = {
            let mut all = self.degrading.lock().unwrap_or_else(|e| e.into_inner());
            if !all.contains_key(&key) && all.len() >= MAX_TARGETS {
                return too_many();
            }
            all.entry(key).or_default().clone()
        };
        // Counted down however the request ends, even when the client goes away mid-wait.
        let guard = InFlight::enter(in_flight);
        let slowdown = 1.0 + guard.others as f64 / per;
        let service = Duration::from_secs_f64((ms * slowdown).min(MAX_MS) / 1000.0);
        tokio::time::sleep(service).await;
        drop(guard);
        text(StatusCode::OK, "ok\n")
    }
}

/// One request in flight at a degrading target.
struct InFlight {
    count: Arc<AtomicU64>,
    /// Requests in flight when this one arrived.
    others: u64,
}

impl InFlight {
    fn enter(count: Arc<AtomicU64>) -> Self {
        let others = count.fetch_add(1, Ordering::Relaxed);
        Self { count, others }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_serve_in_arrival_order_and_excess_requests_queue() {
        let t0 = Instant::now();
        let mut w = Workers::new(2, t0);
        let s = Duration::from_millis(20);
        let max = Duration::from_secs(60);
        // Two at once: both served at once; the third waits for the first free worker.
        assert_eq!(w.book(t0, s, max), Some(t0 + s));
        assert_eq!(w.book(t0, s, max), Some(t0 + s));
        assert_eq!(w.book(t0, s, max), Some(t0 + 2 * s));
        assert_eq!(w.book(t0, s, max), Some(t0 + 2 * s));
        assert_eq!(w.book(t0, s, max), Some(t0 + 3 * s));
        // Late arrivals after the workers went idle start when they arrive.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(w.book(later, s, max), Some(later + s));
    }

    #[test]
    fn capacity_is_workers_over_service_time_exactly() {
        // 1,000 requests at once on 4 workers of 20 ms: the last ends after 250 rounds.
        let t0 = Instant::now();
        let mut w = Workers::new(4, t0);
        let s = Duration::from_millis(20);
        let mut last = t0;
        for _ in 0..1000 {
            last = w.book(t0, s, Duration::from_secs(60)).unwrap();
        }
        assert_eq!(last - t0, Duration::from_secs(5), "200 requests per second");
    }

    #[test]
    fn a_request_that_would_wait_too_long_is_refused_and_books_nothing() {
        let t0 = Instant::now();
        let mut w = Workers::new(1, t0);
        let s = Duration::from_millis(100);
        let max = Duration::from_millis(250);
        for _ in 0..3 {
            assert!(w.book(t0, s, max).is_some());
        }
        // The fourth would wait 300 ms.
        assert_eq!(w.book(t0, s, max), None);
        // It took no turn: one arriving 100 ms later waits 200 ms, for the third's end.
        let later = t0 + s;
        assert_eq!(w.book(later, s, max), Some(t0 + 4 * s));
    }

    #[test]
    fn parameters_are_checked() {
        assert_eq!(bounded("workers=4&ms=20", "ms", 0.001, MAX_MS), Ok(20.0));
        assert!(bounded("workers=4", "ms", 0.001, MAX_MS)
            .unwrap_err()
            .contains("give `ms=`"));
        assert!(bounded("ms=abc", "ms", 0.001, MAX_MS)
            .unwrap_err()
            .contains("not a number"));
        assert!(bounded("ms=NaN", "ms", 0.001, MAX_MS).is_err());
        assert!(bounded("workers=0", "workers", 1.0, 10.0)
            .unwrap_err()
            .contains("between"));
        // `xms=` is not `ms=`.
        assert!(bounded("xms=5", "ms", 0.001, MAX_MS).is_err());
    }
}
