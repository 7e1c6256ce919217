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
//! Checking a flag and then asking would race with the exit starting in between (the ask can wait
//! long for the GIL), so the ask happens under `GATE`, which the `atexit` hook (run before CPython
//! marks itself finalizing) must take to close it. Hooks registered before pycurl's run after it
//! and may wait for a thread in a wait (stop and join a worker), so a closed gate holds threads for
//! `GRACE` only; after that they ask as before.
//!
//! A thread running a Python callback called from Rust can lose the GIL inside it (a sleep, a
//! socket call, the interpreter switching threads); asking for it back during finalization would
//! end it mid-unwind too. So the hook also waits (GIL released, up to `GRACE`) until no other
//! thread is inside such a callback, and a thread about to enter one while the gate is closed
//! parks like a returning wait. A callback still running after `GRACE` is not covered.
use std::cell::{Cell, Ref, RefCell, RefMut};
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyModule;

/// The thread that ran the `atexit` hook registered at import (the one running the exit): only
/// used where the runtime's own flag is unknown.
static EXIT_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// Address of `Py_IsFinalizing` (3.13+) or `_Py_IsFinalizing` (3.9 to 3.12), or 0 if neither.
static IS_FINALIZING: AtomicUsize = AtomicUsize::new(0);

/// When the `atexit` hook closed it (None while open). A thread takes the GIL back while holding
/// it, so once the hook has closed it no thread but the exiting one takes the GIL back from a wait
/// until `GRACE` has passed. Only ever locked without the GIL: a holder may be waiting for the GIL.
static GATE: Mutex<Option<Instant>> = Mutex::new(None);
/// How long a closed gate holds threads while the runtime is not yet finalizing: the other exit
/// hooks normally take far less; one that waits for such a thread gets it back after this.
const GRACE: Duration = Duration::from_secs(1);
/// Set with `GATE`: a callback entry reads this instead of taking the lock.
static GATE_CLOSED: AtomicBool = AtomicBool::new(false);
/// Python callbacks called from Rust that are running now, over all threads.
static IN_CALLBACKS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's share of `IN_CALLBACKS` (callbacks nest: a callback may perform again).
    static CALLBACK_DEPTH: Cell<usize> = const { Cell::new(0) };
}

#[pyfunction]
fn _mark_exiting(py: Python<'_>) {
    let _ = EXIT_THREAD.set(std::thread::current().id());
    let own = CALLBACK_DEPTH.with(Cell::get);
    py.allow_threads(|| {
        let at = Instant::now();
        *GATE.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
        GATE_CLOSED.store(true, Ordering::SeqCst);
        // Let threads inside callbacks run them to the end while we do not hold the GIL.
        while IN_CALLBACKS.load(Ordering::SeqCst) > own && at.elapsed() < GRACE {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Marks this thread as inside a Python callback called from Rust until dropped.
pub struct InCallback(());

impl Drop for InCallback {
    fn drop(&mut self) {
        CALLBACK_DEPTH.with(|d| d.set(d.get() - 1));
        IN_CALLBACKS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Call before running Python code from Rust (callbacks): once the exit has begun, a thread other
/// than the exiting one parks here, GIL released, as it would after a wait.
pub fn enter_callback(py: Python<'_>) -> InCallback {
    // Counted before the gate is read (the hook closes it before counting): one of us sees the other.
    IN_CALLBACKS.fetch_add(1, Ordering::SeqCst);
    if GATE_CLOSED.load(Ordering::SeqCst) && EXIT_THREAD.get() != Some(&std::thread::current().id()) {
        IN_CALLBACKS.fetch_sub(1, Ordering::SeqCst);
        allow_threads(py, || ());
        IN_CALLBACKS.fetch_add(1, Ordering::SeqCst);
    }
    CALLBACK_DEPTH.with(|d| d.set(d.get() + 1));
    InCallback(())
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

/// Whether the runtime says it is finalizing (0 where its flag was not found).
fn finalizing() -> bool {
    match IS_FINALIZING.load(Ordering::SeqCst) {
        0 => false,
        f => {
            // SAFETY: `f` is the interpreter's own `int (*)(void)`, found by name above; it reads
            // an atomic and needs no GIL.
            #[allow(unsafe_code)]
            let f: extern "C" fn() -> c_int = unsafe { std::mem::transmute(f) };
            f() != 0
        }
    }
}

/// `py.allow_threads(f)`, except that a thread coming back while the interpreter exits parks (for
/// good once the runtime is finalizing) instead of being ended by CPython mid-unwind. The thread running the exit is never
/// ended, so it takes the GIL back as usual (a transfer from a finalizer or a later atexit hook).
pub fn allow_threads<T: Send, F: Send + FnOnce() -> T>(_py: Python<'_>, f: F) -> T {
    // SAFETY: the GIL is held (we have `_py`) and is given back below on every path before
    // returning; `f` is `Send` and touches no Python state while it is released.
    #[allow(unsafe_code)]
    let saved = unsafe { pyo3::ffi::PyEval_SaveThread() };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let me = std::thread::current().id();
    loop {
        let closed = GATE.lock().unwrap_or_else(PoisonError::into_inner);
        let held = closed.is_some_and(|at| at.elapsed() < GRACE);
        if EXIT_THREAD.get() == Some(&me) || !(held || finalizing()) {
            // SAFETY: `saved` is this thread's state from the save above, restored once.
            #[allow(unsafe_code)]
            unsafe {
                pyo3::ffi::PyEval_RestoreThread(saved)
            };
            break;
        }
        drop(closed);
        std::thread::park_timeout(Duration::from_millis(20));
    }
    r.unwrap_or_else(|p| std::panic::resume_unwind(p))
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
