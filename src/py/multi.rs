//! `pycurl.CurlMulti`: the engine's multi handle with pycurl's methods. Socket and timer callbacks
//! report exactly the engine's interest changes and deadline, after each call that ran transfers.

use std::collections::HashMap;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::engine::error::{code, mcode};
use crate::engine::multi::Multi;
use crate::engine::rt::FdHash;
use crate::engine::strerror;
use crate::engine::sys::Fd;

use super::constants;
use super::convert;
use super::curl::PyCurl;
use super::errors::{code_err, msg_err};
use super::gil::GilCell;
use super::link::{MultiLink, MultiRef};

pub struct MState {
    multi: Option<Multi>,
    close_handles: bool,
    handles: HashMap<u64, Py<PyCurl>, FdHash>,
    /// The weak reference every attached Curl holds to this multi, made once.
    self_ref: Option<Py<pyo3::types::PyWeakrefReference>>,
    socket_cb: Option<PyObject>,
    timer_cb: Option<PyObject>,
    notify_cb: Option<PyObject>,
    notify_mask: u32,
    assigned: HashMap<Fd, PyObject, FdHash>,
    /// perform/socket_action (and so M_* callbacks) on the stack.
    depth: u32,
    /// The thread that runs the outermost perform/socket_action while depth > 0.
    driver: Option<std::thread::ThreadId>,
    /// The socket whose SOCKETFUNCTION call is running (assign works on it even as it is removed).
    current_fd: Option<Fd>,
    /// A KeyboardInterrupt / SystemExit raised by an M_* callback, raised again by the call that ran it.
    interrupt: Option<PyErr>,
}

#[pyclass(name = "CurlMulti", module = "pycurl", subclass, dict, weakref)]
pub struct PyCurlMulti {
    st: GilCell<MState>,
}

impl Drop for PyCurlMulti {
    fn drop(&mut self) {
        // pyo3 0.25's dealloc empties the instance dict but never releases it.
        super::instdict::MULTI.clear(self);
    }
}

/// M_* option numbers.
mod mopt {
    pub const SOCKETFUNCTION: i32 = 20001;
    pub const SOCKETDATA: i32 = 10002;
    pub const TIMERDATA: i32 = 10005;
    pub const PIPELINING: i32 = 3;
    pub const TIMERFUNCTION: i32 = 20004;
    pub const MAXCONNECTS: i32 = 6;
    pub const MAX_HOST_CONNECTIONS: i32 = 7;
    pub const MAX_PIPELINE_LENGTH: i32 = 8;
    pub const CONTENT_LENGTH_PENALTY_SIZE: i32 = 30009;
    pub const CHUNK_LENGTH_PENALTY_SIZE: i32 = 30010;
    pub const PIPELINING_SITE_BL: i32 = 10011;
    pub const PIPELINING_SERVER_BL: i32 = 10012;
    pub const MAX_TOTAL_CONNECTIONS: i32 = 13;
    pub const MAX_CONCURRENT_STREAMS: i32 = 16;
    pub const NETWORK_CHANGED: i32 = 17;
    pub const NOTIFYFUNCTION: i32 = 20018;
}

/// How a Curl handle reaches the CurlMulti it is attached to (see link.rs).
struct Link;

impl MultiLink for Link {
    fn running_callbacks(&self, multi: &Bound<'_, PyAny>) -> bool {
        multi.downcast::<PyCurlMulti>().is_ok_and(|m| m.borrow().running_callbacks())
    }
    fn driven_elsewhere(&self, multi: &Bound<'_, PyAny>) -> bool {
        multi.downcast::<PyCurlMulti>().is_ok_and(|m| m.borrow().driven_elsewhere())
    }
    fn report_changes(&self, multi: &Bound<'_, PyAny>) -> PyResult<()> {
        match multi.downcast::<PyCurlMulti>() {
            Ok(m) => PyCurlMulti::report_changes(m),
            Err(_) => Ok(()),
        }
    }
    fn detach_key(&self, multi: &Bound<'_, PyAny>, key: u64) {
        if let Ok(m) = multi.downcast::<PyCurlMulti>() {
            m.borrow().detach_key(multi.py(), key);
        }
    }
}

fn closed(what: &str) -> PyErr {
    msg_err(format!("cannot invoke {what}() - no multi handle"))
}

/// The engine multi is absent: closed, or lent out to a perform/socket_action that is running a
/// callback right now (pycurl refuses the call before libcurl sees it).
fn missing(st: &MState, what: &str) -> PyErr {
    match (st.depth > 0, what) {
        // pycurl lets these through to libcurl, which answers CURLM_RECURSIVE_API_CALL.
        (true, "info_read" | "assign" | "unassign") => {
            code_err(mcode::RECURSIVE_API_CALL, strerror::multi_strerror(mcode::RECURSIVE_API_CALL as i64))
        }
        (true, _) => busy(what),
        (false, _) => closed(what),
    }
}

