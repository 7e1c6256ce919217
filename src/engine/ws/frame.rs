//! The WebSocket frame codec (RFC 6455 section 5), bytes only: no sockets, no state beyond a frame.
//!
//! A client masks what it sends and must refuse masked frames from a server; control frames carry
//! at most 125 bytes and are never fragmented.

use crate::engine::error::{code, Error, Result};

pub const OP_CONT: u8 = 0;
pub const OP_TEXT: u8 = 1;
pub const OP_BINARY: u8 = 2;
pub const OP_CLOSE: u8 = 8;
pub const OP_PING: u8 = 9;
pub const OP_PONG: u8 = 10;

/// libcurl's CURLWS_* frame flags.
pub const TEXT: u32 = 1;
pub const BINARY: u32 = 2;
pub const CONT: u32 = 4;
pub const CLOSE: u32 = 8;
pub const PING: u32 = 16;
pub const OFFSET: u32 = 32;
pub const PONG: u32 = 64;

/// One frame header as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub fin: bool,
    pub opcode: u8,
    pub len: u64,
}

fn bad(msg: &str) -> Error {
    Error::new(code::RECV_ERROR, msg.to_string())
}

/// Parses a server frame header at the start of `buf`: Ok(None) while it is incomplete, else the
/// header and its size in bytes.
pub fn parse_header(buf: &[u8]) -> Result<Option<(Header, usize)>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(bad(&format!("[WS] invalid reserved bits: {b0:02x}")));
    }
    let opcode = b0 & 0x0f;
    let fin = b0 & 0x80 != 0;
    if !matches!(opcode, OP_CONT | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG) {
        return Err(bad(&format!("[WS] invalid opcode: {b0:02x}")));
    }
    if b1 & 0x80 != 0 {
        return Err(bad("[WS] masked input frame"));
    }
    let (len, hlen) = match b1 & 0x7f {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            let n = u64::from_be_bytes(b);
            if n >> 63 != 0 {
                return Err(bad("[WS] frame length longer than 63 bits not supported"));
            }
            (n, 10)
        }
        n => (n as u64, 2),
    };
    if opcode >= OP_CLOSE && (!fin || len > 125) {
        return Err(bad("[WS] invalid control frame"));
    }
    Ok(Some((Header { fin, opcode, len }, hlen)))
}

/// The libcurl flags describing a received frame; `msg_flags` is the type of the message a
/// continuation frame belongs to.
pub fn flags_of(h: &Header, msg_flags: u32) -> u32 {
    let base = match h.opcode {
        OP_TEXT => TEXT,
        OP_BINARY => BINARY,
        OP_CLOSE => CLOSE,
        OP_PING => PING,
        OP_PONG => PONG,
        _ => msg_flags,
    };
    if h.fin || h.opcode >= OP_CLOSE {
        base
    } else {
        base | CONT
    }
}

/// Writes a masked client frame header for a payload of `len` bytes.
pub fn write_header(out: &mut Vec<u8>, fin: bool, opcode: u8, len: u64, mask: [u8; 4]) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(&mask);
}

/// Appends `data` masked with `mask`, `pos` being the offset of `data[0]` in the frame's payload.
pub fn put_masked(out: &mut Vec<u8>, data: &[u8], mask: [u8; 4], pos: u64) {
    out.extend(data.iter().enumerate().map(|(i, b)| b ^ mask[((pos + i as u64) % 4) as usize]));
}

/// A fresh random masking key (RFC 6455 5.3 wants one per frame, unpredictable).
pub fn new_mask() -> [u8; 4] {
    use ring::rand::SecureRandom;
    let mut m = [0u8; 4];
    // SystemRandom only fails when the OS has no randomness at all; a zero key is still valid framing.
    let _ = ring::rand::SystemRandom::new().fill(&mut m);
    m
}

