//! URL parsing the way libcurl's URL API treats transfer URLs: scheme guessing, userinfo, IPv6
//! literals, port checks, relative redirect resolution, and the normalised text libcurl reports as
//! EFFECTIVE_URL.

use super::error::{code, Error};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub scheme: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Host as written, lower-cased; IPv6 without brackets.
    pub host: String,
    pub port: Option<u16>,
    /// Path plus query ("/a?b"); always starts with '/' for http(s).
    pub path: String,
}

/// A port's decimal digits, without `format!`'s machinery.
fn push_port(s: &mut String, p: u16) {
    let digits = [p / 10000, p / 1000 % 10, p / 100 % 10, p / 10 % 10, p % 10];
    let lead = digits.iter().take(4).take_while(|d| **d == 0).count();
    s.extend(digits[lead..].iter().map(|d| char::from(b'0' + *d as u8)));
}

fn rejected(msg: &str) -> Error {
    Error::new(code::URL_MALFORMAT, format!("URL rejected: {msg}"))
}

impl Url {
    pub fn default_port(&self) -> u16 {
        match self.scheme.as_str() {
            "https" | "wss" => 443,
            "http" | "ws" => 80,
            "ftp" => 21,
            "ftps" => 990,
            "tftp" => 69,
            "sftp" | "scp" => 22,
            "dict" => 2628,
            "gopher" | "gophers" => 70,
            "smtp" => 25,
            "smtps" => 465,
            "pop3" => 110,
            "pop3s" => 995,
            "imap" => 143,
            "imaps" => 993,
            "telnet" => 23,
            "mqtt" => 1883,
            "mqtts" => 8883,
            "rtsp" => 554,
            _ => 0,
        }
    }

    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or_else(|| self.default_port())
    }

    pub fn is_ipv6(&self) -> bool {
        self.host.contains(':')
    }

    /// The host as it stands in a URL or Host header: an IPv6 address in brackets.
    fn push_host(&self, s: &mut String) {
        if self.is_ipv6() {
            s.push('[');
            s.push_str(&self.host);
            s.push(']');
        } else {
            s.push_str(&self.host);
        }
    }

    /// host[:port] as used in the Host header (port omitted when it is the scheme's default).
    pub fn host_header(&self) -> String {
        // Built by hand, as `to_effective`: every request writes one.
        let mut s = String::with_capacity(self.host.len() + 8);
        self.push_host(&mut s);
        if let Some(p) = self.port.filter(|p| *p != self.default_port()) {
            s.push(':');
            push_port(&mut s, p);
        }
        s
    }

    /// The URL as libcurl reports it: lower-case scheme, no credentials, no fragment.
    pub fn to_effective(&self) -> String {
        if self.scheme == "file" {
            return format!("file://{}", self.path);
        }
        // Built by hand: this runs once per request, and format! cost more than the copying.
        let mut s = String::with_capacity(self.scheme.len() + self.host.len() + self.path.len() + 11);
        s.push_str(&self.scheme);
        s.push_str("://");
        self.push_host(&mut s);
        if let Some(p) = self.port {
            s.push(':');
            push_port(&mut s, p);
        }
        s.push_str(&self.path);
        s
    }

    pub fn parse(input: &str, default_scheme: Option<&str>) -> Result<Url, Error> {
        Url::parse_with(input, default_scheme, false)
    }

    /// `path_as_is` keeps "." and ".." segments (PATH_AS_IS).
    pub fn parse_with(input: &str, default_scheme: Option<&str>, path_as_is: bool) -> Result<Url, Error> {
        if input.is_empty() {
            return Err(rejected("Malformed input to a URL function"));
        }
        if input.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(rejected("Malformed input to a URL function"));
        }
        let (scheme, rest) = match input.find("://") {
            Some(i)
                if i > 0
                    && input[..i].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.') =>
            {
                (input[..i].to_ascii_lowercase(), &input[i + 3..])
            }
            _ => {
                if let Some(rest) = input.strip_prefix("file:") {
                    return Ok(Url {
                        scheme: "file".into(),
                        user: None,
                        password: None,
                        host: String::new(),
                        port: None,
                        path: rest.to_string(),
                    });
                }
                (default_scheme.unwrap_or("http").to_string(), input)
            }
        };
        if scheme == "file" {
            // file://[host]/path; only an empty host or localhost is accepted.
            let (host, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            if !(host.is_empty() || host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1") {
                return Err(rejected("Bad file:// URL"));
            }
            let path = path.split(['?', '#']).next().unwrap_or("").to_string();
            return Ok(Url { scheme, user: None, password: None, host: String::new(), port: None, path });
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let tail = tail.split('#').next().unwrap_or("");
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(ui) => match ui.find(':') {
                Some(i) => (Some(ui[..i].to_string()), Some(ui[i + 1..].to_string())),
                None => (Some(ui.to_string()), None),
            },
            None => (None, None),
        };
        let (host, port_str) = if let Some(h) = hostport.strip_prefix('[') {
            let close = h.find(']').ok_or_else(|| rejected("Bad IPv6 address"))?;
            let addr = &h[..close];
            let a = addr.split('%').next().unwrap_or("");
            if a.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(rejected("Bad IPv6 address"));
            }
            let after = &h[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                // libcurl reads anything after the bracket as a (bad) port.
                None => return Err(rejected("Port number was not a decimal number between 0 and 65535")),
            };
            (addr.to_ascii_lowercase(), port)
        } else {
            // As libcurl: the host ends at the first ':' (another one makes the port invalid),
            // and a percent-encoded host is decoded before it is checked.
            let (h, p) = match hostport.find(':') {
                Some(i) => (&hostport[..i], Some(&hostport[i + 1..])),
                None => (hostport, None),
            };
            let h = if h.contains('%') { percent_decode(h) } else { h.to_string() };
            (h.to_ascii_lowercase(), p)
        };
        // Checked after the port, as libcurl does (it names a bad port first).
        let bad_host = !hostport.starts_with('[')
            && host.bytes().any(|b| b" !\"#$%&'()*+,/:;<=>?@[\\]^`{|}".contains(&b) || b < 0x20 || b == 0x7f);
        if host.is_empty() {
            return Err(rejected("No host present"));
        }
        let port = match port_str {
            None | Some("") => None,
            Some(p) => {
                if !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 5 {
                    return Err(rejected("Port number was not a decimal number between 0 and 65535"));
                }
                let n: u32 =
                    p.parse().map_err(|_| rejected("Port number was not a decimal number between 0 and 65535"))?;
                if n > 65535 {
                    return Err(rejected("Port number was not a decimal number between 0 and 65535"));
                }
                Some(n as u16)
            }
        };
        if bad_host {
            return Err(rejected("Bad hostname"));
        }
        let mut path = if tail.starts_with('/') { tail.to_string() } else { format!("/{tail}") };
        if !path_as_is {
            path = normalize_path(&path);
        }
        if path.contains(' ') {
            return Err(rejected("Bad path"));
        }
        Ok(Url { scheme, user, password, host, port, path })
    }

    /// Resolves a Location header value against this URL.
    pub fn join(&self, location: &str) -> Result<Url, Error> {
        let encoded = encode_location(location.trim());
        let loc = encoded.as_str();
        // An RFC 3986 scheme before a ':' makes the reference absolute, "javascript:" included.
        if let Some(i) = loc.find(':') {
            let scheme = &loc[..i];
            let is_scheme = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.');
            let known = |s: &str| {
                ["http", "https", "file", "ws", "wss"].contains(&s) || LIBCURL_SCHEMES.iter().any(|(n, _)| *n == s)
            };
            if is_scheme && !known(&scheme.to_ascii_lowercase()) {
                return Err(Error::new(
                    code::UNSUPPORTED_PROTOCOL,
                    "The redirect target URL could not be parsed: Unsupported URL scheme",
                ));
            }
        }
        if let Some(i) = loc.find("://") {
            if i > 0 && loc[..i].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.') {
                return Url::parse(loc, None);
            }
        }
        if let Some(rest) = loc.strip_prefix("//") {
            return Url::parse(&format!("{}://{}", self.scheme, rest), None);
        }
        let mut u = self.clone();
        u.user = None;
        u.password = None;
        let loc = loc.split('#').next().unwrap_or("");
        if loc.starts_with('/') {
            u.path = normalize_path(loc);
        } else if loc.starts_with('?') {
            let base = self.path.split('?').next().unwrap_or("/");
            u.path = format!("{base}{loc}");
        } else if loc.is_empty() {
            u.path = self.path.clone();
        } else {
            let base = self.path.split('?').next().unwrap_or("/");
            let dir = match base.rfind('/') {
                Some(i) => &base[..=i],
                None => "/",
            };
            u.path = normalize_path(&format!("{dir}{loc}"));
        }
        if u.path.contains(' ') {
            u.path = u.path.replace(' ', "%20");
        }
        Ok(u)
    }
}

