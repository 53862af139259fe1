//! HTTP requests, measured by stampede.
//!
//! Every request goes over the VU's own keep-alive connections and produces k6's built-in
//! samples (`http_reqs`, `http_req_duration`, `http_req_failed`, the per-phase trends,
//! `data_sent`, `data_received`). A request that fails (refused, reset, timed out, TLS…) is
//! not a Rust error: it comes back as a [`Response`] with status 0 and an
//! [`error`](Response::error), as in k6.
//!
//! ```no_run
//! use stampede::http::{self, Request};
//! use std::time::Duration;
//!
//! let res = http::get("http://127.0.0.1:8080/get");
//! assert_eq!(res.status(), 200);
//!
//! let res = Request::post("http://127.0.0.1:8080/post")
//!     .json(&stampede::json!({ "user": "ada" }))
//!     .header("x-request-id", "42")
//!     .timeout(Duration::from_secs(2))
//!     .name("create user")
//!     .tag("flow", "signup")
//!     .send();
//! let echoed: stampede::Json = res.json().unwrap();
//! ```

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::bindings::stampede::script::http as wit;

pub use crate::cookies::{cookie_jar, CookieJar, CookieOptions, ResponseCookie};
pub use wit::{ConnectionInfo, Timings};

/// Sends a `GET` request.
pub fn get(url: &str) -> Response {
    Request::get(url).send()
}

/// Sends a `POST` request with `body`.
pub fn post(url: &str, body: impl Into<Vec<u8>>) -> Response {
    Request::post(url).body(body).send()
}

/// Sends a `PUT` request with `body`.
pub fn put(url: &str, body: impl Into<Vec<u8>>) -> Response {
    Request::put(url).body(body).send()
}

/// Sends a `PATCH` request with `body`.
pub fn patch(url: &str, body: impl Into<Vec<u8>>) -> Response {
    Request::patch(url).body(body).send()
}

/// Sends a `DELETE` request.
pub fn delete(url: &str) -> Response {
    Request::delete(url).send()
}

/// Sends a `HEAD` request.
pub fn head(url: &str) -> Response {
    Request::new("HEAD", url).send()
}

/// Sends several requests at once, like k6's `http.batch`: over HTTP/2 as concurrent streams
/// of one connection per origin, over HTTP/1.1 each on its own connection. The responses come
/// back in the order of the requests.
pub fn batch(requests: Vec<Request>) -> Vec<Response> {
    let (parts, jars): (Vec<Parts>, Vec<JarSel>) =
        requests.into_iter().map(|r| (r.parts, r.jar)).unzip();
    // A request of the batch that keeps its body makes the VU decide before any is resolved.
    if parts.iter().any(|p| p.discard_body == Some(false)) {
        DISCARDS.with(|d| discards(Some(false), d, host_default));
    }
    let requests: Vec<wit::Request<'_>> = parts
        .into_iter()
        .zip(jars.iter())
        .map(|(p, j)| p.into_wit(j))
        .collect();
    wit::batch(&requests)
        .into_iter()
        .map(Response::new)
        .collect()
}

/// The statuses that count as expected (k6's `http.expectedStatuses`), for
/// [`set_response_callback`]: those listed and those in the ranges, both ends included. A
/// request that got no response has status 0.
///
/// ```no_run
/// use stampede::http::{self, ExpectedStatuses};
///
/// // A 404 is an answer this test expects, not a failure.
/// http::set_response_callback(Some(&ExpectedStatuses::new().range(200, 299).status(404)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedStatuses {
    statuses: Vec<i32>,
    ranges: Vec<(i32, i32)>,
}

impl ExpectedStatuses {
    /// No status yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `status` is expected.
    pub fn status(mut self, status: u16) -> Self {
        self.statuses.push(i32::from(status));
        self
    }

    /// The statuses from `min` to `max` (both included) are expected.
    pub fn range(mut self, min: u16, max: u16) -> Self {
        self.ranges.push((i32::from(min), i32::from(max)));
        self
    }
}

/// Which responses this VU's following requests count as expected (k6's
/// `http.setResponseCallback`): each request records `http_req_failed` (0 when expected, 1 when
/// not) and the tag `expected_response`. `None` records neither. Until it is set, the statuses
/// 200 to 399 are expected; the setting stays with the VU across iterations.
pub fn set_response_callback(expected: Option<&ExpectedStatuses>) {
    let wit_expected = expected.map(|e| wit::ExpectedStatuses {
        statuses: e.statuses.clone(),
        ranges: e.ranges.clone(),
    });
    wit::set_response_callback(wit_expected.as_ref());
}

