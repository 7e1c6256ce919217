//! The transfer engine: no pyo3 in here. See `multi` for the caller-driven contract and `transfer`
//! for what one transfer does.
pub mod auth;
pub mod cookies;
pub mod date;
pub mod decode;
pub mod easy;
pub mod error;
pub mod hsts;
pub mod http1;
pub mod http2;
pub mod mime;
pub mod multi;
pub mod net;
pub mod pool;
pub mod proxy;
pub mod request;
pub mod resolve;
pub mod rt;
pub mod setopt;
pub mod share;
pub mod strerror;
pub mod sys;
pub mod tls;
pub mod transfer;
pub mod url;
pub mod urlapi;
pub mod ws;
