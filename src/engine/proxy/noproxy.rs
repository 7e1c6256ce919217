//! NOPROXY / no_proxy matching as libcurl does it: `*` alone matches every host; otherwise a list
//! of names separated by commas or spaces, each matching the host itself or any subdomain (a
//! leading dot is ignored), and for IP hosts an address or a CIDR range.

use std::net::IpAddr;

/// Does `list` exempt `host` (lower-cased, IPv6 without brackets) from the proxy?
pub fn matches(host: &str, list: &str) -> bool {
    let list = list.trim();
    if list.is_empty() {
        return false;
    }
    if list == "*" {
        return true;
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let host_ip: Option<IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
    for token in list.split([',', ' ', '\t']).map(str::trim).filter(|t| !t.is_empty()) {
        if let Some(ip) = host_ip {
            if ip_matches(ip, token) {
                return true;
            }
            continue;
        }
        if token == "*" {
            return true;
        }
        let t = token.strip_prefix('.').unwrap_or(token);
        let t = t.strip_suffix('.').unwrap_or(t);
        if t.is_empty() {
            continue;
        }
        if host.len() == t.len() {
            if host.eq_ignore_ascii_case(t) {
                return true;
            }
        } else if host.len() > t.len() {
            let (head, tail) = host.split_at(host.len() - t.len());
            if tail.eq_ignore_ascii_case(t) && head.ends_with('.') {
                return true;
            }
        }
    }
    false
}

fn ip_matches(ip: IpAddr, token: &str) -> bool {
    let token = token.trim_start_matches('[');
    let (addr, bits) = match token.split_once('/') {
        Some((a, b)) => match b.parse::<u32>() {
            Ok(b) => (a, Some(b)),
            Err(_) => return false,
        },
        None => (token, None),
    };
    let addr = addr.trim_end_matches(']');
    let Ok(net) = addr.parse::<IpAddr>() else { return false };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => prefix_eq(&a.octets(), &n.octets(), bits.unwrap_or(32)),
        (IpAddr::V6(a), IpAddr::V6(n)) => prefix_eq(&a.octets(), &n.octets(), bits.unwrap_or(128)),
        _ => false,
    }
}

/// The first `bits` bits of `a` and `b` agree (a prefix longer than the address never matches).
fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    if bits as usize > a.len() * 8 {
        return false;
    }
    let (full, rest) = ((bits / 8) as usize, bits % 8);
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn names_and_suffixes() {
        assert!(matches("example.com", "*"));
        assert!(!matches("example.com", ""));
        assert!(matches("example.com", "example.com"));
        assert!(matches("www.example.com", "example.com"));
        assert!(matches("www.example.com", ".example.com"));
        assert!(matches("Example.COM", "other, example.com"));
        assert!(!matches("badexample.com", "example.com"));
        assert!(!matches("example.com", "www.example.com"));
        assert!(matches("localhost", "foo localhost"));
    }

    #[test]
    fn addresses_and_ranges() {
        assert!(matches("127.0.0.1", "127.0.0.1"));
        assert!(matches("127.0.0.5", "127.0.0.0/8"));
        assert!(!matches("128.0.0.5", "127.0.0.0/8"));
        assert!(!matches("127.0.0.1", "127.0.0.0/33"));
        assert!(matches("::1", "::1"));
        assert!(matches("::1", "[::1]"));
        assert!(matches("fe80::1", "fe80::/16"));
        assert!(!matches("127.0.0.1", "localhost"));
    }
}
