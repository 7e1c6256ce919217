"""Happy eyeballs as libcurl 8.23 does it, on loopback: ::1 and 127.0.0.1 (and 127.0.0.2) behind
one name through RESOLVE, a silent address made by a listener whose backlog is full (the kernel
drops further SYNs, so a connect there neither succeeds nor fails). libcurl tries IPv6 first, starts
the next address after HAPPY_EYEBALLS_TIMEOUT_MS (200 ms by default) or at once when one is refused,
keeps the first that connects and closes the others; CONNECTTIMEOUT covers the whole race.
Every expectation here was observed with real pycurl 7.49 / libcurl 8.23."""
import io
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

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


@pytest.fixture
def loopback():
    made = []

    def make(**roles):
        names = {"v6": "::1", "v4": "127.0.0.1", "v4b": "127.0.0.2"}
        lb = Loopback({names[k]: v for k, v in roles.items() if v})
        made.append(lb)
        return lb
    yield make
    for lb in made:
        lb.close()


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


def opened(events):
    return [e[1] for e in events if e[0] == "open"]


def test_silent_ipv6_falls_back_to_ipv4_after_the_eyeballs_timeout(loopback):
    lb = loopback(v6="silent", v4="serve")
    took, result, events = attempt(lb.port, "[::1],127.0.0.1")
    assert result == ("ok", b"ok", "127.0.0.1")
    assert opened(events) == ["::1", "127.0.0.1"]
    # The loser is closed through CLOSESOCKETFUNCTION too (and the winner with the handle).
    assert sum(1 for e in events if e[0] == "close") == 2
    assert 0.18 <= took < 3, took  # 200 ms, not the 10 s CONNECTTIMEOUT


def test_ipv6_is_tried_first_whatever_the_order(loopback):
    lb = loopback(v6="serve", v4="silent")
    took, result, events = attempt(lb.port, "127.0.0.1,[::1]")
    assert result == ("ok", b"ok", "::1")
    assert opened(events) == ["::1"]
    assert took < 0.18, took


def test_the_timeout_option_paces_the_attempts(loopback):
    lb = loopback(v6="silent", v4="serve")
    took, result, _ = attempt(lb.port, "[::1],127.0.0.1", HAPPY_EYEBALLS_TIMEOUT_MS=1000)
    assert result == ("ok", b"ok", "127.0.0.1")
    assert 0.95 <= took < 4, took
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", HAPPY_EYEBALLS_TIMEOUT_MS=0)
    assert result == ("ok", b"ok", "127.0.0.1") and opened(events) == ["::1", "127.0.0.1"]
    assert took < 0.18, took


def test_a_refused_address_moves_on_at_once(loopback):
    lb = loopback(v4="serve")  # nothing on ::1: refused
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", HAPPY_EYEBALLS_TIMEOUT_MS=3000)
    assert result == ("ok", b"ok", "127.0.0.1")
    assert opened(events) == ["::1", "127.0.0.1"]
    assert took < 1.5, took


def test_addresses_of_one_family_are_paced_too(loopback):
    lb = loopback(v4b="silent", v4="serve")
    took, result, events = attempt(lb.port, "127.0.0.2,127.0.0.1")
    assert result == ("ok", b"ok", "127.0.0.1")
    assert opened(events) == ["127.0.0.2", "127.0.0.1"]
    assert 0.18 <= took < 3, took


def test_connecttimeout_covers_the_whole_race(loopback):
    lb = loopback(v6="silent", v4="silent")
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", CONNECTTIMEOUT_MS=700)
    assert result == ("error", 28)
    assert opened(events) == ["::1", "127.0.0.1"]
    assert sum(1 for e in events if e[0] == "close") == 2
    assert 0.65 <= took < 3, took


def test_every_address_refused(loopback):
    lb = loopback(v4b="serve")  # the port is free on ::1 and 127.0.0.1
    took, result, events = attempt(lb.port, "[::1],127.0.0.1")
    assert result == ("error", 7)
    assert opened(events) == ["::1", "127.0.0.1"]
    assert took < 1.5, took


def test_ipresolve_restricts_the_families(loopback):
    lb = loopback(v6="silent", v4="serve")
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", IPRESOLVE=pycurl.IPRESOLVE_V4)
    assert result == ("ok", b"ok", "127.0.0.1") and opened(events) == ["127.0.0.1"]
    assert took < 0.18, took
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", IPRESOLVE=pycurl.IPRESOLVE_V6,
                                   CONNECTTIMEOUT_MS=500)
    assert result == ("error", 28) and opened(events) == ["::1"]


def test_socket_api_sees_both_attempts_and_the_loser_removed(loopback):
    lb = loopback(v6="silent", v4="serve")
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", multi=True)
    assert result == ("ok", b"ok", "127.0.0.1")
    assert 0.18 <= took < 3, took
    outs = [e[2] for e in events if e[:2] == ("sock", pycurl.POLL_OUT)]
    assert len(outs) == 2, events  # each attempt waits for writability, reported as libcurl does
    loser, winner = outs
    removed = [e[2] for e in events if e[:2] == ("sock", pycurl.POLL_REMOVE)]
    assert loser in removed and winner in removed
    # The loser's fd is closed only after its REMOVE was reported.
    assert events.index(("sock", pycurl.POLL_REMOVE, loser)) < events.index(("close", loser))
    assert ("sock", pycurl.POLL_IN, winner) in events


def test_option_values():
    c = pycurl.Curl()
    for ok in (0, 1, 200, 2 ** 31):
        c.setopt(HAPPY_EYEBALLS_TIMEOUT_MS, ok)
    with pytest.raises(pycurl.error) as e:
        c.setopt(HAPPY_EYEBALLS_TIMEOUT_MS, -1)
    assert e.value.args == (43, "setopt 0x10f got bad argument")
    with pytest.raises(TypeError, match="unsetopt\\(\\) is not supported for this option"):
        c.unsetopt(HAPPY_EYEBALLS_TIMEOUT_MS)
    with pytest.raises(TypeError, match="strings are not supported for this option"):
        c.setopt(HAPPY_EYEBALLS_TIMEOUT_MS, "x")
    c.close()
