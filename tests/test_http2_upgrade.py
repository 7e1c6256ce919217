"""HTTP/2 on http:// URLs: HTTP_VERSION 2_0's `Upgrade: h2c` offer (hypercorn takes it, nginx
ignores it), 1xx responses over h2 (103 Early Hints from hypercorn), response header order, and
an idle h2 connection in a CurlMulti seen through the socket API.

Every expectation holds for real pycurl (libcurl 8.23 + nghttp2) against the same servers, except
where IS_RS says otherwise (see docs/differences.md)."""

import base64
import io
import time

import pytest

import pycurl

import h2servers
from helpers import IS_RS
from test_multi_socket import Loop

# Per request the body says the HTTP version hypercorn saw, the method, the client's port (one
# port: one connection) and the request body.
APP = '''
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    path = scope["path"]
    if path == "/hints" and "http.response.early_hint" in scope["extensions"]:
        await send({"type": "http.response.early_hint",
                    "links": [b"</style.css>; rel=preload; as=style", b"</app.js>; rel=preload"]})
    if path == "/redirect":
        await send({"type": "http.response.start", "status": 302,
                    "headers": [(b"location", b"/target"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/big":
        # 1 MB in 64 KiB pieces: more than any stream window, so flow control has to work.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(16 * 65536).encode())]})
        for i in range(16):
            await send({"type": "http.response.body", "body": bytes([65 + i]) * 65536, "more_body": i < 15})
        return
    if path == "/trailers" and "http.response.trailers" in scope["extensions"]:
        # hypercorn sends them when the request says "te: trailers".
        await send({"type": "http.response.start", "status": 200, "trailers": True,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"body"})
        await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"abc"), (b"x-done", b"yes")]})
        return
    headers = [(b"content-type", b"text/plain"), (b"x-served-by", b"hypercorn")]
    if path == "/order":
        headers = [(b"x-a", b"1"), (b"x-b", b"2"), (b"x-a", b"3"), (b"content-type", b"text/plain"), (b"x-b", b"4")]
    out = b"%s %s %d %s" % (scope["http_version"].encode(), scope["method"].encode(), scope["client"][1],
                            body[:20])
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})
'''


def CleartextHypercorn(tmpdir, keep_alive=None):
    """hypercorn on plain HTTP: HTTP/1.1, the h2c upgrade, and h2 by prior knowledge."""
    return h2servers.Hypercorn(tmpdir, app=APP, module="h2capp", keep_alive=keep_alive)


@pytest.fixture(scope="module")
def hyper(tmp_path_factory):
    h = CleartextHypercorn(tmp_path_factory.mktemp("h2c"))
    yield h
    h.stop()


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, certs, server):
    ng = h2servers.Nginx(tmp_path_factory.mktemp("nginx"), certs, server)
    yield ng
    ng.stop()


@pytest.fixture
def c():
    c = pycurl.Curl()
    c.setopt(pycurl.USERAGENT, "h2c-test")
    yield c
    c.close()


def fetch(c, url, **opts):
    """Performs with HTTP_VERSION 2_0 unless told otherwise; returns (header lines, body, request
    heads sent, info texts)."""
    sent, texts = [], []

    def debug(kind, data):
        if kind == pycurl.INFOTYPE_HEADER_OUT:
            sent.append(data)
        elif kind == pycurl.INFOTYPE_TEXT:
            texts.append(data)

    opts.setdefault("HTTP_VERSION", pycurl.CURL_HTTP_VERSION_2_0)
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, debug)
    headers, body = h2servers.fetch(c, url, **opts)
    return headers, body, sent, texts


def offer_of(head: bytes) -> dict:
    """The HTTP2-Settings of an offer, decoded: {setting id: value}."""
    line = [l for l in head.split(b"\r\n") if l.startswith(b"HTTP2-Settings: ")]
    assert len(line) == 1, head
    raw = base64.urlsafe_b64decode(line[0].split(b": ", 1)[1] + b"==")
    assert len(raw) % 6 == 0
    return {int.from_bytes(raw[i:i + 2], "big"): int.from_bytes(raw[i + 2:i + 6], "big") for i in range(0, len(raw), 6)}


