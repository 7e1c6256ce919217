//! The WebSocket upgrade (RFC 6455 section 4): the request a client sends and the checks on the
//! server's answer. Pure: the transfer does the I/O.

use base64::Engine as _;

use crate::engine::error::{code, Error, Result};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A fresh Sec-WebSocket-Key: 16 random bytes in base64.
pub fn new_key() -> String {
    use ring::rand::SecureRandom;
    let mut k = [0u8; 16];
    let _ = ring::rand::SystemRandom::new().fill(&mut k);
    base64::engine::general_purpose::STANDARD.encode(k)
}

/// The Sec-WebSocket-Accept a server must answer to `key`.
pub fn accept_for(key: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, format!("{key}{GUID}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(d.as_ref())
}

/// The upgrade request head. `extra` are HTTPHEADER lines; one naming a header we set replaces it,
/// "Name:" removes it.
pub fn request(path: &str, host: &str, user_agent: Option<&str>, key: &str, extra: &[String]) -> Vec<u8> {
    let mut lines: Vec<(String, String)> = vec![("Host".into(), host.into())];
    if let Some(ua) = user_agent {
        lines.push(("User-Agent".into(), ua.into()));
    }
    lines.push(("Accept".into(), "*/*".into()));
    lines.push(("Upgrade".into(), "websocket".into()));
    lines.push(("Connection".into(), "Upgrade".into()));
    lines.push(("Sec-WebSocket-Version".into(), "13".into()));
    lines.push(("Sec-WebSocket-Key".into(), key.into()));
    for h in extra {
        let Some((name, value)) = h.split_once(':') else { continue };
        let value = value.trim();
        lines.retain(|(n, _)| !n.eq_ignore_ascii_case(name.trim()));
        if !value.is_empty() {
            lines.push((name.trim().to_string(), value.to_string()));
        }
    }
    let mut out = format!("GET {path} HTTP/1.1\r\n");
    for (n, v) in lines {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Checks the server's answer. libcurl 8.x takes any 101 and does not compare
/// Sec-WebSocket-Accept with what the key asks for (seen with real pycurl): neither do we.
pub fn check(status: u16) -> Result<()> {
    if status != 101 {
        return Err(Error::new(code::HTTP_RETURNED_ERROR, format!("Refused WebSocket upgrade: {status}")));
    }
    Ok(())
}

/// Does `headers` carry the Sec-WebSocket-Accept that `key` asks for (VERBOSE tells when not).
pub fn accept_ok(headers: &[(String, String)], key: &str) -> bool {
    headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("Sec-WebSocket-Accept") && *v == accept_for(key))
}

/// A parsed response head: its size in bytes, the status code and the header fields.
pub type ResponseHead = (usize, u16, Vec<(String, String)>);

/// Splits a response head into status and header fields: None until it is complete (CRLF CRLF).
pub fn parse_head(buf: &[u8]) -> Option<Result<ResponseHead>> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse::<u16>().ok());
    let Some(status) = status else {
        return Some(Err(Error::new(code::WEIRD_SERVER_REPLY, "Unsupported HTTP version in response")));
    };
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_string(), v.trim().to_string())).collect();
    Some(Ok((end, status, headers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_matches_rfc_example() {
        assert_eq!(accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(new_key().len(), 24);
        assert_ne!(new_key(), new_key());
    }

    #[test]
    fn checks_the_answer() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = vec![("Upgrade".into(), "websocket".into()), ("Sec-WebSocket-Accept".into(), accept_for(key))];
        assert!(check(101).is_ok());
        assert_eq!(check(200).unwrap_err().code, code::HTTP_RETURNED_ERROR);
        assert!(accept_ok(&ok, key));
        let bad = vec![("Upgrade".into(), "websocket".into()), ("Sec-WebSocket-Accept".into(), "x".into())];
        assert!(!accept_ok(&bad, key));
    }

    #[test]
    fn head_is_found_whole() {
        let h = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00";
        for k in 0..h.len() - 2 {
            assert!(parse_head(&h[..k]).is_none());
        }
        let (end, st, hs) = parse_head(h).unwrap().unwrap();
        assert_eq!((end, st), (h.len() - 2, 101));
        assert_eq!(hs[0].1, "websocket");
        let r = request("/p?q", "h:1", None, "k", &["X-A: 1".into(), "Accept:".into()]);
        let r = String::from_utf8(r).unwrap();
        assert!(r.starts_with("GET /p?q HTTP/1.1\r\nHost: h:1\r\n"));
        assert!(r.contains("X-A: 1\r\n") && !r.contains("Accept: */*"));
    }
}
