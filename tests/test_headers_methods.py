"""HTTPHEADER, CUSTOMREQUEST, NOBODY/HTTPGET, USERAGENT, REFERER, COOKIE,
RANGE, RESUME_FROM and the cookie engine."""

import pytest

import pycurl

from helpers import perform, perform_error
import servers


def sent_headers(server):
    """Request head lines after the request line, with the default UA
    replaced by 'UA' for readability."""
    head = server.last_request().head.decode("latin-1")
    return head.split("\r\n", 1)[1].replace(pycurl.version, "UA")


def host(server):
    return f"Host: 127.0.0.1:{server.port}\r\n"


def test_add_custom_headers(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=["X-Custom: v", "X-Two:  spaced  "])
    assert sent_headers(server) == (host(server) + "User-Agent: UA\r\nAccept: */*\r\n"
                                    "X-Custom: v\r\nX-Two:  spaced  \r\n\r\n")


def test_replace_default_header(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=["Accept: text/html"])
    assert sent_headers(server) == host(server) + "User-Agent: UA\r\nAccept: text/html\r\n\r\n"


def test_remove_default_header(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=["Accept:"])
    assert sent_headers(server) == host(server) + "User-Agent: UA\r\n\r\n"


def test_empty_value_with_semicolon(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=["X-Empty;"])
    assert sent_headers(server) == host(server) + "User-Agent: UA\r\nAccept: */*\r\nX-Empty:\r\n\r\n"


def test_override_host(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=["Host: other.example"])
    assert sent_headers(server) == "Host: other.example\r\nUser-Agent: UA\r\nAccept: */*\r\n\r\n"


@pytest.mark.parametrize("bad", ["NoColon", "X-Semi; value"])
def test_malformed_custom_header_ignored(server, curl, bad):
    perform(curl, server.url("/headers"), HTTPHEADER=[bad])
    assert sent_headers(server) == host(server) + "User-Agent: UA\r\nAccept: */*\r\n\r\n"


def test_user_agent_header_replaces_option(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=["User-Agent: hdr-ua"])
    assert sent_headers(server) == host(server) + "Accept: */*\r\nUser-Agent: hdr-ua\r\n\r\n"


def test_repeated_and_lowercase_headers(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=["X-A: 1", "X-A: 2", "x-lower: y"])
    assert sent_headers(server).endswith("Accept: */*\r\nX-A: 1\r\nX-A: 2\r\nx-lower: y\r\n\r\n")


def test_bytes_and_tuple_headers(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=(b"X-Bytes: b", "X-Str: s"))
    req = server.last_request()
    assert req.header("X-Bytes") == "b" and req.header("X-Str") == "s"


def test_header_list_type_errors(curl):
    with pytest.raises(TypeError, match="strings are not supported for this option"):
        curl.setopt(pycurl.HTTPHEADER, "X: y")
    with pytest.raises(TypeError, match="list items must be byte strings or Unicode strings"
                                        " with ASCII code points only"):
        curl.setopt(pycurl.HTTPHEADER, [1])
    with pytest.raises(UnicodeEncodeError):
        curl.setopt(pycurl.HTTPHEADER, ["X: \u00e9"])


def test_clear_headers_with_empty_list_and_unset(server, curl):
    perform(curl, server.url("/headers"), HTTPHEADER=["X-Gone: 1"])
    # pycurl quirk: an empty list leaves the previous list in place
    perform(curl, server.url("/headers"), HTTPHEADER=[])
    assert server.last_request().header("X-Gone") == "1"
    perform(curl, server.url("/headers"), HTTPHEADER=["X-New: 1"])
    assert server.last_request().header("X-Gone") is None
    assert server.last_request().header("X-New") == "1"
    perform(curl, server.url("/headers"), HTTPHEADER=["X-Gone: 1"])
    curl.unsetopt(pycurl.HTTPHEADER)
    perform(curl, server.url("/headers"))
    assert server.last_request().header("X-Gone") is None
    perform(curl, server.url("/headers"), HTTPHEADER=["X-Gone: 1"])
    curl.setopt(pycurl.HTTPHEADER, None)
    perform(curl, server.url("/headers"))
    assert server.last_request().header("X-Gone") is None


@pytest.mark.parametrize("method", ["DELETE", "OPTIONS", "PATCH", "delete", "BREW"])
def test_customrequest(server, curl, method):
    body, _ = perform(curl, server.url("/echo"), CUSTOMREQUEST=method)
    assert body == method.encode() + b"\n"
    assert server.last_request().head.startswith(f"{method} /echo HTTP/1.1\r\n".encode())
    assert curl.getinfo(pycurl.EFFECTIVE_METHOD) == method


def test_customrequest_with_body(server, curl):
    body, _ = perform(curl, server.url("/echo"), CUSTOMREQUEST="PATCH", POSTFIELDS="p=1")
    assert body == b"PATCH\np=1"
    assert server.last_request().header("Content-Type") == "application/x-www-form-urlencoded"


