//! k6's `dns` option: how long resolved names are kept (`ttl`), which address families are
//! used (`policy`) and which one address a connection goes to (`select`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which of a name's addresses a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsSelect {
    /// The first one.
    First,
    /// Each in turn, per name.
    RoundRobin,
    /// Any, at random.
    Random,
}

/// Which address families are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsPolicy {
    /// IPv4 addresses if the name has any, else IPv6 ones.
    PreferIpv4,
    /// IPv6 addresses if the name has any, else IPv4 ones.
    PreferIpv6,
    /// IPv4 addresses only.
    OnlyIpv4,
    /// IPv6 addresses only.
    OnlyIpv6,
    /// All of them.
    Any,
}

/// The test's name resolution settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsConfig {
    /// How long a resolved name is reused; zero resolves every time.
    pub ttl: Duration,
    /// Which address is used.
    pub select: DnsSelect,
    /// Which families are used.
    pub policy: DnsPolicy,
}

impl Default for DnsConfig {
    /// k6's: `ttl=5m,select=random,policy=preferIPv4`.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            select: DnsSelect::Random,
            policy: DnsPolicy::PreferIpv4,
        }
    }
}

impl DnsConfig {
    /// Parses k6's values, each optional: `ttl` (`inf`, `0`, or a duration parsed by
    /// `duration`), `select` and `policy`.
    pub fn parse(
        ttl: Option<&str>,
        select: Option<&str>,
        policy: Option<&str>,
        duration: impl Fn(&str) -> Result<Duration, String>,
    ) -> Result<DnsConfig, String> {
        let mut c = DnsConfig::default();
        if let Some(ttl) = ttl {
            c.ttl = match ttl.trim() {
                // k6 keeps "infinitely" cached names for a year.
                "inf" => Duration::from_secs(365 * 24 * 3600),
                "" => c.ttl,
                t => duration(t).map_err(|e| format!("invalid DNS ttl `{ttl}`: {e}"))?,
            };
        }
        if let Some(s) = select {
            c.select = match s {
                "first" => DnsSelect::First,
                "roundRobin" => DnsSelect::RoundRobin,
                "random" => DnsSelect::Random,
                _ => {
                    return Err(format!(
                        "invalid DNS select `{s}`: first, roundRobin or random"
                    ))
                }
            };
        }
        if let Some(p) = policy {
            c.policy = match p {
                "preferIPv4" => DnsPolicy::PreferIpv4,
                "preferIPv6" => DnsPolicy::PreferIpv6,
                "onlyIPv4" => DnsPolicy::OnlyIpv4,
                "onlyIPv6" => DnsPolicy::OnlyIpv6,
                "any" => DnsPolicy::Any,
                _ => {
                    return Err(format!(
                    "invalid DNS policy `{p}`: preferIPv4, preferIPv6, onlyIPv4, onlyIPv6 or any"
                ))
                }
            };
        }
        Ok(c)
    }

    /// The addresses `policy` allows, in their order.
    pub fn allowed(&self, ips: &[IpAddr]) -> Vec<IpAddr> {
        let v4: Vec<IpAddr> = ips.iter().copied().filter(IpAddr::is_ipv4).collect();
        let v6: Vec<IpAddr> = ips.iter().copied().filter(IpAddr::is_ipv6).collect();
        match self.policy {
            DnsPolicy::Any => ips.to_vec(),
            DnsPolicy::OnlyIpv4 => v4,
            DnsPolicy::OnlyIpv6 => v6,
            DnsPolicy::PreferIpv4 if v4.is_empty() => v6,
            DnsPolicy::PreferIpv4 => v4,
            DnsPolicy::PreferIpv6 if v6.is_empty() => v4,
            DnsPolicy::PreferIpv6 => v6,
        }
    }
}

/// Picks one address per connection, as `select` says; shared by the test's VUs.
#[derive(Debug, Default)]
pub struct Picker {
    turns: Mutex<HashMap<String, usize>>,
    seed: AtomicU64,
}

impl Picker {
    /// The address of `ips` (not empty) a new connection to `host` uses.
    pub fn pick(&self, select: DnsSelect, host: &str, ips: &[IpAddr]) -> IpAddr {
        let i = match select {
            DnsSelect::First => 0,
            DnsSelect::RoundRobin => {
                let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
                let turn = turns.entry(host.to_owned()).or_insert(0);
                let i = *turn % ips.len();
                *turn = turn.wrapping_add(1);
                i
            }
            DnsSelect::Random => (self.next_random() % ips.len() as u64) as usize,
        };
        ips[i]
    }

    /// splitmix64 over a counter seeded from the clock: spreading connections needs no more.
    fn next_random(&self) -> u64 {
        const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
        if self.seed.load(Ordering::Relaxed) == 0 {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            let _ = self
                .seed
                .compare_exchange(0, now | 1, Ordering::Relaxed, Ordering::Relaxed);
        }
        let mut z = self
            .seed
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Result<Duration, String> {
        s.trim_end_matches("ms")
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|e| e.to_string())
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn parses_k6_values_and_refuses_others() {
        let c = DnsConfig::parse(Some("0"), Some("roundRobin"), Some("onlyIPv6"), ms).unwrap();
        assert_eq!(c.ttl, Duration::ZERO);
        assert_eq!(c.select, DnsSelect::RoundRobin);
        assert_eq!(c.policy, DnsPolicy::OnlyIpv6);
        let c = DnsConfig::parse(Some("inf"), None, None, ms).unwrap();
        assert!(c.ttl > Duration::from_secs(86400));
        assert_eq!(c.select, DnsSelect::Random);
        assert!(DnsConfig::parse(None, Some("last"), None, ms).is_err());
        assert!(DnsConfig::parse(None, None, Some("ipv4"), ms).is_err());
        assert!(DnsConfig::parse(Some("soon"), None, None, ms).is_err());
    }

    #[test]
    fn policies_filter_families() {
        let both = ips(&["::1", "127.0.0.1", "::2", "127.0.0.2"]);
        let with = |p| DnsConfig {
            policy: p,
            ..DnsConfig::default()
        };
        assert_eq!(
            with(DnsPolicy::PreferIpv4).allowed(&both),
            ips(&["127.0.0.1", "127.0.0.2"])
        );
        assert_eq!(
            with(DnsPolicy::OnlyIpv6).allowed(&both),
            ips(&["::1", "::2"])
        );
        assert_eq!(with(DnsPolicy::Any).allowed(&both), both);
        let v6 = ips(&["::1"]);
        assert_eq!(with(DnsPolicy::PreferIpv4).allowed(&v6), v6);
        assert!(with(DnsPolicy::OnlyIpv4).allowed(&v6).is_empty());
    }

    #[test]
    fn select_picks_first_in_turn_or_at_random() {
        let list = ips(&["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
        let p = Picker::default();
        assert_eq!(p.pick(DnsSelect::First, "a", &list), list[0]);
        let turns: Vec<IpAddr> = (0..4)
            .map(|_| p.pick(DnsSelect::RoundRobin, "a", &list))
            .collect();
        assert_eq!(turns, [list[0], list[1], list[2], list[0]]);
        // Each name has its own turn.
        assert_eq!(p.pick(DnsSelect::RoundRobin, "b", &list), list[0]);
        let mut seen = [0; 3];
        for _ in 0..300 {
            let ip = p.pick(DnsSelect::Random, "a", &list);
            seen[list.iter().position(|x| *x == ip).unwrap()] += 1;
        }
        assert!(seen.iter().all(|n| *n > 50), "{seen:?}");
    }
}
