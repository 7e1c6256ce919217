"""What real pycurl clients found (issue 8): option values, streaming decode, bytes on the wire,
handles changed between multi calls."""

import asyncio
import contextlib
import io
import select
import subprocess
import sys
import time

import pytest

import pycurl

from helpers import perform


def _setopt_error(option, value):
    c = pycurl.Curl()
    try:
        with pytest.raises(pycurl.error) as ei:
            c.setopt(option, value)
        return ei.value.args
    finally:
        c.close()


@pytest.mark.parametrize("name,hexid", [
    ("BUFFERSIZE", "62"), ("LOW_SPEED_LIMIT", "13"), ("LOW_SPEED_TIME", "14"),
    ("MAXFILESIZE", "75a5"), ("MAXFILESIZE_LARGE", "75a5"), ("MAX_RECV_SPEED_LARGE", "75c2"),
    ("MAX_SEND_SPEED_LARGE", "75c1"),
])
def test_negative_values_are_bad_arguments(name, hexid):
    assert _setopt_error(getattr(pycurl, name), -1) == (43, f"setopt 0x{hexid} got bad argument")


def test_postfieldsize_below_minus_one_and_http_version_minus_one():
    assert _setopt_error(pycurl.POSTFIELDSIZE, -2) == (43, "setopt 0x75a8 got bad argument")
    assert _setopt_error(pycurl.POSTFIELDSIZE_LARGE, -2) == (43, "setopt 0x75a8 got bad argument")
    assert _setopt_error(pycurl.HTTP_VERSION, -1) == (43, "setopt 0x54 got bad argument")
    assert _setopt_error(pycurl.HTTP_VERSION, 99) == (1, "Unsupported protocol")
    assert _setopt_error(pycurl.USE_SSL, 4) == (43, "setopt 0x77 got bad argument")
    assert _setopt_error(pycurl.PROXYAUTH, 1 << 40)[0] == pycurl.E_NOT_BUILT_IN


@pytest.mark.parametrize("option,value", [
    (pycurl.USE_SSL, pycurl.USESSL_ALL), (pycurl.USE_SSL, pycurl.USESSL_TRY),
    (pycurl.PROXYAUTH, pycurl.HTTPAUTH_BASIC), (pycurl.PROXYAUTH, pycurl.HTTPAUTH_ANY),
    (pycurl.PROXYAUTH, 0), (pycurl.POSTFIELDSIZE, -1),
])
def test_accepted_values_leave_http_transfer_alone(server, curl, option, value):
    curl.setopt(option, value)
    body, _ = perform(curl, server.url("/bytes?n=5000"))
    assert len(body) == 5000
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200


def test_buffersize_zero_means_minimum(server, curl):
    chunks = []
    curl.setopt(pycurl.BUFFERSIZE, 0)
    curl.setopt(pycurl.URL, server.url("/bytes?n=50000"))
    curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
    curl.perform()
    assert sum(map(len, chunks)) == 50000
    assert max(map(len, chunks)) == 1024


# --- streaming decode -------------------------------------------------------------------------

@pytest.mark.parametrize("ce", ["gzip", "deflate"])
def test_sync_flushed_piece_reaches_writefunction_at_once(server, curl, ce):
    # the server sends piece 1, waits 1.5 s, sends piece 2: piece 1 must not wait for piece 2
    got = []
    start = time.monotonic()
    curl.setopt(pycurl.URL, server.url(f"/gzip-flushed?ce={ce}&pieces=2&delay=1.5"))
    curl.setopt(pycurl.ACCEPT_ENCODING, "")
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: got.append((time.monotonic() - start, b)))
    curl.perform()
    assert b"".join(b for _, b in got) == b"piece 0;piece 1;"
    assert got[0][1] == b"piece 0;"
    assert got[0][0] < 1.0


def _bomb(curl, url, **opts):
    sizes = []
    curl.setopt(pycurl.URL, url)
    curl.setopt(pycurl.ACCEPT_ENCODING, "")
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: sizes.append(len(b)))
    for k, v in opts.items():
        curl.setopt(getattr(pycurl, k), v)
    return sizes


