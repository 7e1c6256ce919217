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
//!
//! Where things are: `config` builds and caches the `ClientConfig`; `ciphers` maps OpenSSL
//! cipher strings; `verifier` holds the trust store, the certificate checks, handshake error
//! mapping and pinning; `keys` loads the client certificate and (encrypted) private key; `pem`
//! reads PEM blocks; `certinfo` renders CERTINFO.

mod asn1;
mod certinfo;
mod ciphers;
mod config;
mod groups;
mod keys;
mod pem;
#[cfg(test)]
mod tests;
mod verifier;

pub use certinfo::cert_info;
pub use config::client_config;
pub use verifier::{alert_text, check_pinned, map_handshake_error, spki_of, ssl_verify_result};

use std::fmt;
use std::path::PathBuf;

use super::error::code;

// ---------------------------------------------------------------------------------------
// CURLcode values used here (their numbers live in engine::error::code)
// ---------------------------------------------------------------------------------------

/// CURLE_SSL_CONNECT_ERROR
pub const E_SSL_CONNECT_ERROR: i32 = code::SSL_CONNECT_ERROR;
/// CURLE_BAD_FUNCTION_ARGUMENT (libcurl's answer to an unusable private key)
pub const E_BAD_FUNCTION_ARGUMENT: i32 = code::BAD_FUNCTION_ARGUMENT;
/// CURLE_SSL_CERTPROBLEM
pub const E_SSL_CERTPROBLEM: i32 = code::SSL_CERTPROBLEM;
/// CURLE_SSL_CIPHER
pub const E_SSL_CIPHER: i32 = code::SSL_CIPHER;
/// CURLE_PEER_FAILED_VERIFICATION
pub const E_PEER_FAILED_VERIFICATION: i32 = code::PEER_FAILED_VERIFICATION;
/// CURLE_SSL_CACERT_BADFILE
pub const E_SSL_CACERT_BADFILE: i32 = code::SSL_CACERT_BADFILE;
/// CURLE_SSL_CRL_BADFILE
pub const E_SSL_CRL_BADFILE: i32 = code::SSL_CRL_BADFILE;
/// CURLE_SSL_ISSUER_ERROR
pub const E_SSL_ISSUER_ERROR: i32 = code::SSL_ISSUER_ERROR;
/// CURLE_SSL_PINNEDPUBKEYNOTMATCH
pub const E_SSL_PINNEDPUBKEYNOTMATCH: i32 = code::SSL_PINNEDPUBKEYNOTMATCH;

/// Prefix libcurl (OpenSSL backend) puts before X.509 verification failures, followed by
/// the verify error text and its number in parentheses.
pub const VERIFY_RESULT_PREFIX: &str = "SSL certificate OpenSSL verify result: ";

// CURLOPT_SSLVERSION encodings
// CURLOPT_SSL_OPTIONS bits
pub const SSLOPT_ALLOW_BEAST: u32 = 1;
pub const SSLOPT_NO_REVOKE: u32 = 2;
pub const SSLOPT_NO_PARTIALCHAIN: u32 = 4;
pub const SSLOPT_REVOKE_BEST_EFFORT: u32 = 8;
pub const SSLOPT_NATIVE_CA: u32 = 16;
pub const SSLOPT_AUTO_CLIENT_CERT: u32 = 32;
pub const SSLOPT_EARLYDATA: u32 = 64;

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
    /// honour the SSLKEYLOGFILE environment variable (libcurl always does)
    pub sslkeylogfile: bool,
    /// CURLOPT_SSL_SESSIONID_CACHE (default true): resume TLS sessions on new connections
    pub session_cache: bool,
    /// CURLOPT_SSL_OPTIONS bits (CURLSSLOPT_*); only NO_PARTIALCHAIN and NATIVE_CA change
    /// anything under rustls, the others are documented no-ops (docs/differences.md)
    pub ssl_options: u32,
    /// CURLOPT_CRLFILE: PEM file of certificate revocation lists
    pub crl_file: Option<PathBuf>,
    /// CURLOPT_ISSUERCERT: PEM certificate that must have issued the server certificate
    pub issuer_cert: Option<PathBuf>,
    /// CURLOPT_ISSUERCERT_BLOB
    pub issuer_blob: Option<Vec<u8>>,
    /// CURLOPT_SSL_EC_CURVES: key exchange groups by OpenSSL name, colon separated
    pub ec_curves: Option<String>,
    /// CURLOPT_SSL_SIGNATURE_ALGORITHMS: OpenSSL sigalgs list
    pub sigalgs: Option<String>,
    /// CURLOPT_SSLCERTTYPE ("PEM" when unset; "DER", "P12")
    pub cert_type: Option<String>,
    /// CURLOPT_SSLKEYTYPE ("PEM" when unset; "DER")
    pub key_type: Option<String>,
}

impl TlsOptions {
    /// The defaults (a constant: an unset `Rare` group reads this).
    pub const DEFAULTS: TlsOptions = TlsOptions {
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
        sslkeylogfile: true,
        session_cache: true,
        ssl_options: 0,
        crl_file: None,
        issuer_cert: None,
        issuer_blob: None,
        ec_curves: None,
        sigalgs: None,
        cert_type: None,
        key_type: None,
    };
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self::DEFAULTS
    }
}

crate::rare_defaults!(TlsOptions = TlsOptions::DEFAULTS);

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
