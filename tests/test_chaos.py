"""Misuse found by the chaos driver (tests/chaos/driver.py), and a short seeded run of it.

Each focused test was seen to differ from real pycurl first; the run at the end only asks that
random misuse never crashes, hangs, panics or lets fds grow (the long run is in docs/reliability.md).
"""
import copy
import os
import pickle
import re
import subprocess
import sys

import pytest

import pycurl

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("make", [pycurl.CurlMulti, pycurl.CurlShare], ids=["CurlMulti", "CurlShare"])
@pytest.mark.parametrize("how", [pickle.dumps, copy.copy, copy.deepcopy], ids=["pickle", "copy", "deepcopy"])
def test_multi_and_share_refuse_serialization_in_pycurls_words(make, how):
    obj = make()
    with pytest.raises(TypeError) as e:
        how(obj)
    assert str(e.value) == f"{make.__name__} objects do not support serialization"
    obj.close()


def _perform_error(c):
    with pytest.raises(pycurl.error) as e:
        c.perform()
    return e.value.args, c.errstr()


def test_perform_of_a_handle_in_a_multi_says_why_only_once(refused_port):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, f"http://127.0.0.1:{refused_port}/")
    m.add_handle(c)
    why = "easy handle already used in multi handle"
    # libcurl writes its buffer once per transfer; pycurl's perform() empties it each call
    assert _perform_error(c) == ((2, why), why)
    assert _perform_error(c) == ((2, "Failed initialization"), "")
    assert _perform_error(c) == ((2, "Failed initialization"), "")
    m.remove_handle(c)
    assert _perform_error(c)[0][0] == 7
    m.add_handle(c)
    # the refused connect is still the reported error: no new reason
    assert _perform_error(c) == ((2, "Failed initialization"), "")
    m.close()
    c.close()


def test_a_setopt_error_counts_as_reported_for_perform_in_a_multi():
    c = pycurl.Curl()
    with pytest.raises(pycurl.error):
        c.setopt(pycurl.SSLVERSION, 999)
    m = pycurl.CurlMulti()
    m.add_handle(c)
    assert _perform_error(c) == ((2, "Failed initialization"), "")
    m.close()
    c.close()


def test_perform_in_a_multi_after_a_finished_multi_transfer_says_why(server):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    with pytest.raises(pycurl.error):
        c.setopt(pycurl.SSLVERSION, 999)
    m.add_handle(c)
    running = 1
    while running:
        _, running = m.perform()
        m.select(0.1)
    assert m.info_read()[1] == [c]
    # the transfer that ran cleared what the setopt error left
    why = "easy handle already used in multi handle"
    assert _perform_error(c) == ((2, why), why)
    m.close()
    c.close()


def test_seeded_chaos_run_never_crashes_or_hangs(tmp_path):
    """Eight seeds of random misuse in a child under a watchdog: exit 0, every step an outcome."""
    rec = tmp_path / "record.txt"
    cmd = [sys.executable, os.path.join(HERE, "chaos", "driver.py"), "--seed", "1", "--seeds", "8",
           "--steps", "120", "--out", str(rec)]
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    lines = rec.read_text().splitlines()
    assert lines[-1] == "done seeds=8"
    steps = [ln for ln in lines if ln.startswith("seed ")]
    assert len(steps) == 8 * 120
    for ln in steps:
        assert re.match(r"seed \d+ \d+ \w+\[\d\] -> ", ln), ln
        # a Rust panic surfaces as PanicException, an internal slip as SystemError
        assert "PanicException" not in ln and "SystemError" not in ln, ln
        assert "thread hung" not in ln, ln


@pytest.mark.parametrize("option", ["READDATA", "WRITEDATA", "WRITEHEADER"])
@pytest.mark.parametrize("value, words", [
    (3, "integers"), (True, "integers"), ("x", "strings"), (b"x", "strings"), ([1], "lists"),
    ((1,), "lists"), (len, "functions"), (lambda: 0, "functions"),
])
def test_file_object_options_name_the_wrong_type_first(option, value, words):
    c = pycurl.Curl()
    with pytest.raises(TypeError) as e:
        c.setopt(getattr(pycurl, option), value)
    assert str(e.value) == f"{words} are not supported for this option"
    with pytest.raises(TypeError) as e:
        c.setopt(getattr(pycurl, option), {})
    method = "read" if option == "READDATA" else "write"
    assert str(e.value) == f"object given without a {method} method"
    c.close()


