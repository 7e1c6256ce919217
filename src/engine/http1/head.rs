//! The response head: status line, header lines, the blank line that ends it.
//!
//! ```text
//!   Status ──line──► Headers ──header line (+ folded continuations)──► Headers
//!      │                 └──────────── empty line ──────────────────► Done
//!      └── not "HTTP/" ──► HTTP/0.9 (no head; the bytes are body)
//! ```
//!
//! `HeadParser::next` looks at the unread input and returns one event and how many bytes it used,
//! or `None` when it needs more input; it keeps no copy of the input. Header lines come out as
//! libcurl hands them to HEADERFUNCTION: as received, except that a folded header (continuation lines
//! starting with a space or tab) comes out as one line. Strict where libcurl is: a NUL byte or a
//! stray carriage return in a line, a line of `MAX_LINE` bytes or more, a header without a colon and
//! conflicting Content-Length values fail with libcurl's codes and messages.

use std::borrow::Cow;

use crate::engine::error::{code, Error, Result};

/// A header line including its line feed must be shorter than this (libcurl's CURL_MAX_HTTP_HEADER).
pub const MAX_LINE: usize = 100 * 1024;
/// The header bytes of one request's responses (1xx included) may not exceed this.
pub const MAX_HEAD: usize = 300 * 1024;

