"""A signal handler that raises interrupts a waiting perform() (pycurl-rs: at once)."""
import os
import signal
import threading
import time

import pytest

import pycurl

from helpers import IS_RS, perform


class Interrupted(Exception):
    pass


def test_signal_handler_exception_ends_perform(server):
    def handler(signum, frame):
        raise Interrupted()

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        c = pycurl.Curl()
        c.setopt(pycurl.URL, server.url("/slow?delay=2"))
        c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
        timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGUSR1))
        timer.start()
        t0 = time.monotonic()
        # pycurl-rs raises the handler's exception from the wait; real pycurl finishes the transfer
        # and the pending exception then fails its write callback (error 23).
        with pytest.raises(Interrupted if IS_RS else (Interrupted, pycurl.error)):
            c.perform()
        elapsed = time.monotonic() - t0
        timer.join()
        if IS_RS:
            assert elapsed < 1.5
        # The handle is usable afterwards.
        body, _ = perform(c, server.url("/hello"))
        assert body == b"hello world"
        c.close()
    finally:
        signal.signal(signal.SIGUSR1, old)
