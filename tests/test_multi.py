"""pycurl.CurlMulti: construction, lifecycle, handle bookkeeping, the
perform()/select()/fdset()/timeout()/info_read() loop, setopt and
M_NOTIFYFUNCTION, connection limits and reuse, scale, and bad input.

Everything runs against the loopback server from tests/servers.py.  The
file passes unchanged under real pycurl 7.49 (libcurl 8.23); where the
expected value is an exact pycurl message it is the text real pycurl
produces.  Socket-action driving and the M_SOCKETFUNCTION/M_TIMERFUNCTION
callbacks are in test_multi_socket.py.
"""

import gc
import io
import os
import re
import select
import time
import warnings
import weakref

import pytest

import pycurl

import servers

# ---------------------------------------------------------------------------
# helpers (also imported by test_multi_socket.py)

_bodies = {}


def make(url, **opts):
    """A Curl for ``url`` whose body is collected; read it with body_of(c)."""
    c = pycurl.Curl()
    buf = io.BytesIO()
    _bodies[id(c)] = buf
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, buf.write)
    for name, value in opts.items():
        c.setopt(getattr(pycurl, name), value)
    return c


def body_of(c):
    return _bodies[id(c)].getvalue()


def drive(m, limit=20.0):
    """Run a perform()/select() loop until nothing is running."""
    end = time.monotonic() + limit
    while True:
        ret, running = m.perform()
        assert ret == 0
        if not running:
            return
        assert time.monotonic() < end, "multi transfers did not finish in time"
        m.select(0.5)


def drain(m):
    """Every queued message: (ok list, failed list)."""
    ok, failed = [], []
    while True:
        queued, o, f = m.info_read()
        ok += o
        failed += f
        if not queued:
            return ok, failed


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def wait_fds_back_to(baseline, limit=5.0):
    """The server closes its side of a connection when it sees EOF, in its own
    thread; give it a moment.  Returns the last count seen."""
    end = time.monotonic() + limit
    while True:
        gc.collect()
        n = fd_count()
        if n <= baseline or time.monotonic() > end:
            return n
        time.sleep(0.05)


CLOSED_METHODS = [
    ("perform", lambda m: m.perform(), "cannot invoke perform() - no multi handle"),
    ("timeout", lambda m: m.timeout(), "cannot invoke timeout() - no multi handle"),
    ("select", lambda m: m.select(0.01), "cannot invoke select() - no multi handle"),
    ("fdset", lambda m: m.fdset(), "cannot invoke fdset() - no multi handle"),
    ("info_read", lambda m: m.info_read(), "cannot invoke info_read() - no multi handle"),
    ("info_read_max", lambda m: m.info_read(5), "cannot invoke info_read() - no multi handle"),
    ("socket_action", lambda m: m.socket_action(pycurl.SOCKET_TIMEOUT, 0),
     "cannot invoke socket_action() - no multi handle"),
    ("assign", lambda m: m.assign(3, "x"), "cannot invoke assign() - no multi handle"),
    ("unassign", lambda m: m.unassign(3), "cannot invoke unassign() - no multi handle"),
    ("setopt", lambda m: m.setopt(pycurl.M_MAXCONNECTS, 3),
     "cannot invoke setopt() - no multi handle"),
    ("setopt_func", lambda m: m.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: None),
     "cannot invoke setopt() - no multi handle"),
    ("notify_enable", lambda m: m.notify_enable(pycurl.M_NOTIFY_INFO_READ),
     "cannot invoke notify_enable() - no multi handle"),
    ("notify_disable", lambda m: m.notify_disable(pycurl.M_NOTIFY_INFO_READ),
     "cannot invoke notify_disable() - no multi handle"),
]


# ---------------------------------------------------------------------------
# construction, close(), context manager


def test_default_construction():
    m = pycurl.CurlMulti()
    assert isinstance(m, pycurl.CurlMulti)
    assert m.closed is False
    m.close()
    assert m.closed is True


@pytest.mark.parametrize("flag", [False, True, 0, 1])
def test_close_handles_keyword_accepted(flag):
    m = pycurl.CurlMulti(close_handles=flag)
    assert not m.closed
    m.close()


@pytest.mark.parametrize("args,kwargs", [
    ((True,), {}),
    (("x",), {}),
    ((None,), {}),
    ((1, 2), {}),
    ((), {"foo": 1}),
    ((), {"close_handles": True, "bar": 2}),
])
def test_constructor_bad_arguments(args, kwargs):
    with pytest.raises(TypeError):
        pycurl.CurlMulti(*args, **kwargs)


def test_subclass_of_curlmulti_works(server):
    class Multi(pycurl.CurlMulti):
        pass

    m = Multi()
    assert isinstance(m, pycurl.CurlMulti)
    c = make(server.url("/hello"))
    m.add_handle(c)
    drive(m)
    assert drain(m) == ([c], [])
    m.close()
    assert m.closed and c.multi() is None
    c.close()


def test_close_is_idempotent():
    m = pycurl.CurlMulti()
    assert m.close() is None
    assert m.close() is None
    assert m.closed


@pytest.mark.parametrize("close_handles", [False, True])
def test_close_removes_every_handle(server, close_handles):
    m = pycurl.CurlMulti(close_handles=close_handles)
    cs = [make(server.url("/hello")) for _ in range(3)]
    for c in cs:
        m.add_handle(c)
    drive(m)
    ok, failed = drain(m)
    assert sorted(map(id, ok)) == sorted(map(id, cs)) and failed == []
    m.close()
    assert m.closed
    for c in cs:
        assert c.multi() is None
        assert c not in m
        assert c.closed is close_handles
    if not close_handles:
        # still perfectly usable on its own
        cs[0].perform()
        assert cs[0].getinfo(pycurl.RESPONSE_CODE) == 200
        for c in cs:
            c.close()
    else:
        with pytest.raises(pycurl.error) as ei:
            cs[0].perform()
        assert ei.value.args == ("cannot invoke perform() - no curl handle",)


def test_close_handles_closes_unfinished_handles(server):
    m = pycurl.CurlMulti(close_handles=True)
    c = make(server.url("/slowbody?chunks=20&delay=0.05"))
    m.add_handle(c)
    m.perform()
    m.close()
    assert c.closed and c.multi() is None


