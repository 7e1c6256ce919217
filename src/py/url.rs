//! `pycurl.CurlUrl`: libcurl's URL handle (engine::urlapi) with pycurl's methods and properties,
//! and the CURLU option of a Curl handle.
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::engine::strerror;
use crate::engine::urlapi::{flag, part, ue, UrlHandle};

use super::convert;
use super::errors::{code_err, msg_err};

#[pyclass(name = "CurlUrl", module = "pycurl", subclass, weakref)]
pub struct PyCurlUrl {
    h: UrlHandle,
}

fn url_err(code: u32) -> PyErr {
    code_err(code as i32, strerror::url_strerror(code as i64))
}

/// A flags argument: any integer, reduced to libcurl's unsigned int the way C's cast does.
fn flags_arg(v: &Bound<'_, PyAny>) -> PyResult<u32> {
    let n = if v.is_instance_of::<PyInt>() {
        v.clone()
    } else {
        v.py().import("operator")?.getattr("index")?.call1((v,))?
    };
    n.call_method1("__and__", (0xFFFF_FFFFu32,))?.extract::<u32>()
}

/// A part value: str (ASCII only), bytes or None.
fn value_arg(v: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    if v.is_none() {
        return Ok(None);
    }
    let b = if let Ok(b) = v.downcast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(s) = v.downcast::<PyString>() {
        s.call_method1("encode", ("ascii",))?.downcast::<PyBytes>()?.as_bytes().to_vec()
    } else {
        return Err(PyTypeError::new_err("a URL part must be a string, bytes, or None"));
    };
    if b.contains(&0) {
        return Err(PyValueError::new_err("embedded null byte"));
    }
    Ok(Some(b))
}

fn text(py: Python<'_>, v: &[u8]) -> PyObject {
    PyString::new(py, &String::from_utf8_lossy(v)).into_any().unbind()
}

fn no_kwargs(name: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    match kwargs {
        Some(k) if !k.is_empty() => Err(PyTypeError::new_err(format!("CurlUrl.{name}() takes no keyword arguments"))),
        _ => Ok(()),
    }
}

fn arg_count(name: &str, args: &Bound<'_, PyTuple>, min: usize, max: usize) -> PyResult<()> {
    let n = args.len();
    if n < min {
        let noun = if min == 1 { "argument" } else { "arguments" };
        return Err(PyTypeError::new_err(format!("{name}() takes at least {min} {noun} ({n} given)")));
    }
    if n > max {
        return Err(PyTypeError::new_err(format!("{name}() takes at most {max} arguments ({n} given)")));
    }
    Ok(())
}

/// The URL part a property name stands for. Properties are set through __setattr__ because
/// pyo3 setters cannot be deleted, and `del u.host` must remove the part.
fn part_of(name: &str) -> PyResult<i32> {
    Ok(match name {
        "url" => part::URL,
        "scheme" => part::SCHEME,
        "user" => part::USER,
        "password" => part::PASSWORD,
        "options" => part::OPTIONS,
        "host" => part::HOST,
        "port" => part::PORT,
        "path" => part::PATH,
        "query" => part::QUERY,
        "fragment" => part::FRAGMENT,
        "zoneid" => part::ZONEID,
        _ => {
            return Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "'pycurl.CurlUrl' object has no attribute '{name}'"
            )))
        }
    })
}

impl PyCurlUrl {
    fn get_part(&self, py: Python<'_>, which: i32, flags: u32) -> PyResult<PyObject> {
        match self.h.get(which, flags) {
            // libcurl hands back no string at all for an empty part it is asked to encode
            Ok(v) if v.is_empty() && which != part::URL && flags & flag::URLENCODE != 0 => {
                Err(PyTypeError::new_err("decoding to str: need a bytes-like object, NoneType found"))
            }
            Ok(v) => Ok(text(py, &v)),
            Err(c) if ue::is_missing(c) => Ok(py.None()),
            Err(c) => Err(url_err(c)),
        }
    }

    fn set_part(&mut self, which: i32, value: &Bound<'_, PyAny>, flags: u32) -> PyResult<()> {
        let v = value_arg(value)?;
        self.h.set(which, v.as_deref(), flags).map_err(url_err)
    }

    /// The URL text a Curl handle uses for CURLU (None while the URL is incomplete).
    pub fn url_for_transfer(&self) -> Option<String> {
        self.h.get(part::URL, 0).ok().map(|v| String::from_utf8_lossy(&v).into_owned())
    }
}

