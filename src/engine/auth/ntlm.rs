//! NTLM (MS-NLMP) as libcurl speaks it over HTTP: the type-1 it sends (fixed flags, no domain or
//! workstation), the type-2 challenge it reads, and the type-3 it answers with: the NTLMv2 and
//! LMv2 responses when the challenge sets NEGOTIATE_NTLM2_KEY, else NTLMv1 and LM responses.
//! Strings go out byte for byte, widened to 16 bits when the server negotiates Unicode; the
//! workstation is libcurl's fixed "WORKSTATION".

use base64::Engine as _;
use des::cipher::{BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use md4::{Digest, Md4};

/// NTLMFLAG_* bits libcurl reads or sends.
pub const NEGOTIATE_UNICODE: u32 = 1 << 0;
pub const NEGOTIATE_OEM: u32 = 1 << 1;
pub const REQUEST_TARGET: u32 = 1 << 2;
pub const NEGOTIATE_NTLM_KEY: u32 = 1 << 9;
pub const NEGOTIATE_ALWAYS_SIGN: u32 = 1 << 15;
pub const NEGOTIATE_NTLM2_KEY: u32 = 1 << 19;
pub const NEGOTIATE_TARGET_INFO: u32 = 1 << 23;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// The workstation name libcurl sends instead of the real host name (Firefox's choice).
const WORKSTATION: &[u8] = b"WORKSTATION";
/// libcurl builds the type-3 in a buffer of this size and refuses what does not fit.
const BUFSIZE: usize = 1024;
/// Seconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const FILETIME_EPOCH_OFFSET: u64 = 11_644_473_600;

/// The type-1 (negotiate) message libcurl sends: its flags, empty domain and workstation.
pub fn type1() -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&1u32.to_le_bytes());
    let flags = NEGOTIATE_OEM | REQUEST_TARGET | NEGOTIATE_NTLM_KEY | NEGOTIATE_NTLM2_KEY | NEGOTIATE_ALWAYS_SIGN;
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&[0u8; 16]);
    m
}

/// "NTLM <type-1 in base64>", the header value.
pub fn type1_header() -> String {
    format!("NTLM {}", base64::engine::general_purpose::STANDARD.encode(type1()))
}

/// What libcurl keeps of a type-2 (challenge) message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub flags: u32,
    pub nonce: [u8; 8],
    pub target_info: Vec<u8>,
}

/// What the server's NTLM challenge header asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// "NTLM" alone: start (or restart) the handshake with a type-1.
    Start,
    /// "NTLM <base64>": a type-2 to answer.
    Challenge(Challenge),
    /// A type-2 libcurl refuses; the text is its VERBOSE line.
    Bad(&'static str),
}

/// Reads the value of a `WWW-Authenticate` / `Proxy-Authenticate: NTLM ...` header.
pub fn input(value: &str) -> Input {
    let rest = value.get(4..).unwrap_or("").trim_start_matches([' ', '\t']);
    if rest.is_empty() {
        return Input::Start;
    }
    let token = rest.split([' ', '\t', ',']).next().unwrap_or("");
    match base64::engine::general_purpose::STANDARD.decode(token) {
        Ok(raw) => match parse_type2(&raw) {
            Ok(c) => Input::Challenge(c),
            Err(e) => Input::Bad(e),
        },
        Err(_) => Input::Bad("NTLM handshake failure (bad type-2 message)"),
    }
}

/// Checks and reads a type-2 message as libcurl does: the signature and type, the flags and
/// nonce, and the target information when the flags announce it (its bounds checked).
pub fn parse_type2(m: &[u8]) -> Result<Challenge, &'static str> {
    const BAD: &str = "NTLM handshake failure (bad type-2 message)";
    if m.len() < 32 || &m[..8] != SIGNATURE || m[8..12] != [2, 0, 0, 0] {
        return Err(BAD);
    }
    let flags = u32::from_le_bytes([m[20], m[21], m[22], m[23]]);
    let mut nonce = [0u8; 8];
    nonce.copy_from_slice(&m[24..32]);
    let mut target_info = Vec::new();
    if flags & NEGOTIATE_TARGET_INFO != 0 && m.len() >= 48 {
        let len = u16::from_le_bytes([m[40], m[41]]) as usize;
        let off = u32::from_le_bytes([m[44], m[45], m[46], m[47]]) as usize;
        if len > 0 {
            if off > m.len() || off + len > m.len() || off < 48 {
                return Err(BAD);
            }
            target_info = m[off..off + len].to_vec();
        }
    }
    Ok(Challenge { flags, nonce, target_info })
}

