"""Hostile loopback servers for the fault matrix (tests/test_faults.py).

One HTTP listener misbehaves in the way the request path names (``/reset-in-body``,
``/bad-chunk-size`` ...); ``/ok`` answers properly, so a test can show the same handle still works.
A second listener answers a TLS ClientHello with junk. Every connection gets its own thread; the
server never blocks for long, so ``stop()`` returns at once.
"""
import gzip
import socket
import ssl
import struct
import threading
import time
import zlib
from urllib.parse import parse_qs, urlsplit

from helpers import recv_head

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _reset(sock):
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _gzip_bomb(mb, layers):
    data = bytes(mb << 20)
    for _ in range(layers):
        data = gzip.compress(data, 9)
    return data


_BOMBS = {}


def bomb(mb, layers):
    """``mb`` MiB of zeros, gzipped ``layers`` times (cached: building one takes a moment)."""
    key = (mb, layers)
    if key not in _BOMBS:
        _BOMBS[key] = _gzip_bomb(mb, layers)
    return _BOMBS[key]


def warm_bombs(paths):
    """Builds the bombs that ``/bomb?mb=..&layers=..`` paths ask for, so a timed request times the client."""
    for path in paths:
        if path.startswith("/bomb?"):
            q = dict(kv.split("=", 1) for kv in path.split("?", 1)[1].split("&"))
            bomb(int(q.get("mb", 64)), int(q.get("layers", 1)))


def _send_head(sock, status="200 OK", headers=()):
    lines = ["HTTP/1.1 " + status] + ["%s: %s" % h for h in headers]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def h_ok(srv, sock, path, q, req):
    sock.sendall(OK)


def h_reset_before_head(srv, sock, path, q, req):
    _reset(sock)


def h_close_before_head(srv, sock, path, q, req):
    sock.close()


def h_reset_in_head(srv, sock, path, q, req):
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
    time.sleep(0.05)
    _reset(sock)


def h_reset_in_body(srv, sock, path, q, req):
    _send_head(sock, headers=[("Content-Length", "100000")])
    sock.sendall(b"x" * 1000)
    time.sleep(0.05)
    _reset(sock)


def h_short_body(srv, sock, path, q, req):
    _send_head(sock, headers=[("Content-Length", "100000")])
    sock.sendall(b"x" * 1000)
    sock.close()


def h_bad_content_length(srv, sock, path, q, req):
    _send_head(sock, headers=[("Content-Length", "12abc")])
    sock.sendall(b"hello")
    sock.close()


def h_conflicting_content_length(srv, sock, path, q, req):
    _send_head(sock, headers=[("Content-Length", "5"), ("Content-Length", "6")])
    sock.sendall(b"hello!")
    sock.close()


def h_negative_content_length(srv, sock, path, q, req):
    _send_head(sock, headers=[("Content-Length", "-5")])
    sock.sendall(b"hello")
    sock.close()


def h_bad_chunk_size(srv, sock, path, q, req):
    _send_head(sock, headers=[("Transfer-Encoding", "chunked")])
    sock.sendall(b"5\r\nhello\r\nzz\r\nhello\r\n0\r\n\r\n")
    sock.close()


def h_huge_chunk_size(srv, sock, path, q, req):
    _send_head(sock, headers=[("Transfer-Encoding", "chunked")])
    sock.sendall(b"fffffffffffffffffff\r\nhello\r\n0\r\n\r\n")
    sock.close()


def h_chunk_no_crlf(srv, sock, path, q, req):
    _send_head(sock, headers=[("Transfer-Encoding", "chunked")])
    sock.sendall(b"5\r\nhelloXY5\r\nhello\r\n0\r\n\r\n")
    sock.close()


def h_long_header_line(srv, sock, path, q, req):
    n = int(q.get("kb", 110)) << 10
    sock.sendall(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * n + b"\r\nContent-Length: 2\r\n\r\nok")
    sock.close()


def h_header_block(srv, sock, path, q, req):
    n = int(q.get("n", 400))
    line = b"X-Filler-%d: " + b"b" * 1000 + b"\r\n"
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(line % i for i in range(n)) + b"Content-Length: 2\r\n\r\nok"
    sock.sendall(head)
    sock.close()


