//! libcurl's URL API (CURLU): a URL held as separate parts that can be set and read one by one,
//! with libcurl's flags, its parser (scheme guessing, IPv4/IPv6 normalising, dot removal),
//! relative resolution when a URL is set on a handle that already holds one, and its CURLUcode
//! errors. Values are bytes: libcurl does not require UTF-8 and neither does this module.

/// CURLUcode values live with the other error codes (their texts are in `strerror::url_strerror`).
pub use super::error::ue;

/// CURLUPart values.
pub mod part {
    pub const URL: i32 = 0;
    pub const SCHEME: i32 = 1;
    pub const USER: i32 = 2;
    pub const PASSWORD: i32 = 3;
    pub const OPTIONS: i32 = 4;
    pub const HOST: i32 = 5;
    pub const PORT: i32 = 6;
    pub const PATH: i32 = 7;
    pub const QUERY: i32 = 8;
    pub const FRAGMENT: i32 = 9;
    pub const ZONEID: i32 = 10;
}

/// CURLU_* flag bits.
pub mod flag {
    pub const DEFAULT_PORT: u32 = 1 << 0;
    pub const NO_DEFAULT_PORT: u32 = 1 << 1;
    pub const DEFAULT_SCHEME: u32 = 1 << 2;
    pub const NON_SUPPORT_SCHEME: u32 = 1 << 3;
    pub const PATH_AS_IS: u32 = 1 << 4;
    pub const DISALLOW_USER: u32 = 1 << 5;
    pub const URLDECODE: u32 = 1 << 6;
    pub const URLENCODE: u32 = 1 << 7;
    pub const APPENDQUERY: u32 = 1 << 8;
    pub const GUESS_SCHEME: u32 = 1 << 9;
    pub const NO_AUTHORITY: u32 = 1 << 10;
    pub const ALLOW_SPACE: u32 = 1 << 11;
    pub const PUNYCODE: u32 = 1 << 12;
    pub const PUNY2IDN: u32 = 1 << 13;
    pub const GET_EMPTY: u32 = 1 << 14;
    pub const NO_GUESS_SCHEME: u32 = 1 << 15;
}

type R<T> = Result<T, u32>;

/// The schemes the emulated libcurl build knows, with their default ports.
const SCHEMES: &[(&str, u16)] = &[
    ("dict", 2628),
    ("file", 0),
    ("ftp", 21),
    ("ftps", 990),
    ("gopher", 70),
    ("gophers", 70),
    ("http", 80),
    ("https", 443),
    ("imap", 143),
    ("imaps", 993),
    ("mqtt", 1883),
    ("mqtts", 8883),
    ("pop3", 110),
    ("pop3s", 995),
    ("rtsp", 554),
    ("scp", 22),
    ("sftp", 22),
    ("smtp", 25),
    ("smtps", 465),
    ("telnet", 23),
    ("tftp", 69),
    ("ws", 80),
    ("wss", 443),
];

fn known_scheme(s: &[u8]) -> Option<u16> {
    SCHEMES.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(s)).map(|(_, p)| *p)
}

/// Schemes whose login part carries ";options" (libcurl's PROTOPT_URLOPTIONS).
fn has_url_options(s: &[u8]) -> bool {
    ["imap", "imaps", "pop3", "pop3s", "smtp", "smtps"].iter().any(|n| n.as_bytes().eq_ignore_ascii_case(s))
}

/// A CURLU handle: every part stored separately, as bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UrlHandle {
    scheme: Option<Vec<u8>>,
    user: Option<Vec<u8>>,
    password: Option<Vec<u8>>,
    options: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
    zoneid: Option<Vec<u8>>,
    port: Option<u16>,
    path: Option<Vec<u8>>,
    query: Option<Vec<u8>>,
    fragment: Option<Vec<u8>>,
    /// An empty fragment set with setpart shows as "#"; one parsed from "x#" does not.
    fragment_forced: bool,
    guessed_scheme: bool,
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

fn pct(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
}

/// What setpart's URLENCODE does to a part: everything but unreserved bytes is escaped; a path
/// keeps its slashes; a query turns spaces into '+' and, when appended, keeps its first '='.
fn encode_part(v: &[u8], path: bool, query: bool, keep_first_eq: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut eq_kept = !keep_first_eq;
    for &b in v {
        // a path keeps its separators and RFC 3986 sub-delims
        if unreserved(b) || (path && b"/!$&'()*+,;=:@[]".contains(&b)) {
            out.push(b);
        } else if query && b == b' ' {
            out.push(b'+');
        } else if b == b'=' && !eq_kept {
            eq_kept = true;
            out.push(b);
        } else {
            pct(&mut out, b);
        }
    }
    out
}

/// Escapes only what cannot stand in a URL (controls, space, 8-bit): what libcurl does to a URL
/// it is asked to encode, and to a relative reference; spaces become '+' once in the query.
fn encode_loose(v: &[u8], plus_after_question: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut in_query = false;
    for &b in v {
        if b == b'?' {
            in_query = true;
        }
        if b == b' ' && in_query && plus_after_question {
            out.push(b'+');
        } else if b <= 0x20 || b >= 0x7f {
            pct(&mut out, b);
        } else {
            out.push(b);
        }
    }
    out
}

