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


HEADERS_APP = '''
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    seen = b"".join(n + b": " + v + b"\\n" for n, v in scope["headers"])
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": seen})
'''


@pytest.fixture(scope="module")
def echo(tmp_path_factory, certs):
    srv = h2servers.Hypercorn(tmp_path_factory.mktemp("h2headers"), certs, app=HEADERS_APP, module="h2headers")
    yield srv
    srv.stop()


def test_each_request_on_a_connection_sends_its_own_fields(echo, c):
    # Sequential requests on one h2 connection: each one's HTTPHEADER reaches the server, whether
    # it differs from the request before or not, and a replaced Host becomes the :authority.
    rounds = [["X-A: 1"], ["X-A: 2", "X-B: b"], ["X-A: 2", "X-B: b"], ["X-C: 3"], ["Host: elsewhere.test", "X-C: 3"],
              ["X-C: 3"]]
    for i, extra in enumerate(rounds):
        _, body = perform(c, echo.url("/h"), HTTPHEADER=extra)
        seen = body.decode().splitlines()
        assert [s for s in seen if s.startswith("x-")] == [h.lower() for h in extra if h.startswith("X-")]
        host = "elsewhere.test" if "Host: elsewhere.test" in extra else echo.url("/").split("/")[2]
        assert f"host: {host}" in seen
        assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
        if i:
            assert c.getinfo(pycurl.NUM_CONNECTS) == 0