/// pycurl's answer to a call made while perform/socket_action runs (from a callback or a thread).
fn busy(what: &str) -> PyErr {
    msg_err(format!("cannot invoke {what}() - multi_perform() is currently running"))
}

impl PyCurlMulti {
    /// perform/socket_action is on the stack (we are inside one of their callbacks).
    pub fn running_callbacks(&self) -> bool {
        self.st.try_borrow_mut().is_none_or(|s| s.depth > 0)
    }

    /// perform/socket_action is running on a thread other than the caller's.
    pub fn driven_elsewhere(&self) -> bool {
        self.st.try_borrow().is_some_and(|s| s.depth > 0 && s.driver != Some(std::thread::current().id()))
    }

    /// Delivers the engine's socket and timer changes to the application's callbacks.
    /// Returns false if a callback raised (already printed).
    fn deliver(slf: &Bound<'_, Self>) -> bool {
        let (sockets_ok, timer_ok) = PyCurlMulti::deliver_each(slf);
        sockets_ok && timer_ok
    }

    /// `deliver`, telling whether the socket callbacks and the timer callback went through. After
    /// a failing socket callback the timer is not reported (libcurl marks the multi dead).
    fn deliver_each(slf: &Bound<'_, Self>) -> (bool, bool) {
        let py = slf.py();
        let this = slf.borrow();
        let (events, timer, socket_cb, timer_cb) = {
            let mut st = this.st.borrow_mut();
            let has_timer_cb = st.timer_cb.is_some();
            let Some(m) = st.multi.as_mut() else { return (true, true) };
            let ev = m.take_socket_events();
            // As libcurl, nothing counts as reported while there is no TIMERFUNCTION to report to.
            let t = if has_timer_cb { m.timer_change() } else { None };
            (ev, t, st.socket_cb.as_ref().map(|c| c.clone_ref(py)), st.timer_cb.as_ref().map(|c| c.clone_ref(py)))
        };
        let _in = super::gil::enter_callback(py);
        // The M_* callbacks run with the multi marked busy: re-entering it from them is refused.
        this.st.borrow_mut().depth += 1;
        let mut ok = true;
        for e in &events {
            let sp = this.st.borrow().assigned.get(&e.fd).map(|o| o.clone_ref(py)).unwrap_or_else(|| py.None());
            // libcurl gives up on the first failing callback, but still reports sockets going away.
            let removing = e.what == crate::engine::rt::POLL_REMOVE;
            // After a KeyboardInterrupt nothing more is called: it goes up as soon as possible.
            let interrupted = this.st.borrow().interrupt.is_some();
            if let Some(cb) = socket_cb.as_ref().filter(|_| (ok || removing) && !interrupted) {
                this.st.borrow_mut().current_fd = Some(e.fd);
                let r = cb.call1(py, (e.what as i64, e.fd as i64, slf.clone(), sp));
                this.st.borrow_mut().current_fd = None;
                ok &= this.callback_ok(py, r, "socket");
            }
            if e.what == crate::engine::rt::POLL_REMOVE {
                this.st.borrow_mut().assigned.remove(&e.fd);
            }
        }
        if let Some(m) = this.st.borrow().multi.as_ref() {
            m.close_buried();
        }
        let mut timer_ok = true;
        if let (true, Some(ms), Some(cb)) = (ok, timer, &timer_cb) {
            timer_ok = this.callback_ok(py, cb.call1(py, (ms,)), "timer");
            if !timer_ok {
                // libcurl forgets a report the callback refused: a later "no timeout" is not sent.
                if let Some(m) = this.st.borrow_mut().multi.as_mut() {
                    m.reset_timer_report();
                }
            }
        }
        this.st.borrow_mut().depth -= 1;
        (ok, timer_ok)
    }

    /// Runs `f` on the engine multi with the depth guard, then delivers callbacks.
    fn drive(slf: &Bound<'_, Self>, what: &str, f: impl FnOnce(&mut Multi) -> usize) -> PyResult<(usize, bool)> {
        let this = slf.borrow();
        let mut queued_before = 0;
        let running = {
            let mut st = this.st.borrow_mut();
            if let Some(m) = st.multi.as_ref() {
                queued_before = m.queued_msgs();
            }
            if st.depth > 0 {
                // Re-entered from one of its own callbacks, or from another thread meanwhile.
                return Err(busy(what));
            }
            if st.multi.is_none() {
                return Err(closed(what));
            }
            st.depth += 1;
            st.driver = Some(std::thread::current().id());
            drop(st);
            // Transfers call Python callbacks: no borrow of the state is held while they run.
            let mut taken = this.st.borrow_mut().multi.take().unwrap();
            let n = f(&mut taken);
            let mut st = this.st.borrow_mut();
            st.multi = Some(taken);
            n
        };
        let ok = PyCurlMulti::deliver(slf);
        // A failing notify callback is printed; the call itself goes on.
        PyCurlMulti::notify(slf, queued_before);
        this.st.borrow_mut().depth -= 1;
        if let Some(e) = this.take_interrupt() {
            return Err(e);
        }
        Ok((running, ok))
    }

