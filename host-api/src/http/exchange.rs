//! One exchange (one redirect hop): the URL and framing checked, a connection found or made
//! (HTTP/1.1 or HTTP/2), the request sent, and sent again on a new connection when Go's rules
//! say it is safe.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method};

use super::conn::{self, Alpn, Outcome, Phases, Retry};
use super::errors::{self, RequestError};
use super::framing;
use super::h1::{H1Conn, Outgoing};
use super::h2::H2Conn;
use super::pool::{PoolHandle, Pooled};
use super::target::{Origin, Target};
use super::{resolve, Exchange, HttpVersion, Shared, Timings};

/// Attempts of one exchange at most (the first and the retries).
const MAX_ATTEMPTS: u32 = 8;

/// What one exchange needs besides the connection.
pub(crate) struct Hop<'a> {
    pub(crate) method: &'a Method,
    pub(crate) url: &'a str,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) deadline: tokio::time::Instant,
    pub(crate) discard: bool,
    pub(crate) version: HttpVersion,
    /// The local address to connect from (`localIPs`).
    pub(crate) local: Option<IpAddr>,
}

/// A connection to send on.
enum Acquired {
    H1(H1Conn),
    H2(H2Conn),
}

/// One exchange over a pooled or new connection.
pub(crate) async fn exchange(shared: &Shared, pool: &PoolHandle, hop: Hop<'_>) -> Exchange {
    let start = Instant::now();
    let mut timings = Timings::default();
    let fail = |timings: Timings, e: RequestError| {
        Exchange::failed(hop.method.clone(), hop.url.to_owned(), timings, e)
    };
    let (target, framing) = match prepare(shared, pool, &hop) {
        Ok(t) => t,
        Err(e) => return fail(timings, e),
    };
    let out = Outgoing {
        method: hop.method,
        target: &target,
        headers: hop.headers,
        framing: &framing,
        body: &hop.body,
    };
    // Bytes of failed attempts are on the wire too.
    let mut spent = (0, 0);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let origin = &target.origin;
        let acquired = match pooled(pool, origin, hop.version, start, &mut timings) {
            Some(conn) => Ok((conn, true)),
            None => Box::pin(dial(shared, pool, origin, &hop, start, &mut timings)).await,
        };
        let (conn, reused) = match acquired {
            Ok(c) => c,
            Err(e) => return fail(timings, e),
        };
        let info = match &conn {
            Acquired::H1(c) => c.info(),
            Acquired::H2(c) => c.info(),
        };
        let (error, phases, retry) = match send_on(shared, pool, conn, &out, &hop).await {
            Outcome::Done {
                status,
                proto,
                headers,
                body,
                phases,
                ..
            } => {
                add_phases(&mut timings, &phases);
                return Exchange {
                    method: hop.method.clone(),
                    url: target.masked.as_deref().unwrap_or(hop.url).to_owned(),
                    written_url: target.masked.is_some().then(|| hop.url.to_owned()),
                    status,
                    proto,
                    headers,
                    body,
                    timings,
                    error: None,
                    bytes_sent: spent.0 + phases.bytes.0,
                    bytes_received: spent.1 + phases.bytes.1,
                    challenge: false,
                    conn: info,
                };
            }
            Outcome::Failed {
                error,
                phases,
                retry,
            } => (error, phases, retry),
        };
        match again(&hop, retry, reused, attempt).await {
            Ok(true) => {
                spent = (spent.0 + phases.bytes.0, spent.1 + phases.bytes.1);
                timings = Timings::default();
            }
            Ok(false) => {
                add_phases(&mut timings, &phases);
                let mut ex = fail(timings, error);
                (ex.bytes_sent, ex.bytes_received) =
                    (spent.0 + phases.bytes.0, spent.1 + phases.bytes.1);
                return ex;
            }
            Err(timeout) => return fail(timings, timeout),
        }
    }
}

/// The request's target and framing, checked before any connection is sought.
fn prepare(
    shared: &Shared,
    pool: &PoolHandle,
    hop: &Hop<'_>,
) -> Result<(Arc<Target>, framing::Framing), RequestError> {
    let target = pool.parse_url(hop.url)?;
    let host = target.origin.host();
    if shared.config.net.hostname_blocked(host) {
        let why = format!("hostname `{host}` is blocked");
        return Err(RequestError::new(errors::BLOCKED_HOSTNAME, why));
    }
    let framing = framing::check(hop.headers, hop.body.len())?;
    Ok((target, framing))
}

/// Sends on `conn` and gives it back to the pool when it may carry more (HTTP/1.1), or drops
/// the origin's HTTP/2 connection when it failed, or when connections are not reused
/// (`noConnectionReuse`: the next request opens its own, over HTTP/2 too, as in k6).
async fn send_on(
    shared: &Shared,
    pool: &PoolHandle,
    conn: Acquired,
    out: &Outgoing<'_>,
    hop: &Hop<'_>,
) -> Outcome {
    let limit = shared.config.response_body_limit;
    match conn {
        Acquired::H1(mut conn) => {
            let outcome = conn.exchange(out, hop.deadline, hop.discard, limit).await;
            let reuse = !shared.config.k6.no_connection_reuse;
            if let Outcome::Done { keep: true, .. } = outcome {
                if reuse {
                    pool.put_h1(conn);
                }
            }
            outcome
        }
        Acquired::H2(conn) => {
            let outcome = conn.exchange(out, hop.deadline, hop.discard, limit).await;
            let failed = matches!(&outcome, Outcome::Failed { retry, .. } if *retry != Retry::No);
            if failed || shared.config.k6.no_connection_reuse {
                pool.drop_h2(&out.target.origin);
            }
            outcome
        }
    }
}

