//! HTTP/1.x as a pure codec: bytes in, events out; no sockets, no callbacks, no clock.
//!
//! - `head`: the response head parser (status line, header lines as libcurl delivers them).
//! - `body`: body framing (Content-Length, chunked, close-delimited).
//! - `request`: the request head writer and chunked request framing.
//!
//! Errors carry libcurl's codes and messages, so the transfer passes them on unchanged. The parse
//! entry points (`head::parse_head`, `body::decode_all`) take a whole input for fuzzing.
pub mod body;
pub mod head;
pub mod request;

pub use body::{BodyDecoder, BodyEvent, Framing};
pub use head::{Head, HeadEvent, HeadParser};
