//! pycurl-rs: the transfer engine (`engine`, no pyo3) and the Python bindings (`py`).
pub mod engine;
#[cfg(feature = "python")]
mod py;