def test_hypercorn_takes_the_offer_and_answers_on_h2(hyper, c):
    headers, body, sent, texts = fetch(c, hyper.url("/x"))
    # The request went out as HTTP/1.1 with libcurl's offer, its Connection line last.
    assert len(sent) == 1
    head = sent[0]
    assert head.startswith(b"GET /x HTTP/1.1\r\n")
    assert b"\r\nAccept: */*\r\nUpgrade: h2c\r\nHTTP2-Settings: " in head
    assert head.endswith(b"\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n")
    settings = offer_of(head)
    assert settings[2] == 0 and settings[3] == 100  # ENABLE_PUSH 0, MAX_CONCURRENT_STREAMS 100
    assert settings[4] == 65536  # the stream window, libcurl 8's 64 KiB
    # HEADERFUNCTION sees the 101 head, then the h2 response to the same request.
    blank = headers.index(b"\r\n")
    assert headers[0] == b"HTTP/1.1 101 \r\n"
    assert b"upgrade: h2c\r\n" in headers[1:blank]
    assert headers[blank + 1] == b"HTTP/2 200 \r\n"
    assert b"x-served-by: hypercorn\r\n" in headers[blank + 2:]
    assert headers[-1] == b"\r\n"
    assert body.startswith(b"2 GET ")
    assert b"Received 101, Switching to HTTP/2\n" in texts
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.HEADER_SIZE) == sum(len(h) for h in headers)
    assert c.getinfo(pycurl.REQUEST_SIZE) == len(head)
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1


def test_upgraded_connection_serves_the_next_requests_over_h2(hyper, c):
    _, first, _, _ = fetch(c, hyper.url("/a"))
    port = first.split()[2]
    for path in ("/b", "/c"):
        headers, body, sent, texts = fetch(c, hyper.url(path))
        assert body.split()[:3] == [b"2", b"GET", port]  # same connection, over h2
        assert headers[0] == b"HTTP/2 200 \r\n"
        assert sent == [b"GET %s HTTP/2\r\nHost: 127.0.0.1:%d\r\nUser-Agent: h2c-test\r\nAccept: */*\r\n\r\n"
                        % (path.encode(), hyper.port)]
        assert c.getinfo(pycurl.NUM_CONNECTS) == 0
        assert any(t.startswith(b"Reusing existing http: connection") for t in texts)
    # Stream 1 was the upgraded request: the next ones are 3 and 5.
    assert b"[HTTP/2] [5] OPENED stream for %s\n" % hyper.url("/c").encode() in texts


def test_upgraded_connection_shared_in_a_multi(hyper):
    m = pycurl.CurlMulti()
    handles = []
    first = pycurl.Curl()
    _, body, _, _ = fetch(first, hyper.url("/first"))
    port = body.split()[2]
    # A fresh easy handle in a multi does not see the easy handle's pool: upgrade there, then reuse.
    for i in range(4):
        h = pycurl.Curl()
        buf = io.BytesIO()
        h.setopt(pycurl.URL, hyper.url(f"/m{i}"))
        h.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2_0)
        h.setopt(pycurl.WRITEDATA, buf)
        h.buf = buf
        handles.append(h)
    m.add_handle(handles[0])
    while m.perform()[1]:
        m.select(1.0)
    for h in handles[1:]:
        m.add_handle(h)
    while m.perform()[1]:
        m.select(1.0)
    ports = {h.buf.getvalue().split()[2] for h in handles}
    assert [h.buf.getvalue().split()[0] for h in handles] == [b"2"] * 4
    assert len(ports) == 1 and port not in ports
    assert handles[0].getinfo(pycurl.NUM_CONNECTS) == 1
    assert [h.getinfo(pycurl.NUM_CONNECTS) for h in handles[1:]] == [0, 0, 0]
    for h in handles:
        m.remove_handle(h)
        h.close()
    m.close()
    first.close()


def test_big_response_on_the_upgraded_stream(hyper, c):
    headers, body, _, _ = fetch(c, hyper.url("/big"))
    assert headers[0] == b"HTTP/1.1 101 \r\n"
    assert body == b"".join(bytes([65 + i]) * 65536 for i in range(16))
    assert c.getinfo(pycurl.SIZE_DOWNLOAD_T) == 16 * 65536


def test_redirect_answered_on_the_upgraded_stream_followed_over_h2(hyper, c):
    headers, body, sent, _ = fetch(c, hyper.url("/redirect"), FOLLOWLOCATION=1)
    assert [h for h in headers if h.startswith(b"HTTP/")] == [b"HTTP/1.1 101 \r\n", b"HTTP/2 302 \r\n",
                                                              b"HTTP/2 200 \r\n"]
    assert body.startswith(b"2 GET ")
    assert sent[1].startswith(b"GET /target HTTP/2\r\n")
    assert c.getinfo(pycurl.REDIRECT_COUNT) == 1
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1


