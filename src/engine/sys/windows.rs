//! Windows: WSAPoll, recv/send on SOCKET handles, a loopback TCP pair for wakeups, closesocket.
//!
//! `Fd` is the SOCKET handle as a signed number, the way pycurl hands `curl_socket_t` to Python:
//! applications see the same numbers `socket.fileno()` gives, and INVALID_SOCKET (CURL_SOCKET_BAD,
//! CURL_SOCKET_TIMEOUT) is -1.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::windows::io::{AsRawSocket, BorrowedSocket, FromRawSocket, IntoRawSocket, RawSocket};
use std::sync::Once;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use windows_sys::Win32::Networking::WinSock as ws;

use super::{ERR, IN, OUT};

/// A socket handle as the application sees it (SOCKETFUNCTION, OPENSOCKETFUNCTION).
pub type Fd = isize;

/// The C runtime's EAGAIN (errno.h), the number BlockingIOError carries where pycurl raises it.
pub const EAGAIN: i32 = 11;

fn handle(fd: Fd) -> ws::SOCKET {
    fd as ws::SOCKET
}

/// Winsock needs WSAStartup before the first socket call of the process; once is enough (it is
/// reference counted and never undone, like std's own).
fn startup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: WSAStartup fills the WSADATA we give it; version 2.2.
        #[allow(unsafe_code)]
        unsafe {
            let mut data: ws::WSADATA = std::mem::zeroed();
            ws::WSAStartup(0x0202, &mut data);
        }
    });
}

fn last_error() -> io::Error {
    // SAFETY: reads this thread's last Winsock error.
    #[allow(unsafe_code)]
    io::Error::from_raw_os_error(unsafe { ws::WSAGetLastError() })
}

/// One WSAPoll over `interests` ((fd, IN|OUT) pairs) with a timeout in ms (-1: none). Returns the
/// ready handles with CSELECT bits (ERR means "look at both").
pub fn poll(interests: &[(Fd, u8)], ms: i32) -> io::Result<Vec<(Fd, u8)>> {
    if interests.is_empty() {
        // WSAPoll rejects an empty set (WSAEINVAL); poll(2) just waits.
        std::thread::sleep(if ms < 0 { Duration::from_secs(3600) } else { Duration::from_millis(ms as u64) });
        return Ok(Vec::new());
    }
    startup();
    let mut fds: Vec<ws::WSAPOLLFD> =
        interests.iter().map(|(fd, i)| ws::WSAPOLLFD { fd: handle(*fd), events: events_of(*i), revents: 0 }).collect();
    // SAFETY: WSAPoll over our own vector of WSAPOLLFDs.
    #[allow(unsafe_code)]
    let n = unsafe { ws::WSAPoll(fds.as_mut_ptr(), fds.len() as u32, ms) };
    if n < 0 {
        return Err(last_error());
    }
    Ok(fds.iter().filter(|p| p.revents != 0).map(|p| (p.fd as Fd, bits_of(p.revents))).collect())
}

/// Is `fd` ready for `want` (IN or OUT) right now? A zero-timeout WSAPoll of one handle.
pub fn ready_now(fd: Fd, want: u8) -> bool {
    startup();
    let mut pfd = ws::WSAPOLLFD { fd: handle(fd), events: events_of(want), revents: 0 };
    // SAFETY: one valid WSAPOLLFD, zero timeout.
    #[allow(unsafe_code)]
    let n = unsafe { ws::WSAPoll(&mut pfd, 1, 0) };
    n > 0
}

// WSAPoll takes only the normal-data bits in `events` (POLLPRI there is an error).
fn events_of(i: u8) -> i16 {
    (if i & IN != 0 { ws::POLLRDNORM } else { 0 }) | (if i & OUT != 0 { ws::POLLWRNORM } else { 0 })
}

