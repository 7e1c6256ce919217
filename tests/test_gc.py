"""Garbage collection: cycles through callbacks are collected, and handles dropped mid-use never crash."""
import gc
import weakref

import pycurl

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
