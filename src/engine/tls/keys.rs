//! The client certificate and its private key (SSLCERT, SSLKEY, blobs, KEYPASSWD).

use std::fs;
use std::io;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::certinfo::oid_name;
use super::der::{der_uint, oid_text, Der};
use super::pem::parse_pem;
use super::verifier::pem_certificates;
use super::*;

// ---------------------------------------------------------------------------------------
// Client certificate and key
// ---------------------------------------------------------------------------------------

pub(super) struct ClientAuth {
    pub(super) chain: Vec<CertificateDer<'static>>,
    pub(super) key: PrivateKeyDer<'static>,
    pub(super) key_name: String,
}

pub(super) fn key_error(name: &str) -> TlsError {
    TlsError::new(E_BAD_FUNCTION_ARGUMENT, format!("unable to set private key file: '{name}' type PEM"))
}

fn io_error_detail(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    match e.raw_os_error() {
        Some(n) => format!("error:{:08X}:system library::{text}", 0x8000_0000u32 | n as u32),
        None => format!("error:80000000:system library::{text}"),
    }
}

fn cert_error(from: &str, detail: &str) -> TlsError {
    TlsError::new(
        E_SSL_CERTPROBLEM,
        format!(
            "could not load PEM client certificate from {from}, OpenSSL error {detail}, \
             (no key found, wrong passphrase, or wrong file format?)"
        ),
    )
}

pub(super) fn load_client_auth(o: &TlsOptions) -> Result<Option<ClientAuth>, TlsError> {
    let (cert_data, cert_from) = if let Some(blob) = &o.cert_blob {
        (blob.clone(), "CURLOPT_SSLCERT_BLOB".to_string())
    } else if let Some(path) = &o.cert {
        let from = path.display().to_string();
        match fs::read(path) {
            Ok(d) => (d, from),
            Err(e) => return Err(cert_error(&from, &io_error_detail(&e))),
        }
    } else {
        return Ok(None);
    };
    let mut chain: Vec<CertificateDer<'static>> =
        pem_certificates(&cert_data).into_iter().map(CertificateDer::from).collect();
    if chain.is_empty() && cert_data.first() == Some(&0x30) && X509Certificate::from_der(&cert_data).is_ok() {
        chain.push(CertificateDer::from(cert_data.clone()));
    }
    if chain.is_empty() {
        return Err(cert_error(&cert_from, "error:0480006C:PEM routines::no start line"));
    }

    // The key: SSLKEY_BLOB, SSLKEY, else the certificate source itself.
    let (key_data, key_name) = if let Some(blob) = &o.key_blob {
        (blob.clone(), "(memory blob)".to_string())
    } else if let Some(path) = &o.key {
        let name = path.display().to_string();
        match fs::read(path) {
            Ok(d) => (d, name),
            Err(_) => return Err(key_error(&name)),
        }
    } else if o.cert_blob.is_some() {
        (cert_data.clone(), "(memory blob)".to_string())
    } else {
        (cert_data.clone(), cert_from.clone())
    };
    let key = parse_private_key(&key_data, o.key_passwd.as_deref(), &key_name)?;
    // Reject keys the provider cannot use now, with libcurl's message.
    let provider = rustls::crypto::ring::default_provider();
    let Ok(signing) = provider.key_provider.load_private_key(key.clone_key()) else {
        return Err(key_error(&key_name));
    };
    let certified = rustls::sign::CertifiedKey::new(chain.clone(), signing);
    if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) = certified.keys_match() {
        return Err(TlsError::new(
            E_SSL_CERTPROBLEM,
            "Private key does not match the certificate public key".to_string(),
        ));
    }
    Ok(Some(ClientAuth { chain, key, key_name }))
}