@pytest.mark.parametrize("close_handles", [False, True])
def test_individually_removed_handles_are_never_closed(server, close_handles):
    m = pycurl.CurlMulti(close_handles=close_handles)
    kept = make(server.url("/hello"))
    other = make(server.url("/hello"))
    m.add_handle(kept)
    m.add_handle(other)
    drive(m)
    m.remove_handle(kept)
    assert not kept.closed
    m.close()
    assert not kept.closed
    assert other.closed is close_handles
    kept.setopt(pycurl.URL, server.url("/bytes?n=7"))
    kept.perform()
    assert body_of(kept).endswith(servers.pattern(7))
    kept.close()
    if not close_handles:
        other.close()


@pytest.mark.parametrize("close_handles", [False, True])
def test_context_manager(server, close_handles):
    c = make(server.url("/hello"))
    with pycurl.CurlMulti(close_handles=close_handles) as m:
        assert isinstance(m, pycurl.CurlMulti)
        assert not m.closed
        m.add_handle(c)
        drive(m)
    assert m.closed
    assert c.multi() is None
    assert c.closed is close_handles
    assert body_of(c) == servers.HELLO


def test_context_manager_enter_returns_self_and_exit_propagates():
    m = pycurl.CurlMulti()
    assert m.__enter__() is m
    c = pycurl.Curl()
    with pytest.raises(KeyError):
        with m:
            m.add_handle(c)
            raise KeyError("inside")
    assert m.closed
    assert c.multi() is None and not c.closed
    # exit on an already closed multi is harmless
    assert m.__exit__(None, None, None) is None
    c.close()


def test_closed_multi_context_manager_is_harmless():
    m = pycurl.CurlMulti()
    m.close()
    with m as same:
        assert same is m
    assert m.closed


# ---------------------------------------------------------------------------
# garbage collection


def test_multi_garbage_collected_without_close(server):
    calls = []
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda what, fd, multi, sp: calls.append(("socket", what)))
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: calls.append(("timer", ms)))
    m.setopt(pycurl.M_NOTIFYFUNCTION, lambda *a: calls.append(("notify",) + a))
    m.notify_enable(pycurl.M_NOTIFY_INFO_READ, pycurl.M_NOTIFY_EASY_DONE)
    c = make(server.url("/slowbody?chunks=20&delay=0.05"))
    m.add_handle(c)
    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)  # mid-transfer, sockets open
    assert calls
    calls.clear()
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None, "an unreferenced CurlMulti was not freed"
    # libcurl may tell the application to stop watching sockets while the
    # multi is cleaned up; nothing else is called back
    assert all(kind == "socket" and arg == pycurl.POLL_REMOVE for kind, arg in calls), calls
    # the easy handle was detached and works on its own
    assert c.multi() is None
    c.setopt(pycurl.URL, server.url("/hello"))
    c.perform()
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    c.close()


def test_multi_in_reference_cycle_is_collected(server):
    def make_cycle():
        m = pycurl.CurlMulti()
        # callbacks that close over the multi: m -> callback -> m
        m.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: m.closed)
        m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: m.closed)
        cs = [make(server.url("/slowbody?chunks=20&delay=0.05")) for _ in range(2)]
        for c in cs:
            m.add_handle(c)
        m.perform()
        return weakref.ref(m), [weakref.ref(c) for c in cs]

    mref, crefs = make_cycle()
    gc.collect()
    gc.collect()
    assert mref() is None
    assert all(r() is None for r in crefs)


def test_add_handle_keeps_curl_alive(server):
    m = pycurl.CurlMulti()
    chunks = []
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/bytes?n=1000"))
    c.setopt(pycurl.WRITEFUNCTION, chunks.append)
    ref = weakref.ref(c)
    m.add_handle(c)
    del c
    gc.collect()
    assert ref() is not None
    drive(m)
    ok, failed = drain(m)
    assert failed == [] and len(ok) == 1 and ok[0] is ref()
    assert b"".join(chunks) == servers.pattern(1000)
    assert ok[0].getinfo(pycurl.RESPONSE_CODE) == 200
    m.remove_handle(ok[0])
    del ok
    gc.collect()
    assert ref() is None  # the multi let go of it
    m.close()


def test_close_releases_added_handles():
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    ref = weakref.ref(c)
    m.add_handle(c)
    del c
    gc.collect()
    assert ref() is not None
    m.close()
    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------
# add_handle / remove_handle / containment / Curl.multi()


def test_add_remove_contains_and_multi():
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    assert c not in m
    assert c.multi() is None
    assert m.add_handle(c) is None
    assert c in m
    assert c.multi() is m
    assert m.remove_handle(c) is None
    assert c not in m
    assert c.multi() is None
    # can be added again after removal
    m.add_handle(c)
    assert c in m
    m.close()
    c.close()


def test_add_twice_raises():
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    m.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        m.add_handle(c)
    assert ei.value.args == ("curl object already on this multi-stack",)
    assert c in m
    m.close()
    c.close()


def test_add_to_second_multi_raises():
    m1, m2 = pycurl.CurlMulti(), pycurl.CurlMulti()
    c = pycurl.Curl()
    m1.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        m2.add_handle(c)
    assert ei.value.args == ("cannot add/remove handle - curl object already on another multi-stack",)
    with pytest.raises(pycurl.error) as ei:
        m2.remove_handle(c)
    assert ei.value.args == ("cannot add/remove handle - curl object already on another multi-stack",)
    assert c.multi() is m1 and c in m1 and c not in m2
    m1.remove_handle(c)
    m2.add_handle(c)
    assert c.multi() is m2
    m1.close()
    m2.close()
    c.close()


def test_add_closed_curl_raises():
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.close()
    with pytest.raises(pycurl.error) as ei:
        m.add_handle(c)
    assert ei.value.args == ("curl object already closed",)
    assert c not in m
    m.close()


def test_remove_handle_not_added_raises():
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    with pytest.raises(pycurl.error) as ei:
        m.remove_handle(c)
    assert ei.value.args == ("curl object not on this multi-stack",)
    m.add_handle(c)
    m.remove_handle(c)
    with pytest.raises(pycurl.error) as ei:
        m.remove_handle(c)
    assert ei.value.args == ("curl object not on this multi-stack",)
    m.close()
    c.close()


