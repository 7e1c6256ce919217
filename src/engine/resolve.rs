//! Name resolution: RESOLVE overrides, IP literals, a DNS cache, and a resolver thread per lookup that
//! signals completion through a socketpair whose read end the reactor watches (as libcurl's threaded
//! resolver does, so its fd shows up in SOCKETFUNCTION like any other).

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use super::error::{code, Error};
use super::net::Sock;
use super::rt::Reactor;

/// CURLOPT_IPRESOLVE
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IpResolve {
    #[default]
    Whatever,
    V4,
    V6,
}

impl IpResolve {
    fn keep(self, a: &SocketAddr) -> bool {
        match self {
            IpResolve::Whatever => true,
            IpResolve::V4 => a.is_ipv4(),
            IpResolve::V6 => a.is_ipv6(),
        }
    }
}

/// The multi's DNS cache: (host, port) → addresses, with libcurl's default 60 s lifetime.
#[derive(Default)]
pub struct DnsCache {
    entries: HashMap<(String, u16), (Vec<SocketAddr>, Instant)>,
    /// CURLOPT_RESOLVE entries: they stay until a "-host:port" entry removes them.
    pinned: HashMap<(String, u16), Vec<SocketAddr>>,
}

pub const DNS_CACHE_TIMEOUT: Duration = Duration::from_secs(60);

impl DnsCache {
    /// Applies CURLOPT_RESOLVE entries to the cache.
    pub fn apply(&mut self, entries: &[ResolveEntry]) {
        for e in entries {
            let key = (e.host.to_ascii_lowercase(), e.port);
            if e.remove {
                self.pinned.remove(&key);
                self.entries.remove(&key);
            } else {
                self.pinned.insert(key, e.addrs.iter().map(|a| SocketAddr::new(*a, e.port)).collect());
            }
        }
    }

    fn pinned_get(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        let key = (host.to_ascii_lowercase(), port);
        self.pinned.get(&key).or_else(|| self.pinned.get(&("*".to_string(), port))).cloned()
    }

    pub fn get(&mut self, host: &str, port: u16, ttl: Option<Duration>) -> Option<Vec<SocketAddr>> {
        let key = (host.to_ascii_lowercase(), port);
        match self.entries.get(&key) {
            Some((v, at)) if ttl.is_none_or(|t| at.elapsed() < t) => Some(v.clone()),
            Some(_) => {
                self.entries.remove(&key);
                None
            }
            None => None,
        }
    }
    /// Takes in what another cache knows (a CurlShare's): RESOLVE pins, and answers newer than
    /// the ones held here.
    pub fn merge_from(&mut self, other: &DnsCache) {
        for (k, v) in &other.pinned {
            self.pinned.insert(k.clone(), v.clone());
        }
        for (k, (v, at)) in &other.entries {
            if self.entries.get(k).is_none_or(|(_, mine)| mine < at) {
                self.entries.insert(k.clone(), (v.clone(), *at));
            }
        }
    }

    pub fn put(&mut self, host: &str, port: u16, addrs: Vec<SocketAddr>) {
        if self.entries.len() > 10_000 {
            self.entries.retain(|_, (_, at)| at.elapsed() < DNS_CACHE_TIMEOUT);
        }
        self.entries.insert((host.to_ascii_lowercase(), port), (addrs, Instant::now()));
    }
}

/// One parsed CURLOPT_RESOLVE entry: "host:port:addr[,addr]..." (a leading '-' removes; '+' is accepted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveEntry {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<IpAddr>,
    pub remove: bool,
}

/// A RESOLVE entry libcurl refuses (perform fails with 49).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadResolveEntry;

/// Ok(None) is an entry libcurl skips: an empty one, a lone '+', or a removal it cannot parse.
pub fn parse_resolve_entry(s: &str) -> Result<Option<ResolveEntry>, BadResolveEntry> {
    if s.is_empty() || s == "+" {
        return Ok(None);
    }
    if let Some(r) = s.strip_prefix('-') {
        // libcurl only warns about a removal it cannot read and goes on.
        let mut it = r.splitn(3, ':');
        let host = it.next().unwrap_or_default().to_string();
        let port = it.next().and_then(|p| p.parse::<u16>().ok());
        return Ok(port.map(|port| ResolveEntry { host, port, addrs: Vec::new(), remove: true }));
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut it = s.splitn(3, ':');
    let host = it.next().ok_or(BadResolveEntry)?.to_string();
    let port: u16 = it.next().ok_or(BadResolveEntry)?.parse().map_err(|_| BadResolveEntry)?;
    let mut addrs = Vec::new();
    for a in it.next().ok_or(BadResolveEntry)?.split(',') {
        // No trimming: libcurl refuses " 127.0.0.1".
        let a = a.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(a);
        if a.is_empty() {
            continue;
        }
        addrs.push(a.parse().map_err(|_| BadResolveEntry)?);
    }
    if addrs.is_empty() {
        return Err(BadResolveEntry);
    }
    Ok(Some(ResolveEntry { host, port, addrs, remove: false }))
}

/// A DoH lookup (engine::doh) for a host name, handed in by the transfer that owns the multi.
pub type DohLookup<'a> = Box<dyn FnOnce(String) -> Pin<Box<dyn Future<Output = Result<Vec<IpAddr>, Error>> + 'a>> + 'a>;

/// What a transfer adds to a lookup.
#[derive(Default)]
pub struct Lookup<'a> {
    /// RESOLVER_START_FUNCTION: called before a lookup the cache cannot answer; true aborts.
    pub on_start: Option<&'a dyn Fn() -> bool>,
    /// DOH_URL: names go to this instead of getaddrinfo.
    pub doh: Option<DohLookup<'a>>,
}