def test_maxfilesize_applies_to_decoded_size(server, curl):
    sizes = _bomb(curl, server.url("/gzip-bomb?mib=256"), MAXFILESIZE=10 << 20)
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args == (pycurl.E_FILESIZE_EXCEEDED, "Would have exceeded max file size")
    assert (10 << 20) - 2 * 16384 < sum(sizes) <= 10 << 20


@pytest.mark.parametrize("layers", [1, 2])
def test_bomb_is_delivered_in_bounded_pieces(server, curl, layers):
    sizes = _bomb(curl, server.url(f"/gzip-bomb?mib=256&layers={layers}"))
    curl.perform()
    assert sum(sizes) == 256 << 20
    assert max(sizes) <= 16384


def test_bomb_memory_stays_bounded(server):
    # peak RSS of a fresh interpreter fetching a 256 MiB gzip,gzip bomb (a few KB on the wire)
    script = (
        "import pycurl, resource, sys\n"
        "c = pycurl.Curl()\n"
        "c.setopt(pycurl.URL, sys.argv[1])\n"
        "c.setopt(pycurl.ACCEPT_ENCODING, '')\n"
        "c.setopt(pycurl.WRITEFUNCTION, lambda b: None)\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "c.perform()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n"
    )
    _bomb(pycurl.Curl(), server.url("/gzip-bomb?mib=256&layers=2"))  # warm the server's cache
    out = subprocess.run([sys.executable, "-c", script, server.url("/gzip-bomb?mib=256&layers=2")],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert int(out) < 64 * 1024  # KiB


def test_paused_bomb_holds_one_piece(server):
    # a transfer paused on its first piece is not decoded further while paused
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    sizes = []

    def write(b):
        sizes.append(len(b))
        if len(sizes) == 1:
            return pycurl.WRITEFUNC_PAUSE
    c.setopt(pycurl.URL, server.url("/gzip-bomb?mib=64"))
    c.setopt(pycurl.ACCEPT_ENCODING, "")
    c.setopt(pycurl.WRITEFUNCTION, write)
    m.add_handle(c)
    deadline = time.monotonic() + 30
    while not sizes and time.monotonic() < deadline:
        m.perform()
        m.select(0.05)
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        m.perform()
        m.select(0.05)
    assert sizes == [16384]
    c.pause(pycurl.PAUSE_CONT)
    running = 1
    while running:
        _, running = m.perform()
        if running:
            m.select(0.1)
    # the piece refused with PAUSE is delivered again after unpausing, as libcurl does
    assert sum(sizes) == (64 << 20) + 16384
    m.remove_handle(c)
    c.close()
    m.close()


def test_more_than_five_encodings_rejected(server, curl):
    curl.setopt(pycurl.ACCEPT_ENCODING, "")
    body, _ = perform(curl, server.url("/encoded?ce=gzip,gzip,gzip,gzip,gzip"))
    assert len(body) == 1200
    curl.setopt(pycurl.URL, server.url("/encoded?ce=gzip,gzip,gzip,gzip,gzip&label=gzip,identity,gzip,gzip,gzip,gzip"))
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args == (61, "Reject response exceeding limit of 5 content encodings")


# --- version string -------------------------------------------------------------------------

def test_version_passes_capability_checks_for_what_it_decodes(server, curl):
    # programs ask for gzip when "zlib" is in pycurl.version, for br when "brotli" is
    assert "zlib/" in pycurl.version and "brotli" in pycurl.version
    vi = pycurl.version_info()
    assert vi[4] & pycurl.VERSION_LIBZ and vi[4] & pycurl.VERSION_BROTLI
    assert vi[7] and vi[7] in pycurl.version
    for path in ("/gzip", "/deflate", "/br"):
        curl.setopt(pycurl.ACCEPT_ENCODING, "")
        body, _ = perform(curl, server.url(path))
        assert body == b"hello world " * 100



# --- callbacks changed between CurlMulti.perform() calls ----------------------------------------

@pytest.mark.parametrize("mode", ["WRITEFUNCTION", "WRITEDATA", "unset"])
def test_writer_changed_between_multi_performs_takes_effect(server, mode):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/gzip-flushed?ce=gzip&pieces=3&delay=0.3"))
    c.setopt(pycurl.ACCEPT_ENCODING, "")
    first, second = io.BytesIO(), io.BytesIO()
    if mode == "WRITEDATA":
        c.setopt(pycurl.WRITEDATA, first)
    else:
        c.setopt(pycurl.WRITEFUNCTION, first.write)
    m.add_handle(c)
    switched = False
    running = 1
    with contextlib.redirect_stdout(io.StringIO()):
        while running:
            _, running = m.perform()
            if first.getvalue() and not switched:
                switched = True
                if mode == "WRITEDATA":
                    c.setopt(pycurl.WRITEDATA, second)
                elif mode == "unset":
                    c.unsetopt(pycurl.WRITEFUNCTION)
                else:
                    c.setopt(pycurl.WRITEFUNCTION, second.write)
            if running:
                m.select(0.1)
    assert m.info_read()[1] == [c]
    assert first.getvalue() == b"piece 0;"
    assert second.getvalue() == (b"" if mode == "unset" else b"piece 1;piece 2;")
    m.remove_handle(c)
    c.close()
    m.close()


# --- bytes options go on the wire as given ------------------------------------------------------

def test_bytes_options_reach_the_wire_unchanged(server, curl):
    curl.setopt(pycurl.HTTPHEADER, [b"Foo: b\xe4r", b"Utf: b\xc3\xa4r", b"Pua: \xef\x9e\x80", "Ascii: plain"])
    curl.setopt(pycurl.USERAGENT, b"agent-\xe9")
    curl.setopt(pycurl.REFERER, b"http://r/\xff")
    curl.setopt(pycurl.COOKIE, b"k=\xe4")
    perform(curl, server.url("/hello"))
    head = server.last_request().head
    for line in (b"Foo: b\xe4r", b"Utf: b\xc3\xa4r", b"Pua: \xef\x9e\x80", b"Ascii: plain",
                 b"User-Agent: agent-\xe9", b"Referer: http://r/\xff", b"Cookie: k=\xe4"):
        assert b"\r\n" + line + b"\r\n" in head


def test_latin1_url_bytes_in_request_line(server, curl):
    curl.setopt(pycurl.URL, server.url("/hello?q=\xe4").encode("latin-1"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    curl.perform()
    assert server.last_request().head.startswith(b"GET /hello?q=\xe4 HTTP/1.1\r\n")
    with pytest.raises(UnicodeDecodeError):
        curl.getinfo(pycurl.EFFECTIVE_URL)


# --- event loops: pause from outside the callbacks, bad M_* callback results ----------------------

def _drive_paused(server):
    """A socket_action-driven transfer paused by its write callback; returns what an event loop
    keeps: the multi, the handle, its log of callback calls, sockets and timeout."""
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/bytes?n=200000"))
    st = {"log": [], "socks": {}, "timeout": None, "paused": False, "got": 0}

    def write(b):
        st["got"] += len(b)
        if not st["paused"]:
            st["paused"] = True
            return pycurl.WRITEFUNC_PAUSE

    def sockf(what, fd, multi, sp):
        st["log"].append(("socket", what))
        if what == pycurl.POLL_REMOVE:
            st["socks"].pop(fd, None)
        else:
            st["socks"][fd] = what

    def timerf(ms):
        st["log"].append(("timer", ms))
        st["timeout"] = ms
    c.setopt(pycurl.WRITEFUNCTION, write)
    m.setopt(pycurl.M_SOCKETFUNCTION, sockf)
    m.setopt(pycurl.M_TIMERFUNCTION, timerf)
    m.add_handle(c)
    return m, c, st


def _wait_only_on_callbacks(m, st, until, limit):
    """One event loop that wakes only for what M_SOCKETFUNCTION / M_TIMERFUNCTION asked for (a
    timer is one-shot: after it fires, only a new M_TIMERFUNCTION call sets another)."""
    deadline = time.monotonic() + limit
    running = 1
    while running and not until() and time.monotonic() < deadline:
        r = [fd for fd, w in st["socks"].items() if w & pycurl.POLL_IN]
        w = [fd for fd, w in st["socks"].items() if w & pycurl.POLL_OUT]
        t = st["timeout"]
        left = max(0.0, deadline - time.monotonic())
        rr, ww, _ = select.select(r, w, [], left if t is None or t < 0 else min(left, t / 1000))
        if not rr and not ww:
            if t is not None and t >= 0:
                st["timeout"] = None
                running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]
            continue
        for fd in set(rr) | set(ww):
            ev = (pycurl.CSELECT_IN if fd in rr else 0) | (pycurl.CSELECT_OUT if fd in ww else 0)
            running = m.socket_action(fd, ev)[1]
    return running


@pytest.mark.parametrize("how", ["pause", "unpause"])
def test_unpause_from_outside_reports_timer_so_event_loop_wakes(server, how):
    m, c, st = _drive_paused(server)
    _wait_only_on_callbacks(m, st, lambda: st["paused"], 5)
    _wait_only_on_callbacks(m, st, lambda: False, 0.3)
    del st["log"][:]
    if how == "pause":
        c.pause(pycurl.PAUSE_CONT)
    else:
        c.unpause()
    assert ("timer", 0) in st["log"]
    assert _wait_only_on_callbacks(m, st, lambda: False, 5) == 0
    assert st["got"] >= 200000
    m.remove_handle(c)
    m.close()


@pytest.mark.parametrize("ret", [2 ** 31, 2 ** 40, -2 ** 70])
def test_timer_result_that_does_not_fit_an_int_fails_add_handle(server, ret, capfd):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: ret)
    with pytest.raises(pycurl.error) as ei:
        m.add_handle(c)
    assert ei.value.args == (11, "curl_multi_add_handle() failed due to internal errors")
    assert c not in m
    assert f"OverflowError: multi timer callback returned {ret} which does not fit in an int" in capfd.readouterr().err
    m.close()


def test_socket_result_that_does_not_fit_an_int_fails_socket_action(server, capfd):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: 2 ** 40)
    m.add_handle(c)
    with pytest.raises(pycurl.error) as ei:
        for _ in range(50):
            if m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1] == 0:
                break
            time.sleep(0.01)
    assert ei.value.args == (11, "multi_socket_action failed")
    assert "does not fit in an int" in capfd.readouterr().err
    m.close()


