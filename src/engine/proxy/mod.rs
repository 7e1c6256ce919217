//! Proxies: which proxy a URL goes through (PROXY, PROXYTYPE, PROXYPORT, the environment as libcurl
//! reads it, NOPROXY, a SOCKS PRE_PROXY in front of an HTTP proxy), its credentials and how they
//! answer a 407 (PROXYAUTH), and the CONNECT request of an HTTP tunnel. The connection chain itself
//! is built in `transfer::tunnel` on top of the socket to the first hop.

pub mod noproxy;
pub mod socks;

pub use socks::Socks;

use crate::engine::auth;
use crate::engine::error::{code, Error, Result};

/// PROXYTYPE values (CURLPROXY_*).
pub mod kind {
    pub const HTTP: i64 = 0;
    pub const HTTP_1_0: i64 = 1;
    pub const HTTPS: i64 = 2;
    /// HTTP/2 to an HTTPS proxy where ALPN agrees; ours offers only HTTP/1.1, libcurl's fallback.
    pub const HTTPS2: i64 = 3;
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
    /// PRE_PROXY: a SOCKS proxy in front of the HTTP(S) proxy (alone, it is the proxy).
    pub pre_proxy: Option<String>,
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
    /// The PROXY_* TLS options, for an HTTPS proxy (allocated once one is set).
    pub tls: crate::engine::rare::Rare<crate::engine::tls::TlsOptions>,
    /// HAPROXYPROTOCOL, and HAPROXY_CLIENT_IP (which switches it on by itself, as in libcurl).
    pub haproxy: bool,
    pub haproxy_client_ip: Option<String>,
}

crate::rare_defaults!(
    ProxyOptions = ProxyOptions {
        proxy: None,
        pre_proxy: None,
        port: 0,
        kind: 0,
        tunnel: false,
        userpwd: None,
        username: None,
        password: None,
        noproxy: None,
        headers: Vec::new(),
        unified_headers: false,
        suppress_connect_headers: false,
        auth: None,
        tls: crate::engine::rare::Rare::UNSET,
        haproxy: false,
        haproxy_client_ip: None,
    }
);

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
    /// TLS to the proxy (https://): the PROXY_* TLS options' fingerprint, for the pool key.
    pub https: Option<u64>,
    /// The SOCKS hop in front of this HTTP(S) proxy (PRE_PROXY); boxed, as a proxy is part of
    /// every pool key a transfer's future holds.
    pub pre: Option<Box<PreProxy>>,
}

/// A SOCKS proxy the connection to the HTTP proxy goes through (PRE_PROXY).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct PreProxy {
    pub socks: Socks,
    pub host: String,
    pub port: u16,
    /// Only from the PRE_PROXY URL: PROXYUSERPWD belongs to the HTTP proxy, as in libcurl.
    pub credentials: Option<(String, String)>,
}

impl Proxy {
    /// An HTTP proxy taking absolute-form requests (no tunnel).
    pub fn forwards_http(&self) -> bool {
        self.socks.is_none() && !self.tunnel
    }

    /// The first hop's host as it goes into an error message (IPv6 in brackets).
    pub fn first_hop_display(&self) -> String {
        let host = self.first_hop().0;
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        }
    }

    /// Where the TCP connection goes: the pre-proxy when there is one, else this proxy.
    pub fn first_hop(&self) -> (&str, u16) {
        match &self.pre {
            Some(pre) => (&pre.host, pre.port),
            None => (&self.host, self.port),
        }
    }

    /// The Proxy-Authorization value sent before any challenge: Basic when PROXYAUTH is Basic alone
    /// (the default); with more schemes allowed libcurl waits for the 407 to pick one.
    pub fn upfront_auth(&self, auth: Option<u64>) -> Option<String> {
        let (u, p) = self.credentials.as_ref()?;
        (auth::normalize(auth.unwrap_or(auth::BASIC)) == auth::BASIC).then(|| auth::basic(u, p))
    }

    /// The Proxy-Authorization answering a 407's challenges for `method uri`, if PROXYAUTH allows
    /// one of them and credentials are set. Basic already sent up front is not sent again.
    /// A Digest answer is kept in `kept` for the next requests through this proxy.
    pub fn answer_407(
        &self,
        auth: Option<u64>,
        challenges: &[&str],
        method: &str,
        uri: &str,
        kept: &mut Option<auth::KeptDigest>,
    ) -> Option<String> {
        let (u, p) = self.credentials.as_ref()?;
        if self.upfront_auth(auth).is_some() {
            return None;
        }
        let want = auth.unwrap_or(auth::BASIC);
        let a = auth::answer(challenges, want, u, p, method, uri)?;
        if let Some(ch) = auth::digest_challenge(challenges, want) {
            auth::KeptDigest::keep(kept, auth::digest_key(&self.host, self.port, u, p), ch);
        }
        Some(a)
    }

    /// The Proxy-Authorization from the Digest challenge this proxy sent an earlier request of
    /// the handle, when PROXYAUTH allows Digest and the credentials are the same.
    pub fn kept_answer(
        &self,
        auth: Option<u64>,
        method: &str,
        uri: &str,
        kept: &mut Option<auth::KeptDigest>,
    ) -> Option<String> {
        let (u, p) = self.credentials.as_ref()?;
        if auth::normalize(auth.unwrap_or(auth::BASIC)) & auth::DIGEST == 0 {
            return None;
        }
        auth::KeptDigest::answer(kept, &auth::digest_key(&self.host, self.port, u, p), u, p, method, uri)
    }
}