/// A type-3 that cannot be built, in libcurl's words (CURLE_TOO_LARGE).
#[derive(Debug, PartialEq, Eq)]
pub struct TooBig(pub &'static str);

/// The type-3 (authenticate) message answering `ch` for `user` ("DOMAIN\user", "DOMAIN/user" or
/// "user") and `pass`. `client` is the 8 random bytes of the client challenge, `unix_time` the
/// time the NTLMv2 blob carries.
pub fn type3(ch: &Challenge, user: &str, pass: &str, client: [u8; 8], unix_time: u64) -> Result<Vec<u8>, TooBig> {
    let (domain, user) = match user.find(['\\', '/']) {
        Some(i) => (&user.as_bytes()[..i], &user.as_bytes()[i + 1..]),
        None => (&b""[..], user.as_bytes()),
    };
    let mut flags = ch.flags;
    let nt = nt_hash(pass.as_bytes());
    let (lm_resp, nt_resp) = if flags & NEGOTIATE_NTLM2_KEY != 0 {
        let key = ntlmv2_hash(user, domain, &nt);
        (lmv2_response(&key, &ch.nonce, &client).to_vec(), ntlmv2_response(&key, ch, &client, unix_time))
    } else {
        flags &= !NEGOTIATE_NTLM2_KEY;
        (des_response(&lm_hash(pass.as_bytes()), &ch.nonce).to_vec(), des_response(&nt, &ch.nonce).to_vec())
    };
    let unicode = flags & NEGOTIATE_UNICODE != 0;
    let text = |s: &[u8]| if unicode { widen(s) } else { s.to_vec() };
    let (domain, user, host) = (text(domain), text(user), text(WORKSTATION));
    let lm_off = 64;
    let nt_off = lm_off + 24;
    if nt_off + nt_resp.len() > BUFSIZE {
        return Err(TooBig("incoming NTLM message too big"));
    }
    let dom_off = nt_off + nt_resp.len();
    let user_off = dom_off + domain.len();
    let host_off = user_off + user.len();
    if host_off + host.len() >= BUFSIZE {
        return Err(TooBig("user + domain + hostname too big for NTLM"));
    }
    let mut m = Vec::with_capacity(host_off + host.len());
    m.extend_from_slice(SIGNATURE);
    m.extend_from_slice(&3u32.to_le_bytes());
    for (len, off) in [
        (24, lm_off),
        (nt_resp.len(), nt_off),
        (domain.len(), dom_off),
        (user.len(), user_off),
        (host.len(), host_off),
        (0, 0),
    ] {
        // A security buffer: length, allocated space, offset.
        m.extend_from_slice(&(len as u16).to_le_bytes());
        m.extend_from_slice(&(len as u16).to_le_bytes());
        m.extend_from_slice(&(off as u32).to_le_bytes());
    }
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&lm_resp);
    m.extend_from_slice(&nt_resp);
    m.extend_from_slice(&domain);
    m.extend_from_slice(&user);
    m.extend_from_slice(&host);
    Ok(m)
}

/// "NTLM <type-3 in base64>", with fresh random client challenge and the current time.
pub fn type3_header(ch: &Challenge, user: &str, pass: &str) -> Result<String, TooBig> {
    let mut client = [0u8; 8];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut client);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let m = type3(ch, user, pass, client, now)?;
    Ok(format!("NTLM {}", base64::engine::general_purpose::STANDARD.encode(m)))
}

/// Each byte followed by a zero byte: libcurl's "Unicode" (exact for ASCII only).
fn widen(s: &[u8]) -> Vec<u8> {
    s.iter().flat_map(|&b| [b, 0]).collect()
}

