//! Cookie jars with RFC 6265's storage model (section 5.3) and sending rules (section 5.4), as
//! Go's `net/http/cookiejar` applies them in k6.
//!
//! `Set-Cookie` lines are parsed by the `cookie` crate; what is kept, for whom and for how long
//! is decided here:
//!
//! - a cookie without `Domain` is host-only; one with `Domain` goes to that domain and its
//!   subdomains, and is refused when the domain does not match the host that set it. There is
//!   no public suffix list (k6 has none either); a `Domain` of a single label other than the
//!   host itself (`com`) is refused, which is what such a list would do for top-level domains;
//! - on an IP address only host-only cookies are kept (`Domain` must be the address);
//! - `Path` must start with `/`, else the request's directory is used (RFC 6265, 5.1.4);
//! - `Max-Age` wins over `Expires`; zero or less, or an `Expires` in the past, deletes;
//! - `Secure` cookies are sent over https only;
//! - a request's cookies are sent longest path first, then oldest first;
//! - a jar keeps at most [`MAX_COOKIES`] cookies (the oldest go first) and ignores a cookie
//!   whose name and value are longer than [`MAX_COOKIE_SIZE`] bytes, so a hostile server
//!   cannot make a VU's memory grow without bound.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use url::{Host, Url};

/// Most cookies one jar keeps.
pub const MAX_COOKIES: usize = 3000;
/// Longest name plus value of a cookie kept, in bytes (browsers keep 4096).
pub const MAX_COOKIE_SIZE: usize = 4096;

/// One stored cookie.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    value: String,
    /// The host (host-only) or the domain it goes to, lower case, without a trailing dot.
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    /// `None`: a session cookie, kept until the jar is emptied.
    expires: Option<SystemTime>,
    /// Order of creation, for sending (older first among equal paths).
    created: u64,
}

impl Entry {
    fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|t| t <= now)
    }

    fn domain_matches(&self, host: &str) -> bool {
        if self.host_only {
            return self.domain == host;
        }
        self.domain == host || has_dot_suffix(host, &self.domain)
    }

    /// Whether a request to `target` gets this cookie (RFC 6265, 5.4 step 1).
    fn matches(&self, target: &Target<'_>, now: SystemTime) -> bool {
        !self.expired(now)
            && (!self.secure || target.https || self.for_loopback())
            && self.domain_matches(&target.host)
            && path_matches(target.path, &self.path)
    }

    /// Whether the cookie's domain is `localhost` (or under it) or a loopback address: a
    /// secure origin over plain HTTP too, as in browsers and Go's jar (k6's), so that a
    /// `Secure` cookie of a service on this machine is sent to it.
    fn for_loopback(&self) -> bool {
        let last = self.domain.rsplit('.').next().unwrap_or_default();
        last == "localhost"
            || self
                .domain
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// What of a request URL decides which cookies it gets.
struct Target<'a> {
    https: bool,
    host: String,
    path: &'a str,
}

impl<'a> Target<'a> {
    fn of(url: &'a Url) -> Result<Self, String> {
        let https = match url.scheme() {
            "https" | "wss" => true,
            "http" | "ws" => false,
            other => return Err(format!("cookies need an http(s) URL, not `{other}:`")),
        };
        let host = canonical_host(url).ok_or_else(|| format!("`{url}` has no host"))?;
        Ok(Self {
            https,
            host,
            path: url.path(),
        })
    }

    fn is_ip(&self) -> bool {
        self.host.parse::<std::net::IpAddr>().is_ok()
    }
}

/// The host of `url` as cookies see it: lower case (the URL parser did that and IDNA), IPv6
/// without brackets, no trailing dot.
fn canonical_host(url: &Url) -> Option<String> {
    Some(match url.host()? {
        Host::Domain(d) => d.trim_end_matches('.').to_owned(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    })
}

/// `s` ends with `.suffix`.
fn has_dot_suffix(s: &str, suffix: &str) -> bool {
    s.len() > suffix.len()
        && s.ends_with(suffix)
        && s.as_bytes()[s.len() - suffix.len() - 1] == b'.'
}

/// RFC 6265, 5.1.4: `request_path` path-matches `cookie_path`.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    match request_path.strip_prefix(cookie_path) {
        Some(rest) => rest.is_empty() || cookie_path.ends_with('/') || rest.starts_with('/'),
        None => false,
    }
}

