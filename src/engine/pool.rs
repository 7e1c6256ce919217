//! Connections and the pool, keyed by origin. One pool per multi (and one in each easy handle's
//! private multi), as libcurl keeps a connection cache per multi.
//!
//! Two kinds of entry: exclusive connections (HTTP/1: one transfer at a time), parked here while
//! idle and detached from any reactor, and shared, multiplexed connections (h2: many streams at
//! once) that stay in the pool while in use and count their streams against the server's limit.
//! A transfer looking for a connection takes a shared stream first, then an idle exclusive one.
//! A CurlShare's pool (LOCK_DATA_CONNECT) serves several multis: its h2 connections are driven by
//! one multi at a time, and move to another only while idle (see http2::H2Conn::roam).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::net::Stream;
use super::rt::Reactor;

/// M_MAX_TOTAL_CONNECTIONS / M_MAX_HOST_CONNECTIONS: open connections (busy or idle) are counted;
/// a transfer that would exceed a limit waits for a slot instead of failing.
#[derive(Default)]
pub struct Limits {
    pub max_total: Cell<usize>,
    pub max_host: Cell<usize>,
    total: Cell<usize>,
    per_host: RefCell<HashMap<(String, u16), usize>>,
    waiters: RefCell<Vec<Waker>>,
}

impl Limits {
    /// Takes a slot for a new connection to `host`, if the limits allow one now.
    pub fn try_acquire(self: &Rc<Self>, host: &(String, u16)) -> Option<Slot> {
        let mt = self.max_total.get();
        let mh = self.max_host.get();
        if mt > 0 && self.total.get() >= mt {
            return None;
        }
        let mut ph = self.per_host.borrow_mut();
        let n = ph.entry(host.clone()).or_insert(0);
        if mh > 0 && *n >= mh {
            return None;
        }
        *n += 1;
        self.total.set(self.total.get() + 1);
        Some(Slot { limits: self.clone(), host: host.clone() })
    }

    pub fn limited(&self) -> bool {
        self.max_total.get() > 0 || self.max_host.get() > 0
    }

    pub fn wait(&self, w: &Waker) {
        self.waiters.borrow_mut().push(w.clone());
    }

    /// A connection went idle or closed: let waiting transfers look again.
    pub fn notify(&self) {
        let ws = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in ws {
            w.wake();
        }
    }

    pub fn at_total_limit(&self) -> bool {
        let mt = self.max_total.get();
        mt > 0 && self.total.get() >= mt
    }
}

/// One counted connection; released when the connection is dropped.
pub struct Slot {
    limits: Rc<Limits>,
    host: (String, u16),
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limits.total.set(self.limits.total.get().saturating_sub(1));
        if let Some(n) = self.limits.per_host.borrow_mut().get_mut(&self.host) {
            *n = n.saturating_sub(1);
        }
        self.limits.notify();
    }
}

/// What makes two transfers able to share a connection.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct PoolKey {
    pub scheme: String,
    pub host: String,
    pub port: u16,
    /// Where we actually connect (CONNECT_TO / RESOLVE can differ from host:port).
    pub target: Option<(String, u16)>,
    /// The TLS options' fingerprint (`Rare::fingerprint`; None for plain HTTP).
    pub tls: Option<u64>,
    pub interface: Option<String>,
    pub local_port: u16,
    /// The proxy the connection goes through, with its credentials (a tunnel is never shared
    /// across proxies or proxy users).
    pub proxy: Option<crate::engine::proxy::Proxy>,
    /// UNIX_SOCKET_PATH / ABSTRACT_UNIX_SOCKET the connection goes to instead of TCP.
    pub unix: Option<crate::engine::easy::UnixSocket>,
    /// A fingerprint of the server credentials once NTLM ran on the connection: NTLM authenticates
    /// a connection, so libcurl gives it only to transfers of the same user that allow NTLM.
    pub ntlm: Option<u64>,
}

/// Read buffers up to this size are given back while their connection waits for data.
const KEEP_WHILE_WAITING: usize = 16 * 1024;

/// Read buffers connections gave back while waiting, for the next one that reads: a few are kept,
/// so a busy multi reuses them and a multi of many waiting transfers holds almost none.
#[derive(Default)]
pub struct SpareBuffers(RefCell<Vec<Vec<u8>>>);

impl SpareBuffers {
    const KEEP: usize = 32;

    /// A buffer of `size` bytes (contents unspecified).
    pub fn take(&self, size: usize) -> Vec<u8> {
        let mut b = self.0.borrow_mut().pop().unwrap_or_default();
        b.resize(size, 0);
        b
    }

    pub fn give(&self, b: Vec<u8>) {
        let mut v = self.0.borrow_mut();
        if v.len() < Self::KEEP {
            v.push(b);
        }
    }
}

