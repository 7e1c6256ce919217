//! The proxy hops of the connection chain: a SOCKS pre-proxy, TLS to an HTTPS proxy, then a SOCKS
//! handshake or an HTTP CONNECT tunnel (the response head goes to HEADERFUNCTION as libcurl
//! delivers it; a 407 is answered once, on the same connection when the proxy keeps it open).
//!
//! ```text
//!  TCP to the first hop ─► [SOCKS to the HTTP proxy (PRE_PROXY)] ─► [TLS to an HTTPS proxy]
//!      ─► SOCKS to the origin | CONNECT ─► 407? answer (same or new connection) ─► CONNECT ─► 2xx
//! ```

use crate::engine::auth::NtlmStep;
use crate::engine::error::{code, Error, Result};
use crate::engine::http1::head::{self, header_values, HeadEvent, HeadParser};
use crate::engine::net::{self, Sock, Stream, TlsStream};
use crate::engine::proxy::socks::{self, Dest, Socks};
use crate::engine::proxy::{self, PreProxy, Proxy};
use crate::engine::resolve;
use crate::engine::url::Url;

use super::*;

impl Xfer {
    /// The layers a proxy adds on the socket to its first hop: the pre-proxy's SOCKS handshake,
    /// TLS to an HTTPS proxy, then a SOCKS handshake or a CONNECT tunnel. Without a proxy the
    /// socket is the stack.
    pub(super) async fn proxy_chain(&mut self, sock: Sock, p: Option<&Proxy>, url: &Url) -> Result<Stream> {
        // Taken now: once the proxy has closed, the socket may no longer name its peer.
        let first_hop = sock.socket().peer_addr().ok().and_then(|a| a.as_socket());
        let mut s = match p {
            Some(p) => self.proxy_layers(sock, p).await?,
            None => Stream::new(sock),
        };
        if let Some(p) = p {
            let (host, port) = (url.host.as_str(), url.port_or_default());
            if let Some(kind) = p.socks {
                self.open_socks(&mut s, kind, p.credentials.as_ref(), host, port).await?;
            } else if p.tunnel {
                let authority = authority(url);
                // NTLM alone starts its handshake with the first CONNECT.
                let mut ntlm = match &p.credentials {
                    Some(_) => NtlmStep::start(self.o.proxy.auth.unwrap_or(crate::engine::auth::BASIC)),
                    None => NtlmStep::Idle,
                };
                let mut auth = match &p.credentials {
                    Some((u, pw)) if ntlm.active() => {
                        self.text(format_args!("Proxy auth using NTLM with user '{u}'"));
                        ntlm.output(u, pw, false).map_err(too_big)?
                    }
                    _ => p.upfront_auth(self.o.proxy.auth).or_else(|| {
                        let a = self.o.proxy.auth;
                        self.easy.with_digest(|d| p.kept_answer(a, "CONNECT", &authority, &mut d.proxy))
                    }),
                };
                let mut answered = false;
                loop {
                    match self.open_tunnel(&mut s, p, url, auth.as_deref(), !answered, &mut ntlm).await? {
                        Tunnel::Open(ahead) => {
                            if !ahead.is_empty() {
                                s = Stream::new(Ahead { bytes: ahead, pos: 0, inner: s });
                            }
                            break;
                        }
                        Tunnel::Answer(a, same) => {
                            // An NTLM handshake takes two answers; it ends by itself.
                            answered |= !ntlm.active();
                            auth = Some(a);
                            if !same {
                                // The proxy closed after its 407: the answer goes on a new connection.
                                let addr = first_hop.ok_or_else(|| {
                                    Error::new(code::COULDNT_CONNECT, "Proxy CONNECT: no address to connect again")
                                })?;
                                let sock = self.reconnect(addr).await?;
                                s = self.proxy_layers(sock, p).await?;
                            }
                        }
                    }
                }
            }
        }
        if self.o.proxy.haproxy || self.o.proxy.haproxy_client_ip.is_some() {
            let addr = |a: std::io::Result<socket2::SockAddr>| a.ok().and_then(|a| a.as_socket());
            let (local, peer) = (addr(s.sock().socket().local_addr()), addr(s.sock().socket().peer_addr()));
            if let (Some(local), Some(peer)) = (local, peer) {
                let line = proxy::haproxy_line(local, peer, self.o.proxy.haproxy_client_ip.as_deref());
                net::write_all(&mut s, line.as_bytes())
                    .await
                    .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending HAProxy PROXY header: {e}")))?;
            }
        }
        Ok(s)
    }

