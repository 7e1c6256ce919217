"""Plain GET/HEAD transfers, body framing and connection reuse."""

import pycurl

from helpers import get, perform, perform_error
import servers


def test_get_hello(server, curl):
    body, headers = perform(curl, server.url("/hello"))
    assert body == b"hello world"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200
    assert headers == [
        b"HTTP/1.1 200 OK\r\n",
        b"Content-Type: text/plain\r\n",
        b"Content-Length: 11\r\n",
        b"\r\n",
    ]


def test_default_request_bytes(server, curl):
    perform(curl, server.url("/hello"))
    req = server.last_request()
    # pycurl installs its version string as the default User-Agent
    assert req.head == (b"GET /hello HTTP/1.1\r\n"
                        b"Host: 127.0.0.1:%d\r\n"
                        b"User-Agent: %s\r\n"
                        b"Accept: */*\r\n\r\n" % (server.port, pycurl.version.encode()))
    assert req.body == b""


def test_default_user_agent_survives_reset(server, curl):
    curl.setopt(pycurl.USERAGENT, "custom/1")
    perform(curl, server.url("/hello"))
    assert server.last_request().header("User-Agent") == "custom/1"
    curl.reset()
    perform(curl, server.url("/hello"))
    assert server.last_request().header("User-Agent") == pycurl.version


def test_url_without_path_requests_root(server, curl):
    body, _ = perform(curl, server.base)
    assert body == b"hello world"
    assert server.last_request().target == "/"


def test_fragment_not_sent_and_query_kept(server, curl):
    perform(curl, server.url("/hello?a=1&b=two#frag"))
    assert server.last_request().target == "/hello?a=1&b=two"


def test_dot_segments_removed(server, curl):
    perform(curl, server.url("/x/../hello"))
    assert server.last_request().target == "/hello"


def test_path_as_is_keeps_dot_segments(server, curl):
    body, _ = perform(curl, server.url("/x/../hello"), PATH_AS_IS=1)
    assert server.last_request().target == "/x/../hello"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 404


def test_url_options_changed_between_transfers_apply(server, curl):
    # The engine keeps the parsed URL between transfers: each of these changes must be seen.
    perform(curl, server.url("/x/../hello"))
    assert server.last_request().target == "/hello"
    perform(curl, PATH_AS_IS=1)
    assert server.last_request().target == "/x/../hello"
    perform(curl, server.url("/hello?b=2"))
    assert server.last_request().target == "/hello?b=2"
    curl.setopt(pycurl.PATH_AS_IS, 0)
    perform(curl, "127.0.0.1:%d/x/../hello" % server.port, DEFAULT_PROTOCOL="http")
    assert server.last_request().target == "/hello"
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == server.url("/hello")
    # PORT applies to the parsed URL each time, and stops applying once unset.
    curl.setopt(pycurl.URL, "http://127.0.0.1:1/hello")
    body, _ = perform(curl, PORT=server.port)
    assert body == b"hello world"
    # libcurl connects to PORT but reports the URL as set.
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == "http://127.0.0.1:1/hello"
    assert curl.getinfo(pycurl.PRIMARY_PORT) == server.port
    curl.setopt(pycurl.PORT, 0)
    perform_error(curl)
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == "http://127.0.0.1:1/hello"


def test_nobody_sends_head(server, curl):
    body, headers = perform(curl, server.url("/head-check"), NOBODY=1)
    assert body == b""
    req = server.last_request()
    assert req.method == "HEAD"
    assert req.head.startswith(b"HEAD /head-check HTTP/1.1\r\n")
    assert b"X-Method: HEAD\r\n" in headers
    assert b"Content-Length: 16\r\n" in headers
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == 16
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 0


def test_head_then_get_on_same_handle(server, curl):
    perform(curl, server.url("/head-check"), NOBODY=1)
    body, _ = perform(curl, server.url("/head-check"), NOBODY=0, HTTPGET=1)
    assert body == b"head-check body\n"
    assert server.last_request().method == "GET"


def test_bytes_sizes(server, curl):
    for n in (0, 1, 1000, 100_000):
        body, _ = perform(curl, server.url(f"/bytes?n={n}"))
        assert body == servers.pattern(n)
        assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == n


def test_chunked_body(server, curl):
    body, headers = perform(curl, server.url("/chunked?n=10000&chunks=7"))
    assert body == servers.pattern(10000)
    assert b"Transfer-Encoding: chunked\r\n" in headers
    # unknown length: libcurl reports -1
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == -1


def test_chunked_empty(server, curl):
    body, _ = perform(curl, server.url("/chunked?n=0"))
    assert body == b""
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200


def test_close_delimited_body(server, curl):
    body, _ = perform(curl, server.url("/close?n=5000"))
    assert body == servers.pattern(5000)
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == -1


def test_http10_response(server, curl):
    body, headers = perform(curl, server.url("/http10"))
    assert body == b"old school"
    assert headers[0] == b"HTTP/1.0 200 OK\r\n"
    assert curl.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_1_0


