"""Handles used from several threads: perform() releases the GIL while it waits, and a handle busy
in one thread refuses use from another instead of corrupting state."""
import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import pycurl

from helpers import perform


def test_performs_overlap_in_threads(server):
    # Each transfer waits 0.3 s on the server: four in parallel take far less than four in a row.
    results = []

    def worker():
        c = pycurl.Curl()
        body, _ = perform(c, server.url("/slow?delay=0.3"))
        results.append((c.getinfo(pycurl.RESPONSE_CODE), len(body) > 0))
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [(200, True)] * 4
    assert time.monotonic() - t0 < 1.0


def test_handle_busy_in_another_thread_is_refused(server):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/slow?delay=0.5"))
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    t = threading.Thread(target=c.perform)
    t.start()
    time.sleep(0.15)
    errors = []
    for call in (c.perform, lambda: c.setopt(pycurl.VERBOSE, 1), lambda: c.getinfo(pycurl.RESPONSE_CODE)):
        try:
            call()
        except pycurl.error as e:
            errors.append(e.args[0])
    t.join(10)
    assert len(errors) == 3 and all("perform() is currently running" in m for m in errors)
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    c.close()


PAUSE_ELSEWHERE = "cannot invoke pause() - perform() is currently running on another thread"


def test_pause_from_another_thread_is_refused(server):
    # pycurl refuses pause() from any thread but the one inside perform(); the transfer goes on.
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/slowbody?delay=0.1&chunks=4"))
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    t = threading.Thread(target=c.perform)
    t.start()
    time.sleep(0.15)
    errors = []
    for mask in (pycurl.PAUSE_ALL, pycurl.PAUSE_CONT):
        try:
            c.pause(mask)
        except pycurl.error as e:
            errors.append(e.args)
    t0 = time.monotonic()
    t.join(5)
    assert not t.is_alive() and time.monotonic() - t0 < 1.0
    assert errors == [(PAUSE_ELSEWHERE,)] * 2
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    c.close()


def test_pause_inside_own_callback_still_works(server):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/bytes?n=100000"))
    got = []

    def write(data):
        got.append(len(data))
        if len(got) == 1:
            # Pausing and resuming from the performing thread itself is allowed.
            c.pause(pycurl.PAUSE_ALL)
            c.pause(pycurl.PAUSE_CONT)

    c.setopt(pycurl.WRITEFUNCTION, write)
    c.perform()
    assert sum(got) == 100000
    c.close()


def _multi_calls(m, c, other):
    calls = [
        ("pause", lambda: c.pause(pycurl.PAUSE_CONT)),
        ("perform", m.perform),
        ("select", lambda: m.select(0.01)),
        ("socket_action", lambda: m.socket_action(pycurl.SOCKET_TIMEOUT, 0)),
        ("add", lambda: m.add_handle(other)),
        ("remove", lambda: m.remove_handle(c)),
        ("timeout", m.timeout),
        ("fdset", m.fdset),
        ("setopt", lambda: m.setopt(pycurl.M_MAXCONNECTS, 3)),
        ("close", m.close),
        ("easy_perform", c.perform),
    ]
    out = {}
    for name, call in calls:
        try:
            call()
            out[name] = "ok"
        except pycurl.error as e:
            out[name] = e.args
    return out


def _running(what):
    return ("cannot invoke %s() - multi_perform() is currently running" % what,)


MULTI_BUSY = {
    "perform": _running("perform"),
    "select": _running("select"),
    "socket_action": _running("socket_action"),
    "add": ("cannot add/remove handle - multi_perform() already running",),
    "remove": ("cannot add/remove handle - multi_perform() already running",),
    "timeout": _running("timeout"),
    "fdset": _running("fdset"),
    "setopt": _running("setopt"),
    "close": _running("close"),
    "easy_perform": ("cannot invoke perform() - perform() is currently running",),
}


