//! Trust anchors, the server certificate verifier with libcurl's rules and wording, handshake
//! error mapping and public key pinning.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, ServerName, SignatureVerificationAlgorithm, UnixTime,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use super::certinfo::decode_asn1_string;
use super::groups::select_sigalgs;
use super::pem::parse_pem;
use super::*;

// ---------------------------------------------------------------------------------------
// Trust anchors
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
pub(super) struct TrustStore {
    roots: RootCertStore,
    /// SHA-256 of every anchor's DER, to accept a server certificate that *is* an anchor.
    digests: HashSet<[u8; 32]>,
    /// Refuse anchors that are not self-issued (CURLSSLOPT_NO_PARTIALCHAIN).
    roots_only: bool,
    /// Every anchor's DER by its subject (DER), to find a leaf's issuer among them.
    by_subject: HashMap<Vec<u8>, Vec<Vec<u8>>>,
}

impl Default for TrustStore {
    fn default() -> Self {
        TrustStore {
            roots: RootCertStore::empty(),
            digests: HashSet::new(),
            roots_only: false,
            by_subject: HashMap::new(),
        }
    }
}

impl TrustStore {
    fn add(&mut self, der: &[u8]) -> bool {
        // CURLSSLOPT_NO_PARTIALCHAIN: only self-issued certificates may end a chain (the others
        // still count as read, as OpenSSL loads them).
        if self.roots_only && !self_issued(der) {
            return X509Certificate::from_der(der).is_ok();
        }
        if self.roots.add(CertificateDer::from(der.to_vec())).is_ok() {
            self.digests.insert(sha256(der));
            if let Ok((_, c)) = X509Certificate::from_der(der) {
                self.by_subject.entry(c.tbs_certificate.subject.as_raw().to_vec()).or_default().push(der.to_vec());
            }
            true
        } else {
            false
        }
    }

    fn contains(&self, der: &[u8]) -> bool {
        self.digests.contains(&sha256(der))
    }

