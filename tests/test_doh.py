"""DOH_URL: names resolved over DNS-over-HTTPS by the transfer engine itself (A and AAAA queries
POSTed as application/dns-message), against a real DoH server on loopback (tests/dohserver.py)."""

import io
import time

import pytest

import pycurl

from dohserver import DohServer


@pytest.fixture(scope="module")
def doh(certs):
    srv = DohServer(certs, {"doh.test": ["127.0.0.1"], "six.test": ["::1"], "slow.test": ["127.0.0.1"]})
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def fresh(doh):
    doh.queries.clear()
    doh.status = 200
    doh.delay.clear()


def easy(url, doh, certs, **opts):
    c = pycurl.Curl()
    buf = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, buf)
    c.setopt(pycurl.DOH_URL, doh.url)
    c.setopt(pycurl.CAINFO, certs.ca_pem)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c, buf


def test_doh_answer_is_used(server, doh, certs):
    c, buf = easy(server.url("/hello", host="doh.test"), doh, certs)
    c.perform()
    assert buf.getvalue() == b"hello world"
    assert c.getinfo(pycurl.PRIMARY_IP) == "127.0.0.1"
    assert sorted(doh.queries) == [("doh.test", "A", "application/dns-message"),
                                   ("doh.test", "AAAA", "application/dns-message")]
    assert server.last_request().header("host") == f"doh.test:{server.port}"
    # Cached like a normal lookup: the second transfer asks nothing.
    c.setopt(pycurl.FRESH_CONNECT, 1)
    c.perform()
    assert len(doh.queries) == 2
    c.close()


def test_ipresolve_v4_asks_only_a(server, doh, certs):
    c, _ = easy(server.url("/hello", host="doh.test"), doh, certs, IPRESOLVE=pycurl.IPRESOLVE_V4)
    c.perform()
    assert doh.queries == [("doh.test", "A", "application/dns-message")]
    c.close()


def test_nxdomain_is_couldnt_resolve(server, doh, certs):
    c, _ = easy(server.url("/hello", host="nx.test"), doh, certs)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (pycurl.E_COULDNT_RESOLVE_HOST, "Could not resolve host: nx.test")
    assert sorted(q[1] for q in doh.queries) == ["A", "AAAA"]
    c.close()


def test_http_error_from_doh_server(server, doh, certs):
    doh.status = 404
    c, _ = easy(server.url("/hello", host="doh.test"), doh, certs)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args[0] == pycurl.E_COULDNT_RESOLVE_HOST
    c.close()


def test_doh_server_unreachable(server, doh, certs, refused_port):
    c, _ = easy(server.url("/hello", host="doh.test"), doh, certs)
    c.setopt(pycurl.DOH_URL, f"https://127.0.0.1:{refused_port}/dns-query")
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (pycurl.E_COULDNT_RESOLVE_HOST, "Could not resolve host: doh.test")
    c.close()


def test_doh_verifies_its_server_even_when_the_transfer_does_not(server, doh, certs):
    # The DoH requests take CAINFO from the handle but not SSL_VERIFYPEER=0.
    c, _ = easy(server.url("/hello", host="doh.test"), doh, certs,
                CAINFO=certs.other_ca_pem, SSL_VERIFYPEER=0)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args[0] == pycurl.E_COULDNT_RESOLVE_HOST
    assert doh.queries == []
    c.close()


def test_localhost_resolve_and_literals_skip_doh(server, doh, certs):
    for host, extra in (("localhost", {}), ("127.0.0.1", {}),
                        ("doh.test", {"RESOLVE": [f"doh.test:{server.port}:127.0.0.1"]})):
        c, buf = easy(server.url("/hello", host=host), doh, certs, **extra)
        c.perform()
        assert buf.getvalue() == b"hello world"
        c.close()
    assert doh.queries == []


