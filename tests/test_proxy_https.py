"""HTTPS proxies (issue 10): stunnel4 terminating TLS in front of tinyproxy. TLS to the proxy
uses the PROXY_* TLS options; TLS to an https:// origin runs inside the tunnel, checked with the
plain ones. The proxy's own logs are asserted too."""

import pytest

import pycurl

import proxies
from proxies import no_env_proxy  # noqa: F401 (fixtures)
from helpers import perform


@pytest.fixture(scope="module")
def hproxy(certs):
    tiny = proxies.tinyproxy()
    tls = proxies.stunnel(tiny.port, certs.server_cert, certs.server_key)
    yield tiny, tls
    tls.stop()
    tiny.stop()


def test_http_origin_through_https_proxy(hproxy, server, certs):
    tiny, tls = hproxy
    c = pycurl.Curl()
    body, _ = perform(c, server.url("/hello?hp=plain"), PROXY=f"https://127.0.0.1:{tls.port}",
                      PROXY_CAINFO=certs.ca_pem)
    assert body == b"hello world"
    assert c.getinfo(pycurl.PRIMARY_PORT) == tls.port
    assert c.getinfo(pycurl.PROXY_SSL_VERIFYRESULT) == 0
    assert f"GET {server.url('/hello?hp=plain')} HTTP/1.1" in tiny.wait_log("hp=plain")
    assert "accepted connection from 127.0.0.1" in tls.wait_log("accepted connection")
    c.close()


def test_https_origin_inside_the_proxy_tls(hproxy, tls_server, certs):
    tiny, tls = hproxy
    c = pycurl.Curl()
    body, headers = perform(c, tls_server.url("/hello"), PROXY=f"https://localhost:{tls.port}",
                            PROXY_CAINFO=certs.ca_pem, CAINFO=certs.ca_pem)
    assert body == b"hello world"
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
    assert c.getinfo(pycurl.SSL_VERIFYRESULT) == 0
    assert f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1" in tiny.wait_log(f"CONNECT 127.0.0.1:{tls_server.port}")
    # Reuse: same proxy, same options.
    perform(c, tls_server.url("/hello"))
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    c.close()


def test_proxy_certificate_checked_with_proxy_options(hproxy, server, certs):
    _, tls = hproxy
    c = pycurl.Curl()
    c.setopt(pycurl.CAINFO, certs.ca_pem)  # the origin's CA does not vouch for the proxy
    with pytest.raises(pycurl.error) as e:
        perform(c, server.url("/hello"), PROXY=f"https://127.0.0.1:{tls.port}",
                PROXY_CAINFO=certs.other_ca_pem)
    assert e.value.args[0] == pycurl.E_PEER_FAILED_VERIFICATION
    assert c.getinfo(pycurl.PROXY_SSL_VERIFYRESULT) != 0
    assert c.getinfo(pycurl.PRIMARY_PORT) == tls.port
    # PROXY_SSL_VERIFYPEER 0 accepts it; the pool keeps the two apart.
    c.setopt(pycurl.PROXY_SSL_VERIFYPEER, 0)
    body, _ = perform(c, server.url("/hello"))
    assert body == b"hello world"
    c.close()


def test_proxy_pinned_public_key(hproxy, server, certs):
    _, tls = hproxy
    c = pycurl.Curl()
    with pytest.raises(pycurl.error) as e:
        perform(c, server.url("/hello"), PROXY=f"https://127.0.0.1:{tls.port}", PROXY_CAINFO=certs.ca_pem,
                PROXY_PINNEDPUBLICKEY=certs.other_pin)
    assert e.value.args[0] == pycurl.E_SSL_PINNEDPUBKEYNOTMATCH
    c.setopt(pycurl.PROXY_PINNEDPUBLICKEY, certs.server_pin)
    body, _ = perform(c, server.url("/hello"))
    assert body == b"hello world"
    c.close()


def test_proxytype_https_without_scheme(hproxy, server, certs):
    _, tls = hproxy
    c = pycurl.Curl()
    body, _ = perform(c, server.url("/hello"), PROXY=f"127.0.0.1:{tls.port}", PROXYTYPE=2,
                      PROXY_CAINFO_BLOB=open(certs.ca_pem, "rb").read())
    assert body == b"hello world"
    c.close()


def test_proxytype_https2_speaks_http1_to_the_proxy(hproxy, server, certs):
    # CURLPROXY_HTTPS2 asks for h2 to the proxy through ALPN; stunnel picks none, so HTTP/1.1 it is
    # (pycurl-rs offers only http/1.1, the same outcome).
    tiny, tls = hproxy
    c = pycurl.Curl()
    body, _ = perform(c, server.url("/hello?hp=https2"), PROXY=f"127.0.0.1:{tls.port}", PROXYTYPE=3,
                      PROXY_CAINFO=certs.ca_pem)
    assert body == b"hello world"
    assert c.getinfo(pycurl.PRIMARY_PORT) == tls.port
    assert c.getinfo(pycurl.PROXY_SSL_VERIFYRESULT) == 0
    assert f"GET {server.url('/hello?hp=https2')} HTTP/1.1" in tiny.wait_log("hp=https2")
    c.close()


def test_proxy_ssl_verifyresult_as_openssl_reports_it(hproxy, server, certs):
    # 1 ("unspecified") when the handshake never verified (bad options), 0 when the chain verified
    # and only the pin failed afterwards.
    _, tls = hproxy

    def verifyresult(**opts):
        c = pycurl.Curl()
        try:
            with pytest.raises(pycurl.error) as e:
                perform(c, server.url("/hello"), PROXY=f"https://localhost:{tls.port}", PROXY_CAINFO=certs.ca_pem,
                        **opts)
            return e.value.args[0], c.getinfo(pycurl.PROXY_SSL_VERIFYRESULT)
        finally:
            c.close()

    assert verifyresult(PROXY_SSL_CIPHER_LIST="NOPE") == (pycurl.E_SSL_CIPHER, 1)
    assert verifyresult(PROXY_PINNEDPUBLICKEY="sha256//" + "A" * 43 + "=") == (90, 0)
