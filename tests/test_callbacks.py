"""WRITEFUNCTION / HEADERFUNCTION / WRITEDATA / WRITEHEADER semantics."""

import functools
import io

import pytest

import pycurl

from helpers import header_block, perform
import servers


def test_header_lines_exact(server, curl):
    _, headers = perform(curl, server.url("/dup-headers"))
    expected = [b"HTTP/1.1 200 OK\r\n"]
    expected += [f"{k}: {v}\r\n".encode() for k, v in servers.DUP_HEADERS]
    expected += [b"\r\n"]
    assert headers == expected


def test_callbacks_receive_bytes(server, curl):
    types = set()
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: types.add(("w", type(d))))
    curl.setopt(pycurl.HEADERFUNCTION, lambda d: types.add(("h", type(d))))
    curl.perform()
    assert types == {("w", bytes), ("h", bytes)}


def test_one_header_block_per_redirect(server, curl):
    body, headers = perform(curl, server.url("/redirect/2"), FOLLOWLOCATION=1)
    blocks = header_block(headers)
    assert [b[0] for b in blocks] == [b"HTTP/1.1 302 Found\r\n"] * 2 + [b"HTTP/1.1 200 OK\r\n"]
    assert b"Location: /redirect/1\r\n" in blocks[0]
    assert b"Location: /hello\r\n" in blocks[1]
    assert all(b[-1] == b"\r\n" for b in blocks)
    # bodies of the redirect responses are not delivered
    assert body == b"hello world"


def test_early_hints_block(server, curl):
    body, headers = perform(curl, server.url("/early-hints"))
    assert headers == [
        b"HTTP/1.1 103 Early Hints\r\n",
        b"Link: </style.css>; rel=preload; as=style\r\n",
        b"\r\n",
        b"HTTP/1.1 200 OK\r\n",
        b"Content-Type: text/plain\r\n",
        b"Content-Length: 11\r\n",
        b"\r\n",
    ]
    assert body == b"hello world"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200


def test_header_function_on_head(server, curl):
    body, headers = perform(curl, server.url("/hello"), NOBODY=1)
    assert body == b""
    assert headers[0] == b"HTTP/1.1 200 OK\r\n"
    assert headers[-1] == b"\r\n"


def test_header_option_sends_headers_to_write(server, curl):
    chunks = []
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.HEADER, 1)
    curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
    curl.perform()
    assert b"".join(chunks) == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                b"Content-Length: 11\r\n\r\nhello world")


def test_writedata_bytesio(server, curl):
    buf = io.BytesIO()
    curl.setopt(pycurl.URL, server.url("/bytes?n=5000"))
    curl.setopt(pycurl.WRITEDATA, buf)
    curl.perform()
    assert buf.getvalue() == servers.pattern(5000)


def test_writedata_real_file(server, curl, tmp_path):
    path = tmp_path / "out.bin"
    with open(path, "wb") as f:
        curl.setopt(pycurl.URL, server.url("/bytes?n=70000"))
        curl.setopt(pycurl.WRITEDATA, f)
        curl.perform()
    assert path.read_bytes() == servers.pattern(70000)


def test_writeheader_file_object(server, curl):
    hbuf, bbuf = io.BytesIO(), io.BytesIO()
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEDATA, bbuf)
    curl.setopt(pycurl.WRITEHEADER, hbuf)
    curl.perform()
    assert hbuf.getvalue() == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               b"Content-Length: 11\r\n\r\n")
    assert bbuf.getvalue() == b"hello world"


def test_last_of_writefunction_and_writedata_wins(server, curl):
    calls, buf = [], io.BytesIO()
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, calls.append)
    curl.setopt(pycurl.WRITEDATA, buf)
    curl.perform()
    assert calls == [] and buf.getvalue() == b"hello world"
    buf2 = io.BytesIO()
    curl.setopt(pycurl.WRITEDATA, buf2)
    curl.setopt(pycurl.WRITEFUNCTION, calls.append)
    curl.perform()
    assert calls == [b"hello world"] and buf2.getvalue() == b""


