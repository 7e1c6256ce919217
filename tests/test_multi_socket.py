"""pycurl.CurlMulti driven the event-loop way: M_SOCKETFUNCTION,
M_TIMERFUNCTION, socket_action(), socket_all(), assign()/unassign(), and how
errors raised inside those callbacks are reported.

The loop used here is strict, like an application built on epoll or
asyncio: it waits only on the sockets libcurl asked for and only as long as
the last M_TIMERFUNCTION value says (-1: no timer).  It never polls libcurl
"just in case", so a missing callback shows up as a stall.  All traffic goes
to the loopback server of tests/servers.py; the file passes unchanged under
real pycurl 7.49 (libcurl 8.23).
"""

import gc
import selectors
import time
import warnings
import weakref

import pytest

import pycurl

import servers
from test_multi import body_of, drain, drive, make

WHATS = {pycurl.POLL_IN, pycurl.POLL_OUT, pycurl.POLL_INOUT, pycurl.POLL_REMOVE}


class Loop:
    """A selectors-based driver for one CurlMulti."""

    def __init__(self, m, on_socket=None):
        self.m = m
        self.sel = selectors.DefaultSelector()
        self.watched = {}  # fd -> what
        self.socket_calls = []  # (what, fd, multi, socketp)
        self.timer_calls = []
        self.deadline = None
        self.running = None
        self.on_socket = on_socket
        m.setopt(pycurl.M_SOCKETFUNCTION, self._socket)
        m.setopt(pycurl.M_TIMERFUNCTION, self._timer)

    def _socket(self, what, fd, multi, socketp):
        self.socket_calls.append((what, fd, multi, socketp))
        if what == pycurl.POLL_REMOVE:
            if fd in self.watched:
                self.sel.unregister(fd)
                del self.watched[fd]
        else:
            events = 0
            if what & pycurl.POLL_IN:
                events |= selectors.EVENT_READ
            if what & pycurl.POLL_OUT:
                events |= selectors.EVENT_WRITE
            if fd in self.watched:
                self.sel.modify(fd, events)
            else:
                self.sel.register(fd, events)
            self.watched[fd] = what
        if self.on_socket is not None:
            self.on_socket(what, fd, multi, socketp)

    def _timer(self, timeout_ms):
        self.timer_calls.append(timeout_ms)
        if timeout_ms < 0:
            self.deadline = None
        else:
            self.deadline = time.monotonic() + timeout_ms / 1000.0

    def _action(self, fd, ev):
        ret, self.running = self.m.socket_action(fd, ev)
        assert ret == 0

    def run(self, limit=10.0):
        """Until nothing is running; fails if libcurl leaves us with nothing
        to wait for, or the limit passes."""
        end = time.monotonic() + limit
        while self.running != 0:
            now = time.monotonic()
            if self.deadline is not None and now >= self.deadline:
                self.deadline = None
                self._action(pycurl.SOCKET_TIMEOUT, 0)
                continue
            if time.monotonic() > end:
                raise AssertionError("transfers still running after %.1f s" % limit)
            if self.deadline is None and not self.watched:
                raise AssertionError("stalled: no socket watched and no timer set")
            wait = end - now if self.deadline is None else min(self.deadline - now, end - now)
            for key, mask in self.sel.select(max(wait, 0)):
                ev = 0
                if mask & selectors.EVENT_READ:
                    ev |= pycurl.CSELECT_IN
                if mask & selectors.EVENT_WRITE:
                    ev |= pycurl.CSELECT_OUT
                self._action(key.fd, ev)
        return self.running

    def calls_for(self, fd):
        return [c[0] for c in self.socket_calls if c[1] == fd]


def _slow(server, chunks=4, delay=0.05):
    return make(server.url("/slowbody?chunks=%d&delay=%s" % (chunks, delay)))


# ---------------------------------------------------------------------------
# socket_action and the two callbacks


def test_socket_action_without_handles():
    m = pycurl.CurlMulti()
    assert m.socket_action(pycurl.SOCKET_TIMEOUT, 0) == (0, 0)
    assert m.socket_action(12345, pycurl.CSELECT_IN) == (0, 0)  # unknown fd: no error
    m.close()


