//! The Python side of the engine's `Callbacks`: calls the application's callables with the GIL held,
//! turns their return values into engine outcomes the way pycurl does, and reports exceptions the way
//! pycurl does (printed with their traceback, the transfer fails; KeyboardInterrupt/SystemExit and
//! PREREQFUNCTION exceptions propagate as they are).

use std::cell::RefCell;
use std::io::Write as _;
use std::net::SocketAddr;

use pyo3::exceptions::{PyKeyboardInterrupt, PySystemExit};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::engine::easy::{Callbacks, Flow, ReadOutcome, SeekOutcome};
use crate::engine::error::{code, Error};
use crate::engine::rare::Rare;
use crate::engine::sys::{self, Fd};

use super::errors;

pub const WRITEFUNC_PAUSE: i64 = 0x10000001;
pub const READFUNC_ABORT: i64 = 0x10000000;
pub const READFUNC_PAUSE: i64 = 0x10000001;

/// The application's callables. `None` means libcurl's default.
#[derive(Default)]
pub struct Slots {
    pub write: Option<PyObject>,
    pub header: Option<PyObject>,
    pub read: Option<PyObject>,
    pub xferinfo: Option<PyObject>,
    pub progress: Option<PyObject>,
    pub debug: Option<PyObject>,
    /// setopt(WRITEFUNCTION / HEADERFUNCTION, f, use_memoryview=True): f gets a memoryview.
    pub write_mv: bool,
    pub header_mv: bool,
    /// The callbacks few applications set (allocated once one is).
    pub more: Rare<MoreSlots>,
}

/// The rarely set callables of [`Slots`].
#[derive(Default)]
pub struct MoreSlots {
    pub seek: Option<PyObject>,
    pub opensocket: Option<PyObject>,
    pub sockopt: Option<PyObject>,
    pub closesocket: Option<PyObject>,
    pub prereq: Option<PyObject>,
    pub hstsread: Option<PyObject>,
    pub hstswrite: Option<PyObject>,
    pub resolver_start: Option<PyObject>,
    pub trailer: Option<PyObject>,
    pub ioctl: Option<PyObject>,
    pub ssh_key: Option<PyObject>,
    pub fnmatch: Option<PyObject>,
}

crate::rare_defaults!(
    MoreSlots = MoreSlots {
        seek: None,
        opensocket: None,
        sockopt: None,
        closesocket: None,
        prereq: None,
        hstsread: None,
        hstswrite: None,
        resolver_start: None,
        trailer: None,
        ioctl: None,
        ssh_key: None,
        fnmatch: None,
    }
);

impl Slots {
    fn all(&self) -> [&Option<PyObject>; 18] {
        let m = &*self.more;
        [
            &self.write,
            &self.header,
            &self.read,
            &m.seek,
            &self.xferinfo,
            &self.progress,
            &self.debug,
            &m.opensocket,
            &m.sockopt,
            &m.closesocket,
            &m.prereq,
            &m.hstsread,
            &m.hstswrite,
            &m.resolver_start,
            &m.trailer,
            &m.ioctl,
            &m.ssh_key,
            &m.fnmatch,
        ]
    }

    pub fn clone_ref(&self, py: Python<'_>) -> Slots {
        let c = |o: &Option<PyObject>| o.as_ref().map(|o| o.clone_ref(py));
        let mut s = Slots {
            write: c(&self.write),
            header: c(&self.header),
            read: c(&self.read),
            xferinfo: c(&self.xferinfo),
            progress: c(&self.progress),
            debug: c(&self.debug),
            write_mv: self.write_mv,
            header_mv: self.header_mv,
            more: Rare::default(),
        };
        if self.more.is_set() {
            let (m, n) = (&*self.more, &mut *s.more);
            n.seek = c(&m.seek);
            n.opensocket = c(&m.opensocket);
            n.sockopt = c(&m.sockopt);
            n.closesocket = c(&m.closesocket);
            n.prereq = c(&m.prereq);
            n.hstsread = c(&m.hstsread);
            n.hstswrite = c(&m.hstswrite);
            n.resolver_start = c(&m.resolver_start);
            n.trailer = c(&m.trailer);
            n.ioctl = c(&m.ioctl);
            n.ssh_key = c(&m.ssh_key);
            n.fnmatch = c(&m.fnmatch);
        }
        s
    }
}