def h_nul_in_header(srv, sock, path, q, req):
    sock.sendall(b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 2\r\n\r\nok")
    sock.close()


def h_garbage_status(srv, sock, path, q, req):
    sock.sendall(b"HTTP/1.1 abc Nonsense\r\nContent-Length: 2\r\n\r\nok")
    sock.close()


def h_http09(srv, sock, path, q, req):
    sock.sendall(b"hello from the nineties\n")
    sock.close()


def h_drip(srv, sock, path, q, req):
    # One byte every 50 ms of a 1 MB body: slower than any LOW_SPEED_LIMIT the tests set.
    _send_head(sock, headers=[("Content-Length", str(1 << 20))])
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline and not srv.stopping:
            sock.sendall(b"d")
            time.sleep(0.05)
    except OSError:
        pass


def h_silent(srv, sock, path, q, req):
    # Says nothing until the client leaves (or 10 s pass).
    _wait_gone(srv, sock)


def h_bomb(srv, sock, path, q, req):
    layers = int(q.get("layers", 1))
    body = bomb(int(q.get("mb", 64)), layers)
    _send_head(sock, headers=[("Content-Encoding", ", ".join(["gzip"] * layers)),
                              ("Content-Length", str(len(body)))])
    sock.sendall(body)
    sock.close()


def h_loop(srv, sock, path, q, req):
    n = int(q.get("n", 0))
    _send_head(sock, "302 Found", [("Location", "/loop?n=%d" % (n + 1)), ("Content-Length", "0")])


def h_to_scheme(srv, sock, path, q, req):
    target = q.get("to", "ftp://127.0.0.1/")
    _send_head(sock, "302 Found", [("Location", target), ("Content-Length", "0")])


def _range_start(req):
    for line in req.split(b"\r\n"):
        if line.lower().startswith(b"range: bytes="):
            return int(line.split(b"=", 1)[1].split(b"-")[0])
    return None


def h_wrong_range(srv, sock, path, q, req):
    # Asked for bytes from N on, answers 206 with a range that starts at 0.
    n = int(q.get("len", 100))
    _send_head(sock, "206 Partial Content", [("Content-Range", "bytes 0-%d/200" % (n - 1)), ("Content-Length", str(n))])
    sock.sendall(b"r" * n)


def h_range_ignored(srv, sock, path, q, req):
    # Asked for a range, answers 200 with the whole body.
    _send_head(sock, headers=[("Content-Length", "200")])
    sock.sendall(b"r" * 200)


def _gz(data):
    return gzip.compress(data, 6, mtime=0)


def _raw_deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _chunked(body, size=b"%x"):
    return (size % len(body)) + b"\r\n" + body + b"\r\n0\r\n\r\n"


def _head(status, *headers):
    return ("\r\n".join(["HTTP/1.1 " + status] + list(headers)) + "\r\n\r\n").encode("latin-1")


# Canned answers for /raw?name=NAME: each is sent as it is, then the connection closes (or stays
# open for the next request when NAME is in RAW_KEEP).
RAW = {
    "status-099": b"HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok",
    "status-1000": b"HTTP/1.1 1000 High\r\nContent-Length: 2\r\n\r\nok",
    "status-two-digits": b"HTTP/1.1 20 Short\r\nContent-Length: 2\r\n\r\nok",
    "status-no-reason": b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
    "status-garbage-version": b"HTTP/7.7 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "status-lowercase": b"http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "header-no-colon": b"HTTP/1.1 200 OK\r\nThisHasNoColon\r\nContent-Length: 2\r\n\r\nok",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-Fold: first\r\n  second\r\n\tthird\r\nContent-Length: 2\r\n\r\nok",
    "thousand-headers": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"X-H%d: v%d\r\n" % (i, i) for i in range(1000)) + b"Content-Length: 2\r\n\r\nok",
    "head-300k": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"X-F%d: %s\r\n" % (i, b"c" * 1000) for i in range(300)) + b"Content-Length: 2\r\n\r\nok",
    "line-100k": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (100 << 10) + b"\r\nContent-Length: 2\r\n\r\nok",
    "1xx-flood": b"HTTP/1.1 100 Continue\r\n\r\n" * 200
    + b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" * 50
    + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "204-with-body": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
    "304-with-body": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello",
    "204-body-no-length": b"HTTP/1.1 204 No Content\r\n\r\nhello",
    "cl-plus": b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
    "cl-zeros": b"HTTP/1.1 200 OK\r\nContent-Length: 005\r\n\r\nhello",
    "cl-spaces": b"HTTP/1.1 200 OK\r\nContent-Length:    5   \r\n\r\nhello",
    "cl-two-values": b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello",
    "cl-and-te": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(b"hello"),
    "te-gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n" + _gz(b"hello"),
    "te-gzip-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + _chunked(_gz(b"hello")),
    "te-unknown": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: frob, chunked\r\n\r\n" + _chunked(b"hello"),
    "chunk-ext-trailers": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;name=value;q=\"x y\"\r\nhello\r\n0;last\r\nX-Trailer: t1\r\nX-Other: t2\r\n\r\n",
    "chunk-17-hex": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(b"hello", b"%017x"),
    "chunk-16-hex": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(b"hello", b"%016x"),
    "chunk-close-mid": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n8\r\nabc",
    "body-over-length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
    "ce-unknown": b"HTTP/1.1 200 OK\r\nContent-Encoding: frob\r\nContent-Length: 5\r\n\r\nhello",
    "ce-double-gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_gz(_gz(b"hello"))), _gz(_gz(b"hello"))),
    "ce-gzip-truncated": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_gz(b"hello" * 100)) - 6, _gz(b"hello" * 100)[:-6]),
    "ce-gzip-trailing": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_gz(b"hello")) + 7, _gz(b"hello") + b"garbage"),
    "ce-gzip-two-members": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
    % (2 * len(_gz(b"hello")), _gz(b"hello") * 2),
    "ce-deflate-zlib": b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s"
    % (len(zlib.compress(b"hello")), zlib.compress(b"hello")),
    "ce-deflate-raw": b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_raw_deflate(b"hello")), _raw_deflate(b"hello")),
    "ce-identity-gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: identity, gzip\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_gz(b"hello")), _gz(b"hello")),
    "redirect-spaces": _head("302 Found", "Location: /echo/a b?c d", "Content-Length: 0"),
    "redirect-non-ascii": _head("302 Found", "Location: /echo/caf\xe9/\xfc", "Content-Length: 0"),
    "redirect-javascript": _head("302 Found", "Location: javascript:alert(1)", "Content-Length: 0"),
    "redirect-dotdot": _head("302 Found", "Location: ../../x/../echo/./y", "Content-Length: 0"),
    "redirect-empty": _head("302 Found", "Location: ", "Content-Length: 0"),
    "cookies-odd": _head(
        "200 OK",
        "Set-Cookie: a=1; Path=/; HttpOnly; Secure; SameSite=Strict",
        "Set-Cookie: b=2; Max-Age=abc; Domain=127.0.0.1",
        "Set-Cookie: c=3; Expires=Wed, 09 Jun 2091 10:18:14 GMT; Path=/raw",
        "Set-Cookie: d=4; Domain=.example.com",
        "Set-Cookie: e=5; Max-Age=0",
        "Set-Cookie: =novalue",
        "Set-Cookie: f=\"quoted; value\"; Path=/",
        "Set-Cookie: g=7;;;  ;Path=/;Unknown=attr;Version=1",
        "Set-Cookie: h",
        "Set-Cookie: i=9; path=/NoSlash; domain=127.0.0.1; max-age=3600",
        "Content-Length: 2") + b"ok",
    "cookies-many": _head("200 OK", *["Set-Cookie: k%d=v%d; Path=/" % (i, i) for i in range(300)],
                          "Content-Length: 2") + b"ok",
    "many-www-authenticate": _head("401 Unauthorized", *(
        ["WWW-Authenticate: Frob realm=\"x%d\"" % i for i in range(50)]
        + ["WWW-Authenticate: Basic realm=\"b\"", "WWW-Authenticate: Digest realm=\"d\", nonce=\"n1\", qop=\"auth\"",
           "WWW-Authenticate: Bearer", "Content-Length: 2"])) + b"no",
}
RAW_KEEP = {"204-with-body", "304-with-body", "204-body-no-length", "body-over-length", "head-body",
            "redirect-spaces", "redirect-non-ascii", "redirect-javascript", "redirect-dotdot", "redirect-empty",
            "many-www-authenticate"}


