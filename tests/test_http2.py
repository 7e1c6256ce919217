"""HTTP/2 over TLS (ALPN h2) with easy perform(), against a real nginx (tests/h2servers.py).

Every expectation here also holds for real pycurl (libcurl + nghttp2) against the same server,
except where IS_RS says otherwise; the access log shows what nginx saw (protocol, connection)."""

import io

import pytest

import pycurl

import h2servers
from helpers import IS_RS


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, certs, server):
    ng = h2servers.Nginx(tmp_path_factory.mktemp("nginx"), certs, server)
    yield ng
    ng.stop()


@pytest.fixture
def c(certs):
    c = pycurl.Curl()
    c.setopt(pycurl.CAINFO, certs.ca_pem)
    c.setopt(pycurl.USERAGENT, "h2-test")
    yield c
    c.close()


get = h2servers.fetch


@pytest.mark.parametrize("version", ["CURL_HTTP_VERSION_2_0", "CURL_HTTP_VERSION_2TLS", "CURL_HTTP_VERSION_NONE"])
def test_get_over_h2_with_libcurl_header_lines(nginx, c, version):
    n = len(nginx.log())
    headers, body = get(c, nginx.url(), HTTP_VERSION=getattr(pycurl, version))
    assert body == b"hello over h2\n"
    assert headers[0] == b"HTTP/2 200 \r\n"
    assert headers[-1] == b"\r\n"
    names = [h.split(b":", 1)[0] for h in headers[1:-1]]
    assert b"content-length" in names and b"content-type" in names
    assert all(n == n.lower() for n in names)
    assert b"content-length: 14\r\n" in headers
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0 == 3
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.HEADER_SIZE) == sum(len(h) for h in headers)
    assert c.getinfo(pycurl.SIZE_DOWNLOAD_T) == 14
    assert c.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == 14
    rows = nginx.log_since(n)
    assert [r["protocol"] for r in rows] == ["HTTP/2.0"]


def test_head_infos_without_a_header_callback(nginx, c, certs):
    # With no HEADERFUNCTION the h2 header lines are not built: the infos read from the head and
    # HEADER_SIZE (what the lines would have counted) stay the same.
    infos = (pycurl.HEADER_SIZE, pycurl.CONTENT_TYPE, pycurl.CONTENT_LENGTH_DOWNLOAD_T, pycurl.RESPONSE_CODE)
    headers, _ = get(c, nginx.url())
    with_lines = [c.getinfo(i) for i in infos]
    assert with_lines[0] == sum(len(h) for h in headers)
    bare, body = pycurl.Curl(), io.BytesIO()
    bare.setopt(pycurl.CAINFO, certs.ca_pem)
    bare.setopt(pycurl.USERAGENT, "h2-test")
    bare.setopt(pycurl.URL, nginx.url())
    bare.setopt(pycurl.WRITEDATA, body)
    for _ in range(2):  # a fresh connection, then a reused one
        bare.perform()
        assert body.getvalue().endswith(b"hello over h2\n")
        assert bare.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
        assert [bare.getinfo(i) for i in infos] == with_lines
    bare.close()


def test_http_1_1_stays_on_http1(nginx, c):
    n = len(nginx.log())
    headers, body = get(c, nginx.url(), HTTP_VERSION=pycurl.CURL_HTTP_VERSION_1_1)
    assert body == b"hello over h2\n"
    assert headers[0] == b"HTTP/1.1 200 OK\r\n"
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_1_1
    assert [r["protocol"] for r in nginx.log_since(n)] == ["HTTP/1.1"]


def test_plain_http_default_is_http1(nginx, c):
    headers, _ = get(c, f"http://localhost:{nginx.h1_port}/index.html")
    assert headers[0] == b"HTTP/1.1 200 OK\r\n"
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_1_1


def test_request_head_shown_and_counted_as_libcurl_does(nginx, c):
    out, text = [], []

    def debug(kind, data):
        if kind == pycurl.INFOTYPE_HEADER_OUT:
            out.append(data)
        elif kind == pycurl.INFOTYPE_TEXT:
            text.append(data)

    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, debug)
    get(c, nginx.url("/index.html?q=1"))
    port = nginx.tls_port
    assert out == [f"GET /index.html?q=1 HTTP/2\r\nHost: localhost:{port}\r\nUser-Agent: h2-test\r\n"
                   "Accept: */*\r\n\r\n".encode()]
    assert c.getinfo(pycurl.REQUEST_SIZE) == len(out[0])
    assert b"using HTTP/2\n" in text
    assert f"[HTTP/2] [1] OPENED stream for https://localhost:{port}/index.html?q=1\n".encode() in text
    assert b"[HTTP/2] [1] [:path: /index.html?q=1]\n" in text
    assert b"[HTTP/2] [1] [user-agent: h2-test]\n" in text


