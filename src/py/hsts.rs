//! HSTS for the bindings: the `HstsEntry` / `HstsIndex` named tuples pycurl exposes, the
//! HSTSREADFUNCTION / HSTSWRITEFUNCTION calls with pycurl's argument checks and reports, and the
//! two hooks libcurl runs: before each transfer (read the file, then the read callback until it
//! returns None) and at handle cleanup (write the file, then the write callback per entry).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyString, PyTuple};

use crate::engine::easy::EasyShared;
use crate::engine::error::code;
use crate::engine::hsts::{Cache, Entry, STS_OK};

use super::callbacks::PyCallbacks;
use super::errors::{code_err, msg_err};

/// Adds `HstsEntry(host, expire, include_subdomains)` and `HstsIndex(idx, total)`: named tuples,
/// as pycurl 7.49 builds them.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let namedtuple = py.import("collections")?.getattr("namedtuple")?;
    let kw = PyDict::new(py);
    kw.set_item("module", "pycurl")?;
    let entry = namedtuple.call(("HstsEntry", ("host", "expire", "include_subdomains")), Some(&kw))?;
    let index = namedtuple.call(("HstsIndex", ("idx", "total")), Some(&kw))?;
    m.add("HstsEntry", entry)?;
    m.add("HstsIndex", index)?;
    Ok(())
}

fn now() -> i64 {
    crate::engine::cookies::unix_now()
}

/// HSTS_CTRL: the ENABLE bit switches the cache on; without it the cache is dropped unsaved.
pub fn set_ctrl(easy: &EasyShared, value: i64) {
    let mut h = easy.hsts.borrow_mut();
    if value & crate::engine::hsts::CTRL_ENABLE != 0 {
        if h.is_none() {
            *h = Some(Cache::new());
        }
    } else {
        *h = None;
    }
}

/// HSTS: a file switches the cache on; None switches HSTS off, as libcurl does.
pub fn set_file(easy: &EasyShared, file: Option<String>) {
    let on = file.is_some();
    easy.opts_mut().hsts_file = file.map(Into::into);
    set_ctrl(easy, if on { crate::engine::hsts::CTRL_ENABLE } else { 0 });
}

fn aborted() -> PyErr {
    code_err(code::ABORTED_BY_CALLBACK, "Operation was aborted by an application callback")
}

/// An aware UTC datetime for an expiry, None for "forever".
fn expire_to_py<'py>(py: Python<'py>, expires: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
    match expires {
        None => Ok(py.None().into_bound(py)),
        Some(t) => {
            let dt = py.import("datetime")?;
            let utc = dt.getattr("timezone")?.getattr("utc")?;
            dt.getattr("datetime")?.call_method1("fromtimestamp", (t, utc))
        }
    }
}

/// A datetime (naive ones are UTC) as seconds since the epoch; None is forever.
fn expire_from_py(v: &Bound<'_, PyAny>) -> PyResult<Option<Option<i64>>> {
    if v.is_none() {
        return Ok(Some(None));
    }
    let py = v.py();
    let dt = py.import("datetime")?;
    if !v.is_instance(&dt.getattr("datetime")?)? {
        return Ok(None);
    }
    let aware = if v.getattr("tzinfo")?.is_none() {
        let kw = PyDict::new(py);
        kw.set_item("tzinfo", dt.getattr("timezone")?.getattr("utc")?)?;
        v.call_method("replace", (), Some(&kw))?
    } else {
        v.clone()
    };
    let ts: f64 = aware.call_method0("timestamp")?.extract()?;
    Ok(Some(Some(ts.floor() as i64)))
}