#[pymethods]
impl PyCurlUrl {
    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn new(args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let n = args.len() + kwargs.map_or(0, |k| k.len());
        if n > 2 {
            return Err(PyTypeError::new_err(format!("CurlUrl() takes at most 2 arguments ({n} given)")));
        }
        let mut url = args.get_item(0).ok();
        let mut flags = args.get_item(1).ok();
        if let Some(k) = kwargs {
            for (key, v) in k.iter() {
                let key: String = key.extract()?;
                let slot = match key.as_str() {
                    "url" => &mut url,
                    "flags" => &mut flags,
                    _ => {
                        return Err(PyTypeError::new_err(format!(
                            "'{key}' is an invalid keyword argument for CurlUrl()"
                        )))
                    }
                };
                if slot.is_some() {
                    return Err(PyTypeError::new_err(format!(
                        "argument for CurlUrl() given by name ('{key}') and position"
                    )));
                }
                *slot = Some(v);
            }
        }
        let flags = match &flags {
            Some(f) => flags_arg(f)?,
            None => 0,
        };
        let mut me = PyCurlUrl { h: UrlHandle::new() };
        if let Some(u) = url {
            me.set_part(part::URL, &u, flags)?;
        }
        Ok(me)
    }

    /// getpart(part, flags=0) -> str or None: one part of the URL, None when it is absent.
    #[pyo3(signature = (*args, **kwargs))]
    fn getpart(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyObject> {
        no_kwargs("getpart", kwargs)?;
        arg_count("getpart", args, 1, 2)?;
        let which = convert::c_int(&args.get_item(0)?)?;
        let flags = match args.get_item(1) {
            Ok(f) => flags_arg(&f)?,
            Err(_) => 0,
        };
        self.get_part(py, which, flags)
    }

    /// setpart(part, value, flags=0): sets one part; None removes it.
    #[pyo3(signature = (*args, **kwargs))]
    fn setpart(&mut self, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        no_kwargs("setpart", kwargs)?;
        arg_count("setpart", args, 2, 3)?;
        let which = convert::c_int(&args.get_item(0)?)?;
        let value = args.get_item(1)?;
        let flags = match args.get_item(2) {
            Ok(f) => flags_arg(&f)?,
            Err(_) => 0,
        };
        self.set_part(which, &value, flags)
    }

    #[getter]
    fn url(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::URL, 0)
    }

    #[getter]
    fn scheme(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::SCHEME, 0)
    }

    #[getter]
    fn user(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::USER, 0)
    }

    #[getter]
    fn password(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::PASSWORD, 0)
    }

    #[getter]
    fn options(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::OPTIONS, 0)
    }

    #[getter]
    fn host(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::HOST, 0)
    }

    #[getter]
    fn path(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::PATH, 0)
    }

    #[getter]
    fn query(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::QUERY, 0)
    }

    #[getter]
    fn fragment(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::FRAGMENT, 0)
    }

    #[getter]
    fn zoneid(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::ZONEID, 0)
    }

    /// The port as a string, or None; assigning an int sets its decimal text.
    #[getter]
    fn port(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get_part(py, part::PORT, 0)
    }

    /// Assigning a property sets its part; an int port is set as its decimal text.
    fn __setattr__(&mut self, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let which = part_of(name)?;
        if which == part::PORT && value.is_instance_of::<PyInt>() {
            return self.set_part(which, value.str()?.as_any(), 0);
        }
        self.set_part(which, value, 0)
    }

    /// `del u.host` removes the part, as assigning None does.
    fn __delattr__(&mut self, name: &str) -> PyResult<()> {
        let which = part_of(name)?;
        self.h.set(which, None, 0).map_err(url_err)
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<PyObject> {
        match self.h.get(part::URL, 0) {
            Ok(v) => Ok(text(py, &v)),
            Err(c) if ue::is_missing(c) => Err(msg_err("cannot serialise an incomplete URL")),
            Err(c) => Err(url_err(c)),
        }
    }

    fn __repr__(slf: &Bound<'_, Self>) -> String {
        let addr = slf.as_ptr() as usize;
        match slf.borrow().h.get(part::URL, 0) {
            Ok(v) => format!("<pycurl.CurlUrl \"{}\" at 0x{addr:x}>", String::from_utf8_lossy(&v)),
            Err(_) => format!("<pycurl.CurlUrl (incomplete) at 0x{addr:x}>"),
        }
    }

    fn __copy__(&self) -> Self {
        PyCurlUrl { h: self.h.clone() }
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> Self {
        PyCurlUrl { h: self.h.clone() }
    }

    fn __getstate__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("CurlUrl objects do not support serialization"))
    }
}

/// The value of Curl's CURLU option: the URL a CurlUrl holds when it is set (None unsets).
pub fn curlu_option(value: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(u) = value.downcast::<PyCurlUrl>() {
        return Ok(u.borrow().url_for_transfer());
    }
    let msg = if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
        "strings are not supported for this option"
    } else if value.is_instance_of::<PyInt>() {
        "integers are not supported for this option"
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        "lists are not supported for this option"
    } else if value.is_callable() {
        "functions are not supported for this option"
    } else {
        "setopt(option=CURLU) expects a CurlUrl object"
    };
    Err(PyTypeError::new_err(msg))
}
