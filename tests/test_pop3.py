"""pop3:// and pop3s:// against Debian's dovecot on loopback: listings, RETR with dot-unstuffing,
custom commands, logins (SASL, USER/PASS), STLS and implicit TLS, and the multi interface. What
is checked was observed with real pycurl (libcurl 8) on the same server."""

import base64

import pytest

import pycurl

import mailservers
from helpers import perform, perform_all, perform_error, sent, trace

ONE = b"Subject: one\r\n\r\nfirst body\r\n.dotted\r\n"
TWO = b"Subject: two\r\n\r\nsecond\r\n"
WEIRD_SERVER_REPLY = 8  # pycurl has no constant for it


@pytest.fixture(scope="module")
def dovecot(certs):
    srv = mailservers.start_dovecot(certs)
    srv.deliver([ONE, TWO])
    yield srv
    srv.stop()


def test_list(curl, dovecot):
    t = trace(curl)
    body, headers = perform(curl, dovecot.url("pop3", "/"))
    assert body == b"1 %d\r\n2 %d\r\n" % (len(ONE), len(TWO))
    assert sent(t)[0] == b"CAPA\r\n"
    assert sent(t)[1] == b"AUTH CRAM-MD5\r\n"
    assert sent(t)[-1] == b"LIST\r\n"
    assert headers[0].startswith(b"+OK") and headers[-1].startswith(b"+OK 2 messages")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 0


def test_retr_unstuffs(curl, dovecot):
    body, headers = perform(curl, dovecot.url("pop3", "/1"))
    assert body == ONE
    # The message's lines are the body only.
    assert not any(h.startswith(b"Subject") for h in headers)
    assert headers[-1] == b"+OK %d octets\r\n" % len(ONE)


def test_list_one_with_dirlistonly(curl, dovecot):
    t = trace(curl)
    body, headers = perform(curl, dovecot.url("pop3", "/1"), DIRLISTONLY=1)
    assert sent(t)[-1] == b"LIST 1\r\n"
    assert body == b"" and headers[-1] == b"+OK 1 %d\r\n" % len(ONE)


def test_missing_message(curl, dovecot):
    assert perform_error(curl, dovecot.url("pop3", "/9")) == (WEIRD_SERVER_REPLY, "Weird server reply")


def test_custom_command_with_nobody(curl, dovecot):
    t = trace(curl)
    body, headers = perform(curl, dovecot.url("pop3", "/"), CUSTOMREQUEST="STAT", NOBODY=1)
    assert sent(t)[-1] == b"STAT\r\n"
    assert body == b"" and headers[-1] == b"+OK 2 %d\r\n" % (len(ONE) + len(TWO))


def test_wrong_password(curl, dovecot):
    err = perform_error(curl, dovecot.url("pop3", "/1", auth="user:bad@"))
    assert err == (pycurl.E_LOGIN_DENIED, "Login denied")


@pytest.mark.parametrize("mech,cmds", [
    ("AUTH=LOGIN", [b"AUTH LOGIN\r\n", b"dXNlcg==\r\n", b"c2VjcmV0\r\n"]),
    ("AUTH=PLAIN", [b"AUTH PLAIN\r\n", b"AHVzZXIAc2VjcmV0\r\n"]),
])
def test_sasl_mechanisms(curl, dovecot, mech, cmds):
    t = trace(curl)
    body, _ = perform(curl, dovecot.url("pop3", "/2"), LOGIN_OPTIONS=mech)
    assert sent(t)[1:1 + len(cmds)] == cmds
    assert body == TWO


def test_stls(curl, dovecot, certs):
    t = trace(curl)
    body, _ = perform(curl, dovecot.url("pop3", "/2"), USE_SSL=pycurl.USESSL_ALL, CAINFO=certs.ca_pem)
    assert sent(t)[:3] == [b"CAPA\r\n", b"STLS\r\n", b"CAPA\r\n"]
    assert body == TWO


def test_pop3s(curl, dovecot, certs):
    t = trace(curl)
    body, _ = perform(curl, dovecot.url("pop3s", "/1"), CAINFO=certs.ca_pem)
    assert b"STLS\r\n" not in sent(t)
    assert body == ONE


def test_multi(dovecot):
    m = pycurl.CurlMulti()
    bufs = []
    for n in (1, 2):
        c = pycurl.Curl()
        c.setopt(pycurl.URL, dovecot.url("pop3", f"/{n}"))
        b = []
        c.setopt(pycurl.WRITEFUNCTION, b.append)
        m.add_handle(c)
        bufs.append((c, b))
    perform_all(m, 2)
    assert [b"".join(b) for _, b in bufs] == [ONE, TWO]
    for c, _ in bufs:
        m.remove_handle(c)
        c.close()
    m.close()


def test_connection_reuse_forbid_reuse_and_fresh_connect(dovecot):
    relay = mailservers.Relay(dovecot.ports["pop3"])
    url = f"pop3://user:secret@127.0.0.1:{relay.port}"
    c = pycurl.Curl()
    t = trace(c)
    try:
        assert perform(c, url + "/1")[0] == ONE
        del t[:]
        perform(c, url + "/")
        assert sent(t) == [b"LIST\r\n"] and c.getinfo(pycurl.NUM_CONNECTS) == 0
        # FORBID_REUSE: the connection serves this transfer, then hears QUIT.
        assert perform(c, url + "/2", FORBID_REUSE=1)[0] == TWO
        assert (pycurl.INFOTYPE_TEXT, b"shutting down connection #0\n") in t
        c.setopt(pycurl.FORBID_REUSE, 0)
        # A refused command fails the transfer: QUIT, and the connection is closed.
        perform(c, url + "/1")
        assert c.getinfo(pycurl.NUM_CONNECTS) == 1
        assert perform_error(c, url + "/9")[0] == WEIRD_SERVER_REPLY
        assert (pycurl.INFOTYPE_TEXT, b"shutting down connection #1\n") in t
        perform(c, url + "/1")
        # FRESH_CONNECT: a new connection; the pooled one stays until the handle closes.
        perform(c, url + "/1", FRESH_CONNECT=1)
        assert c.getinfo(pycurl.NUM_CONNECTS) == 1
        c.close()
        conns = relay.seen()
        assert [x[3:] for x in conns] == [
            [b"RETR 1\r\n", b"LIST\r\n", b"RETR 2\r\n", b"QUIT\r\n", b"EOF"],
            [b"RETR 1\r\n", b"RETR 9\r\n", b"QUIT\r\n", b"EOF"],
            [b"RETR 1\r\n", b"QUIT\r\n", b"EOF"],
            [b"RETR 1\r\n", b"QUIT\r\n", b"EOF"],
        ]
    finally:
        relay.stop()


def test_digest_md5():
    srv = mailservers.start_dovecot(mechanisms="plain cram-md5 digest-md5")
    try:
        srv.deliver([ONE])
        c = pycurl.Curl()
        t = trace(c)
        assert perform(c, srv.url("pop3", "/1"))[0] == ONE
        cmds = sent(t)
        assert cmds[1] == b"AUTH DIGEST-MD5\r\n" and b'digest-uri="pop/127.0.0.1"' in base64.b64decode(cmds[2])
        assert cmds[3:] == [b"\r\n", b"RETR 1\r\n"]
        c.close()
    finally:
        srv.stop()