def test_event_loop_completes_transfers(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    cs = [make(server.url("/hello")), make(server.url("/bytes?n=100000")),
          make(server.url("/chunked?n=5000&chunks=7")), _slow(server),
          make(server.url("/redirect/2"), FOLLOWLOCATION=True),
          make(server.url("/status/503"))]
    for c in cs:
        m.add_handle(c)
    assert loop.run() == 0
    ok, failed = drain(m)
    assert failed == [] and sorted(map(id, ok)) == sorted(map(id, cs))
    assert body_of(cs[0]) == servers.HELLO
    assert body_of(cs[1]) == servers.pattern(100000)
    assert body_of(cs[2]) == servers.pattern(5000)
    assert len(body_of(cs[3])) == 40
    assert body_of(cs[4]) == servers.HELLO
    assert [c.getinfo(pycurl.RESPONSE_CODE) for c in cs] == [200, 200, 200, 200, 200, 503]
    m.close()


def test_socket_action_return_value(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    cs = [_slow(server) for _ in range(3)]
    for c in cs:
        m.add_handle(c)
    ret = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    assert isinstance(ret, tuple) and len(ret) == 2
    assert ret[0] == 0 and type(ret[1]) is int and ret[1] == 3
    loop.running = ret[1]
    loop.run()
    assert m.socket_action(pycurl.SOCKET_TIMEOUT, 0) == (0, 0)
    m.close()


def test_socket_callback_arguments(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = _slow(server)
    m.add_handle(c)
    loop.run()
    assert loop.socket_calls
    for what, fd, multi, socketp in loop.socket_calls:
        assert what in WHATS
        assert type(fd) is int and fd >= 0
        assert multi is m
        assert socketp is None  # nothing assigned
    m.close()


def test_socket_callback_only_on_change(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    cs = [_slow(server, chunks=6) for _ in range(3)] + [make(server.url("/bytes?n=300000"))]
    for c in cs:
        m.add_handle(c)
    loop.run()
    fds = {c[1] for c in loop.socket_calls}
    assert len(fds) >= 4  # one per connection at least
    for fd in fds:
        seq = loop.calls_for(fd)
        assert seq[0] != pycurl.POLL_REMOVE, (fd, seq)
        for a, b in zip(seq, seq[1:]):
            assert a != b, "repeated %r for fd %d: %r" % (a, fd, seq)
    m.close()
    # after close() nothing is left to watch
    assert loop.watched == {}


def test_socket_callback_watches_the_connection(server):
    import socket as socketmod
    import os

    m = pycurl.CurlMulti()
    peers = {}

    def note_peer(what, fd, multi, socketp):
        if what != pycurl.POLL_REMOVE and fd not in peers:
            dup = os.dup(fd)
            try:
                s = socketmod.socket(fileno=dup)
            except OSError:
                os.close(dup)
                peers[fd] = None
                return
            try:
                peers[fd] = s.getpeername()
            except OSError:
                peers[fd] = None
            finally:
                s.close()

    loop = Loop(m, on_socket=note_peer)
    c = _slow(server, chunks=4)
    m.add_handle(c)
    loop.run()
    conn_fds = [fd for fd, peer in peers.items() if peer == ("127.0.0.1", server.port)]
    assert len(conn_fds) == 1
    seq = loop.calls_for(conn_fds[0])
    assert pycurl.POLL_OUT in seq or pycurl.POLL_INOUT in seq  # connecting / sending
    assert pycurl.POLL_IN in seq  # waiting for the response
    m.close()


def test_upload_watches_both_directions(server):
    """While a request body is being sent libcurl watches the socket for
    reading and writing at once (POLL_INOUT), so an early reply is noticed."""
    m = pycurl.CurlMulti()
    loop = Loop(m)
    chunk = b"u" * 65536
    n = 300
    sent = iter([chunk] * n)
    c = make(server.url("/echo"), UPLOAD=True, CUSTOMREQUEST="POST", INFILESIZE=n * len(chunk))
    c.setopt(pycurl.READFUNCTION, lambda size: next(sent, b""))
    m.add_handle(c)
    loop.run(limit=20)
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.SIZE_UPLOAD_T) == n * len(chunk)
    whats = [x[0] for x in loop.socket_calls]
    assert pycurl.POLL_INOUT in whats, whats
    m.close()
    c.close()


def test_large_upload_waits_for_writability(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    chunk = b"w" * 65536
    n = 300
    sent = iter([chunk] * n)
    c = make(server.url("/echo"), UPLOAD=True, CUSTOMREQUEST="POST", INFILESIZE=n * len(chunk))
    c.setopt(pycurl.READFUNCTION, lambda size: next(sent, b""))
    m.add_handle(c)
    loop.run(limit=20)
    assert body_of(c).startswith(b"POST\n")
    assert len(body_of(c)) == 5 + n * len(chunk)
    # some wait for writability happened after the request had started
    whats = [x[0] for x in loop.socket_calls]
    first_in = whats.index(pycurl.POLL_IN) if pycurl.POLL_IN in whats else 0
    assert any(w in (pycurl.POLL_OUT, pycurl.POLL_INOUT) for w in whats[first_in:]), whats
    m.close()
    c.close()


def test_timer_callback_on_add_handle(server):
    m = pycurl.CurlMulti()
    calls = []
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: calls.append(ms))
    c = make(server.url("/hello"))
    m.add_handle(c)
    assert len(calls) >= 1
    assert all(type(ms) is int for ms in calls)
    assert calls[-1] >= 0  # a new transfer wants attention soon
    assert calls[-1] == 0
    m.close()
    c.close()


def test_timer_callback_values_and_delete(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = _slow(server)
    m.add_handle(c)
    loop.run()
    assert all(type(ms) is int and ms >= -1 for ms in loop.timer_calls)
    assert -1 in loop.timer_calls  # the timer gets deleted
    m.close()


def test_timer_fires_transfer_timeout(server):
    """TIMEOUT_MS expiring is signalled through M_TIMERFUNCTION; an event loop
    that trusts the timer sees the transfer fail on time."""
    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = make(server.url("/slow?delay=3"), TIMEOUT_MS=300)
    m.add_handle(c)
    t0 = time.monotonic()
    loop.run(limit=2.5)
    elapsed = time.monotonic() - t0
    ok, failed = drain(m)
    assert ok == [] and len(failed) == 1
    assert failed[0][0] is c and failed[0][1] == pycurl.E_OPERATION_TIMEDOUT == 28
    assert failed[0][2].startswith("Operation timed out after ")
    assert 0.25 < elapsed < 1.5
    m.close()
    c.close()


def test_timer_fires_connect_timeout(server, blackhole_port):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = make(f"http://127.0.0.1:{blackhole_port}/", CONNECTTIMEOUT_MS=300)
    m.add_handle(c)
    t0 = time.monotonic()
    loop.run(limit=2.5)
    elapsed = time.monotonic() - t0
    ok, failed = drain(m)
    assert ok == [] and len(failed) == 1 and failed[0][1] == pycurl.E_OPERATION_TIMEDOUT
    assert 0.25 < elapsed < 1.5
    m.close()
    c.close()


@pytest.mark.parametrize("ev", [
    pycurl.CSELECT_IN | pycurl.CSELECT_OUT | pycurl.CSELECT_ERR,
    pycurl.CSELECT_IN | pycurl.CSELECT_OUT,
    0,
], ids=["in|out|err", "in|out", "zero"])
def test_socket_action_event_masks(server, ev):
    """Telling libcurl about more (or no specific) events than happened is
    harmless: it checks the socket itself."""
    m = pycurl.CurlMulti()
    loop = Loop(m)
    cs = [make(server.url("/bytes?n=5000")) for _ in range(2)]
    for c in cs:
        m.add_handle(c)
    _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    end = time.monotonic() + 10
    while running:
        assert time.monotonic() < end
        loop.sel.select(0.05)
        for fd in list(loop.watched):
            ret, running = m.socket_action(fd, ev)
            assert ret == 0
        if loop.deadline is not None and time.monotonic() >= loop.deadline:
            _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    ok, failed = drain(m)
    assert len(ok) == 2 and failed == []
    assert all(body_of(c) == servers.pattern(5000) for c in cs)
    m.close()


def test_socket_action_with_cselect_err_on_live_socket(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = _slow(server, chunks=3)
    m.add_handle(c)
    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    for fd in list(loop.watched):
        ret, running = m.socket_action(fd, pycurl.CSELECT_ERR)
        assert ret == 0 and type(running) is int
    loop.running = None
    loop.run()
    m.close()


def test_socket_all_is_deprecated_and_works(server):
    m = pycurl.CurlMulti()
    c = make(server.url("/hello"))
    m.add_handle(c)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ret = m.socket_all()
    assert [x.category for x in w] == [DeprecationWarning]
    assert str(w[0].message) == "socket_all is deprecated; use socket_action"
    assert isinstance(ret, tuple) and ret[0] == 0 and type(ret[1]) is int
    end = time.monotonic() + 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        while ret[1]:
            assert time.monotonic() < end
            m.select(0.1)
            ret = m.socket_all()
    assert drain(m) == ([c], [])
    assert body_of(c) == servers.HELLO
    m.close()
    c.close()


# ---------------------------------------------------------------------------
# assign / unassign


def test_assign_outside_callback_holds_strong_reference(server):
    class State:
        pass

    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = _slow(server, chunks=6, delay=0.05)
    m.add_handle(c)
    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    fds = sorted(loop.watched)
    assert fds
    refs = {}
    for fd in fds:
        s = State()
        refs[fd] = weakref.ref(s)
        assert m.assign(fd, s) is None
        del s
    gc.collect()
    assert all(r() is not None for r in refs.values())
    # unassign releases it
    assert m.unassign(fds[0]) is None
    gc.collect()
    assert refs[fds[0]]() is None
    # assign(fd, None) releases too
    if len(fds) > 1:
        assert m.assign(fds[1], None) is None
        gc.collect()
        assert refs[fds[1]]() is None
    loop.running = None
    loop.run()
    m.close()


def test_assigned_object_passed_to_later_callbacks(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = _slow(server, chunks=6, delay=0.05)
    m.add_handle(c)
    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    marks = {}
    for fd in loop.watched:
        marks[fd] = ("mark", fd)
        m.assign(fd, marks[fd])
    first = len(loop.socket_calls)
    loop.running = None
    loop.run()
    later = [x for x in loop.socket_calls[first:] if x[1] in marks]
    assert later
    for what, fd, multi, socketp in later:
        assert socketp is marks[fd]
    m.close()


def test_assign_inside_socket_callback(server):
    tags = []

    class Tag:
        def __init__(self, fd):
            self.fd = fd

    def on_socket(what, fd, multi, socketp):
        if what != pycurl.POLL_REMOVE and socketp is None:
            t = Tag(fd)
            tags.append(t)
            assert multi.assign(fd, t) is None
            # the argument of the in-flight call is not changed
            assert socketp is None

    m = pycurl.CurlMulti()
    loop = Loop(m, on_socket=on_socket)
    c = _slow(server, chunks=4)
    m.add_handle(c)
    loop.run()
    assert tags
    for what, fd, multi, socketp in loop.socket_calls:
        if socketp is not None:
            assert isinstance(socketp, Tag) and socketp.fd == fd
    # every socket watched again after its first call came back with its tag
    for fd in {x[1] for x in loop.socket_calls}:
        calls = [x for x in loop.socket_calls if x[1] == fd]
        if calls[0][0] != pycurl.POLL_REMOVE and len(calls) > 1:
            assert all(isinstance(x[3], Tag) for x in calls[1:]), calls
    m.close()
    c.close()


def test_reassign_inside_callback_new_value_seen_later(server):
    counter = {"n": 0}

    def on_socket(what, fd, multi, socketp):
        if what == pycurl.POLL_REMOVE:
            return
        counter["n"] += 1
        new = ("gen", counter["n"])
        multi.assign(fd, new)
        history.append((fd, socketp, new))

    history = []
    m = pycurl.CurlMulti()
    loop = Loop(m, on_socket=on_socket)
    c = _slow(server, chunks=6)
    m.add_handle(c)
    loop.run()
    last = {}
    for fd, seen, new in history:
        if fd in last:
            assert seen is last[fd], (fd, seen, last[fd])
        else:
            assert seen is None
        last[fd] = new
    assert any(fd in last for fd, _, _ in history[1:])
    m.close()
    c.close()


def test_unassign_inside_callback(server):
    def on_socket(what, fd, multi, socketp):
        if what == pycurl.POLL_REMOVE:
            return
        if socketp is None:
            multi.assign(fd, "set")
        else:
            assert socketp == "set"
            multi.unassign(fd)

    m = pycurl.CurlMulti()
    loop = Loop(m, on_socket=on_socket)
    c = _slow(server, chunks=6)
    m.add_handle(c)
    loop.run()
    for fd in {x[1] for x in loop.socket_calls}:
        seq = [x[3] for x in loop.socket_calls if x[1] == fd and x[0] != pycurl.POLL_REMOVE]
        # alternates None, "set", None, ...
        for i, sp in enumerate(seq):
            assert sp == (None if i % 2 == 0 else "set"), (fd, seq)
    m.close()
    c.close()


def test_assign_unknown_fd():
    m = pycurl.CurlMulti()
    with pytest.raises(pycurl.error) as ei:
        m.assign(12345, "x")
    assert ei.value.args == (5, "assign failed")
    assert ei.value.args[0] == pycurl.E_MULTI_BAD_SOCKET
    with pytest.raises(pycurl.error) as ei:
        m.assign(12345, None)
    assert ei.value.args == (5, "assign failed")
    with pytest.raises(pycurl.error) as ei:
        m.unassign(12345)
    assert ei.value.args == (5, "unassign failed")
    with pytest.raises(pycurl.error) as ei:
        m.assign(pycurl.SOCKET_BAD, "x")
    assert ei.value.args == (5, "assign failed")
    m.close()


def test_assign_after_socket_removed(server):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = make(server.url("/hello"))
    m.add_handle(c)
    loop.run()
    removed = [x[1] for x in loop.socket_calls if x[0] == pycurl.POLL_REMOVE]
    assert removed
    with pytest.raises(pycurl.error) as ei:
        m.assign(removed[-1], "late")
    assert ei.value.args == (5, "assign failed")
    m.close()
    c.close()


def test_assigned_objects_released_with_the_multi(server):
    class State:
        pass

    m = pycurl.CurlMulti()
    loop = Loop(m)
    c = _slow(server, chunks=20)
    m.add_handle(c)
    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    refs = []
    for fd in loop.watched:
        s = State()
        refs.append(weakref.ref(s))
        m.assign(fd, s)
        del s
    gc.collect()
    assert refs and all(r() is not None for r in refs)
    m.close()
    del m, loop
    gc.collect()
    assert all(r() is None for r in refs)
    c.close()


@pytest.mark.parametrize("call,exc", [
    (lambda m: m.assign("x", 1), TypeError),
    (lambda m: m.assign(1.5, 1), TypeError),
    (lambda m: m.assign(3), TypeError),
    (lambda m: m.assign(), TypeError),
    (lambda m: m.unassign("x"), TypeError),
    (lambda m: m.unassign(), TypeError),
    (lambda m: m.unassign(3, 4), TypeError),
    (lambda m: m.assign(2 ** 40, 1), OverflowError),
    (lambda m: m.assign(-5, 1), OverflowError),
    (lambda m: m.unassign(-5), OverflowError),
], ids=["str-fd", "float-fd", "one-arg", "no-arg", "unassign-str", "unassign-none",
        "unassign-two", "huge-fd", "negative-fd", "unassign-negative"])
def test_assign_bad_arguments(call, exc):
    m = pycurl.CurlMulti()
    with pytest.raises(exc):
        call(m)
    m.close()


@pytest.mark.parametrize("args,exc", [
    (("x", 0), TypeError),
    ((1.0, 0), TypeError),
    ((pycurl.SOCKET_TIMEOUT, "x"), TypeError),
    ((pycurl.SOCKET_TIMEOUT,), TypeError),
    ((), TypeError),
    ((2 ** 40, 0), OverflowError),
    ((2 ** 31, 0), OverflowError),
    ((-5, 0), OverflowError),
    ((pycurl.SOCKET_TIMEOUT, 2 ** 40), OverflowError),
])
def test_socket_action_bad_arguments(args, exc):
    m = pycurl.CurlMulti()
    with pytest.raises(exc):
        m.socket_action(*args)
    m.close()


# ---------------------------------------------------------------------------
# errors raised by (or returned from) the callbacks


def test_socket_callback_exception_in_socket_action(server, capfd):
    m = pycurl.CurlMulti()
    calls = []

    def boom(what, fd, multi, socketp):
        calls.append((what, fd))
        raise ValueError("socket callback failed")

    m.setopt(pycurl.M_SOCKETFUNCTION, boom)
    c = _slow(server)
    m.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    assert ei.value.args == (11, "multi_socket_action failed")  # CURLM_ABORTED_BY_CALLBACK
    err = capfd.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "ValueError: socket callback failed" in err
    m.setopt(pycurl.M_SOCKETFUNCTION, None)
    m.close()
    c.close()


def test_socket_callback_exception_stops_the_call(server, capfd):
    """libcurl gives up on the first failing callback: no further socket
    callbacks in the same socket_action()."""
    m = pycurl.CurlMulti()
    calls = []

    def boom(what, fd, multi, socketp):
        calls.append((what, fd))
        raise ValueError("socket callback failed")

    m.setopt(pycurl.M_SOCKETFUNCTION, boom)
    c = _slow(server)
    m.add_handle(c)
    with pytest.raises(pycurl.error):
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    assert len(calls) == 1, calls
    assert capfd.readouterr().err.count("ValueError: socket callback failed") == 1
    m.setopt(pycurl.M_SOCKETFUNCTION, None)
    m.close()
    c.close()


def test_socket_callback_exception_in_perform(server, capfd):
    m = pycurl.CurlMulti()

    def boom(what, fd, multi, socketp):
        raise ValueError("socket callback failed in perform")

    m.setopt(pycurl.M_SOCKETFUNCTION, boom)
    c = _slow(server)
    m.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        m.perform()
    assert ei.value.args == (11, "perform failed")
    err = capfd.readouterr().err
    assert "ValueError: socket callback failed in perform" in err
    m.setopt(pycurl.M_SOCKETFUNCTION, None)
    m.close()
    c.close()


def test_timer_callback_exception_in_add_handle(server, capfd):
    m = pycurl.CurlMulti()

    def boom(ms):
        raise ValueError("timer callback failed")

    m.setopt(pycurl.M_TIMERFUNCTION, boom)
    c = make(server.url("/hello"))
    with pytest.raises(pycurl.error) as ei:
        m.add_handle(c)
    assert ei.value.args == (11, "curl_multi_add_handle() failed due to internal errors")
    err = capfd.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "ValueError: timer callback failed" in err
    # pycurl does not consider the handle added
    assert c not in m
    assert c.multi() is None
    m.close()
    c.close()


def test_timer_callback_exception_in_socket_action(server, capfd):
    m = pycurl.CurlMulti()
    calls = []

    def later_boom(ms):
        calls.append(ms)
        if len(calls) > 1:
            raise ValueError("timer callback failed later")

    m.setopt(pycurl.M_TIMERFUNCTION, later_boom)
    c = _slow(server)
    m.add_handle(c)  # first call is fine
    with pytest.raises(pycurl.error) as ei:
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    assert ei.value.args == (11, "multi_socket_action failed")
    assert "ValueError: timer callback failed later" in capfd.readouterr().err
    m.setopt(pycurl.M_TIMERFUNCTION, None)
    m.close()
    c.close()


def test_remove_handle_reports_the_timer_as_libcurl_does(server):
    """remove_handle() before the transfers ran: the timer moves to the next transfer's expiry (0),
    and -1 comes when the last one goes; after the transfers finished, nothing is reported."""
    m = pycurl.CurlMulti()
    calls = []
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: calls.append(ms))
    cs = [make(server.url("/hello")) for _ in range(3)]
    for c in cs:
        m.add_handle(c)
    # libcurl reports a change of the earliest expiry time; two adds in one microsecond share it
    assert calls[0] == 0 and set(calls) == {0}
    for c in cs[:2]:
        m.remove_handle(c)
        assert set(calls) == {0}
    n = len(calls)
    m.remove_handle(cs[2])
    assert calls[n:] == [-1]
    m.add_handle(cs[0])
    del calls[:]
    drive(m)
    assert calls[-1] == -1
    n = len(calls)
    m.remove_handle(cs[0])
    assert len(calls) == n
    m.close()
    for c in cs:
        c.close()


@pytest.mark.parametrize("bad", ["raise", -1, "junk"])
def test_timer_callback_failing_in_remove_handle(server, capfd, bad):
    """The -1 report failing makes remove_handle() raise; pycurl then still counts the handle as on
    the multi until it is removed again, and the transfer no longer runs."""
    m = pycurl.CurlMulti()
    armed = []

    def timer(ms):
        if armed:
            armed.append(ms)
            if bad == "raise":
                raise ValueError("timer callback failed on remove")
            return bad
        return None

    m.setopt(pycurl.M_TIMERFUNCTION, timer)
    c = make(server.url("/hello"))
    m.add_handle(c)
    armed.append("on")
    with pytest.raises(pycurl.error) as ei:
        m.remove_handle(c)
    assert ei.value.args == (11, "curl_multi_remove_handle() failed due to internal errors")
    assert armed == ["on", -1]
    err = capfd.readouterr().err
    if bad == "raise":
        assert "ValueError: timer callback failed on remove" in err
    assert c.multi() is m and c in m
    with pytest.raises(pycurl.error, match="already on this multi-stack"):
        m.add_handle(c)
    del armed[:]
    assert m.perform() == (0, 0)
    assert m.info_read() == (0, [], [])
    m.remove_handle(c)
    assert c.multi() is None and c not in m
    c.perform()
    assert body_of(c) == b"hello world"
    m.close()
    c.close()


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_socket_callback_failing_in_remove_handle(server, capfd, bad):
    """POLL_REMOVE failing when remove_handle() takes a transfer in flight: reported, the handle
    is removed all the same, and libcurl then reports no timer."""
    m = pycurl.CurlMulti()
    calls = []
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: None)
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: None)
    c = make(server.url("/slow?delay=2"), TIMEOUT_MS=5000)
    m.add_handle(c)
    for _ in range(5):
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        time.sleep(0.02)
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda what, *a: calls.append(("socket", what)) or bad)
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: calls.append(("timer", ms)))
    m.remove_handle(c)
    assert calls and set(calls) == {("socket", pycurl.POLL_REMOVE)}
    assert c.multi() is None and c not in m
    if bad != -1:
        assert "which does not fit in an int" in capfd.readouterr().err
    m.close()
    c.close()


def test_timer_callback_wrong_signature(server, capfd):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_TIMERFUNCTION, lambda: None)
    c = make(server.url("/hello"))
    with pytest.raises(pycurl.error) as ei:
        m.add_handle(c)
    assert ei.value.args == (11, "curl_multi_add_handle() failed due to internal errors")
    assert "TypeError" in capfd.readouterr().err
    m.close()
    c.close()