/// Resolves `host` (already stripped of IPv6 brackets) to socket addresses.
pub async fn resolve(
    reactor: &Rc<Reactor>,
    cache: &Rc<std::cell::RefCell<DnsCache>>,
    overrides: &[ResolveEntry],
    host: &str,
    port: u16,
    ipr: IpResolve,
    ttl: Option<Duration>,
) -> Result<Vec<SocketAddr>, Error> {
    resolve_with(reactor, cache, overrides, host, port, ipr, ttl, Lookup::default()).await
}

/// `resolve` with a transfer's RESOLVER_START_FUNCTION and DoH. As in libcurl, the callback runs
/// only when the cache has no answer, IP literals and localhost included (they are cached too).
#[allow(clippy::too_many_arguments)]
pub async fn resolve_with(
    reactor: &Rc<Reactor>,
    cache: &Rc<std::cell::RefCell<DnsCache>>,
    overrides: &[ResolveEntry],
    host: &str,
    port: u16,
    ipr: IpResolve,
    ttl: Option<Duration>,
    lookup: Lookup<'_>,
) -> Result<Vec<SocketAddr>, Error> {
    let aborted = || Error::new(code::ABORTED_BY_CALLBACK, format!("Error 42 resolving {host}:{port}"));
    // An answer that needs no lookup is cached all the same (VERBOSE then says it was found
    // there); the callback runs only once per cache lifetime.
    let start_uncached = |addrs: &[SocketAddr]| -> Result<(), Error> {
        if cache.borrow_mut().get(host, port, ttl).is_some() {
            return Ok(());
        }
        if lookup.on_start.is_some_and(|f| f()) {
            return Err(aborted());
        }
        cache.borrow_mut().put(host, port, addrs.to_vec());
        Ok(())
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        let v = vec![SocketAddr::new(ip, port)];
        start_uncached(&v)?;
        return Ok(v);
    }
    let pinned = {
        let mut c = cache.borrow_mut();
        c.apply(overrides);
        c.pinned_get(host, port)
    };
    if let Some(v) = pinned {
        let v: Vec<SocketAddr> = v.into_iter().filter(|a| ipr.keep(a)).collect();
        if !v.is_empty() {
            return Ok(v);
        }
    }
    let fail = || Error::new(code::COULDNT_RESOLVE_HOST, format!("Could not resolve host: {host}"));
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        // libcurl resolves localhost itself, never asking DNS.
        let all = [
            SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port),
            SocketAddr::new(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), port),
        ];
        start_uncached(&all)?;
        return Ok(all.into_iter().filter(|a| ipr.keep(a)).collect());
    }
    if let Some(v) = cache.borrow_mut().get(host, port, ttl) {
        let v: Vec<SocketAddr> = v.into_iter().filter(|a| ipr.keep(a)).collect();
        if !v.is_empty() {
            return Ok(v);
        }
    }
    if lookup.on_start.is_some_and(|f| f()) {
        return Err(aborted());
    }
    let addrs = match lookup.doh {
        Some(doh) => doh(host.to_string()).await?.into_iter().map(|ip| SocketAddr::new(ip, port)).collect(),
        None => lookup_threaded(reactor, host, port).await.map_err(|_| fail())?,
    };
    if addrs.is_empty() {
        return Err(fail());
    }
    cache.borrow_mut().put(host, port, addrs.clone());
    let v: Vec<SocketAddr> = addrs.into_iter().filter(|a| ipr.keep(a)).collect();
    if v.is_empty() {
        return Err(fail());
    }
    Ok(v)
}

async fn lookup_threaded(reactor: &Rc<Reactor>, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    let (rd, wr) = super::sys::socket_pair()?;
    let slot: Arc<Mutex<Option<std::io::Result<Vec<SocketAddr>>>>> = Arc::new(Mutex::new(None));
    let s2 = slot.clone();
    let h = host.to_string();
    std::thread::Builder::new().name("pycurl-resolve".into()).spawn(move || {
        let r = (h.as_str(), port).to_socket_addrs().map(|it| {
            let mut v: Vec<SocketAddr> = Vec::new();
            for a in it {
                if !v.contains(&a) {
                    v.push(a);
                }
            }
            v
        });
        *s2.lock().unwrap() = Some(r);
        let _ = (&wr).write_all(&[1]);
    })?;
    let sock = Sock::new(rd, reactor, None);
    poll_fn(|cx| {
        let mut b = [0u8; 1];
        match sock.poll_read(cx, &mut b) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(()),
        }
    })
    .await;
    let _ = super::sys::recv(sock.fd(), &mut [0u8; 1]);
    let r = slot.lock().unwrap().take().unwrap_or_else(|| Err(std::io::ErrorKind::Other.into()));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn resolve_entries_parse() {
        let e = parse_resolve_entry("example.com:443:127.0.0.1,[::1]").unwrap().unwrap();
        assert_eq!(e.port, 443);
        assert_eq!(e.addrs.len(), 2);
        assert!(parse_resolve_entry("-example.com:443").unwrap().unwrap().remove);
        assert!(parse_resolve_entry("bad").is_err());
        assert!(parse_resolve_entry("h:1:notanip").is_err());
        assert!(parse_resolve_entry("h:1: 127.0.0.1").is_err());
        assert_eq!(parse_resolve_entry("-bad"), Ok(None));
        assert_eq!(parse_resolve_entry(""), Ok(None));
    }
}