    /// Whether an anchor or a sent intermediate carries the name of `ee`'s issuer; a
    /// self-issued `ee` that is no anchor itself has none.
    fn issuer_present(&self, ee: &[u8], intermediates: &[CertificateDer<'_>]) -> bool {
        let Ok((_, c)) = X509Certificate::from_der(ee) else {
            return true;
        };
        let issuer = c.tbs_certificate.issuer.as_raw();
        if issuer == c.tbs_certificate.subject.as_raw() {
            return false;
        }
        self.by_subject.contains_key(issuer)
            || intermediates.iter().any(|i| {
                X509Certificate::from_der(i.as_ref()).is_ok_and(|(_, ic)| ic.tbs_certificate.subject.as_raw() == issuer)
            })
    }
}

impl TrustStore {
    /// Whether an anchor named as `ee`'s issuer signed it (webpki will not build a path from
    /// a CA-flagged leaf, which OpenSSL accepts).
    fn signed_by_anchor(&self, ee: &[u8], algs: &[&dyn SignatureVerificationAlgorithm]) -> bool {
        let Ok((_, c)) = X509Certificate::from_der(ee) else {
            return false;
        };
        let Some(anchors) = self.by_subject.get(c.tbs_certificate.issuer.as_raw()) else {
            return false;
        };
        let tbs: &[u8] = c.tbs_certificate.as_ref();
        let sig: &[u8] = c.signature_value.data.as_ref();
        anchors.iter().any(|a| {
            let der = CertificateDer::from(a.as_slice());
            let Ok(issuer) = webpki::EndEntityCert::try_from(&der) else {
                return false;
            };
            algs.iter().any(|alg| issuer.verify_signature(*alg, tbs, sig).is_ok())
        })
    }
}

fn is_ca_used_as_end_entity(ce: &CertificateError) -> bool {
    match ce {
        CertificateError::Other(OtherError(inner)) => {
            matches!(inner.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
        }
        _ => false,
    }
}

pub(super) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The platform trust store, loaded once per process.
pub(super) fn native_store() -> Arc<TrustStore> {
    static NATIVE: OnceLock<Arc<TrustStore>> = OnceLock::new();
    NATIVE
        .get_or_init(|| {
            let mut store = TrustStore::default();
            for der in native_certificates() {
                store.add(der);
            }
            Arc::new(store)
        })
        .clone()
}

/// The platform's certificates (DER), loaded once per process.
fn native_certificates() -> &'static [Vec<u8>] {
    static NATIVE: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    NATIVE.get_or_init(|| {
        rustls_native_certs::load_native_certs().certs.into_iter().map(|c| c.as_ref().to_vec()).collect()
    })
}

/// Certificates (DER) from PEM text: CERTIFICATE and TRUSTED CERTIFICATE blocks.
pub(super) fn pem_certificates(data: &[u8]) -> Vec<Vec<u8>> {
    parse_pem(data)
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE" || b.label == "TRUSTED CERTIFICATE")
        .map(|b| b.der)
        .collect()
}

/// The trust store for `o`: the configured CA file/dir/blob, or the system store.
fn trust_store(o: &TlsOptions) -> Result<Arc<TrustStore>, TlsError> {
    let no_partial = o.ssl_options & SSLOPT_NO_PARTIALCHAIN != 0;
    if o.ca_info.is_none() && o.ca_path.is_none() && o.ca_blob.is_none() && !no_partial {
        return Ok(native_store());
    }
    let mut store = TrustStore { roots_only: no_partial, ..TrustStore::default() };
    // CURLSSLOPT_NATIVE_CA: the system store as well as the configured CAs; with no CA
    // configured at all the system store is the default anyway.
    let want_native =
        o.ssl_options & SSLOPT_NATIVE_CA != 0 || (o.ca_info.is_none() && o.ca_path.is_none() && o.ca_blob.is_none());
    if want_native {
        for der in native_certificates() {
            store.add(der);
        }
    }
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
        CertificateError::UnknownRevocationStatus => x509_failure(3, "unable to get certificate CRL"),
        CertificateError::ExpiredRevocationList | CertificateError::ExpiredRevocationListContext { .. } => {
            x509_failure(12, "CRL has expired")
        }
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
pub(super) fn hostname_matches(pattern: &str, host: &str) -> bool {
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
pub(super) struct CurlVerifier {
    supported: WebPkiSupportedAlgorithms,
    /// Chain verification (None: verify_peer off, or no anchors at all).
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// Trust anchors (None: verify_peer off).
    trust: Option<Arc<TrustStore>>,
    verify_host: bool,
    /// CURLOPT_ISSUERCERT(_BLOB): the certificate that must have issued the server's.
    issuer: Option<IssuerCheck>,
    /// CURLOPT_SSL_SIGNATURE_ALGORITHMS: the schemes offered and accepted (None: all).
    schemes: Option<Vec<SignatureScheme>>,
}

#[derive(Debug)]
struct IssuerCheck {
    der: Vec<u8>,
    /// how libcurl names the source in its message: the path, or "(nil)" for a blob
    label: String,
    /// VERIFYPEER or VERIFYHOST on: libcurl words the failure differently
    strict: bool,
}

impl IssuerCheck {
    /// libcurl's X509_check_issued: the issuer's subject is the certificate's issuer and,
    /// when both carry them, the key identifiers agree.
    fn check(&self, ee: &[u8]) -> Result<(), TlsError> {
        let fail = || {
            let msg = if self.strict {
                format!("SSL: Certificate issuer check failed ({})", self.label)
            } else {
                "Issuer check against peer certificate failed".to_string()
            };
            TlsError::new(E_SSL_ISSUER_ERROR, msg)
        };
        let (Ok((_, issuer)), Ok((_, cert))) = (X509Certificate::from_der(&self.der), X509Certificate::from_der(ee))
        else {
            return Err(fail());
        };
        if issuer.tbs_certificate.subject.as_raw() != cert.tbs_certificate.issuer.as_raw() {
            return Err(fail());
        }
        let skid = issuer.extensions().iter().find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        });
        let akid = cert.extensions().iter().find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0.to_vec()),
            _ => None,
        });
        if let (Some(s), Some(a)) = (skid, akid) {
            if s != a {
                return Err(fail());
            }
        }
        Ok(())
    }
}

/// Load CURLOPT_ISSUERCERT / _BLOB (PEM only, as libcurl's OpenSSL backend reads it).
fn load_issuer(o: &TlsOptions) -> Result<Option<IssuerCheck>, TlsError> {
    let strict = o.verify_peer || o.verify_host;
    // The file wins when both are set, as with libcurl.
    let (data, label) = if let Some(path) = &o.issuer_cert {
        let label = path.display().to_string();
        match fs::read(path) {
            Ok(d) => (d, label),
            Err(_) => {
                let msg = if strict {
                    format!("SSL: Unable to open issuer cert ({label})")
                } else {
                    "Issuer check against peer certificate failed".to_string()
                };
                return Err(TlsError::new(E_SSL_ISSUER_ERROR, msg));
            }
        }
    } else if let Some(blob) = &o.issuer_blob {
        (blob.clone(), "(nil)".to_string())
    } else {
        return Ok(None);
    };
    match pem_certificates(&data).into_iter().next() {
        Some(der) => Ok(Some(IssuerCheck { der, label, strict })),
        None => {
            let msg = if strict {
                format!("SSL: Unable to read issuer cert ({label})")
            } else {
                "Issuer check against peer certificate failed".to_string()
            };
            Err(TlsError::new(E_SSL_ISSUER_ERROR, msg))
        }
    }
}