/// What getpart's URLENCODE does: controls, spaces and 8-bit bytes escaped (a query's spaces
/// as '+'), existing escapes written with upper-case hex.
fn encode_for_get(v: &[u8], query: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        if b == b'%' && i + 2 < v.len() && v[i + 1].is_ascii_hexdigit() && v[i + 2].is_ascii_hexdigit() {
            out.extend_from_slice(&[b'%', v[i + 1].to_ascii_uppercase(), v[i + 2].to_ascii_uppercase()]);
            i += 3;
            continue;
        }
        if b == b' ' && query {
            out.push(b'+');
        } else if b <= 0x20 || b >= 0x7f {
            pct(&mut out, b);
        } else {
            out.push(b);
        }
        i += 1;
    }
    out
}

/// Percent-decodes; `plus` turns '+' into a space (queries). Control bytes, decoded or not, are
/// refused.
fn decode(v: &[u8], plus: bool) -> R<Vec<u8>> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        if b == b'%' && i + 2 < v.len() {
            let h = (v[i + 1] as char).to_digit(16);
            let l = (v[i + 2] as char).to_digit(16);
            if let (Some(h), Some(l)) = (h, l) {
                let c = (h * 16 + l) as u8;
                if c < 0x20 {
                    return Err(ue::URLDECODE);
                }
                out.push(c);
                i += 3;
                continue;
            }
        }
        if b < 0x20 {
            return Err(ue::URLDECODE);
        }
        out.push(if plus && b == b'+' { b' ' } else { b });
        i += 1;
    }
    Ok(out)
}

/// RFC 3986 dot-segment removal; "%2e" counts as a dot, as in libcurl.
fn dedot(path: &[u8]) -> Vec<u8> {
    let norm = |seg: &[u8]| -> Vec<u8> {
        let s = String::from_utf8_lossy(seg).to_ascii_lowercase();
        s.replace("%2e", ".").into_bytes()
    };
    if !path.split(|&b| b == b'/').any(|s| {
        let n = norm(s);
        n == b"." || n == b".."
    }) {
        return path.to_vec();
    }
    let absolute = path.first() == Some(&b'/');
    let segs: Vec<&[u8]> = path.split(|&b| b == b'/').skip(usize::from(absolute)).collect();
    let mut out: Vec<&[u8]> = Vec::new();
    let n = segs.len();
    for (i, s) in segs.into_iter().enumerate() {
        let d = norm(s);
        if d == b"." || d == b".." {
            if d == b".." {
                out.pop();
            }
            if i == n - 1 {
                out.push(b"");
            }
        } else {
            out.push(s);
        }
    }
    let mut r = Vec::new();
    if absolute {
        r.push(b'/');
    }
    r.extend_from_slice(&out.join(&b'/'));
    r
}

/// libcurl's numeric IPv4 forms (127.1, 0x7f.1, 2130706433) as a dotted quad; None for a name.
fn ipv4_normalize(h: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(h).ok()?;
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = if let Some(x) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            (x, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if digits.is_empty() && radix != 8 {
            return None;
        }
        let v = if digits.is_empty() { 0 } else { u64::from_str_radix(digits, radix).ok()? };
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        nums.push(v);
    }
    let last = nums.len() - 1;
    let mut addr: u64 = 0;
    for (i, &v) in nums.iter().enumerate() {
        if i < last {
            if v > 255 {
                return None;
            }
            addr |= v << (8 * (3 - i));
        } else {
            let room = 8 * (4 - i as u32);
            if v >= (1u64 << room) {
                return None;
            }
            addr |= v;
        }
    }
    Some(format!("{}.{}.{}.{}", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255))
}

fn bad_host_byte(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b" \r\n\t/:#?!@{}[]\\$'\"^`*<>=;,+&()%".contains(&b)
}

/// A bracketed IPv6 literal "[addr]" or "[addr%zone]" / "[addr%25zone]": (normalised "[addr]", zone).
fn parse_ipv6(h: &[u8]) -> R<(Vec<u8>, Option<Vec<u8>>)> {
    let inner = h.strip_prefix(b"[").and_then(|x| x.strip_suffix(b"]")).ok_or(ue::BAD_IPV6)?;
    let (addr, zone) = match inner.iter().position(|&b| b == b'%') {
        Some(i) => {
            let z = &inner[i + 1..];
            let z = z.strip_prefix(b"25").unwrap_or(z);
            if z.is_empty() || z.iter().any(|&b| !(b.is_ascii_alphanumeric() || b"-._~".contains(&b))) {
                return Err(ue::BAD_IPV6);
            }
            (&inner[..i], Some(z.to_vec()))
        }
        None => (inner, None),
    };
    if addr.is_empty() || !addr.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
        return Err(ue::BAD_IPV6);
    }
    let a: std::net::Ipv6Addr = std::str::from_utf8(addr).ok().and_then(|s| s.parse().ok()).ok_or(ue::BAD_IPV6)?;
    Ok((format!("[{a}]").into_bytes(), zone))
}

fn parse_port(p: &[u8]) -> R<Option<u16>> {
    if p.is_empty() {
        return Ok(None);
    }
    if !p.iter().all(u8::is_ascii_digit) {
        return Err(ue::BAD_PORT_NUMBER);
    }
    // leading zeros are allowed and dropped ("080" is 80)
    let digits = &p[p.iter().position(|&b| b != b'0').unwrap_or(p.len())..];
    if digits.len() > 5 {
        return Err(ue::BAD_PORT_NUMBER);
    }
    let n = digits.iter().fold(0u32, |n, &b| n * 10 + u32::from(b - b'0'));
    u16::try_from(n).map(Some).map_err(|_| ue::BAD_PORT_NUMBER)
}