fn bits_of(revents: i16) -> u8 {
    if revents & (ws::POLLERR | ws::POLLNVAL) != 0 {
        return ERR;
    }
    (if revents & (ws::POLLRDNORM | ws::POLLHUP) != 0 { IN } else { 0 })
        | (if revents & ws::POLLWRNORM != 0 { OUT } else { 0 })
}

fn io_len(buf_len: usize) -> i32 {
    buf_len.min(i32::MAX as usize) as i32
}

/// recv into `buf`.
pub fn recv(fd: Fd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: recv into the caller's buffer of at most buf.len() bytes.
    #[allow(unsafe_code)]
    let n = unsafe { ws::recv(handle(fd), buf.as_mut_ptr(), io_len(buf.len()), 0) };
    if n == ws::SOCKET_ERROR {
        Err(last_error())
    } else {
        Ok(n as usize)
    }
}

/// send from `buf` (Windows has no SIGPIPE to avoid).
pub fn send(fd: Fd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: send from the caller's buffer of at most buf.len() bytes.
    #[allow(unsafe_code)]
    let n = unsafe { ws::send(handle(fd), buf.as_ptr(), io_len(buf.len()), 0) };
    if n == ws::SOCKET_ERROR {
        Err(last_error())
    } else {
        Ok(n as usize)
    }
}

/// Is an idle connection still usable: no EOF, no unexpected data, no error pending (a peek on
/// a nonblocking socket, which every engine socket is).
pub fn idle_alive(fd: Fd) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: recv into a 1-byte stack buffer with MSG_PEEK.
    #[allow(unsafe_code)]
    let n = unsafe { ws::recv(handle(fd), b.as_mut_ptr(), 1, ws::MSG_PEEK) };
    n == ws::SOCKET_ERROR && last_error().kind() == io::ErrorKind::WouldBlock
}

/// Closes a handle released with `release` (closesocket).
pub fn close(fd: Fd) {
    // SAFETY: the handle was released by its owning socket and is closed once.
    #[allow(unsafe_code)]
    unsafe {
        ws::closesocket(handle(fd));
    }
}

/// The handle of a socket.
pub fn fd_of(s: &Socket) -> Fd {
    s.as_raw_socket() as Fd
}

/// Gives up ownership of a socket's handle (closed later with `close` or the application's
/// CLOSESOCKETFUNCTION).
pub fn release(s: Socket) -> Fd {
    s.into_raw_socket() as Fd
}

/// Takes ownership of a socket the application opened (OPENSOCKETFUNCTION), nonblocking.
pub fn adopt(fd: Fd) -> io::Result<Socket> {
    startup();
    // SAFETY: the application handed us ownership of a socket handle it created for this purpose.
    #[allow(unsafe_code)]
    let s = unsafe { Socket::from_raw_socket(fd as RawSocket) };
    s.set_nonblocking(true)?;
    Ok(s)
}

/// A new handle for the application's socket `fd` (WSADuplicateSocket), which it keeps.
pub fn dup(fd: Fd) -> io::Result<Fd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(ws::WSAENOTSOCK));
    }
    startup();
    // SAFETY: the application vouches that `fd` is an open socket for the length of this call.
    #[allow(unsafe_code)]
    let b = unsafe { BorrowedSocket::borrow_raw(fd as RawSocket) };
    Ok(release(SockRef::from(&b).try_clone()?))
}

