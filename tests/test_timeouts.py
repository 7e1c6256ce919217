"""TIMEOUT(_MS), CONNECTTIMEOUT(_MS), LOW_SPEED_LIMIT/TIME."""

import re
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
