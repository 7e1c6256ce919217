//! `pycurl.CurlMime` / `pycurl.CurlMimePart` (libcurl's mime API as pycurl 7.49 exposes it), and
//! the checks and conversion of Curl's MIMEPOST and HTTPPOST (pycurl's list-of-tuples forms)
//! into an `engine::mime::Mime` tree, which `Mime::form_body()` turns into a request body.
use std::cell::RefCell;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyDeprecationWarning, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::engine::error::code;
use crate::engine::mime::{Content, Encoder, Mime, Part, PartSource};
use crate::engine::request::FormPost;
use crate::engine::strerror::easy_strerror;

use super::convert;
use super::curl::PyCurl;
use super::errors::{code_err, msg_err};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // a panic while holding one of these locks leaves plain data behind: keep using it
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn curl_code_err(c: i32) -> PyErr {
    code_err(c, easy_strerror(c as i64))
}

/// What a CurlMime and its parts share: open state, the Curl handle, the parts.
struct MimeCore {
    open: bool,
    /// Attached to a part of another tree with subparts().
    attached: bool,
    curl: Option<Py<PyCurl>>,
    parts: Vec<Py<PyCurlMimePart>>,
    /// The boundary chosen when the tree was created.
    boundary: String,
}

#[pyclass(name = "CurlMime", module = "pycurl", subclass, weakref)]
pub struct PyCurlMime {
    core: Arc<Mutex<MimeCore>>,
}

struct Callback {
    size: Option<u64>,
    read: PyObject,
    seek: Option<PyObject>,
    free: Option<PyObject>,
    userdata: PyObject,
}

enum PartContent {
    Empty,
    Data(Vec<u8>),
    File(PathBuf),
    Callback(Callback),
    Sub(Py<PyCurlMime>),
}

struct PartState {
    /// The tree this part belongs to, kept alive by the part (None once cleared by the GC).
    tree: Option<Py<PyCurlMime>>,
    name: Option<Vec<u8>>,
    filename: Option<Vec<u8>>,
    mime_type: Option<String>,
    headers: Vec<String>,
    encoder: Option<Encoder>,
    content: PartContent,
}

#[pyclass(name = "CurlMimePart", module = "pycurl", subclass)]
pub struct PyCurlMimePart {
    owner: Arc<Mutex<MimeCore>>,
    st: Mutex<PartState>,
}

/// "expected bytes or an ASCII string, got X" for the one-string setters.
fn text_arg(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let b = if let Ok(b) = v.downcast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(s) = v.downcast::<PyString>() {
        s.call_method1("encode", ("ascii",))?.downcast::<PyBytes>()?.as_bytes().to_vec()
    } else {
        let t = v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        return Err(PyTypeError::new_err(format!("expected bytes or an ASCII string, got {t}")));
    };
    if b.contains(&0) {
        return Err(PyValueError::new_err("embedded null byte"));
    }
    Ok(b)
}

fn data_arg(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return Ok(s.call_method1("encode", ("ascii",))?.downcast::<PyBytes>()?.as_bytes().to_vec());
    }
    if let Ok(b) = v.downcast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if !v.is_instance_of::<PyInt>() && !v.is_none() {
        if let Ok(mv) = v.py().import("builtins")?.getattr("memoryview")?.call1((v,)) {
            return Ok(mv.call_method0("tobytes")?.downcast::<PyBytes>()?.as_bytes().to_vec());
        }
    }
    Err(PyTypeError::new_err("data() argument must be a byte string, ASCII-only Unicode string, or a buffer object"))
}

fn headers_arg(v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if v.is_none() {
        return Ok(Vec::new());
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = v.downcast::<PyList>() {
        l.iter().collect()
    } else if let Ok(t) = v.downcast::<PyTuple>() {
        t.iter().collect()
    } else {
        return Err(PyTypeError::new_err("headers must be a list or tuple of strings"));
    };
    items
        .iter()
        .map(|i| {
            if !(i.is_instance_of::<PyString>() || i.is_instance_of::<PyBytes>()) {
                return Err(PyTypeError::new_err("headers must contain only byte or ascii-unicode strings"));
            }
            let b = text_arg(i)?;
            Ok(String::from_utf8(b.clone()).unwrap_or_else(|_| b.iter().map(|&c| c as char).collect()))
        })
        .collect()
}

fn latin1(b: Vec<u8>) -> String {
    String::from_utf8(b.clone()).unwrap_or_else(|_| b.iter().map(|&c| c as char).collect())
}

/// The single argument of a METH_O-style method, with CPython's messages.
fn one_arg<'py>(
    name: &str,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    if kwargs.is_some_and(|k| !k.is_empty()) {
        return Err(PyTypeError::new_err(format!("CurlMimePart.{name}() takes no keyword arguments")));
    }
    if args.len() != 1 {
        return Err(PyTypeError::new_err(format!(
            "CurlMimePart.{name}() takes exactly one argument ({} given)",
            args.len()
        )));
    }
    args.get_item(0)
}

