"""Proxy authentication (issue 10): PROXYAUTH Digest, ANY and ANYSAFE answer the 407's challenge
the way libcurl picks (Digest before Basic), for absolute-form requests and for CONNECT tunnels,
against a real squid (Basic and Digest helpers) and tinyproxy (Basic, closes after its 407).
PROXYAUTH_AVAIL reports what the 407 offered. Each test checks squid's access log as well: one
line per request, "METHOD URL STATUS USER"."""

import time

import pytest

import pycurl

import proxies
from proxies import no_env_proxy, tiny_auth  # noqa: F401 (fixtures)
from helpers import perform, tcp_peer_port

ANY, ANYSAFE = pycurl.HTTPAUTH_ANY, pycurl.HTTPAUTH_ANYSAFE
BOTH = pycurl.HTTPAUTH_BASIC | pycurl.HTTPAUTH_DIGEST


@pytest.fixture(scope="module")
def squid():
    p = proxies.squid()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def squid_basic():
    p = proxies.squid(schemes=("basic",))
    yield p
    p.stop()


def run(c, url, proxy, **opts):
    """One transfer; returns (error args or None, the Proxy-Authorization schemes sent, statuses)."""
    sent = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: sent.append(data) if kind == 2 else None)
    try:
        _, headers = perform(c, url, PROXY=proxy, PROXYUSERPWD=opts.pop("userpwd", "alice:s3cret"), **opts)
        err = None
    except pycurl.error as e:
        err, headers = e.args, []
    schemes = []
    for head in sent:
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("proxy-authorization:"):
                schemes.append(line.split()[1])
    return err, schemes, [h.split()[1] for h in headers if h.startswith(b"HTTP/")]