/// Shared between the Curl object and its running transfer.
#[derive(Default)]
pub struct PyCallbacks {
    pub slots: RefCell<Slots>,
    /// An exception to raise from perform() unchanged.
    pub propagate: RefCell<Option<PyErr>>,
}

// SAFETY: only touched with the GIL held (see gil.rs).
#[allow(unsafe_code)]
unsafe impl Send for PyCallbacks {}
#[allow(unsafe_code)]
unsafe impl Sync for PyCallbacks {}

impl PyCallbacks {
    fn get(&self, py: Python<'_>, f: impl Fn(&Slots) -> &Option<PyObject>) -> Option<PyObject> {
        f(&self.slots.borrow()).as_ref().map(|o| o.clone_ref(py))
    }

    pub fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(s) = self.slots.try_borrow() {
            for o in s.all().into_iter().flatten() {
                visit.call(o)?;
            }
        }
        Ok(())
    }

    pub fn clear(&self) {
        if let Ok(mut s) = self.slots.try_borrow_mut() {
            *s = Slots::default();
        }
    }

    /// OPENSOCKETFUNCTION(CURLSOCKTYPE_IPCXN, address): an int or an object with fileno() whose
    /// socket is duplicated for us (the application keeps its own); anything else fails with `fail`.
    fn call_open_socket(
        &self,
        addr: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyAny>>,
        fail: impl Fn() -> Error,
    ) -> Option<Result<Fd, Error>> {
        with_callback_gil(|py| {
            let f = self.get(py, |s| &s.more.opensocket)?;
            let sockaddr = match addr(py) {
                Ok(a) => a,
                Err(e) => {
                    self.report(py, e);
                    return Some(Err(fail()));
                }
            };
            let r = match f.call1(py, (0i64, sockaddr)) {
                Ok(r) => r,
                Err(e) => {
                    self.report(py, e);
                    return Some(Err(fail()));
                }
            };
            let r = r.bind(py);
            let fd: Option<i64> = if let Ok(n) = r.extract::<i64>() {
                Some(n)
            } else if let Ok(fileno) = r.call_method0("fileno") {
                fileno.extract::<i64>().ok()
            } else {
                errors::msg_err("Open socket callback's return value must be a socket").print_and_set_sys_last_vars(py);
                return Some(Err(fail()));
            };
            match fd.filter(|fd| *fd >= 0).and_then(|fd| Fd::try_from(fd).ok()).map(sys::dup) {
                Some(Ok(d)) => Some(Ok(d)),
                _ => Some(Err(fail())),
            }
        })
    }

    /// Prints an exception raised by a callback, as pycurl does, unless it must propagate.
    fn report(&self, py: Python<'_>, e: PyErr) {
        if e.is_instance_of::<PyKeyboardInterrupt>(py) || e.is_instance_of::<PySystemExit>(py) {
            let mut p = self.propagate.borrow_mut();
            if p.is_none() {
                *p = Some(e);
            }
            return;
        }
        e.print_and_set_sys_last_vars(py);
    }

    /// WRITEFUNCTION / HEADERFUNCTION: `f(data)`; None or len(data) goes on, WRITEFUNC_PAUSE pauses.
    fn write_like(&self, header: bool, data: &[u8]) -> Flow {
        with_callback_gil(|py| {
            if self.propagate.borrow().is_some() {
                // pycurl's callback answers 0 without calling: libcurl's words for that.
                let msg = format!("Failure writing output to destination, passed {} returned 0", data.len());
                return Flow::Abort(Error::new(code::WRITE_ERROR, msg));
            }
            // One borrow for the callable and its flag; the call runs on our own reference.
            let (f, mv) = {
                let s = self.slots.borrow();
                let (f, mv) = if header { (&s.header, s.header_mv) } else { (&s.write, s.write_mv) };
                match f {
                    Some(f) => (f.bind(py).clone(), mv),
                    None => return Flow::Continue,
                }
            };
            let failed = |n: u64| {
                Flow::Abort(Error::new(
                    code::WRITE_ERROR,
                    format!("Failure writing output to destination, passed {} returned {}", data.len(), n),
                ))
            };
            let called = if mv { call_with_memoryview(py, &f, data) } else { call_one(&f, &PyBytes::new(py, data)) };
            match called {
                Ok(r) => {
                    if r.is_none() {
                        return Flow::Continue;
                    }
                    match r.extract::<i64>() {
                        Ok(n) if n == data.len() as i64 => Flow::Continue,
                        Ok(WRITEFUNC_PAUSE) => Flow::Pause,
                        Ok(n) => failed(n as u64),
                        Err(_) => match r.extract::<u64>() {
                            Ok(n) => failed(n),
                            // pycurl reads a C long: a bigger int is Python's OverflowError.
                            Err(_) if r.is_instance_of::<pyo3::types::PyInt>() => {
                                pyo3::exceptions::PyOverflowError::new_err("Python int too large to convert to C long")
                                    .print_and_set_sys_last_vars(py);
                                failed(0)
                            }
                            Err(_) => {
                                errors::msg_err("write callback must return int or None")
                                    .print_and_set_sys_last_vars(py);
                                failed(0)
                            }
                        },
                    }
                }
                Err(e) => {
                    self.report(py, e);
                    failed(0)
                }
            }
        })
    }
}

