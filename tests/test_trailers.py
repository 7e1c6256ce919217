"""TRAILERFUNCTION: trailer lines after the last chunk of a chunked READFUNCTION upload over
HTTP/1.1 (libcurl sends no `Trailer:` header of its own, leaves out lines without ": ", and does
not call the callback over HTTP/2, where it sends no chunked encoding)."""

import pytest

import pycurl

CHUNKED = ["Transfer-Encoding: chunked"]


def upload(curl, server, trailer, headers=CHUNKED, post=False, size=None):
    pieces = [b"hello ", b"world"]
    calls = []

    def tf(*args):
        calls.append(args)
        return trailer() if callable(trailer) else trailer

    curl.setopt(pycurl.URL, server.url("/echo"))
    curl.setopt(pycurl.POST if post else pycurl.UPLOAD, 1)
    if size is not None:
        curl.setopt(pycurl.INFILESIZE, size)
    curl.setopt(pycurl.READFUNCTION, lambda n: pieces.pop(0) if pieces else b"")
    curl.setopt(pycurl.HTTPHEADER, headers)
    curl.setopt(pycurl.TRAILERFUNCTION, tf)
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    before = len(server.requests)
    try:
        curl.perform()
    finally:
        got = server.requests[before:]
    return calls, got


@pytest.mark.parametrize("trailer", [["X-A: 1", "X-B: two"], (b"X-A: 1", "X-B: two")])
def test_trailer_lines_after_last_chunk(server, curl, trailer):
    calls, reqs = upload(curl, server, trailer)
    assert calls == [()]
    assert reqs[0].raw_body == b"6\r\nhello \r\n5\r\nworld\r\n0\r\nX-A: 1\r\nX-B: two\r\n\r\n"
    assert reqs[0].header("trailer") is None
    assert reqs[0].body == b"hello world"


def test_user_trailer_header_is_sent_as_given(server, curl):
    _, reqs = upload(curl, server, ["X-A: 1"], headers=CHUNKED + ["Trailer: X-A"])
    assert reqs[0].header("trailer") == "X-A"
    assert reqs[0].raw_body.endswith(b"0\r\nX-A: 1\r\n\r\n")


def test_chunked_post(server, curl):
    _, reqs = upload(curl, server, ["X-A: 1"], post=True)
    assert reqs[0].method == "POST"
    assert reqs[0].raw_body.endswith(b"0\r\nX-A: 1\r\n\r\n")


@pytest.mark.parametrize("trailer", [[], None])
def test_no_trailers(server, curl, trailer):
    calls, reqs = upload(curl, server, trailer)
    assert calls == [()]
    assert reqs[0].raw_body.endswith(b"world\r\n0\r\n\r\n")


def test_malformed_lines_left_out(server, curl):
    _, reqs = upload(curl, server, ["bad trailer", "X-A:1", "X-Empty:", "X-Ok: yes"])
    assert reqs[0].raw_body.endswith(b"world\r\n0\r\nX-Ok: yes\r\n\r\n")


def test_not_called_without_chunked_encoding(server, curl):
    calls, reqs = upload(curl, server, ["X-A: 1"], headers=[], size=11)
    assert calls == []
    assert reqs[0].header("transfer-encoding") is None
    assert reqs[0].raw_body == b"hello world"


@pytest.mark.parametrize("ret, printed", [
    (0, "trailer callback must return None or a list/tuple of header strings"),
    (pycurl.TRAILERFUNC_ABORT, "trailer callback must return None or a list/tuple of header strings"),
    ("X-A: 1", "trailer callback must return None or a list/tuple of header strings"),
    ([1], "list items must be byte strings or Unicode strings with ASCII code points only"),
])
def test_bad_returns_abort(server, curl, capsys, ret, printed):
    with pytest.raises(pycurl.error) as ei:
        upload(curl, server, ret)
    assert ei.value.args == (pycurl.E_ABORTED_BY_CALLBACK, "operation aborted by trailing headers callback")
    assert printed in capsys.readouterr().err


def test_raising_callback_aborts(server, curl, capsys):
    def boom():
        raise KeyError("no trailers today")
    with pytest.raises(pycurl.error) as ei:
        upload(curl, server, boom)
    assert ei.value.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    assert "no trailers today" in capsys.readouterr().err


def test_option_types(curl):
    with pytest.raises(TypeError, match="integers are not supported"):
        curl.setopt(pycurl.TRAILERFUNCTION, 1)
    curl.setopt(pycurl.TRAILERFUNCTION, None)
    curl.unsetopt(pycurl.TRAILERFUNCTION)
    for opt in (pycurl.TRAILERDATA, pycurl.RESOLVER_START_DATA):
        with pytest.raises(TypeError, match="integers are not supported"):
            curl.setopt(opt, 1)
        with pytest.raises(TypeError, match="strings are not supported"):
            curl.setopt(opt, "x")
        with pytest.raises(TypeError, match="invalid arguments to setopt"):
            curl.setopt(opt, object())
        with pytest.raises(TypeError, match="unsetopt"):
            curl.unsetopt(opt)


def test_not_called_over_http2(tmp_path_factory, certs):
    import h2servers
    hyper = h2servers.Hypercorn(tmp_path_factory.mktemp("hypercorn-trailers"), certs)
    try:
        c = pycurl.Curl()
        c.setopt(pycurl.CAINFO, certs.ca_pem)
        c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_2TLS)
        calls, reqs = [], []
        pieces = [b"hello ", b"world"]
        c.setopt(pycurl.UPLOAD, 1)
        c.setopt(pycurl.READFUNCTION, lambda n: pieces.pop(0) if pieces else b"")
        c.setopt(pycurl.HTTPHEADER, CHUNKED)
        c.setopt(pycurl.TRAILERFUNCTION, lambda: calls.append(1) or ["X-A: 1"])
        _, body = h2servers.fetch(c, hyper.url("/up"))
        assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
        assert body == b"2 PUT hello world"
        assert calls == []
        c.close()
    finally:
        hyper.stop()
