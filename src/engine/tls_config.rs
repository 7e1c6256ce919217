//! TLS client configuration for the engine: rustls 0.23 with the *ring* provider.
//!
//! This module turns the libcurl-style TLS options of a transfer (`TlsOptions`) into a
//! shared `rustls::ClientConfig`, and reproduces the observable behaviour of an
//! OpenSSL-backed libcurl where applications can see it:
//!
//! * trust: the system store (loaded once per process) unless CAINFO / CAPATH / a CA blob
//!   is given, in which case those replace it;
//! * a server certificate that is byte-identical to a configured trust anchor is accepted
//!   (OpenSSL does this for self-signed certificates listed in CAINFO);
//! * host name checks follow libcurl's rules (subjectAltName first, the last CN when the
//!   certificate has no DNS/IP subjectAltName at all) and are done even when
//!   `verify_peer` is off, exactly like libcurl;
//! * errors carry libcurl's CURLcode and message wording;
//! * `cert_info` renders CERTINFO the way the OpenSSL backend does.
//!
//! No pyo3 in here: the bindings map `TlsError` onto `pycurl.error`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer, ServerName, UnixTime,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::X509Name;

// ---------------------------------------------------------------------------------------
// CURLcode values used here
// ---------------------------------------------------------------------------------------

/// CURLE_SSL_CONNECT_ERROR
pub const E_SSL_CONNECT_ERROR: i32 = 35;
/// CURLE_BAD_FUNCTION_ARGUMENT (libcurl's answer to an unusable private key)
pub const E_BAD_FUNCTION_ARGUMENT: i32 = 43;
/// CURLE_SSL_CERTPROBLEM
pub const E_SSL_CERTPROBLEM: i32 = 58;
/// CURLE_SSL_CIPHER
pub const E_SSL_CIPHER: i32 = 59;
/// CURLE_PEER_FAILED_VERIFICATION
pub const E_PEER_FAILED_VERIFICATION: i32 = 60;
/// CURLE_SSL_CACERT_BADFILE
pub const E_SSL_CACERT_BADFILE: i32 = 77;
/// CURLE_SSL_PINNEDPUBKEYNOTMATCH
pub const E_SSL_PINNEDPUBKEYNOTMATCH: i32 = 90;

/// Prefix libcurl (OpenSSL backend) puts before X.509 verification failures, followed by
/// the verify error text and its number in parentheses.
pub const VERIFY_RESULT_PREFIX: &str = "SSL certificate OpenSSL verify result: ";

// CURLOPT_SSLVERSION encodings
pub const SSLVERSION_DEFAULT: u32 = 0;
pub const SSLVERSION_TLSV1: u32 = 1;
pub const SSLVERSION_SSLV2: u32 = 2;
pub const SSLVERSION_SSLV3: u32 = 3;
pub const SSLVERSION_TLSV1_0: u32 = 4;
pub const SSLVERSION_TLSV1_1: u32 = 5;
pub const SSLVERSION_TLSV1_2: u32 = 6;
pub const SSLVERSION_TLSV1_3: u32 = 7;
pub const SSLVERSION_MAX_NONE: u32 = 0;
pub const SSLVERSION_MAX_DEFAULT: u32 = 1 << 16;
pub const SSLVERSION_MAX_TLSV1_0: u32 = 4 << 16;
pub const SSLVERSION_MAX_TLSV1_1: u32 = 5 << 16;
pub const SSLVERSION_MAX_TLSV1_2: u32 = 6 << 16;
pub const SSLVERSION_MAX_TLSV1_3: u32 = 7 << 16;

// ---------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------

/// The TLS-relevant options of one transfer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    /// CURLOPT_SSL_VERIFYPEER (default true)
    pub verify_peer: bool,
    /// CURLOPT_SSL_VERIFYHOST != 0 (default true)
    pub verify_host: bool,
    /// CURLOPT_CAINFO: PEM bundle file
    pub ca_info: Option<PathBuf>,
    /// CURLOPT_CAPATH: directory of PEM files (every file is read, no hash names needed)
    pub ca_path: Option<PathBuf>,
    /// CURLOPT_CAINFO_BLOB / Curl.set_ca_certs(): PEM bytes
    pub ca_blob: Option<Vec<u8>>,
    /// CURLOPT_SSLCERT: PEM (or DER) client certificate chain; may also hold the key
    pub cert: Option<PathBuf>,
    /// CURLOPT_SSLCERT_BLOB
    pub cert_blob: Option<Vec<u8>>,
    /// CURLOPT_SSLKEY: PEM (or DER) private key
    pub key: Option<PathBuf>,
    /// CURLOPT_SSLKEY_BLOB
    pub key_blob: Option<Vec<u8>>,
    /// CURLOPT_KEYPASSWD: pass phrase for an encrypted key
    pub key_passwd: Option<String>,
    /// CURLOPT_SSLVERSION as libcurl encodes it (min in the low 16 bits, max above)
    pub version: u32,
    /// CURLOPT_SSL_CIPHER_LIST (TLS 1.2 suites, OpenSSL or IANA names)
    pub cipher_list: Option<String>,
    /// CURLOPT_TLS13_CIPHERS
    pub tls13_ciphers: Option<String>,
    /// CURLOPT_PINNEDPUBLICKEY: "sha256//b64;sha256//b64" or a PEM/DER public key file
    pub pinned_pubkey: Option<String>,
    /// ALPN protocol ids to offer, in preference order
    pub alpn: Vec<Vec<u8>>,
    /// honour the SSLKEYLOGFILE environment variable
    pub sslkeylogfile: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            verify_peer: true,
            verify_host: true,
            ca_info: None,
            ca_path: None,
            ca_blob: None,
            cert: None,
            cert_blob: None,
            key: None,
            key_blob: None,
            key_passwd: None,
            version: SSLVERSION_DEFAULT,
            cipher_list: None,
            tls13_ciphers: None,
            pinned_pubkey: None,
            alpn: Vec::new(),
            sslkeylogfile: false,
        }
    }
}

impl TlsOptions {
    /// libcurl's defaults: verify the peer and the host name, system trust store.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A TLS failure as libcurl reports it: a CURLcode and the error text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsError {
    pub code: i32,
    pub message: String,
}

impl TlsError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        TlsError { code, message: message.into() }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (CURLcode {})", self.message, self.code)
    }
}

impl std::error::Error for TlsError {}

// ---------------------------------------------------------------------------------------
// client_config: memoised construction
// ---------------------------------------------------------------------------------------

/// Files whose contents feed a config: their (mtime, length) is part of the cache key so an
/// edited CA bundle or key is picked up.
type FileStamp = Option<(Option<SystemTime>, u64)>;

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    opts: TlsOptions,
    stamps: Vec<FileStamp>,
    keylog_env: Option<std::ffi::OsString>,
}

fn stamp(p: &Option<PathBuf>) -> FileStamp {
    let p = p.as_ref()?;
    let m = fs::metadata(p).ok()?;
    Some((m.modified().ok(), m.len()))
}

const CONFIG_CACHE_LIMIT: usize = 64;

fn config_cache() -> &'static Mutex<HashMap<CacheKey, Arc<ClientConfig>>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Arc<ClientConfig>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Build (or fetch from the per-process cache) the rustls client configuration for `o`.
/// Identical options (and unchanged referenced files) return the same `Arc`.
pub fn client_config(o: &TlsOptions) -> Result<Arc<ClientConfig>, TlsError> {
    let key = CacheKey {
        opts: o.clone(),
        stamps: vec![stamp(&o.ca_info), stamp(&o.ca_path), stamp(&o.cert), stamp(&o.key)],
        keylog_env: if o.sslkeylogfile { std::env::var_os("SSLKEYLOGFILE") } else { None },
    };
    if let Some(c) = config_cache().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let built = Arc::new(build_config(o)?);
    let mut cache = config_cache().lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CONFIG_CACHE_LIMIT && !cache.contains_key(&key) {
        cache.clear();
    }
    Ok(cache.entry(key).or_insert(built).clone())
}