/// Arguments by position or keyword, with CPython's PyArg_ParseTupleAndKeywords messages.
fn parse_args<'py>(
    fname: &str,
    names: &[&str],
    required: usize,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<Option<Bound<'py, PyAny>>>> {
    let given = args.len() + kwargs.map_or(0, |k| k.len());
    if given > names.len() {
        return Err(PyTypeError::new_err(format!("{fname}() takes at most {} arguments ({given} given)", names.len())));
    }
    let mut out: Vec<Option<Bound<'py, PyAny>>> = args.iter().map(Some).collect();
    out.resize(names.len(), None);
    for (k, v) in kwargs.into_iter().flatten() {
        let k: String = k.extract()?;
        let Some(i) = names.iter().position(|n| *n == k) else {
            return Err(PyTypeError::new_err(format!("'{k}' is an invalid keyword argument for {fname}()")));
        };
        if out[i].is_some() {
            return Err(PyTypeError::new_err(format!(
                "argument for {fname}() given by name ('{k}') and position ({})",
                i + 1
            )));
        }
        out[i] = Some(v);
    }
    for (i, n) in names.iter().enumerate().take(required) {
        if out[i].is_none() {
            return Err(PyTypeError::new_err(format!("{fname}() missing required argument '{n}' (pos {})", i + 1)));
        }
    }
    Ok(out)
}

impl MimeCore {
    /// The tree is usable by `what`: open, and its Curl handle open.
    fn check(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        if !self.open {
            return Err(msg_err(format!("cannot invoke {what}() - no mime handle")));
        }
        match &self.curl {
            Some(c) => c.borrow(py).easy(what).map(|_| ()),
            None => Err(msg_err(format!("cannot invoke {what}() - no curl handle"))),
        }
    }
}

/// Releases a part's content: runs its free callback, closes a child tree.
fn release(py: Python<'_>, content: PartContent) {
    match content {
        PartContent::Callback(cb) => {
            if let Some(free) = cb.free {
                if let Err(e) = free.call1(py, (cb.userdata,)) {
                    e.write_unraisable(py, None);
                }
            }
        }
        PartContent::Sub(child) => close_core(py, &child.borrow(py).core),
        _ => {}
    }
}

/// curl_mime_free: the tree and everything in it are released.
fn close_core(py: Python<'_>, core: &Arc<Mutex<MimeCore>>) {
    let parts = {
        let mut c = lock(core);
        if !c.open {
            return;
        }
        c.open = false;
        c.curl = None;
        std::mem::take(&mut c.parts)
    };
    for p in parts {
        let content = std::mem::replace(&mut lock(&p.borrow(py).st).content, PartContent::Empty);
        release(py, content);
    }
}

impl PyCurlMime {
    fn new_for(py: Python<'_>, curl: &Bound<'_, PyCurl>) -> PyResult<Self> {
        curl.borrow().easy("CurlMime")?;
        let _ = py;
        Ok(PyCurlMime {
            core: Arc::new(Mutex::new(MimeCore {
                open: true,
                attached: false,
                curl: Some(curl.clone().unbind()),
                parts: Vec::new(),
                boundary: Mime::new().boundary().to_string(),
            })),
        })
    }

    /// A new part at the end; the part keeps its tree alive, as pycurl's parts do.
    fn add_part(slf: &Bound<'_, Self>) -> PyResult<Py<PyCurlMimePart>> {
        let py = slf.py();
        let me = slf.borrow();
        lock(&me.core).check(py, "addpart")?;
        let part = Py::new(
            py,
            PyCurlMimePart {
                owner: me.core.clone(),
                st: Mutex::new(PartState {
                    tree: Some(slf.clone().unbind()),
                    name: None,
                    filename: None,
                    mime_type: None,
                    headers: Vec::new(),
                    encoder: None,
                    content: PartContent::Empty,
                }),
            },
        )?;
        lock(&me.core).parts.push(part.clone_ref(py));
        Ok(part)
    }

    /// add(): `a` holds name, data, file, filename, content_type, headers, encoder.
    fn add_with(slf: &Bound<'_, Self>, a: &[Option<Bound<'_, PyAny>>]) -> PyResult<Py<PyCurlMimePart>> {
        let py = slf.py();
        let a: Vec<Option<&Bound<'_, PyAny>>> = a.iter().map(|v| v.as_ref().filter(|v| !v.is_none())).collect();
        if a[1].is_some() && a[2].is_some() {
            return Err(PyValueError::new_err("add() accepts at most one of data or file"));
        }
        let part = Self::add_part(slf)?;
        let filled = (|| {
            let p = part.borrow(py);
            type Setter = fn(&PyCurlMimePart, Python<'_>, &Bound<'_, PyAny>) -> PyResult<()>;
            let setters: [Setter; 7] = [
                PyCurlMimePart::set_name,
                PyCurlMimePart::set_data,
                PyCurlMimePart::set_filedata,
                PyCurlMimePart::set_filename,
                PyCurlMimePart::set_type,
                PyCurlMimePart::set_headers,
                PyCurlMimePart::set_encoder,
            ];
            for (v, set) in a.iter().zip(setters) {
                if let Some(v) = v {
                    set(&p, py, v)?;
                }
            }
            Ok(())
        })();
        if let Err(e) = filled {
            // A helper that fails adds nothing, as with pycurl.
            let me = slf.borrow();
            let mut c = lock(&me.core);
            if c.parts.last().is_some_and(|p| p.is(&part)) {
                c.parts.pop();
            }
            return Err(e);
        }
        Ok(part)
    }

    /// The engine tree of this mime, as it stands now.
    pub fn to_engine(&self, py: Python<'_>) -> Mime {
        let (mut m, parts) = {
            let c = lock(&self.core);
            (Mime::with_boundary(&c.boundary), c.parts.iter().map(|p| p.clone_ref(py)).collect::<Vec<_>>())
        };
        m.parts = parts.iter().map(|p| p.borrow(py).to_engine(py)).collect();
        m
    }

    fn curl_ptr(&self) -> Option<*mut pyo3::ffi::PyObject> {
        lock(&self.core).curl.as_ref().map(|c| c.as_ptr())
    }
}

