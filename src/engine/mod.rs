//! The transfer engine: no pyo3 in here. See `multi` for the caller-driven contract and `transfer`
//! for what one transfer does.
pub mod auth;
pub mod cookies;
pub mod decode;
pub mod easy;
pub mod error;
pub mod mime;
pub mod multi;
pub mod net;
pub mod pool;
pub mod resolve;
pub mod rt;
pub mod strerror;
pub mod tls_config;
pub mod transfer;
pub mod url;
pub mod urlapi;
