//! CURLOPT_SSL_EC_CURVES and CURLOPT_SSL_SIGNATURE_ALGORITHMS: OpenSSL-style lists mapped
//! onto what rustls with *ring* can do.

use rustls::crypto::SupportedKxGroup;
use rustls::SignatureScheme;

use super::*;

/// What one OpenSSL group name means here.
enum Group {
    Ours(&'static dyn SupportedKxGroup),
    /// A group OpenSSL knows that *ring* does not implement: skipped, as if the server
    /// never picked it.
    Foreign,
}

fn group(name: &str) -> Option<Group> {
    use rustls::crypto::ring::kx_group::{SECP256R1, SECP384R1, X25519};
    Some(match name.to_ascii_lowercase().as_str() {
        "x25519" => Group::Ours(X25519),
        "p-256" | "prime256v1" | "secp256r1" => Group::Ours(SECP256R1),
        "p-384" | "secp384r1" => Group::Ours(SECP384R1),
        "x448"
        | "p-521"
        | "secp521r1"
        | "ffdhe2048"
        | "ffdhe3072"
        | "ffdhe4096"
        | "ffdhe6144"
        | "ffdhe8192"
        | "x25519mlkem768"
        | "secp256r1mlkem768"
        | "secp384r1mlkem1024"
        | "mlkem512"
        | "mlkem768"
        | "mlkem1024"
        | "brainpoolp256r1tls13"
        | "brainpoolp384r1tls13"
        | "brainpoolp512r1tls13" => Group::Foreign,
        _ => return None,
    })
}

/// The key exchange groups for CURLOPT_SSL_EC_CURVES, in the order given.  An unknown
/// name fails with libcurl's CURLE_SSL_CIPHER; a list that leaves nothing usable fails the
/// way OpenSSL's handshake does.  A leading '?' (OpenSSL: "ignore if unknown") is honoured.
pub(super) fn select_kx_groups(list: Option<&str>) -> Result<Vec<&'static dyn SupportedKxGroup>, TlsError> {
    let Some(list) = list else {
        return Ok(rustls::crypto::ring::ALL_KX_GROUPS.to_vec());
    };
    let mut out: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    for item in list.split(':').filter(|s| !s.is_empty()) {
        let (optional, name) = match item.strip_prefix('?') {
            Some(n) => (true, n),
            None => (false, item),
        };
        match group(name) {
            Some(Group::Ours(g)) => {
                if !out.iter().any(|o| o.name() == g.name()) {
                    out.push(g);
                }
            }
            Some(Group::Foreign) => {}
            None if optional => {}
            None => return Err(TlsError::new(E_SSL_CIPHER, format!("failed setting curves list: '{list}'"))),
        }
    }
    if out.is_empty() {
        return Err(TlsError::new(
            E_SSL_CONNECT_ERROR,
            "TLS connect error: error:0A000127:SSL routines::no suitable groups",
        ));
    }
    Ok(out)
}

fn scheme(name: &str) -> Option<&'static [SignatureScheme]> {
    use SignatureScheme as S;
    let n = name.to_ascii_lowercase();
    Some(match n.as_str() {
        "ecdsa+sha256" | "ecdsa_secp256r1_sha256" => &[S::ECDSA_NISTP256_SHA256],
        "ecdsa+sha384" | "ecdsa_secp384r1_sha384" => &[S::ECDSA_NISTP384_SHA384],
        "ecdsa+sha512" | "ecdsa_secp521r1_sha512" => &[S::ECDSA_NISTP521_SHA512],
        "ecdsa+sha1" | "ecdsa_sha1" => &[S::ECDSA_SHA1_Legacy],
        "rsa+sha256" | "rsa_pkcs1_sha256" => &[S::RSA_PKCS1_SHA256],
        "rsa+sha384" | "rsa_pkcs1_sha384" => &[S::RSA_PKCS1_SHA384],
        "rsa+sha512" | "rsa_pkcs1_sha512" => &[S::RSA_PKCS1_SHA512],
        "rsa+sha1" | "rsa_pkcs1_sha1" => &[S::RSA_PKCS1_SHA1],
        // OpenSSL's "RSA-PSS+hash" covers both PSS flavours.
        "rsa-pss+sha256" => &[S::RSA_PSS_SHA256],
        "rsa-pss+sha384" => &[S::RSA_PSS_SHA384],
        "rsa-pss+sha512" => &[S::RSA_PSS_SHA512],
        "rsa_pss_rsae_sha256" | "pss+sha256" => &[S::RSA_PSS_SHA256],
        "rsa_pss_rsae_sha384" | "pss+sha384" => &[S::RSA_PSS_SHA384],
        "rsa_pss_rsae_sha512" | "pss+sha512" => &[S::RSA_PSS_SHA512],
        // rsa_pss_pss_* (PSS-only keys) and ed448 exist in OpenSSL; *ring* verifies neither,
        // so they are accepted and offer nothing.
        "rsa_pss_pss_sha256" | "rsa_pss_pss_sha384" | "rsa_pss_pss_sha512" | "ed448" => &[],
        "ed25519" => &[S::ED25519],
        _ => return None,
    })
}

/// The signature schemes for CURLOPT_SSL_SIGNATURE_ALGORITHMS (None: the provider's).
/// An unknown name or an empty list fails with libcurl's CURLE_SSL_CIPHER.
pub(super) fn select_sigalgs(list: Option<&str>) -> Result<Option<Vec<SignatureScheme>>, TlsError> {
    let Some(list) = list else {
        return Ok(None);
    };
    let bad = || TlsError::new(E_SSL_CIPHER, format!("failed setting signature algorithms: '{list}'"));
    if list.is_empty() {
        return Err(bad());
    }
    let mut out = Vec::new();
    for item in list.split(':') {
        let schemes = scheme(item).ok_or_else(bad)?;
        for s in schemes {
            if !out.contains(s) {
                out.push(*s);
            }
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_by_openssl_names() {
        let g = select_kx_groups(Some("P-256:x25519:prime256v1")).unwrap();
        let names: Vec<_> = g.iter().map(|g| g.name()).collect();
        assert_eq!(names, vec![rustls::NamedGroup::secp256r1, rustls::NamedGroup::X25519]);
        assert_eq!(select_kx_groups(None).unwrap().len(), 3);
        let e = select_kx_groups(Some("X25519:bogus")).err().unwrap();
        assert_eq!((e.code, e.message.as_str()), (59, "failed setting curves list: 'X25519:bogus'"));
        assert_eq!(select_kx_groups(Some("")).err().unwrap().code, 35);
        assert_eq!(select_kx_groups(Some("X448")).err().unwrap().code, 35);
        assert_eq!(select_kx_groups(Some("?bogus:P-384")).unwrap().len(), 1);
    }

    #[test]
    fn sigalgs_by_openssl_names() {
        let s = select_sigalgs(Some("ECDSA+SHA256:rsa_pss_rsae_sha256:ed25519")).unwrap().unwrap();
        assert_eq!(
            s,
            vec![SignatureScheme::ECDSA_NISTP256_SHA256, SignatureScheme::RSA_PSS_SHA256, SignatureScheme::ED25519]
        );
        let e = select_sigalgs(Some("bogus")).err().unwrap();
        assert_eq!((e.code, e.message.as_str()), (59, "failed setting signature algorithms: 'bogus'"));
        assert_eq!(select_sigalgs(Some("")).err().unwrap().code, 59);
        assert!(select_sigalgs(None).unwrap().is_none());
    }
}
