//! `pycurl.CurlShare`: a libcurl share handle as pycurl 7.49 exposes it (setopt SH_SHARE /
//! SH_UNSHARE, share()/unshare(), close() with detach_on_close). The data it holds lives in
//! `engine::share::Share` (Send + Sync), so handles in different multis and threads use it.
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyTuple, PyWeakrefReference};
use pyo3::{PyTraverseError, PyVisit};

use crate::engine::error::shcode;
use crate::engine::share::{ConnCache, Share, LOCK_DATA_CONNECT};
use crate::engine::strerror;

use super::constants;
use super::curl::PyCurl;
use super::errors::{code_err, msg_err};
use super::gil::GilCell;

const SH_SHARE: i32 = 1;
const SH_UNSHARE: i32 = 2;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct ShareState {
    closed: bool,
    /// Weak references to the Curl objects attached with setopt(SHARE, ...).
    users: Vec<PyObject>,
}

/// CurlShare(detach_on_close=True) -> New CurlShare object
///
/// A CURLSH handle: pass it to the SHARE option of Curl objects so they share cookies, DNS
/// entries, TLS sessions and connections. Usable as a context manager (exiting calls close()).
#[pyclass(name = "CurlShare", module = "pycurl", subclass, dict, weakref)]
pub struct PyCurlShare {
    pub inner: Arc<Share>,
    detach_on_close: bool,
    st: Mutex<ShareState>,
    /// LOCK_DATA_CONNECT's connection cache; engine state, so it lives behind the GIL.
    conns: GilCell<Option<ConnCache>>,
}

impl Drop for PyCurlShare {
    fn drop(&mut self) {
        // pyo3 0.25's dealloc empties the instance dict but never releases it.
        super::instdict::SHARE.clear(self);
    }
}

fn in_use() -> PyErr {
    code_err(shcode::IN_USE, strerror::share_strerror(shcode::IN_USE as i64))
}

impl PyCurlShare {
    /// The live Curl objects attached to this share.
    fn live_users<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyCurl>> {
        let mut st = lock(&self.st);
        st.users.retain(|w| w.bind(py).call0().is_ok_and(|c| !c.is_none()));
        st.users.iter().filter_map(|w| w.bind(py).call0().ok()?.downcast_into::<PyCurl>().ok()).collect()
    }

    /// setopt(SH_SHARE / SH_UNSHARE, kind) after the argument checks.
    fn set_kind(&self, py: Python<'_>, what: &str, option: i32, kind: &Bound<'_, PyAny>) -> PyResult<()> {
        if lock(&self.st).closed {
            return Err(msg_err(format!("cannot invoke {what}() - no share handle")));
        }
        let k = lock_data(kind)?;
        if !self.live_users(py).is_empty() {
            return Err(in_use());
        }
        if !self.inner.set(k, option == SH_SHARE) {
            return Err(code_err(shcode::BAD_OPTION, strerror::share_strerror(shcode::BAD_OPTION as i64)));
        }
        // Unsharing keeps the cache, as libcurl does: sharing again finds its connections.
        if k == LOCK_DATA_CONNECT && option == SH_SHARE {
            self.conns.borrow_mut().get_or_insert_with(ConnCache::default);
        }
        Ok(())
    }

    /// Curl.setopt(SHARE, self): records the user.
    pub fn attach(&self, py: Python<'_>, curl: &Bound<'_, PyCurl>) -> PyResult<Arc<Share>> {
        let mut st = lock(&self.st);
        if st.closed {
            return Err(msg_err("CurlShare is closed"));
        }
        st.users.push(PyWeakrefReference::new(curl)?.into_any().unbind());
        let _ = py;
        Ok(self.inner.clone())
    }

    /// The connection cache handles attached now use (None unless LOCK_DATA_CONNECT is shared).
    pub fn conn_cache(&self) -> Option<ConnCache> {
        self.conns.borrow().clone().filter(|_| self.inner.holds(LOCK_DATA_CONNECT))
    }

    /// Curl.setopt(SHARE, None) or Curl.close(): forgets the user.
    pub fn detach(&self, py: Python<'_>, curl: &PyCurl) {
        let mut st = lock(&self.st);
        st.users.retain(|w| match w.bind(py).call0() {
            Ok(c) => c.downcast::<PyCurl>().is_ok_and(|c| !std::ptr::eq(&*c.borrow() as *const PyCurl, curl)),
            Err(_) => false,
        });
    }
}

/// A LOCK_DATA_* value as pycurl accepts it (bool and other types refused).
fn lock_data(v: &Bound<'_, PyAny>) -> PyResult<u32> {
    if v.is_instance_of::<PyBool>() || !v.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("invalid arguments to setopt"));
    }
    match v.extract::<i64>() {
        Ok(k @ 2..=7) => Ok(k as u32),
        Ok(_) => Err(PyTypeError::new_err("invalid arguments to setopt")),
        // pycurl reads the value as a C long first
        Err(_) => Err(pyo3::exceptions::PyOverflowError::new_err("Python int too large to convert to C long")),
    }
}

