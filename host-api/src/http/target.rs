//! URLs as WHATWG parses them (the `url` crate), turned into what goes on the wire: the
//! origin to connect to, the request target, the `Host`/`:authority` value and the Basic
//! credentials of a `user:pass@` URL.

use std::sync::Arc;

use base64::Engine as _;
use http::HeaderValue;

use super::errors::{self, RequestError};

/// Where a connection goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    https: bool,
    /// Host as in the URL: a lower-case (punycode) name, an IPv4 address, or an IPv6 address
    /// in brackets.
    host: Arc<str>,
    port: u16,
}

impl Origin {
    /// Host name or address (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host without IPv6 brackets: what is resolved, and the TLS server name.
    pub fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the scheme is `https`.
    pub fn https(&self) -> bool {
        self.https
    }

    /// `host[:port]`, the port left out when it is the scheme's default (as browsers and Go
    /// write `Host`).
    pub fn authority(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A parsed URL, ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) origin: Origin,
    /// Path and query (`/` at least), percent-encoded.
    pub(crate) path: Arc<str>,
    /// The `Host` header for this origin.
    pub(crate) host: HeaderValue,
    /// `Authorization: Basic …` from the URL's credentials.
    pub(crate) basic_auth: Option<HeaderValue>,
    /// The URL with its credentials masked, as k6 shows it in the `url` tag.
    pub(crate) masked: Option<Arc<str>>,
    /// Scheme, authority and path as HTTP/2 sends them (`:scheme`, `:authority`, `:path`).
    pub(crate) uri: http::Uri,
}

fn invalid(url: &str, why: impl std::fmt::Display) -> RequestError {
    RequestError::new(errors::INVALID_URL, format!("invalid URL `{url}`: {why}"))
}

/// Parses and normalises `url` (WHATWG): an invalid port or host fails with 1020, an empty
/// path becomes `/`, non-ASCII is percent-encoded (punycode in the host).
pub(crate) fn parse(url: &str) -> Result<Target, RequestError> {
    let u = url::Url::parse(url).map_err(|e| invalid(url, e))?;
    let https = match u.scheme() {
        "http" => false,
        "https" => true,
        other => {
            return Err(invalid(
                url,
                format!("unsupported scheme `{other}` (use http or https)"),
            ))
        }
    };
    let host: Arc<str> = match u.host() {
        Some(url::Host::Domain(d)) if !d.is_empty() => d.into(),
        Some(url::Host::Ipv4(ip)) => ip.to_string().into(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]").into(),
        _ => return Err(invalid(url, "no host")),
    };
    let port = u
        .port_or_known_default()
        .ok_or_else(|| invalid(url, "no port"))?;
    let origin = Origin { https, host, port };
    let path: Arc<str> = match u.query() {
        Some(q) => format!("{}?{q}", u.path()).into(),
        None if u.path().is_empty() => "/".into(),
        None => u.path().into(),
    };
    let host = HeaderValue::from_str(&origin.authority()).map_err(|e| invalid(url, e))?;
    let (basic_auth, masked) = if u.username().is_empty() && u.password().is_none() {
        (None, None)
    } else {
        let user = decode(u.username());
        let pass = decode(u.password().unwrap_or(""));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let value =
            HeaderValue::from_str(&format!("Basic {token}")).map_err(|e| invalid(url, e))?;
        let mut clean = u.clone();
        let _ = clean.set_username("****");
        if u.password().is_some() {
            let _ = clean.set_password(Some("****"));
        }
        (Some(value), Some(clean.as_str().into()))
    };
    let uri = http::Uri::builder()
        .scheme(if https { "https" } else { "http" })
        .authority(origin.authority())
        .path_and_query(&*path)
        .build()
        .map_err(|e| invalid(url, e))?;
    Ok(Target {
        origin,
        path,
        host,
        basic_auth,
        masked,
        uri,
    })
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> Target {
        parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn urls_are_normalised_as_whatwg_says() {
        let t = ok("http://Example.COM");
        assert_eq!(
            (t.origin.host(), t.origin.port(), &*t.path),
            ("example.com", 80, "/")
        );
        assert_eq!(t.host, "example.com");
        let t = ok("https://example.com:443/a b/é?q=ü v#frag");
        assert_eq!(&*t.path, "/a%20b/%C3%A9?q=%C3%BC%20v");
        assert_eq!(t.host, "example.com", "the default port is left out");
        let t = ok("http://bücher.example:8080/");
        assert_eq!(t.origin.host(), "xn--bcher-kva.example");
        assert_eq!(t.host, "xn--bcher-kva.example:8080");
        let t = ok("http://x/?");
        assert_eq!(&*t.path, "/?");
    }

    #[test]
    fn ipv6_literals_are_bracketed_in_host_and_bare_to_connect() {
        let t = ok("http://[::1]:8080/x");
        assert_eq!(t.origin.host(), "[::1]");
        assert_eq!(t.origin.bare_host(), "::1");
        assert_eq!(t.host, "[::1]:8080");
        let t = ok("https://[0:0:0:0:0:0:0:1]/");
        assert_eq!(t.origin.host(), "[::1]");
        assert_eq!((t.origin.port(), t.origin.https()), (443, true));
    }

    #[test]
    fn invalid_urls_fail_with_1020_and_say_why() {
        for (url, says) in [
            ("http://127.0.0.1:99999/", "invalid port"),
            ("http://127.0.0.1:abc/", "invalid port"),
            ("ftp://example.com/", "unsupported scheme"),
            ("/relative", "relative URL"),
            ("http://[::1/", "IPv6"),
            ("http://exa mple.com/", "domain"),
            ("http://", "host"),
        ] {
            let e = parse(url).err().unwrap_or_else(|| panic!("{url} parsed"));
            assert_eq!(e.code, errors::INVALID_URL, "{url}");
            assert!(e.message.contains(says), "{url}: {}", e.message);
        }
    }

    #[test]
    fn credentials_become_basic_auth_and_are_masked() {
        let t = ok("http://us%20er:p%40ss@example.com/");
        // base64("us er:p@ss")
        assert_eq!(t.basic_auth.unwrap(), "Basic dXMgZXI6cEBzcw==");
        assert_eq!(t.masked.as_deref(), Some("http://****:****@example.com/"));
        let t = ok("http://user@example.com/");
        assert_eq!(t.basic_auth.unwrap(), "Basic dXNlcjo=");
        assert!(ok("http://example.com/").basic_auth.is_none());
    }
}
