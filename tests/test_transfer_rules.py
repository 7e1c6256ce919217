"""Transfer rules of issue 8, each against a loopback server and checked under real pycurl:
file times and time conditions, infos while a transfer runs, credentials on redirects, PORT,
MAX_RECV_SPEED, RESUME_FROM past the end, MAXFILESIZE without decoding."""
import io
import time

import pytest

import pycurl

from helpers import perform

T = 1700000000  # Last-Modified of /last-modified
TIMEVALUE_LARGE = 30270  # libcurl's option number; pycurl has no constant for it


def lm_url(server, honour=True):
    return server.url("/last-modified?t=%d&honour=%d" % (T, 1 if honour else 0))


# ---- OPT_FILETIME / INFO_FILETIME / FILETIME_T ----------------------------------------------

def test_filetime_is_minus_one_on_a_fresh_handle(curl):
    assert (curl.getinfo(pycurl.INFO_FILETIME), curl.getinfo(pycurl.FILETIME_T)) == (-1, -1)


def test_filetime_from_last_modified(server, curl):
    body, _ = perform(curl, lm_url(server), OPT_FILETIME=1)
    assert body == b"fresh body\n"
    assert (curl.getinfo(pycurl.INFO_FILETIME), curl.getinfo(pycurl.FILETIME_T)) == (T, T)


def test_filetime_unknown_without_the_option_or_the_header(server, curl):
    perform(curl, lm_url(server))
    assert curl.getinfo(pycurl.INFO_FILETIME) == -1
    perform(curl, server.url("/hello"), OPT_FILETIME=1)
    assert curl.getinfo(pycurl.FILETIME_T) == -1


# ---- TIMECONDITION / TIMEVALUE ----------------------------------------------------------------

def test_if_modified_since_answered_304(server, curl):
    body, headers = perform(curl, lm_url(server), TIMECONDITION=pycurl.TIMECONDITION_IFMODSINCE,
                            TIMEVALUE=T + 10)
    assert server.last_request().header("If-Modified-Since") == "Tue, 14 Nov 2023 22:13:30 GMT"
    assert (body, curl.getinfo(pycurl.RESPONSE_CODE), curl.getinfo(pycurl.CONDITION_UNMET)) == (b"", 304, 1)


def test_if_modified_since_met(server, curl):
    body, _ = perform(curl, lm_url(server), TIMECONDITION=pycurl.TIMECONDITION_IFMODSINCE, TIMEVALUE=T - 10)
    assert (body, curl.getinfo(pycurl.RESPONSE_CODE), curl.getinfo(pycurl.CONDITION_UNMET)) == (
        b"fresh body\n", 200, 0)


@pytest.mark.parametrize("cond,value", [(pycurl.TIMECONDITION_IFMODSINCE, T + 10),
                                        (pycurl.TIMECONDITION_IFUNMODSINCE, T - 10)])
def test_condition_checked_against_last_modified_when_the_server_ignores_it(server, curl, cond, value):
    # The server sends 200 and the whole body: libcurl checks Last-Modified itself.
    body, headers = perform(curl, lm_url(server, honour=False), TIMECONDITION=cond, TIMEVALUE=value,
                            OPT_FILETIME=1)
    assert headers[0].startswith(b"HTTP/1.1 200")
    assert (body, curl.getinfo(pycurl.RESPONSE_CODE), curl.getinfo(pycurl.CONDITION_UNMET)) == (b"", 304, 1)
    assert curl.getinfo(pycurl.INFO_FILETIME) == T
    assert_reusable(curl, server)


def assert_reusable(curl, server):
    curl.reset()
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"


def test_if_unmodified_since_header_and_412(server, curl):
    body, _ = perform(curl, lm_url(server), TIMECONDITION=pycurl.TIMECONDITION_IFUNMODSINCE, TIMEVALUE=T - 10)
    assert server.last_request().header("If-Unmodified-Since") == "Tue, 14 Nov 2023 22:13:10 GMT"
    # The 412's Last-Modified fails the condition too: libcurl reports 304 and skips the body.
    assert (body, curl.getinfo(pycurl.RESPONSE_CODE), curl.getinfo(pycurl.CONDITION_UNMET)) == (b"", 304, 1)


