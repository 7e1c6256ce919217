"""HTTP/2 against a second server stack, hypercorn (Python h2) from PyPI: GET and POST over ALPN
h2, and a connection the server closes mid-body (error 18, as libcurl reports it)."""


import pytest

import pycurl

import h2servers


@pytest.fixture(scope="module")
def hyper(tmp_path_factory, certs):
    srv = h2servers.Hypercorn(tmp_path_factory.mktemp("hypercorn"), certs)
    yield srv
    srv.stop()


@pytest.fixture
def c(certs):
    c = pycurl.Curl()
    c.setopt(pycurl.CAINFO, certs.ca_pem)
    yield c
    c.close()


perform = h2servers.fetch


def test_get_and_post_over_h2(hyper, c):
    headers, body = perform(c, hyper.url("/x"))
    assert body == b"2 GET "
    assert headers[0] == b"HTTP/2 200 \r\n"
    assert b"x-served-by: hypercorn\r\n" in headers
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
    headers, body = perform(c, hyper.url("/x"), POSTFIELDS=b"k=v" * 30000)
    assert body == b"2 POST " + b"k=v" * 30000
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0


def test_connection_closed_mid_body_is_a_partial_file(hyper, c):
    # The app fails after part of the body: hypercorn closes the connection under the stream.
    with pytest.raises(pycurl.error) as ei:
        perform(c, hyper.url("/reset"))
    assert ei.value.args == (pycurl.E_PARTIAL_FILE, "Transferred a partial file")
    # The next transfer opens a new connection and works.
    _, body = perform(c, hyper.url("/again"))
    assert body == b"2 GET "
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
