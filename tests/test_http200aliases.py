"""HTTP200ALIASES: a status line starting with an alias (any case) is read as "HTTP/1.0 200",
whatever status it names; without one such a reply is HTTP/0.9 and refused. UPLOAD_BUFFERSIZE:
how much a read callback is asked for at once (clamped to libcurl's 16 KiB .. 2 MiB)."""

import io
import socket
import threading

import pycurl
import pytest

from helpers import perform, perform_error


@pytest.fixture
def raw_server():
    """Answers every connection with the bytes in `srv.reply`, then closes."""

    class Srv:
        reply = b""

    srv = Srv()
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    srv.url = f"http://127.0.0.1:{ls.getsockname()[1]}/"

    def loop():
        while True:
            try:
                s, _ = ls.accept()
            except OSError:
                return
            with s:
                s.recv(65536)
                s.sendall(srv.reply)

    threading.Thread(target=loop, daemon=True).start()
    yield srv
    ls.close()


def fetch(srv, aliases):
    c = pycurl.Curl()
    if aliases is not None:
        c.setopt(pycurl.HTTP200ALIASES, aliases)
    body, lines = perform(c, srv.url)
    return body, lines, c.getinfo(pycurl.RESPONSE_CODE), c.getinfo(pycurl.INFO_HTTP_VERSION)


def test_icy_reply_is_refused_without_an_alias(raw_server):
    raw_server.reply = b"ICY 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    assert perform_error(pycurl.Curl(), raw_server.url) == (
        pycurl.E_UNSUPPORTED_PROTOCOL, "Received HTTP/0.9 when not allowed")


@pytest.mark.parametrize("aliases", [["ICY 200"], ["ICY"], ["icy 200"], ["X", "ICY 200 OK"], ("ICY 2",)])
def test_alias_reads_as_http10_200(raw_server, aliases):
    raw_server.reply = b"ICY 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    body, lines, code, version = fetch(raw_server, aliases)
    assert body == b"hi"
    assert lines == [b"ICY 200 OK\r\n", b"Content-Length: 2\r\n", b"\r\n"]
    assert (code, version) == (200, pycurl.CURL_HTTP_VERSION_1_0)


def test_alias_status_is_always_200(raw_server):
    raw_server.reply = b"ICY 404 Nope\r\nicy-name: x\r\n\r\nbody to the end"
    body, lines, code, _ = fetch(raw_server, ["ICY"])
    assert (body, code) == (b"body to the end", 200)
    assert lines[0] == b"ICY 404 Nope\r\n"


def test_real_http_is_untouched_and_aliases_unset(raw_server):
    raw_server.reply = b"HTTP/1.1 404 Missing\r\nContent-Length: 1\r\n\r\nx"
    _, _, code, version = fetch(raw_server, ["ICY"])
    assert (code, version) == (404, pycurl.CURL_HTTP_VERSION_1_1)
    raw_server.reply = b"ICY 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    c = pycurl.Curl()
    c.setopt(pycurl.HTTP200ALIASES, ["ICY"])
    c.unsetopt(pycurl.HTTP200ALIASES)
    assert perform_error(c, raw_server.url)[0] == pycurl.E_UNSUPPORTED_PROTOCOL


def test_alias_setopt_types(curl):
    with pytest.raises(TypeError):
        curl.setopt(pycurl.HTTP200ALIASES, "ICY")
    with pytest.raises(TypeError):
        curl.setopt(pycurl.HTTP200ALIASES, [1])
    assert curl.setopt(pycurl.HTTP200ALIASES, []) is None


@pytest.mark.parametrize("size,largest", [(None, 65536), (100, 16384), (20000, 20000), (100000, 100000),
                                          (3 * 1024 * 1024, 300000)])
def test_upload_buffersize_sizes_read_requests(server, size, largest):
    data = io.BytesIO(b"x" * 300000)
    asked = []

    def read(n):
        asked.append(n)
        return data.read(n)

    c = pycurl.Curl()
    if size is not None:
        c.setopt(pycurl.UPLOAD_BUFFERSIZE, size)
    body, _ = perform(c, server.url("/echo"), UPLOAD=1, READFUNCTION=read, INFILESIZE=300000)
    assert body == b"PUT\n" + b"x" * 300000
    assert max(asked) == largest


def test_upload_buffersize_setopt_checks(curl):
    with pytest.raises(pycurl.error) as ei:
        curl.setopt(pycurl.UPLOAD_BUFFERSIZE, -1)
    assert ei.value.args[0] == pycurl.E_BAD_FUNCTION_ARGUMENT
    assert curl.setopt(pycurl.UPLOAD_BUFFERSIZE, 0) is None
    with pytest.raises(TypeError):
        curl.unsetopt(pycurl.UPLOAD_BUFFERSIZE)
