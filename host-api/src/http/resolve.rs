//! Where a request goes: k6's `hosts` overrides, then the DNS cache (k6's `dns` option: ttl,
//! select, policy), then the blacklist.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use super::errors::{self, RequestError};
use super::target::Origin;
use super::{NetPolicy, Shared};

/// The addresses of `origin` that requests may go to.
pub(crate) async fn resolve(
    shared: &Shared,
    origin: &Origin,
) -> Result<Vec<SocketAddr>, RequestError> {
    let policy = &shared.config.net;
    let host = origin.bare_host();
    if let Some(to) = shared.config.k6.hosts.lookup(host, origin.port()) {
        // k6's `hosts`: no DNS, but the blacklist still applies.
        return allowed_addrs(policy, host, &[to.ip()], to.port());
    }
    let ips: Arc<[IpAddr]> = if let Ok(ip) = host.parse::<IpAddr>() {
        Arc::from([ip].as_slice())
    } else {
        lookup(shared, host, origin.port()).await?
    };
    allowed_addrs(policy, host, &ips, origin.port())
}

/// The addresses of `host`, from the cache while they are younger than `dns`'s ttl, with
/// its `policy` applied and one picked by its `select`.
async fn lookup(shared: &Shared, host: &str, port: u16) -> Result<Arc<[IpAddr]>, RequestError> {
    let dns = &shared.config.k6.dns;
    let cached = {
        let cache = shared.dns.lock().expect("dns cache lock");
        cache
            .get(host)
            .filter(|(_, at)| at.elapsed() < dns.ttl)
            .map(|(ips, _)| ips.clone())
    };
    let ips = match cached {
        Some(ips) => ips,
        None => {
            let found = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| RequestError::new(errors::DNS, format!("lookup {host}: {e}")))?;
            let found: Vec<IpAddr> = found.map(|a| a.ip()).collect();
            let ips: Arc<[IpAddr]> = dns.allowed(&found).into();
            if ips.is_empty() {
                return Err(RequestError::new(
                    errors::DNS_NO_SUCH_HOST,
                    "lookup: no such host",
                ));
            }
            if !dns.ttl.is_zero() {
                shared
                    .dns
                    .lock()
                    .expect("dns cache lock")
                    .insert(host.to_owned(), (ips.clone(), Instant::now()));
            }
            ips
        }
    };
    Ok(Arc::from(
        [shared.picker.pick(dns.select, host, &ips)].as_slice(),
    ))
}

fn allowed_addrs(
    policy: &NetPolicy,
    host: &str,
    ips: &[IpAddr],
    port: u16,
) -> Result<Vec<SocketAddr>, RequestError> {
    let allowed: Vec<SocketAddr> = ips
        .iter()
        .filter(|ip| !policy.ip_blocked(**ip))
        .map(|ip| SocketAddr::new(*ip, port))
        .collect();
    if allowed.is_empty() {
        return Err(RequestError::new(
            errors::BLACKLISTED_IP,
            format!("ip {} of `{host}` is blacklisted", ips[0]),
        ));
    }
    Ok(allowed)
}
