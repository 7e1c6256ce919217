//! TFTP packets (RFC 1350) and the options of RFC 2347/2348/2349 in the order libcurl sends them
//! (tsize, blksize, timeout), with libcurl's mapping of TFTP errors to its codes.
//!
//! ```text
//!   Start ── RRQ/WRQ ──► server port
//!     │ OACK or DATA 1 (download)     │ OACK or ACK 0 (upload)      (from the server's new port,
//!     ▼                               ▼                              pinned from then on)
//!   Rx: DATA n ─► ACK n, a short block ends it    Tx: ACK n ─► DATA n+1, the ACK of a short block ends it
//! ```

use crate::engine::error::code;

pub const RRQ: u16 = 1;
pub const WRQ: u16 = 2;
pub const DATA: u16 = 3;
pub const ACK: u16 = 4;
pub const ERROR: u16 = 5;
pub const OACK: u16 = 6;

pub const BLKSIZE_DEFAULT: usize = 512;
pub const BLKSIZE_MIN: i64 = 8;
pub const BLKSIZE_MAX: i64 = 65464;

/// libcurl's CURLcodes for TFTP.
pub const TFTP_NOTFOUND: i32 = 68;
pub const TFTP_PERM: i32 = 69;
pub const REMOTE_DISK_FULL: i32 = 70;
pub const TFTP_ILLEGAL: i32 = 71;
pub const TFTP_UNKNOWNID: i32 = 72;
pub const REMOTE_FILE_EXISTS: i32 = 73;
pub const TFTP_NOSUCHUSER: i32 = 74;

/// TFTP_BLKSIZE as libcurl stores it: below the minimum it is the minimum, above the maximum the
/// maximum (a negative value is refused before this).
pub fn clamp_blksize(v: i64) -> usize {
    v.clamp(BLKSIZE_MIN, BLKSIZE_MAX) as usize
}

/// The CURLcode of a TFTP ERROR packet's code (RFC 1350 and 2347), as libcurl maps them: codes
/// it has no name for (8, option refused, among them) end as an aborted transfer.
pub fn error_code(tftp: u16) -> i32 {
    match tftp {
        1 => TFTP_NOTFOUND,
        2 => TFTP_PERM,
        3 => REMOTE_DISK_FULL,
        0 | 4 => TFTP_ILLEGAL,
        5 => TFTP_UNKNOWNID,
        6 => REMOTE_FILE_EXISTS,
        7 => TFTP_NOSUCHUSER,
        _ => code::ABORTED_BY_CALLBACK,
    }
}

/// What the first packet asks for.
pub struct Request<'a> {
    pub upload: bool,
    pub filename: &'a [u8],
    pub netascii: bool,
    /// None: TFTP_NO_OPTIONS. Some((tsize, blksize, timeout)).
    pub options: Option<(i64, usize, u64)>,
}

/// The RRQ or WRQ packet.
pub fn request(r: &Request<'_>) -> Vec<u8> {
    let mut p = Vec::with_capacity(r.filename.len() + 64);
    p.extend_from_slice(&(if r.upload { WRQ } else { RRQ }).to_be_bytes());
    p.extend_from_slice(r.filename);
    p.push(0);
    p.extend_from_slice(if r.netascii { b"netascii" } else { b"octet" });
    p.push(0);
    if let Some((tsize, blksize, timeout)) = r.options {
        for (k, v) in [("tsize", tsize.to_string()), ("blksize", blksize.to_string()), ("timeout", timeout.to_string())]
        {
            p.extend_from_slice(k.as_bytes());
            p.push(0);
            p.extend_from_slice(v.as_bytes());
            p.push(0);
        }
    }
    p
}

/// An ACK of `block`.
pub fn ack(block: u16) -> [u8; 4] {
    let [a, b] = ACK.to_be_bytes();
    let [c, d] = block.to_be_bytes();
    [a, b, c, d]
}

/// The header of a DATA packet; the block's bytes follow it.
pub fn data_header(block: u16) -> [u8; 4] {
    let [a, b] = DATA.to_be_bytes();
    let [c, d] = block.to_be_bytes();
    [a, b, c, d]
}

/// A packet received.
#[derive(Debug, PartialEq)]
pub enum Packet<'a> {
    Data {
        block: u16,
        data: &'a [u8],
    },
    Ack(u16),
    /// The error code and the server's message when it is NUL-terminated.
    Error {
        code: u16,
        msg: Option<&'a [u8]>,
    },
    /// The option/value pairs; None when a value has no terminating NUL.
    Oack(Option<Vec<(&'a [u8], &'a [u8])>>),
    Other(u16),
}

