"""HTTPS against the loopback TLS servers with generated certificates."""


import pytest

import pycurl

from helpers import handshake, perform, perform_error


def localhost(srv):
    """URL of /hello by DNS name, pinned to 127.0.0.1 with RESOLVE."""
    return srv.url("/hello", host="localhost"), [f"localhost:{srv.port}:127.0.0.1"]


def test_https_with_ca(tls_server, certs, curl):
    body, headers = perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem)
    assert body == b"hello world"
    assert headers[0] == b"HTTP/1.1 200 OK\r\n"
    assert curl.getinfo(pycurl.SCHEME) == "https"
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) == 0
    assert curl.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_1_1
    assert curl.getinfo(pycurl.APPCONNECT_TIME_T) >= curl.getinfo(pycurl.CONNECT_TIME_T) > 0
    assert curl.getinfo(pycurl.PRETRANSFER_TIME_T) >= curl.getinfo(pycurl.APPCONNECT_TIME_T)
    info = handshake(tls_server, curl)
    assert info["alpn"] == "http/1.1"
    assert info["version"] == "TLSv1.3"
    # no SNI for an IP literal
    assert info["sni"] is None


def test_https_by_name_sends_sni(tls_server, certs, curl):
    url, resolve = localhost(tls_server)
    body, _ = perform(curl, url, CAINFO=certs.ca_pem, RESOLVE=resolve)
    assert body == b"hello world"
    assert handshake(tls_server, curl)["sni"] == "localhost"
    assert tls_server.last_request().header("Host") == f"localhost:{tls_server.port}"


def test_cainfo_blob(tls_server, certs, curl):
    with open(certs.ca_pem, "rb") as f:
        blob = f.read()
    body, _ = perform(curl, tls_server.url("/hello"), CAINFO_BLOB=blob)
    assert body == b"hello world"


def test_set_ca_certs(tls_server, certs, curl):
    with open(certs.ca_pem) as f:
        curl.set_ca_certs(f.read())
    body, _ = perform(curl, tls_server.url("/hello"))
    assert body == b"hello world"


def test_https_keepalive(tls_server, certs, curl):
    ports = set()
    for _ in range(3):
        body, _ = perform(curl, tls_server.url("/bytes?n=2000"), CAINFO=certs.ca_pem)
        assert len(body) == 2000
        ports.add(curl.getinfo(pycurl.LOCAL_PORT))
    assert len(ports) == 1
    assert len(tls_server.handshakes(ports.pop())) == 1
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 0


def test_https_big_body_and_upload(tls_server, certs, curl):
    body, _ = perform(curl, tls_server.url("/big?mb=4"), CAINFO=certs.ca_pem)
    assert len(body) == 4 * 1024 * 1024
    data = b"u" * 300_000
    body, _ = perform(curl, tls_server.url("/echo"), CAINFO=certs.ca_pem, POSTFIELDS=data)
    assert body == b"POST\n" + data


def ssl_cert_problem(msg, reason):
    # libcurl's OpenSSL build says "SSL certificate OpenSSL verify result:
    # <reason> (<code>)"; the reason phrase is what matters
    return msg.startswith("SSL certificate ") and reason in msg


def test_unknown_ca_default_bundle(tls_server, curl):
    code, msg = perform_error(curl, tls_server.url("/hello"))
    assert code == pycurl.E_PEER_FAILED_VERIFICATION == 60
    assert ssl_cert_problem(msg, "unable to get local issuer certificate"), msg
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) != 0


def test_unknown_ca_other_cainfo(tls_server, certs, curl):
    code, msg = perform_error(curl, tls_server.url("/hello"), CAINFO=certs.other_ca_pem)
    assert code == 60
    assert ssl_cert_problem(msg, "unable to get local issuer certificate"), msg


def test_verifypeer_off(tls_server, certs, curl):
    body, _ = perform(curl, tls_server.url("/hello"), CAINFO=certs.other_ca_pem,
                      SSL_VERIFYPEER=0)
    assert body == b"hello world"


def test_self_signed_not_trusted(tls_servers, certs, curl):
    code, msg = perform_error(curl, tls_servers["selfsigned"].url("/hello"), CAINFO=certs.ca_pem)
    assert code == 60
    assert ssl_cert_problem(msg, "self-signed certificate"), msg


def test_self_signed_leaf_in_cainfo_accepted(tls_servers, certs, curl):
    body, _ = perform(curl, tls_servers["selfsigned"].url("/hello"),
                      CAINFO=certs.selfsigned_cert)
    assert body == b"hello world"
    url, resolve = localhost(tls_servers["selfsigned"])
    body, _ = perform(curl, url, CAINFO=certs.selfsigned_cert, RESOLVE=resolve)
    assert body == b"hello world"