    /// The layers up to the HTTP(S) proxy itself: the SOCKS pre-proxy's handshake, TLS to an
    /// HTTPS proxy.
    async fn proxy_layers(&mut self, sock: Sock, p: &Proxy) -> Result<Stream> {
        let mut sock = sock;
        if let Some(pre) = &p.pre {
            sock = self.through_pre_proxy(sock, pre, p).await?;
        }
        Ok(match p.https {
            Some(_) => Stream::new(self.proxy_tls(sock, p).await?),
            None => Stream::new(sock),
        })
    }

    /// The SOCKS handshake with the pre-proxy to the HTTP proxy's host and port; the socket then
    /// reaches the HTTP proxy.
    async fn through_pre_proxy(&mut self, mut sock: Sock, pre: &PreProxy, p: &Proxy) -> Result<Sock> {
        self.open_socks(&mut sock, pre.socks, pre.credentials.as_ref(), &p.host, p.port).await?;
        Ok(sock)
    }

    /// TLS to an HTTPS proxy under the PROXY_* TLS options (PROXY_SSL_VERIFYRESULT records it).
    async fn proxy_tls(&mut self, sock: Sock, p: &Proxy) -> Result<TlsStream<Sock>> {
        self.note_proxy_peer(&sock);
        // OpenSSL's result reads "unspecified" (1) until a verification ran, bad options included.
        self.info.proxy_ssl_verifyresult = 1;
        let mut opts = self.o.proxy.tls.clone();
        opts.alpn = vec![b"http/1.1".to_vec()];
        let cfg = crate::engine::tls::client_config(&opts).map_err(|e| Error::new(e.code, e.message))?;
        let name = rustls_pki_types::ServerName::try_from(p.host.clone())
            .map_err(|_| Error::new(code::URL_MALFORMAT, format!("invalid TLS server name: {}", p.host)))?;
        let mut t = TlsStream::new(sock, cfg, name).map_err(|e| Error::new(code::SSL_CONNECT_ERROR, e.to_string()))?;
        if let Err(e) = t.handshake().await {
            let origin = self.info.ssl_verifyresult;
            let err = self.tls_error(e, &p.host);
            self.info.proxy_ssl_verifyresult = self.info.ssl_verifyresult;
            self.info.ssl_verifyresult = origin;
            return Err(err);
        }
        // The chain verified before the pin is checked, so a pin mismatch still reads 0.
        self.info.proxy_ssl_verifyresult = 0;
        if let Some(pin) = &self.o.proxy.tls.pinned_pubkey {
            let ee = t.tls.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default();
            crate::engine::tls::check_pinned(pin, &ee).map_err(|e| Error::new(e.code, e.message))?;
        }
        Ok(t)
    }

    /// Chooses the proxy for the request to `url` about to be set up, under this handle's options
    /// and the process environment: once per request (a redirect's may differ), as libcurl reads
    /// the environment when each request sets up its connection. The pool key, the connect and
    /// the request head read the choice (`proxy`).
    pub(super) fn choose_proxy(&mut self, url: &Url) {
        // A Unix socket is the whole path: libcurl uses no proxy with one.
        self.proxy = if self.o.route.unix_socket.is_some() {
            Ok(None)
        } else {
            match proxy::for_url(&self.o.proxy, &url.scheme, &url.host, &proxy::process_env) {
                Ok(p) => Ok(p.map(Box::new)),
                Err(e) => Err(Box::new(e)),
            }
        };
    }