@pytest.mark.parametrize("where", ["socket", "timer"])
def test_keyboard_interrupt_in_multi_callback_propagates(server, where):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)

    def raise_kbd(*a):
        raise KeyboardInterrupt
    if where == "socket":
        m.setopt(pycurl.M_SOCKETFUNCTION, raise_kbd)
        m.add_handle(c)
    else:
        m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: None)
        m.add_handle(c)
        m.setopt(pycurl.M_TIMERFUNCTION, raise_kbd)
    with pytest.raises(KeyboardInterrupt):
        for _ in range(50):
            if m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1] == 0:
                break
            time.sleep(0.01)
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: None)
    m.remove_handle(c)
    m.close()


def test_timer_set_after_add_handle_gets_no_minus_one(server):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    m.add_handle(c)
    calls = []
    m.setopt(pycurl.M_TIMERFUNCTION, calls.append)
    for _ in range(3):
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    assert -1 not in calls
    m.close()


# --- AsyncCurlMulti ----------------------------------------------------------------------------

def _async_handle(url, **opts):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c


def _run_async(coro, timeout=20):
    async def guarded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(guarded())


class _NoWatchLoop(asyncio.SelectorEventLoop):
    """A loop that cannot watch sockets, as Windows' proactor loop."""

    def add_reader(self, *args):
        raise NotImplementedError

    def add_writer(self, *args):
        raise NotImplementedError


