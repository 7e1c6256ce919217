//! The request head writer: request line, header lines, and the rules by which CURLOPT_HTTPHEADER
//! lines replace, remove or add to the headers the engine generates.

use std::borrow::Cow;

use crate::engine::easy::wire_bytes;

/// A request head before it is written: the engine's own headers (in libcurl's order), the
/// application's custom lines, and the headers libcurl sends after the custom ones.
#[derive(Debug, Default)]
pub struct RequestHead<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub http10: bool,
    /// Generated headers sent before custom ones (Host, Authorization, Range, User-Agent, …);
    /// values borrowed from the options where they can be (no copy per request).
    pub internal: Vec<(&'static str, Cow<'a, str>)>,
    /// Generated headers sent after custom ones (Content-Length, Content-Type, Expect, …).
    pub tail: Vec<(&'static str, Cow<'a, str>)>,
    /// Connection tokens of generated headers ("TE", "Upgrade, HTTP2-Settings"): one Connection
    /// line after everything else, as libcurl writes it.
    pub connection: Vec<&'static str>,
}

/// Generated headers a custom line with the same name does not replace (libcurl keeps its h2c
/// offer whatever HTTPHEADER says).
fn pinned(name: &str) -> bool {
    name == "Upgrade" || name == "HTTP2-Settings"
}