    /// The proxy chosen for the request in progress; the error of an unusable proxy setting is
    /// the connect's to report (the pool key and the request head read it as no proxy).
    pub(super) fn proxy(&self) -> Result<Option<&Proxy>> {
        match &self.proxy {
            Ok(p) => Ok(p.as_deref()),
            Err(e) => Err((**e).clone()),
        }
    }

    /// Records which auth schemes a 407 offers (PROXYAUTH_AVAIL).
    pub(super) fn note_proxy_challenge(&mut self, offered: &[&str]) {
        self.info.proxyauth_avail |= proxy::offered(offered);
    }

    /// A failed handshake still reports the proxy as the primary address, as libcurl does.
    fn note_proxy_peer(&mut self, sock: &Sock) {
        if let Some(a) = sock.socket().peer_addr().ok().and_then(|a| a.as_socket()) {
            self.info.primary_ip = Some(a.ip().to_string());
            self.info.primary_port = a.port() as i64;
        }
    }

    /// Sends one CONNECT for `url`'s host and port through the proxy at the other end of `sock`
    /// with `auth` as Proxy-Authorization. A 407 that PROXYAUTH can answer (when `may_answer`)
    /// comes back as the answer, and whether the proxy kept the connection for it.
    async fn open_tunnel(
        &mut self,
        sock: &mut Stream,
        p: &Proxy,
        url: &Url,
        auth: Option<&str>,
        may_answer: bool,
        ntlm: &mut NtlmStep,
    ) -> Result<Tunnel> {
        self.note_proxy_peer(sock.sock());
        let req = proxy::connect_request(
            p,
            &self.o.proxy,
            &url.host,
            url.port_or_default(),
            self.o.user_agent.as_deref(),
            &self.o.headers,
            auth,
        );
        self.text(format_args!("Establishing HTTP proxy tunnel to {}:{}", url.host, url.port_or_default()));
        self.debug_data(debug_kind::HEADER_OUT, &req);
        net::write_all(sock, &req)
            .await
            .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending CONNECT to proxy: {e}")))?;
        let mut parser = HeadParser::new(true);
        let mut buf: Vec<u8> = Vec::new();
        let mut status = 0u16;
        let mut headers: Vec<(String, String)> = Vec::new();
        let suppress = self.o.proxy.suppress_connect_headers;
        let mut head_bytes = 0usize;
        loop {
            let next = match parser.next(&buf, false) {
                Ok(x) => x,
                Err(e) => return Err(self.connect_head_error(e, status, &buf).await),
            };
            let (ev, used) = match next {
                Some(x) => x,
                None => {
                    let mut chunk = [0u8; 4096];
                    let n = net::read(sock, &mut chunk)
                        .await
                        .map_err(|e| Error::new(code::RECV_ERROR, format!("Recv failure: {e}")))?;
                    if n == 0 {
                        return Err(Error::new(code::RECV_ERROR, "Proxy CONNECT aborted"));
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    continue;
                }
            };
            let (line, end) = match ev {
                HeadEvent::Status(st) => {
                    status = st.code;
                    self.info.http_connectcode = status as i64;
                    (st.line.to_vec(), false)
                }
                HeadEvent::Header(line) => {
                    let (n, v) = head::split_header(&line);
                    headers.push((String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()));
                    (line.into_owned(), false)
                }
                HeadEvent::End(blank) => (blank.to_vec(), true),
                HeadEvent::Http09 => {
                    let e = Error::new(code::UNSUPPORTED_PROTOCOL, "Received HTTP/0.9 when not allowed");
                    return Err(self.connect_head_error(e, status, &buf).await);
                }
            };
            buf.drain(..used);
            self.debug_data(debug_kind::HEADER_IN, &line);
            if !suppress {
                self.deliver_header(&line).await?;
            }
            // libcurl's 300 KiB bound on a CONNECT answer's head, counted after each delivered line.
            head_bytes += line.len();
            if head_bytes > head::MAX_HEAD {
                return Err(Error::new(
                    code::RECV_ERROR,
                    format!("Too large response headers: {head_bytes} > {}", head::MAX_HEAD),
                ));
            }
            if end {
                // A 1xx before the final answer is delivered and skipped, as libcurl does.
                if (100..200).contains(&status) {
                    parser = HeadParser::new(true);
                    continue;
                }
                break;
            }
        }
        self.info.http_connectcode = status as i64;
        if status == 407 {
            let challenges = header_values(&headers, "proxy-authenticate");
            self.note_proxy_challenge(&challenges);
            let authority = authority(url);
            let want = self.o.proxy.auth.unwrap_or(crate::engine::auth::BASIC);
            let mut gave_up = false;
            let mut answer = None;
            if let Some((u, pw)) = &p.credentials {
                match ntlm.input(&challenges, want) {
                    Ok(true) => {
                        self.text(format_args!("Proxy auth using NTLM with user '{u}'"));
                        answer = ntlm.output(u, pw, false).map_err(too_big)?;
                    }
                    Ok(false) => {}
                    Err(why) => {
                        self.text(format_args!("{why}"));
                        self.text(format_args!("Authentication problem. Ignoring this."));
                        gave_up = true;
                    }
                }
            }
            let answer = if answer.is_some() {
                answer
            } else if may_answer && !gave_up && !ntlm.active() {
                let a = self.o.proxy.auth;
                self.easy.with_digest(|d| p.answer_407(a, &challenges, "CONNECT", &authority, &mut d.proxy))
            } else {
                None
            };
            if let Some(a) = answer {
                let same = skip_407_body(sock, &headers, buf).await;
                return Ok(Tunnel::Answer(a, same));
            }
        }
        if !(200..300).contains(&status) {
            return Err(Error::new(code::COULDNT_CONNECT, format!("CONNECT tunnel failed, response {status}")));
        }
        self.text(format_args!("CONNECT tunnel established, response {status}"));
        // Bytes after a 2xx head are the tunnel's first (libcurl reads no body there, whatever the
        // head says): TLS or HTTP reads them first.
        Ok(Tunnel::Open(buf))
    }

    /// A CONNECT answer the head parser refused, in libcurl's words for a proxy: a first line that
    /// is no status line is delivered, then "Invalid response header" (8), unless it holds a NUL;
    /// a line of 100 KiB or more is "CONNECT response too large" (56).
    async fn connect_head_error(&mut self, e: Error, status: u16, buf: &[u8]) -> Error {
        if e.code == code::TOO_LARGE {
            return Error::new(code::RECV_ERROR, "CONNECT response too large");
        }
        if status != 0 || e.code != code::UNSUPPORTED_PROTOCOL {
            return e;
        }
        let line = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => &buf[..=i],
            None => buf,
        };
        if line.contains(&0) {
            return Error::new(code::WEIRD_SERVER_REPLY, "NUL byte in header");
        }
        self.debug_data(debug_kind::HEADER_IN, line);
        if !self.o.proxy.suppress_connect_headers {
            if let Err(e) = self.deliver_header(line).await {
                return e;
            }
        }
        Error::new(code::WEIRD_SERVER_REPLY, "Invalid response header")
    }

