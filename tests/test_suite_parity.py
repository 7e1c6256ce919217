"""Behaviour found different from real pycurl by running pycurl's own test suite against pycurl-rs:
blob option values, callback return values outside a C int, ws_send flag checks, the calls refused
while perform() runs, Curl.share(), CURLU read at perform time, subclass constructors, constants
read through a handle, deprecated options, multi blocklists. Expectations come from real pycurl."""

import array
import asyncio
import gc
import io
import socket
import sys
import threading
import time
import warnings
import weakref

import pytest

import pycurl

BLOB_TEXT = "blob option value must be a byte string, ASCII-only Unicode string, or a buffer object"


@pytest.fixture
def clear_last():
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            delattr(sys, name)
    yield


# blob options


@pytest.mark.parametrize("value", [7, False, 2.5, [1, 2], object()])
def test_blob_refuses_non_buffers(curl, value):
    with pytest.raises(TypeError) as e:
        curl.setopt(pycurl.SSLKEY_BLOB, value)
    assert str(e.value) == BLOB_TEXT


def test_blob_refuses_strided_view(curl):
    with pytest.raises(BufferError, match="not C-contiguous"):
        curl.setopt(pycurl.CAINFO_BLOB, memoryview(b"0123456789")[1::3])


def test_blob_takes_buffers(curl):
    curl.setopt(pycurl.CAINFO_BLOB, array.array("b", b"abc"))
    curl.setopt(pycurl.CAINFO_BLOB, memoryview(bytearray(b"pem")))
    curl.setopt(pycurl.CAINFO_BLOB, None)


# callback return values


@pytest.mark.parametrize("big", [2**31, 2**32 + 5, 2**80])
@pytest.mark.parametrize("which", ["XFERINFOFUNCTION", "PROGRESSFUNCTION"])
def test_progress_return_beyond_int_aborts(server, curl, capfd, clear_last, which, big):
    name = "xferinfo" if which == "XFERINFOFUNCTION" else "progress"
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEDATA, io.BytesIO())
    curl.setopt(pycurl.NOPROGRESS, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        curl.setopt(getattr(pycurl, which), lambda *a: big)
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    text = f"{name} callback returned {big} which does not fit in an int"
    assert f"OverflowError: {text}" in capfd.readouterr().err
    assert sys.last_type is OverflowError and str(sys.last_value) == text


@pytest.mark.parametrize("which", ["SOCKOPTFUNCTION", "PREREQFUNCTION"])
def test_int_callback_beyond_int_raises(server, curl, which):
    name = "sockopt" if which == "SOCKOPTFUNCTION" else "prereq"
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEDATA, io.BytesIO())
    curl.setopt(getattr(pycurl, which), lambda *a: 2**33)
    with pytest.raises(OverflowError) as e:
        curl.perform()
    assert str(e.value) == f"{name} callback returned {2**33} which does not fit in an int"


class _NoRepr:
    def __repr__(self):
        raise RuntimeError("repr fails")


@pytest.mark.parametrize("value, shown", [("zürich", "'z\\xfcrich'"), (_NoRepr(), "a value")])
def test_sockopt_non_int_shown_ascii(server, curl, capfd, value, shown):
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.SOCKOPTFUNCTION, lambda *a: value)
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    assert f"sockopt callback returned {shown} which is not an integer" in capfd.readouterr().err


@pytest.mark.parametrize("value", ["four", 4.0])
def test_write_bad_return_sets_sys_last(server, curl, clear_last, value):
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: value)
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args[0] == pycurl.E_WRITE_ERROR
    assert sys.last_type is pycurl.error
    assert str(sys.last_value) == "write callback must return int or None"


def test_write_return_beyond_long(server, curl, capfd, clear_last):
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: 2**70)
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args[0] == pycurl.E_WRITE_ERROR
    assert "OverflowError: Python int too large to convert to C long" in capfd.readouterr().err
    assert sys.last_type is OverflowError