def test_closing_curl_takes_it_out_of_the_multi():
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    m.add_handle(c)
    c.close()
    assert c not in m
    assert c.multi() is None
    m.close()


def test_curl_perform_while_in_multi_raises(server):
    m = pycurl.CurlMulti()
    c = make(server.url("/hello"))
    m.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (pycurl.E_FAILED_INIT, "easy handle already used in multi handle")
    drive(m)
    assert drain(m) == ([c], [])
    m.remove_handle(c)
    c.perform()  # fine once removed
    assert body_of(c) == servers.HELLO * 2
    m.close()
    c.close()


def test_curl_subclass_is_accepted(server):
    class MyCurl(pycurl.Curl):
        pass

    m = pycurl.CurlMulti()
    c = MyCurl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    m.add_handle(c)
    drive(m)
    ok, failed = drain(m)
    assert ok == [c] and type(ok[0]) is MyCurl and failed == []
    m.close()
    c.close()


FOREIGN = [None, 1, "http://127.0.0.1/", object(), b"x", [pycurl.Curl]]


@pytest.mark.parametrize("obj", FOREIGN + ["multi"], ids=repr)
def test_foreign_objects_as_handles(obj):
    m = pycurl.CurlMulti()
    if obj == "multi":
        obj = pycurl.CurlMulti()
    with pytest.raises(TypeError) as ei:
        m.add_handle(obj)
    assert str(ei.value).startswith("add_handle() argument 1 must be pycurl.Curl, not ")
    with pytest.raises(TypeError) as ei:
        m.remove_handle(obj)
    assert str(ei.value).startswith("remove_handle() argument 1 must be pycurl.Curl, not ")
    m.close()


@pytest.mark.parametrize("obj", FOREIGN + ["multi"], ids=repr)
def test_containment_of_foreign_objects(obj):
    m = pycurl.CurlMulti()
    if obj == "multi":
        obj = m
    with pytest.raises(TypeError) as ei:
        obj in m  # noqa: B015
    assert str(ei.value) == "__contains__ expects a Curl object"
    m.close()


def test_handle_argument_counts():
    m = pycurl.CurlMulti()
    with pytest.raises(TypeError):
        m.add_handle()
    with pytest.raises(TypeError):
        m.add_handle(pycurl.Curl(), pycurl.Curl())
    with pytest.raises(TypeError):
        m.remove_handle()
    m.close()


def test_not_a_container_or_sequence():
    m = pycurl.CurlMulti()
    with pytest.raises(TypeError):
        len(m)
    with pytest.raises(TypeError):
        iter(m)
    m.close()


def test_not_picklable():
    import copy
    import pickle

    m = pycurl.CurlMulti()
    with pytest.raises(TypeError):
        pickle.dumps(m)
    with pytest.raises(TypeError):
        copy.copy(m)
    m.close()


# ---------------------------------------------------------------------------
# perform / select / fdset / timeout / info_read


def test_perform_return_value(server):
    m = pycurl.CurlMulti()
    assert m.perform() == (0, 0)
    cs = [make(server.url("/slow?delay=0.2")) for _ in range(3)]
    for c in cs:
        m.add_handle(c)
    ret = m.perform()
    assert isinstance(ret, tuple) and len(ret) == 2
    assert ret[0] == 0 and type(ret[1]) is int
    assert ret[1] == 3
    drive(m)
    assert m.perform() == (0, 0)
    for c in cs:
        assert c.getinfo(pycurl.RESPONSE_CODE) == 200
        assert body_of(c) == servers.HELLO
    m.close()


def test_running_count_drops_as_transfers_finish(server):
    m = pycurl.CurlMulti()
    fast = make(server.url("/hello"))
    slow = make(server.url("/slow?delay=0.5"))
    m.add_handle(fast)
    m.add_handle(slow)
    seen = set()
    end = time.monotonic() + 10
    while True:
        _, running = m.perform()
        seen.add(running)
        if not running:
            break
        assert time.monotonic() < end
        m.select(0.2)
    assert {2, 1, 0} <= seen
    m.close()


def test_select_empty_multi_returns_zero_at_once():
    m = pycurl.CurlMulti()
    t0 = time.monotonic()
    assert m.select(1.0) == 0
    assert time.monotonic() - t0 < 0.5
    m.close()


def test_select_counts_ready_descriptors(server):
    m = pycurl.CurlMulti()
    c = make(server.url("/slow?delay=0.3"))
    m.add_handle(c)
    m.perform()
    m.perform()
    t0 = time.monotonic()
    n = m.select(5.0)
    assert type(n) is int and n >= 1
    assert time.monotonic() - t0 < 4.0
    drive(m)
    m.close()


def test_select_times_out_with_zero(server):
    m = pycurl.CurlMulti()
    c = make(server.url("/slow?delay=2"))
    m.add_handle(c)
    # once the request is out, the socket stays quiet for two seconds
    m.perform()
    quiet = 0
    for _ in range(10):
        t0 = time.monotonic()
        n = m.select(0.1)
        if n == 0:
            quiet += 1
            assert 0.05 < time.monotonic() - t0 < 1.0
            break
        m.perform()
    assert quiet == 1
    m.close()
    c.close()


@pytest.mark.parametrize("value,exc", [
    ("x", TypeError), (None, TypeError), ([1], TypeError),
    (-1, OverflowError), (-0.5, OverflowError), (1e300, OverflowError), (2 ** 40, OverflowError),
])
def test_select_bad_timeout(server, value, exc):
    m = pycurl.CurlMulti()
    # an active transfer, so a wrongly accepted timeout returns fast instead of hanging
    c = make(server.url("/hello"))
    m.add_handle(c)
    m.perform()
    with pytest.raises(exc):
        m.select(value)
    m.close()
    c.close()


def test_select_requires_an_argument():
    m = pycurl.CurlMulti()
    with pytest.raises(TypeError):
        m.select()
    m.close()


