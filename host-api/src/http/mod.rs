//! The HTTP client behind the `http` interface: each VU keeps its own keep-alive
//! connections, every request is timed per phase on the real socket, and every failure comes
//! back as an [`Exchange`] with a k6 error code — never as a panic or a host error.

pub mod auth;
mod compress;
mod conn;
pub use conn::ConnInfo;
pub mod cookies;
pub mod debug;
pub(crate) mod decompress;
pub mod dns;
pub mod errors;
mod exchange;
mod expected;
mod framing;
pub mod h1;
mod h2;
mod headers;
pub mod hosts;
mod io;
mod k6opts;
pub mod local_ips;
pub mod netpolicy;
mod pemcrypt;
mod pool;
mod redirect;
mod resolve;
mod target;
pub mod tls;

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

pub use auth::AuthScheme;
pub use cookies::{CookieJar, SharedJar};
pub use errors::RequestError;
pub use expected::{ExpectedStatuses, ResponseCallback};
pub use headers::ResponseHeaders;
pub use k6opts::{HttpDebug, K6Settings, RateLimiter};
pub use netpolicy::{HostPattern, IpNet, NetPolicy};
use pool::PoolHandle;
pub use redirect::RequestCookie;
use redirect::{Chain, Next};
pub use target::Origin;
pub use tls::TlsSettings;

/// Settings shared by every VU's client in a test.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Timeout of a request when the script sets none (k6: 60 s).
    pub timeout: Duration,
    /// Redirects followed when the script does not say (k6's `maxRedirects`: 10).
    pub max_redirects: u32,
    /// `max_redirects` was set by the options: reaching it is not worth a warning.
    pub max_redirects_set: bool,
    /// The `User-Agent` header sent when the script sets none (k6's `userAgent`).
    pub user_agent: String,
    /// Accept any TLS certificate (`--insecure-skip-tls-verify`).
    pub insecure_skip_tls_verify: bool,
    /// Largest response body read; a larger one fails the request.
    pub response_body_limit: u64,
    /// Do not hand response bodies to scripts (k6's `discardResponseBodies`).
    pub discard_response_bodies: bool,
    /// Where requests may not go.
    pub net: NetPolicy,
    /// Trusted roots, client certificates, TLS versions and cipher suites.
    pub tls: TlsSettings,
    /// Which HTTP version requests use when they do not say (`httpVersion`).
    pub http_version: HttpVersion,
    /// k6's connection-reuse, `hosts`, `dns`, `rps`, `batch`, `throw` and `httpDebug` options.
    pub k6: K6Settings,
}

/// Which HTTP version a request uses (the `httpVersion` option and request parameter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/2 when the server picks it in the TLS handshake (ALPN offers `h2` and
    /// `http/1.1`, as k6 does), else HTTP/1.1; plain `http://` is HTTP/1.1.
    #[default]
    Auto,
    /// HTTP/1.1 only (ALPN offers only `http/1.1`).
    Http1,
    /// HTTP/2 only: ALPN offers only `h2` over TLS, and plain `http://` speaks h2c with prior
    /// knowledge.
    Http2,
}

impl std::str::FromStr for HttpVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "1.1" | "http/1.1" => Ok(Self::Http1),
            "2" | "2.0" | "http/2" | "http/2.0" | "h2" | "h2c" => Ok(Self::Http2),
            other => Err(format!(
                "unknown HTTP version `{other}` (use \"auto\", \"1.1\" or \"2\")"
            )),
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            max_redirects: 10,
            max_redirects_set: false,
            user_agent: concat!("stampede/", env!("CARGO_PKG_VERSION")).to_string(),
            insecure_skip_tls_verify: false,
            response_body_limit: 64 << 20,
            discard_response_bodies: false,
            net: NetPolicy::default(),
            tls: TlsSettings::default(),
            http_version: HttpVersion::Auto,
            k6: K6Settings::default(),
        }
    }
}

