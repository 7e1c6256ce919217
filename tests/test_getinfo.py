"""getinfo: every commonly used CURLINFO, its type and its value."""

import io
import warnings

import pytest

import pycurl

from helpers import perform, perform_error

TIME_INFOS = ["NAMELOOKUP_TIME", "CONNECT_TIME", "APPCONNECT_TIME", "PRETRANSFER_TIME",
              "STARTTRANSFER_TIME", "TOTAL_TIME", "REDIRECT_TIME"]


@pytest.fixture
def done(server, curl):
    """A handle after one plain GET of /hello."""
    perform(curl, server.url("/hello"))
    return curl


def test_response_code(done):
    assert done.getinfo(pycurl.RESPONSE_CODE) == 200
    assert done.getinfo(pycurl.HTTP_CODE) == 200
    assert type(done.getinfo(pycurl.RESPONSE_CODE)) is int


def test_effective_url(server, done):
    assert done.getinfo(pycurl.EFFECTIVE_URL) == server.url("/hello")
    assert done.getinfo_raw(pycurl.EFFECTIVE_URL) == server.url("/hello").encode()


def test_content_type(done):
    assert done.getinfo(pycurl.CONTENT_TYPE) == "text/plain"
    assert done.getinfo_raw(pycurl.CONTENT_TYPE) == b"text/plain"


def test_content_type_absent(server, curl):
    perform(curl, server.url("/range"), RANGE="500-600")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 416
    assert curl.getinfo(pycurl.CONTENT_TYPE) is None


def test_http_version(done):
    assert done.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_1_1 == 2


def test_http_version_option_is_not_an_info(done):
    with pytest.raises(ValueError, match="invalid argument to getinfo"):
        done.getinfo(pycurl.HTTP_VERSION)


@pytest.mark.parametrize("name", TIME_INFOS)
def test_float_times(done, name):
    v = done.getinfo(getattr(pycurl, name))
    assert type(v) is float
    assert 0.0 <= v < 5.0
    t = done.getinfo(getattr(pycurl, name + "_T"))
    assert type(t) is int
    # same quantity in microseconds
    assert abs(t / 1e6 - v) < 1e-5


def test_time_ordering(done):
    g = lambda n: done.getinfo(getattr(pycurl, n + "_T"))  # noqa: E731
    assert 0 < g("NAMELOOKUP_TIME") <= g("CONNECT_TIME") <= g("PRETRANSFER_TIME") \
        <= g("STARTTRANSFER_TIME") <= g("TOTAL_TIME")
    # no TLS and no redirect
    assert g("APPCONNECT_TIME") == 0
    assert g("REDIRECT_TIME") == 0
    assert done.getinfo(pycurl.POSTTRANSFER_TIME_T) <= g("TOTAL_TIME")
    assert done.getinfo(pycurl.QUEUE_TIME_T) >= 0


def test_slow_response_times(server, curl):
    perform(curl, server.url("/slow?delay=0.3"))
    assert curl.getinfo(pycurl.STARTTRANSFER_TIME) >= 0.29
    assert curl.getinfo(pycurl.TOTAL_TIME) >= 0.29
    assert curl.getinfo(pycurl.CONNECT_TIME) < 0.29


def test_sizes_download(server, curl):
    perform(curl, server.url("/bytes?n=12345"))
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 12345
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == 12345
    assert curl.getinfo(pycurl.SIZE_UPLOAD_T) == 0
    # no request body: libcurl reports 0 here (not -1)
    assert curl.getinfo(pycurl.CONTENT_LENGTH_UPLOAD_T) == 0
    assert curl.getinfo(pycurl.SPEED_DOWNLOAD_T) > 0
    assert curl.getinfo(pycurl.SPEED_UPLOAD_T) == 0
    assert curl.getinfo(pycurl.SIZE_DELIVERED) == 12345


