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
use std::cell::OnceCell;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::bindings::stampede::script::http as wit;

pub use wit::Timings;

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
    let requests: Vec<wit::Request> = requests.into_iter().map(|r| r.inner).collect();
    wit::batch(&requests)
        .into_iter()
        .map(Response::new)
        .collect()
}

/// An HTTP request being built. Nothing is sent until [`send`](Request::send).
#[derive(Debug, Clone)]
pub struct Request {
    inner: wit::Request,
}

impl Request {
    /// A request with any method.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            inner: wit::Request {
                method: method.to_owned(),
                url: url.to_owned(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ms: None,
                tags: Vec::new(),
                name: None,
                max_redirects: None,
                discard_body: false,
                http_version: None,
            },
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
        self.inner.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = body.into();
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
        self.inner.timeout_ms = Some(timeout.as_millis().try_into().unwrap_or(u64::MAX));
        self
    }

    /// Sets the `name` tag, which groups dynamic URLs into one series in the metrics.
    pub fn name(mut self, name: &str) -> Self {
        self.inner.name = Some(name.to_owned());
        self
    }

    /// Adds a tag to this request's samples.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.inner.tags.push((key.to_owned(), value.to_owned()));
        self
    }

    /// How many redirects to follow (default: the test's `maxRedirects`, 10). 0 returns the
    /// redirect response itself.
    pub fn max_redirects(mut self, redirects: u32) -> Self {
        self.inner.max_redirects = Some(redirects);
        self
    }

    /// Reads and counts the response body but does not hand it to the script, which saves
    /// copying it into the VU's memory.
    pub fn discard_body(mut self) -> Self {
        self.inner.discard_body = true;
        self
    }

    /// Sets the HTTP version of this request, k6-style: `"1.1"` forces HTTP/1.1, `"2"` forces
    /// HTTP/2 (h2c with prior knowledge on `http://`), `"auto"` lets the TLS handshake pick
    /// (the default, or the test's `httpVersion` option).
    pub fn http_version(mut self, version: &str) -> Self {
        self.inner.http_version = Some(version.to_owned());
        self
    }

    /// Sends the request and waits for the response.
    pub fn send(self) -> Response {
        Response::new(wit::send(&self.inner))
    }
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

    /// Whether a response arrived with a 2xx or 3xx status.
    pub fn is_ok(&self) -> bool {
        (200..400).contains(&self.status())
    }
}