def test_bare_lf_response(server, curl):
    body, headers = perform(curl, server.url("/lf-only"))
    assert body == b"abc"
    assert headers == [b"HTTP/1.1 200 OK\n", b"Content-Type: text/plain\n",
                       b"Content-Length: 3\n", b"\n"]


def test_big_download(server, curl):
    total = [0]

    def write(data):
        total[0] += len(data)

    curl.setopt(pycurl.URL, server.url("/big?mb=16"))
    curl.setopt(pycurl.WRITEFUNCTION, write)
    curl.perform()
    assert total[0] == 16 * 1024 * 1024
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 16 * 1024 * 1024


def test_no_content_statuses(server, curl):
    for code in (204, 304):
        body, headers = perform(curl, server.url(f"/status/{code}"))
        assert body == b""
        assert curl.getinfo(pycurl.RESPONSE_CODE) == code


def test_error_statuses_are_not_errors_by_default(server, curl):
    for code in (400, 404, 500, 503):
        body, headers = perform(curl, server.url(f"/status/{code}"))
        assert body == b"status %d\n" % code
        assert curl.getinfo(pycurl.RESPONSE_CODE) == code


def test_keepalive_reuses_connection(server, curl):
    before = server.connections
    for _ in range(3):
        body, _ = perform(curl, server.url("/hello"))
        assert body == b"hello world"
    assert server.connections - before == 1
    ids = {r.connection_id for r in server.requests[-3:]}
    assert len(ids) == 1


def test_num_connects_first_and_reused(server, curl):
    perform(curl, server.url("/hello"))
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 1
    perform(curl, server.url("/bytes?n=3"))
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 0


def test_maxconnects_set_before_the_first_perform_limits_the_cache(server, curl):
    # MAXCONNECTS 1: the connection to a second origin pushes the first one out of the cache.
    other = servers.start_server()
    try:
        curl.setopt(pycurl.MAXCONNECTS, 1)
        perform(curl, server.url("/hello"))
        perform(curl, other.url("/hello"))
        perform(curl, server.url("/hello"))
        assert curl.getinfo(pycurl.NUM_CONNECTS) == 1
    finally:
        other.stop()


def test_separate_handles_do_not_share_connections(server):
    before = server.connections
    get(server.url("/hello"))
    get(server.url("/hello"))
    assert server.connections - before == 2


def test_fresh_connect(server, curl):
    perform(curl, server.url("/hello"))
    before = server.connections
    perform(curl, server.url("/hello"), FRESH_CONNECT=1)
    assert server.connections - before == 1
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 1


def test_forbid_reuse(server, curl):
    before = server.connections
    curl.setopt(pycurl.FORBID_REUSE, 1)
    perform(curl, server.url("/hello"))
    perform(curl, server.url("/hello"))
    assert server.connections - before == 2


def test_server_close_forces_reconnect(server, curl):
    before = server.connections
    perform(curl, server.url("/close?n=10"))
    perform(curl, server.url("/hello"))
    assert server.connections - before == 2


def test_keepalive_close_server_side(server, curl):
    """The server advertises keep-alive and then closes: the next transfer
    on the handle must transparently use a new connection."""
    before = server.connections
    b1, _ = perform(curl, server.url("/keepalive-close"))
    b2, _ = perform(curl, server.url("/keepalive-close"))
    b3, _ = perform(curl, server.url("/hello"))
    assert (b1, b2, b3) == (b"bye", b"bye", b"hello world")
    assert server.connections - before == 3


def test_connection_close_request_header(server, curl):
    before = server.connections
    perform(curl, server.url("/hello"), HTTPHEADER=["Connection: close"])
    perform(curl, server.url("/hello"))
    assert server.connections - before == 2


def test_http_version_1_0_request(server, curl):
    body, _ = perform(curl, server.url("/hello"),
                      HTTP_VERSION=pycurl.CURL_HTTP_VERSION_1_0)
    assert body == b"hello world"
    assert server.last_request().version == "HTTP/1.0"
    assert server.last_request().head.startswith(b"GET /hello HTTP/1.0\r\n")


def test_perform_twice_same_url(server, curl):
    curl.setopt(pycurl.URL, server.url("/bytes?n=7"))
    chunks = []
    curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
    curl.perform()
    curl.perform()
    assert b"".join(chunks) == servers.pattern(7) * 2


def test_error_then_success_on_same_handle(server, curl, refused_port):
    perform_error(curl, f"http://127.0.0.1:{refused_port}/")
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"
    assert curl.errstr() == ""


def test_ipv4_literal_and_port(server, curl):
    perform(curl, f"http://127.0.0.1:{server.port}/hello")
    assert curl.getinfo(pycurl.PRIMARY_IP) == "127.0.0.1"
    assert curl.getinfo(pycurl.PRIMARY_PORT) == server.port


def test_localhost_name(server, curl):
    body, _ = perform(curl, f"http://localhost:{server.port}/hello")
    assert body == b"hello world"
    assert curl.getinfo(pycurl.PRIMARY_IP) in ("127.0.0.1", "::1")
    assert server.last_request().header("Host") == f"localhost:{server.port}"
