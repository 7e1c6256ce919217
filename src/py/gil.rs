//! `GilCell`: interior mutability for state that is only ever touched while holding the GIL.
//!
//! The engine is single-threaded (`Rc`, `RefCell`). Python objects can move between threads, so a
//! pyclass must be `Send + Sync`; every access to a `GilCell` happens with the GIL held (the engine
//! runs only inside methods that hold it and releases it solely around the poller wait, which touches
//! none of this state), so the GIL serialises all access.
//!
//! `allow_threads` is the one way to release the GIL (around those waits). Once the interpreter is
//! finalizing, CPython ends any other thread that asks for the GIL back with `pthread_exit`; that
//! forced unwind through Rust frames aborts the process. So a thread whose wait returns after the
//! exit began never asks: it parks until the process is gone (daemon threads die with it anyway).
use std::cell::{Ref, RefCell, RefMut};
use std::ffi::c_int;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::ThreadId;

use pyo3::prelude::*;
use pyo3::types::PyModule;

/// The thread that ran the `atexit` hook registered at import (the one running the exit): only
/// used where the runtime's own flag is unknown.
static EXIT_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// Address of `Py_IsFinalizing` (3.13+) or `_Py_IsFinalizing` (3.9 to 3.12), or 0 if neither.
static IS_FINALIZING: AtomicUsize = AtomicUsize::new(0);

#[pyfunction]
fn _mark_exiting() {
    let _ = EXIT_THREAD.set(std::thread::current().id());
}

/// Finds the runtime's finalizing flag and registers the atexit hook; called once at import.
pub fn install_exit_guard(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Windows ends such a thread without unwinding Rust frames (no abort): the atexit hook is enough.
    #[cfg(unix)]
    for name in [c"Py_IsFinalizing", c"_Py_IsFinalizing"] {
        let f = crate::engine::sys::loaded_symbol(name);
        if f != 0 {
            IS_FINALIZING.store(f, Ordering::SeqCst);
            break;
        }
    }
    let hook = wrap_pyfunction!(_mark_exiting, m)?;
    m.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}

/// Whether taking the GIL back now would end this thread (the interpreter is finalizing).
fn exiting() -> bool {
    match IS_FINALIZING.load(Ordering::SeqCst) {
        // Without the runtime's flag, the atexit hook is the nearest sign; the thread running the
        // exit is never ended, so it must not park.
        0 => EXIT_THREAD.get().is_some_and(|t| *t != std::thread::current().id()),
        f => {
            // SAFETY: `f` is the interpreter's own `int (*)(void)`, found by name above; it reads
            // an atomic and needs no GIL.
            #[allow(unsafe_code)]
            let f: extern "C" fn() -> c_int = unsafe { std::mem::transmute(f) };
            f() != 0
        }
    }
}

/// `py.allow_threads(f)`, except that a thread coming back while the interpreter exits parks
/// forever instead of being ended by CPython mid-unwind.
pub fn allow_threads<T: Send, F: Send + FnOnce() -> T>(py: Python<'_>, f: F) -> T {
    py.allow_threads(|| {
        let r = f();
        while exiting() {
            std::thread::park();
        }
        r
    })
}

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
    pub fn try_borrow(&self) -> Option<Ref<'_, T>> {
        self.0.try_borrow().ok()
    }
    pub fn try_borrow_mut(&self) -> Option<RefMut<'_, T>> {
        self.0.try_borrow_mut().ok()
    }
}