/// One value from the read callback: Ok(None) when it is done.
fn read_one(py: Python<'_>, f: &Bound<'_, PyAny>) -> Result<Option<(String, bool, Option<i64>)>, PyErr> {
    let r = match f.call0() {
        Ok(r) => r,
        Err(e) => {
            e.print_and_set_sys_last_vars(py);
            return Err(aborted());
        }
    };
    if r.is_none() {
        return Ok(None);
    }
    let bad_shape = || {
        msg_err("hstsread callback must return None or a 3-tuple (host, expire, include_subdomains)").print(py);
        aborted()
    };
    let Ok(t) = r.downcast::<PyTuple>() else {
        return Err(bad_shape());
    };
    if t.len() != 3 {
        return Err(bad_shape());
    }
    let host = t.get_item(0)?;
    let host = if let Ok(b) = host.downcast::<PyBytes>() {
        String::from_utf8_lossy(b.as_bytes()).into_owned()
    } else if let Ok(s) = host.downcast::<PyString>() {
        match s.call_method1("encode", ("ascii",)) {
            Ok(b) => String::from_utf8_lossy(b.downcast::<PyBytes>()?.as_bytes()).into_owned(),
            Err(e) => {
                e.print(py);
                return Err(aborted());
            }
        }
    } else {
        let tn = host.get_type().name()?;
        PyTypeError::new_err(format!("expected bytes or an ASCII string, got {tn}")).print(py);
        return Err(aborted());
    };
    let expire = match expire_from_py(&t.get_item(1)?) {
        Ok(Some(e)) => e,
        Ok(None) => {
            msg_err("hstsread callback: expire must be a datetime or None").print(py);
            return Err(aborted());
        }
        Err(e) => {
            e.print(py);
            return Err(aborted());
        }
    };
    let sub = match t.get_item(2)?.is_truthy() {
        Ok(b) => b,
        Err(e) => {
            e.print(py);
            return Err(aborted());
        }
    };
    Ok(Some((host, sub, expire)))
}

/// Before a transfer, with HSTS on: the CURLOPT_HSTS file, then HSTSREADFUNCTION until it
/// returns None.  A failing callback aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
pub fn before_transfer(easy: &EasyShared, cbs: &PyCallbacks) -> PyResult<()> {
    if easy.hsts.borrow().is_none() {
        return Ok(());
    }
    easy.hsts_load(now());
    Python::with_gil(|py| {
        let Some(f) = cbs.slots.borrow().more.hstsread.as_ref().map(|f| f.clone_ref(py)) else {
            return Ok(());
        };
        let f = f.bind(py);
        loop {
            let Some((host, mut sub, expires)) = read_one(py, f)? else {
                return Ok(());
            };
            let host = match host.strip_prefix('.') {
                Some(h) => {
                    sub = true;
                    h.to_string()
                }
                None => host,
            };
            if host.is_empty() {
                return Err(code_err(code::BAD_FUNCTION_ARGUMENT, "A libcurl function was given a bad argument"));
            }
            if let Some(c) = easy.hsts.borrow_mut().as_mut() {
                c.add(&host, sub, expires, now());
            }
        }
    })
}

fn entry_to_py<'py>(py: Python<'py>, e: &Entry) -> PyResult<Bound<'py, PyAny>> {
    let cls = py.import("pycurl._pycurl")?.getattr("HstsEntry")?;
    cls.call1((PyBytes::new(py, e.host.as_bytes()), expire_to_py(py, e.expires)?, e.include_subdomains))
}

/// At handle cleanup: the file, then HSTSWRITEFUNCTION(entry, HstsIndex(idx, total)) for each
/// live entry until it returns anything but None / CURLSTS_OK.  Nothing here can fail the
/// caller: like pycurl, problems are printed.
pub fn at_cleanup(py: Python<'_>, easy: &EasyShared, cbs: &PyCallbacks) {
    let t = now();
    easy.hsts_save(t);
    let Some(entries) = easy.hsts.borrow().as_ref().map(|c| c.entries(t)) else {
        return;
    };
    let Some(f) = cbs.slots.borrow().more.hstswrite.as_ref().map(|f| f.clone_ref(py)) else {
        return;
    };
    let f = f.bind(py);
    let Ok(index_cls) = py.import("pycurl._pycurl").and_then(|m| m.getattr("HstsIndex")) else {
        return;
    };
    let total = entries.len();
    for (i, e) in entries.iter().enumerate() {
        let args = entry_to_py(py, e).and_then(|entry| Ok((entry, index_cls.call1((i, total))?)));
        let r = match args {
            Ok(a) => f.call1(a),
            Err(e) => Err(e),
        };
        match r {
            Err(err) => {
                err.write_unraisable(py, Some(f));
                return;
            }
            Ok(v) if v.is_none() => {}
            Ok(v) => match v.downcast::<PyInt>().ok().and_then(|n| n.extract::<i64>().ok()) {
                Some(STS_OK) => {}
                Some(_) => return,
                None => {
                    let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
                    if let Ok(stderr) = py.import("sys").and_then(|s| s.getattr("stderr")) {
                        let _ = stderr.call_method1(
                            "write",
                            (format!("hstswrite callback returned {shown} which is not an integer\n"),),
                        );
                    }
                    return;
                }
            },
        }
    }
}