/// How a request authenticates with the credentials of its URL (`http://user:pass@host/`).
pub use wit::AuthScheme as Auth;

/// Which jar a request uses.
#[derive(Debug, Clone, Default)]
enum JarSel {
    #[default]
    Vu,
    None,
    Custom(CookieJar),
}

/// A request's fields, owned until it is sent.
#[derive(Debug, Clone)]
struct Parts {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout_ms: Option<u64>,
    tags: Vec<(String, String)>,
    name: Option<String>,
    max_redirects: Option<u32>,
    /// The request's own choice; `None` leaves it to the test's `discardResponseBodies`.
    discard_body: Option<bool>,
    cookies: Vec<wit::RequestCookie>,
    compression: String,
    auth: Option<Auth>,
    http_version: Option<String>,
}

impl Parts {
    fn into_wit(self, jar: &JarSel) -> wit::Request<'_> {
        let jar = match jar {
            JarSel::Vu => wit::JarChoice::Vu,
            JarSel::None => wit::JarChoice::NoJar,
            JarSel::Custom(j) => wit::JarChoice::Custom(j.handle()),
        };
        let discard_body = DISCARDS.with(|d| discards(self.discard_body, d, host_default));
        // The common request (method, URL, headers, body) hands over no extras at all.
        let plain = self.timeout_ms.is_none()
            && self.tags.is_empty()
            && self.name.is_none()
            && self.max_redirects.is_none()
            && !discard_body
            && matches!(jar, wit::JarChoice::Vu)
            && self.cookies.is_empty()
            && self.compression.is_empty()
            && self.auth.is_none()
            && self.http_version.is_none();
        let extras = (!plain).then_some(wit::RequestExtras {
            timeout_ms: self.timeout_ms,
            tags: self.tags,
            name: self.name,
            max_redirects: self.max_redirects,
            discard_body,
            jar,
            cookies: self.cookies,
            compression: self.compression,
            auth: self.auth,
            http_version: self.http_version,
        });
        wit::Request {
            method: self.method,
            url: self.url,
            headers: self.headers,
            body: self.body,
            extras,
        }
    }
}

