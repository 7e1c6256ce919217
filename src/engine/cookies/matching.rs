//! Which hosts and paths a cookie belongs to, and libcurl's bucket for a domain.

use super::BUCKETS;

pub(super) fn strip_brackets(host: &str) -> &str {
    if host.len() >= 2 && host.starts_with('[') && host.ends_with(']') {
        &host[1..host.len() - 1]
    } else {
        host
    }
}

pub(super) fn is_ip(host: &str) -> bool {
    host.parse::<std::net::Ipv4Addr>().is_ok() || host.parse::<std::net::Ipv6Addr>().is_ok()
}

/// libcurl's hash bucket for a cookie domain or request host: the last two labels,
/// case-insensitively; IP addresses and domain-less cookies go to bucket 0.
pub(super) fn bucket_of(domain: Option<&str>) -> usize {
    let d = match domain {
        None => return 0,
        Some(d) if is_ip(d) => return 0,
        Some(d) => d,
    };
    let top = match d.rfind('.') {
        Some(last) => match d[..last].rfind('.') {
            Some(first) => &d[first + 1..],
            None => d,
        },
        None => d,
    };
    let mut h: u64 = 5381;
    for b in top.bytes() {
        h = h.wrapping_add(h << 5);
        h ^= b.to_ascii_uppercase() as u64;
    }
    (h % BUCKETS as u64) as usize
}

/// Does `host` equal `domain` or end with ".domain"? (case-insensitive)
pub(super) fn tailmatch(domain: &str, host: &str) -> bool {
    let (d, h) = (domain.as_bytes(), host.as_bytes());
    if h.len() < d.len() || !h[h.len() - d.len()..].eq_ignore_ascii_case(d) {
        return false;
    }
    h.len() == d.len() || h[h.len() - d.len() - 1] == b'.'
}

/// Length of the public suffix of `host` by the Public Suffix List built into the `psl` crate
/// (private-section suffixes included, an unknown top-level label counting as one, the list's
/// implicit "*" rule), as libpsl answers libcurl. 0 when the list has no answer.
fn public_suffix_len(host: &str) -> usize {
    let lower = host.to_ascii_lowercase();
    psl::suffix(lower.as_bytes()).map_or(0, |s| s.as_bytes().len())
}

/// Is `domain` itself a public suffix ("co.uk", "github.io", "com", "localhost")?
pub(super) fn is_public_suffix(domain: &str) -> bool {
    !domain.is_empty() && public_suffix_len(domain) == domain.len()
}

/// May `host` set a cookie for `domain` (which it tailmatches)? Only if `domain` is longer than
/// the public suffix of `host` (libpsl's psl_is_cookie_domain_acceptable).
pub(super) fn below_public_suffix(domain: &str, host: &str) -> bool {
    domain.len() > public_suffix_len(host)
}

pub(super) fn path_match(cookie_path: &str, req: &str) -> bool {
    if cookie_path.len() == 1 {
        return true;
    }
    let mut u = req.split('?').next().unwrap_or("");
    if !u.starts_with('/') {
        u = "/";
    }
    if u.len() < cookie_path.len() || !u.as_bytes().starts_with(cookie_path.as_bytes()) {
        return false;
    }
    u.len() == cookie_path.len() || u.as_bytes()[cookie_path.len()] == b'/'
}
