//! `pycurl.Curl`: the easy handle. Options go into the engine's `Options`; perform() runs the
//! transfer on this handle's private multi (kept across performs so connections are reused), waiting
//! with the GIL released.

use std::rc::Rc;
use std::time::Duration;

use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::engine::easy::*;
use crate::engine::error::{code, Error};
use crate::engine::multi::{perform_blocking, BlockingLoop, Multi};
use crate::engine::resolve::IpResolve;

use super::callbacks::PyCallbacks;
use super::constants;
use super::convert;
use super::errors::{code_err, curl_err, msg_err};
use super::gil::GilCell;
use super::info_table::info;
use super::link::{MultiLink, MultiRef};
use super::option_table::opt;

const CA_CERTS_TYPE: &str =
    "set_ca_certs argument must be a byte string or a Unicode string with ASCII code points only";

pub struct Private {
    pub multi: Multi,
    pub lp: BlockingLoop,
}

pub struct State {
    /// None once closed.
    pub easy: Option<Rc<EasyShared>>,
    pub cbs: Rc<PyCallbacks>,
    pub private: Option<Box<Private>>,
    pub performing: bool,
    /// The thread running perform() while `performing`.
    pub performer: Option<std::thread::ThreadId>,
    /// The CurlMulti this handle is attached to.
    pub multi: Option<MultiRef>,
    /// libcurl's error buffer: the first error message since the last perform started.
    pub errbuf: String,
    /// After reset() pycurl's handle has no error buffer until the next perform: setopt errors then
    /// carry libcurl's generic text and errstr() stays empty.
    pub errbuf_detached: bool,
    /// libcurl writes only the first error since a transfer started; pycurl's perform() empties the
    /// buffer, so a refused perform() leaves it empty yet libcurl still counts an error as reported.
    pub errbuf_reported: bool,
    /// MIMEPOST's CurlMime, read again when a transfer starts (libcurl reads the tree then).
    pub mimepost: Option<Py<super::mime::PyCurlMime>>,
    /// MAXCONNECTS, for the private multi of perform() (libcurl's easy connection cache size).
    pub max_connects: Option<usize>,
    /// The CurlShare set with setopt(SHARE, ...).
    pub share: Option<Py<super::share::PyCurlShare>>,
    /// HTTPPOST's FORM_BUFFERPTR bytes objects, kept alive as pycurl keeps them (only bytes: no cycles).
    pub form_pins: Option<Py<PyTuple>>,
    /// CURLU's CurlUrl, read again when a transfer starts (libcurl reads the handle then).
    pub curlu: Option<Py<super::url::PyCurlUrl>>,
}

impl State {
    /// The live CurlMulti this handle is attached to, with the transfer's key there.
    pub fn attached<'py>(&self, py: Python<'py>) -> Option<(Bound<'py, PyAny>, u64)> {
        let r = self.multi.as_ref()?;
        let w = r.weak.bind(py);
        // add_handle stores a plain weakref: read it directly rather than calling it through Python.
        let m = match w.downcast::<pyo3::types::PyWeakrefReference>() {
            Ok(w) => w.upgrade()?,
            Err(_) => w.call0().ok().filter(|m| !m.is_none())?,
        };
        Some((m, r.key))
    }

    /// The live CurlMulti this handle is attached to, with what the handle may ask of it.
    pub fn attached_link<'py>(&self, py: Python<'py>) -> Option<(Bound<'py, PyAny>, &'static dyn MultiLink)> {
        let link = self.multi.as_ref()?.link;
        self.attached(py).map(|(m, _)| (m, link))
    }
}

#[pyclass(name = "Curl", module = "pycurl", subclass, dict, weakref)]
pub struct PyCurl {
    pub st: GilCell<State>,
}

pub fn default_user_agent() -> String {
    super::version_string()
}

fn fresh_options() -> Options {
    // One copy of the default text for all handles (libcurl keeps one per handle: 144 bytes each).
    static UA: std::sync::OnceLock<std::sync::Arc<str>> = std::sync::OnceLock::new();
    Options { user_agent: Some(UA.get_or_init(|| default_user_agent().into()).clone()), ..Options::default() }
}

/// A constant read through a handle: the module's own object, so `c.URL is pycurl.URL` holds.
pub fn constant_attr(py: Python<'_>, name: &str, value: Option<i64>) -> PyResult<PyObject> {
    let value =
        value.ok_or_else(|| PyAttributeError::new_err(format!("trying to obtain a non-existing attribute: {name}")))?;
    match py.import("pycurl._pycurl").and_then(|m| m.getattr(name)) {
        Ok(o) => Ok(o.unbind()),
        Err(_) => Ok(value.into_pyobject(py)?.into_any().unbind()),
    }
}

fn closed_err(what: &str) -> PyErr {
    msg_err(format!("cannot invoke {what}() - no curl handle"))
}

/// A feature pycurl-rs does not build (yet): libcurl's own answer for a feature left out of a build.
/// libcurl's check of a PROXYAUTH mask: after dropping the methods this build lacks (Negotiate,
/// NTLM_WB), some method bit below CURLAUTH_ONLY must remain; 0 (none) is always accepted.
fn proxy_auth_ok(v: u64) -> bool {
    const MISSING: u64 = (1 << 2) | (1 << 5);
    v == 0 || (v & !MISSING) & ((1 << 31) - 1) != 0
}

/// The option a PROXY_* TLS option mirrors for the proxy's own TLS.
fn proxy_tls_twin(option: i32) -> Option<i32> {
    Some(match option {
        opt::PROXY_CAINFO => opt::CAINFO,
        opt::PROXY_CAPATH => opt::CAPATH,
        opt::PROXY_CAINFO_BLOB => opt::CAINFO_BLOB,
        opt::PROXY_SSL_VERIFYPEER => opt::SSL_VERIFYPEER,
        opt::PROXY_SSL_VERIFYHOST => opt::SSL_VERIFYHOST,
        opt::PROXY_SSLVERSION => opt::SSLVERSION,
        opt::PROXY_SSL_OPTIONS => opt::SSL_OPTIONS,
        opt::PROXY_SSLCERT => opt::SSLCERT,
        opt::PROXY_SSLCERT_BLOB => opt::SSLCERT_BLOB,
        opt::PROXY_SSLCERTTYPE => opt::SSLCERTTYPE,
        opt::PROXY_SSLKEY => opt::SSLKEY,
        opt::PROXY_SSLKEY_BLOB => opt::SSLKEY_BLOB,
        opt::PROXY_SSLKEYTYPE => opt::SSLKEYTYPE,
        opt::PROXY_KEYPASSWD => opt::KEYPASSWD,
        opt::PROXY_SSL_CIPHER_LIST => opt::SSL_CIPHER_LIST,
        opt::PROXY_TLS13_CIPHERS => opt::TLS13_CIPHERS,
        opt::PROXY_PINNEDPUBLICKEY => opt::PINNEDPUBLICKEY,
        opt::PROXY_CRLFILE => opt::CRLFILE,
        opt::PROXY_ISSUERCERT => opt::ISSUERCERT,
        opt::PROXY_ISSUERCERT_BLOB => opt::ISSUERCERT_BLOB,
        _ => return None,
    })
}

/// CURLOPT_TFTP_NO_OPTIONS: pycurl has no constant for it.
const TFTP_NO_OPTIONS: i32 = 242;

/// CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS: pycurl accepts it by number only (no constant).
const HAPPY_EYEBALLS_TIMEOUT_MS: i32 = 271;

fn not_built(_what: &str) -> PyErr {
    code_err(code::NOT_BUILT_IN, crate::engine::strerror::easy_strerror(code::NOT_BUILT_IN as i64))
}

/// Options whose None/unsetopt pycurl refuses (besides the ones handled with text_required!).
const NO_UNSET: &[i32] = &[opt::COOKIEFILE, opt::NOPROXY, opt::COPYPOSTFIELDS];

/// Unbuilt options in the string range that take a list of strings, as pycurl types them.
const UNBUILT_LISTS: &[i32] = &[10028, 10039, 10093];

/// Options libcurl's OpenSSL build answers with "not built in" whatever the value, the "off" one
/// included: KRB4LEVEL, TLSAUTH_* and PROXY_TLSAUTH_* (no SRP), ECH, SSL_FALSESTART.
const NEVER_BUILT: &[i32] = &[10063, 10204, 10205, 10206, 10251, 10252, 10253, 10325, 233];

impl PyCurl {
    pub fn new_state() -> State {
        let easy = EasyShared::new();
        *easy.opts.borrow_mut() = Rc::new(fresh_options());
        State {
            easy: Some(easy),
            cbs: Rc::new(PyCallbacks::default()),
            private: None,
            max_connects: None,
            performing: false,
            performer: None,
            multi: None,
            errbuf: String::new(),
            errbuf_detached: false,
            errbuf_reported: false,
            mimepost: None,
            form_pins: None,
            share: None,
            curlu: None,
        }
    }

