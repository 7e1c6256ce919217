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


@pytest.mark.parametrize("name,value", [("RANDOM_FILE", "/dev/urandom"), ("EGDSOCKET", "/tmp/egd"),
                                        ("SSL_ENABLE_NPN", 1), ("SSL_ENABLE_NPN", 0)])
def test_options_libcurl_ignores_are_accepted(server, name, value):
    """libcurl 8 accepts these and does nothing with them; the transfer runs as without them.
    pycurl warns that the two RNG options are deprecated."""
    c = pycurl.Curl()
    if name in ("RANDOM_FILE", "EGDSOCKET"):
        with pytest.warns(DeprecationWarning, match="setopt option is deprecated"):
            c.setopt(getattr(pycurl, name), value)
    else:
        c.setopt(getattr(pycurl, name), value)
    c.setopt(pycurl.URL, server.url("/headers"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    c.perform()
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    c.close()


def test_dns_servers_is_an_unknown_option():
    c = pycurl.Curl()
    with pytest.raises(pycurl.error) as e:
        c.setopt(pycurl.DNS_SERVERS, "127.0.0.1")
    assert e.value.args == (pycurl.E_UNKNOWN_OPTION, "An unknown option was passed in to libcurl")


@pytest.mark.parametrize("value,message", [(1, "integers are not supported for this option"),
                                           ("x", "strings are not supported for this option"),
                                           (io.BytesIO(), "invalid arguments to setopt"),
                                           (None, "unsetopt() is not supported for this option")])
def test_stderr_takes_no_value(value, message):
    c = pycurl.Curl()
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        c.setopt(pycurl.STDERR, value)