    /// The SOCKS handshake through the proxy at the other end of `sock` to `host` and `port`.
    async fn open_socks<S: net::Io + ?Sized>(
        &mut self,
        sock: &mut S,
        kind: Socks,
        credentials: Option<&(String, String)>,
        host: &str,
        port: u16,
    ) -> Result<()> {
        self.note_proxy_peer(sock.sock());
        let addr;
        let dest = if kind.resolves_locally() {
            let ipr = if kind == Socks::V4 { resolve::IpResolve::V4 } else { self.o.ip_resolve };
            let addrs =
                resolve::resolve(&self.sh.reactor, &self.sh.dns, &[], host, port, ipr, self.o.dns_cache_timeout)
                    .await?;
            addr = addrs
                .first()
                .copied()
                .ok_or_else(|| Error::new(code::COULDNT_RESOLVE_HOST, format!("Could not resolve host: {host}")))?;
            Dest::Addr(addr)
        } else {
            Dest::Name(host, port)
        };
        let (user, pass) = match credentials {
            Some((u, pw)) => (u.as_str(), pw.as_str()),
            None => ("", ""),
        };
        let r = match kind {
            Socks::V4 | Socks::V4a => socks::socks4(sock, dest, user).await,
            Socks::V5 | Socks::V5h => socks::socks5(sock, dest, credentials.map(|_| (user, pass))).await,
        };
        r.map_err(|e| {
            self.info.proxy_error = e.px;
            Error::new(code::PROXY, e.message)
        })
    }
}

