//! Connections and the pool of idle ones, keyed by origin. One pool per multi (and one in each easy
//! handle's private multi), as libcurl keeps a connection cache per multi.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::Waker;

use super::net::Stream;

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
    /// Hash of the TLS options (None for plain HTTP).
    pub tls: Option<u64>,
    pub interface: Option<String>,
    pub local_port: u16,
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
    pub buf: Vec<u8>,
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
}

impl Conn {
    pub fn new(stream: Stream, id: i64, key: PoolKey, primary: SocketAddr, local: SocketAddr) -> Conn {
        let now = Instant::now();
        Conn {
            stream,
            id,
            key,
            primary,
            local,
            created: now,
            idle_since: now,
            buf: vec![0u8; 4096],
            start: 0,
            end: 0,
            certinfo: Vec::new(),
            ssl_verifyresult: 0,
            uses: 0,
            slot: None,
            primary_ip: primary.ip().to_string(),
            local_ip: local.ip().to_string(),
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

    /// Reads more bytes into the buffer; Ok(0) at EOF.
    pub async fn fill(&mut self) -> std::io::Result<usize> {
        if self.start > 0 && self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let n = self.buf.len();
            self.buf.resize(n * 2, 0);
        }
        let end = self.end;
        let n = self.stream.read(&mut self.buf[end..]).await?;
        self.end += n;
        // Small responses keep a small buffer; one that fills it grows it (up to 64 KiB) so
        // large bodies are read in large pieces.
        if end + n == self.buf.len() && self.buf.len() < 65536 {
            let len = self.buf.len();
            self.buf.resize(len * 2, 0);
        }
        Ok(n)
    }
}

/// Idle connections by origin, most recently used last.
pub struct Pool {
    idle: HashMap<PoolKey, Vec<Conn>>,
    count: usize,
    /// MAXCONNECTS: idle connections kept at most.
    pub max_idle: usize,
    pub max_age: Duration,
}

impl Default for Pool {
    fn default() -> Self {
        Pool { idle: HashMap::new(), count: 0, max_idle: 64, max_age: Duration::from_secs(118) }
    }
}

impl Pool {
    /// Takes a live idle connection for `key`, dropping dead or stale ones on the way.
    /// Takes a usable idle connection for `key`, dropping stale or dead ones on the way. A connection
    /// idle for less than a second is taken without asking the OS whether it is still open (the
    /// request is retried once on a fresh connection if it was not) unless `strict`: an upload
    /// that can't be replayed wants the check.
    pub fn take(&mut self, key: &PoolKey, max_age: Duration, max_life: Option<Duration>, strict: bool) -> Option<Conn> {
        let list = self.idle.get_mut(key)?;
        while let Some(c) = list.pop() {
            self.count -= 1;
            let idle = c.idle_since.elapsed();
            let fresh = idle < max_age && max_life.is_none_or(|l| c.created.elapsed() < l);
            if fresh && ((!strict && idle < Duration::from_secs(1)) || c.stream.is_alive()) {
                return Some(c);
            }
        }
        None
    }

    pub fn put(&mut self, mut c: Conn) {
        c.idle_since = Instant::now();
        self.idle.entry(c.key.clone()).or_default().push(c);
        self.count += 1;
        while self.count > self.max_idle && self.evict_oldest() {}
    }

    /// Closes the connection idle the longest (to make room under M_MAX_TOTAL_CONNECTIONS).
    pub fn evict_oldest(&mut self) -> bool {
        let oldest = self
            .idle
            .iter()
            .filter_map(|(k, v)| v.first().map(|c| (k.clone(), c.idle_since)))
            .min_by_key(|(_, t)| *t)
            .map(|(k, _)| k);
        match oldest {
            Some(k) => {
                let v = self.idle.get_mut(&k).unwrap();
                v.remove(0);
                if v.is_empty() {
                    self.idle.remove(&k);
                }
                self.count -= 1;
                true
            }
            None => false,
        }
    }

    pub fn idle_count(&self) -> usize {
        self.count
    }

    pub fn clear(&mut self) {
        self.idle.clear();
        self.count = 0;
    }
}
