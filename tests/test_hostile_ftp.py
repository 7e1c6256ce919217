"""The fault matrix for FTP and FTPS control and data connections (tests/hostile_proto.py's
scripted servers) and for DICT and Gopher servers that talk forever or not at all.

Each row: the misbehaviour, the options, libcurl's code, RESPONSE_CODE afterwards (None: not
checked) and the bytes the write callback got (None: not checked), all as real pycurl gives
them (`/tmp/ref/bin/python -m pytest tests/test_hostile_ftp.py` passes too). Every row is bounded
by a short TIMEOUT_MS and checked to end within LIMIT seconds.
"""
import socket

import pytest

import pycurl

from helpers import run_scripted as run
from hostile_proto import Scripted, data_conn, ftp_script, pasv_reply, pasv_to

# libcurl codes pycurl 7.49 has no constant for.
E_WEIRD_SERVER_REPLY = 8
E_TOO_LARGE = 100
T = 800  # TIMEOUT_MS of the rows that end in a timeout
LIMIT = 3.0


def endless(first, more):
    def greet(peer, arg=""):
        peer.send(first)
        peer.flood(more)
        return False

    return greet


def closes_after(data):
    def step(peer, arg=""):
        peer.send(data)
        return False

    return step


def silent(peer, arg=""):
    peer.wait_close()
    return False


def refused_pasv(peer, arg):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    peer.send(pasv_reply(port))


def retr(how, body=b"", final=b"226 done\r\n", first=b"150 here\r\n"):
    """RETR answered with ``first``, the data connection misbehaving as ``how`` says
    (hostile_proto.data_conn), then ``final`` (None: silence until the client leaves)."""

    def step(peer, arg):
        peer.send(first)
        data_conn(peer, how, body)
        if final is None:
            peer.wait_close()
            return False
        peer.send(final)

    return step


def auth_tls(after):
    def step(peer, arg):
        peer.send(b"234 go ahead\r\n")
        if after:
            peer.send(after)
        peer.wait_close()
        return False

    return step