/// The scheme at the start of `s`, if it is an absolute URL. With `guess` a scheme must be
/// followed by a slash, so that "host:port/path" is not read as scheme "host".
fn scheme_len(s: &[u8], guess: bool) -> Option<usize> {
    if !s.first()?.is_ascii_alphabetic() {
        return None;
    }
    let n = s.iter().position(|&b| !(b.is_ascii_alphanumeric() || b"+-.".contains(&b)))?;
    if n > 40 || s[n] != b':' {
        return None;
    }
    if guess && s.get(n + 1) != Some(&b'/') {
        return None;
    }
    Some(n)
}

fn check_bytes(v: &[u8], allow_space: bool, err: u32) -> R<()> {
    if v.iter().any(|&b| b < 0x20 || b == 0x7f || (b == b' ' && !allow_space)) {
        return Err(err);
    }
    Ok(())
}

impl UrlHandle {
    pub fn new() -> Self {
        Self::default()
    }

    fn default_port(&self) -> Option<u16> {
        self.scheme.as_deref().and_then(known_scheme)
    }

    /// curl_url_set(). `value` None clears the part (URL: everything).
    pub fn set(&mut self, which: i32, value: Option<&[u8]>, flags: u32) -> R<()> {
        let Some(v) = value else {
            match which {
                part::URL => *self = Self::default(),
                part::SCHEME => {
                    self.scheme = None;
                    self.guessed_scheme = false;
                }
                part::USER => self.user = None,
                part::PASSWORD => self.password = None,
                part::OPTIONS => self.options = None,
                part::HOST => self.host = None,
                part::ZONEID => self.zoneid = None,
                part::PORT => self.port = None,
                part::PATH => self.path = None,
                part::QUERY => self.query = None,
                part::FRAGMENT => {
                    self.fragment = None;
                    self.fragment_forced = false;
                }
                _ => return Err(ue::UNKNOWN_PART),
            }
            return Ok(());
        };
        let enc = flags & flag::URLENCODE != 0;
        // an empty value to encode removes a login or zone part, as in libcurl
        if enc && v.is_empty() && [part::USER, part::PASSWORD, part::OPTIONS, part::ZONEID].contains(&which) {
            return self.set(which, None, 0);
        }
        // and leaves an empty query, appended to or not
        if enc && v.is_empty() && which == part::QUERY {
            self.query = Some(Vec::new());
            return Ok(());
        }
        match which {
            part::URL => return self.set_url(v, flags),
            part::SCHEME => {
                if v.is_empty() {
                    return Err(ue::BAD_SCHEME);
                }
                if flags & flag::NON_SUPPORT_SCHEME == 0 && known_scheme(v).is_none() {
                    return Err(ue::UNSUPPORTED_SCHEME);
                }
                if scheme_len(&[v, b":"].concat(), false) != Some(v.len()) {
                    return Err(ue::BAD_SCHEME);
                }
                self.scheme = Some(v.to_vec());
                self.guessed_scheme = false;
            }
            part::USER => self.user = Some(if enc { encode_part(v, false, false, false) } else { v.to_vec() }),
            part::PASSWORD => self.password = Some(if enc { encode_part(v, false, false, false) } else { v.to_vec() }),
            part::OPTIONS => self.options = Some(if enc { encode_part(v, false, false, false) } else { v.to_vec() }),
            part::HOST => {
                if v.first() == Some(&b'[') && !enc {
                    let (_, zone) = parse_ipv6(v).map_err(|_| ue::BAD_HOSTNAME)?;
                    if zone.is_some() {
                        self.zoneid = zone;
                    }
                    self.host = Some(v.to_vec());
                } else {
                    let checked = if enc {
                        encode_part(v, false, false, false)
                    } else {
                        decode(v, false).map_err(|_| ue::BAD_HOSTNAME)?
                    };
                    if checked.is_empty()
                        || checked == b"."
                        || checked == b".."
                        || checked.iter().any(|&b| bad_host_byte(b))
                    {
                        return Err(ue::BAD_HOSTNAME);
                    }
                    self.host = Some(match ipv4_normalize(v) {
                        Some(ip) => ip.into_bytes(),
                        None if enc => encode_part(v, false, false, false),
                        None => v.to_vec(),
                    });
                }
            }
            part::ZONEID => self.zoneid = Some(if enc { encode_part(v, false, false, false) } else { v.to_vec() }),
            part::PORT => self.port = Some(parse_port(v)?.ok_or(ue::BAD_PORT_NUMBER)?),
            part::PATH => {
                let p = if enc { encode_part(v, true, false, false) } else { v.to_vec() };
                self.path = Some(p);
            }
            part::QUERY => {
                let q = if enc { encode_part(v, false, true, flags & flag::APPENDQUERY != 0) } else { v.to_vec() };
                if flags & flag::APPENDQUERY != 0 {
                    match &mut self.query {
                        Some(old) if !old.is_empty() => {
                            if old.last() != Some(&b'&') {
                                old.push(b'&');
                            }
                            old.extend_from_slice(&q);
                        }
                        _ => self.query = Some(q),
                    }
                } else {
                    self.query = Some(q);
                }
            }
            part::FRAGMENT => {
                if enc && v.is_empty() {
                    self.fragment = Some(Vec::new());
                    self.fragment_forced = false;
                } else {
                    self.fragment = Some(if enc { encode_part(v, false, false, false) } else { v.to_vec() });
                    self.fragment_forced = true;
                }
            }
            _ => return Err(ue::UNKNOWN_PART),
        }
        Ok(())
    }

