"""Loopback test servers for the pycurl test suite.

Everything here is written on raw sockets (plus the standard ``ssl`` module
for TLS) so that tests have exact control over the bytes that go on the wire
and can inspect exactly what the client sent.  Nothing here talks to anything
but 127.0.0.1.

Interface
---------
``start_server(tls=None, leaf="server", client_auth=False) -> Server``
    Start an HTTP/1.1 server on 127.0.0.1 on an ephemeral port.  ``tls`` is
    ``None`` (plain HTTP) or a :class:`Certs` from :func:`make_certs`; ``leaf``
    picks which certificate the TLS server presents (``"server"``,
    ``"selfsigned"``, ``"expired"`` or ``"wrongname"``); with
    ``client_auth=True`` the TLS server requires a client certificate signed by
    the test CA.

``Server``
    ``.host`` is always ``"127.0.0.1"`` and ``.base`` is
    ``"http://127.0.0.1:PORT"`` or ``"https://127.0.0.1:PORT"``: the TLS server
    is addressed by IP too, so no name resolution is involved (the server leaf
    certificate carries both ``DNS:localhost`` and ``IP:127.0.0.1``).  Tests
    that need a DNS name use ``.url(path, host="localhost")`` together with
    CURLOPT_RESOLVE, which never touches a resolver.
    ``.connections`` counts accepted TCP connections, ``.requests`` is the list
    of :class:`Request` objects received (a ``bytes`` subclass holding the raw
    request head followed by the raw body as received), ``.tls_info`` has one
    dict per completed TLS handshake, in the order the server threads finish
    them (a handshake the client abandons right after it, e.g. on a pin
    mismatch, may be recorded after the next test's): ``.handshakes(port)`` are
    the records of the connections from client port ``port``.

``make_certs(tmpdir) -> Certs``
    Generate a CA and leaf certificates with the ``cryptography`` package.

Every response is HTTP/1.1 with Content-Length unless noted; connections
are kept alive unless the client asks otherwise or the endpoint closes.
A request carrying ``Expect: 100-continue`` gets ``100 Continue`` before its
body is read (except ``/expect?final=CODE``).  Bytes that do not start like
an HTTP request (e.g. a TLS ClientHello) get an immediate 400 and a close.

Endpoints
---------
/hello, /            200 text/plain "hello world"
/bytes?n=N           N bytes of ``pattern(N)``
/chunked?n=N&chunks=K  pattern(N) in K chunks, Transfer-Encoding: chunked
/close?n=N           pattern(N), no length, Connection: close, body ends at close
/http10              HTTP/1.0 reply without length, ends at close
/lf-only             reply with bare LF line endings
/status/CODE         that status, body "status CODE\n" (none for 204/304)
/redirect/N          302 chain: /redirect/N -> /redirect/N-1 ... /redirect/1 -> /hello
/redirect-to?url=U&code=C   Location: U with status C (default 302)
/relative-redirect   302 Location: "hello?from=relative"
/headers             body = the raw request head
/echo                body = METHOD + "\n" + request body (de-chunked); headers
                     X-Method, X-Body-Length, X-Chunked
/gzip /deflate /br   COMPRESSIBLE compressed, with Content-Encoding
/encoded?ce=a,b&label=L   COMPRESSIBLE encoded with each listed coding in
                     order, Content-Encoding: L (default: the ce value)
/badgzip             Content-Encoding: gzip, valid gzip header, corrupt data
/slow?delay=S        sleep S seconds, then /hello's reply
/slowbody?chunks=K&delay=S  Content-Length 10*K, 10 bytes every S seconds
/nothing             read the request, close without a byte
/weird               garbage instead of a status line (HTTP/0.9 to libcurl)
/bad-status          "HTTP/1.1 abc Weird" status line
/bad-header          a header line without a colon
/bad-length          Content-Length: abc
/bad-chunk           chunked body with a non-hex chunk size
/partial             Content-Length 100, 50 bytes sent, close
/dup-headers         the DUP_HEADERS list verbatim, body "ok"
/early-hints         103 Early Hints (Link header), then /hello's reply
/expect              echoes the body; X-Expect shows the Expect header seen
/expect?final=CODE   with Expect: 100-continue, answers CODE at once without
                     reading the body, then closes
/range?n=N           pattern(N) (default 100), honours Range: -> 206 / 416
                     (the 416 has a body with ``err=1``)
/last-modified?t=T&honour=1  200 "fresh body\n" with Last-Modified T (epoch);
                     If-Modified-Since >= T -> 304, If-Unmodified-Since < T -> 412
                     (honour=0 ignores both); lm=TEXT sends TEXT as the
                     Last-Modified value instead (the conditions then ignored)
/basic-auth/U/P      401 + WWW-Authenticate: Basic unless Authorization matches
/digest-auth/U/P     RFC 7616 MD5 digest with qop=auth (fixed nonce/opaque)
/cookie              body = the Cookie request header (empty if none)
/set-cookie?k=v&..   one Set-Cookie per query pair (default session=abc123,
                     theme=dark), Path=/
/set-cookie-raw?c=V  one Set-Cookie: V per c parameter, verbatim (in order)
/big?mb=N            N MiB of pattern data, Content-Length, sent fast
/keepalive-close     advertises keep-alive, then closes after the reply
/head-check          X-Method: the method seen; body "head-check body\n"
                     (HEAD gets the same headers and no body)
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import gzip
import hashlib
import http
import ipaddress
import os
import select
import socket
import ssl
import threading
import time
import urllib.parse
import zlib

try:  # optional: only /br needs it
    import brotli  # type: ignore
except ImportError:  # pragma: no cover
    brotli = None

HOST = "127.0.0.1"

HELLO = b"hello world"
# The decompressed body served by /gzip, /deflate and /br.
COMPRESSIBLE = b"hello world " * 100
_ALPHABET = b"abcdefghijklmnopqrstuvwxyz0123456789"
_MB = 1024 * 1024


def pattern(n: int) -> bytes:
    """Deterministic body of ``n`` bytes served by /bytes, /range, /chunked..."""
    reps = n // len(_ALPHABET) + 1
    return (_ALPHABET * reps)[:n]


_ONE_MB = pattern(_MB)

DUP_HEADERS = [
    ("Content-Type", "text/plain"),
    ("X-Dup", "one"),
    ("x-dup", "two"),
    ("X-DUP", "three"),
    ("Set-Cookie", "a=1; Path=/"),
    ("Set-Cookie", "b=2; Path=/"),
    ("X-Mixed-Case", "Value With Spaces"),
    ("Content-Length", "2"),
]

DIGEST_REALM = "pycurl-test"
DIGEST_NONCE = "6a3c2d1e0f9b8a7c6d5e4f3a2b1c0d9e"
DIGEST_OPAQUE = "0123456789abcdef0123456789abcdef"
BASIC_REALM = "pycurl-test"


# ---------------------------------------------------------------------------
# requests


class Request(bytes):
    """One received request: the raw head (through the blank line) followed by
    the raw body bytes exactly as they came off the socket (chunked framing
    included).  Parsed attributes:

    ``head`` (bytes), ``raw_body`` (bytes), ``body`` (bytes, de-chunked),
    ``method``, ``target`` (as sent), ``path``, ``query`` (dict of lists),
    ``version`` ("HTTP/1.1"), ``headers`` (list of (name, value) str tuples in
    order, names as sent), ``connection_id`` (index of the TCP connection),
    ``peer`` (the client's (ip, port)).
    """

    head: bytes
    raw_body: bytes
    body: bytes
    method: str
    target: str
    path: str
    query: dict
    version: str
    headers: list
    connection_id: int
    peer: tuple

    def header(self, name: str, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name: str):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def qs(self, key: str, default=None):
        vals = self.query.get(key)
        return vals[0] if vals else default


class _ClientGone(Exception):
    pass


class _Conn:
    """Buffered reader/writer over one accepted socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise _ClientGone()
        self.buf += data

    def read_until(self, delim: bytes, limit: int = 1 << 20) -> bytes:
        while True:
            i = self.buf.find(delim)
            if i >= 0:
                out, self.buf = self.buf[: i + len(delim)], self.buf[i + len(delim):]
                return out
            if len(self.buf) > limit:
                raise _ClientGone()
            self._fill()

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data: bytes):
        self.sock.sendall(data)


