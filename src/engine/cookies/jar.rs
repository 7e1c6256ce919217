//! The jar: where cookies are kept, in libcurl's hash-bucket order, and how a request picks them.

use std::path::Path;

use super::matching::{bucket_of, is_ip, path_match, strip_brackets, tailmatch};
use super::netscape::{netscape_line, parse_netscape};
use super::parse::{cut_at_newline, parse_set_cookie, strip_prefix_ci};
use super::*;

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) c: Cookie,
    /// False for a cookie added without any domain (it then matches hosts of bucket 0 only).
    pub(super) has_domain: bool,
    /// False for a cookie added without any path (it then matches every path).
    pub(super) has_path: bool,
    /// Creation order; a replacing cookie inherits the one of the cookie it replaces.
    pub(super) ct: u64,
    /// Set from a header or CURLOPT_COOKIELIST (true), or read from a file (false). A cookie read
    /// from a file never replaces a live one.
    pub(super) live: bool,
}

impl Entry {
    pub(super) fn expired(&self, now: i64) -> bool {
        self.c.expires != 0 && self.c.expires < now
    }
    pub(super) fn path_len(&self) -> usize {
        if self.has_path {
            self.c.path.len()
        } else {
            0
        }
    }
    pub(super) fn domain_len(&self) -> usize {
        if self.has_domain {
            self.c.domain.len()
        } else {
            0
        }
    }
}

/// The cookie store of one handle (or of a share).
#[derive(Debug, Default, Clone)]
pub struct CookieJar {
    buckets: Vec<Vec<Entry>>,
    last_ct: u64,
    /// Earliest expiry time among the stored cookies (0: none); lets `insert` skip purging.
    next_expire: i64,
}

impl CookieJar {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of cookies held (expired ones not yet purged included).
    pub fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All cookies, in libcurl's internal (INFO_COOKIELIST) order, expired ones included.
    pub fn cookies(&self) -> impl Iterator<Item = &Cookie> {
        self.buckets.iter().flat_map(|b| b.iter().map(|e| &e.c))
    }

    /// Erase everything (COOKIELIST "ALL").
    pub fn clear(&mut self) {
        self.buckets.clear();
    }

    /// Erase all session cookies (COOKIELIST "SESS").
    pub fn clear_all_session(&mut self) {
        for b in &mut self.buckets {
            b.retain(|e| e.c.expires != 0);
        }
    }

    /// COOKIESESSION: drop the session cookies that were read from files (cookies set by a
    /// server or through COOKIELIST stay). libcurl applies COOKIESESSION while reading the files;
    /// [`CookieJar::load_file_opts`] with `skip_session` does exactly that.
    pub fn clear_session(&mut self) {
        for b in &mut self.buckets {
            b.retain(|e| e.c.expires != 0 || e.live);
        }
    }

    /// Drop every cookie whose expiry time has passed.
    pub fn remove_expired(&mut self, now: i64) {
        let mut next = 0;
        for b in &mut self.buckets {
            b.retain(|e| !e.expired(now));
            for e in b.iter() {
                if e.c.expires != 0 && (next == 0 || e.c.expires < next) {
                    next = e.c.expires;
                }
            }
        }
        self.next_expire = next;
    }

    /// CURLOPT_COOKIEFILE: load a Netscape/Mozilla cookie file (lines that are `Set-Cookie:`
    /// headers are accepted too). A missing or unreadable file is silently ignored.
    pub fn load_file(&mut self, path: &Path) {
        self.load_file_opts(path, unix_now(), false);
    }

    /// Like [`CookieJar::load_file`], with the time given and COOKIESESSION applied when
    /// `skip_session` is set (session cookies in the file are then ignored). Returns whether the
    /// file could be read.
    pub fn load_file_opts(&mut self, path: &Path, now: i64, skip_session: bool) -> bool {
        match std::fs::read(path) {
            Ok(bytes) => {
                self.load_text(&String::from_utf8_lossy(&bytes), now, skip_session);
                true
            }
            Err(_) => false,
        }
    }

