//! Unix (Linux, macOS, the BSDs): poll(2), recv/send on raw descriptors, socketpair, close.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

use super::{ERR, IN, OUT};

/// A socket descriptor as the application sees it (SOCKETFUNCTION, OPENSOCKETFUNCTION).
pub type Fd = RawFd;

/// errno's EAGAIN, the number BlockingIOError carries where pycurl raises it.
pub const EAGAIN: i32 = libc::EAGAIN;

/// The address of a symbol already loaded in the process (the interpreter's), or 0.
pub fn loaded_symbol(name: &std::ffi::CStr) -> usize {
    // SAFETY: dlsym with RTLD_DEFAULT only looks a name up among the loaded objects.
    #[allow(unsafe_code)]
    let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    f as usize
}

/// One poll(2) over `interests` ((fd, IN|OUT) pairs) with a timeout in ms (-1: none). Returns the
/// ready fds with CSELECT bits (ERR means "look at both"). A signal interrupting the wait gives an
/// empty list.
pub fn poll(interests: &[(Fd, u8)], ms: i32) -> io::Result<Vec<(Fd, u8)>> {
    // A few descriptors (a perform() waits on one or two) are polled from the stack, not a new vector.
    const ON_STACK: usize = 8;
    let pfd = |(fd, i): &(Fd, u8)| libc::pollfd { fd: *fd, events: events_of(*i), revents: 0 };
    let mut stack = [libc::pollfd { fd: -1, events: 0, revents: 0 }; ON_STACK];
    let mut heap: Vec<libc::pollfd> = Vec::new();
    let fds: &mut [libc::pollfd] = if interests.len() <= ON_STACK {
        for (slot, i) in stack.iter_mut().zip(interests) {
            *slot = pfd(i);
        }
        &mut stack[..interests.len()]
    } else {
        heap.extend(interests.iter().map(pfd));
        &mut heap
    };
    // SAFETY: poll over our own slice of pollfds.
    #[allow(unsafe_code)]
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted { Ok(Vec::new()) } else { Err(e) };
    }
    Ok(fds.iter().filter(|p| p.revents != 0).map(|p| (p.fd, bits_of(p.revents))).collect())
}

/// Is `fd` ready for `want` (IN or OUT) right now? A zero-timeout poll of one descriptor.
pub fn ready_now(fd: Fd, want: u8) -> bool {
    let mut pfd = libc::pollfd { fd, events: events_of(want), revents: 0 };
    // SAFETY: one valid pollfd, zero timeout.
    #[allow(unsafe_code)]
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    n > 0
}

fn events_of(i: u8) -> libc::c_short {
    (if i & IN != 0 { libc::POLLIN } else { 0 }) | (if i & OUT != 0 { libc::POLLOUT } else { 0 })
}

fn bits_of(revents: libc::c_short) -> u8 {
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        return ERR;
    }
    (if revents & (libc::POLLIN | libc::POLLHUP) != 0 { IN } else { 0 })
        | (if revents & libc::POLLOUT != 0 { OUT } else { 0 })
}

