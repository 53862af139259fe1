//! k6's `localIPs`: the local addresses VUs send from, given as addresses, ranges
//! (`192.168.0.10-192.168.0.25`) and CIDR blocks (`fd:1::0/120`); VU `n` uses the `n`th
//! address of the pool, round and round.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One block of consecutive addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    first: u128,
    count: u128,
    v6: bool,
}

/// The addresses VUs send from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpPool {
    blocks: Vec<Block>,
    total: u128,
}

fn to_u128(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), false),
        IpAddr::V6(v6) => (u128::from(v6), true),
    }
}

fn from_u128(n: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(n))
    } else {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    }
}

fn range(s: &str, from: IpAddr, to: IpAddr) -> Result<Block, String> {
    let ((a, a6), (b, b6)) = (to_u128(from), to_u128(to));
    if a6 != b6 {
        return Err(format!("localIPs: `{s}` mixes IPv4 and IPv6"));
    }
    if b < a {
        return Err(format!("localIPs: `{s}` ends before it starts"));
    }
    Ok(Block {
        first: a,
        count: (b - a).saturating_add(1),
        v6: a6,
    })
}

fn cidr(s: &str, ip: &str, bits: &str) -> Result<Block, String> {
    let bad = || format!("localIPs: `{s}` is not a CIDR block");
    let ip: IpAddr = ip.parse().map_err(|_| bad())?;
    let (base, v6) = to_u128(ip);
    let width = if v6 { 128 } else { 32 };
    let bits: u32 = bits.parse().map_err(|_| bad())?;
    if bits > width {
        return Err(bad());
    }
    let host_bits = width - bits;
    let size = if host_bits == 128 {
        u128::MAX
    } else {
        1u128 << host_bits
    };
    let first = if host_bits == 128 {
        0
    } else {
        base >> host_bits << host_bits
    };
    // As k6 does, an IPv4 block of more than two addresses leaves out its network and
    // broadcast addresses.
    let (first, count) = if !v6 && size > 2 {
        (first + 1, size - 2)
    } else {
        (first, size)
    };
    Ok(Block { first, count, v6 })
}

impl IpPool {
    /// Parses k6's comma-separated list of addresses, ranges and CIDR blocks.
    pub fn parse(list: &str) -> Result<IpPool, String> {
        let mut blocks = Vec::new();
        let mut total: u128 = 0;
        for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let block = if let Some((a, b)) = s.split_once('-') {
                let parse = |x: &str| {
                    x.trim()
                        .parse::<IpAddr>()
                        .map_err(|_| format!("localIPs: `{s}` is not an IP range"))
                };
                range(s, parse(a)?, parse(b)?)?
            } else if let Some((ip, bits)) = s.split_once('/') {
                cidr(s, ip, bits)?
            } else {
                let ip = s.parse::<IpAddr>().map_err(|_| {
                    format!("localIPs: `{s}` is not an IP address, range or CIDR block")
                })?;
                range(s, ip, ip)?
            };
            total = total.saturating_add(block.count);
            blocks.push(block);
        }
        if blocks.is_empty() {
            return Err("localIPs: no address given".into());
        }
        Ok(IpPool { blocks, total })
    }

    /// The address of the VU with `index` (from 0): the pool's addresses in order, round and
    /// round.
    pub fn get(&self, index: u64) -> IpAddr {
        let mut i = u128::from(index) % self.total;
        for b in &self.blocks {
            if i < b.count {
                return from_u128(b.first + i, b.v6);
            }
            i -= b.count;
        }
        unreachable!("the index is below the total of the blocks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_ranges_and_blocks_are_used_in_turn() {
        let pool = IpPool::parse("127.0.0.2, 127.0.1.10-127.0.1.11,fd:1::/127").unwrap();
        let got: Vec<IpAddr> = (0..6).map(|i| pool.get(i)).collect();
        assert_eq!(
            got,
            [
                ip("127.0.0.2"),
                ip("127.0.1.10"),
                ip("127.0.1.11"),
                ip("fd:1::"),
                ip("fd:1::1"),
                ip("127.0.0.2"),
            ]
        );
    }

    #[test]
    fn ipv4_blocks_leave_out_network_and_broadcast_as_k6_does() {
        let pool = IpPool::parse("192.168.0.0/30").unwrap();
        assert_eq!(pool.get(0), ip("192.168.0.1"));
        assert_eq!(pool.get(1), ip("192.168.0.2"));
        assert_eq!(pool.get(2), ip("192.168.0.1"));
        let pool = IpPool::parse("10.0.0.7/31").unwrap();
        assert_eq!((pool.get(0), pool.get(1)), (ip("10.0.0.6"), ip("10.0.0.7")));
        // Huge blocks cost nothing.
        let pool = IpPool::parse("::/0,10.0.0.0/8").unwrap();
        assert_eq!(pool.get(5), ip("::5"));
    }

    #[test]
    fn bad_lists_are_refused_with_the_culprit() {
        for bad in [
            "",
            "10.0.0.300",
            "10.0.0.5-10.0.0.1",
            "10.0.0.1-fd::1",
            "10.0.0.0/33",
            "x/8",
        ] {
            let err = IpPool::parse(bad).unwrap_err();
            assert!(err.starts_with("localIPs"), "{bad}: {err}");
        }
    }
}
