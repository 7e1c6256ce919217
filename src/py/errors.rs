//! pycurl.error and the one place engine errors become Python exceptions.
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::engine::error::Error;

create_exception!(pycurl, error, PyException, "pycurl's exception: args are (code, message).");

/// pycurl.error(code, message)
pub fn curl_err(e: &Error) -> PyErr {
    error::new_err((e.code, e.msg.clone()))
}

pub fn code_err(code: i32, msg: impl Into<String>) -> PyErr {
    error::new_err((code, msg.into()))
}

/// Single-argument pycurl.error, as raised for misuse (closed handles and the like).
pub fn msg_err(msg: impl Into<String>) -> PyErr {
    error::new_err(msg.into())
}