def test_seek_return_beyond_int(server, curl, capfd, clear_last):
    body = io.BytesIO(b"twelve bytes")
    curl.setopt(pycurl.URL, server.url("/redirect-to?code=307&url=/echo"))
    curl.setopt(pycurl.UPLOAD, 1)
    curl.setopt(pycurl.READFUNCTION, body.read)
    curl.setopt(pycurl.INFILESIZE, 12)
    curl.setopt(pycurl.FOLLOWLOCATION, 1)
    curl.setopt(pycurl.WRITEDATA, io.BytesIO())
    curl.setopt(pycurl.SEEKFUNCTION, lambda off, origin: 2**31)
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args == (pycurl.E_SEND_FAIL_REWIND, "seek callback returned error 2")
    text = "seek callback returned 2147483648 which does not fit in an int"
    assert f"OverflowError: {text}" in capfd.readouterr().err
    assert str(sys.last_value) == text


def test_debug_not_called_again_after_interrupt(server, curl):
    calls = []

    def debug(kind, data):
        calls.append(kind)
        raise KeyboardInterrupt

    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.VERBOSE, 1)
    curl.setopt(pycurl.DEBUGFUNCTION, debug)
    curl.setopt(pycurl.WRITEDATA, io.BytesIO())
    with pytest.raises(KeyboardInterrupt):
        curl.perform()
    assert len(calls) == 1


# ws_send flags and the connection-less calls


@pytest.mark.parametrize(
    "flags, exc, text",
    [
        (-2, ValueError, "flags must be non-negative"),
        (1 << 33, OverflowError, "flags out of range for curl_ws_send"),
        (pycurl.WS_TEXT | pycurl.WS_BINARY, ValueError, "ws_send: cannot set both WS_TEXT and WS_BINARY"),
        (
            pycurl.WS_PONG | pycurl.WS_CONT,
            ValueError,
            "ws_send: control frames cannot be fragmented (WS_CONT forbidden with WS_PING/WS_PONG/WS_CLOSE)",
        ),
        (pycurl.WS_CLOSE | pycurl.WS_PONG, ValueError, "ws_send: only one of WS_PING / WS_PONG / WS_CLOSE may be set"),
    ],
)
def test_ws_send_flags_checked_first(curl, flags, exc, text):
    with pytest.raises(exc) as e:
        curl.ws_send(b"payload", flags)
    assert str(e.value) == text


def test_ws_send_negative_fragsize_first(curl):
    with pytest.raises(ValueError, match="^negative fragsize in ws_send$"):
        curl.ws_send(b"x", -5, -1)


def test_zero_byte_reads_need_no_connection(curl):
    assert curl.recv(0) == b""
    assert curl.recv_into(bytearray(), 0) == 0


@pytest.fixture
def blocked_perform(tmp_path, curl):
    """A perform() on another thread, held inside its WRITEFUNCTION until released."""
    path = tmp_path / "body"
    path.write_bytes(b"held")
    inside, release = threading.Event(), threading.Event()
    seen = []

    def write(data):
        for call in (lambda: curl.ws_recv(16), lambda: curl.recv(16)):
            try:
                call()
            except pycurl.error as e:
                seen.append(str(e))
        inside.set()
        release.wait(10)
        return len(data)

    curl.setopt(pycurl.URL, path.as_uri())
    curl.setopt(pycurl.WRITEFUNCTION, write)
    t = threading.Thread(target=curl.perform)
    t.start()
    assert inside.wait(10)
    yield curl, seen
    release.set()
    t.join(10)


def test_calls_refused_while_perform_runs(blocked_perform):
    curl, seen = blocked_perform
    assert seen == [
        "cannot invoke ws_recv() - perform() is currently running",
        "cannot invoke recv() - perform() is currently running",
    ]
    for name, call in (("ws_send", lambda: curl.ws_send(b"x")), ("ws_close", lambda: curl.ws_close(1000))):
        with pytest.raises(pycurl.error) as e:
            call()
        assert str(e.value) == f"cannot invoke {name}() - perform() is currently running outside WRITEFUNCTION callback"


# Curl.share()