/// `f(arg)` without an argument tuple: PyObject_CallFunctionObjArgs is in the stable ABI and, since
/// Python 3.9, hands its arguments on as a vectorcall (pyo3's `call1` builds a tuple under abi3).
fn call_one<'py>(f: &Bound<'py, PyAny>, arg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: both pointers are live references held with the GIL; the argument list ends with NULL
    // as the C API requires, and the result is a new reference (or NULL with an exception set).
    #[allow(unsafe_code)]
    unsafe {
        let r = pyo3::ffi::PyObject_CallFunctionObjArgs(
            f.as_ptr(),
            arg.as_ptr(),
            std::ptr::null_mut::<pyo3::ffi::PyObject>(),
        );
        Bound::from_owned_ptr_or_err(f.py(), r)
    }
}

/// Calls `f` with a read-only memoryview of `data`, released when the call returns as pycurl does.
/// The view is over a bytes copy, so a slice the application keeps still owns its memory.
fn call_with_memoryview<'py>(py: Python<'py>, f: &Bound<'py, PyAny>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let view = pyo3::types::PyMemoryView::from(&PyBytes::new(py, data))?;
    let r = call_one(f, &view);
    // A buffer exported from the view and still alive makes release() fail; the bytes outlive it.
    let _ = view.call_method0("release");
    r
}

/// The BufferError for a buffer that is not C-contiguous (None for contiguous ones and non-buffers).
fn strided(r: &Bound<'_, PyAny>) -> Option<PyErr> {
    let view = r.py().import("builtins").ok()?.getattr("memoryview").ok()?.call1((r,)).ok()?;
    if view.getattr("c_contiguous").ok()?.extract::<bool>().ok()? {
        return None;
    }
    Some(pyo3::exceptions::PyBufferError::new_err("memoryview: underlying buffer is not C-contiguous"))
}

/// A callback's return value as pycurl prints it: the repr, non-ASCII escaped, or "a value".
fn shown(r: &Bound<'_, PyAny>) -> String {
    r.repr()
        .and_then(|s| s.call_method1("encode", ("ascii", "backslashreplace")))
        .and_then(|b| b.extract::<Vec<u8>>())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|_| "a value".to_owned())
}