def h_raw(srv, sock, path, q, req):
    name = q.get("name", "")
    if name == "head-body":
        # Answers HEAD like GET: a body the client must not read.
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    else:
        sock.sendall(RAW[name])
    return name in RAW_KEEP


def h_echo(srv, sock, path, q, req):
    # The request line as the body: shows the target a redirect led to.
    line = req.split(b"\r\n", 1)[0]
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(line), line))
    return True


def h_slow_head(srv, sock, path, q, req):
    # Slowloris the other way round: the head comes one byte at a time, every `ms` ms.
    pause = int(q.get("ms", 200)) / 1000
    head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"s" * 200 + b"\r\nContent-Length: 2\r\n\r\nok"
    deadline = time.monotonic() + 10
    try:
        for b in head:
            if srv.stopping or time.monotonic() > deadline:
                return
            sock.sendall(bytes([b]))
            time.sleep(pause)
    except OSError:
        pass


def h_no_read(srv, sock, path, q, req):
    # Never reads the request body: answers at once and then waits, so a big upload fills the window.
    sock.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig")
    deadline = time.monotonic() + 5
    while not srv.stopping and time.monotonic() < deadline:
        time.sleep(0.05)


HANDLERS = {
    "/ok": h_ok,
    "/reset-before-head": h_reset_before_head,
    "/close-before-head": h_close_before_head,
    "/reset-in-head": h_reset_in_head,
    "/reset-in-body": h_reset_in_body,
    "/short-body": h_short_body,
    "/bad-content-length": h_bad_content_length,
    "/conflicting-content-length": h_conflicting_content_length,
    "/negative-content-length": h_negative_content_length,
    "/bad-chunk-size": h_bad_chunk_size,
    "/huge-chunk-size": h_huge_chunk_size,
    "/chunk-no-crlf": h_chunk_no_crlf,
    "/long-header-line": h_long_header_line,
    "/header-block": h_header_block,
    "/nul-in-header": h_nul_in_header,
    "/garbage-status": h_garbage_status,
    "/http09": h_http09,
    "/drip": h_drip,
    "/silent": h_silent,
    "/bomb": h_bomb,
    "/loop": h_loop,
    "/to-scheme": h_to_scheme,
    "/wrong-range": h_wrong_range,
    "/range-ignored": h_range_ignored,
    "/raw": h_raw,
    "/echo": h_echo,
    "/slow-head": h_slow_head,
    "/no-read": h_no_read,
}


