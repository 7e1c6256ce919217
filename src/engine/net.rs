//! A connection is a stack of layers behind one I/O trait, `Io`: poll read, poll write, flush, and
//! the socket at the bottom for the reactor.
//!
//! ```text
//!   protocol (HTTP/1 codec in transfer::exchange; h2 later)
//!      │  Stream = Box<dyn Io>
//!   TlsStream<S: Io>          (TLS over any layer: TLS inside a proxy's TLS is TlsStream<TlsStream<…>>)
//!   (HTTP CONNECT tunnel, SOCKS: future layers, each generic over the one below)
//!   Sock                      nonblocking TCP socket, registered with a reactor while in use
//! ```
//!
//! Every read or write is tried first; on EAGAIN the task's waker is stored as read or write interest
//! for the fd and the call returns Pending. Upper layers see that as Pending from the layer below.
//! Closing an fd is deferred until its REMOVE has been reported (see `Reactor::bury`), so an fd number
//! is never reused under the application's feet. A socket parked in the pool is detached from its
//! reactor and attached again (to whichever multi takes it) before use.

use std::future::poll_fn;
use std::io::{self, BufRead, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use socket2::Socket;

use super::rt::Reactor;
use super::sys::{self, Fd};

pub use super::rt::Closer;

/// One layer of a connection. Pending means the layer below has registered the task's interest.
pub trait Io {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    /// Pushes out what this layer (and those below) still hold.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads by lending the bytes this layer holds already (TLS plaintext): `take` copies what it
    /// can from each slice and says how much it took, so the bytes move once, not through a
    /// buffer of the caller's in between. None: the layer keeps no bytes of its own (use
    /// `poll_read`). Ready(Ok(0)) is the end of the stream.
    fn poll_lend(
        &mut self,
        _cx: &mut Context<'_>,
        _take: &mut dyn FnMut(&[u8]) -> usize,
    ) -> Option<Poll<io::Result<usize>>> {
        None
    }
    /// The socket at the bottom of the stack.
    fn sock(&self) -> &Sock;
    fn sock_mut(&mut self) -> &mut Sock;
}

/// A nonblocking TCP socket, registered with a reactor while attached.
pub struct Sock {
    sock: Option<Socket>,
    fd: Fd,
    reactor: Option<Rc<Reactor>>,
    closer: Option<Closer>,
    /// Parked with the readiness cache saying drained: the next reactor keeps that (see `attach`).
    parked_drained: bool,
}

fn detached() -> io::Error {
    io::Error::other("socket used while parked (not attached to a reactor)")
}

impl Sock {
    pub fn new(sock: Socket, reactor: &Rc<Reactor>, closer: Option<Closer>) -> Sock {
        let fd = sys::fd_of(&sock);
        reactor.register(fd);
        Sock { sock: Some(sock), fd, reactor: Some(reactor.clone()), closer, parked_drained: false }
    }

    /// Leaves the reactor (a connection parked idle): its interest is reported removed.
    pub fn detach(&mut self) {
        if let Some(r) = self.reactor.take() {
            self.parked_drained = r.is_drained(self.fd);
            r.deregister(self.fd);
        }
    }

    /// Joins `reactor` (a parked connection taken for a transfer, or one about to be closed).
    pub fn attach(&mut self, reactor: &Rc<Reactor>) {
        if self.reactor.is_none() {
            reactor.register(self.fd);
            // A connection parked drained has nothing to read until the application's poll says so:
            // reading at once after the next request would mostly be a failing recv (EAGAIN).
            if self.parked_drained && !reactor.read_at_once.get() {
                reactor.set_drained(self.fd);
            }
            self.reactor = Some(reactor.clone());
        }
    }

    pub fn is_attached(&self) -> bool {
        self.reactor.is_some()
    }

    fn reactor(&self) -> io::Result<&Reactor> {
        self.reactor.as_deref().ok_or_else(detached)
    }

    pub fn fd(&self) -> Fd {
        self.fd
    }

    pub fn socket(&self) -> &Socket {
        self.sock.as_ref().unwrap()
    }

    /// Reads what is there. A read that finds the socket drained (EAGAIN, or fewer bytes than
    /// asked) marks it so; the next read then waits for a readiness report instead of a recv that
    /// would most likely fail. Applications poll level-triggered, so nothing is missed.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let reactor = self.reactor()?;
        if reactor.is_drained(self.fd) {
            reactor.want_read(self.fd, cx.waker());
            return Poll::Pending;
        }
        match sys::recv(self.fd, buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                reactor.set_drained(self.fd);
                reactor.want_read(self.fd, cx.waker());
                Poll::Pending
            }
            Ok(n) if n > 0 && n < buf.len() => {
                reactor.set_drained(self.fd);
                Poll::Ready(Ok(n))
            }
            r => Poll::Ready(r),
        }
    }

    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let reactor = self.reactor()?;
        match sys::send(self.fd, buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                reactor.want_write(self.fd, cx.waker());
                Poll::Pending
            }
            r => Poll::Ready(r),
        }
    }

    /// Waits until the socket is writable (nonblocking connect in progress).
    pub async fn writable(&self) {
        let mut first = true;
        let Some(reactor) = self.reactor.as_deref() else { return };
        poll_fn(|cx| {
            if first {
                first = false;
                reactor.want_write(self.fd, cx.waker());
                return Poll::Pending;
            }
            // Woken: either the reactor said writable, or a spurious wake; check with poll(0).
            if sys::ready_now(self.fd, sys::OUT) {
                Poll::Ready(())
            } else {
                reactor.want_write(self.fd, cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    /// The next connection on a listening socket (FTP's active mode), as a nonblocking socket.
    pub async fn accept(&self) -> io::Result<Socket> {
        let reactor = self.reactor()?;
        let lsn = self.socket();
        poll_fn(|cx| match lsn.accept() {
            Ok((s, _)) => Poll::Ready(s.set_nonblocking(true).map(|_| s)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                reactor.want_read(self.fd, cx.waker());
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        })
        .await
    }

    /// Is an idle pooled connection still usable: no EOF, no unexpected data, no error pending.
    pub fn is_alive(&self) -> bool {
        sys::idle_alive(self.fd)
    }
}

impl Io for Sock {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Sock::poll_read(self, cx, buf)
    }
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Sock::poll_write(self, cx, buf)
    }
    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn sock(&self) -> &Sock {
        self
    }
    fn sock_mut(&mut self) -> &mut Sock {
        self
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        let Some(s) = self.sock.take() else { return };
        let fd = sys::release(s);
        match &self.reactor {
            Some(r) => {
                r.deregister(self.fd);
                r.bury(fd, self.closer.take());
            }
            // Parked and never attached again: its REMOVE went out when it was parked.
            None => match self.closer.take() {
                Some(c) => c(fd),
                None => sys::close(fd),
            },
        }
    }
}

/// Creates a nonblocking TCP socket for `addr`'s family.
pub fn new_socket(addr: &SocketAddr) -> io::Result<Socket> {
    sys::tcp_socket(addr)
}

/// (family, type, protocol) of a Unix-domain stream socket as libcurl hands them to
/// OPENSOCKETFUNCTION: AF_UNIX is 1 on every system (Winsock too), the type is the TCP one's.
pub fn unix_socket_triple() -> (i32, i32, i32) {
    let (_, ty, _) = sys::socket_triple(&SocketAddr::from(([127, 0, 0, 1], 0)));
    (1, ty, 0)
}

/// Adopts an fd the application opened (OPENSOCKETFUNCTION).
pub fn adopt_fd(fd: Fd) -> io::Result<Socket> {
    sys::adopt(fd)
}

/// A connection's byte stream: the top of its stack of layers.
pub struct Stream(Box<dyn Io>);

impl Stream {
    pub fn new(io: impl Io + 'static) -> Stream {
        Stream(Box::new(io))
    }

    pub fn sock(&self) -> &Sock {
        self.0.sock()
    }

    pub fn sock_mut(&mut self) -> &mut Sock {
        self.0.sock_mut()
    }

    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }

    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.poll_write(cx, buf)
    }

    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_flush(cx)
    }

    pub fn poll_lend(
        &mut self,
        cx: &mut Context<'_>,
        take: &mut dyn FnMut(&[u8]) -> usize,
    ) -> Option<Poll<io::Result<usize>>> {
        self.0.poll_lend(cx, take)
    }

    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.0.poll_read(cx, buf)).await
    }

    /// Writes all of `buf` and flushes every layer.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        write_all(&mut *self.0, buf).await
    }

    pub fn is_alive(&self) -> bool {
        self.0.sock().is_alive()
    }
}

