//! The host side of `stampede:script/async-http` (k6's `http.asyncRequest`): requests that run
//! on the VU's thread, as tasks of their own, while the script goes on; the engine's event loop
//! collects them with `wait` as they complete.
//!
//! A request is timed on its own socket from the moment it starts, whatever the VU does
//! meanwhile. Its samples are recorded when it is collected (by `wait`, or when the call into
//! the script ends), stamped with the time it completed and tagged with the group it started
//! in, so that they are what the same request made with `http.request` would have given.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::{Id, JoinSet};
use wasmtime::component::{HasData, Linker, Resource};

use crate::bindings::js::stampede::script::async_http::{self, Completed};
use crate::bindings::stampede::script::http as wit_http;
use crate::http::{Exchange, HttpDebug, ResponseCallback};
use crate::{LogLevel, RequestMeta, ScriptCtxView};

/// Most requests a VU may have started and not yet collected: past it `start` fails, so that a
/// script that starts requests in a loop without ever waiting cannot grow the host without
/// bound (k6 has no limit).
pub const MAX_STARTED: usize = 10_000;

/// The longest `wait`, as for `sleep`.
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// A VU's requests in flight. Dropping it cancels them (their samples are not recorded).
#[derive(Default)]
pub struct InFlight {
    tasks: JoinSet<Finished>,
    /// The number `start` gave each running task.
    ids: std::collections::HashMap<Id, u64>,
    next_id: u64,
    /// `batch` slots: how many run at once.
    slots: Option<Arc<Semaphore>>,
}

impl InFlight {
    /// How many requests are started and not collected.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no request is in flight.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The requests that have completed, without waiting.
    fn completed(&mut self) -> Vec<(u64, Option<Finished>)> {
        let mut done = Vec::new();
        while let Some(joined) = self.tasks.try_join_next_with_id() {
            done.push(self.identify(joined));
        }
        done
    }

    /// The next request to complete, waiting at most `timeout` (`None`: as long as it takes).
    async fn next(&mut self, timeout: Option<Duration>) -> Option<(u64, Option<Finished>)> {
        let joined = match timeout {
            None => self.tasks.join_next_with_id().await,
            Some(t) => tokio::time::timeout(t, self.tasks.join_next_with_id())
                .await
                .ok()
                .flatten(),
        }?;
        Some(self.identify(joined))
    }

    /// The request's number, and what it gave (`None` when its task panicked).
    fn identify(
        &mut self,
        joined: Result<(Id, Finished), tokio::task::JoinError>,
    ) -> (u64, Option<Finished>) {
        match joined {
            Ok((task, finished)) => {
                self.ids.remove(&task);
                (finished.id, Some(finished))
            }
            Err(e) => (self.ids.remove(&e.id()).unwrap_or(0), None),
        }
    }
}

/// A request that ran to its end: what to record it with, and its response.
struct Finished {
    id: u64,
    name: Option<String>,
    tags: Vec<(String, String)>,
    /// The group it was started in.
    group: String,
    /// The VU's response callback when it started.
    callback: ResponseCallback,
    /// k6's `throw` for it: a request that gets no response rejects its promise.
    throw: bool,
    /// Every exchange (each redirect hop, then the last one), without bodies, and when each
    /// ended.
    hops: Vec<(Exchange, Instant)>,
    exchange: Exchange,
}

/// A VU's view of what `async-http` needs: the state of `script`'s interfaces and its
/// requests in flight.
pub struct AsyncHttpCtxView<'a> {
    /// The VU's HTTP client, hooks and resource table.
    pub script: ScriptCtxView<'a>,
    /// Its requests in flight.
    pub in_flight: &'a mut InFlight,
}

/// Implemented by the store's data of VUs that may run an engine component.
pub trait AsyncHttpView: Send {
    /// The VU's view.
    fn async_http(&mut self) -> AsyncHttpCtxView<'_>;
}

struct AsyncHttpApi;

impl HasData for AsyncHttpApi {
    type Data<'a> = AsyncHttpCtxView<'a>;
}

/// Adds `stampede:script/async-http` to `linker`.
pub fn add_to_linker<T: AsyncHttpView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    async_http::add_to_linker::<T, AsyncHttpApi>(linker, T::async_http)
}