def test_expired(tls_servers, certs, curl):
    code, msg = perform_error(curl, tls_servers["expired"].url("/hello"), CAINFO=certs.ca_pem)
    assert code == 60
    assert ssl_cert_problem(msg, "certificate has expired"), msg


def test_expired_accepted_without_verifypeer(tls_servers, certs, curl):
    body, _ = perform(curl, tls_servers["expired"].url("/hello"), CAINFO=certs.ca_pem,
                      SSL_VERIFYPEER=0)
    assert body == b"hello world"


def test_wrong_name_ip(tls_servers, certs, curl):
    code, msg = perform_error(curl, tls_servers["wrongname"].url("/hello"), CAINFO=certs.ca_pem)
    assert (code, msg) == (60, "SSL: no alternative certificate subject name matches target"
                               " IPv4 address '127.0.0.1'")


def test_wrong_name_host(tls_servers, certs, curl):
    url, resolve = localhost(tls_servers["wrongname"])
    code, msg = perform_error(curl, url, CAINFO=certs.ca_pem, RESOLVE=resolve)
    assert (code, msg) == (60, "SSL: no alternative certificate subject name matches target"
                               " hostname 'localhost'")


def test_verifyhost_off_accepts_wrong_name(tls_servers, certs, curl):
    url, resolve = localhost(tls_servers["wrongname"])
    body, _ = perform(curl, url, CAINFO=certs.ca_pem, RESOLVE=resolve, SSL_VERIFYHOST=0)
    assert body == b"hello world"


def test_verifypeer_off_still_checks_host(tls_servers, certs, curl):
    url, resolve = localhost(tls_servers["wrongname"])
    code, msg = perform_error(curl, url, CAINFO=certs.ca_pem, RESOLVE=resolve, SSL_VERIFYPEER=0)
    assert (code, msg) == (60, "SSL: no alternative certificate subject name matches target"
                               " hostname 'localhost'")


def test_wrong_name_leaf_valid_for_its_name(tls_servers, certs, curl):
    srv = tls_servers["wrongname"]
    body, _ = perform(curl, srv.url("/hello", host="wrong.example"), CAINFO=certs.ca_pem,
                      RESOLVE=[f"wrong.example:{srv.port}:127.0.0.1"])
    assert body == b"hello world"
    assert handshake(srv, curl)["sni"] == "wrong.example"


def test_both_checks_off(tls_servers, curl):
    url, resolve = localhost(tls_servers["wrongname"])
    body, _ = perform(curl, url, RESOLVE=resolve, SSL_VERIFYPEER=0, SSL_VERIFYHOST=0)
    assert body == b"hello world"


def test_missing_cainfo_file(tls_server, curl):
    code, msg = perform_error(curl, tls_server.url("/hello"), CAINFO="/nonexistent/ca.pem")
    assert code == pycurl.E_SSL_CACERT_BADFILE == 77
    assert "/nonexistent/ca.pem" in msg


def test_client_cert(client_auth_server, certs, curl):
    body, _ = perform(curl, client_auth_server.url("/hello"), CAINFO=certs.ca_pem,
                      SSLCERT=certs.client_cert, SSLKEY=certs.client_key)
    assert body == b"hello world"
    assert handshake(client_auth_server, curl)["peer_cert"] == certs.client_cert_der


def test_client_cert_and_key_in_one_file(client_auth_server, certs, curl):
    body, _ = perform(curl, client_auth_server.url("/hello"), CAINFO=certs.ca_pem,
                      SSLCERT=certs.client_combined)
    assert body == b"hello world"


def test_client_cert_required_but_missing(client_auth_server, certs, curl):
    errors_before = len(client_auth_server.tls_errors)
    requests_before = len(client_auth_server.requests)
    code, msg = perform_error(curl, client_auth_server.url("/hello"), CAINFO=certs.ca_pem)
    # TLS 1.3: the server's alert arrives after the client thinks the
    # handshake is done, so it surfaces while sending or receiving
    assert code in (pycurl.E_SEND_ERROR, pycurl.E_RECV_ERROR), (code, msg)
    assert msg
    assert len(client_auth_server.requests) == requests_before
    import time
    deadline = time.monotonic() + 2
    while len(client_auth_server.tls_errors) == errors_before and time.monotonic() < deadline:
        time.sleep(0.01)  # the server thread records its failure asynchronously
    assert len(client_auth_server.tls_errors) == errors_before + 1
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in client_auth_server.tls_errors[-1]


