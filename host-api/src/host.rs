//! The host side of the `stampede:script` interfaces.

use std::time::Duration;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::bindings::stampede::script::{checks, context, http as wit_http, metrics};
use crate::bindings::Script;
use crate::http::cookies::JarHandle;
use crate::http::{
    errors, millis, Exchange, ExpectedStatuses, RequestError, ResponseCallback, VuClient,
};
use crate::{ExecInfo, LogLevel, MetricType, TestIds};

mod request;
pub(crate) use request::to_request;
use request::JsonRequest;

/// What the script said about a request besides the request itself.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// The `name` tag, if the script set one (else the URL is used).
    pub name: Option<&'a str>,
    /// Extra tags for the request's samples.
    pub tags: &'a [(String, String)],
    /// Which responses count as expected (`http_req_failed`, `expected_response`).
    pub response_callback: &'a ResponseCallback,
}

/// The embedder's side of a VU: where samples go and what the script may know and do.
///
/// Every method is called on the VU's own task, synchronously, during a guest call.
pub trait VuHooks: Send {
    /// Records one HTTP exchange (each redirect hop is one).
    fn on_request(&mut self, meta: &RequestMeta<'_>, exchange: &Exchange);
    /// Records a check.
    fn check(&mut self, name: &str, ok: bool, tags: &[(String, String)]);
    /// Declares a custom metric, or finds it; returns its handle.
    fn register_metric(
        &mut self,
        name: &str,
        kind: MetricType,
        is_time: bool,
    ) -> Result<u32, String>;
    /// Adds a sample to a custom metric.
    fn add_metric(&mut self, id: u32, value: f64, tags: &[(String, String)]);
    /// The VU and iteration.
    fn info(&self) -> ExecInfo;
    /// The VU's and the iteration's numbers in the whole test (split with execution segments).
    fn ids(&self) -> TestIds;
    /// A variable from `-e`.
    fn env(&self, name: &str) -> Option<String>;
    /// What `setup` returned, for the iteration running now (empty outside iterations).
    fn setup_data(&self) -> Vec<u8>;
    /// A log line from the script.
    fn log(&mut self, level: LogLevel, message: &str);
    /// Enters a group.
    fn group_enter(&mut self, name: &str);
    /// Leaves the innermost group.
    fn group_exit(&mut self);
    /// The script asked to abort the test.
    fn abort_test(&mut self, reason: &str);
    /// The script marked the test as failed.
    fn fail_test(&mut self, reason: &str);
    /// A request or response to log, as `httpDebug` asks (the text is k6's `Request:` or
    /// `Response:` dump).
    fn http_debug(&mut self, _text: &str) {}
    /// A request got no response (and `throw` is off): k6 warns `Request Failed` with the error.
    fn request_failed(&mut self, _error: &str) {}
    /// The VU waited in a host call (a request, a sleep): its thread served other VUs meanwhile.
    fn parked(&mut self) {}
    /// The VU is about to wait a while (a sleep, a timer): what it recorded is handed over now,
    /// so that thresholds judged during the test (`abortOnFail`) and progress see it.
    fn waiting(&mut self) {}
    /// The group the VU's samples are in now (`""`, `::a::b`): a request that runs while the
    /// script goes on (`async-http`) keeps the group it was started in, as in k6.
    fn current_group(&self) -> String {
        String::new()
    }
    /// Records one exchange of a request that ran while the script went on (`async-http`):
    /// started in `group`, ended at `at`.
    fn on_async_request(
        &mut self,
        group: &str,
        at: std::time::Instant,
        meta: &RequestMeta<'_>,
        exchange: &Exchange,
    ) {
        let _ = (group, at);
        self.on_request(meta, exchange);
    }
}

/// The trap that ends an iteration after `abort-test`; the embedder recognizes it with
/// `downcast_ref`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the script aborted the test: {0}")]
pub struct TestAborted(pub String);

/// The trap that ends an iteration when a request got no response and k6's `throw` option is
/// set: as in k6, the failure becomes an error of the iteration instead of a response with
/// status 0. The embedder recognizes it with `downcast_ref`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("request failed (throw is set): {0}")]
pub struct RequestThrown(pub String);

/// A VU's view of the state the host API needs.
pub struct ScriptCtxView<'a> {
    /// The VU's HTTP client.
    pub http: &'a mut VuClient,
    /// The embedder's hooks.
    pub hooks: &'a mut dyn VuHooks,
    /// Where responses live while the script holds them (shared with WASI).
    pub table: &'a mut ResourceTable,
}