/// RFC 6265, 5.1.4: the default path of a cookie set by a response to `request_path`.
fn default_path(request_path: &str) -> &str {
    if !request_path.starts_with('/') {
        return "/";
    }
    match request_path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &request_path[..i],
    }
}

/// A cookie to store: what `Set-Cookie` or the script said.
#[derive(Debug, Clone, Default)]
pub struct NewCookie {
    /// Name.
    pub name: String,
    /// Value (without surrounding quotes).
    pub value: String,
    /// `Domain`, if given (a leading dot is ignored).
    pub domain: Option<String>,
    /// `Path`, if given.
    pub path: Option<String>,
    /// `Expires`.
    pub expires: Option<SystemTime>,
    /// `Max-Age` in seconds; zero or less deletes.
    pub max_age: Option<i64>,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
}

impl NewCookie {
    /// Parses one `Set-Cookie` value; `None` when it is not a cookie (no `=`, no name).
    pub fn parse(line: &[u8]) -> Option<Self> {
        let line = std::str::from_utf8(line).ok()?;
        let c = cookie::Cookie::parse(line).ok()?;
        if c.name().is_empty() || !c.name().bytes().all(is_token_byte) {
            return None;
        }
        Some(Self {
            name: c.name().to_owned(),
            value: c.value_trimmed().to_owned(),
            domain: c.domain().map(str::to_owned).filter(|d| !d.is_empty()),
            path: c.path().map(str::to_owned),
            expires: c.expires_datetime().map(SystemTime::from),
            max_age: c.max_age().map(|d| d.whole_seconds()).map(|s| {
                // The `cookie` crate clamps a negative Max-Age to 0: both delete.
                if s <= 0 {
                    -1
                } else {
                    s
                }
            }),
            secure: c.secure().unwrap_or(false),
            http_only: c.http_only().unwrap_or(false),
        })
    }
}

/// RFC 9110 token characters (cookie names are tokens).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Why a cookie was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// A cookie jar.
#[derive(Debug, Default)]
pub struct CookieJar {
    entries: Vec<Entry>,
    next: u64,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the jar holds no cookie (then requests skip it without parsing their URL).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of cookies kept (expired ones included until they are next looked at).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Forgets every cookie.
    pub fn clear_all(&mut self) {
        self.entries.clear();
    }

    /// Stores `cookie` as set by a response to `url` (RFC 6265, 5.3).
    pub fn store(&mut self, url: &Url, cookie: NewCookie, now: SystemTime) -> Result<(), Refused> {
        let target = Target::of(url).map_err(Refused)?;
        if cookie.name.len() + cookie.value.len() > MAX_COOKIE_SIZE {
            return Err(Refused(format!(
                "cookie `{}` is larger than {MAX_COOKIE_SIZE} bytes",
                cookie.name
            )));
        }
        let (domain, host_only) = domain_and_type(&target, cookie.domain.as_deref())?;
        let path = match cookie.path.as_deref() {
            Some(p) if p.starts_with('/') => p.to_owned(),
            _ => default_path(target.path).to_owned(),
        };
        let (expires, delete) = match (cookie.max_age, cookie.expires) {
            (Some(secs), _) if secs <= 0 => (None, true),
            (Some(secs), _) => (
                Some(now + Duration::from_secs(secs.min(i64::from(u32::MAX)) as u64)),
                false,
            ),
            (None, Some(t)) => (Some(t), t <= now),
            (None, None) => (None, false),
        };
        let existing = self
            .entries
            .iter()
            .position(|e| e.name == cookie.name && e.domain == domain && e.path == path);
        if delete {
            if let Some(i) = existing {
                self.entries.remove(i);
            }
            return Ok(());
        }
        let created = match existing {
            Some(i) => self.entries.remove(i).created,
            None => {
                self.next += 1;
                self.next
            }
        };
        if self.entries.len() >= MAX_COOKIES {
            self.evict(now);
        }
        self.entries.push(Entry {
            name: cookie.name,
            value: cookie.value,
            domain,
            host_only,
            path,
            secure: cookie.secure,
            expires,
            created,
        });
        Ok(())
    }

