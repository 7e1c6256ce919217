"""HTTP options of issue 11 against the loopback server, as real pycurl 7.49 / libcurl 8.23
behaves (every expectation was observed there)."""
import io

import pytest

import pycurl


def request_line(server, **opts):
    """The request line the server received (its /headers endpoint echoes the request head)."""
    c = pycurl.Curl()
    out = io.BytesIO()
    c.setopt(pycurl.URL, server.url("/headers?x=1"))
    c.setopt(pycurl.WRITEDATA, out)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    c.perform()
    eff = c.getinfo(pycurl.EFFECTIVE_URL)
    c.close()
    return out.getvalue().split(b"\r\n")[0], eff


def test_request_target_replaces_the_path(server):
    line, eff = request_line(server, REQUEST_TARGET="/headers?q=2")
    assert line == b"GET /headers?q=2 HTTP/1.1"
    assert eff == server.url("/headers?x=1")
    assert request_line(server)[0] == b"GET /headers?x=1 HTTP/1.1"


def test_request_target_arguments():
    c = pycurl.Curl()
    with pytest.raises(TypeError, match="unsetopt\\(\\) is not supported for this option"):
        c.setopt(pycurl.REQUEST_TARGET, None)
    with pytest.raises(TypeError, match="integers are not supported for this option"):
        c.setopt(pycurl.REQUEST_TARGET, 1)
