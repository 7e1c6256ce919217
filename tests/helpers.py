"""Small helpers shared by the tests (no network mocking: they only drive
real pycurl handles against the loopback servers)."""

import io
import select
import socket
import subprocess
import threading
import time

import pytest

import pycurl

IS_RS = "pycurl-rs" in pycurl.version


def setopts(c, **opts):
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)


def perform(c, url=None, **opts):
    """Run one transfer on ``c``; returns (body bytes, header lines list).

    Header lines are the raw ``bytes`` passed to HEADERFUNCTION."""
    body = io.BytesIO()
    headers = []
    if url is not None:
        c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, body.write)
    c.setopt(pycurl.HEADERFUNCTION, headers.append)
    setopts(c, **opts)
    c.perform()
    return body.getvalue(), headers


def get(url, **opts):
    """Fresh handle, one transfer; returns (body, headers, code)."""
    c = pycurl.Curl()
    try:
        body, headers = perform(c, url, **opts)
        return body, headers, c.getinfo(pycurl.RESPONSE_CODE)
    finally:
        c.close()


def perform_error(c, url=None, **opts):
    """Run a transfer that must fail; returns the pycurl.error args."""
    with pytest.raises(pycurl.error) as ei:
        perform(c, url, **opts)
    args = ei.value.args
    assert isinstance(args, tuple) and len(args) == 2
    assert isinstance(args[0], int) and isinstance(args[1], str)
    return args


def handshake(srv, c):
    """The TLS server's record of the handshake on the connection ``c`` last used (by its client
    port): tls_info[-1] may be another connection's, recorded late by its server thread."""
    mine = srv.handshakes(c.getinfo(pycurl.LOCAL_PORT))
    assert mine, "the server recorded no handshake from this connection"
    return mine[-1]


def get_error(url, **opts):
    c = pycurl.Curl()
    try:
        return perform_error(c, url, **opts)
    finally:
        c.close()


def header_block(headers):
    """Split header lines into blocks, one per response (ends at blank line)."""
    blocks, cur = [], []
    for h in headers:
        cur.append(h)
        if h in (b"\r\n", b"\n"):
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def parse_headers(lines):
    """Header lines of one block -> list of (name, value) (status line skipped)."""
    out = []
    for ln in lines[1:]:
        ln = ln.rstrip(b"\r\n")
        if not ln:
            continue
        k, _, v = ln.decode("latin-1").partition(":")
        out.append((k, v.strip()))
    return out


def tcp_peer_port(fd):
    """The remote port of the TCP socket `fd` reported to M_SOCKETFUNCTION, or None: resolver
    wake-ups (a pipe, eventfd or socket pair) are reported too, and a socket still connecting has
    no peer yet (a later report of the same socket names it)."""
    try:
        s = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        peer = s.getpeername()
        return peer[1] if isinstance(peer, tuple) else None
    except OSError:
        return None
    finally:
        s.close()


def recv_head(conn, bufsize=65536):
    """Reads from ``conn`` until a request head's blank line has arrived or the peer closes;
    returns every byte read (the caller checks for the blank line where a close matters)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(bufsize)
        if not chunk:
            break
        data += chunk
    return data


def perform_counted(c, url, **opts):
    """Performs ``url`` on ``c`` with options ``opts`` (pycurl names) and a write callback that
    counts; returns (libcurl code, bytes written, seconds)."""
    got = []
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, lambda d: got.append(len(d)))
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    t0 = time.monotonic()
    try:
        c.perform()
        code = 0
    except pycurl.error as e:
        code = e.args[0]
    return code, sum(got), time.monotonic() - t0


def run_scripted(srv, url, **opts):
    """Performs ``url`` on a new handle against ``srv`` (a hostile_proto.Scripted), headers
    dropped, TIMEOUT_MS 5000 unless ``opts`` say otherwise; returns (libcurl code, RESPONSE_CODE,
    bytes written, seconds) once sure the server's script raised nothing."""
    c = pycurl.Curl()
    code, n, secs = perform_counted(c, url, **{"HEADERFUNCTION": lambda h: None, "TIMEOUT_MS": 5000, **opts})
    rc = c.getinfo(pycurl.RESPONSE_CODE)
    c.close()
    assert srv.failure is None, srv.failure
    return code, rc, n, secs


def accept_loop(listener, handle):
    """Runs a thread that hands each connection ``listener`` accepts to ``handle(conn)`` and closes
    it afterwards, until the listener is closed (the scripted servers of single tests)."""
    def loop():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                handle(conn)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