def test_client_cert_file_missing(client_auth_server, certs, curl):
    code, msg = perform_error(curl, client_auth_server.url("/hello"), CAINFO=certs.ca_pem,
                              SSLCERT="/nonexistent/client.pem")
    assert code == pycurl.E_SSL_CERTPROBLEM == 58
    assert "/nonexistent/client.pem" in msg


def test_client_key_mismatch(client_auth_server, certs, curl):
    code, msg = perform_error(curl, client_auth_server.url("/hello"), CAINFO=certs.ca_pem,
                              SSLCERT=certs.client_cert, SSLKEY=certs.server_key)
    assert code == 58
    assert msg == "Private key does not match the certificate public key"


def test_pinned_pubkey_match(tls_server, certs, curl):
    body, _ = perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem,
                      PINNEDPUBLICKEY=certs.server_pin)
    assert body == b"hello world"


def test_pinned_pubkey_mismatch(tls_server, certs, curl):
    code, msg = perform_error(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem,
                              PINNEDPUBLICKEY=certs.other_pin)
    assert (code, msg) == (pycurl.E_SSL_PINNEDPUBKEYNOTMATCH,
                           "SSL: public key does not match pinned public key")


def test_pinned_pubkey_one_of_several(tls_server, certs, curl):
    body, _ = perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem,
                      PINNEDPUBLICKEY=f"{certs.other_pin};{certs.server_pin}")
    assert body == b"hello world"


def test_pinned_pubkey_file(tls_server, certs, curl):
    body, _ = perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem,
                      PINNEDPUBLICKEY=certs.server_pubkey_pem)
    assert body == b"hello world"


def test_pinned_pubkey_checked_without_verifypeer(tls_server, certs, curl):
    code, msg = perform_error(curl, tls_server.url("/hello"), SSL_VERIFYPEER=0,
                              PINNEDPUBLICKEY=certs.other_pin)
    assert code == 90


def test_pinned_pubkey_missing_file(tls_server, certs, curl):
    code, msg = perform_error(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem,
                              PINNEDPUBLICKEY="/nonexistent/pin.pem")
    assert (code, msg) == (90, "SSL: public key does not match pinned public key")


@pytest.mark.parametrize("sslversion,negotiated", [
    (pycurl.SSLVERSION_TLSv1_2 | pycurl.SSLVERSION_MAX_TLSv1_2, "TLSv1.2"),
    (pycurl.SSLVERSION_TLSv1_3, "TLSv1.3"),
    (pycurl.SSLVERSION_TLSv1_2, "TLSv1.3"),
    (pycurl.SSLVERSION_DEFAULT, "TLSv1.3"),
])
def test_sslversion(tls_server, certs, curl, sslversion, negotiated):
    body, _ = perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem, SSLVERSION=sslversion)
    assert body == b"hello world"
    # By this connection's port: the previous test's pin-mismatch handshake may be recorded
    # after this one (it failed one run in many under load when read as tls_info[-1]).
    assert handshake(tls_server, curl)["version"] == negotiated


def test_sslversion_change_makes_new_connection(tls_server, certs, curl):
    """A connection is reused only under the same TLS options (libcurl's rule): once SSLVERSION
    caps the handle at TLS 1.2, its pooled TLS 1.3 connection is left alone, and back."""
    cap12 = pycurl.SSLVERSION_TLSv1_2 | pycurl.SSLVERSION_MAX_TLSv1_2
    seen = []
    for v in (pycurl.SSLVERSION_DEFAULT, cap12, pycurl.SSLVERSION_DEFAULT, cap12,
              pycurl.SSLVERSION_TLSv1_3):
        body, _ = perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem, SSLVERSION=v)
        assert body == b"hello world"
        seen.append((curl.getinfo(pycurl.NUM_CONNECTS), handshake(tls_server, curl)["version"]))
    assert seen == [(1, "TLSv1.3"), (1, "TLSv1.2"), (0, "TLSv1.3"), (0, "TLSv1.2"),
                    (1, "TLSv1.3")]


def test_sslversion_bad_value(curl):
    with pytest.raises(pycurl.error) as ei:
        curl.setopt(pycurl.SSLVERSION, 999)
    assert ei.value.args == (43, "setopt 0x20 got bad argument")


def openssl_date(dt):
    return dt.strftime("%b ") + f"{dt.day:2d}" + dt.strftime(" %H:%M:%S %Y GMT")


