//! CURLOPT_SSL_CIPHER_LIST and CURLOPT_TLS13_CIPHERS: OpenSSL cipher strings mapped onto the
//! suites rustls implements.

use std::collections::HashSet;

use rustls::SupportedCipherSuite;

use super::{TlsError, E_SSL_CIPHER};

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
pub(super) fn select_tls12_suites(list: Option<&str>) -> Result<Vec<SupportedCipherSuite>, TlsError> {
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
pub(super) fn select_tls13_suites(list: Option<&str>) -> Result<Vec<SupportedCipherSuite>, TlsError> {
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
