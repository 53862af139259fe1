//! One request as the script asked for it, through its redirects, cookies and authentication:
//! what each hop sends, and whether there is a next hop. The rules are Go's `net/http` client's,
//! which k6 uses:
//!
//! - 301, 302 and 303 turn any method but `GET` and `HEAD` into `GET`, and drop the body and
//!   the headers that describe it (`Content-Type`, `Content-Encoding`, `Content-Language`,
//!   `Content-Location`, `Content-Length`, `Transfer-Encoding`); 307 and 308 keep the method,
//!   the body and every header.
//! - `Authorization`, `WWW-Authenticate`, `Cookie`, `Cookie2`, `Proxy-Authorization` and
//!   `Proxy-Authenticate` the script set are dropped once a hop leaves the first request's host
//!   for one that is neither it nor a subdomain of it (ports do not matter), and stay dropped.
//!   The script's `cookies` go with them; the jar's cookies follow their own rules on every hop.
//! - A `Host` header the script set is kept only while `Location`s are relative paths.
//! - `Referer` is the previous hop's URL (without credentials or fragment), except from https
//!   to http; a `Referer` the script set is kept.
//! - `Location` is resolved against the hop's URL (WHATWG URL rules: relative, query-only,
//!   fragment-only, scheme-relative, non-ASCII); an empty or absent `Location` ends the chain
//!   with the 3xx; one that cannot be parsed ends it with an error (code 1000), as in Go.
//! - Each hop's `Set-Cookie`s are stored before the next hop is sent.
//! - After `maxRedirects` hops, the last 3xx is the response; k6's warning is logged unless the
//!   script or the options set the limit.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH, CONTENT_LOCATION,
    CONTENT_TYPE, COOKIE, HOST, LOCATION, REFERER, SET_COOKIE, TRANSFER_ENCODING, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use url::Url;

use super::auth::{self, AuthScheme, Challenge, Credentials};
use super::cookies::SharedJar;
use super::errors::{self, RequestError};
use super::{compress, Exchange};

/// A cookie the script added to one request (k6's `cookies` param).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Sent instead of the jar's cookie of the same name (else both are sent).
    pub replace: bool,
}