def test_postfields_upload(nginx, c):
    n = len(nginx.log())
    out = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda k, d: out.append(d) if k == pycurl.INFOTYPE_HEADER_OUT else None)
    headers, body = get(c, nginx.url("/echo"), POSTFIELDS=b"a=1&b=2")
    assert body == b"POST\na=1&b=2"
    assert b"x-body-length: 7\r\n" in headers
    assert out[0].startswith(b"POST /echo HTTP/2\r\n")
    assert b"Content-Length: 7\r\n" in out[0]
    assert c.getinfo(pycurl.REQUEST_SIZE) == len(out[0]) + 7
    assert c.getinfo(pycurl.SIZE_UPLOAD_T) == 7
    row = nginx.log_since(n)[-1]
    assert (row["protocol"], row["method"], row["uri"]) == ("HTTP/2.0", "POST", "/echo")


def test_large_postfields_without_expect_100(nginx, c):
    data = h2servers.body_of(3_000_000)
    out = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda k, d: out.append(d) if k == pycurl.INFOTYPE_HEADER_OUT else None)
    headers, body = get(c, nginx.url("/echo"), POSTFIELDS=data)
    assert body == b"POST\n" + data
    assert b"x-body-length: 3000000\r\n" in headers
    assert b"Expect" not in out[0] and b"expect" not in out[0]
    assert c.getinfo(pycurl.SIZE_UPLOAD_T) == 3_000_000


def test_large_download_every_byte(nginx, c):
    headers, body = get(c, nginx.url("/big/4000000"))
    assert body == h2servers.body_of(4_000_000)
    assert c.getinfo(pycurl.SIZE_DOWNLOAD_T) == 4_000_000


def test_reuse_across_performs(nginx, c):
    n = len(nginx.log())
    get(c, nginx.url())
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    local = c.getinfo(pycurl.LOCAL_PORT)
    for _ in range(3):
        _, body = get(c, nginx.url("/big/100000"))
        assert body == h2servers.body_of(100_000)
        assert c.getinfo(pycurl.NUM_CONNECTS) == 0
        assert c.getinfo(pycurl.LOCAL_PORT) == local
    rows = nginx.log_since(n)
    assert len(rows) == 4
    assert len({r["connection"] for r in rows}) == 1, rows


def test_fresh_connect_opens_another_connection(nginx, c):
    n = len(nginx.log())
    get(c, nginx.url())
    get(c, nginx.url(), FRESH_CONNECT=1)
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    rows = nginx.log_since(n)
    assert len({r["connection"] for r in rows}) == 2, rows


def test_trailers_reach_headerfunction_after_the_blank_line(nginx, c):
    headers, body = get(c, nginx.url("/trailers"))
    assert body == b"hello over h2\n"
    blank = headers.index(b"\r\n")
    assert headers[blank + 1:] == [b"x-checksum: abc123\r\n", b"x-done: yes\r\n"]


def test_status_and_redirect_over_h2(nginx, c):
    headers, body = get(c, nginx.url("/status/404"))
    assert c.getinfo(pycurl.RESPONSE_CODE) == 404
    assert body == b"missing\n"
    headers, body = get(c, nginx.url("/redirect"), FOLLOWLOCATION=1)
    assert body == b"hello over h2\n"
    assert c.getinfo(pycurl.REDIRECT_COUNT) == 1
    assert [h for h in headers if h.startswith(b"HTTP/")] == [b"HTTP/2 302 \r\n", b"HTTP/2 200 \r\n"]
    assert c.getinfo(pycurl.EFFECTIVE_URL) == nginx.url("/index.html")


def test_failonerror_over_h2(nginx, c):
    with pytest.raises(pycurl.error) as ei:
        get(c, nginx.url("/status/404"), FAILONERROR=1)
    assert ei.value.args == (pycurl.E_HTTP_RETURNED_ERROR, "The requested URL returned error: 404")


@pytest.mark.parametrize("value", [30, 31])
def test_http_versions_not_built(c, value):
    if IS_RS:
        with pytest.raises(pycurl.error) as ei:
            c.setopt(pycurl.HTTP_VERSION, value)
        assert ei.value.args[0] == pycurl.E_NOT_BUILT_IN
    else:
        # this libcurl has HTTP/3 built in
        assert c.setopt(pycurl.HTTP_VERSION, value) is None


