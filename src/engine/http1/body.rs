//! Response body framing: Content-Length, chunked (an explicit state machine), or to the end of the
//! connection.
//!
//! Chunked decoding, one byte class at a time, as libcurl reads it:
//!
//! ```text
//!  Size ──hex digit──► Size          (up to 17 digits, the value within i64)
//!   │ ──other byte───► Ext ──LF──► Data(n) ──n bytes──► AfterData ──CR──► AfterData
//!   │ ──LF──────────────────────┘       (n = 0: Trailer)     └──LF──► Size
//!  Trailer ──byte──► Trailer ──CR──► TrailerLf ──LF──► Trailer (a line out) or Done (empty line)
//!          ──LF────────────────────────────────┘
//! ```
//!
//! `BodyDecoder::decode` takes the unread input and returns the bytes used and at most one event;
//! body data is a range of the input, never copied.

use std::ops::Range;

use crate::engine::error::{code, Error, Result};

/// Hex digits a chunk size may have.
pub const MAX_HEX: usize = 17;
/// A trailer line plus CRLF must be shorter than this.
pub const MAX_TRAILER: usize = 4096;

/// How a response body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    None,
    Length(u64),
    Chunked,
    /// Read until the server closes the connection.
    Close,
}

/// The framing of a response: `head_request` for HEAD or NOBODY, `chunked` when Transfer-Encoding
/// ends in chunked, `length` the valid Content-Length (None when absent or ignored).
pub fn framing(status: u16, version: u8, head_request: bool, chunked: bool, length: Option<u64>) -> Framing {
    let no_body = version != 9 && head_request || status == 204 || status == 304 || (100..200).contains(&status);
    if no_body {
        Framing::None
    } else if version == 9 {
        Framing::Close
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::Close
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum BodyEvent {
    /// Body bytes: this range of the input given to `decode`.
    Data(Range<usize>),
    /// A chunked trailer line, with CRLF, to deliver as a header.
    Trailer(Vec<u8>),
    /// The body is complete; the connection is at a message boundary.
    End,
}

#[derive(Debug, PartialEq, Eq)]
enum Chunk {
    Size { digits: [u8; MAX_HEX], n: u8 },
    Ext { size: u64 },
    Data(u64),
    AfterData,
    Trailer(Vec<u8>),
    TrailerLf(Vec<u8>),
    Done,
}

/// Decodes one response body.
#[derive(Debug, PartialEq, Eq)]
pub struct BodyDecoder(Kind);

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Length(u64),
    Close,
    Chunked(Chunk),
    /// Chunked, with the bytes handed on as received (HTTP_TRANSFER_DECODING=0): the chunks are
    /// still parsed to find the end of the body, and trailers stay in the data. A fault found in
    /// the framing waits until the bytes read with it are handed on, as in libcurl.
    RawChunked(Chunk, Option<Error>),
    None,
}

fn malformed() -> Error {
    Error::new(code::RECV_ERROR, "Malformed encoding found in chunked-encoding")
}

impl BodyDecoder {
    pub fn new(f: Framing) -> BodyDecoder {
        BodyDecoder(match f {
            Framing::None => Kind::None,
            Framing::Length(n) => Kind::Length(n),
            Framing::Close => Kind::Close,
            Framing::Chunked => Kind::Chunked(Chunk::Size { digits: [0; MAX_HEX], n: 0 }),
        })
    }

    /// As `new`, but a chunked body comes out undecoded (sizes, extensions and trailers
    /// included), as libcurl delivers it with HTTP_TRANSFER_DECODING switched off.
    pub fn raw(f: Framing) -> BodyDecoder {
        match f {
            Framing::Chunked => BodyDecoder(Kind::RawChunked(Chunk::Size { digits: [0; MAX_HEX], n: 0 }, None)),
            f => BodyDecoder::new(f),
        }
    }

    /// Body bytes still expected (Content-Length framing).
    pub fn remaining(&self) -> Option<u64> {
        match self.0 {
            Kind::Length(n) => Some(n),
            _ => None,
        }
    }

    /// Decodes from `input` (the unread bytes). Returns the bytes used and at most one event; no
    /// event means everything usable was used and more input is needed. Data ranges hold at most
    /// `max` bytes.
    pub fn decode(&mut self, input: &[u8], max: usize) -> Result<(usize, Option<BodyEvent>)> {
        match &mut self.0 {
            Kind::None => Ok((0, Some(BodyEvent::End))),
            Kind::Length(0) => Ok((0, Some(BodyEvent::End))),
            Kind::Length(left) => {
                let take = input.len().min(max).min(usize::try_from(*left).unwrap_or(usize::MAX));
                if take == 0 {
                    return Ok((0, None));
                }
                *left -= take as u64;
                Ok((take, Some(BodyEvent::Data(0..take))))
            }
            Kind::Close => {
                let take = input.len().min(max);
                Ok((take, (take > 0).then_some(BodyEvent::Data(0..take))))
            }
            Kind::Chunked(c) => chunked(c, input, max),
            Kind::RawChunked(_, fault @ Some(_)) => Err(fault.take().unwrap_or_else(malformed)),
            Kind::RawChunked(c, fault) => match raw_chunked(c, input, max) {
                Err(e) if !input.is_empty() => {
                    *fault = Some(e);
                    Ok((input.len(), Some(BodyEvent::Data(0..input.len()))))
                }
                r => r,
            },
        }
    }

    /// What the end of the connection means now: Ok(true) a clean end at a message boundary,
    /// Ok(false) the end of a close-delimited body, or the error for a body cut short.
    pub fn at_eof(&self) -> Result<bool> {
        match &self.0 {
            Kind::None | Kind::Length(0) | Kind::Chunked(Chunk::Done) | Kind::RawChunked(Chunk::Done, None) => Ok(true),
            Kind::Close => Ok(false),
            Kind::Length(left) => {
                Err(Error::new(code::PARTIAL_FILE, format!("end of response with {left} bytes missing")))
            }
            Kind::Chunked(_) | Kind::RawChunked(..) => {
                Err(Error::new(code::PARTIAL_FILE, "transfer closed with outstanding read data remaining"))
            }
        }
    }
}

fn chunked(c: &mut Chunk, input: &[u8], max: usize) -> Result<(usize, Option<BodyEvent>)> {
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        match c {
            Chunk::Done => return Ok((i, Some(BodyEvent::End))),
            Chunk::Size { digits, n } => {
                if b.is_ascii_hexdigit() {
                    if *n as usize == MAX_HEX {
                        return Err(Error::new(code::RECV_ERROR, format!("chunk hex-length longer than {MAX_HEX}")));
                    }
                    digits[*n as usize] = b;
                    *n += 1;
                    i += 1;
                    continue;
                }
                if *n == 0 {
                    return Err(Error::new(
                        code::RECV_ERROR,
                        format!("chunk hex-length char not a hex digit: 0x{b:x}"),
                    ));
                }
                let hex = &digits[..*n as usize];
                let size =
                    std::str::from_utf8(hex).ok().and_then(|s| i64::from_str_radix(s, 16).ok()).ok_or_else(|| {
                        Error::new(code::RECV_ERROR, format!("invalid chunk size: '{}'", String::from_utf8_lossy(hex)))
                    })?;
                // Extensions and anything else up to the LF are skipped (this byte included).
                *c = Chunk::Ext { size: size as u64 };
            }
            Chunk::Ext { size } => {
                i += 1;
                if b == b'\n' {
                    *c = if *size == 0 { Chunk::Trailer(Vec::new()) } else { Chunk::Data(*size) };
                }
            }
            Chunk::Data(left) => {
                let take = (input.len() - i).min(max).min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= take as u64;
                if *left == 0 {
                    *c = Chunk::AfterData;
                }
                return Ok((i + take, Some(BodyEvent::Data(i..i + take))));
            }
            Chunk::AfterData => {
                i += 1;
                match b {
                    b'\r' => {}
                    b'\n' => *c = Chunk::Size { digits: [0; MAX_HEX], n: 0 },
                    _ => return Err(malformed()),
                }
            }
            Chunk::Trailer(line) => {
                i += 1;
                match b {
                    b'\r' => *c = Chunk::TrailerLf(std::mem::take(line)),
                    b'\n' => return trailer_end(c, i),
                    _ => {
                        if line.len() + 2 >= MAX_TRAILER - 1 {
                            return Err(Error::new(code::TOO_LARGE, "Out of memory in chunked-encoding"));
                        }
                        line.push(b);
                    }
                }
            }
            Chunk::TrailerLf(_) => {
                i += 1;
                if b != b'\n' {
                    return Err(malformed());
                }
                return trailer_end(c, i);
            }
        }
    }
    if *c == Chunk::Done {
        return Ok((i, Some(BodyEvent::End)));
    }
    Ok((i, None))
}

