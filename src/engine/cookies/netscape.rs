//! The Netscape/Mozilla cookie file format: one tab-separated line per cookie.

use super::jar::Entry;
use super::parse::{has_bad_octet, leading_number, prefix_ok, sanitize_path};
use super::*;

pub(super) fn netscape_line(e: &Entry) -> String {
    let c = &e.c;
    format!(
        "{}{}{}\t{}\t{}\t{}\t{}\t{}\t{}",
        if c.httponly { "#HttpOnly_" } else { "" },
        if c.tailmatch && !c.domain.starts_with('.') { "." } else { "" },
        c.domain,
        if c.tailmatch { "TRUE" } else { "FALSE" },
        if e.has_path { c.path.as_str() } else { "/" },
        if c.secure { "TRUE" } else { "FALSE" },
        c.expires,
        c.name,
        c.value
    )
}

/// Parse one Netscape cookie file line.
pub(super) fn parse_netscape(line: &str) -> Option<Entry> {
    let (httponly, rest) = match line.strip_prefix("#HttpOnly_") {
        Some(r) => (true, r),
        None => (false, line),
    };
    if rest.starts_with('#') {
        return None;
    }
    let mut fields: Vec<&str> = rest.split('\t').collect();
    // Old files lack the path field: a TRUE/FALSE in its place is the secure flag.
    if fields.len() > 2 && (fields[2] == "TRUE" || fields[2] == "FALSE") {
        fields.insert(2, "/");
    }
    if fields.len() == 6 {
        fields.push("");
    }
    if fields.len() != 7 {
        return None;
    }
    let domain = fields[0].strip_prefix('.').unwrap_or(fields[0]);
    let expires = match leading_number(fields[4]) {
        Some(Ok(n)) => n,
        _ => return None,
    };
    let (name, value) = (fields[5], fields[6]);
    if name.len() + value.len() > MAX_NAME_VALUE || has_bad_octet(name) || has_bad_octet(value) {
        return None;
    }
    let c = Cookie {
        domain: domain.to_string(),
        tailmatch: fields[1].eq_ignore_ascii_case("TRUE"),
        path: sanitize_path(fields[2]),
        secure: fields[3].eq_ignore_ascii_case("TRUE"),
        expires,
        name: name.to_string(),
        value: value.to_string(),
        httponly,
    };
    if !prefix_ok(&c.name, c.secure, c.tailmatch, Some(&c.path)) {
        return None;
    }
    Some(Entry { c, has_domain: true, has_path: true, ct: 0, live: true })
}
