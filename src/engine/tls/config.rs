//! Building (and memoising) the rustls ClientConfig for a transfer's TLS options.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, SupportedProtocolVersion};

use super::ciphers::{select_tls12_suites, select_tls13_suites};
use super::groups::select_kx_groups;
use super::keys::{key_error, load_client_auth};
use super::verifier::build_verifier;
use super::*;

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
        stamps: vec![
            stamp(&o.ca_info),
            stamp(&o.ca_path),
            stamp(&o.cert),
            stamp(&o.key),
            stamp(&o.crl_file),
            stamp(&o.issuer_cert),
        ],
        keylog_env: keylog_env(o),
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

/// The SSLKEYLOGFILE value in force, read per build as libcurl reads it lazily; empty means unset.
fn keylog_env(o: &TlsOptions) -> Option<std::ffi::OsString> {
    if !o.sslkeylogfile {
        return None;
    }
    std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty())
}

fn build_config(o: &TlsOptions) -> Result<ClientConfig, TlsError> {
    let versions = resolve_versions(o.version)?;

    // Client certificate and key are parsed before anything else, like libcurl does.
    let client_auth = load_client_auth(o)?;

    let tls12 = select_tls12_suites(o.cipher_list.as_deref())?;
    let tls13 = select_tls13_suites(o.tls13_ciphers.as_deref())?;
    let mut suites = tls13;
    suites.extend(tls12);

    let kx_groups = select_kx_groups(o.ec_curves.as_deref())?;

    let base = rustls::crypto::ring::default_provider();
    let provider = Arc::new(CryptoProvider { cipher_suites: suites, kx_groups, ..base });

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
    if !o.session_cache {
        // SSL_SESSIONID_CACHE=0: neither store tickets/session ids nor offer them.
        config.resumption = rustls::client::Resumption::disabled();
    }
    if keylog_env(o).is_some() {
        // KeyLogFile opens the named file (append) itself and writes NSS key-log lines.
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