    /// Makes room: expired cookies go, else the oldest.
    fn evict(&mut self, now: SystemTime) {
        self.entries.retain(|e| !e.expired(now));
        if self.entries.len() >= MAX_COOKIES {
            if let Some(oldest) = (0..self.entries.len()).min_by_key(|i| self.entries[*i].created) {
                self.entries.remove(oldest);
            }
        }
    }

    /// Stores every `Set-Cookie` of a response to `url`; cookies it refuses are skipped, as a
    /// browser skips them.
    pub fn store_response<'a>(
        &mut self,
        url: &Url,
        set_cookies: impl Iterator<Item = &'a [u8]>,
        now: SystemTime,
    ) {
        for line in set_cookies {
            if let Some(c) = NewCookie::parse(line) {
                let _ = self.store(url, c, now);
            }
        }
    }

    /// The cookies a request to `url` gets, in the order they are sent (RFC 6265, 5.4).
    pub fn cookies_for(&self, url: &Url, now: SystemTime) -> Vec<(&str, &str)> {
        let Ok(target) = Target::of(url) else {
            return Vec::new();
        };
        let mut found: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.matches(&target, now))
            .collect();
        found.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.created.cmp(&b.created))
        });
        found
            .into_iter()
            .map(|e| (e.name.as_str(), e.value.as_str()))
            .collect()
    }

    /// Removes the cookies a request to `url` would get; with `name`, only those so named.
    pub fn remove_for(&mut self, url: &Url, name: Option<&str>, now: SystemTime) {
        let Ok(target) = Target::of(url) else {
            return;
        };
        self.entries.retain(|e| {
            let removed = e.matches(&target, now) && name.is_none_or(|n| n == e.name);
            !removed && !e.expired(now)
        });
    }
}

/// RFC 6265, 5.3 steps 4–6: the domain a cookie is stored for, and whether it is host-only.
fn domain_and_type(target: &Target<'_>, domain: Option<&str>) -> Result<(String, bool), Refused> {
    let refused = |why: &str| Err(Refused(why.to_owned()));
    let Some(domain) = domain.map(|d| d.strip_prefix('.').unwrap_or(d)) else {
        return Ok((target.host.clone(), true));
    };
    if target.is_ip() {
        let domain = domain.trim_start_matches('[').trim_end_matches(']');
        if domain != target.host {
            return refused("the Domain of a cookie set by an IP address must be that address");
        }
        return Ok((target.host.clone(), true));
    }
    if domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') || !domain.is_ascii() {
        return refused("malformed Domain attribute");
    }
    let domain = domain.to_ascii_lowercase();
    if domain != target.host && !domain.contains('.') {
        return refused("a cookie cannot be set for a top-level domain");
    }
    if domain != target.host && !has_dot_suffix(&target.host, &domain) {
        return refused("the cookie's Domain does not match the host that set it");
    }
    Ok((domain, false))
}

/// A jar shared by the requests that use it and the script's handle on it.
#[derive(Clone, Default)]
pub struct SharedJar(Arc<Mutex<CookieJar>>);

impl std::fmt::Debug for SharedJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedJar")
    }
}

impl SharedJar {
    /// A new, empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// The jar, locked. Only the VU's own task uses it: the lock is never contended.
    pub fn lock(&self) -> MutexGuard<'_, CookieJar> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a script's `cookie-jar` handle names: the VU's jar (whichever it is now) or a jar of
/// the script's own.
#[derive(Debug, Clone)]
pub enum JarHandle {
    /// The VU's jar.
    Vu,
    /// A jar the script made.
    Own(SharedJar),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn set(jar: &mut CookieJar, at: &str, line: &str) -> Result<(), Refused> {
        jar.store(
            &url(at),
            NewCookie::parse(line.as_bytes()).expect("a cookie"),
            now(),
        )
    }