/// The client of a test: cheap to clone, hands out one [`VuClient`] per VU.
#[derive(Clone)]
pub struct HttpClient {
    shared: Arc<Shared>,
}

struct Shared {
    config: ClientConfig,
    /// `config.user_agent`, ready to send.
    user_agent: Option<HeaderValue>,
    tls: tls::Connectors,
    dns: Mutex<DnsCache>,
    base: Instant,
    /// `rps`: the test's request rate cap.
    rps: Option<RateLimiter>,
    /// `dns`'s `select`.
    picker: dns::Picker,
}

/// Resolved names and when they were resolved.
type DnsCache = HashMap<String, (Arc<[IpAddr]>, Instant)>;

impl HttpClient {
    /// A client with `config`.
    pub fn new(config: ClientConfig) -> Self {
        let tls = tls::Connectors::new(&config.tls, config.insecure_skip_tls_verify);
        let user_agent = Some(config.user_agent.as_str())
            .filter(|ua| !ua.is_empty())
            .and_then(|ua| HeaderValue::from_str(ua).ok());
        let rps = RateLimiter::new(config.k6.rps);
        Self {
            shared: Arc::new(Shared {
                user_agent,
                config,
                tls,
                dns: Mutex::new(HashMap::new()),
                base: Instant::now(),
                rps,
                picker: dns::Picker::default(),
            }),
        }
    }

    /// The test's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// A client for one VU, with its own connections.
    pub fn vu(&self) -> VuClient {
        VuClient {
            shared: self.shared.clone(),
            idle: PoolHandle::default(),
            completed: Outbox::default(),
            jar: SharedJar::new(),
            notices: Notices::default(),
            local: None,
            response_callback: ResponseCallback::Default,
            discard_by_request: false,
        }
    }

    /// A client for the VU at `index` (from 0), which connects from its address in
    /// `localIPs` when the test has some (k6's `n`th VU uses the `n`th address).
    pub fn vu_at(&self, index: u64) -> VuClient {
        let mut vu = self.vu();
        vu.local = self
            .shared
            .config
            .k6
            .local_ips
            .as_ref()
            .map(|p| p.get(index));
        vu
    }
}

/// A request, as the script gave it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// Timeout of the whole request, redirects included; `None` uses the test's.
    pub timeout: Option<Duration>,
    /// Redirects to follow; `None` uses the test's.
    pub max_redirects: Option<u32>,
    /// Read the body but do not keep it.
    pub discard_body: bool,
    /// The jar whose cookies are sent and filled; `None` for no jar.
    pub jar: Option<SharedJar>,
    /// Cookies the script adds to this request.
    pub cookies: Vec<RequestCookie>,
    /// k6's `compression`: codings to compress the body with (`"gzip, br"`); empty for none.
    pub compression: String,
    /// How to use the URL's credentials; `None` is Basic.
    pub auth: Option<AuthScheme>,
    /// Decompress the response body as its `Content-Encoding` says (off for `wasi:http`
    /// guests, whose own client decides).
    pub decompress: bool,
    /// The HTTP version to use; `None` uses the test's.
    pub http_version: Option<HttpVersion>,
}

impl Request {
    /// A request without body, cookies or options.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Bytes::new(),
            timeout: None,
            max_redirects: None,
            discard_body: false,
            jar: None,
            cookies: Vec::new(),
            compression: String::new(),
            auth: None,
            decompress: true,
            http_version: None,
        }
    }
}

/// Time spent in each phase of one exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Before connecting: pool lookup, DNS.
    pub blocked: Duration,
    /// TCP connect.
    pub connecting: Duration,
    /// TLS handshake.
    pub tls_handshaking: Duration,
    /// Writing the request.
    pub sending: Duration,
    /// Request written → first response byte.
    pub waiting: Duration,
    /// First response byte → end of body.
    pub receiving: Duration,
}