/// How one CONNECT ended short of an error.
enum Tunnel {
    /// The tunnel is up; what the proxy sent after its head, for the layer above to read first.
    Open(Vec<u8>),
    /// A 407 to answer with this Proxy-Authorization; true when on the same connection.
    Answer(String, bool),
}

/// Reads a 407's body (the part after the head in `buf`, then the rest by Content-Length) so that
/// the connection can carry the answer. False when the proxy closes it (or the body has no length).
/// An HTTP/1.0 answer without `Connection: close` is taken as kept open, as libcurl takes it (a
/// proxy that closes it anyway fails the CONNECT with "Proxy CONNECT aborted", as with libcurl).
async fn skip_407_body(sock: &mut Stream, headers: &[(String, String)], buf: Vec<u8>) -> bool {
    let has = |name: &str, token: &str| {
        headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(name) && v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    let closes = has("connection", "close") || has("proxy-connection", "close");
    if closes || has("transfer-encoding", "chunked") {
        return false;
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let Some(mut left) = length else { return false };
    if buf.len() > left {
        return false;
    }
    left -= buf.len();
    let mut chunk = [0u8; 4096];
    while left > 0 {
        match net::read(sock, &mut chunk[..left.min(4096)]).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => left -= n,
        }
    }
    true
}

/// libcurl's digest uri for CONNECT: the authority, "host:port".
fn authority(url: &Url) -> String {
    if url.host.contains(':') {
        format!("[{}]:{}", url.host, url.port_or_default())
    } else {
        format!("{}:{}", url.host, url.port_or_default())
    }
}

/// A tunnel whose proxy sent bytes after its 2xx head: they are read before the socket's.
struct Ahead {
    bytes: Vec<u8>,
    pos: usize,
    inner: Stream,
}

impl net::Io for Ahead {
    fn poll_read(
        &mut self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.pos < self.bytes.len() {
            let n = buf.len().min(self.bytes.len() - self.pos);
            buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
            self.pos += n;
            return std::task::Poll::Ready(Ok(n));
        }
        self.inner.poll_read(cx, buf)
    }
    fn poll_write(&mut self, cx: &mut std::task::Context<'_>, buf: &[u8]) -> std::task::Poll<std::io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }
    fn poll_flush(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        self.inner.poll_flush(cx)
    }
    fn sock(&self) -> &Sock {
        self.inner.sock()
    }
    fn sock_mut(&mut self) -> &mut Sock {
        self.inner.sock_mut()
    }
}

/// An NTLM type-3 libcurl cannot build (its 1 KiB message buffer).
fn too_big(e: crate::engine::auth::ntlm::TooBig) -> Error {
    Error::new(code::TOO_LARGE, e.0)
}