/// An int that pycurl reads into a C int: too big raises OverflowError, not an int is printed.
fn call_int<'py>(
    py: Python<'py>,
    f: &PyObject,
    args: impl IntoPyObject<'py, Target = PyTuple>,
    what: &str,
) -> Result<Option<i64>, PyErr> {
    let r = f.call1(py, args)?;
    let r = r.bind(py);
    if r.is_instance_of::<pyo3::types::PyInt>() {
        return match r.extract::<i32>() {
            Ok(v) => Ok(Some(v as i64)),
            Err(_) => Err(pyo3::exceptions::PyOverflowError::new_err(format!(
                "{what} callback returned {} which does not fit in an int",
                shown(r)
            ))),
        };
    }
    // Written to the C-level stderr by pycurl.
    let _ = writeln!(std::io::stderr(), "{what} callback returned {} which is not an integer", shown(r));
    Ok(Some(i64::MIN))
}

impl Callbacks for PyCallbacks {
    fn write(&self, data: &[u8]) -> Flow {
        let has = self.slots.borrow().write.is_some();
        if !has {
            let mut out = std::io::stdout().lock();
            if out.write_all(data).and_then(|_| out.flush()).is_err() {
                return Flow::Abort(Error::new(
                    code::WRITE_ERROR,
                    format!("Failure writing output to destination, passed {} returned 0", data.len()),
                ));
            }
            return Flow::Continue;
        }
        self.write_like(false, data)
    }

    fn has_header(&self) -> bool {
        self.slots.borrow().header.is_some()
    }

    fn header(&self, line: &[u8]) -> Flow {
        if self.slots.borrow().header.is_none() {
            return Flow::Continue;
        }
        self.write_like(true, line)
    }

    fn has_read(&self) -> bool {
        self.slots.borrow().read.is_some()
    }

    fn read(&self, buf: &mut [u8]) -> ReadOutcome {
        with_callback_gil(|py| {
            let aborted = || ReadOutcome::Abort(Error::new(code::ABORTED_BY_CALLBACK, "operation aborted by callback"));
            let Some(f) = self.get(py, |s| &s.read) else { return ReadOutcome::Data(0) };
            let r = match f.call1(py, (buf.len(),)) {
                Ok(r) => r,
                Err(e) => {
                    self.report(py, e);
                    return aborted();
                }
            };
            let r = r.bind(py);
            let bytes: Vec<u8> = if let Ok(b) = r.downcast::<PyBytes>() {
                b.as_bytes().to_vec()
            } else if let Ok(s) = r.downcast::<pyo3::types::PyString>() {
                match s.call_method1("encode", ("ascii",)) {
                    Ok(b) => b.extract::<Vec<u8>>().unwrap_or_default(),
                    Err(e) => {
                        e.print_and_set_sys_last_vars(py);
                        return aborted();
                    }
                }
            } else if let Ok(n) = r.extract::<i64>() {
                if n == READFUNC_ABORT {
                    return aborted();
                }
                if n == READFUNC_PAUSE {
                    return ReadOutcome::Pause;
                }
                errors::msg_err("read callback must return an object supporting the buffer protocol (e.g. a byte string) or an ASCII-only Unicode string").print_and_set_sys_last_vars(py);
                return aborted();
            } else if let Some(e) = strided(r) {
                // pycurl asks for a simple (C-contiguous) buffer.
                e.print_and_set_sys_last_vars(py);
                return aborted();
            } else if let Ok(b) = r
                .call_method0("__bytes__")
                .or_else(|_| py.import("builtins").and_then(|m| m.getattr("bytes")).and_then(|b| b.call1((r,))))
            {
                if r.is_none() {
                    errors::msg_err("read callback must return an object supporting the buffer protocol (e.g. a byte string) or an ASCII-only Unicode string").print_and_set_sys_last_vars(py);
                    return aborted();
                }
                b.extract::<Vec<u8>>().unwrap_or_default()
            } else {
                errors::msg_err("read callback must return an object supporting the buffer protocol (e.g. a byte string) or an ASCII-only Unicode string").print_and_set_sys_last_vars(py);
                return aborted();
            };
            if bytes.len() > buf.len() {
                errors::msg_err(format!(
                    "invalid return value for read callback ({} bytes returned when at most {} bytes were wanted)",
                    bytes.len(),
                    buf.len()
                ))
                .print_and_set_sys_last_vars(py);
                return aborted();
            }
            buf[..bytes.len()].copy_from_slice(&bytes);
            ReadOutcome::Data(bytes.len())
        })
    }

