"""CurlShare (pycurl 7.49): its API and errors, and what handles sharing one see over real
loopback servers: cookies, DNS entries, from handles in different multis and threads.
Every expectation here was observed with real pycurl 7.49 / libcurl 8.23."""
import io
import threading

import pytest

import pycurl


def fetch(c, url):
    out = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, out)
    c.perform()
    return out.getvalue()


def outcome(f):
    try:
        return ("ok", f())
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return (type(e).__name__, e.args)


def test_setopt_and_share_arguments():
    s = pycurl.CurlShare()
    for kind in (pycurl.LOCK_DATA_COOKIE, pycurl.LOCK_DATA_DNS, pycurl.LOCK_DATA_SSL_SESSION,
                 pycurl.LOCK_DATA_CONNECT, pycurl.LOCK_DATA_PSL):
        assert s.setopt(pycurl.SH_SHARE, kind) is None
        if kind == pycurl.LOCK_DATA_PSL:  # libcurl's quirk
            assert outcome(lambda: s.setopt(pycurl.SH_UNSHARE, kind)) == ("error", (1, "Unknown share option"))
        else:
            assert s.setopt(pycurl.SH_UNSHARE, kind) is None
    invalid = ("TypeError", ("invalid arguments to setopt",))
    for value in (99, 0, 1, True, 2.0, [2], "x", None):
        assert outcome(lambda: s.setopt(pycurl.SH_SHARE, value)) == invalid
    assert outcome(lambda: s.setopt(3, 2)) == ("TypeError", ("integers are not supported for this option",))
    assert outcome(lambda: s.setopt(99, 1)) == ("TypeError", ("integers are not supported for this option",))
    assert outcome(lambda: s.setopt(99, "x")) == invalid
    assert outcome(lambda: s.setopt(0, 2)) == invalid
    assert outcome(lambda: s.setopt(pycurl.SH_SHARE)) == ("TypeError", ("setopt() takes exactly 2 arguments (1 given)",))
    assert outcome(lambda: s.setopt(2 ** 31, 1))[0] == "OverflowError"
    assert s.share(pycurl.LOCK_DATA_COOKIE, pycurl.LOCK_DATA_DNS) is None
    assert s.unshare(pycurl.LOCK_DATA_COOKIE) is None
    assert outcome(lambda: s.share()) == ("TypeError", ("at least one LOCK_DATA_* argument required",))
    assert outcome(lambda: s.share(2, "x")) == ("TypeError", ("arguments must be LOCK_DATA_* integers",))
    assert outcome(lambda: s.share(2, 99, 3)) == invalid
    assert outcome(lambda: s.share(a=1)) == ("TypeError", ("share() takes no keyword arguments",))
    assert outcome(lambda: pycurl.CurlShare(1)) == ("TypeError", ("function takes no positional arguments",))
    assert outcome(lambda: pycurl.CurlShare(foo=1)) == (
        "TypeError", ("'foo' is an invalid keyword argument for this function",))
    assert s.SH_SHARE == 1 and s.LOCK_DATA_COOKIE == 2
    assert outcome(lambda: s.nope) == ("AttributeError", ("trying to obtain a non-existing attribute: nope",))
    s.mine = 5
    assert s.mine == 5


def test_curl_share_option_and_share_in_use():
    s = pycurl.CurlShare()
    c = pycurl.Curl()
    assert outcome(lambda: c.setopt(pycurl.SHARE, 1)) == ("TypeError", ("integers are not supported for this option",))
    assert outcome(lambda: c.setopt(pycurl.SHARE, "x")) == ("TypeError", ("strings are not supported for this option",))
    assert outcome(lambda: c.setopt(pycurl.SHARE, [1])) == ("TypeError", ("lists are not supported for this option",))
    assert outcome(lambda: c.setopt(pycurl.SHARE, 1.0)) == ("TypeError", ("invalid arguments to setopt",))
    c.setopt(pycurl.SHARE, s)
    assert outcome(lambda: s.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_DNS)) == ("error", (2, "Share currently in use"))
    assert outcome(lambda: s.share(pycurl.LOCK_DATA_DNS)) == ("error", (2, "Share currently in use"))
    assert outcome(lambda: c.setopt(pycurl.SHARE, s)) == ("error", ("Curl object already sharing. Unshare first.",))
    assert outcome(lambda: c.setopt(pycurl.SHARE, c)) == ("error", ("Curl object already sharing. Unshare first.",))
    c.unsetopt(pycurl.SHARE)
    c.setopt(pycurl.SHARE, None)
    s.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_DNS)
    c.setopt(pycurl.SHARE, s)
    c.close()
    s.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_COOKIE)  # a closed Curl no longer uses it


