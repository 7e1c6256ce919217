//! `Rare<T>`: a group of options most handles never set, which costs one pointer until one of them
//! is set. Reading goes through `Deref` (the group's defaults when unset) and writing through
//! `DerefMut` (which allocates the group), so code reads `o.proxy.port` as if the group were inline.
//! Equality and hashing look at the values: an unset group equals one set back to its defaults.

use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

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
pub struct Rare<T>(Option<Box<T>>);

impl<T> Rare<T> {
    /// Unset (for constants; `Rare::default()` elsewhere).
    pub const UNSET: Rare<T> = Rare(None);
}

impl<T: Defaults> Rare<T> {
    /// Whether the group was ever written to (it may hold its defaults again).
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }
}

impl<T: Defaults> Deref for Rare<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(b) => b,
            None => T::defaults(),
        }
    }
}

impl<T: Defaults> DerefMut for Rare<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
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
}