/// The opcode libcurl's send flags ask for; None when they name no frame type.
pub fn opcode_for(flags: u32) -> Option<u8> {
    if flags & TEXT != 0 {
        Some(OP_TEXT)
    } else if flags & BINARY != 0 {
        Some(OP_BINARY)
    } else if flags & CLOSE != 0 {
        Some(OP_CLOSE)
    } else if flags & PING != 0 {
        Some(OP_PING)
    } else if flags & PONG != 0 {
        Some(OP_PONG)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmask(frame: &[u8]) -> (u8, Vec<u8>) {
        let (len, off) = match frame[1] & 0x7f {
            126 => (u16::from_be_bytes([frame[2], frame[3]]) as usize, 4),
            127 => (u64::from_be_bytes(frame[2..10].try_into().unwrap()) as usize, 10),
            n => (n as usize, 2),
        };
        assert_ne!(frame[1] & 0x80, 0, "client frames are masked");
        let m = &frame[off..off + 4];
        let p = &frame[off + 4..];
        assert_eq!(p.len(), len);
        (frame[0], p.iter().enumerate().map(|(i, b)| b ^ m[i % 4]).collect())
    }

    #[test]
    fn encodes_all_length_forms() {
        for n in [0usize, 5, 125, 126, 65535, 65536, 70000] {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut out = Vec::new();
            let m = new_mask();
            write_header(&mut out, true, OP_BINARY, n as u64, m);
            put_masked(&mut out, &data[..n / 2], m, 0);
            put_masked(&mut out, &data[n / 2..], m, (n / 2) as u64);
            let (b0, p) = unmask(&out);
            assert_eq!(b0, 0x82);
            assert_eq!(p, data);
        }
    }

    #[test]
    fn parses_one_byte_at_a_time() {
        let frames: Vec<(Vec<u8>, Header, usize)> = vec![
            (vec![0x81, 5], Header { fin: true, opcode: OP_TEXT, len: 5 }, 2),
            (vec![0x02, 126, 1, 0], Header { fin: false, opcode: OP_BINARY, len: 256 }, 4),
            (vec![0x80, 127, 0, 0, 0, 0, 0, 1, 0, 0], Header { fin: true, opcode: OP_CONT, len: 65536 }, 10),
            (vec![0x89, 0], Header { fin: true, opcode: OP_PING, len: 0 }, 2),
        ];
        for (bytes, want, hlen) in frames {
            for k in 0..bytes.len() {
                assert_eq!(parse_header(&bytes[..k]).unwrap(), None, "{bytes:?} at {k}");
            }
            assert_eq!(parse_header(&bytes).unwrap(), Some((want, hlen)));
        }
    }

    #[test]
    fn refuses_what_a_server_must_not_send() {
        assert_eq!(parse_header(&[0x81, 0x85]).unwrap_err().code, code::RECV_ERROR); // masked
        assert!(parse_header(&[0xc1, 0x01]).is_err()); // RSV1 without an extension
        assert!(parse_header(&[0x83, 0x01]).is_err()); // reserved opcode
        assert!(parse_header(&[0x09, 0x01]).is_err()); // fragmented ping
        assert!(parse_header(&[0x88, 126, 0, 200]).is_err()); // long close
    }

    #[test]
    fn flags_follow_libcurl() {
        let h = |fin, opcode| Header { fin, opcode, len: 0 };
        assert_eq!(flags_of(&h(true, OP_TEXT), 0), TEXT);
        assert_eq!(flags_of(&h(false, OP_TEXT), 0), TEXT | CONT);
        assert_eq!(flags_of(&h(false, OP_CONT), BINARY), BINARY | CONT);
        assert_eq!(flags_of(&h(true, OP_CONT), BINARY), BINARY);
        assert_eq!(flags_of(&h(true, OP_PONG), 0), PONG);
        assert_eq!(opcode_for(TEXT | CONT), Some(OP_TEXT));
        assert_eq!(opcode_for(CONT), None);
    }
}