def test_certinfo(tls_server, certs, curl):
    from cryptography import x509

    perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem, OPT_CERTINFO=1)
    ci = curl.getinfo(pycurl.INFO_CERTINFO)
    assert isinstance(ci, list) and len(ci) == 1  # the server sends only its leaf
    fields = ci[0]
    assert isinstance(fields, tuple)
    assert all(isinstance(f, tuple) and len(f) == 2 and all(isinstance(x, str) for x in f)
               for f in fields)
    assert [k for k, _ in fields] == [
        "Subject", "Issuer", "Version", "Serial Number", "Signature Algorithm",
        "Public Key Algorithm", "X509v3 Basic Constraints", "X509v3 Extended Key Usage",
        "X509v3 Subject Alternative Name", "X509v3 Authority Key Identifier", "Start date",
        "Expire date", "RSA Public Key", "rsa(n)", "rsa(e)", "Signature", "Cert"]
    d = dict(fields)
    with open(certs.server_cert, "rb") as f:
        pem = f.read()
    cert = x509.load_pem_x509_certificate(pem)
    serial = cert.serial_number
    assert d["Subject"] == "C = XX, O = pycurl tests, CN = localhost"
    assert d["Issuer"] == "C = XX, O = pycurl tests, CN = pycurl test CA"
    assert d["Version"] == "2"
    assert d["Serial Number"] == serial.to_bytes((serial.bit_length() + 7) // 8, "big").hex()
    assert d["Signature Algorithm"] == "ecdsa-with-SHA256"
    assert d["Public Key Algorithm"] == "rsaEncryption"
    assert d["X509v3 Basic Constraints"] == "CA:FALSE"
    assert d["X509v3 Extended Key Usage"] == "TLS Web Server Authentication"
    assert d["X509v3 Subject Alternative Name"] == "DNS:localhost, IP Address:127.0.0.1"
    assert d["Start date"] == openssl_date(cert.not_valid_before_utc)
    assert d["Expire date"] == openssl_date(cert.not_valid_after_utc)
    assert d["RSA Public Key"] == "2048"
    assert d["rsa(e)"] == "10001"
    assert d["Cert"] == pem.decode()
    # hex bytes of the signature, each followed by a colon (libcurl's format)
    assert d["Signature"] == "".join(f"{b:02x}:" for b in cert.signature)
    n = cert.public_key().public_numbers().n
    assert d["rsa(n)"] == f"{n:X}"


def test_certinfo_off_by_default(tls_server, certs, curl):
    perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem)
    assert curl.getinfo(pycurl.INFO_CERTINFO) == []


def test_certinfo_raw(tls_server, certs, curl):
    perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem, OPT_CERTINFO=1)
    raw = curl.getinfo_raw(pycurl.INFO_CERTINFO)
    assert raw[0][0] == (b"Subject", b"C = XX, O = pycurl tests, CN = localhost")


def test_certinfo_self_signed(tls_servers, certs, curl):
    perform(curl, tls_servers["selfsigned"].url("/hello"), CAINFO=certs.selfsigned_cert,
            OPT_CERTINFO=1)
    d = dict(curl.getinfo(pycurl.INFO_CERTINFO)[0])
    assert d["Subject"] == d["Issuer"] == "C = XX, O = pycurl tests, CN = localhost"
    assert d["Public Key Algorithm"] == "id-ecPublicKey"


def test_https_redirect_to_http(tls_server, server, certs, curl):
    import urllib.parse
    url = tls_server.url("/redirect-to?" + urllib.parse.urlencode({"url": server.url("/hello")}))
    body, _ = perform(curl, url, CAINFO=certs.ca_pem, FOLLOWLOCATION=1)
    assert body == b"hello world"
    assert curl.getinfo(pycurl.SCHEME) == "http"


def test_http_to_tls_port_fails(tls_server, curl):
    # plain HTTP to a TLS server: the server gets garbage, closes; no hang
    code, _ = perform_error(curl, f"http://127.0.0.1:{tls_server.port}/hello", TIMEOUT=5)
    assert code in (pycurl.E_GOT_NOTHING, pycurl.E_RECV_ERROR, 1)


def test_https_to_plain_port_fails(server, curl):
    code, _ = perform_error(curl, f"https://127.0.0.1:{server.port}/hello", TIMEOUT=5)
    assert code == pycurl.E_SSL_CONNECT_ERROR


@pytest.mark.parametrize("cache", [1, 0])
def test_ssl_sessionid_cache(tls_server, certs, curl, cache):
    """New connections resume the TLS session unless SSL_SESSIONID_CACHE is 0 (the
    server reports whether each handshake resumed)."""
    curl.setopt(pycurl.SSL_SESSIONID_CACHE, cache)
    reused = []
    for _ in range(3):
        body, _ = perform(curl, tls_server.url("/hello"), CAINFO=certs.ca_pem, FRESH_CONNECT=1)
        assert body == b"hello world"
        reused.append(handshake(tls_server, curl)["session_reused"])
    assert len(reused) == 3
    if cache:
        assert reused[1:] == [True, True]
    else:
        assert reused == [False, False, False]
