//! SMTP without sockets: reply lines, EHLO's capabilities, addresses as libcurl writes them, and
//! the body's dot-stuffing and end of data.

/// A reply line's code and whether it ends the reply ("250 " or "250" alone); None for a line
/// that is not a reply line (libcurl skips those).
pub fn line_code(l: &[u8]) -> Option<(u16, bool)> {
    let t = super::trim_eol(l);
    if t.len() < 3 || !t[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = u16::from(t[0] - b'0') * 100 + u16::from(t[1] - b'0') * 10 + u16::from(t[2] - b'0');
    match t.get(3) {
        None | Some(b' ') => Some((code, true)),
        Some(b'-') => Some((code, false)),
        _ => None,
    }
}

/// What EHLO's reply says the server can do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Caps {
    pub starttls: bool,
    pub size: bool,
    pub utf8: bool,
    /// The server announced AUTH (even with no mechanism this build knows).
    pub auth: bool,
    pub mechs: u32,
}

impl Caps {
    /// Reads one line of the EHLO reply (the first names the server and is skipped by the caller).
    pub fn line(&mut self, l: &[u8]) {
        let t = super::trim_eol(l);
        let Some(t) = t.get(4..) else { return };
        let t = String::from_utf8_lossy(t);
        let word = t.split_ascii_whitespace().next().unwrap_or("");
        if word.eq_ignore_ascii_case("STARTTLS") {
            self.starttls = true;
        } else if word.eq_ignore_ascii_case("SIZE") {
            self.size = true;
        } else if word.eq_ignore_ascii_case("SMTPUTF8") {
            self.utf8 = true;
        } else if word.len() >= 4 && word[..4].eq_ignore_ascii_case("AUTH") && matches!(t.as_bytes().get(4), Some(b' '))
        {
            self.auth = true;
            self.mechs |= super::sasl::mechs_in(&t[5..]);
        }
    }
}

/// An address as MAIL FROM / RCPT TO / MAIL_AUTH carry it: the enclosing "<>" of the option
/// value taken off and put back.
pub fn bracketed(addr: &str) -> String {
    format!("<{}>", bare(addr))
}

/// The address without the "<>" around it (VRFY and EXPN take it bare).
pub fn bare(addr: &str) -> &str {
    let a = addr.strip_prefix('<').unwrap_or(addr);
    a.strip_suffix('>').unwrap_or(a)
}

/// Dot-stuffing of the upload as libcurl does it: a "." at the start of the body or after CRLF
/// is doubled (a "." after a bare LF is not); with CRLF (the option) a bare LF becomes CRLF first.
#[derive(Debug)]
pub struct Stuffer {
    /// How much of CRLF the last bytes were: 2 at the start (a leading "." is stuffed too).
    seen: u8,
    crlf: bool,
    /// The last two bytes sent ended in CRLF (or nothing was sent): the end is ".\r\n" alone.
    pub ends_crlf: bool,
}

impl Stuffer {
    pub fn new(crlf: bool) -> Stuffer {
        Stuffer { seen: 2, crlf, ends_crlf: true }
    }

    pub fn encode(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for &b in data {
            if b == b'\n' && self.crlf && self.seen != 1 {
                out.push(b'\r');
                self.seen = 1;
            }
            if b == b'.' && self.seen == 2 {
                out.push(b'.');
            }
            out.push(b);
            self.seen = match (b, self.seen) {
                (b'\r', _) => 1,
                (b'\n', 1) => 2,
                _ => 0,
            };
        }
        if !data.is_empty() {
            self.ends_crlf = self.seen == 2;
        }
    }

    /// The end-of-data mark for what was sent.
    pub fn end(&self) -> &'static [u8] {
        if self.ends_crlf {
            b".\r\n"
        } else {
            b"\r\n.\r\n"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(parts: &[&[u8]], crlf: bool) -> Vec<u8> {
        let mut s = Stuffer::new(crlf);
        let mut out = Vec::new();
        for p in parts {
            s.encode(p, &mut out);
        }
        out.extend_from_slice(s.end());
        out
    }

    #[test]
    fn stuffing_as_libcurl() {
        // Observed with libcurl 8: only "." at the start or after CRLF is doubled.
        assert_eq!(
            stuff(&[b".lead\nbare lf\n.\nx\r\n.\r\nlast."], false),
            b"..lead\nbare lf\n.\nx\r\n..\r\nlast.\r\n.\r\n"
        );
        assert_eq!(stuff(&[b".lead\nbare lf\n"], true), b"..lead\r\nbare lf\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r", b"\n", b".b\r\n"], false), b"a\r\n..b\r\n.\r\n");
        assert_eq!(stuff(&[], false), b".\r\n");
        assert_eq!(stuff(&[b"a\r\n"], true), b"a\r\n.\r\n");
    }

    #[test]
    fn reply_lines_and_caps() {
        assert_eq!(line_code(b"250-SIZE 10\r\n"), Some((250, false)));
        assert_eq!(line_code(b"250 OK\r\n"), Some((250, true)));
        assert_eq!(line_code(b"250\r\n"), Some((250, true)));
        assert_eq!(line_code(b"hello\r\n"), None);
        let mut c = Caps::default();
        for l in [&b"250-SIZE 33554432\r\n"[..], b"250-STARTTLS\r\n", b"250-AUTH LOGIN PLAIN\r\n", b"250 SMTPUTF8\r\n"]
        {
            c.line(l);
        }
        assert!(c.size && c.starttls && c.auth && c.utf8);
        assert_eq!(c.mechs, super::super::sasl::LOGIN | super::super::sasl::PLAIN);
        assert_eq!(bracketed("<a@b>"), "<a@b>");
        assert_eq!(bracketed("a@b"), "<a@b>");
        assert_eq!(bare("<a@b>"), "a@b");
    }
}