def test_share_method(curl):
    assert curl.share() is None
    s = pycurl.CurlShare()
    curl.setopt(pycurl.SHARE, s)
    assert curl.share() is s
    s.close()
    assert curl.share() is None
    strict = pycurl.CurlShare(detach_on_close=False)
    curl.setopt(pycurl.SHARE, strict)
    curl.unsetopt(pycurl.SHARE)
    assert curl.share() is None


# CURLU


def test_curlu_read_at_each_perform(server, curl):
    u = pycurl.CurlUrl(server.url("/hello"))
    buf = io.BytesIO()
    curl.setopt(pycurl.CURLU, u)
    curl.setopt(pycurl.WRITEDATA, buf)
    curl.perform()
    assert buf.getvalue() == b"hello world"
    u.path = "/status/404"
    curl.perform()
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 404
    assert server.last_request().path == "/status/404"


def test_curlu_kept_alive_by_handles(curl):
    u = pycurl.CurlUrl("http://127.0.0.1:9/")
    ref = weakref.ref(u)
    curl.setopt(pycurl.CURLU, u)
    dup = curl.duphandle()
    del u
    gc.collect()
    assert ref() is not None
    curl.close()
    gc.collect()
    assert ref() is not None
    dup.close()
    gc.collect()
    assert ref() is None


# constructors and constants


@pytest.mark.parametrize("base", [pycurl.CurlMulti, pycurl.CurlShare])
def test_subclass_takes_its_own_arguments(base):
    class Sub(base):
        def __init__(self, a, b=2):
            self.ab = (a, b)

    assert Sub(1, b=3).ab == (1, 3)
    with pytest.raises(TypeError):
        Sub(1, 2, 3)


def test_multi_constructor_arguments():
    for call, text in (
        (lambda: pycurl.CurlMulti(1), "function takes no positional arguments"),
        (lambda: pycurl.CurlMulti(bogus=1), "'bogus' is an invalid keyword argument for this function"),
        (lambda: pycurl.CurlMulti(close_handles=1, b=2), "function takes at most 1 keyword argument (2 given)"),
    ):
        with pytest.raises(TypeError) as e:
            call()
        assert str(e.value) == text


def test_constants_through_handles_are_the_module_objects(curl):
    assert curl.URL is pycurl.URL
    assert curl.INFILESIZE_LARGE is pycurl.INFILESIZE_LARGE
    assert pycurl.CurlMulti().M_MAX_TOTAL_CONNECTIONS is pycurl.M_MAX_TOTAL_CONNECTIONS
    assert pycurl.CurlShare().LOCK_DATA_COOKIE is pycurl.LOCK_DATA_COOKIE


@pytest.mark.parametrize("name", ["RANDOM_FILE", "EGDSOCKET"])
def test_deprecated_rng_options_warn(curl, name):
    with pytest.warns(DeprecationWarning, match="^setopt option is deprecated$"):
        curl.setopt(getattr(pycurl, name), "/dev/urandom")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        curl.unsetopt(getattr(pycurl, name))


def test_multi_blocklist_values():
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_PIPELINING_SITE_BL, ["a.example", b"b.example"])
    with pytest.raises(TypeError, match="^integers are not supported for this option$"):
        m.setopt(pycurl.M_PIPELINING_SERVER_BL, 3)
    with pytest.raises(pycurl.error, match="^list/tuple items must be strings$"):
        m.setopt(pycurl.M_PIPELINING_SITE_BL, ["ok", 5])


# pause, read buffers


def test_low_speed_window_restarts_on_unpause(server, curl):
    # 50 bytes/s against a 100 bytes/s limit: the transfer times out, but only LOW_SPEED_TIME
    # after it resumes, not at once for the time it spent paused.
    state = {"paused_at": None, "resumed_at": None}

    def write(data):
        if state["paused_at"] is None:
            state["paused_at"] = time.monotonic()
            curl.pause(pycurl.PAUSE_ALL)

    def progress(*_):
        paused = state["paused_at"]
        if paused is not None and state["resumed_at"] is None and time.monotonic() - paused >= 1.5:
            state["resumed_at"] = time.monotonic()
            curl.pause(pycurl.PAUSE_CONT)

    curl.setopt(pycurl.URL, server.url("/slowbody?chunks=40&delay=0.2"))
    curl.setopt(pycurl.WRITEFUNCTION, write)
    curl.setopt(pycurl.NOPROGRESS, 0)
    curl.setopt(pycurl.XFERINFOFUNCTION, progress)
    curl.setopt(pycurl.LOW_SPEED_LIMIT, 100)
    curl.setopt(pycurl.LOW_SPEED_TIME, 1)
    curl.setopt(pycurl.TIMEOUT, 9)
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args[0] == pycurl.E_OPERATION_TIMEDOUT
    assert state["resumed_at"] is not None
    assert time.monotonic() - state["resumed_at"] >= 0.8


