//! `Rare<T>`: a group of options most handles never set, which costs one pointer until one of them
//! is set. Reading goes through `Deref` (the group's defaults when unset) and writing through
//! `DerefMut` (which allocates the group), so code reads `o.proxy.port` as if the group were inline.
//! Equality and hashing look at the values: an unset group equals one set back to its defaults.

use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The defaults an unset group reads as: one static value per type.
pub trait Defaults: Default + Sized + 'static {
    fn defaults() -> &'static Self;
}

/// Implements [`Defaults`] for an option group from a constant (a static: reading an unset group
/// costs no more than reading a set one).
#[macro_export]
macro_rules! rare_defaults {
    ($t:ty = $v:expr) => {
        impl $crate::engine::rare::Defaults for $t {
            fn defaults() -> &'static Self {
                static D: $t = $v;
                &D
            }
        }
    };
}

/// An option group allocated on first write (see the module docs).
#[derive(Clone, Default)]
pub struct Rare<T>(Option<Box<Set<T>>>);

/// A set group and its fingerprint, kept until the next write (0: not computed yet). Atomic, not a
/// `Cell`: a group's defaults static may hold a `Rare` of its own, and statics must be `Sync`.
#[derive(Default)]
struct Set<T> {
    v: T,
    fp: AtomicU64,
}

impl<T: Clone> Clone for Set<T> {
    fn clone(&self) -> Self {
        Set { v: self.v.clone(), fp: AtomicU64::new(self.fp.load(Relaxed)) }
    }
}

/// What `Set::fp` holds for a group equal to its defaults (fingerprints of others are odd).
const FP_DEFAULTS: u64 = 2;

impl<T> Rare<T> {
    /// Unset (for constants; `Rare::default()` elsewhere).
    pub const UNSET: Rare<T> = Rare(None);
}

impl<T: Defaults> Rare<T> {
    /// Whether the group was ever written to (it may hold its defaults again).
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// A hash of the values for keys that must tell groups apart (the connection pool's), computed
    /// once per change of the group rather than per request: 0 for the defaults (set or not).
    pub fn fingerprint(&self) -> u64
    where
        T: Hash + PartialEq,
    {
        let Some(s) = &self.0 else { return 0 };
        let fp = match s.fp.load(Relaxed) {
            0 => {
                let fp = if s.v == *T::defaults() {
                    FP_DEFAULTS
                } else {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    s.v.hash(&mut h);
                    h.finish() | 1
                };
                s.fp.store(fp, Relaxed);
                fp
            }
            fp => fp,
        };
        if fp == FP_DEFAULTS {
            0
        } else {
            fp
        }
    }
}

impl<T: Defaults> Deref for Rare<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(b) => &b.v,
            None => T::defaults(),
        }
    }
}

impl<T: Defaults> DerefMut for Rare<T> {
    fn deref_mut(&mut self) -> &mut T {
        let s = self.0.get_or_insert_with(Box::default);
        // The caller may change the values: the fingerprint is computed again when next asked.
        *s.fp.get_mut() = 0;
        &mut s.v
    }
}

impl<T: Defaults + PartialEq> PartialEq for Rare<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Defaults + Eq> Eq for Rare<T> {}

impl<T: Defaults + Hash> Hash for Rare<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: Defaults + std::fmt::Debug> std::fmt::Debug for Rare<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default, Debug, PartialEq, Eq, Hash)]
    struct G {
        a: Option<String>,
        n: u32,
    }
    crate::rare_defaults!(G = G { a: None, n: 0 });

    #[test]
    fn unset_reads_defaults_and_allocates_on_write() {
        let mut r: Rare<G> = Rare::default();
        assert_eq!(r.n, 0);
        assert!(!r.is_set());
        assert_eq!(std::mem::size_of::<Rare<G>>(), std::mem::size_of::<usize>());
        r.n = 7;
        assert!(r.is_set());
        assert_eq!(r.n, 7);
        let c = r.clone();
        assert_eq!(c.n, 7);
        r.n = 0;
        assert_eq!(r, Rare::default(), "a group set back to its defaults equals an unset one");
    }

    #[test]
    fn fingerprint_follows_writes() {
        let mut r: Rare<G> = Rare::default();
        assert_eq!(r.fingerprint(), 0);
        r.n = 7;
        let seven = r.fingerprint();
        assert_ne!(seven, 0);
        assert_eq!(r.fingerprint(), seven, "kept until the next write");
        let c = r.clone();
        assert_eq!(c.fingerprint(), seven);
        r.a = Some("x".into());
        let other = r.fingerprint();
        assert_ne!(other, seven, "a write computes it again");
        let mut fresh = Rare::<G>::UNSET;
        fresh.a = Some("x".into());
        fresh.n = 7;
        assert_eq!(fresh.fingerprint(), other, "equal values, equal fingerprints");
        r.a = None;
        r.n = 0;
        assert_eq!(r.fingerprint(), 0, "set back to the defaults reads as unset");
    }
}