def test_perform_in_a_multi_tells_debugfunction_from_inside_perform():
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    m.add_handle(c)
    seen = []

    def debug(kind, data):
        seen.append((kind, data))
        for call in (c.close, c.perform, c.reset):
            try:
                call()
            except pycurl.error as e:
                seen.append(e.args[0])

    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, debug)
    for _ in range(2):
        with pytest.raises(pycurl.error):
            c.perform()
    line = (0, b"easy handle already used in multi handle\n")
    busy = [f"cannot invoke {f}() - perform() is currently running" for f in ("close", "perform", "reset")]
    # sent every time, even when the exception no longer carries the reason
    assert seen == [line, *busy, line, *busy]
    c.close()
    m.close()


@pytest.mark.parametrize("url, why", [
    ("htp//bad url", "URL rejected: Bad path"),
    ("http://[::1/", "URL rejected: Bad IPv6 address"),
])
def test_a_rejected_url_fails_before_the_first_progress_call(url, why):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.NOPROGRESS, 0)
    calls = []
    # a callback that aborts would turn the URL error into 42 if it ran first
    c.setopt(pycurl.XFERINFOFUNCTION, lambda *a: calls.append(a) or 1)
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args == (3, why)
    assert calls == []
    c.close()


def test_a_finished_multi_transfer_empties_errstr(server):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    m = pycurl.CurlMulti()
    m.add_handle(c)
    why = "easy handle already used in multi handle"
    assert _perform_error(c) == ((2, why), why)
    running = 1
    while running:
        _, running = m.perform()
        m.select(0.1)
    assert m.info_read()[1] == [c]
    assert c.errstr() == ""
    m.close()
    c.close()


@pytest.mark.parametrize("option, words", [
    (3, "integers are not supported for this option"),
    (332, "integers are not supported for this option"),
    (10000, "integers are not supported for this option"),
    (30332, "integers are not supported for this option"),
    (0, "invalid arguments to setopt"),
    (333, "invalid arguments to setopt"),
    (9999, "invalid arguments to setopt"),
    (30333, "invalid arguments to setopt"),
    (99999, "invalid arguments to setopt"),
])
def test_share_setopt_unknown_option_as_pycurl_sorts_it(option, words):
    s = pycurl.CurlShare()
    with pytest.raises(TypeError) as e:
        s.setopt(option, 1)
    assert str(e.value) == words
    s.close()


def test_share_setopt_lock_data_beyond_a_c_long_overflows():
    s = pycurl.CurlShare()
    with pytest.raises(OverflowError):
        s.setopt(pycurl.SH_SHARE, 2**70)
    with pytest.raises(TypeError):
        s.setopt(pycurl.SH_SHARE, 2**40)
    s.close()


@pytest.mark.parametrize("entry, fails", [
    ("bad", True),
    ("h:1", True),
    ("h:x:127.0.0.1", True),
    ("h:1:127.0.0.1,bad", True),
    ("h:1: 127.0.0.1", True),
    ("+bad", True),
    ("h:99999:127.0.0.1", True),
    ("-bad", False),
    ("-h:x", False),
    ("", False),
    ("-", False),
    ("+", False),
    ("h:1:127.0.0.1,", False),
])
def test_an_unreadable_resolve_entry_fails_perform_unless_libcurl_skips_it(server, entry, fails):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.RESOLVE, [entry])
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    if fails:
        with pytest.raises(pycurl.error) as e:
            c.perform()
        assert e.value.args == (49, f"Could not parse CURLOPT_RESOLVE entry '{entry}'")
    else:
        c.perform()
        assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    c.close()


def test_a_refused_timer_report_is_forgotten_so_no_timeout_is_not_reported():
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    m = pycurl.CurlMulti()
    calls = []

    def timer(ms):
        calls.append(ms)
        raise RuntimeError("refused")

    m.setopt(pycurl.M_TIMERFUNCTION, timer)
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda *a: None)
    c = pycurl.Curl()
    c.setopt(pycurl.URL, "http://127.0.0.1:%d/" % silent.getsockname()[1])
    with pytest.raises(pycurl.error) as e:
        m.add_handle(c)
    assert e.value.args == (11, "curl_multi_add_handle() failed due to internal errors")
    assert calls == [0]
    # no timeout is left; libcurl reports -1 only after a report the callback took
    assert m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[0] == 0
    assert calls == [0]
    m.close()
    c.close()
    silent.close()


def test_no_progress_call_before_a_connection_refused_at_once(refused_port):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, "http://127.0.0.1:%d/" % refused_port)
    c.setopt(pycurl.NOPROGRESS, 0)
    calls = []
    # an aborting callback would turn the refusal into 42 if it ran first
    c.setopt(pycurl.XFERINFOFUNCTION, lambda *a: calls.append(a) or 1)
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args[0] == 7
    assert calls == []
    c.close()