    fn set_url(&mut self, v: &[u8], flags: u32) -> R<()> {
        let guess = flags & (flag::GUESS_SCHEME | flag::DEFAULT_SCHEME) != 0;
        if scheme_len(v, guess).is_none() && self.get(part::URL, 0).is_ok() {
            return self.resolve(v, flags);
        }
        *self = parse(v, flags)?;
        Ok(())
    }

    /// A relative reference set on a handle holding a URL: resolved against it, and the result
    /// parsed again with the caller's flags (as libcurl does).
    fn resolve(&mut self, rel: &[u8], flags: u32) -> R<()> {
        if rel.starts_with(b"//") {
            let mut full = self.scheme.clone().unwrap_or_default();
            full.push(b':');
            full.extend_from_slice(rel);
            *self = parse(&full, flags)?;
            return Ok(());
        }
        if rel.is_empty() {
            // an empty reference is the base itself, without its fragment; nothing is re-parsed
            self.fragment = None;
            self.fragment_forced = false;
            return Ok(());
        }
        let rel = encode_loose(rel, true);
        let path_end = rel.iter().position(|&b| b == b'?' || b == b'#').unwrap_or(rel.len());
        let (rpath, rest) = rel.split_at(path_end);
        let mut base = self.clone();
        base.fragment = None;
        base.fragment_forced = false;
        let mut base_path = self.path.clone().unwrap_or_else(|| b"/".to_vec());
        // libcurl joins on the URL text: with an empty host ("http:///a/b") the first path
        // segment sits where the host would be and stays in front of the joined path
        let mut lead = Vec::new();
        if self.host.as_deref() == Some(b"") && rpath.first() != Some(&b'/') {
            let cut = base_path.iter().skip(1).position(|&b| b == b'/').map_or(base_path.len(), |i| i + 1);
            lead = base_path[..cut].to_vec();
            base_path = if cut < base_path.len() { base_path[cut..].to_vec() } else { b"/".to_vec() };
        }
        let mut tail = lead;
        if rpath.is_empty() {
            tail.extend_from_slice(&base_path);
            if rest.first() == Some(&b'#') || rest.is_empty() {
                if let Some(q) = self.query.as_ref().filter(|q| !q.is_empty()) {
                    tail.push(b'?');
                    tail.extend_from_slice(q);
                }
            }
        } else {
            let joined = if rpath.first() == Some(&b'/') {
                rpath.to_vec()
            } else {
                let dir = match base_path.iter().rposition(|&b| b == b'/') {
                    Some(i) => &base_path[..=i],
                    None => b"/".as_slice(),
                };
                [dir, rpath].concat()
            };
            tail.extend_from_slice(&dedot(&joined));
        }
        tail.extend_from_slice(rest);
        base.path = None;
        base.query = None;
        let mut text = if base.scheme.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(b"file")) {
            b"file://".to_vec()
        } else {
            let mut t = base.get(part::URL, 0)?;
            // the base's text ends with "/" standing for its (removed) path
            t.pop();
            t
        };
        text.extend_from_slice(&tail);
        *self = parse(&text, flags)?;
        Ok(())
    }

    /// curl_url_get().
    pub fn get(&self, which: i32, flags: u32) -> R<Vec<u8>> {
        let dec = flags & flag::URLDECODE != 0;
        let enc = flags & flag::URLENCODE != 0;
        let empty_ok = flags & flag::GET_EMPTY != 0;
        let out = |v: &Option<Vec<u8>>, missing: u32, plus: bool| -> R<Vec<u8>> {
            let v = v.as_ref().ok_or(missing)?;
            if dec {
                decode(v, plus)
            } else if enc {
                Ok(encode_for_get(v, plus))
            } else {
                Ok(v.clone())
            }
        };
        match which {
            part::URL => self.full_url(flags),
            part::SCHEME => {
                if self.guessed_scheme && flags & flag::NO_GUESS_SCHEME != 0 {
                    return Err(ue::NO_SCHEME);
                }
                self.scheme.clone().ok_or(ue::NO_SCHEME)
            }
            part::USER => out(&self.user, ue::NO_USER, false),
            part::PASSWORD => out(&self.password, ue::NO_PASSWORD, false),
            part::OPTIONS => out(&self.options, ue::NO_OPTIONS, false),
            part::HOST => {
                let h = out(&self.host, ue::NO_HOST, false)?;
                self.idn_check(&h, flags)?;
                Ok(h)
            }
            part::ZONEID => out(&self.zoneid, ue::NO_ZONEID, false),
            part::PORT => {
                let def = self.default_port();
                match (self.port, def) {
                    (None, Some(d)) if flags & flag::DEFAULT_PORT != 0 => Ok(d.to_string().into_bytes()),
                    (Some(p), Some(d)) if p == d && flags & flag::NO_DEFAULT_PORT != 0 => Err(ue::NO_PORT),
                    (Some(p), _) => Ok(p.to_string().into_bytes()),
                    (None, _) => Err(ue::NO_PORT),
                }
            }
            part::PATH => match &self.path {
                Some(p) => {
                    let p = if p.first() == Some(&b'/') { p.clone() } else { [b"/".as_slice(), p].concat() };
                    out(&Some(p), 0, false)
                }
                None => Ok(b"/".to_vec()),
            },
            part::QUERY => match &self.query {
                Some(q) if q.is_empty() && !empty_ok => Err(ue::NO_QUERY),
                q => out(q, ue::NO_QUERY, true),
            },
            part::FRAGMENT => match &self.fragment {
                Some(f) if f.is_empty() && !empty_ok && !self.fragment_forced => Err(ue::NO_FRAGMENT),
                f => out(f, ue::NO_FRAGMENT, false),
            },
            _ => Err(ue::UNKNOWN_PART),
        }
    }

    /// Without IDN support, PUNY2IDN always fails and PUNYCODE fails for a non-ASCII host.
    fn idn_check(&self, host: &[u8], flags: u32) -> R<()> {
        let fails = if flags & flag::PUNYCODE != 0 { !host.is_ascii() } else { flags & flag::PUNY2IDN != 0 };
        if fails {
            return Err(ue::LACKS_IDN);
        }
        Ok(())
    }

    fn full_url(&self, flags: u32) -> R<Vec<u8>> {
        let scheme = self.scheme.as_ref().ok_or(ue::NO_SCHEME)?;
        let empty_ok = flags & flag::GET_EMPTY != 0;
        let mut u = Vec::new();
        let tail = |u: &mut Vec<u8>| {
            if let Some(q) = &self.query {
                if !q.is_empty() || empty_ok {
                    u.push(b'?');
                    u.extend_from_slice(q);
                }
            }
            if let Some(f) = &self.fragment {
                if !f.is_empty() || empty_ok || self.fragment_forced {
                    u.push(b'#');
                    u.extend_from_slice(f);
                }
            }
        };
        if scheme.eq_ignore_ascii_case(b"file") {
            u.extend_from_slice(b"file://");
            match &self.path {
                Some(p) => {
                    if p.first() != Some(&b'/') {
                        u.push(b'/');
                    }
                    u.extend_from_slice(p);
                }
                // libcurl formats a missing path with printf's "%s" of a null pointer
                None => u.extend_from_slice(b"(nil)"),
            }
            tail(&mut u);
            return Ok(u);
        }
        let host = self.host.as_ref().ok_or(ue::NO_HOST)?;
        self.idn_check(host, flags)?;
        if !(self.guessed_scheme && flags & flag::NO_GUESS_SCHEME != 0) {
            u.extend_from_slice(scheme);
            u.extend_from_slice(b"://");
        }
        let opts = self.options.as_ref().filter(|_| has_url_options(scheme) || known_scheme(scheme).is_none());
        if self.user.is_some() || self.password.is_some() || opts.is_some() {
            u.extend_from_slice(self.user.as_deref().unwrap_or_default());
            if let Some(p) = &self.password {
                u.push(b':');
                u.extend_from_slice(p);
            }
            if let Some(o) = opts {
                u.push(b';');
                u.extend_from_slice(o);
            }
            u.push(b'@');
        }
        match (&self.zoneid, host.first() == Some(&b'[')) {
            (_, false) if flags & flag::URLENCODE != 0 => {
                // an encoded URL escapes the host's '%' and 8-bit bytes
                for &b in host.iter() {
                    if b == b'%' || b >= 0x80 {
                        pct(&mut u, b);
                    } else {
                        u.push(b);
                    }
                }
            }
            (Some(z), true) => {
                u.extend_from_slice(&host[..host.len() - 1]);
                u.extend_from_slice(b"%25");
                u.extend_from_slice(z);
                u.push(b']');
            }
            _ => u.extend_from_slice(host),
        }
        let def = self.default_port();
        let port = match (self.port, def) {
            (None, Some(d)) if flags & flag::DEFAULT_PORT != 0 => Some(d),
            (Some(p), Some(d)) if p == d && flags & flag::NO_DEFAULT_PORT != 0 && flags & flag::DEFAULT_PORT == 0 => {
                None
            }
            (p, _) => p,
        };
        if let Some(p) = port {
            u.extend_from_slice(format!(":{p}").as_bytes());
        }
        match &self.path {
            Some(p) => {
                if p.first() != Some(&b'/') {
                    u.push(b'/');
                }
                u.extend_from_slice(p);
            }
            None => u.push(b'/'),
        }
        tail(&mut u);
        Ok(u)
    }
}