/// NTOWFv1: MD4 of the widened password (21 bytes, zero-padded for the DES responses).
pub fn nt_hash(pass: &[u8]) -> [u8; 21] {
    let mut out = [0u8; 21];
    out[..16].copy_from_slice(&Md4::digest(widen(pass)));
    out
}

/// LMOWFv1: the upper-cased password's first 14 bytes as two DES keys over "KGS!@#$%".
pub fn lm_hash(pass: &[u8]) -> [u8; 21] {
    let mut pw = [0u8; 14];
    for (d, s) in pw.iter_mut().zip(pass) {
        *d = s.to_ascii_uppercase();
    }
    let mut out = [0u8; 21];
    out[..8].copy_from_slice(&des_encrypt(&pw[..7], b"KGS!@#$%"));
    out[8..16].copy_from_slice(&des_encrypt(&pw[7..], b"KGS!@#$%"));
    out
}

/// The 24-byte NTLMv1 / LM response: the challenge under the three 7-byte parts of `key`.
pub fn des_response(key: &[u8; 21], challenge: &[u8; 8]) -> [u8; 24] {
    let mut out = [0u8; 24];
    for i in 0..3 {
        out[i * 8..i * 8 + 8].copy_from_slice(&des_encrypt(&key[i * 7..i * 7 + 7], challenge));
    }
    out
}

/// DES with a 56-bit key spread over 8 bytes (the parity bits are not used by DES).
fn des_encrypt(key7: &[u8], block: &[u8; 8]) -> [u8; 8] {
    let k = key7;
    let key = [
        k[0],
        (k[0] << 7) | (k[1] >> 1),
        (k[1] << 6) | (k[2] >> 2),
        (k[2] << 5) | (k[3] >> 3),
        (k[3] << 4) | (k[4] >> 4),
        (k[4] << 3) | (k[5] >> 5),
        (k[5] << 2) | (k[6] >> 6),
        k[6] << 1,
    ];
    let cipher = des::Des::new(&key.into());
    let mut b = (*block).into();
    cipher.encrypt_block(&mut b);
    b.into()
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// NTOWFv2: HMAC-MD5 under the NT hash of the upper-cased user followed by the domain, widened.
pub fn ntlmv2_hash(user: &[u8], domain: &[u8], nt: &[u8; 21]) -> [u8; 16] {
    let mut id = widen(&user.to_ascii_uppercase());
    id.extend(widen(domain));
    hmac_md5(&nt[..16], &[&id])
}

/// LMv2: HMAC-MD5 of the server and client challenges, then the client challenge.
pub fn lmv2_response(key: &[u8; 16], server: &[u8; 8], client: &[u8; 8]) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[..16].copy_from_slice(&hmac_md5(key, &[server, client]));
    out[16..].copy_from_slice(client);
    out
}

