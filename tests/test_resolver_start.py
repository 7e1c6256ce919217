"""RESOLVER_START_FUNCTION: called with no arguments before each name lookup the DNS cache cannot
answer (IP literals and localhost included, as libcurl caches those too); non-zero aborts with
E_ABORTED_BY_CALLBACK."""

import pytest

import pycurl


def test_called_once_per_uncached_lookup(server, curl):
    calls = []
    curl.setopt(pycurl.RESOLVER_START_FUNCTION, lambda *a: calls.append(a))
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.perform()
    assert calls == [()]
    curl.setopt(pycurl.FRESH_CONNECT, 1)
    curl.perform()  # the literal is in the DNS cache now
    assert calls == [()]
    curl.setopt(pycurl.URL, server.url("/hello", host="localhost"))
    curl.perform()
    curl.perform()
    assert calls == [(), ()]


def test_not_called_for_resolve_entries(server, curl):
    calls = []
    curl.setopt(pycurl.RESOLVE, [f"pinned.test:{server.port}:127.0.0.1"])
    curl.setopt(pycurl.RESOLVER_START_FUNCTION, lambda: calls.append(1))
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    curl.setopt(pycurl.URL, server.url("/hello", host="pinned.test"))
    curl.perform()
    assert calls == []


@pytest.mark.parametrize("ret", [1, -1, True, 7])
def test_nonzero_aborts(server, curl, ret):
    before = len(server.requests)
    curl.setopt(pycurl.RESOLVER_START_FUNCTION, lambda: ret)
    curl.setopt(pycurl.URL, server.url("/hello", host="localhost"))
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args == (pycurl.E_ABORTED_BY_CALLBACK, f"Error 42 resolving localhost:{server.port}")
    assert curl.errstr() == ei.value.args[1]
    assert len(server.requests) == before


@pytest.mark.parametrize("ret", [0, None, False])
def test_zero_or_none_continues(server, curl, ret):
    curl.setopt(pycurl.RESOLVER_START_FUNCTION, lambda: ret)
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    curl.setopt(pycurl.URL, server.url("/hello", host="localhost"))
    curl.perform()
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200


def test_raising_callback_aborts(server, curl, capsys):
    def boom():
        raise ValueError("resolver says no")
    curl.setopt(pycurl.RESOLVER_START_FUNCTION, boom)
    curl.setopt(pycurl.URL, server.url("/hello", host="localhost"))
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    assert "resolver says no" in capsys.readouterr().err


def test_non_integer_return_aborts(server, curl, capfd):
    curl.setopt(pycurl.RESOLVER_START_FUNCTION, lambda: "x")
    curl.setopt(pycurl.URL, server.url("/hello", host="localhost"))
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    assert "resolver_start callback returned 'x' which is not an integer" in capfd.readouterr().err


def test_overflowing_return_raises(server, curl):
    curl.setopt(pycurl.RESOLVER_START_FUNCTION, lambda: 2 ** 40)
    curl.setopt(pycurl.URL, server.url("/hello", host="localhost"))
    with pytest.raises(OverflowError, match="resolver_start callback returned 1099511627776 which does not fit"):
        curl.perform()


def test_option_types(curl):
    with pytest.raises(TypeError, match="integers are not supported for this option"):
        curl.setopt(pycurl.RESOLVER_START_FUNCTION, 1)
    curl.setopt(pycurl.RESOLVER_START_FUNCTION, None)
    curl.unsetopt(pycurl.RESOLVER_START_FUNCTION)