/// recv(2) into `buf`.
pub fn recv(fd: Fd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: recv into the caller's buffer of buf.len() bytes.
    #[allow(unsafe_code)]
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Apple systems have no MSG_NOSIGNAL: every socket we use gets SO_NOSIGPIPE instead.
#[cfg(target_vendor = "apple")]
const NOSIGNAL: libc::c_int = 0;
#[cfg(not(target_vendor = "apple"))]
const NOSIGNAL: libc::c_int = libc::MSG_NOSIGNAL;

/// send(2) from `buf`; a closed peer gives EPIPE, never SIGPIPE.
pub fn send(fd: Fd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: send from the caller's buffer; NOSIGNAL so a closed peer gives EPIPE, not SIGPIPE.
    #[allow(unsafe_code)]
    let n = unsafe { libc::send(fd, buf.as_ptr() as *const libc::c_void, buf.len(), NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Is an idle connection still usable: no EOF, no unexpected data, no error pending (a peek).
pub fn idle_alive(fd: Fd) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: recv into a 1-byte stack buffer with MSG_PEEK|MSG_DONTWAIT.
    #[allow(unsafe_code)]
    let n = unsafe { libc::recv(fd, b.as_mut_ptr() as *mut libc::c_void, 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
}

/// Closes a descriptor released with `release`.
pub fn close(fd: Fd) {
    // SAFETY: the fd was released by its owning socket with into_raw_fd and is closed once.
    #[allow(unsafe_code)]
    unsafe {
        libc::close(fd);
    }
}

/// The descriptor of a socket.
pub fn fd_of(s: &Socket) -> Fd {
    s.as_raw_fd()
}

/// Gives up ownership of a socket's descriptor (closed later with `close` or the application's
/// CLOSESOCKETFUNCTION).
pub fn release(s: Socket) -> Fd {
    s.into_raw_fd()
}

/// Takes ownership of a socket the application opened (OPENSOCKETFUNCTION), nonblocking.
pub fn adopt(fd: Fd) -> io::Result<Socket> {
    // SAFETY: the application handed us ownership of a socket fd it created for this purpose.
    #[allow(unsafe_code)]
    let s = unsafe { Socket::from_raw_fd(fd) };
    s.set_nonblocking(true)?;
    no_sigpipe(&s)?;
    Ok(s)
}

/// A new descriptor for the application's socket `fd` (close-on-exec), which it keeps.
pub fn dup(fd: Fd) -> io::Result<Fd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: the application vouches that `fd` is an open socket for the length of this call.
    #[allow(unsafe_code)]
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(release(SockRef::from(&b).try_clone()?))
}

/// A nonblocking, close-on-exec TCP socket for `addr`'s family.
pub fn tcp_socket(addr: &SocketAddr) -> io::Result<Socket> {
    // Linux and the BSDs set both flags in socket(2); Apple's socket2 sets FD_CLOEXEC and
    // SO_NOSIGPIPE itself and nonblocking is one more call.
    #[cfg(not(target_vendor = "apple"))]
    let s = Socket::new(Domain::for_address(*addr), Type::STREAM.nonblocking().cloexec(), Some(Protocol::TCP))?;
    #[cfg(target_vendor = "apple")]
    let s = {
        let s = Socket::new(Domain::for_address(*addr), Type::STREAM, Some(Protocol::TCP))?;
        s.set_nonblocking(true)?;
        s
    };
    Ok(s)
}

/// A nonblocking, close-on-exec Unix-domain stream socket and the address to connect it to:
/// the file `path`, or with `abstract_ns` the name in Linux's abstract namespace (a leading NUL
/// byte; `Unsupported` on other systems). A path too long for `sun_path` is `InvalidInput`.
pub fn unix_socket(path: &str, abstract_ns: bool) -> io::Result<(Socket, SockAddr)> {
    let addr = if abstract_ns {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use std::os::unix::ffi::OsStrExt;
            let mut name = vec![0u8];
            name.extend_from_slice(path.as_bytes());
            SockAddr::unix(std::ffi::OsStr::from_bytes(&name))?
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    } else {
        SockAddr::unix(path)?
    };
    #[cfg(not(target_vendor = "apple"))]
    let s = Socket::new(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None)?;
    #[cfg(target_vendor = "apple")]
    let s = {
        let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        s.set_nonblocking(true)?;
        s
    };
    no_sigpipe(&s)?;
    Ok((s, addr))
}

/// Binds `s` to the network interface `name` (CURLOPT_INTERFACE "if!name"): SO_BINDTODEVICE
/// on Linux, IP_BOUND_IF / IPV6_BOUND_IF by interface index on Apple systems and Solaris;
/// `Unsupported` where the OS has neither.
pub fn bind_device(s: &Socket, name: &str, v6: bool) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = v6;
        s.bind_device(Some(name.as_bytes()))
    }
    #[cfg(any(target_vendor = "apple", target_os = "illumos", target_os = "solaris"))]
    {
        let c = std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: if_nametoindex reads a NUL-terminated name.
        #[allow(unsafe_code)]
        let idx = std::num::NonZeroU32::new(unsafe { libc::if_nametoindex(c.as_ptr()) })
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        if v6 {
            s.bind_device_by_index_v6(Some(idx))
        } else {
            s.bind_device_by_index_v4(Some(idx))
        }
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_vendor = "apple",
        target_os = "illumos",
        target_os = "solaris"
    )))]
    {
        let _ = (s, name, v6);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// SIGPIPE off for a socket where send() cannot ask for it per call (Apple).
fn no_sigpipe(s: &Socket) -> io::Result<()> {
    #[cfg(target_vendor = "apple")]
    s.set_nosigpipe(true)?;
    let _ = s;
    Ok(())
}

/// A connected pair of nonblocking local sockets (resolver completion, multi wakeup).
pub fn socket_pair() -> io::Result<(Socket, Socket)> {
    let (a, b) = std::os::unix::net::UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    let (a, b) = (Socket::from(OwnedFd::from(a)), Socket::from(OwnedFd::from(b)));
    no_sigpipe(&a)?;
    no_sigpipe(&b)?;
    Ok((a, b))
}

/// (family, type, protocol) of a TCP socket for `addr` as libcurl hands them to
/// OPENSOCKETFUNCTION (its socket type carries SOCK_CLOEXEC where the OS has it).
pub fn socket_triple(addr: &SocketAddr) -> (i32, i32, i32) {
    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    #[cfg(not(target_vendor = "apple"))]
    let ty = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    #[cfg(target_vendor = "apple")]
    let ty = libc::SOCK_STREAM;
    (family, ty, libc::IPPROTO_TCP)
}

/// A nonblocking connect that has not finished yet.
pub fn connect_in_progress(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINPROGRESS)
}