/// Parse a private key (PEM, possibly encrypted; or bare DER).
fn parse_private_key(data: &[u8], passwd: Option<&str>, name: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let blocks = parse_pem(data);
    for b in &blocks {
        match b.label.as_str() {
            "PRIVATE KEY" => return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(b.der.clone()))),
            "ENCRYPTED PRIVATE KEY" => {
                let Some(pw) = passwd else {
                    return Err(key_error(name));
                };
                return match decrypt_pkcs8(&b.der, pw.as_bytes()) {
                    Ok(der) => Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der))),
                    Err(KeyDecryptError::Wrong) => Err(key_error(name)),
                    Err(KeyDecryptError::Unsupported(what)) => Err(unsupported_key_encryption(name, &what)),
                };
            }
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                let der = if b.header("Proc-Type").is_some_and(|v| v.contains("ENCRYPTED")) {
                    let Some(pw) = passwd else {
                        return Err(key_error(name));
                    };
                    let dek = b.header("DEK-Info").unwrap_or_default();
                    match decrypt_legacy_pem(&b.der, dek, pw.as_bytes()) {
                        Ok(d) => d,
                        Err(KeyDecryptError::Wrong) => return Err(key_error(name)),
                        Err(KeyDecryptError::Unsupported(what)) => return Err(unsupported_key_encryption(name, &what)),
                    }
                } else {
                    b.der.clone()
                };
                return Ok(if b.label == "RSA PRIVATE KEY" {
                    PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der))
                } else {
                    PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der))
                });
            }
            _ => {}
        }
    }
    if blocks.is_empty() && data.first() == Some(&0x30) {
        // Bare DER: try the three encodings rustls understands.
        let provider = rustls::crypto::ring::default_provider();
        let candidates = [
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(data.to_vec())),
            PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(data.to_vec())),
            PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(data.to_vec())),
        ];
        for k in candidates {
            if provider.key_provider.load_private_key(k.clone_key()).is_ok() {
                return Ok(k);
            }
        }
    }
    Err(key_error(name))
}