/// One HTTP/1.x connection with its read buffer.
pub struct Conn {
    pub stream: Stream,
    pub id: i64,
    pub key: PoolKey,
    pub primary: SocketAddr,
    pub local: SocketAddr,
    pub created: Instant,
    pub idle_since: Instant,
    /// The read buffer, allocated only while reading or holding unread bytes.
    pub buf: Vec<u8>,
    /// The size `buf` has when allocated (it grows for large bodies).
    size: usize,
    pub start: usize,
    pub end: usize,
    pub certinfo: Vec<Vec<(String, String)>>,
    pub ssl_verifyresult: i64,
    /// Requests sent on this connection so far.
    pub uses: u32,
    /// Its place under the connection limits, if any apply.
    pub slot: Option<Slot>,
    /// The addresses as text, formatted once (getinfo and PREREQFUNCTION want them per request).
    pub primary_ip: String,
    pub local_ip: String,
    /// TLS negotiated h2 (ALPN): the connection goes to the h2 layer, not the HTTP/1 codec.
    pub h2: bool,
    /// Its last response was HTTP/1.0: libcurl speaks HTTP/1.0 on it from then on.
    pub http10: bool,
    /// An FTP control connection's session (login, directory, TYPE), for the next transfer on it.
    pub ftp: Option<Box<crate::engine::ftp::ConnState>>,
    /// A mail connection's session (TLS, IMAP tags and mailbox, SMTP capabilities): its goodbye
    /// (QUIT / LOGOUT) is said when the pool closes it.
    pub mail: Option<Box<crate::engine::mail::ConnState>>,
    /// NTLM authenticated this connection: bit 1 to the server, bit 2 to the HTTP proxy.
    pub ntlm_done: u8,
}

/// libcurl keeps a peer "address" in a 46-byte buffer: a Unix-socket path shows as its first
/// 45 bytes (here, up to the last whole character within them).
fn cut_path(path: &str) -> String {
    let mut end = path.len().min(45);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    path[..end].to_string()
}

impl Conn {
    pub fn new(stream: Stream, id: i64, key: PoolKey, primary: SocketAddr, local: SocketAddr) -> Conn {
        let now = Instant::now();
        // Over a Unix socket libcurl reports the path as the peer and no local address.
        let (primary_ip, local_ip) = match &key.unix {
            Some(u) => (cut_path(&u.path), String::new()),
            None => (primary.ip().to_string(), local.ip().to_string()),
        };
        Conn {
            stream,
            id,
            key,
            primary,
            local,
            created: now,
            idle_since: now,
            buf: Vec::new(),
            size: 4096,
            start: 0,
            end: 0,
            certinfo: Vec::new(),
            ssl_verifyresult: 0,
            uses: 0,
            slot: None,
            primary_ip,
            local_ip,
            h2: false,
            http10: false,
            ftp: None,
            mail: None,
            ntlm_done: 0,
        }
    }

    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more bytes into the buffer; Ok(0) at EOF. While it waits with nothing held, a small
    /// buffer goes back to `spare` (the multi's spare buffers): most transfers in flight are waiting,
    /// and that is where memory goes; a busy connection takes a spare one back without allocating.
    pub async fn fill(&mut self, spare: &SpareBuffers) -> std::io::Result<usize> {
        if self.start > 0 && self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() && !self.buf.is_empty() {
            self.size = self.buf.len() * 2;
            self.buf.resize(self.size, 0);
        }
        let end = self.end;
        let n = poll_fn(|cx| {
            if self.buf.is_empty() {
                self.buf = spare.take(self.size);
            }
            match self.stream.poll_read(cx, &mut self.buf[end..]) {
                Poll::Pending => {
                    // A buffer grown for a fast body is kept: it would not be reused by others.
                    if self.start == self.end && self.buf.len() <= KEEP_WHILE_WAITING {
                        spare.give(std::mem::take(&mut self.buf));
                        self.start = 0;
                        self.end = 0;
                    }
                    Poll::Pending
                }
                ready => ready,
            }
        })
        .await?;
        self.end += n;
        // Small responses keep a small buffer; one that fills it grows it (up to 64 KiB) so
        // large bodies are read in large pieces.
        if end + n == self.buf.len() && self.buf.len() < 65536 {
            self.size = self.buf.len() * 2;
            self.buf.resize(self.size, 0);
        }
        Ok(n)
    }

    /// Hands an empty read buffer to `spare` (the connection is going idle): the next read of any
    /// connection takes it back instead of allocating and zeroing a new one.
    pub fn spare_buffer(&mut self, spare: &SpareBuffers) {
        if self.start == self.end && !self.buf.is_empty() && self.buf.len() <= KEEP_WHILE_WAITING {
            spare.give(std::mem::take(&mut self.buf));
            self.start = 0;
            self.end = 0;
        }
    }

