//! A VU's connections: idle HTTP/1.1 connections, one HTTP/2 connection per origin, which
//! origins answered ALPN with HTTP/1.1, and the last URL parsed.

use std::sync::{Arc, Mutex, MutexGuard};

use super::errors::RequestError;
use super::h1::H1Conn;
use super::h2::H2Conn;
use super::target::{self, Origin, Target};

/// Idle HTTP/1.1 connections kept per VU; beyond this the oldest is closed.
const MAX_IDLE: usize = 32;
/// HTTP/2 connections (one per origin) and remembered origins kept per VU.
const MAX_ORIGINS: usize = 32;

#[derive(Default)]
pub(crate) struct Pool {
    /// Idle HTTP/1.1 connections, most recently used last.
    h1: Vec<H1Conn>,
    /// HTTP/2 connections, most recently opened last.
    h2: Vec<H2Conn>,
    /// `https` origins whose server chose HTTP/1.1 in ALPN: no need to wait for another
    /// request's handshake to learn whether HTTP/2 can be shared.
    h1_only: Vec<Origin>,
    /// Handshakes in progress that may give an HTTP/2 connection, by origin: concurrent
    /// requests (a batch) wait for it instead of each opening a connection.
    dialing: Vec<(Origin, Arc<tokio::sync::Mutex<()>>)>,
    /// The last URL requested, parsed: a VU usually asks for the same few URLs again and again.
    last_url: Option<(Box<str>, Arc<Target>)>,
}

/// A connection taken from the pool.
pub(crate) enum Pooled {
    H1(H1Conn),
    H2(H2Conn),
}

/// A VU's connections, shared by its host calls and its `wasi:http` requests. Only the VU's
/// own tasks use it, and never across an await, so the lock is never contended.
#[derive(Clone, Default)]
pub(crate) struct PoolHandle(Arc<Mutex<Pool>>);

impl PoolHandle {
    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `url` parsed (the last one is remembered).
    pub(crate) fn parse_url(&self, url: &str) -> Result<Arc<Target>, RequestError> {
        let mut pool = self.lock();
        if let Some((last, target)) = &pool.last_url {
            if **last == *url {
                return Ok(target.clone());
            }
        }
        let target = Arc::new(target::parse(url)?);
        pool.last_url = Some((url.into(), target.clone()));
        Ok(target)
    }

    /// A connection to `origin` that can take a request now: the origin's HTTP/2 connection
    /// (when `h2`), else an idle HTTP/1.1 one that is still open (when `h1`).
    pub(crate) fn take(&self, origin: &Origin, h2: bool, h1: bool) -> Option<Pooled> {
        let mut pool = self.lock();
        if h2 && !pool.h2.is_empty() {
            if let Some(i) = pool.h2.iter().position(|c| c.origin() == origin) {
                if pool.h2[i].is_usable() {
                    return Some(Pooled::H2(pool.h2[i].clone()));
                }
                pool.h2.remove(i);
            }
        }
        if h1 {
            while let Some(i) = pool.h1.iter().rposition(|c| c.origin() == origin) {
                let mut conn = pool.h1.swap_remove(i);
                if conn.is_usable() {
                    return Some(Pooled::H1(conn));
                }
            }
        }
        None
    }

    pub(crate) fn put_h1(&self, conn: H1Conn) {
        let mut pool = self.lock();
        if pool.h1.len() >= MAX_IDLE {
            pool.h1.remove(0);
        }
        pool.h1.push(conn);
    }

    /// The HTTP/2 connection to `origin`, if one takes new streams.
    pub(crate) fn h2(&self, origin: &Origin) -> Option<H2Conn> {
        let mut pool = self.lock();
        let i = pool.h2.iter().position(|c| c.origin() == origin)?;
        if pool.h2[i].is_usable() {
            return Some(pool.h2[i].clone());
        }
        pool.h2.remove(i);
        None
    }

    pub(crate) fn put_h2(&self, conn: H2Conn) {
        let mut pool = self.lock();
        pool.h2.retain(|c| c.origin() != conn.origin());
        if pool.h2.len() >= MAX_ORIGINS {
            pool.h2.remove(0);
        }
        pool.h2.push(conn);
    }

    /// Forgets the HTTP/2 connection to `origin` (it failed, or the server is leaving).
    pub(crate) fn drop_h2(&self, origin: &Origin) {
        self.lock().h2.retain(|c| c.origin() != origin);
    }

    /// Whether `origin` answered ALPN with HTTP/1.1 before.
    pub(crate) fn known_h1(&self, origin: &Origin) -> bool {
        self.lock().h1_only.contains(origin)
    }

    pub(crate) fn mark_h1(&self, origin: &Origin) {
        let mut pool = self.lock();
        if !pool.h1_only.contains(origin) {
            if pool.h1_only.len() >= MAX_ORIGINS {
                pool.h1_only.remove(0);
            }
            pool.h1_only.push(origin.clone());
        }
    }

    /// The lock that one handshake to `origin` at a time holds.
    pub(crate) fn dial_lock(&self, origin: &Origin) -> Arc<tokio::sync::Mutex<()>> {
        let mut pool = self.lock();
        // Locks nobody holds or waits for are dropped as new ones are made.
        pool.dialing.retain(|(_, l)| Arc::strong_count(l) > 1);
        if let Some((_, lock)) = pool.dialing.iter().find(|(o, _)| o == origin) {
            return lock.clone();
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        pool.dialing.push((origin.clone(), lock.clone()));
        lock
    }

    pub(crate) fn clear(&self) {
        let mut pool = self.lock();
        pool.h1.clear();
        pool.h2.clear();
    }

    /// Idle HTTP/1.1 connections and HTTP/2 connections kept.
    pub(crate) fn len(&self) -> usize {
        let pool = self.lock();
        pool.h1.len() + pool.h2.len()
    }
}