def test_float_size_infos_deprecated(server, curl):
    perform(curl, server.url("/bytes?n=100"))
    for name, expect in [("SIZE_DOWNLOAD", 100.0), ("CONTENT_LENGTH_DOWNLOAD", 100.0),
                         ("SIZE_UPLOAD", 0.0), ("SPEED_UPLOAD", 0.0)]:
        with pytest.warns(DeprecationWarning, match="getinfo option is deprecated"):
            v = curl.getinfo(getattr(pycurl, name))
        assert type(v) is float and v == expect
    with pytest.warns(DeprecationWarning):
        assert curl.getinfo(pycurl.SPEED_DOWNLOAD) > 0
    with pytest.warns(DeprecationWarning):
        assert curl.getinfo(pycurl.CONTENT_LENGTH_UPLOAD) == 0.0


def test_non_deprecated_infos_do_not_warn(done):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ["SIZE_DOWNLOAD_T", "TOTAL_TIME", "RESPONSE_CODE", "EFFECTIVE_URL",
                     "LASTSOCKET", "NUM_CONNECTS"]:
            done.getinfo(getattr(pycurl, name))


def test_sizes_upload(server, curl):
    perform(curl, server.url("/echo"), UPLOAD=1, READDATA=io.BytesIO(b"x" * 3000),
            INFILESIZE=3000)
    assert curl.getinfo(pycurl.SIZE_UPLOAD_T) == 3000
    assert curl.getinfo(pycurl.CONTENT_LENGTH_UPLOAD_T) == 3000
    assert curl.getinfo(pycurl.SPEED_UPLOAD_T) > 0
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 3004