/// A nonblocking, non-inheritable TCP socket for `addr`'s family.
pub fn tcp_socket(addr: &SocketAddr) -> io::Result<Socket> {
    startup();
    // socket2 creates it with WSA_FLAG_NO_HANDLE_INHERIT.
    let s = Socket::new(Domain::for_address(*addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_nonblocking(true)?;
    Ok(s)
}

/// A nonblocking Unix-domain stream socket (AF_UNIX, Windows 10 and later) and the address of
/// `path`; Windows has no abstract namespace (`Unsupported`, as libcurl fails there at connect).
pub fn unix_socket(path: &str, abstract_ns: bool) -> io::Result<(Socket, socket2::SockAddr)> {
    if abstract_ns {
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
    startup();
    let addr = socket2::SockAddr::unix(path)?;
    let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    s.set_nonblocking(true)?;
    Ok((s, addr))
}

/// Windows cannot bind a socket to an interface by name (libcurl there takes only an address).
pub fn bind_device(s: &Socket, name: &str, v6: bool) -> io::Result<()> {
    let _ = (s, name, v6);
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// A connected pair of nonblocking local sockets (resolver completion, multi wakeup): Windows
/// has no socketpair, so a loopback TCP connection through a listener that lives for one accept.
pub fn socket_pair() -> io::Result<(Socket, Socket)> {
    startup();
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let a = TcpStream::connect(l.local_addr()?)?;
    let mine = a.local_addr()?;
    // Another local process could connect first: accept until the peer is our own end.
    let b = loop {
        let (b, peer) = l.accept()?;
        if peer == mine {
            break b;
        }
    };
    for s in [&a, &b] {
        s.set_nodelay(true)?;
        s.set_nonblocking(true)?;
    }
    Ok((Socket::from(a), Socket::from(b)))
}

/// (family, type, protocol) of a TCP socket for `addr` as libcurl hands them to
/// OPENSOCKETFUNCTION.
pub fn socket_triple(addr: &SocketAddr) -> (i32, i32, i32) {
    let family = if addr.is_ipv4() { ws::AF_INET } else { ws::AF_INET6 };
    (i32::from(family), ws::SOCK_STREAM, ws::IPPROTO_TCP)
}

/// A nonblocking connect that has not finished yet (Winsock says WSAEWOULDBLOCK).
pub fn connect_in_progress(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(ws::WSAEWOULDBLOCK) | Some(ws::WSAEINPROGRESS))
}

/// An OS error in libcurl's words where they differ from Rust's.
pub fn error_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(ws::WSAECONNRESET) => "Connection reset by peer".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_send_recv_poll_close() {
        let (a, b) = socket_pair().unwrap();
        let (fa, fb) = (fd_of(&a), fd_of(&b));
        assert!(fa > 0 && fb > 0 && fa != fb);
        assert!(!ready_now(fb, IN));
        assert!(ready_now(fa, OUT));
        assert!(idle_alive(fb));
        assert_eq!(send(fa, b"hi").unwrap(), 2);
        // Loopback delivery is not instant on Windows: wait for it as the reactor would.
        assert_eq!(poll(&[(fb, IN)], 5000).unwrap(), vec![(fb, IN)]);
        assert!(ready_now(fb, IN));
        assert!(!idle_alive(fb), "unexpected data makes an idle connection unusable");
        assert_eq!(poll(&[(fb, IN | OUT)], 0).unwrap(), vec![(fb, IN | OUT)]);
        let mut buf = [0u8; 8];
        assert_eq!(recv(fb, &mut buf).unwrap(), 2);
        assert_eq!(recv(fb, &mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        close(release(a));
        assert_eq!(poll(&[(fb, IN)], 5000).unwrap(), vec![(fb, IN)]);
        assert_eq!(recv(fb, &mut buf).unwrap(), 0);
        assert_eq!(error_text(&io::Error::from_raw_os_error(ws::WSAECONNRESET)), "Connection reset by peer");
        assert!(poll(&[], 10).unwrap().is_empty());
    }

    #[test]
    fn dup_gives_an_independent_handle() {
        let (a, b) = socket_pair().unwrap();
        let d = dup(fd_of(&a)).unwrap();
        assert_ne!(d, fd_of(&a));
        drop(a);
        let d = adopt(d).unwrap();
        assert_eq!(send(fd_of(&d), b"x").unwrap(), 1);
        assert_eq!(poll(&[(fd_of(&b), IN)], 5000).unwrap(), vec![(fd_of(&b), IN)]);
        assert!(dup(-1).is_err());
    }
}