impl Timings {
    /// `sending + waiting + receiving`, k6's `http_req_duration`.
    pub fn duration(&self) -> Duration {
        self.sending + self.waiting + self.receiving
    }
}

/// One request/response exchange (one per redirect hop), or the failure to have it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Method sent.
    pub method: Method,
    /// URL requested in this exchange, with any credentials masked (`****:****@`): the `url`
    /// tag.
    pub url: String,
    /// The URL as the script wrote it, credentials and all, when `url` masks them: what the
    /// script reads (k6's `res.url` keeps them).
    pub written_url: Option<String>,
    /// Status, or 0 without a response.
    pub status: u16,
    /// `HTTP/2.0`, `HTTP/1.1` or `HTTP/1.0`; empty without a response.
    pub proto: &'static str,
    /// Response headers (made into a map when first read as one).
    pub headers: ResponseHeaders,
    /// Response body (empty when discarded).
    pub body: Bytes,
    /// Phase timings.
    pub timings: Timings,
    /// Why the exchange failed.
    pub error: Option<RequestError>,
    /// Bytes written to the connection for this exchange (TLS handshake included).
    pub bytes_sent: u64,
    /// Bytes read from the connection for this exchange.
    pub bytes_received: u64,
    /// A `401` that digest authentication answered: an expected response, as in k6.
    pub challenge: bool,
    /// The connection's peer and TLS parameters (default when no connection was made).
    pub conn: ConnInfo,
}

impl Exchange {
    fn failed(method: Method, url: String, timings: Timings, error: RequestError) -> Self {
        Self {
            method,
            url,
            written_url: None,
            status: 0,
            proto: "",
            headers: ResponseHeaders::default(),
            body: Bytes::new(),
            timings,
            error: Some(error),
            bytes_sent: 0,
            bytes_received: 0,
            challenge: false,
            conn: ConnInfo::default(),
        }
    }

    /// An exchange that failed before anything was sent (a bad method, say).
    pub fn failed_before_sending(method: &str, url: String, error: RequestError) -> Self {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        Self::failed(method, url, Timings::default(), error)
    }

    /// A copy without the body and headers (for recording).
    pub fn without_body(&self) -> Exchange {
        Exchange {
            method: self.method.clone(),
            url: self.url.clone(),
            written_url: None,
            status: self.status,
            proto: self.proto,
            headers: ResponseHeaders::default(),
            body: Bytes::new(),
            timings: self.timings,
            error: self.error.clone(),
            bytes_sent: self.bytes_sent,
            bytes_received: self.bytes_received,
            challenge: self.challenge,
            conn: self.conn,
        }
    }

    /// The cookies the response set (its `Set-Cookie` headers, parsed), in order.
    pub fn cookies(&self) -> Vec<cookies::NewCookie> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| cookies::NewCookie::parse(v.as_bytes()))
            .collect()
    }

    /// k6's `error_code`: the failure's code, 1000 + status for status >= 400, or 0.
    pub fn error_code(&self) -> u32 {
        match &self.error {
            Some(e) => e.code,
            None => errors::status_error_code(self.status),
        }
    }
}

/// A duration as a sample's milliseconds: nanoseconds over 10⁶, which is how k6 (Go's
/// `float64(d) / float64(time.Millisecond)`) writes it, so the same duration prints the same
/// digits (0.257012, where `as_secs_f64() * 1000.0` gives 0.25701199999999997).
///
/// The nanoseconds are counted in a `u64` (584 years): converting one to `f64` gives the same
/// value as from the `u128` of `as_nanos`, for a fifth of the instructions.
pub fn millis(d: std::time::Duration) -> f64 {
    let nanos = d
        .as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()));
    nanos as f64 / 1e6
}

/// Exchanges made outside a host call (by `wasi:http` guests), waiting to be recorded.
#[derive(Clone, Default)]
pub struct Outbox(Arc<Mutex<Vec<Completed>>>);

