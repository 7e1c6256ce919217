//! RTSP 1.0 (RFC 2326) as libcurl speaks it: one request a transfer (RTSP_REQUEST), sent to
//! RTSP_STREAM_URI ("*" when unset), numbered by the handle's CSeq and carrying the handle's
//! session id; the response's CSeq must match, its Session is kept (or must match the one kept).
//! Interleaved data ("$", channel, 16-bit length, payload) is handed on whole, for the channels
//! a Transport header ("interleaved=a-b") announced.
//!
//! | request        | sent with                                                          |
//! |----------------|--------------------------------------------------------------------|
//! | DESCRIBE       | Accept: application/sdp                                            |
//! | SETUP          | Transport: RTSP_TRANSPORT (refused without one)                    |
//! | ANNOUNCE, GET_PARAMETER, SET_PARAMETER | the POSTFIELDS body, Content-Length, Content-Type |
//! | RECEIVE        | nothing: only interleaved data is read                             |

use crate::engine::error::{code, Error};

/// CURLE_RTSP_CSEQ_ERROR and CURLE_RTSP_SESSION_ERROR.
pub const RTSP_CSEQ_ERROR: i32 = 85;
pub const RTSP_SESSION_ERROR: i32 = 86;

pub const OPTIONS: u8 = 1;
pub const DESCRIBE: u8 = 2;
pub const ANNOUNCE: u8 = 3;
pub const SETUP: u8 = 4;
pub const GET_PARAMETER: u8 = 8;
pub const SET_PARAMETER: u8 = 9;
pub const RECEIVE: u8 = 11;

const NAMES: [&str; 11] = [
    "OPTIONS",
    "DESCRIBE",
    "ANNOUNCE",
    "SETUP",
    "PLAY",
    "PAUSE",
    "TEARDOWN",
    "GET_PARAMETER",
    "SET_PARAMETER",
    "RECORD",
    "RECEIVE",
];

/// What an easy handle keeps from one RTSP transfer to the next (libcurl keeps these in the
/// handle, not the connection).
#[derive(Debug, Default, Clone)]
pub struct RtspState {
    /// The CSeq of the next request (0: not started, the first is 1).
    pub next_client_cseq: i64,
    /// The CSeq expected of the server's next request (RTSP_SERVER_CSEQ).
    pub next_server_cseq: i64,
    /// The last CSeq received.
    pub cseq_recv: i64,
    /// RTSP_SESSION_ID, or the id the first response with a Session header gave.
    pub session_id: Option<String>,
    /// Interleaved channels announced by a Transport header (bit per channel).
    pub channels: [u64; 4],
}

impl RtspState {
    pub fn allows(&self, ch: u8) -> bool {
        self.channels[usize::from(ch / 64)] & (1 << (ch % 64)) != 0
    }
}

/// What goes into a request besides the handle's state.
pub struct Request<'a> {
    pub kind: u8,
    pub stream_uri: Option<&'a str>,
    pub transport: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// HTTPHEADER lines, sent after libcurl's own.
    pub custom: &'a [String],
    pub body: Option<&'a [u8]>,
}

fn has_header(custom: &[String], name: &str) -> bool {
    custom.iter().any(|h| h.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name)))
}