def test_async_loop_that_cannot_watch_sockets_is_refused_with_remedy(server):
    async def main():
        multi = pycurl.AsyncCurlMulti()
        c = _async_handle(server.url("/hello"))
        with pytest.raises(RuntimeError, match="selector event loop.*WindowsSelectorEventLoopPolicy"):
            multi.add_handle(c)
        assert multi.futures() == ()
        await multi.aclose()
        c.close()

    loop = _NoWatchLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_async_failed_add_handle_leaves_nothing_registered(server):
    multi = pycurl.AsyncCurlMulti()

    async def fail():
        c = _async_handle(server.url("/hello"))
        c.close()
        with pytest.raises(pycurl.error):
            multi.add_handle(c)
        assert multi.futures() == ()

    _run_async(fail())

    async def then_use():  # a fresh loop: the failed add did not bind the first one
        c = _async_handle(server.url("/hello"))
        assert await multi.perform(c) is c
        await multi.aclose()
        c.close()

    _run_async(then_use())


def test_async_watcher_failure_fails_every_transfer_with_one_error(server):
    """A loop that stops accepting watchers after binding makes socket_action fail: every pending
    future gets that one pycurl.error, with the loop's exception as its cause."""
    async def main():
        loop = asyncio.get_running_loop()
        async with pycurl.AsyncCurlMulti() as multi:
            multi._ensure_loop()

            def refuse(*args):
                raise OSError("no more watchers")
            loop.add_reader = loop.add_writer = refuse
            a, b = _async_handle(server.url("/hello")), _async_handle(server.url("/hello"))
            got = await asyncio.wait_for(
                asyncio.gather(multi.add_handle(a), multi.add_handle(b), return_exceptions=True), 5)
            del loop.add_reader, loop.add_writer
            assert isinstance(got[0], pycurl.error) and got[0] is got[1]
            assert isinstance(got[0].__cause__, OSError)
            assert multi.futures() == ()
            a.close()
            b.close()

    _run_async(main())


