"""Streams of one HTTP/2 connection seen from the hostile hyper-h2 server (tests/h2hostile.py),
which records what it could send on each stream: a paused stream holds the server to its
flow-control window while another stream completes; the socket API reports the one shared
socket once and socket_action on it drives every stream; removing one handle resets only its
stream.

Real pycurl (libcurl 8.23) passes the socket tests unchanged; in the pause test it lets the
server send the whole paused body and buffers it, where pycurl-rs holds the server back."""

import io
import time

import pytest

import pycurl

import h2hostile
import servers
from test_multi import drain
from test_multi_socket import Loop


def handle(hostile, certs, path, **opts):
    c = pycurl.Curl()
    c.body = io.BytesIO()
    c.setopt(pycurl.URL, hostile.url(path))
    c.setopt(pycurl.CAINFO, certs.ca_pem)
    c.setopt(pycurl.WRITEDATA, c.body)
    c.setopt(pycurl.PIPEWAIT, 1)
    # One address (no ::1 attempt first): the only sockets are the connection's.
    c.setopt(pycurl.RESOLVE, [f"localhost:{hostile.port}:127.0.0.1"])
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c


def record(hostile, path):
    """The server's record of the one request for `path` (when it was served)."""
    rows = [r for r in hostile.requests if r["path"] == path and r["outcome"] == "served"]
    assert len(rows) == 1, rows
    return rows[0]


def test_paused_stream_holds_the_server_to_its_window(hostile, certs):
    got = []
    state = {"paused": False}

    def writer(data):
        if not state["paused"]:
            state["paused"] = True
            return pycurl.WRITEFUNC_PAUSE
        got.append(data)

    size = 4_000_000
    p = handle(hostile, certs, "/big/4000000?paused", WRITEFUNCTION=writer)
    other = handle(hostile, certs, "/slow/3000000?other")
    m = pycurl.CurlMulti()
    m.add_handle(p)
    m.add_handle(other)
    ok = []
    end = time.monotonic() + 20
    while other not in ok:
        assert time.monotonic() < end
        m.perform()
        o, failed = drain(m)
        assert not failed
        ok += o
        m.select(0.1)
    assert other.body.getvalue() == servers.pattern(3_000_000)
    pr, orow = record(hostile, "/big/4000000?paused"), record(hostile, "/slow/3000000?other")
    assert pr["conn"] == orow["conn"]
    assert hostile.sent[(orow["conn"], orow["sid"])] == 3_000_000
    # While paused the server could send no more than the window the client granted, and that
    # stays so however long the pause lasts.
    window = hostile.client_window[pr["conn"]]
    held = hostile.sent.get((pr["conn"], pr["sid"]), 0)
    assert 0 < held <= window < size
    # libcurl 8's initial stream window; a paused stream keeps its connection's streams there.
    assert window == 64 << 10
    for _ in range(5):
        m.perform()
        m.select(0.1)
    assert hostile.sent[(pr["conn"], pr["sid"])] == held
    assert p not in ok and got == []
    p.pause(pycurl.PAUSE_CONT)
    while True:
        _, running = m.perform()
        if running == 0:
            break
        assert time.monotonic() < end
        m.select(0.1)
    o, failed = drain(m)
    assert o == [p] and not failed
    assert b"".join(got) == servers.pattern(size)
    assert hostile.sent[(pr["conn"], pr["sid"])] == size
    for c in (p, other):
        m.remove_handle(c)
        c.close()
    m.close()


def test_socket_api_reports_the_shared_socket_once(hostile, certs):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    n = 10
    hs = [handle(hostile, certs, f"/big/300000?sock={i}") for i in range(n)]
    for c in hs:
        m.add_handle(c)
    loop._action(pycurl.SOCKET_TIMEOUT, 0)
    assert loop.run() == 0
    ok, failed = drain(m)
    assert not failed and sorted(map(id, ok)) == sorted(map(id, hs))
    assert all(c.body.getvalue() == servers.pattern(300_000) for c in hs)
    rows = [record(hostile, f"/big/300000?sock={i}") for i in range(n)]
    assert len({r["conn"] for r in rows}) == 1
    assert sorted(r["sid"] for r in rows) == list(range(1, 2 * n, 2))
    # One socket for all the streams: its interest is set (out while connecting, then in), and
    # at most removed once at the end; never reported per stream.
    fds = {c.getinfo(pycurl.LASTSOCKET) for c in hs}
    assert len(fds) == 1 and {c.getinfo(pycurl.LOCAL_PORT) for c in hs} != {0}
    calls = loop.calls_for(fds.pop())
    assert calls[:2] == [pycurl.POLL_OUT, pycurl.POLL_IN], calls
    assert calls[2:] in ([], [pycurl.POLL_REMOVE]), calls
    for c in hs:
        m.remove_handle(c)
        c.close()
    m.close()


def test_removing_one_handle_resets_only_its_stream(hostile, certs):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    victim = handle(hostile, certs, "/trickle/1000000?victim")
    victim.setopt(pycurl.WRITEFUNCTION, lambda data: None)
    others = [handle(hostile, certs, f"/slow/500000?keep={i}") for i in range(3)]
    for c in [victim] + others:
        m.add_handle(c)
    loop._action(pycurl.SOCKET_TIMEOUT, 0)
    # Run until the victim's stream is under way on the shared connection, then drop it.
    end = time.monotonic() + 10
    while not any(r["path"] == "/trickle/1000000?victim" for r in hostile.requests):
        assert time.monotonic() < end
        for key, mask in loop.sel.select(0.05):
            ev = (pycurl.CSELECT_IN if mask & 1 else 0) | (pycurl.CSELECT_OUT if mask & 2 else 0)
            loop._action(key.fd, ev)
        if loop.deadline is not None and time.monotonic() >= loop.deadline:
            loop.deadline = None
            loop._action(pycurl.SOCKET_TIMEOUT, 0)
    m.remove_handle(victim)
    assert loop.run() == 0
    ok, failed = drain(m)
    assert not failed and sorted(map(id, ok)) == sorted(map(id, others))
    assert all(c.body.getvalue() == servers.pattern(500_000) for c in others)
    vr = record(hostile, "/trickle/1000000?victim")
    rows = [record(hostile, f"/slow/500000?keep={i}") for i in range(3)]
    assert {r["conn"] for r in rows} == {vr["conn"]}
    # The server saw the victim's stream reset (RST_STREAM from the client), not the connection.
    end = time.monotonic() + 3
    while not any(r["outcome"] == "reset by client" and r["sid"] == vr["sid"] and r["conn"] == vr["conn"]
                  for r in hostile.requests):
        assert time.monotonic() < end, hostile.requests
        time.sleep(0.05)
    assert hostile.sent.get((vr["conn"], vr["sid"]), 0) < 1_000_000
    for c in others:
        m.remove_handle(c)
        c.close()
    victim.close()
    m.close()


def test_a_stream_window_opens_beyond_its_first_64_kib(hostile, certs):
    """libcurl 8 announces a 64 KiB stream window and opens a stream it consumes up to 10 MiB, so a
    large download is not held to 64 KiB per round trip (libcurl by WINDOW_UPDATE on the stream,
    pycurl-rs by moving the connection's INITIAL_WINDOW_SIZE: docs/differences.md)."""
    c = handle(hostile, certs, "/big/3000000?grow")
    c.perform()
    assert c.body.getvalue() == servers.pattern(3_000_000)
    row = record(hostile, "/big/3000000?grow")
    assert hostile.peak_window[(row["conn"], row["sid"])] > 1 << 20
    c.close()