def _reason(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Unknown"


# ---------------------------------------------------------------------------
# the server


class Server:
    def __init__(self, tls=None, leaf="server", client_auth=False):
        self.certs = tls
        self.host = HOST
        self.scheme = "https" if tls else "http"
        self.requests: list[Request] = []
        self.tls_info: list[dict] = []
        self.tls_errors: list[str] = []
        self._connections = 0
        self.peers: dict = {}  # connection id -> client (ip, port)
        self._lock = threading.Lock()
        self._stopping = False
        self._open = set()
        self._ctx = None
        if tls is not None:
            self._ctx = _server_context(tls, leaf, client_auth)
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind((HOST, 0))
        self._lsock.listen(128)
        self.port = self._lsock.getsockname()[1]
        self.base = f"{self.scheme}://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name=f"server-{self.port}")
        self._thread.start()

    # -- public helpers --------------------------------------------------
    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def url(self, path: str = "/", host: str | None = None) -> str:
        if not path.startswith("/"):
            path = "/" + path
        if host is None:
            return self.base + path
        return f"{self.scheme}://{host}:{self.port}{path}"

    def last_request(self) -> Request:
        with self._lock:
            return self.requests[-1]

    def requests_for(self, path_prefix: str) -> list:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def handshakes(self, port: int) -> list[dict]:
        """The tls_info records of the connections from client port ``port``, oldest first."""
        with self._lock:
            return [t for t in self.tls_info if self.peers[t["connection_id"]][1] == port]

    def stop(self):
        self._stopping = True
        try:
            self._lsock.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._open)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        self._thread.join(timeout=5)

    # -- internals -------------------------------------------------------
    def _accept_loop(self):
        while not self._stopping:
            try:
                r, _, _ = select.select([self._lsock], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not r:
                continue
            try:
                sock, _addr = self._lsock.accept()
            except OSError:
                if self._stopping:
                    return
                continue
            with self._lock:
                self._connections += 1
                conn_id = self._connections
                self._open.add(sock)
                self.peers[conn_id] = _addr
            t = threading.Thread(target=self._serve_conn, args=(sock, conn_id), daemon=True)
            t.start()

    def _serve_conn(self, sock, conn_id):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(30)
            if self._ctx is not None:
                try:
                    tsock = self._ctx.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    with self._lock:
                        self.tls_errors.append(str(e))
                    return
                with self._lock:
                    self._open.discard(sock)
                    self._open.add(tsock)
                sock = tsock
                info = {
                    "version": tsock.version(),
                    "cipher": tsock.cipher(),
                    "alpn": tsock.selected_alpn_protocol(),
                    "sni": getattr(tsock, "sni_name", None),
                    "peer_cert": tsock.getpeercert(binary_form=True),
                    "session_reused": tsock.session_reused,
                    "connection_id": conn_id,
                }
                with self._lock:
                    self.tls_info.append(info)
            conn = _Conn(sock)
            while not self._stopping:
                keep = self._serve_one(conn, conn_id)
                if not keep:
                    break
        except (_ClientGone, OSError, ssl.SSLError):
            pass
        finally:
            with self._lock:
                self._open.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _serve_one(self, conn: _Conn, conn_id: int) -> bool:
        if not conn.buf:
            conn._fill()
        if not conn.buf[:1].isalpha():
            # not HTTP (e.g. a TLS ClientHello sent to a plain server): answer
            # in plain text at once instead of waiting for a blank line
            conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
            return False
        head = conn.read_until(b"\r\n\r\n", limit=256 * 1024)
        lines = head[:-4].split(b"\r\n")
        try:
            method, target, version = lines[0].decode("latin-1").split(" ", 2)
        except ValueError:
            conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return False
        headers = []
        for ln in lines[1:]:
            name, _, value = ln.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        parsed = urllib.parse.urlsplit(target)
        req_path = parsed.path if target.startswith("/") else (parsed.path or target)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)

        def hget(name):
            name = name.lower()
            for k, v in headers:
                if k.lower() == name:
                    return v
            return None

        # Endpoints that answer before the body is read (Expect handling).
        if req_path == "/expect" and "final" in query and \
                (hget("expect") or "").lower() == "100-continue":
            code = int(query["final"][0])
            self._record(head, b"", b"", method, target, req_path, query, version,
                         headers, conn_id)
            body = f"rejected with {code}\n".encode()
            conn.send(_head(code, [("Content-Type", "text/plain"),
                                   ("Content-Length", str(len(body))),
                                   ("Connection", "close")]) + body)
            return False

        if (hget("expect") or "").lower() == "100-continue":
            conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")

        raw_body = b""
        body = b""
        te = (hget("transfer-encoding") or "").lower()
        if "chunked" in te:
            parts = []
            raws = []
            while True:
                size_line = conn.read_until(b"\r\n")
                raws.append(size_line)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    # trailers until blank line
                    while True:
                        tl = conn.read_until(b"\r\n")
                        raws.append(tl)
                        if tl == b"\r\n":
                            break
                    break
                chunk = conn.read_exact(size + 2)
                raws.append(chunk)
                parts.append(chunk[:-2])
            raw_body = b"".join(raws)
            body = b"".join(parts)
        elif hget("content-length") is not None:
            n = int(hget("content-length"))
            raw_body = body = conn.read_exact(n)

        req = self._record(head, raw_body, body, method, target, req_path, query, version,
                           headers, conn_id)

        conn_hdr = (hget("connection") or "").lower()
        if version == "HTTP/1.0":
            keep = "keep-alive" in conn_hdr
        else:
            keep = "close" not in conn_hdr

        handler = _ROUTES.get(req_path)
        if handler is None:
            for prefix, h in _PREFIX_ROUTES:
                if req_path.startswith(prefix):
                    handler = h
                    break
        if handler is None:
            return _respond(conn, req, 404, [("Content-Type", "text/plain")],
                            b"not found\n", keep)
        result = handler(self, conn, req, keep)
        return bool(result) and keep

    def _record(self, head, raw_body, body, method, target, path, query, version, headers,
                conn_id) -> Request:
        req = Request(head + raw_body)
        req.head = head
        req.raw_body = raw_body
        req.body = body
        req.method = method
        req.target = target
        req.path = path
        req.query = query
        req.version = version
        req.headers = headers
        req.connection_id = conn_id
        req.peer = self.peers.get(conn_id)
        with self._lock:
            self.requests.append(req)
        return req