#[pymethods]
impl PyCurlShare {
    // pickle, copy and deepcopy all end here, with pycurl's message (a handle has no state to copy)
    fn __getstate__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("CurlShare objects do not support serialization"))
    }

    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **kwargs))]
    fn py_new(
        cls: &Bound<'_, pyo3::types::PyType>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        // A subclass's arguments belong to its own __init__, as with pycurl.
        let base = cls.is(cls.py().get_type::<PyCurlShare>());
        if base && !args.is_empty() {
            return Err(PyTypeError::new_err("function takes no positional arguments"));
        }
        let mut detach_on_close = true;
        if let Some(kw) = kwargs.filter(|_| base) {
            for (k, v) in kw.iter() {
                let k: String = k.extract()?;
                if k != "detach_on_close" {
                    return Err(PyTypeError::new_err(format!(
                        "'{k}' is an invalid keyword argument for this function"
                    )));
                }
                detach_on_close = v.is_truthy()?;
            }
        }
        Ok(PyCurlShare {
            inner: Arc::new(Share::new()),
            detach_on_close,
            st: Mutex::new(ShareState { closed: false, users: Vec::new() }),
            conns: GilCell::new(None),
        })
    }

    #[pyo3(signature = (*args))]
    fn setopt(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        if args.len() != 2 {
            return Err(PyTypeError::new_err(format!("setopt() takes exactly 2 arguments ({} given)", args.len())));
        }
        let option = super::convert::c_int(&args.get_item(0)?)?;
        let value = args.get_item(1)?;
        if lock(&self.st).closed {
            return Err(msg_err("cannot invoke setopt() - no share handle"));
        }
        if option != SH_SHARE && option != SH_UNSHARE {
            // pycurl knows no other option; one in its table's range (a number under 333 in any
            // of the four type ranges) types the value, and an integer gets its own message
            let in_table = option > 0 && option < 30_000 + 333 && option % 10_000 < 333;
            if in_table && value.is_instance_of::<PyInt>() {
                return Err(PyTypeError::new_err("integers are not supported for this option"));
            }
            return Err(PyTypeError::new_err("invalid arguments to setopt"));
        }
        self.set_kind(py, "setopt", option, &value)
    }

    #[pyo3(signature = (*data, **kwargs))]
    fn share(&self, py: Python<'_>, data: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.many(py, "share", SH_SHARE, data, kwargs)
    }

    #[pyo3(signature = (*data, **kwargs))]
    fn unshare(&self, py: Python<'_>, data: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.many(py, "unshare", SH_UNSHARE, data, kwargs)
    }

    /// close(): detaches idle Curl objects (detach_on_close) or refuses while any is attached.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if lock(&self.st).closed {
            return Ok(());
        }
        let users = self.live_users(py);
        let busy = users.iter().filter(|c| c.borrow().st.borrow().performing).count();
        let blocking = if self.detach_on_close { busy } else { users.len() };
        if blocking > 0 {
            let s = if blocking == 1 { "" } else { "s" };
            return Err(msg_err(format!("cannot close CurlShare: still in use by {blocking} active Curl object{s}")));
        }
        for c in &users {
            c.borrow().drop_share(py);
        }
        let mut st = lock(&self.st);
        st.users.clear();
        st.closed = true;
        drop(st);
        // The idle shared connections close with the share (CLOSESOCKETFUNCTION may run here).
        let conns = self.conns.borrow_mut().take();
        drop(conns);
        Ok(())
    }

    #[getter]
    fn closed(&self) -> bool {
        lock(&self.st).closed
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __setattr__(slf: &Bound<'_, Self>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        super::curl::set_instance_attr(slf.as_any(), name, value)
    }

    fn __delattr__(slf: &Bound<'_, Self>, name: &str) -> PyResult<()> {
        super::curl::del_instance_attr(slf.as_any(), name)
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<PyObject> {
        super::curl::constant_attr(py, name, constants::share_attr(name))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // Besides its __dict__, a share holds only weak references.
        super::instdict::SHARE.traverse(self, &visit)
    }

    fn __clear__(&self) {
        super::instdict::SHARE.clear(self);
    }
}

impl PyCurlShare {
    fn many(
        &self,
        py: Python<'_>,
        what: &str,
        option: i32,
        data: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        if kwargs.is_some_and(|k| !k.is_empty()) {
            return Err(PyTypeError::new_err(format!("{what}() takes no keyword arguments")));
        }
        if data.is_empty() {
            return Err(PyTypeError::new_err("at least one LOCK_DATA_* argument required"));
        }
        if data.iter().any(|d| !d.is_instance_of::<PyInt>()) {
            return Err(PyTypeError::new_err("arguments must be LOCK_DATA_* integers"));
        }
        for d in data.iter() {
            self.set_kind(py, what, option, &d)?;
        }
        Ok(())
    }
}
