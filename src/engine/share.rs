//! What a CurlShare holds (libcurl's CURLSH): data that easy handles in different multis, and on
//! different threads, use together. Each multi's world is single-threaded (`Rc`); what is shared
//! here is plain data behind a mutex, taken only for short steps that call no callback.
//!
//! Shared kinds: cookies (one jar replaces each handle's own), DNS (the share's cache is merged into
//! a transfer's multi cache before each request and back after it), TLS sessions (the engine's
//! session store is process-wide already), connections (a `ConnCache`, below) and the public
//! suffix list (accepted: see docs/differences.md).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};

use super::cookies::CookieJar;
use super::resolve::DnsCache;

/// A share's connection cache (LOCK_DATA_CONNECT): idle connections any handle using the share
/// may take, whichever multi or thread it runs in (an h2 one moves to another multi once idle). Connections hold the engine's `Rc` world,
/// so unlike the rest of a share this is not Send: the bindings keep it beside the handles
/// themselves (behind the GIL, which serialises every use as pycurl's share lock does).
pub type ConnCache = Rc<RefCell<super::pool::Pool>>;

/// curl_lock_data values a share may hold.
pub const LOCK_DATA_COOKIE: u32 = 2;
pub const LOCK_DATA_DNS: u32 = 3;
pub const LOCK_DATA_SSL_SESSION: u32 = 4;
pub const LOCK_DATA_CONNECT: u32 = 5;
pub const LOCK_DATA_PSL: u32 = 6;
pub const LOCK_DATA_HSTS: u32 = 7;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // the data stays consistent between steps: a panic elsewhere does not poison it for us
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
pub struct Share {
    kinds: Mutex<u32>,
    cookies: Mutex<Option<CookieJar>>,
    dns: Mutex<DnsCache>,
}

impl Share {
    pub fn new() -> Share {
        Share::default()
    }

    /// Does this share hold `kind`?
    pub fn holds(&self, kind: u32) -> bool {
        *lock(&self.kinds) & (1 << kind) != 0
    }

    /// SH_SHARE / SH_UNSHARE of one kind (the bindings refuse it while handles use the share).
    /// Sharing cookies starts an empty jar; its users still switch their cookie engine on
    /// themselves. False for what libcurl calls an unknown option (unsharing PSL among them).
    pub fn set(&self, kind: u32, on: bool) -> bool {
        if !(LOCK_DATA_COOKIE..=LOCK_DATA_HSTS).contains(&kind) || (kind == LOCK_DATA_PSL && !on) {
            return false;
        }
        let mut k = lock(&self.kinds);
        if on {
            *k |= 1 << kind;
        } else {
            *k &= !(1 << kind);
        }
        if kind == LOCK_DATA_COOKIE {
            let mut jar = lock(&self.cookies);
            *jar = if on { Some(jar.take().unwrap_or_default()) } else { None };
        }
        if kind == LOCK_DATA_DNS && !on {
            *lock(&self.dns) = DnsCache::default();
        }
        true
    }

    /// The shared cookie jar (None when cookies are not shared).
    pub fn cookies(&self) -> MutexGuard<'_, Option<CookieJar>> {
        lock(&self.cookies)
    }

    /// Copies what the share's DNS cache knows into a multi's cache.
    pub fn dns_into(&self, cache: &mut DnsCache) {
        cache.merge_from(&lock(&self.dns));
    }

    /// Copies what a multi's cache learned into the share's.
    pub fn dns_from(&self, cache: &DnsCache) {
        lock(&self.dns).merge_from(cache);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_the_cookie_jar() {
        let s = Share::new();
        assert!(!s.holds(LOCK_DATA_COOKIE) && s.cookies().is_none());
        assert!(s.set(LOCK_DATA_COOKIE, true) && s.holds(LOCK_DATA_COOKIE) && s.cookies().is_some());
        assert!(!s.set(1, true) && !s.set(8, true) && !s.set(LOCK_DATA_PSL, false));
        assert!(s.set(LOCK_DATA_COOKIE, false) && s.cookies().is_none());
    }

    #[test]
    fn dns_entries_travel_both_ways() {
        let s = Share::new();
        let mut a = DnsCache::default();
        a.put("example.test", 80, vec!["127.0.0.1:80".parse().unwrap()]);
        s.dns_from(&a);
        let mut b = DnsCache::default();
        s.dns_into(&mut b);
        assert_eq!(b.get("example.test", 80, None), Some(vec!["127.0.0.1:80".parse().unwrap()]));
    }
}