fn build_config(o: &TlsOptions) -> Result<ClientConfig, TlsError> {
    let versions = resolve_versions(o.version)?;

    // Client certificate and key are parsed before anything else, like libcurl does.
    let client_auth = load_client_auth(o)?;

    let tls12 = select_tls12_suites(o.cipher_list.as_deref())?;
    let tls13 = select_tls13_suites(o.tls13_ciphers.as_deref())?;
    let mut suites = tls13;
    suites.extend(tls12);

    let base = rustls::crypto::ring::default_provider();
    let provider = Arc::new(CryptoProvider { cipher_suites: suites, ..base });

    let verifier = build_verifier(o, &provider)?;

    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| TlsError::new(E_SSL_CONNECT_ERROR, format!("TLS connect error: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);

    let mut config = match client_auth {
        Some(auth) => {
            let name = auth.key_name.clone();
            builder.with_client_auth_cert(auth.chain, auth.key).map_err(|_| key_error(&name))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = o.alpn.clone();
    if o.sslkeylogfile {
        config.key_log = Arc::new(rustls::KeyLogFile::new());
    }
    Ok(config)
}

// ---------------------------------------------------------------------------------------
// Protocol versions
// ---------------------------------------------------------------------------------------

/// Map CURLOPT_SSLVERSION onto the rustls protocol versions.  Versions are counted in
/// tenths: 10 = TLS 1.0 ... 13 = TLS 1.3.  rustls has no TLS 1.0/1.1, so a minimum below
/// 1.2 becomes 1.2, and a maximum below 1.2 leaves nothing to negotiate.
fn resolve_versions(v: u32) -> Result<Vec<&'static SupportedProtocolVersion>, TlsError> {
    let min = v & 0xffff;
    let max = v & !0xffff;
    let min_v = match min {
        SSLVERSION_DEFAULT => 12, // libcurl's default minimum is TLS 1.2
        SSLVERSION_TLSV1 | SSLVERSION_TLSV1_0 => 10,
        SSLVERSION_TLSV1_1 => 11,
        SSLVERSION_TLSV1_2 => 12,
        SSLVERSION_TLSV1_3 => 13,
        SSLVERSION_SSLV2 | SSLVERSION_SSLV3 => {
            return Err(TlsError::new(E_BAD_FUNCTION_ARGUMENT, "SSLv2 and SSLv3 are not supported"))
        }
        _ => return Err(TlsError::new(E_BAD_FUNCTION_ARGUMENT, "unsupported CURLOPT_SSLVERSION value")),
    };
    let max_v = match max {
        SSLVERSION_MAX_NONE | SSLVERSION_MAX_DEFAULT | SSLVERSION_MAX_TLSV1_3 => 13,
        SSLVERSION_MAX_TLSV1_0 => 10,
        SSLVERSION_MAX_TLSV1_1 => 11,
        SSLVERSION_MAX_TLSV1_2 => 12,
        _ => return Err(TlsError::new(E_BAD_FUNCTION_ARGUMENT, "unsupported CURLOPT_SSLVERSION maximum value")),
    };
    if max_v < min_v {
        return Err(TlsError::new(E_SSL_CONNECT_ERROR, "CURL_SSLVERSION_MAX incompatible with CURL_SSLVERSION"));
    }
    if max_v < 12 {
        return Err(TlsError::new(
            E_SSL_CONNECT_ERROR,
            "TLS connect error: no protocols available (TLS 1.0 and TLS 1.1 are not supported, \
             only TLS 1.2 and TLS 1.3; raise CURL_SSLVERSION_MAX to at least TLSv1.2)",
        ));
    }
    let mut out: Vec<&'static SupportedProtocolVersion> = Vec::new();
    if max_v >= 13 {
        out.push(&rustls::version::TLS13);
    }
    if min_v <= 12 {
        out.push(&rustls::version::TLS12);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Cipher suites
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bulk {
    Aes128Gcm,
    Aes256Gcm,
    Chacha20,
}

struct Suite12 {
    openssl: &'static str,
    iana: &'static str,
    ecdsa: bool,
    bulk: Bulk,
    suite: SupportedCipherSuite,
}

fn tls12_table() -> Vec<Suite12> {
    use rustls::crypto::ring::cipher_suite as cs;
    vec![
        Suite12 {
            openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
            iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            ecdsa: true,
            bulk: Bulk::Aes256Gcm,
            suite: cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        },
        Suite12 {
            openssl: "ECDHE-RSA-AES256-GCM-SHA384",
            iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            ecdsa: false,
            bulk: Bulk::Aes256Gcm,
            suite: cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        },
        Suite12 {
            openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
            iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            ecdsa: true,
            bulk: Bulk::Chacha20,
            suite: cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        },
        Suite12 {
            openssl: "ECDHE-RSA-CHACHA20-POLY1305",
            iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ecdsa: false,
            bulk: Bulk::Chacha20,
            suite: cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        },
        Suite12 {
            openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
            iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            ecdsa: true,
            bulk: Bulk::Aes128Gcm,
            suite: cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        },
        Suite12 {
            openssl: "ECDHE-RSA-AES128-GCM-SHA256",
            iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ecdsa: false,
            bulk: Bulk::Aes128Gcm,
            suite: cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        },
    ]
}

/// Whether `word` (an OpenSSL cipher-string word) selects suite `s`.  `None` means the word
/// is unknown; OpenSSL ignores rules made of unknown words.
fn cipher_word_matches(word: &str, s: &Suite12) -> Option<bool> {
    if word.eq_ignore_ascii_case(s.openssl) || word.eq_ignore_ascii_case(s.iana) {
        return Some(true);
    }
    let is_suite_name =
        |w: &str| tls12_table().iter().any(|t| w.eq_ignore_ascii_case(t.openssl) || w.eq_ignore_ascii_case(t.iana));
    if is_suite_name(word) {
        return Some(false);
    }
    Some(match word {
        "ALL" | "DEFAULT" | "HIGH" | "ECDHE" | "EECDH" | "kECDHE" | "kEECDH" | "AEAD" | "TLSv1.2" | "FIPS" => true,
        "aECDSA" | "ECDSA" => s.ecdsa,
        "aRSA" => !s.ecdsa,
        "AES" | "AESGCM" => s.bulk != Bulk::Chacha20,
        "AES128" => s.bulk == Bulk::Aes128Gcm,
        "AES256" => s.bulk == Bulk::Aes256Gcm,
        "CHACHA20" => s.bulk == Bulk::Chacha20,
        // Known OpenSSL words that select none of the suites rustls implements.
        "RSA"
        | "kRSA"
        | "DHE"
        | "EDH"
        | "kDHE"
        | "kEDH"
        | "DH"
        | "ADH"
        | "AECDH"
        | "aNULL"
        | "eNULL"
        | "NULL"
        | "COMPLEMENTOFALL"
        | "COMPLEMENTOFDEFAULT"
        | "MEDIUM"
        | "LOW"
        | "EXP"
        | "EXPORT"
        | "RC4"
        | "DES"
        | "3DES"
        | "IDEA"
        | "SEED"
        | "CAMELLIA"
        | "CAMELLIA128"
        | "CAMELLIA256"
        | "ARIA"
        | "ARIA128"
        | "ARIA256"
        | "MD5"
        | "SHA1"
        | "SHA"
        | "SHA256"
        | "SHA384"
        | "PSK"
        | "SRP"
        | "CCM"
        | "AESCCM"
        | "AESCCM8"
        | "aDSS"
        | "DSS"
        | "aPSK"
        | "kPSK"
        | "ECDHEPSK"
        | "kECDHEPSK"
        | "DHEPSK"
        | "RSAPSK"
        | "SSLv3"
        | "TLSv1"
        | "TLSv1.0"
        | "SUITEB128"
        | "SUITEB192"
        | "SUITEB128ONLY"
        | "CBC" => false,
        _ => return None,
    })
}

/// Select the TLS 1.2 suites for an OpenSSL-style cipher string (CURLOPT_SSL_CIPHER_LIST).
fn select_tls12_suites(list: Option<&str>) -> Result<Vec<SupportedCipherSuite>, TlsError> {
    let table = tls12_table();
    let Some(list) = list else {
        return Ok(table.iter().map(|s| s.suite).collect());
    };
    let mut chosen: Vec<usize> = Vec::new();
    let mut killed: HashSet<usize> = HashSet::new();
    for token in list.split([':', ',', ' ', ';']).filter(|t| !t.is_empty()) {
        if token.starts_with('@') {
            continue; // @STRENGTH, @SECLEVEL=n: no effect here
        }
        let (op, body) = match token.as_bytes()[0] {
            b'!' | b'-' | b'+' => (token.as_bytes()[0], &token[1..]),
            _ => (b' ', token),
        };
        let words: Vec<&str> = body.split('+').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            continue;
        }
        let mut set = Vec::new();
        let mut unknown = false;
        for (i, s) in table.iter().enumerate() {
            let mut all = true;
            for w in &words {
                match cipher_word_matches(w, s) {
                    None => {
                        unknown = true;
                        all = false;
                    }
                    Some(false) => all = false,
                    Some(true) => {}
                }
            }
            if all {
                set.push(i);
            }
        }
        if unknown {
            continue;
        }
        match op {
            b'!' => {
                chosen.retain(|i| !set.contains(i));
                killed.extend(set);
            }
            b'-' => chosen.retain(|i| !set.contains(i)),
            b'+' => {
                let (moved, kept): (Vec<usize>, Vec<usize>) = chosen.iter().partition(|i| set.contains(i));
                chosen = kept;
                chosen.extend(moved);
            }
            _ => {
                for i in set {
                    if !killed.contains(&i) && !chosen.contains(&i) {
                        chosen.push(i);
                    }
                }
            }
        }
    }
    if chosen.is_empty() {
        return Err(TlsError::new(E_SSL_CIPHER, format!("failed setting cipher list: {list}")));
    }
    Ok(chosen.into_iter().map(|i| table[i].suite).collect())
}

/// Select the TLS 1.3 suites for CURLOPT_TLS13_CIPHERS. Unknown names are ignored, as
/// OpenSSL 3 does; an empty result is an error.
fn select_tls13_suites(list: Option<&str>) -> Result<Vec<SupportedCipherSuite>, TlsError> {
    use rustls::crypto::ring::cipher_suite as cs;
    let table = [
        ("TLS_AES_256_GCM_SHA384", cs::TLS13_AES_256_GCM_SHA384),
        ("TLS_AES_128_GCM_SHA256", cs::TLS13_AES_128_GCM_SHA256),
        ("TLS_CHACHA20_POLY1305_SHA256", cs::TLS13_CHACHA20_POLY1305_SHA256),
    ];
    let Some(list) = list else {
        return Ok(table.iter().map(|(_, s)| *s).collect());
    };
    let mut out: Vec<SupportedCipherSuite> = Vec::new();
    for name in list.split(':').map(str::trim).filter(|t| !t.is_empty()) {
        if let Some((_, s)) = table.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            if !out.iter().any(|x| x.suite() == s.suite()) {
                out.push(*s);
            }
        }
    }
    if out.is_empty() {
        return Err(TlsError::new(E_SSL_CIPHER, format!("failed setting TLS 1.3 cipher suite: {list}")));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Trust anchors
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct TrustStore {
    roots: RootCertStore,
    /// SHA-256 of every anchor's DER, to accept a server certificate that *is* an anchor.
    digests: HashSet<[u8; 32]>,
}

impl Default for TrustStore {
    fn default() -> Self {
        TrustStore { roots: RootCertStore::empty(), digests: HashSet::new() }
    }
}

impl TrustStore {
    fn add(&mut self, der: &[u8]) -> bool {
        if self.roots.add(CertificateDer::from(der.to_vec())).is_ok() {
            self.digests.insert(sha256(der));
            true
        } else {
            false
        }
    }

    fn contains(&self, der: &[u8]) -> bool {
        self.digests.contains(&sha256(der))
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The platform trust store, loaded once per process.
fn native_store() -> Arc<TrustStore> {
    static NATIVE: OnceLock<Arc<TrustStore>> = OnceLock::new();
    NATIVE
        .get_or_init(|| {
            let mut store = TrustStore::default();
            let result = rustls_native_certs::load_native_certs();
            for cert in result.certs {
                store.add(cert.as_ref());
            }
            Arc::new(store)
        })
        .clone()
}

/// Certificates (DER) from PEM text: CERTIFICATE and TRUSTED CERTIFICATE blocks.
fn pem_certificates(data: &[u8]) -> Vec<Vec<u8>> {
    parse_pem(data)
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE" || b.label == "TRUSTED CERTIFICATE")
        .map(|b| b.der)
        .collect()
}

/// The trust store for `o`: the configured CA file/dir/blob, or the system store.
fn trust_store(o: &TlsOptions) -> Result<Arc<TrustStore>, TlsError> {
    if o.ca_info.is_none() && o.ca_path.is_none() && o.ca_blob.is_none() {
        return Ok(native_store());
    }
    let mut store = TrustStore::default();
    if let Some(blob) = &o.ca_blob {
        let mut added = 0;
        for der in pem_certificates(blob) {
            if store.add(&der) {
                added += 1;
            }
        }
        if added == 0 {
            return Err(TlsError::new(
                E_SSL_CACERT_BADFILE,
                format!("error adding trust anchors from certificate blob: {E_SSL_CACERT_BADFILE}"),
            ));
        }
    }
    if let Some(path) = &o.ca_info {
        let mut added = 0;
        if let Ok(data) = fs::read(path) {
            for der in pem_certificates(&data) {
                if store.add(&der) {
                    added += 1;
                }
            }
        }
        if added == 0 {
            return Err(TlsError::new(
                E_SSL_CACERT_BADFILE,
                format!("error adding trust anchors from file: {}", path.display()),
            ));
        }
    }
    if let Some(dir) = &o.ca_path {
        // A missing or unreadable CAPATH is not an error for libcurl either: it simply
        // contributes no anchors.
        if let Ok(entries) = fs::read_dir(dir) {
            let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files {
                if !f.is_file() {
                    continue;
                }
                if let Ok(data) = fs::read(&f) {
                    for der in pem_certificates(&data) {
                        store.add(&der);
                    }
                }
            }
        }
    }
    Ok(Arc::new(store))
}

// ---------------------------------------------------------------------------------------
// Server certificate verification
// ---------------------------------------------------------------------------------------

/// A verification failure with libcurl's code and wording, carried through rustls inside
/// `CertificateError::Other` so that `map_handshake_error` can recover it.
#[derive(Debug)]
struct CurlVerifyFailure(TlsError);

impl fmt::Display for CurlVerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for CurlVerifyFailure {}

fn as_rustls_error(e: TlsError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(CurlVerifyFailure(e)))))
}

fn x509_failure(num: u32, text: &str) -> TlsError {
    TlsError::new(E_PEER_FAILED_VERIFICATION, format!("{VERIFY_RESULT_PREFIX}{text} ({num})"))
}

fn self_issued(der: &[u8]) -> bool {
    match X509Certificate::from_der(der) {
        Ok((_, c)) => c.tbs_certificate.issuer.as_raw() == c.tbs_certificate.subject.as_raw(),
        Err(_) => false,
    }
}

/// What OpenSSL reports when no path to a trust anchor exists.
fn unknown_issuer_failure(ee: &[u8], intermediates: &[CertificateDer<'_>]) -> TlsError {
    if self_issued(ee) {
        x509_failure(18, "self-signed certificate")
    } else if intermediates.iter().any(|c| self_issued(c.as_ref())) {
        x509_failure(19, "self-signed certificate in certificate chain")
    } else {
        x509_failure(20, "unable to get local issuer certificate")
    }
}

/// Translate a rustls/webpki certificate error into libcurl's report.
fn certificate_failure(
    ce: &CertificateError,
    ee: Option<&[u8]>,
    intermediates: &[CertificateDer<'_>],
    host: &str,
) -> TlsError {
    match ce {
        CertificateError::UnknownIssuer => match ee {
            Some(ee) => unknown_issuer_failure(ee, intermediates),
            None => x509_failure(20, "unable to get local issuer certificate"),
        },
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            x509_failure(10, "certificate has expired")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            x509_failure(9, "certificate is not yet valid or the system clock is incorrect")
        }
        CertificateError::BadSignature => x509_failure(7, "certificate signature failure"),
        CertificateError::Revoked => x509_failure(23, "certificate revoked"),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            x509_failure(26, "unsupported certificate purpose")
        }
        CertificateError::UnhandledCriticalExtension => x509_failure(34, "unhandled critical extension"),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            let (kind, disp) = host_kind_and_display(host);
            TlsError::new(
                E_PEER_FAILED_VERIFICATION,
                format!("SSL: no alternative certificate subject name matches target {kind} '{disp}'"),
            )
        }
        CertificateError::Other(OtherError(inner)) => {
            if let Some(f) = inner.downcast_ref::<CurlVerifyFailure>() {
                return f.0.clone();
            }
            if let Some(w) = inner.downcast_ref::<webpki::Error>() {
                match w {
                    webpki::Error::CaUsedAsEndEntity => return x509_failure(26, "unsupported certificate purpose"),
                    webpki::Error::EndEntityUsedAsCa => return x509_failure(24, "invalid CA certificate"),
                    webpki::Error::PathLenConstraintViolated => {
                        return x509_failure(25, "path length constraint exceeded")
                    }
                    webpki::Error::NameConstraintViolation => return x509_failure(47, "permitted subtree violation"),
                    _ => {}
                }
            }
            TlsError::new(E_PEER_FAILED_VERIFICATION, format!("SSL certificate problem: {inner}"))
        }
        other => TlsError::new(E_PEER_FAILED_VERIFICATION, format!("SSL certificate problem: {other:?}")),
    }
}

fn host_kind_and_display(host: &str) -> (&'static str, String) {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => ("IPv4 address", a.to_string()),
        Ok(IpAddr::V6(a)) => ("IPv6 address", format!("[{a}]")),
        Err(_) => ("hostname", host.to_string()),
    }
}

fn server_name_parts(name: &ServerName<'_>) -> (&'static str, String, Option<IpAddr>) {
    match name {
        ServerName::DnsName(d) => ("hostname", d.as_ref().to_string(), None),
        ServerName::IpAddress(ip) => {
            let ip: IpAddr = (*ip).into();
            match ip {
                IpAddr::V4(a) => ("IPv4 address", a.to_string(), Some(ip)),
                IpAddr::V6(a) => ("IPv6 address", format!("[{a}]"), Some(ip)),
            }
        }
        _ => ("hostname", String::new(), None),
    }
}

/// libcurl's wildcard-aware host name comparison.
fn hostname_matches(pattern: &str, host: &str) -> bool {
    let p = pattern.strip_suffix('.').unwrap_or(pattern);
    let h = host.strip_suffix('.').unwrap_or(host);
    if p.is_empty() || h.is_empty() {
        return false;
    }
    if p.eq_ignore_ascii_case(h) {
        return true;
    }
    let Some(tail) = p.strip_prefix('*') else {
        return false;
    };
    // "*.example.com": the wildcard covers exactly one label, needs two more labels after
    // it, and never matches an IP address.
    if !tail.starts_with('.') || !tail[1..].contains('.') || h.parse::<IpAddr>().is_ok() {
        return false;
    }
    match h.find('.') {
        Some(i) if i > 0 => h[i..].eq_ignore_ascii_case(tail),
        _ => false,
    }
}

/// Check the server certificate's names against the target the way libcurl does.
fn check_host(ee: &[u8], name: &ServerName<'_>) -> Result<(), TlsError> {
    let (kind, disp, ip) = server_name_parts(name);
    let host = match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        _ => ip.map(|i| i.to_string()).unwrap_or_default(),
    };
    let fail = |m: String| Err(TlsError::new(E_PEER_FAILED_VERIFICATION, m));
    let Ok((_, cert)) = X509Certificate::from_der(ee) else {
        return fail("SSL: unable to obtain common name from peer certificate".into());
    };
    let mut has_dns = false;
    let mut has_ip = false;
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for gn in &san.general_names {
                match gn {
                    GeneralName::DNSName(d) => {
                        has_dns = true;
                        if ip.is_none() && hostname_matches(d, &host) {
                            return Ok(());
                        }
                    }
                    GeneralName::IPAddress(bytes) => {
                        has_ip = true;
                        let matched = match ip {
                            Some(IpAddr::V4(a)) => *bytes == a.octets().as_slice(),
                            Some(IpAddr::V6(a)) => *bytes == a.octets().as_slice(),
                            None => false,
                        };
                        if matched {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if has_dns || has_ip {
        return fail(format!("SSL: no alternative certificate subject name matches target {kind} '{disp}'"));
    }
    // No subjectAltName of a usable kind: fall back to the last commonName.
    let cn = cert
        .subject()
        .iter_common_name()
        .last()
        .map(|a| decode_asn1_string(a.attr_value().tag().0, a.attr_value().data));
    match cn {
        None => fail("SSL: unable to obtain common name from peer certificate".into()),
        Some(Err(())) => fail("SSL: unable to obtain common name from peer certificate".into()),
        Some(Ok(cn)) => {
            let ok = if ip.is_some() {
                cn.trim_end_matches('.').eq_ignore_ascii_case(&host)
            } else {
                hostname_matches(&cn, &host)
            };
            if ok {
                Ok(())
            } else {
                fail(format!("SSL: certificate subject name '{cn}' does not match target hostname '{disp}'"))
            }
        }
    }
}

/// The validity period of a certificate accepted because it is itself a trust anchor.
fn check_validity(ee: &[u8], now: UnixTime) -> Result<(), TlsError> {
    let Ok((_, cert)) = X509Certificate::from_der(ee) else {
        return Err(x509_failure(4, "unable to decrypt certificate's signature"));
    };
    let now = now.as_secs() as i64;
    if now < cert.validity().not_before.timestamp() {
        return Err(x509_failure(9, "certificate is not yet valid or the system clock is incorrect"));
    }
    if now > cert.validity().not_after.timestamp() {
        return Err(x509_failure(10, "certificate has expired"));
    }
    Ok(())
}

#[derive(Debug)]
struct CurlVerifier {
    supported: WebPkiSupportedAlgorithms,
    /// Chain verification (None: verify_peer off, or no anchors at all).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// Trust anchors (None: verify_peer off).
    trust: Option<Arc<TrustStore>>,
    verify_host: bool,
}

impl ServerCertVerifier for CurlVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(trust) = &self.trust {
            if trust.contains(end_entity.as_ref()) {
                // OpenSSL accepts a certificate that is itself in the trust store.
                check_validity(end_entity.as_ref(), now).map_err(as_rustls_error)?;
            } else {
                let Some(webpki) = &self.webpki else {
                    return Err(as_rustls_error(unknown_issuer_failure(end_entity.as_ref(), intermediates)));
                };
                match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
                    Ok(v) => return Ok(v),
                    // The chain was fine (webpki checks the name last); the name is judged
                    // below with libcurl's rules.
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                    )) => {}
                    Err(rustls::Error::InvalidCertificate(ce)) => {
                        let (_, disp, _) = server_name_parts(server_name);
                        return Err(as_rustls_error(certificate_failure(
                            &ce,
                            Some(end_entity.as_ref()),
                            intermediates,
                            &disp,
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        if self.verify_host {
            check_host(end_entity.as_ref(), server_name).map_err(as_rustls_error)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.supported).map_err(handshake_signature_error)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.supported).map_err(handshake_signature_error)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.supported.supported_schemes()
    }
}

/// A handshake signature that does not verify is a TLS protocol failure (35), not a
/// certificate-chain problem.
fn handshake_signature_error(e: rustls::Error) -> rustls::Error {
    match e {
        rustls::Error::InvalidCertificate(_) => as_rustls_error(TlsError::new(
            E_SSL_CONNECT_ERROR,
            "TLS connect error: error:0A00007B:SSL routines::bad signature",
        )),
        other => other,
    }
}

fn build_verifier(o: &TlsOptions, provider: &Arc<CryptoProvider>) -> Result<Arc<CurlVerifier>, TlsError> {
    let supported = provider.signature_verification_algorithms;
    if !o.verify_peer {
        // libcurl does not even load CAINFO when peer verification is off.
        return Ok(Arc::new(CurlVerifier { supported, webpki: None, trust: None, verify_host: o.verify_host }));
    }
    let trust = trust_store(o)?;
    let webpki = if trust.roots.is_empty() {
        None
    } else {
        let roots = Arc::new(trust.roots.clone());
        Some(
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| TlsError::new(E_SSL_CACERT_BADFILE, format!("error setting up trust anchors: {e}")))?,
        )
    };
    Ok(Arc::new(CurlVerifier { supported, webpki, trust: Some(trust), verify_host: o.verify_host }))
}

// ---------------------------------------------------------------------------------------
// Handshake error mapping
// ---------------------------------------------------------------------------------------

/// OpenSSL's reason text for a received alert (its reason code is 1000 + the alert number).
fn alert_reason(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "ssl/tls alert close notify",
        10 => "ssl/tls alert unexpected message",
        20 => "ssl/tls alert bad record mac",
        21 => "tlsv1 alert decryption failed",
        22 => "tlsv1 alert record overflow",
        30 => "ssl/tls alert decompression failure",
        40 => "ssl/tls alert handshake failure",
        41 => "ssl/tls alert no certificate",
        42 => "ssl/tls alert bad certificate",
        43 => "ssl/tls alert unsupported certificate",
        44 => "ssl/tls alert certificate revoked",
        45 => "ssl/tls alert certificate expired",
        46 => "ssl/tls alert certificate unknown",
        47 => "ssl/tls alert illegal parameter",
        48 => "tlsv1 alert unknown ca",
        49 => "tlsv1 alert access denied",
        50 => "tlsv1 alert decode error",
        51 => "tlsv1 alert decrypt error",
        60 => "tlsv1 alert export restriction",
        70 => "tlsv1 alert protocol version",
        71 => "tlsv1 alert insufficient security",
        80 => "tlsv1 alert internal error",
        86 => "tlsv1 alert inappropriate fallback",
        90 => "tlsv1 alert user cancelled",
        100 => "tlsv1 alert no renegotiation",
        109 => "tlsv13 alert missing extension",
        110 => "tlsv1 unsupported extension",
        111 => "tlsv1 certificate unobtainable",
        112 => "tlsv1 unrecognized name",
        113 => "tlsv1 bad certificate status response",
        114 => "tlsv1 bad certificate hash value",
        115 => "tlsv1 alert unknown psk identity",
        116 => "tlsv13 alert certificate required",
        120 => "tlsv1 alert no application protocol",
        _ => return None,
    })
}

/// Text for a fatal alert received from the peer, in OpenSSL's error-string format
/// ("error:0A000410:SSL routines::ssl/tls alert handshake failure").
pub fn alert_text(alert: rustls::AlertDescription) -> String {
    let code = alert.to_array()[0];
    match alert_reason(code) {
        Some(reason) => format!("error:{:08X}:SSL routines::{reason}", 0x0A00_0000u32 | (1000 + code as u32)),
        None => format!("received fatal alert {alert:?}"),
    }
}

/// Map a rustls error seen during the handshake to libcurl's (CURLcode, message):
/// certificate problems → 60 with OpenSSL-backend wording, anything else → 35.
pub fn map_handshake_error(e: &rustls::Error, host: &str) -> TlsError {
    match e {
        rustls::Error::InvalidCertificate(ce) => certificate_failure(ce, None, &[], host),
        rustls::Error::AlertReceived(alert) => {
            TlsError::new(E_SSL_CONNECT_ERROR, format!("TLS connect error: {}", alert_text(*alert)))
        }
        other => TlsError::new(E_SSL_CONNECT_ERROR, format!("TLS connect error: {other}")),
    }
}

/// CURLINFO_SSL_VERIFYRESULT for a failed handshake: the X.509 verify error number OpenSSL
/// would report (20, 18, 10, ...), 1 for a host name mismatch, 0 for other failures.
pub fn ssl_verify_result(e: &TlsError) -> i64 {
    if e.code != E_PEER_FAILED_VERIFICATION {
        return 0;
    }
    if let Some(rest) = e.message.strip_prefix(VERIFY_RESULT_PREFIX) {
        if let Some(open) = rest.rfind('(') {
            if let Ok(n) = rest[open + 1..].trim_end_matches(')').parse::<i64>() {
                return n;
            }
        }
    }
    1
}

// ---------------------------------------------------------------------------------------
// Public key pinning
// ---------------------------------------------------------------------------------------

fn pin_mismatch() -> TlsError {
    TlsError::new(E_SSL_PINNEDPUBKEYNOTMATCH, "SSL: public key does not match pinned public key")
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn spki_of(cert_der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    Some(cert.tbs_certificate.subject_pki.raw.to_vec())
}

/// CURLOPT_PINNEDPUBLICKEY check against the server's end-entity certificate.
pub fn check_pinned(pin: &str, end_entity_der: &[u8]) -> Result<(), TlsError> {
    let Some(spki) = spki_of(end_entity_der) else {
        return Err(pin_mismatch());
    };
    if pin.starts_with("sha256//") {
        let digest = base64::engine::general_purpose::STANDARD.encode(sha256(&spki));
        let matched = pin.split(';').map(str::trim).filter_map(|p| p.strip_prefix("sha256//")).any(|b64| b64 == digest);
        return if matched { Ok(()) } else { Err(pin_mismatch()) };
    }
    let Ok(data) = fs::read(pin) else {
        return Err(pin_mismatch());
    };
    let blocks = parse_pem(&data);
    let expected = match blocks.iter().find(|b| b.label == "PUBLIC KEY") {
        Some(b) => b.der.clone(),
        None if !blocks.is_empty() => return Err(pin_mismatch()),
        None => data,
    };
    if expected == spki {
        Ok(())
    } else {
        Err(pin_mismatch())
    }
}

// ---------------------------------------------------------------------------------------
// Client certificate and key
// ---------------------------------------------------------------------------------------

struct ClientAuth {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    key_name: String,
}

fn key_error(name: &str) -> TlsError {
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

fn load_client_auth(o: &TlsOptions) -> Result<Option<ClientAuth>, TlsError> {
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
// PEM
// ---------------------------------------------------------------------------------------

struct PemBlock {
    label: String,
    headers: Vec<(String, String)>,
    der: Vec<u8>,
}

impl PemBlock {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// All well-formed PEM blocks in `data` (others are skipped).
fn parse_pem(data: &[u8]) -> Vec<PemBlock> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    // (label, headers, base64 body) of the block being read
    #[allow(clippy::type_complexity)]
    let mut current: Option<(String, Vec<(String, String)>, String)> = None;
    for raw_line in text.lines() {
        let line = raw_line.trim();
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            if let Some(label) = rest.strip_suffix("-----") {
                current = Some((label.to_string(), Vec::new(), String::new()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("-----END ") {
            if let (Some(label), Some((cur_label, headers, body))) = (rest.strip_suffix("-----"), current.take()) {
                if label == cur_label {
                    if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
                        out.push(PemBlock { label: cur_label, headers, der });
                    }
                }
            }
            continue;
        }
        if let Some((_, headers, body)) = current.as_mut() {
            if body.is_empty() {
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                    continue;
                }
            }
            body.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Minimal DER reader
// ---------------------------------------------------------------------------------------

struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// Next TLV: (tag byte, content).
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let d = self.0;
        if d.len() < 2 {
            return None;
        }
        let tag = d[0];
        let (len, hdr) = if d[1] < 0x80 {
            (d[1] as usize, 2)
        } else {
            let n = (d[1] & 0x7f) as usize;
            if n == 0 || n > 4 || d.len() < 2 + n {
                return None;
            }
            let mut l = 0usize;
            for &b in &d[2..2 + n] {
                l = (l << 8) | b as usize;
            }
            (l, 2 + n)
        };
        if d.len() < hdr + len {
            return None;
        }
        self.0 = &d[hdr + len..];
        Some((tag, &d[hdr..hdr + len]))
    }

    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, c) if t == tag => Some(c),
            _ => None,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn der_uint(content: &[u8]) -> Option<u32> {
    if content.is_empty() || content.len() > 5 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in content {
        v = (v << 8) | b as u64;
    }
    u32::try_from(v).ok()
}

/// Dotted text of an OID's content octets.
fn oid_text(content: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in content {
        acc = (acc << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = if acc < 40 {
                    0
                } else if acc < 80 {
                    1
                } else {
                    2
                };
                parts.push(first);
                parts.push(acc - first * 40);
            } else {
                parts.push(acc);
            }
            acc = 0;
        }
    }
    parts.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(".")
}

// ---------------------------------------------------------------------------------------
// Encrypted private keys
// ---------------------------------------------------------------------------------------

enum KeyDecryptError {
    /// wrong pass phrase or corrupt data
    Wrong,
    /// an encryption scheme this module does not implement
    Unsupported(String),
}

/// Decrypt a PKCS#8 EncryptedPrivateKeyInfo (PBES2 + PBKDF2 + AES-CBC).
fn decrypt_pkcs8(der: &[u8], passwd: &[u8]) -> Result<Vec<u8>, KeyDecryptError> {
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
fn decrypt_legacy_pem(body: &[u8], dek_info: &str, passwd: &[u8]) -> Result<Vec<u8>, KeyDecryptError> {
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

fn hex_decode(s: &str) -> Option<Vec<u8>> {
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
struct Aes {
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
    fn new(key: &[u8]) -> Option<Aes> {
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

    fn decrypt_block(&self, input: [u8; 16]) -> [u8; 16] {
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
fn md5(input: &[u8]) -> [u8; 16] {
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

// ---------------------------------------------------------------------------------------
// CERTINFO
// ---------------------------------------------------------------------------------------

/// OpenSSL's names for object identifiers that show up in certificates.
fn oid_name(oid: &str) -> String {
    let n = match oid {
        // signature and key algorithms (OpenSSL long names)
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.2.1" => "id-ecPublicKey",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        "1.2.840.10040.4.1" => "dsaEncryption",
        "1.2.840.10040.4.3" => "dsaWithSHA1",
        "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        "1.2.840.113549.1.3.1" => "dhKeyAgreement",
        "1.2.840.113549.1.5.13" => "PBES2",
        "1.2.840.113549.1.5.12" => "PBKDF2",
        "1.3.6.1.4.1.11591.4.11" => "id-scrypt",
        "1.2.840.113549.1.12.1.3" => "pbeWithSHA1And3-KeyTripleDES-CBC",
        "1.2.840.113549.3.7" => "des-ede3-cbc",
        // extended key usages
        "1.3.6.1.5.5.7.3.1" => "TLS Web Server Authentication",
        "1.3.6.1.5.5.7.3.2" => "TLS Web Client Authentication",
        "1.3.6.1.5.5.7.3.3" => "Code Signing",
        "1.3.6.1.5.5.7.3.4" => "E-mail Protection",
        "1.3.6.1.5.5.7.3.5" => "IPSec End System",
        "1.3.6.1.5.5.7.3.6" => "IPSec Tunnel",
        "1.3.6.1.5.5.7.3.7" => "IPSec User",
        "1.3.6.1.5.5.7.3.8" => "Time Stamping",
        "1.3.6.1.5.5.7.3.9" => "OCSP Signing",
        "2.5.29.37.0" => "Any Extended Key Usage",
        "1.3.6.1.4.1.311.10.3.3" => "Microsoft Server Gated Crypto",
        "2.16.840.1.113730.4.1" => "Netscape Server Gated Crypto",
        // access methods, policies
        "1.3.6.1.5.5.7.48.1" => "OCSP",
        "1.3.6.1.5.5.7.48.2" => "CA Issuers",
        "1.3.6.1.5.5.7.48.3" => "Time Stamping",
        "1.3.6.1.5.5.7.48.5" => "CA Repository",
        "2.5.29.32.0" => "X509v3 Any Policy",
        // extensions
        "2.5.29.14" => "X509v3 Subject Key Identifier",
        "2.5.29.15" => "X509v3 Key Usage",
        "2.5.29.16" => "X509v3 Private Key Usage Period",
        "2.5.29.17" => "X509v3 Subject Alternative Name",
        "2.5.29.18" => "X509v3 Issuer Alternative Name",
        "2.5.29.19" => "X509v3 Basic Constraints",
        "2.5.29.30" => "X509v3 Name Constraints",
        "2.5.29.31" => "X509v3 CRL Distribution Points",
        "2.5.29.32" => "X509v3 Certificate Policies",
        "2.5.29.33" => "X509v3 Policy Mappings",
        "2.5.29.35" => "X509v3 Authority Key Identifier",
        "2.5.29.36" => "X509v3 Policy Constraints",
        "2.5.29.37" => "X509v3 Extended Key Usage",
        "2.5.29.46" => "X509v3 Freshest CRL",
        "2.5.29.54" => "X509v3 Inhibit Any Policy",
        "1.3.6.1.5.5.7.1.1" => "Authority Information Access",
        "1.3.6.1.5.5.7.1.11" => "Subject Information Access",
        "1.3.6.1.5.5.7.1.24" => "TLS Feature",
        "1.3.6.1.4.1.11129.2.4.2" => "CT Precertificate SCTs",
        "1.3.6.1.4.1.11129.2.4.3" => "CT Precertificate Poison",
        "2.16.840.1.113730.1.1" => "Netscape Cert Type",
        "2.16.840.1.113730.1.13" => "Netscape Comment",
        _ => return oid.to_string(),
    };
    n.to_string()
}

/// OpenSSL's short names for distinguished-name attributes.
fn dn_attr_name(oid: &str) -> String {
    let n = match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.13" => "description",
        "2.5.4.15" => "businessCategory",
        "2.5.4.16" => "postalAddress",
        "2.5.4.17" => "postalCode",
        "2.5.4.18" => "postOfficeBox",
        "2.5.4.20" => "telephoneNumber",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.45" => "x500UniqueIdentifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.54" => "dmdName",
        "2.5.4.65" => "pseudonym",
        "2.5.4.72" => "role",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return oid.to_string(),
    };
    n.to_string()
}

/// Decode an ASN.1 character string to text. Err for non-string types.
fn decode_asn1_string(tag: u32, data: &[u8]) -> Result<String, ()> {
    match tag {
        12 => Ok(String::from_utf8_lossy(data).into_owned()),
        18 | 19 | 20 | 21 | 22 | 25 | 26 | 27 => Ok(data.iter().map(|&b| b as char).collect()),
        30 => Ok(data
            .chunks(2)
            .map(|c| {
                let v = if c.len() == 2 { u16::from_be_bytes([c[0], c[1]]) } else { 0xfffd };
                char::from_u32(v as u32).unwrap_or('\u{fffd}')
            })
            .collect()),
        28 => Ok(data
            .chunks(4)
            .map(|c| {
                let v = if c.len() == 4 { u32::from_be_bytes([c[0], c[1], c[2], c[3]]) } else { 0xfffd };
                char::from_u32(v).unwrap_or('\u{fffd}')
            })
            .collect()),
        _ => Err(()),
    }
}

fn der_length_bytes(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|&b| b == 0).collect();
        let mut v = vec![0x80 | bytes.len() as u8];
        v.extend(bytes);
        v
    }
}

/// An attribute value escaped the way OpenSSL's one-line name format does (RFC 2253 rules,
/// quoting instead of escaping for , + < > ; and leading '#'/' ' or trailing ' ').
fn escape_dn_value(tag: u32, data: &[u8]) -> String {
    let text = match decode_asn1_string(tag, data) {
        Ok(t) => t,
        Err(()) => {
            // Not a string type: "#" and the hex of the whole DER encoding.
            let mut der = vec![tag as u8];
            der.extend(der_length_bytes(data.len()));
            der.extend_from_slice(data);
            return format!("#{}", hex_upper(&der, ""));
        }
    };
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut quote = false;
    for (i, &b) in bytes.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == bytes.len();
        match b {
            b',' | b'+' | b'<' | b'>' | b';' => {
                quote = true;
                out.push(b as char);
            }
            b'#' if first => {
                quote = true;
                out.push('#');
            }
            b' ' if first || last => {
                quote = true;
                out.push(' ');
            }
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x00..=0x1f | 0x7f..=0xff => out.push_str(&format!("\\{b:02X}")),
            _ => out.push(b as char),
        }
    }
    if quote {
        format!("\"{out}\"")
    } else {
        out
    }
}

/// X509_NAME_print_ex(..., XN_FLAG_ONELINE): "C = US, O = Example, CN = host".
fn name_oneline(name: &X509Name<'_>) -> String {
    name.iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    format!(
                        "{} = {}",
                        dn_attr_name(&atv.attr_type().to_id_string()),
                        escape_dn_value(atv.attr_value().tag().0, atv.attr_value().data)
                    )
                })
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// X509_NAME_oneline: "/CN=host/O=Example".
fn name_slashed(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    for atv in name.iter_attributes() {
        out.push('/');
        out.push_str(&dn_attr_name(&atv.attr_type().to_id_string()));
        out.push('=');
        let v = atv.attr_value();
        let text =
            decode_asn1_string(v.tag().0, v.data).unwrap_or_else(|_| String::from_utf8_lossy(v.data).into_owned());
        for &b in text.as_bytes() {
            if !(b' '..=b'~').contains(&b) {
                out.push_str(&format!("\\x{b:02X}"));
            } else {
                out.push(b as char);
            }
        }
    }
    out
}

fn hex_upper(data: &[u8], sep: &str) -> String {
    data.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(sep)
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => format!("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]),
        16 => bytes.chunks(2).map(|c| format!("{:X}", u16::from_be_bytes([c[0], c[1]]))).collect::<Vec<_>>().join(":"),
        _ => "<invalid>".to_string(),
    }
}

fn general_name_text(gn: &GeneralName<'_>) -> String {
    match gn {
        GeneralName::DNSName(s) => format!("DNS:{s}"),
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::IPAddress(b) => format!("IP Address:{}", ip_text(b)),
        GeneralName::DirectoryName(n) => format!("DirName:{}", name_slashed(n)),
        GeneralName::RegisteredID(oid) => {
            format!("Registered ID:{}", oid_name(&oid.to_id_string()))
        }
        GeneralName::OtherName(oid, value) => {
            let oid = oid.to_id_string();
            if oid == "1.3.6.1.4.1.311.20.2.3" {
                // Microsoft UPN: [0] EXPLICIT UTF8String
                let mut d = Der(value);
                if let Some(inner) = d.expect(0xa0) {
                    if let Some((tag, s)) = Der(inner).next() {
                        if let Ok(t) = decode_asn1_string(tag as u32, s) {
                            return format!("othername: UPN:{t}");
                        }
                    }
                }
            }
            "othername:<unsupported>".to_string()
        }
        GeneralName::X400Address(_) => "X400Name:<unsupported>".to_string(),
        GeneralName::EDIPartyName(_) => "EdiPartyName:<unsupported>".to_string(),
    }
}

/// ASN1_STRING_print: printable bytes kept, others shown as '.'.
fn printable_dump(data: &[u8]) -> String {
    data.iter().map(|&b| if b > b'~' || (b < b' ' && b != b'\n' && b != b'\r') { '.' } else { b as char }).collect()
}

/// BIO_hex_string: "AA:BB:..." with a line break and `indent` spaces every `width` bytes.
fn bio_hex_string(indent: usize, width: usize, data: &[u8]) -> String {
    let mut out = String::new();
    if data.is_empty() {
        return out;
    }
    let mut j = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if i > 0 && j == 0 {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&format!("{:02X}:", data[i]));
        j = (j + 1) % width;
        if j == 0 {
            out.push('\n');
        }
        i += 1;
    }
    if i > 0 && j == 0 {
        out.push_str(&" ".repeat(indent));
    }
    out.push_str(&format!("{:02X}", data[data.len() - 1]));
    out
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// (year, month 1-12, day, hour, minute, second) of a Unix time.
fn civil_time(ts: i64) -> (i64, usize, i64, i64, i64, i64) {
    let days = ts.div_euclid(86400);
    let secs = ts.rem_euclid(86400);
    // days since 1970-01-01 to a proleptic Gregorian date
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month as usize, day, secs / 3600, (secs / 60) % 60, secs % 60)
}

/// ASN1_TIME_print: "Jan  5 03:04:05 2026 GMT".
fn asn1_time_text(ts: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_time(ts);
    format!("{} {:2} {:02}:{:02}:{:02} {} GMT", MONTHS[mo - 1], d, h, mi, s, y)
}

fn serial_text(raw: &[u8]) -> String {
    if raw.is_empty() {
        return "00".to_string();
    }
    if raw[0] & 0x80 != 0 {
        // negative: print the magnitude of the two's complement value
        let mut mag: Vec<u8> = raw.iter().map(|b| !b).collect();
        for b in mag.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
        let start = mag.iter().position(|&b| b != 0).unwrap_or(mag.len() - 1);
        return format!("-{}", hex_lower(&mag[start..]));
    }
    let start = if raw.len() > 1 && raw[0] == 0 { 1 } else { 0 };
    hex_lower(&raw[start..])
}

fn hex_lower(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn bignum_hex(data: &[u8]) -> String {
    let start = data.iter().position(|&b| b != 0);
    match start {
        None => "0".to_string(),
        Some(s) => {
            let h = hex_upper(&data[s..], "");
            h.strip_prefix('0').map(str::to_string).unwrap_or(h)
        }
    }
}

fn bit_length(data: &[u8]) -> usize {
    match data.iter().position(|&b| b != 0) {
        None => 0,
        Some(s) => (data.len() - s) * 8 - data[s].leading_zeros() as usize,
    }
}

fn extension_value(ext: &x509_parser::extensions::X509Extension<'_>) -> String {
    let oid = ext.oid.to_id_string();
    match ext.parsed_extension() {
        ParsedExtension::SubjectAlternativeName(san) => {
            san.general_names.iter().map(general_name_text).collect::<Vec<_>>().join(", ")
        }
        ParsedExtension::IssuerAlternativeName(ian) => {
            ian.general_names.iter().map(general_name_text).collect::<Vec<_>>().join(", ")
        }
        ParsedExtension::BasicConstraints(bc) => {
            let mut s = format!("CA:{}", if bc.ca { "TRUE" } else { "FALSE" });
            if let Some(p) = bc.path_len_constraint {
                s.push_str(&format!(", pathlen:{p}"));
            }
            s
        }
        ParsedExtension::KeyUsage(ku) => {
            let names = [
                (ku.digital_signature(), "Digital Signature"),
                (ku.non_repudiation(), "Non Repudiation"),
                (ku.key_encipherment(), "Key Encipherment"),
                (ku.data_encipherment(), "Data Encipherment"),
                (ku.key_agreement(), "Key Agreement"),
                (ku.key_cert_sign(), "Certificate Sign"),
                (ku.crl_sign(), "CRL Sign"),
                (ku.encipher_only(), "Encipher Only"),
                (ku.decipher_only(), "Decipher Only"),
            ];
            names.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
        }
        ParsedExtension::ExtendedKeyUsage(_) => {
            // Parsed here to keep the certificate's order.
            let mut names = Vec::new();
            if let Some(seq) = Der(ext.value).expect(0x30) {
                let mut d = Der(seq);
                while let Some((tag, c)) = d.next() {
                    if tag == 0x06 {
                        names.push(oid_name(&oid_text(c)));
                    }
                }
            }
            names.join(", ")
        }
        ParsedExtension::SubjectKeyIdentifier(kid) => hex_upper(kid.0, ":"),
        ParsedExtension::AuthorityKeyIdentifier(aki) => {
            let mut lines = Vec::new();
            let qualified = aki.authority_cert_issuer.is_some() || aki.authority_cert_serial.is_some();
            if let Some(kid) = &aki.key_identifier {
                let h = hex_upper(kid.0, ":");
                lines.push(if qualified { format!("keyid:{h}") } else { h });
            }
            if let Some(issuer) = &aki.authority_cert_issuer {
                lines.extend(issuer.iter().map(general_name_text));
            }
            if let Some(serial) = aki.authority_cert_serial {
                lines.push(format!("serial:{}", hex_upper(serial, ":")));
            }
            lines.join("\n")
        }
        ParsedExtension::CRLDistributionPoints(dps) => {
            let mut parts = Vec::new();
            for dp in dps.points.iter() {
                let mut s = String::new();
                match &dp.distribution_point {
                    Some(DistributionPointName::FullName(names)) => {
                        s.push_str("Full Name:\n");
                        for n in names {
                            s.push_str(&format!("  {}\n", general_name_text(n)));
                        }
                    }
                    Some(DistributionPointName::NameRelativeToCRLIssuer(rdn)) => {
                        let text = rdn
                            .iter()
                            .map(|atv| {
                                format!(
                                    "{} = {}",
                                    dn_attr_name(&atv.attr_type().to_id_string()),
                                    escape_dn_value(atv.attr_value().tag().0, atv.attr_value().data)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(" + ");
                        s.push_str(&format!("Relative Name:\n  {text}\n"));
                    }
                    None => {}
                }
                if let Some(issuers) = &dp.crl_issuer {
                    s.push_str("CRL Issuer:\n");
                    for n in issuers {
                        s.push_str(&format!("  {}\n", general_name_text(n)));
                    }
                }
                parts.push(s);
            }
            parts.join("\n")
        }
        ParsedExtension::AuthorityInfoAccess(aia) => aia
            .accessdescs
            .iter()
            .map(|ad| {
                format!("{} - {}", oid_name(&ad.access_method.to_id_string()), general_name_text(&ad.access_location))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        ParsedExtension::CertificatePolicies(policies) => {
            let mut parts = Vec::new();
            for p in policies.iter() {
                let mut s = format!("Policy: {}", oid_name(&p.policy_id.to_id_string()));
                if let Some(quals) = &p.policy_qualifiers {
                    let mut qs = Vec::new();
                    for q in quals {
                        qs.push(policy_qualifier_text(&q.policy_qualifier_id.to_id_string(), q.qualifier));
                    }
                    s.push('\n');
                    s.push_str(&qs.join("\n"));
                }
                parts.push(s);
            }
            parts.join("\n")
        }
        ParsedExtension::NameConstraints(nc) => {
            let mut s = String::new();
            let mut section = |title: &str, trees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
                if let Some(trees) = trees {
                    if trees.is_empty() {
                        return;
                    }
                    if !s.is_empty() {
                        s.push('\n');
                    }
                    s.push_str(title);
                    s.push_str(":\n");
                    let items: Vec<String> = trees
                        .iter()
                        .map(|t| match &t.base {
                            GeneralName::IPAddress(b) if b.len() == 8 || b.len() == 32 => {
                                let half = b.len() / 2;
                                format!("  IP:{}/{}", ip_text(&b[..half]), ip_text(&b[half..]))
                            }
                            other => format!("  {}", general_name_text(other)),
                        })
                        .collect();
                    s.push_str(&items.join("\n"));
                }
            };
            section("Permitted", &nc.permitted_subtrees);
            section("Excluded", &nc.excluded_subtrees);
            s
        }
        ParsedExtension::PolicyConstraints(pc) => {
            let mut v = Vec::new();
            if let Some(r) = pc.require_explicit_policy {
                v.push(format!("Require Explicit Policy:{r}"));
            }
            if let Some(i) = pc.inhibit_policy_mapping {
                v.push(format!("Inhibit Policy Mapping:{i}"));
            }
            v.join(", ")
        }
        ParsedExtension::InhibitAnyPolicy(iap) => iap.skip_certs.to_string(),
        ParsedExtension::PolicyMappings(pm) => pm
            .mappings
            .iter()
            .map(|m| {
                format!(
                    "{}:{}",
                    oid_name(&m.issuer_domain_policy.to_id_string()),
                    oid_name(&m.subject_domain_policy.to_id_string())
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        ParsedExtension::NsCertComment(c) => c.to_string(),
        ParsedExtension::SCT(scts) => scts
            .iter()
            .map(|sct| {
                let mut s = String::from("Signed Certificate Timestamp:");
                s.push_str("\n    Version   : ");
                if sct.version.0 != 0 {
                    s.push_str("unknown");
                    return s;
                }
                s.push_str("v1 (0x0)");
                s.push_str("\n    Log ID    : ");
                s.push_str(&bio_hex_string(16, 16, sct.id.key_id));
                s.push_str("\n    Timestamp : ");
                let ms = sct.timestamp;
                let (y, mo, d, h, mi, se) = civil_time((ms / 1000) as i64);
                s.push_str(&format!(
                    "{} {:2} {:02}:{:02}:{:02}.{:03} {} GMT",
                    MONTHS[mo - 1],
                    d,
                    h,
                    mi,
                    se,
                    ms % 1000,
                    y
                ));
                s.push_str("\n    Extensions: ");
                if sct.extensions.0.is_empty() {
                    s.push_str("none");
                } else {
                    s.push_str(&bio_hex_string(16, 16, sct.extensions.0));
                }
                s.push_str("\n    Signature : ");
                let alg = match (sct.signature.hash_alg_id, sct.signature.sign_alg_id) {
                    (4, 3) => "ecdsa-with-SHA256".to_string(),
                    (4, 1) => "sha256WithRSAEncryption".to_string(),
                    (h, g) => format!("{h:02X}{g:02X}"),
                };
                s.push_str(&alg);
                s.push_str("\n                ");
                s.push_str(&bio_hex_string(16, 16, sct.signature.data));
                s
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => {
            if oid == "1.3.6.1.5.5.7.1.24" {
                // TLS Feature: SEQUENCE OF INTEGER
                if let Some(seq) = Der(ext.value).expect(0x30) {
                    let mut d = Der(seq);
                    let mut v = Vec::new();
                    while let Some((0x02, c)) = d.next() {
                        v.push(match der_uint(c) {
                            Some(5) => "status_request".to_string(),
                            Some(17) => "status_request_v2".to_string(),
                            Some(n) => n.to_string(),
                            None => "?".to_string(),
                        });
                    }
                    return v.join(", ");
                }
            }
            printable_dump(ext.value)
        }
    }
}

fn policy_qualifier_text(qid: &str, qualifier: &[u8]) -> String {
    match qid {
        "1.3.6.1.5.5.7.2.1" => {
            let text =
                Der(qualifier).next().and_then(|(t, c)| decode_asn1_string(t as u32, c).ok()).unwrap_or_default();
            format!("  CPS: {text}")
        }
        "1.3.6.1.5.5.7.2.2" => {
            let mut s = String::from("  User Notice:");
            if let Some(seq) = Der(qualifier).expect(0x30) {
                let mut d = Der(seq);
                while let Some((tag, c)) = d.next() {
                    if tag == 0x30 {
                        // NoticeReference: organization, noticeNumbers
                        let mut r = Der(c);
                        if let Some((t, org)) = r.next() {
                            let org = decode_asn1_string(t as u32, org).unwrap_or_default();
                            s.push_str(&format!("\n    Organization: {org}"));
                        }
                        if let Some(nums) = r.expect(0x30) {
                            let mut n = Der(nums);
                            let mut v = Vec::new();
                            while let Some((0x02, c)) = n.next() {
                                v.push(der_uint(c).map(|x| x.to_string()).unwrap_or_else(|| "?".into()));
                            }
                            let label = if v.len() > 1 { "Numbers" } else { "Number" };
                            s.push_str(&format!("\n    {label}: {}", v.join(", ")));
                        }
                    } else if let Ok(t) = decode_asn1_string(tag as u32, c) {
                        s.push_str(&format!("\n    Explicit Text: {t}"));
                    }
                }
            }
            s
        }
        other => format!("  {}: {}", oid_name(other), printable_dump(qualifier)),
    }
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// CERTINFO for a peer chain: per certificate, (name, value) pairs in the order and format
/// of libcurl's OpenSSL backend.
pub fn cert_info(chain: &[CertificateDer<'_>]) -> Vec<Vec<(String, String)>> {
    chain.iter().map(|c| one_cert_info(c.as_ref())).collect()
}

fn one_cert_info(der: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: String| out.push((k.to_string(), v));
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        push("Cert", pem_encode("CERTIFICATE", der));
        return out;
    };
    let tbs = &cert.tbs_certificate;
    push("Subject", name_oneline(&tbs.subject));
    push("Issuer", name_oneline(&tbs.issuer));
    push("Version", tbs.version.0.to_string());
    push("Serial Number", serial_text(tbs.raw_serial()));
    push("Signature Algorithm", oid_name(&cert.signature_algorithm.algorithm.to_id_string()));
    push("Public Key Algorithm", oid_name(&tbs.subject_pki.algorithm.algorithm.to_id_string()));
    for ext in tbs.extensions() {
        push(&oid_name(&ext.oid.to_id_string()), extension_value(ext));
    }
    push("Start date", asn1_time_text(tbs.validity.not_before.timestamp()));
    push("Expire date", asn1_time_text(tbs.validity.not_after.timestamp()));
    if let Ok(PublicKey::RSA(rsa)) = tbs.subject_pki.parsed() {
        push("RSA Public Key", bit_length(rsa.modulus).to_string());
        push("rsa(n)", bignum_hex(rsa.modulus));
        push("rsa(e)", bignum_hex(rsa.exponent));
    }
    let sig: &[u8] = &cert.signature_value.data;
    push("Signature", sig.iter().map(|b| format!("{b:02x}:")).collect());
    push("Cert", pem_encode("CERTIFICATE", der));
    out
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
    use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
    use rustls::sign::CertifiedKey;
    use rustls::{ClientConnection, ProtocolVersion, ServerConfig, ServerConnection};
    use std::sync::atomic::{AtomicUsize, Ordering};

    // ---- fixtures -----------------------------------------------------------------

    /// A P-256 key (generated for these tests with the openssl CLI) in several encodings;
    /// the encrypted ones use the pass phrase "s3cret".
    const KEY_PLAIN_PKCS8: &str = r#"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgr4NWTpvqKVZQP/1b
JZSim9jCSbPXiRk4c83rjyw9xoahRANCAARXTgAIYygAOEJD4SJRYIcoP5CxO+VQ
P7MuwKyd8Y9v0b7PFAI0m1rYlnHmVtWPMocWuu3NAqwfH2wCc66RIf4Y
-----END PRIVATE KEY-----
"#;
    const KEY_SEC1: &str = r#"-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIK+DVk6b6ilWUD/9WyWUopvYwkmz14kZOHPN648sPcaGoAoGCCqGSM49
AwEHoUQDQgAEV04ACGMoADhCQ+EiUWCHKD+QsTvlUD+zLsCsnfGPb9G+zxQCNJta
2JZx5lbVjzKHFrrtzQKsHx9sAnOukSH+GA==
-----END EC PRIVATE KEY-----
"#;
    const KEY_PBES2_AES256_SHA256: &str = r#"-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiTBf+h0n4n6QICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEG+XSxPrSVTW98RL4MGmGNUEgZBz
4EejJcAVn05PfWpKsVWWmqSJoD+c9tFhquXQI1s+/shRQC/f3t+FgnCZbxAx2vdE
XHZtRNhLETTrR+jkWeavWQyUuSAxL4CdnHuWiu3v1YdaUK5iJNWEauPmkaQPPf94
6w4gsIJIW+ArrzpNYCgb3LufWP/UHwhX2WkwI7Zwg8/T21CurIHVVjQqKKuXU+c=
-----END ENCRYPTED PRIVATE KEY-----
"#;
    const KEY_PBES2_AES128_SHA1: &str = r#"-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHeMEkGCSqGSIb3DQEFDTA8MBsGCSqGSIb3DQEFDDAOBAgtpVJmgyHFcgICCAAw
HQYJYIZIAWUDBAECBBA6CB+yJ6sv7nPGaVCOzKqPBIGQKd/+M8YAK0UPyLIlAxDq
pIxwXFKfX/Fu98oSSkEpwEcMg6BWqBhAJIRKA/YoPaCUWWXOtw/b0aSXd3N4mNtx
BsXW4RaDaoMBVCrHpSLViytu9B7JQXUDFKPlrEJDMIXgrukqE6lJLwNT8lK451nH
L1BZw+AZc0aezUcsxgOrrgDoBtQsDHnyvR9PaIhC6s/2
-----END ENCRYPTED PRIVATE KEY-----
"#;
    const KEY_LEGACY_AES192: &str = r#"-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-192-CBC,3BA9229A83E3DA7C8F3B76F1B10840B5

NGuE3zLhoOXAo2y8TAJrDwkdbuUUyMU7UYLlicZj4V2A631J7WEXF+WUhMahwvbo
f50kqkbTi5cmZ6mTDnHuHM1pTEmSjPxNG9c8ZmDdZGPMoWjgbHlwSpsuO+enYbS1
yq1HBtCj5GszxIPNeGy6JQX8zag90hLzjjqSyHar8p0=
-----END EC PRIVATE KEY-----
"#;
    const KEY_LEGACY_DES3: &str = r#"-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: DES-EDE3-CBC,EA983CC11778BE5D

guGQNalTVXGhhWaZM+gp9NUnz05x8ZKho8leykSqHYMPYF/kIHILb+2nD/gaH/NX
IeqJ0B3rGFFu4u8ypaDT92G455pQzKvqOp4RGDvvaBcQ/ElzZRi/IVaZ7QC91LIT
h338W77O/QKkD/7RrpOwTim9J+fyAJzqVVUpAmvk8PM=
-----END EC PRIVATE KEY-----
"#;
    const KEY_PBES1_3DES: &str = r#"-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGxMBwGCiqGSIb3DQEMAQMwDgQIIVILq8sEQdICAggABIGQL1wGiJGKTVRWO0xq
tp+ySH7Cv9TEh/4qpLdn3cjvOLLT7P3sHBg8E0jgl3Wo1wFGvc5Bnflmo7+Vq6wC
gZYv2rvIrvk8MPL2WS1LMTxWpRQufBKOMPt8CQBGN6neJI/fv/BpTe1DzDPoiW/U
J+h04SFRZZYIVVKnYKBDkb6Nqj58Iy8uQaf/sLUUhQXRHFGC
-----END ENCRYPTED PRIVATE KEY-----
"#;

    /// Certificates made for these tests (Python cryptography), and the CERTINFO that
    /// pycurl 7.49.0 / libcurl 8.23.0 (OpenSSL 3.6) returned for them.
    const RSA_CERT: &str = r#"-----BEGIN CERTIFICATE-----
MIID7jCCA5SgAwIBAgIDAID/MAoGCCqGSM49BAMCMBIxEDAOBgNVBAMMB1Rlc3Qg
Q0EwHhcNMjYwMTA1MDMwNDA1WhcNMjcxMjA2MDMwNDA1WjBzMQswCQYDVQQGEwJV
UzETMBEGA1UECAwKU29tZS1TdGF0ZTETMBEGA1UECgwKQWNtZSwgSW5jLjEQMA4G
A1UECwwHT3BzICJ4IjESMBAGA1UEAwwJbG9jYWxob3N0MRQwEgYJKoZIhvcNAQkB
FgVhQGIuYzCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAM4tE7JaNt0i
cHQ/9S9hLY4gykY+N8K2+AXIFH6xa4zOU0+EeI7VZXJnks8Iwl7m1gnYXEMad900
nhDSbPNR74x1pUy6rqsuj3MxdloJlgkpJ9gomJFR9kbI++S1Su6+Hl5rdMkTWT10
QEqBYmkcbiMrBzgNIgX6oLniZrxov++CXY/u7DxPzjCTsNYvE6y/Ef9Jvy5FeKlf
ml3QxOmKV/Kw5Xd9Pd6JMYPhjWbS6qhRuWQGC6pRPn0ivgODdgrSlExiMepYYcJk
KDH65ckXpvo/YJgq4EW//DA/OK3yDEEfs9kaGTmAWkfG9Q0C9QFtp49oxiVrOd3b
9RP5Vi9P0KMCAwEAAaOCAaswggGnMEYGA1UdEQQ/MD2CCWxvY2FsaG9zdIcEfwAA
AYcQAAAAAAAAAAAAAAAAAAAAAYEFeEB5LnqGEWh0dHA6Ly91LmV4YW1wbGUvMAwG
A1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgWgMCcGA1UdJQQgMB4GCCsGAQUFBwMB
BggrBgEFBQcDAgYIKwYBBQUHAwMwHwYDVR0jBBgwFoAU2zOI9MmtXxPkiMXoC31X
BT1TGTUwHQYDVR0OBBYEFLQ+zXJUhY0441LqYCE241fjnG0zMCoGA1UdHwQjMCEw
H6AdoBuGGWh0dHA6Ly9jcmwuZXhhbXBsZS9jYS5jcmwwVgYIKwYBBQUHAQEESjBI
MCAGCCsGAQUFBzABhhRodHRwOi8vb2NzcC5leGFtcGxlLzAkBggrBgEFBQcwAoYY
aHR0cDovL2NhLmV4YW1wbGUvY2EuY3J0MEMGA1UdIAQ8MDowCAYGZ4EMAQIBMC4G
CSsGAQQBho0fATAhMB8GCCsGAQUFBwIBFhNodHRwOi8vY3BzLmV4YW1wbGUvMA0G
BCoDBAUEBQQDYWJjMAoGCCqGSM49BAMCA0gAMEUCIA8Ceye03OuvHQGYWYgIrskC
5LITO2BwI3CqgoMSoiQmAiEA8wHca0Ua3dMU1td0kby+h5j8x/RFdHaZ11IKhltr
K9E=
-----END CERTIFICATE-----
"#;
    const MISC_CERT: &str = r#"-----BEGIN CERTIFICATE-----
MIICODCCAd6gAwIBAgIBATAKBggqhkjOPQQDAjAMMQowCAYDVQQDDAF4MB4XDTIw
MDEwMTAwMDAwMFoXDTMwMDEwMTAwMDAwMFowDDEKMAgGA1UEAwwBeDBZMBMGByqG
SM49AgEGCCqGSM49AwEHA0IABOBx0ezmZZO9VpEZKU69L01ukKOeomc4iwLdYRJ8
Wp6jYauXNQrlPQVkQu3xuw2nowL9XbMIKbVeOYyR8R1dh2yjggEvMIIBKzBTBgNV
HREETDBKhxAgAQ24AAAAAAAAAAAAAKvNpBwwGjEKMAgGA1UEAwwBZDEMMAoGA1UE
CgwDZSBmiAMqAwSgEwYKKwYBBAGCNxQCA6AFDANhQGIwIwYDVR0jBBwwGoACAQKh
EKQOMAwxCjAIBgNVBAMMAXiCAhI0MBIGA1UdJAEB/wQIMAaAAQCBAQEwDQYDVR02
AQH/BAMCAQIwEQYIKwYBBQUHARgEBTADAgEFMD8GA1UdIAQ4MDYwNAYEVR0gADAs
MCoGCCsGAQUFBwICMB4wDQwDT3JnMAYCAQECAQIMDWV4cGxpY2l0IHRleHQwOAYD
VR0eBDEwL6AMMAqHCAoAAAD/AAAAoR8wDYILYmFkLmV4YW1wbGUwDoIMYmFkMi5l
eGFtcGxlMAoGCCqGSM49BAMCA0gAMEUCIDODtGHOYRl5PR7bfSGkdIJqu4QNYdKa
7A8mhL0vK2IfAiEAuvQ2X4soYOjPguQW/XQApxV2EnqLUaKq/+dkB19NWUU=
-----END CERTIFICATE-----
"#;
    const MISC_EXPECTED: &[(&str, &str)] = &[
        ("Subject", "CN = x"),
        ("Issuer", "CN = x"),
        ("Version", "2"),
        ("Serial Number", "01"),
        ("Signature Algorithm", "ecdsa-with-SHA256"),
        ("Public Key Algorithm", "id-ecPublicKey"),
        ("X509v3 Subject Alternative Name", "IP Address:2001:DB8:0:0:0:0:0:ABCD, DirName:/CN=d/O=e f, Registered ID:1.2.3.4, othername: UPN:a@b"),
        ("X509v3 Authority Key Identifier", "keyid:01:02\nDirName:/CN=x\nserial:12:34"),
        ("X509v3 Policy Constraints", "Require Explicit Policy:0, Inhibit Policy Mapping:1"),
        ("X509v3 Inhibit Any Policy", "2"),
        ("TLS Feature", "status_request"),
        ("X509v3 Certificate Policies", "Policy: X509v3 Any Policy\n  User Notice:\n    Organization: Org\n    Numbers: 1, 2\n    Explicit Text: explicit text"),
        ("X509v3 Name Constraints", "Permitted:\n  IP:10.0.0.0/255.0.0.0\nExcluded:\n  DNS:bad.example\n  DNS:bad2.example"),
        ("Start date", "Jan  1 00:00:00 2020 GMT"),
        ("Expire date", "Jan  1 00:00:00 2030 GMT"),
        ("Signature", "30:45:02:20:33:83:b4:61:ce:61:19:79:3d:1e:db:7d:21:a4:74:82:6a:bb:84:0d:61:d2:9a:ec:0f:26:84:bd:2f:2b:62:1f:02:21:00:ba:f4:36:5f:8b:28:60:e8:cf:82:e4:16:fd:74:00:a7:15:76:12:7a:8b:51:a2:aa:ff:e7:64:07:5f:4d:59:45:"),
    ];
    const RSA_EXPECTED: &[(&str, &str)] = &[
        ("Subject", "C = US, ST = Some-State, O = \"Acme, Inc.\", OU = Ops \\\"x\\\", CN = localhost, emailAddress = a@b.c"),
        ("Issuer", "CN = Test CA"),
        ("Version", "2"),
        ("Serial Number", "80ff"),
        ("Signature Algorithm", "ecdsa-with-SHA256"),
        ("Public Key Algorithm", "rsaEncryption"),
        ("X509v3 Subject Alternative Name", "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, email:x@y.z, URI:http://u.example/"),
        ("X509v3 Basic Constraints", "CA:FALSE"),
        ("X509v3 Key Usage", "Digital Signature, Key Encipherment"),
        ("X509v3 Extended Key Usage", "TLS Web Server Authentication, TLS Web Client Authentication, Code Signing"),
        ("X509v3 Authority Key Identifier", "DB:33:88:F4:C9:AD:5F:13:E4:88:C5:E8:0B:7D:57:05:3D:53:19:35"),
        ("X509v3 Subject Key Identifier", "B4:3E:CD:72:54:85:8D:38:E3:52:EA:60:21:36:E3:57:E3:9C:6D:33"),
        ("X509v3 CRL Distribution Points", "Full Name:\n  URI:http://crl.example/ca.crl\n"),
        ("Authority Information Access", "OCSP - URI:http://ocsp.example/\nCA Issuers - URI:http://ca.example/ca.crt"),
        ("X509v3 Certificate Policies", "Policy: 2.23.140.1.2.1\nPolicy: 1.3.6.1.4.1.99999.1\n  CPS: http://cps.example/"),
        ("1.2.3.4.5", "..abc"),
        ("Start date", "Jan  5 03:04:05 2026 GMT"),
        ("Expire date", "Dec  6 03:04:05 2027 GMT"),
        ("RSA Public Key", "2048"),
        ("rsa(n)", "CE2D13B25A36DD2270743FF52F612D8E20CA463E37C2B6F805C8147EB16B8CCE534F84788ED565726792CF08C25EE6D609D85C431A77DD349E10D26CF351EF8C75A54CBAAEAB2E8F7331765A0996092927D828989151F646C8FBE4B54AEEBE1E5E6B74C913593D74404A8162691C6E232B07380D2205FAA0B9E266BC68BFEF825D8FEEEC3C4FCE3093B0D62F13ACBF11FF49BF2E4578A95F9A5DD0C4E98A57F2B0E5777D3DDE893183E18D66D2EAA851B964060BAA513E7D22BE0383760AD2944C6231EA5861C2642831FAE5C917A6FA3F60982AE045BFFC303F38ADF20C411FB3D91A1939805A47C6F50D02F5016DA78F68C6256B39DDDBF513F9562F4FD0A3"),
        ("rsa(e)", "10001"),
        ("Signature", "30:45:02:20:0f:02:7b:27:b4:dc:eb:af:1d:01:98:59:88:08:ae:c9:02:e4:b2:13:3b:60:70:23:70:aa:82:83:12:a2:24:26:02:21:00:f3:01:dc:6b:45:1a:dd:d3:14:d6:d7:74:91:bc:be:87:98:fc:c7:f4:45:74:76:99:d7:52:0a:86:5b:6b:2b:d1:"),
    ];

    // ---- helpers ------------------------------------------------------------------

    struct Ca {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    fn dn(cn: &str) -> DistinguishedName {
        let mut d = DistinguishedName::new();
        d.push(DnType::CommonName, cn);
        d
    }

    fn make_ca(cn: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = dn(cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    struct Leaf {
        cert: rcgen::Certificate,
        key: KeyPair,
    }

    fn leaf_params(names: &[&str], cn: Option<&str>) -> CertificateParams {
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name = match cn {
            Some(cn) => dn(cn),
            None => {
                let mut d = DistinguishedName::new();
                d.push(DnType::OrganizationName, "No CN here");
                d
            }
        };
        p
    }

    fn issue(ca: &Ca, p: CertificateParams) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca.cert, &ca.key).unwrap();
        Leaf { cert, key }
    }

    fn leaf(ca: &Ca, names: &[&str]) -> Leaf {
        issue(ca, leaf_params(names, Some(names.first().copied().unwrap_or("leaf"))))
    }

    fn self_signed(names: &[&str]) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let cert = leaf_params(names, Some("self")).self_signed(&key).unwrap();
        Leaf { cert, key }
    }

    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    fn temp_file(name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tls-config-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        fs::write(&p, contents).unwrap();
        p
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn server_with(
        chain: Vec<CertificateDer<'static>>,
        key: &KeyPair,
        versions: &[&'static SupportedProtocolVersion],
        client_ca: Option<&Ca>,
    ) -> Arc<ServerConfig> {
        let b = ServerConfig::builder_with_provider(provider()).with_protocol_versions(versions).unwrap();
        let b = match client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                roots.add(ca.cert.der().clone()).unwrap();
                b.with_client_cert_verifier(
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build().unwrap(),
                )
            }
            None => b.with_no_client_auth(),
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Arc::new(b.with_single_cert(chain, key).unwrap())
    }

    fn server(l: &Leaf) -> Arc<ServerConfig> {
        server_with(vec![l.cert.der().clone()], &l.key, rustls::ALL_VERSIONS, None)
    }

    /// Run a complete handshake over an in-memory pipe; the client's failure is mapped
    /// with `map_handshake_error`.
    fn handshake(cfg: Arc<ClientConfig>, srv: Arc<ServerConfig>, host: &str) -> Result<ClientConnection, TlsError> {
        let name = ServerName::try_from(host.to_string()).unwrap();
        let mut client = ClientConnection::new(cfg, name).unwrap();
        let mut server = ServerConnection::new(srv).unwrap();
        for _ in 0..32 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                if server.read_tls(&mut rd).is_err() || server.process_new_packets().is_err() {
                    break;
                }
            }
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd).unwrap();
                client.process_new_packets().map_err(|e| map_handshake_error(&e, host))?;
            }
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(client);
            }
        }
        panic!("handshake did not complete");
    }

    fn opts_with_ca(ca_pem: &str) -> TlsOptions {
        TlsOptions { ca_info: Some(temp_file("ca.pem", ca_pem)), ..TlsOptions::default() }
    }

    fn connect(o: &TlsOptions, srv: Arc<ServerConfig>, host: &str) -> Result<ClientConnection, TlsError> {
        handshake(client_config(o)?, srv, host)
    }

    fn verify_msg(text: &str, num: u32) -> String {
        format!("SSL certificate OpenSSL verify result: {text} ({num})")
    }

    // ---- trust ------------------------------------------------------------------------

    #[test]
    fn trusted_ca_is_accepted() {
        let ca = make_ca("Test CA");
        let l = leaf(&ca, &["localhost"]);
        let o = opts_with_ca(&ca.cert.pem());
        let c = connect(&o, server(&l), "localhost").expect("handshake");
        assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    }

    #[test]
    fn ca_blob_is_accepted() {
        let ca = make_ca("Blob CA");
        let l = leaf(&ca, &["localhost"]);
        let o = TlsOptions { ca_blob: Some(ca.cert.pem().into_bytes()), ..TlsOptions::default() };
        connect(&o, server(&l), "localhost").expect("handshake");
    }

    #[test]
    fn ca_path_directory_is_read() {
        let ca = make_ca("Dir CA");
        let l = leaf(&ca, &["localhost"]);
        let f = temp_file("anything.pem", ca.cert.pem());
        let o = TlsOptions { ca_path: Some(f.parent().unwrap().to_path_buf()), ..TlsOptions::default() };
        connect(&o, server(&l), "localhost").expect("handshake");
    }

    #[test]
    fn missing_ca_path_means_no_anchors() {
        let ca = make_ca("Some CA");
        let l = leaf(&ca, &["localhost"]);
        let o = TlsOptions { ca_path: Some(PathBuf::from("/nonexistent/ca/dir")), ..TlsOptions::default() };
        let e = connect(&o, server(&l), "localhost").unwrap_err();
        assert_eq!(e.code, 60);
        assert_eq!(e.message, verify_msg("unable to get local issuer certificate", 20));
    }

    #[test]
    fn unknown_ca_is_rejected() {
        let ca = make_ca("Real CA");
        let other = make_ca("Other CA");
        let l = leaf(&ca, &["localhost"]);
        let e = connect(&opts_with_ca(&other.cert.pem()), server(&l), "localhost").unwrap_err();
        assert_eq!(e.code, E_PEER_FAILED_VERIFICATION);
        assert_eq!(e.message, verify_msg("unable to get local issuer certificate", 20));
    }

    #[test]
    fn untrusted_self_signed_leaf_reports_self_signed() {
        let ca = make_ca("Real CA");
        let s = self_signed(&["localhost"]);
        let e = connect(&opts_with_ca(&ca.cert.pem()), server(&s), "localhost").unwrap_err();
        assert_eq!(e.code, 60);
        assert_eq!(e.message, verify_msg("self-signed certificate", 18));
    }

    #[test]
    fn untrusted_root_in_chain_reports_self_signed_in_chain() {
        let ca = make_ca("Served CA");
        let other = make_ca("Other CA");
        let l = leaf(&ca, &["localhost"]);
        let srv = server_with(vec![l.cert.der().clone(), ca.cert.der().clone()], &l.key, rustls::ALL_VERSIONS, None);
        let e = connect(&opts_with_ca(&other.cert.pem()), srv, "localhost").unwrap_err();
        assert_eq!(e.message, verify_msg("self-signed certificate in certificate chain", 19));
    }

    #[test]
    fn intermediate_chain_is_accepted() {
        let root = make_ca("Root");
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name = dn("Intermediate");
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let inter = Ca { cert: p.signed_by(&key, &root.cert, &root.key).unwrap(), key };
        let l = leaf(&inter, &["localhost"]);
        let srv = server_with(vec![l.cert.der().clone(), inter.cert.der().clone()], &l.key, rustls::ALL_VERSIONS, None);
        connect(&opts_with_ca(&root.cert.pem()), srv, "localhost").expect("handshake");
    }

    #[test]
    fn self_signed_leaf_listed_in_cainfo_is_accepted() {
        let s = self_signed(&["localhost"]);
        let o = opts_with_ca(&s.cert.pem());
        connect(&o, server(&s), "localhost").expect("handshake");
        // ... but its names are still checked
        let e = connect(&o, server(&s), "other.example").unwrap_err();
        assert_eq!(e.code, 60);
        assert_eq!(e.message, "SSL: no alternative certificate subject name matches target hostname 'other.example'");
        let o2 = TlsOptions { verify_host: false, ..o.clone() };
        connect(&o2, server(&s), "other.example").expect("verify_host off");
    }

    #[test]
    fn self_signed_ca_cert_as_leaf_listed_in_cainfo_is_accepted() {
        // like `openssl req -x509`: CA:TRUE and used directly by the server
        let key = KeyPair::generate().unwrap();
        let mut p = leaf_params(&["localhost"], Some("localhost"));
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let s = Leaf { cert: p.self_signed(&key).unwrap(), key };
        connect(&opts_with_ca(&s.cert.pem()), server(&s), "localhost").expect("handshake");
    }

    #[test]
    fn expired_and_not_yet_valid_certificates() {
        let ca = make_ca("Time CA");
        let mut p = leaf_params(&["localhost"], Some("localhost"));
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let old = issue(&ca, p);
        let o = opts_with_ca(&ca.cert.pem());
        let e = connect(&o, server(&old), "localhost").unwrap_err();
        assert_eq!(e.message, verify_msg("certificate has expired", 10));

        let mut p = leaf_params(&["localhost"], Some("localhost"));
        p.not_before = rcgen::date_time_ymd(2090, 1, 1);
        p.not_after = rcgen::date_time_ymd(2091, 1, 1);
        let future = issue(&ca, p);
        let e = connect(&o, server(&future), "localhost").unwrap_err();
        assert_eq!(e.message, verify_msg("certificate is not yet valid or the system clock is incorrect", 9));

        // an expired certificate that is itself a trust anchor is still expired
        let key = KeyPair::generate().unwrap();
        let mut p = leaf_params(&["localhost"], Some("localhost"));
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let s = Leaf { cert: p.self_signed(&key).unwrap(), key };
        let e = connect(&opts_with_ca(&s.cert.pem()), server(&s), "localhost").unwrap_err();
        assert_eq!(e.message, verify_msg("certificate has expired", 10));
    }

    #[test]
    fn bad_cainfo_file_and_blob() {
        let missing = TlsOptions { ca_info: Some(PathBuf::from("/nonexistent.pem")), ..TlsOptions::default() };
        let e = client_config(&missing).unwrap_err();
        assert_eq!(e, TlsError::new(77, "error adding trust anchors from file: /nonexistent.pem"));

        let garbage = temp_file("garbage.pem", "not a certificate\n");
        let o = TlsOptions { ca_info: Some(garbage.clone()), ..TlsOptions::default() };
        let e = client_config(&o).unwrap_err();
        assert_eq!(e.code, E_SSL_CACERT_BADFILE);
        assert_eq!(e.message, format!("error adding trust anchors from file: {}", garbage.display()));

        let o = TlsOptions { ca_blob: Some(b"garbage".to_vec()), ..TlsOptions::default() };
        let e = client_config(&o).unwrap_err();
        assert_eq!(e, TlsError::new(77, "error adding trust anchors from certificate blob: 77"));

        // libcurl does not load CAINFO at all without peer verification
        let o = TlsOptions { verify_peer: false, ..missing };
        assert!(client_config(&o).is_ok());
    }

    #[test]
    fn default_store_config_builds() {
        // The platform store may be empty on a build machine; building must still work.
        let cfg = client_config(&TlsOptions::default()).expect("config");
        assert!(cfg.alpn_protocols.is_empty());
    }

    // ---- host names -----------------------------------------------------------------

    #[test]
    fn name_mismatch_and_verify_host_off() {
        let ca = make_ca("Name CA");
        let l = leaf(&ca, &["other.example"]);
        let o = opts_with_ca(&ca.cert.pem());
        let e = connect(&o, server(&l), "localhost").unwrap_err();
        assert_eq!(e.code, 60);
        assert_eq!(e.message, "SSL: no alternative certificate subject name matches target hostname 'localhost'");
        let e = connect(&o, server(&l), "127.0.0.1").unwrap_err();
        assert_eq!(e.message, "SSL: no alternative certificate subject name matches target IPv4 address '127.0.0.1'");
        let e = connect(&o, server(&l), "::1").unwrap_err();
        assert_eq!(e.message, "SSL: no alternative certificate subject name matches target IPv6 address '[::1]'");
        let off = TlsOptions { verify_host: false, ..o.clone() };
        connect(&off, server(&l), "localhost").expect("verify_host off");
        // the chain is still verified with verify_host off
        let other = make_ca("Other");
        let off_other = TlsOptions { verify_host: false, ..opts_with_ca(&other.cert.pem()) };
        assert_eq!(connect(&off_other, server(&l), "localhost").unwrap_err().code, 60);
    }

    #[test]
    fn ip_address_san_and_wildcards() {
        let ca = make_ca("IP CA");
        let o = opts_with_ca(&ca.cert.pem());
        let l = leaf(&ca, &["127.0.0.1", "::1"]);
        connect(&o, server(&l), "127.0.0.1").expect("ipv4 SAN");
        connect(&o, server(&l), "::1").expect("ipv6 SAN");
        let w = leaf(&ca, &["*.example.com"]);
        connect(&o, server(&w), "a.example.com").expect("wildcard");
        assert_eq!(connect(&o, server(&w), "a.b.example.com").unwrap_err().code, 60);
    }

    #[test]
    fn common_name_fallback_without_san() {
        let ca = make_ca("CN CA");
        let o = opts_with_ca(&ca.cert.pem());
        let only_cn = issue(&ca, leaf_params(&[], Some("localhost")));
        connect(&o, server(&only_cn), "localhost").expect("CN fallback");
        let e = connect(&o, server(&only_cn), "127.0.0.1").unwrap_err();
        assert_eq!(e.message, "SSL: certificate subject name 'localhost' does not match target hostname '127.0.0.1'");
        let wrong_cn = issue(&ca, leaf_params(&[], Some("other.example")));
        let e = connect(&o, server(&wrong_cn), "localhost").unwrap_err();
        assert_eq!(
            e.message,
            "SSL: certificate subject name 'other.example' does not match target hostname 'localhost'"
        );
        let no_cn = issue(&ca, leaf_params(&[], None));
        let e = connect(&o, server(&no_cn), "localhost").unwrap_err();
        assert_eq!(e.message, "SSL: unable to obtain common name from peer certificate");
        let wild = issue(&ca, leaf_params(&[], Some("*.example.com")));
        connect(&o, server(&wild), "a.example.com").expect("wildcard CN");
        let e = connect(&o, server(&wild), "a.b.example.com").unwrap_err();
        assert_eq!(
            e.message,
            "SSL: certificate subject name '*.example.com' does not match target hostname 'a.b.example.com'"
        );
    }

    #[test]
    fn hostname_matching_rules() {
        assert!(hostname_matches("LocalHost", "localhost"));
        assert!(hostname_matches("example.com.", "example.com"));
        assert!(hostname_matches("*.example.com", "www.example.com"));
        assert!(!hostname_matches("*.example.com", "example.com"));
        assert!(!hostname_matches("*.example.com", "a.b.example.com"));
        assert!(!hostname_matches("*.com", "example.com"));
        assert!(!hostname_matches("w*.example.com", "www.example.com"));
        assert!(!hostname_matches("*.0.0.1", "127.0.0.1"));
    }

    // ---- verify_peer off ------------------------------------------------------------

    #[test]
    fn verify_peer_off_accepts_any_chain_but_checks_names() {
        let ca = make_ca("Unknown CA");
        let l = leaf(&ca, &["localhost"]);
        let o = TlsOptions { verify_peer: false, ..TlsOptions::default() };
        connect(&o, server(&l), "localhost").expect("unknown CA accepted");
        let s = self_signed(&["localhost"]);
        connect(&o, server(&s), "localhost").expect("self-signed accepted");
        // libcurl keeps checking the name while VERIFYHOST is on
        let e = connect(&o, server(&l), "other.example").unwrap_err();
        assert_eq!(e.message, "SSL: no alternative certificate subject name matches target hostname 'other.example'");
        let o2 = TlsOptions { verify_peer: false, verify_host: false, ..TlsOptions::default() };
        connect(&o2, server(&l), "other.example").expect("nothing verified");
    }

    #[derive(Debug)]
    struct FixedCert(Arc<CertifiedKey>);

    impl ResolvesServerCert for FixedCert {
        fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
    }

    #[test]
    fn verify_peer_off_still_checks_handshake_signature() {
        let ca = make_ca("Sig CA");
        let l = leaf(&ca, &["localhost"]);
        let impostor = KeyPair::generate().unwrap();
        let signing = provider()
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(impostor.serialize_der())))
            .unwrap();
        let ck = Arc::new(CertifiedKey::new(vec![l.cert.der().clone()], signing));
        for versions in [&[&rustls::version::TLS13][..], &[&rustls::version::TLS12][..]] {
            let srv = Arc::new(
                ServerConfig::builder_with_provider(provider())
                    .with_protocol_versions(versions)
                    .unwrap()
                    .with_no_client_auth()
                    .with_cert_resolver(Arc::new(FixedCert(ck.clone()))),
            );
            let o = TlsOptions { verify_peer: false, verify_host: false, ..TlsOptions::default() };
            let e = connect(&o, srv, "localhost").unwrap_err();
            assert_eq!(e.code, E_SSL_CONNECT_ERROR);
            assert_eq!(e.message, "TLS connect error: error:0A00007B:SSL routines::bad signature");
        }
    }

    // ---- pinning ----------------------------------------------------------------------

    #[test]
    fn pinned_public_key() {
        let ca = make_ca("Pin CA");
        let l = leaf(&ca, &["localhost"]);
        let ee = l.cert.der().as_ref();
        let good = base64::engine::general_purpose::STANDARD
            .encode(ring::digest::digest(&ring::digest::SHA256, &l.key.public_key_der()));
        let bad = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        assert_eq!(check_pinned(&format!("sha256//{good}"), ee), Ok(()));
        assert_eq!(check_pinned(&format!("{bad};sha256//{good}"), ee), Ok(()));
        let e = check_pinned(bad, ee).unwrap_err();
        assert_eq!(e, TlsError::new(90, "SSL: public key does not match pinned public key"));
        assert_eq!(check_pinned("sha256//", ee).unwrap_err().code, 90);

        let pem = temp_file("pub.pem", l.key.public_key_pem());
        assert_eq!(check_pinned(pem.to_str().unwrap(), ee), Ok(()));
        let der = temp_file("pub.der", l.key.public_key_der());
        assert_eq!(check_pinned(der.to_str().unwrap(), ee), Ok(()));
        let other = KeyPair::generate().unwrap();
        let wrong = temp_file("wrong.pem", other.public_key_pem());
        assert_eq!(check_pinned(wrong.to_str().unwrap(), ee).unwrap_err().code, 90);
        assert_eq!(check_pinned("/nonexistent/pin.pem", ee).unwrap_err().code, 90);

        // against the certificate actually received in a handshake
        let c = connect(&opts_with_ca(&ca.cert.pem()), server(&l), "localhost").unwrap();
        let peer = c.peer_certificates().unwrap();
        assert_eq!(check_pinned(&format!("sha256//{good}"), peer[0].as_ref()), Ok(()));
    }

    // ---- versions and ciphers ---------------------------------------------------------

    #[test]
    fn version_limits() {
        let ca = make_ca("Version CA");
        let l = leaf(&ca, &["localhost"]);
        let base = opts_with_ca(&ca.cert.pem());
        let with = |v: u32| TlsOptions { version: v, ..base.clone() };
        let c = connect(&with(SSLVERSION_MAX_TLSV1_2), server(&l), "localhost").unwrap();
        assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_2));
        let c = connect(&with(SSLVERSION_TLSV1_0), server(&l), "localhost").unwrap();
        assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));
        let c = connect(&with(SSLVERSION_TLSV1_3), server(&l), "localhost").unwrap();
        assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_3));
        let c = connect(&with(SSLVERSION_TLSV1_2 | SSLVERSION_MAX_TLSV1_2), server(&l), "localhost").unwrap();
        assert_eq!(c.protocol_version(), Some(ProtocolVersion::TLSv1_2));

        // TLS 1.3 only against a TLS 1.2 only server
        let srv12 = server_with(vec![l.cert.der().clone()], &l.key, &[&rustls::version::TLS12], None);
        let e = connect(&with(SSLVERSION_TLSV1_3), srv12, "localhost").unwrap_err();
        assert_eq!(e.code, 35);
        assert_eq!(e.message, "TLS connect error: error:0A00042E:SSL routines::tlsv1 alert protocol version");

        let e = client_config(&with(SSLVERSION_MAX_TLSV1_1)).unwrap_err();
        assert_eq!(e, TlsError::new(35, "CURL_SSLVERSION_MAX incompatible with CURL_SSLVERSION"));
        let e = client_config(&with(SSLVERSION_TLSV1_3 | SSLVERSION_MAX_TLSV1_2)).unwrap_err();
        assert_eq!(e, TlsError::new(35, "CURL_SSLVERSION_MAX incompatible with CURL_SSLVERSION"));
        let e = client_config(&with(SSLVERSION_TLSV1_0 | SSLVERSION_MAX_TLSV1_1)).unwrap_err();
        assert_eq!(e.code, 35);
        assert!(e.message.starts_with("TLS connect error: no protocols available"), "{}", e.message);
        assert_eq!(client_config(&with(SSLVERSION_SSLV3)).unwrap_err().code, 43);
    }

    #[test]
    fn cipher_lists() {
        use rustls::CipherSuite;
        let ca = make_ca("Cipher CA");
        let l = leaf(&ca, &["localhost"]);
        let base = TlsOptions { version: SSLVERSION_MAX_TLSV1_2, ..opts_with_ca(&ca.cert.pem()) };
        let with = |list: &str| TlsOptions { cipher_list: Some(list.to_string()), ..base.clone() };
        let suite =
            |o: &TlsOptions| connect(o, server(&l), "localhost").unwrap().negotiated_cipher_suite().unwrap().suite();
        assert_eq!(suite(&with("ECDHE-ECDSA-AES128-GCM-SHA256")), CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
        assert_eq!(
            suite(&with("FOO:TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")),
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        );
        assert_eq!(suite(&with("HIGH:!CHACHA20:!AES128")), CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
        assert_eq!(
            suite(&with("ECDHE+AESGCM:-AES256:@STRENGTH")),
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        );
        let e = client_config(&with("FOO-BAR")).unwrap_err();
        assert_eq!(e, TlsError::new(59, "failed setting cipher list: FOO-BAR"));
        let e = client_config(&with("ALL:!ECDHE")).unwrap_err();
        assert_eq!(e.code, 59);
        // no suite in common with an ECDSA server
        let e = connect(&with("ECDHE-RSA-AES128-GCM-SHA256"), server(&l), "localhost").unwrap_err();
        assert_eq!(
            e,
            TlsError::new(35, "TLS connect error: error:0A000410:SSL routines::ssl/tls alert handshake failure")
        );

        let t13 = |list: &str| TlsOptions { tls13_ciphers: Some(list.to_string()), ..opts_with_ca(&ca.cert.pem()) };
        assert_eq!(suite(&t13("TLS_CHACHA20_POLY1305_SHA256")), CipherSuite::TLS13_CHACHA20_POLY1305_SHA256);
        assert_eq!(suite(&t13("TLS_AES_128_CCM_SHA256:TLS_AES_128_GCM_SHA256")), CipherSuite::TLS13_AES_128_GCM_SHA256);
        let e = client_config(&t13("FOO")).unwrap_err();
        assert_eq!(e, TlsError::new(59, "failed setting TLS 1.3 cipher suite: FOO"));
    }

    // ---- client certificates ----------------------------------------------------------

    fn client_leaf_from_fixture(ca: &Ca) -> rcgen::Certificate {
        let kp = KeyPair::from_pem(KEY_PLAIN_PKCS8).unwrap();
        leaf_params(&[], Some("client")).signed_by(&kp, &ca.cert, &ca.key).unwrap()
    }

    #[test]
    fn client_certificate_authentication() {
        let ca = make_ca("Client CA");
        let l = leaf(&ca, &["localhost"]);
        let srv = || server_with(vec![l.cert.der().clone()], &l.key, rustls::ALL_VERSIONS, Some(&ca));
        let client = issue(&ca, leaf_params(&[], Some("client")));
        let base = opts_with_ca(&ca.cert.pem());

        // separate files
        let o = TlsOptions {
            cert: Some(temp_file("c.pem", client.cert.pem())),
            key: Some(temp_file("c.key", client.key.serialize_pem())),
            ..base.clone()
        };
        connect(&o, srv(), "localhost").expect("cert + key");
        // key inside the certificate file
        let o = TlsOptions {
            cert: Some(temp_file("combo.pem", format!("{}{}", client.cert.pem(), client.key.serialize_pem()))),
            ..base.clone()
        };
        connect(&o, srv(), "localhost").expect("combined file");
        // blobs
        let o = TlsOptions {
            cert_blob: Some(client.cert.pem().into_bytes()),
            key_blob: Some(client.key.serialize_pem().into_bytes()),
            ..base.clone()
        };
        connect(&o, srv(), "localhost").expect("blobs");
        // DER files
        let o = TlsOptions {
            cert: Some(temp_file("c.der", client.cert.der().as_ref())),
            key: Some(temp_file("k.der", client.key.serialize_der())),
            ..base.clone()
        };
        connect(&o, srv(), "localhost").expect("DER");
        // a TLS 1.2 server that insists on a certificate rejects the handshake
        let srv12 = server_with(vec![l.cert.der().clone()], &l.key, &[&rustls::version::TLS12], Some(&ca));
        let e = connect(&base, srv12, "localhost").unwrap_err();
        assert_eq!(e.code, E_SSL_CONNECT_ERROR);
        assert!(e.message.starts_with("TLS connect error: error:0A"), "{}", e.message);
    }

    #[test]
    fn client_certificate_errors() {
        let ca = make_ca("Err CA");
        let client = issue(&ca, leaf_params(&[], Some("client")));
        let base = TlsOptions::default();
        let e =
            client_config(&TlsOptions { cert: Some(PathBuf::from("/nonexistent.pem")), ..base.clone() }).unwrap_err();
        assert_eq!(
            e,
            TlsError::new(
                58,
                "could not load PEM client certificate from /nonexistent.pem, OpenSSL error \
                 error:80000002:system library::No such file or directory, (no key found, wrong \
                 passphrase, or wrong file format?)"
            )
        );
        let garbage = temp_file("g.pem", "hello\n");
        let e = client_config(&TlsOptions { cert: Some(garbage.clone()), ..base.clone() }).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "could not load PEM client certificate from {}, OpenSSL error error:0480006C:PEM \
                 routines::no start line, (no key found, wrong passphrase, or wrong file format?)",
                garbage.display()
            )
        );
        let e = client_config(&TlsOptions { cert_blob: Some(b"garbage".to_vec()), ..base.clone() }).unwrap_err();
        assert!(e.message.starts_with("could not load PEM client certificate from CURLOPT_SSLCERT_BLOB,"));

        let cert = temp_file("c.pem", client.cert.pem());
        // no key anywhere: libcurl names the certificate file
        let e = client_config(&TlsOptions { cert: Some(cert.clone()), ..base.clone() }).unwrap_err();
        assert_eq!(e, TlsError::new(43, format!("unable to set private key file: '{}' type PEM", cert.display())));
        let e = client_config(&TlsOptions {
            cert: Some(cert.clone()),
            key: Some(PathBuf::from("/nonexistent.key")),
            ..base.clone()
        })
        .unwrap_err();
        assert_eq!(e, TlsError::new(43, "unable to set private key file: '/nonexistent.key' type PEM"));
        let e = client_config(&TlsOptions {
            cert: Some(cert.clone()),
            key_blob: Some(b"garbage".to_vec()),
            ..base.clone()
        })
        .unwrap_err();
        assert_eq!(e, TlsError::new(43, "unable to set private key file: '(memory blob)' type PEM"));
        // a key that does not belong to the certificate
        let other = temp_file("other.key", KeyPair::generate().unwrap().serialize_pem());
        let e = client_config(&TlsOptions { cert: Some(cert.clone()), key: Some(other.clone()), ..base.clone() })
            .unwrap_err();
        // Real pycurl (tests/test_tls.py::test_client_key_mismatch) reports a key that belongs to
        // another certificate as 58.
        assert_eq!(e, TlsError::new(58, "Private key does not match the certificate public key"));
        let _ = &other;
    }

    #[test]
    fn encrypted_private_keys() {
        let ca = make_ca("Enc CA");
        let l = leaf(&ca, &["localhost"]);
        let srv = || server_with(vec![l.cert.der().clone()], &l.key, &[&rustls::version::TLS12], Some(&ca));
        let cert = temp_file("client.pem", client_leaf_from_fixture(&ca).pem());
        let with_key = |pem: &str, pw: Option<&str>| TlsOptions {
            cert: Some(cert.clone()),
            key: Some(temp_file("k.pem", pem)),
            key_passwd: pw.map(str::to_string),
            ..opts_with_ca(&ca.cert.pem())
        };
        for pem in [KEY_PLAIN_PKCS8, KEY_SEC1] {
            connect(&with_key(pem, None), srv(), "localhost").expect("plain key");
        }
        for pem in [KEY_PBES2_AES256_SHA256, KEY_PBES2_AES128_SHA1, KEY_LEGACY_AES192] {
            connect(&with_key(pem, Some("s3cret")), srv(), "localhost").expect("decrypted key");
            let o = with_key(pem, Some("wrong"));
            let e = client_config(&o).unwrap_err();
            assert_eq!(
                e,
                TlsError::new(
                    43,
                    format!("unable to set private key file: '{}' type PEM", o.key.as_ref().unwrap().display())
                )
            );
            assert_eq!(client_config(&with_key(pem, None)).unwrap_err().code, 43);
        }
        for pem in [KEY_LEGACY_DES3, KEY_PBES1_3DES] {
            let e = client_config(&with_key(pem, Some("s3cret"))).unwrap_err();
            assert_eq!(e.code, E_SSL_CERTPROBLEM);
            assert!(e.message.contains("unsupported key encryption"), "{}", e.message);
        }
        // the decrypted PKCS#8 is exactly the plain one
        let plain = parse_pem(KEY_PLAIN_PKCS8.as_bytes()).remove(0).der;
        let enc = parse_pem(KEY_PBES2_AES256_SHA256.as_bytes()).remove(0).der;
        assert!(decrypt_pkcs8(&enc, b"s3cret").ok() == Some(plain));
        let sec1 = parse_pem(KEY_SEC1.as_bytes()).remove(0).der;
        let legacy = parse_pem(KEY_LEGACY_AES192.as_bytes()).remove(0);
        assert!(decrypt_legacy_pem(&legacy.der, legacy.header("DEK-Info").unwrap(), b"s3cret").ok() == Some(sec1));
    }

    #[test]
    fn aes_and_md5_known_answers() {
        // FIPS-197 appendix C
        let pt = hex_decode("00112233445566778899aabbccddeeff").unwrap();
        for (key, ct) in [
            ("000102030405060708090a0b0c0d0e0f", "69c4e0d86a7b0430d8cdb78070b4c55a"),
            ("000102030405060708090a0b0c0d0e0f1011121314151617", "dda97ca4864cdfe06eaf70a0ec0d7191"),
            ("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "8ea2b7ca516745bfeafc49904b496089"),
        ] {
            let aes = Aes::new(&hex_decode(key).unwrap()).unwrap();
            let block: [u8; 16] = hex_decode(ct).unwrap().try_into().unwrap();
            assert_eq!(aes.decrypt_block(block).to_vec(), pt);
        }
        // RFC 1321 test suite
        assert_eq!(hex_lower(&md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex_lower(&md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex_lower(&md5(b"12345678901234567890123456789012345678901234567890123456789012345678901234567890")),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    // ---- misc ---------------------------------------------------------------------------

    #[test]
    fn configs_are_memoised() {
        let ca = make_ca("Memo CA");
        let o = opts_with_ca(&ca.cert.pem());
        let a = client_config(&o).unwrap();
        let b = client_config(&o.clone()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let o2 = TlsOptions { alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()], ..o.clone() };
        let c = client_config(&o2).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert!(Arc::ptr_eq(&native_store(), &native_store()));
    }

    #[test]
    fn alpn_is_negotiated() {
        let ca = make_ca("ALPN CA");
        let l = leaf(&ca, &["localhost"]);
        let mut scfg = (*server(&l)).clone();
        scfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let o = TlsOptions { alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()], ..opts_with_ca(&ca.cert.pem()) };
        let c = connect(&o, Arc::new(scfg), "localhost").unwrap();
        assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    }

    #[test]
    fn alert_mapping() {
        use rustls::AlertDescription as A;
        let e = map_handshake_error(&rustls::Error::AlertReceived(A::HandshakeFailure), "h");
        assert_eq!(
            e,
            TlsError::new(35, "TLS connect error: error:0A000410:SSL routines::ssl/tls alert handshake failure")
        );
        let e = map_handshake_error(&rustls::Error::AlertReceived(A::UnknownCA), "h");
        assert_eq!(e.message, "TLS connect error: error:0A000418:SSL routines::tlsv1 alert unknown ca");
        let e = map_handshake_error(&rustls::Error::AlertReceived(A::CertificateRequired), "h");
        assert_eq!(e.message, "TLS connect error: error:0A00045C:SSL routines::tlsv13 alert certificate required");
        let e = map_handshake_error(&rustls::Error::InvalidCertificate(CertificateError::NotValidForName), "127.0.0.1");
        assert_eq!(e.code, 60);
        assert_eq!(e.message, "SSL: no alternative certificate subject name matches target IPv4 address '127.0.0.1'");
        let e = map_handshake_error(&rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer), "h");
        assert_eq!(e.message, verify_msg("unable to get local issuer certificate", 20));
        assert_eq!(ssl_verify_result(&e), 20);
        let mismatch = "SSL: no alternative certificate subject name matches target hostname 'x'";
        assert_eq!(ssl_verify_result(&TlsError::new(60, mismatch)), 1);
        assert_eq!(ssl_verify_result(&TlsError::new(35, "TLS connect error: x")), 0);
    }

    // ---- CERTINFO ---------------------------------------------------------------------

    fn der_of(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from(parse_pem(pem.as_bytes()).remove(0).der)
    }

    fn check_expected(info: &[(String, String)], expected: &[(&str, &str)], pem: &str) {
        let (last, rest) = info.split_last().unwrap();
        assert_eq!(last, &("Cert".to_string(), pem.to_string()));
        let got: Vec<(&str, &str)> = rest.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expected) {
            assert_eq!(g, e);
        }
    }

    #[test]
    fn cert_info_matches_openssl_backend() {
        let info = cert_info(&[der_of(RSA_CERT), der_of(MISC_CERT)]);
        assert_eq!(info.len(), 2);
        check_expected(&info[0], RSA_EXPECTED, RSA_CERT);
        check_expected(&info[1], MISC_EXPECTED, MISC_CERT);
    }

    #[test]
    fn cert_info_of_a_handshake_chain() {
        let ca = make_ca("Info CA");
        let l = leaf(&ca, &["localhost", "127.0.0.1"]);
        let srv = server_with(vec![l.cert.der().clone(), ca.cert.der().clone()], &l.key, rustls::ALL_VERSIONS, None);
        let c = connect(&opts_with_ca(&ca.cert.pem()), srv, "localhost").unwrap();
        let info = cert_info(c.peer_certificates().unwrap());
        assert_eq!(info.len(), 2);
        let get = |i: usize, k: &str| info[i].iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        assert_eq!(get(0, "Subject"), "CN = localhost");
        assert_eq!(get(0, "Issuer"), "CN = Info CA");
        assert_eq!(get(0, "Version"), "2");
        assert_eq!(get(0, "Signature Algorithm"), "ecdsa-with-SHA256");
        assert_eq!(get(0, "Public Key Algorithm"), "id-ecPublicKey");
        assert_eq!(get(0, "X509v3 Subject Alternative Name"), "DNS:localhost, IP Address:127.0.0.1");
        assert_eq!(get(0, "Cert"), l.cert.pem().replace("\r\n", "\n"));
        assert_eq!(get(1, "Subject"), "CN = Info CA");
        assert_eq!(get(1, "X509v3 Basic Constraints"), "CA:TRUE");
        assert!(get(0, "Signature").ends_with(':'));
        let names: Vec<&str> = info[0].iter().map(|(k, _)| k.as_str()).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("Public Key Algorithm") < pos("Start date"));
        assert!(pos("Start date") < pos("Expire date"));
        assert!(pos("Expire date") < pos("Signature"));
        assert_eq!(names.last(), Some(&"Cert"));
    }

    #[test]
    fn subject_escaping_matches_openssl_oneline() {
        // (CN value, what `openssl x509 -subject -nameopt oneline` prints)
        let cases = [
            ("a+b", "CN = \"a+b\""),
            ("a;b", "CN = \"a;b\""),
            ("a=b", "CN = a=b"),
            ("x/y", "CN = x/y"),
            ("\u{65e5}\u{672c}", "CN = \\E6\\97\\A5\\E6\\9C\\AC"),
            ("a<b>", "CN = \"a<b>\""),
            ("#lead", "CN = \"#lead\""),
            (" lead", "CN = \" lead\""),
            ("trail ", "CN = \"trail \""),
            ("back\\slash", "CN = back\\\\slash"),
            ("M\u{fc}ller", "CN = M\\C3\\BCller"),
            ("ctl\u{1}x", "CN = ctl\\01x"),
            ("tab\tx", "CN = tab\\09x"),
            ("say \"hi\"", "CN = say \\\"hi\\\""),
        ];
        for (cn, want) in cases {
            let s = {
                let key = KeyPair::generate().unwrap();
                leaf_params(&[], Some(cn)).self_signed(&key).unwrap()
            };
            let info = cert_info(&[s.der().clone()]);
            assert_eq!(info[0][0], ("Subject".to_string(), want.to_string()), "CN {cn:?}");
        }
    }

    #[test]
    fn time_and_number_formatting() {
        assert_eq!(asn1_time_text(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(asn1_time_text(1_767_582_245), "Jan  5 03:04:05 2026 GMT");
        assert_eq!(asn1_time_text(951_782_400), "Feb 29 00:00:00 2000 GMT");
        assert_eq!(serial_text(&[0x00, 0x80, 0xff]), "80ff");
        assert_eq!(serial_text(&[0x01]), "01");
        assert_eq!(serial_text(&[0xff]), "-01");
        assert_eq!(bignum_hex(&[0x00, 0x01, 0x00, 0x01]), "10001");
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bio_hex_string(16, 4, &[1, 2, 3, 4, 5]), "01:02:03:04:\n                05");
        assert_eq!(oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]), "1.2.840.113549.1.1.11");
    }
}