def test_fdset_lists_work_with_select_module(server):
    m = pycurl.CurlMulti()
    assert m.fdset() == ([], [], [])
    cs = [make(server.url("/bytes?n=20000")) for _ in range(3)]
    for c in cs:
        m.add_handle(c)
    end = time.monotonic() + 10
    rounds = 0
    while True:
        _, running = m.perform()
        if not running:
            break
        fds = m.fdset()
        assert isinstance(fds, tuple) and len(fds) == 3
        assert all(isinstance(lst, list) for lst in fds)
        assert all(type(fd) is int and fd >= 0 for lst in fds for fd in lst)
        if fds[0] or fds[1]:
            rounds += 1
            select.select(*fds, 1.0)
        assert time.monotonic() < end
    assert rounds >= 1
    ok, failed = drain(m)
    assert len(ok) == 3 and failed == []
    for c in cs:
        assert body_of(c) == servers.pattern(20000)
    m.close()
    assert all(not c.closed for c in cs)


def test_fdset_descriptors_are_open_sockets(server):
    import socket as socketmod
    m = pycurl.CurlMulti()
    c = make(server.url("/slow?delay=0.5"))
    m.add_handle(c)
    m.perform()
    m.perform()
    rl, wl, xl = m.fdset()
    assert rl or wl
    for fd in set(rl + wl + xl):
        os.fstat(fd)  # an open descriptor (libcurl's own wakeup one need not be a socket)
    # the transfer's own socket is connected to our server
    peers = []
    for fd in set(rl + wl):
        dup = os.dup(fd)
        try:
            s = socketmod.socket(fileno=dup)
        except OSError:  # not a socket
            os.close(dup)
            continue
        try:
            peers.append(s.getpeername())
        except OSError:
            pass
        finally:
            s.close()
    assert ("127.0.0.1", server.port) in peers
    drive(m)
    m.close()


def test_timeout_values(server):
    m = pycurl.CurlMulti()
    assert m.timeout() == -1
    c = make(server.url("/slow?delay=0.3"), TIMEOUT_MS=5000)
    m.add_handle(c)
    t = m.timeout()
    assert type(t) is int
    assert t == 0  # a new transfer wants action right away
    m.perform()
    m.perform()
    t = m.timeout()
    assert type(t) is int and 0 <= t <= 5000
    drive(m)
    m.remove_handle(c)
    assert m.timeout() == -1
    m.close()
    c.close()


def test_timeout_drives_a_timing_out_transfer(server):
    """A loop that sleeps exactly as long as timeout() says still notices a
    transfer's TIMEOUT_MS expiring."""
    m = pycurl.CurlMulti()
    c = make(server.url("/slow?delay=3"), TIMEOUT_MS=300)
    m.add_handle(c)
    t0 = time.monotonic()
    while True:
        _, running = m.perform()
        if not running:
            break
        assert time.monotonic() - t0 < 2.5, "transfer timeout never fired"
        t = m.timeout()
        assert t != -1, "timeout() reports no deadline while a TIMEOUT_MS transfer runs"
        if t > 0:
            select.select(*m.fdset(), t / 1000.0)
    elapsed = time.monotonic() - t0
    ok, failed = drain(m)
    assert ok == [] and len(failed) == 1
    assert failed[0][0] is c and failed[0][1] == pycurl.E_OPERATION_TIMEDOUT
    assert failed[0][2].startswith("Operation timed out after ")
    assert 0.25 < elapsed < 1.5
    m.close()
    c.close()


def test_info_read_empty():
    m = pycurl.CurlMulti()
    assert m.info_read() == (0, [], [])
    assert m.info_read(1) == (0, [], [])
    m.close()


def test_info_read_ok_and_failed(server, refused_port):
    m = pycurl.CurlMulti()
    good = [make(server.url("/hello")), make(server.url("/status/404"))]
    bad = make(f"http://127.0.0.1:{refused_port}/")
    for c in good + [bad]:
        m.add_handle(c)
    drive(m)
    queued, ok, failed = m.info_read()
    assert queued == 0
    assert sorted(map(id, ok)) == sorted(map(id, good))  # an HTTP 404 is a completed transfer
    assert len(failed) == 1
    entry = failed[0]
    assert isinstance(entry, tuple) and len(entry) == 3
    curl, errno, msg = entry
    assert curl is bad
    assert errno == pycurl.E_COULDNT_CONNECT == 7
    assert type(msg) is str
    assert re.fullmatch(
        r"Failed to connect to 127\.0\.0\.1:%d after \d+ ms: Could not connect to server"
        % refused_port, msg), msg
    assert msg == bad.errstr()
    # messages are delivered once
    assert m.info_read() == (0, [], [])
    m.close()


def test_info_read_failonerror_message(server):
    m = pycurl.CurlMulti()
    c = make(server.url("/status/404"), FAILONERROR=True)
    m.add_handle(c)
    drive(m)
    assert m.info_read() == (0, [], [(c, pycurl.E_HTTP_RETURNED_ERROR,
                                      "The requested URL returned error: 404")])
    m.close()
    c.close()


def test_info_read_max(server, refused_port):
    m = pycurl.CurlMulti()
    cs = [make(server.url("/hello")) for _ in range(3)]
    cs.append(make(f"http://127.0.0.1:{refused_port}/"))
    for c in cs:
        m.add_handle(c)
    drive(m)
    seen = []
    q, ok, failed = m.info_read(1)
    assert q == 3 and len(ok) + len(failed) == 1
    seen += ok + [f[0] for f in failed]
    q, ok, failed = m.info_read(2)
    assert q == 1 and len(ok) + len(failed) == 2
    seen += ok + [f[0] for f in failed]
    q, ok, failed = m.info_read(10)
    assert q == 0 and len(ok) + len(failed) == 1
    seen += ok + [f[0] for f in failed]
    assert sorted(map(id, seen)) == sorted(map(id, cs))
    assert m.info_read(10) == (0, [], [])
    m.close()


def test_info_read_after_remove_handle_drops_message(server):
    m = pycurl.CurlMulti()
    a, b = make(server.url("/hello")), make(server.url("/hello"))
    m.add_handle(a)
    m.add_handle(b)
    drive(m)
    m.remove_handle(a)
    assert m.info_read() == (0, [b], [])
    m.close()


@pytest.mark.parametrize("value,exc,msg", [
    (0, pycurl.error, "argument to info_read must be greater than zero"),
    (-1, pycurl.error, "argument to info_read must be greater than zero"),
    ("x", TypeError, None),
    (1.0, TypeError, None),
    (None, TypeError, None),
    (2 ** 31, OverflowError, None),
    (2 ** 70, OverflowError, None),
])
def test_info_read_bad_argument(value, exc, msg):
    m = pycurl.CurlMulti()
    with pytest.raises(exc) as ei:
        m.info_read(value)
    if msg is not None:
        assert ei.value.args == (msg,)
    with pytest.raises(TypeError):
        m.info_read(1, 2)
    m.close()