thread_local! {
    /// The test's `discardResponseBodies`, once this VU decides per request (`None`: the host
    /// applies it).
    static DISCARDS: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Tells the host that this VU decides per request, and returns the test's default.
fn host_default() -> bool {
    wit::discard_by_request();
    wit::discards_bodies()
}

/// Whether a request discards its body: its own choice, else the test's. The host applies
/// the test's default itself until a request keeps its body (k6's `responseType: 'text'`
/// under `discardResponseBodies`); from then on this VU decides every request, asking the host
/// for the default once (`host_default`).
fn discards(own: Option<bool>, decided: &Cell<Option<bool>>, host_default: fn() -> bool) -> bool {
    match (own, decided.get()) {
        (Some(own), Some(_)) | (Some(own @ true), None) => own,
        (None, Some(default)) => default,
        (None, None) => false,
        (Some(false), None) => {
            decided.set(Some(host_default()));
            false
        }
    }
}

/// An HTTP request being built. Nothing is sent until [`send`](Request::send).
#[derive(Debug, Clone)]
pub struct Request {
    parts: Parts,
    jar: JarSel,
}

impl Request {
    /// A request with any method.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            parts: Parts {
                method: method.to_owned(),
                url: url.to_owned(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ms: None,
                tags: Vec::new(),
                name: None,
                max_redirects: None,
                discard_body: None,
                cookies: Vec::new(),
                compression: String::new(),
                auth: None,
                http_version: None,
            },
            jar: JarSel::Vu,
        }
    }

    /// A `GET` request.
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: &str) -> Self {
        Self::new("POST", url)
    }

    /// A `PUT` request.
    pub fn put(url: &str) -> Self {
        Self::new("PUT", url)
    }

    /// A `PATCH` request.
    pub fn patch(url: &str) -> Self {
        Self::new("PATCH", url)
    }

    /// A `DELETE` request.
    pub fn delete(url: &str) -> Self {
        Self::new("DELETE", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.parts.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.parts.body = body.into();
        self
    }

    /// Sets a JSON body and `content-type: application/json`.
    ///
    /// Panics if `value` cannot be serialized (a map with non-string keys, for example).
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("request body is not serializable as JSON");
        self.header("content-type", "application/json").body(body)
    }

    /// Sets the timeout for the whole request (default: 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.parts.timeout_ms = Some(timeout.as_millis().try_into().unwrap_or(u64::MAX));
        self
    }

    /// Sets the `name` tag, which groups dynamic URLs into one series in the metrics.
    pub fn name(mut self, name: &str) -> Self {
        self.parts.name = Some(name.to_owned());
        self
    }

    /// Adds a tag to this request's samples.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.parts.tags.push((key.to_owned(), value.to_owned()));
        self
    }

    /// How many redirects to follow (default: the test's `maxRedirects`, 10). 0 returns the
    /// redirect response itself.
    pub fn max_redirects(mut self, redirects: u32) -> Self {
        self.parts.max_redirects = Some(redirects);
        self
    }

    /// Reads and counts the response body but does not hand it to the script, which saves
    /// copying it into the VU's memory.
    pub fn discard_body(mut self) -> Self {
        self.parts.discard_body = Some(true);
        self
    }

    /// Hands the body to the script even when the test discards response bodies
    /// (`discardResponseBodies`), as k6's `responseType: 'text'` does.
    pub fn keep_body(mut self) -> Self {
        self.parts.discard_body = Some(false);
        self
    }

    /// Adds the cookie `name=value` to this request, besides the jar's cookies (k6's
    /// `cookies: { name: value }`).
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.parts.cookies.push(wit::RequestCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            replace: false,
        });
        self
    }

    /// Adds the cookie `name=value` instead of the jar's cookie of that name (k6's
    /// `cookies: { name: { value, replace: true } }`).
    pub fn replace_cookie(mut self, name: &str, value: &str) -> Self {
        self.parts.cookies.push(wit::RequestCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            replace: true,
        });
        self
    }

    /// Uses `jar` instead of the VU's cookie jar (k6's `jar` param).
    pub fn jar(mut self, jar: &CookieJar) -> Self {
        self.jar = JarSel::Custom(jar.clone());
        self
    }

    /// Uses no cookie jar: no cookie is sent from one or stored into one.
    pub fn no_jar(mut self) -> Self {
        self.jar = JarSel::None;
        self
    }

    /// Compresses the body with `codings` (k6's `compression`: `"gzip"`, `"deflate"`, `"br"`,
    /// `"zstd"`, or several separated by commas) and sets `Content-Encoding`.
    pub fn compression(mut self, codings: &str) -> Self {
        self.parts.compression = codings.to_owned();
        self
    }

    /// How to authenticate with the URL's credentials (k6's `auth`): [`Auth::Basic`] (also
    /// what happens without this) or [`Auth::Digest`].
    pub fn auth(mut self, auth: Auth) -> Self {
        self.parts.auth = Some(auth);
        self
    }

    /// Sets `Authorization: Basic` for `user` and `password`.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let token = base64(format!("{user}:{password}").as_bytes());
        self.header("authorization", &format!("Basic {token}"))
    }

    /// Authenticates with RFC 7616 digest as `user` with `password` (the credentials go into
    /// the URL, as k6 wants them).
    pub fn digest_auth(mut self, user: &str, password: &str) -> Self {
        self.parts.url = with_credentials(&self.parts.url, user, password);
        self.auth(Auth::Digest)
    }

    /// Sets the HTTP version of this request, k6-style: `"1.1"` forces HTTP/1.1, `"2"` forces
    /// HTTP/2 (h2c with prior knowledge on `http://`), `"auto"` lets the TLS handshake pick
    /// (the default, or the test's `httpVersion` option).
    pub fn http_version(mut self, version: &str) -> Self {
        self.parts.http_version = Some(version.to_owned());
        self
    }

    /// Sends the request and waits for the response.
    pub fn send(self) -> Response {
        let Request { parts, jar } = self;
        let (inner, status) = wit::send_with_status(&parts.into_wit(&jar));
        let res = Response::new(inner);
        let _ = res.status.set(status);
        res
    }
}

/// `url` with `user:password@` after its scheme, percent-encoded.
fn with_credentials(url: &str, user: &str, password: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}:{}@{rest}", enc(user), enc(password)),
        None => url.to_owned(),
    }
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An HTTP response, or the failure to get one.
///
/// Its parts are fetched from stampede on first use and kept: checking only the status costs
/// one call, and the body is copied into the script only if it reads it.
#[derive(Debug)]
pub struct Response {
    inner: wit::Response,
    status: OnceCell<u16>,
    body: OnceCell<Vec<u8>>,
    headers: OnceCell<Vec<(String, String)>>,
    timings: OnceCell<Timings>,
    url: OnceCell<String>,
}

impl Response {
    fn new(inner: wit::Response) -> Self {
        Self {
            inner,
            status: OnceCell::new(),
            body: OnceCell::new(),
            headers: OnceCell::new(),
            timings: OnceCell::new(),
            url: OnceCell::new(),
        }
    }

    /// The HTTP status, or 0 when no response was received (see [`error`](Self::error)).
    pub fn status(&self) -> u16 {
        *self.status.get_or_init(|| self.inner.status())
    }