def _head(code: int, headers, reason: str | None = None) -> bytes:
    out = [f"HTTP/1.1 {code} {reason if reason is not None else _reason(code)}\r\n"]
    for k, v in headers:
        out.append(f"{k}: {v}\r\n")
    out.append("\r\n")
    return "".join(out).encode("latin-1")


def _respond(conn, req, code, headers, body=b"", keep=True, reason=None) -> bool:
    headers = list(headers)
    names = {k.lower() for k, _ in headers}
    if "content-length" not in names and "transfer-encoding" not in names and \
            code not in (204, 304) and not 100 <= code < 200:
        headers.append(("Content-Length", str(len(body))))
    if not keep and "connection" not in names:
        headers.append(("Connection", "close"))
    data = _head(code, headers, reason)
    if req.method != "HEAD" and code not in (204, 304):
        data += body
    conn.send(data)
    return keep


# ---------------------------------------------------------------------------
# handlers: each returns True to keep the connection open


def _int(req, key, default):
    try:
        return int(req.qs(key, default))
    except (TypeError, ValueError):
        return default


def _float(req, key, default):
    try:
        return float(req.qs(key, default))
    except (TypeError, ValueError):
        return default


def h_hello(srv, conn, req, keep):
    return _respond(conn, req, 200, [("Content-Type", "text/plain")], HELLO, keep)