    /// A mail connection's goodbye as it is closed (attached to a reactor): written if the socket
    /// takes it at once, as libcurl says QUIT / LOGOUT to pooled connections it closes.
    fn farewell(&mut self) {
        let Some(line) = self.mail.as_mut().map(|m| m.goodbye()) else { return };
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let Poll::Ready(Ok(_)) = self.stream.poll_write(&mut cx, line.as_bytes()) {
            let _ = self.stream.poll_flush(&mut cx);
        }
    }

    /// Frees the read buffer (nothing unread in it); the next read allocates one of the same size.
    fn release_buffer(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
        self.end = 0;
    }
}

/// A connection that carries many transfers at once (an h2 connection, later).
pub trait Multiplexed {
    /// Can it take new streams (not closed, no GOAWAY)?
    fn is_open(&self) -> bool;
    /// The connection itself (the protocol layer knows its type).
    fn as_any(&self) -> &dyn std::any::Any;
    /// Can the multi with `reactor` use it now (a CurlShare's connection busy in another multi
    /// is not)?
    fn usable_from(&self, _reactor: &Rc<Reactor>) -> bool {
        true
    }
}

/// A shared connection in the pool: its handle, the streams in use and the server's limit.
pub struct SharedEntry {
    pub conn: Rc<dyn Multiplexed>,
    streams: Rc<Cell<usize>>,
    pub max_streams: usize,
}

/// One stream on a shared connection; the stream count drops when it ends.
pub struct StreamLease {
    pub conn: Rc<dyn Multiplexed>,
    streams: Rc<Cell<usize>>,
}

impl Drop for StreamLease {
    fn drop(&mut self) {
        self.streams.set(self.streams.get().saturating_sub(1));
    }
}

/// A multiply-rotate hash of the key's words (the Fx hash): the pool is hashed twice per request
/// (take and put), where SipHash took ~1.4k instructions a key. The keys come from the
/// application's URLs and the pool holds few of them, so flooding resistance buys nothing here.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ rest.len() as u64);
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl KeyHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type KeyMap<V> = HashMap<PoolKey, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// Idle connections by origin, most recently used last, and shared ones.
pub struct Pool {
    idle: KeyMap<Vec<Conn>>,
    count: usize,
    shared: KeyMap<Vec<SharedEntry>>,
    /// MAXCONNECTS: idle connections kept at most.
    pub max_idle: usize,
    pub max_age: Duration,
    /// M_PIPELINING has CURLPIPE_MULTIPLEX: an h2 connection carries many transfers at once.
    pub multiplex: bool,
    /// M_MAX_CONCURRENT_STREAMS: streams per h2 connection at most (the server may allow fewer).
    pub max_streams: usize,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            idle: KeyMap::default(),
            count: 0,
            shared: KeyMap::default(),
            max_idle: 64,
            max_age: Duration::from_secs(118),
            multiplex: true,
            max_streams: 100,
        }
    }
}

impl Pool {
    /// Takes a usable idle connection for `key` and attaches it to `reactor`, dropping stale or dead
    /// ones on the way. A connection idle for less than a second is taken without asking the OS
    /// whether it is still open (the request is retried once on a fresh connection if it was not)
    /// unless `strict`: an upload that can't be replayed wants the check.
    pub fn take(
        &mut self,
        key: &PoolKey,
        max_age: Duration,
        max_life: Option<Duration>,
        strict: bool,
        reactor: &Rc<Reactor>,
    ) -> Option<Conn> {
        let list = self.idle.get_mut(key)?;
        while let Some(mut c) = list.pop() {
            self.count -= 1;
            // Attached either way: one to use, or one to close through the reactor (REMOVE first).
            c.stream.sock_mut().attach(reactor);
            let idle = c.idle_since.elapsed();
            let fresh = idle < max_age && max_life.is_none_or(|l| c.created.elapsed() < l);
            if fresh && ((!strict && idle < Duration::from_secs(1)) || c.stream.is_alive()) {
                return Some(c);
            }
            if !fresh {
                c.farewell();
            }
        }
        None
    }

    /// Parks an idle connection: it leaves its reactor until taken again.
    pub fn put(&mut self, mut c: Conn, reactor: &Rc<Reactor>) {
        c.stream.sock_mut().detach();
        if c.start == c.end {
            c.release_buffer();
        }
        c.idle_since = Instant::now();
        // Looked up first: the key is cloned only for an origin the pool does not hold yet.
        match self.idle.get_mut(&c.key) {
            Some(list) => list.push(c),
            None => {
                self.idle.insert(c.key.clone(), vec![c]);
            }
        }
        self.count += 1;
        while self.count > self.max_idle && self.evict_oldest(reactor) {}
    }