def test_header_size(done):
    # status line + 2 headers + blank line of /hello
    assert done.getinfo(pycurl.HEADER_SIZE) == len(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n")


def test_header_size_accumulates_over_redirects(server, curl):
    _, headers = perform(curl, server.url("/redirect/2"), FOLLOWLOCATION=1)
    assert curl.getinfo(pycurl.HEADER_SIZE) == sum(len(h) for h in headers)


def test_request_size(server, done):
    assert done.getinfo(pycurl.REQUEST_SIZE) == len(server.last_request().head)


def test_request_size_with_body(server, curl):
    perform(curl, server.url("/echo"), POSTFIELDS="a=1&b=2")
    req = server.last_request()
    assert curl.getinfo(pycurl.REQUEST_SIZE) == len(req.head) + len(req.body)


def test_request_size_accumulates_over_redirects(server, curl):
    perform(curl, server.url("/redirect/2"), FOLLOWLOCATION=1)
    heads = server.requests[-3:]
    assert curl.getinfo(pycurl.REQUEST_SIZE) == sum(len(r.head) for r in heads)


def test_redirect_infos(server, curl):
    perform(curl, server.url("/redirect/1"))
    assert curl.getinfo(pycurl.REDIRECT_URL) == server.url("/hello")
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 0
    perform(curl, server.url("/redirect/1"), FOLLOWLOCATION=1)
    assert curl.getinfo(pycurl.REDIRECT_URL) is None
    assert curl.getinfo(pycurl.REDIRECT_COUNT) == 1
    assert curl.getinfo(pycurl.REDIRECT_TIME) > 0


def test_primary_and_local(server, done):
    assert done.getinfo(pycurl.PRIMARY_IP) == "127.0.0.1"
    assert done.getinfo(pycurl.PRIMARY_PORT) == server.port
    assert done.getinfo(pycurl.LOCAL_IP) == "127.0.0.1"
    req = server.last_request()
    assert done.getinfo(pycurl.LOCAL_PORT) == req.peer[1]
    assert done.getinfo(pycurl.LOCAL_PORT) != server.port


def test_num_connects_and_os_errno(done):
    assert done.getinfo(pycurl.NUM_CONNECTS) == 1
    assert done.getinfo(pycurl.OS_ERRNO) == 0


def test_scheme_and_method(server, done):
    assert done.getinfo(pycurl.SCHEME) == "http"
    assert done.getinfo(pycurl.EFFECTIVE_METHOD) == "GET"
    perform(done, server.url("/hello"), NOBODY=1)
    assert done.getinfo(pycurl.EFFECTIVE_METHOD) == "HEAD"


def test_sockets(done):
    # the connection is still alive in the handle's cache
    assert done.getinfo(pycurl.LASTSOCKET) >= 0
    assert done.getinfo(pycurl.ACTIVESOCKET) == done.getinfo(pycurl.LASTSOCKET)


def test_misc_zero_infos(done):
    assert done.getinfo(pycurl.SSL_VERIFYRESULT) == 0
    assert done.getinfo(pycurl.HTTP_CONNECTCODE) == 0
    assert done.getinfo(pycurl.HTTPAUTH_AVAIL) == 0
    assert done.getinfo(pycurl.PROXYAUTH_AVAIL) == 0
    assert done.getinfo(pycurl.INFO_FILETIME) == -1
    assert done.getinfo(pycurl.CONDITION_UNMET) == 0
    assert done.getinfo(pycurl.INFO_CERTINFO) == []
    assert done.getinfo(pycurl.INFO_COOKIELIST) == []
    assert done.getinfo(pycurl.INFO_REFERER) is None
    assert done.getinfo(pycurl.RETRY_AFTER) == 0


def test_ids(done):
    assert done.getinfo(pycurl.CONN_ID) >= 0
    assert done.getinfo(pycurl.XFER_ID) >= 0


def test_fresh_handle_infos():
    c = pycurl.Curl()
    assert c.getinfo(pycurl.RESPONSE_CODE) == 0
    assert c.getinfo(pycurl.EFFECTIVE_URL) == ""
    assert c.getinfo(pycurl.CONTENT_TYPE) is None
    assert c.getinfo(pycurl.TOTAL_TIME) == 0.0
    assert c.getinfo(pycurl.TOTAL_TIME_T) == 0
    assert c.getinfo(pycurl.SIZE_DOWNLOAD_T) == 0
    assert c.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == -1
    assert c.getinfo(pycurl.PRIMARY_IP) == ""
    assert c.getinfo(pycurl.PRIMARY_PORT) == -1
    assert c.getinfo(pycurl.LOCAL_PORT) == -1
    assert c.getinfo(pycurl.SCHEME) is None
    assert c.getinfo(pycurl.EFFECTIVE_METHOD) == "GET"
    assert c.getinfo(pycurl.REDIRECT_URL) is None
    assert c.getinfo(pycurl.LASTSOCKET) == -1
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == 0
    c.close()


def test_effective_url_before_perform():
    c = pycurl.Curl()
    c.setopt(pycurl.URL, "http://127.0.0.1:1/x")
    assert c.getinfo(pycurl.EFFECTIVE_URL) == "http://127.0.0.1:1/x"
    c.close()


def test_infos_after_refused(curl, refused_port):
    perform_error(curl, f"http://127.0.0.1:{refused_port}/")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 0
    assert curl.getinfo(pycurl.SCHEME) == "http"
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == f"http://127.0.0.1:{refused_port}/"
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 0
    assert curl.getinfo(pycurl.TOTAL_TIME_T) > 0


def test_infos_reset_between_transfers(server, curl):
    perform(curl, server.url("/bytes?n=500"))
    perform(curl, server.url("/status/404"))
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 404
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == len(b"status 404\n")


def test_getinfo_bad_arguments(done):
    with pytest.raises(ValueError, match="invalid argument to getinfo"):
        done.getinfo(12345)
    with pytest.raises(ValueError, match="invalid argument to getinfo"):
        done.getinfo(pycurl.URL)
    with pytest.raises(TypeError):
        done.getinfo("x")
    with pytest.raises(TypeError):
        done.getinfo()


def test_getinfo_type_bits_alone_are_not_infos(done):
    # 0x100000 / 0x200000 / 0x400000 are module constants (PROTO_RTMPT, VERSION_HTTPS_PROXY, ...)
    # that only look like CURLINFO numbers.
    for v in (pycurl.PROTO_RTMPT, pycurl.VERSION_HTTPS_PROXY, pycurl.VERSION_MULTI_SSL):
        with pytest.raises(ValueError, match="invalid argument to getinfo"):
            done.getinfo(v)
        with pytest.raises(ValueError, match="invalid argument to getinfo"):
            done.getinfo_raw(v)


def test_getinfo_raw_types(done):
    assert done.getinfo_raw(pycurl.RESPONSE_CODE) == 200
    assert isinstance(done.getinfo_raw(pycurl.PRIMARY_IP), bytes)
    assert done.getinfo_raw(pycurl.REDIRECT_URL) is None
