//! The small protocols libcurl also speaks, one room each: the bytes on the wire and what they
//! mean, with no sockets (the transfer glue in `transfer` moves them).
//!
//! - `tftp`: RFC 1350 packets, the option extension (RFC 2347/2348/2349) as libcurl asks for it,
//!   and libcurl's retry arithmetic.
//! - `dict`: the DICT request libcurl builds from a URL path.
//! - `gopher`: the selector libcurl sends for a URL.
//! - `mqtt`: the MQTT 3.1.1 packets libcurl sends and checks.
//! - `rtsp`: libcurl's RTSP requests, the CSeq and Session checks, interleaved frames.
//! - `telnet`: option negotiation and the byte stream's escaping.
pub mod dict;
pub mod gopher;
pub mod mqtt;
pub mod rtsp;
pub mod telnet;
pub mod tftp;

/// The options of TELNET, MQTT and RTSP, allocated once one is set (see `engine::rare`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProtoOptions {
    /// TELNETOPTIONS as given ("NAME=value"), read when a telnet transfer starts.
    pub telnet: Vec<String>,
    /// RTSP_REQUEST (RTSPREQ_*; 0: unset, OPTIONS).
    pub rtsp_request: u8,
    pub rtsp_stream_uri: Option<String>,
    pub rtsp_transport: Option<String>,
}

crate::rare_defaults!(
    ProtoOptions = ProtoOptions { telnet: Vec::new(), rtsp_request: 0, rtsp_stream_uri: None, rtsp_transport: None }
);

/// Percent-decoding as libcurl does it for these protocols' paths: a %00 is refused always, and
/// any control character with `reject_ctrl`. None: refused.
pub fn unescape(s: &str, reject_ctrl: bool) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let mut c = b[i];
        i += 1;
        if c == b'%' {
            let hex = |x: u8| (x as char).to_digit(16);
            if let (Some(h), Some(l)) = (b.get(i).copied().and_then(hex), b.get(i + 1).copied().and_then(hex)) {
                c = (h * 16 + l) as u8;
                i += 2;
            }
        }
        if c == 0 || (reject_ctrl && c < 0x20) {
            return None;
        }
        out.push(c);
    }
    Some(out)
}
