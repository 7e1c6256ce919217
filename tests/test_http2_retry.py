"""HTTP/2 refusals and resets from a hostile server (tests/h2hostile.py, on hyper-h2): a refused
stream (REFUSED_STREAM, or above a GOAWAY's last-stream-id) runs again on a fresh connection as
libcurl retries it, uploads included (POSTFIELDS again, READFUNCTION rewound through
SEEKFUNCTION, or error 65); any other reset is error 92 with libcurl's words. What each
connection saw is asserted from the server's side. The file passes unchanged under real pycurl
7.49 (libcurl 8.23)."""

import io
import time

import pytest

import pycurl

import h2hostile

# CURLE_HTTP2_STREAM: pycurl 7.49 has no constant for it.
E_HTTP2_STREAM = 92


def handle(hostile, certs, path, **opts):
    c = pycurl.Curl()
    c.body = io.BytesIO()
    c.text = []
    c.setopt(pycurl.URL, hostile.url(path))
    c.setopt(pycurl.CAINFO, certs.ca_pem)
    c.setopt(pycurl.WRITEDATA, c.body)
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: c.text.append(data) if kind == pycurl.INFOTYPE_TEXT else None)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c


def seen(hostile, path):
    """The server's record of every request for `path`, oldest first."""
    return [r for r in hostile.requests if r["path"] == path]


def test_refused_stream_runs_again_on_a_fresh_connection(hostile, certs):
    c = handle(hostile, certs, "/refuse/1/get")
    c.perform()
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.body.getvalue() == b"GET /refuse/1/get "
    assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
    rows = seen(hostile, "/refuse/1/get")
    assert [r["outcome"] for r in rows] == ["refused", "served"]
    assert rows[0]["conn"] != rows[1]["conn"]
    assert c.getinfo(pycurl.NUM_CONNECTS) == 2
    assert b"REFUSED_STREAM, retrying a fresh connect\n" in c.text
    assert b"Connection died, retrying a fresh connect (retry count: 1)\n" in c.text
    c.close()


def test_refused_every_time_gives_up_after_five_retries(hostile, certs):
    c = handle(hostile, certs, "/refuse/99/always")
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (pycurl.E_RECV_ERROR, "Connection died, tried 5 times before giving up")
    rows = seen(hostile, "/refuse/99/always")
    assert [r["outcome"] for r in rows] == ["refused"] * 6
    assert len({r["conn"] for r in rows}) == 6
    c.close()


def test_goaway_below_the_stream_retries_it(hostile, certs):
    c = handle(hostile, certs, "/goaway/1/easy")
    c.perform()
    assert c.body.getvalue() == b"GET /goaway/1/easy "
    rows = seen(hostile, "/goaway/1/easy")
    assert [r["outcome"] for r in rows] == ["goaway", "served"]
    assert rows[0]["conn"] != rows[1]["conn"]
    c.close()


def test_goaway_in_a_multi_finishes_covered_streams_and_retries_the_rest(hostile, certs):
    # Stream 1 (covered by the GOAWAY's last-stream-id 1) completes on the first connection;
    # streams 3 and 5 (above it) run again, together on one fresh connection.
    m = pycurl.CurlMulti()
    hs = [handle(hostile, certs, "/slow/200000?g1", PIPEWAIT=1),
          handle(hostile, certs, "/goaway/1/multi", PIPEWAIT=1),
          handle(hostile, certs, "/big/1000?g3", PIPEWAIT=1)]
    for c in hs:
        m.add_handle(c)
    done, failed = [], []
    while True:
        _, running = m.perform()
        while True:
            queued, ok, bad = m.info_read()
            done += ok
            failed += bad
            if not queued:
                break
        if running == 0:
            break
        m.select(1.0)
    assert not failed and len(done) == 3
    assert len(hs[0].body.getvalue()) == 200000
    assert hs[1].body.getvalue() == b"GET /goaway/1/multi "
    assert len(hs[2].body.getvalue()) == 1000
    first = seen(hostile, "/slow/200000?g1")
    assert [(r["sid"], r["outcome"]) for r in first] == [(1, "served")]
    ga = seen(hostile, "/goaway/1/multi")
    third = seen(hostile, "/big/1000?g3")
    assert [r["outcome"] for r in ga] == ["goaway", "served"]
    assert ga[0]["conn"] == first[0]["conn"]
    assert third[-1]["outcome"] == "served"
    # The retried streams share the one new connection.
    assert ga[1]["conn"] == third[-1]["conn"] != first[0]["conn"]
    for c in hs:
        m.remove_handle(c)
        c.close()
    m.close()


@pytest.mark.parametrize("path,err", [
    ("/rst/2", (E_HTTP2_STREAM, "HTTP/2 stream 1 reset by server (error 0x2 INTERNAL_ERROR)")),
    ("/rst/8", (E_HTTP2_STREAM, "HTTP/2 stream 1 reset by server (error 0x8 CANCEL)")),
    ("/rst/11", (E_HTTP2_STREAM, "HTTP/2 stream 1 reset by server (error 0xb ENHANCE_YOUR_CALM)")),
    ("/rst/0", (E_HTTP2_STREAM, "HTTP/2 stream 1 was closed cleanly, but before getting all response "
                                       "header fields, treated as error")),
    ("/rst-mid/2", (E_HTTP2_STREAM, "HTTP/2 stream 1 reset by server (error 0x2 INTERNAL_ERROR)")),
    ("/rst-mid/0", (pycurl.E_PARTIAL_FILE, "end of response with 99000 bytes missing")),
])
def test_other_resets_are_errors_not_retries(hostile, certs, path, err):
    c = handle(hostile, certs, path)
    c.setopt(pycurl.FRESH_CONNECT, 1)
    before = len(seen(hostile, path))
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == err
    assert len(seen(hostile, path)) == before + 1
    c.close()