    fn take_interrupt(&self) -> Option<PyErr> {
        self.st.borrow_mut().interrupt.take()
    }

    /// After pause() or close() changed a transfer of this multi from outside its callbacks: libcurl
    /// reports the new timer and sockets from inside curl_easy_pause / curl_easy_cleanup, so an event
    /// loop that only waits on M_TIMERFUNCTION / M_SOCKETFUNCTION wakes up. Inside a callback, the
    /// running call reports.
    pub fn report_changes(slf: &Bound<'_, Self>) -> PyResult<()> {
        let this = slf.borrow();
        if this.running_callbacks() || this.st.borrow().multi.is_none() {
            return Ok(());
        }
        PyCurlMulti::deliver(slf);
        match this.take_interrupt() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// An M_SOCKETFUNCTION / M_TIMERFUNCTION result as libcurl judges it: None or an int that fits
    /// a C int is fine, -1 is a failure, anything else is reported (as pycurl does) and fails. A
    /// KeyboardInterrupt or SystemExit is kept to be raised again by the call that ran the callback.
    fn callback_ok(&self, py: Python<'_>, r: PyResult<PyObject>, which: &str) -> bool {
        match r {
            Ok(v) if v.is_none(py) => true,
            Ok(v) => match v.bind(py).downcast::<pyo3::types::PyInt>() {
                Ok(n) => match n.extract::<i32>() {
                    Ok(n) => n != -1,
                    Err(_) => {
                        let msg = format!("multi {which} callback returned {n} which does not fit in an int");
                        pyo3::exceptions::PyOverflowError::new_err(msg).print(py);
                        false
                    }
                },
                Err(_) => {
                    use std::io::Write as _;
                    let repr = v.bind(py).repr().map(|r| r.to_string()).unwrap_or_default();
                    let _ =
                        writeln!(std::io::stderr(), "multi {which} callback returned {repr} which is not an integer");
                    false
                }
            },
            Err(e) => {
                if e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py)
                    || e.is_instance_of::<pyo3::exceptions::PySystemExit>(py)
                {
                    let mut st = self.st.borrow_mut();
                    if st.interrupt.is_none() {
                        st.interrupt = Some(e);
                    }
                } else {
                    e.print_and_set_sys_last_vars(py);
                }
                false
            }
        }
    }

    /// M_NOTIFYFUNCTION: EASY_DONE (1) with each finished Curl, then INFO_READ (0) with None when
    /// messages became available. Returns false if the callback raised (already printed).
    fn notify(slf: &Bound<'_, Self>, queued_before: usize) -> bool {
        let py = slf.py();
        let this = slf.borrow();
        let (queued_now, cb, mask, handles) = {
            let mut st = this.st.borrow_mut();
            let no_cb = st.notify_cb.is_none() || st.notify_mask == 0;
            let Some(m) = st.multi.as_mut() else { return true };
            let done = m.take_newly_done();
            if no_cb {
                return true;
            }
            let queued_now = m.queued_msgs();
            let cb = st.notify_cb.as_ref().map(|c| c.clone_ref(py));
            let handles: Vec<Option<Py<PyCurl>>> =
                done.iter().map(|k| st.handles.get(k).map(|h| h.clone_ref(py))).collect();
            (queued_now, cb, st.notify_mask, handles)
        };
        let Some(cb) = cb else { return true };
        let _in = super::gil::enter_callback(py);
        let mut ok = true;
        // The callback returns nothing libcurl reads; only an exception matters.
        let mut call = |args: (i64, PyObject)| {
            if this.st.borrow().interrupt.is_some() {
                // After a KeyboardInterrupt nothing more is called: it goes up as soon as possible.
                return;
            }
            if let Err(e) = cb.call1(py, args) {
                ok = this.callback_ok(py, Err(e), "notify") && ok;
            }
        };
        if mask & (1 << 1) != 0 {
            for h in handles.into_iter().flatten() {
                call((1, h.into_any()));
            }
        }
        if mask & 1 != 0 && queued_before == 0 && queued_now > 0 {
            call((0, py.None()));
        }
        ok
    }

