"""FOLLOWLOCATION, MAXREDIRS, POSTREDIR, AUTOREFERER, REDIRECT_* infos."""

import urllib.parse

import pytest

import pycurl

from helpers import header_block, perform, perform_error


def rt(server, url, code=302):
    return server.url("/redirect-to?" + urllib.parse.urlencode({"url": url, "code": code}))


def test_not_followed_by_default(server, curl):
    body, headers = perform(curl, server.url("/redirect/3"))
    assert body == b"redirecting\n"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 302
    assert curl.getinfo(pycurl.REDIRECT_URL) == server.url("/redirect/2")
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 0
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == server.url("/redirect/3")
    assert len(header_block(headers)) == 1


def test_redirect_url_resolves_relative(server, curl):
    perform(curl, server.url("/relative-redirect"))
    assert curl.getinfo(pycurl.REDIRECT_URL) == server.url("/hello?from=relative")


def test_redirect_url_even_for_non_3xx(server, curl):
    perform(curl, rt(server, "/hello", 201))
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 201
    assert curl.getinfo(pycurl.REDIRECT_URL) == server.url("/hello")


def test_follow_chain(server, curl):
    body, headers = perform(curl, server.url("/redirect/3"), FOLLOWLOCATION=1)
    assert body == b"hello world"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 3
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == server.url("/hello")
    assert curl.getinfo(pycurl.REDIRECT_URL) is None
    assert curl.getinfo(pycurl.REDIRECT_TIME) > 0
    assert curl.getinfo(pycurl.REDIRECT_TIME_T) > 0
    assert curl.getinfo(pycurl.REDIRECT_TIME_T) <= curl.getinfo(pycurl.TOTAL_TIME_T)
    # all hops on one reused connection
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 1
    paths = [r.path for r in server.requests[-4:]]
    assert paths == ["/redirect/3", "/redirect/2", "/redirect/1", "/hello"]


def test_follow_relative(server, curl):
    body, _ = perform(curl, server.url("/relative-redirect"), FOLLOWLOCATION=1)
    assert body == b"hello world"
    assert server.last_request().target == "/hello?from=relative"
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == server.url("/hello?from=relative")


def test_follow_scheme_relative(server, curl):
    body, _ = perform(curl, rt(server, f"//127.0.0.1:{server.port}/hello"), FOLLOWLOCATION=1)
    assert body == b"hello world"


def test_fragment_in_location_not_sent(server, curl):
    perform(curl, rt(server, "/headers#frag"), FOLLOWLOCATION=1)
    assert server.last_request().target == "/headers"


@pytest.mark.parametrize("code", [300, 301, 302, 303, 305, 307, 308])
def test_followed_codes(server, curl, code):
    body, _ = perform(curl, rt(server, "/hello", code), FOLLOWLOCATION=1)
    assert body == b"hello world"
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 1


@pytest.mark.parametrize("code", [200, 201])
def test_location_on_non_redirect_not_followed(server, curl, code):
    body, _ = perform(curl, rt(server, "/hello", code), FOLLOWLOCATION=1)
    assert body == b"redirecting\n"
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 0


def test_empty_location_not_followed(server, curl):
    body, _ = perform(curl, rt(server, "", 302), FOLLOWLOCATION=1)
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 302
    assert body == b"redirecting\n"


def test_maxredirs_exceeded(server, curl):
    code, msg = perform_error(curl, server.url("/redirect/5"), FOLLOWLOCATION=1, MAXREDIRS=2)
    assert (code, msg) == (pycurl.E_TOO_MANY_REDIRECTS, "Maximum (2) redirects followed")
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 2
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 302
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == server.url("/redirect/3")
    assert curl.getinfo(pycurl.REDIRECT_URL) == server.url("/redirect/2")


def test_maxredirs_zero(server, curl):
    code, msg = perform_error(curl, server.url("/redirect/1"), FOLLOWLOCATION=1, MAXREDIRS=0)
    assert (code, msg) == (47, "Maximum (0) redirects followed")


def test_maxredirs_exact(server, curl):
    body, _ = perform(curl, server.url("/redirect/3"), FOLLOWLOCATION=1, MAXREDIRS=3)
    assert body == b"hello world"


def test_default_maxredirs_is_30(server, curl):
    code, msg = perform_error(curl, server.url("/redirect/40"), FOLLOWLOCATION=1)
    assert (code, msg) == (47, "Maximum (30) redirects followed")
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 30


def test_maxredirs_unlimited(server, curl):
    body, _ = perform(curl, server.url("/redirect/35"), FOLLOWLOCATION=1, MAXREDIRS=-1)
    assert body == b"hello world"
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 35


