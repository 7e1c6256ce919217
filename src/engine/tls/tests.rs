//! Handshakes over in-memory pipes against rustls servers, for every part of the TLS module.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, ProtocolVersion, RootCertStore, ServerConfig, ServerConnection,
    SupportedProtocolVersion,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use super::keys::*;
use super::pem::parse_pem;
use super::verifier::{hostname_matches, native_store};
use super::*;

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
    assert_eq!(e.message, "SSL: certificate subject name 'other.example' does not match target hostname 'localhost'");
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
    assert_eq!(suite(&with("ECDHE+AESGCM:-AES256:@STRENGTH")), CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    let e = client_config(&with("FOO-BAR")).unwrap_err();
    assert_eq!(e, TlsError::new(59, "failed setting cipher list: FOO-BAR"));
    let e = client_config(&with("ALL:!ECDHE")).unwrap_err();
    assert_eq!(e.code, 59);
    // no suite in common with an ECDSA server
    let e = connect(&with("ECDHE-RSA-AES128-GCM-SHA256"), server(&l), "localhost").unwrap_err();
    assert_eq!(e, TlsError::new(35, "TLS connect error: error:0A000410:SSL routines::ssl/tls alert handshake failure"));

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
    // DER files (SSLCERTTYPE / SSLKEYTYPE "DER"; under "PEM" libcurl refuses a DER certificate)
    let o = TlsOptions {
        cert: Some(temp_file("c.der", client.cert.der().as_ref())),
        key: Some(temp_file("k.der", client.key.serialize_der())),
        cert_type: Some("der".into()),
        key_type: Some("DER".into()),
        ..base.clone()
    };
    connect(&o, srv(), "localhost").expect("DER");
    let e = client_config(&TlsOptions { cert_type: None, ..o.clone() }).unwrap_err();
    assert_eq!(e.code, 58);
    assert!(e.message.contains("PEM routines::no start line"), "{}", e.message);
    // a PEM certificate under "DER"
    let pem_cert = temp_file("c2.pem", client.cert.pem());
    let e = client_config(&TlsOptions { cert: Some(pem_cert.clone()), ..o.clone() }).unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "could not load ASN1 client certificate from {}, OpenSSL error error:068000A8:asn1 \
             encoding routines::wrong tag, (no key found, wrong passphrase, or wrong file format?)",
            pem_cert.display()
        )
    );
    // a PEM key under "DER"
    let pem_key = temp_file("k2.pem", client.key.serialize_pem());
    let e = client_config(&TlsOptions { key: Some(pem_key.clone()), ..o.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(43, format!("unable to set private key file: '{}' type DER", pem_key.display())));
    // types libcurl has no use for here
    let e = client_config(&TlsOptions { cert_type: Some("xyz".into()), ..o.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(43, "not supported file type 'xyz' for certificate"));
    let e = client_config(&TlsOptions { key_type: Some("xyz".into()), ..o.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(43, "not supported file type for private key"));
    let e = client_config(&TlsOptions { key_type: Some("P12".into()), ..o.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(58, "file type P12 for private key not supported"));
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
    let e = client_config(&TlsOptions { cert: Some(PathBuf::from("/nonexistent.pem")), ..base.clone() }).unwrap_err();
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
    let e =
        client_config(&TlsOptions { cert: Some(cert.clone()), key_blob: Some(b"garbage".to_vec()), ..base.clone() })
            .unwrap_err();
    assert_eq!(e, TlsError::new(43, "unable to set private key file: '(memory blob)' type PEM"));
    // a key that does not belong to the certificate
    let other = temp_file("other.key", KeyPair::generate().unwrap().serialize_pem());
    let e =
        client_config(&TlsOptions { cert: Some(cert.clone()), key: Some(other.clone()), ..base.clone() }).unwrap_err();
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
    for pem in [KEY_PBES2_AES256_SHA256, KEY_PBES2_AES128_SHA1, KEY_LEGACY_AES192, KEY_LEGACY_DES3] {
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
    // PKCS#12-style PBES1 is not something the RustCrypto crates decrypt.
    let e = client_config(&with_key(KEY_PBES1_3DES, Some("s3cret"))).unwrap_err();
    assert_eq!(e.code, E_SSL_CERTPROBLEM);
    assert!(
        e.message.contains("unsupported key encryption (PKCS#8 scheme pbeWithSHA1And3-KeyTripleDES-CBC)"),
        "{}",
        e.message
    );
    // the decrypted PKCS#8 is exactly the plain one
    let plain = parse_pem(KEY_PLAIN_PKCS8.as_bytes()).remove(0).der;
    let enc = parse_pem(KEY_PBES2_AES256_SHA256.as_bytes()).remove(0).der;
    assert!(decrypt_pkcs8(&enc, b"s3cret").ok() == Some(plain));
    let sec1 = parse_pem(KEY_SEC1.as_bytes()).remove(0).der;
    let legacy = parse_pem(KEY_LEGACY_AES192.as_bytes()).remove(0);
    assert!(decrypt_legacy_pem(&legacy.der, legacy.header("DEK-Info").unwrap(), b"s3cret").ok() == Some(sec1));
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
    assert_eq!(e, TlsError::new(35, "TLS connect error: error:0A000410:SSL routines::ssl/tls alert handshake failure"));
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
fn session_cache_option_turns_resumption_off() {
    use rustls::HandshakeKind::{Full, Resumed};
    let ca = make_ca("Resume CA");
    let l = leaf(&ca, &["localhost"]);
    for versions in [&[&rustls::version::TLS13][..], &[&rustls::version::TLS12][..]] {
        let srv = server_with(vec![l.cert.der().clone()], &l.key, versions, None);
        let on = opts_with_ca(&ca.cert.pem());
        let cfg = client_config(&on).unwrap();
        let kinds: Vec<_> =
            (0..3).map(|_| handshake(cfg.clone(), srv.clone(), "localhost").unwrap().handshake_kind()).collect();
        assert_eq!(kinds, [Some(Full), Some(Resumed), Some(Resumed)], "{versions:?}");
        let off = TlsOptions { session_cache: false, ..on };
        let cfg = client_config(&off).unwrap();
        let kinds: Vec<_> =
            (0..3).map(|_| handshake(cfg.clone(), srv.clone(), "localhost").unwrap().handshake_kind()).collect();
        assert_eq!(kinds, [Some(Full), Some(Full), Some(Full)], "{versions:?}");
    }
}

// ---- SSL_OPTIONS, CRLFILE, ISSUERCERT, curves, signature algorithms ------------------

fn crl_pem(ca: &Ca, revoked: &[u64]) -> String {
    let params = rcgen::CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2020, 1, 1),
        next_update: rcgen::date_time_ymd(2099, 1, 1),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from(*s),
                revocation_time: rcgen::date_time_ymd(2021, 1, 1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    params.signed_by(&ca.cert, &ca.key).unwrap().pem().unwrap()
}

fn leaf_with_serial(ca: &Ca, serial: u64) -> Leaf {
    let mut p = leaf_params(&["localhost"], Some("localhost"));
    p.serial_number = Some(rcgen::SerialNumber::from(serial));
    issue(ca, p)
}

#[test]
fn crl_file_revokes_the_server_certificate() {
    let ca = make_ca("CRL CA");
    let l = leaf_with_serial(&ca, 4242);
    let base = opts_with_ca(&ca.cert.pem());
    let revoked = TlsOptions { crl_file: Some(temp_file("rev.pem", crl_pem(&ca, &[4242]))), ..base.clone() };
    let e = connect(&revoked, server(&l), "localhost").unwrap_err();
    assert_eq!(e, TlsError::new(60, verify_msg("certificate revoked", 23)));
    assert_eq!(ssl_verify_result(&e), 23);
    let fine = TlsOptions { crl_file: Some(temp_file("ok.pem", crl_pem(&ca, &[7]))), ..base.clone() };
    connect(&fine, server(&l), "localhost").expect("not revoked");
    // a CRL from another CA says nothing about this certificate: OpenSSL's verdict
    let other = make_ca("Other CRL CA");
    let unknown = TlsOptions { crl_file: Some(temp_file("other.pem", crl_pem(&other, &[4242]))), ..base.clone() };
    let e = connect(&unknown, server(&l), "localhost").unwrap_err();
    assert_eq!(e, TlsError::new(60, verify_msg("unable to get certificate CRL", 3)));
    // peer verification off: the CRL is not consulted (nor even read)
    let off = TlsOptions { verify_peer: false, crl_file: Some(PathBuf::from("/nonexistent")), ..base.clone() };
    connect(&off, server(&l), "localhost").expect("verify_peer off");
    // unreadable, DER or junk files: 82
    for (what, path) in [
        ("missing", PathBuf::from("/nonexistent.crl")),
        ("junk", temp_file("junk.pem", "junk\n")),
        ("certificate", temp_file("cert.pem", ca.cert.pem())),
    ] {
        let o = TlsOptions { crl_file: Some(path.clone()), ..base.clone() };
        let e = client_config(&o).unwrap_err();
        assert_eq!(e, TlsError::new(82, format!("error loading CRL file: {}", path.display())), "{what}");
    }
}

#[test]
fn issuer_cert_must_have_issued_the_server_certificate() {
    let ca = make_ca("Issuer CA");
    let other = make_ca("Not the issuer");
    let l = leaf(&ca, &["localhost"]);
    let base = opts_with_ca(&ca.cert.pem());
    let good = TlsOptions { issuer_cert: Some(temp_file("iss.pem", ca.cert.pem())), ..base.clone() };
    connect(&good, server(&l), "localhost").expect("right issuer");
    let blob = TlsOptions { issuer_blob: Some(ca.cert.pem().into_bytes()), ..base.clone() };
    connect(&blob, server(&l), "localhost").expect("right issuer blob");
    let wrong_path = temp_file("wrong.pem", other.cert.pem());
    let wrong = TlsOptions { issuer_cert: Some(wrong_path.clone()), ..base.clone() };
    let e = connect(&wrong, server(&l), "localhost").unwrap_err();
    assert_eq!(e, TlsError::new(83, format!("SSL: Certificate issuer check failed ({})", wrong_path.display())));
    assert_eq!(ssl_verify_result(&e), 0);
    let e = connect(
        &TlsOptions { issuer_blob: Some(other.cert.pem().into_bytes()), ..base.clone() },
        server(&l),
        "localhost",
    )
    .unwrap_err();
    assert_eq!(e, TlsError::new(83, "SSL: Certificate issuer check failed ((nil))"));
    // checked even without peer verification; worded differently with both checks off
    let e = connect(&TlsOptions { verify_peer: false, ..wrong.clone() }, server(&l), "localhost").unwrap_err();
    assert_eq!(e.code, 83);
    let e = connect(&TlsOptions { verify_peer: false, verify_host: false, ..wrong.clone() }, server(&l), "localhost")
        .unwrap_err();
    assert_eq!(e, TlsError::new(83, "Issuer check against peer certificate failed"));
    // unreadable / not PEM
    let e =
        client_config(&TlsOptions { issuer_cert: Some(PathBuf::from("/nonexistent")), ..base.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(83, "SSL: Unable to open issuer cert (/nonexistent)"));
    let junk = temp_file("junk.pem", "junk");
    let e = client_config(&TlsOptions { issuer_cert: Some(junk.clone()), ..base.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(83, format!("SSL: Unable to read issuer cert ({})", junk.display())));
    let e = client_config(&TlsOptions { issuer_blob: Some(ca.cert.der().to_vec()), ..base.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(83, "SSL: Unable to read issuer cert ((nil))"));
}

#[test]
fn no_partialchain_needs_a_self_signed_anchor() {
    let ca = make_ca("Partial CA");
    let l = leaf(&ca, &["localhost"]);
    // the leaf itself as the only anchor: a partial chain OpenSSL accepts by default
    let o = opts_with_ca(&l.cert.pem());
    connect(&o, server(&l), "localhost").expect("partial chain");
    let strict = TlsOptions { ssl_options: SSLOPT_NO_PARTIALCHAIN, ..o.clone() };
    let e = connect(&strict, server(&l), "localhost").unwrap_err();
    assert_eq!(e, TlsError::new(60, verify_msg("unable to get local issuer certificate", 20)));
    // with the real root it still works
    let root = TlsOptions { ssl_options: SSLOPT_NO_PARTIALCHAIN, ..opts_with_ca(&ca.cert.pem()) };
    connect(&root, server(&l), "localhost").expect("full chain");
    // the no-op flags change nothing
    let noop =
        SSLOPT_ALLOW_BEAST | SSLOPT_NO_REVOKE | SSLOPT_REVOKE_BEST_EFFORT | SSLOPT_AUTO_CLIENT_CERT | SSLOPT_EARLYDATA;
    connect(&TlsOptions { ssl_options: noop, ..opts_with_ca(&ca.cert.pem()) }, server(&l), "localhost")
        .expect("no-ops");
}

#[test]
fn ec_curves_choose_the_key_exchange_group() {
    let ca = make_ca("Curve CA");
    let l = leaf(&ca, &["localhost"]);
    let base = opts_with_ca(&ca.cert.pem());
    // a server that only speaks P-384
    let only_p384 = || {
        let mut p = rustls::crypto::ring::default_provider();
        p.kx_groups = vec![rustls::crypto::ring::kx_group::SECP384R1];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(l.key.serialize_der()));
        Arc::new(
            ServerConfig::builder_with_provider(Arc::new(p))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![l.cert.der().clone()], key)
                .unwrap(),
        )
    };
    let c = connect(&TlsOptions { ec_curves: Some("secp384r1".into()), ..base.clone() }, only_p384(), "localhost")
        .expect("P-384");
    assert_eq!(c.negotiated_key_exchange_group().map(|g| g.name()), Some(rustls::NamedGroup::secp384r1));
    let e = connect(&TlsOptions { ec_curves: Some("X25519:P-256".into()), ..base.clone() }, only_p384(), "localhost")
        .unwrap_err();
    assert_eq!(e.code, 35);
    let e = client_config(&TlsOptions { ec_curves: Some("bogus".into()), ..base.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(59, "failed setting curves list: 'bogus'"));
}

#[test]
fn signature_algorithms_limit_what_the_server_may_sign_with() {
    let ca = make_ca("Sigalg CA");
    let l = leaf(&ca, &["localhost"]); // rcgen's default key: ECDSA P-256
    let base = opts_with_ca(&ca.cert.pem());
    connect(&TlsOptions { sigalgs: Some("ECDSA+SHA256".into()), ..base.clone() }, server(&l), "localhost")
        .expect("ecdsa allowed");
    let e =
        connect(&TlsOptions { sigalgs: Some("rsa_pss_rsae_sha256".into()), ..base.clone() }, server(&l), "localhost")
            .unwrap_err();
    assert_eq!(e.code, 35);
    let e = client_config(&TlsOptions { sigalgs: Some("bogus".into()), ..base.clone() }).unwrap_err();
    assert_eq!(e, TlsError::new(59, "failed setting signature algorithms: 'bogus'"));
}
