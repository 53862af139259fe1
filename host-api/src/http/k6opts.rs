//! k6's client options that shape how requests go out rather than what they are: connection
//! reuse, `hosts`, `dns`, `localIPs`, the `rps` cap, `batch` concurrency, `throw` and
//! `httpDebug`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::dns::DnsConfig;
use super::hosts::Hosts;

/// k6's options of the HTTP client besides timeouts, redirects, TLS and blocklists.
#[derive(Debug, Clone)]
pub struct K6Settings {
    /// Close every connection after its request, and say so (`Connection: close`):
    /// `noConnectionReuse`.
    pub no_connection_reuse: bool,
    /// Close a VU's idle connections at the end of each iteration: `noVUConnectionReuse`
    /// (done by the embedder, which knows where iterations end).
    pub no_vu_connection_reuse: bool,
    /// Names answered without DNS: `hosts`.
    pub hosts: Hosts,
    /// How names are resolved: `dns`.
    pub dns: DnsConfig,
    /// Most requests of one batch in flight at once (0: no limit): `batch`, 20 by default.
    pub batch: usize,
    /// Most requests of one batch in flight at once to one host (0: no limit):
    /// `batchPerHost`, 6 by default.
    pub batch_per_host: usize,
    /// Most requests started per second by the whole test (0: no limit): `rps`.
    pub rps: u64,
    /// A request that gets no response ends the iteration with an error: `throw`.
    pub throw: bool,
    /// Requests and responses written to the log: `httpDebug`.
    pub http_debug: Option<HttpDebug>,
    /// The addresses VUs send from: `localIPs`.
    pub local_ips: Option<super::local_ips::IpPool>,
    /// Keep a VU's cookies from one iteration to the next: `noCookiesReset` (done by the
    /// embedder, which knows where iterations start).
    pub no_cookies_reset: bool,
}

impl Default for K6Settings {
    fn default() -> Self {
        Self {
            no_connection_reuse: false,
            no_vu_connection_reuse: false,
            hosts: Hosts::default(),
            dns: DnsConfig::default(),
            batch: 20,
            batch_per_host: 6,
            rps: 0,
            throw: false,
            http_debug: None,
            local_ips: None,
            no_cookies_reset: false,
        }
    }
}

/// What `httpDebug` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpDebug {
    /// Request and response heads.
    Headers,
    /// Heads and bodies.
    Full,
}

impl HttpDebug {
    /// k6's values: empty is off, `full` includes bodies, anything else is `headers`.
    pub fn from_option(value: &str) -> Option<HttpDebug> {
        match value.trim() {
            "" => None,
            "full" => Some(HttpDebug::Full),
            _ => Some(HttpDebug::Headers),
        }
    }
}

/// k6's `rps`: requests of the whole test start at most this often, evenly spaced (a token
/// bucket holding one token, like the Go limiter k6 uses).
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limit of `per_second` requests; `None` for 0 (no limit).
    pub fn new(per_second: u64) -> Option<RateLimiter> {
        (per_second > 0).then(|| RateLimiter {
            interval: Duration::from_secs(1) / u32::try_from(per_second).unwrap_or(u32::MAX),
            next: Mutex::new(None),
        })
    }

    /// Waits for this request's turn.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The concurrency limits of one `batch` call: `batch` in all, `batchPerHost` per host.
pub(super) struct BatchLimits {
    all: Option<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl BatchLimits {
    pub(super) fn new(settings: &K6Settings) -> Self {
        Self {
            all: (settings.batch > 0).then(|| Semaphore::new(settings.batch)),
            per_host: settings.batch_per_host,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot in all, then one for the URL's host (as k6's workers do): hold the
    /// result while the request is in flight.
    pub(super) async fn enter(
        &self,
        url: &str,
    ) -> (Option<SemaphorePermit<'_>>, Option<OwnedSemaphorePermit>) {
        let all = match &self.all {
            Some(s) => s.acquire().await.ok(),
            None => None,
        };
        let host = match (self.per_host, url::Url::parse(url)) {
            (0, _) | (_, Err(_)) => None,
            (n, Ok(u)) => {
                let key = format!(
                    "{}:{}",
                    u.host_str().unwrap_or_default(),
                    u.port_or_known_default().unwrap_or(0)
                );
                let sem = self
                    .hosts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(key)
                    .or_insert_with(|| Arc::new(Semaphore::new(n)))
                    .clone();
                sem.acquire_owned().await.ok()
            }
        };
        (all, host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_spaces_requests_evenly() {
        let limiter = Arc::new(RateLimiter::new(10).unwrap());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let l = limiter.clone();
            tasks.push(tokio::spawn(async move {
                l.wait().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap() - start);
        }
        times.sort();
        let ms: Vec<u128> = times.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [0, 100, 200, 300, 400]);
        // After a pause, one request may go at once (the bucket holds one token), no more.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let t0 = Instant::now();
        limiter.wait().await;
        limiter.wait().await;
        assert_eq!(t0.elapsed(), Duration::from_millis(100));
        assert!(RateLimiter::new(0).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn batch_limits_cap_in_all_and_per_host() {
        let limits = BatchLimits::new(&K6Settings {
            batch: 3,
            batch_per_host: 2,
            ..K6Settings::default()
        });
        let a1 = limits.enter("http://a:80/1").await;
        let _a2 = limits.enter("http://a/2").await;
        // A third request to `a` waits for its host, a request to `b` goes.
        let blocked =
            tokio::time::timeout(Duration::from_secs(1), limits.enter("http://a/3")).await;
        assert!(blocked.is_err());
        let _b1 = limits.enter("http://b/1").await;
        // Three in flight: even `c` waits for a slot in all.
        let blocked =
            tokio::time::timeout(Duration::from_secs(1), limits.enter("http://c/1")).await;
        assert!(blocked.is_err());
        drop(a1);
        let _a3 = limits.enter("http://a/3").await;
    }
}