def test_unpause_refused_from_another_thread(blocked_perform):
    curl, _ = blocked_perform
    with pytest.raises(pycurl.error) as e:
        curl.unpause()
    assert str(e.value) == "cannot invoke unpause() - perform() is currently running on another thread"


def test_read_callback_strided_buffer_aborts(server, curl, capfd):
    chunks = [memoryview(b"a-b-c-")[::2]]
    curl.setopt(pycurl.URL, server.url("/echo"))
    curl.setopt(pycurl.POST, 1)
    curl.setopt(pycurl.POSTFIELDSIZE, 3)
    curl.setopt(pycurl.READFUNCTION, lambda n: chunks.pop() if chunks else b"")
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    assert "BufferError: memoryview: underlying buffer is not C-contiguous" in capfd.readouterr().err


# CurlMime


def _posted_names(server, curl, mime):
    curl.setopt(pycurl.URL, server.url("/echo"))
    curl.setopt(pycurl.MIMEPOST, mime)
    curl.setopt(pycurl.WRITEDATA, io.BytesIO())
    curl.perform()
    return server.last_request().body.count(b"Content-Disposition: form-data; name=")


def test_mime_helpers_add_nothing_when_they_fail(server, curl, tmp_path):
    mime = pycurl.CurlMime(curl)
    with pytest.raises(TypeError, match="headers must be a list or tuple"):
        mime.add(name="one", data="1", headers=7)
    with pytest.raises(TypeError, match="headers must be a list or tuple"):
        mime.add_field("two", "2", headers=object())
    with pytest.raises(pycurl.error):
        mime.add_file("three", str(tmp_path / "absent"))
    mime.add_field("kept", "yes")
    assert _posted_names(server, curl, mime) == 1


def test_mime_exit_takes_three_arguments(curl):
    mime = pycurl.CurlMime(curl)
    for args in ((), (None,), (None,) * 4):
        with pytest.raises(TypeError) as e:
            mime.__exit__(*args)
        assert str(e.value) == f"__exit__() takes exactly 3 arguments ({len(args)} given)"
    assert not mime.closed
    mime.__exit__(None, None, None)
    assert mime.closed


def test_curl_exit_takes_no_arguments_too():
    c = pycurl.Curl()
    c.__exit__()
    assert c.closed


def test_mime_posted_cannot_become_subparts(curl):
    parent, child = pycurl.CurlMime(curl), pycurl.CurlMime(curl)
    curl.setopt(pycurl.MIMEPOST, child)
    with pytest.raises(ValueError, match="^subparts\\(\\) received a mime object currently set as MIMEPOST$"):
        parent.addpart().subparts(child)


def test_mime_read_callback_beyond_long(server, curl, capfd):
    mime = pycurl.CurlMime(curl)
    part = mime.addpart()
    part.name("f")
    part.data_cb(4, lambda userdata, size: 2**70)
    curl.setopt(pycurl.URL, server.url("/echo"))
    curl.setopt(pycurl.MIMEPOST, mime)
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    err = capfd.readouterr().err
    assert "OverflowError: Python int too large to convert to C long" in err
    assert "mime read callback must return" not in err


# the high-level curl module


def _import_curl_module():
    sys.modules.pop("curl", None)
    with pytest.warns(DeprecationWarning, match="'curl' high-level wrapper module is deprecated"):
        import curl
    return curl