/// libcurl's choice of environment variable for a scheme: `http_proxy` only in lower case (the
/// upper-case one can be set by a CGI request header), others either case, then all_proxy.
/// `env` answers the first of the names it is given that is set.
pub fn from_env(scheme: &str, env: &dyn Fn(&[&str]) -> Option<String>) -> Option<String> {
    // The names nearly every request asks for are not built each time.
    match scheme {
        "http" => env(&["http_proxy", "all_proxy", "ALL_PROXY"]),
        "https" => env(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
        s => {
            let lower = format!("{}_proxy", s.to_ascii_lowercase());
            env(&[&lower, &lower.to_ascii_uppercase(), "all_proxy", "ALL_PROXY"])
        }
    }
}

/// The process environment as libcurl's getenv sees it (a value that is not UTF-8 reads as unset):
/// the value of the first of `names` that is set.
pub fn process_env(names: &[&str]) -> Option<String> {
    #[cfg(unix)]
    return crate::engine::sys::getenv_first(names, &|v| std::str::from_utf8(v).is_ok())
        .and_then(|v| String::from_utf8(v).ok());
    #[cfg(not(unix))]
    return names.iter().find_map(|n| std::env::var(n).ok());
}

/// Which proxy a request to `scheme://host` uses, if any.
pub fn for_url(
    o: &ProxyOptions,
    scheme: &str,
    host: &str,
    env: &dyn Fn(&[&str]) -> Option<String>,
) -> Result<Option<Proxy>> {
    let spec = match &o.proxy {
        Some(p) => p.clone(),
        None => from_env(scheme, env).unwrap_or_default(),
    };
    // No proxy at all: NOPROXY has nothing to exempt (and no_proxy need not be read).
    if spec.is_empty() && o.pre_proxy.as_deref().is_none_or(str::is_empty) {
        return Ok(None);
    }
    let noproxy = o.noproxy.clone().or_else(|| env(&["no_proxy", "NO_PROXY"]));
    if noproxy.as_deref().is_some_and(|l| noproxy::matches(host, l)) {
        return Ok(None);
    }
    let pre = match o.pre_proxy.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(Box::new(parse_pre(s, o)?)),
        None => None,
    };
    if spec.is_empty() {
        // A pre-proxy alone is the proxy, with PROXYUSERPWD as its credentials.
        let Some(pre) = pre.map(|b| *b) else { return Ok(None) };
        let mut p = Proxy {
            host: pre.host,
            port: pre.port,
            http10: false,
            credentials: pre.credentials,
            tunnel: false,
            socks: Some(pre.socks),
            https: None,
            pre: None,
        };
        if p.credentials.is_none() {
            p.credentials = option_credentials(o);
        }
        return Ok(Some(p));
    }
    let mut p = parse(&spec, o)?;
    if pre.is_some() && p.socks.is_some() {
        return Err(Error::new(
            code::COULDNT_RESOLVE_PROXY,
            format!("Having a SOCKS pre-proxy and proxy is not supported with '{spec}'"),
        ));
    }
    p.pre = pre;
    if p.credentials.is_none() {
        p.credentials = option_credentials(o);
    }
    p.tunnel = p.socks.is_none() && (o.tunnel || scheme == "https");
    Ok(Some(p))
}

/// PROXYUSERNAME / PROXYPASSWORD, else PROXYUSERPWD.
fn option_credentials(o: &ProxyOptions) -> Option<(String, String)> {
    let from_userpwd = o.userpwd.as_ref().map(|s| match s.split_once(':') {
        Some((u, p)) => (u.to_string(), p.to_string()),
        None => (s.clone(), String::new()),
    });
    match (o.username.clone(), o.password.clone(), from_userpwd) {
        (Some(u), pw, _) => Some((u, pw.unwrap_or_default())),
        (None, Some(pw), Some((u, _))) => Some((u, pw)),
        (None, Some(pw), None) => Some((String::new(), pw)),
        (None, None, up) => up,
    }
}

