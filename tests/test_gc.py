"""Garbage collection: cycles through callbacks are collected, and handles dropped mid-use never crash."""
import gc
import sys
import weakref

import pycurl
import pytest

from helpers import IS_RS, perform


def test_cycle_through_callback_is_collected(server):
    c = pycurl.Curl()
    # The callback refers back to the handle: a cycle only the GC can break.
    c.setopt(pycurl.WRITEFUNCTION, lambda data, c=c: None)
    c.setopt(pycurl.HEADERFUNCTION, lambda line, c=c: None)
    perform(c, server.url("/hello"))
    ref = weakref.ref(c)
    del c
    gc.collect()
    assert ref() is None


def test_cycle_between_multi_and_handles_is_collected(server):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda data, m=m: None)
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms, m=m: None)
    m.add_handle(c)
    m.perform()
    refs = [weakref.ref(m), weakref.ref(c)]
    del m, c
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_multi_dropped_mid_transfer_is_safe(server):
    calls = []
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda what, fd, multi, sp: calls.append((what, fd)))
    handles = []
    for _ in range(5):
        c = pycurl.Curl()
        c.setopt(pycurl.URL, server.url("/slow?delay=0.5"))
        c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
        m.add_handle(c)
        handles.append(c)
    m.perform()
    n = len(calls)
    ref = weakref.ref(m)
    del m
    gc.collect()
    # As with pycurl, attached handles do not keep their multi alive.
    assert ref() is None
    if IS_RS:
        # Deliberately unlike pycurl (which reports POLL_REMOVE from the finaliser): no Python
        # callback runs during finalisation.
        assert len(calls) == n
    # The handles were detached and work on their own again.
    assert handles[0].multi() is None
    body, _ = perform(handles[0], server.url("/hello"))
    assert body == b"hello world"
    for c in handles:
        c.close()


def test_handle_dropped_while_attached_stays_alive_until_done(server):
    m = pycurl.CurlMulti()
    got = []
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, got.append)
    m.add_handle(c)
    del c
    gc.collect()
    running = 1
    while running:
        _, running = m.perform()
        if running:
            m.select(1.0)
    queued, ok, failed = m.info_read()
    assert len(ok) == 1 and not failed and b"".join(got) == b"hello world"
    m.close()


@pytest.mark.parametrize("cls", [pycurl.Curl, pycurl.CurlMulti, pycurl.CurlShare])
def test_cycle_through_instance_dict_is_collected(cls):
    o = cls()
    o.me = o
    o.others = [o, {"again": o}]
    ref = weakref.ref(o)
    del o
    gc.collect()
    assert ref() is None


@pytest.mark.parametrize("cls", [pycurl.Curl, pycurl.CurlMulti, pycurl.CurlShare])
def test_instance_dict_is_released_with_its_object(cls):
    def churn(n):
        for _ in range(n):
            o = cls()
            o.tag = n
            del o
        gc.collect()

    churn(200)  # warm caches and free lists
    before = sys.getallocatedblocks()
    churn(5000)
    # One block per object would be 5,000; what stays is interpreter caches, independent of n.
    assert sys.getallocatedblocks() - before < 500


class _Fetcher(pycurl.Curl):
    """The usual shape of real programs: a subclass keeping a bound method as its write callback."""

    def __init__(self):
        super().__init__()
        self.chunks = []
        self.cb = self.on_write
        self.setopt(pycurl.WRITEFUNCTION, self.cb)

    def on_write(self, data):
        self.chunks.append(data)


def test_subclass_with_bound_method_callback_is_collected(server):
    c = _Fetcher()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.perform()
    assert b"".join(c.chunks) == b"hello world"
    ref = weakref.ref(c)
    del c
    gc.collect()
    assert ref() is None


class _Driver(pycurl.CurlMulti):
    def __init__(self):
        super().__init__()
        self.timeouts = []
        self.setopt(pycurl.M_TIMERFUNCTION, self.on_timer)
        self.easies = []

    def on_timer(self, ms):
        self.timeouts.append(ms)


def test_multi_subclass_holding_its_handles_is_collected(server):
    m = _Driver()
    c = _Fetcher()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.owner = m
    m.easies.append(c)
    m.add_handle(c)
    while m.perform()[1]:
        m.select(1.0)
    assert b"".join(c.chunks) == b"hello world"
    refs = [weakref.ref(m), weakref.ref(c)]
    del m, c
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_collect_during_transfer_keeps_the_live_handle_whole(server):
    class Collecting(_Fetcher):
        def on_write(self, data):
            gc.collect()
            super().on_write(data)

    c = Collecting()
    c.me = c
    c.setopt(pycurl.URL, server.url("/hello"))
    c.perform()
    assert c.me is c and c.cb == c.on_write
    assert b"".join(c.chunks) == b"hello world"
    ref = weakref.ref(c)
    del c
    gc.collect()
    assert ref() is None


def test_handle_in_a_cycle_dropped_while_attached_finishes(server):
    m = pycurl.CurlMulti()
    c = _Fetcher()
    c.me = c
    c.setopt(pycurl.URL, server.url("/slow?delay=0.2"))
    m.add_handle(c)
    m.perform()
    ref = weakref.ref(c)
    del c
    gc.collect()
    # The multi still holds it: the GC must not have emptied it mid-transfer.
    c = ref()
    assert c is not None and c.me is c and c.cb == c.on_write
    while m.perform()[1]:
        m.select(1.0)
    queued, ok, failed = m.info_read()
    assert ok == [c] and not failed and c.chunks
    m.remove_handle(c)
    m.close()
