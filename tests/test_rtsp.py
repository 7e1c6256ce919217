"""rtsp:// against a scripted RTSP server of ours on loopback: the requests libcurl writes for each
RTSP_REQUEST, CSeq numbering and checking (RTSP_CLIENT_CSEQ, 85), the session id (kept from a
response, RTSP_SESSION_ID, 86), RTSP_STREAM_URI and RTSP_TRANSPORT, the INFO_RTSP_* values,
headers to HEADERFUNCTION and bodies to WRITEFUNCTION, interleaved frames handed on as libcurl
hands them, the connection kept between requests, and the same under CurlMulti's perform/select
and socket API. Every expectation was taken from real pycurl (libcurl 8) against the same server."""

import io

import pytest

import pycurl
from helpers import SocketActionDriver, perform_all
from rtspserver import RtspServer, cseq, frame

SDP = b"v=0\r\ns=x\r\n"


def default_answer(head, body):
    n = cseq(head)
    method = head.split(b" ")[0]
    if method == b"DESCRIBE":
        return b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n" % (
            n, len(SDP)) + SDP
    if method == b"SETUP":
        return (b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nSession: 12345678;timeout=60\r\n"
                b"Transport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n" % n)
    if method == b"PLAY":
        return (b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nSession: 12345678\r\n\r\n" % n
                + frame(0, b"rtpdata1") + frame(1, b"rtcp") + frame(5, b"other"),
                frame(0, b"later"))
    return b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n" % n


@pytest.fixture
def srv():
    s = RtspServer(default_answer)
    yield s
    s.stop()


class Client:
    def __init__(self, srv):
        self.c = c = pycurl.Curl()
        self.body = io.BytesIO()
        self.headers = []
        self.trace = []
        c.setopt(pycurl.URL, srv.url("stream"))
        c.setopt(pycurl.WRITEDATA, self.body)
        c.setopt(pycurl.HEADERFUNCTION, self.headers.append)
        c.setopt(pycurl.VERBOSE, 1)
        c.setopt(pycurl.DEBUGFUNCTION, lambda k, m: self.trace.append((k, m)))
        c.setopt(pycurl.USERAGENT, "ua")
        c.setopt(pycurl.TIMEOUT, 5)

    def do(self, **opts):
        for k, v in opts.items():
            self.c.setopt(getattr(pycurl, k), v)
        self.body.seek(0)
        self.body.truncate()
        self.headers.clear()
        self.trace.clear()
        try:
            self.c.perform()
        except pycurl.error as e:
            return e.args
        return None

    def sent(self):
        return b"".join(m for k, m in self.trace if k in (pycurl.INFOTYPE_HEADER_OUT, pycurl.INFOTYPE_DATA_OUT))

    def texts(self):
        return [m.decode().rstrip("\n") for k, m in self.trace if k == pycurl.INFOTYPE_TEXT]

    def infos(self):
        return [self.c.getinfo(i) for i in (pycurl.INFO_RTSP_CLIENT_CSEQ, pycurl.INFO_RTSP_SERVER_CSEQ,
                                            pycurl.INFO_RTSP_CSEQ_RECV, pycurl.INFO_RTSP_SESSION_ID)]


def test_a_session_options_describe_setup_play_teardown(srv):
    cl = Client(srv)
    assert cl.infos() == [0, 0, 0, None]
    assert cl.do() is None
    assert cl.sent() == b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: ua\r\n\r\n"
    assert cl.headers == [b"RTSP/1.0 200 OK\r\n", b"CSeq: 1\r\n", b"Public: OPTIONS, DESCRIBE\r\n", b"\r\n"]
    assert cl.c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert cl.infos() == [2, 1, 1, None]
    assert cl.texts()[-2:] == ["Request completely sent off", f"Connection #0 to host 127.0.0.1:{srv.port} left intact"]

    assert cl.do(OPT_RTSP_REQUEST=pycurl.RTSPREQ_DESCRIBE, OPT_RTSP_STREAM_URI="rtsp://h/s") is None
    assert cl.sent() == b"DESCRIBE rtsp://h/s RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: ua\r\n\r\n"
    assert cl.body.getvalue() == SDP
    assert cl.texts()[0] == "Reusing existing rtsp: connection with host 127.0.0.1"

    err = cl.do(OPT_RTSP_REQUEST=pycurl.RTSPREQ_SETUP)
    assert err == (43, "Refusing to issue an RTSP SETUP without a Transport: header.")
    assert cl.sent() == b"" and cl.infos() == [3, 1, 2, None]

    assert cl.do(OPT_RTSP_TRANSPORT="RTP/AVP/TCP;interleaved=0-1") is None
    assert cl.sent() == b"SETUP rtsp://h/s RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\nUser-Agent: ua\r\n\r\n"
    assert cl.infos() == [4, 1, 3, "12345678"]

    # Frames of the announced channels (0-1) reach WRITEFUNCTION whole; others are dropped.
    assert cl.do(OPT_RTSP_REQUEST=pycurl.RTSPREQ_PLAY) is None
    assert cl.sent() == b"PLAY rtsp://h/s RTSP/1.0\r\nCSeq: 4\r\nSession: 12345678\r\nUser-Agent: ua\r\n\r\n"
    assert cl.body.getvalue() == frame(0, b"rtpdata1") + frame(1, b"rtcp")
    assert not [m for k, m in cl.trace if k == pycurl.INFOTYPE_DATA_IN]

    # RECEIVE sends nothing and hands on the frames that come; with none it waits for them.
    assert cl.do(OPT_RTSP_REQUEST=pycurl.RTSPREQ_RECEIVE, TIMEOUT_MS=600) is None
    assert cl.sent() == b"" and cl.body.getvalue() == frame(0, b"later")
    assert cl.c.getinfo(pycurl.RESPONSE_CODE) == 0
    assert cl.infos() == [5, 1, 4, "12345678"]
    assert srv.connections == 1
    err = cl.do()
    assert err[0] == pycurl.E_OPERATION_TIMEDOUT
    assert err[1].endswith(" with 0 bytes received") and cl.body.getvalue() == b""