/// Parses an absolute URL (or, with GUESS_SCHEME / DEFAULT_SCHEME, one without a scheme).
fn parse(v: &[u8], flags: u32) -> R<UrlHandle> {
    if v.is_empty() {
        return Err(ue::MALFORMED_INPUT);
    }
    let guess = flags & (flag::GUESS_SCHEME | flag::DEFAULT_SCHEME) != 0;
    let allow_space = flags & flag::ALLOW_SPACE != 0;
    let urlencode = flags & flag::URLENCODE != 0;
    let mut u = UrlHandle::default();
    let rest: &[u8];
    match scheme_len(v, guess) {
        Some(n) => {
            let scheme = v[..n].to_ascii_lowercase();
            let after = &v[n + 1..];
            if scheme == b"file" {
                return parse_file(after, flags);
            }
            if flags & flag::NON_SUPPORT_SCHEME == 0 && known_scheme(&scheme).is_none() {
                return Err(ue::UNSUPPORTED_SCHEME);
            }
            let slashes = after.iter().take_while(|&&b| b == b'/').count();
            if !(1..=3).contains(&slashes) {
                return Err(ue::BAD_SLASHES);
            }
            let skip = if flags & flag::NO_AUTHORITY != 0 && slashes == 3 { 2 } else { slashes };
            rest = &after[skip..];
            u.scheme = Some(scheme);
        }
        None => {
            if !guess {
                return Err(ue::BAD_SCHEME);
            }
            rest = v;
        }
    }
    let end = rest.iter().position(|&b| b == b'/' || b == b'?' || b == b'#').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let hostport = match authority.iter().position(|&b| b == b'@') {
        Some(i) => {
            if flags & flag::DISALLOW_USER != 0 {
                return Err(ue::USER_NOT_ALLOWED);
            }
            parse_login(&mut u, &authority[..i], allow_space)?;
            &authority[i + 1..]
        }
        None => authority,
    };
    // libcurl's order: an empty host, then the port, then the host's own syntax
    let (host_raw, port_raw): (&[u8], Option<&[u8]>) = if hostport.first() == Some(&b'[') {
        let close = hostport.iter().position(|&b| b == b']').ok_or(ue::BAD_IPV6)?;
        let after = &hostport[close + 1..];
        match after.strip_prefix(b":") {
            Some(p) => (&hostport[..=close], Some(p)),
            None if after.is_empty() => (&hostport[..=close], None),
            None => return Err(ue::BAD_PORT_NUMBER),
        }
    } else {
        // the port starts at the first colon
        match hostport.iter().position(|&b| b == b':') {
            Some(i) => (&hostport[..i], Some(&hostport[i + 1..])),
            None => (hostport, None),
        }
    };
    if host_raw.is_empty() && !(flags & flag::NO_AUTHORITY != 0 && authority.is_empty()) {
        return Err(ue::NO_HOST);
    }
    u.port = match port_raw {
        // without a scheme there is no default port for an empty one to stand for
        Some(b"") if u.scheme.is_none() && flags & flag::DEFAULT_SCHEME == 0 => return Err(ue::BAD_PORT_NUMBER),
        Some(p) => parse_port(p)?,
        None => None,
    };
    if host_raw.first() == Some(&b'[') {
        let (h, zone) = parse_ipv6(host_raw)?;
        u.host = Some(h);
        u.zoneid = zone;
    } else {
        let h = if host_raw.contains(&b'%') {
            decode(host_raw, false).map_err(|_| ue::BAD_HOSTNAME)?
        } else {
            host_raw.to_vec()
        };
        if h.iter().any(|&b| bad_host_byte(b)) || h == b"." {
            return Err(ue::BAD_HOSTNAME);
        }
        u.host = Some(match ipv4_normalize(&h) {
            Some(ip) => ip.into_bytes(),
            None => h,
        });
    }
    if u.scheme.is_none() {
        if flags & flag::DEFAULT_SCHEME != 0 {
            u.scheme = Some(b"https".to_vec());
        } else {
            let h = u.host.as_deref().unwrap_or_default().to_ascii_lowercase();
            let s = ["ftp", "dict", "ldap", "imap", "smtp", "pop3"]
                .into_iter()
                .find(|p| h.starts_with(p.as_bytes()) && h.get(p.len()) == Some(&b'.'))
                .unwrap_or("http");
            u.scheme = Some(s.as_bytes().to_vec());
            u.guessed_scheme = true;
        }
    }
    parse_tail(&mut u, tail, flags, allow_space, urlencode)?;
    Ok(u)
}