/// The phases of the attempt that answered (or last failed) in the exchange's timings.
fn add_phases(timings: &mut Timings, phases: &Phases) {
    timings.blocked += phases.queued;
    (timings.sending, timings.waiting, timings.receiving) =
        (phases.sending, phases.waiting, phases.receiving);
}

/// Whether a failed attempt is sent again (after Go's back-off for a stream refused more than
/// once); a timeout when the back-off reaches the deadline.
async fn again(
    hop: &Hop<'_>,
    retry: Retry,
    reused: bool,
    attempt: u32,
) -> Result<bool, RequestError> {
    let again = match retry {
        Retry::No => false,
        Retry::Refused => true,
        Retry::Unanswered { written } => {
            reused && (!written || is_replayable(hop.method, hop.headers))
        }
    };
    let now = tokio::time::Instant::now();
    if !(again && attempt < MAX_ATTEMPTS && now < hop.deadline) {
        return Ok(false);
    }
    // Go backs off from the second retry of a refused stream: 1 s, 2 s, 4 s…
    if retry == Retry::Refused && attempt >= 2 {
        let pause = Duration::from_secs(1 << (attempt - 2).min(5));
        tokio::time::sleep_until((now + pause).min(hop.deadline)).await;
        if tokio::time::Instant::now() >= hop.deadline {
            return Err(timeout());
        }
    }
    Ok(true)
}

/// Whether sending a request twice is harmless (Go's `isReplayable`): a safe method, or an
/// idempotency key. Bodies are always in memory, so always rewindable.
fn is_replayable(method: &Method, headers: &HeaderMap) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) || headers.contains_key("idempotency-key")
        || headers.contains_key("x-idempotency-key")
}

/// The origin's HTTP/2 connection or an idle HTTP/1.1 one, as `version` allows; `None` when a
/// connection must be made.
fn pooled(
    pool: &PoolHandle,
    origin: &Origin,
    version: HttpVersion,
    start: Instant,
    timings: &mut Timings,
) -> Option<Acquired> {
    let conn = pool.take(
        origin,
        version != HttpVersion::Http1,
        version != HttpVersion::Http2,
    )?;
    timings.blocked = start.elapsed();
    Some(match conn {
        Pooled::H1(c) => Acquired::H1(c),
        Pooled::H2(c) => Acquired::H2(c),
    })
}

/// A new connection for `hop` to `origin` (ALPN picks for `https`), or the origin's HTTP/2
/// connection made meanwhile; whether it carried requests before. `timings.blocked` becomes the
/// time until the connection was ready, resolving, connecting and TLS included, as k6's (Go's
/// GetConn to GotConn).
///
/// Its future (resolving, connecting, TLS and HTTP/2 handshakes) is of kilobytes: callers box
/// it, so that it does not size every request's future, which is moved on each call.
async fn dial(
    shared: &Shared,
    pool: &PoolHandle,
    origin: &Origin,
    hop: &Hop<'_>,
    start: Instant,
    timings: &mut Timings,
) -> Result<(Acquired, bool), RequestError> {
    let version = hop.version;
    let may_be_h2 = version == HttpVersion::Http2
        || (version == HttpVersion::Auto && origin.https() && !pool.known_h1(origin));
    // One handshake at a time per origin when it may give a connection to share.
    let _dialing = if may_be_h2 {
        let lock = pool.dial_lock(origin);
        let guard = tokio::time::timeout_at(hop.deadline, lock.lock_owned())
            .await
            .map_err(|_| timeout())?;
        if let Some(conn) = pool.h2(origin) {
            timings.blocked = start.elapsed();
            return Ok((Acquired::H2(conn), true));
        }
        Some(guard)
    } else {
        None
    };
    let alpn = match version {
        HttpVersion::Auto => Alpn::Both,
        HttpVersion::Http1 => Alpn::Http1,
        HttpVersion::Http2 => Alpn::Http2,
    };
    let addrs = tokio::time::timeout_at(hop.deadline, resolve::resolve(shared, origin))
        .await
        .map_err(|_| timeout())??;
    // Until connected: a request that fails to connect was blocked this long; one that
    // connects, until its connection was ready (below).
    timings.blocked = start.elapsed();
    let connected = tokio::time::timeout_at(
        hop.deadline,
        conn::connect(
            origin,
            (&addrs, hop.local),
            &shared.tls,
            alpn,
            shared.base,
            timings,
        ),
    )
    .await
    .map_err(|_| timeout())??;
    let h2 = connected.h2 || (version == HttpVersion::Http2 && !origin.https());
    if h2 {
        let conn = tokio::time::timeout_at(
            hop.deadline,
            H2Conn::handshake(origin.clone(), connected.io, connected.probe),
        )
        .await
        .map_err(|_| timeout())??;
        pool.put_h2(conn.clone());
        timings.blocked = start.elapsed();
        return Ok((Acquired::H2(conn), false));
    }
    if version == HttpVersion::Http2 {
        return Err(RequestError::new(
            errors::GENERIC,
            format!(
                "{}:{} did not agree to HTTP/2 in the TLS handshake (ALPN); httpVersion \"2\" \
                 requires it",
                origin.host(),
                origin.port()
            ),
        ));
    }
    if origin.https() && version == HttpVersion::Auto {
        pool.mark_h1(origin);
    }
    let conn = H1Conn::new(origin.clone(), connected.io, connected.probe);
    timings.blocked = start.elapsed();
    Ok((Acquired::H1(conn), false))
}

fn timeout() -> RequestError {
    RequestError::new(errors::REQUEST_TIMEOUT, "request timeout")
}
