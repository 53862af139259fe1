//! Where requests may go: k6's `blockHostnames` and `blacklistIPs`, checked on every request
//! and every redirect.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A block of addresses such as `10.0.0.0/8` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in this block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V4(net), IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
                Some(ip) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
                None => false,
            },
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR block (like 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has an invalid prefix length (0 to {max})"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A host name pattern: `example.com` or `*.example.com` (any subdomain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    /// Whether `host` matches (case-insensitive).
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self.0.strip_prefix("*.") {
            Some(suffix) => {
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix)
                    && host[..host.len() - suffix.len()].ends_with('.')
            }
            None => host == self.0,
        }
    }
}

impl FromStr for HostPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = s.trim().trim_end_matches('.').to_ascii_lowercase();
        let body = p.strip_prefix("*.").unwrap_or(&p);
        if body.is_empty() || body.contains('*') || body.contains('/') || body.contains(':') {
            return Err(format!(
                "`{s}` is not a host name pattern (like `example.com` or `*.example.com`)"
            ));
        }
        Ok(Self(p))
    }
}

/// The network policy of a test.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    /// Host names no request may go to.
    pub block_hostnames: Vec<HostPattern>,
    /// Addresses no request may connect to.
    pub blacklist_ips: Vec<IpNet>,
}

impl NetPolicy {
    pub(crate) fn hostname_blocked(&self, host: &str) -> bool {
        self.block_hostnames.iter().any(|p| p.matches(host))
    }

    pub(crate) fn ip_blocked(&self, ip: IpAddr) -> bool {
        self.blacklist_ips.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_match_by_prefix() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let net: IpNet = "127.0.0.1".parse().unwrap();
        assert!(net.contains("127.0.0.1".parse().unwrap()));
        assert!(!net.contains("127.0.0.2".parse().unwrap()));
        let net: IpNet = "192.168.0.0/23".parse().unwrap();
        assert!(net.contains("192.168.1.200".parse().unwrap()));
        assert!(!net.contains("192.168.2.1".parse().unwrap()));
        let net: IpNet = "::1/128".parse().unwrap();
        assert!(net.contains("::1".parse().unwrap()));
        let net: IpNet = "127.0.0.0/8".parse().unwrap();
        assert!(net.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("nope".parse::<IpNet>().is_err());
    }

    #[test]
    fn host_patterns_match_names_and_subdomains() {
        let exact: HostPattern = "Example.com".parse().unwrap();
        assert!(exact.matches("example.com"));
        assert!(!exact.matches("api.example.com"));
        let wild: HostPattern = "*.example.com".parse().unwrap();
        assert!(wild.matches("api.example.com"));
        assert!(!wild.matches("example.com"));
        assert!(!wild.matches("badexample.com"));
        assert!("*".parse::<HostPattern>().is_err());
    }
}