fn parse_login(u: &mut UrlHandle, login: &[u8], allow_space: bool) -> R<()> {
    let psep = login.iter().position(|&b| b == b':');
    let osep = if has_url_options(u.scheme.as_deref().unwrap_or_default()) {
        login.iter().position(|&b| b == b';')
    } else {
        None
    };
    let (user, pass, opts): (&[u8], Option<&[u8]>, Option<&[u8]>) = match (psep, osep) {
        (Some(p), Some(o)) if o < p => (&login[..o], Some(&login[p + 1..]), Some(&login[o + 1..p])),
        (Some(p), Some(o)) => (&login[..p], Some(&login[p + 1..o]), Some(&login[o + 1..])),
        (Some(p), None) => (&login[..p], Some(&login[p + 1..]), None),
        (None, Some(o)) => (&login[..o], None, Some(&login[o + 1..])),
        (None, None) => (login, None, None),
    };
    check_bytes(user, allow_space, ue::BAD_USER)?;
    if let Some(p) = pass {
        check_bytes(p, allow_space, ue::BAD_PASSWORD)?;
    }
    if let Some(o) = opts {
        check_bytes(o, allow_space, ue::BAD_LOGIN)?;
    }
    u.user = Some(user.to_vec());
    u.password = pass.map(<[u8]>::to_vec);
    u.options = opts.map(<[u8]>::to_vec);
    Ok(())
}

/// Path, query and fragment after the authority.
fn parse_tail(u: &mut UrlHandle, tail: &[u8], flags: u32, allow_space: bool, urlencode: bool) -> R<()> {
    let (before_frag, frag) = match tail.iter().position(|&b| b == b'#') {
        Some(i) => (&tail[..i], Some(&tail[i + 1..])),
        None => (tail, None),
    };
    let (path, query) = match before_frag.iter().position(|&b| b == b'?') {
        Some(i) => (&before_frag[..i], Some(&before_frag[i + 1..])),
        None => (before_frag, None),
    };
    let fix = |v: &[u8], plus: bool, err: u32| -> R<Vec<u8>> {
        if urlencode {
            let mut out = Vec::new();
            for &b in v {
                if b == b' ' && plus {
                    out.push(b'+');
                } else if b <= 0x20 || b >= 0x7f {
                    pct(&mut out, b);
                } else {
                    out.push(b);
                }
            }
            Ok(out)
        } else {
            check_bytes(v, allow_space, err)?;
            Ok(v.to_vec())
        }
    };
    // checked from the end, as libcurl splits them off: fragment, query, path
    u.fragment = frag.map(|f| fix(f, false, ue::BAD_FRAGMENT)).transpose()?;
    u.query = query.map(|q| fix(q, true, ue::BAD_QUERY)).transpose()?;
    let mut p = fix(path, false, ue::BAD_PATH)?;
    if flags & flag::PATH_AS_IS == 0 {
        p = dedot(&p);
    }
    u.path = if p.is_empty() { None } else { Some(p) };
    Ok(())
}

