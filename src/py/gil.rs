//! `GilCell`: interior mutability for state that is only ever touched while holding the GIL.
//!
//! The engine is single-threaded (`Rc`, `RefCell`). Python objects can move between threads, so a
//! pyclass must be `Send + Sync`; every access to a `GilCell` happens with the GIL held (the engine
//! runs only inside methods that hold it and releases it solely around the poller wait, which touches
//! none of this state), so the GIL serialises all access.
use std::cell::{Ref, RefCell, RefMut};

pub struct GilCell<T>(RefCell<T>);

// SAFETY: see the module docs: all access is serialised by the GIL.
#[allow(unsafe_code)]
unsafe impl<T> Send for GilCell<T> {}
#[allow(unsafe_code)]
unsafe impl<T> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub fn new(v: T) -> Self {
        GilCell(RefCell::new(v))
    }
    pub fn borrow(&self) -> Ref<'_, T> {
        self.0.borrow()
    }
    pub fn borrow_mut(&self) -> RefMut<'_, T> {
        self.0.borrow_mut()
    }
    pub fn try_borrow_mut(&self) -> Option<RefMut<'_, T>> {
        self.0.try_borrow_mut().ok()
    }
}