    /// setopt(SHARE, share) / setopt(SHARE, None), with pycurl's checks.
    fn set_share(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.borrow();
        let easy = this.easy("setopt")?;
        if value.is_none() {
            this.drop_share(py);
            return Ok(());
        }
        if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err("strings are not supported for this option"));
        } else if value.is_instance_of::<pyo3::types::PyInt>() {
            return Err(PyTypeError::new_err("integers are not supported for this option"));
        } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
            return Err(PyTypeError::new_err("lists are not supported for this option"));
        }
        if this.st.borrow().share.is_some() {
            return Err(msg_err("Curl object already sharing. Unshare first."));
        }
        let share = value.downcast::<super::share::PyCurlShare>().map_err(|_| convert::invalid_setopt())?;
        let inner = share.borrow().attach(py, slf)?;
        // libcurl drops the handle's own cookies for the share's jar
        if inner.holds(crate::engine::share::LOCK_DATA_COOKIE) {
            let mut own = easy.cookies.borrow_mut();
            if own.is_some() {
                *own = Some(Default::default());
            }
        }
        *easy.share.borrow_mut() = Some(inner);
        *easy.conn_cache.borrow_mut() = share.borrow().conn_cache();
        this.st.borrow_mut().share = Some(share.clone().unbind());
        Ok(())
    }

    /// Leaves the share (setopt(SHARE, None), close(), or the share's close()).
    pub fn drop_share(&self, py: Python<'_>) {
        let Some(share) = self.st.try_borrow_mut().and_then(|mut st| st.share.take()) else { return };
        share.borrow(py).detach(py, self);
        if let Some(easy) = self.st.borrow().easy.as_ref() {
            let inner = easy.share.borrow_mut().take();
            easy.conn_cache.borrow_mut().take();
            if inner.is_some_and(|s| s.holds(crate::engine::share::LOCK_DATA_COOKIE)) {
                let mut own = easy.cookies.borrow_mut();
                if own.is_some() {
                    *own = Some(Default::default());
                }
            }
        }
    }

    pub fn easy(&self, what: &str) -> PyResult<Rc<EasyShared>> {
        self.st.borrow().easy.clone().ok_or_else(|| closed_err(what))
    }

    /// The handle is usable by `what`: open, and not inside its own perform (easy or multi).
    fn ready(&self, py: Python<'_>, what: &str) -> PyResult<Rc<EasyShared>> {
        let easy = self.easy(what)?;
        let st = self.st.borrow();
        let in_multi = st.attached_link(py).is_some_and(|(m, link)| link.running_callbacks(&m));
        if st.performing || in_multi {
            return Err(msg_err(format!("cannot invoke {what}() - perform() is currently running")));
        }
        Ok(easy)
    }

    /// ws_send/ws_close may run inside the transfer's own callbacks, never from another thread.
    fn ws_sender(&self, py: Python<'_>, what: &str) -> PyResult<Rc<EasyShared>> {
        let easy = self.easy(what)?;
        if self.performing_elsewhere(py) {
            return Err(msg_err(format!(
                "cannot invoke {what}() - perform() is currently running outside WRITEFUNCTION callback"
            )));
        }
        Ok(easy)
    }

    /// A perform() of this handle, or of its multi, runs on another thread (pause() is refused then).
    fn performing_elsewhere(&self, py: Python<'_>) -> bool {
        let st = self.st.borrow();
        if st.performing {
            return st.performer != Some(std::thread::current().id());
        }
        st.attached_link(py).is_some_and(|(m, link)| link.driven_elsewhere(&m))
    }

    /// Installs the callbacks into the engine handle before a transfer starts.
    pub fn prepare(&self) -> PyResult<Rc<EasyShared>> {
        let st = self.st.borrow();
        let easy = st.easy.clone().ok_or_else(|| closed_err("perform"))?;
        {
            // Installed once and kept across transfers (reset() and duphandle() make new ones).
            let mut installed = easy.callbacks.borrow_mut();
            let same = installed.as_ref().is_some_and(|c| std::ptr::addr_eq(Rc::as_ptr(c), Rc::as_ptr(&st.cbs)));
            if !same {
                let cbs: Rc<dyn Callbacks> = st.cbs.clone();
                *installed = Some(cbs);
            }
        }
        *st.cbs.propagate.borrow_mut() = None;
        let cbs = st.cbs.clone();
        let (mime, curlu) = if st.mimepost.is_some() || st.curlu.is_some() {
            Python::with_gil(|py| {
                (
                    st.mimepost.as_ref().map(|m| m.clone_ref(py)),
                    st.curlu.as_ref().map(|u| u.borrow(py).url_for_transfer()),
                )
            })
        } else {
            (None, None)
        };
        drop(st);
        if let Some(url) = curlu {
            easy.opts_mut().url = url;
        }
        if let Some(m) = mime {
            if easy.opts.borrow().form.is_some() {
                let form = Python::with_gil(|py| super::mime::mimepost_at_perform(py, &m));
                easy.opts_mut().form = Some(form);
            }
        }
        super::hsts::before_transfer(&easy, &cbs)?;
        Ok(easy)
    }

    /// Records a finished transfer's error in the error buffer and builds the exception to raise.
    pub fn finish(&self, r: Result<(), Error>) -> PyResult<()> {
        let propagate = self.st.borrow().cbs.propagate.borrow_mut().take();
        let mut st = self.st.borrow_mut();
        match r {
            Ok(()) => {
                if let Some(e) = propagate {
                    return Err(e);
                }
                Ok(())
            }
            Err(e) => {
                if st.errbuf.is_empty() {
                    st.errbuf = e.msg.clone();
                }
                if let Some(p) = propagate {
                    return Err(p);
                }
                // libcurl left no message of its own: pycurl raises the code's text, errstr() stays "".
                if st.errbuf.is_empty() {
                    return Err(code_err(e.code, crate::engine::strerror::easy_strerror(e.code as i64)));
                }
                Err(curl_err(&Error::new(e.code, st.errbuf.clone())))
            }
        }
    }

    fn setopt_err(&self, code: i32, msg: String) -> PyErr {
        let mut st = self.st.borrow_mut();
        if st.errbuf_detached {
            return code_err(code, crate::engine::strerror::easy_strerror(code as i64));
        }
        if st.errbuf.is_empty() {
            st.errbuf = msg;
        }
        code_err(code, st.errbuf.clone())
    }

    fn bad_arg(&self, option: i32) -> PyErr {
        self.setopt_err(code::BAD_FUNCTION_ARGUMENT, format!("setopt 0x{option:x} got bad argument"))
    }

    fn apply(&self, py: Python<'_>, option: i32, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let easy = self.easy("setopt")?;
        let unset = value.is_none();
        let cbs = self.st.borrow().cbs.clone();
        let option = long_form_twin(option);
        let name = constants::option_name(option);
        let Some(name) = name else {
            return self.unnamed(name_of_unnamed(option), option, value);
        };
        let no_unset = || PyTypeError::new_err("unsetopt() is not supported for this option");
        // A PROXY_* TLS option is its plain twin applied to the proxy's TLS options.
        if let Some(base) = proxy_tls_twin(option) {
            let swap = || {
                let mut o = easy.opts_mut();
                let o = &mut *o;
                std::mem::swap(&mut o.tls, &mut o.proxy.tls);
            };
            swap();
            let r = self.apply(py, base, value);
            swap();
            return r;
        }

        let mut o = easy.opts_mut();
        macro_rules! long {
            () => {{
                if unset {
                    return Err(no_unset());
                }
                convert::long(value)?
            }};
        }
        // libcurl refuses a negative value for sizes, speeds and times with BAD_FUNCTION_ARGUMENT.
        macro_rules! nonneg {
            () => {{
                let v = long!();
                if v < 0 {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                v
            }};
        }
        macro_rules! flag {
            ($field:ident) => {{
                o.$field = long!() != 0;
            }};
        }
        macro_rules! text {
            () => {
                if unset {
                    None
                } else {
                    Some(convert::string(value)?)
                }
            };
        }
        macro_rules! text_required {
            () => {{
                if unset {
                    return Err(no_unset());
                }
                Some(convert::string(value)?)
            }};
        }
        macro_rules! secs {
            ($field:ident, $scale:expr) => {{
                let v = long!();
                if v < 0 {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.$field = if v == 0 { None } else { Some(Duration::from_millis((v as u64).saturating_mul($scale))) };
            }};
        }
        match option {
            opt::URL => o.url = text_required!(),
            // read again by prepare() at each transfer, as libcurl reads the handle then
            opt::CURLU => {
                o.url = super::url::curlu_option(value)?;
                drop(o);
                self.st.borrow_mut().curlu = if unset {
                    None
                } else {
                    value.downcast::<super::url::PyCurlUrl>().ok().map(|u| u.clone().unbind())
                };
            }
            opt::MIMEPOST | opt::HTTPPOST => {
                drop(o);
                let (form, keep, pins) = super::mime::form_option(py, self, option, value)?;
                let mut st = self.st.borrow_mut();
                st.mimepost = keep;
                if let Some(pins) = pins {
                    st.form_pins = if pins.is_empty() { None } else { Some(PyTuple::new(py, pins)?.unbind()) };
                }
                drop(st);
                easy.opts_mut().set_form(form);
            }
            opt::WRITEFUNCTION => {
                let f = if unset { None } else { Some(convert::callable(value)?) };
                let mut s = cbs.slots.borrow_mut();
                s.write = f;
                s.write_mv = false;
            }
            opt::WRITEDATA => {
                if unset {
                    return Err(no_unset());
                }
                let w = convert::file_method(value, "write")?;
                let mut s = cbs.slots.borrow_mut();
                s.write = Some(w.unbind());
                s.write_mv = false;
            }
            opt::HEADERFUNCTION => {
                let f = if unset { None } else { Some(convert::callable(value)?) };
                let mut s = cbs.slots.borrow_mut();
                s.header = f;
                s.header_mv = false;
            }
            opt::WRITEHEADER => {
                cbs.slots.borrow_mut().header_mv = false;
                if unset {
                    cbs.slots.borrow_mut().header = None;
                    return Ok(());
                }
                let w = convert::file_method(value, "write")?;
                cbs.slots.borrow_mut().header = Some(w.unbind());
            }
            opt::READFUNCTION => {
                cbs.slots.borrow_mut().read = if unset { None } else { Some(convert::callable(value)?) };
            }
            opt::READDATA => {
                if unset {
                    return Err(no_unset());
                }
                let r = convert::file_method(value, "read")?;
                cbs.slots.borrow_mut().read = Some(r.unbind());
            }
            opt::SEEKFUNCTION => {
                cbs.slots.borrow_mut().more.seek = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::XFERINFOFUNCTION => {
                cbs.slots.borrow_mut().xferinfo = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::PROGRESSFUNCTION => {
                let f = if unset { None } else { Some(convert::callable(value)?) };
                if f.is_some() {
                    let w = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
                    PyErr::warn(py, &w, c"PROGRESSFUNCTION is deprecated; use XFERINFOFUNCTION", 1)?;
                }
                cbs.slots.borrow_mut().progress = f;
            }
            opt::DEBUGFUNCTION => {
                cbs.slots.borrow_mut().debug = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::OPENSOCKETFUNCTION => {
                cbs.slots.borrow_mut().more.opensocket = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::SOCKOPTFUNCTION => {
                cbs.slots.borrow_mut().more.sockopt = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::CLOSESOCKETFUNCTION => {
                cbs.slots.borrow_mut().more.closesocket = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::PREREQFUNCTION => {
                cbs.slots.borrow_mut().more.prereq = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::SSH_KEYFUNCTION => {
                cbs.slots.borrow_mut().more.ssh_key = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::RESOLVER_START_FUNCTION => {
                cbs.slots.borrow_mut().more.resolver_start = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::DOH_URL => o.route.doh_url = text_required!(),
            opt::IOCTLFUNCTION => {
                let f = if unset { None } else { Some(convert::callable(value)?) };
                if f.is_some() {
                    let w = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
                    PyErr::warn(py, &w, c"IOCTLFUNCTION is deprecated; use SEEKFUNCTION", 1)?;
                }
                cbs.slots.borrow_mut().more.ioctl = f;
            }
            // pycurl passes no user data to these callbacks and refuses every value.
            opt::TRAILERDATA | opt::RESOLVER_START_DATA | opt::FNMATCH_DATA => {
                return Err(if unset { no_unset() } else { convert::kind_err(value) });
            }
            opt::TRAILERFUNCTION => {
                cbs.slots.borrow_mut().more.trailer = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::NOPROGRESS => flag!(noprogress),
            opt::VERBOSE => flag!(verbose),
            opt::HEADER => flag!(want_header_in_body),
            opt::HTTPHEADER => {
                // pycurl quirk: an empty list leaves the previous list in place.
                let l = if unset { Vec::new() } else { convert::string_list(value)? };
                if unset || !l.is_empty() {
                    o.headers = l;
                }
            }
            opt::CUSTOMREQUEST => o.set_custom_request(text!()),
            // The methods' rules (which option resets which) are the engine's: engine::setopt.
            opt::NOBODY => o.set_nobody(long!() != 0),
            opt::HTTPGET => o.set_httpget(long!() != 0),
            opt::POST => o.set_post(long!() != 0),
            opt::POSTFIELDS | opt::COPYPOSTFIELDS => {
                if unset {
                    return Err(no_unset());
                } else {
                    let b = convert::bytes(value)?;
                    if option == opt::COPYPOSTFIELDS && b.contains(&0) {
                        return Err(PyValueError::new_err("embedded null byte"));
                    }
                    o.set_postfields(b.into());
                }
            }
            opt::POSTFIELDSIZE => {
                // -1 means "use strlen" (the default); anything below it is refused.
                let v = long!();
                if v < -1 {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.post_size = v;
            }
            opt::UPLOAD | opt::PUT => o.set_upload(long!() != 0),
            opt::INFILESIZE => {
                let v = long!();
                if v < -1 {
                    drop(o);
                    return Err(self.bad_arg(30115));
                }
                o.in_size = v;
            }
            opt::FOLLOWLOCATION => {
                let v = long!();
                if !(0..=3).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.follow = v != 0;
            }
            opt::MAXREDIRS => {
                let v = long!();
                if v < -1 {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.max_redirs = v;
            }
            opt::POSTREDIR => {
                let v = long!();
                if v < 0 {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.post_redir = v as u32;
            }
            opt::AUTOREFERER => flag!(auto_referer),
            opt::UNRESTRICTED_AUTH => flag!(unrestricted_auth),
            opt::REFERER => o.referer = text_required!(),
            opt::USERAGENT => o.user_agent = text_required!().map(Into::into),
            opt::ACCEPT_ENCODING => o.accept_encoding = text!(),
            opt::HTTP_CONTENT_DECODING => flag!(content_decoding),
            opt::HTTP_TRANSFER_DECODING => flag!(transfer_decoding),
            opt::CRLF => flag!(crlf),
            opt::TRANSFER_ENCODING => flag!(transfer_encoding),
            opt::RANGE => o.range = text!(),
            opt::RESUME_FROM => {
                let v = long!();
                // -1: an FTP upload asks the server how much it has (SIZE).
                if v < -1 {
                    drop(o);
                    // pycurl sets the _LARGE variant, so libcurl names that one.
                    return Err(self.bad_arg(30116));
                }
                o.resume_from = v;
            }
            opt::TIMEOUT => secs!(timeout, 1000),
            opt::TIMEOUT_MS => secs!(timeout, 1),
            opt::CONNECTTIMEOUT => secs!(connect_timeout, 1000),
            opt::CONNECTTIMEOUT_MS => secs!(connect_timeout, 1),
            HAPPY_EYEBALLS_TIMEOUT_MS => o.happy_eyeballs = std::time::Duration::from_millis(nonneg!() as u64),
            opt::LOW_SPEED_LIMIT => o.low_speed_limit = nonneg!(),
            opt::LOW_SPEED_TIME => o.low_speed_time = nonneg!(),
            opt::FAILONERROR => flag!(fail_on_error),
            opt::USERPWD => match text!() {
                None => {
                    o.username = None;
                    o.password = None;
                }
                Some(s) => match s.split_once(':') {
                    Some((u, p)) => {
                        o.username = Some(u.to_string());
                        o.password = Some(p.to_string());
                    }
                    None => {
                        o.username = Some(s);
                        o.password = None;
                    }
                },
            },
            opt::USERNAME => o.username = text!(),
            opt::PASSWORD => o.password = text!(),
            opt::HTTPAUTH => {
                let v = long!() as u64;
                let built = AUTH_BASIC | AUTH_DIGEST | crate::engine::auth::NTLM | AUTH_BEARER | AUTH_AWS_SIGV4;
                if v & !(built | (1 << 4) | (1u64 << 31)) != 0 && v != 0xffff_ffff_ffff_ffef && v != !0 {
                    // Methods we can't do (Negotiate): refuse rather than ignore.
                    if v & built == 0 {
                        drop(o);
                        return Err(not_built("this HTTPAUTH method"));
                    }
                }
                o.http_auth = v;
            }
            opt::COOKIE => o.cookie = text!(),
            opt::COOKIEFILE => {
                let f = text_required!().unwrap();
                drop(o);
                easy.enable_cookies();
                easy.opts_mut().cookie_files.push(f.into());
                return Ok(());
            }
            opt::COOKIEJAR => {
                let f = text!();
                drop(o);
                if f.is_some() {
                    easy.enable_cookies();
                }
                *easy.cookie_jar_path.borrow_mut() = f.map(Into::into);
                return Ok(());
            }
            opt::COOKIESESSION => flag!(cookie_session),
            opt::COOKIELIST => {
                let line = text_required!().unwrap();
                drop(o);
                use crate::engine::cookies::CookieListCmd;
                let now = crate::engine::cookies::unix_now();
                if line == "FLUSH" {
                    easy.write_cookie_jar();
                    return Ok(());
                }
                if line == "ALL" || line == "SESS" {
                    easy.with_cookies(|j| {
                        if let Some(j) = j.as_mut() {
                            j.cookielist(&line, now);
                        }
                    });
                    return Ok(());
                }
                easy.enable_cookies();
                let files = easy.opts.borrow().cookie_files.clone();
                easy.with_cookies(|jar| {
                    let Some(jar) = jar.as_mut() else { return };
                    if let CookieListCmd::Reload = jar.cookielist(&line, now) {
                        for f in files.iter().filter(|f| !f.as_os_str().is_empty()) {
                            jar.load_file_opts(f, now, false);
                        }
                    }
                });
                return Ok(());
            }
            opt::RESOLVE => {
                let l = if unset { Vec::new() } else { convert::string_list(value)? };
                if unset || !l.is_empty() {
                    o.route.resolve = l;
                }
            }
            opt::CONNECT_TO => o.route.connect_to = if unset { Vec::new() } else { convert::string_list(value)? },
            opt::IPRESOLVE => {
                o.ip_resolve = match long!() {
                    0 => IpResolve::Whatever,
                    1 => IpResolve::V4,
                    2 => IpResolve::V6,
                    _ => {
                        drop(o);
                        return Err(self.bad_arg(option));
                    }
                }
            }
            opt::PORT => {
                let v = long!();
                if !(0..=65535).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.port = v as u16;
            }
            opt::TCP_NODELAY => flag!(tcp_nodelay),
            opt::TCP_KEEPALIVE => flag!(tcp_keepalive),
            opt::TCP_KEEPIDLE => o.tcp_keepidle = nonneg!(),
            opt::TCP_KEEPINTVL => o.tcp_keepintvl = nonneg!(),
            opt::FRESH_CONNECT => flag!(fresh_connect),
            opt::PIPEWAIT => flag!(pipewait),
            opt::FORBID_REUSE => flag!(forbid_reuse),
            opt::MAXFILESIZE => o.max_filesize = nonneg!(),
            // libcurl raises sizes below 1 KiB (0 included) to 1 KiB and caps them at 10 MiB.
            opt::BUFFERSIZE => o.buffer_size = nonneg!().clamp(1024, 10 * 1024 * 1024) as usize,
            opt::HTTP_VERSION => {
                o.http_version = match long!() {
                    0 => HttpVersion::Default,
                    1 => HttpVersion::V1_0,
                    2 => HttpVersion::V1_1,
                    3 => HttpVersion::V2,
                    4 => HttpVersion::V2Tls,
                    5 => HttpVersion::V2Prior,
                    30 | 31 => {
                        drop(o);
                        return Err(not_built("this HTTP version"));
                    }
                    v if v < 0 => {
                        drop(o);
                        return Err(self.bad_arg(option));
                    }
                    _ => {
                        drop(o);
                        return Err(code_err(code::UNSUPPORTED_PROTOCOL, "Unsupported protocol"));
                    }
                }
            }
            opt::PROTOCOLS => o.protocols = long!() as u64,
            opt::REDIR_PROTOCOLS => o.redir_protocols = long!() as u64,
            opt::SSL_SESSIONID_CACHE => o.tls.session_cache = long!() != 0,
            opt::NOSIGNAL | opt::DNS_USE_GLOBAL_CACHE | opt::SSL_ENABLE_ALPN | opt::TCP_FASTOPEN => {
                long!();
            }
            opt::DNS_CACHE_TIMEOUT => {
                let v = long!();
                // -1 caches forever; anything below is refused.
                if v < -1 {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.dns_cache_timeout = if v < 0 { None } else { Some(Duration::from_secs(v as u64)) };
            }
            opt::MAXCONNECTS => {
                let v = nonneg!();
                drop(o);
                let mut st = self.st.borrow_mut();
                // Kept for the private multi perform() makes later, and applied to one made already.
                st.max_connects = Some(v.max(1) as usize);
                if let Some(p) = st.private.as_mut() {
                    p.multi.set_max_idle(v.max(1) as usize);
                }
                return Ok(());
            }
            opt::EXPECT_100_TIMEOUT_MS => o.expect_100_timeout = Duration::from_millis(nonneg!() as u64),
            opt::IGNORE_CONTENT_LENGTH => flag!(ignore_content_length),
            opt::PATH_AS_IS => flag!(path_as_is),
            opt::HTTP09_ALLOWED => flag!(http09_allowed),
            opt::DEFAULT_PROTOCOL => o.default_protocol = text_required!(),
            opt::MAXAGE_CONN => o.maxage_conn = Duration::from_secs(nonneg!() as u64),
            opt::MAXLIFETIME_CONN => {
                let v = nonneg!();
                o.maxlifetime_conn = if v <= 0 { None } else { Some(Duration::from_secs(v as u64)) };
            }
            opt::INTERFACE => o.route.interface = text_required!(),
            opt::LOCALPORT | opt::LOCALPORTRANGE => {
                // A port number, or a count of them: libcurl refuses what no port could be.
                let v = long!();
                if !(0..=65535).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                if option == opt::LOCALPORT {
                    o.route.local_port = v as u16;
                } else {
                    o.route.local_port_range = v.max(1) as u16;
                }
            }
            // TLS
            opt::SSL_VERIFYPEER => o.tls.verify_peer = long!() != 0,
            opt::SSL_VERIFYHOST => o.tls.verify_host = long!() != 0,
            opt::CAINFO => o.tls.ca_info = text!().map(Into::into),
            opt::CAPATH => o.tls.ca_path = text!().map(Into::into),
            opt::CAINFO_BLOB => o.tls.ca_blob = if unset { None } else { Some(convert::blob(value)?) },
            opt::SSLCERT => o.tls.cert = text_required!().map(Into::into),
            opt::SSLCERT_BLOB => o.tls.cert_blob = if unset { None } else { Some(convert::blob(value)?) },
            opt::SSLKEY => o.tls.key = text_required!().map(Into::into),
            opt::SSLKEY_BLOB => o.tls.key_blob = if unset { None } else { Some(convert::blob(value)?) },
            opt::KEYPASSWD => o.tls.key_passwd = text!(),
            opt::SSLCERTTYPE | opt::SSLKEYTYPE => {
                let t = text_required!().unwrap_or_default();
                // "ENG" needs an OpenSSL crypto engine; other names are judged at perform
                // time, as libcurl does.
                if t.eq_ignore_ascii_case("ENG") {
                    drop(o);
                    return Err(not_built(&format!("{name}=ENG")));
                }
                if option == opt::SSLCERTTYPE {
                    o.tls.cert_type = Some(t);
                } else {
                    o.tls.key_type = Some(t);
                }
            }
            opt::SSL_OPTIONS => o.tls.ssl_options = long!() as u32,
            opt::CRLFILE => o.tls.crl_file = text_required!().map(Into::into),
            opt::ISSUERCERT => o.tls.issuer_cert = text_required!().map(Into::into),
            opt::ISSUERCERT_BLOB => o.tls.issuer_blob = if unset { None } else { Some(convert::blob(value)?) },
            opt::SSL_EC_CURVES => o.tls.ec_curves = text!(),
            opt::HSTS_CTRL => {
                let v = long!();
                drop(o);
                super::hsts::set_ctrl(&easy, v);
                return Ok(());
            }
            opt::HSTS => {
                let f = text!();
                drop(o);
                super::hsts::set_file(&easy, f);
                return Ok(());
            }
            opt::HSTSREADFUNCTION => {
                cbs.slots.borrow_mut().more.hstsread = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::HSTSWRITEFUNCTION => {
                cbs.slots.borrow_mut().more.hstswrite = if unset { None } else { Some(convert::callable(value)?) }
            }
            // pycurl's HSTS callbacks take no data argument, and pycurl refuses every value here.
            opt::HSTSREADDATA | opt::HSTSWRITEDATA => {
                if unset {
                    return Err(no_unset());
                }
                return Err(match convert::callable(value) {
                    Ok(_) => PyTypeError::new_err("functions are not supported for this option"),
                    Err(e) => e,
                });
            }
            opt::SSL_SIGNATURE_ALGORITHMS => o.tls.sigalgs = text!(),
            opt::SSLVERSION => {
                let v = long!();
                let (min, max) = (v & 0xffff, v >> 16);
                if !(0..=7).contains(&min) || !(0..=7).contains(&max) || min == 2 || min == 3 {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.tls.version = v as u32;
            }
            opt::PINNEDPUBLICKEY => o.tls.pinned_pubkey = text_required!(),
            // 0-7 as libcurl takes them (HTTPS2 speaks HTTP/1.1 to the proxy, libcurl's fallback when
            // ALPN does not pick h2); libcurl answers 8 with "not built in" and the rest as bad.
            opt::PROXYTYPE => {
                let v = long!();
                if v == 8 {
                    drop(o);
                    return Err(not_built(name));
                }
                if !(0..=7).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.proxy.kind = v;
            }
            opt::PRE_PROXY => o.proxy.pre_proxy = text!(),
            opt::NOPROXY => o.proxy.noproxy = text_required!(),
            opt::PROXY => {
                o.proxy.proxy = text!();
            }
            opt::PROXYPORT => {
                let v = long!();
                if !(0..=65535).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.proxy.port = v as u16;
            }
            opt::HTTPPROXYTUNNEL => o.proxy.tunnel = long!() != 0,
            opt::PROXYUSERPWD => o.proxy.userpwd = text!(),
            opt::PROXYUSERNAME => o.proxy.username = text!(),
            opt::PROXYPASSWORD => o.proxy.password = text!(),
            opt::PROXYHEADER => {
                // As HTTPHEADER: an empty list leaves the previous list in place.
                let l = if unset { Vec::new() } else { convert::string_list(value)? };
                if unset || !l.is_empty() {
                    o.proxy.headers = l;
                }
            }
            opt::HEADEROPT => o.proxy.unified_headers = long!() & 1 == 0,
            opt::HAPROXYPROTOCOL => o.proxy.haproxy = long!() != 0,
            opt::SUPPRESS_CONNECT_HEADERS => o.proxy.suppress_connect_headers = long!() != 0,
            opt::HAPROXY_CLIENT_IP => o.proxy.haproxy_client_ip = text!(),
            opt::MAX_RECV_SPEED_LARGE => o.max_recv_speed = nonneg!(),
            opt::OPT_FILETIME => flag!(filetime),
            opt::TIMECONDITION => {
                let v = long!();
                if !(0..=3).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.time_condition = v as u8;
            }
            opt::TIMEVALUE | opt::TIMEVALUE_LARGE => o.time_value = long!(),
            opt::MAX_SEND_SPEED_LARGE => o.max_send_speed = nonneg!(),
            // Checked as libcurl checks it; Basic and Digest are built.
            opt::PROXYAUTH => {
                let v = long!() as u64;
                if !proxy_auth_ok(v) {
                    drop(o);
                    return Err(not_built("this PROXYAUTH method"));
                }
                o.proxy.auth = Some(v);
            }
            // Only protocols with a STARTTLS-style upgrade use it; for HTTP it does nothing, as in libcurl.
            opt::USE_SSL => {
                let v = long!();
                if !(0..=3).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                if v != o.ftp.use_ssl as i64 {
                    o.ftp.use_ssl = v as u8;
                }
            }
            opt::SSL_CIPHER_LIST => o.tls.cipher_list = text!(),
            opt::TLS13_CIPHERS => o.tls.tls13_ciphers = text!(),
            opt::OPT_CERTINFO => flag!(certinfo),
            opt::REQUEST_TARGET => o.request_target = text_required!(),
            // libcurl 8 accepts and ignores these: no RNG seed files, no NPN.
            opt::RANDOM_FILE | opt::EGDSOCKET => {
                if text!().is_some() {
                    let w = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
                    PyErr::warn(py, &w, c"setopt option is deprecated", 1)?;
                }
            }
            opt::SSL_ENABLE_NPN => {
                let _ = long!();
            }
            // No OpenSSL engine or provider can be loaded here: libcurl answers a name it cannot
            // load with 53, and "" clears the engine.
            opt::SSLENGINE => {
                if !text_required!().unwrap_or_default().is_empty() {
                    drop(o);
                    return Err(code_err(
                        code::SSL_ENGINE_NOTFOUND,
                        crate::engine::strerror::easy_strerror(code::SSL_ENGINE_NOTFOUND as i64),
                    ));
                }
            }
            // Making the loaded engine the default: with none loaded libcurl does nothing.
            opt::SSLENGINE_DEFAULT => {
                let _ = long!();
            }
            // Only a c-ares libcurl knows it; pycurl's libcurl answers "unknown option".
            opt::DNS_SERVERS => {
                let _ = text_required!();
                drop(o);
                return Err(code_err(
                    code::UNKNOWN_OPTION,
                    crate::engine::strerror::easy_strerror(code::UNKNOWN_OPTION as i64),
                ));
            }
            // pycurl takes no value for STDERR: each kind of value has its own TypeError.
            opt::STDERR => {
                drop(o);
                return Err(PyTypeError::new_err(if unset {
                    "unsetopt() is not supported for this option"
                } else if value.is_instance_of::<pyo3::types::PyInt>() {
                    "integers are not supported for this option"
                } else if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
                    "strings are not supported for this option"
                } else {
                    "invalid arguments to setopt"
                }));
            }
            opt::CONNECT_ONLY => {
                let v = long!();
                if !(0..=2).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.connect_only = v as u8;
            }
            // RTSP (engine::proto::rtsp): libcurl takes the request kinds 1 to 11.
            opt::OPT_RTSP_REQUEST => {
                let v = long!();
                if !(1..=11).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.proto.rtsp_request = v as u8;
            }
            opt::OPT_RTSP_STREAM_URI => o.proto.rtsp_stream_uri = text!(),
            opt::OPT_RTSP_TRANSPORT => o.proto.rtsp_transport = text!(),
            // The session id and CSeq counters belong to the handle: transfers update them.
            opt::OPT_RTSP_SESSION_ID => {
                let v = text!();
                easy.rtsp.borrow_mut().get_or_insert_with(Default::default).session_id = v;
            }
            opt::OPT_RTSP_CLIENT_CSEQ | opt::OPT_RTSP_SERVER_CSEQ => {
                let v = nonneg!();
                let mut st = easy.rtsp.borrow_mut();
                let st = st.get_or_insert_with(Default::default);
                if option == opt::OPT_RTSP_CLIENT_CSEQ {
                    st.next_client_cseq = v;
                } else {
                    st.next_server_cseq = v;
                }
            }
            opt::WS_OPTIONS => o.ws_options = long!(),
            opt::UNIX_SOCKET_PATH | opt::ABSTRACT_UNIX_SOCKET => {
                let path = text_required!().unwrap_or_default();
                o.route.unix_socket = Some(UnixSocket { path, abstract_ns: option == opt::ABSTRACT_UNIX_SOCKET });
            }
            opt::ADDRESS_SCOPE => {
                let v = long!();
                if !(0..=i64::from(u32::MAX)).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.route.address_scope = v as u32;
            }
            opt::NETRC => {
                let v = long!();
                if !(0..=2).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                o.creds.netrc = v as u8;
            }
            opt::NETRC_FILE => o.creds.netrc_file = text_required!().map(Into::into),
            opt::XOAUTH2_BEARER => o.creds.bearer = text_required!(),
            // libcurl switches HTTPAUTH to AWS_SIGV4 when this is set.
            opt::AWS_SIGV4 => {
                o.creds.aws_sigv4 = text_required!();
                o.http_auth = AUTH_AWS_SIGV4;
            }
            opt::HTTP200ALIASES => o.http200_aliases = if unset { Vec::new() } else { convert::string_list(value)? },
            // FTP (engine::ftp).
            // TFTP (engine::proto::tftp): libcurl clamps the block size and refuses a negative one.
            opt::TFTP_BLKSIZE => o.tftp_blksize = crate::engine::proto::tftp::clamp_blksize(nonneg!()) as u32,
            opt::FTP_USE_EPSV => o.ftp.use_epsv = long!() != 0,
            opt::FTP_SKIP_PASV_IP => o.ftp.skip_pasv_ip = long!() != 0,
            opt::DIRLISTONLY => o.ftp.dirlist_only = long!() != 0,
            opt::APPEND => o.ftp.append = long!() != 0,
            opt::TRANSFERTEXT => o.ftp.transfer_text = long!() != 0,
            opt::FTP_FILEMETHOD | opt::FTP_CREATE_MISSING_DIRS => {
                let v = long!();
                if !(0..=if option == opt::FTP_FILEMETHOD { 3 } else { 2 }).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                if option == opt::FTP_FILEMETHOD {
                    o.ftp.method = crate::engine::ftp::FileMethodOpt(v as u8);
                } else {
                    o.ftp.create_dirs = v as u8;
                }
            }
            opt::FTPPORT => o.ftp.port = text!(),
            opt::FTP_USE_EPRT => o.ftp.use_eprt = long!() != 0,
            opt::FTPSSLAUTH | opt::FTP_SSL_CCC => {
                let v = long!();
                if !(0..=2).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                if option == opt::FTPSSLAUTH {
                    o.ftp.ssl_auth = v as u8;
                } else {
                    o.ftp.ccc = v as u8;
                }
            }
            opt::FTP_USE_PRET => o.ftp.use_pret = long!() != 0,
            // pycurl 7.49 takes a string here too and hands libcurl its address, never 0: on.
            opt::WILDCARDMATCH => {
                if unset {
                    return Err(no_unset());
                }
                o.ftp.wildcard = if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
                    convert::string(value).map(|_| true)?
                } else {
                    convert::long(value)? != 0
                };
            }
            opt::FNMATCH_FUNCTION => {
                cbs.slots.borrow_mut().more.fnmatch = if unset { None } else { Some(convert::callable(value)?) }
            }
            opt::FTP_ALTERNATIVE_TO_USER => o.ftp.alternative_to_user = text_required!(),
            // pycurl 7.49 lists FTP_ACCOUNT among no option types: it refuses every value by its type.
            opt::FTP_ACCOUNT => {
                drop(o);
                return Err(if unset { no_unset() } else { convert::kind_err(value) });
            }
            opt::ACCEPTTIMEOUT_MS => o.ftp.accept_timeout_ms = nonneg!() as u64,
            opt::FTP_RESPONSE_TIMEOUT => o.ftp.response_timeout_ms = (nonneg!() as u64).saturating_mul(1000),
            opt::QUOTE | opt::PREQUOTE | opt::POSTQUOTE => {
                // As HTTPHEADER: an empty list leaves the previous list in place.
                let l = if unset { Vec::new() } else { convert::string_list(value)? };
                if unset || !l.is_empty() {
                    match option {
                        opt::QUOTE => o.ftp.quote = l,
                        opt::PREQUOTE => o.ftp.prequote = l,
                        _ => o.ftp.postquote = l,
                    }
                }
            }
            // SSH (engine::ssh).
            opt::SSH_PUBLIC_KEYFILE => o.ssh.public_keyfile = text_required!(),
            opt::SSH_PRIVATE_KEYFILE => o.ssh.private_keyfile = text_required!(),
            opt::SSH_HOST_PUBLIC_KEY_MD5 => o.ssh.host_md5 = text_required!(),
            opt::SSH_HOST_PUBLIC_KEY_SHA256 => o.ssh.host_sha256 = text_required!(),
            opt::SSH_KNOWNHOSTS => o.ssh.known_hosts = text_required!(),
            opt::SSH_COMPRESSION => o.ssh.compression = long!() != 0,
            opt::NEW_FILE_PERMS | opt::NEW_DIRECTORY_PERMS => {
                let v = long!();
                if !(0..=0o777).contains(&v) {
                    drop(o);
                    return Err(self.bad_arg(option));
                }
                if option == opt::NEW_FILE_PERMS {
                    o.ssh.file_perms = v as u32;
                } else {
                    o.ssh.dir_perms = v as u32;
                }
            }
            // Mail (engine::mail).
            opt::MAIL_FROM => o.mail.from = text!(),
            opt::MAIL_AUTH => o.mail.auth = text!(),
            opt::LOGIN_OPTIONS => o.mail.login_options = text!(),
            opt::SERVICE_NAME => o.mail.service_name = text!(),
            opt::SASL_IR => o.mail.sasl_ir = long!() != 0,
            opt::MAIL_RCPT => {
                // As HTTPHEADER: an empty list leaves the previous list in place.
                let l = if unset { Vec::new() } else { convert::string_list(value)? };
                if unset || !l.is_empty() {
                    o.mail.rcpt = l;
                }
            }
            // TELNET (engine::proto::telnet): read when a telnet transfer starts.
            opt::TELNETOPTIONS => {
                // As HTTPHEADER: an empty list leaves the previous list in place.
                let l = if unset { Vec::new() } else { convert::string_list(value)? };
                if unset || !l.is_empty() {
                    o.proto.telnet = l;
                }
            }
            opt::UPLOAD_BUFFERSIZE => {
                o.upload_buffer_size = nonneg!().clamp(UPLOAD_BUFFER_MIN, UPLOAD_BUFFER_MAX) as usize;
            }
            _ => {
                drop(o);
                return self.unsupported(name, option, value);
            }
        }
        Ok(())
    }

    /// An option number pycurl has no name for. Within its table (number modulo 10000 below
    /// its end) pycurl checks the kind of value for the number's range and hands it to
    /// libcurl: numbers libcurl knows are options not built here, others "unknown option".
    fn unnamed(&self, known: Option<&str>, option: i32, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if !(1..50000).contains(&option) || option % 10000 >= PYCURL_OPTIONS_SIZE {
            return Err(convert::invalid_setopt());
        }
        if value.is_none() {
            return Err(PyTypeError::new_err("unsetopt() is not supported for this option"));
        }
        match option / 10000 {
            0 | 3 => {
                let v = convert::long(value)?;
                // libcurl refuses an ALTSVC_CTRL without any bit before anything else.
                if option == ALTSVC_CTRL && v == 0 {
                    return Err(self.bad_arg(option));
                }
            }
            4 => {
                convert::blob(value)?;
            }
            // pycurl passes no value of any kind through for these two ranges.
            _ => return Err(convert::kind_err(value)),
        }
        // TFTP_NO_OPTIONS, which pycurl passes through by number.
        if option == TFTP_NO_OPTIONS {
            let on = convert::long(value)? != 0;
            self.easy("setopt")?.opts_mut().tftp_no_options = on;
            return Ok(());
        }
        // SSH_AUTH_TYPES, which pycurl passes through by number.
        if option == SSH_AUTH_TYPES {
            let v = convert::long(value)?;
            self.easy("setopt")?.opts_mut().ssh.auth_types = v;
            return Ok(());
        }
        // MAIL_RCPT_ALLOWFAILS, which pycurl has no constant for.
        if option == MAIL_RCPT_ALLOWFAILS {
            let v = convert::long(value)?;
            self.easy("setopt")?.opts_mut().mail.rcpt_allowfails = v != 0;
            return Ok(());
        }
        match known {
            Some(name) => self.unsupported(name, option, value),
            None => Err(code_err(code::UNKNOWN_OPTION, "An unknown option was passed in to libcurl")),
        }
    }

    /// Options of features not built yet: their "off" value is accepted, anything else refused.
    fn unsupported(&self, name: &str, option: i32, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if value.is_none() {
            if NO_UNSET.contains(&option)
                || NEVER_BUILT.contains(&option)
                || option < 10000
                || (30000..40000).contains(&option)
            {
                return Err(PyTypeError::new_err("unsetopt() is not supported for this option"));
            }
            return Ok(());
        }
        // pycurl checks the kind of value before libcurl sees it.
        if (10000..20000).contains(&option) {
            let is_list = value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>();
            let is_text = value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>();
            let lists = UNBUILT_LISTS.contains(&option);
            if (is_list && !lists) || (is_text && lists) {
                return Err(convert::kind_err(value));
            }
        }
        // pycurl warns of this deprecated option before libcurl sees the value.
        if option == opt::SOCKS5_GSSAPI_SERVICE {
            let py = value.py();
            let w = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
            PyErr::warn(py, &w, c"setopt option is deprecated", 1)?;
        }
        // A callback option not built here still refuses a value that is not callable first.
        if (20000..30000).contains(&option) {
            convert::callable(value)?;
        }
        if NEVER_BUILT.contains(&option) {
            if option < 10000 {
                convert::long(value)?;
            }
            return Err(not_built(name));
        }
        let off = if option < 10000 || (30000..40000).contains(&option) {
            convert::long(value)? == 0
        } else if (10000..20000).contains(&option) {
            if let Ok(l) = value.downcast::<PyList>() {
                l.is_empty()
            } else if let Ok(t) = value.downcast::<PyTuple>() {
                t.is_empty()
            } else if value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() {
                convert::bytes(value)?.is_empty()
            } else {
                false
            }
        } else {
            false
        };
        if off {
            Ok(())
        } else {
            Err(not_built(name))
        }
    }

    fn info(&self, py: Python<'_>, easy: &EasyShared, option: i32, raw: bool) -> PyResult<PyObject> {
        let i = easy.info.borrow();

        // Strings go to Python straight from the info they are kept in (no Rust copy).
        let s = |v: Option<&str>| -> PyResult<PyObject> {
            Ok(match v {
                None => py.None(),
                Some(s) => {
                    let b = crate::engine::easy::wire_bytes(s);
                    match b {
                        _ if raw => PyBytes::new(py, &b).into_any().unbind(),
                        std::borrow::Cow::Borrowed(_) => PyString::new(py, s).into_any().unbind(),
                        // Bytes the application gave that are not UTF-8 fail to decode, as in pycurl.
                        std::borrow::Cow::Owned(_) => PyBytes::new(py, &b).call_method1("decode", ("utf-8",))?.unbind(),
                    }
                }
            })
        };
        let deprecated = || -> PyResult<()> {
            let w = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
            PyErr::warn(py, &w, c"getinfo option is deprecated", 1)
        };
        let us = |secs: f64| (secs * 1e6) as i64;
        let o = |v: i64| v.into_pyobject(py).map(|b| b.into_any().unbind());
        let f = |v: f64| v.into_pyobject(py).map(|b| b.into_any().unbind());
        let r = match option {
            info::EFFECTIVE_URL => {
                if i.url_rejected {
                    // libcurl gives no URL after it rejected the URL; pycurl turns that into an error.
                    return Err(code_err(code::OUT_OF_MEMORY, self.st.borrow().errbuf.clone()));
                }
                // Before any transfer libcurl reports the URL as set.
                match i.effective_url.as_deref() {
                    Some(u) => s(Some(u))?,
                    None => s(Some(easy.opts.borrow().url.as_deref().unwrap_or_default()))?,
                }
            }
            info::RESPONSE_CODE => o(i.response_code)?,
            info::HTTP_CONNECTCODE => o(i.http_connectcode)?,
            info::CONTENT_TYPE => s(i.content_type.as_deref())?,
            info::REDIRECT_URL => s(i.redirect_url.as_deref())?,
            info::PRIMARY_IP => s(Some(i.primary_ip.as_deref().unwrap_or_default()))?,
            info::LOCAL_IP => s(Some(i.local_ip.as_deref().unwrap_or_default()))?,
            info::SCHEME => match i.scheme.as_deref() {
                Some(x) if x.bytes().any(|b| b.is_ascii_uppercase()) => s(Some(&x.to_ascii_lowercase()))?,
                x => s(x)?,
            },
            info::EFFECTIVE_METHOD => s(Some(i.effective_method.as_deref().unwrap_or("GET")))?,
            info::REFERER => s(i.referer.as_deref())?,
            info::HTTP_VERSION => o(i.http_version)?,
            info::TOTAL_TIME => f(i.total_time)?,
            info::NAMELOOKUP_TIME => f(i.namelookup_time)?,
            info::CONNECT_TIME => f(i.connect_time)?,
            info::APPCONNECT_TIME => f(i.appconnect_time)?,
            info::PRETRANSFER_TIME => f(i.pretransfer_time)?,
            info::STARTTRANSFER_TIME => f(i.starttransfer_time)?,
            info::REDIRECT_TIME => f(i.redirect_time)?,
            info::TOTAL_TIME_T => o(us(i.total_time))?,
            info::NAMELOOKUP_TIME_T => o(us(i.namelookup_time))?,
            info::CONNECT_TIME_T => o(us(i.connect_time))?,
            info::APPCONNECT_TIME_T => o(us(i.appconnect_time))?,
            info::PRETRANSFER_TIME_T => o(us(i.pretransfer_time))?,
            info::STARTTRANSFER_TIME_T => o(us(i.starttransfer_time))?,
            info::REDIRECT_TIME_T => o(us(i.redirect_time))?,
            info::POSTTRANSFER_TIME_T => o(us(i.posttransfer_time))?,
            info::QUEUE_TIME_T => o(us(i.queue_time))?,
            info::SIZE_DOWNLOAD => {
                deprecated()?;
                f(i.size_download as f64)?
            }
            info::SIZE_UPLOAD => {
                deprecated()?;
                f(i.size_upload as f64)?
            }
            info::SIZE_DOWNLOAD_T => o(i.size_download as i64)?,
            info::SIZE_UPLOAD_T => o(i.size_upload as i64)?,
            info::SPEED_DOWNLOAD => {
                deprecated()?;
                f(i.speed_download())?
            }
            info::SPEED_UPLOAD => {
                deprecated()?;
                f(i.speed_upload())?
            }
            info::SPEED_DOWNLOAD_T => o(i.speed_download() as i64)?,
            info::SPEED_UPLOAD_T => o(i.speed_upload() as i64)?,
            info::CONTENT_LENGTH_DOWNLOAD => {
                deprecated()?;
                f(i.content_length_download)?
            }
            info::CONTENT_LENGTH_UPLOAD => {
                deprecated()?;
                f(i.content_length_upload)?
            }
            info::CONTENT_LENGTH_DOWNLOAD_T => o(i.content_length_download as i64)?,
            info::CONTENT_LENGTH_UPLOAD_T => o(i.content_length_upload as i64)?,
            info::SIZE_DELIVERED => o(i.size_delivered as i64)?,
            info::HEADER_SIZE => o(i.header_size as i64)?,
            info::REQUEST_SIZE => o(i.request_size as i64)?,
            info::REDIRECT_COUNT => o(i.redirect_count)?,
            info::PRIMARY_PORT => o(i.primary_port)?,
            info::LOCAL_PORT => o(i.local_port)?,
            info::NUM_CONNECTS => o(i.num_connects)?,
            info::OS_ERRNO => o(i.os_errno)?,
            info::SSL_VERIFYRESULT => o(i.ssl_verifyresult)?,
            info::PROXY_SSL_VERIFYRESULT => o(i.proxy_ssl_verifyresult)?,
            info::FILETIME | info::FILETIME_T => o(i.filetime)?,
            info::CONDITION_UNMET => o(i.condition_unmet as i64)?,
            info::HTTPAUTH_AVAIL => o(i.httpauth_avail)?,
            info::PROXYAUTH_AVAIL => o(i.proxyauth_avail)?,
            info::PROXY_ERROR => o(i.proxy_error)?,
            info::USED_PROXY => o(0)?,
            info::LASTSOCKET | info::ACTIVESOCKET => o(i.last_socket)?,
            info::CONN_ID => o(i.conn_id)?,
            info::XFER_ID => o(i.xfer_id)?,
            info::RETRY_AFTER => o(0)?,
            info::COOKIELIST => {
                let lines = easy.with_cookies(|j| j.as_ref().map(|j| j.netscape_lines())).unwrap_or_default();
                let l = PyList::empty(py);
                for line in lines {
                    if raw {
                        l.append(PyBytes::new(py, line.as_bytes()))?;
                    } else {
                        l.append(line)?;
                    }
                }
                l.into_any().unbind()
            }
            info::SSL_ENGINES => PyList::empty(py).into_any().unbind(),
            info::RTSP_SESSION_ID | info::RTSP_CLIENT_CSEQ | info::RTSP_SERVER_CSEQ | info::RTSP_CSEQ_RECV => {
                let st = easy.rtsp.borrow();
                let st = st.as_deref().cloned().unwrap_or_default();
                match option {
                    info::RTSP_SESSION_ID => s(st.session_id.as_deref())?,
                    info::RTSP_CLIENT_CSEQ => o(st.next_client_cseq)?,
                    info::RTSP_SERVER_CSEQ => o(st.next_server_cseq)?,
                    _ => o(st.cseq_recv)?,
                }
            }
            info::CERTINFO => {
                let l = PyList::empty(py);
                for cert in &i.certinfo {
                    let items: Vec<PyObject> = cert
                        .iter()
                        .map(|(k, v)| {
                            if raw {
                                (PyBytes::new(py, k.as_bytes()), PyBytes::new(py, v.as_bytes()))
                                    .into_pyobject(py)
                                    .map(|t| t.into_any().unbind())
                            } else {
                                (k.as_str(), v.as_str()).into_pyobject(py).map(|t| t.into_any().unbind())
                            }
                        })
                        .collect::<PyResult<_>>()?;
                    l.append(PyTuple::new(py, items)?)?;
                }
                l.into_any().unbind()
            }
            _ => match constants::info_kind(option) {
                // Infos pycurl knows that describe features we don't have: libcurl's zero values.
                Some(1) => py.None(),
                Some(2) | Some(6) => o(0)?,
                Some(3) => f(0.0)?,
                Some(4) => PyList::empty(py).into_any().unbind(),
                Some(5) => o(-1)?,
                _ => return Err(PyValueError::new_err("invalid argument to getinfo")),
            },
        };
        Ok(r)
    }

    fn run_perform(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.borrow();
        let mut private = {
            let st = this.st.borrow_mut();
            if st.easy.is_none() {
                return Err(closed_err("perform"));
            }
            let mut st = st;
            if st.performing {
                return Err(msg_err("cannot invoke perform() - perform() is currently running"));
            }
            // What ready() checks, with the multi looked up once: busy inside its callbacks, else in use.
            if let Some((m, link)) = st.attached_link(py) {
                if link.running_callbacks(&m) {
                    return Err(msg_err("cannot invoke perform() - perform() is currently running"));
                }
                let why = "easy handle already used in multi handle";
                // libcurl says why only if no error was reported since the last transfer began.
                let reported = st.errbuf_detached || st.errbuf_reported || !st.errbuf.is_empty();
                st.errbuf.clear();
                st.errbuf_reported = true;
                let err = if reported {
                    code_err(code::FAILED_INIT, crate::engine::strerror::easy_strerror(code::FAILED_INIT as i64))
                } else {
                    st.errbuf = why.to_string();
                    code_err(code::FAILED_INIT, why)
                };
                // VERBOSE shows the reason either way, from inside perform() as libcurl does.
                let verbose = st.easy.as_ref().is_some_and(|e| e.opts.borrow().verbose);
                if verbose {
                    let cbs = st.cbs.clone();
                    st.performing = true;
                    st.performer = Some(std::thread::current().id());
                    drop(st);
                    if cbs.has_debug() {
                        cbs.debug(0, format!("{why}\n").as_bytes());
                    } else {
                        eprintln!("* {why}");
                    }
                    let mut st = this.st.borrow_mut();
                    st.performing = false;
                    st.performer = None;
                }
                return Err(err);
            }
            st.performing = true;
            st.performer = Some(std::thread::current().id());
            st.errbuf.clear();
            st.errbuf_detached = false;
            st.errbuf_reported = false;
            match st.private.take() {
                Some(p) => p,
                None => match BlockingLoop::new() {
                    Ok(lp) => {
                        let mut multi = Multi::new();
                        if let Some(n) = st.max_connects {
                            multi.set_max_idle(n);
                        }
                        // One transfer waits alone here: its answer is mostly in by the first read.
                        multi.sh.reactor.read_at_once.set(true);
                        Box::new(Private { multi, lp })
                    }
                    Err(e) => {
                        st.performing = false;
                        return Err(code_err(code::FAILED_INIT, e.to_string()));
                    }
                },
            }
        };
        let easy = match this.prepare() {
            Ok(e) => e,
            Err(e) => {
                let mut st = this.st.borrow_mut();
                st.performing = false;
                st.private = Some(private);
                return Err(e);
            }
        };
        let mut interrupt: Option<PyErr> = None;
        let key = private.multi.add(easy);
        let p = &mut *private;
        let r = perform_blocking(
            &mut p.multi,
            &mut p.lp,
            key,
            |lp, t| super::gil::allow_threads(py, || lp.wait(t)),
            || match py.check_signals() {
                Ok(()) => None,
                Err(e) => {
                    interrupt = Some(e);
                    Some(Error::new(code::ABORTED_BY_CALLBACK, "operation aborted by callback"))
                }
            },
        );
        p.multi.remove(key);
        // Nobody reads M_NOTIFY's done list of the private multi: drop it, or it grows per perform.
        p.multi.take_newly_done();
        let changes = p.multi.take_socket_events();
        p.lp.apply(&changes);
        p.multi.close_buried();
        {
            let mut st = this.st.borrow_mut();
            st.performing = false;
            if st.easy.is_some() {
                st.private = Some(private);
            } else {
                drop(st);
                p.lp.clear();
                drop(private);
            }
        }
        if let Some(e) = interrupt {
            let _ = this.finish(r);
            return Err(e);
        }
        this.finish(r)
    }

    /// A transfer of a multi changed its pause state: the multi reports what changed (see report_changes).
    pub fn report_pause(&self, py: Python<'_>) -> PyResult<()> {
        let attached = self.st.borrow().attached_link(py);
        if let Some((m, link)) = attached {
            link.report_changes(&m)?;
        }
        Ok(())
    }

    pub fn do_close(&self, py: Python<'_>) {
        self.drop_share(py);
        let (private, multi, easy) = {
            let Some(mut st) = self.st.try_borrow_mut() else { return };
            st.curlu = None;
            st.form_pins = None;
            (st.private.take(), st.multi.take(), st.easy.take())
        };
        if let Some(e) = &easy {
            // libcurl writes COOKIEJAR when the handle is cleaned up.
            e.write_cookie_jar();
            let cbs = self.st.borrow().cbs.clone();
            super::hsts::at_cleanup(py, e, &cbs);
        }
        if let Some(r) = multi {
            if let Ok(m) = r.weak.bind(py).call0() {
                r.link.detach_key(&m, r.key);
            }
        }
        if let Some(mut p) = private {
            drop(easy);
            let ch = p.multi.take_socket_events();
            p.lp.apply(&ch);
            p.lp.clear();
            drop(p);
        }
        let st = self.st.borrow();
        st.cbs.clear();
    }
}

#[pymethods]
impl PyCurl {
    #[new]
    #[classmethod]
    #[pyo3(signature = (*args, **kwargs))]
    fn py_new(
        cls: &Bound<'_, pyo3::types::PyType>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        // Subclasses may take their own arguments in __init__; Curl itself takes none.
        if cls.is(cls.py().get_type::<PyCurl>()) && (!args.is_empty() || kwargs.is_some_and(|k| !k.is_empty())) {
            return Err(PyTypeError::new_err("Curl() takes no arguments"));
        }
        Ok(PyCurl { st: GilCell::new(PyCurl::new_state()) })
    }

    fn __reduce_ex__(&self, _proto: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("Curl objects do not support serialization"))
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("Curl objects do not support serialization"))
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn setopt(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.borrow();
        let (option, value, use_memoryview) = setopt_args(args, kwargs)?;
        let value = &value;
        if use_memoryview.is_some() && option != opt::WRITEFUNCTION && option != opt::HEADERFUNCTION {
            return Err(PyTypeError::new_err("use_memoryview is only supported for WRITEFUNCTION and HEADERFUNCTION"));
        }
        this.ready(py, "setopt")?;
        if option == opt::SHARE {
            return PyCurl::set_share(slf, value);
        }
        this.apply(py, option, value)?;
        if use_memoryview == Some(true) && !value.is_none() {
            let st = this.st.borrow();
            let mut s = st.cbs.slots.borrow_mut();
            if option == opt::WRITEFUNCTION {
                s.write_mv = true;
            } else {
                s.header_mv = true;
            }
        }
        Ok(())
    }

    #[pyo3(signature = (*args))]
    fn setopt_string(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        convert::arity("setopt_string", args, 2)?;
        let option = convert::c_int(&args.get_item(0)?)?;
        let value = &args.get_item(1)?;
        self.ready(py, "setopt")?;
        if !(value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>()) {
            return Err(PyTypeError::new_err("invalid arguments to setopt_string"));
        }
        if !(10000..20000).contains(&option) || constants::option_name(option).is_none() {
            return Err(PyTypeError::new_err("strings are not supported for this option"));
        }
        self.apply(py, option, value)
    }

    #[pyo3(signature = (*args))]
    fn unsetopt(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
        let py = slf.py();
        let this = slf.borrow();
        convert::arity("unsetopt", args, 1)?;
        let option = convert::c_int(&args.get_item(0)?)?;
        this.ready(py, "unsetopt")?;
        if constants::option_name(option).is_none() {
            return Err(PyTypeError::new_err("invalid arguments to unsetopt"));
        }
        if option == opt::SHARE {
            return PyCurl::set_share(slf, &py.None().into_bound(py));
        }
        this.apply(py, option, &py.None().into_bound(py))
    }

    #[pyo3(signature = (*args))]
    fn getinfo(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<PyObject> {
        convert::arity("getinfo", args, 1)?;
        let option = convert::c_int(&args.get_item(0)?)?;
        let easy = self.ready(py, "getinfo")?;
        self.info(py, &easy, option, false)
    }

    #[pyo3(signature = (*args))]
    fn getinfo_raw(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<PyObject> {
        convert::arity("getinfo_raw", args, 1)?;
        let option = convert::c_int(&args.get_item(0)?)?;
        let easy = self.ready(py, "getinfo")?;
        self.info(py, &easy, option, true)
    }

    fn perform(slf: &Bound<'_, Self>) -> PyResult<()> {
        PyCurl::run_perform(slf)
    }

    // CONNECT_ONLY and WebSocket calls: see py/ws.rs.
    fn send(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        super::ws::send(self, &self.ready(py, "send")?, data)
    }

    fn recv(&self, py: Python<'_>, buffersize: &Bound<'_, PyAny>) -> PyResult<PyObject> {
        super::ws::recv(self, py, &self.ready(py, "recv")?, convert::index(buffersize)?)
    }

    #[pyo3(signature = (buffer, nbytes = 0))]
    fn recv_into(&self, py: Python<'_>, buffer: &Bound<'_, PyAny>, nbytes: i64) -> PyResult<usize> {
        super::ws::recv_into(self, &self.ready(py, "recv_into")?, buffer, nbytes)
    }

    #[pyo3(signature = (data, flags = None, fragsize = 0, encoding = "utf-8"))]
    fn ws_send(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        flags: Option<&Bound<'_, PyAny>>,
        fragsize: i64,
        encoding: &str,
    ) -> PyResult<usize> {
        super::ws::ws_send(self, &self.ws_sender(py, "ws_send")?, data, flags, fragsize, encoding)
    }

    fn ws_recv(&self, py: Python<'_>, buffersize: &Bound<'_, PyAny>) -> PyResult<(PyObject, PyObject)> {
        super::ws::ws_recv(self, py, &self.ready(py, "ws_recv")?, convert::index(buffersize)?)
    }

    #[pyo3(signature = (buffer, nbytes = 0))]
    fn ws_recv_into(&self, py: Python<'_>, buffer: &Bound<'_, PyAny>, nbytes: i64) -> PyResult<(usize, PyObject)> {
        super::ws::ws_recv_into(self, &self.ready(py, "ws_recv_into")?, buffer, nbytes)
    }

    fn ws_meta(&self, py: Python<'_>) -> PyResult<PyObject> {
        super::ws::ws_meta(self, py, &self.easy("ws_meta")?)
    }

    #[pyo3(signature = (code = None, reason = None, encoding = "utf-8"))]
    fn ws_close(
        &self,
        py: Python<'_>,
        code: Option<i64>,
        reason: Option<&Bound<'_, PyAny>>,
        encoding: &str,
    ) -> PyResult<usize> {
        super::ws::ws_close(self, &self.ws_sender(py, "ws_close")?, code, reason, encoding)
    }

    fn perform_rb(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        let py = slf.py();
        slf.borrow().ready(py, "setopt")?;
        let io = py.import("io")?.getattr("BytesIO")?.call0()?;
        slf.borrow().apply(py, opt::WRITEDATA, &io)?;
        PyCurl::run_perform(slf)?;
        Ok(io.call_method0("getvalue")?.unbind())
    }

    fn perform_rs(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
        let py = slf.py();
        let b = PyCurl::perform_rb(slf)?;
        Ok(b.bind(py).call_method1("decode", ("utf-8",))?.unbind())
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.st.borrow().easy.is_some() {
            self.ready(py, "close")?;
        }
        // Closing a handle takes it off its multi, which reports its sockets going away (libcurl).
        let attached = self.st.borrow().attached_link(py);
        self.do_close(py);
        if let Some((m, link)) = attached {
            link.report_changes(&m)?;
        }
        Ok(())
    }

    #[getter]
    fn closed(&self) -> bool {
        self.st.borrow().easy.is_none()
    }

    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        let easy = self.ready(py, "reset")?;
        *easy.opts.borrow_mut() = Rc::new(fresh_options());
        *easy.info.borrow_mut() = Default::default();
        *easy.digest.borrow_mut() = None;
        let st = self.st.borrow();
        st.cbs.clear();
        drop(st);
        let mut st = self.st.borrow_mut();
        // Seen with pycurl: only a handle that had an error message loses its buffer on reset.
        st.errbuf_detached = !st.errbuf.is_empty();
        st.errbuf.clear();
        st.mimepost = None;
        st.form_pins = None;
        st.curlu = None;
        st.max_connects = None;
        Ok(())
    }

    fn duphandle<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.borrow();
        let easy = this.easy("duphandle")?;
        // Same (sub)class as the original, built without running a subclass __init__.
        let ty = slf.get_type();
        let dup = ty.call_method1("__new__", (&ty,))?;
        let d = dup.downcast::<PyCurl>()?;
        {
            let dd = d.borrow();
            let st = dd.st.borrow();
            *st.easy.as_ref().unwrap().opts.borrow_mut() = Rc::new((**easy.opts.borrow()).clone());
            // libcurl's duphandle copies the HSTS cache too.
            *st.easy.as_ref().unwrap().hsts.borrow_mut() = easy.hsts.borrow().clone();
            *st.cbs.slots.borrow_mut() = this.st.borrow().cbs.slots.borrow().clone_ref(py);
        }
        // The copy uses the same CurlUrl, as libcurl's duphandle keeps the CURLU pointer.
        d.borrow().st.borrow_mut().curlu = this.st.borrow().curlu.as_ref().map(|u| u.clone_ref(py));
        d.borrow().st.borrow_mut().max_connects = this.st.borrow().max_connects;
        d.borrow().st.borrow_mut().form_pins = this.st.borrow().form_pins.as_ref().map(|t| t.clone_ref(py));
        // Instance attributes come along, as they do with pycurl.
        if let (Ok(src), Ok(dst)) = (slf.getattr("__dict__"), dup.getattr("__dict__")) {
            dst.call_method1("update", (src,))?;
        }
        Ok(dup)
    }

    fn errstr(&self, py: Python<'_>) -> PyResult<String> {
        self.ready(py, "errstr")?;
        let st = self.st.borrow();
        Ok(st.errbuf.clone())
    }

    fn errstr_raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.ready(py, "errstr")?;
        let st = self.st.borrow();
        Ok(PyBytes::new(py, st.errbuf.as_bytes()))
    }

    #[pyo3(signature = (bitmask=None))]
    fn pause(&self, py: Python<'_>, bitmask: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let bitmask = match bitmask {
            Some(b) => convert::c_int(b)? as i64,
            None => 5,
        };
        let easy = self.easy("pause")?;
        if self.performing_elsewhere(py) {
            return Err(msg_err("cannot invoke pause() - perform() is currently running on another thread"));
        }
        if !easy.busy.get() {
            return Err(code_err(code::BAD_FUNCTION_ARGUMENT, "pause/unpause failed"));
        }
        easy.set_pause(bitmask as u32 & (PAUSE_RECV | PAUSE_SEND));
        self.report_pause(py)
    }

    fn unpause(&self, py: Python<'_>) -> PyResult<()> {
        let easy = self.st.borrow().easy.clone().ok_or_else(|| closed_err("unpause"))?;
        if self.performing_elsewhere(py) {
            return Err(msg_err("cannot invoke unpause() - perform() is currently running on another thread"));
        }
        if !easy.busy.get() {
            return Err(code_err(code::BAD_FUNCTION_ARGUMENT, "pause/unpause failed"));
        }
        easy.set_pause(0);
        self.report_pause(py)
    }

    fn set_ca_certs(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        // pycurl checks the value before the handle, and words both failures its own way.
        let ascii = value.downcast::<PyString>().ok().and_then(|s| s.to_cow().ok()).filter(|s| s.is_ascii());
        let b = match (value.downcast::<PyBytes>(), ascii) {
            (Ok(b), _) => b.as_bytes().to_vec(),
            (_, Some(s)) => s.into_owned().into_bytes(),
            _ => return Err(PyTypeError::new_err(CA_CERTS_TYPE)),
        };
        let Ok(easy) = self.easy("set_ca_certs") else {
            return Err(code_err(code::BAD_FUNCTION_ARGUMENT, "A libcurl function was given a bad argument"));
        };
        easy.opts_mut().tls.ca_blob = Some(b);
        Ok(())
    }

    fn multi(&self, py: Python<'_>) -> PyObject {
        match self.st.borrow().attached(py) {
            Some((m, _)) => m.unbind(),
            None => py.None(),
        }
    }

    /// share() -> the CurlShare this handle uses, or None.
    fn share(&self, py: Python<'_>) -> PyObject {
        match self.st.try_borrow().and_then(|st| st.share.as_ref().map(|s| s.clone_ref(py))) {
            Some(s) => s.into_any(),
            None => py.None(),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// pycurl's __exit__ takes any arguments (none included).
    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) {
        self.do_close(py);
    }

    fn __setattr__(slf: &Bound<'_, Self>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        set_instance_attr(slf.as_any(), name, value)
    }

    fn __delattr__(slf: &Bound<'_, Self>, name: &str) -> PyResult<()> {
        del_instance_attr(slf.as_any(), name)
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<PyObject> {
        constant_attr(py, name, constants::curl_attr(name))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        super::instdict::CURL.traverse(self, &visit)?;
        if let Some(st) = self.st.try_borrow_mut() {
            st.cbs.traverse(&visit)?;
            if let Some(r) = &st.multi {
                visit.call(&r.weak)?;
            }
            if let Some(m) = &st.mimepost {
                visit.call(m)?;
            }
            if let Some(s) = &st.share {
                visit.call(s)?;
            }
            if let Some(u) = &st.curlu {
                visit.call(u)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        super::instdict::CURL.clear(self);
        // As pycurl's cleanup of a collected handle: its connections close (CLOSESOCKETFUNCTION)
        // while the callbacks are still set.
        let (private, held) = match self.st.try_borrow_mut() {
            Some(mut st) => (st.private.take(), st.easy.as_ref().and_then(|e| e.held.borrow_mut().take())),
            None => (None, None),
        };
        if let Some(mut p) = private {
            p.lp.clear();
            drop(p);
        }
        // The connection CONNECT_ONLY left to the application too.
        drop(held);
        if let Some(mut st) = self.st.try_borrow_mut() {
            st.cbs.clear();
            st.multi = None;
            st.mimepost = None;
            st.share = None;
            st.curlu = None;
        }
    }
}

impl Drop for PyCurl {
    fn drop(&mut self) {
        // pyo3 0.25's dealloc empties the instance dict but never releases it (about 65 bytes per object).
        super::instdict::CURL.clear(self);
        // Sockets close through the reactor; Python callbacks are not called from the finaliser.
        if let Some(mut st) = self.st.try_borrow_mut() {
            if let Some(e) = &st.easy {
                e.write_cookie_jar();
                // The HSTS file, but no write callback from a finaliser.
                e.hsts_save(crate::engine::cookies::unix_now());
            }
            if let Some(mut p) = st.private.take() {
                p.lp.clear();
            }
            // The connection CONNECT_ONLY left to the application closes while CLOSESOCKETFUNCTION is set.
            if let Some(e) = &st.easy {
                let held = e.held.borrow_mut().take();
                drop(held);
            }
            st.cbs.clear();
        }
    }
}

/// setopt(option, value, *, use_memoryview=False) parsed with CPython's keyword-argument wording.
fn setopt_args<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<(i32, Bound<'py, PyAny>, Option<bool>)> {
    if args.len() > 2 {
        return Err(PyTypeError::new_err(format!(
            "setopt() takes at most 2 positional arguments ({} given)",
            args.len()
        )));
    }
    let mut option = args.get_item(0).ok();
    let mut value = args.get_item(1).ok();
    let mut use_mv = None;
    if let Some(kw) = kwargs {
        for (k, v) in kw.iter() {
            let k: String = k.extract()?;
            match k.as_str() {
                "option" if option.is_none() => option = Some(v),
                "value" if value.is_none() => value = Some(v),
                "use_memoryview" => use_mv = Some(v.is_truthy()?),
                "option" | "value" => {
                    return Err(PyTypeError::new_err(format!(
                        "argument for setopt() given by name ('{k}') and position"
                    )))
                }
                _ => return Err(PyTypeError::new_err(format!("'{k}' is an invalid keyword argument for setopt()"))),
            }
        }
    }
    let option = option.ok_or_else(|| PyTypeError::new_err("setopt() missing required argument 'option' (pos 1)"))?;
    let value = value.ok_or_else(|| PyTypeError::new_err("setopt() missing required argument 'value' (pos 2)"))?;
    Ok((convert::c_int(&option)?, value, use_mv))
}

/// `obj.name = value`: instances take arbitrary attributes (they may shadow constants); methods
/// and the `closed` property can't be replaced.
pub fn set_instance_attr(obj: &Bound<'_, PyAny>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let ty = obj.get_type();
    if let Ok(attr) = ty.getattr(name) {
        if attr.hasattr("__set__")? || name == "closed" {
            return Err(PyAttributeError::new_err(format!(
                "attribute '{name}' of '{}' objects is not writable",
                ty.qualname().map(|q| q.to_string()).unwrap_or_default()
            )));
        }
    }
    let d = obj.getattr("__dict__")?;
    d.downcast::<PyDict>()?.set_item(name, value)
}

/// `del obj.name` on an instance attribute, with pycurl's message when there is none.
pub fn del_instance_attr(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<()> {
    let d = obj.getattr("__dict__")?;
    let d = d.downcast::<PyDict>()?;
    if d.contains(name)? {
        d.del_item(name)
    } else {
        Err(PyAttributeError::new_err(format!("trying to delete a non-existing attribute: {name}")))
    }
}

/// CURLOPT_ALTSVC_CTRL, which pycurl 7.49 does not name.
const ALTSVC_CTRL: i32 = 286;

/// CURLOPT_SSH_AUTH_TYPES, which pycurl 7.49's option table lacks (it names the constant).
const SSH_AUTH_TYPES: i32 = 151;

/// CURLOPT_MAIL_RCPT_ALLOWFAILS, which pycurl 7.49 does not name.
const MAIL_RCPT_ALLOWFAILS: i32 = 290;

/// `long` options libcurl 8.23 knows that pycurl's option table lacks (two of them pycurl names
/// as constants): pycurl passes them through, so they are options not built here.
fn name_of_unnamed(option: i32) -> Option<&'static str> {
    Some(match option {
        151 => "SSH_AUTH_TYPES",
        210 => "GSSAPI_DELEGATION",
        239 => "STREAM_WEIGHT",
        242 => "TFTP_NO_OPTIONS",
        245 => "KEEP_SENDING_ON_ERROR",
        267 => "SOCKS5_AUTH",
        275 => "DNS_SHUFFLE_ADDRESSES",
        278 => "DISALLOW_USERNAME_IN_URL",
        281 => "UPKEEP_INTERVAL_MS",
        286 => "ALTSVC_CTRL",
        290 => "MAIL_RCPT_ALLOWFAILS",
        306 => "DOH_SSL_VERIFYPEER",
        307 => "DOH_SSL_VERIFYHOST",
        308 => "DOH_SSL_VERIFYSTATUS",
        315 => "MIME_OPTIONS",
        321 => "CA_CACHE_TIMEOUT",
        322 => "QUICK_EXIT",
        324 => "SERVER_RESPONSE_TIMEOUT_MS",
        326 => "TCP_KEEPCNT",
        327 => "UPLOAD_FLAGS",
        _ => return None,
    })
}

/// The end of pycurl 7.49's option table (libcurl 8.23's option numbers modulo 10000): a `long`
/// option number from there on is pycurl's TypeError, below it libcurl's "unknown option".
const PYCURL_OPTIONS_SIZE: i32 = 333;

/// libcurl's `long` forms of four size options (INFILESIZE, RESUME_FROM, MAXFILESIZE,
/// POSTFIELDSIZE): pycurl names only their `_LARGE` forms but passes the numbers through, and
/// libcurl reads both forms alike. Programs that take option numbers from elsewhere use them.
fn long_form_twin(option: i32) -> i32 {
    match option {
        14 => 30115,
        21 => 30116,
        60 => 30120,
        114 => 30117,
        o => o,
    }
}