    /// The protocol, `HTTP/1.1` or `HTTP/2.0`; empty when no response was received.
    pub fn proto(&self) -> String {
        self.inner.proto()
    }

    /// The URL that answered, after redirects.
    pub fn url(&self) -> &str {
        self.url.get_or_init(|| self.inner.url())
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All headers, in the order received.
    pub fn headers(&self) -> &[(String, String)] {
        self.headers.get_or_init(|| self.inner.headers())
    }

    /// The body bytes (empty with [`Request::discard_body`]).
    pub fn body(&self) -> &[u8] {
        self.body.get_or_init(|| self.inner.body())
    }

    /// The body as text; invalid UTF-8 is replaced.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.body())
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> crate::Result<T> {
        serde_json::from_slice(self.body()).map_err(|e| {
            anyhow::anyhow!(
                "response body of {} is not the expected JSON: {e}",
                self.url()
            )
        })
    }

    /// Time spent in each phase, in milliseconds.
    pub fn timings(&self) -> &Timings {
        self.timings.get_or_init(|| self.inner.timings())
    }

    /// Why the request failed, if it did (a response with status >= 400 did not fail: see
    /// [`error_code`](Self::error_code)).
    pub fn error(&self) -> Option<String> {
        Some(self.inner.error()).filter(|e| !e.is_empty())
    }

    /// k6's error code (0 when none; 1000 + status for status >= 400).
    pub fn error_code(&self) -> u32 {
        self.inner.error_code()
    }

    /// The cookies the response set (its `Set-Cookie` headers), as k6's `res.cookies` lists
    /// them.
    pub fn cookies(&self) -> Vec<ResponseCookie> {
        self.inner.cookies()
    }

    /// The first cookie named `name` the response set.
    pub fn cookie(&self, name: &str) -> Option<ResponseCookie> {
        self.cookies().into_iter().find(|c| c.name == name)
    }

    /// The connection that carried the exchange: the server's IP address and port, and the
    /// TLS version (`tls1.3`) and cipher suite (`TLS_AES_128_GCM_SHA256`) as k6 names them;
    /// empty when no connection was made.
    pub fn connection(&self) -> ConnectionInfo {
        self.inner.connection()
    }

    /// Whether a response arrived with a 2xx or 3xx status.
    pub fn is_ok(&self) -> bool {
        (200..400).contains(&self.status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_credentials_are_encoded() {
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
        assert_eq!(
            with_credentials("http://h/x", "a@b", "p:w"),
            "http://a%40b:p%3Aw@h/x"
        );
    }

    #[test]
    fn only_a_request_that_sets_a_rare_param_hands_over_extras() {
        let plain = Request::get("http://h/").header("accept", "*/*");
        let wit = plain.parts.into_wit(&plain.jar);
        assert!(wit.extras.is_none());
        assert_eq!(wit.headers, [("accept".to_string(), "*/*".to_string())]);
        let named = Request::get("http://h/").name("home");
        let wit = named.parts.into_wit(&named.jar);
        let extras = wit.extras.expect("a name is an extra");
        assert_eq!(extras.name.as_deref(), Some("home"));
        assert!(matches!(extras.jar, wit::JarChoice::Vu));
        let timed = Request::get("http://h/").timeout(Duration::from_millis(1500));
        let wit = timed.parts.into_wit(&timed.jar);
        assert_eq!(wit.extras.and_then(|e| e.timeout_ms), Some(1500));
        let no_jar = Request::get("http://h/").no_jar();
        let wit = no_jar.parts.into_wit(&no_jar.jar);
        assert!(matches!(
            wit.extras.map(|e| e.jar),
            Some(wit::JarChoice::NoJar)
        ));
    }

    #[test]
    fn a_request_that_keeps_its_body_makes_the_vu_decide_every_request() {
        fn discarding() -> bool {
            true
        }
        fn unreachable_host() -> bool {
            panic!("the host is asked only when a request keeps its body")
        }
        let decided = Cell::new(None);
        // Until then the host applies the test's default: a plain request says nothing.
        assert!(!discards(None, &decided, unreachable_host));
        assert!(discards(Some(true), &decided, unreachable_host));
        assert_eq!(decided.get(), None);
        // The first request that keeps its body asks for the default once…
        assert!(!discards(Some(false), &decided, discarding));
        assert_eq!(decided.get(), Some(true));
        // …and every later request resolves it here.
        assert!(discards(None, &decided, unreachable_host));
        assert!(!discards(Some(false), &decided, unreachable_host));
        assert!(discards(Some(true), &decided, unreachable_host));
    }
}
