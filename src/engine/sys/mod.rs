//! The OS seam: the only place in the engine with libc / Winsock calls, raw descriptors or
//! handles, poll(2) / WSAPoll, socket pairs, recv/send/peek and close. `unix.rs` serves Linux,
//! macOS and the BSDs; `windows.rs` serves Windows. Both offer the same functions and the `Fd`
//! type, the socket number the application sees in its callbacks.
//!
//! Readiness bits are libcurl's CSELECT values: `IN` 1, `OUT` 2, `ERR` 4.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

/// Readable (CURL_CSELECT_IN / CURL_POLL_IN).
pub const IN: u8 = 1;
/// Writable (CURL_CSELECT_OUT / CURL_POLL_OUT).
pub const OUT: u8 = 2;
/// An error condition: look at both directions.
pub const ERR: u8 = 4;