    /// Load cookie file contents already in memory (same rules as a file).
    pub fn load_text(&mut self, text: &str, now: i64, skip_session: bool) {
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let parsed = if let Some(rest) = strip_prefix_ci(line, "Set-Cookie:") {
                parse_set_cookie(rest, rest.len(), None, None, true, now)
            } else {
                parse_netscape(line)
            };
            if let Some(e) = parsed {
                if skip_session && e.c.expires == 0 {
                    continue;
                }
                self.insert(e, false, false, now);
            }
        }
    }

    /// A Set-Cookie header value received from `host` for request `path` (the URL path, a query
    /// part is ignored) in a secure context or not (see [`secure_context`]).
    pub fn set_cookie_header(&mut self, value: &str, host: &str, path: &str, secure: bool, now: i64) {
        self.add_set_cookie(value, host, path, secure, now);
    }

    /// Same as [`CookieJar::set_cookie_header`], telling whether the cookie was accepted (an
    /// expired cookie, which only deletes, counts as accepted as libcurl counts it).
    pub fn add_set_cookie(&mut self, value: &str, host: &str, path: &str, secure: bool, now: i64) -> bool {
        let value = cut_at_newline(value);
        // libcurl measures the header line with the blank after the colon and the CRLF.
        let raw_len = value.len() + 3;
        let host = strip_brackets(host);
        let path = if path.is_empty() { "/" } else { path };
        match parse_set_cookie(value, raw_len, Some(host), Some(path), secure, now) {
            Some(e) => self.insert(e, true, !secure, now),
            None => false,
        }
    }

    /// All Set-Cookie header values of one response, applying libcurl's limit of
    /// [`MAX_SET_COOKIE_PER_RESPONSE`] accepted cookies per response. Returns how many were
    /// accepted.
    pub fn set_cookie_response<'a, I>(&mut self, values: I, host: &str, path: &str, secure: bool, now: i64) -> usize
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut n = 0;
        for v in values {
            if n >= MAX_SET_COOKIE_PER_RESPONSE {
                break;
            }
            if self.add_set_cookie(v, host, path, secure, now) {
                n += 1;
            }
        }
        n
    }

    /// The Cookie header value ("a=1; b=2") for a request to `host` and `path` (a query part is
    /// ignored), or None when no cookie matches.
    pub fn cookie_header(&self, host: &str, path: &str, secure: bool, now: i64) -> Option<String> {
        let host = strip_brackets(host);
        let host_is_ip = is_ip(host);
        let bucket = self.buckets.get(bucket_of(Some(host)))?;
        let mut picked: Vec<&Entry> = Vec::new();
        for e in bucket {
            if picked.len() >= MAX_COOKIES_SENT {
                break;
            }
            if e.expired(now) || (e.c.secure && !secure) {
                continue;
            }
            let domain_ok = if !e.has_domain {
                true
            } else if e.c.tailmatch && !host_is_ip {
                tailmatch(&e.c.domain, host)
            } else {
                e.c.domain.eq_ignore_ascii_case(host)
            };
            if !domain_ok || (e.has_path && !path_match(&e.c.path, path)) {
                continue;
            }
            picked.push(e);
        }
        if picked.is_empty() {
            return None;
        }
        picked.sort_by(|a, b| {
            b.path_len()
                .cmp(&a.path_len())
                .then(b.domain_len().cmp(&a.domain_len()))
                .then(b.c.name.len().cmp(&a.c.name.len()))
                .then(b.ct.cmp(&a.ct))
        });
        let mut out = String::new();
        for (i, e) in picked.iter().enumerate() {
            let sep = if i == 0 { 0 } else { 2 };
            if out.len() + sep + e.c.name.len() + 1 + e.c.value.len() >= MAX_COOKIE_HEADER_VALUE {
                break;
            }
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(&e.c.name);
            out.push('=');
            out.push_str(&e.c.value);
        }
        Some(out)
    }

    /// CURLOPT_COOKIELIST: "ALL", "SESS", "FLUSH", "RELOAD" (case-insensitive), a
    /// "Set-Cookie: ..." line or a Netscape format line.
    pub fn cookielist(&mut self, line: &str, now: i64) -> CookieListCmd {
        if line.eq_ignore_ascii_case("ALL") {
            self.clear();
            return CookieListCmd::All;
        }
        if line.eq_ignore_ascii_case("SESS") {
            self.clear_all_session();
            return CookieListCmd::Sess;
        }
        if line.eq_ignore_ascii_case("FLUSH") {
            return CookieListCmd::Flush;
        }
        if line.eq_ignore_ascii_case("RELOAD") {
            return CookieListCmd::Reload;
        }
        let line = cut_at_newline(line);
        let parsed = if let Some(rest) = strip_prefix_ci(line, "Set-Cookie:") {
            parse_set_cookie(rest, rest.len(), None, None, true, now)
        } else {
            parse_netscape(line)
        };
        let accepted = match parsed {
            Some(e) => self.insert(e, true, false, now),
            None => false,
        };
        CookieListCmd::Add { accepted }
    }

    /// CURLINFO_COOKIELIST at the current time.
    pub fn netscape_lines(&self) -> Vec<String> {
        self.netscape_lines_at(unix_now())
    }

    /// CURLINFO_COOKIELIST: one Netscape line per live (unexpired) cookie, in libcurl's order.
    /// Cookies without a domain are not listed (libcurl skips them too).
    pub fn netscape_lines_at(&self, now: i64) -> Vec<String> {
        self.buckets
            .iter()
            .flat_map(|b| b.iter())
            .filter(|e| e.has_domain && !e.expired(now))
            .map(netscape_line)
            .collect()
    }

    /// CURLOPT_COOKIEJAR contents at the current time.
    pub fn jar_text(&self) -> String {
        self.jar_text_at(unix_now())
    }

    /// CURLOPT_COOKIEJAR: the whole file as libcurl writes it: [`JAR_HEADER`], then one line per
    /// unexpired cookie with a domain, newest first, each ending in "\n".
    pub fn jar_text_at(&self, now: i64) -> String {
        let mut all: Vec<&Entry> =
            self.buckets.iter().flat_map(|b| b.iter()).filter(|e| e.has_domain && !e.expired(now)).collect();
        all.sort_by_key(|e| std::cmp::Reverse(e.ct));
        let mut out = String::from(JAR_HEADER);
        for e in all {
            out.push_str(&netscape_line(e));
            out.push('\n');
        }
        out
    }

    /// Store a parsed cookie. `overlay_check`: refuse a non-secure cookie that would overlay a
    /// secure one (done for cookies from non-secure origins). Returns whether it was accepted.
    fn insert(&mut self, mut e: Entry, live: bool, overlay_check: bool, now: i64) -> bool {
        if self.buckets.len() != BUCKETS {
            self.buckets.resize_with(BUCKETS, Vec::new);
        }
        if self.next_expire != 0 && self.next_expire < now {
            self.remove_expired(now);
        }
        e.live = live;
        let b = bucket_of(if e.has_domain { Some(e.c.domain.as_str()) } else { None });
        let bucket = &mut self.buckets[b];

        if overlay_check && !e.c.secure {
            for old in bucket.iter() {
                if !old.c.secure || old.c.name != e.c.name || !old.has_path || !e.has_path {
                    continue;
                }
                let related = match (old.has_domain, e.has_domain) {
                    (false, false) => true,
                    (true, true) => tailmatch(&old.c.domain, &e.c.domain) || tailmatch(&e.c.domain, &old.c.domain),
                    _ => false,
                };
                if !related {
                    continue;
                }
                // Compare with the first segment of the secure cookie's path.
                let op = old.c.path.as_str();
                let seg_len = op[1.min(op.len())..].find('/').map(|i| i + 1).unwrap_or(op.len());
                if e.c.path.as_bytes().starts_with(&op.as_bytes()[..seg_len]) {
                    return false;
                }
            }
        }

        let mut replace = None;
        for (i, old) in bucket.iter().enumerate() {
            if old.c.name != e.c.name {
                continue;
            }
            let same_domain = match (old.has_domain, e.has_domain) {
                (true, true) => old.c.domain.eq_ignore_ascii_case(&e.c.domain) && old.c.tailmatch == e.c.tailmatch,
                (false, false) => true,
                _ => false,
            };
            let same_path = match (old.has_path, e.has_path) {
                (true, true) => old.c.path == e.c.path,
                (false, false) => true,
                _ => false,
            };
            if same_domain && same_path {
                if old.live && !e.live {
                    return false;
                }
                replace = Some(i);
                break;
            }
        }
        e.ct = match replace {
            Some(i) => bucket.remove(i).ct,
            None => {
                self.last_ct += 1;
                self.last_ct
            }
        };
        if !e.expired(now) {
            if e.c.expires != 0 && (self.next_expire == 0 || e.c.expires < self.next_expire) {
                self.next_expire = e.c.expires;
            }
            bucket.push(e);
        }
        true
    }
}