def test_writedata_without_write_method(curl):
    with pytest.raises(TypeError, match="object given without a write method"):
        curl.setopt(pycurl.WRITEDATA, object())
    with pytest.raises(TypeError, match="object given without a write method"):
        curl.setopt(pycurl.WRITEHEADER, object())


def test_text_stream_write_error(server, curl, capfd):
    curl.setopt(pycurl.WRITEDATA, io.StringIO())
    code, msg = perform_error_raw(curl, server.url("/hello"))
    assert code == pycurl.E_WRITE_ERROR
    assert msg == "Failure writing output to destination, passed 11 returned 0"
    assert "TypeError" in capfd.readouterr().err


def perform_error_raw(c, url):
    c.setopt(pycurl.URL, url)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    return ei.value.args


@pytest.mark.parametrize("ret", [None, 11])
def test_write_return_ok(server, curl, ret):
    got = []

    def w(d):
        got.append(d)
        return ret
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, w)
    curl.perform()
    assert got == [b"hello world"]


@pytest.mark.parametrize("ret,shown", [(0, "0"), (10, "10"), (12, "12"), (True, "1"),
                                       (-1, "18446744073709551615")])
def test_write_return_count_mismatch(server, curl, ret, shown):
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: ret)
    code, msg = perform_error_raw(curl, server.url("/hello"))
    assert code == pycurl.E_WRITE_ERROR == 23
    assert msg == f"Failure writing output to destination, passed 11 returned {shown}"
    assert curl.errstr() == msg


@pytest.mark.parametrize("ret", ["x", 11.0, b"11"])
def test_write_return_wrong_type(server, curl, capfd, ret):
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: ret)
    code, msg = perform_error_raw(curl, server.url("/hello"))
    assert code == pycurl.E_WRITE_ERROR
    assert msg == "Failure writing output to destination, passed 11 returned 0"
    assert "write callback must return int or None" in capfd.readouterr().err


def test_write_exception_aborts(server, curl, capfd):
    def boom(d):
        raise ValueError("boom in write")
    curl.setopt(pycurl.WRITEFUNCTION, boom)
    code, msg = perform_error_raw(curl, server.url("/hello"))
    assert code == pycurl.E_WRITE_ERROR
    assert msg == "Failure writing output to destination, passed 11 returned 0"
    err = capfd.readouterr().err
    assert "ValueError: boom in write" in err


def test_header_exception_aborts(server, curl, capfd):
    def boom(h):
        raise KeyError("hdr")
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    curl.setopt(pycurl.HEADERFUNCTION, boom)
    code, msg = perform_error_raw(curl, server.url("/hello"))
    assert code == pycurl.E_WRITE_ERROR
    # the first header line is the 17-byte status line
    assert msg == "Failure writing output to destination, passed 17 returned 0"
    assert "KeyError" in capfd.readouterr().err


def test_header_return_zero_aborts(server, curl):
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    curl.setopt(pycurl.HEADERFUNCTION, lambda h: 0)
    code, msg = perform_error_raw(curl, server.url("/hello"))
    assert (code, msg) == (23, "Failure writing output to destination, passed 17 returned 0")


def test_write_abort_midway_big(server, curl):
    seen = [0]

    def w(d):
        seen[0] += len(d)
        if seen[0] > 100_000:
            return 0
    curl.setopt(pycurl.WRITEFUNCTION, w)
    code, msg = perform_error_raw(curl, server.url("/big?mb=4"))
    assert code == pycurl.E_WRITE_ERROR
    assert msg.startswith("Failure writing output to destination, passed ")
    assert seen[0] < 4 * 1024 * 1024
    # handle still usable after the abort
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"


def test_write_not_called_for_empty_body(server, curl):
    calls = []
    curl.setopt(pycurl.URL, server.url("/bytes?n=0"))
    curl.setopt(pycurl.WRITEFUNCTION, calls.append)
    curl.perform()
    assert calls == []