def h_bytes(srv, conn, req, keep):
    n = _int(req, "n", 1024)
    return _respond(conn, req, 200, [("Content-Type", "application/octet-stream")],
                    pattern(n), keep)


def h_chunked(srv, conn, req, keep):
    n = _int(req, "n", 1000)
    k = max(1, _int(req, "chunks", 4))
    body = pattern(n)
    hdr = _head(200, [("Content-Type", "application/octet-stream"),
                      ("Transfer-Encoding", "chunked")] +
                ([] if keep else [("Connection", "close")]))
    if req.method == "HEAD":
        conn.send(hdr)
        return keep
    step = max(1, -(-n // k)) if n else 1
    out = [hdr]
    for i in range(0, n, step):
        piece = body[i:i + step]
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    out.append(b"0\r\n\r\n")
    conn.send(b"".join(out))
    return keep


def h_close(srv, conn, req, keep):
    n = _int(req, "n", 1000)
    data = _head(200, [("Content-Type", "application/octet-stream"), ("Connection", "close")])
    if req.method != "HEAD":
        data += pattern(n)
    conn.send(data)
    return False


def h_status(srv, conn, req, keep):
    try:
        code = int(req.path.rsplit("/", 1)[1])
    except ValueError:
        code = 400
    body = f"status {code}\n".encode()
    return _respond(conn, req, code, [("Content-Type", "text/plain")], body, keep)


def h_redirect(srv, conn, req, keep):
    try:
        n = int(req.path.rsplit("/", 1)[1])
    except ValueError:
        n = 1
    loc = "/hello" if n <= 1 else f"/redirect/{n - 1}"
    return _respond(conn, req, 302, [("Location", loc), ("Content-Type", "text/plain")],
                    b"redirecting\n", keep)


def h_redirect_to(srv, conn, req, keep):
    loc = req.qs("url", "/hello")
    code = _int(req, "code", 302)
    return _respond(conn, req, code, [("Location", loc), ("Content-Type", "text/plain")],
                    b"redirecting\n", keep)


def h_relative_redirect(srv, conn, req, keep):
    return _respond(conn, req, 302, [("Location", "hello?from=relative"),
                                     ("Content-Type", "text/plain")], b"redirecting\n", keep)


def h_headers(srv, conn, req, keep):
    return _respond(conn, req, 200, [("Content-Type", "text/plain")], req.head, keep)


def h_echo(srv, conn, req, keep):
    chunked = "chunked" in (req.header("transfer-encoding") or "").lower()
    body = req.method.encode() + b"\n" + req.body
    return _respond(conn, req, 200, [
        ("Content-Type", "application/octet-stream"),
        ("X-Method", req.method),
        ("X-Body-Length", str(len(req.body))),
        ("X-Chunked", "yes" if chunked else "no"),
    ], body, keep)


def h_gzip(srv, conn, req, keep):
    # mtime=0 keeps the bytes deterministic
    data = gzip.compress(COMPRESSIBLE, mtime=0)
    return _respond(conn, req, 200, [("Content-Type", "text/plain"),
                                     ("Content-Encoding", "gzip")], data, keep)


def h_deflate(srv, conn, req, keep):
    data = zlib.compress(COMPRESSIBLE)
    return _respond(conn, req, 200, [("Content-Type", "text/plain"),
                                     ("Content-Encoding", "deflate")], data, keep)


def h_br(srv, conn, req, keep):
    if brotli is None:
        return _respond(conn, req, 500, [], b"brotli module missing\n", keep)
    data = brotli.compress(COMPRESSIBLE)
    return _respond(conn, req, 200, [("Content-Type", "text/plain"),
                                     ("Content-Encoding", "br")], data, keep)


def h_badgzip(srv, conn, req, keep):
    # a valid 10-byte gzip header followed by bytes that are no deflate stream
    data = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 40
    return _respond(conn, req, 200, [("Content-Type", "text/plain"),
                                     ("Content-Encoding", "gzip")], data, False)


def h_encoded(srv, conn, req, keep):
    """COMPRESSIBLE encoded as listed in ?ce= (comma separated, applied in
    order), labelled with exactly that Content-Encoding value; ?label=
    overrides the header value sent."""
    ce = req.qs("ce", "")
    data = COMPRESSIBLE
    for enc in [e.strip() for e in ce.split(",") if e.strip()]:
        if enc == "gzip":
            data = gzip.compress(data, mtime=0)
        elif enc == "deflate":
            data = zlib.compress(data)
        elif enc == "br" and brotli is not None:
            data = brotli.compress(data)
    label = req.qs("label", ce)
    return _respond(conn, req, 200, [("Content-Type", "text/plain"),
                                     ("Content-Encoding", label)], data, keep)


def h_gzip_flushed(srv, conn, req, keep):
    """A gzip (?ce=deflate: zlib) body in ?pieces= chunks, each ending with a sync flush, the
    first sent at once and each next one ?delay= seconds later: a client sees piece i as soon as
    it is decodable."""
    pieces = max(1, _int(req, "pieces", 2))
    delay = _float(req, "delay", 1.0)
    ce = req.qs("ce", "gzip")
    comp = zlib.compressobj(6, zlib.DEFLATED, 31 if ce == "gzip" else 15)
    conn.send(_head(200, [("Content-Type", "text/plain"), ("Content-Encoding", ce),
                          ("Transfer-Encoding", "chunked"), ("Connection", "close")]))
    for i in range(pieces):
        if i:
            time.sleep(delay)
        data = comp.compress(b"piece %d;" % i) + comp.flush(zlib.Z_SYNC_FLUSH)
        if i == pieces - 1:
            data += comp.flush()
        conn.send(b"%x\r\n" % len(data) + data + b"\r\n")
    conn.send(b"0\r\n\r\n")
    return False


_BOMBS: dict = {}


def _bomb(mib: int, layers: int) -> bytes:
    """``mib`` MiB of zero bytes, gzip-compressed ``layers`` times (cached: building one takes a while)."""
    key = (mib, layers)
    if key not in _BOMBS:
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(_MB)
        data = b"".join(comp.compress(zeros) for _ in range(mib)) + comp.flush()
        for _ in range(layers - 1):
            data = gzip.compress(data, compresslevel=9, mtime=0)
        _BOMBS[key] = data
    return _BOMBS[key]


def h_gzip_bomb(srv, conn, req, keep):
    """?mib= MiB of zeros (default 1024), gzip-encoded ?layers= times (1 or 2)."""
    layers = max(1, _int(req, "layers", 1))
    data = _bomb(_int(req, "mib", 1024), layers)
    label = ", ".join(["gzip"] * layers)
    try:
        return _respond(conn, req, 200, [("Content-Type", "application/octet-stream"),
                                         ("Content-Encoding", label)], data, False)
    except OSError:  # the client gave up early, as it should
        return False


def h_slow(srv, conn, req, keep):
    time.sleep(_float(req, "delay", 1.0))
    return _respond(conn, req, 200, [("Content-Type", "text/plain")], HELLO, keep)


def h_slowbody(srv, conn, req, keep):
    k = _int(req, "chunks", 5)
    delay = _float(req, "delay", 0.2)
    piece = b"0123456789"
    conn.send(_head(200, [("Content-Type", "application/octet-stream"),
                          ("Content-Length", str(k * len(piece)))]))
    if req.method == "HEAD":
        return keep
    for i in range(k):
        time.sleep(delay)
        conn.send(piece)
    return keep


def h_nothing(srv, conn, req, keep):
    return False


def h_weird(srv, conn, req, keep):
    # garbage instead of a status line (what an HTTP/0.9 server would send)
    conn.send(b"this is not an http response\r\n\r\n")
    return False


def h_bad_status(srv, conn, req, keep):
    # looks like HTTP/1.1 but the status code is no number
    conn.send(b"HTTP/1.1 abc Weird\r\nContent-Length: 0\r\n\r\n")
    return False


def h_bad_header(srv, conn, req, keep):
    # a header line without a colon
    conn.send(b"HTTP/1.1 200 OK\r\nThis line has no colon\r\nContent-Length: 3\r\n\r\nabc")
    return False


def h_bad_length(srv, conn, req, keep):
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nabc")
    return False


def h_bad_chunk(srv, conn, req, keep):
    conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
    return False


def h_http10(srv, conn, req, keep):
    # HTTP/1.0 reply without length: body runs to connection close
    conn.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold school")
    return False


def h_lf_only(srv, conn, req, keep):
    # bare LF line endings
    conn.send(b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 3\n\nabc")
    return keep


def h_partial(srv, conn, req, keep):
    conn.send(_head(200, [("Content-Type", "application/octet-stream"),
                          ("Content-Length", "100")]) + pattern(50))
    return False


def h_dup_headers(srv, conn, req, keep):
    conn.send(_head(200, DUP_HEADERS) + (b"" if req.method == "HEAD" else b"ok"))
    return keep


def h_early_hints(srv, conn, req, keep):
    conn.send(_head(103, [("Link", "</style.css>; rel=preload; as=style")]))
    return _respond(conn, req, 200, [("Content-Type", "text/plain")], HELLO, keep)


def h_expect(srv, conn, req, keep):
    body = req.body
    return _respond(conn, req, 200, [
        ("Content-Type", "application/octet-stream"),
        ("X-Expect", req.header("expect") or "none"),
        ("X-Body-Length", str(len(body))),
    ], body, keep)


def _parse_range(value: str, size: int):
    """Return (start, end_inclusive) or None when unsatisfiable/invalid."""
    if not value.startswith("bytes="):
        return None
    spec = value[len("bytes="):].split(",")[0].strip()
    first, _, last = spec.partition("-")
    try:
        if first == "":
            n = int(last)
            if n == 0:
                return None
            return max(0, size - n), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def h_range(srv, conn, req, keep):
    size = _int(req, "n", 100)
    full = pattern(size)
    rng = req.header("range")
    if rng is None:
        return _respond(conn, req, 200, [("Content-Type", "application/octet-stream"),
                                         ("Accept-Ranges", "bytes")], full, keep)
    r = _parse_range(rng, size)
    if r is None:
        body = b"range not satisfiable\n" if req.qs("err") else b""
        return _respond(conn, req, 416, [("Content-Range", f"bytes */{size}")], body, keep)
    start, end = r
    return _respond(conn, req, 206, [("Content-Type", "application/octet-stream"),
                                     ("Accept-Ranges", "bytes"),
                                     ("Content-Range", f"bytes {start}-{end}/{size}")],
                    full[start:end + 1], keep)


def h_last_modified(srv, conn, req, keep):
    t = _int(req, "t", 1700000000)
    lm = req.qs("lm") or email.utils.formatdate(t, usegmt=True)
    if req.qs("honour", "1") == "1" and req.qs("lm") is None:
        ims = req.header("if-modified-since")
        if ims and email.utils.parsedate_to_datetime(ims).timestamp() >= t:
            return _respond(conn, req, 304, [("Last-Modified", lm)], b"", keep)
        ius = req.header("if-unmodified-since")
        if ius and email.utils.parsedate_to_datetime(ius).timestamp() < t:
            return _respond(conn, req, 412, [("Last-Modified", lm)], b"precondition failed\n", keep)
    return _respond(conn, req, 200, [("Last-Modified", lm)], b"fresh body\n", keep)


def h_basic_auth(srv, conn, req, keep):
    parts = req.path.split("/")
    user = urllib.parse.unquote(parts[2]) if len(parts) > 2 else ""
    pw = urllib.parse.unquote(parts[3]) if len(parts) > 3 else ""
    auth = req.header("authorization") or ""
    if auth.startswith("Basic "):
        try:
            got = base64.b64decode(auth[6:].strip()).decode("utf-8")
        except Exception:
            got = None
        if got == f"{user}:{pw}":
            return _respond(conn, req, 200, [("Content-Type", "text/plain")],
                            f"authenticated {user}\n".encode(), keep)
    return _respond(conn, req, 401, [("WWW-Authenticate", f'Basic realm="{BASIC_REALM}"'),
                                     ("Content-Type", "text/plain")], b"unauthorized\n", keep)


def parse_auth_params(value: str) -> dict:
    """Parse ``k=v, k2="v 2"`` (quoted or token values) into a dict."""
    out = {}
    i = 0
    n = len(value)
    while i < n:
        while i < n and value[i] in " ,":
            i += 1
        eq = value.find("=", i)
        if eq < 0:
            break
        key = value[i:eq].strip().lower()
        i = eq + 1
        if i < n and value[i] == '"':
            i += 1
            buf = []
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(value[i])
                i += 1
            i += 1
            out[key] = "".join(buf)
        else:
            end = value.find(",", i)
            if end < 0:
                end = n
            out[key] = value[i:end].strip()
            i = end
    return out


def _md5(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def digest_response(user, pw, method, uri, nonce, nc, cnonce, qop="auth", realm=DIGEST_REALM):
    ha1 = _md5(f"{user}:{realm}:{pw}")
    ha2 = _md5(f"{method}:{uri}")
    return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def h_digest_auth(srv, conn, req, keep):
    parts = req.path.split("/")
    user = urllib.parse.unquote(parts[2]) if len(parts) > 2 else ""
    pw = urllib.parse.unquote(parts[3]) if len(parts) > 3 else ""
    auth = req.header("authorization") or ""
    if auth.startswith("Digest "):
        p = parse_auth_params(auth[7:])
        ok = (p.get("username") == user and p.get("realm") == DIGEST_REALM and
              p.get("nonce") == DIGEST_NONCE and p.get("uri") == req.target and
              p.get("qop") == "auth" and p.get("opaque") == DIGEST_OPAQUE and
              "cnonce" in p and "nc" in p and
              p.get("response") == digest_response(user, pw, req.method, p.get("uri", ""),
                                                   DIGEST_NONCE, p.get("nc", ""),
                                                   p.get("cnonce", "")))
        if ok:
            return _respond(conn, req, 200, [("Content-Type", "text/plain")],
                            f"digest authenticated {user}\n".encode(), keep)
    chal = (f'Digest realm="{DIGEST_REALM}", qop="auth", nonce="{DIGEST_NONCE}", '
            f'opaque="{DIGEST_OPAQUE}", algorithm=MD5')
    return _respond(conn, req, 401, [("WWW-Authenticate", chal),
                                     ("Content-Type", "text/plain")], b"unauthorized\n", keep)


def h_cookie(srv, conn, req, keep):
    value = req.header("cookie")
    body = b"" if value is None else value.encode("latin-1")
    return _respond(conn, req, 200, [("Content-Type", "text/plain")], body, keep)


def h_set_cookie(srv, conn, req, keep):
    cookies = [(k, v[0]) for k, v in req.query.items()] or [("session", "abc123"),
                                                           ("theme", "dark")]
    headers = [("Content-Type", "text/plain")]
    for k, v in cookies:
        headers.append(("Set-Cookie", f"{k}={v}; Path=/"))
    return _respond(conn, req, 200, headers, b"cookies set\n", keep)


def h_set_cookie_raw(srv, conn, req, keep):
    headers = [("Content-Type", "text/plain")]
    headers += [("Set-Cookie", v) for v in req.query.get("c", [])]
    return _respond(conn, req, 200, headers, b"cookies set\n", keep)


def h_sts(srv, conn, req, keep):
    """Strict-Transport-Security headers, one per ``v`` query value, as given."""
    headers = [("Content-Type", "text/plain")]
    headers += [("Strict-Transport-Security", v) for v in req.query.get("v", [])]
    return _respond(conn, req, 200, headers, b"sts\n", keep)


def h_big(srv, conn, req, keep):
    mb = _int(req, "mb", 1)
    conn.send(_head(200, [("Content-Type", "application/octet-stream"),
                          ("Content-Length", str(mb * _MB))]))
    if req.method != "HEAD":
        for _ in range(mb):
            conn.send(_ONE_MB)
    return keep


def h_keepalive_close(srv, conn, req, keep):
    body = b"bye"
    conn.send(_head(200, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                          ("Connection", "keep-alive"), ("Keep-Alive", "timeout=30")]) + body)
    try:
        conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return False


def h_head_check(srv, conn, req, keep):
    body = b"head-check body\n"
    return _respond(conn, req, 200, [("Content-Type", "text/plain"),
                                     ("X-Method", req.method)], body, keep)


_ROUTES = {
    "/hello": h_hello,
    "/": h_hello,
    "/bytes": h_bytes,
    "/chunked": h_chunked,
    "/close": h_close,
    "/relative-redirect": h_relative_redirect,
    "/redirect-to": h_redirect_to,
    "/headers": h_headers,
    "/echo": h_echo,
    "/gzip": h_gzip,
    "/deflate": h_deflate,
    "/br": h_br,
    "/badgzip": h_badgzip,
    "/encoded": h_encoded,
    "/gzip-flushed": h_gzip_flushed,
    "/gzip-bomb": h_gzip_bomb,
    "/slow": h_slow,
    "/slowbody": h_slowbody,
    "/nothing": h_nothing,
    "/weird": h_weird,
    "/bad-status": h_bad_status,
    "/bad-header": h_bad_header,
    "/bad-length": h_bad_length,
    "/bad-chunk": h_bad_chunk,
    "/http10": h_http10,
    "/lf-only": h_lf_only,
    "/partial": h_partial,
    "/dup-headers": h_dup_headers,
    "/early-hints": h_early_hints,
    "/expect": h_expect,
    "/range": h_range,
    "/cookie": h_cookie,
    "/set-cookie": h_set_cookie,
    "/set-cookie-raw": h_set_cookie_raw,
    "/sts": h_sts,
    "/big": h_big,
    "/keepalive-close": h_keepalive_close,
    "/head-check": h_head_check,
    "/last-modified": h_last_modified,
}

_PREFIX_ROUTES = [
    ("/status/", h_status),
    ("/redirect/", h_redirect),
    ("/basic-auth/", h_basic_auth),
    ("/digest-auth/", h_digest_auth),
]


def start_server(tls=None, leaf="server", client_auth=False) -> Server:
    return Server(tls=tls, leaf=leaf, client_auth=client_auth)


# ---------------------------------------------------------------------------
# certificates


class Certs:
    """Paths (str) of the generated PEM files, plus a few derived values.

    ``ca_pem``/``ca_key``: the test CA.  ``other_ca_pem``: an unrelated CA that
    signed nothing.  Leaves (``*_cert``/``*_key``): ``server`` (localhost +
    127.0.0.1, signed by the CA), ``selfsigned`` (localhost + 127.0.0.1,
    self-signed), ``expired`` (signed by the CA, expired yesterday),
    ``wrongname`` (only DNS:wrong.example, signed by the CA), ``client``
    (client auth, CN=pycurl-test-client, signed by the CA).
    ``client_combined`` holds the client cert followed by its key.
    ``server_pubkey_pem``: the server leaf's public key (PEM), and
    ``server_pin``: ``"sha256//" + base64(sha256(SPKI DER))``.
    ``other_pin``: a well-formed pin that matches none of the keys.
    """


def _name(cn: str):
    from cryptography.x509.oid import NameOID
    from cryptography import x509
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "XX"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pycurl tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def make_certs(tmpdir) -> Certs:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    tmpdir = str(tmpdir)
    os.makedirs(tmpdir, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def ec_key():
        return ec.generate_private_key(ec.SECP256R1())

    def write_key(path, key):
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))

    def write_cert(path, cert):
        with open(path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))

    def ca_cert(key, cn):
        return (x509.CertificateBuilder()
                .subject_name(_name(cn)).issuer_name(_name(cn))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - day).not_valid_after(now + 3650 * day)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))

    def leaf(key, cn, issuer_cert, issuer_key, names, ips, server=True,
             not_before=None, not_after=None):
        b = (x509.CertificateBuilder()
             .subject_name(_name(cn))
             .issuer_name(issuer_cert.subject if issuer_cert is not None else _name(cn))
             .public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(not_before or now - day)
             .not_valid_after(not_after or now + 825 * day)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage(
                 [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                 critical=False))
        sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i))
                                                   for i in ips]
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if issuer_cert is not None:
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    c = Certs()
    c.dir = tmpdir
    p = lambda name: os.path.join(tmpdir, name)  # noqa: E731

    ca_key = ec_key()
    ca = ca_cert(ca_key, "pycurl test CA")
    c.ca_pem, c.ca_key = p("ca.pem"), p("ca.key")
    write_cert(c.ca_pem, ca)
    write_key(c.ca_key, ca_key)

    other_key = ec_key()
    other = ca_cert(other_key, "pycurl unrelated CA")
    c.other_ca_pem = p("other-ca.pem")
    write_cert(c.other_ca_pem, other)

    # the main server leaf uses RSA so both key types get exercised
    srv_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    srv = leaf(srv_key, "localhost", ca, ca_key, ["localhost"], ["127.0.0.1"])
    c.server_cert, c.server_key = p("server.pem"), p("server.key")
    write_cert(c.server_cert, srv)
    write_key(c.server_key, srv_key)

    ss_key = ec_key()
    ss = leaf(ss_key, "localhost", None, ss_key, ["localhost"], ["127.0.0.1"])
    c.selfsigned_cert, c.selfsigned_key = p("selfsigned.pem"), p("selfsigned.key")
    write_cert(c.selfsigned_cert, ss)
    write_key(c.selfsigned_key, ss_key)

    ex_key = ec_key()
    ex = leaf(ex_key, "localhost", ca, ca_key, ["localhost"], ["127.0.0.1"],
              not_before=now - 30 * day, not_after=now - day)
    c.expired_cert, c.expired_key = p("expired.pem"), p("expired.key")
    write_cert(c.expired_cert, ex)
    write_key(c.expired_key, ex_key)

    wn_key = ec_key()
    wn = leaf(wn_key, "wrong.example", ca, ca_key, ["wrong.example"], [])
    c.wrongname_cert, c.wrongname_key = p("wrongname.pem"), p("wrongname.key")
    write_cert(c.wrongname_cert, wn)
    write_key(c.wrongname_key, wn_key)

    cl_key = ec_key()
    cl = leaf(cl_key, "pycurl-test-client", ca, ca_key, [], [], server=False)
    c.client_cert, c.client_key = p("client.pem"), p("client.key")
    write_cert(c.client_cert, cl)
    write_key(c.client_key, cl_key)
    c.client_combined = p("client-combined.pem")
    with open(c.client_cert, "rb") as f1, open(c.client_key, "rb") as f2, \
            open(c.client_combined, "wb") as f:
        f.write(f1.read() + f2.read())

    spki = srv_key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    c.server_pin = "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode()
    c.other_pin = "sha256//" + base64.b64encode(hashlib.sha256(b"no such key").digest()).decode()
    c.server_pubkey_pem = p("server-pub.pem")
    with open(c.server_pubkey_pem, "wb") as f:
        f.write(srv_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    c.server_cert_der = srv.public_bytes(serialization.Encoding.DER)
    c.ca_cert_der = ca.public_bytes(serialization.Encoding.DER)
    c.client_cert_der = cl.public_bytes(serialization.Encoding.DER)
    return c


def _server_context(certs: Certs, leaf: str, client_auth: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cert = getattr(certs, f"{leaf}_cert")
    key = getattr(certs, f"{leaf}_key")
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])

    def _sni_cb(sslsock, name, _ctx):
        sslsock.sni_name = name

    ctx.sni_callback = _sni_cb
    if client_auth:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(certs.ca_pem)
    return ctx


def refused_port():
    """Return (socket, port): a bound TCP socket that never listens, so
    connecting to the port is refused for as long as the socket is open."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    return s, s.getsockname()[1]
