"""HTTP/2 multiplexing in a CurlMulti against a real nginx: one connection for many handles to one
origin (asserted from nginx's access log: $connection and $server_protocol), PIPEWAIT, stream
limits, M_PIPELINING. The same expectations hold for real pycurl."""

import io

import pytest

import pycurl

import h2servers


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, certs, server):
    ng = h2servers.Nginx(tmp_path_factory.mktemp("nginx"), certs, server)
    yield ng
    ng.stop()


def handle(certs, url, **opts):
    c = pycurl.Curl()
    c.body = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.CAINFO, certs.ca_pem)
    c.setopt(pycurl.WRITEDATA, c.body)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c


def run(m, handles):
    for c in handles:
        m.add_handle(c)
    results = {}
    while True:
        ret, running = m.perform()
        while True:
            queued, ok, failed = m.info_read()
            for c in ok:
                results[id(c)] = 0
            for c, code, msg in failed:
                results[id(c)] = (code, msg)
            if not queued:
                break
        if running == 0:
            break
        m.select(1.0)
    for c in handles:
        m.remove_handle(c)
    return [results.get(id(c)) for c in handles]


def test_many_handles_share_one_connection_with_pipewait(nginx, certs):
    n = len(nginx.log())
    m = pycurl.CurlMulti()
    hs = [handle(certs, nginx.url(f"/big/100000?n={i}"), PIPEWAIT=1) for i in range(12)]
    assert run(m, hs) == [0] * 12
    for c in hs:
        assert c.body.getvalue() == h2servers.body_of(100_000)
        assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
    assert sorted(c.getinfo(pycurl.NUM_CONNECTS) for c in hs) == [0] * 11 + [1]
    rows = nginx.log_since(n)
    assert len(rows) == 12
    assert {r["protocol"] for r in rows} == {"HTTP/2.0"}
    assert len({r["connection"] for r in rows}) == 1, rows
    # A second batch reuses the connection the multi keeps.
    n = len(nginx.log())
    hs2 = [handle(certs, nginx.url(f"/index.html?b={i}"), PIPEWAIT=1) for i in range(4)]
    assert run(m, hs2) == [0] * 4
    assert all(c.getinfo(pycurl.NUM_CONNECTS) == 0 for c in hs2)
    rows2 = nginx.log_since(n)
    assert {r["connection"] for r in rows2} == {rows[0]["connection"]}
    m.close()


def test_streams_run_concurrently_on_the_connection(nginx, certs):
    # Body pieces of different transfers interleave: some transfer starts receiving before another
    # one has received its last byte (one-at-a-time would never overlap).
    m = pycurl.CurlMulti()
    events = []
    hs = []
    for i in range(6):
        c = handle(certs, nginx.url(f"/big/1000000?c={i}"), PIPEWAIT=1)
        c.setopt(pycurl.WRITEFUNCTION, lambda data, i=i: events.append(i))
        hs.append(c)
    assert run(m, hs) == [0] * 6
    first = {i: events.index(i) for i in range(6)}
    last = {i: len(events) - 1 - events[::-1].index(i) for i in range(6)}
    overlaps = [(i, j) for i in range(6) for j in range(6) if i != j and first[i] < first[j] < last[i]]
    assert overlaps
    assert len({c.getinfo(pycurl.LOCAL_PORT) for c in hs}) == 1
    m.close()


def test_pipelining_off_uses_a_connection_per_transfer(nginx, certs):
    n = len(nginx.log())
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_PIPELINING, pycurl.PIPE_NOTHING)
    hs = [handle(certs, nginx.url(f"/index.html?p={i}")) for i in range(3)]
    assert run(m, hs) == [0] * 3
    rows = nginx.log_since(n)
    assert {r["protocol"] for r in rows} == {"HTTP/2.0"}
    assert len({r["connection"] for r in rows}) == 3, rows
    m.close()


def test_max_concurrent_streams_opens_more_connections(nginx, certs):
    n = len(nginx.log())
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_MAX_CONCURRENT_STREAMS, 2)
    hs = [handle(certs, nginx.url(f"/big/1000000?s={i}"), PIPEWAIT=1) for i in range(6)]
    assert run(m, hs) == [0] * 6
    for c in hs:
        assert c.body.getvalue() == h2servers.body_of(1_000_000)
    rows = nginx.log_since(n)
    conns = {}
    for r in rows:
        conns[r["connection"]] = conns.get(r["connection"], 0) + 1
    assert len(rows) == 6
    assert len(conns) >= 2, rows
    m.close()


def test_pause_one_stream_others_complete(nginx, certs):
    m = pycurl.CurlMulti()
    got = []
    state = {"paused": False}

    def paused_writer(data):
        if not state["paused"]:
            state["paused"] = True
            return pycurl.WRITEFUNC_PAUSE
        got.append(data)

    p = handle(certs, nginx.url("/big/1000000?paused"), PIPEWAIT=1)
    p.setopt(pycurl.WRITEFUNCTION, paused_writer)
    others = [handle(certs, nginx.url(f"/big/1000000?o={i}"), PIPEWAIT=1) for i in range(3)]
    for c in [p] + others:
        m.add_handle(c)
    done = set()
    for _ in range(2000):
        _, running = m.perform()
        while True:
            queued, ok, failed = m.info_read()
            assert not failed
            done.update(id(c) for c in ok)
            if not queued:
                break
        if all(id(c) in done for c in others):
            break
        m.select(0.1)
    assert all(c.body.getvalue() == h2servers.body_of(1_000_000) for c in others)
    assert id(p) not in done and got == []
    p.pause(pycurl.PAUSE_CONT)
    for _ in range(2000):
        _, running = m.perform()
        if running == 0:
            break
        m.select(0.1)
    queued, ok, failed = m.info_read()
    assert ok == [p] and not failed
    # The chunk refused by the pause comes again, then the rest: every byte, in order.
    assert b"".join(got) == h2servers.body_of(1_000_000)
    for c in [p] + others:
        m.remove_handle(c)
    m.close()
