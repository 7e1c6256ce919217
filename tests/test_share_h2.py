"""CurlShare with LOCK_DATA_CONNECT over HTTP/2: handles of different easy performs, multis and
threads take the share's idle h2 connection (nginx over TLS, and hypercorn), as libcurl does.

nginx's access log names the connection of each request, so the server side confirms what
NUM_CONNECTS says. Every expectation here also holds for real pycurl 7.49 / libcurl 8.23."""

import io
import threading

import pytest

import pycurl

import h2servers


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, certs, server):
    ng = h2servers.Nginx(tmp_path_factory.mktemp("nginx-share"), certs, server)
    yield ng
    ng.stop()


@pytest.fixture(scope="module")
def hyper(tmp_path_factory, certs):
    h = h2servers.Hypercorn(tmp_path_factory.mktemp("hyper-share"), certs)
    yield h
    h.stop()


def handle(certs, share, verbose=None):
    c = pycurl.Curl()
    c.setopt(pycurl.CAINFO, certs.ca_pem)
    c.setopt(pycurl.SHARE, share)
    if verbose is not None:
        c.setopt(pycurl.VERBOSE, True)
        c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: verbose.append(data) if kind == 0 else None)
    return c


def get(c, url):
    out = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, out)
    c.perform()
    return (out.getvalue(), c.getinfo(pycurl.NUM_CONNECTS), c.getinfo(pycurl.LOCAL_PORT),
            c.getinfo(pycurl.INFO_HTTP_VERSION))


def run_multi(m):
    while m.perform()[1]:
        m.select(1.0)


def shared():
    s = pycurl.CurlShare()
    s.share(pycurl.LOCK_DATA_CONNECT)
    return s


def test_easy_performs_share_one_h2_connection(nginx, certs):
    s = shared()
    trace = []
    a, b = handle(certs, s), handle(certs, s, trace)
    n = len(nginx.log())
    body, connects, port_a, version = get(a, nginx.url())
    assert (body, connects, version) == (b"hello over h2\n", 1, pycurl.CURL_HTTP_VERSION_2_0)
    body, connects, port_b, version = get(b, nginx.url())
    assert (body, connects, version) == (b"hello over h2\n", 0, pycurl.CURL_HTTP_VERSION_2_0)
    assert port_a == port_b
    assert b"Reusing existing https: connection with host localhost\n" in trace
    # and back to the opener, after the other handle used it
    assert get(a, nginx.url())[1:3] == (0, port_a)
    rows = nginx.log_since(n)
    assert [r["protocol"] for r in rows] == ["HTTP/2.0"] * 3
    assert len({r["connection"] for r in rows}) == 1
    for c in (a, b):
        c.close()
    s.close()


def test_without_the_share_each_handle_connects(nginx, certs):
    s = pycurl.CurlShare()
    a, b = handle(certs, s), handle(certs, s)
    n = len(nginx.log())
    assert get(a, nginx.url())[1] == 1
    assert get(b, nginx.url())[1] == 1
    assert len({r["connection"] for r in nginx.log_since(n)}) == 2
    for c in (a, b):
        c.close()
    s.close()


def test_two_multis_take_turns_on_one_h2_connection(nginx, certs):
    s = shared()
    n = len(nginx.log())
    seen = []
    multis = [pycurl.CurlMulti(), pycurl.CurlMulti()]
    for round_ in range(2):
        for m in multis:
            handles = [handle(certs, s) for _ in range(3)]
            for c in handles:
                c.setopt(pycurl.URL, nginx.url())
                c.setopt(pycurl.WRITEDATA, io.BytesIO())
                c.setopt(pycurl.PIPEWAIT, 1)
                m.add_handle(c)
            run_multi(m)
            for c in handles:
                assert c.getinfo(pycurl.RESPONSE_CODE) == 200
                seen.append(c.getinfo(pycurl.NUM_CONNECTS))
                m.remove_handle(c)
                c.close()
    # the first multi opens the one connection (its PIPEWAIT transfers wait for it); the rest reuse it
    assert sum(seen) == 1
    rows = nginx.log_since(n)
    assert len(rows) == 12
    assert len({r["connection"] for r in rows}) == 1
    for m in multis:
        m.close()
    s.close()


def test_a_connection_busy_in_one_multi_is_not_used_by_another(nginx, certs):
    """Two multis with downloads running at the same time: each has its own connection (libcurl
    does not add a stream to a connection that another multi is using either)."""
    s = shared()
    n = len(nginx.log())
    m1, m2 = pycurl.CurlMulti(), pycurl.CurlMulti()
    a, b = handle(certs, s), handle(certs, s)
    for c, m in ((a, m1), (b, m2)):
        c.setopt(pycurl.URL, nginx.url("/big/4000000"))
        c.setopt(pycurl.WRITEDATA, io.BytesIO())
        m.add_handle(c)
    running = m1.perform()[1] + m2.perform()[1]
    while running:
        m1.select(0.01)
        running = m1.perform()[1] + m2.perform()[1]
    assert (a.getinfo(pycurl.SIZE_DOWNLOAD_T), b.getinfo(pycurl.SIZE_DOWNLOAD_T)) == (4_000_000, 4_000_000)
    assert (a.getinfo(pycurl.NUM_CONNECTS), b.getinfo(pycurl.NUM_CONNECTS)) == (1, 1)
    assert len({r["connection"] for r in nginx.log_since(n)}) == 2
    # idle again, the next transfer of either multi takes one of them
    m1.remove_handle(a)
    m2.remove_handle(b)
    assert get(a, nginx.url())[1] == 0
    for c in (a, b):
        c.close()
    for m in (m1, m2):
        m.close()
    s.close()


def test_threads_share_h2_connections(nginx, certs):
    s = shared()
    n = len(nginx.log())
    errors, connects = [], []

    def work():
        try:
            c = handle(certs, s)
            for _ in range(15):
                body, k, _, _ = get(c, nginx.url())
                assert body == b"hello over h2\n"
                connects.append(k)
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    # one after the other: the second thread takes the first one's connection
    t = threading.Thread(target=work)
    t.start()
    t.join(30)
    t = threading.Thread(target=work)
    t.start()
    t.join(30)
    assert errors == []
    assert connects == [1] + [0] * 29
    # at the same time: every transfer works, each connection was opened by some handle
    connects.clear()
    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(connects) == 45
    rows = nginx.log_since(n)
    assert len(rows) == 75
    opened = len({r["connection"] for r in rows})
    assert 1 <= opened <= 4
    assert sum(connects) == opened - 1
    s.close()


def test_hypercorn_sees_one_connection(hyper, certs):
    s = shared()
    a, b = handle(certs, s), handle(certs, s)
    m = pycurl.CurlMulti()
    assert get(a, hyper.url("/"))[1] == 1
    b.setopt(pycurl.URL, hyper.url("/"))
    b.setopt(pycurl.WRITEDATA, io.BytesIO())
    m.add_handle(b)
    run_multi(m)
    assert (b.getinfo(pycurl.NUM_CONNECTS), b.getinfo(pycurl.INFO_HTTP_VERSION)) == (0, pycurl.CURL_HTTP_VERSION_2_0)
    assert b.getinfo(pycurl.LOCAL_PORT) == a.getinfo(pycurl.LOCAL_PORT)
    m.remove_handle(b)
    assert get(b, hyper.url("/"))[1] == 0
    for c in (a, b):
        c.close()
    m.close()
    s.close()