def test_head_request(hyper, c):
    """libcurl offers h2c on HEAD too: hypercorn takes it and answers the HEAD on stream 1."""
    headers, body, sent, _ = fetch(c, hyper.url("/h"), NOBODY=1)
    assert body == b""
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert b"Upgrade: h2c\r\n" in sent[0] and sent[0].startswith(b"HEAD /h HTTP/1.1\r\n")
    assert [h for h in headers if h.startswith(b"HTTP/")] == [b"HTTP/1.1 101 \r\n", b"HTTP/2 200 \r\n"]
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
    # The upgraded connection carries the next GETs (their header fields indexed by both sides).
    c.setopt(pycurl.NOBODY, 0)
    port = None
    for i in range(3):
        _, body, sent, _ = fetch(c, hyper.url(f"/g{i}"), HTTPHEADER=[f"X-Round: {i}", "X-Same: s"])
        assert body.split()[:2] == [b"2", b"GET"]
        assert port in (None, body.split()[2])
        port = body.split()[2]
        assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    _, _, sent, _ = fetch(c, hyper.url("/h2"), NOBODY=1, HTTPHEADER=[])
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
    if IS_RS:
        # A HEAD does not go on a connection upgraded from a HEAD (docs/differences.md).
        assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    else:
        assert c.getinfo(pycurl.NUM_CONNECTS) == 0


def test_offer_with_a_body_and_no_expect(hyper, c):
    # hypercorn declines the upgrade of a request with a body: the answer comes over HTTP/1.1.
    big = b"y" * (1100 * 1024)
    headers, body, sent, _ = fetch(c, hyper.url("/p"), POSTFIELDS=big)
    assert body.startswith(b"1.1 POST ") and body.endswith(b" " + b"y" * 20)
    assert headers[0] == b"HTTP/1.1 200 \r\n"
    assert b"Upgrade: h2c\r\n" in sent[0]
    assert b"Expect:" not in sent[0]  # over 1 MiB, yet no 100-continue with the offer
    assert sent[0].endswith(b"Content-Type: application/x-www-form-urlencoded\r\n"
                            b"Connection: Upgrade, HTTP2-Settings\r\n\r\n")
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_1_1


def test_nginx_ignores_the_offer_and_each_request_makes_it_again(nginx, c):
    n = len(nginx.log())
    url = f"http://localhost:{nginx.h1_port}/index.html"
    for _ in range(2):
        headers, body, sent, _ = fetch(c, url)
        assert body == b"hello over h2\n"
        assert headers[0] == b"HTTP/1.1 200 OK\r\n"
        assert b"Upgrade: h2c\r\n" in sent[0]
        assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_1_1
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    rows = nginx.log_since(n)
    assert [r["protocol"] for r in rows] == ["HTTP/1.1", "HTTP/1.1"]
    assert len({r["connection"] for r in rows}) == 1


def test_custom_connection_headers_merge_into_the_last_line(nginx, c):
    url = f"http://localhost:{nginx.h1_port}/index.html"
    _, _, sent, _ = fetch(c, url, TRANSFER_ENCODING=1, COOKIE="a=b",
                          HTTPHEADER=["Connection: keep-alive", "X-Custom: 1", "Upgrade: foo", "Connection: x"])
    assert sent[0].split(b"\r\n", 4)[4] == (
        b"TE: gzip\r\nUpgrade: h2c\r\nHTTP2-Settings: " + sent[0].split(b"HTTP2-Settings: ")[1].split(b"\r\n")[0]
        + b"\r\nCookie: a=b\r\nX-Custom: 1\r\nUpgrade: foo\r\n"
        b"Connection: keep-alive, TE, Upgrade, HTTP2-Settings\r\nConnection: x\r\n\r\n")


@pytest.mark.parametrize("version", ["CURL_HTTP_VERSION_NONE", "CURL_HTTP_VERSION_1_1", "CURL_HTTP_VERSION_2TLS"])
def test_no_offer_without_http_version_2_0(hyper, c, version):
    headers, body, sent, _ = fetch(c, hyper.url("/n"), HTTP_VERSION=getattr(pycurl, version))
    assert b"Upgrade" not in sent[0] and b"HTTP2-Settings" not in sent[0]
    assert body.startswith(b"1.1 GET ")


@pytest.mark.parametrize("version", ["CURL_HTTP_VERSION_2_0", "CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE"])
def test_early_hints_reach_headerfunction(hyper, c, version):
    headers, body, _, _ = fetch(c, hyper.url("/hints"), HTTP_VERSION=getattr(pycurl, version))
    start = headers.index(b"HTTP/2 103 \r\n")
    end = headers.index(b"\r\n", start)
    assert headers[start + 1:start + 3] == [b"link: </style.css>; rel=preload; as=style\r\n",
                                            b"link: </app.js>; rel=preload\r\n"]
    assert headers[end + 1] == b"HTTP/2 200 \r\n"
    assert headers[-1] == b"\r\n"
    assert body.startswith(b"2 GET ")
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.HEADER_SIZE) == sum(len(h) for h in headers)


