//! Python bindings: the only place that imports pyo3.
use pyo3::prelude::*;
use pyo3::types::PyTuple;

mod callbacks;
mod constants;
mod constants_data;
mod convert;
mod curl;
mod errors;
mod gil;
mod hsts;
mod info_table;
mod instdict;
mod link;
mod mime;
mod multi;
mod option_table;
mod share;
mod url;
mod ws;

use crate::engine::strerror;

/// The pycurl release whose API this module implements.
pub const PYCURL_VERSION: &str = "7.49.0";
/// The libcurl API level emulated (what version_info() reports).
pub const LIBCURL_VERSION: &str = "8.23.0";
pub const LIBCURL_VERSION_NUM: i64 = 0x081700;

/// pycurl's shape ("PycURL/x libcurl/y …"), since code parses it; libcurl/y is the API level
/// emulated, and the tokens after it name what really does the work.
pub fn version_string() -> String {
    format!(
        "PycURL/{PYCURL_VERSION} libcurl/{LIBCURL_VERSION} pycurl-rs/{} rustls/0.23 zlib/{} brotli-decompressor/5 pycurl-rs-ssh/{}",
        env!("CARGO_PKG_VERSION"),
        crate::engine::decode::ZLIB_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

#[pyfunction]
#[pyo3(signature = (*_args))]
fn version_info<'py>(py: Python<'py>, _args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyTuple>> {
    // VERSION_IPV6 | VERSION_SSL | VERSION_LIBZ | VERSION_NTLM | VERSION_ASYNCHDNS | VERSION_LARGEFILE |
    // VERSION_HTTP2 | VERSION_UNIX_SOCKETS | VERSION_PSL | VERSION_HTTPS_PROXY | VERSION_BROTLI |
    // VERSION_HSTS | CURL_VERSION_THREADSAFE (global_init has nothing to set up, so any thread may call it)
    let features: i64 =
        1 | 4 | 8 | 16 | 128 | 512 | (1 << 16) | (1 << 19) | (1 << 20) | (1 << 21) | (1 << 23) | (1 << 28) | (1 << 30);
    let protocols = PyTuple::new(
        py,
        [
            "dict", "file", "ftp", "ftps", "gopher", "gophers", "http", "https", "imap", "imaps", "mqtt", "mqtts",
            "pop3", "pop3s", "rtsp", "scp", "sftp", "smtp", "smtps", "telnet", "tftp", "ws", "wss",
        ],
    )?;
    let items: Vec<PyObject> = vec![
        11i64.into_pyobject(py)?.into_any().unbind(),
        LIBCURL_VERSION.into_pyobject(py)?.into_any().unbind(),
        LIBCURL_VERSION_NUM.into_pyobject(py)?.into_any().unbind(),
        std::env::consts::OS.to_string().replace("linux", "Linux").into_pyobject(py)?.into_any().unbind(),
        features.into_pyobject(py)?.into_any().unbind(),
        "rustls/0.23".into_pyobject(py)?.into_any().unbind(),
        0i64.into_pyobject(py)?.into_any().unbind(),
        crate::engine::decode::ZLIB_VERSION.into_pyobject(py)?.into_any().unbind(),
        protocols.into_any().unbind(),
        py.None(),
        0i64.into_pyobject(py)?.into_any().unbind(),
        py.None(),
    ];
    PyTuple::new(py, items)
}

#[pyfunction]
fn global_init(option: i64) -> PyResult<()> {
    if !(0..=7).contains(&option) {
        return Err(pyo3::exceptions::PyValueError::new_err("invalid option to global_init"));
    }
    Ok(())
}

#[pyfunction]
fn global_cleanup() {}

#[pyfunction]
fn easy_strerror(errornum: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(strerror::easy_strerror(convert::c_int(errornum)? as i64))
}

#[pyfunction]
fn multi_strerror(errornum: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(strerror::multi_strerror(convert::c_int(errornum)? as i64))
}

#[pyfunction]
fn share_strerror(errornum: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(strerror::share_strerror(convert::c_int(errornum)? as i64))
}

#[pyfunction]
fn url_strerror(errornum: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(strerror::url_strerror(convert::c_int(errornum)? as i64))
}

#[pymodule]
fn _pycurl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("error", py.get_type::<errors::error>())?;
    m.add_class::<curl::PyCurl>()?;
    m.add_class::<multi::PyCurlMulti>()?;
    m.add_class::<share::PyCurlShare>()?;
    instdict::CURL.measure::<curl::PyCurl>(&py.get_type::<curl::PyCurl>())?;
    instdict::MULTI.measure::<multi::PyCurlMulti>(&py.get_type::<multi::PyCurlMulti>())?;
    instdict::SHARE.measure::<share::PyCurlShare>(&py.get_type::<share::PyCurlShare>())?;
    m.add_class::<url::PyCurlUrl>()?;
    m.add_class::<mime::PyCurlMime>()?;
    m.add_class::<mime::PyCurlMimePart>()?;
    m.setattr("_form_body", wrap_pyfunction!(mime::_form_body, m)?)?; // private: not in __all__
    hsts::register(m)?;
    m.add("version", version_string())?;
    m.add_function(wrap_pyfunction!(version_info, m)?)?;
    m.add_function(wrap_pyfunction!(global_init, m)?)?;
    m.add_function(wrap_pyfunction!(global_cleanup, m)?)?;
    m.add_function(wrap_pyfunction!(easy_strerror, m)?)?;
    m.add_function(wrap_pyfunction!(multi_strerror, m)?)?;
    m.add_function(wrap_pyfunction!(share_strerror, m)?)?;
    m.add_function(wrap_pyfunction!(url_strerror, m)?)?;
    constants::add_to_module(m)?;
    gil::install_exit_guard(m)?;
    let nt = py.import("collections")?.getattr("namedtuple")?;
    let sockaddr = nt.call1(("CurlSockAddr", ("family", "socktype", "protocol", "addr")))?;
    sockaddr.setattr("__module__", "pycurl")?;
    m.add("CurlSockAddr", sockaddr)?;
    // SSH_KEYFUNCTION's arguments.
    let khkey = nt.call1(("KhKey", ("key", "keytype")))?;
    khkey.setattr("__module__", "pycurl")?;
    m.add("KhKey", khkey)?;
    ws::register(m)?;
    Ok(())
}