/// Reads a packet; None when it is shorter than libcurl accepts (4 bytes).
pub fn parse(p: &[u8]) -> Option<Packet<'_>> {
    if p.len() < 4 {
        return None;
    }
    let op = u16::from_be_bytes([p[0], p[1]]);
    let num = u16::from_be_bytes([p[2], p[3]]);
    Some(match op {
        DATA => Packet::Data { block: num, data: &p[4..] },
        ACK => Packet::Ack(num),
        ERROR => {
            let rest = &p[4..];
            let msg = rest.iter().position(|&b| b == 0).map(|end| &rest[..end]);
            Packet::Error { code: num, msg }
        }
        OACK => Packet::Oack(oack_pairs(&p[2..])),
        other => Packet::Other(other),
    })
}

fn oack_pairs(mut rest: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let k_end = rest.iter().position(|&b| b == 0)?;
        let (k, after) = (&rest[..k_end], &rest[k_end + 1..]);
        let v_end = after.iter().position(|&b| b == 0)?;
        out.push((k, &after[..v_end]));
        rest = &after[v_end + 1..];
    }
    Some(out)
}

/// A decimal number at the start of `v` as strtol reads it (0 when there is none).
/// The number an OACK value starts with, read as libcurl 8 reads it: digits first (no sign, no
/// space), at most `max`; None when they are missing or too many.
pub fn oack_number(v: &[u8], max: i64) -> Option<i64> {
    let digits = v.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    v[..digits].iter().try_fold(0i64, |n, d| n.checked_mul(10)?.checked_add(i64::from(d - b'0'))).filter(|n| *n <= max)
}

pub fn leading_number(v: &[u8]) -> i64 {
    let s = std::str::from_utf8(v).unwrap_or("").trim_start();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    if neg {
        -n
    } else {
        n
    }
}

/// libcurl's retry arithmetic from the time left (ms; 0 for none): (retry interval in seconds,
/// most retries).
pub fn retry_plan(timeout_ms: i64) -> (u64, u32) {
    let maxtime = if timeout_ms > 0 { ((timeout_ms + 500) / 1000) as u64 } else { 3600 };
    let retry_max = (maxtime / 5).clamp(3, 50);
    let retry_time = (maxtime / retry_max).max(1);
    (retry_time, retry_max as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_libcurls_options_in_order() {
        let r = Request { upload: false, filename: b"a/b.bin", netascii: false, options: Some((0, 512, 6)) };
        assert_eq!(request(&r), b"\x00\x01a/b.bin\x00octet\x00tsize\x000\x00blksize\x00512\x00timeout\x006\x00");
        let w = Request { upload: true, filename: b"x", netascii: true, options: None };
        assert_eq!(request(&w), b"\x00\x02x\x00netascii\x00");
    }

    #[test]
    fn packets_parse() {
        assert_eq!(parse(b"\x00\x03\x00\x07abc"), Some(Packet::Data { block: 7, data: b"abc" }));
        assert_eq!(parse(b"\x00\x04\xff\xff"), Some(Packet::Ack(65535)));
        assert_eq!(
            parse(b"\x00\x05\x00\x01File not found\x00"),
            Some(Packet::Error { code: 1, msg: Some(b"File not found") })
        );
        assert_eq!(parse(b"\x00\x05\x00\x02no nul"), Some(Packet::Error { code: 2, msg: None }));
        assert_eq!(
            parse(b"\x00\x06tsize\x0012\x00blksize\x00512\x00"),
            Some(Packet::Oack(Some(vec![(&b"tsize"[..], &b"12"[..]), (&b"blksize"[..], &b"512"[..])])))
        );
        assert_eq!(parse(b"\x00\x06tsize\x0012"), Some(Packet::Oack(None)));
        assert_eq!(oack_number(b"512", 65464), Some(512));
        assert_eq!(oack_number(b"99999999", 65464), None);
        assert_eq!(oack_number(b"-5", i64::MAX), None);
        assert_eq!(oack_number(b"99999999999999999999999", i64::MAX), None);
        assert_eq!(oack_number(b"zz", i64::MAX), None);
        assert_eq!(parse(b"\x00\x09\x00\x00"), Some(Packet::Other(9)));
        assert_eq!(parse(b"\x00\x03\x00"), None);
    }

    #[test]
    fn retry_plan_is_libcurls() {
        assert_eq!(retry_plan(5000), (1, 3));
        assert_eq!(retry_plan(300_000), (6, 50));
        assert_eq!(retry_plan(0), (72, 50));
        assert_eq!(retry_plan(60_000), (5, 12));
    }

    #[test]
    fn blksize_and_errors_map_as_libcurl() {
        assert_eq!((clamp_blksize(0), clamp_blksize(4), clamp_blksize(100_000)), (8, 8, 65464));
        assert_eq!(error_code(1), 68);
        assert_eq!(error_code(0), 71);
        assert_eq!(error_code(8), code::ABORTED_BY_CALLBACK);
        assert_eq!(leading_number(b"3000"), 3000);
        assert_eq!(leading_number(b"12x"), 12);
        assert_eq!(leading_number(b""), 0);
    }
}
