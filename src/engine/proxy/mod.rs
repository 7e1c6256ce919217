//! Proxies: which proxy a URL goes through (PROXY, PROXYTYPE, PROXYPORT, the environment as libcurl
//! reads it, NOPROXY), its credentials, and the CONNECT request of an HTTP tunnel. The connection
//! chain itself is built in `transfer::tunnel` on top of the socket to the proxy.

pub mod noproxy;
pub mod socks;

pub use socks::Socks;

use base64::Engine as _;

use crate::engine::error::{code, Error, Result};

/// PROXYTYPE values (CURLPROXY_*).
pub mod kind {
    pub const HTTP: i64 = 0;
    pub const HTTP_1_0: i64 = 1;
    pub const HTTPS: i64 = 2;
    pub const SOCKS4: i64 = 4;
    pub const SOCKS5: i64 = 5;
    pub const SOCKS4A: i64 = 6;
    pub const SOCKS5_HOSTNAME: i64 = 7;
}

/// The proxy options as set on a handle.
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq)]
pub struct ProxyOptions {
    /// PROXY; None reads the environment, "" means no proxy.
    pub proxy: Option<String>,
    pub port: u16,
    pub kind: i64,
    pub tunnel: bool,
    pub userpwd: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub noproxy: Option<String>,
    pub headers: Vec<String>,
    /// HEADEROPT CURLHEADER_UNIFIED: HTTPHEADER goes to the proxy too, PROXYHEADER is unused.
    pub unified_headers: bool,
    pub suppress_connect_headers: bool,
    /// PROXYAUTH; None is libcurl's default, Basic.
    pub auth: Option<u64>,
    /// The PROXY_* TLS options, for an HTTPS proxy.
    pub tls: crate::engine::tls::TlsOptions,
    /// HAPROXYPROTOCOL, and HAPROXY_CLIENT_IP (which switches it on by itself, as in libcurl).
    pub haproxy: bool,
    pub haproxy_client_ip: Option<String>,
}

/// The proxy one transfer goes through.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// HTTP/1.0 to the proxy (PROXYTYPE HTTP_1_0).
    pub http10: bool,
    pub credentials: Option<(String, String)>,
    /// A CONNECT tunnel (https://, or HTTPPROXYTUNNEL) rather than absolute-form requests.
    pub tunnel: bool,
    /// A SOCKS proxy (then neither of the above applies).
    pub socks: Option<Socks>,
    /// TLS to the proxy (https://): a hash of the PROXY_* TLS options, for the pool key.
    pub https: Option<u64>,
}

impl Proxy {
    /// An HTTP proxy taking absolute-form requests (no tunnel).
    pub fn forwards_http(&self) -> bool {
        self.socks.is_none() && !self.tunnel
    }

    /// Host as it goes into a URL or an error message (IPv6 in brackets).
    pub fn host_display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// The Proxy-Authorization value sent up front (Basic, when PROXYAUTH allows it).
    pub fn basic_auth(&self, auth: Option<u64>) -> Option<String> {
        let (u, p) = self.credentials.as_ref()?;
        if auth.unwrap_or(crate::engine::easy::AUTH_BASIC) & crate::engine::easy::AUTH_BASIC == 0 {
            return None;
        }
        Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))))
    }
}

/// libcurl's choice of environment variable for a scheme: `http_proxy` only in lower case (the
/// upper-case one can be set by a CGI request header), others either case, then all_proxy.
pub fn from_env(scheme: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let lower = format!("{}_proxy", scheme.to_ascii_lowercase());
    env(&lower)
        .or_else(|| if lower == "http_proxy" { None } else { env(&lower.to_ascii_uppercase()) })
        .or_else(|| env("all_proxy"))
        .or_else(|| env("ALL_PROXY"))
}