/// An exchange to record, with what the guest said about it.
#[derive(Debug)]
pub struct Completed {
    /// The `name` tag, if the guest set one.
    pub name: Option<String>,
    /// Extra tags.
    pub tags: Vec<(String, String)>,
    /// The exchange (without its body).
    pub exchange: Exchange,
}

impl Outbox {
    /// Adds a finished exchange.
    pub fn push(&self, done: Completed) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(done);
    }

    /// Takes every exchange waiting.
    pub fn drain(&self) -> Vec<Completed> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Warnings about a VU's requests (k6 logs them), waiting for the host to log them.
#[derive(Clone, Default)]
pub struct Notices(Arc<Mutex<Vec<String>>>);

impl Notices {
    fn push(&self, notice: String) {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A script that repeats the same mistake in a loop does not grow this without bound.
        if list.len() < 64 {
            list.push(notice);
        }
    }

    /// Takes every warning waiting.
    pub fn drain(&self) -> Vec<String> {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if list.is_empty() {
            Vec::new()
        } else {
            std::mem::take(&mut *list)
        }
    }
}

/// One VU's client: its idle keep-alive connections, its cookie jar and the test's settings.
/// Clones share them (the `wasi:http` bridge holds one).
#[derive(Clone)]
pub struct VuClient {
    shared: Arc<Shared>,
    idle: PoolHandle,
    completed: Outbox,
    jar: SharedJar,
    notices: Notices,
    /// The local address its connections are made from (`localIPs`).
    local: Option<IpAddr>,
    /// Which responses count as expected (`http.setResponseCallback`).
    response_callback: ResponseCallback,
    /// Each request's `discard_body` alone decides, not `discardResponseBodies` too.
    discard_by_request: bool,
}

impl VuClient {
    /// Sends `req`, following redirects. `observe` sees every exchange (each redirect hop and
    /// the last one), which is what becomes metric samples; the last one is returned.
    ///
    /// Not an `async fn`: each layer of `async fn` around a future adds its size again, and a
    /// request's future is moved on every call of the script's.
    pub fn send<'a>(
        &'a self,
        mut req: Request,
        observe: &'a mut (dyn FnMut(&Exchange) + Send),
    ) -> impl Future<Output = Exchange> + Send + 'a {
        req.discard_body |= self.discards_by_default();
        send_on(
            &self.shared,
            &self.idle,
            self.local,
            &self.notices,
            req,
            observe,
        )
    }

    /// Sends several requests concurrently. Over HTTP/2 they are streams of the origin's one
    /// connection; over HTTP/1.1 each uses an idle connection when one is free and a new one
    /// otherwise; all are kept for reuse afterwards.
    pub async fn batch(
        &self,
        reqs: Vec<Request>,
        observe: &mut (dyn FnMut(usize, &Exchange) + Send),
    ) -> Vec<Exchange> {
        let mut seen: Vec<Vec<Exchange>> = (0..reqs.len()).map(|_| Vec::new()).collect();
        let limits = &k6opts::BatchLimits::new(&self.shared.config.k6);
        let futures = reqs
            .into_iter()
            .zip(seen.iter_mut())
            .map(|(mut req, seen)| async move {
                req.discard_body |= self.discards_by_default();
                let _slots = limits.enter(&req.url).await;
                let mut push = |e: &Exchange| seen.push(e.without_body());
                send_on(
                    &self.shared,
                    &self.idle,
                    self.local,
                    &self.notices,
                    req,
                    &mut push,
                )
                .await
            });
        let results = futures_util::future::join_all(futures).await;
        for (i, hops) in seen.iter().enumerate() {
            for hop in hops {
                observe(i, hop);
            }
        }
        results
    }

    /// Whether a request that does not say discards its body: the test's
    /// `discardResponseBodies`, unless the guest decides per request.
    fn discards_by_default(&self) -> bool {
        self.shared.config.discard_response_bodies && !self.discard_by_request
    }

    /// The test's `discardResponseBodies`.
    pub fn discards_bodies(&self) -> bool {
        self.shared.config.discard_response_bodies
    }

    /// Lets each request's `discard_body` alone decide from now on (the guest resolves
    /// `discardResponseBodies` itself, as k6's JavaScript API does).
    pub fn discard_by_request(&mut self) {
        self.discard_by_request = true;
    }

    /// Which responses the VU's requests count as expected.
    pub fn response_callback(&self) -> &ResponseCallback {
        &self.response_callback
    }

    /// Sets which responses the VU's requests count as expected (k6's
    /// `http.setResponseCallback`).
    pub fn set_response_callback(&mut self, callback: ResponseCallback) {
        self.response_callback = callback;
    }

    /// The VU's own cookie jar (k6's `http.cookieJar()`).
    pub fn jar(&self) -> &SharedJar {
        &self.jar
    }

    /// Empties the VU's cookie jar, as k6 does at the start of every iteration.
    pub fn reset_cookies(&self) {
        let mut jar = self.jar.lock();
        if !jar.is_empty() {
            jar.clear_all();
        }
    }

    /// Warnings about requests (redirects cut short, conflicting headers), to be logged.
    pub fn notices(&self) -> &Notices {
        &self.notices
    }

    /// Exchanges made by `wasi:http` guests, waiting to be recorded.
    pub fn outbox(&self) -> &Outbox {
        &self.completed
    }

    /// The test's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// Closes every idle connection.
    pub fn close_idle(&self) {
        self.idle.clear();
    }

    /// Number of idle connections kept.
    pub fn idle_connections(&self) -> usize {
        self.idle.len()
    }
}

