//! Cookie jars, as k6's `http.cookieJar()` and `new http.CookieJar()`.
//!
//! Every VU has a jar of its own: cookies that responses set are stored in it and sent with
//! the requests whose URL they match (RFC 6265's rules), across redirects too. stampede empties
//! it at the start of every iteration, as k6 does.
//!
//! ```no_run
//! use stampede::http::{self, CookieJar, CookieOptions, Request};
//!
//! let jar = http::cookie_jar();
//! jar.set("http://127.0.0.1:8080/", "session", "abc", CookieOptions::default()).unwrap();
//! let res = http::get("http://127.0.0.1:8080/cookies"); // sends session=abc
//! let sent = jar.cookies_for_url("http://127.0.0.1:8080/").unwrap();
//!
//! let mine = CookieJar::new();
//! Request::get("http://127.0.0.1:8080/").jar(&mine).send();
//! Request::get("http://127.0.0.1:8080/").no_jar().cookie("only", "this").send();
//! ```

use std::rc::Rc;

use crate::bindings::stampede::script::http as wit;

/// The attributes of a cookie set with [`CookieJar::set`] (k6's `domain`, `path`, `expires`,
/// `max_age`, `secure`, `http_only`).
pub use wit::CookieOptions;
/// A cookie a response set, with k6's fields (`name`, `value`, `domain`, `path`, `http_only`,
/// `secure`, `max_age`, `expires` in ms since the epoch).
pub use wit::ResponseCookie;

// The type is generated from the WIT, where no derive can be added.
#[allow(clippy::derivable_impls)]
impl Default for CookieOptions {
    fn default() -> Self {
        Self {
            domain: None,
            path: None,
            expires_ms: None,
            max_age: None,
            secure: false,
            http_only: false,
        }
    }
}

/// A cookie jar: the VU's ([`cookie_jar`]) or one of the script's own ([`CookieJar::new`]).
/// Clones name the same jar.
#[derive(Debug, Clone)]
pub struct CookieJar(Rc<wit::CookieJar>);

/// The VU's own cookie jar (k6's `http.cookieJar()`).
pub fn cookie_jar() -> CookieJar {
    CookieJar(Rc::new(wit::vu_cookie_jar()))
}

impl Default for CookieJar {
    fn default() -> Self {
        Self::new()
    }
}

impl CookieJar {
    /// A new, empty jar (k6's `new http.CookieJar()`); requests use it with
    /// [`Request::jar`](crate::http::Request::jar).
    pub fn new() -> Self {
        Self(Rc::new(wit::CookieJar::new()))
    }

    pub(crate) fn handle(&self) -> &wit::CookieJar {
        &self.0
    }

    /// Stores `name=value` for `url`, as if a response from it had set the cookie with
    /// `options`.
    pub fn set(
        &self,
        url: &str,
        name: &str,
        value: &str,
        options: CookieOptions,
    ) -> crate::Result<()> {
        self.0
            .set(url, name, value, &options)
            .map_err(|e| anyhow::anyhow!("cookie jar: {e}"))
    }

    /// The cookies a request to `url` would send, `(name, value)` in the order sent.
    pub fn cookies_for_url(&self, url: &str) -> crate::Result<Vec<(String, String)>> {
        self.0
            .cookies_for_url(url)
            .map_err(|e| anyhow::anyhow!("cookie jar: {e}"))
    }

    /// The value of the cookie `name` a request to `url` would send.
    pub fn get(&self, url: &str, name: &str) -> Option<String> {
        self.cookies_for_url(url)
            .ok()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Removes every cookie a request to `url` would send.
    pub fn clear(&self, url: &str) -> crate::Result<()> {
        self.0
            .clear(url)
            .map_err(|e| anyhow::anyhow!("cookie jar: {e}"))
    }

    /// Removes the cookie `name` that a request to `url` would send.
    pub fn delete(&self, url: &str, name: &str) -> crate::Result<()> {
        self.0
            .delete(url, name)
            .map_err(|e| anyhow::anyhow!("cookie jar: {e}"))
    }
}
