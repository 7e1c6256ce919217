// Temporary stand-in until tls_config.rs lands.
use std::sync::Arc;
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsOptions {
    pub verify_peer: bool, pub verify_host: bool,
    pub ca_info: Option<std::path::PathBuf>, pub ca_path: Option<std::path::PathBuf>, pub ca_blob: Option<Vec<u8>>,
    pub cert: Option<std::path::PathBuf>, pub cert_blob: Option<Vec<u8>>, pub key: Option<std::path::PathBuf>, pub key_blob: Option<Vec<u8>>,
    pub key_passwd: Option<String>, pub version: u32, pub cipher_list: Option<String>, pub tls13_ciphers: Option<String>,
    pub pinned_pubkey: Option<String>, pub alpn: Vec<Vec<u8>>, pub sslkeylogfile: bool,
}
impl Default for TlsOptions { fn default() -> Self { TlsOptions { verify_peer: true, verify_host: true, ca_info: None, ca_path: None, ca_blob: None, cert: None, cert_blob: None, key: None, key_blob: None, key_passwd: None, version: 0, cipher_list: None, tls13_ciphers: None, pinned_pubkey: None, alpn: vec![], sslkeylogfile: false } } }
pub struct TlsError { pub code: i32, pub message: String }
pub fn client_config(_o: &TlsOptions) -> Result<Arc<rustls::ClientConfig>, TlsError> { Err(TlsError { code: 4, message: "stub".into() }) }
pub fn check_pinned(_pin: &str, _ee: &[u8]) -> Result<(), TlsError> { Ok(()) }
pub fn cert_info(_c: &[rustls_pki_types::CertificateDer<'_>]) -> Vec<Vec<(String, String)>> { vec![] }
pub fn map_handshake_error(e: &rustls::Error, _host: &str) -> TlsError { TlsError { code: 35, message: e.to_string() } }