def log_lines(p, needle, count):
    """The access-log lines containing `needle`, once there are `count` of them (or after 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [ln for ln in p.log().splitlines() if needle in ln]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


@pytest.mark.parametrize("auth", [pycurl.HTTPAUTH_DIGEST, pycurl.HTTPAUTH_DIGEST_IE, BOTH, ANY, ANYSAFE])
def test_digest_for_absolute_form_requests(squid, server, auth):
    c = pycurl.Curl()
    path = f"/hello?digest=abs{auth}"
    err, schemes, statuses = run(c, server.url(path), f"http://127.0.0.1:{squid.port}", PROXYAUTH=auth)
    assert err is None
    assert schemes == ["Digest"], "probe without credentials, then Digest (libcurl's pick over Basic)"
    assert statuses == [b"407", b"200"]
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.PROXYAUTH_AVAIL) == pycurl.HTTPAUTH_DIGEST | pycurl.HTTPAUTH_BASIC
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1, "squid keeps the connection after its 407"
    url = server.url(path)
    assert log_lines(squid, url, 2) == [f"GET {url} 407 -", f"GET {url} 200 alice"]
    c.close()


@pytest.mark.parametrize("auth", [pycurl.HTTPAUTH_DIGEST, ANY, ANYSAFE])
def test_digest_for_a_connect_tunnel(squid, tls_server, certs, auth):
    c = pycurl.Curl()
    err, schemes, statuses = run(c, tls_server.url("/hello"), f"http://127.0.0.1:{squid.port}",
                                 PROXYAUTH=auth, CAINFO=certs.ca_pem)
    assert err is None
    assert schemes == ["Digest"]
    assert statuses == [b"407", b"200", b"200"], "both CONNECT answers, then the origin's"
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
    assert c.getinfo(pycurl.PROXYAUTH_AVAIL) == pycurl.HTTPAUTH_DIGEST | pycurl.HTTPAUTH_BASIC
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    # The authenticated tunnel is reused by the next transfer on the handle: no new CONNECT.
    err, schemes, _ = run(c, tls_server.url("/hello"), f"http://127.0.0.1:{squid.port}")
    assert err is None and schemes == []
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    # squid logs a tunnel when it closes.
    ok = f"CONNECT 127.0.0.1:{tls_server.port} 200 alice"
    before = len(log_lines(squid, ok, 0))
    c.close()
    assert len(log_lines(squid, ok, before + 1)) == before + 1


def test_plain_http_tunnel_digest(squid, server):
    c = pycurl.Curl()
    err, schemes, _ = run(c, server.url("/hello?digest=tunnel"), f"http://127.0.0.1:{squid.port}",
                          PROXYAUTH=pycurl.HTTPAUTH_DIGEST, HTTPPROXYTUNNEL=1)
    assert err is None and schemes == ["Digest"]
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200 and c.getinfo(pycurl.RESPONSE_CODE) == 200
    c.close()  # squid logs a tunnel when it closes
    target = f"127.0.0.1:{server.port}"
    lines = log_lines(squid, f"CONNECT {target} ", 2)
    assert f"CONNECT {target} 407 -" in lines and f"CONNECT {target} 200 alice" in lines
    c.close()


def test_wrong_digest_password_is_answered_once(squid, server, tls_server, certs):
    c = pycurl.Curl()
    path = "/hello?digest=wrong"
    err, schemes, statuses = run(c, server.url(path), f"http://127.0.0.1:{squid.port}",
                                 PROXYAUTH=pycurl.HTTPAUTH_DIGEST, userpwd="alice:nope")
    assert err is None and schemes == ["Digest"] and statuses == [b"407", b"407"]
    assert c.getinfo(pycurl.RESPONSE_CODE) == 407
    url = server.url(path)
    assert log_lines(squid, url, 2) == [f"GET {url} 407 -", f"GET {url} 407 alice"]
    c.close()
    # A fresh handle (libcurl's would otherwise send the Digest it kept from the transfer above).
    c = pycurl.Curl()
    err, schemes, _ = run(c, tls_server.url("/hello"), f"http://127.0.0.1:{squid.port}",
                          PROXYAUTH=pycurl.HTTPAUTH_DIGEST, userpwd="alice:nope", CAINFO=certs.ca_pem)
    assert err == (pycurl.E_COULDNT_CONNECT, "CONNECT tunnel failed, response 407")
    assert schemes == ["Digest"]
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 407
    c.close()


def test_any_falls_back_to_basic_and_anysafe_refuses_it(squid_basic, server):
    proxy = f"http://127.0.0.1:{squid_basic.port}"
    c = pycurl.Curl()
    err, schemes, statuses = run(c, server.url("/hello?basic=any"), proxy, PROXYAUTH=ANY)
    assert err is None and schemes == ["Basic"] and statuses == [b"407", b"200"]
    assert c.getinfo(pycurl.PROXYAUTH_AVAIL) == pycurl.HTTPAUTH_BASIC
    err, schemes, statuses = run(c, server.url("/hello?basic=anysafe"), proxy, PROXYAUTH=ANYSAFE)
    assert err is None and schemes == [] and statuses == [b"407"]
    assert c.getinfo(pycurl.RESPONSE_CODE) == 407
    err, schemes, _ = run(c, server.url("/hello?basic=tunnel"), proxy, PROXYAUTH=ANYSAFE, HTTPPROXYTUNNEL=1)
    assert err == (pycurl.E_COULDNT_CONNECT, "CONNECT tunnel failed, response 407") and schemes == []
    # Digest alone against a proxy that offers only Basic: nothing to answer either.
    err, schemes, statuses = run(c, server.url("/hello?basic=digest"), proxy, PROXYAUTH=pycurl.HTTPAUTH_DIGEST,
                                 HTTPPROXYTUNNEL=0)
    assert err is None and schemes == [] and statuses == [b"407"]
    seen = [(ln.split()[0], *ln.split()[2:]) for ln in log_lines(squid_basic, f"127.0.0.1:{server.port}", 5)]
    assert seen == [("GET", "407", "-"), ("GET", "200", "alice"), ("GET", "407", "-"), ("CONNECT", "407", "-"),
                    ("GET", "407", "-")]
    c.close()


def test_basic_default_is_sent_up_front(squid, server):
    c = pycurl.Curl()
    path = "/hello?basic=upfront"
    err, schemes, statuses = run(c, server.url(path), f"http://127.0.0.1:{squid.port}")
    assert err is None and schemes == ["Basic"] and statuses == [b"200"]
    assert c.getinfo(pycurl.PROXYAUTH_AVAIL) == 0
    assert log_lines(squid, server.url(path), 1) == [f"GET {server.url(path)} 200 alice"]
    c.close()


def test_tunnel_answer_on_a_new_connection_when_the_proxy_closes(tiny_auth, tls_server, certs):
    # tinyproxy closes the connection after its 407 ("Connection: close"): the CONNECT with the
    # answer goes on a second connection, counted in NUM_CONNECTS as libcurl counts it.
    c = pycurl.Curl()
    target = f"CONNECT 127.0.0.1:{tls_server.port}"
    before = tiny_auth.log().count(target)
    err, schemes, statuses = run(c, tls_server.url("/hello"), tiny_auth.url, PROXYAUTH=ANY, CAINFO=certs.ca_pem)
    assert err is None and schemes == ["Basic"] and statuses == [b"407", b"200", b"200"]
    assert c.getinfo(pycurl.NUM_CONNECTS) == 2
    assert c.getinfo(pycurl.PROXYAUTH_AVAIL) == pycurl.HTTPAUTH_BASIC
    assert tiny_auth.wait_log("Established connection").count(target) - before == 2
    c.close()


def test_proxyauth_masks(curl):
    for mask in (pycurl.HTTPAUTH_DIGEST, ANY, ANYSAFE, pycurl.HTTPAUTH_DIGEST_IE, 0, -1):
        assert curl.setopt(pycurl.PROXYAUTH, mask) is None
    # Negotiate alone: not built here (real pycurl's libcurl has GSS-API; docs/differences.md). NTLM
    # is built (libcurl 8.23 leaves it out unless configured in, so real pycurl refuses it): test_ntlm.py.
    with pytest.raises(pycurl.error) as e:
        curl.setopt(pycurl.PROXYAUTH, pycurl.HTTPAUTH_NEGOTIATE)
    assert e.value.args[0] == pycurl.E_NOT_BUILT_IN


def test_absolute_form_answer_on_a_new_connection(tiny_auth, server):
    c = pycurl.Curl()
    url = server.url("/hello?tiny=any")
    err, schemes, statuses = run(c, url, tiny_auth.url, PROXYAUTH=ANY)
    assert err is None and schemes == ["Basic"] and statuses == [b"407", b"200"]
    assert c.getinfo(pycurl.NUM_CONNECTS) == 2, "tinyproxy closed after its 407"
    assert f"GET {url}" in tiny_auth.wait_log(f"GET {url}")
    c.close()


def test_digest_tunnel_under_socket_action(squid, tiny_auth, tls_server, certs):
    # The multi socket API reports the sockets to the proxy only, the second one too when the
    # proxy closed after its 407.
    import select

    for proxy, nconn in ((f"http://127.0.0.1:{squid.port}", 1), (tiny_auth.url, 2)):
        m = pycurl.CurlMulti()
        socks, peers = {}, set()

        def on_socket(what, fd, multi, data):
            if what == pycurl.POLL_REMOVE:
                socks.pop(fd, None)
                return
            socks[fd] = what
            port = tcp_peer_port(fd)
            if port is not None:
                peers.add(port)

        m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
        c = pycurl.Curl()
        chunks = []
        for opt, v in ((pycurl.URL, tls_server.url("/hello")), (pycurl.PROXY, proxy),
                       (pycurl.PROXYUSERPWD, "alice:s3cret"), (pycurl.PROXYAUTH, ANY),
                       (pycurl.CAINFO, certs.ca_pem), (pycurl.WRITEFUNCTION, chunks.append)):
            c.setopt(opt, v)
        m.add_handle(c)
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        done = []
        for _ in range(2000):
            done = m.info_read()[1]
            if done:
                break
            r = [fd for fd, w in socks.items() if w & pycurl.POLL_IN]
            w = [fd for fd, w in socks.items() if w & pycurl.POLL_OUT]
            rr, ww, _ = select.select(r, w, [], 0.05)
            if not rr and not ww:
                m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
            for fd in rr:
                m.socket_action(fd, pycurl.CSELECT_IN)
            for fd in ww:
                m.socket_action(fd, pycurl.CSELECT_OUT)
        assert done and b"".join(chunks) == b"hello world"
        assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
        assert c.getinfo(pycurl.NUM_CONNECTS) == nconn
        port = int(proxy.rsplit(":", 1)[1])
        assert peers == {port}, "every socket reported is one to the proxy"
        m.remove_handle(c)
        c.close()
        m.close()


def test_digest_through_an_https_proxy(squid, tls_server, certs):
    # stunnel terminates TLS in front of squid: Digest answers travel inside the proxy's TLS.
    tls = proxies.stunnel(squid.port, certs.server_cert, certs.server_key)
    try:
        c = pycurl.Curl()
        err, schemes, statuses = run(c, tls_server.url("/hello"), f"https://localhost:{tls.port}",
                                     PROXYAUTH=pycurl.HTTPAUTH_DIGEST, PROXY_CAINFO=certs.ca_pem,
                                     CAINFO=certs.ca_pem)
        assert err is None and schemes == ["Digest"] and statuses == [b"407", b"200", b"200"]
        assert c.getinfo(pycurl.PRIMARY_PORT) == tls.port
        assert c.getinfo(pycurl.PROXY_SSL_VERIFYRESULT) == 0
        c.close()
        ok = f"CONNECT 127.0.0.1:{tls_server.port} 200 alice"
        assert log_lines(squid, ok, 1)
    finally:
        tls.stop()


def test_pre_proxy_then_proxy_auth_on_a_new_connection(tiny_auth, tls_server, certs):
    # dante in front of tinyproxy, which closes after its 407: the second connection goes through
    # the SOCKS hop again.
    d = proxies.dante()
    try:
        c = pycurl.Curl()
        err, schemes, _ = run(c, tls_server.url("/hello"), tiny_auth.url, PROXYAUTH=ANY, CAINFO=certs.ca_pem,
                              PRE_PROXY=f"socks5://127.0.0.1:{d.port}")
        assert err is None and schemes == ["Basic"]
        assert c.getinfo(pycurl.NUM_CONNECTS) == 2 and c.getinfo(pycurl.PRIMARY_PORT) == d.port
        c.close()
        needle = f"127.0.0.1.{tiny_auth.port}"
        deadline = time.monotonic() + 5
        while d.log().count(f"-> {needle}") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len([ln for ln in d.log().splitlines() if "tcp/connect [" in ln and needle in ln]) == 2
    finally:
        d.stop()


def test_digest_nonce_kept_for_the_next_transfers(squid, server):
    # libcurl answers the next requests through the proxy with the challenge it kept (nonce count
    # going up), so squid sees one 407 for the handle, not one per transfer.
    c = pycurl.Curl()
    proxy = f"http://127.0.0.1:{squid.port}"
    urls = [server.url(f"/hello?kept={i}") for i in range(3)]
    results = [run(c, u, proxy, PROXYAUTH=pycurl.HTTPAUTH_DIGEST) for u in urls]
    assert results[0] == (None, ["Digest"], [b"407", b"200"])
    assert results[1:] == [(None, ["Digest"], [b"200"])] * 2
    assert log_lines(squid, "?kept=", 4) == [f"GET {urls[0]} 407 -"] + [f"GET {u} 200 alice" for u in urls]
    # Other credentials start over (and fail here); reset() forgets the challenge.
    assert run(c, server.url("/hello?kept=x"), proxy, PROXYAUTH=pycurl.HTTPAUTH_DIGEST,
               userpwd="alice:nope")[2] == [b"407", b"407"]
    c.reset()
    assert run(c, server.url("/hello?kept=y"), proxy, PROXYAUTH=pycurl.HTTPAUTH_DIGEST)[2] == [b"407", b"200"]
    c.close()


def test_digest_nonce_kept_for_the_next_tunnel(squid, server):
    target = f"CONNECT 127.0.0.1:{server.port} "
    before = len([ln for ln in squid.log().splitlines() if target in ln])
    c = pycurl.Curl()
    proxy = f"http://127.0.0.1:{squid.port}"
    first = run(c, server.url("/hello?kept=t1"), proxy, PROXYAUTH=pycurl.HTTPAUTH_DIGEST, HTTPPROXYTUNNEL=1,
                FORBID_REUSE=1)
    second = run(c, server.url("/hello?kept=t2"), proxy, PROXYAUTH=pycurl.HTTPAUTH_DIGEST, HTTPPROXYTUNNEL=1,
                 FORBID_REUSE=1)
    assert first == (None, ["Digest"], [b"407", b"200", b"200"])
    assert second == (None, ["Digest"], [b"200", b"200"])
    c.close()
    # squid logs a tunnel when it closes: one 407, then one tunnel per transfer.
    assert [ln.split()[-2] for ln in log_lines(squid, target, before + 3)[before:]] == ["407", "200", "200"]