#[pymethods]
impl PyCurlMime {
    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn py_new(py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let n = args.len() + kwargs.map_or(0, |k| k.len());
        if n > 1 {
            return Err(PyTypeError::new_err(format!("function takes at most 1 argument ({n} given)")));
        }
        let curl = match (args.get_item(0).ok(), kwargs.and_then(|k| k.get_item("curl").ok().flatten())) {
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => {
                if let Some((k, _)) = kwargs.and_then(|k| k.iter().next()) {
                    return Err(PyTypeError::new_err(format!("'{k}' is an invalid keyword argument for CurlMime()")));
                }
                return Err(PyTypeError::new_err("function missing required argument 'curl' (pos 1)"));
            }
        };
        let curl = curl.downcast::<PyCurl>().map_err(|_| {
            PyTypeError::new_err(format!("argument 1 must be pycurl.Curl, not {}", convert::type_name(&curl)))
        })?;
        PyCurlMime::new_for(py, curl)
    }

    /// addpart() -> CurlMimePart: a new empty part at the end of the tree.
    fn addpart(slf: &Bound<'_, Self>) -> PyResult<Py<PyCurlMimePart>> {
        Self::add_part(slf)
    }

    /// add(name=None, data=None, file=None, filename=None, content_type=None, headers=None,
    /// encoder=None) -> CurlMimePart: a part with the given fields set.
    #[pyo3(signature = (*args, **kwargs))]
    fn add(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyCurlMimePart>> {
        let names = ["name", "data", "file", "filename", "content_type", "headers", "encoder"];
        let a = parse_args("add", &names, 0, args, kwargs)?;
        Self::add_with(slf, &a)
    }

    /// add_field(name, value, content_type=None, encoder=None, headers=None) -> CurlMimePart
    #[pyo3(signature = (*args, **kwargs))]
    fn add_field(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyCurlMimePart>> {
        let names = ["name", "value", "content_type", "encoder", "headers"];
        let a = parse_args("add_field", &names, 2, args, kwargs)?;
        let [n, v, t, e, h] = <[_; 5]>::try_from(a).unwrap_or_default();
        Self::add_with(slf, &[n, v, None, None, t, h, e])
    }

    /// add_file(name, path, filename=None, content_type=None, headers=None, encoder=None) -> CurlMimePart
    #[pyo3(signature = (*args, **kwargs))]
    fn add_file(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyCurlMimePart>> {
        let names = ["name", "path", "filename", "content_type", "headers", "encoder"];
        let a = parse_args("add_file", &names, 2, args, kwargs)?;
        let [n, p, f, t, h, e] = <[_; 6]>::try_from(a).unwrap_or_default();
        Self::add_with(slf, &[n, None, p, f, t, h, e])
    }

    /// add_multipart(name=None, subtype="mixed") -> CurlMime: a nested tree owned by this one.
    #[pyo3(signature = (*args, **kwargs))]
    fn add_multipart(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyCurlMime>> {
        let py = slf.py();
        let me = slf.borrow();
        if args.len() > 2 {
            return Err(PyTypeError::new_err(format!(
                "add_multipart() takes at most 2 arguments ({} given)",
                args.len()
            )));
        }
        let mut name = args.get_item(0).ok();
        let mut subtype = args.get_item(1).ok();
        for (k, v) in kwargs.into_iter().flatten() {
            let k: String = k.extract()?;
            match k.as_str() {
                "name" if name.is_none() => name = Some(v),
                "subtype" if subtype.is_none() => subtype = Some(v),
                "name" | "subtype" => {
                    return Err(PyTypeError::new_err(format!(
                        "argument for add_multipart() given by name ('{k}') and position"
                    )))
                }
                _ => {
                    return Err(PyTypeError::new_err(format!(
                        "'{k}' is an invalid keyword argument for add_multipart()"
                    )))
                }
            }
        }
        let subtype = match subtype {
            None => Some(b"mixed".to_vec()),
            Some(s) if s.is_none() => None,
            Some(s) if s.is_instance_of::<PyString>() || s.is_instance_of::<PyBytes>() => Some(text_arg(&s)?),
            Some(_) => return Err(PyTypeError::new_err("subtype must be a byte string or ascii-unicode string")),
        };
        let name = name.as_ref();
        if !lock(&me.core).open {
            // pycurl builds the child as CurlMime(curl) and a closed tree has no curl
            return Err(PyTypeError::new_err("function missing required argument 'curl' (pos 1)"));
        }
        let curl = {
            let c = lock(&me.core);
            c.check(py, "addpart")?;
            c.curl.as_ref().map(|c| c.clone_ref(py))
        };
        let curl = curl.ok_or_else(|| msg_err("cannot invoke addpart() - no curl handle"))?;
        let child = Py::new(py, PyCurlMime::new_for(py, curl.bind(py))?)?;
        let part = Self::add_part(slf)?;
        let p = part.borrow(py);
        if let Some(n) = name.filter(|n| !n.is_none()) {
            p.set_name(py, n)?;
        }
        p.attach(py, child.bind(py))?;
        if let Some(s) = subtype {
            lock(&p.st).mime_type = Some(format!("multipart/{}", latin1(s)));
        }
        Ok(child)
    }

    /// close(): releases the tree (curl_mime_free); free callbacks of its parts run.
    fn close(&self, py: Python<'_>) {
        close_core(py, &self.core);
    }

    #[getter]
    fn closed(&self) -> bool {
        !lock(&self.core).open
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*args))]
    fn __exit__(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        convert::arity("__exit__", args, 3)?;
        close_core(py, &self.core);
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(c) = self.core.try_lock() {
            for p in &c.parts {
                visit.call(p)?;
            }
            if let Some(curl) = &c.curl {
                visit.call(curl)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        if let Ok(mut c) = self.core.try_lock() {
            c.open = false;
            c.curl = None;
            c.parts.clear();
        }
    }
}

impl Drop for PyCurlMime {
    fn drop(&mut self) {
        // parts left alive by the caller become unusable; as with pycurl, no free callback runs here
        let mut c = lock(&self.core);
        c.open = false;
        c.curl = None;
        c.parts.clear();
    }
}

/// A data_cb() part as a body source: the read/seek callbacks run with the GIL.
struct PySource {
    size: Option<u64>,
    read: PyObject,
    seek: Option<PyObject>,
    userdata: PyObject,
}

const READFUNC_ABORT: i64 = 0x1000_0000;
const READFUNC_PAUSE: i64 = 0x1000_0001;

fn aborted() -> io::Error {
    io::Error::other("operation aborted by callback")
}

impl PartSource for PySource {
    fn size(&self) -> Option<u64> {
        self.size
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        super::callbacks::with_callback_gil(|py| {
            let r = match self.read.call1(py, (self.userdata.clone_ref(py), buf.len())) {
                Ok(r) => r.into_bound(py),
                Err(e) => {
                    e.print(py);
                    return Err(aborted());
                }
            };
            let bytes = if let Ok(i) = r.downcast::<PyInt>() {
                match i.extract::<i64>() {
                    Ok(READFUNC_ABORT) => return Err(aborted()),
                    Ok(READFUNC_PAUSE) => return Err(io::Error::new(io::ErrorKind::WouldBlock, "read paused")),
                    Ok(_) => None,
                    // pycurl reads a C long first: a bigger int is Python's OverflowError.
                    Err(_) => {
                        pyo3::exceptions::PyOverflowError::new_err("Python int too large to convert to C long")
                            .print_and_set_sys_last_vars(py);
                        return Err(aborted());
                    }
                }
            } else if r.is_instance_of::<PyString>() {
                r.downcast::<PyString>()
                    .ok()
                    .and_then(|s| s.call_method1("encode", ("ascii",)).ok())
                    .map(|b| b.downcast::<PyBytes>().map(|b| b.as_bytes().to_vec()).unwrap_or_default())
            } else if r.is_none() {
                None
            } else {
                data_arg(&r).ok()
            };
            let Some(bytes) = bytes else {
                msg_err(
                    "mime read callback must return a buffer object, an ASCII-only Unicode string, \
                     READFUNC_ABORT, or READFUNC_PAUSE",
                )
                .print(py);
                return Err(aborted());
            };
            if bytes.len() > buf.len() {
                msg_err(format!(
                    "invalid return value for mime read callback ({} bytes returned when at most {} bytes were wanted)",
                    bytes.len(),
                    buf.len()
                ))
                .print(py);
                return Err(aborted());
            }
            buf[..bytes.len()].copy_from_slice(&bytes);
            Ok(bytes.len())
        })
    }

    fn rewind(&mut self) -> io::Result<()> {
        let cant = || io::Error::new(io::ErrorKind::Unsupported, "Cannot rewind mime/post data");
        let Some(seek) = &self.seek else { return Err(cant()) };
        super::callbacks::with_callback_gil(|py| match seek.call1(py, (self.userdata.clone_ref(py), 0, 0)) {
            Ok(r) if r.extract::<i64>(py).ok() == Some(0) => Ok(()),
            Ok(_) => Err(cant()),
            Err(e) => {
                e.print(py);
                Err(cant())
            }
        })
    }
}

impl PyCurlMimePart {
    fn state(&self, py: Python<'_>, what: &str) -> PyResult<MutexGuard<'_, PartState>> {
        lock(&self.owner).check(py, what)?;
        Ok(lock(&self.st))
    }

    /// Replaces the content, releasing the old one outside the lock (free callbacks run Python).
    fn replace_content(&self, py: Python<'_>, what: &str, new: PartContent) -> PyResult<()> {
        let old = std::mem::replace(&mut self.state(py, what)?.content, new);
        release(py, old);
        Ok(())
    }

    fn set_name(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = text_arg(v)?;
        self.state(py, "name")?.name = Some(b);
        Ok(())
    }

    fn set_data(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = data_arg(v)?;
        self.replace_content(py, "data", PartContent::Data(b))
    }

    fn set_filedata(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = text_arg(v)?;
        lock(&self.owner).check(py, "filedata")?;
        let path = PathBuf::from(latin1(b.clone()));
        // libcurl checks that the file can be read now, and reads it again when sending
        if std::fs::File::open(&path).is_err() {
            return Err(curl_code_err(code::READ_ERROR));
        }
        let base = b.rsplit(|&c| c == b'/').next().unwrap_or(&b).to_vec();
        self.replace_content(py, "filedata", PartContent::File(path))?;
        lock(&self.st).filename = Some(base);
        Ok(())
    }

    fn set_filename(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = text_arg(v)?;
        self.state(py, "filename")?.filename = Some(b);
        Ok(())
    }

    fn set_type(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = text_arg(v)?;
        self.state(py, "type")?.mime_type = Some(latin1(b));
        Ok(())
    }

    fn set_headers(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let h = headers_arg(v)?;
        self.state(py, "headers")?.headers = h;
        Ok(())
    }

    fn set_encoder(&self, py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let b = text_arg(v)?;
        let mut st = self.state(py, "encoder")?;
        let e = Encoder::from_name(&latin1(b)).ok_or_else(|| curl_code_err(code::BAD_FUNCTION_ARGUMENT))?;
        st.encoder = Some(e);
        Ok(())
    }

    /// subparts(): `child` becomes this part's content, owned by this tree.
    fn attach(&self, py: Python<'_>, child: &Bound<'_, PyAny>) -> PyResult<()> {
        lock(&self.owner).check(py, "subparts")?;
        let child =
            child.downcast::<PyCurlMime>().map_err(|_| PyTypeError::new_err("subparts() expects a CurlMime object"))?;
        let cm = child.borrow();
        if Arc::ptr_eq(&cm.core, &self.owner) {
            return Err(PyValueError::new_err("subparts() does not accept the parent mime object"));
        }
        {
            let c = lock(&cm.core);
            if !c.open {
                return Err(PyValueError::new_err("subparts() received a closed mime object"));
            }
            if c.attached {
                return Err(PyValueError::new_err("subparts() received a mime object already attached as subparts"));
            }
            let posted = c.curl.as_ref().is_some_and(|h| {
                h.borrow(py).st.try_borrow().is_some_and(|st| st.mimepost.as_ref().is_some_and(|m| m.is(child)))
            });
            if posted {
                return Err(PyValueError::new_err("subparts() received a mime object currently set as MIMEPOST"));
            }
        }
        let owner_curl = lock(&self.owner).curl.as_ref().map(|c| c.as_ptr());
        if cm.curl_ptr() != owner_curl {
            return Err(PyValueError::new_err("subparts() requires both mime objects to use the same Curl handle"));
        }
        // a tree cannot contain itself: libcurl refuses an ancestor as subparts
        if contains_core(py, &cm.core, &self.owner) {
            return Err(curl_code_err(code::BAD_FUNCTION_ARGUMENT));
        }
        lock(&cm.core).attached = true;
        self.replace_content(py, "subparts", PartContent::Sub(child.clone().unbind()))
    }

    fn to_engine(&self, py: Python<'_>) -> Part {
        let st = lock(&self.st);
        let content = match &st.content {
            PartContent::Empty => Content::Empty,
            PartContent::Data(d) => Content::Data(d.as_slice().into()),
            PartContent::File(p) => Content::File(p.clone()),
            PartContent::Callback(cb) => {
                let src: Rc<RefCell<dyn PartSource>> = Rc::new(RefCell::new(PySource {
                    size: cb.size,
                    read: cb.read.clone_ref(py),
                    seek: cb.seek.as_ref().map(|s| s.clone_ref(py)),
                    userdata: cb.userdata.clone_ref(py),
                }));
                Content::Source(src)
            }
            PartContent::Sub(child) => {
                let child = child.clone_ref(py);
                let tree = child.borrow(py).to_engine(py);
                Content::Multipart(tree)
            }
        };
        Part {
            name: st.name.clone(),
            filename: st.filename.clone(),
            mime_type: st.mime_type.clone(),
            headers: st.headers.clone(),
            encoder: st.encoder,
            content,
        }
    }
}

/// Whether the tree `root` contains (or is) `target`.
fn contains_core(py: Python<'_>, root: &Arc<Mutex<MimeCore>>, target: &Arc<Mutex<MimeCore>>) -> bool {
    if Arc::ptr_eq(root, target) {
        return true;
    }
    let parts: Vec<Py<PyCurlMimePart>> = lock(root).parts.iter().map(|p| p.clone_ref(py)).collect();
    parts.iter().any(|p| {
        let child = match &lock(&p.borrow(py).st).content {
            PartContent::Sub(c) => Some(c.clone_ref(py)),
            _ => None,
        };
        child.is_some_and(|c| contains_core(py, &c.borrow(py).core, target))
    })
}

#[pymethods]
impl PyCurlMimePart {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn py_new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Err(PyTypeError::new_err("cannot create 'pycurl.CurlMimePart' instances"))
    }

    /// name(name): the part's name (curl_mime_name).
    #[pyo3(signature = (*args, **kwargs))]
    fn name(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.set_name(py, &one_arg("name", args, kwargs)?)
    }

    /// data(data): in-memory content, copied (curl_mime_data).
    #[pyo3(signature = (*args, **kwargs))]
    fn data(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.set_data(py, &one_arg("data", args, kwargs)?)
    }

    /// filedata(path): content read from a file when sending (curl_mime_filedata).
    #[pyo3(signature = (*args, **kwargs))]
    fn filedata(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.set_filedata(py, &one_arg("filedata", args, kwargs)?)
    }

    /// filename(name): the remote file name (curl_mime_filename).
    #[pyo3(signature = (*args, **kwargs))]
    fn filename(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.set_filename(py, &one_arg("filename", args, kwargs)?)
    }

    /// type(content_type): the part's Content-Type (curl_mime_type).
    #[pyo3(signature = (*args, **kwargs))]
    fn r#type(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.set_type(py, &one_arg("type", args, kwargs)?)
    }

    /// headers(headers): custom header lines, or None (curl_mime_headers).
    #[pyo3(signature = (*args, **kwargs))]
    fn headers(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.set_headers(py, &one_arg("headers", args, kwargs)?)
    }

    /// encoder(encoding): the content transfer encoding (curl_mime_encoder).
    #[pyo3(signature = (*args, **kwargs))]
    fn encoder(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.set_encoder(py, &one_arg("encoder", args, kwargs)?)
    }

    /// subparts(child): a CurlMime as this part's content (curl_mime_subparts).
    #[pyo3(signature = (*args, **kwargs))]
    fn subparts(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        self.attach(py, &one_arg("subparts", args, kwargs)?)
    }

    /// data_cb(datasize, read, seek=None, free=None, userdata=None): content from callbacks.
    #[pyo3(signature = (*args, **kwargs))]
    fn data_cb(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let a = parse_args("data_cb", &["datasize", "read", "seek", "free", "userdata"], 2, args, kwargs)?;
        let [datasize, read, seek, free, userdata] = <[_; 5]>::try_from(a).unwrap_or_default();
        let (Some(datasize), Some(read)) = (datasize, read) else { return Ok(()) };
        let (seek, free, userdata) = (seek.as_ref(), free.as_ref(), userdata.as_ref());
        let size = if datasize.is_none() {
            None
        } else if datasize.is_instance_of::<PyInt>() {
            let n: i64 =
                datasize.extract().map_err(|_| PyTypeError::new_err("datasize must be an integer >= -1 or None"))?;
            if n < -1 {
                return Err(PyValueError::new_err("datasize must be >= -1"));
            }
            u64::try_from(n).ok()
        } else {
            return Err(PyTypeError::new_err("datasize must be an integer >= -1 or None"));
        };
        if !read.is_callable() {
            return Err(PyTypeError::new_err("read must be callable"));
        }
        let opt_cb = |v: Option<&Bound<'_, PyAny>>, what: &str| -> PyResult<Option<PyObject>> {
            match v.filter(|v| !v.is_none()) {
                Some(v) if v.is_callable() => Ok(Some(v.clone().unbind())),
                Some(_) => Err(PyTypeError::new_err(format!("{what} must be callable or None"))),
                None => Ok(None),
            }
        };
        let seek = opt_cb(seek, "seek")?;
        let free = opt_cb(free, "free")?;
        let cb = Callback {
            size,
            read: read.clone().unbind(),
            seek,
            free,
            userdata: userdata.map_or_else(|| py.None(), |u| u.clone().unbind()),
        };
        self.replace_content(py, "data_cb", PartContent::Callback(cb))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(st) = self.st.try_lock() {
            if let Some(t) = &st.tree {
                visit.call(t)?;
            }
            match &st.content {
                PartContent::Callback(cb) => {
                    visit.call(&cb.read)?;
                    visit.call(&cb.userdata)?;
                    if let Some(s) = &cb.seek {
                        visit.call(s)?;
                    }
                    if let Some(f) = &cb.free {
                        visit.call(f)?;
                    }
                }
                PartContent::Sub(c) => visit.call(c)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        if let Ok(mut st) = self.st.try_lock() {
            st.content = PartContent::Empty;
            st.tree = None;
        }
    }
}

/// Curl.setopt(MIMEPOST, value): pycurl's checks; the tree to send, None to unset.
pub fn mimepost_option(py: Python<'_>, curl: &PyCurl, value: &Bound<'_, PyAny>) -> PyResult<Option<Mime>> {
    if value.is_none() {
        return Ok(None);
    }
    let Ok(m) = value.downcast::<PyCurlMime>() else {
        let msg = if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
            "strings are not supported for this option"
        } else if value.is_instance_of::<PyInt>() {
            "integers are not supported for this option"
        } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
            "lists are not supported for this option"
        } else {
            "setopt(option=MIMEPOST) expects a CurlMime object"
        };
        return Err(PyTypeError::new_err(msg));
    };
    let m = m.borrow();
    {
        let c = lock(&m.core);
        if !c.open {
            return Err(PyValueError::new_err("setopt(option=MIMEPOST) received a closed mime object"));
        }
        if c.attached {
            return Err(PyValueError::new_err(
                "setopt(option=MIMEPOST) received a mime object already attached as subparts",
            ));
        }
        let same = c.curl.as_ref().is_some_and(|h| std::ptr::eq(&*h.borrow(py) as *const PyCurl, curl));
        if !same {
            return Err(PyValueError::new_err(
                "setopt(option=MIMEPOST) requires a CurlMime created with this Curl handle",
            ));
        }
    }
    Ok(Some(m.to_engine(py)))
}

const FORM_CONTENTS: i64 = 4;
const FORM_FILE: i64 = 10;
const FORM_BUFFER: i64 = 11;
const FORM_BUFFERPTR: i64 = 12;
const FORM_CONTENTTYPE: i64 = 14;
const FORM_FILENAME: i64 = 16;
/// curl_formadd's CURLFORMcode values that pycurl reports as pycurl.error(code, easy_strerror(code)).
const FORMADD_OPTION_TWICE: i32 = 2;
const FORMADD_NULL: i32 = 3;
const FORMADD_INCOMPLETE: i32 = 5;

fn form_text(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return Ok(s.call_method1("encode", ("ascii",))?.downcast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(PyTypeError::new_err("value must be a byte string or a Unicode string with ASCII code points only"))
}

/// One file of a FORM_FILE field: path and, if given, its content type.
struct FormFile {
    path: Vec<u8>,
    ctype: Option<Vec<u8>>,
}

/// One (name, (option, value, ...)) item of an HTTPPOST list, as curl_formadd checks it.
fn form_options(name: Vec<u8>, items: Vec<Bound<'_, PyAny>>, pins: &mut Vec<PyObject>) -> PyResult<Part> {
    if items.len() < 2 {
        return Err(PyTypeError::new_err("list or tuple must contain at least one option and one value"));
    }
    if !items.len().is_multiple_of(2) {
        return Err(PyTypeError::new_err("list or tuple must contain an even number of items"));
    }
    let mut contents: Option<Vec<u8>> = None;
    let mut files: Vec<FormFile> = Vec::new();
    let mut buffer: Option<Vec<u8>> = None;
    let mut ptr: Option<Vec<u8>> = None;
    let mut ctype: Option<Vec<u8>> = None;
    let mut filename: Option<Vec<u8>> = None;
    let twice = || curl_code_err(FORMADD_OPTION_TWICE);
    for pair in items.chunks(2) {
        let opt = if pair[0].is_instance_of::<PyInt>() {
            pair[0].extract::<i64>().unwrap_or(-1)
        } else {
            return Err(PyTypeError::new_err("option must be an integer"));
        };
        if ![FORM_CONTENTS, FORM_FILE, FORM_BUFFER, FORM_BUFFERPTR, FORM_CONTENTTYPE, FORM_FILENAME].contains(&opt) {
            return Err(PyTypeError::new_err("unsupported option"));
        }
        let v = form_text(&pair[1])?;
        match opt {
            FORM_CONTENTS => {
                if contents.is_some() || !files.is_empty() || buffer.is_some() || ptr.is_some() {
                    return Err(twice());
                }
                contents = Some(v);
            }
            FORM_FILE => {
                if contents.is_some() {
                    return Err(twice());
                }
                // a second FORM_FILE adds a file; the options after it describe that one
                files.push(FormFile { path: v, ctype: None });
            }
            FORM_BUFFER => {
                if buffer.is_some() {
                    return Err(twice());
                }
                buffer = Some(v);
            }
            FORM_BUFFERPTR => {
                if ptr.is_some() {
                    return Err(twice());
                }
                // pycurl hands libcurl the bytes object's own buffer and keeps the object alive.
                if pair[1].is_instance_of::<PyBytes>() {
                    pins.push(pair[1].clone().unbind());
                }
                ptr = Some(v);
            }
            FORM_CONTENTTYPE => {
                let several = files.len() > 1;
                let slot = match files.last_mut() {
                    Some(f) if several => &mut f.ctype,
                    _ => &mut ctype,
                };
                if slot.is_some() {
                    return Err(twice());
                }
                *slot = Some(v);
            }
            _ => {
                if filename.is_some() {
                    return Err(twice());
                }
                filename = Some(v);
            }
        }
    }
    if (contents.is_none() && files.is_empty() && ptr.is_none()) || (buffer.is_some() && ptr.is_none()) {
        return Err(curl_code_err(FORMADD_INCOMPLETE));
    }
    if name.contains(&0) {
        return Err(curl_code_err(FORMADD_NULL));
    }
    let mut part = Part { name: Some(name), ..Part::default() };
    let basename = |p: &[u8]| p.rsplit(|&c| c == b'/').next().unwrap_or(p).to_vec();
    if let Some(data) = ptr {
        // a buffer is sent like a file: named by FORM_BUFFER, typed from that name
        part.mime_type = Some(latin1(ctype.clone().unwrap_or_else(|| {
            buffer
                .as_deref()
                .and_then(crate::engine::mime::type_for_filename)
                .unwrap_or("application/octet-stream")
                .as_bytes()
                .to_vec()
        })));
        part.filename = buffer;
        part.content = Content::Data(data.as_slice().into());
    } else if files.len() == 1 {
        let f = &files[0];
        part.filename = Some(filename.unwrap_or_else(|| basename(&f.path)));
        part.mime_type = ctype.map(latin1);
        part.content = Content::File(PathBuf::from(latin1(f.path.clone())));
    } else if !files.is_empty() {
        let mut sub = Mime::new();
        for (i, f) in files.iter().enumerate() {
            let t = if i == 0 { ctype.clone() } else { f.ctype.clone() };
            sub.parts.push(Part {
                filename: Some(basename(&f.path)),
                mime_type: t.map(latin1),
                content: Content::File(PathBuf::from(latin1(f.path.clone()))),
                ..Part::default()
            });
        }
        part.content = Content::Multipart(sub);
    } else {
        part.mime_type = ctype.map(latin1);
        part.content = Content::Data(contents.unwrap_or_default().as_slice().into());
    }
    Ok(part)
}

/// Curl.setopt(HTTPPOST, value): pycurl's list of (name, value) tuples as a form tree, with
/// its checks and its DeprecationWarning. None or an empty list unset the option. The bytes
/// objects given to FORM_BUFFERPTR are added to `pins`.
pub fn httppost_option(py: Python<'_>, value: &Bound<'_, PyAny>, pins: &mut Vec<PyObject>) -> PyResult<Option<Mime>> {
    if value.is_none() {
        return Ok(None);
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = value.downcast::<PyList>() {
        l.iter().collect()
    } else if let Ok(t) = value.downcast::<PyTuple>() {
        t.iter().collect()
    } else {
        let msg = if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
            "strings are not supported for this option"
        } else if value.is_instance_of::<PyInt>() {
            "integers are not supported for this option"
        } else if value.is_callable() {
            "functions are not supported for this option"
        } else {
            "invalid arguments to setopt"
        };
        return Err(PyTypeError::new_err(msg));
    };
    PyErr::warn(py, &py.get_type::<PyDeprecationWarning>(), c"HTTPPOST is deprecated; use MIMEPOST", 1)?;
    if items.is_empty() {
        return Ok(None);
    }
    let mut form = Mime::new();
    for item in items {
        let pair: Vec<Bound<'_, PyAny>> = if let Ok(l) = item.downcast::<PyList>() {
            l.iter().collect()
        } else if let Ok(t) = item.downcast::<PyTuple>() {
            t.iter().collect()
        } else {
            return Err(PyTypeError::new_err("list items must be list or tuple objects"));
        };
        if pair.len() != 2 {
            return Err(PyTypeError::new_err("list or tuple must contain two elements (name, value)"));
        }
        let name_err = || {
            PyTypeError::new_err(
                "list or tuple must contain a byte string or Unicode string with ASCII code points only as first element",
            )
        };
        let name = if let Ok(b) = pair[0].downcast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(s) = pair[0].downcast::<PyString>() {
            let enc = s.call_method1("encode", ("ascii",)).map_err(|_| name_err())?;
            enc.downcast::<PyBytes>()?.as_bytes().to_vec()
        } else {
            return Err(name_err());
        };
        let v = &pair[1];
        let part = if v.is_instance_of::<PyString>() || v.is_instance_of::<PyBytes>() {
            let data = match v.downcast::<PyString>() {
                // curl_formadd is handed what ASCII encoding gave: nothing, which it refuses
                Ok(s) => s
                    .call_method1("encode", ("ascii",))
                    .map_err(|_| curl_code_err(code::BAD_FUNCTION_ARGUMENT))?
                    .downcast::<PyBytes>()?
                    .as_bytes()
                    .to_vec(),
                Err(_) => v.downcast::<PyBytes>()?.as_bytes().to_vec(),
            };
            if name.contains(&0) {
                return Err(curl_code_err(FORMADD_NULL));
            }
            Part { name: Some(name), content: Content::Data(data.as_slice().into()), ..Part::default() }
        } else if let Ok(l) = v.downcast::<PyList>() {
            form_options(name, l.iter().collect(), pins)?
        } else if let Ok(t) = v.downcast::<PyTuple>() {
            form_options(name, t.iter().collect(), pins)?
        } else {
            return Err(PyTypeError::new_err("unsupported second type in tuple"));
        };
        form.parts.push(part);
    }
    Ok(Some(form))
}

/// What setopt(MIMEPOST / HTTPPOST) leaves on the handle: the form, the CurlMime to keep (MIMEPOST)
/// and, for HTTPPOST, the FORM_BUFFERPTR bytes objects to keep alive.
pub type FormOption = (FormPost, Option<Py<PyCurlMime>>, Option<Vec<PyObject>>);

/// Curl.setopt(MIMEPOST / HTTPPOST, value): checked as pycurl checks it. The body becomes a form
/// (POST); None (unset) leaves an empty form, which libcurl still POSTs. Returns the CurlMime to
/// keep for MIMEPOST: libcurl reads the tree when the transfer starts, so it is converted again
/// then (see `mimepost_at_perform`).
pub fn form_option(py: Python<'_>, curl: &PyCurl, option: i32, value: &Bound<'_, PyAny>) -> PyResult<FormOption> {
    let mut pins = Vec::new();
    let httppost = option != super::option_table::opt::MIMEPOST;
    let form = if httppost { httppost_option(py, value, &mut pins)? } else { mimepost_option(py, curl, value)? };
    let keep = match value.downcast::<PyCurlMime>() {
        Ok(m) if form.is_some() => Some(m.clone().unbind()),
        _ => None,
    };
    Ok((FormPost(form.map(Rc::new)), keep, httppost.then_some(pins)))
}

/// The MIMEPOST tree as it stands when a transfer starts; a closed CurlMime sends an empty form.
pub fn mimepost_at_perform(py: Python<'_>, m: &Py<PyCurlMime>) -> FormPost {
    let m = m.borrow(py);
    if !lock(&m.core).open {
        return FormPost(None);
    }
    FormPost(Some(Rc::new(m.to_engine(py))))
}

/// The form a MIMEPOST / HTTPPOST value describes, encoded by the engine as the transfer will send
/// it: (Content-Type, size if known, body). Read twice around a rewind, which must not change it.
/// Private: tests compare it with what libcurl sends until the transfer engine sends forms.
#[pyfunction]
pub fn _form_body(
    py: Python<'_>,
    curl: &Bound<'_, PyCurl>,
    option: i32,
    value: &Bound<'_, PyAny>,
) -> PyResult<PyObject> {
    let form = if option == super::option_table::opt::MIMEPOST {
        mimepost_option(py, &curl.borrow(), value)?
    } else {
        httppost_option(py, value, &mut Vec::new())?
    };
    let Some(form) = form else { return Ok(py.None()) };
    let mut body = form.form_body();
    let read_all = |body: &mut crate::engine::mime::MimeBody| -> PyResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 1000];
        loop {
            match body.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return Err(code_err(code::READ_ERROR, e.to_string())),
            }
        }
    };
    let first = read_all(&mut body)?;
    body.rewind().map_err(|e| code_err(code::SEND_FAIL_REWIND, e.to_string()))?;
    if read_all(&mut body)? != first {
        return Err(msg_err("form body changed across a rewind"));
    }
    let t = (body.content_type(), body.size(), PyBytes::new(py, &first));
    Ok(t.into_pyobject(py)?.into_any().unbind())
}
