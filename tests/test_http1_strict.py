"""Responses libcurl refuses (or accepts) on purpose: a loopback server sends canned bytes and the
transfer must end with libcurl's code and message, after the same header lines were delivered.

Expected values were taken from real pycurl (libcurl 8.x) against the same bytes."""

import io
import socket
import threading

import pycurl
import pytest

from helpers import recv_head


class RawServer:
    """Answers each connection's request head with one canned byte string, then closes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.payload = b""
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                recv_head(c)
                try:
                    c.sendall(self.payload)
                    c.shutdown(socket.SHUT_WR)
                    c.settimeout(2)
                    c.recv(100)
                except OSError:
                    pass

    def stop(self):
        self.sock.close()


@pytest.fixture(scope="module")
def raw():
    srv = RawServer()
    yield srv
    srv.stop()


def fetch(raw, payload):
    """(code or 0, message, header lines delivered, body)"""
    raw.payload = payload
    c = pycurl.Curl()
    body, lines = io.BytesIO(), []
    c.setopt(pycurl.URL, f"http://127.0.0.1:{raw.port}/")
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.HEADERFUNCTION, lines.append)
    try:
        c.perform()
        result = (0, "", lines, body.getvalue())
    except pycurl.error as e:
        result = (e.args[0], e.args[1], lines, body.getvalue())
    finally:
        c.close()
    return result


OK = b"HTTP/1.1 200 OK\r\n"
CHUNKED = OK + b"Transfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    "payload, code, msg, delivered",
    [
        (OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 8, "Invalid Content-Length: value", 2),
        (OK + b"Content-Length: 5, 6\r\n\r\nhello!", 8, "Invalid Content-Length: value", 1),
        (OK + b"Content-Length: -5\r\n\r\nhello", 8, "Invalid Content-Length: value", 1),
        (OK + b"Content-Length: +5\r\n\r\nhello", 8, "Invalid Content-Length: value", 1),
        (OK + b"Content-Length: 5x\r\n\r\nhello", 8, "Invalid Content-Length: value", 1),
        (OK + b"X-A: a\x00b\r\nContent-Length: 5\r\n\r\nhello", 8, "NUL byte in header", 1),
        (b"HTTP/1.1 200 O\x00K\r\nContent-Length: 5\r\n\r\nhello", 8, "NUL byte in header", 0),
        (OK + b"X-A: a\rb\r\nContent-Length: 5\r\n\r\nhello", 8, "Carriage return found in header", 1),
        (OK + b"NoColonHere\r\nContent-Length: 5\r\n\r\nhello", 8, "Header without colon", 1),
        (b"HTTP/1.1 abc OK\r\n\r\n", 1, "Unsupported HTTP/1 subversion in response", 0),
        (b"HTTP/1.1 20 OK\r\n\r\n", 1, "Unsupported HTTP/1 subversion in response", 0),
        (b"HTTP/1.7 200 OK\r\n\r\n", 1, "Unsupported HTTP/1 subversion in response", 0),
        (b"HTTP/2 200 OK\r\n\r\n", 8, "Version mismatch (from HTTP/1 to HTTP/2)", 0),
        (b"XYZZY 200 OK\r\n\r\n", 1, "Received HTTP/0.9 when not allowed", 0),
        (OK + b"X-Long: " + b"a" * (100 * 1024 - 10) + b"\r\n\r\n", 100,
         "A value or data field grew larger than allowed", 1),
        (CHUNKED + b"5\r\nhelloXX0\r\n\r\n", 56, "Malformed encoding found in chunked-encoding", 3),
        (CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n", 56, "chunk hex-length char not a hex digit: 0x7a", 3),
        (CHUNKED + b"\r\nhello\r\n0\r\n\r\n", 56, "chunk hex-length char not a hex digit: 0xd", 3),
        (CHUNKED + b"f" * 20 + b"\r\nhello\r\n0\r\n\r\n", 56, "chunk hex-length longer than 17", 3),
        (CHUNKED + b"f" * 16 + b"\r\nhello\r\n0\r\n\r\n", 56, "invalid chunk size: 'ffffffffffffffff'", 3),
        (CHUNKED + b"5\r\nhello\r\n0\r\nX-T: " + b"a" * 5000 + b"\r\n\r\n", 100,
         "Out of memory in chunked-encoding", 3),
        (CHUNKED + b"5\r\nhello\r\n0\r\nX-T: \x001\r\n\r\n", 8, "NUL byte in header", 3),
        (CHUNKED + b"5\r\nhel", 18, "transfer closed with outstanding read data remaining", 3),
        (OK + b"Content-Length: 10\r\n\r\nhello", 18, "end of response with 5 bytes missing", 3),
    ],
)
def test_refused_like_libcurl(raw, payload, code, msg, delivered):
    got_code, got_msg, lines, _ = fetch(raw, payload)
    assert (got_code, got_msg) == (code, msg)
    assert len(lines) == delivered


def test_header_block_over_the_limit(raw):
    many = b"".join(b"X-H%d: " % i + b"b" * 1000 + b"\r\n" for i in range(310))
    code, msg, lines, _ = fetch(raw, OK + many + b"Content-Length: 5\r\n\r\nhello")
    assert (code, msg) == (56, "Too large response headers: 307957 > 307200")
    assert len(lines) == 306


def test_header_limit_counts_1xx_heads_too(raw):
    block = b"".join(b"X-H%d: " % i + b"b" * 1000 + b"\r\n" for i in range(200))
    payload = b"HTTP/1.1 100 Continue\r\n" + block + b"\r\n" + OK + block + b"Content-Length: 5\r\n\r\nhello"
    code, msg, lines, _ = fetch(raw, payload)
    assert (code, msg) == (56, "Too large response headers: 307872 > 307200")
    assert len(lines) == 308


@pytest.mark.parametrize(
    "payload, want",
    [
        (OK + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
         [b"Content-Length: 5\r\n", b"Content-Length: 5\r\n", b"\r\n"]),
        (OK + b"Content-Length: 5,5 ,5\r\n\r\nhello", [OK, b"Content-Length: 5,5 ,5\r\n", b"\r\n"]),
        (b"HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello", [b"HTTP/1.1 2000 OK\r\n"]),
        (OK + b"X-A: a  \r\n\t  b  c\r\nContent-Length: 5\r\n\r\nhello", [b"X-A: a b  c\r\n"]),
        (b"HTTP/1.1 200 OK\nX-A: a\n b\nContent-Length: 5\n\nhello", [b"X-A: a b\n"]),
        (CHUNKED + b"5;a=b\r\nhello\r\n0\r\n\r\n", [b"\r\n"]),
        (CHUNKED + b"5\nhello\n0\n\n", [b"\r\n"]),
        (CHUNKED + b"5 \r\nhello\r\r\n0\r\n\r\n", [b"\r\n"]),
        (CHUNKED + b"5\r\nhello\r\n0\r\nX-T: 1\nX-U: 2\r\n\r\n", [b"\r\n", b"X-T: 1\r\n", b"X-U: 2\r\n"]),
        (OK + b"Content-Length: 99999999999999999999\r\n\r\nhello", [b"\r\n"]),
    ],
)
def test_accepted_like_libcurl(raw, payload, want):
    """`want`: header lines delivered one after the other."""
    code, msg, lines, body = fetch(raw, payload)
    assert (code, msg, body) == (0, "", b"hello")
    lines = [bytes(x) for x in lines]
    starts = [i for i in range(len(lines)) if lines[i:i + len(want)] == want]
    assert starts, lines


@pytest.mark.parametrize(
    "payload, nobody, code, delivered",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", True, 8, 1),
        (b"HTTP/1.1 204 No\r\nContent-Length: x\r\n\r\n", False, 0, 3),
        (b"HTTP/1.1 304 NM\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", False, 0, 4),
    ],
)
def test_content_length_checked_only_where_a_body_may_follow(raw, payload, nobody, code, delivered):
    raw.payload = payload
    c = pycurl.Curl()
    lines = []
    c.setopt(pycurl.URL, f"http://127.0.0.1:{raw.port}/")
    c.setopt(pycurl.HEADERFUNCTION, lines.append)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    c.setopt(pycurl.NOBODY, nobody)
    try:
        c.perform()
        got = 0
    except pycurl.error as e:
        got = e.args[0]
    finally:
        c.close()
    assert (got, len(lines)) == (code, delivered)