def test_async_closing_a_handle_in_flight_cancels_its_future(server):
    async def main():
        async with pycurl.AsyncCurlMulti() as multi:
            c = _async_handle(server.url("/slow?delay=2"))
            fut = multi.add_handle(c)
            await asyncio.sleep(0.1)
            c.close()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(fut, 1)
            assert multi.futures() == ()

    _run_async(main())


def test_async_unpause_from_outside_completes(server):
    async def main():
        async with pycurl.AsyncCurlMulti() as multi:
            st = {"paused": False, "got": 0}

            def write(b):
                st["got"] += len(b)
                if not st["paused"]:
                    st["paused"] = True
                    return pycurl.WRITEFUNC_PAUSE
            c = _async_handle(server.url("/bytes?n=200000"))
            c.setopt(pycurl.WRITEFUNCTION, write)
            fut = multi.add_handle(c)
            while not st["paused"]:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
            c.pause(pycurl.PAUSE_CONT)
            assert await asyncio.wait_for(fut, 2) is c
            assert st["got"] >= 200000

    _run_async(main())


def test_async_transfer_ending_on_the_timer_path_completes(server):
    async def main():
        async with pycurl.AsyncCurlMulti() as multi:
            c = _async_handle(server.url("/slow?delay=3"), TIMEOUT_MS=300)
            with pytest.raises(pycurl.error) as ei:
                await asyncio.wait_for(multi.perform(c), 2)
            assert ei.value.args[0] == pycurl.E_OPERATION_TIMEDOUT

    _run_async(main())


def test_async_watchers_follow_socket_interest_exactly(server):
    """Each M_SOCKETFUNCTION change (IN, OUT, INOUT, REMOVE) leaves the loop watching exactly what
    libcurl asked for; at the end nothing is watched."""
    seen = []

    class RecordingLoop(asyncio.SelectorEventLoop):
        def watched(self):
            out = {}
            for key in self._selector.get_map().values():
                if key.fileobj != self._ssock.fileno():
                    out[key.fd] = key.events
            return out

    async def main():
        loop = asyncio.get_running_loop()
        async with pycurl.AsyncCurlMulti() as multi:
            inner = multi._multi
            own = multi._on_socket

            def check(what, fd, m, sp):
                r = own(what, fd, m, sp)
                want = {pycurl.POLL_IN: 1, pycurl.POLL_OUT: 2, pycurl.POLL_INOUT: 3, pycurl.POLL_REMOVE: 0}[what]
                seen.append((what, loop.watched().get(fd, 0) == want))
                return r
            inner.setopt(pycurl.M_SOCKETFUNCTION, check)
            c = _async_handle(server.url("/echo"), POSTFIELDS=b"x" * 3000000)
            await multi.perform(c)
            assert loop.watched() == {}

    loop = RecordingLoop()
    try:
        loop.run_until_complete(asyncio.wait_for(main(), 20))
    finally:
        loop.close()
    assert {w for w, _ in seen} >= {pycurl.POLL_IN, pycurl.POLL_REMOVE}
    assert all(ok for _, ok in seen), seen


