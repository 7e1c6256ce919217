"""HTTP proxies (issue 10): absolute-form requests, CONNECT tunnels, Basic proxy auth, the
environment variables, NOPROXY and connection reuse, against a real tinyproxy (and a recording
server where the exact request lines matter). Each test checks what the proxy saw too."""

import io

import pytest

import pycurl

import proxies
from proxies import tiny, tiny_auth  # noqa: F401 (fixtures)
from helpers import perform, tcp_peer_port


@pytest.fixture
def clean_env(monkeypatch):
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(k, raising=False)
    return monkeypatch


def requests_seen(p, needle):
    return p.wait_log(needle).count(needle)


def test_plain_http_goes_through_the_proxy(tiny, server, clean_env):
    c = pycurl.Curl()
    path = "/hello?via=plain"
    body, headers = perform(c, server.url(path), PROXY=tiny.url)
    assert body == b"hello world"
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.PRIMARY_PORT) == tiny.port
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 0
    assert requests_seen(tiny, f"GET {server.url(path)} HTTP/1.1") == 1
    # tinyproxy forwarded it in origin form.
    assert [r for r in server.requests if r.target == path]
    c.close()


def test_proxy_request_lines(server, clean_env):
    rec = proxies.Recorder(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    try:
        c = pycurl.Curl()
        body, _ = perform(c, "http://example.com:8080/a?b", PROXY=f"http://u%40:p@127.0.0.1:{rec.port}",
                          HTTPHEADER=["X-Srv: 1"], PROXYHEADER=["X-Prx: 1"], USERAGENT="ua")
        assert body == b"hi"
        assert rec.lines() == [
            "GET http://example.com:8080/a?b HTTP/1.1",
            "Host: example.com:8080",
            "Proxy-Authorization: Basic dUA6cA==",
            "User-Agent: ua",
            "Accept: */*",
            "Proxy-Connection: Keep-Alive",
            "X-Srv: 1",
            "X-Prx: 1",
            "", "",
        ]
        # HEADEROPT UNIFIED: PROXYHEADER is not used, HTTPHEADER goes to both.
        c.setopt(pycurl.HEADEROPT, pycurl.HEADER_UNIFIED)
        perform(c)
        assert "X-Prx: 1" not in rec.lines() and "X-Srv: 1" in rec.lines()
        c.close()
    finally:
        rec.stop()


def test_connect_request_lines_and_failure(clean_env):
    rec = proxies.Recorder(b"HTTP/1.1 403 Forbidden\r\nX-A: b\r\nContent-Length: 0\r\n\r\n")
    try:
        c = pycurl.Curl()
        c.setopt(pycurl.PROXYUSERNAME, "u@")
        c.setopt(pycurl.PROXYPASSWORD, "p")
        with pytest.raises(pycurl.error) as e:
            perform(c, "https://example.com/x", PROXY=f"127.0.0.1:{rec.port}", HTTPHEADER=["X-Srv: 1"],
                    PROXYHEADER=["X-Prx: 1"], USERAGENT="ua")
        assert e.value.args == (pycurl.E_COULDNT_CONNECT, "CONNECT tunnel failed, response 403")
        assert rec.lines() == [
            "CONNECT example.com:443 HTTP/1.1",
            "Host: example.com:443",
            "Proxy-Authorization: Basic dUA6cA==",
            "User-Agent: ua",
            "Proxy-Connection: Keep-Alive",
            "X-Prx: 1",
            "", "",
        ]
        assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 403
        assert c.getinfo(pycurl.RESPONSE_CODE) == 0
        assert c.getinfo(pycurl.HEADER_SIZE) == 53
        c.close()
    finally:
        rec.stop()


def test_connect_headers_reach_headerfunction(tiny, server, clean_env):
    c = pycurl.Curl()
    body, headers = perform(c, server.url("/hello"), PROXY=tiny.url, HTTPPROXYTUNNEL=1)
    assert body == b"hello world"
    assert headers[0].startswith(b"HTTP/1.") and b" 200 " in headers[0]
    assert headers[0] != headers[-4] or len(headers) > 4
    blank = headers.index(b"\r\n")
    assert blank < len(headers) - 1, "the CONNECT head ends before the origin's response starts"
    assert headers[blank + 1].startswith(b"HTTP/1.1 200")
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert requests_seen(tiny, f"CONNECT 127.0.0.1:{server.port} HTTP/1.1") >= 1
    c.close()


def test_https_through_a_tunnel(tiny, tls_server, certs, clean_env):
    c = pycurl.Curl()
    before = tiny.log().count(f"CONNECT 127.0.0.1:{tls_server.port}")
    body, _ = perform(c, tls_server.url("/hello"), PROXY=tiny.url, CAINFO=certs.ca_pem)
    assert body == b"hello world"
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
    assert c.getinfo(pycurl.PRIMARY_PORT) == tiny.port
    # Same handle, same settings: the tunnel is reused.
    perform(c, tls_server.url("/hello"))
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    assert requests_seen(tiny, f"CONNECT 127.0.0.1:{tls_server.port}") == before + 1
    c.close()


def test_basic_proxy_auth(tiny_auth, server, clean_env):
    c = pycurl.Curl()
    body, headers = perform(c, server.url("/hello?auth=none"), PROXY=tiny_auth.url)
    assert c.getinfo(pycurl.RESPONSE_CODE) == 407
    assert c.getinfo(pycurl.PROXYAUTH_AVAIL) == pycurl.HTTPAUTH_BASIC
    c.setopt(pycurl.PROXYUSERPWD, "alice:s3cret")
    body, _ = perform(c, server.url("/hello?auth=good"))
    assert body == b"hello world" and c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert requests_seen(tiny_auth, "GET " + server.url("/hello?auth=good")) == 1
    # Credentials in the proxy URL.
    c2 = pycurl.Curl()
    body, _ = perform(c2, server.url("/hello?auth=url"), PROXY=f"http://alice:s3cret@127.0.0.1:{tiny_auth.port}")
    assert body == b"hello world"
    c.close()
    c2.close()


def test_tunnel_auth_and_reuse_never_keeps_old_credentials(tiny_auth, tls_server, certs, clean_env):
    c = pycurl.Curl()
    with pytest.raises(pycurl.error) as e:
        perform(c, tls_server.url("/hello"), PROXY=tiny_auth.url, CAINFO=certs.ca_pem)
    assert e.value.args == (pycurl.E_COULDNT_CONNECT, "CONNECT tunnel failed, response 407")
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 407
    assert c.getinfo(pycurl.PROXYAUTH_AVAIL) == pycurl.HTTPAUTH_BASIC
    c.setopt(pycurl.PROXYUSERPWD, "alice:s3cret")
    body, _ = perform(c, tls_server.url("/hello"))
    assert body == b"hello world"
    # Credentials unset: the authenticated tunnel in the pool must not be reused.
    c.setopt(pycurl.PROXYUSERPWD, None)
    with pytest.raises(pycurl.error) as e:
        perform(c, tls_server.url("/hello"))
    assert e.value.args[0] == pycurl.E_COULDNT_CONNECT
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 407
    # And another user gets a tunnel of their own.
    c.setopt(pycurl.PROXYUSERPWD, "alice:wrong")
    with pytest.raises(pycurl.error):
        perform(c, tls_server.url("/hello"))
    log = tiny_auth.wait_log("Failed auth")
    assert log.count(f"CONNECT 127.0.0.1:{tls_server.port}") >= 3
    c.close()


def test_switching_proxy_or_dropping_it_opens_new_connections(tiny, server, clean_env):
    c = pycurl.Curl()
    perform(c, server.url("/hello?switch=1"), PROXY=tiny.url)
    assert c.getinfo(pycurl.PRIMARY_PORT) == tiny.port
    c.setopt(pycurl.PROXY, "")
    perform(c, server.url("/hello?switch=2"))
    assert c.getinfo(pycurl.PRIMARY_PORT) == server.port
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    assert "switch=2" not in tiny.wait_log("switch=2", timeout=0.5)
    c.close()


def test_environment_variables(tiny, server, clean_env):
    def via_proxy(tag):
        c = pycurl.Curl()
        perform(c, server.url(f"/hello?env={tag}"))
        port = c.getinfo(pycurl.PRIMARY_PORT)
        c.close()
        return port == tiny.port

    clean_env.setenv("HTTP_PROXY", tiny.url)
    assert not via_proxy("upper"), "HTTP_PROXY in upper case is ignored, as libcurl does"
    clean_env.setenv("http_proxy", tiny.url)
    assert via_proxy("lower")
    clean_env.setenv("no_proxy", "127.0.0.1")
    assert not via_proxy("noproxy")
    clean_env.delenv("no_proxy")
    clean_env.setenv("NO_PROXY", "localhost, 127.0.0.0/8")
    assert not via_proxy("noproxy-cidr")
    clean_env.delenv("NO_PROXY")
    clean_env.delenv("http_proxy")
    clean_env.delenv("HTTP_PROXY")
    clean_env.setenv("ALL_PROXY", tiny.url)
    assert via_proxy("all")
    c = pycurl.Curl()
    c.setopt(pycurl.PROXY, "")
    perform(c, server.url("/hello?env=off"))
    assert c.getinfo(pycurl.PRIMARY_PORT) == server.port, 'PROXY "" turns the environment off'
    c.close()
    log = tiny.wait_log("env=all")
    assert "env=lower" in log and "env=all" in log
    assert "env=upper" not in log and "env=noproxy" not in log and "env=off" not in log


def test_environment_read_again_at_each_transfer(tiny, server, clean_env):
    """One handle, reused: libcurl reads the proxy variables as each transfer sets up its
    connection, so a change between two performs (easy and multi) applies to the next one."""
    c = pycurl.Curl()
    perform(c, server.url("/hello?env=before"))
    assert c.getinfo(pycurl.PRIMARY_PORT) == server.port
    clean_env.setenv("http_proxy", tiny.url)
    perform(c, server.url("/hello?env=set"))
    assert c.getinfo(pycurl.PRIMARY_PORT) == tiny.port
    clean_env.setenv("no_proxy", "127.0.0.1")
    perform(c, server.url("/hello?env=exempt"))
    assert c.getinfo(pycurl.PRIMARY_PORT) == server.port
    clean_env.delenv("no_proxy")
    m = pycurl.CurlMulti()
    for tag, port in (("multi-set", tiny.port), ("multi-unset", server.port)):
        if port == server.port:
            clean_env.delenv("http_proxy")
        c.setopt(pycurl.URL, server.url(f"/hello?env={tag}"))
        m.add_handle(c)
        while m.perform()[1]:
            m.select(1.0)
        assert m.info_read()[1] == [c]
        m.remove_handle(c)
        assert c.getinfo(pycurl.PRIMARY_PORT) == port
    m.close()
    c.close()
    log = tiny.wait_log("env=multi-set")
    assert "env=set" in log
    assert "env=before" not in log and "env=exempt" not in log and "env=multi-unset" not in log


def test_https_proxy_env(tiny, tls_server, certs, clean_env):
    clean_env.setenv("HTTPS_PROXY", tiny.url)
    c = pycurl.Curl()
    body, _ = perform(c, tls_server.url("/hello"), CAINFO=certs.ca_pem, FRESH_CONNECT=1)
    assert body == b"hello world"
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
    c.close()


@pytest.mark.parametrize("noproxy,direct", [
    ("*", True), ("127.0.0.1", True), ("127.0.0.0/8", True), ("10.0.0.0/8", False),
    ("example.com", False), ("", False),
])
def test_noproxy_option(tiny, server, clean_env, noproxy, direct):
    c = pycurl.Curl()
    perform(c, server.url("/hello"), PROXY=tiny.url, NOPROXY=noproxy)
    assert (c.getinfo(pycurl.PRIMARY_PORT) == server.port) == direct
    c.close()


def test_proxy_errors(refused_port, clean_env):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, "http://example.com/")
    c.setopt(pycurl.PROXY, "foo://127.0.0.1:1")
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args == (pycurl.E_COULDNT_CONNECT, "Unsupported proxy scheme for 'foo://127.0.0.1:1'")
    c.setopt(pycurl.PROXY, "nonexistent.invalid:1")
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args == (pycurl.E_COULDNT_RESOLVE_PROXY, "Could not resolve proxy: nonexistent.invalid")
    c.setopt(pycurl.PROXY, "http://127.0.0.1")
    c.setopt(pycurl.PROXYPORT, refused_port)
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args[0] == pycurl.E_COULDNT_CONNECT
    assert e.value.args[1].startswith(f"Failed to connect to 127.0.0.1:{refused_port} over proxy 127.0.0.1 after ")
    c.close()


