//! The client certificate and its private key (SSLCERT, SSLKEY, blobs, KEYPASSWD).

use std::fs;
use std::io;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer as _;

use ::der::asn1::AnyRef;
use ::der::{Decode, Tag, Tagged};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockCipher, BlockDecryptMut, KeyInit, KeyIvInit};
use md5::{Digest, Md5};

use super::asn1::{first_sequence, oid_text, sequence_items};
use super::certinfo::oid_name;
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
    key_error_typed(name, "PEM")
}

fn key_error_typed(name: &str, ty: &str) -> TlsError {
    TlsError::new(E_BAD_FUNCTION_ARGUMENT, format!("unable to set private key file: '{name}' type {ty}"))
}

fn io_error_detail(e: &io::Error) -> String {
    // OpenSSL reports the C runtime's errno and strerror text; Windows' own texts and codes differ,
    // so the common kinds are spelled the POSIX way on every OS.
    let (code, text) = match e.kind() {
        io::ErrorKind::NotFound => (Some(2), "No such file or directory".to_string()),
        io::ErrorKind::PermissionDenied => (Some(13), "Permission denied".to_string()),
        _ => {
            let text = e.to_string();
            let text = match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            (e.raw_os_error(), text)
        }
    };
    match code {
        Some(n) => format!("error:{:08X}:system library::{text}", 0x8000_0000u32 | n as u32),
        None => format!("error:80000000:system library::{text}"),
    }
}

fn cert_error_kind(kind: &str, from: &str, detail: &str) -> TlsError {
    TlsError::new(
        E_SSL_CERTPROBLEM,
        format!(
            "could not load {kind} client certificate from {from}, OpenSSL error {detail}, \
             (no key found, wrong passphrase, or wrong file format?)"
        ),
    )
}

fn cert_error(from: &str, detail: &str) -> TlsError {
    cert_error_kind("PEM", from, detail)
}

/// CURLOPT_SSLCERTTYPE / CURLOPT_SSLKEYTYPE as libcurl reads them (case-insensitive).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FileType {
    Pem,
    Der,
    P12,
}

fn cert_file_type(t: Option<&str>) -> Result<FileType, TlsError> {
    match t.map(str::to_ascii_uppercase).as_deref() {
        None | Some("PEM") => Ok(FileType::Pem),
        Some("DER") => Ok(FileType::Der),
        Some("P12") => Ok(FileType::P12),
        Some("ENG") => Err(TlsError::new(E_SSL_CERTPROBLEM, "crypto engine not set, cannot load certificate")),
        Some(_) => Err(TlsError::new(
            E_BAD_FUNCTION_ARGUMENT,
            format!("not supported file type '{}' for certificate", t.unwrap_or_default()),
        )),
    }
}

fn key_file_type(t: Option<&str>) -> Result<FileType, TlsError> {
    match t.map(str::to_ascii_uppercase).as_deref() {
        None | Some("PEM") => Ok(FileType::Pem),
        Some("DER") => Ok(FileType::Der),
        Some("P12") => Err(TlsError::new(E_SSL_CERTPROBLEM, "file type P12 for private key not supported")),
        Some("ENG") => Err(TlsError::new(E_SSL_CERTPROBLEM, "crypto engine not set, cannot load private key")),
        Some(_) => Err(TlsError::new(E_BAD_FUNCTION_ARGUMENT, "not supported file type for private key")),
    }
}

/// A PKCS#12 file or blob: its first private key and that key's certificate chain.
fn load_p12(data: &[u8], passwd: Option<&str>, from: &str) -> Result<ClientAuth, TlsError> {
    let parse_error = || {
        TlsError::new(
            E_SSL_CERTPROBLEM,
            "could not parse PKCS12 file, check password, OpenSSL error \
             error:11800071:PKCS12 routines::mac verify failure",
        )
    };
    // Something that is not DER at all is "error reading", like OpenSSL's d2i failure.
    if data.first() != Some(&0x30) || ::der::asn1::AnyRef::from_der(data).is_err() {
        return Err(TlsError::new(E_SSL_CERTPROBLEM, format!("error reading PKCS12 file '{from}'")));
    }
    let store = p12_keystore::KeyStore::from_pkcs12(data, passwd.unwrap_or("")).map_err(|_| parse_error())?;
    let Some((_, chain)) = store.private_key_chain() else {
        return Err(parse_error());
    };
    let certs: Vec<CertificateDer<'static>> =
        chain.chain().iter().map(|c| CertificateDer::from(c.as_der().to_vec())).collect();
    if certs.is_empty() {
        return Err(parse_error());
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().to_vec()));
    Ok(ClientAuth { chain: certs, key, key_name: from.to_string() })
}

