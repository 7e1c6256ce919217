"""Interpreter exit while a daemon thread is inside a transfer.

Each case runs a child interpreter: a daemon thread sits in Curl.perform(), a CurlMulti
perform()/select() loop or an AsyncCurlMulti loop on a transfer that never finishes, and the main
thread returns. An object in __main__ sleeps in __del__ during finalization, so the transfer's wait
returns while the interpreter is finalizing (the moment CPython ends daemon threads). Real pycurl
exits 0 there; so must we (no SIGABRT from an unwind through Rust frames).
"""
import os
import subprocess
import sys
import textwrap
import time

import pytest

PRELUDE = textwrap.dedent(
    """
    import gc, socket, sys, threading, time
    import pycurl

    # A peer that accepts (through the listen backlog) and never answers.
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    url = "http://127.0.0.1:%d/" % lsock.getsockname()[1]
    started = threading.Event()

    class SlowFinalizer:
        # Collected by the interpreter's last garbage collection, which runs after it is marked
        # as finalizing; the default argument keeps time.sleep reachable by then.
        def __del__(self, sleep=time.sleep):
            sleep(0.6)

    # A cycle that only the final collection frees (the collector is off until then).
    gc.disable()
    keeper = SlowFinalizer()
    keeper.cycle = keeper
    del keeper

    def handle():
        c = pycurl.Curl()
        c.setopt(pycurl.URL, url)
        c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
        return c
    """
)

BODIES = {
    # TIMEOUT_MS lands inside the finalizer's sleep: perform()'s wait returns during finalization.
    "easy": """
        def run():
            c = handle()
            c.setopt(pycurl.TIMEOUT_MS, 500)
            started.set()
            while True:
                try:
                    c.perform()
                except pycurl.error:
                    pass
    """,
    "multi_select": """
        def run():
            m = pycurl.CurlMulti()
            m.add_handle(handle())
            started.set()
            while True:
                m.perform()
                m.select(0.02)
    """,
    "multi_perform": """
        def run():
            m = pycurl.CurlMulti()
            m.add_handle(handle())
            started.set()
            while True:
                m.perform()
    """,
    "async_multi": """
        import asyncio

        def run():
            async def main():
                async with pycurl.AsyncCurlMulti() as multi:
                    started.set()
                    while True:
                        try:
                            await multi.perform(handle())
                        except pycurl.error:
                            pass
            asyncio.run(main())
    """,
}

# A peer that streams a body without end, so the transfer spends its time in WRITEFUNCTION.
STREAMER = """
        ssock = socket.socket()
        ssock.bind(("127.0.0.1", 0))
        ssock.listen(8)
        stream_url = "http://127.0.0.1:%d/" % ssock.getsockname()[1]

        def stream():
            while True:
                conn, _ = ssock.accept()
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 1000000000000\\r\\n\\r\\n")
                try:
                    while True:
                        conn.sendall(b"x" * 16384)
                except OSError:
                    pass

        threading.Thread(target=stream, daemon=True).start()
"""

# A daemon thread inside a Python callback called from Rust when the interpreter exits: the exit
# waits for it to leave the callback (up to a second), then it parks at its next wait or callback.
BODIES.update({
    "write_callback_sleeps": STREAMER + """
        def run():
            c = handle()
            c.setopt(pycurl.URL, stream_url)
            c.setopt(pycurl.WRITEFUNCTION, lambda d: time.sleep(0.0005))
            started.set()
            c.perform()
    """,
    "write_callback_computes": STREAMER + """
        def run():
            c = handle()
            c.setopt(pycurl.URL, stream_url)
            c.setopt(pycurl.WRITEFUNCTION, lambda d: sum(range(3000)) and None)
            started.set()
            c.perform()
    """,
    "multi_socket_callback": STREAMER + """
        def run():
            m = pycurl.CurlMulti()
            def on_socket(what, fd, multi, data):
                time.sleep(0.0005)
            def on_timer(ms):
                time.sleep(0.0005)
            m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
            m.setopt(pycurl.M_TIMERFUNCTION, on_timer)
            c = handle()
            c.setopt(pycurl.URL, stream_url)
            c.setopt(pycurl.WRITEFUNCTION, lambda d: time.sleep(0.0002))
            m.add_handle(c)
            started.set()
            while True:
                m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    """,
})

EPILOGUE = textwrap.dedent(
    """
    threading.Thread(target=run, daemon=True).start()
    started.wait(5)
    time.sleep(0.2)
    print("exiting", flush=True)
    """
)


@pytest.mark.parametrize("mode", sorted(BODIES))
def test_exit_with_daemon_thread_in_transfer(mode):
    code = PRELUDE + textwrap.dedent(BODIES[mode]) + EPILOGUE
    env = dict(os.environ, PYTHONFAULTHANDLER="")
    t0 = time.monotonic()
    for _ in range(3):
        # Three runs: the abort this guards against depends on where the thread is at the exit.
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, env=env)
        assert (p.returncode, p.stdout, p.stderr) == (0, b"exiting\n", b"")
    assert time.monotonic() - t0 < 15


def test_atexit_hook_joining_a_thread_in_a_wait_does_not_hang():
    # An application hook registered before pycurl was imported runs after pycurl's own hook: it
    # stops and joins a daemon thread that sits in CurlMulti.select(). The join must return.
    code = textwrap.dedent(
        """
        import atexit, threading
        stop = threading.Event()
        def shutdown():
            stop.set()
            worker.join(10)
            print("joined" if not worker.is_alive() else "stuck", flush=True)
        atexit.register(shutdown)

        import pycurl  # imported later: its exit hook runs first
        started = threading.Event()

        import socket
        lsock = socket.socket()  # accepts through the backlog, never answers
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)

        def run():
            m = pycurl.CurlMulti()
            c = pycurl.Curl()
            c.setopt(pycurl.URL, "http://127.0.0.1:%d/" % lsock.getsockname()[1])
            c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
            m.add_handle(c)
            started.set()
            while not stop.is_set():
                m.perform()
                m.select(0.05)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        started.wait(5)
        """
    )
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"joined\n", b"")
    assert time.monotonic() - t0 < 8