def test_no_argument_methods_reject_arguments():
    m = pycurl.CurlMulti()
    for name in ("perform", "timeout", "fdset", "close", "socket_all"):
        with pytest.raises(TypeError):
            getattr(m, name)(1)
    m.close()


def test_curl_reusable_across_multis(server):
    c = make(server.url("/hello"))
    for _ in range(3):
        with pycurl.CurlMulti() as m:
            m.add_handle(c)
            drive(m)
            assert drain(m) == ([c], [])
            m.remove_handle(c)
    assert body_of(c) == servers.HELLO * 3
    c.close()


# ---------------------------------------------------------------------------
# setopt


RESERVED_DATA_OPTIONS = [10002, 10005]  # CURLMOPT_SOCKETDATA, CURLMOPT_TIMERDATA


@pytest.mark.parametrize("option", RESERVED_DATA_OPTIONS)
@pytest.mark.parametrize("value", [1, None, "x", ["a"], len, object()], ids=repr)
def test_socketdata_timerdata_refused(option, value):
    m = pycurl.CurlMulti()
    with pytest.raises(TypeError):
        m.setopt(option, value)
    m.close()


@pytest.mark.parametrize("option", RESERVED_DATA_OPTIONS)
@pytest.mark.parametrize("value,msg", [
    (1, "integers are not supported for this option"),
    (None, "unsetting is not supported for this option"),
    (len, "callables are not supported for this option"),
    (["a"], "lists/tuples are not supported for this option"),
    ("x", "invalid arguments to setopt"),
    (object(), "invalid arguments to setopt"),
], ids=["int", "None", "callable", "list", "str", "object"])
def test_socketdata_timerdata_refusal_messages(option, value, msg):
    m = pycurl.CurlMulti()
    with pytest.raises(TypeError) as ei:
        m.setopt(option, value)
    assert ei.value.args == (msg,)
    m.close()


def test_socketdata_timerdata_not_exposed_as_names():
    assert not hasattr(pycurl, "M_SOCKETDATA")
    assert not hasattr(pycurl, "M_TIMERDATA")


@pytest.mark.parametrize("name", ["M_PIPELINING", "M_MAXCONNECTS", "M_MAX_HOST_CONNECTIONS",
                                  "M_MAX_TOTAL_CONNECTIONS", "M_MAX_CONCURRENT_STREAMS",
                                  "M_MAX_PIPELINE_LENGTH", "M_CONTENT_LENGTH_PENALTY_SIZE",
                                  "M_CHUNK_LENGTH_PENALTY_SIZE"])
@pytest.mark.parametrize("value", [0, 1, 2, 100, True, False, 2 ** 31 - 1])
def test_integer_options_accepted(name, value):
    m = pycurl.CurlMulti()
    assert m.setopt(getattr(pycurl, name), value) is None
    m.close()


@pytest.mark.parametrize("value", [pycurl.PIPE_NOTHING, pycurl.PIPE_HTTP1, pycurl.PIPE_MULTIPLEX,
                                   True, False])
def test_pipelining_values_transfers_still_work(server, value):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_PIPELINING, value)
    m.setopt(m.M_PIPELINING, value)
    cs = [make(server.url("/bytes?n=3000")) for _ in range(4)]
    for c in cs:
        m.add_handle(c)
    drive(m)
    ok, failed = drain(m)
    assert len(ok) == 4 and failed == []
    assert all(body_of(c) == servers.pattern(3000) for c in cs)
    m.close()


def test_max_concurrent_streams_accepted_transfers_work(server):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_MAX_CONCURRENT_STREAMS, 1)
    cs = [make(server.url("/hello")) for _ in range(3)]
    for c in cs:
        m.add_handle(c)
    drive(m)
    assert len(drain(m)[0]) == 3
    m.close()


@pytest.mark.parametrize("name", ["M_PIPELINING_SITE_BL", "M_PIPELINING_SERVER_BL"])
def test_blocklist_options_accept_string_lists(name):
    m = pycurl.CurlMulti()
    m.setopt(getattr(pycurl, name), ["127.0.0.1"])
    m.setopt(getattr(pycurl, name), ("example.com", "example.org"))
    m.setopt(getattr(pycurl, name), None)
    with pytest.raises((TypeError, pycurl.error)):
        m.setopt(getattr(pycurl, name), [1])
    with pytest.raises(TypeError):
        m.setopt(getattr(pycurl, name), 1)
    m.close()


@pytest.mark.parametrize("name", ["M_SOCKETFUNCTION", "M_TIMERFUNCTION", "M_NOTIFYFUNCTION"])
def test_function_options_accept_callables_and_none(name):
    m = pycurl.CurlMulti()
    opt = getattr(pycurl, name)

    class Callable:
        def __call__(self, *a):
            return 0

    for f in (lambda *a: 0, [].append, Callable(), dict, None):
        assert m.setopt(opt, f) is None
    for bad, msg in ((1, "integers are not supported for this option"),
                     ("x", "invalid arguments to setopt"),
                     ([len], "lists/tuples are not supported for this option")):
        with pytest.raises(TypeError) as ei:
            m.setopt(opt, bad)
        assert ei.value.args == (msg,)
    m.close()


@pytest.mark.parametrize("name", ["M_PIPELINING", "M_MAXCONNECTS", "M_MAX_HOST_CONNECTIONS",
                                  "M_MAX_TOTAL_CONNECTIONS", "M_MAX_CONCURRENT_STREAMS"])
@pytest.mark.parametrize("value", ["1", b"1", 1.0, [1], len, object()], ids=repr)
def test_integer_options_wrong_type(name, value):
    m = pycurl.CurlMulti()
    with pytest.raises(TypeError):
        m.setopt(getattr(pycurl, name), value)
    m.close()