TIMEDOUT = pycurl.E_OPERATION_TIMEDOUT
# (row id, server steps, options, libcurl code, RESPONSE_CODE, bytes)
ROWS = [
    ("endless multi-line greeting", dict(greet=endless(b"220-hi\r\n", b"220-more and more\r\n")),
     {"TIMEOUT_MS": T}, TIMEDOUT, 0, 0),
    ("endless multi-line reply to PASS", dict(PASS=endless(b"230-hi\r\n", b"230-more and more\r\n")),
     {"TIMEOUT_MS": T}, TIMEDOUT, 0, 0),
    ("reply line of 8 MiB", dict(greet=lambda p, a: (p.send(b"220 " + b"x" * (8 << 20) + b"\r\n"), silent(p))[1]),
     {}, E_TOO_LARGE, 0, 0),
    ("reply line that never ends", dict(greet=endless(b"220 ", b"x" * 65536)), {}, E_TOO_LARGE, 0, 0),
    ("PWD answer longer than 64 KiB", dict(PWD=b'257 "' + b"/" * 100000 + b'\r\n'), {}, E_TOO_LARGE, 0, 0),
    ("greeting without a code", dict(greet=b"hello there\r\n"), {"TIMEOUT_MS": T}, TIMEDOUT, 0, 0),
    ("reply to PASS without a code", dict(PASS=b"logged in, sort of\r\n"), {"TIMEOUT_MS": T}, TIMEDOUT, 0, 0),
    ("greeting with a wrong code", dict(greet=b"500 go away\r\n"), {}, E_WEIRD_SERVER_REPLY, 500, 0),
    ("silent after connect", dict(greet=silent), {"TIMEOUT_MS": T}, TIMEDOUT, 0, 0),
    ("silent after connect, FTP_RESPONSE_TIMEOUT", dict(greet=silent), {"FTP_RESPONSE_TIMEOUT": 1, "TIMEOUT": 0},
     TIMEDOUT, 0, 0),
    ("close after the greeting", dict(greet=closes_after(b"220 hi\r\n")), {}, pycurl.E_RECV_ERROR, 0, 0),
    ("close mid-reply", dict(PASS=closes_after(b"230-partial\r\n")), {}, pycurl.E_RECV_ERROR, 0, 0),
    ("close mid-line", dict(PASS=closes_after(b"230 parti")), {}, pycurl.E_RECV_ERROR, 0, 0),
    ("close after PASV", dict(PASV=lambda p, a: (pasv_to(p), False)[1]), {}, pycurl.E_RECV_ERROR, 0, 0),
    ("PASV pointing elsewhere, FTP_SKIP_PASV_IP default", dict(PASV=lambda p, a: pasv_to(p, (10, 255, 255, 1))),
     {}, 0, 226, 10),
    ("PASV pointing elsewhere, FTP_SKIP_PASV_IP 0", dict(PASV=lambda p, a: pasv_to(p, (127, 0, 0, 2))),
     {"FTP_SKIP_PASV_IP": 0}, pycurl.E_COULDNT_CONNECT, 227, 0),
    ("PASV with a number over 255 (libcurl scans past it)",
     dict(PASV=b"227 Entering Passive Mode (999,1,1,1,1,1)\r\n"), {}, pycurl.E_COULDNT_CONNECT, 227, 0),
    ("PASV without an address", dict(PASV=b"227 nothing here\r\n"), {}, pycurl.E_FTP_WEIRD_227_FORMAT, 227, 0),
    ("PASV to port 0", dict(PASV=b"227 Entering Passive Mode (127,0,0,1,0,0)\r\n"), {},
     pycurl.E_COULDNT_CONNECT, 227, 0),
    ("PASV answered 200", dict(PASV=b"200 sure\r\n"), {}, pycurl.E_FTP_WEIRD_PASV_REPLY, 200, 0),
    ("EPSV with port 99999", dict(EPSV=b"229 Entering Extended Passive Mode (|||99999|)\r\n"), {},
     pycurl.E_FTP_WEIRD_PASV_REPLY, 229, 0),
    ("EPSV without a port", dict(EPSV=b"229 hmm\r\n"), {}, pycurl.E_FTP_WEIRD_PASV_REPLY, 229, 0),
    ("EPSV to port 0: PASV next", dict(EPSV=b"229 Entering Extended Passive Mode (|||0|)\r\n"), {}, 0, 226, 10),
    ("data connection refused", dict(PASV=refused_pasv), {}, pycurl.E_COULDNT_CONNECT, 227, 0),
    ("data sent forever past SIZE", dict(RETR=retr("forever", final=None)), {"TIMEOUT_MS": T}, TIMEDOUT, 0, 10),
    ("data closes short of SIZE", dict(RETR=retr("short", b"abc"), SIZE=b"213 1000\r\n"), {},
     pycurl.E_PARTIAL_FILE, 150, 3),
    ("data closes short of the 150's size", dict(RETR=retr("short", b"abc", first=b"150 Opening (1000 bytes)\r\n"),
                                                 SIZE=b"500 no\r\n"), {}, pycurl.E_PARTIAL_FILE, 150, 3),
    ("150 then a silent data connection", dict(RETR=retr("silent", final=None)), {"TIMEOUT_MS": T}, TIMEDOUT,
     150, 0),
    ("150 then no data connection", dict(RETR=lambda p, a: (p.send(b"150 here\r\n"), silent(p))[1]),
     {"TIMEOUT_MS": T}, TIMEDOUT, 150, 0),
    ("data but no 226", dict(RETR=retr("short", b"0123456789", final=None)), {"TIMEOUT_MS": T}, TIMEDOUT, 0, 10),
    ("data, then close instead of 226", dict(RETR=lambda p, a: (retr("short", b"0123456789", final=b"")(p, a),
                                                                False)[1]), {}, pycurl.E_RECV_ERROR, 0, 10),
    ("LIST sent forever", dict(LIST=retr("forever", final=None)), {"TIMEOUT_MS": T, "URL_PATH": "/"}, TIMEDOUT,
     150, None),
    ("AUTH TLS accepted, then garbage", dict(AUTH=auth_tls(b"this is not TLS\r\n" * 10)), {"USE_SSL": 3},
     pycurl.E_SSL_CONNECT_ERROR, 234, 0),
    ("AUTH TLS accepted, then silence", dict(AUTH=auth_tls(b"")), {"USE_SSL": 3, "TIMEOUT_MS": T}, TIMEDOUT,
     234, 0),
    ("AUTH TLS accepted, then close", dict(AUTH=lambda p, a: (p.send(b"234 go ahead\r\n"), False)[1]),
     {"USE_SSL": 3}, pycurl.E_SSL_CONNECT_ERROR, 234, 0),
]


