//! User keys for "publickey" authentication: OpenSSH private key files (ed25519 and RSA) and PEM
//! PKCS#1 / PKCS#8 ones, turned into ring key pairs that sign the authentication request.

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use super::wire::{R, W};

/// A private key ready to sign, with its public key blob.
pub enum UserKey {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// Why a key file could not be used.
#[derive(Debug, PartialEq)]
pub enum KeyError {
    Unreadable,
    /// Encrypted with a passphrase: not supported here.
    Encrypted,
    Unsupported,
    Malformed,
}

impl UserKey {
    /// The algorithm name the request names and the signature carries.
    pub fn alg(&self) -> &'static str {
        match self {
            UserKey::Ed25519(_) => "ssh-ed25519",
            UserKey::Rsa(_) => "rsa-sha2-256",
        }
    }

    /// The public key in SSH's encoding.
    pub fn public_blob(&self) -> Vec<u8> {
        match self {
            UserKey::Ed25519(k) => W::default().str("ssh-ed25519").str(k.public_key().as_ref()).0,
            UserKey::Rsa(k) => {
                let c: signature::RsaPublicKeyComponents<Vec<u8>> = k.public().into();
                W::default().str("ssh-rsa").mpint(&c.e).mpint(&c.n).0
            }
        }
    }

    /// A signature blob (algorithm name and signature) of `data`.
    pub fn sign(&self, data: &[u8]) -> Option<Vec<u8>> {
        let sig = match self {
            UserKey::Ed25519(k) => k.sign(data).as_ref().to_vec(),
            UserKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig).ok()?;
                sig
            }
        };
        Some(W::default().str(self.alg()).str(sig).0)
    }

    /// Reads a private key file's text.
    pub fn parse(text: &[u8]) -> Result<UserKey, KeyError> {
        let text = std::str::from_utf8(text).map_err(|_| KeyError::Malformed)?;
        let (label, der) = pem(text).ok_or(KeyError::Malformed)?;
        match label.as_str() {
            "OPENSSH PRIVATE KEY" => openssh(&der),
            "RSA PRIVATE KEY" => {
                if text.contains("ENCRYPTED") {
                    return Err(KeyError::Encrypted);
                }
                RsaKeyPair::from_der(&der).map(UserKey::Rsa).map_err(|_| KeyError::Malformed)
            }
            "PRIVATE KEY" => Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map(UserKey::Ed25519)
                .or_else(|_| RsaKeyPair::from_pkcs8(&der).map(UserKey::Rsa))
                .map_err(|_| KeyError::Unsupported),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            _ => Err(KeyError::Unsupported),
        }
    }
}

/// The first PEM block: its label and decoded body.
fn pem(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_string();
    let body = &rest[label_end + 5..];
    let end = body.find("-----END ")?;
    // Headers (Proc-Type, DEK-Info) end at a blank line; base64 has no ':'.
    let b64: String = body[..end].lines().filter(|l| !l.contains(':')).flat_map(|l| l.trim().chars()).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((label, der))
}

/// OpenSSH's own format (PROTOCOL.key): an unencrypted single key.
fn openssh(data: &[u8]) -> Result<UserKey, KeyError> {
    let m = |_| KeyError::Malformed;
    let data = data.strip_prefix(b"openssh-key-v1\0").ok_or(KeyError::Malformed)?;
    let mut r = R(data);
    let cipher = r.str().map_err(m)?;
    r.str().map_err(m)?; // kdfname
    r.str().map_err(m)?; // kdfoptions
    if cipher != b"none" {
        return Err(KeyError::Encrypted);
    }
    if r.u32().map_err(m)? != 1 {
        return Err(KeyError::Unsupported);
    }
    r.str().map_err(m)?; // public key
    let mut p = R(r.str().map_err(m)?);
    if p.u32().map_err(m)? != p.u32().map_err(m)? {
        return Err(KeyError::Malformed);
    }
    match p.str().map_err(m)? {
        b"ssh-ed25519" => {
            let public = p.str().map_err(m)?;
            let private = p.str().map_err(m)?;
            if private.len() != 64 {
                return Err(KeyError::Malformed);
            }
            Ed25519KeyPair::from_seed_and_public_key(&private[..32], public)
                .map(UserKey::Ed25519)
                .map_err(|_| KeyError::Malformed)
        }
        b"ssh-rsa" => {
            let n = p.mpint().map_err(m)?;
            let e = p.mpint().map_err(m)?;
            let d = p.mpint().map_err(m)?;
            let iqmp = p.mpint().map_err(m)?;
            let pp = p.mpint().map_err(m)?;
            let q = p.mpint().map_err(m)?;
            let der = rsa_pkcs1(n, e, d, pp, q, iqmp);
            RsaKeyPair::from_der(&der).map(UserKey::Rsa).map_err(|_| KeyError::Malformed)
        }
        _ => Err(KeyError::Unsupported),
    }
}

