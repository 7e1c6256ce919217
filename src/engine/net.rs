//! Nonblocking sockets on the reactor: TCP connect, plain and TLS streams.
//!
//! Every read or write is tried first; on EAGAIN the task's waker is stored as read or write interest
//! for the fd and the call returns Pending. Closing an fd is deferred until its REMOVE has been
//! reported (see `Reactor::bury`), so an fd number is never reused under the application's feet.

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use socket2::{Domain, Protocol, Socket, Type};

use super::rt::Reactor;
use super::sys::{self, Fd};

pub use super::rt::Closer;

/// A nonblocking TCP socket registered with a reactor.
pub struct Sock {
    sock: Option<Socket>,
    fd: Fd,
    reactor: Rc<Reactor>,
    closer: Option<Closer>,
}

impl Sock {
    pub fn new(sock: Socket, reactor: &Rc<Reactor>, closer: Option<Closer>) -> Sock {
        let fd = sys::fd_of(&sock);
        reactor.register(fd);
        Sock { sock: Some(sock), fd, reactor: reactor.clone(), closer }
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
        if self.reactor.is_drained(self.fd) {
            self.reactor.want_read(self.fd, cx.waker());
            return Poll::Pending;
        }
        match (&*self).read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.reactor.set_drained(self.fd);
                self.reactor.want_read(self.fd, cx.waker());
                Poll::Pending
            }
            Ok(n) if n > 0 && n < buf.len() => {
                self.reactor.set_drained(self.fd);
                Poll::Ready(Ok(n))
            }
            r => Poll::Ready(r),
        }
    }

    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match (&*self).write(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.reactor.want_write(self.fd, cx.waker());
                Poll::Pending
            }
            r => Poll::Ready(r),
        }
    }

    /// Waits until the socket is writable (nonblocking connect in progress).
    pub async fn writable(&self) {
        let mut first = true;
        poll_fn(|cx| {
            if first {
                first = false;
                self.reactor.want_write(self.fd, cx.waker());
                return Poll::Pending;
            }
            // Woken: either the reactor said writable, or a spurious wake; check with poll(0).
            if sys::ready_now(self.fd, sys::OUT) {
                Poll::Ready(())
            } else {
                self.reactor.want_write(self.fd, cx.waker());
                Poll::Pending
            }
        })
        .await
    }

    /// Is an idle pooled connection still usable: no EOF, no unexpected data, no error pending.
    pub fn is_alive(&self) -> bool {
        sys::idle_alive(self.fd)
    }
}

impl Read for &Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        sys::recv(self.fd, buf)
    }
}

impl Write for &Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        sys::send(self.fd, buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Sock {
    fn drop(&mut self) {
        self.reactor.deregister(self.fd);
        if let Some(s) = self.sock.take() {
            let fd = sys::release(s);
            self.reactor.bury(fd, self.closer.take());
        }
    }
}

/// Creates a nonblocking TCP socket for `addr`'s family.
pub fn new_socket(addr: &SocketAddr) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(*addr), Type::STREAM.nonblocking().cloexec(), Some(Protocol::TCP))?;
    Ok(s)
}

/// Adopts an fd the application opened (OPENSOCKETFUNCTION).
pub fn adopt_fd(fd: Fd) -> io::Result<Socket> {
    sys::adopt(fd)
}

/// A connection's byte stream: plain TCP or TLS over it.
pub enum Stream {
    Plain(Sock),
    Tls(Box<TlsStream>),
}

pub struct TlsStream {
    pub sock: Sock,
    pub tls: rustls::ClientConnection,
}

impl Stream {
    pub fn sock(&self) -> &Sock {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }

    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Stream::Plain(s) => s.poll_read(cx, buf),
            Stream::Tls(t) => t.poll_read(cx, buf),
        }
    }

    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Stream::Plain(s) => s.poll_write(cx, buf),
            Stream::Tls(t) => t.poll_write(cx, buf),
        }
    }

    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read(cx, buf)).await
    }

    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = poll_fn(|cx| self.poll_write(cx, buf)).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        if let Stream::Tls(t) = self {
            poll_fn(|cx| t.poll_flush(cx)).await?;
        }
        Ok(())
    }

    pub fn is_alive(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_alive(),
            Stream::Tls(t) => t.sock.is_alive(),
        }
    }
}

impl TlsStream {
    pub fn new(
        sock: Sock,
        config: Arc<rustls::ClientConfig>,
        name: rustls_pki_types::ServerName<'static>,
    ) -> Result<TlsStream, rustls::Error> {
        let tls = rustls::ClientConnection::new(config, name)?;
        Ok(TlsStream { sock, tls })
    }

    /// Drives the handshake to completion.
    pub async fn handshake(&mut self) -> io::Result<()> {
        poll_fn(|cx| {
            while self.tls.is_handshaking() {
                if self.tls.wants_write() {
                    match self.tls.write_tls(&mut &self.sock) {
                        Ok(_) => continue,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            self.sock.reactor.want_write(self.sock.fd, cx.waker());
                            return Poll::Pending;
                        }
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
            self.poll_flush(cx)
        })
        .await
    }

    /// Reads one batch of TLS records from the socket and processes them.
    fn read_tls_once(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.tls.read_tls(&mut &self.sock) {
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
                    let _ = self.tls.write_tls(&mut &self.sock);
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)))
                }
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.sock.reactor.want_read(self.sock.fd, cx.waker());
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            if self.tls.wants_write() {
                let _ = self.poll_flush(cx);
            }
            match self.read_tls_once(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        // Keep the TLS send buffer bounded: flush before accepting more plaintext.
        if self.tls.wants_write() && self.poll_flush(cx)?.is_pending() {
            return Poll::Pending;
        }
        let n = self.tls.writer().write(buf)?;
        let _ = self.poll_flush(cx)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut &self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.sock.reactor.want_write(self.sock.fd, cx.waker());
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}