/// The NTLMv2 response: the proof (HMAC-MD5 of the server challenge and the blob) and the blob:
/// signature, reserved, FILETIME timestamp, client challenge, reserved, the target info as the
/// server sent it, reserved.
pub fn ntlmv2_response(key: &[u8; 16], ch: &Challenge, client: &[u8; 8], unix_time: u64) -> Vec<u8> {
    let filetime = unix_time.saturating_add(FILETIME_EPOCH_OFFSET).saturating_mul(10_000_000);
    let mut blob = Vec::with_capacity(32 + ch.target_info.len());
    blob.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    blob.extend_from_slice(&filetime.to_le_bytes());
    blob.extend_from_slice(client);
    blob.extend_from_slice(&[0; 4]);
    blob.extend_from_slice(&ch.target_info);
    blob.extend_from_slice(&[0; 4]);
    let mut out = hmac_md5(key, &[&ch.nonce, &blob]).to_vec();
    out.extend_from_slice(&blob);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    const SERVER: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    const CLIENT: [u8; 8] = [0xaa; 8];

    /// MS-NLMP 4.2.2: NTLMv1 with User / Domain / Password.
    #[test]
    fn ms_nlmp_ntlmv1_vectors() {
        let nt = nt_hash(b"Password");
        assert_eq!(nt[..16], h("a4 f4 9c 40 65 10 bd ca b6 82 4e e7 c3 0f d8 52")[..]);
        let lm = lm_hash(b"Password");
        assert_eq!(lm[..16], h("e5 2c ac 67 41 9a 9a 22 4a 3b 10 8f 3f a6 cb 6d")[..]);
        assert_eq!(
            des_response(&nt, &SERVER)[..],
            h("67 c4 30 11 f3 02 98 a2 ad 35 ec e6 4f 16 33 1c 44 bd be d9 27 84 1f 94")[..]
        );
        assert_eq!(
            des_response(&lm, &SERVER)[..],
            h("98 de f7 b8 7f 88 aa 5d af e2 df 77 96 88 a1 72 de f1 1c 7d 5c cd ef 13")[..]
        );
    }

    /// MS-NLMP 4.2.4: NTLMv2 (time 0, target info naming Domain and Server).
    #[test]
    fn ms_nlmp_ntlmv2_vectors() {
        let key = ntlmv2_hash(b"User", b"Domain", &nt_hash(b"Password"));
        assert_eq!(key[..], h("0c 86 8a 40 3b fd 7a 93 a3 00 1e f2 2e f0 2e 3f")[..]);
        assert_eq!(
            lmv2_response(&key, &SERVER, &CLIENT)[..],
            h("86 c3 50 97 ac 9c ec 10 25 54 76 4a 57 cc cc 19 aa aa aa aa aa aa aa aa")[..]
        );
        let ti = h("02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00");
        let ch =
            Challenge { flags: NEGOTIATE_NTLM2_KEY | NEGOTIATE_TARGET_INFO, nonce: SERVER, target_info: ti.clone() };
        // Time 0 in the vectors is FILETIME 0: the Unix time 11644473600 seconds before 1970.
        let resp = ntlmv2_response(&key, &ch, &CLIENT, 0);
        let mut blob = h("01 01 00 00 00 00 00 00");
        blob.extend(11_644_473_600u64.wrapping_mul(10_000_000).to_le_bytes());
        blob.extend(CLIENT);
        blob.extend([0; 4]);
        blob.extend(&ti);
        blob.extend([0; 4]);
        assert_eq!(resp[16..], blob[..]);
        // The proof over the vectors' own blob (timestamp zero).
        let mut zero_blob = blob.clone();
        zero_blob[8..16].copy_from_slice(&[0; 8]);
        assert_eq!(
            hmac_md5(&key, &[&SERVER, &zero_blob])[..],
            h("68 cd 0a b8 51 e5 1c 96 aa bc 92 7b eb ef 6a 1c")[..]
        );
    }

    #[test]
    fn type1_is_libcurls() {
        assert_eq!(type1_header(), "NTLM TlRMTVNTUAABAAAABoIIAAAAAAAAAAAAAAAAAAAAAAA=");
    }

    /// curl's own test 67: an OEM type-2 without NTLM2_KEY gets NTLMv1, the workstation as
    /// WORKSTATION, byte for byte what libcurl sends.
    #[test]
    fn ntlmv1_type3_matches_libcurl() {
        let t2 = "NTLM TlRMTVNTUAACAAAAAgACADAAAACGggEAc51AYVDgyNcAAAAAAAAAAG4AbgAyAAAAQ0MCAAQAQwBDAAEAEgBFAEwASQBTAEEAQgBFAFQASAAEABgAYwBjAC4AaQBjAGUAZABlAHYALgBuAHUAAwAsAGUAbABpAHMAYQBiAGUAdABoAC4AYwBjAC4AaQBjAGUAZABlAHYALgBuAHUAAAAAAA==";
        let Input::Challenge(ch) = input(t2) else { panic!("type-2 not read") };
        assert_eq!(ch.flags & (NEGOTIATE_NTLM2_KEY | NEGOTIATE_UNICODE), 0);
        let m = type3(&ch, "testuser", "testpass", [0; 8], 0).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(m);
        assert_eq!(b64, "TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAAAAABwAAAACAAIAHAAAAALAAsAeAAAAAAAAAAAAAAAhoIBAFpkQwKRCZFMhjj0tw47wEjKHRHlvzfxQamFcheMuv8v+xeqphEO5V41xRd7R9deOXRlc3R1c2VyV09SS1NUQVRJT04=");
    }

    #[test]
    fn type3_layout_with_unicode_and_domain() {
        let ch = Challenge { flags: NEGOTIATE_UNICODE | NEGOTIATE_NTLM2_KEY, nonce: SERVER, target_info: vec![9, 9] };
        let m = type3(&ch, "Dom\\Bob", "pw", CLIENT, 1_700_000_000).unwrap();
        let buf = |at: usize| {
            let len = u16::from_le_bytes([m[at], m[at + 1]]) as usize;
            let off = u32::from_le_bytes([m[at + 4], m[at + 5], m[at + 6], m[at + 7]]) as usize;
            m[off..off + len].to_vec()
        };
        assert_eq!(buf(28), widen(b"Dom"));
        assert_eq!(buf(36), widen(b"Bob"));
        assert_eq!(buf(44), widen(b"WORKSTATION"));
        assert_eq!(buf(12).len(), 24);
        let nt = buf(20);
        assert_eq!(nt.len(), 16 + 28 + 2 + 4);
        let key = ntlmv2_hash(b"Bob", b"Dom", &nt_hash(b"pw"));
        assert_eq!(nt[..16], hmac_md5(&key, &[&SERVER, &nt[16..]])[..]);
        assert_eq!(u32::from_le_bytes([m[60], m[61], m[62], m[63]]), ch.flags);
        // A user too long for libcurl's 1 KiB buffer.
        assert!(type3(&ch, &"u".repeat(600), "pw", CLIENT, 0).is_err());
    }

    #[test]
    fn type2_checks() {
        assert_eq!(input("NTLM"), Input::Start);
        assert_eq!(input("NTLM   "), Input::Start);
        assert!(matches!(input("NTLM !!!"), Input::Bad(_)));
        let mut m = b"NTLMSSP\0\x02\0\0\0".to_vec();
        m.resize(48, 0);
        m[20..24].copy_from_slice(&NEGOTIATE_TARGET_INFO.to_le_bytes());
        m[40] = 4; // four bytes of target info ...
        m[44] = 47; // ... at an offset inside the header: refused
        assert!(parse_type2(&m).is_err());
        m[44] = 48;
        assert!(parse_type2(&m).is_err(), "past the end");
        m.extend([1, 2, 3, 4]);
        assert_eq!(parse_type2(&m).unwrap().target_info, vec![1, 2, 3, 4]);
        assert!(parse_type2(&m[..31]).is_err());
        m[8] = 3;
        assert!(parse_type2(&m).is_err());
    }

    #[test]
    fn hostile_type2s_are_refused_without_a_panic() {
        let mut m = b"NTLMSSP\0\x02\0\0\0".to_vec();
        m.resize(48, 0);
        m[20..24].copy_from_slice(&(NEGOTIATE_TARGET_INFO | NEGOTIATE_NTLM2_KEY).to_le_bytes());
        m[40..42].copy_from_slice(&u16::MAX.to_le_bytes());
        m[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_type2(&m).is_err(), "absurd offset and length");
        // Every truncation is refused or read, never sliced out of bounds.
        for n in 0..m.len() {
            let _ = parse_type2(&m[..n]);
        }
        // An oversize target info parses, but its type-3 cannot fit libcurl's buffer.
        m[40..42].copy_from_slice(&60_000u16.to_le_bytes());
        m[44..48].copy_from_slice(&48u32.to_le_bytes());
        m.resize(48 + 60_000, b'T');
        let ch = parse_type2(&m).unwrap();
        assert_eq!(type3(&ch, "d\\u", "p", CLIENT, 0), Err(TooBig("incoming NTLM message too big")));
        assert!(type3_header(&ch, "u", "p").is_err());
    }
}
