//! The organization's logo for the report PDF. Its URL is whatever an admin typed, so
//! fetching it must not let anyone make Fulcrum call an address they could not reach
//! themselves (SSRF): the host is resolved first and every address must be a public one;
//! the request then goes to that very address (no second lookup that could answer
//! differently), follows no redirect, and reads at most [`MAX_BYTES`] within [`TIMEOUT`].
//! Only PNG and JPEG are kept. A logo that cannot be had leaves the report without one.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

pub const MAX_BYTES: usize = 1024 * 1024;
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Where a logo may come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Public https addresses only (production).
    Public,
    /// Also http and private or loopback addresses (development, tests).
    Anywhere,
}

impl Reach {
    /// Production fetches from public https addresses only.
    pub fn for_production(production: bool) -> Self {
        if production { Self::Public } else { Self::Anywhere }
    }
}

/// The logo's bytes when `url` gives a PNG or JPEG within the limits; `None` otherwise
/// (the reason is logged).
pub async fn fetch(url: &str, reach: Reach) -> Option<Vec<u8>> {
    match try_fetch(url, reach).await {
        Ok(bytes) => Some(bytes),
        Err(why) => {
            tracing::info!(why = %why, "the organization's logo is left out of the report");
            None
        }
    }
}

async fn try_fetch(url: &str, reach: Reach) -> Result<Vec<u8>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let allowed = match reach {
        Reach::Public => parsed.scheme() == "https",
        Reach::Anywhere => matches!(parsed.scheme(), "https" | "http"),
    };
    if !allowed {
        return Err(format!("{} URLs are not fetched", parsed.scheme()));
    }
    let host = parsed.host_str().ok_or("the URL names no host")?.to_string();
    let port = parsed.port_or_known_default().ok_or("the URL names no port")?;
    let addresses: Vec<SocketAddr> = tokio::time::timeout(TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
        .await
        .map_err(|_| "looking the host up took too long".to_string())?
        .map_err(|e| format!("the host does not resolve: {e}"))?
        .collect();
    let Some(address) = addresses.first().copied() else {
        return Err("the host does not resolve".into());
    };
    if reach == Reach::Public && !addresses.iter().all(|a| is_public(a.ip())) {
        return Err(format!("{host} resolves to an address that is not public"));
    }
    let client = reqwest::Client::builder()
        .resolve(&host, address)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let mut response = client.get(parsed).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    if response.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
        return Err("larger than 1 MiB".into());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if bytes.len() + chunk.len() > MAX_BYTES {
            return Err("larger than 1 MiB".into());
        }
        bytes.extend_from_slice(&chunk);
    }
    match kind(&bytes) {
        Some(_) => Ok(bytes),
        None => Err("neither PNG nor JPEG".into()),
    }
}

/// An image format the report draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Png,
    Jpeg,
}

/// The format of `bytes`, by its signature.
pub fn kind(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(Kind::Jpeg)
    } else {
        None
    }
}

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared
/// (CGNAT), documentation, benchmarking, multicast, broadcast or unspecified, nor an IPv6
/// form of one of those.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || ip.to_ipv4().is_some_and(|v4| !public_v4(v4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_fetched_from() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private} is not public");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"] {
            assert!(is_public(public.parse().unwrap()), "{public} is public");
        }
    }

    #[test]
    fn images_are_told_by_their_signature() {
        assert_eq!(kind(b"\x89PNG\r\n\x1a\nrest"), Some(Kind::Png));
        assert_eq!(kind(&[0xff, 0xd8, 0xff, 0xe0]), Some(Kind::Jpeg));
        assert_eq!(kind(b"<svg>"), None);
    }

    #[tokio::test]
    async fn in_production_a_private_or_plain_http_logo_is_not_fetched() {
        assert_eq!(fetch("http://example.com/logo.png", Reach::Public).await, None);
        assert_eq!(fetch("https://127.0.0.1:9/logo.png", Reach::Public).await, None);
        assert_eq!(fetch("https://[::1]:9/logo.png", Reach::Public).await, None);
        assert_eq!(fetch("ftp://example.com/logo.png", Reach::Anywhere).await, None);
    }
}
