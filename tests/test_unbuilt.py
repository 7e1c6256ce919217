"""Proxy options: HTTP, HTTPS and SOCKS proxies are built (tests/test_proxy_*.py);
HTTP/2 to a proxy (PROXYTYPE 3) is not.

Real pycurl (libcurl with proxy support) accepts the options; pycurl-rs
must refuse an unbuilt proxy kind with E_NOT_BUILT_IN and accept the "no
proxy" values, because code commonly sets PROXY to "" to disable proxies."""

import pytest

import pycurl

from helpers import IS_RS, perform


def test_proxy_empty_string_accepted(server, curl):
    assert curl.setopt(pycurl.PROXY, "") is None
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"


def test_proxy_none_accepted(curl):
    assert curl.setopt(pycurl.PROXY, None) is None


def test_proxy_url(curl):
    # libcurl stores the proxy; nothing is contacted here
    assert curl.setopt(pycurl.PROXY, "http://x") is None


def test_https2_proxytype(curl):
    # CURLPROXY_HTTPS2 (3): HTTP/2 to the proxy is not built here
    if IS_RS:
        with pytest.raises(pycurl.error) as ei:
            curl.setopt(pycurl.PROXYTYPE, 3)
        code, msg = ei.value.args
        assert code == pycurl.E_NOT_BUILT_IN == 4
        assert msg == pycurl.easy_strerror(4)
    else:
        assert curl.setopt(pycurl.PROXYTYPE, 3) is None


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