    fn sent(jar: &CookieJar, to: &str) -> String {
        jar.cookies_for(&url(to), now())
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn host_only_cookies_stay_on_their_host() {
        let mut jar = CookieJar::new();
        set(&mut jar, "http://www.example.com/", "a=1").unwrap();
        assert_eq!(sent(&jar, "http://www.example.com/x"), "a=1");
        assert_eq!(sent(&jar, "http://api.www.example.com/"), "");
        assert_eq!(sent(&jar, "http://example.com/"), "");
        assert_eq!(sent(&jar, "http://WWW.Example.COM./"), "a=1");
    }

    #[test]
    fn domain_cookies_go_to_subdomains_and_foreign_domains_are_refused() {
        let mut jar = CookieJar::new();
        set(
            &mut jar,
            "http://www.example.com/",
            "d=1; Domain=.Example.com",
        )
        .unwrap();
        assert_eq!(sent(&jar, "http://example.com/"), "d=1");
        assert_eq!(sent(&jar, "http://a.b.example.com/"), "d=1");
        assert_eq!(sent(&jar, "http://badexample.com/"), "");
        assert!(set(&mut jar, "http://www.example.com/", "x=1; Domain=other.com").is_err());
        assert!(set(
            &mut jar,
            "http://www.example.com/",
            "x=1; Domain=a.www.example.com"
        )
        .is_err());
        assert!(set(&mut jar, "http://www.example.com/", "x=1; Domain=com").is_err());
        assert!(set(&mut jar, "http://localhost/", "x=1; Domain=localhost").is_ok());
        assert!(set(
            &mut jar,
            "http://www.example.com/",
            "x=1; Domain=example.com."
        )
        .is_err());
    }

    #[test]
    fn ip_hosts_keep_host_only_cookies() {
        let mut jar = CookieJar::new();
        set(&mut jar, "http://127.0.0.1:8080/", "a=1; Domain=127.0.0.1").unwrap();
        assert!(set(&mut jar, "http://127.0.0.1/", "b=1; Domain=0.0.1").is_err());
        assert_eq!(sent(&jar, "http://127.0.0.1:9090/"), "a=1");
        assert_eq!(sent(&jar, "http://127.0.0.2/"), "");
        set(&mut jar, "http://[::1]/", "v6=1").unwrap();
        assert_eq!(sent(&jar, "http://[::1]:1234/"), "v6=1");
    }

    #[test]
    fn paths_default_to_the_directory_and_match_by_segment() {
        assert_eq!(default_path("/a/b/c"), "/a/b");
        assert_eq!(default_path("/a"), "/");
        assert_eq!(default_path(""), "/");
        assert!(path_matches("/docs/web", "/docs"));
        assert!(path_matches("/docs", "/docs"));
        assert!(path_matches("/docs/", "/docs/"));
        assert!(!path_matches("/docsx", "/docs"));
        assert!(!path_matches("/", "/docs"));
        let mut jar = CookieJar::new();
        set(&mut jar, "http://h/app/login", "s=1").unwrap();
        set(&mut jar, "http://h/", "root=1; Path=/").unwrap();
        set(&mut jar, "http://h/", "deep=1; Path=/app/admin").unwrap();
        set(&mut jar, "http://h/", "bad=1; Path=relative").unwrap();
        assert_eq!(sent(&jar, "http://h/app/x"), "s=1; root=1; bad=1");
        assert_eq!(
            sent(&jar, "http://h/app/admin/y"),
            "deep=1; s=1; root=1; bad=1"
        );
        assert_eq!(sent(&jar, "http://h/other"), "root=1; bad=1");
    }

    #[test]
    fn secure_cookies_need_https_except_on_this_machine() {
        let mut jar = CookieJar::new();
        set(&mut jar, "https://h/", "s=1; Secure").unwrap();
        set(&mut jar, "https://h/", "p=1").unwrap();
        assert_eq!(sent(&jar, "https://h/"), "s=1; p=1");
        assert_eq!(sent(&jar, "http://h/"), "p=1");
        // A cookie of this machine's is sent over plain HTTP too, as Go's jar sends it.
        for origin in [
            "http://localhost:8080",
            "http://app.localhost",
            "http://127.0.0.1",
            "http://127.8.9.10:81",
            "http://[::1]:8080",
        ] {
            let mut jar = CookieJar::new();
            set(&mut jar, &format!("{origin}/"), "s=1; Secure").unwrap();
            assert_eq!(sent(&jar, &format!("{origin}/x")), "s=1", "{origin}");
        }
        for origin in [
            "http://localhost.example",
            "http://10.0.0.1",
            "http://[::2]",
        ] {
            let mut jar = CookieJar::new();
            set(&mut jar, &format!("{origin}/"), "s=1; Secure").unwrap();
            assert_eq!(sent(&jar, &format!("{origin}/x")), "", "{origin}");
        }
    }

    #[test]
    fn max_age_wins_over_expires_and_zero_deletes() {
        let mut jar = CookieJar::new();
        set(
            &mut jar,
            "http://h/",
            "a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        )
        .unwrap();
        set(
            &mut jar,
            "http://h/",
            "b=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        )
        .unwrap();
        set(
            &mut jar,
            "http://h/",
            "c=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
        )
        .unwrap();
        assert_eq!(sent(&jar, "http://h/"), "a=1; c=1");
        let later = now() + Duration::from_secs(61);
        let names: Vec<_> = jar
            .cookies_for(&url("http://h/"), later)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["c"]);
        set(&mut jar, "http://h/", "c=1; Max-Age=0").unwrap();
        assert_eq!(sent(&jar, "http://h/"), "a=1");
        set(&mut jar, "http://h/", "a=1; Max-Age=-5").unwrap();
        assert_eq!(sent(&jar, "http://h/"), "");
    }

    #[test]
    fn a_cookie_is_replaced_in_place_keeping_its_age() {
        let mut jar = CookieJar::new();
        set(&mut jar, "http://h/", "first=1").unwrap();
        set(&mut jar, "http://h/", "second=1").unwrap();
        set(&mut jar, "http://h/", "first=2").unwrap();
        assert_eq!(sent(&jar, "http://h/"), "first=2; second=1");
        assert_eq!(jar.len(), 2);
    }

    #[test]
    fn bad_lines_are_ignored_and_quotes_stripped() {
        assert!(NewCookie::parse(b"novalue").is_none());
        assert!(NewCookie::parse(b"=v").is_none());
        assert!(NewCookie::parse(b"bad name=v").is_none());
        assert!(NewCookie::parse(b"\xff=1").is_none());
        let c = NewCookie::parse(b"q=\"quoted\"; HttpOnly; Max-Age=0").unwrap();
        assert_eq!(
            (c.value.as_str(), c.http_only, c.max_age),
            ("quoted", true, Some(-1))
        );
    }

    #[test]
    fn removal_follows_what_a_request_would_send() {
        let mut jar = CookieJar::new();
        set(
            &mut jar,
            "http://www.example.com/",
            "a=1; Domain=example.com",
        )
        .unwrap();
        set(&mut jar, "http://www.example.com/", "b=1").unwrap();
        set(&mut jar, "http://other.com/", "c=1").unwrap();
        jar.remove_for(&url("http://www.example.com/"), Some("a"), now());
        assert_eq!(sent(&jar, "http://www.example.com/"), "b=1");
        jar.remove_for(&url("http://www.example.com/"), None, now());
        assert_eq!(sent(&jar, "http://www.example.com/"), "");
        assert_eq!(sent(&jar, "http://other.com/"), "c=1");
    }

    #[test]
    fn a_jar_is_bounded() {
        let mut jar = CookieJar::new();
        for i in 0..MAX_COOKIES + 10 {
            set(&mut jar, "http://h/", &format!("c{i}=1")).unwrap();
        }
        assert_eq!(jar.len(), MAX_COOKIES);
        assert!(!sent(&jar, "http://h/").contains("c0="));
        let big = format!("big={}", "x".repeat(MAX_COOKIE_SIZE));
        assert!(set(&mut jar, "http://h/", &big).is_err());
    }
}