    fn has_seek(&self) -> bool {
        self.slots.borrow().more.seek.is_some()
    }

    fn seek(&self, offset: i64, origin: i32) -> SeekOutcome {
        with_callback_gil(|py| {
            let Some(f) = self.get(py, |s| &s.more.seek) else { return SeekOutcome::CantSeek };
            match f.call1(py, (offset, origin)) {
                Ok(r) => {
                    let r = r.bind(py);
                    if r.is_none() {
                        return SeekOutcome::Ok;
                    }
                    if r.is_instance_of::<pyo3::types::PyInt>() && r.extract::<i32>().is_err() {
                        pyo3::exceptions::PyOverflowError::new_err(format!(
                            "seek callback returned {} which does not fit in an int",
                            shown(r)
                        ))
                        .print_and_set_sys_last_vars(py);
                        return SeekOutcome::CantSeek;
                    }
                    match r.extract::<i64>() {
                        Ok(0) => SeekOutcome::Ok,
                        Ok(1) => SeekOutcome::Fail,
                        Ok(2) => SeekOutcome::CantSeek,
                        Ok(n) => {
                            errors::msg_err(format!("invalid return value for seek callback {n} not in (0, 1, 2)"))
                                .print_and_set_sys_last_vars(py);
                            SeekOutcome::CantSeek
                        }
                        Err(_) => {
                            errors::msg_err("seek callback must return 0 (CURL_SEEKFUNC_OK), 1 (CURL_SEEKFUNC_FAIL), 2 (CURL_SEEKFUNC_CANTSEEK) or None").print_and_set_sys_last_vars(py);
                            SeekOutcome::CantSeek
                        }
                    }
                }
                Err(e) => {
                    self.report(py, e);
                    SeekOutcome::CantSeek
                }
            }
        })
    }

    fn has_progress(&self) -> bool {
        let s = self.slots.borrow();
        s.xferinfo.is_some() || s.progress.is_some()
    }

    fn progress(&self, dltotal: i64, dlnow: i64, ultotal: i64, ulnow: i64) -> Result<bool, Error> {
        with_callback_gil(|py| {
            let (f, floats) = match self.get(py, |s| &s.xferinfo) {
                Some(f) => (f, false),
                None => match self.get(py, |s| &s.progress) {
                    Some(f) => (f, true),
                    None => return Ok(false),
                },
            };
            let r = if floats {
                f.call1(py, (dltotal as f64, dlnow as f64, ultotal as f64, ulnow as f64))
            } else {
                f.call1(py, (dltotal, dlnow, ultotal, ulnow))
            };
            match r {
                Ok(r) => {
                    let r = r.bind(py);
                    if r.is_none() {
                        return Ok(false);
                    }
                    // pycurl reads a C int: a bigger one is printed as OverflowError and aborts.
                    if r.is_instance_of::<pyo3::types::PyInt>() && r.extract::<i32>().is_err() {
                        let what = if floats { "progress" } else { "xferinfo" };
                        pyo3::exceptions::PyOverflowError::new_err(format!(
                            "{what} callback returned {} which does not fit in an int",
                            shown(r)
                        ))
                        .print_and_set_sys_last_vars(py);
                        return Ok(true);
                    }
                    Ok(!matches!(r.extract::<i64>(), Ok(0)))
                }
                Err(e) => {
                    self.report(py, e);
                    Ok(true)
                }
            }
        })
    }