@pytest.mark.parametrize("version", ["CURL_HTTP_VERSION_2_0", "CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE"])
def test_trailers_after_the_blank_line(hyper, c, version):
    headers, body, sent, _ = fetch(c, hyper.url("/trailers"), HTTP_VERSION=getattr(pycurl, version),
                                   HTTPHEADER=["TE: trailers"])
    assert body == b"body"
    assert headers[-3:] == [b"\r\n", b"x-sum: abc\r\n", b"x-done: yes\r\n"]
    assert headers[-4] != b"\r\n"
    assert c.getinfo(pycurl.HEADER_SIZE) == sum(len(h) for h in headers)


def test_response_header_order_over_h2(hyper, c):
    headers, _, _, _ = fetch(c, hyper.url("/order"), HTTP_VERSION=pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
    mine = [h for h in headers if h[:2] == b"x-"]
    if IS_RS:
        # The h2 crate's HeaderMap groups repeated names: not the wire order (docs/differences.md).
        assert mine == [b"x-a: 1\r\n", b"x-a: 3\r\n", b"x-b: 2\r\n", b"x-b: 4\r\n"]
    else:
        assert mine == [b"x-a: 1\r\n", b"x-b: 2\r\n", b"x-a: 3\r\n", b"x-b: 4\r\n"]
    assert headers.index(b"content-type: text/plain\r\n") > headers.index(b"x-a: 1\r\n")


VERSIONS = {"h1": pycurl.CURL_HTTP_VERSION_1_1, "h2": pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE}


def run_one(m, loop, c, url, version, fails=False):
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.HTTP_VERSION, VERSIONS[version])
    buf = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, buf)
    m.add_handle(c)
    loop._action(pycurl.SOCKET_TIMEOUT, 0)
    loop.run()
    if fails:
        _, ok, failed = m.info_read()
        m.remove_handle(c)
        return ok, failed
    assert m.info_read() == (0, [c], [])
    fd = c.getinfo(pycurl.LASTSOCKET)
    m.remove_handle(c)
    return buf.getvalue().split(), fd


@pytest.mark.parametrize("version", ["h1", "h2"])
def test_idle_connection_in_the_socket_api(tmp_path, version):
    """Once its transfer is done, an idle connection's socket leaves the application's watch
    (POLL_REMOVE); the next transfer on it registers it again, and closing the multi, which closes
    the connection, has nothing left to report."""
    hc = CleartextHypercorn(tmp_path)
    try:
        m = pycurl.CurlMulti()
        loop = Loop(m)
        c = pycurl.Curl()
        first, fd = run_one(m, loop, c, hc.url("/idle"), version)
        assert first[0] == (b"2" if version == "h2" else b"1.1")
        assert loop.calls_for(fd)[-1] == pycurl.POLL_REMOVE and fd not in loop.watched
        n = len(loop.calls_for(fd))
        again, fd2 = run_one(m, loop, c, hc.url("/again"), version)
        assert again[2] == first[2] and fd2 == fd  # the same client port: the same connection
        assert c.getinfo(pycurl.NUM_CONNECTS) == 0
        # Watched again while it waits for the response (libcurl may find it already there).
        assert loop.calls_for(fd)[n:] in ([pycurl.POLL_IN, pycurl.POLL_REMOVE], [])
        assert fd not in loop.watched
        calls = len(loop.socket_calls)
        m.close()
        assert len(loop.socket_calls) == calls
        c.close()
    finally:
        hc.stop()


@pytest.mark.parametrize("version", ["h1", "h2"])
def test_connection_closed_while_idle_is_not_reused(tmp_path, version):
    """hypercorn closes a connection idle for a second while nothing watches its socket: the next
    transfer finds it closed before using it and connects afresh."""
    hc = CleartextHypercorn(tmp_path, keep_alive=1)
    try:
        m = pycurl.CurlMulti()
        loop = Loop(m)
        c = pycurl.Curl()
        first, _ = run_one(m, loop, c, hc.url("/idle"), version)
        assert loop.watched == {}
        time.sleep(2)
        if version == "h2" and not IS_RS:
            # libcurl 8.23 sends on the closed connection (docs/differences.md).
            assert run_one(m, loop, c, hc.url("/again"), version, fails=True) == (
                [], [(c, pycurl.E_SEND_ERROR, "Send failure: Broken pipe")])
        else:
            again, _ = run_one(m, loop, c, hc.url("/again"), version)
            assert again[:2] == first[:2] and again[2] != first[2]
            assert c.getinfo(pycurl.NUM_CONNECTS) == 1
            assert c.getinfo(pycurl.RESPONSE_CODE) == 200
        assert loop.watched == {}
        m.close()
        c.close()
    finally:
        hc.stop()
