"""HTTP/1.0 on the wire: PROXYTYPE_HTTP_1_0's CONNECT, and what libcurl sends after an HTTP/1.0
answer (from a proxy or an origin): the next request of the same transfer (auth retry, redirect)
and the next one on a kept-alive HTTP/1.0 connection are HTTP/1.0 too.

The peer is a scripted loopback server that records each request head with the number of the
connection it came on (tinyproxy forwards every request as HTTP/1.0 and answers its 407 with
`Connection: close`, so it cannot show these). Every expectation was observed with real pycurl
7.49 / libcurl 8.23."""

import io
import socket
import threading

import pytest

import pycurl

from proxies import no_env_proxy  # noqa: F401 - autouse fixture

DENY = b"HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n"
DENY_CLOSE = DENY.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"


class Scripted:
    """Answers request number i with `replies[i]` (the last one repeats): a (bytes, close) pair,
    close meaning the connection ends after it. A CONNECT answered with 2xx relays the connection
    to `origin` (host, port)."""

    def __init__(self, replies, origin=None):
        self.replies = replies
        self.origin = origin
        self.seen = []  # (connection number, request head)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self._serve, args=(conn, self.conns), daemon=True).start()

    def _serve(self, conn, n):
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                head, data = data.split(b"\r\n\r\n", 1)
                i = len(self.seen)
                self.seen.append((n, head.decode("latin-1")))
                reply, close = self.replies[min(i, len(self.replies) - 1)]
                conn.sendall(reply)
                if head.startswith(b"CONNECT") and reply.split(b" ")[1].startswith(b"2"):
                    return self._relay(conn, data)
                if close:
                    return

    def _relay(self, conn, pending):
        up = socket.create_connection(self.origin)
        up.sendall(pending)

        def pump(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        t = threading.Thread(target=pump, args=(up, conn), daemon=True)
        t.start()
        pump(conn, up)
        t.join(5)
        up.close()

    def lines(self):
        """(connection number, request line, has Proxy-Authorization) per request."""
        return [(n, h.split("\r\n")[0], "\r\nProxy-Authorization: " in h) for n, h in self.seen]

    def close(self):
        self.sock.close()


@pytest.fixture
def scripted():
    made = []

    def make(replies, origin=None):
        s = Scripted(replies, origin)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def perform(c, url, **opts):
    out = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, out)
    c.setopt(pycurl.TIMEOUT, 10)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    c.perform()
    return out.getvalue()


def via_proxy(c, port, kind):
    c.setopt(pycurl.PROXY, "127.0.0.1")
    c.setopt(pycurl.PROXYPORT, port)
    c.setopt(pycurl.PROXYTYPE, kind)
    c.setopt(pycurl.PROXYUSERPWD, "u:p")
    c.setopt(pycurl.PROXYAUTH, pycurl.HTTPAUTH_ANY)


def test_connect_is_http10_and_its_407_is_answered_on_the_same_connection(scripted, server):
    """An HTTP/1.0 407 without `Connection: close` leaves the connection open for the answer."""
    p = scripted([(DENY, False), (b"HTTP/1.0 200 Connection established\r\n\r\n", False)],
                 origin=("127.0.0.1", server.port))
    c = pycurl.Curl()
    via_proxy(c, p.port, pycurl.PROXYTYPE_HTTP_1_0)
    assert perform(c, server.url("/hello"), HTTPPROXYTUNNEL=1) == b"hello world"
    target = f"127.0.0.1:{server.port}"
    assert p.lines() == [(1, f"CONNECT {target} HTTP/1.0", False), (1, f"CONNECT {target} HTTP/1.0", True)]
    assert (c.getinfo(pycurl.HTTP_CONNECTCODE), c.getinfo(pycurl.RESPONSE_CODE)) == (200, 200)
    c.close()


def test_connect_is_http11_with_proxytype_http(scripted, server):
    """A 407 with `Connection: close` is answered on a new connection."""
    p = scripted([(DENY_CLOSE, True), (b"HTTP/1.1 200 Connection established\r\n\r\n", False)],
                 origin=("127.0.0.1", server.port))
    c = pycurl.Curl()
    via_proxy(c, p.port, pycurl.PROXYTYPE_HTTP)
    assert perform(c, server.url("/hello"), HTTPPROXYTUNNEL=1) == b"hello world"
    target = f"127.0.0.1:{server.port}"
    assert p.lines() == [(1, f"CONNECT {target} HTTP/1.1", False), (2, f"CONNECT {target} HTTP/1.1", True)]
    c.close()


@pytest.mark.parametrize("kind", ["PROXYTYPE_HTTP", "PROXYTYPE_HTTP_1_0"])
def test_a_request_to_a_proxy_is_http11_and_its_retry_after_an_http10_407_is_http10(scripted, kind):
    """PROXYTYPE_HTTP_1_0 changes only CONNECT: an absolute-form request is HTTP/1.1 either way,
    and the retry after the proxy's HTTP/1.0 407 is HTTP/1.0 either way."""
    p = scripted([(DENY, True), (OK, True)])
    c = pycurl.Curl()
    via_proxy(c, p.port, getattr(pycurl, kind))
    assert perform(c, "http://example.test/x") == b"hi"
    assert p.lines() == [(1, "GET http://example.test/x HTTP/1.1", False),
                         (2, "GET http://example.test/x HTTP/1.0", True)]
    c.close()


def test_a_redirect_after_an_http10_answer_is_http10_and_the_next_transfer_is_not(scripted):
    p = scripted([(b"HTTP/1.0 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n", True), (OK, True),
                  (b"HTTP/1.0 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n", True), (OK, True)])
    c = pycurl.Curl()
    url = f"http://127.0.0.1:{p.port}/r"
    for _ in range(2):
        assert perform(c, url, FOLLOWLOCATION=1) == b"hi"
    assert [line for _, line, _ in p.lines()] == ["GET /r HTTP/1.1", "GET /ok HTTP/1.0"] * 2
    c.close()


def test_a_kept_alive_http10_connection_carries_http10_requests(scripted):
    p = scripted([(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi", False)])
    c = pycurl.Curl()
    url = f"http://127.0.0.1:{p.port}/k"
    for _ in range(3):
        assert perform(c, url) == b"hi"
    assert p.lines() == [(1, "GET /k HTTP/1.1", False), (1, "GET /k HTTP/1.0", False), (1, "GET /k HTTP/1.0", False)]
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    c.close()