def test_cseq_and_session_mismatches(srv):
    cl = Client(srv)
    srv.answer = lambda head, body: b"RTSP/1.0 200 OK\r\nCSeq: %d\r\nSession:  zz;timeout=5\r\n\r\n" % cseq(head)
    err = cl.do(OPT_RTSP_SESSION_ID="abc")
    assert err == (86, "Got RTSP Session ID Line [zz;timeout=5\r\n], but wanted ID [abc]")
    assert cl.sent() == b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nSession: abc\r\nUser-Agent: ua\r\n\r\n"
    # The session line does not reach HEADERFUNCTION; the connection is closed.
    assert cl.headers == [b"RTSP/1.0 200 OK\r\n", b"CSeq: 1\r\n"]
    assert cl.texts()[-1] == "closing connection #0"
    srv.answer = lambda head, body: b"RTSP/1.0 200 OK\r\nCSeq: %d\r\n\r\n" % (cseq(head) + 5)
    err = cl.do()
    assert err == (85, "The CSeq of this request 2 did not match the response 7")
    assert cl.infos() == [3, 1, 7, "abc"]
    assert srv.connections == 2
    srv.answer = default_answer
    assert cl.do(OPT_RTSP_CLIENT_CSEQ=50) is None
    assert cl.headers[1] == b"CSeq: 50\r\n" and cl.infos() == [51, 1, 50, "abc"]
    assert srv.connections == 2


def test_bodies_of_parameter_and_announce_requests(srv):
    cl = Client(srv)
    assert cl.do(OPT_RTSP_REQUEST=pycurl.RTSPREQ_GET_PARAMETER, OPT_RTSP_SESSION_ID="abc",
                 POSTFIELDS="packets_received\r\n") is None
    assert cl.sent() == (b"GET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nSession: abc\r\nUser-Agent: ua\r\n"
                         b"Content-Length: 18\r\nContent-Type: text/parameters\r\n\r\npackets_received\r\n")
    assert "upload completely sent off: 18 bytes" in cl.texts()
    assert srv.requests[-1][1] == b"packets_received\r\n"
    assert cl.do(OPT_RTSP_REQUEST=pycurl.RTSPREQ_ANNOUNCE, POSTFIELDS="v=0\r\n") is None
    assert srv.requests[-1] == (
        b"ANNOUNCE * RTSP/1.0\r\nCSeq: 2\r\nSession: abc\r\nUser-Agent: ua\r\nContent-Length: 5\r\n"
        b"Content-Type: application/sdp\r\n\r\n", b"v=0\r\n")
    for req, name in ((pycurl.RTSPREQ_PAUSE, b"PAUSE"), (pycurl.RTSPREQ_RECORD, b"RECORD"),
                      (pycurl.RTSPREQ_TEARDOWN, b"TEARDOWN"), (pycurl.RTSPREQ_SET_PARAMETER, b"SET_PARAMETER")):
        assert cl.do(OPT_RTSP_REQUEST=req) is None
        assert srv.requests[-1][0].startswith(name + b" * RTSP/1.0\r\n")
    with pytest.raises(pycurl.error) as e:
        cl.c.setopt(pycurl.OPT_RTSP_REQUEST, 12)
    assert e.value.args[0] == 43


def test_error_status_with_a_body_and_unannounced_frames(srv):
    srv.answer = lambda head, body: (frame(0, b"early") + b"RTSP/1.0 404 Not Found\r\nCSeq: %d\r\n"
                                     b"Content-Length: 3\r\n\r\nabc" % cseq(head) + frame(1, b"late"))
    cl = Client(srv)
    assert cl.do() is None
    assert cl.c.getinfo(pycurl.RESPONSE_CODE) == 404
    assert cl.body.getvalue() == b"abc"
    assert cl.headers[0] == b"RTSP/1.0 404 Not Found\r\n"


def test_refused_and_listed():
    c = pycurl.Curl()
    c.setopt(pycurl.URL, "rtsp://127.0.0.1:1/")
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args[0] == pycurl.E_COULDNT_CONNECT
    assert "rtsp" in pycurl.version_info()[8]


def test_multi_perform_select_and_socket_api(srv):
    for driver in ("select", "socket"):
        m = pycurl.CurlMulti()
        clients = [Client(srv) for _ in range(2)]
        for cl in clients:
            cl.c.setopt(pycurl.OPT_RTSP_REQUEST, pycurl.RTSPREQ_DESCRIBE)
            m.add_handle(cl.c)
        if driver == "select":
            perform_all(m, 2)
        else:
            assert SocketActionDriver(m).run() == 0
        for cl in clients:
            assert cl.body.getvalue() == SDP and cl.infos()[:3] == [2, 1, 1]
            m.remove_handle(cl.c)
