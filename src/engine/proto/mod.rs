//! The small protocols libcurl also speaks, one room each: the bytes on the wire and what they
//! mean, with no sockets (the transfer glue in `transfer` moves them).
//!
//! - `tftp`: RFC 1350 packets, the option extension (RFC 2347/2348/2349) as libcurl asks for it,
//!   and libcurl's retry arithmetic.
pub mod tftp;