def test_write_chunk_size_limit(server, curl):
    sizes = []
    curl.setopt(pycurl.URL, server.url("/big?mb=2"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: sizes.append(len(d)))
    curl.perform()
    assert sum(sizes) == 2 * 1024 * 1024
    # CURL_MAX_WRITE_SIZE
    assert max(sizes) <= 16384


def test_small_buffersize_limits_chunks(server, curl):
    sizes = []
    curl.setopt(pycurl.URL, server.url("/big?mb=1"))
    curl.setopt(pycurl.BUFFERSIZE, 1024)
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: sizes.append(len(d)))
    curl.perform()
    assert sum(sizes) == 1024 * 1024
    assert max(sizes) <= 1024


def test_callable_kinds(server, curl):
    class Sink:
        def __init__(self):
            self.data = b""

        def __call__(self, d):
            self.data += d

        def method(self, d):
            self.data += d

    s1, s2, parts = Sink(), Sink(), []
    for cb in (s1, s2.method, functools.partial(lambda acc, d: acc.append(d), parts)):
        curl.setopt(pycurl.WRITEFUNCTION, cb)
        perform_ok(curl, server.url("/hello"))
    assert s1.data == s2.data == b"hello world"
    assert parts == [b"hello world"]


def perform_ok(c, url):
    c.setopt(pycurl.URL, url)
    c.perform()


def test_writefunc_pause_and_resume(server, curl):
    got = []
    state = {"paused": 0, "unpaused": 0}

    def write(d):
        if state["paused"] == 0:
            state["paused"] = 1
            return pycurl.WRITEFUNC_PAUSE
        got.append(d)

    def progress(dltotal, dlnow, ultotal, ulnow):
        if state["paused"] == 1 and not state["unpaused"]:
            state["unpaused"] = 1
            curl.pause(pycurl.PAUSE_CONT)
        return 0

    curl.setopt(pycurl.URL, server.url("/bytes?n=100000"))
    curl.setopt(pycurl.WRITEFUNCTION, write)
    curl.setopt(pycurl.NOPROGRESS, 0)
    curl.setopt(pycurl.XFERINFOFUNCTION, progress)
    curl.setopt(pycurl.TIMEOUT, 10)
    curl.perform()
    # the chunk refused with PAUSE is delivered again after unpausing
    assert b"".join(got) == servers.pattern(100000)
    assert state == {"paused": 1, "unpaused": 1}


def test_handle_methods_inside_callback(server, curl):
    results = {}

    def write(d):
        for name, fn in [("setopt", lambda: curl.setopt(pycurl.VERBOSE, 0)),
                         ("perform", curl.perform),
                         ("close", curl.close),
                         ("reset", curl.reset),
                         ("errstr", curl.errstr),
                         ("getinfo", lambda: curl.getinfo(pycurl.RESPONSE_CODE)),
                         ("unsetopt", lambda: curl.unsetopt(pycurl.VERBOSE))]:
            try:
                fn()
                results[name] = None
            except pycurl.error as e:
                results[name] = e.args
        results["closed"] = curl.closed

    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, write)
    curl.perform()
    for name in ("setopt", "perform", "close", "reset", "errstr", "getinfo", "unsetopt"):
        assert results[name] == (f"cannot invoke {name}() - perform() is currently running",)
    assert results["closed"] is False
    # after perform everything works again
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200


def test_duphandle_inside_callback(server, curl):
    dups = []
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: dups.append(curl.duphandle()))
    curl.perform()
    assert len(dups) == 1 and isinstance(dups[0], pycurl.Curl)
    dups[0].close()


def test_unset_writefunction_falls_back_to_stdout(server, curl, capfd):
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    curl.unsetopt(pycurl.WRITEFUNCTION)
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.perform()
    assert capfd.readouterr().out == "hello world"