/// Load CURLOPT_CRLFILE: every "X509 CRL" PEM block; none at all is libcurl's 82.
fn load_crls(path: &std::path::Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bad = || TlsError::new(E_SSL_CRL_BADFILE, format!("error loading CRL file: {}", path.display()));
    let data = fs::read(path).map_err(|_| bad())?;
    let crls: Vec<_> = parse_pem(&data)
        .into_iter()
        .filter(|b| b.label == "X509 CRL")
        .map(|b| CertificateRevocationListDer::from(b.der))
        .collect();
    if crls.is_empty() {
        return Err(bad());
    }
    // A CRL webpki cannot parse is as unusable as an unreadable file.
    for c in &crls {
        if webpki::OwnedCertRevocationList::from_der(c.as_ref()).is_err() {
            return Err(bad());
        }
    }
    Ok(crls)
}

fn signature_scheme_error() -> rustls::Error {
    as_rustls_error(TlsError::new(
        E_SSL_CONNECT_ERROR,
        "TLS connect error: error:0A000172:SSL routines::wrong signature type",
    ))
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
        // webpki checks the name itself; when it accepted the certificate the name is done.
        let mut name_checked = false;
        if let Some(trust) = &self.trust {
            if trust.contains(end_entity.as_ref()) {
                // OpenSSL accepts a certificate that is itself in the trust store.
                check_validity(end_entity.as_ref(), now).map_err(as_rustls_error)?;
            } else {
                let Some(webpki) = &self.webpki else {
                    return Err(as_rustls_error(unknown_issuer_failure(end_entity.as_ref(), intermediates)));
                };
                match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
                    Ok(_) => name_checked = true,
                    // The chain was fine (webpki checks the name last); the name is judged
                    // below with libcurl's rules.
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                    )) => {}
                    // OpenSSL does not hold a CA flag against a leaf: it looks for a trusted
                    // issuer, and reports its absence as such.
                    Err(rustls::Error::InvalidCertificate(ce)) if is_ca_used_as_end_entity(&ce) => {
                        let ee = end_entity.as_ref();
                        if trust.signed_by_anchor(ee, self.supported.all) {
                            check_validity(ee, now).map_err(as_rustls_error)?;
                        } else if !trust.issuer_present(ee, intermediates) {
                            return Err(as_rustls_error(unknown_issuer_failure(ee, intermediates)));
                        } else {
                            let (_, disp, _) = server_name_parts(server_name);
                            return Err(as_rustls_error(certificate_failure(&ce, Some(ee), intermediates, &disp)));
                        }
                    }
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
        if self.verify_host && !name_checked {
            check_host(end_entity.as_ref(), server_name).map_err(as_rustls_error)?;
        }
        if let Some(issuer) = &self.issuer {
            issuer.check(end_entity.as_ref()).map_err(as_rustls_error)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.schemes.as_ref().is_some_and(|s| !s.contains(&dss.scheme)) {
            return Err(signature_scheme_error());
        }
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.supported).map_err(handshake_signature_error)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.schemes.as_ref().is_some_and(|s| !s.contains(&dss.scheme)) {
            return Err(signature_scheme_error());
        }
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.supported).map_err(handshake_signature_error)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let all = self.supported.supported_schemes();
        match &self.schemes {
            Some(wanted) => wanted.iter().copied().filter(|s| all.contains(s)).collect(),
            None => all,
        }
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

pub(super) fn build_verifier(o: &TlsOptions, provider: &Arc<CryptoProvider>) -> Result<Arc<CurlVerifier>, TlsError> {
    let supported = provider.signature_verification_algorithms;
    let schemes = select_sigalgs(o.sigalgs.as_deref())?;
    if let Some(s) = &schemes {
        let all = supported.supported_schemes();
        if !s.iter().any(|x| all.contains(x)) {
            return Err(TlsError::new(
                E_SSL_CONNECT_ERROR,
                "TLS connect error: error:0A000076:SSL routines::no suitable signature algorithm",
            ));
        }
    }
    let issuer = load_issuer(o)?;
    if !o.verify_peer {
        // libcurl does not even load CAINFO (or the CRLs) when peer verification is off.
        return Ok(Arc::new(CurlVerifier {
            supported,
            webpki: None,
            trust: None,
            verify_host: o.verify_host,
            issuer,
            schemes,
        }));
    }
    let trust = trust_store(o)?;
    let crls = match &o.crl_file {
        Some(p) => load_crls(p)?,
        None => Vec::new(),
    };
    let webpki = if trust.roots.is_empty() {
        None
    } else {
        let roots = Arc::new(trust.roots.clone());
        // With CRLs, every certificate of the chain below the anchor must have a verdict, as
        // OpenSSL's CRL_CHECK | CRL_CHECK_ALL (libcurl's choice) demands.
        Some(
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .with_crls(crls)
                .build()
                .map_err(|e| TlsError::new(E_SSL_CACERT_BADFILE, format!("error setting up trust anchors: {e}")))?,
        )
    };
    Ok(Arc::new(CurlVerifier { supported, webpki, trust: Some(trust), verify_host: o.verify_host, issuer, schemes }))
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
