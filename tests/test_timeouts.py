"""TIMEOUT(_MS), CONNECTTIMEOUT(_MS), LOW_SPEED_LIMIT/TIME."""

import io
import re
import select
import socket
import threading
import time

import pycurl

from helpers import perform, perform_error


def test_timeout_ms_before_response(server, curl):
    t0 = time.monotonic()
    code, msg = perform_error(curl, server.url("/slow?delay=2"), TIMEOUT_MS=300)
    elapsed = time.monotonic() - t0
    assert code == pycurl.E_OPERATION_TIMEDOUT == 28
    m = re.fullmatch(r"Operation timed out after (\d+) milliseconds with 0 bytes received", msg)
    assert m, msg
    assert 300 <= int(m.group(1)) < 1000
    assert 0.25 <= elapsed < 1.5


def test_timeout_ms_during_body(server, curl):
    code, msg = perform_error(curl, server.url("/slowbody?chunks=10&delay=0.2"), TIMEOUT_MS=500)
    assert code == 28
    m = re.fullmatch(r"Operation timed out after (\d+) milliseconds with (\d+) out of 100 bytes"
                     r" received", msg)
    assert m, msg
    assert 0 < int(m.group(2)) < 100


def test_timeout_seconds(server, curl):
    t0 = time.monotonic()
    code, msg = perform_error(curl, server.url("/slow?delay=3"), TIMEOUT=1)
    assert code == 28
    assert re.fullmatch(r"Operation timed out after 1\d\d\d milliseconds with 0 bytes received",
                        msg), msg
    assert time.monotonic() - t0 < 2


def test_timeout_not_hit(server, curl):
    body, _ = perform(curl, server.url("/slow?delay=0.1"), TIMEOUT_MS=2000)
    assert body == b"hello world"


def test_timeout_zero_means_none(server, curl):
    body, _ = perform(curl, server.url("/slow?delay=0.2"), TIMEOUT_MS=0)
    assert body == b"hello world"


def test_timeout_applies_per_perform(server, curl):
    curl.setopt(pycurl.TIMEOUT_MS, 700)
    for _ in range(3):
        body, _ = perform(curl, server.url("/slow?delay=0.3"))
        assert body == b"hello world"


def test_connecttimeout_does_not_limit_transfer(server, curl):
    body, _ = perform(curl, server.url("/slow?delay=0.5"), CONNECTTIMEOUT_MS=200)
    assert body == b"hello world"


def test_connecttimeout_ms(curl, blackhole_port):
    t0 = time.monotonic()
    code, msg = perform_error(curl, f"http://127.0.0.1:{blackhole_port}/",
                              CONNECTTIMEOUT_MS=300)
    assert code == pycurl.E_OPERATION_TIMEDOUT
    m = re.fullmatch(r"Connection timed out after (\d+) milliseconds", msg)
    assert m, msg
    assert 300 <= int(m.group(1)) < 1000
    assert time.monotonic() - t0 < 1.5


def test_connecttimeout_seconds(curl, blackhole_port):
    code, msg = perform_error(curl, f"http://127.0.0.1:{blackhole_port}/", CONNECTTIMEOUT=1)
    assert code == 28
    assert re.fullmatch(r"Connection timed out after 1\d\d\d milliseconds", msg), msg


def test_total_timeout_during_connect(curl, blackhole_port):
    code, msg = perform_error(curl, f"http://127.0.0.1:{blackhole_port}/", TIMEOUT_MS=400)
    assert code == 28
    assert re.fullmatch(r"Connection timed out after 4\d\d milliseconds", msg), msg


def test_low_speed_limit(server, curl):
    t0 = time.monotonic()
    code, msg = perform_error(curl, server.url("/slowbody?chunks=10&delay=0.6"),
                              LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=1)
    assert code == pycurl.E_OPERATION_TIMEDOUT
    assert msg == "Operation too slow. Less than 1000 bytes/sec transferred the last 1 seconds"
    assert time.monotonic() - t0 < 3


def test_low_speed_not_triggered_by_fast_transfer(server, curl):
    body, _ = perform(curl, server.url("/big?mb=2"), LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=1)
    assert len(body) == 2 * 1024 * 1024


def test_handle_usable_after_timeout(server, curl):
    perform_error(curl, server.url("/slow?delay=1"), TIMEOUT_MS=200)
    curl.setopt(pycurl.TIMEOUT_MS, 0)
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"


# LOW_SPEED as libcurl judges it: the bytes moved are sampled once per clock second, the last six
# samples kept, the speed taken from the oldest kept sample to the newest; the transfer fails once
# that speed has stayed under LOW_SPEED_LIMIT for LOW_SPEED_TIME seconds, judged after whatever
# waits on the socket has been read, and not at all once the response is complete.


