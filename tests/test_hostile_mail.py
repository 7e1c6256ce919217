"""The fault matrix for SMTP, POP3 and IMAP servers (tests/hostile_proto.py's scripted servers):
greetings and capability lists that never end, lines of megabytes, literals announced and never
sent, message bodies without their end, SASL exchanges that loop or are not base64, STARTTLS
accepted and then answered in clear text.

Each row: libcurl's code and the bytes the write callback got, as real pycurl gives them
(`/tmp/ref/bin/python -m pytest tests/test_hostile_mail.py` passes too), within LIMIT seconds.
"""
import io

import pytest

import pycurl

from helpers import run_scripted
from hostile_proto import Scripted, line_script

E_TOO_LARGE = 100  # pycurl 7.49 has no constant for it
T = 800  # TIMEOUT_MS of the rows that end in a timeout
LIMIT = 3.0
TIMEDOUT = pycurl.E_OPERATION_TIMEDOUT
LOGIN = {"USERNAME": "u", "PASSWORD": "p"}


def run(srv, url, **opts):
    """Performs ``url``; returns (code, bytes written, seconds)."""
    code, _, n, secs = run_scripted(srv, url, **opts)
    return code, n, secs


def flood_after(first, chunk):
    def f(peer, line=None):
        peer.send(first)
        peer.flood(chunk)
        return False

    return f


def then_silent(*sends):
    def f(peer, line=None):
        for s in sends:
            peer.send(s)
        peer.wait_close()
        return False

    return f


def then_close(data):
    def f(peer, line=None):
        peer.send(data)
        return False

    return f


def loop_forever(challenge):
    """A SASL step that answers every client line with ``challenge`` again."""

    def f(peer, line):
        while True:
            peer.send(challenge)
            peer.line()

    return f


def not_base64(challenge, final):
    def f(peer, line):
        peer.send(challenge)
        peer.line()
        peer.send(final(line) if callable(final) else final)

    return f


# -- SMTP -----------------------------------------------------------------------------------------

def smtp_data(peer, line):
    peer.send(b"354 go\r\n")
    while peer.line() != b".":
        pass
    peer.send(b"250 queued\r\n")


SMTP_OK = [(b"EHLO", b"250-hostile\r\n250 AUTH PLAIN LOGIN\r\n"), (b"HELO", b"250 hi\r\n"),
           (b"MAIL", b"250 ok\r\n"), (b"RCPT", b"250 ok\r\n"), (b"DATA", smtp_data),
           (b"QUIT", then_close(b"221 bye\r\n"))]


def smtp(greet=b"220 hostile smtp\r\n", **over):
    return line_script(greet, [(k.encode(), v) for k, v in over.items()] + SMTP_OK, b"500 what\r\n")


def upload(**o):
    d = dict(UPLOAD=1, READFUNCTION=io.BytesIO(b"Subject: hi\r\n\r\nbody\r\n").read, MAIL_FROM="<a@b>",
             MAIL_RCPT=["<c@d>"])
    d.update(o)
    return d


STARTTLS = b"250-hostile\r\n250 STARTTLS\r\n"
SMTP_ROWS = [
    ("endless greeting", smtp(greet=flood_after(b"220-hi\r\n", b"220-more more more\r\n")), {"TIMEOUT_MS": T},
     TIMEDOUT),
    ("endless EHLO list", smtp(EHLO=flood_after(b"250-hostile\r\n", b"250-SIZE 1000 more\r\n")), {"TIMEOUT_MS": T},
     TIMEDOUT),
    ("greeting line that never ends", smtp(greet=flood_after(b"220 ", b"x" * 65536)), {}, E_TOO_LARGE),
    ("greeting without a code", smtp(greet=b"hello\r\n"), {"TIMEOUT_MS": T}, TIMEDOUT),
    ("close after the greeting", smtp(EHLO=lambda p, l: False), {}, pycurl.E_RECV_ERROR),
    ("AUTH answered 334 forever", smtp(AUTH=loop_forever(b"334 VXNlcm5hbWU6\r\n")),
     dict(LOGIN, LOGIN_OPTIONS="AUTH=LOGIN"), pycurl.E_LOGIN_DENIED),
    ("SASL challenge not base64", smtp(AUTH=not_base64(b"334 !!not base64!!\r\n", b"535 no\r\n")),
     dict(LOGIN, LOGIN_OPTIONS="AUTH=LOGIN"), pycurl.E_LOGIN_DENIED),
    ("STARTTLS accepted, then clear text", smtp(EHLO=STARTTLS, STARTTLS=then_silent(b"220 go\r\n", b"250 ok\r\n" * 5)),
     {"USE_SSL": 3}, pycurl.E_SSL_CONNECT_ERROR),
    ("STARTTLS accepted, then silence", smtp(EHLO=STARTTLS, STARTTLS=then_silent(b"220 go\r\n")),
     {"USE_SSL": 3, "TIMEOUT_MS": T}, TIMEDOUT),
    ("silent after 354", smtp(DATA=then_silent(b"354 go\r\n")), {"TIMEOUT_MS": T}, TIMEDOUT),
]