    /// Closes the connection idle the longest (to make room under M_MAX_TOTAL_CONNECTIONS).
    pub fn evict_oldest(&mut self, reactor: &Rc<Reactor>) -> bool {
        let oldest = self
            .idle
            .iter()
            .filter_map(|(k, v)| v.first().map(|c| (k.clone(), c.idle_since)))
            .min_by_key(|(_, t)| *t)
            .map(|(k, _)| k);
        let Some(k) = oldest else { return false };
        let Some(v) = self.idle.get_mut(&k) else { return false };
        let mut c = v.remove(0);
        if v.is_empty() {
            self.idle.remove(&k);
        }
        self.count -= 1;
        c.stream.sock_mut().attach(reactor);
        c.farewell();
        true
    }

    pub fn idle_count(&self) -> usize {
        self.count
    }

    /// Closes every idle connection (through `reactor`, so the fds close after their REMOVE).
    pub fn clear(&mut self, reactor: &Rc<Reactor>) {
        for (_, list) in self.idle.drain() {
            for mut c in list {
                c.stream.sock_mut().attach(reactor);
                c.farewell();
            }
        }
        self.count = 0;
        self.shared.clear();
    }

    /// Adds a shared connection that can carry `max_streams` transfers at once.
    pub fn add_shared(&mut self, key: PoolKey, conn: Rc<dyn Multiplexed>, max_streams: usize) {
        let e = SharedEntry { conn, streams: Rc::new(Cell::new(0)), max_streams };
        self.shared.entry(key).or_default().push(e);
    }

    /// A stream on an open shared connection for `key` with room for one more that the multi with
    /// `reactor` may use, the least busy first; closed connections are dropped on the way.
    pub fn take_stream(&mut self, key: &PoolKey, reactor: &Rc<Reactor>) -> Option<StreamLease> {
        let list = self.shared.get_mut(key)?;
        list.retain(|e| e.conn.is_open());
        let e = list
            .iter()
            .filter(|e| e.streams.get() < e.max_streams && e.conn.usable_from(reactor))
            .min_by_key(|e| e.streams.get())?;
        e.streams.set(e.streams.get() + 1);
        Some(StreamLease { conn: e.conn.clone(), streams: e.streams.clone() })
    }

    pub fn has_shared(&self) -> bool {
        !self.shared.is_empty()
    }

    /// Streams in use on the shared connections for `key`.
    pub fn streams_in_use(&self, key: &PoolKey) -> usize {
        self.shared.get(key).map_or(0, |l| l.iter().map(|e| e.streams.get()).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeH2(Cell<bool>);
    impl Multiplexed for FakeH2 {
        fn is_open(&self) -> bool {
            self.0.get()
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    fn key(host: &str) -> PoolKey {
        PoolKey {
            scheme: "https".into(),
            host: host.into(),
            port: 443,
            target: None,
            tls: Some(1),
            interface: None,
            local_port: 0,
            proxy: None,
            unix: None,
            ntlm: None,
        }
    }

    #[test]
    fn spare_buffers_are_reused_and_capped() {
        let spare = SpareBuffers::default();
        let mut b = spare.take(4096);
        assert_eq!(b.len(), 4096);
        b[0] = 7;
        let p = b.as_ptr();
        spare.give(b);
        let again = spare.take(4096);
        assert_eq!(again.as_ptr(), p, "the same allocation comes back");
        for _ in 0..SpareBuffers::KEEP + 10 {
            spare.give(vec![0u8; 16]);
        }
        assert_eq!(spare.0.borrow().len(), SpareBuffers::KEEP);
        assert_eq!(spare.take(8192).len(), 8192);
    }

    #[test]
    fn shared_entries_count_streams_against_the_limit() {
        let r = Rc::new(Reactor::default());
        let mut pool = Pool::default();
        let a = Rc::new(FakeH2(Cell::new(true)));
        pool.add_shared(key("a"), a.clone(), 2);
        assert!(pool.take_stream(&key("b"), &r).is_none());
        let s1 = pool.take_stream(&key("a"), &r).unwrap();
        let s2 = pool.take_stream(&key("a"), &r).unwrap();
        assert_eq!(pool.streams_in_use(&key("a")), 2);
        assert!(pool.take_stream(&key("a"), &r).is_none(), "the server's limit is reached");
        drop(s1);
        let s3 = pool.take_stream(&key("a"), &r).unwrap();
        // A second connection takes the next stream while the first is full; the least busy wins.
        let b = Rc::new(FakeH2(Cell::new(true)));
        pool.add_shared(key("a"), b, 2);
        let s4 = pool.take_stream(&key("a"), &r).unwrap();
        assert_eq!(pool.streams_in_use(&key("a")), 3);
        drop((s2, s3, s4));
        a.0.set(false);
        assert!(pool.take_stream(&key("a"), &r).is_some(), "the open one still serves");
        assert_eq!(pool.shared[&key("a")].len(), 1, "the closed one was dropped");
    }
}