/// The process environment as libcurl's getenv sees it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Which proxy a request to `scheme://host` uses, if any.
pub fn for_url(
    o: &ProxyOptions,
    scheme: &str,
    host: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>> {
    let noproxy = o.noproxy.clone().or_else(|| env("no_proxy")).or_else(|| env("NO_PROXY"));
    if noproxy.as_deref().is_some_and(|l| noproxy::matches(host, l)) {
        return Ok(None);
    }
    let spec = match &o.proxy {
        Some(p) => p.clone(),
        None => match from_env(scheme, env) {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    if spec.is_empty() {
        return Ok(None);
    }
    let mut p = parse(&spec, o)?;
    let (user, pass) = (o.username.clone(), o.password.clone());
    let from_userpwd = o.userpwd.as_ref().map(|s| match s.split_once(':') {
        Some((u, p)) => (u.to_string(), p.to_string()),
        None => (s.clone(), String::new()),
    });
    if p.credentials.is_none() {
        p.credentials = match (user, pass, from_userpwd) {
            (Some(u), pw, _) => Some((u, pw.unwrap_or_default())),
            (None, Some(pw), Some((u, _))) => Some((u, pw)),
            (None, Some(pw), None) => Some((String::new(), pw)),
            (None, None, up) => up,
        };
    }
    p.tunnel = p.socks.is_none() && (o.tunnel || scheme == "https");
    Ok(Some(p))
}

fn not_built(what: &str) -> Error {
    Error::new(code::NOT_BUILT_IN, format!("{what} proxies are not built in pycurl-rs yet"))
}

/// Parses "[scheme://][user[:password]@]host[:port][/]" with PROXYTYPE and PROXYPORT as defaults.
pub fn parse(spec: &str, o: &ProxyOptions) -> Result<Proxy> {
    let (scheme, rest) = match spec.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, spec),
    };
    let https = scheme.as_deref() == Some("https") || (scheme.is_none() && o.kind == kind::HTTPS);
    let (http10, socks) = match scheme.as_deref() {
        Some("http") => (false, None),
        None => match o.kind {
            kind::HTTP => (false, None),
            kind::HTTP_1_0 => (true, None),
            kind::SOCKS4 => (false, Some(Socks::V4)),
            kind::SOCKS4A => (false, Some(Socks::V4a)),
            kind::SOCKS5 => (false, Some(Socks::V5)),
            kind::SOCKS5_HOSTNAME => (false, Some(Socks::V5h)),
            kind::HTTPS => (false, None),
            _ => return Err(not_built("HTTP/2 over HTTPS")),
        },
        Some("https") => (false, None),
        Some("socks4") => (false, Some(Socks::V4)),
        Some("socks4a") => (false, Some(Socks::V4a)),
        Some("socks5") => (false, Some(Socks::V5)),
        Some("socks5h") => (false, Some(Socks::V5h)),
        Some(_) => {
            return Err(Error::new(code::COULDNT_CONNECT, format!("Unsupported proxy scheme for '{spec}'")));
        }
    };
    let rest = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (creds, hostport) = match rest.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, rest),
    };
    let credentials = creds.map(|c| {
        let (u, p) = c.split_once(':').unwrap_or((c, ""));
        (crate::engine::url::percent_decode(u), crate::engine::url::percent_decode(p))
    });
    let bad = || Error::new(code::COULDNT_RESOLVE_PROXY, format!("Unsupported proxy syntax in '{spec}'"));
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(bad)?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => p.parse::<u16>().map_err(|_| bad())?,
        None if o.port != 0 => o.port,
        None if https => 443,
        None => 1080,
    };
    let https = https.then(|| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        o.tls.hash(&mut h);
        h.finish()
    });
    Ok(Proxy { host: host.to_ascii_lowercase(), port, http10, credentials, tunnel: false, socks, https })
}