/// The schemes libcurl knows besides those built here, with their CURLPROTO_* bits: a redirect to
/// one of them names the protocol in its error instead of failing to parse.
pub const LIBCURL_SCHEMES: [(&str, u64); 22] = [
    ("ftp", 1 << 2),
    ("ftps", 1 << 3),
    ("scp", 1 << 4),
    ("sftp", 1 << 5),
    ("telnet", 1 << 6),
    ("ldap", 1 << 7),
    ("ldaps", 1 << 8),
    ("dict", 1 << 9),
    ("tftp", 1 << 11),
    ("imap", 1 << 12),
    ("imaps", 1 << 13),
    ("pop3", 1 << 14),
    ("pop3s", 1 << 15),
    ("smtp", 1 << 16),
    ("smtps", 1 << 17),
    ("rtsp", 1 << 18),
    ("rtmp", 1 << 19),
    ("gopher", 1 << 25),
    ("smb", 1 << 26),
    ("smbs", 1 << 27),
    ("mqtt", 1 << 28),
    ("gophers", 1 << 29),
];

/// A Location as libcurl follows it: bytes beyond ASCII percent-encoded, a space as %20 before
/// the query and as '+' in it.
fn encode_location(loc: &str) -> String {
    let mut out = String::with_capacity(loc.len());
    let mut in_query = false;
    for c in loc.chars() {
        match c {
            '?' => {
                in_query = true;
                out.push(c);
            }
            ' ' if in_query => out.push('+'),
            ' ' => out.push_str("%20"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// Removes "." and ".." segments from the path part (the query is left alone).
fn normalize_path(p: &str) -> String {
    let (path, query) = match p.find('?') {
        Some(i) => (&p[..i], &p[i..]),
        None => (p, ""),
    };
    if !path.split('/').any(|s| s == "." || s == "..") {
        return p.to_string();
    }
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let n = segs.len();
    for (i, s) in segs.into_iter().enumerate() {
        match s {
            "." => {
                if i == n - 1 {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if i == n - 1 {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}{}", out.join("/"), query)
}

pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = ((b[i + 1] as char).to_digit(16), (b[i + 2] as char).to_digit(16)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_libcurl() {
        let u = Url::parse("HTTP://u:p@Example.com:8080/a/./b/../c?x=1#frag", None).unwrap();
        assert_eq!(u.scheme, "http");
        assert_eq!(u.user.as_deref(), Some("u"));
        assert_eq!(u.host, "example.com");
        assert_eq!(u.port, Some(8080));
        assert_eq!(u.path, "/a/c?x=1");
        assert_eq!(u.to_effective(), "http://example.com:8080/a/c?x=1");
        assert_eq!(Url::parse("127.0.0.1:1/x", None).unwrap().to_effective(), "http://127.0.0.1:1/x");
        for (port, text) in [(0u16, "0"), (7, "7"), (80, "80"), (443, "443"), (8080, "8080"), (65535, "65535")] {
            let u = Url { port: Some(port), ..Url::parse("http://[::1]/p", None).unwrap() };
            assert_eq!(u.to_effective(), format!("http://[::1]:{text}/p"));
        }
        assert_eq!(Url::parse("http://h", None).unwrap().path, "/");
        assert_eq!(Url::parse("http://[::1]:80/", None).unwrap().host, "::1");
    }

    #[test]
    fn rejects_with_libcurl_messages() {
        let m = |s: &str| Url::parse(s, None).unwrap_err().msg;
        assert_eq!(m("http://"), "URL rejected: No host present");
        assert_eq!(m("http://a b/"), "URL rejected: Bad hostname");
        assert_eq!(m("http://h:99999/"), "URL rejected: Port number was not a decimal number between 0 and 65535");
        assert_eq!(m("http://[::1/"), "URL rejected: Bad IPv6 address");
        assert_eq!(m(""), "URL rejected: Malformed input to a URL function");
        // Found by fuzz/fuzz_targets/url.rs: these once parsed into URLs that rendered unparseable.
        let port = "URL rejected: Port number was not a decimal number between 0 and 65535";
        assert_eq!(m("http://ht]]::1]:80/"), port);
        assert_eq!(m("http://[::1]x/"), port);
        for bad in ["http://a[b/", "http://a%b/", "http://a%20b/", "http://a%2fb/", "http://a(b)/", "http://a;b/"] {
            assert_eq!(m(bad), "URL rejected: Bad hostname", "{bad}");
        }
        assert_eq!(Url::parse("http://a%41b:1/", None).unwrap().host, "aab");
    }

    #[test]
    fn joins_redirects() {
        let b = Url::parse("http://h:1/a/b?q", None).unwrap();
        assert_eq!(b.join("c").unwrap().to_effective(), "http://h:1/a/c");
        assert_eq!(b.join("/x").unwrap().to_effective(), "http://h:1/x");
        assert_eq!(b.join("../y").unwrap().to_effective(), "http://h:1/y");
        assert_eq!(b.join("//o:2/z").unwrap().to_effective(), "http://o:2/z");
        assert_eq!(b.join("https://s/").unwrap().to_effective(), "https://s/");
        assert_eq!(b.join("?n").unwrap().to_effective(), "http://h:1/a/b?n");
        // As libcurl 8 follows them (checked with real pycurl).
        assert_eq!(b.join("/caf\u{e9} x?a b").unwrap().to_effective(), "http://h:1/caf%C3%A9%20x?a+b");
        for odd in ["javascript:alert(1)", "JavaScript:x", "mailto:a@b", "data:text/plain,hi"] {
            let e = b.join(odd).unwrap_err();
            assert_eq!(e.msg, "The redirect target URL could not be parsed: Unsupported URL scheme");
        }
        assert_eq!(b.join("gopher://g/").unwrap().scheme, "gopher");
    }
}