/// Implemented by the store's data to hand out a [`ScriptCtxView`].
pub trait ScriptView: Send {
    /// The view of this VU's state.
    fn script(&mut self) -> ScriptCtxView<'_>;
}

/// The [`HasData`] marker for the `stampede:script` imports.
pub struct ScriptApi;

impl HasData for ScriptApi {
    type Data<'a> = ScriptCtxView<'a>;
}

/// Adds the `stampede:script` imports to `linker`.
pub fn add_to_linker<T: ScriptView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    Script::add_to_linker::<T, ScriptApi>(linker, T::script)
}

/// The largest think time accepted, so that a typo cannot park a VU for years.
const MAX_SLEEP: Duration = Duration::from_secs(24 * 3600);

/// A wait at least this long (a sleep, a timer) hands the VU's samples over first: a test that
/// sleeps between requests has them judged during the run, not when its iteration ends.
pub(crate) const LONG_WAIT: Duration = Duration::from_millis(200);

/// One entry of `check-many`: `[name, ok]` or `[name, ok, tags]`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum CheckResult {
    Plain(String, bool),
    Tagged(String, bool, Vec<(String, String)>),
}

/// The value of header `name` in `headers`: a repeated header's values joined by `, `.
fn joined_header(headers: &http::HeaderMap, name: &str) -> Option<String> {
    let name = http::HeaderName::from_bytes(name.as_bytes()).ok()?;
    let mut values = headers.get_all(name).iter();
    let mut joined = String::from_utf8_lossy(values.next()?.as_bytes()).into_owned();
    for v in values {
        joined.push_str(", ");
        joined.push_str(&String::from_utf8_lossy(v.as_bytes()));
    }
    Some(joined)
}

fn timings(t: &crate::http::Timings) -> wit_http::Timings {
    wit_http::Timings {
        blocked: millis(t.blocked),
        connecting: millis(t.connecting),
        tls_handshaking: millis(t.tls_handshaking),
        sending: millis(t.sending),
        waiting: millis(t.waiting),
        receiving: millis(t.receiving),
        duration: millis(t.duration()),
    }
}

impl ScriptCtxView<'_> {
    fn exchange(&self, r: &Resource<Exchange>) -> wasmtime::Result<&Exchange> {
        Ok(self.table.get(r)?)
    }

    /// Logs the client's warnings about the requests just sent, as k6 logs them.
    fn log_notices(&mut self) {
        for notice in self.http.notices().drain() {
            self.hooks.log(LogLevel::Warn, &notice);
        }
    }

    /// k6's `throw`: with it, the error of the first request of `exchanges` that got no
    /// response. Without it, each such request is logged as k6 logs it: `Request Failed`,
    /// with the error.
    pub(crate) fn failure_to_throw(
        &mut self,
        exchanges: &[Exchange],
        throw: bool,
    ) -> Option<(usize, String)> {
        let mut failed = exchanges
            .iter()
            .enumerate()
            .filter_map(|(i, ex)| ex.error.as_ref().filter(|_| ex.status == 0).map(|e| (i, e)));
        if throw {
            return failed.next().map(|(i, e)| (i, e.message.clone()));
        }
        for (_, e) in failed {
            self.hooks.request_failed(&e.message);
        }
        None
    }

    /// The test's `throw` for the SDKs' requests: the first request that got no response ends
    /// the call (the script cannot catch it).
    fn throw_if_failed(&mut self, exchanges: &[Exchange]) -> wasmtime::Result<()> {
        let throw = self.http.config().k6.throw;
        match self.failure_to_throw(exchanges, throw) {
            Some((_, message)) => Err(wasmtime::Error::new(RequestThrown(message))),
            None => Ok(()),
        }
    }
}

/// The `httpDebug` text of a request, before it is sent.
pub(crate) fn debug_request(
    config: &crate::http::ClientConfig,
    req: &wit_http::Request,
    mode: crate::http::HttpDebug,
) -> String {
    crate::http::debug::request(
        &req.method,
        &req.url,
        &req.headers,
        &req.body,
        Some(config.user_agent.as_str()),
        config.k6.no_connection_reuse,
        mode,
    )
}