@pytest.mark.parametrize("name", ["M_PIPELINING", "M_MAXCONNECTS", "M_MAX_TOTAL_CONNECTIONS"])
def test_integer_options_none_and_overflow(name):
    m = pycurl.CurlMulti()
    with pytest.raises(TypeError) as ei:
        m.setopt(getattr(pycurl, name), None)
    assert ei.value.args == ("unsetting is not supported for this option",)
    with pytest.raises(OverflowError):
        m.setopt(getattr(pycurl, name), 2 ** 80)
    m.close()


@pytest.mark.parametrize("option", [0, -1, 99, 1000, 9999, 10099, 20099, 30099, 99999, 40001])
def test_unknown_option_numbers(option):
    m = pycurl.CurlMulti()
    for value in (1, "x", lambda *a: 0):
        with pytest.raises(TypeError) as ei:
            m.setopt(option, value)
        assert ei.value.args == ("invalid arguments to setopt",)
    m.close()


def test_setopt_option_argument_errors():
    m = pycurl.CurlMulti()
    with pytest.raises(TypeError):
        m.setopt("M_PIPELINING", 1)
    with pytest.raises(TypeError):
        m.setopt(1.5, 1)
    with pytest.raises(OverflowError):
        m.setopt(2 ** 40, 1)
    with pytest.raises(OverflowError):
        m.setopt(2 ** 70, 1)
    for args in ((), (pycurl.M_PIPELINING,), (pycurl.M_PIPELINING, 1, 2)):
        with pytest.raises(TypeError) as ei:
            m.setopt(*args)
        assert ei.value.args == ("setopt() takes exactly 2 arguments (%d given)" % len(args),)
    m.close()


MULTI_NAMES_ON_OBJECT = [
    "E_CALL_MULTI_PERFORM", "E_MULTI_ADDED_ALREADY", "E_MULTI_BAD_EASY_HANDLE",
    "E_MULTI_BAD_HANDLE", "E_MULTI_BAD_SOCKET", "E_MULTI_CALL_MULTI_PERFORM",
    "E_MULTI_CALL_MULTI_SOCKET", "E_MULTI_INTERNAL_ERROR", "E_MULTI_OK",
    "E_MULTI_OUT_OF_MEMORY", "E_MULTI_UNKNOWN_OPTION", "M_CHUNK_LENGTH_PENALTY_SIZE",
    "M_CONTENT_LENGTH_PENALTY_SIZE", "M_MAXCONNECTS", "M_MAX_CONCURRENT_STREAMS",
    "M_MAX_HOST_CONNECTIONS", "M_MAX_PIPELINE_LENGTH", "M_MAX_TOTAL_CONNECTIONS",
    "M_NOTIFYFUNCTION", "M_NOTIFY_EASY_DONE", "M_NOTIFY_INFO_READ", "M_PIPELINING",
    "M_PIPELINING_SERVER_BL", "M_PIPELINING_SITE_BL", "M_SOCKETFUNCTION",
    "M_TIMERFUNCTION", "PIPE_HTTP1", "PIPE_MULTIPLEX", "PIPE_NOTHING",
]


def test_constants_on_the_object():
    m = pycurl.CurlMulti()
    for name in MULTI_NAMES_ON_OBJECT:
        assert getattr(m, name) == getattr(pycurl, name), name
    assert m.M_PIPELINING == pycurl.M_PIPELINING == 3
    assert m.M_SOCKETFUNCTION == pycurl.M_SOCKETFUNCTION == 20001
    assert m.M_TIMERFUNCTION == pycurl.M_TIMERFUNCTION == 20004
    # names for other objects are not there
    for name in ("URL", "POLL_IN", "CSELECT_IN", "SOCKET_TIMEOUT", "NO_SUCH_NAME"):
        with pytest.raises(AttributeError) as ei:
            getattr(m, name)
        assert str(ei.value) == "trying to obtain a non-existing attribute: %s" % name
    m.close()
    # still readable after close
    assert m.M_PIPELINING == pycurl.M_PIPELINING


def test_module_constant_values():
    assert (pycurl.M_SOCKETFUNCTION, pycurl.M_TIMERFUNCTION, pycurl.M_NOTIFYFUNCTION) == (
        20001, 20004, 20018)
    assert (pycurl.M_PIPELINING, pycurl.M_MAXCONNECTS, pycurl.M_MAX_HOST_CONNECTIONS,
            pycurl.M_MAX_TOTAL_CONNECTIONS, pycurl.M_MAX_CONCURRENT_STREAMS) == (3, 6, 7, 13, 16)
    assert (pycurl.CSELECT_IN, pycurl.CSELECT_OUT, pycurl.CSELECT_ERR) == (1, 2, 4)
    assert pycurl.SOCKET_TIMEOUT == -1 and pycurl.SOCKET_BAD == -1
    assert (pycurl.POLL_NONE, pycurl.POLL_IN, pycurl.POLL_OUT, pycurl.POLL_INOUT,
            pycurl.POLL_REMOVE) == (0, 1, 2, 3, 4)
    assert (pycurl.M_NOTIFY_INFO_READ, pycurl.M_NOTIFY_EASY_DONE) == (0, 1)


def test_instance_attributes():
    m = pycurl.CurlMulti()
    m.my_state = {"a": 1}
    assert m.my_state == {"a": 1}
    assert weakref.ref(m)() is m
    assert type(hash(m)) is int
    m.close()


# ---------------------------------------------------------------------------
# connection limits and reuse


def _run_batch(server, m, n, path):
    cs = [make(server.url(path)) for _ in range(n)]
    base = server.connections
    t0 = time.monotonic()
    for c in cs:
        m.add_handle(c)
    drive(m)
    elapsed = time.monotonic() - t0
    ok, failed = drain(m)
    assert len(ok) == n and failed == []
    assert all(c.getinfo(pycurl.RESPONSE_CODE) == 200 for c in cs)
    for c in cs:
        m.remove_handle(c)
        c.close()
    return elapsed, server.connections - base


def test_no_limit_runs_in_parallel(server):
    m = pycurl.CurlMulti()
    elapsed, conns = _run_batch(server, m, 6, "/slow?delay=0.3")
    assert elapsed < 0.75
    assert conns == 6
    m.close()