impl<'a> RequestHead<'a> {
    /// Writes the head with CURLOPT_HTTPHEADER lines applied: "Name: value" replaces a generated
    /// header of that name (a custom Host takes the generated Host's place), "Name:" removes it,
    /// "Name;" sends an empty header; custom lines go out as written, between `internal` and `tail`.
    /// Custom Connection lines go last, the first one merged with `connection`'s tokens (libcurl).
    pub fn write(mut self, custom_lines: &'a [String]) -> Vec<u8> {
        // An empty name marks a verbatim custom Host line kept in the Host slot.
        let internal = &mut self.internal;
        let mut custom: Vec<std::borrow::Cow<'_, str>> = Vec::new();
        let mut connection: Vec<(&str, &str)> = Vec::new();
        for h in custom_lines {
            let Some(i) = h.find([':', ';']) else { continue };
            let name = h[..i].trim();
            let sep = h.as_bytes()[i];
            let value = h[i + 1..].trim();
            if name.eq_ignore_ascii_case("connection") {
                if sep == b':' && !value.is_empty() {
                    connection.push((h.as_str(), value));
                }
                continue;
            }
            if name.eq_ignore_ascii_case("host") && sep == b':' && !value.is_empty() {
                if let Some(slot) = internal.iter_mut().find(|(n, _)| *n == "Host") {
                    *slot = ("", Cow::Borrowed(h.as_str()));
                    continue;
                }
            }
            internal.retain(|(n, _)| !n.eq_ignore_ascii_case(name) || pinned(n));
            self.tail.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            if sep == b':' {
                if !value.is_empty() {
                    custom.push(h.as_str().into());
                }
            } else if value.is_empty() {
                custom.push(format!("{name}:").into());
            }
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&wire_bytes(self.target));
        out.extend_from_slice(if self.http10 { b" HTTP/1.0\r\n" } else { b" HTTP/1.1\r\n" });
        for (n, v) in &self.internal {
            if n.is_empty() {
                out.extend_from_slice(&wire_bytes(v));
                out.extend_from_slice(b"\r\n");
            } else {
                header(&mut out, n, v);
            }
        }
        for c in &custom {
            out.extend_from_slice(&wire_bytes(c));
            out.extend_from_slice(b"\r\n");
        }
        for (n, v) in &self.tail {
            header(&mut out, n, v);
        }
        let mut rest = connection.iter();
        if !self.connection.is_empty() {
            let mut v: Vec<&str> = rest.next().map(|(_, v)| *v).into_iter().collect();
            v.extend_from_slice(&self.connection);
            header(&mut out, "Connection", &v.join(", "));
        }
        for (line, _) in rest {
            out.extend_from_slice(&wire_bytes(line));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    // Option text may stand for bytes that are not UTF-8 (see easy::wire_bytes): they go out as given.
    out.extend_from_slice(&wire_bytes(value));
    out.extend_from_slice(b"\r\n");
}

/// A chunk of a chunked request body: size line, data, CRLF.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
    framed.extend_from_slice(data);
    framed.extend_from_slice(b"\r\n");
    framed
}

/// The last chunk of a chunked request body (no trailers).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The last chunk with trailer lines. As libcurl, a line without ": " after its name is left out.
pub fn last_chunk_with(trailers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"0\r\n".to_vec();
    for t in trailers {
        let well_formed = t.iter().position(|&b| b == b':').is_some_and(|i| t.get(i + 1) == Some(&b' '));
        if well_formed && !t.contains(&b'\r') && !t.contains(&b'\n') {
            out.extend_from_slice(t);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> RequestHead<'static> {
        RequestHead {
            method: "POST",
            target: "/p?q",
            http10: false,
            internal: vec![("Host", "h:8080".into()), ("User-Agent", "ua".into()), ("Accept", "*/*".into())],
            tail: vec![("Content-Length", "3".into()), ("Content-Type", "application/x-www-form-urlencoded".into())],
            connection: Vec::new(),
        }
    }

    #[test]
    fn connection_lines_go_last_merged_with_the_tokens() {
        let custom = ["Connection: a".to_string(), "X-B: 1".into(), "Connection: b".into(), "Upgrade: foo".into()];
        let mut h = head();
        h.internal.push(("Upgrade", "h2c".into()));
        h.connection = vec!["TE", "Upgrade, HTTP2-Settings"];
        assert_eq!(
            String::from_utf8(h.write(&custom)).unwrap(),
            "POST /p?q HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ua\r\nAccept: */*\r\nUpgrade: h2c\r\nX-B: 1\r\n\
             Upgrade: foo\r\nContent-Length: 3\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Connection: a, TE, Upgrade, HTTP2-Settings\r\nConnection: b\r\n\r\n"
        );
        // No tokens: custom Connection lines still go last, as written; "Connection;" sends none.
        let custom = ["Connection: close".to_string(), "X-B: 1".into(), "Connection;".into()];
        assert!(String::from_utf8(head().write(&custom)).unwrap().ends_with(
            "X-B: 1\r\nContent-Length: 3\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
        ));
    }

    #[test]
    fn generated_headers_in_order() {
        let out = head().write(&[]);
        assert_eq!(
            out,
            b"POST /p?q HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: ua\r\nAccept: */*\r\nContent-Length: 3\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        );
    }

    #[test]
    fn custom_lines_replace_remove_and_add() {
        let custom =
            ["Accept:".to_string(), "Host: other".into(), "X-E;".into(), "content-type: t/x".into(), "junk".into()];
        let out = head().write(&custom);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "POST /p?q HTTP/1.1\r\nHost: other\r\nUser-Agent: ua\r\nX-E:\r\ncontent-type: t/x\r\nContent-Length: 3\r\n\r\n"
        );
        let mut h = head();
        h.http10 = true;
        assert!(h.write(&[]).starts_with(b"POST /p?q HTTP/1.0\r\n"));
    }

    #[test]
    fn chunks_are_framed() {
        assert_eq!(chunk(b"hello world, 17 b"), b"11\r\nhello world, 17 b\r\n");
        assert_eq!(LAST_CHUNK, b"0\r\n\r\n");
        let t = |s: &[&str]| last_chunk_with(&s.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>());
        assert_eq!(t(&[]), LAST_CHUNK);
        assert_eq!(
            t(&["X-A: 1", "bad", "X-B:2", "X-C:", "X-D: ", "X-E: a\r\nX-F: b"]),
            b"0\r\nX-A: 1\r\nX-D: \r\n\r\n"
        );
    }
}
