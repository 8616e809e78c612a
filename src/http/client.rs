//! Who the client is, for limits and logs: the socket peer, or — when the peer is one of
//! `server.trusted_proxies` — the address the proxy says it received the request from.
//!
//! `X-Forwarded-For` (or, when a request has none, `Forwarded`) is read right to left:
//! each proxy appends the address it was connected from, so entries are skipped while they
//! are trusted proxies, and the first that is not is the client. Whatever the client wrote
//! itself stands further left and is never reached; from an untrusted peer the headers are
//! not read at all.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};

use crate::{config::TrustedProxies, http::AppState};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// How limits name this client (see `throttle::client_key`).
    pub fn key(&self) -> String {
        crate::throttle::client_key(self.0)
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip().to_canonical());
        Ok(Self(client_address(peer, &parts.headers, &state.settings.server.trusted_proxies)))
    }
}

pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    let chain = match forwarded_for(headers) {
        Some(chain) => chain,
        None => forwarded(headers),
    };
    let mut client = peer;
    for entry in chain.iter().rev() {
        // An entry that is not an address ("unknown", an obfuscated name) ends the walk:
        // the last proxy's view is all that can be trusted.
        let Some(address) = entry else { break };
        client = *address;
        if !trusted.contains(*address) {
            break;
        }
    }
    client
}

/// Every `X-Forwarded-For` entry in order, `None` where one is not an address; `None`
/// when the request has no such header.
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let values: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    if values.is_empty() {
        return None;
    }
    Some(values.iter().flat_map(|v| v.split(',')).map(node).collect())
}

/// The `for=` of every `Forwarded` element in order (RFC 7239).
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = headers.get_all("forwarded").iter().filter_map(|v| v.to_str().ok());
    values
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| node(value))
            })
        })
        .collect()
}

/// An address as proxies write it: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, optionally in quotes.
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).and_then(|t| t.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_names_the_client() {
        let trusted = TrustedProxies::parse(["10.0.0.0/8", "192.0.2.1"]).unwrap();
        let xff = headers(&[("x-forwarded-for", "198.51.100.9")]);
        assert_eq!(client_address(ip("10.1.2.3"), &xff, &trusted), ip("198.51.100.9"));
        assert_eq!(client_address(ip("203.0.113.5"), &xff, &trusted), ip("203.0.113.5"), "untrusted peer");
        assert_eq!(client_address(ip("10.1.2.3"), &HeaderMap::new(), &trusted), ip("10.1.2.3"), "no header");
        let none = TrustedProxies::default();
        assert_eq!(client_address(ip("10.1.2.3"), &xff, &none), ip("10.1.2.3"));
    }

    #[test]
    fn the_chain_is_read_right_to_left_past_trusted_proxies() {
        let trusted = TrustedProxies::parse(["10.0.0.0/8", "192.0.2.1"]).unwrap();
        // The client wrote 6.6.6.6 itself; the edge proxy appended the real address.
        let spoofed = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.9, 192.0.2.1")]);
        assert_eq!(client_address(ip("10.0.0.2"), &spoofed, &trusted), ip("198.51.100.9"));
        let two_headers = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.9:443")]);
        assert_eq!(client_address(ip("10.0.0.2"), &two_headers, &trusted), ip("198.51.100.9"));
        let all_proxies = headers(&[("x-forwarded-for", "10.0.0.7, 10.0.0.8")]);
        assert_eq!(client_address(ip("10.0.0.2"), &all_proxies, &trusted), ip("10.0.0.7"));
        let garbage = headers(&[("x-forwarded-for", "198.51.100.9, nonsense")]);
        assert_eq!(client_address(ip("10.0.0.2"), &garbage, &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let trusted = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
        let fwd = headers(&[("forwarded", r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https"#)]);
        assert_eq!(client_address(ip("10.0.0.2"), &fwd, &trusted), ip("2001:db8::7"));
        let both = headers(&[("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "198.51.100.9")]);
        assert_eq!(client_address(ip("10.0.0.2"), &both, &trusted), ip("198.51.100.9"));
    }
}
