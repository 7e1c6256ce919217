//! The instance `__dict__` of Curl, CurlMulti and CurlShare for the cyclic GC. pyo3 0.25's generated
//! tp_traverse/tp_clear never reach that dict, so `c.me = c`, or a subclass keeping `self.cb = self.on_write`,
//! would never be freed; each class's `__traverse__`/`__clear__` visit and clear it through these helpers.
//! Its dealloc also only empties the dict without releasing it, so each class's `Drop` releases it here.
use std::sync::atomic::{AtomicIsize, Ordering};

use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{PyClass, PyTraverseError, PyVisit};

/// Byte distance from a class's Rust value to its `__dict__` slot (0 until measured at import).
pub struct DictSlot(AtomicIsize);

pub static CURL: DictSlot = DictSlot::new();
pub static MULTI: DictSlot = DictSlot::new();
pub static SHARE: DictSlot = DictSlot::new();

impl DictSlot {
    const fn new() -> Self {
        DictSlot(AtomicIsize::new(0))
    }

    /// Measures the distance on one fresh instance: pyo3 keeps the layout private, but it is fixed per
    /// class and shared by Python subclasses (the base already has the dict, so they add none).
    pub fn measure<T: PyClass>(&self, ty: &Bound<'_, PyType>) -> PyResult<()> {
        let dictoffset: isize = ty.getattr("__dictoffset__")?.extract()?;
        if dictoffset <= 0 {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("pycurl: class without a __dict__ slot"));
        }
        let obj = ty.call0()?;
        let value = &*obj.downcast::<T>()?.borrow() as *const T as isize;
        self.0.store(obj.as_ptr() as isize + dictoffset - value, Ordering::Relaxed);
        Ok(())
    }

    /// The dict slot of the object that holds `value` (a nullable owned reference, as CPython keeps it).
    fn slot<T>(&self, value: &T) -> Option<*mut Option<Py<PyAny>>> {
        let off = self.0.load(Ordering::Relaxed);
        // The address is rebuilt from the whole object's, not derived from `&T` (which covers T only).
        (off != 0).then(|| {
            std::ptr::with_exposed_provenance_mut((value as *const T).expose_provenance().wrapping_add_signed(off))
        })
    }

    /// Visits the dict; call only from `__traverse__` of the class this slot was measured for.
    pub fn traverse<T>(&self, value: &T, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(p) = self.slot(value) {
            // SAFETY: `value` lives inside a Python object of the measured class (tp_traverse is only called
            // on those), whose dict slot is at this distance; the GC holds the GIL and mutates nothing.
            #[allow(unsafe_code)]
            let dict = unsafe { &*p };
            visit.call(dict)?;
        }
        Ok(())
    }

    /// Drops the dict (as CPython's tp_clear does for its own instances); `__dict__` makes a new one on demand.
    pub fn clear<T>(&self, value: &T) {
        if let Some(p) = self.slot(value) {
            // SAFETY: as in `traverse`; tp_clear holds the GIL, and the slot is emptied before the dict is
            // released, so code run by that release sees no dangling dict.
            #[allow(unsafe_code)]
            let old = unsafe { p.replace(None) };
            drop(old);
        }
    }
}
