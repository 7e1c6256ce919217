"""HAPROXYPROTOCOL and HAPROXY_CLIENT_IP (issue 10): the PROXY protocol v1 line that opens the
connection, as a recording server receives it (libcurl puts a HAPROXY_CLIENT_IP in both address
fields, and that option alone switches the header on)."""

import pytest

import pycurl

import proxies
from helpers import perform


@pytest.fixture
def rec():
    r = proxies.Recorder(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    yield r
    r.stop()


@pytest.mark.parametrize("opts,family,addr", [
    (dict(HAPROXYPROTOCOL=1), "TCP4", None),
    (dict(HAPROXYPROTOCOL=1, HAPROXY_CLIENT_IP="1.2.3.4"), "TCP4", "1.2.3.4"),
    (dict(HAPROXYPROTOCOL=1, HAPROXY_CLIENT_IP="::5"), "TCP6", "::5"),
    (dict(HAPROXY_CLIENT_IP="1.2.3.4"), "TCP4", "1.2.3.4"),
])
def test_proxy_protocol_line(rec, opts, family, addr):
    c = pycurl.Curl()
    body, _ = perform(c, rec.url + "/x", **opts)
    assert body == b"hi"
    local = c.getinfo(pycurl.LOCAL_PORT)
    src = addr or "127.0.0.1"
    assert rec.lines()[0] == f"PROXY {family} {src} {src} {local} {rec.port}"
    assert rec.lines()[1] == "GET /x HTTP/1.1"
    c.close()


def test_off_by_default(rec):
    c = pycurl.Curl()
    perform(c, rec.url + "/x", HAPROXYPROTOCOL=0)
    assert rec.lines()[0] == "GET /x HTTP/1.1"
    c.close()
