"""XFERINFOFUNCTION / PROGRESSFUNCTION / NOPROGRESS."""

import io
import warnings

import pytest

import pycurl

from helpers import perform, perform_error


def test_noprogress_default_means_no_calls(server, curl):
    calls = []
    perform(curl, server.url("/bytes?n=100000"), XFERINFOFUNCTION=lambda *a: calls.append(a))
    assert calls == []


def test_xferinfo_args(server, curl):
    calls = []
    perform(curl, server.url("/bytes?n=100000"), NOPROGRESS=0,
            XFERINFOFUNCTION=lambda *a: calls.append(a))
    assert calls
    assert all(len(a) == 4 for a in calls)
    assert all(type(x) is int for a in calls for x in a)
    assert calls[-1] == (100000, 100000, 0, 0)
    # monotonic download counter
    dl = [a[1] for a in calls]
    assert dl == sorted(dl)


def test_xferinfo_upload_counters(server, curl):
    calls = []
    perform(curl, server.url("/echo"), NOPROGRESS=0, UPLOAD=1,
            READDATA=io.BytesIO(b"x" * 50000), INFILESIZE=50000,
            XFERINFOFUNCTION=lambda *a: calls.append(a))
    dltotal, dlnow, ultotal, ulnow = calls[-1]
    assert (ultotal, ulnow) == (50000, 50000)
    assert dlnow == dltotal == 50004  # "PUT\n" + the echoed data


def test_progressfunction_floats_and_deprecated(server, curl):
    calls = []
    with pytest.warns(DeprecationWarning, match="PROGRESSFUNCTION is deprecated"):
        curl.setopt(pycurl.PROGRESSFUNCTION, lambda *a: calls.append(a))
    perform(curl, server.url("/bytes?n=100000"), NOPROGRESS=0)
    assert calls[-1] == (100000.0, 100000.0, 0.0, 0.0)
    assert all(type(x) is float for a in calls for x in a)


@pytest.mark.parametrize("ret", [1, True, -1, "x"])
def test_xferinfo_abort(server, curl, ret):
    code, msg = perform_error(curl, server.url("/bytes?n=100000"), NOPROGRESS=0,
                              XFERINFOFUNCTION=lambda *a: ret)
    assert (code, msg) == (pycurl.E_ABORTED_BY_CALLBACK, "Callback aborted")


@pytest.mark.parametrize("ret", [None, 0, False])
def test_xferinfo_continue(server, curl, ret):
    body, _ = perform(curl, server.url("/bytes?n=1000"), NOPROGRESS=0,
                      XFERINFOFUNCTION=lambda *a: ret)
    assert len(body) == 1000


def test_progress_abort_old_style(server, curl):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        curl.setopt(pycurl.PROGRESSFUNCTION, lambda *a: 1)
    code, msg = perform_error(curl, server.url("/bytes?n=1000"), NOPROGRESS=0)
    assert (code, msg) == (42, "Callback aborted")


def test_xferinfo_exception_aborts(server, curl, capfd):
    def boom(*a):
        raise ValueError("prog boom")
    code, msg = perform_error(curl, server.url("/bytes?n=1000"), NOPROGRESS=0,
                              XFERINFOFUNCTION=boom)
    assert (code, msg) == (42, "Callback aborted")
    assert "ValueError: prog boom" in capfd.readouterr().err


def test_abort_slow_transfer_from_progress(server, curl):
    """Abort a dribbling body after the first bytes arrive: the abort must not
    wait for the whole (2 s) body."""
    import time
    seen = []

    def prog(dltotal, dlnow, ultotal, ulnow):
        seen.append(dlnow)
        return 1 if dlnow >= 10 else 0

    t0 = time.monotonic()
    code, _ = perform_error(curl, server.url("/slowbody?chunks=10&delay=0.2"),
                            NOPROGRESS=0, XFERINFOFUNCTION=prog)
    assert code == 42
    assert time.monotonic() - t0 < 1.5
    assert max(seen) >= 10


def test_xferinfo_called_during_slow_transfer(server, curl):
    calls = []
    perform(curl, server.url("/slowbody?chunks=3&delay=0.3"), NOPROGRESS=0,
            XFERINFOFUNCTION=lambda *a: calls.append(a))
    assert calls[-1][:2] == (30, 30)
    # called while waiting too (libcurl calls it at least once a second)
    assert len(calls) >= 3


def test_noprogress_reenabled_silences(server, curl):
    calls = []
    curl.setopt(pycurl.XFERINFOFUNCTION, lambda *a: calls.append(a))
    perform(curl, server.url("/hello"), NOPROGRESS=0)
    n = len(calls)
    assert n > 0
    perform(curl, server.url("/hello"), NOPROGRESS=1)
    assert len(calls) == n