/// Headers the script set that do not follow a redirect to another host.
const SENSITIVE: [&str; 6] = [
    "authorization",
    "www-authenticate",
    "cookie",
    "cookie2",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Headers that describe a body, dropped with it on 301, 302 and 303.
const BODY_HEADERS: [HeaderName; 6] = [
    CONTENT_TYPE,
    CONTENT_ENCODING,
    CONTENT_LANGUAGE,
    CONTENT_LOCATION,
    CONTENT_LENGTH,
    TRANSFER_ENCODING,
];

/// What comes after a hop.
pub(crate) enum Next {
    /// The hop's response is the answer.
    Done,
    /// Send the next hop.
    Follow,
    /// The chain ends with this error on the last hop.
    Fail(RequestError),
}

/// The request being sent, hop by hop.
pub(crate) struct Chain {
    pub(crate) method: Method,
    pub(crate) url: String,
    pub(crate) body: Bytes,
    pub(crate) headers: HeaderMap,
    jar: Option<SharedJar>,
    /// The script's `Cookie` header, kept apart while cookies are being added to it.
    script_cookie: Option<String>,
    request_cookies: Vec<RequestCookie>,
    auth: AuthScheme,
    credentials: Option<Credentials>,
    /// This hop's URL with its credentials masked (`****:****@`), as k6 reports it in the
    /// `url` tag, and as the script wrote it, credentials and all (k6's `res.url`); `None`
    /// when the URL had none.
    shown_urls: Option<(String, String)>,
    /// An `Authorization` stampede added to the current hop (not to be carried on).
    added_authorization: bool,
    /// The first request's host, once a redirect needs it.
    first_host: Option<String>,
    /// The first request's URL, once a redirect replaced it.
    pub(crate) first_url: Option<String>,
    /// The script set `Referer` itself: redirects keep it.
    script_referer: bool,
    /// Sensitive headers are gone for good.
    stripped: bool,
    /// Hops followed so far.
    pub(crate) redirects: u32,
}

impl Chain {
    /// The request as the script gave it, before its first hop is prepared.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        method: Method,
        url: String,
        body: Bytes,
        headers: HeaderMap,
        jar: Option<SharedJar>,
        request_cookies: Vec<RequestCookie>,
        auth: Option<AuthScheme>,
    ) -> Self {
        Chain {
            method,
            url,
            body,
            headers,
            jar,
            script_cookie: None,
            request_cookies,
            auth: auth.unwrap_or_default(),
            credentials: None,
            shown_urls: None,
            added_authorization: false,
            first_host: None,
            first_url: None,
            script_referer: false,
            stripped: false,
            redirects: 0,
        }
    }

    /// Prepares the first hop: compresses the body as `compression` says (k6's param), takes
    /// the credentials off the URL, and adds the cookies.
    pub(crate) fn begin(
        &mut self,
        compression: &str,
        warn: &mut dyn FnMut(String),
    ) -> Result<(), RequestError> {
        if !compression.trim().is_empty() {
            self.compress(compression, warn)?;
        }
        // Most requests have neither: one pass over their few headers finds out, where a
        // hashed lookup for each cost more.
        let (mut cookie, mut referer) = (false, false);
        for name in self.headers.keys() {
            cookie |= *name == COOKIE;
            referer |= *name == REFERER;
        }
        self.script_cookie = if cookie {
            joined(&self.headers, &COOKIE)
        } else {
            None
        };
        self.script_referer = referer;
        self.prepare_hop(None)
    }

    fn compress(
        &mut self,
        compression: &str,
        warn: &mut dyn FnMut(String),
    ) -> Result<(), RequestError> {
        let codings = compress::parse(compression)?;
        // As k6: a request without a body (a GET) goes as it is, not as a compressed nothing.
        if codings.is_empty() || self.body.is_empty() {
            return Ok(());
        }
        self.body = Bytes::from(compress::encode(&codings, &self.body)?);
        let value = compress::content_encoding(&codings);
        match self.headers.get(CONTENT_ENCODING) {
            None => {
                self.headers.insert(
                    CONTENT_ENCODING,
                    HeaderValue::from_str(&value).expect("coding names are tokens"),
                );
            }
            Some(set) if set.as_bytes() != value.as_bytes() => warn(format!(
                "the Content-Encoding header set for {} {} ({}) differs from its `compression` \
                 ({value}): the header is kept, the body may not match it",
                self.method,
                self.url,
                String::from_utf8_lossy(set.as_bytes())
            )),
            Some(_) => {}
        }
        // A length the script set would be the uncompressed one.
        self.headers.remove(CONTENT_LENGTH);
        Ok(())
    }

    /// Whether cookies from a jar or the script must be merged into this hop's `Cookie`.
    fn needs_cookie_header(&self) -> bool {
        !self.request_cookies.is_empty() || self.jar.as_ref().is_some_and(|j| !j.lock().is_empty())
    }

    /// Credentials, `Authorization: Basic` and cookies for the hop at `self.url`; `parsed` is
    /// that URL when the caller has it already.
    fn prepare_hop(&mut self, parsed: Option<Url>) -> Result<(), RequestError> {
        let has_userinfo = has_userinfo(&self.url);
        self.shown_urls = None;
        if !has_userinfo && !self.needs_cookie_header() {
            return Ok(());
        }
        let mut url = match parsed {
            Some(u) => u,
            None => Url::parse(&self.url).map_err(|e| {
                RequestError::new(
                    errors::INVALID_URL,
                    format!("invalid URL `{}`: {e}", self.url),
                )
            })?,
        };
        if has_userinfo {
            let mut masked = url.clone();
            let _ = masked.set_username("****");
            if url.password().is_some() {
                let _ = masked.set_password(Some("****"));
            }
            if let Some(creds) = Credentials::take_from(&mut url) {
                // k6 shows a digest request without its credentials (its digest transport
                // takes them off the URL), and others with them masked.
                if self.auth != AuthScheme::Digest {
                    self.shown_urls = Some((masked.to_string(), self.url.clone()));
                }
                self.url = url.to_string();
                if self.auth == AuthScheme::Basic && !self.headers.contains_key(AUTHORIZATION) {
                    self.headers.insert(AUTHORIZATION, creds.basic());
                    self.added_authorization = true;
                }
                self.credentials = Some(creds);
            }
        }
        self.set_cookies(&url);
        Ok(())
    }

    /// Writes this hop's `Cookie`: the script's header, its `cookies`, then the jar's.
    fn set_cookies(&mut self, url: &Url) {
        if self.script_cookie.is_none() && !self.needs_cookie_header() {
            return;
        }
        let mut parts: Vec<String> = Vec::new();
        if let Some(c) = &self.script_cookie {
            parts.push(c.clone());
        }
        for c in &self.request_cookies {
            parts.push(format!("{}={}", c.name, c.value));
        }
        if let Some(jar) = &self.jar {
            let jar = jar.lock();
            for (name, value) in jar.cookies_for(url, SystemTime::now()) {
                if !self
                    .request_cookies
                    .iter()
                    .any(|c| c.replace && c.name == name)
                {
                    parts.push(format!("{name}={value}"));
                }
            }
        }
        self.headers.remove(COOKIE);
        if !parts.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&parts.join("; ")) {
                self.headers.insert(COOKIE, v);
            }
        }
    }

    /// Rewrites the hop's `Cookie` after the jar changed (a digest challenge that set cookies
    /// is answered with them, as a browser would).
    pub(crate) fn refresh_cookies(&mut self) {
        if self.needs_cookie_header() {
            if let Ok(url) = Url::parse(&self.url) {
                self.set_cookies(&url);
            }
        }
    }

    /// Stores the cookies `ex` set, if it set any and the request has a jar.
    pub(crate) fn store_cookies(&self, ex: &Exchange) {
        let Some(jar) = &self.jar else { return };
        if !ex.headers.contains(&SET_COOKIE) {
            return;
        }
        if let Ok(url) = Url::parse(&ex.url) {
            jar.lock().store_response(
                &url,
                ex.headers.get_all(SET_COOKIE).iter().map(|v| v.as_bytes()),
                SystemTime::now(),
            );
        }
    }

    /// The `Authorization` that answers `ex`'s digest challenge, when the request uses digest
    /// and `ex` is a `401` carrying one.
    pub(crate) fn digest_answer(&self, ex: &Exchange) -> Option<HeaderValue> {
        if self.auth != AuthScheme::Digest || ex.status != 401 || ex.error.is_some() {
            return None;
        }
        let creds = self.credentials.as_ref()?;
        let challenge = Challenge::pick(
            ex.headers
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .map(|v| v.as_bytes()),
        )?;
        let url = Url::parse(&self.url).ok()?;
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        challenge.answer(
            creds,
            self.method.as_str(),
            &target,
            &self.body,
            &auth::cnonce(),
        )
    }

    /// Shows `ex` as k6 reports it: the hop's URL with its credentials masked in the
    /// metrics, and as written for the script.
    pub(crate) fn mask(&self, ex: &mut Exchange) {
        if let Some((masked, written)) = &self.shown_urls {
            ex.url.clone_from(masked);
            ex.written_url = Some(written.clone());
        }
    }

    /// Decides what follows `ex` and, to follow, makes the next hop.
    pub(crate) fn next(&mut self, ex: &Exchange, max_redirects: u32) -> Next {
        if ex.error.is_some() || !matches!(ex.status, 301 | 302 | 303 | 307 | 308) {
            return Next::Done;
        }
        let Some(location) = ex.headers.get(LOCATION).filter(|l| !l.is_empty()) else {
            return Next::Done;
        };
        if self.redirects >= max_redirects {
            return Next::Done;
        }
        let base = match Url::parse(&self.url) {
            Ok(u) => u,
            Err(_) => return Next::Done,
        };
        let raw = escape_non_ascii(location.as_bytes());
        let mut next = match base.join(&raw) {
            Ok(u) => u,
            Err(e) => {
                return Next::Fail(RequestError::new(
                    errors::GENERIC,
                    format!("failed to parse Location header {raw:?}: {e}"),
                ))
            }
        };
        next.set_fragment(None);
        self.redirects += 1;
        self.redirect_headers(ex.status, &base, &next, &raw);
        let to = next.to_string();
        let from = std::mem::replace(&mut self.url, to);
        self.first_url.get_or_insert(from);
        if let Err(e) = self.prepare_hop(Some(next)) {
            return Next::Fail(e);
        }
        Next::Follow
    }

    /// The method, body and headers of the hop after a `status` from `from` to `to`.
    fn redirect_headers(&mut self, status: u16, from: &Url, to: &Url, location: &str) {
        if self.added_authorization {
            self.headers.remove(AUTHORIZATION);
            self.added_authorization = false;
        }
        if matches!(status, 301..=303) {
            if self.method != Method::GET && self.method != Method::HEAD {
                self.method = Method::GET;
            }
            self.body = Bytes::new();
            for h in &BODY_HEADERS {
                self.headers.remove(h);
            }
        }
        if !self.stripped {
            let first = self
                .first_host
                .get_or_insert_with(|| from.host_str().unwrap_or("").to_ascii_lowercase());
            let to_host = to.host_str().unwrap_or("").to_ascii_lowercase();
            if !is_domain_or_subdomain(&to_host, first) {
                self.stripped = true;
                for h in SENSITIVE {
                    self.headers.remove(h);
                }
                self.script_cookie = None;
                self.request_cookies.clear();
                self.credentials = None;
            }
        }
        if self.headers.contains_key(HOST) && !is_relative_path(location) {
            self.headers.remove(HOST);
        }
        if !self.script_referer {
            self.headers.remove(REFERER);
            if !(from.scheme() == "https" && to.scheme() == "http") {
                let mut referer = from.clone();
                referer.set_fragment(None);
                if let Ok(v) = HeaderValue::from_str(referer.as_str()) {
                    self.headers.insert(REFERER, v);
                }
            }
        }
    }
}