def test_timevalue_large_and_lastmod(server, curl):
    perform(curl, lm_url(server), TIMECONDITION=pycurl.TIMECONDITION_IFMODSINCE)
    curl.setopt(TIMEVALUE_LARGE, T + 10)
    curl.perform()
    assert curl.getinfo(pycurl.CONDITION_UNMET) == 1
    perform(curl, lm_url(server), TIMECONDITION=pycurl.TIMECONDITION_LASTMOD, TIMEVALUE=T - 10)
    assert server.last_request().header("Last-Modified") == "Tue, 14 Nov 2023 22:13:10 GMT"
    assert curl.getinfo(pycurl.CONDITION_UNMET) == 0


@pytest.mark.parametrize("v", [-1, 4, 1 << 40])
def test_timecondition_bad_values(curl, v):
    with pytest.raises(pycurl.error) as e:
        curl.setopt(pycurl.TIMECONDITION, v)
    assert e.value.args[0] == pycurl.E_BAD_FUNCTION_ARGUMENT


# ---- infos while the body runs ----------------------------------------------------------------

def test_response_infos_answer_while_the_body_is_running(server):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/slowbody?chunks=4&delay=0.2"))
    got = []
    c.setopt(pycurl.WRITEFUNCTION, got.append)
    m.add_handle(c)
    seen = []
    while True:
        _, running = m.perform()
        if not running:
            break
        if got:
            seen.append((c.getinfo(pycurl.RESPONSE_CODE), c.getinfo(pycurl.CONTENT_TYPE),
                         c.getinfo(pycurl.HEADER_SIZE)))
        m.select(0.05)
    assert seen and set(seen) == {(200, "application/octet-stream", c.getinfo(pycurl.HEADER_SIZE))}
    m.remove_handle(c)
    c.close()


# ---- credentials on redirects to another origin ----------------------------------------------

CREDS = ["Authorization: Bearer secret", "Cookie: sid=1", "X-Other: yes"]


def sent_headers(body):
    return [line for line in body.split(b"\r\n") if line.split(b":")[0] in (b"Authorization", b"Cookie", b"X-Other")]


@pytest.fixture(scope="module")
def other_server():
    import servers
    srv = servers.start_server()
    yield srv
    srv.stop()


@pytest.mark.parametrize("where,opts,kept", [
    ("other port", {}, False),
    ("other host name", {}, False),
    ("same origin", {}, True),
    ("other port", {"UNRESTRICTED_AUTH": 1}, True),
])
def test_httpheader_credentials_dropped_on_redirect_to_another_origin(server, other_server, curl, where, opts,
                                                                      kept):
    target = {"other port": other_server.url("/headers"),
              "other host name": server.url("/headers", host="localhost"),
              "same origin": server.url("/headers")}[where]
    body, _ = perform(curl, server.url("/redirect-to?url=" + target), FOLLOWLOCATION=1, HTTPHEADER=CREDS,
                      RESOLVE=["localhost:%s:127.0.0.1" % server.base.rsplit(":", 1)[1]], **opts)
    expected = [b"Authorization: Bearer secret", b"Cookie: sid=1", b"X-Other: yes"] if kept else [b"X-Other: yes"]
    assert sent_headers(body) == expected


# ---- PORT, MAX_RECV_SPEED_LARGE ---------------------------------------------------------------

def test_port_overrides_the_urls_port(server, refused_port, curl):
    port = int(server.base.rsplit(":", 1)[1])
    body, _ = perform(curl, "http://127.0.0.1:%d/hello" % refused_port, PORT=port)
    assert (body, curl.getinfo(pycurl.PRIMARY_PORT)) == (b"hello world", port)


