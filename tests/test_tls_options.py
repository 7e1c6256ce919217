"""TLS options beyond the basics, against the loopback TLS servers: SSL_OPTIONS, CRLFILE,
ISSUERCERT(_BLOB), SSL_EC_CURVES, SSL_SIGNATURE_ALGORITHMS, SSLCERTTYPE / SSLKEYTYPE (DER,
P12).  Expected codes and messages are what real pycurl (libcurl 8 + OpenSSL) reports."""

import datetime

import pytest

import pycurl

from helpers import IS_RS, handshake, perform, perform_error


def _load_cert(path):
    from cryptography import x509
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def _load_key(path):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    with open(path, "rb") as f:
        return load_pem_private_key(f.read(), None)


@pytest.fixture(scope="module")
def extra(certs, tmp_path_factory):
    """CRLs, DER and PKCS#12 forms of the test certificates, made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    d = tmp_path_factory.mktemp("tlsopts")
    ca, ca_key = _load_cert(certs.ca_pem), _load_key(certs.ca_key)
    server = _load_cert(certs.server_cert)
    now = datetime.datetime.now(datetime.timezone.utc)

    def crl(name, serials, issuer=ca, key=ca_key, encoding=serialization.Encoding.PEM,
            extensions=True):
        b = (x509.CertificateRevocationListBuilder().issuer_name(issuer.subject)
             .last_update(now - datetime.timedelta(days=1))
             .next_update(now + datetime.timedelta(days=30)))
        if extensions:
            # the CRL number and authority key id RFC 5280 requires of a CRL issuer
            b = (b.add_extension(x509.CRLNumber(1), critical=False)
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                     key.public_key()), critical=False))
        for s in serials:
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(s)
                .revocation_date(now - datetime.timedelta(hours=1)).build())
        p = d / name
        p.write_bytes(b.sign(key, hashes.SHA256()).public_bytes(encoding))
        return str(p)

    class X:
        pass

    x = X()
    x.crl_revoked = crl("revoked.pem", [server.serial_number])
    x.crl_clean = crl("clean.pem", [12345])
    x.crl_der = crl("revoked.der", [server.serial_number], encoding=serialization.Encoding.DER)
    x.crl_bare = crl("bare.pem", [server.serial_number], extensions=False)
    junk = d / "junk.pem"
    junk.write_text("junk\n")
    x.junk = str(junk)
    client, client_key = _load_cert(certs.client_cert), _load_key(certs.client_key)
    x.client_der = str(d / "client.der")
    (d / "client.der").write_bytes(client.public_bytes(serialization.Encoding.DER))
    x.client_key_der = str(d / "client.key.der")
    (d / "client.key.der").write_bytes(client_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    x.p12_bytes = pkcs12.serialize_key_and_certificates(
        b"client", client_key, client, None, serialization.BestAvailableEncryption(b"secret"))
    x.p12 = str(d / "client.p12")
    (d / "client.p12").write_bytes(x.p12_bytes)
    return x


def https(curl, srv, certs, **opts):
    opts.setdefault("CAINFO", certs.ca_pem)
    return perform(curl, srv.url("/hello"), **opts)


def https_error(curl, srv, certs, **opts):
    opts.setdefault("CAINFO", certs.ca_pem)
    return perform_error(curl, srv.url("/hello"), **opts)


# ---- SSL_OPTIONS ----------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["ALLOW_BEAST", "NO_REVOKE", "NO_PARTIALCHAIN", "REVOKE_BEST_EFFORT",
                                  "NATIVE_CA", "AUTO_CLIENT_CERT", "EARLYDATA"])
def test_ssl_options_each_flag_keeps_a_valid_chain_working(tls_server, certs, curl, flag):
    body, _ = https(curl, tls_server, certs, SSL_OPTIONS=getattr(pycurl, "SSLOPT_" + flag))
    assert body == b"hello world"


def test_ssl_options_accepts_any_long(curl):
    for v in (0, 127, 1 << 20, -1):
        assert curl.setopt(pycurl.SSL_OPTIONS, v) is None
    with pytest.raises(TypeError):
        curl.setopt(pycurl.SSL_OPTIONS, None)


def test_partial_chain_accepted_unless_no_partialchain(tls_server, certs, curl):
    # the (CA-signed) server certificate itself as the only trust anchor
    body, _ = https(curl, tls_server, certs, CAINFO=certs.server_cert)
    assert body == b"hello world"
    assert https_error(curl, tls_server, certs, CAINFO=certs.server_cert,
                       SSL_OPTIONS=pycurl.SSLOPT_NO_PARTIALCHAIN) == (
        60, "SSL certificate OpenSSL verify result: unable to get local issuer certificate (20)")
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) == 20


def test_native_ca_adds_to_cainfo_and_alone_does_not_trust_the_test_ca(tls_server, certs, curl):
    body, _ = https(curl, tls_server, certs, SSL_OPTIONS=pycurl.SSLOPT_NATIVE_CA)
    assert body == b"hello world"
    curl.reset()
    code, _ = perform_error(curl, tls_server.url("/hello"), SSL_OPTIONS=pycurl.SSLOPT_NATIVE_CA)
    assert code == 60


# ---- CRLFILE -----------------------------------------------------------------------------

def test_crlfile_revoked_server_certificate(tls_server, certs, extra, curl):
    assert https_error(curl, tls_server, certs, CRLFILE=extra.crl_revoked) == (
        60, "SSL certificate OpenSSL verify result: certificate revoked (23)")
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) == 23


def test_crlfile_without_crl_extensions(tls_server, certs, extra, curl):
    if IS_RS:
        # webpki only reads CRLs with the extensions RFC 5280 requires (see differences.md)
        assert https_error(curl, tls_server, certs, CRLFILE=extra.crl_bare) == (
            82, f"error loading CRL file: {extra.crl_bare}")
    else:
        assert https_error(curl, tls_server, certs, CRLFILE=extra.crl_bare) == (
            60, "SSL certificate OpenSSL verify result: certificate revoked (23)")


def test_crlfile_not_listing_the_server_passes(tls_server, certs, extra, curl):
    body, _ = https(curl, tls_server, certs, CRLFILE=extra.crl_clean)
    assert body == b"hello world"
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) == 0


def test_crlfile_revocation_flags_do_not_soften_it(tls_server, certs, extra, curl):
    for flag in (pycurl.SSLOPT_NO_REVOKE, pycurl.SSLOPT_REVOKE_BEST_EFFORT):
        code, _ = https_error(curl, tls_server, certs, CRLFILE=extra.crl_revoked, SSL_OPTIONS=flag)
        assert code == 60


def test_crlfile_ignored_without_peer_verification(tls_server, certs, extra, curl):
    body, _ = https(curl, tls_server, certs, CRLFILE=extra.crl_revoked, SSL_VERIFYPEER=0)
    assert body == b"hello world"


@pytest.mark.parametrize("which", ["missing", "junk", "der"])
def test_crlfile_unusable(tls_server, certs, extra, curl, which):
    path = {"missing": "/nonexistent/crl.pem", "junk": extra.junk, "der": extra.crl_der}[which]
    assert https_error(curl, tls_server, certs, CRLFILE=path) == (
        82, f"error loading CRL file: {path}")


def test_crlfile_cannot_be_unset(curl):
    with pytest.raises(TypeError, match="unsetopt"):
        curl.setopt(pycurl.CRLFILE, None)


# ---- ISSUERCERT ----------------------------------------------------------------------------

def test_issuercert_matching(tls_server, certs, curl):
    body, _ = https(curl, tls_server, certs, ISSUERCERT=certs.ca_pem)
    assert body == b"hello world"


def test_issuercert_blob_matching(tls_server, certs, curl):
    with open(certs.ca_pem, "rb") as f:
        body, _ = https(curl, tls_server, certs, ISSUERCERT_BLOB=f.read())
    assert body == b"hello world"


def test_issuercert_wrong_issuer(tls_server, certs, curl):
    assert https_error(curl, tls_server, certs, ISSUERCERT=certs.other_ca_pem) == (
        83, f"SSL: Certificate issuer check failed ({certs.other_ca_pem})")
    # The chain itself verified: libcurl's verify result stays 0.
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) == 0


def test_issuercert_blob_wrong_issuer(tls_server, certs, curl):
    with open(certs.other_ca_pem, "rb") as f:
        assert https_error(curl, tls_server, certs, ISSUERCERT_BLOB=f.read()) == (
            83, "SSL: Certificate issuer check failed ((nil))")


def test_issuercert_checked_without_verification(tls_server, certs, curl):
    code, msg = https_error(curl, tls_server, certs, ISSUERCERT=certs.other_ca_pem,
                            SSL_VERIFYPEER=0)
    assert (code, msg) == (83, f"SSL: Certificate issuer check failed ({certs.other_ca_pem})")
    assert https_error(curl, tls_server, certs, ISSUERCERT=certs.other_ca_pem,
                       SSL_VERIFYPEER=0, SSL_VERIFYHOST=0) == (
        83, "Issuer check against peer certificate failed")


def test_issuercert_unreadable(tls_server, certs, extra, curl):
    assert https_error(curl, tls_server, certs, ISSUERCERT="/nonexistent/issuer.pem") == (
        83, "SSL: Unable to open issuer cert (/nonexistent/issuer.pem)")
    assert https_error(curl, tls_server, certs, ISSUERCERT=extra.junk) == (
        83, f"SSL: Unable to read issuer cert ({extra.junk})")
    # with both set, the file is the one used
    assert https_error(curl, tls_server, certs, ISSUERCERT_BLOB=certs.ca_cert_der) == (
        83, f"SSL: Unable to read issuer cert ({extra.junk})")
    curl.reset()
    assert https_error(curl, tls_server, certs, ISSUERCERT_BLOB=certs.ca_cert_der) == (
        83, "SSL: Unable to read issuer cert ((nil))")


def test_issuercert_unset(tls_server, certs, curl):
    with pytest.raises(TypeError, match="unsetopt"):
        curl.setopt(pycurl.ISSUERCERT, None)
    curl.setopt(pycurl.ISSUERCERT_BLOB, b"junk")
    curl.setopt(pycurl.ISSUERCERT_BLOB, None)
    body, _ = https(curl, tls_server, certs)
    assert body == b"hello world"


# ---- SSL_EC_CURVES / SSL_SIGNATURE_ALGORITHMS --------------------------------------------

@pytest.mark.parametrize("curves", ["X25519:P-256", "P-384", "prime256v1", "secp384r1", "x25519"])
def test_ec_curves_known_names(tls_server, certs, curl, curves):
    body, _ = https(curl, tls_server, certs, SSL_EC_CURVES=curves)
    assert body == b"hello world"


@pytest.mark.parametrize("curves", ["bogus", "X25519:bogus"])
def test_ec_curves_unknown_name(tls_server, certs, curl, curves):
    assert https_error(curl, tls_server, certs, SSL_EC_CURVES=curves) == (
        59, f"failed setting curves list: '{curves}'")


def test_ec_curves_empty_list(tls_server, certs, curl):
    assert https_error(curl, tls_server, certs, SSL_EC_CURVES="") == (
        35, "TLS connect error: error:0A000127:SSL routines::no suitable groups")


def test_ec_curves_unset_restores_default(tls_server, certs, curl):
    curl.setopt(pycurl.SSL_EC_CURVES, "bogus")
    curl.setopt(pycurl.SSL_EC_CURVES, None)
    body, _ = https(curl, tls_server, certs)
    assert body == b"hello world"


@pytest.mark.parametrize("algs", ["rsa_pss_rsae_sha256:ECDSA+SHA256", "RSA-PSS+SHA256"])
def test_signature_algorithms_usable_with_the_rsa_server(tls_server, certs, curl, algs):
    body, _ = https(curl, tls_server, certs, SSL_SIGNATURE_ALGORITHMS=algs)
    assert body == b"hello world"


def test_signature_algorithms_the_server_cannot_use(tls_server, certs, curl):
    # the server's key is RSA: an ECDSA-only list leaves it nothing to sign with
    code, _ = https_error(curl, tls_server, certs, SSL_SIGNATURE_ALGORITHMS="ECDSA+SHA256")
    assert code == 35


@pytest.mark.parametrize("algs", ["bogus", ""])
def test_signature_algorithms_bad_list(tls_server, certs, curl, algs):
    assert https_error(curl, tls_server, certs, SSL_SIGNATURE_ALGORITHMS=algs) == (
        59, f"failed setting signature algorithms: '{algs}'")


# ---- SSLCERTTYPE / SSLKEYTYPE ----------------------------------------------------------------

def client(curl, srv, certs, **opts):
    opts.setdefault("CAINFO", certs.ca_pem)
    return perform(curl, srv.url("/hello"), **opts)


def client_error(curl, srv, certs, **opts):
    opts.setdefault("CAINFO", certs.ca_pem)
    return perform_error(curl, srv.url("/hello"), **opts)


def test_der_certificate_and_key(client_auth_server, certs, extra, curl):
    body, _ = client(curl, client_auth_server, certs, SSLCERT=extra.client_der, SSLCERTTYPE="DER",
                     SSLKEY=extra.client_key_der, SSLKEYTYPE="DER")
    assert body == b"hello world"
    assert handshake(client_auth_server, curl)["peer_cert"] == certs.client_cert_der


def test_der_type_with_pem_certificate(client_auth_server, certs, curl):
    assert client_error(curl, client_auth_server, certs, SSLCERT=certs.client_cert,
                        SSLKEY=certs.client_key, SSLCERTTYPE="DER") == (
        58, f"could not load ASN1 client certificate from {certs.client_cert}, OpenSSL error "
            "error:068000A8:asn1 encoding routines::wrong tag, (no key found, wrong passphrase, "
            "or wrong file format?)")


def test_pem_type_with_der_certificate(client_auth_server, certs, extra, curl):
    assert client_error(curl, client_auth_server, certs, SSLCERT=extra.client_der,
                        SSLKEY=certs.client_key) == (
        58, f"could not load PEM client certificate from {extra.client_der}, OpenSSL error "
            "error:0480006C:PEM routines::no start line, (no key found, wrong passphrase, "
            "or wrong file format?)")


def test_der_key_type_with_pem_key(client_auth_server, certs, curl):
    assert client_error(curl, client_auth_server, certs, SSLCERT=certs.client_cert,
                        SSLKEY=certs.client_key, SSLKEYTYPE="DER") == (
        43, f"unable to set private key file: '{certs.client_key}' type DER")


def test_unknown_types(client_auth_server, certs, curl):
    assert client_error(curl, client_auth_server, certs, SSLCERT=certs.client_cert,
                        SSLKEY=certs.client_key, SSLCERTTYPE="xyz") == (
        43, "not supported file type 'xyz' for certificate")
    curl.setopt(pycurl.SSLCERTTYPE, "PEM")
    assert client_error(curl, client_auth_server, certs, SSLKEYTYPE="xyz") == (
        43, "not supported file type for private key")
    assert client_error(curl, client_auth_server, certs, SSLKEYTYPE="P12") == (
        58, "file type P12 for private key not supported")


def test_eng_type(client_auth_server, certs, curl):
    if IS_RS:
        # no OpenSSL crypto engines here: refused when set
        for opt in (pycurl.SSLCERTTYPE, pycurl.SSLKEYTYPE):
            with pytest.raises(pycurl.error) as ei:
                curl.setopt(opt, "ENG")
            assert ei.value.args == (pycurl.E_NOT_BUILT_IN, pycurl.easy_strerror(4))
    else:
        assert client_error(curl, client_auth_server, certs, SSLCERT=certs.client_cert,
                            SSLKEY=certs.client_key, SSLCERTTYPE="ENG") == (
            58, "crypto engine not set, cannot load certificate")


def test_types_cannot_be_unset(curl):
    for opt in (pycurl.SSLCERTTYPE, pycurl.SSLKEYTYPE):
        with pytest.raises(TypeError, match="unsetopt"):
            curl.setopt(opt, None)


@pytest.mark.parametrize("type_", ["P12", "p12"])
def test_p12_file(client_auth_server, certs, extra, curl, type_):
    body, _ = client(curl, client_auth_server, certs, SSLCERT=extra.p12, SSLCERTTYPE=type_,
                     KEYPASSWD="secret")
    assert body == b"hello world"
    assert handshake(client_auth_server, curl)["peer_cert"] == certs.client_cert_der


def test_p12_blob(client_auth_server, certs, extra, curl):
    body, _ = client(curl, client_auth_server, certs, SSLCERT_BLOB=extra.p12_bytes,
                     SSLCERTTYPE="P12", KEYPASSWD="secret")
    assert body == b"hello world"


@pytest.mark.parametrize("pw", ["nope", None])
def test_p12_wrong_password(client_auth_server, certs, extra, curl, pw):
    opts = dict(SSLCERT=extra.p12, SSLCERTTYPE="P12")
    if pw is not None:
        opts["KEYPASSWD"] = pw
    assert client_error(curl, client_auth_server, certs, **opts) == (
        58, "could not parse PKCS12 file, check password, OpenSSL error "
            "error:11800071:PKCS12 routines::mac verify failure")


def test_p12_missing_and_not_p12(client_auth_server, certs, curl):
    assert client_error(curl, client_auth_server, certs, SSLCERT="/nonexistent.p12",
                        SSLCERTTYPE="P12", KEYPASSWD="secret") == (
        58, "could not open PKCS12 file '/nonexistent.p12'")
    assert client_error(curl, client_auth_server, certs, SSLCERT=certs.client_combined,
                        SSLCERTTYPE="P12", KEYPASSWD="secret") == (
        58, f"error reading PKCS12 file '{certs.client_combined}'")