def test_customrequest_unset(server, curl):
    perform(curl, server.url("/echo"), CUSTOMREQUEST="DELETE")
    curl.setopt(pycurl.CUSTOMREQUEST, None)
    body, _ = perform(curl, server.url("/echo"))
    assert body == b"GET\n"


def test_nobody_with_customrequest_get(server, curl):
    body, headers = perform(curl, server.url("/head-check"), NOBODY=1, CUSTOMREQUEST="GET")
    assert server.last_request().method == "GET"
    assert body == b""
    assert b"X-Method: GET\r\n" in headers


def test_httpget_after_post(server, curl):
    perform(curl, server.url("/echo"), POSTFIELDS="a=1")
    body, _ = perform(curl, server.url("/echo"), HTTPGET=1)
    assert body == b"GET\n"
    assert curl.getinfo(pycurl.EFFECTIVE_METHOD) == "GET"


def test_httpget_after_nobody(server, curl):
    perform(curl, server.url("/head-check"), NOBODY=1)
    body, _ = perform(curl, server.url("/head-check"), HTTPGET=1)
    assert body == b"head-check body\n"


def test_useragent(server, curl):
    perform(curl, server.url("/headers"), USERAGENT="ua/1")
    assert sent_headers(server) == host(server) + "User-Agent: ua/1\r\nAccept: */*\r\n\r\n"


def test_empty_useragent_sends_none(server, curl):
    perform(curl, server.url("/headers"), USERAGENT="")
    assert sent_headers(server) == host(server) + "Accept: */*\r\n\r\n"


def test_useragent_none_rejected(curl):
    with pytest.raises(TypeError, match=r"unsetopt\(\) is not supported for this option"):
        curl.setopt(pycurl.USERAGENT, None)


def test_referer(server, curl):
    perform(curl, server.url("/headers"), REFERER="http://ref.example/")
    assert sent_headers(server).endswith("Accept: */*\r\nReferer: http://ref.example/\r\n\r\n")
    assert curl.getinfo(pycurl.INFO_REFERER) == "http://ref.example/"


def test_cookie_option(server, curl):
    body, _ = perform(curl, server.url("/cookie"), COOKIE="a=1; b=2")
    assert body == b"a=1; b=2"
    assert sent_headers(server).endswith("Accept: */*\r\nCookie: a=1; b=2\r\n\r\n")


def test_no_cookie_by_default(server, curl):
    body, _ = perform(curl, server.url("/cookie"))
    assert body == b""


def test_cookie_engine_roundtrip(server, curl):
    curl.setopt(pycurl.COOKIEFILE, "")
    perform(curl, server.url("/set-cookie"))
    body, _ = perform(curl, server.url("/cookie"))
    assert body == b"session=abc123; theme=dark"
    cookies = curl.getinfo(pycurl.INFO_COOKIELIST)
    assert len(cookies) == 2
    assert all(isinstance(x, str) for x in cookies)
    fields = sorted(line.split("\t") for line in cookies)
    assert [f[5:] for f in fields] == [["session", "abc123"], ["theme", "dark"]]
    assert all(f[0] == "127.0.0.1" for f in fields)


def test_cookies_ignored_without_engine(server, curl):
    perform(curl, server.url("/set-cookie"))
    body, _ = perform(curl, server.url("/cookie"))
    assert body == b""


def test_cookiejar_written_on_close(server, tmp_path):
    jar = tmp_path / "jar.txt"
    c = pycurl.Curl()
    c.setopt(pycurl.COOKIEJAR, str(jar))
    perform(c, server.url("/set-cookie?k=v"))
    c.close()
    text = jar.read_text()
    assert "\tk\tv" in text


def test_range_option(server, curl):
    body, headers = perform(curl, server.url("/range"), RANGE="0-4")
    assert body == servers.pattern(100)[:5]
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 206
    assert sent_headers(server) == (host(server) + "Range: bytes=0-4\r\nUser-Agent: UA\r\n"
                                    "Accept: */*\r\n\r\n")


def test_range_open_ended(server, curl):
    body, _ = perform(curl, server.url("/range"), RANGE="95-")
    assert body == servers.pattern(100)[95:]


def test_resume_from(server, curl):
    body, headers = perform(curl, server.url("/range"), RESUME_FROM=10)
    assert body == servers.pattern(100)[10:]
    assert server.last_request().header("Range") == "bytes=10-"
    assert b"Content-Range: bytes 10-99/100\r\n" in headers
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 206


def test_resume_from_unsupported_by_server(server, curl):
    code, msg = perform_error(curl, server.url("/bytes?n=50"), RESUME_FROM=10)
    assert (code, msg) == (pycurl.E_RANGE_ERROR,
                           "HTTP server does not seem to support byte ranges. Cannot resume.")


def test_unsatisfiable_range(server, curl):
    body, _ = perform(curl, server.url("/range"), RANGE="500-600")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 416