def test_async_failed_calls_into_the_multi_leave_it_not_driving(server):
    """The flag telling our own calls from the application's is restored when add_handle,
    remove_handle or socket_action raise: closing a handle in flight afterwards still cancels it."""
    async def main():
        async with pycurl.AsyncCurlMulti() as multi:
            dead = _async_handle(server.url("/hello"))
            dead.close()
            with pytest.raises(pycurl.error):
                multi.add_handle(dead)
            other = pycurl.CurlMulti()
            taken = _async_handle(server.url("/hello"))
            other.add_handle(taken)
            with pytest.raises(pycurl.error):
                multi.add_handle(taken)
            assert multi._driving is False
            c = _async_handle(server.url("/slow?delay=2"))
            fut = multi.add_handle(c)
            await asyncio.sleep(0.1)
            c.close()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(fut, 1)
            assert multi._driving is False and multi.futures() == ()
            other.remove_handle(taken)
            taken.close()
            other.close()

    _run_async(main())


def test_async_repeated_zero_timer_keeps_the_pending_call(server):
    """M_TIMERFUNCTION(0) again while the call_soon for the last one is pending keeps that call
    (each add_handle asks for 0 ms); any other value replaces it."""
    async def main():
        async with pycurl.AsyncCurlMulti() as multi:
            multi._ensure_loop()
            multi._on_timer(0)
            soon = multi._timer
            multi._on_timer(0)
            assert multi._timer is soon and not soon.cancelled()
            multi._on_timer(30)
            assert soon.cancelled() and isinstance(multi._timer, asyncio.TimerHandle)
            later = multi._timer
            multi._on_timer(0)
            assert later.cancelled() and multi._timer is not later and not multi._timer.cancelled()
            multi._on_timer(-1)
            assert multi._timer is None
            handles = [_async_handle(server.url("/hello")) for _ in range(5)]
            assert all(h is c for h, c in zip(await asyncio.gather(*map(multi.add_handle, handles)), handles))
            for c in handles:
                c.close()

    _run_async(main())


def test_async_finished_transfer_drops_our_done_callback(server):
    """A future resolved by its finished transfer no longer carries our done callback (it would
    only find the transfer gone); a future cancelled by its owner still gets it, which detaches."""
    async def main():
        async with pycurl.AsyncCurlMulti() as multi:
            ran = []
            own = multi._on_future_done

            def counting(curl, future):
                ran.append(future)
                own(curl, future)
            multi._on_future_done = counting
            user = []
            ok = _async_handle(server.url("/hello"))
            fut = multi.add_handle(ok)
            fut.add_done_callback(user.append)
            assert await fut is ok
            await asyncio.sleep(0)
            assert ran == [] and user == [fut] and multi._done_callbacks == {}
            bad = _async_handle("http://127.0.0.1:1/")
            with pytest.raises(pycurl.error):
                await multi.perform(bad)
            assert ran == []
            slow = _async_handle(server.url("/slow?delay=2"))
            cancelled = multi.add_handle(slow)
            await asyncio.sleep(0.05)
            cancelled.cancel()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert ran == [cancelled] and multi.futures() == () and multi._done_callbacks == {}
            assert slow not in multi._multi
            for c in (ok, bad, slow):
                c.close()

    _run_async(main())

# --- lifecycle: gc cost ------------------------------------------------------------------------

def test_import_pycurl_does_not_import_asyncio():
    # every gc.collect() walks all tracked objects: asyncio's ~4,000 made collections with many
    # live Curl objects twice as slow as with pycurl, which imports it only when it is used
    code = "import sys, pycurl; print('asyncio' in sys.modules, hasattr(pycurl, 'AsyncCurlMulti'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]