impl AsyncHttpCtxView<'_> {
    /// Records the requests of `done` and hands their outcomes over, in order.
    fn collect(&mut self, done: Vec<(u64, Option<Finished>)>) -> wasmtime::Result<Vec<Completed>> {
        let mut out = Vec::with_capacity(done.len());
        for (id, finished) in done {
            let outcome = match finished {
                Some(f) => self.record(f),
                None => Err("the request failed: its task ended unexpectedly".to_owned()),
            };
            let outcome = match outcome {
                Ok(ex) => Ok(self.script.table.push(ex)?),
                Err(e) => Err(e),
            };
            out.push(Completed { id, outcome });
        }
        for notice in self.script.http.notices().drain() {
            self.script.hooks.log(LogLevel::Warn, &notice);
        }
        Ok(out)
    }

    /// Records a finished request's samples: its response, or its error when `throw` is set
    /// and it got none.
    fn record(&mut self, f: Finished) -> Result<Exchange, String> {
        let meta = RequestMeta {
            name: f.name.as_deref(),
            tags: &f.tags,
            response_callback: &f.callback,
        };
        let debug = self.script.http.config().k6.http_debug;
        for (hop, at) in &f.hops {
            self.script
                .hooks
                .on_async_request(&f.group, *at, &meta, hop);
            if let Some(mode) = debug {
                let text = crate::http::debug::response(hop, mode);
                self.script.hooks.http_debug(&text);
            }
        }
        let ex = f.exchange;
        match &ex.error {
            Some(e) if ex.status == 0 && f.throw => Err(e.message.clone()),
            Some(e) if ex.status == 0 => {
                self.script.hooks.request_failed(&e.message);
                Ok(ex)
            }
            _ => Ok(ex),
        }
    }

    /// Records what completed and cancels the rest: the end of a call into the script.
    pub fn finish(&mut self) {
        // Every call ends here, most with nothing started: that costs one check.
        if self.in_flight.is_empty() {
            return;
        }
        let done = self.in_flight.completed();
        for (_, finished) in done {
            if let Some(f) = finished {
                let _ = self.record(f);
            }
        }
        // Dropping the set aborts the tasks still running.
        self.in_flight.tasks = JoinSet::new();
        self.in_flight.ids.clear();
    }

    /// `start`, with the request made a client request (or the failure to make it).
    fn spawn(&mut self, mut req: wit_http::Request, throw: bool) -> u64 {
        let debug: Option<HttpDebug> = self.script.http.config().k6.http_debug;
        if let Some(mode) = debug {
            let text = crate::host::debug_request(self.script.http.config(), &req, mode);
            self.script.hooks.http_debug(&text);
        }
        let request = crate::host::to_request(&mut req, self.script.http.jar(), self.script.table);
        self.in_flight.next_id += 1;
        let id = self.in_flight.next_id;
        let client = self.script.http.clone();
        let batch = client.config().k6.batch;
        let slots = match &self.in_flight.slots {
            Some(s) => Some(s.clone()),
            None if batch > 0 => {
                let s = Arc::new(Semaphore::new(batch));
                self.in_flight.slots = Some(s.clone());
                Some(s)
            }
            None => None,
        };
        let (name, tags) = match req.extras.as_mut() {
            Some(e) => (e.name.take(), std::mem::take(&mut e.tags)),
            None => (None, Vec::new()),
        };
        let group = self.script.hooks.current_group();
        let callback = self.script.http.response_callback().clone();
        let (method, url) = (req.method, req.url);
        let task = self.in_flight.tasks.spawn(async move {
            let _slot = match &slots {
                Some(s) => s.acquire().await.ok(),
                None => None,
            };
            let mut hops = Vec::new();
            let mut observe = |ex: &Exchange| hops.push((ex.without_body(), Instant::now()));
            let exchange = match request {
                Ok(request) => client.send(request, &mut observe).await,
                Err(e) => {
                    let ex = Exchange::failed_before_sending(&method, url, e);
                    observe(&ex);
                    ex
                }
            };
            Finished {
                id,
                name,
                tags,
                group,
                callback,
                throw,
                hops,
                exchange,
            }
        });
        self.in_flight.ids.insert(task.id(), id);
        id
    }
}

impl AsyncHttpCtxView<'_> {
    /// k6's `throw` for a request: its own, else the test's option.
    fn throws(&self, own: Option<bool>) -> bool {
        own.unwrap_or(self.script.http.config().k6.throw)
    }
}

impl async_http::Host for AsyncHttpCtxView<'_> {
    async fn send_checked(
        &mut self,
        req: wit_http::Request,
        throw: Option<bool>,
    ) -> wasmtime::Result<Result<Resource<Exchange>, String>> {
        let throw = self.throws(throw);
        let exchange = self.script.exchange_one(req).await;
        if let Some((_, why)) = self
            .script
            .failure_to_throw(std::slice::from_ref(&exchange), throw)
        {
            return Ok(Err(why));
        }
        Ok(Ok(self.script.table.push(exchange)?))
    }

    async fn batch_checked(
        &mut self,
        reqs: Vec<wit_http::Request>,
        throw: Option<bool>,
    ) -> wasmtime::Result<Result<Vec<Resource<Exchange>>, (u32, String)>> {
        let throw = self.throws(throw);
        let exchanges = self.script.exchange_batch(reqs).await;
        if let Some((i, why)) = self.script.failure_to_throw(&exchanges, throw) {
            return Ok(Err((u32::try_from(i).unwrap_or(u32::MAX), why)));
        }
        let table = &mut *self.script.table;
        let pushed: Result<Vec<_>, _> = exchanges.into_iter().map(|ex| table.push(ex)).collect();
        Ok(Ok(pushed?))
    }

    fn start(
        &mut self,
        req: wit_http::Request,
        throw: Option<bool>,
    ) -> wasmtime::Result<Result<u64, String>> {
        if self.in_flight.len() >= MAX_STARTED {
            return Ok(Err(format!(
                "too many requests in flight: a VU may have at most {MAX_STARTED} asynchronous \
                 requests started and not yet awaited"
            )));
        }
        let throw = self.throws(throw);
        Ok(Ok(self.spawn(req, throw)))
    }

    async fn wait(&mut self, timeout_ms: Option<f64>) -> wasmtime::Result<Vec<Completed>> {
        let timeout = timeout_ms.map(|ms| {
            Duration::try_from_secs_f64(ms.max(0.0) / 1000.0)
                .unwrap_or(MAX_WAIT)
                .min(MAX_WAIT)
        });
        let mut done = self.in_flight.completed();
        if done.is_empty() {
            if timeout.is_none_or(|t| t >= crate::host::LONG_WAIT) {
                self.script.hooks.waiting();
            }
            if self.in_flight.is_empty() {
                if let Some(t) = timeout {
                    tokio::time::sleep(t).await;
                }
                return Ok(Vec::new());
            }
            if let Some(first) = self.in_flight.next(timeout).await {
                done.push(first);
                done.extend(self.in_flight.completed());
            }
        }
        self.collect(done)
    }
}