/// The values of header `name` joined by `; ` (how several `Cookie` headers combine).
fn joined(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let first = values.next()?;
    Some(values.fold(first, |acc, v| acc + "; " + &v))
}

/// Whether an absolute URL string carries credentials (`scheme://user@host`), checked without
/// parsing it: most URLs have none.
///
/// Byte by byte: it runs on every request, and `str::split_once("://")` sets up a substring
/// searcher that cost more than the rest of an uncredentialed request's preparation.
fn has_userinfo(url: &str) -> bool {
    let b = url.as_bytes();
    let Some(sep) = b.windows(3).position(|w| w == b"://") else {
        return false;
    };
    for &c in &b[sep + 3..] {
        match c {
            b'@' => return true,
            b'/' | b'?' | b'#' => return false,
            _ => {}
        }
    }
    false
}

/// Go's `isDomainOrSubdomain`: `sub` is `parent` or ends with `.parent`.
fn is_domain_or_subdomain(sub: &str, parent: &str) -> bool {
    let sub = sub.trim_end_matches('.');
    let parent = parent.trim_end_matches('.');
    if sub == parent {
        return true;
    }
    // An IP address has no subdomains.
    if sub.contains(':') || sub.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    sub.len() > parent.len()
        && sub.ends_with(parent)
        && sub.as_bytes()[sub.len() - parent.len() - 1] == b'.'
}