def test_curl_module_requests(server):
    curl = _import_curl_module()
    c = curl.Curl(server.url("/"))
    try:
        assert c.get("hello") == b"hello world"
        assert c.header().startswith("HTTP/1.1 200 OK\r\n")
        assert c.get("echo", {"q": "a b"}) == b"GET\n"
        assert server.last_request().target == "/echo?q=a+b"
        assert c.post("echo", {"k": "v"}) == b"POST\nk=v"
        assert c.head("hello") == b""
        assert c.answered(b"") and not c.answered(b"hello")
        with pytest.warns(DeprecationWarning, match="getinfo option is deprecated"):
            info = c.info()
        assert info["http-code"] == 200
        assert info["effective-url"] == server.url("/hello")
        assert c.get_info(pycurl.RESPONSE_CODE) == 200
    finally:
        c.close()
    c.close()


# AsyncCurlMulti's inner state, under the names pycurl's own tests read


def _arun(coro):
    async def guarded():
        return await asyncio.wait_for(coro, 20)

    return asyncio.run(guarded())


def _aget(url):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    return c


class _AssignLog:
    """Stands in for the multi argument of the socket callback: logs what is assigned to it."""

    def __init__(self):
        self.assigned = []

    def assign(self, fd, state):
        self.assigned.append((fd, state))


def test_async_transfers_and_sockets_are_tracked_while_in_flight(server):
    async def main():
        async with pycurl.AsyncCurlMulti() as multi:
            c = _aget(server.url("/bytes?n=100000"))
            seen = []
            c.setopt(pycurl.WRITEFUNCTION, lambda b: seen.append((dict(multi._futures), set(multi._assigned_fds))))
            fut = multi.add_handle(c)
            assert multi._futures == {c: fut}
            assert await fut is c
            futures, fds = seen[0]
            assert futures == {c: fut} and fds
            assert multi._futures == {} and multi._assigned_fds == set()
            c.close()

    _arun(main())


def test_async_cancelled_or_closed_leaves_no_socket_behind(server):
    async def main():
        multi = pycurl.AsyncCurlMulti()
        a, b = _aget(server.url("/slow?delay=3")), _aget(server.url("/slow?delay=3"))
        fa, fb = multi.add_handle(a), multi.add_handle(b)
        await asyncio.sleep(0.3)
        watched = len(multi._assigned_fds)
        fa.cancel()
        await asyncio.sleep(0.05)
        # the cancelled transfer's connection is gone
        assert list(multi._futures) == [b] and len(multi._assigned_fds) == watched - 1
        await multi.aclose()
        assert fb.cancelled() and multi._futures == {} and multi._assigned_fds == set()
        assert multi._closing and multi.closed
        a.close()
        b.close()

    _arun(main())


def test_async_socket_callback_keeps_one_state_per_socket(server):
    async def main():
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        fd = ours.fileno()

        def watched():
            try:
                return loop._selector.get_key(fd).events
            except KeyError:
                return 0

        async with pycurl.AsyncCurlMulti() as multi:
            multi._ensure_loop()
            log = _AssignLog()
            multi._on_socket(pycurl.POLL_INOUT, fd, log, None)
            [(got_fd, state)] = log.assigned
            assert got_fd == fd and type(state).__name__ == "_SocketState"
            assert (state.read_registered, state.write_registered) == (True, True) and watched() == 3
            multi._on_socket(pycurl.POLL_OUT, fd, log, state)
            assert (state.read_registered, state.write_registered) == (False, True) and watched() == 2
            multi._on_socket(pycurl.POLL_NONE, fd, log, state)
            assert (state.read_registered, state.write_registered) == (False, False) and watched() == 0
            assert fd in multi._assigned_fds and len(log.assigned) == 1
            multi._on_socket(pycurl.POLL_IN, fd, log, state)
            assert state.read_registered and watched() == 1
            multi._on_socket(pycurl.POLL_REMOVE, fd, log, state)
            assert watched() == 0 and fd not in multi._assigned_fds
            # a socket announced while closing is not watched
            multi._closing = True
            multi._on_socket(pycurl.POLL_IN, fd, log, None)
            assert watched() == 0 and fd not in multi._assigned_fds and len(log.assigned) == 1
            multi._closing = False
        ours.close()
        theirs.close()

    _arun(main())