/// PRE_PROXY: a SOCKS URL, SOCKS4 without a scheme, as libcurl takes it.
fn parse_pre(spec: &str, o: &ProxyOptions) -> Result<PreProxy> {
    let as_socks4 = ProxyOptions { kind: kind::SOCKS4, port: o.port, ..ProxyOptions::default() };
    let p = parse(spec, &as_socks4)?;
    match p.socks {
        Some(socks) => Ok(PreProxy { socks, host: p.host, port: p.port, credentials: p.credentials }),
        None => Err(Error::new(code::COULDNT_RESOLVE_PROXY, format!("Unsupported pre-proxy type for '{spec}'"))),
    }
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
    let https =
        scheme.as_deref() == Some("https") || (scheme.is_none() && matches!(o.kind, kind::HTTPS | kind::HTTPS2));
    let (http10, socks) = match scheme.as_deref() {
        Some("http") => (false, None),
        None => match o.kind {
            kind::HTTP => (false, None),
            kind::HTTP_1_0 => (true, None),
            kind::SOCKS4 => (false, Some(Socks::V4)),
            kind::SOCKS4A => (false, Some(Socks::V4a)),
            kind::SOCKS5 => (false, Some(Socks::V5)),
            kind::SOCKS5_HOSTNAME => (false, Some(Socks::V5h)),
            kind::HTTPS | kind::HTTPS2 => (false, None),
            _ => return Err(not_built("this kind of")),
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
    let https = https.then(|| o.tls.fingerprint());
    Ok(Proxy { host: host.to_ascii_lowercase(), port, http10, credentials, tunnel: false, socks, https, pre: None })
}

/// The CONNECT request for a tunnel to `host:port`, as libcurl writes it.
pub fn connect_request(
    p: &Proxy,
    o: &ProxyOptions,
    host: &str,
    port: u16,
    user_agent: Option<&str>,
    server_headers: &[String],
    proxy_auth: Option<&str>,
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
    if let Some(a) = proxy_auth {
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
    challenges.iter().fold(0, |m, c| m | auth::scheme_bit(c) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&[&str]) -> Option<String> {
        move |names| names.iter().find_map(|n| vars.iter().find(|(k, _)| k == n)).map(|(_, v)| v.to_string())
    }

    /// Every transfer asks: without any proxy the no_proxy variables are not even read (they could
    /// only exempt a proxy), with one they are.
    #[test]
    fn no_proxy_read_only_when_there_is_a_proxy() {
        let read = std::cell::RefCell::new(Vec::new());
        let vars = [("http_proxy", "p:1"), ("no_proxy", "example.com,127.0.0.1")];
        let env = |with: bool| {
            let read = &read;
            move |names: &[&str]| {
                read.borrow_mut().push(names.join(" "));
                let set = |n: &&str| vars.iter().filter(|_| with).find(|(k, _)| k == n).map(|(_, v)| v.to_string());
                names.iter().find_map(set)
            }
        };
        let o = ProxyOptions::default();
        assert_eq!(for_url(&o, "http", "127.0.0.1", &env(false)), Ok(None));
        assert_eq!(*read.borrow(), ["http_proxy all_proxy ALL_PROXY"]);
        read.borrow_mut().clear();
        assert_eq!(for_url(&o, "http", "127.0.0.1", &env(true)), Ok(None), "exempted by no_proxy");
        assert_eq!(*read.borrow(), ["http_proxy all_proxy ALL_PROXY", "no_proxy NO_PROXY"]);
        assert_eq!(for_url(&o, "http", "10.0.0.1", &env(true)).map(|p| p.map(|p| p.host)), Ok(Some("p".into())));
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
    fn pre_proxy_in_front_or_alone() {
        let none = env_of(&[]);
        let mut o = ProxyOptions { pre_proxy: Some("s:9".into()), userpwd: Some("u:p".into()), ..Default::default() };
        let alone = for_url(&o, "http", "h", &none).unwrap().unwrap();
        assert_eq!((alone.socks, alone.port, alone.pre.is_none()), (Some(Socks::V4), 9, true), "SOCKS4 by default");
        assert_eq!(alone.credentials, Some(("u".into(), "p".into())), "PROXYUSERPWD goes to the only proxy");
        o.proxy = Some("http://hp:3128".into());
        o.pre_proxy = Some("socks5h://a:b@s".into());
        let p = for_url(&o, "https", "h", &none).unwrap().unwrap();
        let pre = p.pre.clone().unwrap();
        assert_eq!((pre.socks, pre.port, pre.credentials), (Socks::V5h, 1080, Some(("a".into(), "b".into()))));
        assert_eq!(p.first_hop(), ("s", 1080));
        assert_eq!(p.credentials, Some(("u".into(), "p".into())));
        o.pre_proxy = Some("https://s".into());
        assert_eq!(for_url(&o, "http", "h", &none).unwrap_err().code, code::COULDNT_RESOLVE_PROXY);
        o.pre_proxy = Some("socks4://s".into());
        o.proxy = Some("socks5://x".into());
        assert_eq!(for_url(&o, "http", "h", &none).unwrap_err().code, code::COULDNT_RESOLVE_PROXY);
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
