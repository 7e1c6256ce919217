//! POP3 without sockets: status lines, CAPA's capabilities, APOP, the command a URL asks for and
//! the multi-line body's end and dot-unstuffing.

use md5::{Digest, Md5};

/// What a line from the server is.
#[derive(Debug, PartialEq, Eq)]
pub enum Resp {
    /// "+OK ..."
    Ok,
    /// "-ERR ..."
    Err,
    /// "+ challenge" (a SASL continuation)
    More(String),
    Other,
}

pub fn classify(l: &[u8]) -> Resp {
    let t = super::trim_eol(l);
    if t.starts_with(b"+OK") {
        Resp::Ok
    } else if t.starts_with(b"-ERR") {
        Resp::Err
    } else if t == b"+" || t.starts_with(b"+ ") {
        Resp::More(String::from_utf8_lossy(t.get(2..).unwrap_or(b"")).into_owned())
    } else {
        Resp::Other
    }
}

/// What CAPA's answer says the server can do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Caps {
    pub stls: bool,
    pub user: bool,
    pub sasl: bool,
    pub mechs: u32,
}

impl Caps {
    pub fn line(&mut self, l: &[u8]) {
        let t = String::from_utf8_lossy(super::trim_eol(l)).into_owned();
        let mut words = t.split_ascii_whitespace();
        match words.next() {
            Some(w) if w.eq_ignore_ascii_case("STLS") => self.stls = true,
            Some(w) if w.eq_ignore_ascii_case("USER") => self.user = true,
            Some(w) if w.eq_ignore_ascii_case("SASL") => {
                self.sasl = true;
                self.mechs |= super::sasl::mechs_in(&words.collect::<Vec<_>>().join(" "));
            }
            _ => {}
        }
    }
}

/// The "<...@...>" timestamp of a greeting that offers APOP.
pub fn apop_timestamp(greeting: &[u8]) -> Option<String> {
    let t = String::from_utf8_lossy(super::trim_eol(greeting)).into_owned();
    let a = t.find('<')?;
    let b = a + t[a..].find('>')?;
    let ts = &t[a..=b];
    ts.contains('@').then(|| ts.to_string())
}

pub fn apop_digest(timestamp: &str, password: &str) -> String {
    let d = Md5::digest(format!("{timestamp}{password}").as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The command for the URL's message number and the options, and whether a multi-line body
/// follows (libcurl: LIST without a number, RETR, or any custom command unless NOBODY).
pub fn command(id: &str, custom: Option<&str>, list_only: bool, nobody: bool) -> (String, bool) {
    let (verb, mut body) = if id.is_empty() || list_only { ("LIST", id.is_empty()) } else { ("RETR", true) };
    let verb = match custom {
        Some(c) if !c.is_empty() => {
            body = true;
            c
        }
        _ => verb,
    };
    if nobody {
        body = false;
    }
    let cmd = if id.is_empty() { verb.to_string() } else { format!("{verb} {id}") };
    (cmd, body)
}

/// One line of a multi-line body: None at the "." that ends it, else the line with a leading
/// stuffed dot taken off.
pub fn body_line(l: &[u8]) -> Option<&[u8]> {
    if l == b".\r\n" || l == b".\n" {
        return None;
    }
    Some(if l.starts_with(b"..") { &l[1..] } else { l })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(classify(b"+OK ready\r\n"), Resp::Ok);
        assert_eq!(classify(b"-ERR no\r\n"), Resp::Err);
        assert_eq!(classify(b"+ VXNlcg==\r\n"), Resp::More("VXNlcg==".into()));
        assert_eq!(classify(b"+\r\n"), Resp::More(String::new()));
        assert_eq!(body_line(b"..x\r\n"), Some(&b".x\r\n"[..]));
        assert_eq!(body_line(b".\r\n"), None);
        let mut c = Caps::default();
        c.line(b"SASL PLAIN LOGIN\r\n");
        c.line(b"STLS\r\n");
        assert!(c.sasl && c.stls && !c.user);
    }

    #[test]
    fn commands_and_apop() {
        assert_eq!(command("", None, false, false), ("LIST".into(), true));
        assert_eq!(command("1", None, false, false), ("RETR 1".into(), true));
        assert_eq!(command("1", None, true, false), ("LIST 1".into(), false));
        assert_eq!(command("1", Some("DELE"), false, true), ("DELE 1".into(), false));
        assert_eq!(command("", Some("STAT"), false, false), ("STAT".into(), true));
        // RFC 1939's example.
        let ts = apop_timestamp(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n").unwrap();
        assert_eq!(apop_digest(&ts, "tanstaaf"), "c4c9334bac560ecc979e58001b3e22fb");
    }
}
