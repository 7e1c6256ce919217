//! The OS seam: the only place in the engine with libc calls, raw descriptors, poll(2), socket
//! pairs, recv/send/peek and close. Another OS gets its own file here and nothing else changes.
//!
//! Readiness bits are libcurl's CSELECT values: `IN` 1, `OUT` 2, `ERR` 4.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

/// Readable (CURL_CSELECT_IN / CURL_POLL_IN).
pub const IN: u8 = 1;
/// Writable (CURL_CSELECT_OUT / CURL_POLL_OUT).
pub const OUT: u8 = 2;
/// An error condition: look at both directions.
pub const ERR: u8 = 4;
