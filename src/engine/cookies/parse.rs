//! Set-Cookie header values into jar entries, with libcurl's checks and defaults.

use super::jar::Entry;
use super::matching::{below_public_suffix, is_ip, is_public_suffix, tailmatch};
use super::*;
use crate::engine::date::parse_date;

// ---------------------------------------------------------------------------------------------
// Parsing

pub(super) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(super) fn trim_blank(s: &str) -> &str {
    s.trim_matches(is_blank)
}

pub(super) fn has_bad_octet(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == 0x7f)
}

pub(super) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let n = prefix.len();
    if s.len() >= n && s.is_char_boundary(n) && s[..n].eq_ignore_ascii_case(prefix) {
        Some(&s[n..])
    } else {
        None
    }
}

pub(super) fn cut_at_newline(s: &str) -> &str {
    match s.find(['\r', '\n']) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// Normalise a cookie path: surrounding quotes dropped, no leading slash means "/", one
/// trailing slash removed.
pub(super) fn sanitize_path(p: &str) -> String {
    let mut s = p;
    if let Some(rest) = s.strip_prefix('"') {
        s = rest.strip_suffix('"').unwrap_or(rest);
    }
    if !s.starts_with('/') {
        return "/".to_string();
    }
    if s.len() > 1 && s.ends_with('/') {
        s = &s[..s.len() - 1];
    }
    s.to_string()
}

/// RFC 6265 5.1.4 default-path, as libcurl does it: up to the last slash of the request path.
pub(super) fn default_path(req: &str) -> Option<String> {
    let p = req.split('?').next().unwrap_or("");
    p.rfind('/').map(|i| sanitize_path(&p[..=i]))
}

pub(super) fn cap_expires(expires: &mut i64, now: i64) {
    if *expires != 0 && now < i64::MAX - MAX_AGE_CAP - 30 {
        let cap = now + MAX_AGE_CAP;
        if *expires > cap {
            *expires = (cap + 30) / 60 * 60;
        }
    }
}

pub(super) fn prefix_ok(name: &str, secure: bool, tailmatch: bool, path: Option<&str>) -> bool {
    if name.starts_with("__Secure-") && !secure {
        return false;
    }
    if name.starts_with("__Host-") && !(secure && !tailmatch && path == Some("/")) {
        return false;
    }
    true
}

/// Leading decimal digits of `s` (at least one); None on no digit or overflow.
pub(super) fn leading_number(s: &str) -> Option<Result<i64, ()>> {
    let digits: &str = &s[..s.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    Some(digits.parse::<i64>().map_err(|_| ()))
}

/// Parse a Set-Cookie header value. `host`/`req_path` are None for lines given through
/// COOKIELIST or a cookie file (no domain/path checks or defaults then).
pub(super) fn parse_set_cookie(
    line: &str,
    raw_len: usize,
    host: Option<&str>,
    req_path: Option<&str>,
    secure_origin: bool,
    now: i64,
) -> Option<Entry> {
    if raw_len > MAX_COOKIE_LINE {
        return None;
    }
    let mut parts = line.split(';');
    let first = parts.next()?;
    let eq = first.find('=')?;
    let name = trim_blank(&first[..eq]);
    let value = trim_blank(&first[eq + 1..]);
    if name.is_empty() || name.len() + value.len() > MAX_NAME_VALUE || has_bad_octet(name) || has_bad_octet(value) {
        return None;
    }
    let mut c = Cookie {
        domain: String::new(),
        tailmatch: false,
        path: "/".to_string(),
        secure: false,
        expires: 0,
        name: name.to_string(),
        value: value.to_string(),
        httponly: false,
    };
    let mut domain: Option<String> = None;
    let mut path: Option<String> = None;
    for attr in parts {
        let (an, av) = match attr.find('=') {
            Some(i) => (trim_blank(&attr[..i]), trim_blank(&attr[i + 1..])),
            None => (trim_blank(attr), ""),
        };
        if has_bad_octet(an) || has_bad_octet(av) {
            return None;
        }
        if an.eq_ignore_ascii_case("secure") {
            if !secure_origin {
                return None;
            }
            c.secure = true;
            continue;
        }
        if an.eq_ignore_ascii_case("httponly") {
            c.httponly = true;
            continue;
        }
        if av.is_empty() {
            continue;
        }
        if an.eq_ignore_ascii_case("path") {
            path = Some(sanitize_path(av));
        } else if an.eq_ignore_ascii_case("domain") {
            let v = av.strip_prefix('.').unwrap_or(av);
            match host {
                None => {
                    c.tailmatch = !is_ip(v);
                    domain = Some(v.to_string());
                }
                Some(h) if is_ip(h) => {
                    if v != h {
                        return None;
                    }
                    c.tailmatch = false;
                    domain = Some(v.to_string());
                }
                Some(h) => {
                    if !tailmatch(v, h) {
                        return None;
                    }
                    if v.eq_ignore_ascii_case(h) && is_public_suffix(v) {
                        // A public suffix is only acceptable as the very host: a host-only
                        // cookie then (libcurl built with libpsl, RFC 6265 5.3 step 5).
                        c.tailmatch = false;
                    } else if below_public_suffix(v, h) {
                        c.tailmatch = true;
                    } else {
                        return None;
                    }
                    domain = Some(v.to_string());
                }
            }
        } else if an.eq_ignore_ascii_case("max-age") {
            let v = av.strip_prefix('"').unwrap_or(av);
            c.expires = match leading_number(v) {
                Some(Ok(0)) | None => 1,
                Some(Ok(n)) => now.checked_add(n).unwrap_or(i64::MAX),
                Some(Err(())) => i64::MAX,
            };
        } else if an.eq_ignore_ascii_case("expires") && c.expires == 0 && av.len() < MAX_DATE_LENGTH {
            // Max-Age (given first) wins; so does the first parseable Expires.
            c.expires = match parse_date(av) {
                Some(t) if t <= 0 => 1,
                Some(t) => t,
                None => 0,
            };
        }
    }
    let has_domain = domain.is_some() || host.is_some();
    match domain {
        Some(d) => c.domain = d,
        None => {
            if let Some(h) = host {
                c.domain = h.to_string();
                c.tailmatch = false;
            }
        }
    }
    cap_expires(&mut c.expires, now);
    if path.is_none() {
        if let Some(rp) = req_path {
            path = default_path(rp);
        }
    }
    let has_path = path.is_some();
    if let Some(p) = path {
        c.path = p;
    }
    if !prefix_ok(&c.name, c.secure, c.tailmatch, if has_path { Some(&c.path) } else { None }) {
        return None;
    }
    Some(Entry { c, has_domain, has_path, ct: 0, live: true })
}