def test_max_recv_speed_on_a_tiny_reply(server, curl):
    t0 = time.monotonic()
    body, _ = perform(curl, server.url("/bytes?n=2"), MAX_RECV_SPEED_LARGE=1)
    assert len(body) == 2
    assert 0.8 < time.monotonic() - t0 < 3


# ---- RESUME_FROM past the end, MAXFILESIZE ------------------------------------------------------

@pytest.mark.parametrize("opts", [{}, {"FAILONERROR": 1}])
def test_resume_past_the_end_delivers_nothing(server, curl, opts):
    body, headers = perform(curl, server.url("/range?n=100&err=1"), RESUME_FROM=200, **opts)
    assert (body, curl.getinfo(pycurl.RESPONSE_CODE), headers[0][:12]) == (b"", 416, b"HTTP/1.1 416")
    assert_reusable(curl, server)


@pytest.mark.parametrize("path", ["/chunked?n=30000&chunks=30", "/close?n=3000"])
def test_maxfilesize_without_length_delivers_up_to_the_limit(server, curl, path):
    out = io.BytesIO()
    curl.setopt(pycurl.URL, server.url(path))
    curl.setopt(pycurl.WRITEDATA, out)
    curl.setopt(pycurl.MAXFILESIZE, 1000)
    with pytest.raises(pycurl.error) as e:
        curl.perform()
    assert e.value.args == (pycurl.E_FILESIZE_EXCEEDED,
                            "Exceeded the maximum allowed file size (1000) with 1000 bytes")
    assert len(out.getvalue()) == 1000


# ---- pause(PAUSE_CONT) reports the socket from inside pause() ------------------------------------

def test_unpause_reports_poll_in_from_inside_pause(server):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/bytes?n=200000"))
    log, socks, timeout, state = [], {}, [None], {"paused": False, "got": 0}

    def write(b):
        state["got"] += len(b)
        if not state["paused"]:
            state["paused"] = True
            return pycurl.WRITEFUNC_PAUSE

    def sockf(what, fd, multi, sp):
        log.append(("socket", what))
        if what == pycurl.POLL_REMOVE:
            socks.pop(fd, None)
        else:
            socks[fd] = what

    def timerf(ms):
        log.append(("timer", ms))
        timeout[0] = ms

    def loop(until, limit=5.0):
        running = 1
        end = time.monotonic() + limit
        import select
        while running and not until() and time.monotonic() < end:
            wait = 0.05 if timeout[0] is None or timeout[0] < 0 else min(timeout[0] / 1000, 0.05)
            r, w, _ = select.select([fd for fd, ev in socks.items() if ev & pycurl.POLL_IN],
                                    [fd for fd, ev in socks.items() if ev & pycurl.POLL_OUT], [], wait)
            if not r and not w:
                running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]
            for fd in r:
                running = m.socket_action(fd, pycurl.CSELECT_IN)[1]
            for fd in w:
                running = m.socket_action(fd, pycurl.CSELECT_OUT)[1]
        return running

    c.setopt(pycurl.WRITEFUNCTION, write)
    m.setopt(pycurl.M_SOCKETFUNCTION, sockf)
    m.setopt(pycurl.M_TIMERFUNCTION, timerf)
    m.add_handle(c)
    loop(lambda: state["paused"])
    loop(lambda: False, limit=0.3)
    del log[:]
    c.pause(pycurl.PAUSE_CONT)
    assert ("socket", pycurl.POLL_IN) in log
    assert loop(lambda: False) == 0 and state["got"] >= 200000
    m.remove_handle(c)
    m.close()
    c.close()


# ---- LOCALPORT + LOCALPORTRANGE with INTERFACE "host!ADDR" ---------------------------------------

def test_localportrange_skips_a_busy_port_with_an_interface_address(server, curl):
    import socket
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    port = busy.getsockname()[1]
    try:
        body, _ = perform(curl, server.url("/hello"), INTERFACE="host!127.0.0.1", LOCALPORT=port,
                          LOCALPORTRANGE=20)
        assert body == b"hello world"
        assert port < curl.getinfo(pycurl.LOCAL_PORT) < port + 20
    finally:
        busy.close()