/// A `Location` that is a path (no scheme, no `//authority`).
fn is_relative_path(location: &str) -> bool {
    !location.starts_with("//") && !location.starts_with("\\\\") && Url::parse(location).is_err()
}

/// Percent-encodes the bytes of a header value outside ASCII, so that the URL parser sees
/// exactly the bytes that came (UTF-8 or not) and encodes them as it would UTF-8 text.
fn escape_non_ascii(raw: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii() {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_follow_go() {
        assert!(is_domain_or_subdomain("example.com", "example.com"));
        assert!(is_domain_or_subdomain("api.example.com", "example.com"));
        assert!(!is_domain_or_subdomain("example.com", "api.example.com"));
        assert!(!is_domain_or_subdomain("badexample.com", "example.com"));
        assert!(!is_domain_or_subdomain("127.0.0.2", "127.0.0.1"));
    }

    #[test]
    fn userinfo_is_spotted_in_the_authority_only() {
        assert!(has_userinfo("http://u:p@h/"));
        assert!(has_userinfo("http://u@h"));
        assert!(!has_userinfo("http://h/a@b"));
        assert!(!has_userinfo("http://h?x=a@b"));
        assert!(!has_userinfo("nonsense"));
    }

    /// The byte scan answers as `str` searching does, on every string of a small alphabet.
    #[test]
    fn userinfo_scan_matches_the_str_search() {
        fn by_str(url: &str) -> bool {
            let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
                return false;
            };
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            rest[..authority_end].contains('@')
        }
        let alphabet = [":", "/", "@", "?", "#", "a", "é"];
        let mut strings = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..6 {
            level = level
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(level.iter().cloned());
        }
        assert!(strings.len() > 100_000);
        for s in &strings {
            assert_eq!(has_userinfo(s), by_str(s), "{s:?}");
            let url = format!("http://{s}");
            assert_eq!(has_userinfo(&url), by_str(&url), "{url:?}");
        }
    }

    #[test]
    fn relative_locations_are_told_from_absolute_ones() {
        assert!(is_relative_path("/next"));
        assert!(is_relative_path("next?x=1"));
        assert!(is_relative_path("?q"));
        assert!(!is_relative_path("//other/x"));
        assert!(!is_relative_path("http://other/x"));
    }

    #[test]
    fn non_ascii_bytes_are_escaped_as_they_came() {
        assert_eq!(escape_non_ascii("/café".as_bytes()), "/caf%C3%A9");
        assert_eq!(escape_non_ascii(b"/\xe9"), "/%E9");
        let base = Url::parse("http://h/a/b").unwrap();
        assert_eq!(
            base.join(&escape_non_ascii("/café?q=ü".as_bytes()))
                .unwrap()
                .as_str(),
            "http://h/caf%C3%A9?q=%C3%BC"
        );
    }
}