@pytest.mark.parametrize("script, opts, code", [r[1:] for r in SMTP_ROWS], ids=[r[0] for r in SMTP_ROWS])
def test_smtp_fault(script, opts, code):
    srv = Scripted(script)
    try:
        got, _, secs = run(srv, srv.url("smtp", "/"), **upload(**opts))
    finally:
        srv.stop()
    assert got == code
    assert secs < LIMIT


# -- POP3 -----------------------------------------------------------------------------------------

def pop_auth(peer, line):
    peer.send(b"+ \r\n")
    peer.line()
    peer.send(b"+OK in\r\n")


POP_OK = [(b"AUTH", pop_auth), (b"CAPA", b"+OK\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"), (b"USER", b"+OK\r\n"),
          (b"PASS", b"+OK\r\n"), (b"RETR", b"+OK\r\nSubject: x\r\n\r\nhello\r\n.\r\n"),
          (b"QUIT", then_close(b"+OK bye\r\n"))]


def pop(greet=b"+OK hostile pop3\r\n", **over):
    return line_script(greet, [(k.encode(), v) for k, v in over.items()] + POP_OK, b"-ERR what\r\n")


MESSAGE = b"+OK\r\nSubject: x\r\n\r\nhello\r\n"  # no "." line: 19 bytes, its last CRLF held back
POP_ROWS = [
    ("a good server", pop(), {}, 0, 21),
    ("greeting line that never ends", pop(greet=flood_after(b"+OK ", b"x" * 65536)), {}, E_TOO_LARGE, 0),
    ("greeting without +OK", pop(greet=b"hello\r\n"), {"TIMEOUT_MS": T}, TIMEDOUT, 0),
    ("endless CAPA list", pop(CAPA=flood_after(b"+OK\r\n", b"USER and more\r\n")), {"TIMEOUT_MS": T}, TIMEDOUT, 0),
    ("RETR without the final dot, then close", pop(RETR=then_close(MESSAGE)), {}, 0, 19),
    ("RETR without the final dot, then silence", pop(RETR=then_silent(MESSAGE)), {"TIMEOUT_MS": T}, TIMEDOUT, 19),
    ("RETR sent forever", pop(RETR=flood_after(b"+OK\r\n", b"line line line\r\n")), {"TIMEOUT_MS": T}, TIMEDOUT,
     None),
    ("AUTH answered + forever", pop(AUTH=loop_forever(b"+ VXNlcm5hbWU6\r\n")), {"LOGIN_OPTIONS": "AUTH=LOGIN"},
     pycurl.E_LOGIN_DENIED, 0),
    ("SASL challenge not base64", pop(AUTH=not_base64(b"+ !!not base64!!\r\n", b"-ERR no\r\n")),
     {"LOGIN_OPTIONS": "AUTH=LOGIN"}, pycurl.E_LOGIN_DENIED, 0),
    ("STLS accepted, then clear text",
     pop(CAPA=b"+OK\r\nSTLS\r\nUSER\r\n.\r\n", STLS=then_silent(b"+OK go\r\n", b"+OK plain\r\n" * 5)),
     {"USE_SSL": 3}, pycurl.E_SSL_CONNECT_ERROR, 0),
]


@pytest.mark.parametrize("script, opts, code, nbytes", [r[1:] for r in POP_ROWS], ids=[r[0] for r in POP_ROWS])
def test_pop3_fault(script, opts, code, nbytes):
    srv = Scripted(script)
    try:
        got, n, secs = run(srv, srv.url("pop3", "/1"), **LOGIN, **opts)
    finally:
        srv.stop()
    assert got == code
    if nbytes is not None:
        assert n == nbytes
    assert secs < LIMIT


# -- IMAP -----------------------------------------------------------------------------------------