def test_socket_callback_wrong_signature(server, capfd):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda fd: None)
    c = make(server.url("/hello"))
    m.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    assert ei.value.args == (11, "multi_socket_action failed")
    assert "TypeError" in capfd.readouterr().err
    m.setopt(pycurl.M_SOCKETFUNCTION, None)
    m.close()
    c.close()


def test_timer_callback_non_integer_return(server, capfd):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: "junk")
    c = make(server.url("/hello"))
    with pytest.raises(pycurl.error) as ei:
        m.add_handle(c)
    assert ei.value.args == (11, "curl_multi_add_handle() failed due to internal errors")
    assert "multi timer callback returned 'junk' which is not an integer" in capfd.readouterr().err
    m.close()
    c.close()


def test_socket_callback_non_integer_return(server, capfd):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: "junk")
    c = make(server.url("/hello"))
    m.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    assert ei.value.args == (11, "multi_socket_action failed")
    assert "multi socket callback returned 'junk' which is not an integer" in capfd.readouterr().err
    m.setopt(pycurl.M_SOCKETFUNCTION, None)
    m.close()
    c.close()


def test_timer_callback_returning_minus_one_is_an_error(server):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: -1)
    c = make(server.url("/hello"))
    with pytest.raises(pycurl.error) as ei:
        m.add_handle(c)
    assert ei.value.args == (11, "curl_multi_add_handle() failed due to internal errors")
    m.close()
    c.close()


