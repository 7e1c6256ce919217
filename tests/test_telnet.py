"""telnet:// against a scripted telnet server of ours on loopback: the byte stream both ways
(READFUNCTION feeds what is sent, WRITEFUNCTION gets the server's data without its commands),
option negotiation answered as libcurl answers it, TELNETOPTIONS and their errors, the end of the
transfer when the server closes, and the same under CurlMulti's perform/select and socket API.
Every expectation was taken from real pycurl (libcurl 8) against the same server."""

import io

import pytest

import pycurl
from helpers import SocketActionDriver, perform_all
from telnetserver import (
    BINARY, DO, ECHO, IAC, NAWS, NEW_ENVIRON, SB, SE, SEND, SGA, TTYPE, WILL, WONT, XDISPLOC, TelnetServer, sb,
)

NEGOTIATING = bytes([IAC, DO, TTYPE, IAC, WILL, ECHO, IAC, DO, NEW_ENVIRON, IAC, DO, NAWS, IAC, WILL, 5, IAC, DO, 200])


@pytest.fixture
def srv():
    s = TelnetServer()
    yield s
    s.stop()


def handle(srv, upload=b"", options=None, **opts):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, srv.url())
    body = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.VERBOSE, 1)
    trace = []
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, msg: trace.append((kind, msg)))
    src = io.BytesIO(upload)
    c.setopt(pycurl.READFUNCTION, lambda n: src.read(min(n, 4)))
    c.setopt(pycurl.TIMEOUT, 5)
    if options is not None:
        c.setopt(pycurl.TELNETOPTIONS, options)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c, body, trace


def run(srv, upload=b"", options=None, **opts):
    c, body, trace = handle(srv, upload, options, **opts)
    err = None
    try:
        c.perform()
    except pycurl.error as e:
        err = e.args
    return c, err, body.getvalue(), trace


def texts(trace):
    return [m.decode().rstrip("\n") for k, m in trace if k == pycurl.INFOTYPE_TEXT]


def test_negotiation_data_both_ways_and_end_at_close(srv):
    srv.opening = NEGOTIATING + b"hello\r\0x\xff\xffy\r\n"
    c, err, body, trace = run(srv, b"abc\nquit\n")
    assert err is None
    assert c.getinfo(pycurl.RESPONSE_CODE) == 0
    # CR NUL is CR, IAC IAC one 0xFF; the echo and the goodbye follow.
    assert body == b"hello\rx\xffy\r\nABC\nBYE\r\n"
    assert srv.last() == bytes(
        [IAC, WONT, TTYPE, IAC, DO, ECHO, IAC, WONT, NEW_ENVIRON, IAC, WILL, NAWS, IAC, SB, NAWS, 0, 0, 0, 0, IAC, SE]
        + [IAC, 254, 5, IAC, WONT, 200, IAC, WILL, BINARY, IAC, DO, BINARY, IAC, WILL, SGA, IAC, DO, SGA]
    ) + b"abc\nquit\n"
    t = texts(trace)
    assert t[2:16] == [
        "RCVD DO TERM TYPE", "SENT WONT TERM TYPE", "RCVD WILL ECHO", "SENT DO ECHO", "RCVD DO NEW-ENVIRON",
        "SENT WONT NEW-ENVIRON", "RCVD DO NAWS", "SENT WILL NAWS", "SENT IAC SB ", "NAWS", "Width: 0 ; Height: 0",
        "RCVD WILL STATUS", "SENT DONT STATUS", "RCVD DO 200",
    ]
    assert t[-1] == "shutting down connection #0"
    # Data is traced as it is delivered, one run of plain bytes at a time; what is sent is not.
    assert [m for k, m in trace if k == pycurl.INFOTYPE_DATA_IN][:3] == [b"hello\r", b"x", b"\xffy\r\n"]
    assert not [m for k, m in trace if k == pycurl.INFOTYPE_DATA_OUT]
    # libcurl counts the bytes read and again the data delivered.
    assert c.getinfo(pycurl.SIZE_UPLOAD_T) == 9
    assert c.getinfo(pycurl.SIZE_DOWNLOAD_T) == 31 + 4 + 5 + 11 + 4 + 5