class LoopbackServer:
    """A TCP listener on 127.0.0.1 (``.port``, ``url(path)`` with the class's ``scheme``) that
    serves each connection with ``_serve(conn, *args)`` on a thread of its own, ``args`` being
    what ``_accepted(conn)`` returns on the accepting thread, until ``stop()``."""

    scheme = "tcp"

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def url(self, path=""):
        return f"{self.scheme}://127.0.0.1:{self.port}/{path}"

    def stop(self):
        self._stop = True
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self._thread.join(5)
        self.sock.close()

    def _accepted(self, conn):
        return ()

    def _serve(self, conn, *args):
        raise NotImplementedError

    def _accept_loop(self):
        while True:
            conn, _ = self.sock.accept()
            if self._stop:
                conn.close()
                return
            args = self._accepted(conn)
            threading.Thread(target=self._serve, args=(conn, *args), daemon=True).start()


class UnixServer:
    """An HTTP server on a Unix socket, one request per connection: ``address`` is a path, or
    "\\0name" in Linux's abstract namespace (kept as ``.path``). It answers 200 with ``body``, or
    with the request head it read when ``echo`` is set, and closes; ``.accepted`` counts
    connections. ``stop()`` closes the listener."""

    def __init__(self, address, body=b"ok", echo=False):
        self.path = address
        self.accepted = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(8)

        def answer(conn):
            self.accepted += 1
            head = recv_head(conn).split(b"\r\n\r\n")[0]
            out = head if echo else body
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                         % len(out) + out)

        accept_loop(self.sock, answer)

    def stop(self):
        self.sock.close()


def stop_process(proc, grace=5):
    """Ends a server process: SIGTERM, then SIGKILL if it has not gone after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """A port nothing listens on now (TCP, or UDP with kind=socket.SOCK_DGRAM), for a server to take."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, what, timeout=10, host="127.0.0.1"):
    """Returns once server process `proc` accepts TCP connections on `port`; raises RuntimeError if
    it exits first or does not listen within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


class SocketActionDriver:
    """Drives a CurlMulti through socket_action with select(), as an event loop would: it waits on
    the sockets SOCKETFUNCTION asked for, for as long as TIMERFUNCTION said. `seen` holds every
    socket SOCKETFUNCTION was told to watch."""

    def __init__(self, multi):
        self.multi = multi
        self.socks = {}
        self.seen = set()
        self.timeout = None
        multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)

    def _on_socket(self, what, fd, multi, data):
        if what == pycurl.POLL_REMOVE:
            self.socks.pop(fd, None)
        else:
            self.socks[fd] = what
            self.seen.add(fd)

    def _on_timer(self, ms):
        self.timeout = ms

    def run(self, rounds=10000):
        """Kicks the multi off and runs it until no transfer is left or `rounds` waits have passed;
        returns how many transfers still run."""
        m = self.multi
        running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]
        for _ in range(rounds):
            if not running:
                break
            rl = [fd for fd, w in self.socks.items() if w in (pycurl.POLL_IN, pycurl.POLL_INOUT)]
            wl = [fd for fd, w in self.socks.items() if w in (pycurl.POLL_OUT, pycurl.POLL_INOUT)]
            wait = 1.0 if self.timeout is None or self.timeout < 0 else self.timeout / 1000
            r, w, _ = select.select(rl, wl, [], wait)
            if not r and not w:
                running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]
            for fd in set(r) | set(w):
                ev = (pycurl.CSELECT_IN if fd in r else 0) | (pycurl.CSELECT_OUT if fd in w else 0)
                running = m.socket_action(fd, ev)[1]
        return running


def trace(c):
    """Turns VERBOSE on and collects DEBUGFUNCTION's (kind, bytes) pairs in the list returned."""
    out = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: out.append((kind, data)))
    return out


def sent(t):
    """The commands (HEADER_OUT lines) in a trace()."""
    return [d for k, d in t if k == pycurl.INFOTYPE_HEADER_OUT]


def sent_commands(c):
    """Collects the commands the handle sends (DEBUGFUNCTION's HEADER_OUT lines)."""
    out = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: kind == pycurl.INFOTYPE_HEADER_OUT and out.append(data))
    return out


def perform_all(m, n):
    """Runs the multi with perform()/select() until `n` transfers are done; asserts none failed."""
    while n:
        while m.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        _, ok, bad = m.info_read()
        assert not bad, bad
        n -= len(ok)
        if n:
            m.select(1.0)