def test_socket_callback_returning_minus_one_is_an_error(server):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: -1)
    c = make(server.url("/hello"))
    m.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    assert ei.value.args == (11, "multi_socket_action failed")
    m.setopt(pycurl.M_SOCKETFUNCTION, None)
    m.close()
    c.close()


@pytest.mark.parametrize("ret", [None, 0, True, False])
def test_callbacks_returning_none_or_zero_are_fine(server, ret):
    m = pycurl.CurlMulti()
    loop = Loop(m)
    inner_socket, inner_timer = loop._socket, loop._timer

    def sock(*a):
        inner_socket(*a)
        return ret

    def timer(ms):
        inner_timer(ms)
        return ret

    m.setopt(pycurl.M_SOCKETFUNCTION, sock)
    m.setopt(pycurl.M_TIMERFUNCTION, timer)
    c = make(server.url("/hello"))
    m.add_handle(c)
    loop.run()
    assert drain(m) == ([c], [])
    m.close()
    c.close()


# ---------------------------------------------------------------------------
# what may not be called from inside the callbacks

CLOSE_IN_CALLBACK_MESSAGE = "cannot invoke close() - multi_perform() is currently running"


def _close_attempts(server, kind, phase):
    """Run ``phase`` with a ``kind`` callback that tries m.close(); returns
    (list of outcomes, multi)."""
    m = pycurl.CurlMulti()
    outcomes = []

    def try_close(*a):
        try:
            m.close()
            outcomes.append("closed")
        except pycurl.error as e:
            outcomes.append(e)

    loop = Loop(m)
    if kind == "socket":
        loop.on_socket = lambda *a: try_close()
    else:
        inner = loop._timer

        def timer(ms):
            inner(ms)
            try_close()
        m.setopt(pycurl.M_TIMERFUNCTION, timer)
    c = _slow(server, chunks=10)
    if phase != "add_handle":
        m.add_handle(c)
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0) if phase in ("close", "remove_handle") else None
        outcomes.clear()
    if phase == "add_handle":
        m.add_handle(c)
    elif phase == "socket_action":
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    elif phase == "perform":
        m.perform()
    elif phase == "remove_handle":
        m.remove_handle(c)
    elif phase == "close":
        m.close()
    return outcomes, m, c


