//! The proxy hop of the connection chain: which proxy a request goes through, and the HTTP CONNECT
//! tunnel through it (the response head goes to HEADERFUNCTION as libcurl delivers it).

use crate::engine::error::{code, Error, Result};
use crate::engine::http1::head::{HeadEvent, HeadParser};
use crate::engine::net::{self, Sock};
use crate::engine::proxy::socks::{self, Dest, Socks};
use crate::engine::proxy::{self, Proxy};
use crate::engine::resolve;
use crate::engine::url::Url;

use super::*;

impl Xfer {
    /// The proxy for `url` under this handle's options and the process environment.
    pub(super) fn proxy_for(&self, url: &Url) -> Result<Option<Proxy>> {
        proxy::for_url(&self.o.proxy, &url.scheme, &url.host, &proxy::process_env)
    }

    /// Records which auth schemes a 407 offers (PROXYAUTH_AVAIL).
    pub(super) fn note_proxy_challenge(&mut self, headers: &[(String, String)]) {
        let offered: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("proxy-authenticate"))
            .map(|(_, v)| v.as_str())
            .collect();
        self.info.proxyauth_avail |= proxy::offered(&offered);
    }

    /// A failed handshake still reports the proxy as the primary address, as libcurl does.
    fn note_proxy_peer(&mut self, sock: &Sock) {
        if let Some(a) = sock.socket().peer_addr().ok().and_then(|a| a.as_socket()) {
            self.info.primary_ip = Some(a.ip().to_string());
            self.info.primary_port = a.port() as i64;
        }
    }

    /// Opens a CONNECT tunnel to `url`'s host and port through the proxy at the other end of `sock`.
    pub(super) async fn open_tunnel(&mut self, sock: &mut Sock, p: &Proxy, url: &Url) -> Result<()> {
        self.note_proxy_peer(sock);
        let req = proxy::connect_request(
            p,
            &self.o.proxy,
            &url.host,
            url.port_or_default(),
            self.o.user_agent.as_deref(),
            &self.o.headers,
        );
        self.text(format_args!("Establish HTTP proxy tunnel to {}:{}", url.host, url.port_or_default()));
        self.debug_data(debug_kind::HEADER_OUT, &req);
        net::write_all(sock, &req)
            .await
            .map_err(|e| Error::new(code::SEND_ERROR, format!("Failed sending CONNECT to proxy: {e}")))?;
        let mut parser = HeadParser::new(true);
        let mut buf: Vec<u8> = Vec::new();
        let mut status = 0u16;
        let mut headers: Vec<(String, String)> = Vec::new();
        let suppress = self.o.proxy.suppress_connect_headers;
        loop {
            let (ev, used) = match parser.next(&buf, false)? {
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
            buf.drain(..used);
            let (line, end) = match ev {
                HeadEvent::Status(st) => {
                    status = st.code;
                    (st.line, false)
                }
                HeadEvent::Header(line) => {
                    let (n, v) = crate::engine::http1::head::split_header(&line);
                    headers.push((String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()));
                    (line, false)
                }
                HeadEvent::End(blank) => (blank, true),
                HeadEvent::Http09 => return Err(Error::new(code::WEIRD_SERVER_REPLY, "Invalid CONNECT response")),
            };
            self.debug_data(debug_kind::HEADER_IN, &line);
            if !suppress {
                self.deliver_header(&line).await?;
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
            self.note_proxy_challenge(&headers);
        }
        if !(200..300).contains(&status) {
            return Err(Error::new(code::COULDNT_CONNECT, format!("CONNECT tunnel failed, response {status}")));
        }
        self.text(format_args!("CONNECT tunnel established, response {status}"));
        // Bytes after the head would be the origin's, and no origin speaks first on HTTP or TLS.
        Ok(())
    }

    /// The SOCKS handshake through the proxy at the other end of `sock` to `url`'s host and port.
    pub(super) async fn open_socks(&mut self, sock: &mut Sock, p: &Proxy, url: &Url) -> Result<()> {
        self.note_proxy_peer(sock);
        let kind = p.socks.unwrap_or(Socks::V5h);
        let port = url.port_or_default();
        let addr;
        let dest = if kind.resolves_locally() {
            let ipr = if kind == Socks::V4 { resolve::IpResolve::V4 } else { self.o.ip_resolve };
            let addrs =
                resolve::resolve(&self.sh.reactor, &self.sh.dns, &[], &url.host, port, ipr, self.o.dns_cache_timeout)
                    .await?;
            addr = addrs.first().copied().ok_or_else(|| {
                Error::new(code::COULDNT_RESOLVE_HOST, format!("Could not resolve host: {}", url.host))
            })?;
            Dest::Addr(addr)
        } else {
            Dest::Name(&url.host, port)
        };
        let (user, pass) = match &p.credentials {
            Some((u, pw)) => (u.as_str(), pw.as_str()),
            None => ("", ""),
        };
        let r = match kind {
            Socks::V4 | Socks::V4a => socks::socks4(sock, dest, user).await,
            Socks::V5 | Socks::V5h => socks::socks5(sock, dest, p.credentials.as_ref().map(|_| (user, pass))).await,
        };
        r.map_err(|e| {
            self.info.proxy_error = e.px;
            Error::new(code::PROXY, e.message)
        })
    }
}