impl wit_http::HostResponse for ScriptCtxView<'_> {
    fn status(&mut self, r: Resource<Exchange>) -> wasmtime::Result<u16> {
        Ok(self.exchange(&r)?.status)
    }

    fn proto(&mut self, r: Resource<Exchange>) -> wasmtime::Result<String> {
        Ok(self.exchange(&r)?.proto.to_owned())
    }

    fn url(&mut self, r: Resource<Exchange>) -> wasmtime::Result<String> {
        let ex = self.exchange(&r)?;
        Ok(ex.written_url.as_ref().unwrap_or(&ex.url).clone())
    }

    fn headers(&mut self, r: Resource<Exchange>) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .exchange(&r)?
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect())
    }

    fn header(&mut self, r: Resource<Exchange>, name: String) -> wasmtime::Result<Option<String>> {
        Ok(joined_header(&self.exchange(&r)?.headers, &name))
    }

    fn body(&mut self, r: Resource<Exchange>) -> wasmtime::Result<Vec<u8>> {
        Ok(self.exchange(&r)?.body.to_vec())
    }

    fn cookies(
        &mut self,
        r: Resource<Exchange>,
    ) -> wasmtime::Result<Vec<wit_http::ResponseCookie>> {
        Ok(self
            .exchange(&r)?
            .cookies()
            .into_iter()
            .map(crate::host_jar::response_cookie)
            .collect())
    }

    fn timings(&mut self, r: Resource<Exchange>) -> wasmtime::Result<wit_http::Timings> {
        Ok(timings(&self.exchange(&r)?.timings))
    }

    fn error(&mut self, r: Resource<Exchange>) -> wasmtime::Result<String> {
        Ok(self
            .exchange(&r)?
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default())
    }

    fn error_code(&mut self, r: Resource<Exchange>) -> wasmtime::Result<u32> {
        Ok(self.exchange(&r)?.error_code())
    }

    fn connection(&mut self, r: Resource<Exchange>) -> wasmtime::Result<wit_http::ConnectionInfo> {
        let info = self.exchange(&r)?.conn;
        Ok(wit_http::ConnectionInfo {
            remote_ip: info.remote.map(|a| a.ip().to_string()).unwrap_or_default(),
            remote_port: info.remote.map_or(0, |a| a.port()),
            tls_version: info.tls_version.to_owned(),
            tls_cipher_suite: info.tls_cipher_suite.to_owned(),
        })
    }

    fn drop(&mut self, r: Resource<Exchange>) -> wasmtime::Result<()> {
        self.table.delete(r)?;
        Ok(())
    }
}