fn parse_file(after: &[u8], flags: u32) -> R<UrlHandle> {
    let path_etc = if let Some(r) = after.strip_prefix(b"//") {
        let slash = r.iter().position(|&b| b == b'/').ok_or(ue::BAD_FILE_URL)?;
        let host = &r[..slash];
        if !(host.is_empty() || host.eq_ignore_ascii_case(b"localhost") || host == b"127.0.0.1") {
            return Err(ue::BAD_FILE_URL);
        }
        &r[slash..]
    } else if after.first() == Some(&b'/') {
        after
    } else {
        return Err(ue::BAD_FILE_URL);
    };
    let mut u = UrlHandle { scheme: Some(b"file".to_vec()), ..UrlHandle::default() };
    parse_tail(&mut u, path_etc, flags, flags & flag::ALLOW_SPACE != 0, flags & flag::URLENCODE != 0)?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str, flags: u32) -> R<String> {
        let mut u = UrlHandle::new();
        u.set(part::URL, Some(s.as_bytes()), flags)?;
        u.get(part::URL, 0).map(|v| String::from_utf8(v).unwrap())
    }

    fn get(u: &UrlHandle, p: i32, flags: u32) -> R<String> {
        u.get(p, flags).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(
            url("HTTP://u:p@Example.COM:8080/a/./b/../c?x#f", 0).unwrap(),
            "http://u:p@Example.COM:8080/a/c?x#f"
        );
        assert_eq!(url("http://h?q", 0).unwrap(), "http://h/?q");
        assert_eq!(url("http://127.1/", 0).unwrap(), "http://127.0.0.1/");
        assert_eq!(url("http://0x7f.1/", 0).unwrap(), "http://127.0.0.1/");
        assert_eq!(url("http://2130706433/", 0).unwrap(), "http://127.0.0.1/");
        assert_eq!(url("http://256.1.1.1/", 0).unwrap(), "http://256.1.1.1/");
        assert_eq!(url("http://[0:0:0:0:0:0:0:1]:80/", 0).unwrap(), "http://[::1]:80/");
        assert_eq!(url("http://[fe80::1%25eth0]/", 0).unwrap(), "http://[fe80::1%25eth0]/");
        assert_eq!(url("http://h:080/", 0).unwrap(), "http://h:80/");
        assert_eq!(url("http:/h/x", 0).unwrap(), "http://h/x");
        assert_eq!(url("file:/etc/x", 0).unwrap(), "file:///etc/x");
        assert_eq!(url("http://h/a/%2e%2e/b", 0).unwrap(), "http://h/b");
        assert_eq!(url("http://h/a/../b", flag::PATH_AS_IS).unwrap(), "http://h/a/../b");
        assert_eq!(url("imap://u;o:p@h/", 0).unwrap(), "imap://u:p;o@h/");
    }

    #[test]
    fn errors_have_libcurl_codes() {
        assert_eq!(url("", 0), Err(ue::MALFORMED_INPUT));
        assert_eq!(url("example.com", 0), Err(ue::BAD_SCHEME));
        assert_eq!(url("foo://h/", 0), Err(ue::UNSUPPORTED_SCHEME));
        assert_eq!(url("http://", 0), Err(ue::NO_HOST));
        assert_eq!(url("http://a b/", 0), Err(ue::BAD_HOSTNAME));
        assert_eq!(url("http://h/a b", 0), Err(ue::BAD_PATH));
        assert_eq!(url("http://h/?a b", 0), Err(ue::BAD_QUERY));
        assert_eq!(url("http://h/#a b", 0), Err(ue::BAD_FRAGMENT));
        assert_eq!(url("http://h:99999/", 0), Err(ue::BAD_PORT_NUMBER));
        assert_eq!(url("http://[zz]/", 0), Err(ue::BAD_IPV6));
        assert_eq!(url("http:////h/", 0), Err(ue::BAD_SLASHES));
        assert_eq!(url("file://other/x", 0), Err(ue::BAD_FILE_URL));
        assert_eq!(url("http://u@h/", flag::DISALLOW_USER), Err(ue::USER_NOT_ALLOWED));
        assert_eq!(url("http://u s@h/", 0), Err(ue::BAD_USER));
    }

    #[test]
    fn flags_change_parsing() {
        assert_eq!(url("example.com", flag::GUESS_SCHEME).unwrap(), "http://example.com/");
        assert_eq!(url("ftp.example.com/x", flag::GUESS_SCHEME).unwrap(), "ftp://ftp.example.com/x");
        assert_eq!(url("example.com", flag::DEFAULT_SCHEME).unwrap(), "https://example.com/");
        assert_eq!(url("foo://h/", flag::NON_SUPPORT_SCHEME).unwrap(), "foo://h/");
        assert_eq!(url("http://h/a b", flag::ALLOW_SPACE).unwrap(), "http://h/a b");
        assert_eq!(url("http://h/a b?c d#e f", flag::URLENCODE).unwrap(), "http://h/a%20b?c+d#e%20f");
        assert_eq!(url("http:///x", flag::NO_AUTHORITY).unwrap(), "http:///x");
    }

    #[test]
    fn relative_urls_resolve_against_the_handle() {
        let base = "http://u:p@h:81/a/b/c?q=1#f";
        let rel = |r: &str| {
            let mut u = UrlHandle::new();
            u.set(part::URL, Some(base.as_bytes()), 0).unwrap();
            u.set(part::URL, Some(r.as_bytes()), 0).map(|_| get(&u, part::URL, 0).unwrap())
        };
        assert_eq!(rel("d").unwrap(), "http://u:p@h:81/a/b/d");
        assert_eq!(rel("../d").unwrap(), "http://u:p@h:81/a/d");
        assert_eq!(rel("/d").unwrap(), "http://u:p@h:81/d");
        assert_eq!(rel("?z").unwrap(), "http://u:p@h:81/a/b/c?z");
        assert_eq!(rel("#g").unwrap(), "http://u:p@h:81/a/b/c?q=1#g");
        assert_eq!(rel("").unwrap(), "http://u:p@h:81/a/b/c?q=1");
        assert_eq!(rel("//o/x").unwrap(), "http://o/x");
        assert_eq!(rel("d e?b c").unwrap(), "http://u:p@h:81/a/b/d%20e?b+c");
        assert_eq!(rel("g:h"), Err(ue::UNSUPPORTED_SCHEME));
    }

    #[test]
    fn parts_set_and_get() {
        let mut u = UrlHandle::new();
        u.set(part::URL, Some(b"http://h/p?q#f"), 0).unwrap();
        assert_eq!(get(&u, part::PORT, 0), Err(ue::NO_PORT));
        assert_eq!(get(&u, part::PORT, flag::DEFAULT_PORT).unwrap(), "80");
        u.set(part::QUERY, Some(b"a=b c&d"), flag::URLENCODE).unwrap();
        assert_eq!(get(&u, part::QUERY, 0).unwrap(), "a%3Db+c%26d");
        assert_eq!(get(&u, part::QUERY, flag::URLDECODE).unwrap(), "a=b c&d");
        u.set(part::QUERY, Some(b"n=1 2"), flag::APPENDQUERY | flag::URLENCODE).unwrap();
        assert_eq!(get(&u, part::QUERY, 0).unwrap(), "a%3Db+c%26d&n=1+2");
        u.set(part::PATH, Some(b"/a?b"), flag::URLENCODE).unwrap();
        assert_eq!(get(&u, part::PATH, 0).unwrap(), "/a%3Fb");
        assert_eq!(u.set(part::HOST, Some(b"a b"), 0), Err(ue::BAD_HOSTNAME));
        assert_eq!(u.set(part::PORT, Some(b"65536"), 0), Err(ue::BAD_PORT_NUMBER));
        assert_eq!(u.set(11, Some(b"x"), 0), Err(ue::UNKNOWN_PART));
        u.set(part::PORT, Some(b"443"), 0).unwrap();
        u.set(part::SCHEME, Some(b"https"), 0).unwrap();
        assert_eq!(get(&u, part::URL, flag::NO_DEFAULT_PORT).unwrap(), "https://h/a%3Fb?a%3Db+c%26d&n=1+2#f");
        u.set(part::FRAGMENT, Some(b""), 0).unwrap();
        assert_eq!(get(&u, part::URL, 0).unwrap(), "https://h:443/a%3Fb?a%3Db+c%26d&n=1+2#");
        assert_eq!(get(&UrlHandle::new(), part::URL, 0), Err(ue::NO_SCHEME));
        assert_eq!(get(&UrlHandle::new(), part::PATH, 0).unwrap(), "/");
        let mut d = UrlHandle::new();
        d.set(part::URL, Some(b"http://h/%00"), 0).unwrap();
        assert_eq!(get(&d, part::PATH, flag::URLDECODE), Err(ue::URLDECODE));
    }

    #[test]
    fn checks_run_in_libcurls_order() {
        assert_eq!(url("http://h/a b?a b#f g", 0), Err(ue::BAD_FRAGMENT));
        assert_eq!(url("http://h/a b?a b", 0), Err(ue::BAD_QUERY));
        assert_eq!(url("http://u:@:65536/", 0), Err(ue::NO_HOST));
        assert_eq!(url("http://[1::2::3]:x/", 0), Err(ue::BAD_PORT_NUMBER));
        assert_eq!(url("http:h%41:443/", flag::GUESS_SCHEME), Err(ue::BAD_PORT_NUMBER));
        assert_eq!(url("u:p@1.2.3.4:/", flag::GUESS_SCHEME), Err(ue::BAD_PORT_NUMBER));
        assert_eq!(url("u:p@1.2.3.4:/", flag::DEFAULT_SCHEME).unwrap(), "https://u:p@1.2.3.4/");
        let mut u = UrlHandle::new();
        u.set(part::URL, Some(b"http://h/a b?c#f"), flag::ALLOW_SPACE).unwrap();
        u.set(part::URL, Some(b""), 0).unwrap();
        assert_eq!(get(&u, part::URL, 0).unwrap(), "http://h/a b?c");
        assert_eq!(u.set(part::URL, Some(b"#g"), 0), Err(ue::BAD_PATH));
    }
}