@pytest.mark.parametrize("kind,phase", [
    ("timer", "add_handle"),
    ("timer", "socket_action"),
    ("socket", "socket_action"),
    ("socket", "perform"),
    ("socket", "remove_handle"),
    ("socket", "close"),
])
def test_close_inside_callback_raises(server, kind, phase):
    outcomes, m, c = _close_attempts(server, kind, phase)
    assert outcomes, "the %s callback was not called during %s()" % (kind, phase)
    assert all(isinstance(o, pycurl.error) for o in outcomes), outcomes
    if phase != "close":
        assert not m.closed
    m.setopt(pycurl.M_SOCKETFUNCTION, None) if not m.closed else None
    m.close()
    assert m.closed
    c.close()


@pytest.mark.parametrize("kind,phase", [("timer", "add_handle"), ("socket", "socket_action"),
                                        ("timer", "socket_action")])
def test_close_inside_callback_message(server, kind, phase):
    outcomes, m, c = _close_attempts(server, kind, phase)
    assert outcomes
    assert [o.args for o in outcomes if isinstance(o, pycurl.error)] == [
        (CLOSE_IN_CALLBACK_MESSAGE,)] * len(outcomes)
    m.close()
    c.close()


def test_multi_api_refused_inside_socket_callback(server):
    """libcurl forbids re-entering the multi API from its callbacks; pycurl
    reports each attempt as pycurl.error.  Reading messages is allowed."""
    results = {}
    other = pycurl.Curl()

    def on_socket(what, fd, multi, socketp):
        if results:
            return
        for name, call in [
            ("perform", lambda: multi.perform()),
            ("socket_action", lambda: multi.socket_action(pycurl.SOCKET_TIMEOUT, 0)),
            ("add_handle", lambda: multi.add_handle(other)),
            ("remove_handle", lambda: multi.remove_handle(c)),
            ("setopt", lambda: multi.setopt(pycurl.M_MAXCONNECTS, 3)),
            ("info_read", lambda: multi.info_read()),
        ]:
            try:
                results[name] = call()
            except pycurl.error as e:
                results[name] = e

    m = pycurl.CurlMulti()
    loop = Loop(m, on_socket=on_socket)
    c = _slow(server)
    m.add_handle(c)
    loop.run()
    for name in ("perform", "socket_action", "add_handle", "remove_handle", "setopt"):
        assert isinstance(results[name], pycurl.error), (name, results[name])
    assert results["info_read"] == (0, [], [])
    assert other.multi() is None
    assert drain(m) == ([c], [])
    m.close()
    c.close()
    other.close()