impl ScriptCtxView<'_> {
    /// Sends `req` (`send` and `send-with-status`): the response and its status.
    async fn send_one(
        &mut self,
        req: wit_http::Request,
    ) -> wasmtime::Result<(Resource<Exchange>, u16)> {
        let exchange = self.exchange_one(req).await;
        self.throw_if_failed(std::slice::from_ref(&exchange))?;
        let status = exchange.status;
        Ok((self.table.push(exchange)?, status))
    }

    /// Sends `req` and records it: its exchange, whatever became of it.
    pub(crate) async fn exchange_one(&mut self, mut req: wit_http::Request) -> Exchange {
        let debug = self.http.config().k6.http_debug;
        if let Some(mode) = debug {
            let text = debug_request(self.http.config(), &req, mode);
            self.hooks.http_debug(&text);
        }
        let request = to_request(&mut req, self.http.jar(), self.table);
        let meta = RequestMeta {
            name: req.name(),
            tags: req.tags(),
            response_callback: self.http.response_callback(),
        };
        let hooks = &mut *self.hooks;
        let mut observe = |ex: &Exchange| {
            hooks.on_request(&meta, ex);
            if let Some(mode) = debug {
                hooks.http_debug(&crate::http::debug::response(ex, mode));
            }
        };
        let exchange = match request {
            Ok(request) => {
                let ex = self.http.send(request, &mut observe).await;
                self.hooks.parked();
                ex
            }
            Err(e) => {
                let ex = Exchange::failed_before_sending(&req.method, req.url.clone(), e);
                observe(&ex);
                ex
            }
        };
        self.log_notices();
        exchange
    }

    /// Sends `reqs` concurrently (`batch`) and records them: their exchanges, in order.
    pub(crate) async fn exchange_batch(
        &mut self,
        mut reqs: Vec<wit_http::Request>,
    ) -> Vec<Exchange> {
        let mut requests = Vec::with_capacity(reqs.len());
        let mut results: Vec<Option<Exchange>> = Vec::with_capacity(reqs.len());
        let mut index = Vec::with_capacity(reqs.len());
        if let Some(mode) = self.http.config().k6.http_debug {
            for req in &reqs {
                let text = debug_request(self.http.config(), req, mode);
                self.hooks.http_debug(&text);
            }
        }
        for (i, req) in reqs.iter_mut().enumerate() {
            match to_request(req, self.http.jar(), self.table) {
                Ok(r) => {
                    index.push(i);
                    requests.push(r);
                    results.push(None);
                }
                Err(e) => {
                    let ex = Exchange::failed_before_sending(&req.method, req.url.clone(), e);
                    let meta = RequestMeta {
                        name: req.name(),
                        tags: req.tags(),
                        response_callback: self.http.response_callback(),
                    };
                    self.hooks.on_request(&meta, &ex);
                    results.push(Some(ex));
                }
            }
        }
        let debug = self.http.config().k6.http_debug;
        let hooks = &mut *self.hooks;
        let reqs_ref = &reqs;
        let response_callback = self.http.response_callback();
        let sent = self
            .http
            .batch(requests, &mut |j, ex| {
                let req = &reqs_ref[index[j]];
                hooks.on_request(
                    &RequestMeta {
                        name: req.name(),
                        tags: req.tags(),
                        response_callback,
                    },
                    ex,
                );
                if let Some(mode) = debug {
                    hooks.http_debug(&crate::http::debug::response(ex, mode));
                }
            })
            .await;
        for (j, ex) in sent.into_iter().enumerate() {
            results[index[j]] = Some(ex);
        }
        self.log_notices();
        results
            .into_iter()
            .map(|ex| ex.expect("every request has a result"))
            .collect()
    }
}

impl wit_http::Host for ScriptCtxView<'_> {
    async fn send_json(
        &mut self,
        request: Vec<u8>,
        body: Vec<u8>,
        jar: wit_http::JarChoice,
    ) -> wasmtime::Result<Resource<Exchange>> {
        let parsed = serde_json::from_slice::<JsonRequest>(&request)
            .map_err(|e| {
                RequestError::new(
                    errors::INVALID_URL,
                    format!("invalid request (send-json): {e}"),
                )
            })
            .and_then(|json| json.into_wit(body, jar));
        match parsed {
            Ok(req) => wit_http::Host::send(self, req).await,
            Err(error) => {
                let ex = Exchange::failed_before_sending("GET", String::new(), error);
                self.hooks.on_request(
                    &RequestMeta {
                        name: None,
                        tags: &[],
                        response_callback: self.http.response_callback(),
                    },
                    &ex,
                );
                Ok(self.table.push(ex)?)
            }
        }
    }

    fn vu_cookie_jar(&mut self) -> wasmtime::Result<Resource<JarHandle>> {
        Ok(self.table.push(JarHandle::Vu)?)
    }

    async fn send(&mut self, req: wit_http::Request) -> wasmtime::Result<Resource<Exchange>> {
        Ok(self.send_one(req).await?.0)
    }

    async fn send_with_status(
        &mut self,
        req: wit_http::Request,
    ) -> wasmtime::Result<(Resource<Exchange>, u16)> {
        self.send_one(req).await
    }

    async fn batch(
        &mut self,
        reqs: Vec<wit_http::Request>,
    ) -> wasmtime::Result<Vec<Resource<Exchange>>> {
        let results = self.exchange_batch(reqs).await;
        self.throw_if_failed(&results)?;
        results
            .into_iter()
            .map(|ex| Ok(self.table.push(ex)?))
            .collect()
    }

    fn discard_by_request(&mut self) -> wasmtime::Result<()> {
        self.http.discard_by_request();
        Ok(())
    }

    fn discards_bodies(&mut self) -> wasmtime::Result<bool> {
        Ok(self.http.discards_bodies())
    }

    fn set_response_callback(
        &mut self,
        expected: Option<wit_http::ExpectedStatuses>,
    ) -> wasmtime::Result<()> {
        self.http.set_response_callback(match expected {
            None => ResponseCallback::None,
            Some(e) => ResponseCallback::Statuses(ExpectedStatuses {
                statuses: e.statuses,
                ranges: e.ranges,
            }),
        });
        Ok(())
    }
}