def _planned_server(plan):
    """A one-connection HTTP server that answers any request by following ``plan``: ("sleep", s)
    or ("send", bytes). Returns (url, stop)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    done = threading.Event()

    def run():
        try:
            conn, _ = lsock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            for kind, v in plan:
                if kind == "sleep":
                    if done.wait(v):
                        return
                else:
                    try:
                        conn.sendall(v)
                    except OSError:  # the client gave up, as it should when too slow
                        return
            done.wait(5)

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def stop():
        done.set()
        lsock.close()
        t.join(5)

    return f"http://127.0.0.1:{lsock.getsockname()[1]}/", stop


def _head(n):
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n


SLOW_2 = "Operation too slow. Less than 1000 bytes/sec transferred the last 2 seconds"


def test_low_speed_silence_shorter_than_time_delivers(curl):
    url, stop = _planned_server([("sleep", 1.2), ("send", _head(10) + b"x" * 10)])
    try:
        body, _ = perform(curl, url, LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=2)
    finally:
        stop()
    assert body == b"x" * 10


def test_low_speed_silence_fails_after_time_from_the_start(curl):
    url, stop = _planned_server([("sleep", 6), ("send", _head(10) + b"x" * 10)])
    t0 = time.monotonic()
    try:
        code, msg = perform_error(curl, url, LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=2)
    finally:
        stop()
    assert (code, msg) == (28, SLOW_2)
    # The count starts at the transfer's first check, right after the request went out.
    assert 1.5 < time.monotonic() - t0 < 3.5


def test_low_speed_trickle_over_limit_delivers(curl):
    # 1500 bytes/s against a limit of 1000, for 3 s.
    plan = [("send", _head(4500))] + [("sleep", 0.25), ("send", b"x" * 375)] * 12
    url, stop = _planned_server(plan)
    try:
        body, _ = perform(curl, url, LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=1)
    finally:
        stop()
    assert body == b"x" * 4500


def test_low_speed_trickle_under_limit_fails(curl):
    # 500 bytes/s against a limit of 1000.
    plan = [("send", _head(5000))] + [("sleep", 0.25), ("send", b"x" * 125)] * 40
    url, stop = _planned_server(plan)
    t0 = time.monotonic()
    try:
        code, msg = perform_error(curl, url, LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=2)
    finally:
        stop()
    assert (code, msg) == (28, SLOW_2)
    assert 1.5 < time.monotonic() - t0 < 4.5


def test_low_speed_remembers_five_seconds_of_history(curl):
    # A burst, then nothing: the burst keeps the speed over the limit while it is among the six
    # samples (five seconds), and only then does the LOW_SPEED_TIME count begin.
    url, stop = _planned_server([("send", _head(20000) + b"x" * 10000), ("sleep", 15)])
    t0 = time.monotonic()
    try:
        code, msg = perform_error(curl, url, LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=1)
    finally:
        stop()
    assert code == 28
    assert msg == "Operation too slow. Less than 1000 bytes/sec transferred the last 1 seconds"
    assert 5.5 < time.monotonic() - t0 < 8.5


def _socket_api_with_busy_app(url, busy, **opts):
    """Drives one transfer with the multi socket API; after 0.2 s the application is busy for
    ``busy`` seconds, then it runs the due timer before looking at its sockets.
    Returns (errors from info_read, body)."""
    m = pycurl.CurlMulti()
    socks = {}
    timer = [None]

    def on_socket(ev, fd, multi, data):
        if ev == pycurl.POLL_REMOVE:
            socks.pop(fd, None)
        else:
            socks[fd] = ev

    def on_timer(ms):
        timer[0] = None if ms < 0 else time.monotonic() + ms / 1000

    m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
    m.setopt(pycurl.M_TIMERFUNCTION, on_timer)
    c = pycurl.Curl()
    body = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, body)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    m.add_handle(c)
    t0 = time.monotonic()
    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    busy_done = False
    try:
        while time.monotonic() - t0 < 20:
            if not busy_done and time.monotonic() - t0 > 0.2:
                time.sleep(busy)
                busy_done = True
            now = time.monotonic()
            if timer[0] is not None and timer[0] <= now:
                timer[0] = None
                m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
            else:
                wait = 0.05 if timer[0] is None else max(0.0, min(0.05, timer[0] - now))
                rd = [fd for fd, ev in socks.items() if ev in (pycurl.POLL_IN, pycurl.POLL_INOUT)]
                wr = [fd for fd, ev in socks.items() if ev in (pycurl.POLL_OUT, pycurl.POLL_INOUT)]
                r, w, _ = select.select(rd, wr, [], wait)
                for fd in r:
                    m.socket_action(fd, pycurl.CSELECT_IN)
                for fd in w:
                    m.socket_action(fd, pycurl.CSELECT_OUT)
            _, ok, bad = m.info_read()
            if ok or bad:
                return [(e[1], e[2]) for e in bad], body.getvalue()
        raise AssertionError("the transfer did not end")
    finally:
        m.remove_handle(c)
        c.close()
        m.close()


def test_low_speed_complete_answer_waiting_past_time_is_delivered():
    # The answer waits in the socket while the application is busy past LOW_SPEED_TIME: libcurl
    # reads it before judging the speed and, the response being complete, does not judge it.
    url, stop = _planned_server([("sleep", 0.5), ("send", _head(10) + b"x" * 10)])
    try:
        errors, body = _socket_api_with_busy_app(url, 2.6, LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=2)
    finally:
        stop()
    assert (errors, body) == ([], b"x" * 10)


def test_low_speed_judged_after_reading_what_waited():
    # Part of the body waits while the application is busy: it is read (and delivered) first,
    # then the speed is judged with it: 10 bytes in ~2.8 s pass a limit of 1 byte/s ...
    plan = [("sleep", 0.5), ("send", _head(20) + b"x" * 10), ("sleep", 3.5), ("send", b"y" * 10)]
    url, stop = _planned_server(plan)
    try:
        errors, body = _socket_api_with_busy_app(url, 2.6, LOW_SPEED_LIMIT=1, LOW_SPEED_TIME=2)
    finally:
        stop()
    assert (errors, body) == ([], b"x" * 10 + b"y" * 10)
    # ... and fail one of 1000 bytes/s, after those 10 bytes were delivered.
    url, stop = _planned_server(plan)
    try:
        errors, body = _socket_api_with_busy_app(url, 2.6, LOW_SPEED_LIMIT=1000, LOW_SPEED_TIME=2)
    finally:
        stop()
    assert (errors, body) == ([(28, SLOW_2)], b"x" * 10)