def test_multi_in_use_by_another_thread_is_refused(server):
    # Thread A runs the multi and sleeps inside a write callback (GIL released); the main
    # thread's calls on the multi and its handle get pycurl's "currently running" errors.
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/slowbody?delay=0.05&chunks=3"))
    m = pycurl.CurlMulti()
    m.add_handle(c)
    inside = []

    def write(data):
        if not inside:
            inside.append(_multi_calls(m, c, pycurl.Curl()))
        time.sleep(0.2)

    c.setopt(pycurl.WRITEFUNCTION, write)

    def loop():
        running = 1
        while running:
            _, running = m.perform()
            m.select(0.1)

    t = threading.Thread(target=loop)
    t.start()
    time.sleep(0.12)
    other = _multi_calls(m, c, pycurl.Curl())
    t.join(10)
    assert not t.is_alive()
    assert other == dict(MULTI_BUSY, pause=(PAUSE_ELSEWHERE,))
    # From the multi's own callback the same refusals hold, but pause() is allowed.
    assert inside == [dict(MULTI_BUSY, pause="ok")]
    queued, ok, failed = m.info_read()
    assert (queued, ok, failed) == (0, [c], [])
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200


HAMMER = textwrap.dedent(
    """
    import collections, json, sys, threading, time
    sys.path.insert(0, %(tests)r)
    import pycurl, servers
    srv = servers.start_server()
    url = srv.url("/hello")
    kind = sys.argv[1]
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    m = pycurl.CurlMulti()
    seen = collections.Counter()
    stop = time.monotonic() + 1.0

    def easy_worker(i):
        ops = [c.perform, lambda: c.setopt(pycurl.URL, url), lambda: c.getinfo(pycurl.RESPONSE_CODE),
               lambda: c.pause(0), c.errstr]
        while time.monotonic() < stop:
            i += 1
            try:
                ops[i %% len(ops)]()
                seen["ok"] += 1
            except pycurl.error as e:
                seen[e.args[-1]] += 1

    def multi_worker(i):
        h = pycurl.Curl()
        h.setopt(pycurl.URL, url)
        h.setopt(pycurl.WRITEFUNCTION, lambda d: None)
        while time.monotonic() < stop:
            try:
                m.add_handle(h)
                running = 1
                while running and time.monotonic() < stop:
                    _, running = m.perform()
                    m.select(0.01)
                    m.info_read()
                m.remove_handle(h)
                seen["ok"] += 1
            except pycurl.error as e:
                seen[e.args[-1]] += 1
                try:
                    m.remove_handle(h)
                except pycurl.error:
                    pass

    work = easy_worker if kind == "easy" else multi_worker
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)
    # The handle still works afterwards.
    c.setopt(pycurl.URL, url)
    c.perform()
    print(json.dumps([c.getinfo(pycurl.RESPONSE_CODE), seen["ok"] > 0, sorted(k for k in seen if k != "ok")]))
    srv.stop()
    """
)


@pytest.mark.parametrize("kind", ["easy", "multi"])
def test_many_threads_hammering_one_handle_raise_cleanly(kind):
    # Real pycurl can abort here (libcurl handles are not thread-safe); we must raise instead.
    # A child process, so that a crash is a failure of this test and not of the whole run.
    code = HAMMER % {"tests": os.path.dirname(os.path.abspath(__file__))}
    p = subprocess.run([sys.executable, "-c", code, kind], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    code, any_ok, messages = json.loads(p.stdout)
    assert (code, any_ok) == (200, True)
    allowed = {
        "cannot invoke getinfo() - perform() is currently running",
        "cannot invoke pause() - perform() is currently running on another thread",
        "cannot invoke errstr() - perform() is currently running",
        "cannot invoke perform() - perform() is currently running",
        "cannot invoke setopt() - perform() is currently running",
        "pause/unpause failed",
        "cannot add/remove handle - multi_perform() already running",
        "cannot invoke perform() - multi_perform() is currently running",
        "cannot invoke select() - multi_perform() is currently running",
        "curl object already on this multi-stack",
    }
    assert set(messages) <= allowed, messages