    /// add_handle/remove_handle need the engine multi, and not from inside one of its callbacks.
    fn check_open_for_handles(&self) -> PyResult<()> {
        let st = self.st.borrow();
        if st.depth > 0 {
            return Err(msg_err("cannot add/remove handle - multi_perform() already running"));
        }
        if st.multi.is_some() {
            return Ok(());
        }
        Err(msg_err("cannot add/remove handle - multi-stack is closed"))
    }

    fn notify_change(&self, what: &str, notifications: &Bound<'_, PyTuple>, on: bool) -> PyResult<()> {
        if notifications.is_empty() {
            return Err(PyTypeError::new_err(format!("{what} requires at least one notification")));
        }
        for n in notifications.iter() {
            let n = convert::index(&n)?;
            if !(0..=u32::MAX as i64).contains(&n) {
                return Err(pyo3::exceptions::PyOverflowError::new_err("notification value is out of range"));
            }
            let mut st = self.st.borrow_mut();
            if st.multi.is_none() {
                return Err(closed(what));
            }
            if !(0..=1).contains(&n) {
                return Err(code_err(mcode::UNKNOWN_OPTION, format!("{what} failed")));
            }
            if on {
                st.notify_mask |= 1 << n;
            } else {
                st.notify_mask &= !(1 << n);
            }
        }
        Ok(())
    }

    /// Takes transfer `key` off this multi (its Curl is being closed).
    pub fn detach_key(&self, py: Python<'_>, key: u64) {
        let removed = {
            let mut st = self.st.borrow_mut();
            if let Some(m) = st.multi.as_mut() {
                m.remove(key);
            }
            st.handles.remove(&key)
        };
        drop(removed.map(|h| h.into_bound(py)));
    }

    pub fn detach_easy(&self, py: Python<'_>, curl: &PyCurl) -> PyResult<()> {
        let key = match &curl.st.borrow().multi {
            Some(r) => r.key,
            None => return Ok(()),
        };
        let removed = {
            let mut st = self.st.borrow_mut();
            if let Some(m) = st.multi.as_mut() {
                m.remove(key);
            }
            st.handles.remove(&key)
        };
        curl.st.borrow_mut().multi = None;
        drop(removed.map(|h| h.into_bound(py)));
        Ok(())
    }
}