async fn send_on(
    shared: &Shared,
    pool: &PoolHandle,
    local: Option<IpAddr>,
    notices: &Notices,
    req: Request,
    observe: &mut (dyn FnMut(&Exchange) + Send),
) -> Exchange {
    let config = &shared.config;
    if let Some(rps) = &shared.rps {
        // k6 waits for its turn once the request is ready, before timing it.
        rps.wait().await;
    }
    let deadline = tokio::time::Instant::now() + req.timeout.unwrap_or(config.timeout);
    let max_redirects = req.max_redirects.unwrap_or(config.max_redirects);
    let warn_on_limit = req.max_redirects.is_none() && !config.max_redirects_set;
    let discard = req.discard_body;
    let version = req.http_version.unwrap_or(config.http_version);
    let close = config.k6.no_connection_reuse;
    let headers = match build_headers(&req.headers, shared.user_agent.as_ref(), close) {
        Ok(h) => h,
        Err(e) => {
            let ex = Exchange::failed(req.method, req.url, Timings::default(), e);
            observe(&ex);
            return ex;
        }
    };
    let mut chain = Chain::new(
        req.method,
        req.url,
        req.body,
        headers,
        req.jar,
        req.cookies,
        req.auth,
    );
    if let Err(e) = chain.begin(&req.compression, &mut |w| notices.push(w)) {
        let ex = Exchange::failed(chain.method, chain.url, Timings::default(), e);
        observe(&ex);
        return ex;
    }
    loop {
        let mut ex = hop(shared, (pool, local), &chain, deadline, discard, version).await;
        if let Some(answer) = chain.digest_answer(&ex) {
            ex.challenge = true;
            chain.store_cookies(&ex);
            chain.refresh_cookies();
            chain.mask(&mut ex);
            observe(&ex);
            let mut headers = chain.headers.clone();
            headers.insert(http::header::AUTHORIZATION, answer);
            // Boxed: the answer to a digest challenge is rare, and inline its future would
            // double the size of every request's.
            ex = Box::pin(exchange(
                shared,
                (pool, local),
                &chain.method,
                &chain.url,
                &headers,
                chain.body.clone(),
                deadline,
                discard,
                version,
            ))
            .await;
        }
        chain.store_cookies(&ex);
        chain.mask(&mut ex);
        match chain.next(&ex, max_redirects) {
            Next::Follow => observe(&ex),
            Next::Fail(e) => {
                ex.status = 0;
                ex.error = Some(e);
                observe(&ex);
                return ex;
            }
            Next::Done => {
                if warn_on_limit && chain.redirects >= max_redirects && is_redirect(&ex) {
                    // As k6 words it: the requests made, and the URL first asked for.
                    notices.push(format!(
                        "Stopped after {} redirects and returned the redirection; pass {{ redirects: n }} \
                         in request params or set global maxRedirects to silence this (url {})",
                        chain.redirects + 1,
                        chain.first_url.as_deref().unwrap_or(&chain.url)
                    ));
                }
                if req.decompress && !discard && !ex.body.is_empty() {
                    decode_body(&mut ex, config.response_body_limit, deadline);
                }
                observe(&ex);
                return ex;
            }
        }
    }
}