def test_close_detaches_or_refuses():
    s = pycurl.CurlShare()
    c = pycurl.Curl()
    c.setopt(pycurl.SHARE, s)
    s.close()
    assert s.closed
    s.close()
    assert outcome(lambda: s.setopt(pycurl.SH_SHARE, 2)) == ("error", ("cannot invoke setopt() - no share handle",))
    assert outcome(lambda: s.share(2)) == ("error", ("cannot invoke share() - no share handle",))
    assert outcome(lambda: c.setopt(pycurl.SHARE, s)) == ("error", ("CurlShare is closed",))
    c.setopt(pycurl.SHARE, pycurl.CurlShare())  # detached by close(): free to share again

    k = pycurl.CurlShare(detach_on_close=False)
    d = pycurl.Curl()
    d.setopt(pycurl.SHARE, k)
    assert outcome(k.close) == ("error", ("cannot close CurlShare: still in use by 1 active Curl object",))
    assert not k.closed
    d.setopt(pycurl.SHARE, None)
    k.close()
    with pycurl.CurlShare() as w:
        d.setopt(pycurl.SHARE, w)
    assert w.closed


def test_close_refused_during_perform(server):
    s = pycurl.CurlShare()
    c = pycurl.Curl()
    c.setopt(pycurl.SHARE, s)
    seen = []
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: seen.append(outcome(s.close)) or None)
    c.perform()
    assert seen[0] == ("error", ("cannot close CurlShare: still in use by 1 active Curl object",))
    assert not s.closed


@pytest.mark.parametrize("shared", [True, False])
def test_cookies_are_shared(server, shared):
    """Without the share each handle has its own jar; with it, one jar serves both."""
    s = pycurl.CurlShare()
    if shared:
        s.share(pycurl.LOCK_DATA_COOKIE)
    a, b = pycurl.Curl(), pycurl.Curl()
    for c in (a, b):
        c.setopt(pycurl.COOKIEFILE, "")  # the cookie engine is each handle's own switch
        c.setopt(pycurl.SHARE, s)
    fetch(a, server.url("/set-cookie?k=v1"))
    assert fetch(b, server.url("/cookie")) == (b"k=v1" if shared else b"")
    assert len(b.getinfo(pycurl.INFO_COOKIELIST)) == (1 if shared else 0)
    b.setopt(pycurl.COOKIELIST, "ALL")
    assert len(a.getinfo(pycurl.INFO_COOKIELIST)) == (0 if shared else 1)


@pytest.mark.parametrize("shared", [True, False])
def test_dns_entries_are_shared(server, shared):
    s = pycurl.CurlShare()
    if shared:
        s.share(pycurl.LOCK_DATA_DNS)
    a, b = pycurl.Curl(), pycurl.Curl()
    a.setopt(pycurl.SHARE, s)
    b.setopt(pycurl.SHARE, s)
    a.setopt(pycurl.RESOLVE, [f"share.example.test:{server.port}:127.0.0.1"])
    url = f"http://share.example.test:{server.port}/hello"
    assert fetch(a, url) == b"hello world"
    if shared:
        assert fetch(b, url) == b"hello world"
    else:
        assert outcome(lambda: fetch(b, url)) == ("error", (6, "Could not resolve host: share.example.test"))


def test_handles_in_different_multis_share_cookies(server):
    s = pycurl.CurlShare()
    s.share(pycurl.LOCK_DATA_COOKIE)
    m1, m2 = pycurl.CurlMulti(), pycurl.CurlMulti()
    a, b = pycurl.Curl(), pycurl.Curl()
    for c, m, path in ((a, m1, "/set-cookie?m=one"), (b, m2, "/cookie")):
        c.setopt(pycurl.COOKIEFILE, "")
        c.setopt(pycurl.SHARE, s)
        c.setopt(pycurl.URL, server.url(path))
        c.setopt(pycurl.WRITEDATA, io.BytesIO())
    out = io.BytesIO()
    b.setopt(pycurl.WRITEDATA, out)
    for c, m in ((a, m1), (b, m2)):
        m.add_handle(c)
        while m.perform()[1]:
            m.select(1.0)
        m.remove_handle(c)
    assert out.getvalue() == b"m=one"


