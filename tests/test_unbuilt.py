"""Proxy options: HTTP, HTTPS and SOCKS proxies are built (tests/test_proxy_*.py).

Real pycurl (libcurl with proxy support) accepts the options; pycurl-rs
must refuse an unbuilt proxy kind with E_NOT_BUILT_IN and accept the "no
proxy" values, because code commonly sets PROXY to "" to disable proxies."""

import pytest

import pycurl

from helpers import perform


def test_proxy_empty_string_accepted(server, curl):
    assert curl.setopt(pycurl.PROXY, "") is None
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"


def test_proxy_none_accepted(curl):
    assert curl.setopt(pycurl.PROXY, None) is None


def test_proxy_url(curl):
    # libcurl stores the proxy; nothing is contacted here
    assert curl.setopt(pycurl.PROXY, "http://x") is None


def test_proxytype_values(curl):
    # 0-7 are accepted (3, CURLPROXY_HTTPS2, too: tests/test_proxy_https.py runs a transfer with it);
    # libcurl 8.23 answers 8 with "not built in" and other numbers as a bad argument.
    for v in range(8):
        assert curl.setopt(pycurl.PROXYTYPE, v) is None
    with pytest.raises(pycurl.error) as ei:
        curl.setopt(pycurl.PROXYTYPE, 8)
    assert ei.value.args == (pycurl.E_NOT_BUILT_IN, pycurl.easy_strerror(pycurl.E_NOT_BUILT_IN))
    for v in (9, -1, 999):
        c = pycurl.Curl()
        with pytest.raises(pycurl.error) as ei:
            c.setopt(pycurl.PROXYTYPE, v)
        assert ei.value.args == (pycurl.E_BAD_FUNCTION_ARGUMENT, "setopt 0x65 got bad argument")
        c.close()


def test_noproxy_star_transfers_directly(server, curl):
    # NOPROXY "*" means no proxy for any host: must work everywhere
    curl.setopt(pycurl.NOPROXY, "*")
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"


def test_proxy_env_ignored_for_loopback(server, curl, monkeypatch):
    # libcurl honours http_proxy from the environment, but not for hosts in
    # no_proxy; with no_proxy covering 127.0.0.1 the transfer goes direct.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"


@pytest.mark.parametrize("name", ["FNMATCH_FUNCTION", "SSH_KEYFUNCTION"])
@pytest.mark.parametrize("value, text", [
    (42, "integers are not supported for this option"),
    ("f", "strings are not supported for this option"),
    ([1], "lists are not supported for this option"),
])
def test_callback_options_not_built_refuse_non_callables_first(curl, name, value, text):
    # pycurl checks the value before libcurl could refuse the option
    with pytest.raises(TypeError, match=f"^{text}$"):
        curl.setopt(getattr(pycurl, name), value)


@pytest.mark.parametrize("value", ["*", "", b"*", 1])
def test_wildcardmatch_text_counts_as_on(curl, value):
    # pycurl 7.49 lets a string through for this number option (libcurl sees a non-zero address)
    assert curl.setopt(pycurl.WILDCARDMATCH, value) is None


@pytest.mark.parametrize("value, exc", [("é", UnicodeEncodeError), ("a\0b", ValueError),
                                        ([], TypeError), (1.5, TypeError)])
def test_wildcardmatch_bad_values(curl, value, exc):
    with pytest.raises(exc):
        curl.setopt(pycurl.WILDCARDMATCH, value)


def test_wildcardmatch_off_accepted(curl):
    assert curl.setopt(pycurl.WILDCARDMATCH, 0) is None