@pytest.mark.parametrize("name", ["M_MAX_TOTAL_CONNECTIONS", "M_MAX_HOST_CONNECTIONS"])
def test_connection_limit_two(server, name):
    m = pycurl.CurlMulti()
    m.setopt(getattr(pycurl, name), 2)
    elapsed, conns = _run_batch(server, m, 6, "/slow?delay=0.3")
    assert 0.85 < elapsed < 1.6  # three rounds of one transfer
    assert conns == 2
    m.close()


def test_max_host_connections_three(server):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_MAX_HOST_CONNECTIONS, 3)
    elapsed, conns = _run_batch(server, m, 6, "/slow?delay=0.3")
    assert 0.55 < elapsed < 1.2
    assert conns == 3
    m.close()


@pytest.mark.parametrize("maxconnects,expected", [(1, 5), (2, 4), (10, 3)])
def test_maxconnects_limits_the_connection_cache(server, maxconnects, expected):
    """Three parallel transfers, twice: the second round reuses only as many
    connections as the cache kept."""
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_MAXCONNECTS, maxconnects)
    base = server.connections
    _run_batch(server, m, 3, "/hello")
    _run_batch(server, m, 3, "/hello")
    assert server.connections - base == expected
    m.close()


def test_connection_reuse_across_handles(server):
    m = pycurl.CurlMulti()
    base = server.connections
    for _ in range(4):
        _run_batch(server, m, 5, "/hello")
    assert server.connections - base == 5
    m.close()


def test_connection_reuse_rolling_re_add(server):
    """10,000 transfers through 100 handles kept busy: every connection is
    reused, the server sees exactly 100."""
    m = pycurl.CurlMulti()
    base = server.connections
    total, conc = 10000, 100
    cs = [make(server.url("/hello")) for _ in range(conc)]
    for c in cs:
        m.add_handle(c)
    started, done = conc, 0
    end = time.monotonic() + 30
    while done < total:
        m.perform()
        readded = 0
        while True:
            queued, ok, failed = m.info_read()
            assert failed == []
            for c in ok:
                done += 1
                m.remove_handle(c)
                if started < total:
                    m.add_handle(c)
                    started += 1
                    readded += 1
            if not queued:
                break
        assert time.monotonic() < end
        if done < total and not readded:
            t = m.timeout()
            if t != 0:
                m.select(min(t / 1000.0, 1.0) if t > 0 else 1.0)
    assert server.connections - base == conc
    m.close()
    for c in cs:
        c.close()


# ---------------------------------------------------------------------------
# M_NOTIFYFUNCTION


def test_notify_nothing_until_enabled(server):
    m = pycurl.CurlMulti()
    calls = []
    m.setopt(pycurl.M_NOTIFYFUNCTION, lambda *a: calls.append(a))
    c = make(server.url("/hello"))
    m.add_handle(c)
    drive(m)
    assert calls == []
    assert drain(m) == ([c], [])
    m.close()


def test_notify_info_read(server):
    m = pycurl.CurlMulti()
    calls = []
    m.setopt(pycurl.M_NOTIFYFUNCTION, lambda *a: calls.append(a))
    assert m.notify_enable(pycurl.M_NOTIFY_INFO_READ) is None
    cs = [make(server.url("/hello")), make(server.url("/status/404"))]
    for c in cs:
        m.add_handle(c)
    drive(m)
    assert calls, "M_NOTIFY_INFO_READ never delivered"
    assert all(a == (pycurl.M_NOTIFY_INFO_READ, None) for a in calls), calls
    ok, failed = drain(m)
    assert len(ok) == 2
    m.close()


def test_notify_easy_done(server, refused_port):
    m = pycurl.CurlMulti()
    calls = []
    m.setopt(pycurl.M_NOTIFYFUNCTION, lambda *a: calls.append(a))
    m.notify_enable(pycurl.M_NOTIFY_EASY_DONE)
    cs = [make(server.url("/hello")), make(server.url("/bytes?n=10")),
          make(f"http://127.0.0.1:{refused_port}/")]
    for c in cs:
        m.add_handle(c)
    drive(m)
    assert len(calls) == 3, calls
    assert all(len(a) == 2 and a[0] == pycurl.M_NOTIFY_EASY_DONE for a in calls)
    assert sorted(id(a[1]) for a in calls) == sorted(map(id, cs))
    m.close()


def test_notify_enable_both_then_disable(server):
    m = pycurl.CurlMulti()
    calls = []
    m.setopt(pycurl.M_NOTIFYFUNCTION, lambda *a: calls.append(a))
    m.notify_enable(pycurl.M_NOTIFY_INFO_READ, pycurl.M_NOTIFY_EASY_DONE)
    c = make(server.url("/hello"))
    m.add_handle(c)
    drive(m)
    kinds = [a[0] for a in calls]
    assert kinds.count(pycurl.M_NOTIFY_EASY_DONE) == 1
    assert pycurl.M_NOTIFY_INFO_READ in kinds
    assert (pycurl.M_NOTIFY_EASY_DONE, c) in calls
    assert drain(m) == ([c], [])
    m.remove_handle(c)

    calls.clear()
    assert m.notify_disable(pycurl.M_NOTIFY_INFO_READ) is None
    m.add_handle(c)
    drive(m)
    assert calls == [(pycurl.M_NOTIFY_EASY_DONE, c)]
    drain(m)
    m.remove_handle(c)

    calls.clear()
    m.notify_disable(pycurl.M_NOTIFY_EASY_DONE)
    m.notify_disable(pycurl.M_NOTIFY_EASY_DONE)  # disabling twice is fine
    m.add_handle(c)
    drive(m)
    assert calls == []
    assert drain(m) == ([c], [])
    m.close()
    c.close()


def test_notify_keyboard_interrupt_leaves_perform(server, capfd):
    """Ctrl-C in M_NOTIFYFUNCTION comes out of the multi call that ran it, as itself; no further
    notification is made in that call, and the transfers are still there to finish."""
    m = pycurl.CurlMulti()
    calls = []

    def on_notify(kind, curl):
        calls.append(kind)
        raise KeyboardInterrupt
    m.setopt(pycurl.M_NOTIFYFUNCTION, on_notify)
    m.notify_enable(pycurl.M_NOTIFY_INFO_READ, pycurl.M_NOTIFY_EASY_DONE)
    c = make(server.url("/hello"))
    m.add_handle(c)
    with pytest.raises(KeyboardInterrupt):
        drive(m)
    assert calls == [pycurl.M_NOTIFY_EASY_DONE]
    err = capfd.readouterr().err
    assert "KeyboardInterrupt" not in err and "SystemError" not in err
    m.notify_disable(pycurl.M_NOTIFY_INFO_READ, pycurl.M_NOTIFY_EASY_DONE)
    drive(m)
    assert drain(m) == ([c], [])
    assert body_of(c) == b"hello world"
    m.close()
    c.close()


