//! MQTT 3.1.1 as libcurl speaks it: CONNECT (clean session, keep-alive 60 s, client id "curl" and
//! eight random alphanumerics, the user name and password when given), then for a GET a
//! SUBSCRIBE to the URL's topic at QoS 0 and every PUBLISH that follows handed on as it came
//! (two length bytes, the topic, the payload), for a POST a PUBLISH of POSTFIELDS and DISCONNECT.

use crate::engine::error::{code, Error};

pub const CONNECT: u8 = 0x10;
pub const CONNACK: u8 = 0x20;
pub const PUBLISH: u8 = 0x30;
pub const SUBSCRIBE: u8 = 0x82;
pub const SUBACK: u8 = 0x90;
pub const DISCONNECT: u8 = 0xe0;

/// The packet id of libcurl's one SUBSCRIBE.
pub const PACKET_ID: u16 = 1;

/// A remaining length as MQTT encodes it: seven bits a byte, low first.
pub fn encode_len(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

/// The remaining length from its bytes (at most four, the last without the high bit).
pub fn decode_len(bytes: &[u8]) -> usize {
    bytes.iter().rev().fold(0, |n, b| n * 128 + usize::from(b & 0x7f))
}

fn push_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

fn packet(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    encode_len(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// libcurl's client id: "curl" and eight random letters and digits.
pub fn client_id() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw);
    let mut id = String::from("curl");
    id.extend(raw.iter().map(|b| char::from(ALNUM[usize::from(*b) % ALNUM.len()])));
    id
}

/// CONNECT; the user and password flags are set for values that are not empty.
pub fn connect(client_id: &str, user: &str, password: &str) -> Vec<u8> {
    let mut flags = 0x02u8;
    if !user.is_empty() {
        flags |= 0x80;
    }
    if !password.is_empty() {
        flags |= 0x40;
    }
    let mut body = Vec::new();
    push_str(&mut body, b"MQTT");
    body.extend_from_slice(&[0x04, flags, 0x00, 0x3c]);
    push_str(&mut body, client_id.as_bytes());
    if !user.is_empty() {
        push_str(&mut body, user.as_bytes());
    }
    if !password.is_empty() {
        push_str(&mut body, password.as_bytes());
    }
    packet(CONNECT, &body)
}

pub fn subscribe(topic: &[u8]) -> Vec<u8> {
    let mut body = PACKET_ID.to_be_bytes().to_vec();
    push_str(&mut body, topic);
    body.push(0); // QoS 0
    packet(SUBSCRIBE, &body)
}

pub fn publish(topic: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(topic.len() + payload.len() + 2);
    push_str(&mut body, topic);
    body.extend_from_slice(payload);
    packet(PUBLISH, &body)
}

pub const DISCONNECT_PACKET: [u8; 2] = [DISCONNECT, 0];

/// The topic: the URL path without its "/", percent-decoded.
pub fn topic(path: &str) -> Result<Vec<u8>, Error> {
    let path = path.split('?').next().unwrap_or_default();
    if path.len() <= 1 {
        return Err(Error::new(code::URL_MALFORMAT, "No MQTT topic found. Forgot to URL encode it?"));
    }
    super::unescape(&path[1..], false)
        .ok_or_else(|| Error::new(code::URL_MALFORMAT, "URL using bad/illegal format or missing URL"))
}

/// CONNACK's two bytes: anything but 00 00 is refused with libcurl's words.
pub fn check_connack(b: &[u8]) -> Result<(), Error> {
    if b == [0, 0] {
        return Ok(());
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Err(Error::new(code::WEIRD_SERVER_REPLY, format!("Expected 0000 but got {hex}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_as_libcurl_sends_them() {
        assert_eq!(connect("curlABCDEFGH", "", ""), b"\x10\x18\x00\x04MQTT\x04\x02\x00<\x00\x0ccurlABCDEFGH");
        assert_eq!(
            connect("curlNRcD2efi", "u x", "p"),
            b"\x10 \x00\x04MQTT\x04\xc2\x00<\x00\x0ccurlNRcD2efi\x00\x03u x\x00\x01p"
        );
        assert_eq!(connect("curlKsXDUSF2", "bob", "")[..12], b"\x10\x1d\x00\x04MQTT\x04\x82\x00<"[..]);
        assert_eq!(subscribe(b"a/b"), b"\x82\x08\x00\x01\x00\x03a/b\x00");
        assert_eq!(publish(b"a/b", b"hello"), b"0\n\x00\x03a/bhello");
        assert_eq!(publish(b"a", &[b'x'; 200])[..3], [0x30, 0xcb, 0x01]);
        let id = client_id();
        assert!(id.len() == 12 && id.starts_with("curl") && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn lengths_topics_and_connack() {
        for n in [0, 127, 128, 16383, 16384, 2_097_152] {
            let mut v = Vec::new();
            encode_len(n, &mut v);
            assert_eq!(decode_len(&v), n);
        }
        assert_eq!(topic("/a%2Fb%23?q=1").unwrap(), b"a/b#");
        assert_eq!(topic("/").unwrap_err().msg, "No MQTT topic found. Forgot to URL encode it?");
        assert!(check_connack(&[0, 0]).is_ok());
        assert_eq!(check_connack(&[0, 5]).unwrap_err().msg, "Expected 0000 but got 0005");
    }
}
