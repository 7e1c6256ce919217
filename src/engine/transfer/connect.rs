//! The connection chain: a pooled connection when one fits, else name resolution, TCP connect
//! (OPENSOCKETFUNCTION, SOCKOPTFUNCTION, interface and local port binding) and TLS; connection
//! limits (MAX_HOST/TOTAL_CONNECTIONS) queue the transfer here.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::*;
use crate::engine::error::{code, Error, Result};
use crate::engine::net::{self, Sock, Stream, TlsStream};
use crate::engine::pool::{Conn, Pool, PoolKey, Slot};
use crate::engine::resolve;
use crate::engine::rt::deadline_first;
use crate::engine::url::Url;

/// A TLS client config and the server name it is for (built before the handshake can start).
pub(super) type TlsSetup = (std::sync::Arc<rustls::ClientConfig>, rustls_pki_types::ServerName<'static>);

/// CURLE_SSL_ISSUER_ERROR.
const SSL_ISSUER_ERROR: i32 = 83;

pub(super) enum ConnErr {
    Os(i32),
    Fatal(Error),
}

impl Xfer {
    /// Puts a connection back in the pool for a later transfer, telling VERBOSE as libcurl does,
    /// and wakes transfers waiting for a connection slot.
    pub(super) fn keep_conn(&mut self, conn: Conn) {
        self.text(format_args!("Connection #{} to host {}:{} left intact", conn.id, conn.key.host, conn.key.port));
        self.info.last_socket = conn.stream.sock().fd() as i64;
        self.with_pool(|p| p.put(conn, &self.sh.reactor));
        self.sh.limits.notify();
    }

    /// The pool idle HTTP/1 connections come from and go back to: the CurlShare's when it shares
    /// LOCK_DATA_CONNECT, else the multi's. No callback runs inside `f`.
    pub(super) fn with_pool<R>(&self, f: impl FnOnce(&mut Pool) -> R) -> R {
        let shared = self.easy.conn_cache.borrow().clone();
        match shared {
            Some(p) => f(&mut p.borrow_mut()),
            None => f(&mut self.sh.pool.borrow_mut()),
        }
    }

    pub(super) async fn connect(&mut self, url: &Url, strict: bool) -> Result<Conn> {
        let c = self.connect_or_reuse(url, strict).await?;
        if self.last_progress.is_none() {
            // An HTTP transfer's first progress call (see run_all) comes once it has a connection.
            self.call_progress(true)?;
        }
        Ok(c)
    }

    async fn connect_or_reuse(&mut self, url: &Url, strict: bool) -> Result<Conn> {
        let key = self.pool_key(url);
        // Boxed: held across the connect, and most transfers have none.
        let ntlm_key = self.ntlm_pool_key(&key, url).map(Box::new);
        let mut slot: Option<Slot> = None;
        loop {
            if !self.o.fresh_connect {
                let (age, life, reactor) = (self.o.maxage_conn, self.o.maxlifetime_conn, &self.sh.reactor);
                let c = self.with_pool(|p| {
                    ntlm_key
                        .as_ref()
                        .and_then(|k| p.take(k, age, life, strict, reactor))
                        .or_else(|| p.take(&key, age, life, strict, reactor))
                });
                if let Some(c) = c {
                    self.text(format_args!("Reusing existing {}: connection with host {}", url.scheme, url.host));
                    self.info.namelookup_time = elapsed(self.start);
                    self.info.connect_time = self.info.namelookup_time;
                    self.info.appconnect_time =
                        if matches!(url.scheme.as_str(), "https" | "wss" | "ftps" | "gophers" | "mqtts") {
                            self.info.connect_time
                        } else {
                            0.0
                        };
                    return Ok(c);
                }
            }
            let limits = self.sh.limits.clone();
            if !limits.limited() || self.o.route.doh_probe {
                break;
            }
            if let Some(s) = limits.try_acquire(&(url.host.clone(), url.port_or_default())) {
                slot = Some(s);
                break;
            }
            // Over the total limit with idle connections around: close one to make room.
            if limits.at_total_limit() && self.sh.pool.borrow_mut().evict_oldest(&self.sh.reactor) {
                continue;
            }
            // Queue until a connection closes or goes idle.
            let mut waited = false;
            poll_fn(|cx| {
                if waited {
                    Poll::Ready(())
                } else {
                    waited = true;
                    limits.wait(cx.waker());
                    Poll::Pending
                }
            })
            .await;
        }
        // Boxed, as the pool key below: an async fn keeps its arguments twice in its state.
        let proxy = self.proxy()?.map(|p| Box::new(p.clone()));
        let (host, port) = match &proxy {
            Some(p) => (p.first_hop().0.to_string(), p.first_hop().1),
            None => key.target.clone().unwrap_or_else(|| (url.host.clone(), url.port_or_default())),
        };
        // Without CONNECTTIMEOUT the kernel's own SYN timeout (about two minutes, under libcurl's 300 s
        // default) ends a hopeless connect; libcurl reports no timer for it either.
        let connect_deadline = self.o.connect_timeout.map(|t| Instant::now() + t);
        let reactor = self.sh.reactor.clone();
        self.connecting = true;
        // Boxed: connecting (resolve, TCP, TLS) is a large state machine needed only briefly.
        let fut = Box::pin(self.connect_new(url, Box::new(key), host.clone(), port, proxy));
        // The connect fn records its own timing; only the phase deadline lives here.
        match deadline_first(&reactor, connect_deadline, fut).await {
            Some(r) => {
                self.connecting = false;
                r.map(|mut c| {
                    c.slot = slot;
                    c
                })
            }
            None => {
                let ms = self.start.elapsed().as_millis();
                Err(Error::new(code::OPERATION_TIMEDOUT, format!("Connection timed out after {ms} milliseconds")))
            }
        }
    }

    async fn connect_new(
        &mut self,
        url: &Url,
        key: Box<PoolKey>,
        host: String,
        port: u16,
        proxy: Option<Box<crate::engine::proxy::Proxy>>,
    ) -> Result<Conn> {
        let (sock, addr, local) = match self.o.route.unix_socket.clone() {
            Some(us) => {
                let c = self.unix_connect(&us, url).await?;
                self.info.num_connects += 1;
                c
            }
            None => self.tcp_connect_any(url, host, port, proxy).await?,
        };
        let id = self.sh.next_conn_id.get();
        self.sh.next_conn_id.set(id + 1);
        if matches!(url.scheme.as_str(), "https" | "wss" | "ftps" | "gophers" | "mqtts") {
            // Boxed: the TLS handshake's state is large and plain HTTP never needs it.
            return Box::pin(self.tls_connect(sock, url, (id, *key, addr, local))).await;
        }
        let mut c = Conn::new(sock, id, *key, addr, local);
        c.h2 = self.wants_h2(url);
        Ok(c)
    }

    /// UNIX_SOCKET_PATH / ABSTRACT_UNIX_SOCKET: no name resolution, no proxy, no TCP options.
    async fn unix_connect(&mut self, us: &UnixSocket, url: &Url) -> Result<(Stream, SocketAddr, SocketAddr)> {
        let shown = if us.abstract_ns { format!("@{}", us.path) } else { us.path.clone() };
        let failed = |this: &Self| {
            let ms = this.start.elapsed().as_millis();
            let h = if url.host.contains(':') { format!("[{}]", url.host) } else { url.host.clone() };
            Error::new(
                code::COULDNT_CONNECT,
                format!(
                    "Failed to connect to {h}:{} over unix://{shown} after {ms} ms: Could not connect to server",
                    url.port_or_default()
                ),
            )
        };
        // libcurl refuses an empty path before it tries anything.
        if us.path.is_empty() {
            return Err(Error::bare(code::FAILED_INIT));
        }
        self.info.namelookup_time = elapsed(self.start);
        self.text(format_args!("  Trying {shown}:0..."));
        let (mut socket, addr) = match crate::engine::sys::unix_socket(&us.path, us.abstract_ns) {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                return Err(Error::new(code::COULDNT_RESOLVE_HOST, format!("Unix socket path too long: '{}'", us.path)))
            }
            Err(e) => {
                self.info.os_errno = i64::from(e.raw_os_error().unwrap_or(0));
                return Err(failed(self));
            }
        };
        let closer: Option<net::Closer> = if self.cb.has_close_socket() {
            let cb = self.cb.clone();
            Some(Rc::new(move |fd| cb.close_socket(fd)))
        } else {
            None
        };
        // OPENSOCKETFUNCTION gets AF_UNIX and the path (a NUL first for the abstract namespace).
        let name = [&b"\0"[..us.abstract_ns as usize], us.path.as_bytes()].concat();
        match self.cb.open_unix_socket(&name) {
            None => {}
            Some(Ok(fd)) if fd >= 0 => match net::adopt_fd(fd) {
                Ok(s) => socket = s,
                Err(_) => return Err(failed(self)),
            },
            Some(_) => return Err(failed(self)),
        }
        let sock = Sock::new(socket, &self.sh.reactor, closer);
        let already = match self.cb.sockopt(sock.fd()) {
            Ok(0) => false,
            Ok(2) => true,
            Ok(_) => {
                let e = failed(self);
                let msg =
                    e.msg.replace("Could not connect to server", "Operation was aborted by an application callback");
                return Err(Error::new(code::ABORTED_BY_CALLBACK, msg));
            }
            Err(e) => return Err(e),
        };
        let r = match sock.socket().connect(&addr) {
            _ if already => Ok(()),
            Ok(()) => Ok(()),
            Err(e) if crate::engine::sys::connect_in_progress(&e) || e.kind() == std::io::ErrorKind::WouldBlock => {
                sock.writable().await;
                match sock.socket().take_error() {
                    Ok(None) => Ok(()),
                    Ok(Some(e)) | Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            let errno = e.raw_os_error().unwrap_or(0);
            self.info.os_errno = errno as i64;
            return Err(failed(self));
        }
        self.info.connect_time = elapsed(self.start);
        self.text(format_args!("Established connection to {shown} ({shown} port 0) from  port 0 "));
        let none = SocketAddr::from(([0u8, 0, 0, 0], 0));
        Ok((Stream::new(sock), none, none))
    }

    async fn tcp_connect_any(
        &mut self,
        url: &Url,
        host: String,
        port: u16,
        proxy: Option<Box<crate::engine::proxy::Proxy>>,
    ) -> Result<(Stream, SocketAddr, SocketAddr)> {
        let overrides = self.resolve_overrides()?;
        let cb = self.cb.clone();
        let on_start = || cb.resolver_start();
        let doh = self.o.route.doh_url.clone().filter(|u| !u.is_empty()).map(|u| -> resolve::DohLookup<'_> {
            let (sh, o) = (self.sh.clone(), self.o.clone());
            Box::new(move |h: String| Box::pin(async move { crate::engine::doh::lookup(&sh, &o, &u, &h).await }))
        });
        let traced_failure = doh.is_none();
        let lookup =
            resolve::Lookup { on_start: cb.has_resolver_start().then_some(&on_start as &dyn Fn() -> bool), doh };
        let cached = self.sh.dns.borrow_mut().get(&host, port, self.o.dns_cache_timeout).is_some();
        let resolved = resolve::resolve_with(
            &self.sh.reactor,
            &self.sh.dns,
            &overrides,
            &host,
            port,
            self.o.ip_resolve,
            self.o.dns_cache_timeout,
            lookup,
        )
        .await
        .map_err(|e| match &proxy {
            Some(p) if e.code == code::COULDNT_RESOLVE_HOST => {
                Error::new(code::COULDNT_RESOLVE_PROXY, format!("Could not resolve proxy: {}", p.first_hop().0))
            }
            _ => e,
        });
        let addrs = match resolved {
            Ok(addrs) => addrs,
            Err(e) if traced_failure && matches!(e.code, code::COULDNT_RESOLVE_HOST | code::COULDNT_RESOLVE_PROXY) => {
                // libcurl 8.23 had numbered the connection and traces the failure so (failf twice).
                let id = self.sh.next_conn_id.get();
                self.sh.next_conn_id.set(id + 1);
                self.info.conn_id = id;
                self.text(format_args!("{}", e.msg));
                self.text(format_args!("{}", e.msg));
                // Also a failf line: cut as the error buffer is.
                let again = crate::engine::error::clip(format!("Could not resolve: {host}:{port}"));
                self.text(format_args!("{again}"));
                self.text(format_args!("closing connection #{id}"));
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        self.info.namelookup_time = elapsed(self.start);
        if cached {
            self.text(format_args!("Hostname {host} was found in DNS cache"));
        }
        if host.parse::<std::net::IpAddr>().is_err() {
            // libcurl's account of a name it resolved (DoH's own requests are not traced).
            let list = |v6: bool| {
                let l: Vec<String> = addrs.iter().filter(|a| a.is_ipv6() == v6).map(|a| a.ip().to_string()).collect();
                if l.is_empty() {
                    "(none)".to_string()
                } else {
                    l.join(", ")
                }
            };
            self.text(format_args!("Host {host}:{port} was resolved."));
            self.text(format_args!("IPv6: {}", list(true)));
            self.text(format_args!("IPv4: {}", list(false)));
        }
        // ADDRESS_SCOPE: the scope id link-local IPv6 addresses need, unless the address has one.
        let addrs: Vec<SocketAddr> = addrs
            .iter()
            .map(|addr| match addr {
                SocketAddr::V6(a) if self.o.route.address_scope != 0 && a.scope_id() == 0 => SocketAddr::V6(
                    std::net::SocketAddrV6::new(*a.ip(), a.port(), a.flowinfo(), self.o.route.address_scope),
                ),
                a => *a,
            })
            .collect();
        let raced = self.happy_eyeballs(&addrs).await;
        let (sock, addr) = match raced {
            Ok(won) => won,
            Err(ConnErr::Fatal(e)) => return Err(e),
            Err(ConnErr::Os(last_err)) => {
                self.info.os_errno = last_err as i64;
                let ms = self.start.elapsed().as_millis();
                // Through a pre-proxy libcurl names the HTTP proxy, "over" the pre-proxy.
                let (host, port) = proxy.as_ref().map_or((host.clone(), port), |p| (p.host.clone(), p.port));
                // libcurl names an IPv6 literal without its brackets here.
                let over = proxy.as_ref().map(|p| format!(" over proxy {}", p.first_hop_display())).unwrap_or_default();
                let e = Error::new(
                    code::COULDNT_CONNECT,
                    format!("Failed to connect to {host}:{port}{over} after {ms} ms: Could not connect to server"),
                );
                // libcurl had numbered the connection before connecting: the failed one uses an id.
                let id = self.sh.next_conn_id.get();
                self.sh.next_conn_id.set(id + 1);
                self.info.conn_id = id;
                self.text(format_args!("{}", e.msg));
                self.text(format_args!("closing connection #{id}"));
                return Err(e);
            }
        };
        self.info.connect_time = elapsed(self.start);
        let local = sock.socket().local_addr().ok().and_then(|a| a.as_socket()).unwrap_or(addr);
        self.text(format_args!(
            "Established connection to {} ({} port {}) from {} port {} ",
            url.host,
            addr.ip(),
            addr.port(),
            local.ip(),
            local.port()
        ));
        // libcurl counts the connection even when a proxy handshake on it fails.
        self.info.num_connects += 1;
        // Boxed: proxies and the PROXY protocol are rare, and their handshakes are large state
        // machines that every transfer's connect future would otherwise carry while connecting.
        let sock = if proxy.is_some() || self.o.proxy.haproxy || self.o.proxy.haproxy_client_ip.is_some() {
            Box::pin(self.proxy_chain(sock, proxy.as_deref(), url)).await?
        } else {
            Stream::new(sock)
        };
        Ok((sock, addr, local))
    }

    /// TLS over the connection just made (and its proxy chain): the handshake, PINNEDPUBLICKEY,
    /// CERTINFO and ALPN's verdict on h2.
    async fn tls_connect(
        &mut self,
        sock: Stream,
        url: &Url,
        (id, key, addr, local): (i64, PoolKey, SocketAddr, SocketAddr),
    ) -> Result<Conn> {
        // Before the config is built: a CA file that does not load reports 1 as well.
        self.info.ssl_verifyresult = 1;
        // libcurl offers ALPN for HTTP only (none for FTPS or gophers://).
        let alpn =
            if matches!(url.scheme.as_str(), "ftps" | "gophers" | "mqtts") { Vec::new() } else { self.alpn_offer(url) };
        let setup = self.tls_setup(&url.host, alpn)?;
        let t = self.tls_handshake(sock, setup, &url.host).await?;
        let certinfo = if self.o.certinfo {
            t.tls.peer_certificates().map(crate::engine::tls::cert_info).unwrap_or_default()
        } else {
            Vec::new()
        };
        let h2 = crate::engine::http2::alpn_is_h2(t.tls.alpn_protocol());
        let mut c = Conn::new(Stream::new(t), id, key, addr, local);
        c.certinfo = certinfo;
        c.h2 = h2;
        Ok(c)
    }

    /// The rustls config (with the ALPN offer given) and the server name for TLS to `host`.
    pub(super) fn tls_setup(&self, host: &str, alpn: Vec<Vec<u8>>) -> Result<TlsSetup> {
        let mut o = self.o.tls.clone();
        o.alpn = alpn;
        let cfg = crate::engine::tls::client_config(&o).map_err(|e| Error::new(e.code, e.message))?;
        let name = rustls_pki_types::ServerName::try_from(host.to_string())
            .map_err(|_| Error::new(code::URL_MALFORMAT, format!("invalid TLS server name: {host}")))?;
        Ok((cfg, name))
    }

    /// TLS over a stream already connected (https, FTPS after AUTH, mail at once or after
    /// STARTTLS): the handshake, PINNEDPUBLICKEY, APPCONNECT_TIME and SSL_VERIFYRESULT.
    pub(super) async fn tls_handshake(
        &mut self,
        sock: Stream,
        (cfg, name): TlsSetup,
        host: &str,
    ) -> Result<TlsStream<Stream>> {
        let mut t = TlsStream::new(sock, cfg, name).map_err(|e| Error::new(code::SSL_CONNECT_ERROR, e.to_string()))?;
        // OpenSSL's verify result reads "unspecified" (1) until a verification ran.
        self.info.ssl_verifyresult = 1;
        if let Err(e) = t.handshake().await {
            return Err(self.tls_error(e, host));
        }
        if let Some(pin) = &self.o.tls.pinned_pubkey {
            let ee = t.tls.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default();
            crate::engine::tls::check_pinned(pin, &ee).map_err(|e| Error::new(e.code, e.message))?;
        }
        self.info.appconnect_time = elapsed(self.start);
        self.info.ssl_verifyresult = 0;
        Ok(t)
    }

    /// CURLOPT_RESOLVE's entries as lookup overrides (the ones libcurl skips left out).
    pub(super) fn resolve_overrides(&self) -> Result<Vec<resolve::ResolveEntry>> {
        let mut overrides = Vec::with_capacity(self.o.route.resolve.len());
        for s in &self.o.route.resolve {
            match resolve::parse_resolve_entry(s) {
                Ok(Some(e)) => overrides.push(e),
                Ok(None) => {}
                Err(resolve::BadResolveEntry) => {
                    return Err(Error::new(
                        code::SETOPT_OPTION_SYNTAX,
                        format!("Could not parse CURLOPT_RESOLVE entry '{s}'"),
                    ))
                }
            }
        }
        Ok(overrides)
    }

    pub(super) fn tls_error(&mut self, e: std::io::Error, host: &str) -> Error {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            let te = crate::engine::tls::map_handshake_error(inner, host);
            // A handshake that failed before verification reports 1, as OpenSSL's unset result;
            // an ISSUERCERT mismatch (83) comes after the chain verified, so it stays 0.
            self.info.ssl_verifyresult = match crate::engine::tls::ssl_verify_result(&te) {
                0 if te.code == SSL_ISSUER_ERROR => 0,
                0 => 1,
                n => n,
            };
            return Error::new(te.code, te.message);
        }
        // A peer that leaves mid-handshake: libcurl's words with OpenSSL (the code is 35 either way).
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Error::new(
                code::SSL_CONNECT_ERROR,
                "TLS connect error: error:0A000126:SSL routines::unexpected eof while reading",
            ),
            _ if e.raw_os_error().is_some() => {
                Error::new(code::SSL_CONNECT_ERROR, format!("Recv failure: {}", crate::engine::sys::error_text(&e)))
            }
            _ => Error::new(code::SSL_CONNECT_ERROR, format!("TLS connect error: {e}")),
        }
    }

    pub(super) async fn tcp_connect(&self, addr: &SocketAddr) -> std::result::Result<Sock, ConnErr> {
        let closer: Option<net::Closer> = if self.cb.has_close_socket() {
            let cb = self.cb.clone();
            Some(Rc::new(move |fd| cb.close_socket(fd)))
        } else {
            None
        };
        let socket = match self.cb.open_socket(addr) {
            None => net::new_socket(addr).map_err(|e| ConnErr::Os(e.raw_os_error().unwrap_or(0)))?,
            // No socket for this address: libcurl moves on to the next one (an application that
            // refuses IPv6 sockets still connects over IPv4).
            Some(Err(_)) => return Err(ConnErr::Os(0)),
            Some(Ok(fd)) if fd < 0 => return Err(ConnErr::Os(0)),
            Some(Ok(fd)) => net::adopt_fd(fd).map_err(|e| ConnErr::Os(e.raw_os_error().unwrap_or(0)))?,
        };
        if self.o.tcp_nodelay {
            let _ = socket.set_tcp_nodelay(true);
        }
        if self.o.tcp_keepalive {
            let ka = socket2::TcpKeepalive::new()
                .with_time(Duration::from_secs(self.o.tcp_keepidle.max(1) as u64))
                .with_interval(Duration::from_secs(self.o.tcp_keepintvl.max(1) as u64));
            let _ = socket.set_tcp_keepalive(&ka);
        }
        if let Some(iface) = &self.o.route.interface {
            let ip = iface.strip_prefix("host!").or_else(|| iface.strip_prefix("if!")).unwrap_or(iface);
            match ip.parse::<std::net::IpAddr>() {
                // LOCALPORTRANGE: a busy local port moves on to the next one, with an address too.
                Ok(ip) => {
                    let mut ports = self.o.route.local_port
                        ..self.o.route.local_port.saturating_add(self.o.route.local_port_range.max(1));
                    if !ports.any(|p| socket.bind(&SocketAddr::new(ip, p).into()).is_ok()) {
                        return Err(ConnErr::Fatal(Error::new(
                            code::INTERFACE_FAILED,
                            format!("Couldn't bind to '{iface}'"),
                        )));
                    }
                }
                Err(_) => {
                    crate::engine::sys::bind_device(&socket, ip, addr.is_ipv6()).map_err(|e| {
                        // An OS without binding by interface name (Windows) has the option only for addresses.
                        let c = if e.kind() == std::io::ErrorKind::Unsupported {
                            code::NOT_BUILT_IN
                        } else {
                            code::INTERFACE_FAILED
                        };
                        ConnErr::Fatal(Error::new(c, format!("Couldn't bind to interface '{iface}'")))
                    })?;
                }
            }
        } else if self.o.route.local_port != 0 {
            let any: std::net::IpAddr = if addr.is_ipv4() { [0u8, 0, 0, 0].into() } else { [0u16; 8].into() };
            let mut ok = false;
            for p in
                self.o.route.local_port..self.o.route.local_port.saturating_add(self.o.route.local_port_range.max(1))
            {
                if socket.bind(&SocketAddr::new(any, p).into()).is_ok() {
                    ok = true;
                    break;
                }
            }
            if !ok {
                return Err(ConnErr::Fatal(Error::new(
                    code::INTERFACE_FAILED,
                    "bind failed with errno 98: Address already in use",
                )));
            }
        }
        let sock = Sock::new(socket, &self.sh.reactor, closer);
        let already = match self.cb.sockopt(sock.fd()) {
            Ok(0) => false,
            Ok(2) => true,
            Ok(_) => {
                let ms = self.start.elapsed().as_millis();
                let h = if addr.is_ipv6() { format!("[{}]", addr.ip()) } else { addr.ip().to_string() };
                return Err(ConnErr::Fatal(Error::new(
                    code::ABORTED_BY_CALLBACK,
                    format!(
                        "Failed to connect to {h}:{} after {ms} ms: Operation was aborted by an application callback",
                        addr.port()
                    ),
                )));
            }
            Err(e) => return Err(ConnErr::Fatal(e)),
        };
        if already {
            return Ok(sock);
        }
        match sock.socket().connect(&(*addr).into()) {
            Ok(()) => return Ok(sock),
            Err(e) if crate::engine::sys::connect_in_progress(&e) => {}
            Err(e) => return Err(self.connect_failed(&sock, addr, &e)),
        }
        sock.writable().await;
        match sock.socket().take_error() {
            Ok(None) => Ok(sock),
            Ok(Some(e)) | Err(e) => Err(self.connect_failed(&sock, addr, &e)),
        }
    }

    /// libcurl's line for a failed attempt names the local end the kernel bound the socket to.
    fn connect_failed(&self, sock: &Sock, addr: &SocketAddr, e: &std::io::Error) -> ConnErr {
        let errno = e.raw_os_error().unwrap_or(0);
        let text = crate::engine::sys::error_text(e);
        let text = text.split(" (os error").next().unwrap_or_default();
        match sock.socket().local_addr().ok().and_then(|a| a.as_socket()) {
            Some(l) => self.text(format_args!(
                "connect to {} port {} from {} port {} failed: {text}",
                addr.ip(),
                addr.port(),
                l.ip(),
                l.port()
            )),
            None => self.text(format_args!("connect to {} port {} failed: {text}", addr.ip(), addr.port())),
        }
        ConnErr::Os(errno)
    }
}

impl Xfer {
    /// A new TCP connection to `addr` (a proxy that closed its connection after a 407).
    pub(super) async fn reconnect(&mut self, addr: SocketAddr) -> Result<Sock> {
        self.info.num_connects += 1;
        self.tcp_connect(&addr).await.map_err(|e| match e {
            ConnErr::Fatal(e) => e,
            ConnErr::Os(errno) => {
                self.info.os_errno = errno as i64;
                Error::new(code::COULDNT_CONNECT, format!("Failed to connect to {addr}: Could not connect to server"))
            }
        })
    }
}
