//! The client's address behind reverse proxies (`--trusted-proxy CIDR`).
//!
//! A proxy appends the address it got a request from to `X-Forwarded-For` (or `Forwarded:
//! for=`), so the list reads client, proxy, proxy… and the server's peer is the last proxy.
//! Anyone can send those headers, so they are read only when the peer is a trusted proxy, and
//! then from the right: each trusted hop vouches for the entry to its left, and the first
//! entry not in a trusted range is the client. Entries further left were written by that
//! client and are never believed.

use std::net::{IpAddr, Ipv4Addr};

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDRESS/PREFIX` or a bare address (the whole address is the prefix).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let addr = canonical(addr.parse().ok()?);
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return None;
        }
        Some(Cidr {
            network: mask(addr, prefix),
            prefix,
        })
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.prefix) == self.network
    }
}

/// `ip` with all but its first `prefix` bits cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & keep).into())
        }
    }
}

/// IPv4 clients of a dual-stack socket arrive as `::ffff:a.b.c.d`; ranges are written in
/// IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct Proxies(Vec<Cidr>);

impl Proxies {
    /// Proxies in these ranges.
    pub fn new(ranges: Vec<Cidr>) -> Proxies {
        Proxies(ranges)
    }

    /// Whether none are configured (the headers are then never read).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(ip))
    }

    /// The client of a request whose peer is `peer`, from the values of its
    /// `X-Forwarded-For` and `Forwarded` fields (every line, in order). When both are sent
    /// and disagree, one of them was forged and passed on untouched by a proxy that only
    /// writes the other: the peer is all that can be vouched for.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str], forwarded: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let by_xff = (!forwarded_for.is_empty()).then(|| {
            let hops = forwarded_for.iter().flat_map(|v| v.split(',')).map(node);
            self.rightmost_untrusted(peer, hops.collect())
        });
        let by_forwarded = (!forwarded.is_empty()).then(|| {
            let hops = forwarded.iter().flat_map(|v| elements(v));
            let hops = hops.map(|e| for_param(e).and_then(node));
            self.rightmost_untrusted(peer, hops.collect())
        });
        match (by_xff, by_forwarded) {
            (Some(a), Some(b)) if a != b => peer,
            (Some(ip), _) | (None, Some(ip)) => ip,
            (None, None) => peer,
        }
    }

    /// Walks `hops` (left to right as sent) from the right, starting from the trusted
    /// `peer`: the first address not trusted, or the last vouched-for one when an entry isn't
    /// an address (`unknown`, garbage) or every hop is trusted.
    fn rightmost_untrusted(&self, peer: IpAddr, hops: Vec<Option<IpAddr>>) -> IpAddr {
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            let Some(ip) = hop else {
                return client;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// An address as proxies write it, the whole entry and nothing else: `192.0.2.1`,
/// `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`, any of them in
/// quotes; `None` for anything else (`unknown`, an obfuscated name, a half-quoted value).
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = match text.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"')?,
        None => text,
    };
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (ip, port) = rest.split_once(']')?;
        return (port.is_empty() || is_port(port.strip_prefix(':')?)).then(|| ip.parse().ok())?;
    }
    let (ip, port) = text.split_once(':')?;
    is_port(port).then(|| ip.parse::<Ipv4Addr>().ok().map(IpAddr::V4))?
}

/// Whether `text` is a port number: digits only.
fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The elements of a `Forwarded` value. Split on every comma: an address never holds one,
/// and honouring quotes would let a client's unclosed quote swallow the entry its proxy
/// appends after it.
fn elements(value: &str) -> impl Iterator<Item = &str> {
    value.split(',')
}

/// The `for=` parameter of one `Forwarded` element.
fn for_param(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(ranges: &[&str]) -> Proxies {
        Proxies::new(ranges.iter().map(|r| Cidr::parse(r).unwrap()).collect())
    }

    #[test]
    fn ranges() {
        let lan = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(lan.contains(ip("10.1.200.3")));
        assert!(lan.contains(ip("::ffff:10.1.0.1")));
        assert!(!lan.contains(ip("10.2.0.1")));
        assert!(!lan.contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("203.0.113.9")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(Cidr::parse("192.0.2.7").unwrap().contains(ip("192.0.2.7")));
        assert!(!Cidr::parse("192.0.2.7").unwrap().contains(ip("192.0.2.8")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "example.com",
            "10.0.0.0/x",
            "",
        ] {
            assert_eq!(Cidr::parse(bad), None, "{bad}");
        }
    }

    fn client(p: &Proxies, peer: &str, xff: &[&str], fwd: &[&str]) -> IpAddr {
        p.client(ip(peer), xff, fwd)
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies(&["10.0.0.0/8"]);
        // Through one proxy.
        assert_eq!(
            client(&p, "10.0.0.2", &["203.0.113.7"], &[]),
            ip("203.0.113.7")
        );
        // Through two, written on one line or two.
        let two = client(&p, "10.0.0.2", &["203.0.113.7, 10.0.0.9"], &[]);
        assert_eq!(two, ip("203.0.113.7"));
        let lines = client(&p, "10.0.0.2", &["203.0.113.7", "10.0.0.9"], &[]);
        assert_eq!(lines, ip("203.0.113.7"));
        // With ports and brackets, as some proxies write them.
        let ported = client(&p, "10.0.0.2", &["[2001:db8::7]:4711, 10.0.0.9:80"], &[]);
        assert_eq!(ported, ip("2001:db8::7"));
        // Forwarded, RFC 7239.
        let fwd = client(
            &p,
            "10.0.0.2",
            &[],
            &[r#"for="[2001:db8::7]:4711";proto=https, for=10.0.0.9;by=10.0.0.2"#],
        );
        assert_eq!(fwd, ip("2001:db8::7"));
        // Every hop trusted: the leftmost.
        assert_eq!(client(&p, "10.0.0.2", &["10.9.9.9"], &[]), ip("10.9.9.9"));
        // No header: the peer.
        assert_eq!(client(&p, "10.0.0.2", &[], &[]), ip("10.0.0.2"));
    }

    #[test]
    fn spoofing_gets_nowhere() {
        let p = proxies(&["10.0.0.0/8"]);
        // From an untrusted peer the headers are ignored.
        assert_eq!(
            client(&p, "198.51.100.1", &["1.2.3.4"], &[]),
            ip("198.51.100.1")
        );
        let mapped = client(&p, "::ffff:198.51.100.1", &[], &["for=1.2.3.4"]);
        assert_eq!(mapped, ip("198.51.100.1"));
        // A client's own forged entries sit left of the address the proxy appended.
        let forged = client(&p, "10.0.0.2", &["1.2.3.4, 203.0.113.7"], &[]);
        assert_eq!(forged, ip("203.0.113.7"));
        // Forging a trusted address doesn't get past the one the proxy saw.
        let inner = client(&p, "10.0.0.2", &["10.0.0.5, 203.0.113.7"], &[]);
        assert_eq!(inner, ip("203.0.113.7"));
        // A header the proxy doesn't write, passed on untouched, disagrees with the one it
        // does: only the peer can be vouched for.
        let both = client(&p, "10.0.0.2", &["203.0.113.7"], &["for=1.2.3.4"]);
        assert_eq!(both, ip("10.0.0.2"));
        // Garbage or "unknown" where the proxy's entry should be: the proxy.
        assert_eq!(
            client(&p, "10.0.0.2", &["1.2.3.4, bogus"], &[]),
            ip("10.0.0.2")
        );
        let unknown = client(&p, "10.0.0.2", &[], &["for=1.2.3.4, for=unknown"]);
        assert_eq!(unknown, ip("10.0.0.2"));
        assert_eq!(client(&p, "10.0.0.2", &[""], &[]), ip("10.0.0.2"));
        // Nothing trusted: nothing read.
        let none = Proxies::default();
        assert_eq!(client(&none, "10.0.0.2", &["1.2.3.4"], &[]), ip("10.0.0.2"));
    }

    #[test]
    fn nodes_are_whole_addresses_only() {
        assert_eq!(for_param("proto=http; For=192.0.2.1"), Some("192.0.2.1"));
        for (text, expected) in [
            ("192.0.2.1", Some("192.0.2.1")),
            ("\"192.0.2.1:80\"", Some("192.0.2.1")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("\"[2001:db8::1]:4711\"", Some("2001:db8::1")),
            ("[2001:db8::1]", Some("2001:db8::1")),
            ("_hidden", None),
            ("unknown", None),
            ("\"1.2.3.4", None),
            ("\"1.2.3.4:", None),
            ("1.2.3.4:x", None),
            ("[1.2.3.4", None),
            ("[2001:db8::1]x", None),
            ("1.2.3.4 5.6.7.8", None),
        ] {
            assert_eq!(node(text), expected.map(ip), "{text}");
        }
    }

    #[test]
    fn an_unclosed_quote_swallows_nothing() {
        let p = proxies(&["10.0.0.0/8"]);
        // The proxy appended its entry to the client's line, after an unclosed quote.
        for forged in [
            r#"for=1.2.3.4;x=", for=203.0.113.7"#,
            r#"for="1.2.3.4:, for=203.0.113.7"#,
            r#"for="[1.2.3.4], for=203.0.113.7"#,
        ] {
            assert_eq!(
                client(&p, "10.0.0.2", &[], &[forged]),
                ip("203.0.113.7"),
                "{forged}"
            );
        }
    }
}