    fn has_debug(&self) -> bool {
        self.slots.borrow().debug.is_some()
    }

    fn debug(&self, kind: u8, data: &[u8]) {
        with_callback_gil(|py| {
            // An interrupt waiting to leave perform() is not followed by more debug calls.
            if self.propagate.borrow().is_some() {
                return;
            }
            if let Some(f) = self.get(py, |s| &s.debug) {
                if let Err(e) = f.call1(py, (kind as i64, PyBytes::new(py, data))) {
                    self.report(py, e);
                }
            }
        })
    }

    fn open_socket(&self, addr: &SocketAddr) -> Option<Result<Fd, Error>> {
        let fail = || {
            Error::new(
                code::COULDNT_CONNECT,
                format!("Failed to connect to {}:{} after 0 ms: Could not connect to server", addr.ip(), addr.port()),
            )
        };
        self.call_open_socket(|py| make_sockaddr(py, addr), fail)
    }

    fn open_unix_socket(&self, path: &[u8]) -> Option<Result<Fd, Error>> {
        // The engine words the failure itself (it knows the URL's host and the elapsed time).
        let fail = || Error::bare(code::COULDNT_CONNECT);
        self.call_open_socket(|py| make_unix_sockaddr(py, path), fail)
    }

    fn sockopt(&self, fd: Fd) -> Result<i32, Error> {
        with_callback_gil(|py| {
            let Some(f) = self.get(py, |s| &s.more.sockopt) else { return Ok(0) };
            match call_int(py, &f, (fd as i64, 0i64), "sockopt") {
                Ok(Some(0)) => Ok(0),
                Ok(Some(2)) => Ok(2),
                Ok(_) => Ok(1),
                Err(e) => {
                    // pycurl lets this one out of perform() unchanged.
                    let mut p = self.propagate.borrow_mut();
                    if p.is_none() {
                        *p = Some(e);
                    }
                    Ok(1)
                }
            }
        })
    }

    fn has_close_socket(&self) -> bool {
        self.slots.borrow().more.closesocket.is_some()
    }

    fn close_socket(&self, fd: Fd) {
        with_callback_gil(|py| match self.get(py, |s| &s.more.closesocket) {
            Some(f) => {
                if let Err(e) = call_int(py, &f, (fd as i64,), "closesocket") {
                    // Sockets close outside any call that could raise it.
                    e.write_unraisable(py, None);
                }
            }
            None => sys::close(fd),
        })
    }

    fn has_ssh_key(&self) -> bool {
        self.slots.borrow().more.ssh_key.is_some()
    }

    /// pycurl calls f(known_key, found_key, match) with KhKey tuples (None for a missing known
    /// key); a result that is not an int rejects the key, as libcurl's KHSTAT_REJECT.
    fn ssh_key(&self, known: Option<(Vec<u8>, i32)>, found: (Vec<u8>, i32), matched: i32) -> i32 {
        with_callback_gil(|py| {
            let Some(f) = self.get(py, |s| &s.more.ssh_key) else { return 2 };
            let kh = |k: (Vec<u8>, i32)| -> PyResult<PyObject> {
                let t = py.import("pycurl")?.getattr("KhKey")?;
                Ok(t.call1((pyo3::types::PyBytes::new(py, &k.0), k.1))?.unbind())
            };
            let args = (|| -> PyResult<(PyObject, PyObject)> {
                let known = match known {
                    Some(k) => kh(k)?,
                    None => py.None(),
                };
                Ok((known, kh(found)?))
            })();
            let (known, found) = match args {
                Ok(a) => a,
                Err(e) => {
                    self.report(py, e);
                    return 2;
                }
            };
            let r = match f.call1(py, (known, found, matched)) {
                Ok(r) => r,
                Err(e) => {
                    self.report(py, e);
                    return 2;
                }
            };
            let r = r.bind(py);
            match r.extract::<i32>() {
                Ok(n) => n,
                Err(_) => {
                    // Written to the C-level stderr by pycurl.
                    let repr = shown(r);
                    let _ = writeln!(std::io::stderr(), "ssh key callback returned {repr} which is not an integer");
                    2
                }
            }
        })
    }