/// One hop of `chain` as it stands.
fn hop<'a>(
    shared: &'a Shared,
    pool: (&'a PoolHandle, Option<IpAddr>),
    chain: &'a Chain,
    deadline: tokio::time::Instant,
    discard: bool,
    version: HttpVersion,
) -> impl Future<Output = Exchange> + Send + 'a {
    exchange(
        shared,
        pool,
        &chain.method,
        &chain.url,
        &chain.headers,
        chain.body.clone(),
        deadline,
        discard,
        version,
    )
}

fn is_redirect(ex: &Exchange) -> bool {
    ex.error.is_none()
        && matches!(ex.status, 301 | 302 | 303 | 307 | 308)
        && ex.headers.contains(&http::header::LOCATION)
}

/// Decompresses the body of `ex` if its `Content-Encoding` asks for it; a failure fails the
/// exchange (status 0, as k6 reports it).
fn decode_body(ex: &mut Exchange, limit: u64, deadline: tokio::time::Instant) {
    if !ex.headers.contains(&http::header::CONTENT_ENCODING) {
        return;
    }
    let Some(codings) = decompress::codings(&ex.headers) else {
        return;
    };
    match decompress::decode(&ex.body, &codings, limit, Some(deadline.into_std())) {
        Ok(body) => ex.body = body,
        Err(e) => {
            ex.status = 0;
            ex.body = Bytes::new();
            ex.error = Some(e);
        }
    }
}

fn build_headers(
    given: &[(String, String)],
    user_agent: Option<&HeaderValue>,
    close: bool,
) -> Result<HeaderMap, RequestError> {
    let mut headers = HeaderMap::with_capacity(given.len() + 1);
    for (name, value) in given {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            RequestError::new(errors::GENERIC, format!("invalid header name `{name}`"))
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            RequestError::new(
                errors::GENERIC,
                format!("invalid value for header `{name}`"),
            )
        })?;
        headers.append(name, value);
    }
    if let Some(ua) = user_agent {
        if !headers.contains_key(http::header::USER_AGENT) {
            headers.insert(http::header::USER_AGENT, ua.clone());
        }
    }
    if close && !headers.contains_key(http::header::CONNECTION) {
        // `noConnectionReuse`: as Go's client does without keep-alive.
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(headers)
}

/// One exchange (see [`exchange::exchange`]).
#[allow(clippy::too_many_arguments)]
fn exchange<'a>(
    shared: &'a Shared,
    (pool, local): (&'a PoolHandle, Option<IpAddr>),
    method: &'a Method,
    url: &'a str,
    headers: &'a HeaderMap,
    body: Bytes,
    deadline: tokio::time::Instant,
    discard: bool,
    version: HttpVersion,
) -> impl Future<Output = Exchange> + Send + 'a {
    let hop = exchange::Hop {
        method,
        url,
        headers,
        body,
        deadline,
        discard,
        version,
        local,
    };
    exchange::exchange(shared, pool, hop)
}