def test_no_error_reset_ends_a_body_without_content_length(hostile, certs):
    # Without a Content-Length the reset (NO_ERROR) is the end of the body, as libcurl takes it.
    c = handle(hostile, certs, "/rst-mid/0?nolen")
    c.perform()
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.body.getvalue() == b"x" * 1000
    c.close()


def test_postfields_are_sent_again(hostile, certs):
    c = handle(hostile, certs, "/refuse/1/post", POSTFIELDS="a=1&b=2")
    c.perform()
    assert c.body.getvalue() == b"POST /refuse/1/post a=1&b=2"
    rows = seen(hostile, "/refuse/1/post")
    assert [(r["outcome"], r["body"]) for r in rows] == [("refused", b"a=1&b=2"), ("served", b"a=1&b=2")]
    c.close()


def test_readfunction_body_is_rewound_through_seekfunction(hostile, certs):
    data = bytes(range(256)) * 200
    src = io.BytesIO(data)
    seeks = []

    def seek(offset, origin):
        seeks.append((offset, origin))
        src.seek(offset, origin)
        return pycurl.SEEKFUNC_OK

    c = handle(hostile, certs, "/refuse/1/put", UPLOAD=1, READFUNCTION=src.read, SEEKFUNCTION=seek,
               INFILESIZE=len(data))
    c.perform()
    assert seeks == [(0, 0)]
    assert c.body.getvalue() == b"PUT /refuse/1/put " + data
    rows = seen(hostile, "/refuse/1/put")
    assert [(r["outcome"], r["body"] == data) for r in rows] == [("refused", True), ("served", True)]
    assert c.getinfo(pycurl.SIZE_UPLOAD_T) == len(data)
    c.close()


def test_upload_refused_while_its_body_is_held_by_flow_control(hostile, certs):
    # The server refuses at the request head, while the client waits for window to send more of
    # a body larger than the server's initial window: the send fails, the retry rewinds.
    data = bytes(range(256)) * 4000
    src = io.BytesIO(data)
    seeks = []

    def seek(offset, origin):
        seeks.append((offset, origin))
        src.seek(offset, origin)
        return pycurl.SEEKFUNC_OK

    c = handle(hostile, certs, "/refuse-early/1/held", UPLOAD=1, READFUNCTION=src.read, SEEKFUNCTION=seek,
               INFILESIZE=len(data))
    c.perform()
    assert seeks == [(0, 0)], (c.text, seen(hostile, "/refuse-early/1/held"))
    assert c.body.getvalue() == b"PUT /refuse-early/1/held " + data
    rows = seen(hostile, "/refuse-early/1/held")
    assert [r["outcome"] for r in rows] == ["refused", "served"]
    assert rows[0]["body"] == b"" and rows[1]["body"] == data
    c.close()


def test_readfunction_post_without_seekfunction_cannot_rewind(hostile, certs):
    src = io.BytesIO(b"q" * 5000)
    c = handle(hostile, certs, "/refuse/1/noseek", POST=1, READFUNCTION=src.read, POSTFIELDSIZE=5000)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (pycurl.E_SEND_FAIL_REWIND, "necessary data rewind was not possible")
    assert [r["outcome"] for r in seen(hostile, "/refuse/1/noseek")] == ["refused"]
    c.close()


@pytest.mark.parametrize("ret", [pycurl.SEEKFUNC_FAIL, pycurl.SEEKFUNC_CANTSEEK])
def test_seekfunction_refusing_is_error_65(hostile, certs, ret):
    path = f"/refuse/1/seek{ret}"
    src = io.BytesIO(b"s" * 5000)
    c = handle(hostile, certs, path, UPLOAD=1, READFUNCTION=src.read, SEEKFUNCTION=lambda o, w: ret,
               INFILESIZE=5000)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (pycurl.E_SEND_FAIL_REWIND, f"seek callback returned error {ret}")
    assert [r["outcome"] for r in seen(hostile, path)] == ["refused"]
    c.close()


def test_connection_closed_just_after_a_response_is_not_used_again(hostile, certs):
    """Reused within a second (no liveness check, as over HTTP/1.1) after the server closed it
    unannounced: the stream fails with the connection and the request runs on a fresh one; libcurl
    notices the close before sending and connects afresh too."""
    c = handle(hostile, certs, "/close/a")
    c.perform()
    assert c.body.getvalue() == b"GET /close/a "
    time.sleep(0.2)
    c.body = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, c.body)
    c.setopt(pycurl.URL, hostile.url("/after-close"))
    c.perform()
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.body.getvalue() == b"GET /after-close "
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    first, again = seen(hostile, "/close/a"), seen(hostile, "/after-close")
    assert [r["outcome"] for r in again] == ["served"]
    assert again[0]["conn"] != first[0]["conn"]
    c.close()