def test_prior_knowledge_h2c(nginx, c):
    n = len(nginx.log())
    out = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda k, d: out.append(d) if k == pycurl.INFOTYPE_HEADER_OUT else None)
    headers, body = get(c, nginx.h2c_url(), HTTP_VERSION=pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
    assert body == b"hello over h2\n"
    assert headers[0] == b"HTTP/2 200 \r\n"
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
    assert out[0].startswith(b"GET /index.html HTTP/2\r\n")
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    _, body = get(c, nginx.h2c_url("/echo"), POSTFIELDS=b"x" * 70000)
    assert body == b"POST\n" + b"x" * 70000
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    rows = nginx.log_since(n)
    assert [r["protocol"] for r in rows] == ["HTTP/2.0", "HTTP/2.0"]
    assert len({r["connection"] for r in rows}) == 1


def test_prior_knowledge_to_an_http1_server_fails(server, c):
    # An HTTP/1 server answers the h2 preface with garbage (or closes): a framing error.
    c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEDATA, io.BytesIO())
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args[0] == pycurl.E_HTTP2


def test_version_info_announces_http2():
    assert pycurl.version_info()[4] & pycurl.VERSION_HTTP2


@pytest.mark.parametrize("known_size", [True, False])
def test_readfunction_upload(nginx, c, known_size):
    data = h2servers.body_of(300_000)
    src = io.BytesIO(data)
    c.setopt(pycurl.POST, 1)
    c.setopt(pycurl.READFUNCTION, src.read)
    if known_size:
        c.setopt(pycurl.POSTFIELDSIZE, len(data))
    out = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda k, d: out.append(d) if k == pycurl.INFOTYPE_HEADER_OUT else None)
    headers, body = get(c, nginx.url("/echo"))
    assert body == b"POST\n" + data
    assert b"x-body-length: 300000\r\n" in headers
    assert c.getinfo(pycurl.SIZE_UPLOAD_T) == 300_000
    assert (b"Content-Length: 300000\r\n" in out[0]) == known_size
    assert b"Transfer-Encoding" not in out[0] and b"Expect" not in out[0]


def test_readfunction_abort_fails_the_upload(nginx, c):
    c.setopt(pycurl.POST, 1)
    c.setopt(pycurl.READFUNCTION, lambda n: pycurl.READFUNC_ABORT)
    with pytest.raises(pycurl.error) as ei:
        get(c, nginx.url("/echo"))
    assert ei.value.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    # The connection survives the reset stream.
    _, body = get(c, nginx.url(), HTTPGET=1)
    assert body == b"hello over h2\n"
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0


@pytest.mark.parametrize("tls", [True, False])
def test_request_target_becomes_the_path(nginx, c, tls):
    n = len(nginx.log())
    texts, out = [], []

    def debug(kind, data):
        (out if kind == pycurl.INFOTYPE_HEADER_OUT else texts).append(data)

    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, debug)
    url = nginx.url("/elsewhere?x=1") if tls else nginx.h2c_url("/elsewhere?x=1")
    headers, body = get(c, url, REQUEST_TARGET="/index.html?q=2",
                        HTTP_VERSION=pycurl.CURL_HTTP_VERSION_2_0 if tls else pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
    assert body == b"hello over h2\n"
    assert headers[0] == b"HTTP/2 200 \r\n"
    assert out[0].startswith(b"GET /index.html?q=2 HTTP/2\r\n")
    assert b"[HTTP/2] [1] [:path: /index.html?q=2]\n" in texts
    assert c.getinfo(pycurl.EFFECTIVE_URL) == url
    rows = nginx.log_since(n)
    assert [(r["protocol"], r["uri"]) for r in rows] == [("HTTP/2.0", "/index.html?q=2")]


def test_options_star_over_h2(nginx, c):
    # libcurl sends ":path: *"; nginx refuses that over h2 (400) and logs no URI.
    n = len(nginx.log())
    texts = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: texts.append(data))
    headers, _ = get(c, nginx.h2c_url("/"), REQUEST_TARGET="*", CUSTOMREQUEST="OPTIONS",
                     HTTP_VERSION=pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
    assert headers[0] == b"HTTP/2 400 \r\n"
    assert b"[HTTP/2] [1] [:path: *]\n" in texts
    assert any(t.startswith(b"OPTIONS * HTTP/2\r\n") for t in texts)
    rows = nginx.log_since(n)
    assert [(r["method"], r["uri"], r["status"]) for r in rows] == [("OPTIONS", "-", "400")]