class HostileServer:
    def __init__(self, certs=None):
        self.stopping = False
        self._lsock = self._listen()
        self._junk = self._listen()
        self.port = self._lsock.getsockname()[1]
        self.junk_port = self._junk.getsockname()[1]
        self._threads = [
            threading.Thread(target=self._accept, args=(self._lsock, self._serve), daemon=True),
            threading.Thread(target=self._accept, args=(self._junk, self._serve_junk), daemon=True),
        ]
        # With certificates: a TLS listener that ends its answers without close_notify.
        self._tls = None
        if certs is not None:
            self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ctx.load_cert_chain(certs.server_cert, certs.server_key)
            self._tls = self._listen()
            self.tls_port = self._tls.getsockname()[1]
            self._threads.append(threading.Thread(target=self._accept, args=(self._tls, self._serve_tls), daemon=True))
            self._tls_modes = _Listeners(self, TLS_MODES)
            self.tls_mode_ports = list(self._tls_modes.ports.values())
        self._proxies = _Listeners(self, PROXY_MODES)
        for t in self._threads:
            t.start()

    @staticmethod
    def _listen():
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        s.settimeout(0.1)
        return s

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def _accept(self, lsock, serve):
        while not self.stopping:
            try:
                sock, _ = lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(None)
            threading.Thread(target=serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        try:
            # Keep-alive: one connection may carry several requests (/ok, redirects, loops).
            while True:
                req = recv_head(sock)
                if b"\r\n\r\n" not in req:
                    return
                target = req.split(b" ", 2)[1].decode("latin-1")
                parts = urlsplit(target)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                handler = HANDLERS.get(parts.path) or (h_echo if parts.path.startswith("/echo/") else None)
                if handler is None:
                    sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                keep = handler(self, sock, parts.path, q, req)
                if sock.fileno() < 0:
                    return
                if not keep and handler not in (h_ok, h_loop, h_to_scheme, h_wrong_range, h_range_ignored):
                    return
        except OSError:
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _serve_junk(self, sock):
        try:
            sock.recv(65536)
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS" + bytes(range(256)))
            time.sleep(0.05)
        except OSError:
            pass
        finally:
            sock.close()

    def _serve_tls(self, sock):
        # Python's SSLSocket.close() without unwrap() sends no close_notify: a bare TCP FIN.
        try:
            sock.settimeout(2)
            tls = self._ctx.wrap_socket(sock, server_side=True)
            req = recv_head(tls)
            if b"\r\n\r\n" not in req:
                return
            path = req.split(b" ", 2)[1]
            if path == b"/eof-no-length":
                tls.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until the close")
            elif path == b"/eof-short":
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
            else:
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            time.sleep(0.05)
            tls.close()
        except (OSError, ssl.SSLError):
            pass
        finally:
            sock.close()

    def tls_url(self, path):
        return "https://127.0.0.1:%d%s" % (self.tls_port, path)

    def tls_mode_url(self, mode, path="/"):
        """``path`` on the TLS peer of ``mode`` (TLS_MODES); its certificate names 127.0.0.1."""
        return "https://127.0.0.1:%d%s" % (self._tls_modes.ports[mode], path)

    def proxy_url(self, mode):
        """The scripted proxy of ``mode`` (PROXY_MODES), as a PROXY value with its scheme."""
        scheme = mode.split("-", 1)[0] if mode.startswith("socks") else "http"
        return "%s://127.0.0.1:%d" % (scheme, self._proxies.ports[mode])

    def stop(self):
        self.stopping = True
        self._lsock.close()
        self._junk.close()
        if self._tls is not None:
            self._tls.close()
            self._tls_modes.close()
        self._proxies.close()
        for t in self._threads:
            t.join(2)


def start(certs=None):
    return HostileServer(certs)


# -- TLS peers that misbehave (session 6) ------------------------------------------------------
# Each mode has its own listener, since a handshake fault happens before any request path.
# The peer runs OpenSSL through ssl.SSLObject over memory buffers, so it controls every byte on
# the wire: half a record, a record over the 16 KiB limit, a TCP close without close_notify.

class _TlsPeer:
    def __init__(self, ctx, sock):
        self.sock = sock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)

    def _feed(self):
        data = self.sock.recv(65536)
        if not data:
            raise OSError("peer closed")
        self.inc.write(data)

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                self._feed()

    def recv_head(self):
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                data += self.obj.read(65536)
            except ssl.SSLWantReadError:
                self._feed()
        return data

    def seal(self, data):
        """The TLS records carrying ``data``, not sent yet."""
        self.obj.write(data)
        return self.out.read()

    def send(self, data):
        self.sock.sendall(self.seal(data))

    def close_notify(self):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        self.flush()