/// What the parser found next in the input. Lines are borrowed from the input (no copy per
/// line); only a folded header, joined from several lines, is a new buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadEvent<'a> {
    /// The reply does not start with "HTTP/" and HTTP/0.9 is allowed: there is no head.
    Http09,
    Status(Status<'a>),
    /// One header line as delivered to HEADERFUNCTION, with its line ending.
    Header(Cow<'a, [u8]>),
    /// The empty line that ends the head, as received.
    End(&'a [u8]),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Status<'a> {
    /// 10 or 11.
    pub version: u8,
    pub code: u16,
    /// The status line as received.
    pub line: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Status,
    Headers,
    Done,
}

/// Incremental parser for one response head.
#[derive(Debug)]
pub struct HeadParser {
    state: State,
    content_length: Option<u64>,
    check_length: bool,
    /// HTTP200ALIASES: status line prefixes (any case) that stand for "HTTP/1.0 200".
    aliases: Vec<Vec<u8>>,
    /// A head after a 1xx one: a reply that is not a status line is invalid, not HTTP/0.9.
    later: bool,
}

impl HeadParser {
    /// `check_length`: reject invalid or conflicting Content-Length values (off with
    /// IGNORE_CONTENT_LENGTH, as libcurl skips the header then).
    pub fn new(check_length: bool) -> HeadParser {
        HeadParser { state: State::Status, content_length: None, check_length, aliases: Vec::new(), later: false }
    }

    /// HTTP200ALIASES: a status line starting with one of these reads as "HTTP/1.0 200".
    pub fn with_aliases(mut self, aliases: &[String]) -> HeadParser {
        self.aliases = aliases.iter().filter(|a| !a.is_empty()).map(|a| a.as_bytes().to_vec()).collect();
        self
    }

    /// The head follows an informational (1xx) one of the same response.
    pub fn after_informational(mut self, later: bool) -> HeadParser {
        self.later = later;
        self
    }

    /// Does `buf` start with an alias (Some(true)), or could it once more bytes are in (None)?
    fn alias_match(&self, buf: &[u8]) -> Option<bool> {
        let mut maybe = false;
        for a in &self.aliases {
            if buf.len() >= a.len() {
                if buf[..a.len()].eq_ignore_ascii_case(a) {
                    return Some(true);
                }
            } else if a[..buf.len()].eq_ignore_ascii_case(buf) {
                maybe = true;
            }
        }
        if maybe {
            None
        } else {
            Some(false)
        }
    }

    /// The Content-Length the head declared, when valid.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The next event in `buf` (unread input) with the bytes it used, or `None` for more input.
    pub fn next<'a>(&mut self, buf: &'a [u8], http09_allowed: bool) -> Result<Option<(HeadEvent<'a>, usize)>> {
        match self.state {
            State::Done => Ok(None),
            State::Status => {
                if !self.aliases.is_empty() && !http_prefix(buf) {
                    match self.alias_match(buf) {
                        None => return Ok(None),
                        Some(true) => {
                            let Some(n) = checked_line(buf)? else { return Ok(None) };
                            self.state = State::Headers;
                            let st = Status { version: 10, code: 200, line: &buf[..n] };
                            return Ok(Some((HeadEvent::Status(st), n)));
                        }
                        Some(false) => {}
                    }
                }
                if buf.len() >= 5 && !http_prefix(buf) {
                    if self.later {
                        return Err(invalid_status());
                    }
                    if http09_allowed {
                        self.state = State::Done;
                        return Ok(Some((HeadEvent::Http09, 0)));
                    }
                    return Err(http09_refused());
                }
                let Some(n) = checked_line(buf)? else { return Ok(None) };
                let line = &buf[..n];
                let (version, code) = parse_status(trim_eol(line))?;
                // libcurl does not check Content-Length on responses that have no body.
                if (100..200).contains(&code) || code == 204 || code == 304 {
                    self.check_length = false;
                }
                self.state = State::Headers;
                Ok(Some((HeadEvent::Status(Status { version, code, line }), n)))
            }
            State::Headers => {
                let Some(n) = checked_line(buf)? else { return Ok(None) };
                let line = &buf[..n];
                if trim_eol(line).is_empty() {
                    self.state = State::Done;
                    return Ok(Some((HeadEvent::End(line), n)));
                }
                // A folded header is known only once the next line's first byte is in.
                let mut used = n;
                let mut folded: Option<Vec<u8>> = None;
                loop {
                    match buf.get(used) {
                        None => return Ok(None),
                        Some(b' ' | b'\t') => {}
                        Some(_) => break,
                    }
                    let Some(m) = checked_line(&buf[used..])? else { return Ok(None) };
                    let cont = &buf[used..used + m];
                    let mut joined = folded.take().unwrap_or_else(|| line.to_vec());
                    let keep = joined.len() - trailing_space(&joined);
                    joined.truncate(keep);
                    joined.push(b' ');
                    let lead = cont.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
                    joined.extend_from_slice(&cont[lead..]);
                    folded = Some(joined);
                    used += m;
                }
                let out = match folded {
                    Some(joined) => Cow::Owned(joined),
                    None => Cow::Borrowed(line),
                };
                if !trim_eol(&out).contains(&b':') {
                    return Err(Error::new(code::WEIRD_SERVER_REPLY, "Header without colon"));
                }
                self.check_content_length(&out)?;
                Ok(Some((HeadEvent::Header(out), used)))
            }
        }
    }

    /// The error for input that ended inside the head (`buf`: what is left unread).
    pub fn eof_error(&self, buf: &[u8]) -> Error {
        if self.state == State::Status && !buf.is_empty() && !http_prefix(buf) {
            return if self.later { invalid_status() } else { http09_refused() };
        }
        Error::new(code::GOT_NOTHING, "Empty reply from server")
    }

    fn check_content_length(&mut self, line: &[u8]) -> Result<()> {
        // Most lines are other headers: a cheap look at the name before splitting the line.
        let lead = line.iter().take_while(|c| c.is_ascii_whitespace()).count();
        if !line[lead..].get(..14).is_some_and(|n| n.eq_ignore_ascii_case(b"content-length")) {
            return Ok(());
        }
        let (name, value) = split_header(line);
        if !name.eq_ignore_ascii_case(b"content-length") {
            return Ok(());
        }
        let invalid = || Error::new(code::WEIRD_SERVER_REPLY, "Invalid Content-Length: value");
        // A list of equal values ("5, 5") is one value; anything else that is not digits is refused.
        let mut value_seen: Option<Option<u64>> = None;
        for part in value.split(|b| *b == b',') {
            let part = trim(part);
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                if !self.check_length {
                    return Ok(());
                }
                return Err(invalid());
            }
            // Out of i64's range: libcurl ignores the value and reads to the end of the connection.
            let n = std::str::from_utf8(part).ok().and_then(|s| s.parse::<i64>().ok()).map(|n| n as u64);
            match value_seen {
                Some(prev) if prev != n && self.check_length => return Err(invalid()),
                _ => value_seen = Some(n),
            }
        }
        let n = value_seen.flatten();
        if let (Some(prev), Some(n)) = (self.content_length, n) {
            if prev != n && self.check_length {
                return Err(invalid());
            }
        }
        if n.is_some() {
            self.content_length = n;
        }
        Ok(())
    }
}

fn http09_refused() -> Error {
    Error::new(code::UNSUPPORTED_PROTOCOL, "Received HTTP/0.9 when not allowed")
}

/// Length of the first line of `buf` including its LF; an error once it is known to reach MAX_LINE.
pub fn find_line(buf: &[u8]) -> Result<Option<usize>> {
    let window = &buf[..buf.len().min(MAX_LINE - 1)];
    match window.iter().position(|b| *b == b'\n') {
        Some(i) => Ok(Some(i + 1)),
        None if buf.len() >= MAX_LINE - 1 => Err(Error::bare(code::TOO_LARGE)),
        None => Ok(None),
    }
}

/// `find_line` and `check_line` in one pass over the line (most of the head parser's time went to
/// scanning each line three times): words of 8 bytes without a byte below 14 (LF, CR and NUL are)
/// are skipped whole.
fn checked_line(buf: &[u8]) -> Result<Option<usize>> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let window = &buf[..buf.len().min(MAX_LINE - 1)];
    let (mut nul, mut cr) = (false, 0usize);
    let mut i = 0;
    while i < window.len() {
        if let Some(w) = window.get(i..i + 8) {
            let w = u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            // Nonzero exactly when some byte of the word is below 14.
            if w.wrapping_sub(ONES * 14) & !w & HIGH == 0 {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(window.len());
        for j in i..end {
            match window[j] {
                b'\n' => {
                    // Only the CR right before the LF may be there (see check_line).
                    if nul {
                        return Err(Error::new(code::WEIRD_SERVER_REPLY, "NUL byte in header"));
                    }
                    if cr > usize::from(j > 0 && window[j - 1] == b'\r') {
                        return Err(Error::new(code::WEIRD_SERVER_REPLY, "Carriage return found in header"));
                    }
                    return Ok(Some(j + 1));
                }
                0 => nul = true,
                b'\r' => cr += 1,
                _ => {}
            }
        }
        i = end;
    }
    if buf.len() >= MAX_LINE - 1 {
        return Err(Error::bare(code::TOO_LARGE));
    }
    Ok(None)
}

/// A line without its LF and the CR before it.
/// Every value of header `name` (case-insensitive), in order: the challenges of a 401 / 407.
pub fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
}

/// The codings of a Transfer-Encoding value other than chunked and identity, lowercased.
pub fn transfer_codings(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && t != "chunked" && t != "identity")
        .collect()
}