/// PKCS#1 RSAPrivateKey DER from OpenSSH's parts; the CRT exponents d mod (p-1) and d mod (q-1)
/// that OpenSSH leaves out are worked out again.
fn rsa_pkcs1(n: &[u8], e: &[u8], d: &[u8], p: &[u8], q: &[u8], iqmp: &[u8]) -> Vec<u8> {
    use num_bigint::BigUint;
    let one = BigUint::from(1u8);
    let dd = BigUint::from_bytes_be(d);
    let dp = (&dd % (BigUint::from_bytes_be(p) - &one)).to_bytes_be();
    let dq = (&dd % (BigUint::from_bytes_be(q) - &one)).to_bytes_be();
    let mut body = Vec::new();
    for v in [&[0u8][..], n, e, d, p, q, &dp, &dq, iqmp] {
        der_int(&mut body, v);
    }
    let mut out = vec![0x30];
    der_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn der_len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let b = (n as u32).to_be_bytes();
        let skip = b.iter().position(|&x| x != 0).unwrap_or(3);
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&b[skip..]);
    }
}

fn der_int(out: &mut Vec<u8>, v: &[u8]) {
    let v = &v[v.iter().position(|&b| b != 0).unwrap_or(v.len().saturating_sub(1))..];
    let v = if v.is_empty() { &[0u8][..] } else { v };
    let pad = v[0] & 0x80 != 0;
    out.push(0x02);
    der_len(out, v.len() + pad as usize);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(v);
}

/// What userauth "publickey" signs (RFC 4252 section 7).
pub fn auth_signed_data(session_id: &[u8], user: &str, alg: &str, blob: &[u8]) -> Vec<u8> {
    W::default()
        .str(session_id)
        .u8(super::msg::USERAUTH_REQUEST)
        .str(user)
        .str("ssh-connection")
        .str("publickey")
        .bool(true)
        .str(alg)
        .str(blob)
        .0
}

/// A known_hosts line's key for `host` (and port, as "[host]:port" when not 22): the key type
/// and its blob. Hashed entries ("|1|") are compared by their HMAC-SHA1.
pub fn known_host(text: &str, host: &str, port: u16) -> Vec<(String, Vec<u8>)> {
    let name = if port == 22 { host.to_string() } else { format!("[{host}]:{port}") };
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(hosts), Some(ktype), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let matches = hosts.split(',').any(|h| {
            if let Some(hashed) = h.strip_prefix("|1|") {
                hashed_matches(hashed, &name)
            } else {
                h.eq_ignore_ascii_case(&name)
            }
        });
        if let (true, Ok(blob)) = (matches, base64::engine::general_purpose::STANDARD.decode(b64)) {
            out.push((ktype.to_string(), blob));
        }
    }
    out
}

fn hashed_matches(hashed: &str, name: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((salt, hash)) = hashed.split_once('|') else { return false };
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else { return false };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salt);
    ring::hmac::verify(&key, name.as_bytes(), &hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_match_plain_ported_and_hashed_names() {
        let kh = "# c\nexample.com ssh-ed25519 AAAA\n[127.0.0.1]:2222,other ssh-rsa AAAB\n";
        assert_eq!(known_host(kh, "example.com", 22).len(), 1);
        assert_eq!(known_host(kh, "example.com", 2222).len(), 0);
        assert_eq!(known_host(kh, "127.0.0.1", 2222)[0].0, "ssh-rsa");
        // ssh-keygen -H's entry for "localhost" with this salt.
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"0123456789abcdefghij");
        let tag = ring::hmac::sign(&key, b"localhost");
        let b = base64::engine::general_purpose::STANDARD;
        let line = format!("|1|{}|{} ssh-ed25519 AAAA\n", b.encode(b"0123456789abcdefghij"), b.encode(tag.as_ref()));
        assert_eq!(known_host(&line, "localhost", 22).len(), 1);
        assert_eq!(known_host(&line, "otherhost", 22).len(), 0);
    }

    #[test]
    fn encrypted_and_garbage_keys_are_refused() {
        assert_eq!(UserKey::parse(b"nothing").err(), Some(KeyError::Malformed));
        let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(UserKey::parse(enc.as_bytes()).err(), Some(KeyError::Encrypted));
    }
}