def test_threads_share_cookies_dns_sessions_and_connections(server):
    s = pycurl.CurlShare()
    s.share(pycurl.LOCK_DATA_COOKIE, pycurl.LOCK_DATA_DNS, pycurl.LOCK_DATA_SSL_SESSION,
            pycurl.LOCK_DATA_CONNECT)
    errors = []

    def work(t):
        try:
            c = pycurl.Curl()
            c.setopt(pycurl.COOKIEFILE, "")
            c.setopt(pycurl.SHARE, s)
            for i in range(10):
                fetch(c, server.url(f"/set-cookie?t{t}_{i}=v"))
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    c = pycurl.Curl()
    c.setopt(pycurl.COOKIEFILE, "")
    c.setopt(pycurl.SHARE, s)
    names = sorted(line.split("\t")[5] for line in c.getinfo(pycurl.INFO_COOKIELIST))
    assert names == sorted(f"t{t}_{i}" for t in range(6) for i in range(10))


@pytest.mark.parametrize("shared", [True, False])
def test_connections_are_shared(server, shared):
    """With LOCK_DATA_CONNECT, handles take each other's idle connections: across perform() calls,
    a handle in a multi, a handle in another thread, and after the opener was closed."""
    s = pycurl.CurlShare()
    if shared:
        s.share(pycurl.LOCK_DATA_CONNECT)
    before = server.connections
    url = server.url("/hello")
    seen = []

    def one(c):
        assert fetch(c, url) == b"hello world"
        seen.append((c.getinfo(pycurl.NUM_CONNECTS), c.getinfo(pycurl.LOCAL_PORT)))

    a, b, d = pycurl.Curl(), pycurl.Curl(), pycurl.Curl()
    for c in (a, b, d):
        c.setopt(pycurl.SHARE, s)
    one(a)
    one(b)
    one(a)
    m = pycurl.CurlMulti()
    d.setopt(pycurl.URL, url)
    d.setopt(pycurl.WRITEDATA, io.BytesIO())
    m.add_handle(d)
    while m.perform()[1]:
        m.select(1.0)
    seen.append((d.getinfo(pycurl.NUM_CONNECTS), d.getinfo(pycurl.LOCAL_PORT)))
    m.remove_handle(d)

    def in_thread():
        e = pycurl.Curl()
        e.setopt(pycurl.SHARE, s)
        one(e)
        e.close()
    t = threading.Thread(target=in_thread)
    t.start()
    t.join(30)
    a.close()
    one(b)
    if shared:
        assert [n for n, _ in seen] == [1, 0, 0, 0, 0, 0]
        assert len({p for _, p in seen}) == 1
        assert server.connections - before == 1
        assert outcome(lambda: s.unshare(pycurl.LOCK_DATA_CONNECT)) == ("error", (2, "Share currently in use"))
    else:
        assert [n for n, _ in seen] == [1, 1, 0, 1, 1, 0]
        assert server.connections - before == 4
    for c in (b, d):
        c.close()
    m.close()
    s.close()


def test_unshared_connections_stay_with_the_share(server):
    """libcurl keeps the share's connection cache when CONNECT is unshared: handles then use their
    own, and find the share's connections again once it is shared again."""
    s = pycurl.CurlShare()
    s.share(pycurl.LOCK_DATA_CONNECT)
    a = pycurl.Curl()
    before = server.connections
    seen = []
    for share in (True, False, True):
        a.setopt(pycurl.SHARE, None)
        (s.share if share else s.unshare)(pycurl.LOCK_DATA_CONNECT)
        a.setopt(pycurl.SHARE, s)
        fetch(a, server.url("/hello"))
        seen.append(a.getinfo(pycurl.NUM_CONNECTS))
    assert seen == [1, 1, 0]
    assert server.connections - before == 2
    a.close()
    s.close()


def test_threads_take_turns_on_shared_connections(server):
    """Concurrent perform() in threads on handles sharing CONNECT: every transfer succeeds, no
    thread holds more than one connection, and every connection counted was opened by a handle."""
    s = pycurl.CurlShare()
    s.share(pycurl.LOCK_DATA_CONNECT)
    before = server.connections
    errors, connects = [], []

    def work():
        try:
            c = pycurl.Curl()
            c.setopt(pycurl.SHARE, s)
            for _ in range(20):
                assert fetch(c, server.url("/hello")) == b"hello world"
                connects.append(c.getinfo(pycurl.NUM_CONNECTS))
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(connects) == 80
    opened = server.connections - before
    assert 1 <= opened <= 4
    assert sum(connects) == opened
    s.close()