/// Chunked framing parsed but not removed: everything parsed is one data range (at most about
/// `max` bytes of it chunk data), and the end comes once the last byte has been handed on.
fn raw_chunked(c: &mut Chunk, input: &[u8], max: usize) -> Result<(usize, Option<BodyEvent>)> {
    let mut used = 0;
    loop {
        let (n, ev) = chunked(c, &input[used..], max - (used.min(max)))?;
        used += n;
        match ev {
            Some(BodyEvent::End) if used == 0 => return Ok((0, Some(BodyEvent::End))),
            Some(BodyEvent::Data(_)) | Some(BodyEvent::Trailer(_)) if used < max && used < input.len() => {}
            _ => return Ok((used, (used > 0).then_some(BodyEvent::Data(0..used)))),
        }
    }
}

/// A trailer line ended at input position `i`: deliver it, or finish on the empty line.
fn trailer_end(c: &mut Chunk, i: usize) -> Result<(usize, Option<BodyEvent>)> {
    let line = match c {
        Chunk::Trailer(l) | Chunk::TrailerLf(l) => std::mem::take(l),
        _ => Vec::new(),
    };
    if line.is_empty() {
        *c = Chunk::Done;
        return Ok((i, Some(BodyEvent::End)));
    }
    if line.contains(&0) {
        return Err(Error::new(code::WEIRD_SERVER_REPLY, "NUL byte in header"));
    }
    *c = Chunk::Trailer(Vec::new());
    let mut out = line;
    out.extend_from_slice(b"\r\n");
    Ok((i, Some(BodyEvent::Trailer(out))))
}