    fn has_resolver_start(&self) -> bool {
        self.slots.borrow().more.resolver_start.is_some()
    }

    fn resolver_start(&self) -> bool {
        with_callback_gil(|py| {
            let Some(f) = self.get(py, |s| &s.more.resolver_start) else { return false };
            let r = match f.call0(py) {
                Ok(r) => r,
                Err(e) => {
                    self.report(py, e);
                    return true;
                }
            };
            let r = r.bind(py);
            if r.is_none() {
                return false;
            }
            if r.is_instance_of::<pyo3::types::PyInt>() {
                return match r.extract::<i32>() {
                    Ok(n) => n != 0,
                    Err(_) => {
                        // pycurl raises this one out of perform().
                        let repr = shown(r);
                        let e = pyo3::exceptions::PyOverflowError::new_err(format!(
                            "resolver_start callback returned {repr} which does not fit in an int"
                        ));
                        let mut p = self.propagate.borrow_mut();
                        if p.is_none() {
                            *p = Some(e);
                        }
                        true
                    }
                };
            }
            // Written to the C-level stderr by pycurl.
            let repr = shown(r);
            let _ = writeln!(std::io::stderr(), "resolver_start callback returned {repr} which is not an integer");
            true
        })
    }

    fn has_ioctl(&self) -> bool {
        self.slots.borrow().more.ioctl.is_some()
    }

    fn ioctl_restart_read(&self) -> i32 {
        /// CURLIOE_FAILRESTART, libcurl's answer when pycurl's callback fails.
        const FAILRESTART: i32 = 2;
        with_callback_gil(|py| {
            let Some(f) = self.get(py, |s| &s.more.ioctl) else { return FAILRESTART };
            // CURLIOCMD_RESTARTREAD
            let r = match f.call1(py, (1i64,)) {
                Ok(r) => r,
                Err(e) => {
                    self.report(py, e);
                    return FAILRESTART;
                }
            };
            let r = r.bind(py);
            if r.is_none() {
                return 0;
            }
            if !r.is_instance_of::<pyo3::types::PyInt>() {
                return FAILRESTART;
            }
            match r.extract::<i32>() {
                Ok(n) => {
                    if !(0..=2).contains(&n) {
                        // pycurl complains, yet hands the number to libcurl.
                        errors::msg_err("ioctl callback returned invalid value").print_and_set_sys_last_vars(py);
                    }
                    n
                }
                Err(_) => {
                    let repr = shown(r);
                    pyo3::exceptions::PyOverflowError::new_err(format!(
                        "ioctl callback returned {repr} which does not fit in an int"
                    ))
                    .print_and_set_sys_last_vars(py);
                    FAILRESTART
                }
            }
        })
    }

    fn has_trailer(&self) -> bool {
        self.slots.borrow().more.trailer.is_some()
    }

    fn trailer(&self) -> Result<Vec<Vec<u8>>, Error> {
        with_callback_gil(|py| {
            let aborted = || Error::new(code::ABORTED_BY_CALLBACK, "operation aborted by trailing headers callback");
            let Some(f) = self.get(py, |s| &s.more.trailer) else { return Ok(Vec::new()) };
            let r = match f.call0(py) {
                Ok(r) => r,
                Err(e) => {
                    self.report(py, e);
                    return Err(aborted());
                }
            };
            let r = r.bind(py);
            if r.is_none() {
                return Ok(Vec::new());
            }
            if !(r.is_instance_of::<pyo3::types::PyList>() || r.is_instance_of::<PyTuple>()) {
                errors::msg_err("trailer callback must return None or a list/tuple of header strings")
                    .print_and_set_sys_last_vars(py);
                return Err(aborted());
            }
            let mut lines = Vec::new();
            for item in r.try_iter().map_err(|_| aborted())? {
                let line = item.and_then(|i| {
                    if i.is_instance_of::<pyo3::types::PyString>() || i.is_instance_of::<PyBytes>() {
                        super::convert::bytes(&i)
                    } else {
                        Err(pyo3::exceptions::PyTypeError::new_err(
                            "list items must be byte strings or Unicode strings with ASCII code points only",
                        ))
                    }
                });
                match line {
                    Ok(l) => lines.push(l),
                    Err(e) => {
                        e.print_and_set_sys_last_vars(py);
                        return Err(aborted());
                    }
                }
            }
            Ok(lines)
        })
    }