def test_async_readiness_for_a_dropped_watcher_is_ignored(server):
    async def main():
        async with pycurl.AsyncCurlMulti() as multi:
            driven = []
            multi._drive = lambda fd, mask: driven.append((fd, mask))
            state = pycurl.async_multi._SocketState()
            multi._on_readable(5, state)
            multi._on_writable(5, state)
            assert driven == []
            state.read_registered = True
            multi._on_readable(5, state)
            assert driven == [(5, pycurl.CSELECT_IN)]

    _arun(main())


def test_async_timer_callback_schedules_fire_timeout(server):
    async def main():
        loop = asyncio.get_running_loop()
        async with pycurl.AsyncCurlMulti() as multi:
            multi._ensure_loop()
            multi._on_timer(0)
            assert multi._timer._callback.__name__ == "_fire_timeout"
            multi._on_timer(40)
            assert multi._timer.when() > loop.time()
            multi._on_timer(-1)
            assert multi._timer is None
            multi._closing = True
            multi._on_timer(10)
            assert multi._timer is None
            multi._closing = False
            # the timer path alone finishes a transfer
            c = _aget(server.url("/hello"))
            fut = multi.add_handle(c)
            assert multi._timer is not None
            assert await fut is c
            c.close()

    _arun(main())


def test_async_notify_schedules_one_collection(server):
    async def main():
        multi = pycurl.AsyncCurlMulti()
        c = _aget(server.url("/hello"))
        fut = multi.add_handle(c)
        multi._on_notify(pycurl.M_NOTIFY_INFO_READ, None)
        first = multi._notify_handle
        multi._on_notify(pycurl.M_NOTIFY_INFO_READ, None)
        assert first is not None and multi._notify_handle is first
        assert await fut is c
        assert multi._notify_handle is None
        await multi.aclose()
        multi._on_notify(pycurl.M_NOTIFY_INFO_READ, None)
        assert multi._notify_handle is None
        c.close()

    _arun(main())


def test_async_loop_binding_through_ensure_loop(monkeypatch):
    multi = pycurl.AsyncCurlMulti()

    async def bind():
        assert multi._ensure_loop() is asyncio.get_running_loop()
        assert multi._ensure_loop() is multi._loop

    async def other():
        with pytest.raises(RuntimeError, match="^AsyncCurlMulti is bound to a different event loop$"):
            multi._ensure_loop()
        await multi.aclose()

    _arun(bind())
    _arun(other())

    async def proactor():
        async with pycurl.AsyncCurlMulti() as fresh:
            # any loop of the proactor class is refused, before a socket is ever watched
            monkeypatch.setattr(asyncio, "ProactorEventLoop", type(asyncio.get_running_loop()), raising=False)
            with pytest.raises(RuntimeError, match="selector-style event loop"):
                fresh._ensure_loop()
            assert fresh._loop is None

    _arun(proactor())


# Curl.set_ca_certs (pycurl has it in its OpenSSL builds)

CA_CERTS_TYPE = "set_ca_certs argument must be a byte string or a Unicode string with ASCII code points only"


@pytest.mark.parametrize("value", [42, "zürich", None, bytearray(b"pem"), memoryview(b"pem"), ["pem"]])
def test_set_ca_certs_refuses_what_is_not_bytes_or_ascii(curl, value):
    with pytest.raises(TypeError) as e:
        curl.set_ca_certs(value)
    assert str(e.value) == CA_CERTS_TYPE


def test_set_ca_certs_checks_the_value_before_the_handle():
    c = pycurl.Curl()
    c.set_ca_certs(b"")
    c.set_ca_certs("ascii only")
    c.close()
    with pytest.raises(TypeError) as e:
        c.set_ca_certs(7)
    assert str(e.value) == CA_CERTS_TYPE
    with pytest.raises(pycurl.error) as e:
        c.set_ca_certs("pem")
    assert e.value.args == (pycurl.E_BAD_FUNCTION_ARGUMENT, "A libcurl function was given a bad argument")