/// The CONNECT request for a tunnel to `host:port`, as libcurl writes it.
pub fn connect_request(
    p: &Proxy,
    o: &ProxyOptions,
    host: &str,
    port: u16,
    user_agent: Option<&str>,
    server_headers: &[String],
) -> Vec<u8> {
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let custom: &[String] = if o.unified_headers { server_headers } else { &o.headers };
    let has = |name: &str| {
        custom.iter().any(|h| {
            h.len() > name.len() && h[..name.len()].eq_ignore_ascii_case(name) && h[name.len()..].starts_with(':')
        })
    };
    let mut out = format!("CONNECT {authority} HTTP/{}\r\n", if p.http10 { "1.0" } else { "1.1" });
    if !has("Host") {
        out.push_str(&format!("Host: {authority}\r\n"));
    }
    if let Some(a) = p.basic_auth(o.auth) {
        out.push_str(&format!("Proxy-Authorization: {a}\r\n"));
    }
    if let Some(ua) = user_agent.filter(|u| !u.is_empty() && !has("User-Agent")) {
        out.push_str(&format!("User-Agent: {ua}\r\n"));
    }
    if !has("Proxy-Connection") {
        out.push_str("Proxy-Connection: Keep-Alive\r\n");
    }
    for h in custom {
        // "Name:" alone removes an internal header; "Name;" sends it empty, as for HTTPHEADER.
        if let Some(n) = h.strip_suffix(';') {
            if !n.contains(':') {
                out.push_str(&format!("{n}:\r\n"));
            }
            continue;
        }
        match h.split_once(':') {
            Some((_, v)) if v.trim().is_empty() => {}
            Some(_) => {
                out.push_str(h);
                out.push_str("\r\n");
            }
            None => {}
        }
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The PROXY protocol v1 line for a connection from `local` to `peer`. libcurl puts a
/// HAPROXY_CLIENT_IP in both address fields.
pub fn haproxy_line(local: std::net::SocketAddr, peer: std::net::SocketAddr, client_ip: Option<&str>) -> String {
    let (src, dst) = match client_ip {
        Some(ip) => (ip.to_string(), ip.to_string()),
        None => (local.ip().to_string(), peer.ip().to_string()),
    };
    let family = if src.contains(':') { "TCP6" } else { "TCP4" };
    format!("PROXY {family} {src} {dst} {} {}\r\n", local.port(), peer.port())
}

/// The auth schemes a 407's Proxy-Authenticate headers offer, as a CURLAUTH mask.
pub fn offered(challenges: &[&str]) -> i64 {
    let mut m = 0;
    for c in challenges {
        let name = c.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        m |= match name.as_str() {
            "basic" => 1,
            "digest" => 2,
            "negotiate" => 4,
            "ntlm" => 8,
            _ => 0,
        };
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())
    }

    #[test]
    fn environment_as_libcurl_reads_it() {
        let e = env_of(&[("HTTP_PROXY", "a:1"), ("HTTPS_PROXY", "b:2"), ("ALL_PROXY", "c:3")]);
        assert_eq!(from_env("http", &e).as_deref(), Some("c:3"), "upper-case HTTP_PROXY is ignored");
        assert_eq!(from_env("https", &e).as_deref(), Some("b:2"));
        let e = env_of(&[("http_proxy", "a:1"), ("https_proxy", "b:2"), ("HTTPS_PROXY", "x:9")]);
        assert_eq!(from_env("http", &e).as_deref(), Some("a:1"));
        assert_eq!(from_env("https", &e).as_deref(), Some("b:2"), "lower case first");
    }

    #[test]
    fn options_win_and_empty_turns_off() {
        let e = env_of(&[("http_proxy", "envproxy:1")]);
        let mut o = ProxyOptions::default();
        assert_eq!(for_url(&o, "http", "h", &e).unwrap().unwrap().host, "envproxy");
        o.proxy = Some(String::new());
        assert!(for_url(&o, "http", "h", &e).unwrap().is_none());
        o.proxy = Some("u%40:p@Proxy:8".into());
        o.userpwd = Some("x:y".into());
        let p = for_url(&o, "https", "h", &e).unwrap().unwrap();
        assert_eq!((p.host.as_str(), p.port, p.tunnel), ("proxy", 8, true));
        assert_eq!(p.credentials, Some(("u@".into(), "p".into())), "credentials in the URL win");
        o.noproxy = Some("h".into());
        assert!(for_url(&o, "http", "h", &e).unwrap().is_none());
    }

    #[test]
    fn ports_and_schemes() {
        let mut o = ProxyOptions::default();
        assert_eq!(parse("p", &o).unwrap().port, 1080);
        o.port = 3128;
        assert_eq!(parse("http://p/", &o).unwrap().port, 3128);
        assert_eq!(parse("[::1]:5", &o).unwrap().host, "::1");
        assert_eq!(parse("socks5h://p", &o).unwrap().socks, Some(Socks::V5h));
        assert!(parse("https://p", &o).unwrap().https.is_some());
        o.port = 0;
        assert_eq!(parse("https://p", &o).unwrap().port, 443);
        assert_eq!(parse("foo://p", &o).unwrap_err().code, code::COULDNT_CONNECT);
    }
}