impl checks::Host for ScriptCtxView<'_> {
    fn check(
        &mut self,
        name: String,
        ok: bool,
        tags: Vec<(String, String)>,
    ) -> wasmtime::Result<bool> {
        self.hooks.check(&name, ok, &tags);
        Ok(ok)
    }

    fn check_many(&mut self, results: Vec<u8>) -> wasmtime::Result<()> {
        match serde_json::from_slice::<Vec<CheckResult>>(&results) {
            Ok(list) => {
                for r in list {
                    match r {
                        CheckResult::Plain(name, ok) => self.hooks.check(&name, ok, &[]),
                        CheckResult::Tagged(name, ok, tags) => self.hooks.check(&name, ok, &tags),
                    }
                }
            }
            Err(e) => self.hooks.log(
                LogLevel::Error,
                &format!("check-many: malformed results, not recorded: {e}"),
            ),
        }
        Ok(())
    }
}

impl metrics::Host for ScriptCtxView<'_> {
    fn register(
        &mut self,
        name: String,
        kind: MetricType,
        is_time: bool,
    ) -> wasmtime::Result<Result<u32, String>> {
        Ok(self.hooks.register_metric(&name, kind, is_time))
    }

    fn add(
        &mut self,
        metric: u32,
        value: f64,
        tags: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        self.hooks.add_metric(metric, value, &tags);
        Ok(())
    }
}

impl context::Host for ScriptCtxView<'_> {
    fn info(&mut self) -> wasmtime::Result<ExecInfo> {
        Ok(self.hooks.info())
    }

    fn ids(&mut self) -> wasmtime::Result<TestIds> {
        Ok(self.hooks.ids())
    }

    fn env(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.hooks.env(&name))
    }

    fn setup_data(&mut self) -> wasmtime::Result<Vec<u8>> {
        Ok(self.hooks.setup_data())
    }

    async fn sleep(&mut self, seconds: f64) -> wasmtime::Result<()> {
        if seconds.is_nan() || seconds <= 0.0 {
            tokio::task::yield_now().await;
            return Ok(());
        }
        let d = Duration::try_from_secs_f64(seconds)
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP);
        if d >= LONG_WAIT {
            self.hooks.waiting();
        }
        tokio::time::sleep(d).await;
        self.hooks.parked();
        Ok(())
    }

    fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        self.hooks.log(level, &message);
        Ok(())
    }

    fn group_enter(&mut self, name: String) -> wasmtime::Result<()> {
        self.hooks.group_enter(&name);
        Ok(())
    }

    fn group_exit(&mut self) -> wasmtime::Result<()> {
        self.hooks.group_exit();
        Ok(())
    }

    fn abort_test(&mut self, reason: String) -> wasmtime::Result<()> {
        self.hooks.abort_test(&reason);
        Err(wasmtime::Error::new(TestAborted(reason)))
    }

    fn fail_test(&mut self, reason: String) -> wasmtime::Result<()> {
        self.hooks.fail_test(&reason);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::joined_header;

    #[test]
    fn a_repeated_header_reads_as_its_values_joined() {
        let mut headers = http::HeaderMap::new();
        headers.append("content-type", "text/plain".parse().unwrap());
        headers.append("set-cookie", "a=1".parse().unwrap());
        headers.append("set-cookie", "b=2; Path=/".parse().unwrap());
        assert_eq!(
            joined_header(&headers, "Set-Cookie").as_deref(),
            Some("a=1, b=2; Path=/")
        );
        assert_eq!(
            joined_header(&headers, "content-type").as_deref(),
            Some("text/plain")
        );
        assert_eq!(joined_header(&headers, "x-missing"), None);
        assert_eq!(joined_header(&headers, "not a name"), None);
    }
}
