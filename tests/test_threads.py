"""Handles used from several threads: perform() releases the GIL while it waits, and a handle busy
in one thread refuses use from another instead of corrupting state."""
import threading
import time

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