/// An OS error in libcurl's words where they differ from Rust's.
pub fn error_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNRESET) => "Connection reset by peer".into(),
        _ => e.to_string(),
    }
}

/// getenv(3) itself, for names read on every request (the proxy variables): std::env::var adds a
/// lock, a C copy of the name and a copy of the value per call, which cost more than the lookup.
pub fn getenv(name: &str) -> Option<Vec<u8>> {
    let mut c = [0u8; 64];
    if name.len() >= c.len() || name.as_bytes().contains(&0) {
        return std::env::var_os(name).map(std::os::unix::ffi::OsStringExt::into_vec);
    }
    c[..name.len()].copy_from_slice(name.as_bytes());
    // SAFETY: `c` is NUL-terminated; the value is copied before anything can change the environment
    // from this thread, and getenv is what libcurl calls here too.
    #[allow(unsafe_code)]
    unsafe {
        let v = libc::getenv(c.as_ptr().cast());
        if v.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr(v).to_bytes().to_vec())
        }
    }
}

/// The value of the first of `names` that is set and that `accept` takes, as getenv(3) would
/// answer name by name, but in one walk over the environment: the proxy variables are read on
/// every request, and each getenv walked all of it.
pub fn getenv_first(names: &[&str], accept: &dyn Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    const MAX: usize = 6;
    // The first bytes of the names: most entries of the environment are passed over on that alone.
    let mut firsts: u128 = 0;
    let mut plain = names.len() <= MAX;
    for n in names {
        match n.as_bytes().first() {
            Some(&b) if b < 128 && n.bytes().all(|b| b != 0 && b != b'=') => firsts |= 1 << b,
            _ => plain = false,
        }
    }
    if cfg!(target_vendor = "apple") || !plain {
        return names.iter().filter_map(|n| getenv(n)).find(|v| accept(v));
    }
    let mut found: [Option<&[u8]>; MAX] = [None; MAX];
    #[cfg(not(target_vendor = "apple"))]
    // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings; each entry is read
    // only up to a byte that differs from a name (a name holds no NUL) or to its own NUL, and the
    // values are copied before anything can change the environment from this thread, as getenv's are.
    #[allow(unsafe_code)]
    unsafe {
        extern "C" {
            static environ: *const *const libc::c_char;
        }
        let mut at = environ;
        while !at.is_null() && !(*at).is_null() {
            let entry = (*at).cast::<u8>();
            at = at.add(1);
            let first = *entry;
            if first >= 128 || firsts & (1 << first) == 0 {
                continue;
            }
            for (i, name) in names.iter().enumerate() {
                let n = name.as_bytes();
                // getenv answers with the first entry of a name: later ones are not looked at.
                if found[i].is_some() || n[0] != first {
                    continue;
                }
                if (1..n.len()).all(|k| *entry.add(k) == n[k]) && *entry.add(n.len()) == b'=' {
                    found[i] = Some(std::ffi::CStr::from_ptr(entry.add(n.len() + 1).cast()).to_bytes());
                }
            }
        }
    }
    found[..names.len()].iter().flatten().find(|v| accept(v)).map(|v| v.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One walk answers as getenv name by name: the first name set wins, whatever the order of
    /// the environment, and a value refused passes to the next name.
    #[test]
    fn getenv_first_answers_as_getenv_in_turn() {
        let utf8 = |v: &[u8]| std::str::from_utf8(v).is_ok();
        let any = |_: &[u8]| true;
        for names in [&["NO_SUCH_VARIABLE_HERE", "PATH", "HOME"][..], &["HOME", "PATH"], &["NO_SUCH_A", "NO_SUCH_B"]] {
            let one_by_one = names.iter().find_map(|n| getenv(n));
            assert_eq!(getenv_first(names, &any), one_by_one, "{names:?}");
        }
        assert_eq!(getenv_first(&["PATH", "HOME"], &|v| v == getenv("HOME").unwrap()), getenv("HOME"));
        assert_eq!(getenv_first(&["PAT", "PATHX", "PATH"], &utf8), getenv("PATH"), "whole names only");
        assert_eq!(getenv_first(&["A=B", "", "PATH"], &utf8), getenv("PATH"));
    }

    #[test]
    fn getenv_answers_as_std() {
        for name in ["PATH", "HOME", "NO_SUCH_VARIABLE_HERE", "", "A=B", "NUL\0NAME"] {
            let std = std::env::var_os(name).map(std::os::unix::ffi::OsStringExt::into_vec);
            assert_eq!(getenv(name), std, "{name}");
        }
        let long = "X".repeat(100);
        assert_eq!(getenv(&long), None);
    }

    #[test]
    fn pair_send_recv_poll_close() {
        let (a, b) = socket_pair().unwrap();
        let (fa, fb) = (fd_of(&a), fd_of(&b));
        assert!(!ready_now(fb, IN));
        assert!(ready_now(fa, OUT));
        assert!(idle_alive(fb));
        assert_eq!(send(fa, b"hi").unwrap(), 2);
        assert!(ready_now(fb, IN));
        assert!(!idle_alive(fb), "unexpected data makes an idle connection unusable");
        assert_eq!(poll(&[(fb, IN | OUT)], 0).unwrap(), vec![(fb, IN | OUT)]);
        let mut buf = [0u8; 8];
        assert_eq!(recv(fb, &mut buf).unwrap(), 2);
        assert_eq!(recv(fb, &mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        close(release(a));
        assert_eq!(recv(fb, &mut buf).unwrap(), 0);
        assert_eq!(error_text(&io::Error::from_raw_os_error(libc::ECONNRESET)), "Connection reset by peer");
    }

    /// Up to eight descriptors are polled from the stack, more from a vector: both answer the same.
    #[test]
    fn poll_many_descriptors() {
        for count in [1, 8, 9, 20] {
            let pairs: Vec<_> = (0..count).map(|_| socket_pair().unwrap()).collect();
            for (a, _) in pairs.iter().step_by(3) {
                assert_eq!(send(fd_of(a), b"x").unwrap(), 1);
            }
            let interests: Vec<(Fd, u8)> = pairs.iter().map(|(_, b)| (fd_of(b), IN)).collect();
            let ready: Vec<(Fd, u8)> = pairs.iter().step_by(3).map(|(_, b)| (fd_of(b), IN)).collect();
            assert_eq!(poll(&interests, 0).unwrap(), ready, "{count} descriptors");
        }
    }

    #[test]
    fn dup_gives_an_independent_descriptor() {
        let (a, b) = socket_pair().unwrap();
        let d = dup(fd_of(&a)).unwrap();
        assert_ne!(d, fd_of(&a));
        drop(a);
        let d = adopt(d).unwrap();
        assert_eq!(send(fd_of(&d), b"x").unwrap(), 1);
        assert_eq!(poll(&[(fd_of(&b), IN)], 5000).unwrap(), vec![(fd_of(&b), IN)]);
        assert!(dup(-1).is_err());
    }

    #[test]
    fn tcp_socket_is_nonblocking_and_triple_matches() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let s = tcp_socket(&addr).unwrap();
        assert!(s.nonblocking().unwrap());
        assert_eq!(socket_triple(&addr).0, libc::AF_INET);
        assert_eq!(socket_triple(&"[::1]:9".parse().unwrap()).0, libc::AF_INET6);
        assert!(bind_device(&s, "no-such-interface0", false).is_err());
    }

    #[test]
    fn unix_socket_connects_to_a_path_and_refuses_a_long_one() {
        let dir = std::env::temp_dir().join(format!("pycurl-rs-sys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let (s, addr) = unix_socket(path.to_str().unwrap(), false).unwrap();
        assert!(s.nonblocking().unwrap());
        match s.connect(&addr) {
            Ok(()) => {}
            Err(e) => assert!(connect_in_progress(&e) || e.kind() == io::ErrorKind::WouldBlock, "{e}"),
        }
        let (mut peer, _) = l.accept().unwrap();
        assert_eq!(send(fd_of(&s), b"hi").unwrap(), 2);
        let mut b = [0u8; 2];
        std::io::Read::read_exact(&mut peer, &mut b).unwrap();
        assert_eq!(&b, b"hi");
        let long = "x".repeat(200);
        assert_eq!(unix_socket(&long, false).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn abstract_unix_socket_has_no_file() {
        let name = format!("pycurl-rs-sys-abstract-{}", std::process::id());
        let mut raw = vec![0u8];
        raw.extend_from_slice(name.as_bytes());
        let sa = SockAddr::unix(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&raw)).unwrap();
        let l = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        l.bind(&sa).unwrap();
        l.listen(1).unwrap();
        let (s, addr) = unix_socket(&name, true).unwrap();
        assert_eq!(addr.as_abstract_namespace(), Some(name.as_bytes()));
        let _ = s.connect(&addr);
        assert!(l.accept().is_ok());
        assert!(!std::path::Path::new(&name).exists());
    }
}