/// Decodes a whole body from `input` (a fuzz target and test entry point): the body bytes, the
/// trailer lines, and whether it ended (Ok(None) when the input stopped first).
pub fn decode_all(f: Framing, input: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>, bool)> {
    let mut d = BodyDecoder::new(f);
    let (mut body, mut trailers) = (Vec::new(), Vec::new());
    let mut at = 0;
    loop {
        let (n, ev) = d.decode(&input[at..], usize::MAX)?;
        match ev {
            Some(BodyEvent::Data(r)) => body.extend_from_slice(&input[at + r.start..at + r.end]),
            Some(BodyEvent::Trailer(t)) => trailers.push(t),
            Some(BodyEvent::End) => return Ok((body, trailers, true)),
            None => return Ok((body, trailers, false)),
        }
        at += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of the given sizes (cycling), keeping unread bytes as a socket
    /// buffer would, and collects what comes out.
    fn feed(f: Framing, input: &[u8], sizes: &[usize], max: usize) -> Result<(Vec<u8>, Vec<Vec<u8>>, bool)> {
        feed_to(BodyDecoder::new(f), input, sizes, max)
    }

    fn feed_to(mut d: BodyDecoder, input: &[u8], sizes: &[usize], max: usize) -> Result<(Vec<u8>, Vec<Vec<u8>>, bool)> {
        let mut buf = Vec::new();
        let (mut body, mut trailers) = (Vec::new(), Vec::new());
        let mut fed = 0;
        let mut k = 0;
        loop {
            loop {
                let (n, ev) = d.decode(&buf, max)?;
                match ev {
                    Some(BodyEvent::Data(r)) => body.extend_from_slice(&buf[r]),
                    Some(BodyEvent::Trailer(t)) => trailers.push(t),
                    Some(BodyEvent::End) => {
                        buf.drain(..n);
                        return Ok((body, trailers, true));
                    }
                    None => {
                        buf.drain(..n);
                        break;
                    }
                }
                buf.drain(..n);
            }
            if fed == input.len() {
                d.at_eof()?;
                return Ok((body, trailers, false));
            }
            let step = sizes[k % sizes.len()].max(1).min(input.len() - fed);
            k += 1;
            buf.extend_from_slice(&input[fed..fed + step]);
            fed += step;
        }
    }

    const CHUNKED: &[u8] = b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-T: 1\nX-U: 2\r\n\r\n";

    #[test]
    fn chunked_whole_and_split_anywhere() {
        let want =
            (b"helloabcdefghijklmnopqrstuvwxyz".to_vec(), vec![b"X-T: 1\r\n".to_vec(), b"X-U: 2\r\n".to_vec()], true);
        assert_eq!(decode_all(Framing::Chunked, CHUNKED).unwrap(), want);
        assert_eq!(feed(Framing::Chunked, CHUNKED, &[1], usize::MAX).unwrap(), want);
        assert_eq!(feed(Framing::Chunked, CHUNKED, &[1], 3).unwrap(), want);
        for cut in 1..CHUNKED.len() {
            assert_eq!(feed(Framing::Chunked, CHUNKED, &[cut, CHUNKED.len()], 7).unwrap(), want, "cut {cut}");
        }
        let mut s: u64 = 12345;
        for _ in 0..200 {
            let mut sizes = Vec::new();
            for _ in 0..5 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                sizes.push((s % 9) as usize + 1);
            }
            assert_eq!(feed(Framing::Chunked, CHUNKED, &sizes, 4).unwrap(), want, "{sizes:?}");
        }
    }

    #[test]
    fn chunked_lenient_where_libcurl_is() {
        for input in [&b"5\nhello\n0\n\n"[..], b"5 \r\nhello\r\r\r\n0\r\n\r\n", b"5zz\r\nhello\r\n0\r\n\n"] {
            let (body, _, done) = decode_all(Framing::Chunked, input).unwrap();
            assert_eq!((body.as_slice(), done), (&b"hello"[..], true), "{input:?}");
        }
        let seventeen = b"00000000000000005\r\nhello\r\n0\r\n\r\n";
        assert_eq!(decode_all(Framing::Chunked, seventeen).unwrap().0, b"hello");
    }

    fn chunk_err(input: &[u8]) -> Error {
        feed(Framing::Chunked, input, &[1], usize::MAX).unwrap_err()
    }

    #[test]
    fn chunked_strict_where_libcurl_is() {
        let e = chunk_err(b"5\r\nhelloXX0\r\n\r\n");
        assert_eq!((e.code, e.msg.as_str()), (56, "Malformed encoding found in chunked-encoding"));
        let e = chunk_err(b"zz\r\nhello\r\n");
        assert_eq!((e.code, e.msg.as_str()), (56, "chunk hex-length char not a hex digit: 0x7a"));
        assert_eq!(chunk_err(b"\r\nhello\r\n").msg, "chunk hex-length char not a hex digit: 0xd");
        assert_eq!(chunk_err(b"000000000000000005\r\n").msg, "chunk hex-length longer than 17");
        assert_eq!(chunk_err(b"ffffffffffffffff\r\n").msg, "invalid chunk size: 'ffffffffffffffff'");
        assert_eq!(chunk_err(b"8000000000000000\r\n").msg, "invalid chunk size: '8000000000000000'");
        let e = chunk_err(b"0\r\nX-T: \x001\r\n\r\n");
        assert_eq!((e.code, e.msg.as_str()), (8, "NUL byte in header"));
        let long = |n: usize| {
            let mut v = b"0\r\n".to_vec();
            v.resize(3 + n, b'a');
            v.extend_from_slice(b"\r\n\r\n");
            v
        };
        assert!(feed(Framing::Chunked, &long(MAX_TRAILER - 3), &[1], 9).is_ok());
        let e = chunk_err(&long(MAX_TRAILER - 2));
        assert_eq!((e.code, e.msg.as_str()), (100, "Out of memory in chunked-encoding"));
        assert_eq!(chunk_err(b"0\r\nX: 1\rZ").msg, "Malformed encoding found in chunked-encoding");
    }

    #[test]
    fn eof_inside_each_state() {
        for input in [&b"5"[..], b"5;x", b"5\r\nhel", b"5\r\nhello", b"5\r\nhello\r", b"0\r\n", b"0\r\nX: 1\r"] {
            let e = feed(Framing::Chunked, input, &[1], 9).unwrap_err();
            assert_eq!(e.code, code::PARTIAL_FILE, "{input:?}");
            assert_eq!(e.msg, "transfer closed with outstanding read data remaining");
        }
    }

    #[test]
    fn length_and_close_framing() {
        assert_eq!(feed(Framing::Length(5), b"hello", &[1], 2).unwrap(), (b"hello".to_vec(), vec![], true));
        // Bytes past the length stay unread (the next response's).
        let mut d = BodyDecoder::new(Framing::Length(3));
        assert_eq!(d.decode(b"abcdef", 100).unwrap(), (3, Some(BodyEvent::Data(0..3))));
        assert_eq!(d.decode(b"def", 100).unwrap(), (0, Some(BodyEvent::End)));
        let e = feed(Framing::Length(10), b"hello", &[2], 9).unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (18, "end of response with 5 bytes missing"));
        assert_eq!(feed(Framing::Close, b"hello", &[2], 9).unwrap(), (b"hello".to_vec(), vec![], false));
        assert_eq!(BodyDecoder::new(Framing::Close).at_eof(), Ok(false));
        assert_eq!(BodyDecoder::new(Framing::None).decode(b"x", 9).unwrap(), (0, Some(BodyEvent::End)));
    }

    #[test]
    fn framing_rules() {
        assert_eq!(framing(200, 11, true, false, Some(5)), Framing::None);
        assert_eq!(framing(204, 11, false, false, Some(5)), Framing::None);
        assert_eq!(framing(304, 11, false, true, None), Framing::None);
        assert_eq!(framing(101, 11, false, false, None), Framing::None);
        assert_eq!(framing(0, 9, true, false, None), Framing::Close);
        assert_eq!(framing(200, 11, false, true, Some(3)), Framing::Chunked);
        assert_eq!(framing(200, 10, false, false, Some(3)), Framing::Length(3));
        assert_eq!(framing(200, 11, false, false, None), Framing::Close);
    }

    #[test]
    fn raw_chunked_hands_on_the_framing_split_anywhere() {
        let body: &[u8] = b"7\r\nabcdefg\r\n3;ext=1\r\nhij\r\n0\r\nX-T: 1\r\n\r\n";
        let mut input = body.to_vec();
        input.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        for sizes in [&[1usize][..], &[2, 5], &[3], &[1000]] {
            for max in [1, 4, 1 << 20] {
                let (out, trailers, ended) = feed_to(BodyDecoder::raw(Framing::Chunked), &input, sizes, max).unwrap();
                assert_eq!((out.as_slice(), trailers.len(), ended), (body, 0, true), "{sizes:?} {max}");
            }
        }
        // Other framings are not affected.
        let (out, _, ended) = feed_to(BodyDecoder::raw(Framing::Length(3)), b"abcd", &[1], 8).unwrap();
        assert_eq!((out.as_slice(), ended), (&b"abc"[..], true));
    }

    #[test]
    fn raw_chunked_fault_comes_after_the_bytes_read_with_it() {
        let mut d = BodyDecoder::raw(Framing::Chunked);
        let input = b"5\r\nabcde\r\nzz\r\n";
        assert_eq!(d.decode(input, 1 << 20).unwrap(), (input.len(), Some(BodyEvent::Data(0..input.len()))));
        assert_eq!(d.decode(b"", 1 << 20).unwrap_err().msg, "chunk hex-length char not a hex digit: 0x7a");
        // A body cut short is the same error as when decoding.
        let mut d = BodyDecoder::raw(Framing::Chunked);
        assert_eq!(d.decode(b"5\r\nab", 64).unwrap(), (5, Some(BodyEvent::Data(0..5))));
        assert_eq!(d.at_eof().unwrap_err().code, code::PARTIAL_FILE);
    }
}