#[pymethods]
impl PyCurlMulti {
    // pickle, copy and deepcopy all end here, with pycurl's message (a handle has no state to copy)
    fn __getstate__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("CurlMulti objects do not support serialization"))
    }

    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **kwargs))]
    fn py_new(
        cls: &Bound<'_, pyo3::types::PyType>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        let mut close_handles = false;
        // A subclass's arguments belong to its own __init__, as with pycurl.
        if cls.is(cls.py().get_type::<PyCurlMulti>()) {
            if !args.is_empty() {
                return Err(PyTypeError::new_err("function takes no positional arguments"));
            }
            if let Some(kw) = kwargs {
                if kw.len() > 1 {
                    return Err(PyTypeError::new_err(format!(
                        "function takes at most 1 keyword argument ({} given)",
                        kw.len()
                    )));
                }
                for (k, v) in kw.iter() {
                    let k: String = k.extract()?;
                    if k != "close_handles" {
                        return Err(PyTypeError::new_err(format!(
                            "'{k}' is an invalid keyword argument for this function"
                        )));
                    }
                    close_handles = !v.is_none() && v.is_truthy()?;
                }
            }
        }
        let mut multi = Multi::new();
        multi.enable_wakeup().map_err(|e| code_err(code::FAILED_INIT, e.to_string()))?;
        Ok(PyCurlMulti {
            st: GilCell::new(MState {
                multi: Some(multi),
                close_handles,
                handles: HashMap::default(),
                self_ref: None,
                socket_cb: None,
                timer_cb: None,
                notify_cb: None,
                notify_mask: 0,
                assigned: HashMap::default(),
                depth: 0,
                driver: None,
                current_fd: None,
                interrupt: None,
            }),
        })
    }

    #[pyo3(signature = (*args))]
    fn add_handle(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        let curl = curl_arg("add_handle", args)?;
        let curl = &curl;
        let this = slf.borrow();
        this.check_open_for_handles()?;
        let c = curl.borrow();
        if c.st.borrow().easy.is_none() {
            return Err(msg_err("curl object already closed"));
        }
        if let Some((m, _)) = c.st.borrow().attached(slf.py()) {
            if m.is(slf) {
                return Err(msg_err("curl object already on this multi-stack"));
            }
            return Err(msg_err("cannot add/remove handle - curl object already on another multi-stack"));
        }
        if c.st.borrow().performing {
            return Err(code_err(mcode::ADDED_ALREADY, strerror::multi_strerror(mcode::ADDED_ALREADY as i64)));
        }
        let easy = c.prepare()?;
        {
            // libcurl's buffer is emptied, but an error it already holds still counts as reported
            // until the transfer starts (seen as perform()'s message while the handle is in here)
            let mut cs = c.st.borrow_mut();
            cs.errbuf_reported |= !cs.errbuf.is_empty();
            cs.errbuf.clear();
        }
        let key = this.st.borrow_mut().multi.as_mut().unwrap().add(easy);
        this.st.borrow_mut().handles.insert(key, curl.clone().unbind());
        let weak = {
            let mut st = this.st.borrow_mut();
            match &st.self_ref {
                Some(w) => w.clone_ref(slf.py()),
                None => {
                    let w = pyo3::types::PyWeakrefReference::new(slf)?.unbind();
                    st.self_ref = Some(w.clone_ref(slf.py()));
                    w
                }
            }
        };
        c.st.borrow_mut().multi = Some(MultiRef { weak: weak.into_any(), key, link: &Link });
        drop(c);
        // libcurl asks for an immediate timeout when a handle is added; if that fails the handle
        // is not added after all.
        let delivered = PyCurlMulti::deliver(slf);
        // pycurl reports any failure here as the add failing, a KeyboardInterrupt included.
        this.take_interrupt();
        if !delivered {
            let c = curl.borrow();
            this.detach_key(slf.py(), key);
            c.st.borrow_mut().multi = None;
            return Err(code_err(mcode::ABORTED_BY_CALLBACK, "curl_multi_add_handle() failed due to internal errors"));
        }
        Ok(())
    }

    #[pyo3(signature = (*args))]
    fn remove_handle(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        let curl = curl_arg("remove_handle", args)?;
        let curl = &curl;
        let this = slf.borrow();
        this.check_open_for_handles()?;
        let c = curl.borrow();
        if c.st.borrow().easy.is_none() {
            // Closing a Curl already took it off its multi.
            return Ok(());
        }
        match c.st.borrow().attached(slf.py()) {
            None => return Err(msg_err("curl object not on this multi-stack")),
            Some((m, _)) if !m.is(slf) => {
                return Err(msg_err("cannot add/remove handle - curl object already on another multi-stack"))
            }
            _ => {}
        }
        // libcurl takes the transfer off first, then reports the new timer (-1 once none is left);
        // when that callback fails pycurl raises and still counts the Curl as on this multi, until
        // the next remove_handle, which no longer reaches libcurl's callbacks.
        let key = c.st.borrow().multi.as_ref().map(|r| r.key);
        let in_engine = {
            let mut st = this.st.borrow_mut();
            match (st.multi.as_mut(), key) {
                (Some(m), Some(k)) => m.remove(k),
                _ => false,
            }
        };
        if !in_engine {
            this.detach_easy(slf.py(), &c)?;
            return Ok(());
        }
        // A failing socket callback is printed and the removal stands, as in libcurl.
        let (_, timer_ok) = PyCurlMulti::deliver_each(slf);
        if let Some(e) = this.take_interrupt() {
            this.detach_easy(slf.py(), &c)?;
            return Err(e);
        }
        if !timer_ok {
            return Err(code_err(
                mcode::ABORTED_BY_CALLBACK,
                "curl_multi_remove_handle() failed due to internal errors",
            ));
        }
        this.detach_easy(slf.py(), &c)?;
        Ok(())
    }

    fn perform(slf: &Bound<'_, Self>) -> PyResult<(i64, usize)> {
        let (n, ok) = PyCurlMulti::drive(slf, "perform", |m| m.perform())?;
        if !ok {
            return Err(code_err(mcode::ABORTED_BY_CALLBACK, "perform failed"));
        }
        Ok((mcode::OK as i64, n))
    }

    #[pyo3(signature = (*args))]
    fn socket_action(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<(i64, usize)> {
        convert::arity("socket_action", args, 2)?;
        let sock_fd = socket_arg(&args.get_item(0)?)?;
        let ev_bitmask = convert::c_int(&args.get_item(1)?)? as i64;
        let (n, ok) = PyCurlMulti::drive(slf, "socket_action", |m| m.socket_action(sock_fd as Fd, ev_bitmask as u8))?;
        if !ok {
            return Err(code_err(mcode::ABORTED_BY_CALLBACK, "multi_socket_action failed"));
        }
        Ok((mcode::OK as i64, n))
    }

    fn socket_all(slf: &Bound<'_, Self>) -> PyResult<(i64, usize)> {
        let py = slf.py();
        let w = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
        PyErr::warn(py, &w, c"socket_all is deprecated; use socket_action", 1)?;
        let (n, _) = PyCurlMulti::drive(slf, "socket_all", |m| m.socket_all())?;
        Ok((mcode::OK as i64, n))
    }

    fn timeout(&self) -> PyResult<i64> {
        let st = self.st.borrow();
        let m = st.multi.as_ref().filter(|_| st.depth == 0).ok_or_else(|| missing(&st, "timeout"))?;
        Ok(m.timeout_ms())
    }

    fn fdset(&self, py: Python<'_>) -> PyResult<(PyObject, PyObject, PyObject)> {
        let st = self.st.borrow();
        let m = st.multi.as_ref().filter(|_| st.depth == 0).ok_or_else(|| missing(&st, "fdset"))?;
        let (r, w) = m.fdset();
        Ok((
            PyList::new(py, r)?.into_any().unbind(),
            PyList::new(py, w)?.into_any().unbind(),
            PyList::empty(py).into_any().unbind(),
        ))
    }

    #[pyo3(signature = (*args))]
    fn select(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<i64> {
        if args.len() != 1 {
            return Err(PyTypeError::new_err(format!("select() takes exactly 1 argument ({} given)", args.len())));
        }
        let timeout: Option<f64> = Some(args.get_item(0)?.extract::<f64>()?);
        let interests = {
            let st = self.st.borrow();
            let m = st.multi.as_ref().filter(|_| st.depth == 0).ok_or_else(|| missing(&st, "select"))?;
            m.interests()
        };
        let ms: i32 = match timeout {
            None => -1,
            Some(t) if !(0.0..=31_536_000.0).contains(&t) => {
                return Err(pyo3::exceptions::PyOverflowError::new_err("invalid timeout period"))
            }
            Some(t) => (t * 1000.0).ceil().min(i32::MAX as f64) as i32,
        };
        if interests.is_empty() {
            // Nothing to wait for: pycurl's select() returns at once.
            return Ok(0);
        }
        let ready = super::gil::allow_threads(py, move || crate::engine::rt::poll_interests(&interests, ms))
            .unwrap_or_default();
        // Counted as select() counts: once per ready direction.
        let n: i64 =
            ready.iter().map(|(_, ev)| if *ev == 4 { 1 } else { (ev & 1) as i64 + (ev >> 1 & 1) as i64 }).sum();
        Ok(n)
    }

    #[pyo3(signature = (*args))]
    fn info_read(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<(usize, PyObject, PyObject)> {
        if args.len() > 1 {
            return Err(PyTypeError::new_err(format!("info_read() takes at most 1 argument ({} given)", args.len())));
        }
        let max_objects = match args.len() {
            0 => None,
            _ => Some(convert::c_int(&args.get_item(0)?)? as i64),
        };
        let max = match max_objects {
            None => usize::MAX,
            Some(n) if n <= 0 => return Err(msg_err("argument to info_read must be greater than zero")),
            Some(n) => n as usize,
        };
        let ok = PyList::empty(py);
        let err = PyList::empty(py);
        let mut queued = 0;
        let mut taken = 0;
        loop {
            if taken >= max {
                break;
            }
            let (msg, left, curl) = {
                let mut st = self.st.borrow_mut();
                if st.multi.is_none() {
                    return Err(missing(&st, "info_read"));
                }
                let m = st.multi.as_mut().unwrap();
                let Some((msg, left)) = m.info_read() else { break };
                let curl = st.handles.get(&msg.key).map(|c| c.clone_ref(py));
                (msg, left, curl)
            };
            queued = left;
            taken += 1;
            let Some(curl) = curl else { continue };
            match msg.result {
                Ok(()) => {
                    // the transfer ran and reported nothing: libcurl emptied the buffer when it began
                    let c = curl.borrow(py);
                    let mut cs = c.st.borrow_mut();
                    cs.errbuf.clear();
                    cs.errbuf_reported = false;
                    drop(cs);
                    drop(c);
                    ok.append(curl)?
                }
                Err(e) => {
                    let text = {
                        let c = curl.borrow(py);
                        let mut cs = c.st.borrow_mut();
                        if cs.errbuf.is_empty() {
                            cs.errbuf = e.msg.clone();
                        }
                        cs.errbuf.clone()
                    };
                    let msg = pyo3::types::PyBytes::new(py, text.as_bytes())
                        .call_method1("decode", ("utf-8", "surrogateescape"))?;
                    err.append((curl, e.code, msg))?;
                }
            }
        }
        if taken == 0 {
            let st = self.st.borrow();
            if st.multi.is_none() {
                return Err(missing(&st, "info_read"));
            }
        }
        Ok((queued, ok.into_any().unbind(), err.into_any().unbind()))
    }

    #[pyo3(signature = (*args))]
    fn setopt(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        convert::arity("setopt", args, 2)?;
        let option = convert::c_int(&args.get_item(0)?)?;
        let value = &args.get_item(1)?;
        let mut st = self.st.borrow_mut();
        if st.multi.is_none() {
            return Err(missing(&st, "setopt"));
        }
        if st.depth > 0 {
            return Err(busy("setopt"));
        }
        let is_int = value.is_instance_of::<pyo3::types::PyInt>();
        let is_list = value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>();
        let wrong_kind = || {
            PyTypeError::new_err(if is_int {
                "integers are not supported for this option"
            } else if value.is_none() {
                "unsetting is not supported for this option"
            } else if is_list {
                "lists/tuples are not supported for this option"
            } else if value.is_callable() {
                "callables are not supported for this option"
            } else {
                "invalid arguments to setopt"
            })
        };
        match option {
            mopt::SOCKETFUNCTION | mopt::TIMERFUNCTION | mopt::NOTIFYFUNCTION => {
                let f = if value.is_none() {
                    None
                } else if value.is_callable() {
                    Some(value.clone().unbind())
                } else if is_int || is_list {
                    return Err(wrong_kind());
                } else {
                    return Err(convert::invalid_setopt());
                };
                match option {
                    mopt::SOCKETFUNCTION => st.socket_cb = f,
                    mopt::TIMERFUNCTION => st.timer_cb = f,
                    _ => st.notify_cb = f,
                }
            }
            // pycurl sets these itself (to the CurlMulti) and refuses every value.
            mopt::SOCKETDATA | mopt::TIMERDATA => return Err(wrong_kind()),
            mopt::PIPELINING
            | mopt::MAX_HOST_CONNECTIONS
            | mopt::MAX_PIPELINE_LENGTH
            | mopt::MAX_TOTAL_CONNECTIONS
            | mopt::MAX_CONCURRENT_STREAMS
            | mopt::NETWORK_CHANGED
            | mopt::CONTENT_LENGTH_PENALTY_SIZE
            | mopt::CHUNK_LENGTH_PENALTY_SIZE
            | mopt::MAXCONNECTS => {
                if value.is_none() {
                    return Err(PyTypeError::new_err("unsetting is not supported for this option"));
                }
                if !is_int {
                    return Err(convert::invalid_setopt());
                }
                let n: i64 = value.extract()?;
                let m = st.multi.as_mut().unwrap();
                match option {
                    mopt::MAXCONNECTS => m.set_max_idle(if n <= 0 { 64 } else { n as usize }),
                    mopt::MAX_TOTAL_CONNECTIONS => m.set_limits(Some(n.max(0) as usize), None),
                    mopt::MAX_HOST_CONNECTIONS => m.set_limits(None, Some(n.max(0) as usize)),
                    // CURLPIPE_MULTIPLEX (2): h2 streams share a connection.
                    mopt::PIPELINING => m.sh.pool.borrow_mut().multiplex = n & 2 != 0,
                    mopt::MAX_CONCURRENT_STREAMS => {
                        m.sh.pool.borrow_mut().max_streams = if n < 1 { 100 } else { n as usize }
                    }
                    _ => {}
                }
            }
            mopt::PIPELINING_SITE_BL | mopt::PIPELINING_SERVER_BL => {
                if !value.is_none() {
                    if is_int {
                        return Err(wrong_kind());
                    }
                    if !is_list {
                        return Err(convert::invalid_setopt());
                    }
                    let strings = value.try_iter()?.all(|i| {
                        i.is_ok_and(|i| {
                            i.is_instance_of::<pyo3::types::PyString>() || i.is_instance_of::<pyo3::types::PyBytes>()
                        })
                    });
                    if !strings {
                        return Err(msg_err("list/tuple items must be strings"));
                    }
                    convert::string_list(value)?;
                }
            }
            _ => return Err(convert::invalid_setopt()),
        }
        let _ = py;
        Ok(())
    }

    #[pyo3(signature = (*args))]
    fn assign(&self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        convert::arity("assign", args, 2)?;
        let sock_fd = socket_arg(&args.get_item(0)?)?;
        let obj: PyObject = args.get_item(1)?.unbind();
        let mut st = self.st.borrow_mut();
        let Some(m) = st.multi.as_ref() else { return Err(missing(&st, "assign")) };
        if !m.knows_socket(sock_fd as Fd) && st.current_fd != Some(sock_fd as Fd) {
            return Err(code_err(mcode::BAD_SOCKET, "assign failed"));
        }
        Python::with_gil(|py| {
            if obj.is_none(py) {
                st.assigned.remove(&(sock_fd as Fd));
            } else {
                st.assigned.insert(sock_fd as Fd, obj);
            }
        });
        Ok(())
    }

    #[pyo3(signature = (*args))]
    fn unassign(&self, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        convert::arity("unassign", args, 1)?;
        let sock_fd = socket_arg(&args.get_item(0)?)?;
        let mut st = self.st.borrow_mut();
        let Some(m) = st.multi.as_ref() else { return Err(missing(&st, "unassign")) };
        if !m.knows_socket(sock_fd as Fd) && st.current_fd != Some(sock_fd as Fd) {
            return Err(code_err(mcode::BAD_SOCKET, "unassign failed"));
        }
        st.assigned.remove(&(sock_fd as Fd));
        Ok(())
    }

    #[pyo3(signature = (*notifications))]
    fn notify_enable(&self, notifications: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.notify_change("notify_enable", notifications, true)
    }

    #[pyo3(signature = (*notifications))]
    fn notify_disable(&self, notifications: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.notify_change("notify_disable", notifications, false)
    }

    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.borrow();
        if this.st.borrow().depth > 0 {
            return Err(msg_err("cannot invoke close() - multi_perform() is currently running"));
        }
        let (handles, close_handles) = {
            let mut st = this.st.borrow_mut();
            if st.multi.is_none() {
                return Ok(());
            }
            (std::mem::take(&mut st.handles), st.close_handles)
        };
        for (_, h) in handles {
            let c = h.bind(py).borrow();
            if let Some(m) = this.st.borrow_mut().multi.as_mut() {
                if let Some(r) = &c.st.borrow().multi {
                    m.remove(r.key);
                }
            }
            c.st.borrow_mut().multi = None;
            if close_handles {
                c.do_close(py);
            }
        }
        PyCurlMulti::deliver(slf);
        let interrupt = this.take_interrupt();
        let mut st = this.st.borrow_mut();
        st.multi = None;
        st.assigned.clear();
        st.socket_cb = None;
        st.timer_cb = None;
        st.notify_cb = None;
        drop(st);
        // close() goes on regardless, as pycurl's does: the interrupt is reported as unraisable.
        if let Some(e) = interrupt {
            e.write_unraisable(py, None);
        }
        Ok(())
    }

    #[getter]
    fn closed(&self) -> bool {
        self.st.borrow().multi.is_none()
    }

    fn __contains__(slf: &Bound<'_, Self>, curl: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(c) = curl.downcast::<PyCurl>() else {
            return Err(PyTypeError::new_err("__contains__ expects a Curl object"));
        };
        let c = c.borrow();
        let st = c.st.borrow();
        Ok(matches!(st.attached(slf.py()), Some((m, _)) if m.is(slf)))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        slf: &Bound<'_, Self>,
        _a: &Bound<'_, PyAny>,
        _b: &Bound<'_, PyAny>,
        _c: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        PyCurlMulti::close(slf)
    }

    fn __setattr__(slf: &Bound<'_, Self>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        super::curl::set_instance_attr(slf.as_any(), name, value)
    }

    fn __delattr__(slf: &Bound<'_, Self>, name: &str) -> PyResult<()> {
        super::curl::del_instance_attr(slf.as_any(), name)
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<PyObject> {
        super::curl::constant_attr(py, name, constants::multi_attr(name))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        super::instdict::MULTI.traverse(self, &visit)?;
        if let Some(st) = self.st.try_borrow_mut() {
            for h in st.handles.values() {
                visit.call(h)?;
            }
            for o in [&st.socket_cb, &st.timer_cb, &st.notify_cb].into_iter().flatten() {
                visit.call(o)?;
            }
            for o in st.assigned.values() {
                visit.call(o)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        super::instdict::MULTI.clear(self);
        if let Some(mut st) = self.st.try_borrow_mut() {
            st.handles.clear();
            st.socket_cb = None;
            st.timer_cb = None;
            st.notify_cb = None;
            st.assigned.clear();
        }
    }
}

/// A socket argument: a C int that is an fd or -1 (SOCKET_TIMEOUT / SOCKET_BAD).
fn socket_arg(v: &Bound<'_, PyAny>) -> PyResult<i64> {
    let fd = convert::c_int(v)? as i64;
    if fd < -1 {
        return Err(pyo3::exceptions::PyOverflowError::new_err("socket value is out of range"));
    }
    Ok(fd)
}

/// The single Curl argument of add_handle/remove_handle, with CPython's "O!" wording.
fn curl_arg<'py>(name: &str, args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyCurl>> {
    convert::arity(name, args, 1)?;
    let a = args.get_item(0)?;
    a.downcast_into::<PyCurl>().map_err(|e| {
        let v = e.into_inner();
        PyTypeError::new_err(format!("{name}() argument 1 must be pycurl.Curl, not {}", convert::type_name(&v)))
    })
}