fn unsupported_key_encryption(name: &str, what: &str) -> TlsError {
    TlsError::new(
        E_SSL_CERTPROBLEM,
        format!(
            "unable to decrypt private key file: '{name}': unsupported key encryption ({what}); \
             supported: PKCS#8 PBES2 (PBKDF2 with HMAC-SHA1/SHA-2, AES-128/192/256-CBC) and \
             OpenSSL PEM encryption with AES-128/192/256-CBC"
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Encrypted private keys
// ---------------------------------------------------------------------------------------

pub(super) enum KeyDecryptError {
    /// wrong pass phrase or corrupt data
    Wrong,
    /// an encryption scheme this module does not implement
    Unsupported(String),
}

/// Decrypt a PKCS#8 EncryptedPrivateKeyInfo (PBES2 + PBKDF2 + AES-CBC).
pub(super) fn decrypt_pkcs8(der: &[u8], passwd: &[u8]) -> Result<Vec<u8>, KeyDecryptError> {
    let bad = || KeyDecryptError::Wrong;
    let mut top = Der(Der(der).expect(0x30).ok_or_else(bad)?);
    let mut alg = Der(top.expect(0x30).ok_or_else(bad)?);
    let data = top.expect(0x04).ok_or_else(bad)?;
    let alg_oid = oid_text(alg.expect(0x06).ok_or_else(bad)?);
    if alg_oid != "1.2.840.113549.1.5.13" {
        return Err(KeyDecryptError::Unsupported(format!("PKCS#8 scheme {}", oid_name(&alg_oid))));
    }
    let mut params = Der(alg.expect(0x30).ok_or_else(bad)?);
    let mut kdf = Der(params.expect(0x30).ok_or_else(bad)?);
    let mut enc = Der(params.expect(0x30).ok_or_else(bad)?);
    let kdf_oid = oid_text(kdf.expect(0x06).ok_or_else(bad)?);
    if kdf_oid != "1.2.840.113549.1.5.12" {
        return Err(KeyDecryptError::Unsupported(format!("key derivation {}", oid_name(&kdf_oid))));
    }
    let mut kp = Der(kdf.expect(0x30).ok_or_else(bad)?);
    let salt = kp.expect(0x04).ok_or_else(bad)?;
    let iterations = der_uint(kp.expect(0x02).ok_or_else(bad)?).ok_or_else(bad)?;
    let mut prf = ring::pbkdf2::PBKDF2_HMAC_SHA1;
    while !kp.is_empty() {
        match kp.next().ok_or_else(bad)? {
            (0x02, _) => {} // keyLength: implied by the cipher
            (0x30, c) => {
                let prf_oid = oid_text(Der(c).expect(0x06).ok_or_else(bad)?);
                prf = match prf_oid.as_str() {
                    "1.2.840.113549.2.7" => ring::pbkdf2::PBKDF2_HMAC_SHA1,
                    "1.2.840.113549.2.9" => ring::pbkdf2::PBKDF2_HMAC_SHA256,
                    "1.2.840.113549.2.10" => ring::pbkdf2::PBKDF2_HMAC_SHA384,
                    "1.2.840.113549.2.11" => ring::pbkdf2::PBKDF2_HMAC_SHA512,
                    other => return Err(KeyDecryptError::Unsupported(format!("PBKDF2 PRF {}", oid_name(other)))),
                };
            }
            _ => return Err(bad()),
        }
    }
    let enc_oid = oid_text(enc.expect(0x06).ok_or_else(bad)?);
    let key_len = match enc_oid.as_str() {
        "2.16.840.1.101.3.4.1.2" => 16,
        "2.16.840.1.101.3.4.1.22" => 24,
        "2.16.840.1.101.3.4.1.42" => 32,
        other => return Err(KeyDecryptError::Unsupported(format!("cipher {}", oid_name(other)))),
    };
    let iv = enc.expect(0x04).ok_or_else(bad)?;
    if iv.len() != 16 || iterations == 0 {
        return Err(bad());
    }
    let mut key = vec![0u8; key_len];
    ring::pbkdf2::derive(prf, std::num::NonZeroU32::new(iterations).ok_or_else(bad)?, salt, passwd, &mut key);
    let plain = aes_cbc_decrypt(&key, iv, data).ok_or_else(bad)?;
    // A wrong pass phrase almost always yields garbage that is not a DER SEQUENCE.
    let mut chk = Der(&plain);
    if chk.expect(0x30).is_none() || !chk.is_empty() {
        return Err(bad());
    }
    Ok(plain)
}

/// Decrypt an OpenSSL "Proc-Type: 4,ENCRYPTED" PEM body (EVP_BytesToKey with MD5).
pub(super) fn decrypt_legacy_pem(body: &[u8], dek_info: &str, passwd: &[u8]) -> Result<Vec<u8>, KeyDecryptError> {
    let (cipher, iv_hex) = dek_info.split_once(',').ok_or(KeyDecryptError::Wrong)?;
    let cipher = cipher.trim().to_ascii_uppercase();
    let key_len = match cipher.as_str() {
        "AES-128-CBC" => 16,
        "AES-192-CBC" => 24,
        "AES-256-CBC" => 32,
        other => return Err(KeyDecryptError::Unsupported(other.to_string())),
    };
    let iv = hex_decode(iv_hex.trim()).ok_or(KeyDecryptError::Wrong)?;
    if iv.len() != 16 {
        return Err(KeyDecryptError::Wrong);
    }
    let salt = &iv[..8];
    let mut key = Vec::with_capacity(key_len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < key_len {
        let mut input = prev.clone();
        input.extend_from_slice(passwd);
        input.extend_from_slice(salt);
        prev = md5(&input).to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(key_len);
    let plain = aes_cbc_decrypt(&key, &iv, body).ok_or(KeyDecryptError::Wrong)?;
    let mut chk = Der(&plain);
    if chk.expect(0x30).is_none() || !chk.is_empty() {
        return Err(KeyDecryptError::Wrong);
    }
    Ok(plain)
}

pub(super) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// AES-CBC decryption with PKCS#7 padding removal.
fn aes_cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() || !data.len().is_multiple_of(16) || iv.len() != 16 {
        return None;
    }
    let aes = Aes::new(key)?;
    let mut out = Vec::with_capacity(data.len());
    let mut prev: [u8; 16] = iv.try_into().ok()?;
    for chunk in data.chunks(16) {
        let block: [u8; 16] = chunk.try_into().ok()?;
        let mut p = aes.decrypt_block(block);
        for i in 0..16 {
            p[i] ^= prev[i];
        }
        out.extend_from_slice(&p);
        prev = block;
    }
    let pad = *out.last()? as usize;
    if pad == 0 || pad > 16 || out[out.len() - pad..].iter().any(|&b| b as usize != pad) {
        return None;
    }
    out.truncate(out.len() - pad);
    Some(out)
}

/// AES block decryption (FIPS-197), used only to open encrypted key files.
pub(super) struct Aes {
    round_keys: Vec<[u8; 16]>,
    inv_sbox: [u8; 256],
}

fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

fn aes_sbox() -> [u8; 256] {
    let mut sbox = [0u8; 256];
    for (x, slot) in sbox.iter_mut().enumerate() {
        // multiplicative inverse in GF(2^8) (0 maps to 0)
        let x = x as u8;
        let mut inv = 0u8;
        if x != 0 {
            for c in 1..=255u8 {
                if gf_mul(x, c) == 1 {
                    inv = c;
                    break;
                }
            }
        }
        let s = inv ^ inv.rotate_left(1) ^ inv.rotate_left(2) ^ inv.rotate_left(3) ^ inv.rotate_left(4) ^ 0x63;
        *slot = s;
    }
    sbox
}

impl Aes {
    pub(super) fn new(key: &[u8]) -> Option<Aes> {
        let nk = key.len() / 4;
        let nr = match key.len() {
            16 => 10,
            24 => 12,
            32 => 14,
            _ => return None,
        };
        let sbox = aes_sbox();
        let mut inv_sbox = [0u8; 256];
        for (i, &s) in sbox.iter().enumerate() {
            inv_sbox[s as usize] = i as u8;
        }
        let total = 4 * (nr + 1);
        let mut w: Vec<[u8; 4]> = Vec::with_capacity(total);
        for i in 0..nk {
            w.push([key[4 * i], key[4 * i + 1], key[4 * i + 2], key[4 * i + 3]]);
        }
        let mut rcon = 1u8;
        for i in nk..total {
            let mut t = w[i - 1];
            if i % nk == 0 {
                t = [sbox[t[1] as usize], sbox[t[2] as usize], sbox[t[3] as usize], sbox[t[0] as usize]];
                t[0] ^= rcon;
                rcon = gf_mul(rcon, 2);
            } else if nk > 6 && i % nk == 4 {
                t = [sbox[t[0] as usize], sbox[t[1] as usize], sbox[t[2] as usize], sbox[t[3] as usize]];
            }
            let prev = w[i - nk];
            w.push([prev[0] ^ t[0], prev[1] ^ t[1], prev[2] ^ t[2], prev[3] ^ t[3]]);
        }
        let round_keys = (0..=nr)
            .map(|r| {
                let mut k = [0u8; 16];
                for c in 0..4 {
                    k[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
                }
                k
            })
            .collect();
        Some(Aes { round_keys, inv_sbox })
    }

    pub(super) fn decrypt_block(&self, input: [u8; 16]) -> [u8; 16] {
        let nr = self.round_keys.len() - 1;
        let mut s = input;
        let add = |s: &mut [u8; 16], k: &[u8; 16]| {
            for i in 0..16 {
                s[i] ^= k[i];
            }
        };
        add(&mut s, &self.round_keys[nr]);
        for round in (0..nr).rev() {
            // InvShiftRows: row r of column c comes from column (c - r) mod 4.
            let mut t = [0u8; 16];
            for c in 0..4 {
                for r in 0..4 {
                    t[r + 4 * c] = s[r + 4 * ((c + 4 - r) % 4)];
                }
            }
            // InvSubBytes
            for b in t.iter_mut() {
                *b = self.inv_sbox[*b as usize];
            }
            add(&mut t, &self.round_keys[round]);
            if round > 0 {
                // InvMixColumns
                for c in 0..4 {
                    let a = [t[4 * c], t[4 * c + 1], t[4 * c + 2], t[4 * c + 3]];
                    t[4 * c] = gf_mul(a[0], 14) ^ gf_mul(a[1], 11) ^ gf_mul(a[2], 13) ^ gf_mul(a[3], 9);
                    t[4 * c + 1] = gf_mul(a[0], 9) ^ gf_mul(a[1], 14) ^ gf_mul(a[2], 11) ^ gf_mul(a[3], 13);
                    t[4 * c + 2] = gf_mul(a[0], 13) ^ gf_mul(a[1], 9) ^ gf_mul(a[2], 14) ^ gf_mul(a[3], 11);
                    t[4 * c + 3] = gf_mul(a[0], 11) ^ gf_mul(a[1], 13) ^ gf_mul(a[2], 9) ^ gf_mul(a[3], 14);
                }
            }
            s = t;
        }
        s
    }
}

/// MD5 (RFC 1321), needed only for OpenSSL's legacy PEM key derivation.
pub(super) fn md5(input: &[u8]) -> [u8; 16] {
    let s: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ];
    let k: Vec<u32> = (0..64).map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32).collect();
    let mut a0: u32 = 0x67452301;
    let mut b0: u32 = 0xefcdab89;
    let mut c0: u32 = 0x98badcfe;
    let mut d0: u32 = 0x10325476;
    let mut msg = input.to_vec();
    let bit_len = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk.chunks(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(s[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    out[0..4].copy_from_slice(&a0.to_le_bytes());
    out[4..8].copy_from_slice(&b0.to_le_bytes());
    out[8..12].copy_from_slice(&c0.to_le_bytes());
    out[12..16].copy_from_slice(&d0.to_le_bytes());
    out
}