def test_setopt_checks():
    c = pycurl.Curl()
    for bad in (-1, 70000):
        with pytest.raises(pycurl.error) as e:
            c.setopt(pycurl.PROXYPORT, bad)
        assert e.value.args == (pycurl.E_BAD_FUNCTION_ARGUMENT, "setopt 0x3b got bad argument")
    with pytest.raises(TypeError):
        c.setopt(pycurl.PROXYPORT, None)
    with pytest.raises(TypeError):
        c.setopt(pycurl.NOPROXY, None)
    c.setopt(pycurl.PROXY, None)
    c.setopt(pycurl.PROXYUSERPWD, None)
    c.setopt(pycurl.PROXYHEADER, None)
    c.setopt(pycurl.HEADEROPT, pycurl.HEADER_SEPARATE)
    c.close()


def test_multi_socket_reports_the_proxy_socket(tiny, server, clean_env):
    m = pycurl.CurlMulti()
    socks = {}
    peers = set()

    def on_socket(what, fd, multi, data):
        if what == pycurl.POLL_REMOVE:
            socks.pop(fd, None)
        else:
            socks[fd] = what
            port = tcp_peer_port(fd)
            if port is not None:
                peers.add(port)

    timeout = [0]
    m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: timeout.__setitem__(0, ms))
    c = pycurl.Curl()
    buf = io.BytesIO()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.PROXY, tiny.url)
    c.setopt(pycurl.HTTPPROXYTUNNEL, 1)
    c.setopt(pycurl.WRITEDATA, buf)
    m.add_handle(c)
    import select
    running = 1
    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    for _ in range(2000):
        if not m.info_read()[1] == [] or buf.getvalue() == b"hello world":
            break
        r = [fd for fd, w in socks.items() if w & pycurl.POLL_IN]
        w = [fd for fd, w in socks.items() if w & pycurl.POLL_OUT]
        rr, ww, _ = select.select(r, w, [], 0.05)
        if not rr and not ww:
            running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]
        for fd in rr:
            running = m.socket_action(fd, pycurl.CSELECT_IN)[1]
        for fd in ww:
            running = m.socket_action(fd, pycurl.CSELECT_OUT)[1]
    assert buf.getvalue() == b"hello world"
    assert peers == {tiny.port}, "every socket reported is the one to the proxy"
    m.remove_handle(c)
    c.close()
    m.close()
    del running


def test_suppress_connect_headers(tiny, tls_server, certs, clean_env):
    # CURLOPT_SUPPRESS_CONNECT_HEADERS (265; pycurl 7.49 has no constant for it, setopt takes the
    # number): the CONNECT answer stays out of HEADERFUNCTION, HTTP_CONNECTCODE still has it.
    def statuses(**opts):
        c = pycurl.Curl()
        _, headers = perform(c, tls_server.url("/hello"), PROXY=tiny.url, CAINFO=certs.ca_pem, **opts)
        code = c.getinfo(pycurl.HTTP_CONNECTCODE)
        c.close()
        return [h.split()[0] for h in headers if h.startswith(b"HTTP/")], code

    assert statuses() == ([b"HTTP/1.0", b"HTTP/1.1"], 200), "tinyproxy's 1.0 answer, then the origin's"
    c = pycurl.Curl()
    c.setopt(265, 1)
    _, headers = perform(c, tls_server.url("/hello"), PROXY=tiny.url, CAINFO=certs.ca_pem)
    assert [h.split()[0] for h in headers if h.startswith(b"HTTP/")] == [b"HTTP/1.1"]
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
    c.close()
