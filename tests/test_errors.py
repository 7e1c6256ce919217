"""Each failure mode: error code and message text as pycurl reports them."""

import errno
import re

import pytest

import pycurl

from helpers import perform, perform_error


def test_connection_refused(curl, refused_port):
    code, msg = perform_error(curl, f"http://127.0.0.1:{refused_port}/")
    assert code == pycurl.E_COULDNT_CONNECT == 7
    assert re.fullmatch(rf"Failed to connect to 127\.0\.0\.1:{refused_port} after \d+ ms: "
                        r"Could not connect to server", msg), msg
    assert curl.getinfo(pycurl.OS_ERRNO) == errno.ECONNREFUSED
    assert curl.errstr() == msg
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 0


def test_connection_refused_port_zero(curl):
    code, msg = perform_error(curl, "http://127.0.0.1:0/")
    assert code == 7
    assert re.fullmatch(r"Failed to connect to 127\.0\.0\.1:0 after \d+ ms: "
                        r"Could not connect to server", msg), msg


def test_dns_failure(curl):
    code, msg = perform_error(curl, "http://nonexistent.invalid/")
    assert (code, msg) == (pycurl.E_COULDNT_RESOLVE_HOST, "Could not resolve host: nonexistent.invalid")


def test_dns_failure_with_port_and_no_scheme(curl):
    code, msg = perform_error(curl, "nonexistent.invalid:8080/x")
    assert (code, msg) == (6, "Could not resolve host: nonexistent.invalid")


def test_failonerror(server, curl):
    code, msg = perform_error(curl, server.url("/status/404"), FAILONERROR=1)
    assert (code, msg) == (pycurl.E_HTTP_RETURNED_ERROR, "The requested URL returned error: 404")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 404


def test_failonerror_body_not_delivered(server, curl):
    chunks = []
    curl.setopt(pycurl.URL, server.url("/status/500"))
    curl.setopt(pycurl.FAILONERROR, 1)
    curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args == (22, "The requested URL returned error: 500")
    assert chunks == []


def test_failonerror_ignores_success_and_redirect(server, curl):
    perform(curl, server.url("/status/399"), FAILONERROR=1)
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 399
    perform(curl, server.url("/hello"), FAILONERROR=1)


def test_failonerror_401_with_auth(server, curl):
    code, msg = perform_error(curl, server.url("/basic-auth/u/p"), FAILONERROR=1, USERPWD="u:x")
    assert (code, msg) == (22, "The requested URL returned error: 401")


def test_got_nothing(server, curl):
    code, msg = perform_error(curl, server.url("/nothing"))
    assert (code, msg) == (pycurl.E_GOT_NOTHING, "Empty reply from server")


def test_partial_file(server, curl):
    chunks = []
    curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
    curl.setopt(pycurl.URL, server.url("/partial"))
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args == (pycurl.E_PARTIAL_FILE, "end of response with 50 bytes missing")
    # what did arrive was delivered
    assert len(b"".join(chunks)) == 50
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 50


def test_weird_reply_http09(server, curl):
    code, msg = perform_error(curl, server.url("/weird"))
    assert (code, msg) == (pycurl.E_UNSUPPORTED_PROTOCOL, "Received HTTP/0.9 when not allowed")


def test_bad_status_line(server, curl):
    code, msg = perform_error(curl, server.url("/bad-status"))
    assert (code, msg) == (1, "Unsupported HTTP/1 subversion in response")


def test_header_without_colon(server, curl):
    code, msg = perform_error(curl, server.url("/bad-header"))
    assert (code, msg) == (pycurl.E_FTP_WEIRD_SERVER_REPLY, "Header without colon")
    assert code == 8


def test_invalid_content_length(server, curl):
    code, msg = perform_error(curl, server.url("/bad-length"))
    assert (code, msg) == (8, "Invalid Content-Length: value")


def test_bad_chunk(server, curl):
    code, msg = perform_error(curl, server.url("/bad-chunk"))
    assert (code, msg) == (pycurl.E_RECV_ERROR, "chunk hex-length char not a hex digit: 0x7a")


@pytest.mark.parametrize("url,scheme", [("gopherx://127.0.0.1/", "gopherx"),
                                        ("foo://x", "foo")])
def test_unsupported_protocol(curl, url, scheme):
    code, msg = perform_error(curl, url)
    assert (code, msg) == (pycurl.E_UNSUPPORTED_PROTOCOL, f'Protocol "{scheme}" not supported')


@pytest.mark.parametrize("url,msg", [
    ("http://[::1/", "URL rejected: Bad IPv6 address"),
    ("http://", "URL rejected: No host present"),
    ("http:///", "URL rejected: No host present"),
    ("://x", "URL rejected: No host present"),
    ("http://a b.invalid/", "URL rejected: Bad hostname"),
    ("x y", "URL rejected: Bad hostname"),
    ("http://127.0.0.1:99999/",
     "URL rejected: Port number was not a decimal number between 0 and 65535"),
    ("http://127.0.0.1:abc/",
     "URL rejected: Port number was not a decimal number between 0 and 65535"),
    ("", "URL rejected: Malformed input to a URL function"),
    ("http://127.0.0.1:1/he llo", "URL rejected: Bad path"),
])
def test_malformed_url(curl, url, msg):
    code, got = perform_error(curl, url)
    assert (code, got) == (pycurl.E_URL_MALFORMAT, msg)


def test_no_url_set(curl):
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args == (3, "No URL set")


def test_scheme_guessed_and_case_insensitive(server, curl):
    body, _ = perform(curl, f"127.0.0.1:{server.port}/hello")
    assert body == b"hello world"
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == server.url("/hello")
    perform(curl, f"HTTP://127.0.0.1:{server.port}/hello")
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == server.url("/hello")


def test_error_is_pycurl_error_with_two_args(curl, refused_port):
    curl.setopt(pycurl.URL, f"http://127.0.0.1:{refused_port}/")
    try:
        curl.perform()
    except pycurl.error as e:
        assert type(e) is pycurl.error
        assert len(e.args) == 2
        code, msg = e.args
        assert str(e) == str((code, msg))
    else:
        pytest.fail("no error raised")


def test_errstr_cleared_by_success(server, curl, refused_port):
    perform_error(curl, f"http://127.0.0.1:{refused_port}/")
    assert curl.errstr().startswith("Failed to connect")
    assert curl.errstr_raw() == curl.errstr().encode()
    perform(curl, server.url("/hello"))
    assert curl.errstr() == ""
    assert curl.errstr_raw() == b""


def test_errstr_after_different_errors(server, curl, refused_port):
    perform_error(curl, server.url("/nothing"))
    assert curl.errstr() == "Empty reply from server"
    perform_error(curl, "gopherx://x/")
    assert curl.errstr() == 'Protocol "gopherx" not supported'