def test_aaaa_answer_is_tried(server, doh, certs):
    # six.test has only ::1, where nothing listens: the transfer goes there and fails to connect.
    c, _ = easy(server.url("/hello", host="six.test"), doh, certs)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args[0] == pycurl.E_COULDNT_CONNECT
    assert f"six.test:{server.port}" in ei.value.args[1]
    c.close()


def test_empty_doh_url_means_system_resolver(server, doh, certs):
    c, buf = easy(server.url("/hello", host="localhost"), doh, certs)
    c.setopt(pycurl.DOH_URL, "")
    c.perform()
    assert buf.getvalue() == b"hello world"
    c.close()


def test_doh_url_option_types(curl):
    curl.setopt(pycurl.DOH_URL, b"https://127.0.0.1/dns-query")
    with pytest.raises(TypeError, match="integers are not supported for this option"):
        curl.setopt(pycurl.DOH_URL, 1)
    with pytest.raises(TypeError, match="unsetopt"):
        curl.setopt(pycurl.DOH_URL, None)
    with pytest.raises(TypeError, match="unsetopt"):
        curl.unsetopt(pycurl.DOH_URL)


def test_doh_under_multi_does_not_block_other_transfers(server, doh, certs):
    # slow.test's answer takes a second; a transfer beside it in the same multi finishes meanwhile.
    doh.delay["slow.test"] = 1.0
    m = pycurl.CurlMulti()
    slow, slow_buf = easy(server.url("/hello", host="slow.test"), doh, certs)
    quick, quick_buf = easy(server.url("/bytes?n=10"), doh, certs)
    m.add_handle(slow)
    m.add_handle(quick)
    t0 = time.monotonic()
    done = {}
    while len(done) < 2:
        m.perform()
        _, ok, failed = m.info_read()
        for h in ok:
            done[id(h)] = time.monotonic() - t0
        assert failed == []
        if len(done) < 2:
            m.select(0.5)
    assert done[id(quick)] < 0.8 <= done[id(slow)]
    assert slow_buf.getvalue() == b"hello world"
    assert len(quick_buf.getvalue()) == 10
    assert sorted(q[:2] for q in doh.queries) == [("slow.test", "A"), ("slow.test", "AAAA")]
    for h in (slow, quick):
        m.remove_handle(h)
        h.close()
    m.close()


def test_doh_under_a_connection_limit_of_one(server, doh, certs):
    # The DoH requests need connections of their own while their transfer waits: no deadlock.
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, 1)
    c, buf = easy(server.url("/hello", host="doh.test"), doh, certs, TIMEOUT=10)
    m.add_handle(c)
    t0 = time.monotonic()
    n = 1
    while n:
        _, n = m.perform()
        if n:
            m.select(0.5)
    _, ok, failed = m.info_read()
    assert (len(ok), failed) == (1, [])
    assert time.monotonic() - t0 < 5
    assert buf.getvalue() == b"hello world"
    m.remove_handle(c)
    c.close()
    m.close()


def test_verbose_shows_the_answer_not_the_doh_requests(server, doh, certs):
    # libcurl 8 traces what the name resolved to, as for any lookup, and nothing of the DoH
    # sub-transfers themselves.
    events = []
    c, _ = easy(server.url("/hello", host="doh.test"), doh, certs, VERBOSE=1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: events.append((kind, data)))
    c.perform()
    text = [d for k, d in events if k == pycurl.INFOTYPE_TEXT]
    assert text[:4] == [f"Host doh.test:{server.port} was resolved.\n".encode(), b"IPv6: (none)\n",
                        b"IPv4: 127.0.0.1\n", f"  Trying 127.0.0.1:{server.port}...\n".encode()]
    sent = [d for k, d in events if k == pycurl.INFOTYPE_HEADER_OUT]
    assert len(sent) == 1 and sent[0].startswith(b"GET /hello HTTP/1.1\r\n")
    assert not any(b"dns" in d for k, d in events if k != pycurl.INFOTYPE_TEXT)
    c.close()