def _wait_gone(srv, sock, secs=10):
    # Holds the connection open, saying nothing, until the client leaves (or ``secs`` pass).
    sock.settimeout(0.1)
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline and not srv.stopping:
        try:
            if not sock.recv(65536):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def _tls_app(srv, sock):
    # A complete handshake, then the request path picks the fault.
    peer = _TlsPeer(srv._ctx, sock)
    peer.handshake()
    req = peer.recv_head()
    path = req.split(b" ", 2)[1].decode("latin-1")
    head = b"HTTP/1.1 200 OK\r\n"
    if path == "/eof-chunked-mid":
        peer.send(head + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n8\r\nabc")
    elif path == "/eof-chunked-done":
        peer.send(head + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    elif path == "/eof-cl-done":
        peer.send(head + b"Content-Length: 5\r\n\r\nhello")
    elif path == "/notify-no-length":
        peer.send(head + b"Connection: close\r\n\r\nbody until close_notify")
        peer.close_notify()
    elif path == "/notify-short":
        peer.send(head + b"Content-Length: 100\r\n\r\nonly ten b")
        peer.close_notify()
    elif path == "/notify-chunked-mid":
        peer.send(head + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n8\r\nabc")
        peer.close_notify()
    elif path == "/stall-mid-record":
        # The head and 100 bytes, then 10 bytes of the next record (the rest never comes).
        peer.send(head + b"Content-Length: 100000\r\n\r\n" + b"s" * 100)
        sock.sendall(peer.seal(b"t" * 1000)[:10])
        _wait_gone(srv, sock)
        return
    elif path == "/big-records":
        # 4 MiB in full 16 KiB records.
        body = bytes(range(256)) * (1 << 14)
        peer.send(head + b"Content-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(body), 1 << 14):
            peer.send(body[i:i + (1 << 14)])
        peer.close_notify()
    elif path == "/oversize-record":
        # A record announcing 20,000 bytes: over TLS's 16 KiB (+ expansion) limit.
        peer.send(head + b"Content-Length: 100000\r\n\r\n" + b"s" * 100)
        sock.sendall(b"\x17\x03\x03\x4e\x20" + bytes(20000))
    elif path == "/bad-mac-record":
        # A record of a plausible size whose bytes are not sealed with the session's keys.
        peer.send(head + b"Content-Length: 100000\r\n\r\n" + b"s" * 100)
        sock.sendall(b"\x17\x03\x03\x01\x00" + bytes(range(256)))
    elif path == "/plaintext-after-handshake":
        # A cleartext HTTP answer after the handshake instead of TLS records.
        sock.sendall(head + b"Content-Length: 2\r\n\r\nok")
    else:
        peer.send(head + b"Content-Length: 2\r\n\r\nok")
        peer.close_notify()
    time.sleep(0.05)


def _tls_hs_close(srv, sock):
    sock.recv(65536)
    sock.close()


def _tls_hs_reset(srv, sock):
    sock.recv(65536)
    _reset(sock)


def _tls_hs_alert(srv, sock):
    # A fatal handshake_failure alert (40) in answer to the ClientHello.
    sock.recv(65536)
    sock.sendall(b"\x15\x03\x03\x00\x02\x02\x28")
    time.sleep(0.05)


def _tls_hs_garbage(srv, sock):
    # A handshake record whose message is nonsense.
    sock.recv(65536)
    sock.sendall(b"\x16\x03\x03\x00\x08" + b"\xfe\x00\x00\x04junk")
    time.sleep(0.05)


def _tls_hs_silent(srv, sock):
    sock.recv(65536)
    _wait_gone(srv, sock)


def _tls_hs_half_hello(srv, sock):
    # The first 40 bytes of a real ServerHello flight, then silence.
    peer = _TlsPeer(srv._ctx, sock)
    peer.inc.write(sock.recv(65536))
    try:
        peer.obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    sock.sendall(peer.out.read()[:40])
    _wait_gone(srv, sock)


TLS_MODES = {
    "app": _tls_app,
    "hs-close": _tls_hs_close,
    "hs-reset": _tls_hs_reset,
    "hs-alert": _tls_hs_alert,
    "hs-garbage": _tls_hs_garbage,
    "hs-silent": _tls_hs_silent,
    "hs-half-hello": _tls_hs_half_hello,
}


# -- Scripted proxies (session 6) --------------------------------------------------------------
# One listener per mode. HTTP CONNECT modes answer the CONNECT; "connect-ok" tunnels to the host
# and port asked for. SOCKS modes answer the greeting and the connect request as their name says.

def _connect_answer(reply, keep=False):
    def handle(srv, sock):
        req = recv_head(sock)
        if b"\r\n\r\n" not in req:
            return
        if reply is None:
            sock.close()
            return
        sock.sendall(reply)
        if keep:
            _wait_gone(srv, sock, 3)
        else:
            time.sleep(0.05)
    return handle


def _relay(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _connect_ok(srv, sock):
    req = recv_head(sock)
    if b"\r\n\r\n" not in req:
        return
    hostport = req.split(b" ", 2)[1].decode("latin-1")
    host, _, port = hostport.rpartition(":")
    up = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
    sock.sendall(b"HTTP/1.1 200 Connection established\r\nX-Proxy: scripted\r\n\r\n")
    rest = req.split(b"\r\n\r\n", 1)[1]
    if rest:
        up.sendall(rest)
    t = threading.Thread(target=_relay, args=(up, sock), daemon=True)
    t.start()
    _relay(sock, up)
    t.join(5)
    up.close()


def _socks4(reply):
    def handle(srv, sock):
        sock.recv(1024)  # VN CD DSTPORT DSTIP USERID NUL (and a name for 4a)
        if reply:
            sock.sendall(reply)
        time.sleep(0.05)
    return handle


def _socks5(method_reply, connect_reply=None):
    def handle(srv, sock):
        sock.recv(1024)  # greeting: VER NMETHODS METHODS
        sock.sendall(method_reply)
        if connect_reply is not None:
            sock.recv(1024)  # VER CMD RSV ATYP DST.ADDR DST.PORT
            sock.sendall(connect_reply)
        time.sleep(0.05)
    return handle


PROXY_MODES = {
    "connect-ok": _connect_ok,
    "connect-407": _connect_answer(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
        b"Content-Length: 4\r\n\r\nauth"),
    "connect-407-close": _connect_answer(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
        b"Connection: close\r\nContent-Length: 4\r\n\r\nauth"),
    "connect-503": _connect_answer(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown"),
    "connect-502-close": _connect_answer(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n"),
    "connect-garbage": _connect_answer(b"\x00\x01garbage that is no status line\r\n\r\n"),
    "connect-http09": _connect_answer(b"hello\n"),
    "connect-close": _connect_answer(None),
    "connect-close-mid-head": _connect_answer(b"HTTP/1.1 200 Connection est"),
    "connect-huge-head": _connect_answer(
        b"HTTP/1.1 200 Connection established\r\n"
        + b"".join(b"X-F%d: %s\r\n" % (i, b"c" * 1000) for i in range(400)) + b"\r\n"),
    "connect-long-line": _connect_answer(
        b"HTTP/1.1 200 Connection established\r\nX-Long: " + b"a" * (110 << 10) + b"\r\n\r\n"),
    "connect-200-body": _connect_answer(
        b"HTTP/1.1 200 Connection established\r\nContent-Length: 5\r\n\r\nhello"),
    "connect-silent": _connect_answer(b"", keep=True),
    "socks4-refused": _socks4(b"\x00\x5b\x00\x00\x00\x00\x00\x00"),
    "socks4-truncated": _socks4(b"\x00\x5a\x00"),
    "socks4-closed": _socks4(b""),
    "socks5-no-method": _socks5(b"\x05\xff"),
    "socks5-truncated-method": _socks5(b"\x05"),
    "socks5-wrong-version": _socks5(b"\x04\x00"),
    "socks5-refused": _socks5(b"\x05\x00", b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00"),
    "socks5-unreachable": _socks5(b"\x05\x00", b"\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00"),
    "socks5-truncated-reply": _socks5(b"\x05\x00", b"\x05\x00\x00"),
    "socks5-bad-atyp": _socks5(b"\x05\x00", b"\x05\x00\x00\x09\x00\x00\x00\x00\x00\x00"),
}


class _Listeners:
    """One loopback listener per mode, each connection handled by ``modes[mode](srv, sock)`` in its
    own thread."""

    def __init__(self, srv, modes):
        self.ports = {}
        self._socks = []
        for mode, handler in modes.items():
            ls = HostileServer._listen()
            self._socks.append(ls)
            self.ports[mode] = ls.getsockname()[1]
            srv._threads.append(threading.Thread(target=srv._accept, args=(ls, self._wrap(srv, handler)),
                                                 daemon=True))

    @staticmethod
    def _wrap(srv, handler):
        def serve(sock):
            try:
                handler(srv, sock)
            except (OSError, ssl.SSLError, ValueError, IndexError):
                pass
            finally:
                try:
                    sock.close()
                except OSError:
                    pass
        return serve

    def close(self):
        for s in self._socks:
            s.close()
