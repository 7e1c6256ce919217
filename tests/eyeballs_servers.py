"""Loopback setups for happy eyeballs (tests/test_happy_eyeballs.py and the compat scenario):
several addresses on one port, each serving HTTP, silent (a listener whose accept queue is full:
the kernel drops further SYNs, so a connect neither succeeds nor fails) or refused, and a driver
that records what OPENSOCKETFUNCTION, CLOSESOCKETFUNCTION and the socket API see."""
import io
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pycurl

HAPPY_EYEBALLS_TIMEOUT_MS = 271  # pycurl has no constant for it: setopt by number


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _listener(host, port):
    s = socket.socket(_family(host))
    if ":" in host:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s


class Loopback:
    """Per-address roles on one port: "serve" (a real HTTP server), "silent" (full backlog) or
    absent (refused)."""

    def __init__(self, roles):
        self.closers = []
        for _ in range(50):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
            probe.close()
            try:
                socks = {h: _listener(h, self.port) for h in roles}
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no port free on every address")
        for host, role in roles.items():
            s = socks[host]
            if role == "serve":
                s.listen(16)
                srv = ThreadingHTTPServer((host, self.port), _Hello, bind_and_activate=False)
                srv.socket.close()
                srv.socket = s
                srv.daemon_threads = True
                threading.Thread(target=srv.serve_forever, daemon=True).start()
                self.closers.append(srv.shutdown)
                self.closers.append(srv.server_close)
            else:
                s.listen(0)
                fill = []
                for _ in range(3):  # fills the accept queue: later SYNs go unanswered
                    c = socket.socket(_family(host))
                    c.setblocking(False)
                    try:
                        c.connect((host, self.port))
                    except BlockingIOError:
                        pass
                    fill.append(c)
                self.closers += [c.close for c in fill] + [s.close]
        time.sleep(0.05)

    def close(self):
        for f in self.closers:
            f()


def attempt(port, addresses, multi=False, **opts):
    """One transfer to he.test (resolved to `addresses`); what the application observes."""
    c = pycurl.Curl()
    out = io.BytesIO()
    events = []

    def opensocket(purpose, addr):
        events.append(("open", addr[3][0]))
        return socket.socket(addr[0], addr[1], addr[2]).detach()

    def closesocket(fd):
        events.append(("close", fd))
        socket.close(fd)
        return 0
    c.setopt(pycurl.URL, f"http://he.test:{port}/")
    c.setopt(pycurl.RESOLVE, [f"he.test:{port}:{addresses}"])
    c.setopt(pycurl.WRITEDATA, out)
    c.setopt(pycurl.OPENSOCKETFUNCTION, opensocket)
    c.setopt(pycurl.CLOSESOCKETFUNCTION, closesocket)
    c.setopt(pycurl.CONNECTTIMEOUT, 10)
    for k, v in opts.items():
        c.setopt(HAPPY_EYEBALLS_TIMEOUT_MS if k == "HAPPY_EYEBALLS_TIMEOUT_MS" else getattr(pycurl, k), v)
    t = time.monotonic()
    try:
        if multi:
            drive_socket_action(c, events)
        else:
            c.perform()
        result = ("ok", out.getvalue(), c.getinfo(pycurl.PRIMARY_IP))
    except pycurl.error as e:
        result = ("error",) + e.args[:1]
    took = time.monotonic() - t
    c.close()
    return took, result, events


def drive_socket_action(c, events):
    """An event loop on M_SOCKETFUNCTION / M_TIMERFUNCTION, recording what they report."""
    m = pycurl.CurlMulti()
    socks = {}
    deadline = [None]

    def on_socket(what, fd, multi, data):
        events.append(("sock", what, fd))
        if what == pycurl.POLL_REMOVE:
            socks.pop(fd, None)
        else:
            socks[fd] = what

    def on_timer(ms):
        deadline[0] = None if ms < 0 else time.monotonic() + ms / 1000
    m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
    m.setopt(pycurl.M_TIMERFUNCTION, on_timer)
    m.add_handle(c)
    running = 1
    while running:
        wait = 1.0 if deadline[0] is None else max(0.0, deadline[0] - time.monotonic())
        r = [fd for fd, w in socks.items() if w & pycurl.POLL_IN]
        w = [fd for fd, w in socks.items() if w & pycurl.POLL_OUT]
        rr, ww, _ = select.select(r, w, [], wait)
        for fd in set(rr) | set(ww):
            mask = (pycurl.CSELECT_IN if fd in rr else 0) | (pycurl.CSELECT_OUT if fd in ww else 0)
            running = m.socket_action(fd, mask)[1]
        if not rr and not ww or (deadline[0] is not None and time.monotonic() >= deadline[0]):
            running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]
    _, ok, failed = m.info_read()
    m.remove_handle(c)
    m.close()
    if failed:
        raise pycurl.error(failed[0][1], failed[0][2])