/// The request head (and body) for CSeq `cseq`; Err for a SETUP without a Transport.
pub fn request(r: &Request<'_>, cseq: i64, session: Option<&str>) -> Result<Vec<u8>, Error> {
    let name = NAMES[usize::from(r.kind.clamp(1, 11) - 1)];
    let mut h = format!("{name} {} RTSP/1.0\r\nCSeq: {cseq}\r\n", r.stream_uri.unwrap_or("*"));
    if let Some(s) = session {
        h.push_str(&format!("Session: {s}\r\n"));
    }
    if r.kind == SETUP && !has_header(r.custom, "Transport") {
        match r.transport {
            Some(t) => h.push_str(&format!("Transport: {t}\r\n")),
            None => {
                return Err(Error::new(
                    code::BAD_FUNCTION_ARGUMENT,
                    "Refusing to issue an RTSP SETUP without a Transport: header.",
                ))
            }
        }
    }
    if r.kind == DESCRIBE && !has_header(r.custom, "Accept") {
        h.push_str("Accept: application/sdp\r\n");
    }
    if let Some(ua) = r.user_agent.filter(|_| !has_header(r.custom, "User-Agent")) {
        h.push_str(&format!("User-Agent: {ua}\r\n"));
    }
    for c in r.custom {
        // "Name:" alone removes a header; "Name;" sends it empty, as for HTTP.
        if let Some(n) = c.strip_suffix(';') {
            h.push_str(&format!("{n}:\r\n"));
        } else if c.split_once(':').is_some_and(|(_, v)| !v.trim().is_empty()) {
            h.push_str(c);
            h.push_str("\r\n");
        }
    }
    let body = r.body.filter(|_| matches!(r.kind, ANNOUNCE | GET_PARAMETER | SET_PARAMETER));
    if let Some(b) = body.filter(|b| !b.is_empty()) {
        if !has_header(r.custom, "Content-Length") {
            h.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        if !has_header(r.custom, "Content-Type") {
            h.push_str(if r.kind == ANNOUNCE {
                "Content-Type: application/sdp\r\n"
            } else {
                "Content-Type: text/parameters\r\n"
            });
        }
    }
    h.push_str("\r\n");
    Ok(h.into_bytes())
}

/// A response header line's effect on the handle's state: CSeq, Session, Transport.
pub fn header(st: &mut RtspState, line: &[u8], cseq_recv: &mut Option<i64>) -> Result<(), Error> {
    let text = String::from_utf8_lossy(line);
    let Some((name, value)) = text.split_once(':') else { return Ok(()) };
    if name.eq_ignore_ascii_case("CSeq") {
        let v = value.trim_start();
        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
        let n = digits.parse::<i64>().map_err(|_| {
            Error::new(RTSP_CSEQ_ERROR, format!("Unable to read the CSeq header: [{}]", text.trim_end()))
        })?;
        *cseq_recv = Some(n);
        st.cseq_recv = n;
    } else if name.eq_ignore_ascii_case("Session") {
        let start = value.trim_start_matches([' ', '\t']);
        let id: String = start.chars().take_while(|c| *c != ';' && !c.is_ascii_whitespace()).collect();
        if id.is_empty() {
            return Err(Error::new(RTSP_SESSION_ERROR, "Got a blank Session ID"));
        }
        match &st.session_id {
            Some(want) if *want != id => {
                return Err(Error::new(
                    RTSP_SESSION_ERROR,
                    format!("Got RTSP Session ID Line [{start}], but wanted ID [{want}]"),
                ))
            }
            Some(_) => {}
            None => st.session_id = Some(id),
        }
    } else if name.eq_ignore_ascii_case("Transport") {
        if let Some(p) = value.find("interleaved=") {
            let spec = &value[p + 12..];
            let num = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<u8>().ok();
            if let Some(a) = num(spec) {
                let rest = spec.trim_start_matches(|c: char| c.is_ascii_digit());
                let b = rest.strip_prefix('-').and_then(num).unwrap_or(a);
                for ch in a..=b.max(a) {
                    st.channels[usize::from(ch / 64)] |= 1 << (ch % 64);
                }
            }
        }
    }
    Ok(())
}

/// An interleaved frame at the start of `buf`: Some(total length) once whole, None while short.
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < 4 {
        return None;
    }
    let n = 4 + usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    (buf.len() >= n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: u8) -> Request<'static> {
        Request { kind, stream_uri: None, transport: None, user_agent: Some("ua"), custom: &[], body: None }
    }

    #[test]
    fn requests_as_libcurl_writes_them() {
        assert_eq!(
            request(&req(OPTIONS), 1, None).unwrap(),
            b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: ua\r\n\r\n"
        );
        let mut r = req(DESCRIBE);
        r.stream_uri = Some("rtsp://h/s");
        assert_eq!(
            request(&r, 2, None).unwrap(),
            b"DESCRIBE rtsp://h/s RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: ua\r\n\r\n"
        );
        assert_eq!(request(&req(SETUP), 3, None).unwrap_err().code, code::BAD_FUNCTION_ARGUMENT);
        let mut r = req(GET_PARAMETER);
        r.body = Some(b"x\r\n");
        r.user_agent = None;
        assert_eq!(
            request(&r, 4, Some("abc")).unwrap(),
            b"GET_PARAMETER * RTSP/1.0\r\nCSeq: 4\r\nSession: abc\r\nContent-Length: 3\r\nContent-Type: text/parameters\r\n\r\n"
        );
    }

    #[test]
    fn headers_update_the_state() {
        let mut st = RtspState::default();
        let mut got = None;
        header(&mut st, b"CSeq: 7\r\n", &mut got).unwrap();
        assert_eq!((got, st.cseq_recv), (Some(7), 7));
        header(&mut st, b"Session: 1234;timeout=60\r\n", &mut got).unwrap();
        assert_eq!(st.session_id.as_deref(), Some("1234"));
        let e = header(&mut st, b"Session:  zz;timeout=5\r\n", &mut got).unwrap_err();
        assert_eq!(e.msg, "Got RTSP Session ID Line [zz;timeout=5\r\n], but wanted ID [1234]");
        header(&mut st, b"Transport: RTP/AVP/TCP;interleaved=0-1\r\n", &mut got).unwrap();
        assert!(st.allows(0) && st.allows(1) && !st.allows(2));
        assert_eq!(frame_len(b"$\x00\x00\x02ab+"), Some(6));
        assert_eq!(frame_len(b"$\x00\x00\x02a"), None);
    }
}