pub(super) fn load_client_auth(o: &TlsOptions) -> Result<Option<ClientAuth>, TlsError> {
    if o.cert_blob.is_none() && o.cert.is_none() {
        return Ok(None);
    }
    let cert_type = cert_file_type(o.cert_type.as_deref())?;
    if cert_type == FileType::P12 {
        let (data, from) = if let Some(blob) = &o.cert_blob {
            (blob.clone(), "(memory blob)".to_string())
        } else {
            let path = o.cert.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            match o.cert.as_ref().map(fs::read) {
                Some(Ok(d)) => (d, path),
                _ => return Err(TlsError::new(E_SSL_CERTPROBLEM, format!("could not open PKCS12 file '{path}'"))),
            }
        };
        let auth = load_p12(&data, o.key_passwd.as_deref(), &from)?;
        check_key_matches(&auth)?;
        return Ok(Some(auth));
    }
    let (cert_data, cert_from) = if let Some(blob) = &o.cert_blob {
        (blob.clone(), "CURLOPT_SSLCERT_BLOB".to_string())
    } else if let Some(path) = &o.cert {
        let from = path.display().to_string();
        match fs::read(path) {
            Ok(d) => (d, from),
            Err(e) if cert_type == FileType::Der => return Err(cert_error_kind("ASN1", &from, &io_error_detail(&e))),
            Err(e) => return Err(cert_error(&from, &io_error_detail(&e))),
        }
    } else {
        return Ok(None);
    };
    let chain: Vec<CertificateDer<'static>> = if cert_type == FileType::Der {
        if cert_data.first() != Some(&0x30) || X509Certificate::from_der(&cert_data).is_err() {
            return Err(cert_error_kind("ASN1", &cert_from, "error:068000A8:asn1 encoding routines::wrong tag"));
        }
        vec![CertificateDer::from(cert_data.clone())]
    } else {
        pem_certificates(&cert_data).into_iter().map(CertificateDer::from).collect()
    };
    if chain.is_empty() {
        return Err(cert_error(&cert_from, "error:0480006C:PEM routines::no start line"));
    }

    // The key: SSLKEY_BLOB, SSLKEY, else the certificate source itself.
    let key_type = key_file_type(o.key_type.as_deref())?;
    let ty_name = if key_type == FileType::Der { "DER" } else { "PEM" };
    let (key_data, key_name) = if let Some(blob) = &o.key_blob {
        (blob.clone(), "(memory blob)".to_string())
    } else if let Some(path) = &o.key {
        let name = path.display().to_string();
        match fs::read(path) {
            Ok(d) => (d, name),
            Err(_) => return Err(key_error_typed(&name, ty_name)),
        }
    } else if o.cert_blob.is_some() {
        (cert_data.clone(), "(memory blob)".to_string())
    } else {
        (cert_data.clone(), cert_from.clone())
    };
    let key = if key_type == FileType::Der {
        parse_der_key(&key_data).ok_or_else(|| key_error_typed(&key_name, ty_name))?
    } else {
        parse_private_key(&key_data, o.key_passwd.as_deref(), &key_name)?
    };
    let auth = ClientAuth { chain, key, key_name };
    check_key_matches(&auth)?;
    Ok(Some(auth))
}

/// Reject keys the provider cannot use, or that belong to another certificate, with
/// libcurl's messages.
fn check_key_matches(auth: &ClientAuth) -> Result<(), TlsError> {
    let provider = rustls::crypto::ring::default_provider();
    let Ok(signing) = provider.key_provider.load_private_key(auth.key.clone_key()) else {
        return Err(key_error(&auth.key_name));
    };
    let certified = rustls::sign::CertifiedKey::new(auth.chain.clone(), signing);
    if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) = certified.keys_match() {
        return Err(TlsError::new(
            E_SSL_CERTPROBLEM,
            "Private key does not match the certificate public key".to_string(),
        ));
    }
    Ok(())
}