def test_notify_enable_without_function_is_harmless(server):
    m = pycurl.CurlMulti()
    m.notify_enable(pycurl.M_NOTIFY_INFO_READ, pycurl.M_NOTIFY_EASY_DONE)
    c = make(server.url("/hello"))
    m.add_handle(c)
    drive(m)
    assert drain(m) == ([c], [])
    m.close()
    c.close()


def test_notify_callback_exception_is_printed_transfer_completes(server, capfd):
    m = pycurl.CurlMulti()

    def boom(*a):
        raise ValueError("notify went wrong")

    m.setopt(pycurl.M_NOTIFYFUNCTION, boom)
    m.notify_enable(pycurl.M_NOTIFY_INFO_READ, pycurl.M_NOTIFY_EASY_DONE)
    c = make(server.url("/hello"))
    m.add_handle(c)
    drive(m)  # no exception escapes perform()
    assert drain(m) == ([c], [])
    err = capfd.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "ValueError: notify went wrong" in err
    m.close()
    c.close()


def test_notify_close_inside_callback_refused(server):
    m = pycurl.CurlMulti()
    results = []

    def cb(*a):
        try:
            m.close()
            results.append("closed")
        except pycurl.error as e:
            results.append(e)

    m.setopt(pycurl.M_NOTIFYFUNCTION, cb)
    m.notify_enable(pycurl.M_NOTIFY_INFO_READ, pycurl.M_NOTIFY_EASY_DONE)
    c = make(server.url("/hello"))
    m.add_handle(c)
    drive(m)
    assert results and all(isinstance(r, pycurl.error) for r in results), results
    assert not m.closed
    m.close()
    c.close()


@pytest.mark.parametrize("method", ["notify_enable", "notify_disable"])
def test_notify_bad_arguments(method):
    m = pycurl.CurlMulti()
    f = getattr(m, method)
    with pytest.raises(TypeError) as ei:
        f()
    assert ei.value.args == ("%s requires at least one notification" % method,)
    with pytest.raises(pycurl.error) as ei:
        f(99)
    assert ei.value.args == (6, "%s failed" % method)
    for bad in ("x", 1.0, None):
        with pytest.raises(TypeError):
            f(bad)
    for bad in (-1, 2 ** 40):
        with pytest.raises(OverflowError):
            f(bad)
    m.close()


# ---------------------------------------------------------------------------
# closed multi: every method


@pytest.mark.parametrize("name,call,msg", CLOSED_METHODS, ids=[x[0] for x in CLOSED_METHODS])
def test_closed_multi_methods_raise(name, call, msg):
    m = pycurl.CurlMulti()
    m.close()
    with pytest.raises(pycurl.error) as ei:
        call(m)
    assert ei.value.args == (msg,)


def test_closed_multi_socket_all_raises():
    m = pycurl.CurlMulti()
    m.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(pycurl.error) as ei:
            m.socket_all()
    assert ei.value.args == ("cannot invoke socket_all() - no multi handle",)


def test_closed_multi_add_remove_raise():
    m = pycurl.CurlMulti()
    m.close()
    c = pycurl.Curl()
    for f in (m.add_handle, m.remove_handle):
        with pytest.raises(pycurl.error) as ei:
            f(c)
        assert ei.value.args == ("cannot add/remove handle - multi-stack is closed",)
    assert c.multi() is None and c not in m
    # type checks still come first
    with pytest.raises(TypeError):
        m.add_handle(object())
    c.close()


def test_closed_multi_misc():
    m = pycurl.CurlMulti()
    m.close()
    assert m.closed
    assert m.close() is None
    assert (pycurl.Curl() in m) is False
    assert m.M_MAXCONNECTS == pycurl.M_MAXCONNECTS


# ---------------------------------------------------------------------------
# scale


def test_ten_thousand_transfers_no_fd_growth(server):
    """One multi carries 10,000 transfers (up to 1,000 at once, ramped up 100
    per loop turn, handles re-added as they finish) and leaves no descriptor
    behind once the multi and the handles are closed."""
    import resource

    total, conc, step = 10000, 1000, 100
    # both ends of every connection live in this process
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4096:
        want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    gc.collect()
    baseline = fd_count()
    base_conns = server.connections
    m = pycurl.CurlMulti()
    idle, handles = [], []
    started = done = active = 0
    codes = {}
    end = time.monotonic() + 45
    while done < total:
        added = 0
        while started < total and active < conc and added < step:
            if idle:
                c = idle.pop()
            else:
                c = pycurl.Curl()
                c.setopt(pycurl.URL, server.url("/hello"))
                c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
                handles.append(c)
            m.add_handle(c)
            started += 1
            active += 1
            added += 1
        m.perform()
        while True:
            queued, ok, failed = m.info_read()
            assert failed == [], failed[:3]
            for c in ok:
                code = c.getinfo(pycurl.RESPONSE_CODE)
                codes[code] = codes.get(code, 0) + 1
                done += 1
                active -= 1
                m.remove_handle(c)
                idle.append(c)
            if not queued:
                break
        assert time.monotonic() < end, "only %d of %d transfers done" % (done, total)
        if done < total and not added and not (started < total and active < conc):
            t = m.timeout()
            if t != 0:
                m.select(min(t / 1000.0, 1.0) if t > 0 else 1.0)
    assert codes == {200: total}
    assert len(handles) <= conc
    conns = server.connections - base_conns
    m.close()
    for c in handles:
        c.close()
    del handles, idle, c
    # The in-process server closes its 1,000 ends in 1,000 threads once it sees EOF: on a loaded
    # machine that took longer than 5 s once (the count was the baseline plus one end each).
    after = wait_fds_back_to(baseline, limit=30.0)
    assert after <= baseline, "fd count grew from %d to %d" % (baseline, after)
    # connections were reused: never more than one per concurrent transfer
    assert conns <= conc, conns