def test_telnetoptions_and_user_are_sent_when_asked(srv):
    srv.opening = (
        bytes([IAC, DO, TTYPE, IAC, DO, XDISPLOC, IAC, DO, NEW_ENVIRON, IAC, DO, NAWS, IAC, WILL, SGA])
        + sb(TTYPE, SEND) + sb(XDISPLOC, SEND) + sb(NEW_ENVIRON, SEND) + b"hi\r\n"
    )
    options = ["TTYPE=vt100", "XDISPLOC=host:0", "NEW_ENV=FOO,bar", "NEW_ENV=BAZ", "WS=80x24"]
    c, err, body, trace = run(srv, b"q\nquit\n", options, USERPWD="joe:pw")
    assert err is None
    assert body == b"hi\r\nQ\nBYE\r\n"
    assert srv.last() == (
        b"\xff\xfb\x18\xff\xfb#\xff\xfb'\xff\xfb\x1f\xff\xfa\x1f\x00P\x00\x18\xff\xf0\xff\xfd\x03"
        b"\xff\xfa\x18\x00vt100\xff\xf0\xff\xfa#\x00host:0\xff\xf0"
        b"\xff\xfa'\x00\x00USER\x01joe\x00FOO\x01bar\x00BAZ\xff\xf0"
        b"\xff\xfb\x00\xff\xfd\x00\xff\xfb\x03q\nquit\n"
    )
    t = texts(trace)
    i = t.index("RCVD IAC SB ")
    assert t[i:i + 8] == ["RCVD IAC SB ", "TERM TYPE", " SEND", ' ""', "SENT IAC SB ", "TERM TYPE", " IS", ' "vt100"']
    i = t.index("NEW-ENVIRON", i)
    assert "".join(t[t.index(" IS", i + 3) + 1:t.index("SENT WILL BINARY")]) == " USER = joe, FOO = bar, BAZ"


def test_binary_off_and_window_size_asked_first(srv):
    srv.opening = bytes([IAC, DO, TTYPE])
    c, err, body, _ = run(srv, b"quit\n", ["BINARY=0", "WS=0x5"])
    assert err is None and body == b"BYE\r\n"
    assert srv.last() == bytes([IAC, WONT, TTYPE, IAC, WILL, SGA, IAC, DO, SGA, IAC, WILL, NAWS]) + b"quit\n"


def test_a_server_that_does_not_negotiate_gets_plain_bytes(srv):
    srv.opening = b"plain\n"
    c, err, body, _ = run(srv, b"a\xffb\nquit\n")
    assert err is None and body == b"plain\nA\xffB\nBYE\r\n"
    assert srv.last() == b"a\xff\xffb\nquit\n"


@pytest.mark.parametrize(
    "option, code, msg",
    [
        ("FOO=1", 48, "Unknown telnet option FOO=1"),
        ("TTYPEX=1", 48, "An unknown option was passed in to libcurl"),
        ("TTYPE", 49, "Syntax error in telnet option: TTYPE"),
        ("WS=80", 49, "Syntax error in telnet option: WS=80"),
    ],
)
def test_option_errors(srv, option, code, msg):
    c, err, body, _ = run(srv, b"quit\n", ["TTYPE=x", option])
    assert err == (code, msg)
    assert code in (pycurl.E_UNKNOWN_TELNET_OPTION, pycurl.E_TELNET_OPTION_SYNTAX)


def test_a_request_for_an_unset_value_fails(srv):
    srv.opening = bytes([IAC, DO, NEW_ENVIRON]) + sb(NEW_ENVIRON, SEND) + sb(XDISPLOC, SEND) + b"hi\r\n"
    c, err, body, trace = run(srv, b"quit\n")
    assert err == (43, "A libcurl function was given a bad argument")
    assert body == b""
    # NEW-ENVIRON with nothing set is answered empty.
    assert srv.last() == bytes([IAC, WONT, NEW_ENVIRON, IAC, SB, NEW_ENVIRON, 0, IAC, SE])


def test_read_abort_ends_without_error_and_pause_waits(srv):
    srv.opening = b"hi\r\n"
    c, body, _ = handle(srv)
    c.setopt(pycurl.READFUNCTION, lambda n: pycurl.READFUNC_ABORT)
    c.perform()
    assert body.getvalue() == b"hi\r\n"
    c, body, trace = handle(srv, TIMEOUT_MS=400)
    calls = []
    c.setopt(pycurl.READFUNCTION, lambda n: calls.append(n) or pycurl.READFUNC_PAUSE)
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args == (28, "Time-out")
    assert "Time-out" in texts(trace)
    # Asked again about every 100 ms, 4 KiB at a time.
    assert 2 <= len(calls) <= 6 and calls[0] == 4096


def test_connection_refused_and_default_port():
    c = pycurl.Curl()
    c.setopt(pycurl.URL, "telnet://127.0.0.1:1/")
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args[0] == pycurl.E_COULDNT_CONNECT
    assert "telnet" in pycurl.version_info()[8]
    c.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP)
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args[0] == pycurl.E_UNSUPPORTED_PROTOCOL
    assert pycurl.PROTO_TELNET == 64


def test_multi_perform_select_and_socket_api(srv):
    srv.opening = NEGOTIATING + b"hello\r\n"
    for driver in ("select", "socket"):
        m = pycurl.CurlMulti()
        handles = [handle(srv, b"x%d\nquit\n" % i) for i in range(2)]
        for c, _, _ in handles:
            m.add_handle(c)
        if driver == "select":
            perform_all(m, 2)
        else:
            assert SocketActionDriver(m).run() == 0
        for i, (c, body, _) in enumerate(handles):
            assert body.getvalue() == b"hello\r\nX%d\nBYE\r\n" % i
            m.remove_handle(c)