@pytest.mark.parametrize("code", [301, 302, 303])
def test_post_becomes_get(server, curl, code):
    body, _ = perform(curl, rt(server, "/echo", code), POSTFIELDS="a=1", FOLLOWLOCATION=1)
    assert body == b"GET\n"
    first, second = server.requests[-2:]
    assert (first.method, first.body) == ("POST", b"a=1")
    assert (second.method, second.body) == ("GET", b"")
    assert second.header("Content-Type") is None
    assert second.header("Content-Length") is None
    assert curl.getinfo(pycurl.EFFECTIVE_METHOD) == "GET"


@pytest.mark.parametrize("code,flag", [(301, pycurl.REDIR_POST_301),
                                       (302, pycurl.REDIR_POST_302),
                                       (303, pycurl.REDIR_POST_303)])
def test_postredir_keeps_post(server, curl, code, flag):
    body, _ = perform(curl, rt(server, "/echo", code), POSTFIELDS="a=1", FOLLOWLOCATION=1,
                      POSTREDIR=flag)
    assert body == b"POST\na=1"
    assert curl.getinfo(pycurl.EFFECTIVE_METHOD) == "POST"


def test_postredir_flag_only_for_its_code(server, curl):
    body, _ = perform(curl, rt(server, "/echo", 302), POSTFIELDS="a=1", FOLLOWLOCATION=1,
                      POSTREDIR=pycurl.REDIR_POST_301)
    assert body == b"GET\n"


@pytest.mark.parametrize("code", [307, 308])
def test_post_kept_on_307_308(server, curl, code):
    body, _ = perform(curl, rt(server, "/echo", code), POSTFIELDS="a=1", FOLLOWLOCATION=1)
    assert body == b"POST\na=1"


def test_autoreferer(server, curl):
    start = rt(server, "/headers")
    perform(curl, start, FOLLOWLOCATION=1, AUTOREFERER=1)
    assert server.last_request().header("Referer") == start
    assert curl.getinfo(pycurl.INFO_REFERER) == start


def test_no_autoreferer_by_default(server, curl):
    perform(curl, rt(server, "/headers"), FOLLOWLOCATION=1)
    assert server.last_request().header("Referer") is None


def test_credentials_not_sent_to_other_host(server, curl):
    perform(curl, rt(server, f"http://localhost:{server.port}/headers"), FOLLOWLOCATION=1,
            USERPWD="u:p")
    assert server.requests[-2].header("Authorization") == "Basic dTpw"
    assert server.last_request().header("Authorization") is None
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == f"http://localhost:{server.port}/headers"
    # another host name means another connection; NUM_CONNECTS counts
    # every connection created for the whole transfer
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 2


def test_unrestricted_auth(server, curl):
    perform(curl, rt(server, f"http://localhost:{server.port}/headers"), FOLLOWLOCATION=1,
            USERPWD="u:p", UNRESTRICTED_AUTH=1)
    assert server.last_request().header("Authorization") == "Basic dTpw"


def test_credentials_kept_same_host(server, curl):
    perform(curl, rt(server, "/headers"), FOLLOWLOCATION=1, USERPWD="u:p")
    assert server.last_request().header("Authorization") == "Basic dTpw"


def test_redirect_to_unsupported_scheme(server, curl):
    code, msg = perform_error(curl, rt(server, "gopherx://x/"), FOLLOWLOCATION=1)
    assert (code, msg) == (pycurl.E_UNSUPPORTED_PROTOCOL,
                           "The redirect target URL could not be parsed: Unsupported URL scheme")


def test_redirect_to_file_refused(server, curl):
    code, msg = perform_error(curl, rt(server, "file:///etc/hostname"), FOLLOWLOCATION=1)
    assert (code, msg) == (1, 'Protocol "file" is disabled (in redirect)')


def test_custom_headers_kept_across_redirect(server, curl):
    perform(curl, rt(server, "/headers"), FOLLOWLOCATION=1, HTTPHEADER=["X-Keep: yes"])
    assert server.last_request().header("X-Keep") == "yes"


def test_redirect_header_blocks_and_body(server, curl):
    body, headers = perform(curl, rt(server, "/bytes?n=5", 301), FOLLOWLOCATION=1)
    blocks = header_block(headers)
    assert blocks[0][0] == b"HTTP/1.1 301 Moved Permanently\r\n"
    assert blocks[1][0] == b"HTTP/1.1 200 OK\r\n"
    assert body == b"abcde"
    # sizes count only the final response's body
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 5