@pytest.mark.parametrize("steps, opts, code, rc, nbytes", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_ftp_fault(steps, opts, code, rc, nbytes):
    opts = dict(opts)
    path = opts.pop("URL_PATH", "/f")
    srv = Scripted(ftp_script(**steps))
    try:
        got, got_rc, n, secs = run(srv, srv.url("ftp", path), **opts)
    finally:
        srv.stop()
    assert got == code
    if rc is not None:
        assert got_rc == rc
    if nbytes is not None:
        assert n == nbytes
    assert secs < LIMIT


def test_endless_reply_then_a_good_transfer():
    # The same handle, after a server that answered PASS forever, downloads from a good one.
    bad = Scripted(ftp_script(PASS=endless(b"230-hi\r\n", b"230-more and more\r\n")))
    good = Scripted(ftp_script())
    try:
        c = pycurl.Curl()
        c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
        c.setopt(pycurl.URL, bad.url("ftp", "/f"))
        c.setopt(pycurl.TIMEOUT_MS, T)
        with pytest.raises(pycurl.error) as e:
            c.perform()
        assert e.value.args[0] == TIMEDOUT
        c.setopt(pycurl.URL, good.url("ftp", "/f"))
        c.perform()
        assert c.getinfo(pycurl.RESPONSE_CODE) == 226 and c.getinfo(pycurl.SIZE_DOWNLOAD_T) == 10
        c.close()
    finally:
        bad.stop()
        good.stop()


# -- DICT and Gopher ------------------------------------------------------------------------------

def dict_forever(peer):
    peer.send(b"220 dict\r\n")
    peer.flood(b"151 lots of words here\r\n" * 100)


def gopher_forever(peer):
    peer.line()
    peer.flood(b"iline\tfake\t(NULL)\t0\r\n" * 100)


PROTO_ROWS = [
    ("dict: sends forever", dict_forever, "dict", "/d:hello", TIMEDOUT),
    ("dict: silent", silent, "dict", "/d:hello", TIMEDOUT),
    ("dict: a line that never ends", lambda p: (p.send(b"220 "), p.flood(b"x" * 65536)), "dict", "/d:hello",
     TIMEDOUT),
    ("gopher: sends forever", gopher_forever, "gopher", "/1/x", TIMEDOUT),
    ("gopher: silent", silent, "gopher", "/1/x", TIMEDOUT),
    ("gopher: closes after the selector", lambda p: p.line(), "gopher", "/1/x", 0),
]


@pytest.mark.parametrize("script, scheme, path, code", [r[1:] for r in PROTO_ROWS], ids=[r[0] for r in PROTO_ROWS])
def test_dict_gopher_fault(script, scheme, path, code):
    srv = Scripted(script)
    try:
        got, _, _, secs = run(srv, srv.url(scheme, path), TIMEOUT_MS=T)
    finally:
        srv.stop()
    assert got == code
    assert secs < LIMIT