    fn has_fnmatch(&self) -> bool {
        self.slots.borrow().more.fnmatch.is_some()
    }

    fn fnmatch(&self, pattern: &[u8], name: &[u8]) -> i32 {
        /// CURL_FNMATCHFUNC_FAIL: libcurl then skips the file.
        const FAIL: i32 = 2;
        with_callback_gil(|py| {
            // Once a call has raised, pycurl calls no more callbacks: the exception ends perform().
            if self.propagate.borrow().is_some() {
                return FAIL;
            }
            let Some(f) = self.get(py, |s| &s.more.fnmatch) else { return FAIL };
            match call_int(py, &f, (PyBytes::new(py, pattern), PyBytes::new(py, name)), "fnmatch") {
                Ok(Some(n)) if n != i64::MIN => n as i32,
                Ok(_) => FAIL,
                Err(e) => {
                    let mut p = self.propagate.borrow_mut();
                    if p.is_none() {
                        *p = Some(e);
                    }
                    FAIL
                }
            }
        })
    }

    fn prereq(&self, primary_ip: &str, local_ip: &str, primary_port: u16, local_port: u16) -> Result<i32, Error> {
        // Asked before every request: without a callable there is nothing to take the GIL for.
        if self.slots.borrow().more.prereq.is_none() {
            return Ok(0);
        }
        with_callback_gil(|py| {
            let Some(f) = self.get(py, |s| &s.more.prereq) else { return Ok(0) };
            match call_int(py, &f, (primary_ip, local_ip, primary_port as i64, local_port as i64), "prereq") {
                Ok(Some(0)) => Ok(0),
                Ok(_) => Ok(1),
                Err(e) => {
                    // pycurl lets this one out of perform() unchanged.
                    let mut p = self.propagate.borrow_mut();
                    if p.is_none() {
                        *p = Some(e);
                    }
                    Ok(1)
                }
            }
        })
    }
}

/// `Python::with_gil` around a Python callback called from Rust, counted for the exit gate.
pub fn with_callback_gil<R>(f: impl FnOnce(Python<'_>) -> R) -> R {
    Python::with_gil(|py| {
        let _in = super::gil::enter_callback(py);
        f(py)
    })
}

/// pycurl's CurlSockAddr for a Unix-domain address: family AF_UNIX, protocol 0, the path as bytes.
fn make_unix_sockaddr<'py>(py: Python<'py>, path: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let cls = py.import("pycurl._pycurl")?.getattr("CurlSockAddr")?;
    let (family, socktype, protocol) = crate::engine::net::unix_socket_triple();
    cls.call1((family, socktype, protocol, PyBytes::new(py, path)))
}

fn make_sockaddr<'py>(py: Python<'py>, addr: &SocketAddr) -> PyResult<Bound<'py, PyAny>> {
    let cls = py.import("pycurl._pycurl")?.getattr("CurlSockAddr")?;
    let (family, socktype, protocol) = sys::socket_triple(addr);
    let a: Bound<'py, PyAny> = match addr {
        SocketAddr::V4(a) => (a.ip().to_string(), a.port()).into_pyobject(py)?.into_any(),
        SocketAddr::V6(a) => (a.ip().to_string(), a.port(), a.flowinfo(), a.scope_id()).into_pyobject(py)?.into_any(),
    };
    cls.call1((family, socktype, protocol, a))
}