/// A whole stack is itself a layer (for layers built on top of a proxy's).
impl Io for Stream {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.poll_write(cx, buf)
    }
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_flush(cx)
    }
    fn poll_lend(
        &mut self,
        cx: &mut Context<'_>,
        take: &mut dyn FnMut(&[u8]) -> usize,
    ) -> Option<Poll<io::Result<usize>>> {
        self.0.poll_lend(cx, take)
    }
    fn sock(&self) -> &Sock {
        self.0.sock()
    }
    fn sock_mut(&mut self) -> &mut Sock {
        self.0.sock_mut()
    }
}

/// Writes all of `buf` through a layer and flushes it.
pub async fn write_all<S: Io + ?Sized>(io: &mut S, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| io.poll_write(cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    poll_fn(|cx| io.poll_flush(cx)).await
}

/// Reads some bytes through a layer.
pub async fn read<S: Io + ?Sized>(io: &mut S, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| io.poll_read(cx, buf)).await
}

/// The layer below seen as std::io for rustls: Pending becomes WouldBlock (the interest is already
/// registered by the layer that would block).
struct Below<'a, 'b, S> {
    io: &'a mut S,
    cx: &'a mut Context<'b>,
}

impl<S: Io> Read for Below<'_, '_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.io.poll_read(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl<S: Io> Write for Below<'_, '_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.io.poll_write(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.io.poll_flush(self.cx) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// Ciphertext read per recv: rustls asks the layer below for 4 KiB at a time, a recv per
/// quarter of a full record; reading ahead into a buffer of our own takes two full records at once.
const TLS_READ_AHEAD: usize = 32 << 10;

/// TLS (rustls) over any layer.
pub struct TlsStream<S> {
    pub inner: S,
    pub tls: rustls::ClientConnection,
    /// Ciphertext read from below and not yet handed to rustls (`ahead[pos..end]`; allocated
    /// at the first read).
    ahead: Vec<u8>,
    pos: usize,
    end: usize,
    /// A record that failed after others decrypted: reported once their plaintext is read, as
    /// OpenSSL hands over what came before a bad record.
    failed: Option<io::Error>,
}

impl<S: Io> TlsStream<S> {
    pub fn new(
        inner: S,
        config: Arc<rustls::ClientConfig>,
        name: rustls_pki_types::ServerName<'static>,
    ) -> Result<TlsStream<S>, rustls::Error> {
        let tls = rustls::ClientConnection::new(config, name)?;
        Ok(TlsStream { inner, tls, ahead: Vec::new(), pos: 0, end: 0, failed: None })
    }

    /// Drives the handshake to completion.
    pub async fn handshake(&mut self) -> io::Result<()> {
        poll_fn(|cx| {
            while self.tls.is_handshaking() {
                if self.tls.wants_write() {
                    match self.tls.write_tls(&mut Below { io: &mut self.inner, cx }) {
                        Ok(_) => continue,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                match self.read_tls_once(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            // Flush what the handshake left (client Finished).
            self.flush_tls(cx)
        })
        .await
    }

    /// Reads one batch of TLS records (from what was read ahead, else from the layer below) and
    /// processes them.
    fn read_tls_once(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pos == self.end {
            if self.ahead.is_empty() {
                self.ahead = vec![0u8; TLS_READ_AHEAD];
            }
            match self.inner.poll_read(cx, &mut self.ahead) {
                Poll::Ready(Ok(n)) => (self.pos, self.end) = (0, n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        // An empty source is the peer's EOF for rustls.
        let mut src = &self.ahead[self.pos..self.end];
        let took = self.tls.read_tls(&mut src);
        if let Ok(n) = took {
            self.pos += n;
        }
        match took {
            Ok(0) => {
                // EOF from the peer; let rustls see it, later reads report it.
                if let Err(e) = self.tls.process_new_packets() {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
                }
                if self.tls.is_handshaking() {
                    return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                }
                Poll::Ready(Ok(()))
            }
            Ok(_) => match self.tls.process_new_packets() {
                Ok(_) => Poll::Ready(Ok(())),
                Err(e) => {
                    // Send the alert before failing.
                    let _ = self.tls.write_tls(&mut Below { io: &mut self.inner, cx });
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)))
                }
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Writes out the records rustls holds, then flushes the layer below.
    fn flush_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut Below { io: &mut self.inner, cx }) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        self.inner.poll_flush(cx)
    }
}

impl<S: Io> Io for TlsStream<S> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            if let Some(e) = self.failed.take() {
                return Poll::Ready(Err(e));
            }
            if self.tls.wants_write() {
                let _ = self.flush_tls(cx);
            }
            match self.read_tls_once(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => self.failed = Some(e),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Plaintext straight from rustls's buffers to the caller's, every record decrypted so far in
    /// one call.
    fn poll_lend(
        &mut self,
        cx: &mut Context<'_>,
        take: &mut dyn FnMut(&[u8]) -> usize,
    ) -> Option<Poll<io::Result<usize>>> {
        let mut total = 0;
        Some(loop {
            let mut r = self.tls.reader();
            match r.fill_buf() {
                // close_notify: the end, after what was taken (the next call says 0).
                Ok([]) => break Poll::Ready(Ok(total)),
                Ok(b) => {
                    let len = b.len();
                    let n = take(b);
                    r.consume(n);
                    total += n;
                    if n < len {
                        break Poll::Ready(Ok(total));
                    }
                    continue;
                }
                Err(_) if total > 0 => break Poll::Ready(Ok(total)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => break Poll::Ready(Err(e)),
            }
            if self.tls.wants_write() {
                let _ = self.flush_tls(cx);
            }
            match self.read_tls_once(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
        })
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        // Keep the TLS send buffer bounded: flush before accepting more plaintext.
        if self.tls.wants_write() && self.flush_tls(cx)?.is_pending() {
            return Poll::Pending;
        }
        let n = self.tls.writer().write(buf)?;
        let _ = self.flush_tls(cx)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.flush_tls(cx)
    }

    fn sock(&self) -> &Sock {
        self.inner.sock()
    }

    fn sock_mut(&mut self) -> &mut Sock {
        self.inner.sock_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rt::Executor;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use std::cell::RefCell;
    use std::future::Future;
    use std::time::{Duration, Instant};

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// Runs `fut` on an executor, polling the reactor's interest with poll(2) as a multi would.
    fn drive<T: 'static>(reactor: &Rc<Reactor>, fut: impl Future<Output = T> + 'static) -> T {
        let ex = Executor::default();
        let out = Rc::new(RefCell::new(None));
        let o2 = out.clone();
        ex.spawn(async move { *o2.borrow_mut() = Some(fut.await) });
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            ex.run_ready(1000);
            if let Some(v) = out.borrow_mut().take() {
                return v;
            }
            assert!(Instant::now() < give_up, "stuck");
            let _ = reactor.take_changes();
            for (fd, ev) in sys::poll(&reactor.interests(), 100).unwrap() {
                reactor.ready(fd, ev);
            }
        }
    }

    struct Ca {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    fn leaf(ca: &Ca, name: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_string()]).unwrap().signed_by(&key, &ca.cert, &ca.key).unwrap();
        (cert.der().clone(), PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
    }

    fn server_config(ca: &Ca, name: &str) -> Arc<rustls::ServerConfig> {
        let (cert, key) = leaf(ca, name);
        let b = rustls::ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().unwrap();
        Arc::new(b.with_no_client_auth().with_single_cert(vec![cert], key).unwrap())
    }

    fn new_ca() -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        Ca { cert: p.self_signed(&key).unwrap(), key }
    }

    /// A client that trusts `ca` alone.
    fn client_config(ca: &Ca) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.cert.der().clone()).unwrap();
        let b = rustls::ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().unwrap();
        Arc::new(b.with_root_certificates(roots).with_no_client_auth())
    }

    /// TLS to a server whose TLS session carries a second TLS session (an HTTPS proxy's tunnel):
    /// two `TlsStream` layers over one socket, each checking its own server's certificate.
    #[test]
    fn tls_inside_tls_over_loopback() {
        let ca = new_ca();
        let (outer_cfg, inner_cfg) = (server_config(&ca, "proxy.test"), server_config(&ca, "origin.test"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let outer = rustls::StreamOwned::new(rustls::ServerConnection::new(outer_cfg).unwrap(), tcp);
            let mut inner = rustls::StreamOwned::new(rustls::ServerConnection::new(inner_cfg).unwrap(), outer);
            let mut buf = [0u8; 5];
            inner.read_exact(&mut buf).unwrap();
            inner.write_all(&buf.to_ascii_uppercase()).unwrap();
            inner.flush().unwrap();
            let names = |c: &rustls::ServerConnection| c.server_name().map(str::to_string);
            (names(&inner.conn), names(&inner.sock.conn))
        });

        let client = client_config(&ca);
        let reactor = Rc::new(Reactor::default());
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_nonblocking(true).unwrap();
        let sock = Sock::new(Socket::from(tcp), &reactor, None);
        let fd = sock.fd();
        let got = drive(&reactor, async move {
            let mut proxy = TlsStream::new(sock, client.clone(), "proxy.test".try_into().unwrap()).unwrap();
            proxy.handshake().await?;
            let mut origin = TlsStream::new(proxy, client, "origin.test".try_into().unwrap()).unwrap();
            origin.handshake().await?;
            assert_eq!(origin.sock().fd(), fd, "both layers sit on the one socket");
            write_all(&mut origin, b"hello").await?;
            let mut buf = [0u8; 16];
            let n = read(&mut origin, &mut buf).await?;
            io::Result::Ok(buf[..n].to_vec())
        });
        assert_eq!(got.unwrap(), b"HELLO");
        assert_eq!(
            server.join().unwrap(),
            (Some("origin.test".to_string()), Some("proxy.test".to_string())),
            "SNI of each layer"
        );
    }

    /// Plaintext lent by the TLS layer arrives whole and in order, across records and a taker
    /// with little room, then the end of the stream after the server's close_notify.
    #[test]
    fn tls_lends_its_plaintext_across_records_then_the_end() {
        let ca = new_ca();
        let cfg = server_config(&ca, "origin.test");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sent: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let expect = sent.clone();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut tls = rustls::StreamOwned::new(rustls::ServerConnection::new(cfg).unwrap(), tcp);
            let mut buf = [0u8; 2];
            tls.read_exact(&mut buf).unwrap();
            // Three records (16 KiB each at most), then close_notify.
            tls.write_all(&sent).unwrap();
            tls.conn.send_close_notify();
            tls.flush().unwrap();
        });
        let client = client_config(&ca);
        let reactor = Rc::new(Reactor::default());
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_nonblocking(true).unwrap();
        let sock = Sock::new(Socket::from(tcp), &reactor, None);
        let got = drive(&reactor, async move {
            let mut t = TlsStream::new(sock, client, "origin.test".try_into().unwrap()).unwrap();
            t.handshake().await?;
            write_all(&mut t, b"go").await?;
            let mut got = Vec::new();
            loop {
                let n = poll_fn(|cx| {
                    let mut take = |b: &[u8]| {
                        // Room for 7,000 bytes a call: a record is taken in pieces.
                        let n = b.len().min(7_000 - (got.len() % 7_000));
                        got.extend_from_slice(&b[..n]);
                        n
                    };
                    t.poll_lend(cx, &mut take).expect("TLS lends")
                })
                .await?;
                if n == 0 {
                    break;
                }
            }
            io::Result::Ok(got)
        });
        server.join().unwrap();
        assert!(got.as_ref().unwrap() == &expect, "{:?}", got.map(|g| g.len()));
        let plain = Sock::new(sys::socket_pair().unwrap().0, &reactor, None);
        let mut plain = Stream::new(plain);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(plain.poll_lend(&mut cx, &mut |b: &[u8]| b.len()).is_none(), "a socket holds nothing");
    }

    #[test]
    fn a_parked_socket_leaves_the_reactor_and_comes_back() {
        let reactor = Rc::new(Reactor::default());
        let (a, _b) = sys::socket_pair().unwrap();
        let mut s = Sock::new(a, &reactor, None);
        let fd = s.fd();
        let w = std::task::Waker::noop();
        reactor.want_read(fd, w);
        assert_eq!(reactor.take_changes().len(), 1);
        s.detach();
        assert!(!s.is_attached());
        let ch = reactor.take_changes();
        assert_eq!((ch[0].fd, ch[0].what), (fd, crate::engine::rt::POLL_REMOVE));
        let mut cx = Context::from_waker(w);
        assert!(matches!(s.poll_read(&mut cx, &mut [0u8; 4]), Poll::Ready(Err(_))), "no reactor: no waiting");
        let other = Rc::new(Reactor::default());
        s.attach(&other);
        assert!(s.poll_read(&mut cx, &mut [0u8; 4]).is_pending());
        assert_eq!(other.take_changes().len(), 1, "interest reported to the new reactor");
        assert!(reactor.take_changes().is_empty());
    }
}