/// A bare DER private key in any of the three encodings rustls understands.
fn parse_der_key(data: &[u8]) -> Option<PrivateKeyDer<'static>> {
    if data.first() != Some(&0x30) {
        return None;
    }
    let provider = rustls::crypto::ring::default_provider();
    let candidates = [
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(data.to_vec())),
        PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(data.to_vec())),
        PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(data.to_vec())),
    ];
    candidates.into_iter().find(|k| provider.key_provider.load_private_key(k.clone_key()).is_ok())
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
    if blocks.is_empty() {
        // A bare DER key under the PEM type: OpenSSL's PEM reader also tries DER for keys.
        if let Some(k) = parse_der_key(data) {
            return Ok(k);
        }
    }
    Err(key_error(name))
}

fn unsupported_key_encryption(name: &str, what: &str) -> TlsError {
    TlsError::new(
        E_SSL_CERTPROBLEM,
        format!(
            "unable to decrypt private key file: '{name}': unsupported key encryption ({what}); \
             supported: PKCS#8 PBES2 (PBKDF2 with HMAC-SHA1/SHA-2 or scrypt; AES-128/192/256-CBC, \
             DES-EDE3-CBC, DES-CBC) and OpenSSL PEM encryption with AES-128/192/256-CBC, DES-EDE3-CBC \
             or DES-CBC"
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Encrypted private keys
// ---------------------------------------------------------------------------------------

pub(super) enum KeyDecryptError {
    /// wrong pass phrase or corrupt data
    Wrong,
    /// an encryption scheme no crate here implements
    Unsupported(String),
}

/// Decrypt a PKCS#8 EncryptedPrivateKeyInfo (PBES2: PBKDF2 or scrypt; AES-CBC or (3)DES-CBC),
/// with the `pkcs8` crate.
pub(super) fn decrypt_pkcs8(der: &[u8], passwd: &[u8]) -> Result<Vec<u8>, KeyDecryptError> {
    let Ok(info) = pkcs8::EncryptedPrivateKeyInfo::try_from(der) else {
        // The crate refuses schemes it does not know while decoding: name the culprit.
        return Err(pkcs8_unsupported(der).map_or(KeyDecryptError::Wrong, KeyDecryptError::Unsupported));
    };
    let plain = info.decrypt(passwd).map_err(|_| KeyDecryptError::Wrong)?;
    // A wrong pass phrase can still end in valid padding: the result must be a PrivateKeyInfo.
    if pkcs8::PrivateKeyInfo::try_from(plain.as_bytes()).is_err() {
        return Err(KeyDecryptError::Wrong);
    }
    Ok(plain.as_bytes().to_vec())
}

fn oid_of_first(any: Option<&AnyRef<'_>>) -> Option<String> {
    oid_text(any?)
}

/// What in an EncryptedPrivateKeyInfo `pkcs8` cannot decrypt (None: it is simply malformed).
fn pkcs8_unsupported(der: &[u8]) -> Option<String> {
    let top = first_sequence(der)?;
    let alg = sequence_items(*top.first()?)?;
    let scheme = oid_of_first(alg.first())?;
    if scheme != "1.2.840.113549.1.5.13" {
        return Some(format!("PKCS#8 scheme {}", oid_name(&scheme)));
    }
    let params = sequence_items(*alg.get(1)?)?;
    let kdf = sequence_items(*params.first()?)?;
    let kdf_oid = oid_of_first(kdf.first())?;
    match kdf_oid.as_str() {
        "1.2.840.113549.1.5.12" => {
            // PBKDF2-params: salt, iterationCount, keyLength OPTIONAL, prf AlgorithmIdentifier OPTIONAL
            let kp = sequence_items(*kdf.get(1)?)?;
            if let Some(prf) = kp.iter().skip(2).find(|a| a.tag() == Tag::Sequence) {
                let prf_oid = oid_of_first(sequence_items(*prf)?.first())?;
                if !matches!(
                    prf_oid.as_str(),
                    "1.2.840.113549.2.7"
                        | "1.2.840.113549.2.8"
                        | "1.2.840.113549.2.9"
                        | "1.2.840.113549.2.10"
                        | "1.2.840.113549.2.11"
                ) {
                    return Some(format!("PBKDF2 PRF {}", oid_name(&prf_oid)));
                }
            }
        }
        "1.3.6.1.4.1.11591.4.11" => {}
        other => return Some(format!("key derivation {}", oid_name(other))),
    }
    let enc_oid = oid_of_first(sequence_items(*params.get(1)?)?.first())?;
    match enc_oid.as_str() {
        "2.16.840.1.101.3.4.1.2"
        | "2.16.840.1.101.3.4.1.22"
        | "2.16.840.1.101.3.4.1.42"
        | "1.3.14.3.2.7"
        | "1.2.840.113549.3.7" => None,
        other => Some(format!("cipher {}", oid_name(other))),
    }
}

/// Decrypt an OpenSSL "Proc-Type: 4,ENCRYPTED" PEM body: the key comes from EVP_BytesToKey
/// (MD5, one round, salt = the first 8 bytes of the IV), the cipher is named by DEK-Info.
pub(super) fn decrypt_legacy_pem(body: &[u8], dek_info: &str, passwd: &[u8]) -> Result<Vec<u8>, KeyDecryptError> {
    let (cipher, iv_hex) = dek_info.split_once(',').ok_or(KeyDecryptError::Wrong)?;
    let cipher = cipher.trim().to_ascii_uppercase();
    let (key_len, iv_len) = match cipher.as_str() {
        "AES-128-CBC" => (16, 16),
        "AES-192-CBC" => (24, 16),
        "AES-256-CBC" => (32, 16),
        "DES-EDE3-CBC" => (24, 8),
        "DES-CBC" => (8, 8),
        other => return Err(KeyDecryptError::Unsupported(other.to_string())),
    };
    let iv = hex_decode(iv_hex.trim()).ok_or(KeyDecryptError::Wrong)?;
    if iv.len() != iv_len {
        return Err(KeyDecryptError::Wrong);
    }
    let key = bytes_to_key(passwd, &iv[..8], key_len);
    let plain = match cipher.as_str() {
        "AES-128-CBC" => cbc_decrypt::<aes::Aes128>(&key, &iv, body),
        "AES-192-CBC" => cbc_decrypt::<aes::Aes192>(&key, &iv, body),
        "AES-256-CBC" => cbc_decrypt::<aes::Aes256>(&key, &iv, body),
        "DES-EDE3-CBC" => cbc_decrypt::<des::TdesEde3>(&key, &iv, body),
        _ => cbc_decrypt::<des::Des>(&key, &iv, body),
    }
    .ok_or(KeyDecryptError::Wrong)?;
    // A wrong pass phrase almost always yields garbage that is not one whole DER SEQUENCE.
    match AnyRef::from_der(&plain) {
        Ok(any) if any.tag() == Tag::Sequence => Ok(plain),
        _ => Err(KeyDecryptError::Wrong),
    }
}

/// OpenSSL's EVP_BytesToKey with MD5 and one iteration: D_i = MD5(D_{i-1} || pass || salt).
fn bytes_to_key(passwd: &[u8], salt: &[u8], key_len: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(key_len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < key_len {
        let mut h = Md5::new();
        h.update(&prev);
        h.update(passwd);
        h.update(salt);
        prev = h.finalize().to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(key_len);
    key
}

/// CBC decryption with PKCS#7 padding removed (None: bad key/IV length or bad padding).
fn cbc_decrypt<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Option<Vec<u8>>
where
    C: BlockDecryptMut + BlockCipher + KeyInit,
{
    let dec = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    let mut buf = data.to_vec();
    let n = dec.decrypt_padded_mut::<Pkcs7>(&mut buf).ok()?.len();
    buf.truncate(n);
    Some(buf)
}

pub(super) fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use cbc::cipher::BlockEncryptMut;
    use pkcs8::pkcs5::pbes2;
    use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384};

    const PW: &str = "correct horse";
    const EXPECTED_BYTES_TO_KEY: &str = "C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB";

    fn pem(label: &str, headers: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN {label}-----\n{headers}{}\n-----END {label}-----\n", lines.join("\n"))
    }

    /// A fresh key as PKCS#8 DER, and the SEC1 ECPrivateKey inside it.
    fn fresh_key(p384: bool) -> (Vec<u8>, Vec<u8>) {
        let alg = if p384 { &PKCS_ECDSA_P384_SHA384 } else { &PKCS_ECDSA_P256_SHA256 };
        let pkcs8 = KeyPair::generate_for(alg).unwrap().serialize_der();
        let sec1 = pkcs8::PrivateKeyInfo::try_from(pkcs8.as_slice()).unwrap().private_key.to_vec();
        (pkcs8, sec1)
    }

    fn load(text: &str, pw: Option<&str>) -> Result<PrivateKeyDer<'static>, TlsError> {
        parse_private_key(text.as_bytes(), pw, "k.pem")
    }

    fn assert_usable(k: &PrivateKeyDer<'static>) {
        let provider = rustls::crypto::ring::default_provider();
        assert!(provider.key_provider.load_private_key(k.clone_key()).is_ok());
    }

    #[test]
    fn pkcs8_pbes2_keys_made_by_the_pkcs8_crate_load_back() {
        let salt = [7u8; 16];
        let iv16 = [9u8; 16];
        let iv8 = [3u8; 8];
        let pbkdf2 = |prf| pbes2::Pbkdf2Params { salt: &salt, iteration_count: 2048, key_length: None, prf };
        let cases: Vec<(&str, pbes2::Parameters<'_>)> = vec![
            ("sha256/aes256", pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &salt, &iv16).unwrap()),
            (
                "sha1/aes128",
                pbes2::Parameters {
                    kdf: pbkdf2(pbes2::Pbkdf2Prf::HmacWithSha1).into(),
                    encryption: pbes2::EncryptionScheme::Aes128Cbc { iv: &iv16 },
                },
            ),
            (
                "sha512/aes192",
                pbes2::Parameters {
                    kdf: pbkdf2(pbes2::Pbkdf2Prf::HmacWithSha512).into(),
                    encryption: pbes2::EncryptionScheme::Aes192Cbc { iv: &iv16 },
                },
            ),
            (
                "sha256/des-ede3",
                pbes2::Parameters {
                    kdf: pbkdf2(pbes2::Pbkdf2Prf::HmacWithSha256).into(),
                    encryption: pbes2::EncryptionScheme::DesEde3Cbc { iv: &iv8 },
                },
            ),
            (
                "scrypt/aes128",
                pbes2::Parameters::scrypt_aes128cbc(
                    pkcs8::pkcs5::scrypt::Params::new(10, 8, 1, 16).unwrap(),
                    &salt,
                    &iv16,
                )
                .unwrap(),
            ),
        ];
        for (what, params) in cases {
            let (plain, _) = fresh_key(what.contains("aes192"));
            let info = pkcs8::PrivateKeyInfo::try_from(plain.as_slice()).unwrap();
            let enc = info.encrypt_with_params(params, PW).unwrap();
            let text = pem("ENCRYPTED PRIVATE KEY", "", enc.as_bytes());
            let k = load(&text, Some(PW)).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(k.secret_der(), plain.as_slice(), "{what}");
            assert_usable(&k);
            assert_eq!(load(&text, Some("wrong")).unwrap_err(), key_error("k.pem"), "{what}");
            assert_eq!(load(&text, None).unwrap_err(), key_error("k.pem"), "{what}");
        }
    }

    /// What `openssl ec -aes256` (or -des3 ...) writes: SEC1 DER, CBC with EVP_BytesToKey.
    fn legacy_pem(cipher: &str, sec1: &[u8], pw: &str) -> String {
        let iv: Vec<u8> = (0..if cipher.starts_with("DES") { 8 } else { 16 }).map(|i| 0x40 + i as u8).collect();
        let key_len = match cipher {
            "AES-128-CBC" => 16,
            "AES-192-CBC" | "DES-EDE3-CBC" => 24,
            "AES-256-CBC" => 32,
            _ => 8,
        };
        let key = bytes_to_key(pw.as_bytes(), &iv[..8], key_len);
        let mut buf = sec1.to_vec();
        buf.resize(sec1.len() + 16, 0);
        fn enc<C: BlockEncryptMut + BlockCipher + KeyInit>(k: &[u8], iv: &[u8], buf: &mut [u8], n: usize) -> usize {
            cbc::Encryptor::<C>::new_from_slices(k, iv).unwrap().encrypt_padded_mut::<Pkcs7>(buf, n).unwrap().len()
        }
        let n = match cipher {
            "AES-128-CBC" => enc::<aes::Aes128>(&key, &iv, &mut buf, sec1.len()),
            "AES-192-CBC" => enc::<aes::Aes192>(&key, &iv, &mut buf, sec1.len()),
            "AES-256-CBC" => enc::<aes::Aes256>(&key, &iv, &mut buf, sec1.len()),
            "DES-EDE3-CBC" => enc::<des::TdesEde3>(&key, &iv, &mut buf, sec1.len()),
            _ => enc::<des::Des>(&key, &iv, &mut buf, sec1.len()),
        };
        let iv_hex: String = iv.iter().map(|b| format!("{b:02X}")).collect();
        pem("EC PRIVATE KEY", &format!("Proc-Type: 4,ENCRYPTED\nDEK-Info: {cipher},{iv_hex}\n\n"), &buf[..n])
    }

    #[test]
    fn legacy_pem_keys_encrypted_with_the_cipher_crates_load_back() {
        for cipher in ["AES-128-CBC", "AES-192-CBC", "AES-256-CBC", "DES-EDE3-CBC", "DES-CBC"] {
            let (_, sec1) = fresh_key(false);
            let text = legacy_pem(cipher, &sec1, PW);
            let k = load(&text, Some(PW)).unwrap_or_else(|e| panic!("{cipher}: {e}"));
            assert!(matches!(k, PrivateKeyDer::Sec1(_)), "{cipher}");
            assert_eq!(k.secret_der(), sec1.as_slice(), "{cipher}");
            assert_usable(&k);
            assert_eq!(load(&text, Some("wrong")).unwrap_err(), key_error("k.pem"), "{cipher}");
            assert_eq!(load(&text, None).unwrap_err(), key_error("k.pem"), "{cipher}");
        }
        let (_, sec1) = fresh_key(false);
        let text = legacy_pem("AES-128-CBC", &sec1, PW).replace("AES-128-CBC", "CAMELLIA-128-CBC");
        let e = load(&text, Some(PW)).unwrap_err();
        assert_eq!(e.code, E_SSL_CERTPROBLEM);
        assert!(e.message.contains("unsupported key encryption (CAMELLIA-128-CBC)"), "{}", e.message);
    }

    #[test]
    fn evp_bytes_to_key_matches_openssl() {
        // `openssl enc -aes-256-cbc -md md5 -k secret -S 0102030405060708 -P`
        let key = bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 32);
        let hex: String = key.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(hex, EXPECTED_BYTES_TO_KEY);
    }

    #[test]
    fn unknown_pbes2_parts_are_named() {
        let (plain, _) = fresh_key(false);
        let info = pkcs8::PrivateKeyInfo::try_from(plain.as_slice()).unwrap();
        let salt = [1u8; 8];
        let iv = [2u8; 16];
        let params = pbes2::Parameters::pbkdf2_sha256_aes128cbc(2048, &salt, &iv).unwrap();
        let mut der = info.encrypt_with_params(params, PW).unwrap().as_bytes().to_vec();
        // Turn aes128-CBC (2.16.840.1.101.3.4.1.2) into aes128-OFB (…1.3), which the crate lacks.
        let at = der.windows(9).position(|w| w == [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04]).unwrap();
        der[at + 10] = 0x03;
        let e = load(&pem("ENCRYPTED PRIVATE KEY", "", &der), Some(PW)).unwrap_err();
        assert_eq!(e.code, E_SSL_CERTPROBLEM);
        assert!(e.message.contains("(cipher 2.16.840.1.101.3.4.1.3)"), "{}", e.message);
        // Garbage inside the envelope is a wrong key, not an unsupported one.
        let e = load(&pem("ENCRYPTED PRIVATE KEY", "", &[0x30, 0x03, 0x02, 0x01, 0x00]), Some(PW)).unwrap_err();
        assert_eq!(e, key_error("k.pem"));
    }
}
