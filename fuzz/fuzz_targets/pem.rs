//! PEM/DER loading of client certificates, private keys (plain or encrypted) and CA blobs, as
//! CURLOPT_SSLCERT_BLOB / SSLKEY_BLOB / CAINFO_BLOB give them: an error, never a panic.
#![no_main]
use _pycurl::engine::tls::{client_config, TlsOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Three blobs separated by NUL bytes: certificate chain, key, CA bundle.
    let mut parts = data.splitn(3, |&b| b == 0).map(<[u8]>::to_vec);
    let mut o = TlsOptions::new();
    o.cert_blob = parts.next().filter(|p| !p.is_empty());
    o.key_blob = parts.next().filter(|p| !p.is_empty());
    o.ca_blob = Some(parts.next().unwrap_or_default());
    if data.last().is_some_and(|b| b & 1 == 1) {
        o.key_passwd = Some("secret".into());
    }
    let _ = client_config(&o);
});
