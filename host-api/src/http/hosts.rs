//! k6's `hosts` option: host names (or `host:port`) answered from the test's options instead
//! of DNS, with k6's matching rules.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// One entry's key: an exact name, or a wildcard standing for any prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// Lowercase; for a wildcard, what follows the `*` (`.example.com` for `*.example.com`).
    text: String,
    wildcard: bool,
}

impl Pattern {
    /// How well `subject` matches: `usize::MAX` for an exact match, the length of what follows
    /// the `*` for a wildcard that `subject` ends with (the longest wins, and an exact entry
    /// beats every wildcard, as in k6's trie).
    fn score(&self, subject: &str) -> Option<usize> {
        if self.wildcard {
            subject.ends_with(&self.text).then_some(self.text.len())
        } else {
            (self.text == subject).then_some(usize::MAX)
        }
    }
}

/// The `hosts` overrides of a test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hosts {
    entries: Vec<(Pattern, IpAddr, Option<u16>)>,
}

impl Hosts {
    /// Parses k6's `hosts` map: keys are names, `host:port`, or either with a leading `*` (any
    /// prefix: `*.example.com` matches the subdomains of `example.com`); values are an IP
    /// address, or `ip:port` (`[::1]:8080`).
    pub fn parse(map: &BTreeMap<String, String>) -> Result<Hosts, String> {
        let mut entries = Vec::with_capacity(map.len());
        for (key, value) in map {
            let pattern = parse_key(key)?;
            let (ip, port) = parse_value(value).ok_or_else(|| {
                format!("hosts: `{key}` maps to `{value}`, which is not an IP address or IP:PORT")
            })?;
            entries.push((pattern, ip, port));
        }
        Ok(Hosts { entries })
    }

    /// Whether there are no overrides.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where to connect for `host` and `port`, if an entry says so. As in k6, `host:port`
    /// entries are tried first, then `host` ones, which keep the request's port unless they
    /// give one.
    pub fn lookup(&self, host: &str, port: u16) -> Option<SocketAddr> {
        if self.entries.is_empty() {
            return None;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        let with_port = format!("{host}:{port}");
        self.best(&with_port)
            .or_else(|| self.best(&host))
            .map(|(ip, to_port)| SocketAddr::new(ip, to_port.unwrap_or(port)))
    }

    fn best(&self, subject: &str) -> Option<(IpAddr, Option<u16>)> {
        self.entries
            .iter()
            .filter_map(|(p, ip, port)| p.score(subject).map(|s| (s, *ip, *port)))
            .max_by_key(|(s, _, _)| *s)
            .map(|(_, ip, port)| (ip, port))
    }
}

fn parse_key(key: &str) -> Result<Pattern, String> {
    let bad = || format!("hosts: invalid host pattern `{key}` (NAME, NAME:PORT, *.NAME or *NAME)");
    let lower = key.trim().to_ascii_lowercase();
    let (wildcard, rest) = match lower.strip_prefix('*') {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    let (name, port) = match rest.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (rest, None),
    };
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
    }
    let labels = name.strip_prefix('.').filter(|_| wildcard).unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    // `*` alone (any name) has no labels; everything else needs valid ones.
    let any_name = labels.is_empty() && wildcard;
    if !any_name && !labels.split('.').all(label_ok) {
        return Err(bad());
    }
    Ok(Pattern {
        text: rest.to_owned(),
        wildcard,
    })
}

fn parse_value(value: &str) -> Option<(IpAddr, Option<u16>)> {
    let value = value.trim();
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some((ip, None));
    }
    value
        .parse::<SocketAddr>()
        .ok()
        .map(|a| (a.ip(), Some(a.port())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(pairs: &[(&str, &str)]) -> Hosts {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Hosts::parse(&map).unwrap()
    }

    fn at(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn names_and_ports_are_matched_as_k6_does() {
        let h = hosts(&[
            ("test.k6.io", "127.0.0.2"),
            ("test.k6.io:443", "127.0.0.3:8443"),
            ("API.example.com", "127.0.0.4:9000"),
            ("v6.example.com", "::1"),
        ]);
        // The host:port entry first, then the host entry, which keeps the port.
        assert_eq!(h.lookup("test.k6.io", 443), at("127.0.0.3:8443"));
        assert_eq!(h.lookup("test.k6.io", 80), at("127.0.0.2:80"));
        // Names are case-insensitive; an entry's own port wins.
        assert_eq!(h.lookup("api.EXAMPLE.com", 80), at("127.0.0.4:9000"));
        assert_eq!(h.lookup("v6.example.com", 80), at("[::1]:80"));
        assert_eq!(h.lookup("other.k6.io", 80), None);
        assert_eq!(h.lookup("k6.io", 80), None);
    }

    #[test]
    fn wildcards_match_prefixes_and_the_longest_wins() {
        let h = hosts(&[
            ("*.example.com", "127.0.0.2"),
            ("*.api.example.com", "127.0.0.3"),
            ("exact.example.com", "127.0.0.4"),
            ("*cdn.net", "127.0.0.5"),
            ("*.svc:8080", "127.0.0.6:80"),
        ]);
        assert_eq!(h.lookup("a.example.com", 80), at("127.0.0.2:80"));
        assert_eq!(h.lookup("b.a.example.com", 80), at("127.0.0.2:80"));
        assert_eq!(h.lookup("v1.api.example.com", 80), at("127.0.0.3:80"));
        assert_eq!(h.lookup("exact.example.com", 80), at("127.0.0.4:80"));
        // `*.example.com` is for subdomains only; `*cdn.net` for any prefix, none included.
        assert_eq!(h.lookup("example.com", 80), None);
        assert_eq!(h.lookup("mycdn.net", 443), at("127.0.0.5:443"));
        assert_eq!(h.lookup("cdn.net", 443), at("127.0.0.5:443"));
        assert_eq!(h.lookup("web.svc", 8080), at("127.0.0.6:80"));
        assert_eq!(h.lookup("web.svc", 8081), None);
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry() {
        let parse = |k: &str, v: &str| {
            Hosts::parse(&[(k.to_string(), v.to_string())].into_iter().collect())
        };
        let err = parse("test.k6.io", "not-an-ip").unwrap_err();
        assert!(
            err.contains("test.k6.io") && err.contains("not-an-ip"),
            "{err}"
        );
        for key in [
            "bad host", "a..b", "x:port", "x:123456", "-a.com", "a.*.com",
        ] {
            assert!(parse(key, "127.0.0.1").is_err(), "{key}");
        }
        assert!(parse("127.0.0.1", "127.0.0.2").is_ok());
    }
}
