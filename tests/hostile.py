"""Hostile loopback servers for the fault matrix (tests/test_faults.py).

One HTTP listener misbehaves in the way the request path names (``/reset-in-body``,
``/bad-chunk-size`` ...); ``/ok`` answers properly, so a test can show the same handle still works.
A second listener answers a TLS ClientHello with junk. Every connection gets its own thread; the
server never blocks for long, so ``stop()`` returns at once.
"""
import gzip
import socket
import struct
import threading
import time
from urllib.parse import parse_qs, urlsplit

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
    sock.settimeout(0.1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not srv.stopping:
        try:
            if not sock.recv(65536):
                return
        except socket.timeout:
            continue
        except OSError:
            return


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
    _send_head(sock, "206 Partial Content", [("Content-Range", "bytes 0-99/200"), ("Content-Length", "100")])
    sock.sendall(b"r" * 100)


def h_range_ignored(srv, sock, path, q, req):
    # Asked for a range, answers 200 with the whole body.
    _send_head(sock, headers=[("Content-Length", "200")])
    sock.sendall(b"r" * 200)


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
}


class HostileServer:
    def __init__(self):
        self.stopping = False
        self._lsock = self._listen()
        self._junk = self._listen()
        self.port = self._lsock.getsockname()[1]
        self.junk_port = self._junk.getsockname()[1]
        self._threads = [
            threading.Thread(target=self._accept, args=(self._lsock, self._serve), daemon=True),
            threading.Thread(target=self._accept, args=(self._junk, self._serve_junk), daemon=True),
        ]
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
                req = b""
                while b"\r\n\r\n" not in req:
                    data = sock.recv(65536)
                    if not data:
                        return
                    req += data
                target = req.split(b" ", 2)[1].decode("latin-1")
                parts = urlsplit(target)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                handler = HANDLERS.get(parts.path)
                if handler is None:
                    sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                handler(self, sock, parts.path, q, req)
                if sock.fileno() < 0:
                    return
                if handler not in (h_ok, h_loop, h_to_scheme, h_wrong_range, h_range_ignored):
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

    def stop(self):
        self.stopping = True
        self._lsock.close()
        self._junk.close()
        for t in self._threads:
            t.join(2)


def start():
    return HostileServer()