pub fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// NUL bytes and carriage returns other than the one before the LF are refused, as by libcurl.
pub fn check_line(line: &[u8]) -> Result<()> {
    let body = trim_eol(line);
    if body.contains(&0) {
        return Err(Error::new(code::WEIRD_SERVER_REPLY, "NUL byte in header"));
    }
    if body.contains(&b'\r') {
        return Err(Error::new(code::WEIRD_SERVER_REPLY, "Carriage return found in header"));
    }
    Ok(())
}

fn trailing_space(b: &[u8]) -> usize {
    b.iter().rev().take_while(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')).count()
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let end = b.len() - b[start..].iter().rev().take_while(|c| c.is_ascii_whitespace()).count();
    &b[start..end]
}

/// "Name: value\r\n" → (name, value), both trimmed.
pub fn split_header(line: &[u8]) -> (&[u8], &[u8]) {
    let body = trim_eol(line);
    match body.iter().position(|b| *b == b':') {
        Some(i) => (trim(&body[..i]), trim(&body[i + 1..])),
        None => (trim(body), &[]),
    }
}

/// `split_header` on text: ASCII whitespace is trimmed as there, so the parts are the same bytes.
fn split_header_str(line: &str) -> (&str, &str) {
    // Cut where `split_header` cuts the bytes: at ASCII bytes, so every cut is a char boundary.
    let (n, v) = split_header(line.as_bytes());
    let at = |part: &[u8]| {
        if part.is_empty() {
            // An empty part may be a slice of nothing rather than of the line.
            return "";
        }
        let start = (part.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
        line.get(start..start.saturating_add(part.len())).unwrap_or_default()
    };
    (at(n), at(v))
}

/// "HTTP/1.1 200 …" → (11, 200), read as libcurl 8 reads it: "HTTP/1.x" takes x of 0 or 1, a
/// blank, then three digits (what follows them is not looked at); "HTTP/2 ddd " and "HTTP/3 ddd "
/// name the wrong protocol; any other "HTTP/2…" or "HTTP/3…" line, and one whose "HTTP/" is in
/// another case, stands for "HTTP/1.0 200" (libcurl's fallback for status lines it cannot read).
fn parse_status(line: &[u8]) -> Result<(u8, u16)> {
    let bad = || Error::new(code::UNSUPPORTED_PROTOCOL, "Unsupported HTTP/1 subversion in response");
    let blank = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    let digits = |p: &[u8]| -> Option<u16> {
        let d = p.get(..3).filter(|d| d.iter().all(u8::is_ascii_digit))?;
        Some(d.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0')))
    };
    let Some(rest) = line.strip_prefix(b"HTTP/") else { return Ok((10, 200)) };
    match rest.first() {
        Some(b'1') => {
            let minor = match rest.get(1..3) {
                Some([b'.', m @ (b'0' | b'1')]) => *m,
                _ => return Err(bad()),
            };
            if !blank(rest.get(3)) {
                return Err(bad());
            }
            let code = digits(&rest[4..]).ok_or_else(bad)?;
            Ok((10 + (minor - b'0'), code))
        }
        Some(d @ (b'2' | b'3')) => {
            if blank(rest.get(1)) && digits(&rest[2..]).is_some() && blank(rest.get(5)) {
                return Err(Error::new(
                    code::WEIRD_SERVER_REPLY,
                    format!("Version mismatch (from HTTP/1 to HTTP/{})", *d as char),
                ));
            }
            Ok((10, 200))
        }
        _ => Err(Error::new(code::UNSUPPORTED_PROTOCOL, "Unsupported HTTP version in response")),
    }
}

/// Does `buf` start with "HTTP/" in any case (libcurl's test for a status line)?
fn http_prefix(buf: &[u8]) -> bool {
    buf.get(..5).is_some_and(|p| p.eq_ignore_ascii_case(b"HTTP/"))
}

fn invalid_status() -> Error {
    Error::new(code::WEIRD_SERVER_REPLY, "Invalid status line")
}

/// A parsed response head, for policy decisions (redirects, auth, cookies, framing).
///
/// The header names and values are kept as text back to back in one buffer, with where each ends
/// (two allocations a head, where a pair of strings per header line cost two a line).
#[derive(Debug, Default)]
pub struct Head {
    pub status: u16,
    /// 9, 10 or 11.
    pub version: u8,
    /// Every header's name then value, in order of arrival (written by `push_line`).
    pub(crate) text: String,
    /// Where each header's name and value end in `text`; a name starts where the value before ends.
    pub(crate) ends: Vec<(usize, usize)>,
    /// The head's terminating empty line, as received.
    pub blank: Vec<u8>,
    /// A valid Content-Length, when the head had one.
    pub content_length: Option<u64>,
}

impl Head {
    pub fn http09() -> Head {
        Head { version: 9, ..Head::default() }
    }

    /// An empty head with room for `lines` headers of `bytes` of text (a typical head needs no
    /// more room once read).
    pub fn with_capacity(lines: usize, bytes: usize) -> Head {
        Head { text: String::with_capacity(bytes), ends: Vec::with_capacity(lines), ..Head::default() }
    }

    /// Records one header line (as produced by `HeadParser`).
    pub fn push_line(&mut self, line: &[u8]) {
        if self.ends.capacity() == 0 {
            // A head built field by field (h2) gets a typical head's room at once, not by doubling.
            self.text.reserve(256);
            self.ends.reserve(12);
        }
        match std::str::from_utf8(line) {
            // One check covers name and value: they are cut from the line at ASCII bytes.
            Ok(line) => {
                let (n, v) = split_header_str(line);
                self.text.push_str(n);
                let name_end = self.text.len();
                self.text.push_str(v);
                self.ends.push((name_end, self.text.len()));
            }
            Err(_) => self.push_lossy(line),
        }
    }

    /// A line that is not UTF-8: each part made text on its own.
    #[cold]
    fn push_lossy(&mut self, line: &[u8]) {
        let (n, v) = split_header(line);
        self.text.push_str(&String::from_utf8_lossy(n));
        let name_end = self.text.len();
        // libcurl follows a Location's bytes above 0x7f percent-encoded, whatever their charset.
        if n.eq_ignore_ascii_case(b"location") && std::str::from_utf8(v).is_err() {
            for b in v {
                if b.is_ascii() {
                    self.text.push(char::from(*b));
                } else {
                    self.text.push_str(&format!("%{b:02X}"));
                }
            }
        } else {
            self.text.push_str(&String::from_utf8_lossy(v));
        }
        self.ends.push((name_end, self.text.len()));
    }

    /// The `i`th header's name and value.
    fn header(&self, i: usize) -> (&str, &str) {
        let start = if i == 0 { 0 } else { self.ends[i - 1].1 };
        let (name_end, value_end) = self.ends[i];
        (&self.text[start..name_end], &self.text[name_end..value_end])
    }

    /// Is the `i`th header's name `name` (any case)? Compared as bytes, without slicing text.
    fn is_named(&self, i: usize, name: &str) -> bool {
        let start = if i == 0 { 0 } else { self.ends[i - 1].1 };
        self.text.as_bytes().get(start..self.ends[i].0).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The values of the headers named `name`, in order.
    fn named<'s: 'n, 'n>(&'s self, name: &'n str) -> impl DoubleEndedIterator<Item = &'s str> + 'n {
        (0..self.ends.len()).filter(move |&i| self.is_named(i, name)).map(|i| self.header(i).1)
    }

    /// Every header as (name, value), in order of arrival.
    pub fn headers(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + '_ {
        (0..self.ends.len()).map(|i| self.header(i))
    }

    /// The header recorded last.
    pub fn last_header(&self) -> Option<(&str, &str)> {
        self.ends.len().checked_sub(1).map(|i| self.header(i))
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.named(name).collect()
    }

    /// The last value of a header.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.named(name).next_back()
    }

    /// Does a comma-separated header list `token` (case-insensitive)?
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.named(name).any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// A whole head: the parsed head, the lines as delivered, the bytes used.
pub type Parsed = (Head, Vec<Vec<u8>>, usize);

/// Parses one complete head from `input` (a fuzz target and test entry point): the head, the
/// header lines as they would be delivered, and the bytes used.
pub fn parse_head(input: &[u8], check_length: bool) -> Result<Option<Parsed>> {
    let mut p = HeadParser::new(check_length);
    let mut head = Head::default();
    let mut lines = Vec::new();
    let mut at = 0;
    while let Some((ev, n)) = p.next(&input[at..], false)? {
        at += n;
        match ev {
            HeadEvent::Http09 => return Ok(Some((Head::http09(), lines, at))),
            HeadEvent::Status(s) => {
                head.status = s.code;
                head.version = s.version;
                lines.push(s.line.to_vec());
            }
            HeadEvent::Header(l) => {
                head.push_line(&l);
                lines.push(l.into_owned());
            }
            HeadEvent::End(b) => {
                head.blank = b.to_vec();
                lines.push(b.to_vec());
                head.content_length = p.content_length();
                return Ok(Some((head, lines, at)));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass scan answers as `find_line` and then `check_line` did, wherever in a word the
    /// bytes fall: every line of up to six bytes from LF, CR, NUL, tab and a letter, after 0 to 17
    /// letters.
    #[test]
    fn checked_line_is_find_line_then_check_line() {
        let alphabet = [b'\n', b'\r', 0, b'\t', b'a'];
        let two_pass = |b: &[u8]| -> Result<Option<usize>> {
            let Some(n) = find_line(b)? else { return Ok(None) };
            check_line(&b[..n])?;
            Ok(Some(n))
        };
        for len in 0..=6u32 {
            for mut k in 0..alphabet.len().pow(len) {
                let mut tail = Vec::new();
                for _ in 0..len {
                    tail.push(alphabet[k % alphabet.len()]);
                    k /= alphabet.len();
                }
                for pad in 0..18 {
                    let mut b = vec![b'x'; pad];
                    b.extend_from_slice(&tail);
                    assert_eq!(checked_line(&b), two_pass(&b), "{b:?}");
                }
            }
        }
        let long = vec![b'x'; MAX_LINE];
        assert_eq!(checked_line(&long), two_pass(&long));
    }

    fn whole(input: &[u8]) -> Result<Option<Parsed>> {
        parse_head(input, true)
    }

    /// Feeds `input` in pieces cut at `cuts`, as a transfer reading from a socket would.
    fn split_feed(input: &[u8], cuts: &[usize]) -> Result<(Vec<Vec<u8>>, usize)> {
        let mut p = HeadParser::new(true);
        let mut buf: Vec<u8> = Vec::new();
        let mut lines = Vec::new();
        let mut fed = 0;
        let mut used_total = 0;
        let mut points: Vec<usize> = cuts.iter().copied().filter(|c| *c <= input.len()).collect();
        points.push(input.len());
        for end in points {
            if end < fed {
                continue;
            }
            buf.extend_from_slice(&input[fed..end]);
            fed = end;
            while let Some((ev, n)) = p.next(&buf, false)? {
                used_total += n;
                let end = match ev {
                    HeadEvent::Status(s) => {
                        lines.push(s.line.to_vec());
                        false
                    }
                    HeadEvent::Header(l) => {
                        lines.push(l.into_owned());
                        false
                    }
                    HeadEvent::End(b) => {
                        lines.push(b.to_vec());
                        true
                    }
                    HeadEvent::Http09 => true,
                };
                if end {
                    return Ok((lines, used_total));
                }
                buf.drain(..n);
            }
        }
        Err(p.eof_error(&buf))
    }

    const SIMPLE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";

    #[test]
    fn simple_head_gives_exact_lines() {
        let (h, lines, used) = whole(SIMPLE).unwrap().unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(h.version, 11);
        assert_eq!(h.content_length, Some(5));
        assert_eq!(used, SIMPLE.len() - 5);
        let want: Vec<&[u8]> = vec![b"HTTP/1.1 200 OK\r\n", b"Content-Length: 5\r\n", b"X-A: b\r\n", b"\r\n"];
        assert_eq!(lines, want);
        assert_eq!(h.get("x-a"), Some("b"));
    }

    #[test]
    fn every_split_point_gives_the_same_lines() {
        let inputs: [&[u8]; 4] = [
            SIMPLE,
            b"HTTP/1.0 404 Nope\nA: 1\n\tfolded  more\n B\nC:\n\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 200\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
        ];
        for input in inputs {
            let reference = split_feed(input, &[]).unwrap();
            for cut in 0..=input.len() {
                assert_eq!(split_feed(input, &[cut]).unwrap(), reference, "cut at {cut}");
            }
            let one_by_one: Vec<usize> = (0..input.len()).collect();
            assert_eq!(split_feed(input, &one_by_one).unwrap(), reference);
        }
    }

    #[test]
    fn random_split_points() {
        // A small xorshift: deterministic, no extra crate.
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let input = b"HTTP/1.1 301 Moved\r\nLocation: /x\r\nSet-Cookie: a=b\r\nX-F: a  \r\n  b\r\n\r\n";
        let reference = split_feed(input, &[]).unwrap();
        for _ in 0..200 {
            let mut cuts = Vec::new();
            for _ in 0..4 {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                cuts.push((s % input.len() as u64) as usize);
            }
            cuts.sort_unstable();
            assert_eq!(split_feed(input, &cuts).unwrap(), reference, "{cuts:?}");
        }
    }

    #[test]
    fn folded_lines_are_joined_like_libcurl() {
        let (_, lines, _) = whole(b"HTTP/1.1 200 OK\r\nX-A: a  \r\n\t  b  c\r\nZ: 1\r\n\r\n").unwrap().unwrap();
        assert_eq!(lines[1], b"X-A: a b  c\r\n");
        let (_, lines, _) = whole(b"HTTP/1.1 200 OK\nX-A: a\n b\n c\nZ: 1\n\n").unwrap().unwrap();
        assert_eq!(lines[1], b"X-A: a b c\n");
        let (_, lines, _) = whole(b"HTTP/1.1 200 OK\r\nX-A: a\r\n \r\nZ: 1\r\n\r\n").unwrap().unwrap();
        assert_eq!(lines[1], b"X-A: a \r\n");
    }

    #[test]
    fn a_header_waits_for_the_next_lines_first_byte() {
        let mut p = HeadParser::new(true);
        let (_, n) = p.next(b"HTTP/1.1 200 OK\r\nA: b\r\n", false).unwrap().unwrap();
        assert_eq!(n, 17);
        assert_eq!(p.next(b"A: b\r\n", false).unwrap(), None);
        let (ev, n) = p.next(b"A: b\r\nC", false).unwrap().unwrap();
        assert_eq!((ev, n), (HeadEvent::Header(Cow::Borrowed(&b"A: b\r\n"[..])), 6));
        assert!(!p.is_done());
        let (ev, _) = p.next(b"\r\n", false).unwrap().unwrap();
        assert_eq!(ev, HeadEvent::End(&b"\r\n"[..]));
        assert!(p.is_done());
    }

    fn err(input: &[u8]) -> Error {
        match whole(input) {
            Err(e) => e,
            Ok(r) => panic!("accepted: {r:?}"),
        }
    }

    #[test]
    fn status_lines() {
        assert_eq!(whole(b"HTTP/1.1 2000 OK\r\n\r\n").unwrap().unwrap().0.status, 200);
        assert_eq!(whole(b"HTTP/1.1 200OK\r\n\r\n").unwrap().unwrap().0.status, 200);
        assert_eq!(whole(b"HTTP/1.0 204\r\n\r\n").unwrap().unwrap().0.version, 10);
        for bad in [
            &b"HTTP/1.1 20 OK\r\n\r\n"[..],
            b"HTTP/1.1 abc\r\n\r\n",
            b"HTTP/1.7 200 OK\r\n\r\n",
            b"HTTP/1.11 200\r\n\r\n",
        ] {
            let e = err(bad);
            assert_eq!((e.code, e.msg.as_str()), (1, "Unsupported HTTP/1 subversion in response"));
        }
        let e = err(b"HTTP/2 200 OK\r\n\r\n");
        assert_eq!((e.code, e.msg.as_str()), (8, "Version mismatch (from HTTP/1 to HTTP/2)"));
        // Lines libcurl 8 cannot read as a version fall back to "HTTP/1.0 200" (checked with real pycurl).
        for odd in
            [&b"http/1.1 404 x\r\n\r\n"[..], b"HTTP/2 404\r\n\r\n", b"HTTP/2.5 404 x\r\n\r\n", b"HTTP/3.0 200\r\n\r\n"]
        {
            let h = whole(odd).unwrap().unwrap().0;
            assert_eq!((h.status, h.version), (200, 10), "{:?}", String::from_utf8_lossy(odd));
        }
        assert_eq!(whole(b"HTTP/1.1\t201 OK\r\n\r\n").unwrap().unwrap().0.status, 201);
        for other in [&b"HTTP/7.7 200 OK\r\n\r\n"[..], b"HTTP/0.9 200 OK\r\n\r\n", b"HTTP/ 200\r\n\r\n"] {
            let e = err(other);
            assert_eq!((e.code, e.msg.as_str()), (1, "Unsupported HTTP version in response"));
        }
    }

    #[test]
    fn a_head_after_a_1xx_must_have_a_status_line() {
        let mut p = HeadParser::new(true).after_informational(true);
        let e = p.next(b"hello there", true).unwrap_err();
        assert_eq!((e.code, e.msg.as_str()), (8, "Invalid status line"));
        let e = HeadParser::new(true).after_informational(true).eof_error(b"ok");
        assert_eq!((e.code, e.msg.as_str()), (8, "Invalid status line"));
        assert_eq!(HeadParser::new(true).eof_error(b"ok").msg, "Received HTTP/0.9 when not allowed");
    }

    #[test]
    fn location_bytes_beyond_ascii_are_percent_encoded() {
        let h = whole(b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9\r\n\r\n").unwrap().unwrap().0;
        assert_eq!(h.get("location"), Some("/caf%E9"));
    }

    /// Names and values come out of the one text buffer as `split_header` cuts them, valid
    /// UTF-8 or not, in order, with the last one reachable.
    #[test]
    fn headers_are_read_back_as_split() {
        let lines: [&[u8]; 6] = [
            b"X-A:  b \r\n",
            b"caf\xc3\xa9: cr\xc3\xa8me\r\n",
            b"X-Bad: \xff\xfe\r\n",
            b"\tX-Ws\x0c :\x0c v\n",
            b"Empty:\r\n",
            b"Location: /\xe9t\xc3\xa9\r\n",
        ];
        let mut h = Head::default();
        for l in lines {
            h.push_line(l);
        }
        let got: Vec<(&str, &str)> = h.headers().collect();
        assert_eq!(
            got,
            [
                ("X-A", "b"),
                ("caf\u{e9}", "cr\u{e8}me"),
                ("X-Bad", "\u{fffd}\u{fffd}"),
                ("X-Ws", "v"),
                ("Empty", ""),
                ("Location", "/%E9t%C3%A9")
            ]
        );
        for (l, (n, v)) in lines.iter().zip(&got) {
            let (bn, bv) = split_header(l);
            assert_eq!(String::from_utf8_lossy(bn), *n);
            if !n.eq_ignore_ascii_case("location") {
                assert_eq!(String::from_utf8_lossy(bv), *v);
            }
        }
        assert_eq!(h.last_header(), Some(("Location", "/%E9t%C3%A9")));
        assert_eq!(h.headers().next_back(), h.last_header());
        assert_eq!(h.values("x-a"), ["b"]);
        assert_eq!(Head::default().last_header(), None);
        let mut h = Head::default();
        h.push_line(b"no colon\r\n");
        assert_eq!(h.last_header(), Some(("no colon", "")));
    }

    #[test]
    fn http200_aliases_read_as_http10_200() {
        let aliases = vec!["ICY 200".to_string(), "x".to_string()];
        let mut p = HeadParser::new(true).with_aliases(&aliases);
        // "ICY" could still become the alias: wait for more instead of calling it HTTP/0.9.
        assert_eq!(p.next(b"ICY", false).unwrap(), None);
        let (ev, n) = p.next(b"icy 200 OK\r\nA: b\r\n\r\n", false).unwrap().unwrap();
        assert_eq!(ev, HeadEvent::Status(Status { version: 10, code: 200, line: &b"icy 200 OK\r\n"[..] }));
        assert_eq!(n, 12);
        let mut p = HeadParser::new(true).with_aliases(&["ICY".to_string()]);
        let (ev, _) = p.next(b"ICY 404 Nope\r\n\r\n", false).unwrap().unwrap();
        assert!(matches!(ev, HeadEvent::Status(Status { code: 200, version: 10, .. })));
        let mut p = HeadParser::new(true).with_aliases(&["ICY".to_string()]);
        assert_eq!(
            p.next(b"HTTP/1.1 404 x\r\n\r\n", false).unwrap().unwrap().0,
            HeadEvent::Status(Status { version: 11, code: 404, line: &b"HTTP/1.1 404 x\r\n"[..] })
        );
        let mut p = HeadParser::new(true).with_aliases(&["ICY".to_string()]);
        assert_eq!(p.next(b"SHOUTcast 200\r\n", false).unwrap_err().code, code::UNSUPPORTED_PROTOCOL);
    }

    #[test]
    fn http09_is_detected_from_five_bytes() {
        let mut p = HeadParser::new(true);
        assert_eq!(p.next(b"XYZ", false).unwrap(), None);
        assert_eq!(p.next(b"XYZZY 200", false).unwrap_err().code, 1);
        let mut p = HeadParser::new(true);
        assert_eq!(p.next(b"XYZZY 200", true).unwrap(), Some((HeadEvent::Http09, 0)));
        let p = HeadParser::new(true);
        assert_eq!(p.eof_error(b"").code, code::GOT_NOTHING);
        assert_eq!(p.eof_error(b"XY").code, code::UNSUPPORTED_PROTOCOL);
        assert_eq!(p.eof_error(b"HTTP/1.1 200").code, code::GOT_NOTHING);
    }

    #[test]
    fn strict_like_libcurl() {
        let e = err(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
        assert_eq!((e.code, e.msg.as_str()), (8, "Invalid Content-Length: value"));
        for bad in ["5, 6", "-5", "+5", "5x", "", "5,"] {
            let input = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(err(input.as_bytes()).msg, "Invalid Content-Length: value", "{bad}");
        }
        let ok = whole(b"HTTP/1.1 200 OK\r\nContent-Length: 5,5 ,5\r\nContent-Length:  5 \r\n\r\n").unwrap();
        assert_eq!(ok.unwrap().0.content_length, Some(5));
        let huge = whole(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n").unwrap();
        assert_eq!(huge.unwrap().0.content_length, None);
        // Responses without a body: not checked either.
        for st in ["100 Continue", "204 No Content", "304 Not Modified"] {
            let input = format!("HTTP/1.1 {st}\r\nContent-Length: 1\r\nContent-Length: x\r\n\r\n");
            assert!(whole(input.as_bytes()).unwrap().is_some(), "{st}");
        }
        // IGNORE_CONTENT_LENGTH: nothing is checked.
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false).unwrap().is_some());
        let e = err(b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n");
        assert_eq!((e.code, e.msg.as_str()), (8, "NUL byte in header"));
        assert_eq!(err(b"HTTP/1.1 200 O\0K\r\n\r\n").msg, "NUL byte in header");
        let e = err(b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n");
        assert_eq!((e.code, e.msg.as_str()), (8, "Carriage return found in header"));
        assert_eq!(err(b"HTTP/1.1 200 OK\rX: a\r\r\n\r\n").msg, "Carriage return found in header");
        let e = err(b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n");
        assert_eq!((e.code, e.msg.as_str()), (8, "Header without colon"));
        assert_eq!(err(b"HTTP/1.1 200 OK\r\n b\r\n\r\n").msg, "Header without colon");
    }

    #[test]
    fn line_limit_is_libcurls() {
        let line = |n: usize| {
            let mut v = b"HTTP/1.1 200 OK\r\nX-Long: ".to_vec();
            v.resize(17 + n - 2, b'a');
            v.extend_from_slice(b"\r\n\r\n");
            v
        };
        assert!(whole(&line(MAX_LINE - 1)).unwrap().is_some());
        let e = err(&line(MAX_LINE));
        assert_eq!((e.code, e.msg.as_str()), (100, "A value or data field grew larger than allowed"));
        // Known too long before the line ends.
        let mut p = HeadParser::new(true);
        let mut partial = b"HTTP/1.1 200 OK\r\n".to_vec();
        p.next(&partial, false).unwrap();
        partial = vec![b'a'; MAX_LINE - 2];
        assert_eq!(p.next(&partial, false).unwrap(), None);
        partial.push(b'a');
        assert_eq!(p.next(&partial, false).unwrap_err().code, 100);
    }
}