def imap(greet=b"* OK hostile imap\r\n", **over):
    """An IMAP server for one FETCH; ``over`` replaces the answer to a command (bytes with TAG
    for its tag, or a function given the peer and the line)."""

    def dispatch(peer, line):
        parts = line.split(b" ")
        tag, cmd = parts[0], (parts[1].upper() if len(parts) > 1 else b"")
        h = over.get(cmd.decode("latin-1"))
        if h is not None:
            if callable(h):
                return h(peer, line)
            peer.send(h.replace(b"TAG", tag))
        elif cmd == b"CAPABILITY":
            peer.send(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN STARTTLS\r\n" + tag + b" OK\r\n")
        elif cmd == b"AUTHENTICATE":
            peer.send(b"+ \r\n")
            peer.line()
            peer.send(tag + b" OK logged in\r\n")
        elif cmd == b"SELECT":
            peer.send(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 1]\r\n" + tag + b" OK [READ-WRITE] done\r\n")
        elif cmd == b"FETCH":
            peer.send(b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGOUT":
            peer.send(b"* BYE\r\n" + tag + b" OK\r\n")
            return False
        else:
            peer.send(tag + b" BAD what\r\n")

    return line_script(greet, [(b"", dispatch)])


def literal(n, payload=b"", then="silent"):
    def f(peer, line):
        peer.send(b"* 1 FETCH (BODY[] {%d}\r\n" % n + payload)
        if then == "silent":
            peer.wait_close()
        return False

    return f


def big_literal(peer, line):
    tag = line.split(b" ", 1)[0]
    peer.send(b"* 1 FETCH (BODY[] {%d}\r\n" % (20 << 20))
    chunk = b"y" * (1 << 20)
    for _ in range(20):
        peer.send(chunk)
    peer.send(b")\r\n" + tag + b" OK done\r\n")


IMAP_ROWS = [
    ("a good server", imap(), {}, 0, 5),
    ("literal {999999999} never sent", imap(FETCH=literal(999999999)), {"TIMEOUT_MS": T}, TIMEDOUT, 0),
    ("literal cut by a close", imap(FETCH=literal(999999999, b"abc", then="close")), {}, pycurl.E_PARTIAL_FILE, 3),
    ("literal of 20 MiB", imap(FETCH=big_literal), {}, 0, 20 << 20),
    ("greeting line that never ends", imap(greet=flood_after(b"* OK ", b"x" * 65536)), {}, E_TOO_LARGE, 0),
    ("greeting without a star", imap(greet=b"hello\r\n"), {"TIMEOUT_MS": T}, TIMEDOUT, 0),
    ("endless CAPABILITY", imap(CAPABILITY=flood_after(b"* CAPABILITY IMAP4rev1\r\n", b"* CAPABILITY X-MORE\r\n")),
     {"TIMEOUT_MS": T}, TIMEDOUT, 0),
    ("endless untagged lines during AUTHENTICATE",
     imap(AUTHENTICATE=flood_after(b"* OK hi\r\n", b"* OK still going\r\n")), {"TIMEOUT_MS": T}, TIMEDOUT, 0),
    ("AUTHENTICATE answered + forever", imap(AUTHENTICATE=loop_forever(b"+ \r\n")), {}, pycurl.E_LOGIN_DENIED, 0),
    ("SASL challenge not base64",
     imap(CAPABILITY=b"* CAPABILITY IMAP4rev1 AUTH=LOGIN\r\nTAG OK\r\n",
          AUTHENTICATE=not_base64(b"+ !!not base64!!\r\n", lambda l: l.split(b" ", 1)[0] + b" NO\r\n")),
     {"LOGIN_OPTIONS": "AUTH=LOGIN"}, pycurl.E_LOGIN_DENIED, 0),
    ("STARTTLS accepted, then clear text", imap(STARTTLS=lambda p, l: then_silent(
        l.split(b" ")[0] + b" OK go\r\n", b"* OK plain\r\n" * 5)(p)), {"USE_SSL": 3}, pycurl.E_SSL_CONNECT_ERROR, 0),
]


@pytest.mark.parametrize("script, opts, code, nbytes", [r[1:] for r in IMAP_ROWS], ids=[r[0] for r in IMAP_ROWS])
def test_imap_fault(script, opts, code, nbytes):
    srv = Scripted(script)
    try:
        got, n, secs = run(srv, srv.url("imap", "/INBOX/;MAILINDEX=1"), **LOGIN, **opts)
    finally:
        srv.stop()
    assert got == code
    assert n == nbytes
    assert secs < LIMIT
