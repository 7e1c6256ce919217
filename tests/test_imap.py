"""imap:// and imaps:// against Debian's dovecot on loopback: LIST, SELECT and FETCH by UID,
index and section (the literal is the body), SEARCH, custom commands, APPEND by upload, logins,
STARTTLS and implicit TLS. What is checked was observed with real pycurl (libcurl 8) on the same
server."""

import base64
import io
import re

import pytest

import pycurl

import mailservers
from helpers import SocketActionDriver, perform, perform_error, sent, trace

ONE = b"Subject: one\r\n\r\nfirst body\r\n.dotted\r\n"
TWO = b"Subject: two\r\n\r\nsecond\r\n"
QUOTE_ERROR = 21


@pytest.fixture(scope="module")
def dovecot(certs):
    srv = mailservers.start_dovecot(certs)
    srv.deliver([ONE, TWO])
    yield srv
    srv.stop()


def test_list(curl, dovecot):
    t = trace(curl)
    body, headers = perform(curl, dovecot.url("imap", "/"))
    assert body == b'* LIST (\\HasNoChildren) "." INBOX\r\n'
    assert sent(t)[0] == b"A001 CAPABILITY\r\n"
    assert sent(t)[1] == b"A002 AUTHENTICATE CRAM-MD5\r\n"
    assert sent(t)[-1] == b'A003 LIST "" *\r\n'
    assert headers[0].startswith(b"* OK") and headers[-1].startswith(b"A003 OK")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 0


def test_fetch_by_uid(curl, dovecot):
    t = trace(curl)
    body, headers = perform(curl, dovecot.url("imap", "/INBOX/;UID=1"))
    assert body == ONE
    assert sent(t)[-2:] == [b"A003 SELECT INBOX\r\n", b"A004 UID FETCH 1 BODY[]\r\n"]
    assert headers[-3].startswith(b"* 1 FETCH (") and headers[-3].endswith(b"BODY[] {%d}\r\n" % len(ONE))
    assert headers[-2:] == [b")\r\n", headers[-1]] and headers[-1].startswith(b"A004 OK")
    assert (pycurl.INFOTYPE_TEXT, b"Found %d bytes to download\n" % len(ONE)) in t


def test_fetch_by_index_and_section(curl, dovecot):
    t = trace(curl)
    body, _ = perform(curl, dovecot.url("imap", "/INBOX;MAILINDEX=2/;SECTION=TEXT"))
    assert sent(t)[-1] == b"A004 FETCH 2 BODY[TEXT]\r\n"
    assert body == b"second\r\n"


def test_search(curl, dovecot):
    body, _ = perform(curl, dovecot.url("imap", "/INBOX?ALL"))
    assert body.startswith(b"* SEARCH 1 2")


def test_custom_examine(curl, dovecot):
    body, _ = perform(curl, dovecot.url("imap", "/INBOX"), CUSTOMREQUEST="EXAMINE INBOX")
    lines = body.splitlines()
    assert b"* 2 EXISTS" in lines and b"* OK [CLOSED] Previous mailbox closed." in lines


def test_missing_uid(curl, dovecot):
    err = perform_error(curl, dovecot.url("imap", "/INBOX/;UID=7"))
    assert err == (pycurl.E_REMOTE_FILE_NOT_FOUND, "Remote file not found")


def test_wrong_password(curl, dovecot):
    err = perform_error(curl, dovecot.url("imap", "/INBOX/;UID=1", auth="user:bad@"))
    assert err == (pycurl.E_LOGIN_DENIED, "Login denied")


def test_plain_login_command(curl, dovecot):
    t = trace(curl)
    body, _ = perform(curl, dovecot.url("imap", "/INBOX/;UID=2"), LOGIN_OPTIONS="AUTH=+LOGIN")
    assert sent(t)[1] == b"A002 LOGIN user secret\r\n"
    assert body == TWO


def test_plain_login_refused(curl, dovecot):
    err = perform_error(curl, dovecot.url("imap", "/INBOX/;UID=1", auth="user:bad@"), LOGIN_OPTIONS="AUTH=+LOGIN")
    # libcurl formats its "not OK" status (2) with %c.
    assert err == (pycurl.E_LOGIN_DENIED, "Access denied. \x02")


def test_pop3_style_option_is_refused_for_imap(curl, dovecot):
    err = perform_error(curl, dovecot.url("imap", "/"), LOGIN_OPTIONS="AUTH=+APOP")
    assert err[0] == pycurl.E_URL_MALFORMAT


def test_sasl_ir_when_the_server_has_it(curl, dovecot):
    t = trace(curl)
    perform(curl, dovecot.url("imap", "/"), LOGIN_OPTIONS="AUTH=PLAIN")
    assert sent(t)[1] == b"A002 AUTHENTICATE PLAIN AHVzZXIAc2VjcmV0\r\n"


def test_missing_mailbox(curl, dovecot):
    err = perform_error(curl, dovecot.url("imap", "/Nope/;UID=1"))
    assert err == (pycurl.E_LOGIN_DENIED, "Select failed")


@pytest.mark.parametrize("custom", ["BOGUS", "FETCH 9 BODY[]"])
def test_custom_command_refused(curl, dovecot, custom):
    err = perform_error(curl, dovecot.url("imap", "/INBOX"), CUSTOMREQUEST=custom)
    assert err == (QUOTE_ERROR, "Quote command returned error")


def test_bad_url_parameter(curl, dovecot):
    err = perform_error(curl, dovecot.url("imap", "/INBOX;FOO=1"))
    assert err[0] == pycurl.E_URL_MALFORMAT


def test_append(curl, dovecot):
    msg = b"Subject: up\r\n\r\nappended\r\n"
    t = trace(curl)
    curl.setopt(pycurl.UPLOAD, 1)
    curl.setopt(pycurl.READFUNCTION, io.BytesIO(msg).read)
    curl.setopt(pycurl.INFILESIZE, len(msg))
    perform(curl, dovecot.url("imap", "/INBOX"))
    assert sent(t)[-2:] == [b"A003 APPEND INBOX (\\Seen) {%d}\r\n" % len(msg), b"\r\n"]
    c2 = pycurl.Curl()
    try:
        body, _ = perform(c2, dovecot.url("imap", "/INBOX/;UID=3"))
    finally:
        c2.close()
    assert body == msg


def test_append_short_input(curl, dovecot):
    curl.setopt(pycurl.UPLOAD, 1)
    curl.setopt(pycurl.READFUNCTION, io.BytesIO(b"short").read)
    curl.setopt(pycurl.INFILESIZE, 9)
    err = perform_error(curl, dovecot.url("imap", "/INBOX"))
    assert err == (pycurl.E_READ_ERROR, "client read function EOF fail, only 5/9 of needed bytes read")


def test_starttls(curl, dovecot, certs):
    t = trace(curl)
    body, _ = perform(curl, dovecot.url("imap", "/INBOX/;UID=1"), USE_SSL=pycurl.USESSL_ALL, CAINFO=certs.ca_pem)
    assert sent(t)[:3] == [b"A001 CAPABILITY\r\n", b"A002 STARTTLS\r\n", b"A003 CAPABILITY\r\n"]
    assert body == ONE


def test_imaps(curl, dovecot, certs):
    body, _ = perform(curl, dovecot.url("imaps", "/INBOX/;UID=2"), CAINFO=certs.ca_pem)
    assert body == TWO


def test_socket_action(dovecot):
    m = pycurl.CurlMulti()
    drive = SocketActionDriver(m)
    handles = []
    for uid in (1, 2):
        c = pycurl.Curl()
        c.buf = io.BytesIO()
        c.setopt(pycurl.URL, dovecot.url("imap", f"/INBOX/;UID={uid}"))
        c.setopt(pycurl.WRITEDATA, c.buf)
        m.add_handle(c)
        handles.append(c)
    running = drive.run()
    assert not running
    assert [c.buf.getvalue() for c in handles] == [ONE, TWO]
    # A third transfer takes an idle connection from the multi's pool: INBOX is selected there.
    for c in handles:
        m.remove_handle(c)
    c = pycurl.Curl()
    c.buf = io.BytesIO()
    t = trace(c)
    c.setopt(pycurl.URL, dovecot.url("imap", "/INBOX/;UID=2"))
    c.setopt(pycurl.WRITEDATA, c.buf)
    m.add_handle(c)
    assert not drive.run()
    assert c.buf.getvalue() == TWO and c.getinfo(pycurl.NUM_CONNECTS) == 0
    assert len(sent(t)) == 1 and sent(t)[0][1:] == b"005 UID FETCH 2 BODY[]\r\n"
    m.remove_handle(c)
    c.close()
    for c in handles:
        c.close()
    m.close()


@pytest.fixture
def relay(dovecot):
    r = mailservers.Relay(dovecot.ports["imap"])
    yield r
    r.stop()


def relay_url(relay, path, auth="user:secret@"):
    return f"imap://{auth}127.0.0.1:{relay.port}{path}"


def test_connection_reused_select_only_when_the_mailbox_changes(relay):
    c = pycurl.Curl()
    t = trace(c)
    assert perform(c, relay_url(relay, "/INBOX/;UID=1"))[0] == ONE
    assert (pycurl.INFOTYPE_TEXT, b"Connection #0 to host 127.0.0.1:%d left intact\n" % relay.port) in t
    del t[:]
    assert perform(c, relay_url(relay, "/INBOX/;UID=2"))[0] == TWO
    assert sent(t) == [b"A005 UID FETCH 2 BODY[]\r\n"]
    assert (pycurl.INFOTYPE_TEXT, b"Reusing existing imap: connection with host 127.0.0.1\n") in t
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    # A LIST selects nothing: INBOX stays selected for the FETCH and the custom command after it.
    perform(c, relay_url(relay, "/"))
    perform(c, relay_url(relay, "/INBOX/;UID=1"))
    perform(c, relay_url(relay, "/INBOX"), CUSTOMREQUEST="NOOP")
    c.setopt(pycurl.CUSTOMREQUEST, None)
    # Another UIDVALIDITY selects again; the mismatch fails the transfer and closes the connection.
    err = perform_error(c, relay_url(relay, "/INBOX;UIDVALIDITY=1/;UID=1"))
    assert err == (pycurl.E_REMOTE_FILE_NOT_FOUND, "Mailbox UIDVALIDITY has changed")
    assert perform(c, relay_url(relay, "/INBOX/;UID=1"))[0] == ONE
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    c.close()
    first, second = relay.seen()
    assert first[4:] == [b"A004 UID FETCH 1 BODY[]\r\n", b"A005 UID FETCH 2 BODY[]\r\n", b'A006 LIST "" *\r\n',
                         b"A007 UID FETCH 1 BODY[]\r\n", b"A008 NOOP\r\n", b"A009 SELECT INBOX\r\n",
                         b"A010 LOGOUT\r\n", b"EOF"]
    # The server hears LOGOUT when the handle closes its pooled connection.
    assert second[-3:] == [b"B004 UID FETCH 1 BODY[]\r\n", b"B005 LOGOUT\r\n", b"EOF"]


def test_failed_login_closes_without_logout(relay):
    c = pycurl.Curl()
    assert perform_error(c, relay_url(relay, "/", auth="user:bad@"))[0] == pycurl.E_LOGIN_DENIED
    c.close()
    ((*_, last, end),) = relay.seen()
    assert last.startswith(b"dXNlci") and end == b"EOF"


@pytest.fixture(scope="module")
def dovecot_digest():
    """A second dovecot, offering DIGEST-MD5, its INBOX empty (APPEND tests add to it)."""
    srv = mailservers.start_dovecot(mechanisms="plain login cram-md5 digest-md5")
    srv.deliver([])
    yield srv
    srv.stop()


def test_digest_md5_is_preferred(curl, dovecot_digest):
    t = trace(curl)
    body, _ = perform(curl, dovecot_digest.url("imap", "/"))
    assert body == b'* LIST (\\HasNoChildren) "." INBOX\r\n'
    cmds = sent(t)
    assert cmds[1] == b"A002 AUTHENTICATE DIGEST-MD5\r\n"
    answer = dict(kv.split("=", 1) for kv in base64.b64decode(cmds[2]).decode().split(","))
    assert (answer["username"], answer["realm"], answer["nc"], answer["qop"]) == ('"user"', '""', '"00000001"', "auth")
    assert answer["digest-uri"] == '"imap/127.0.0.1"' and len(answer["cnonce"]) == 34 and len(answer["response"]) == 32
    # The server's rspauth is answered with an empty line.
    assert cmds[3:] == [b"\r\n", b'A003 LIST "" *\r\n']


def test_service_name_is_digest_md5s_service(curl, dovecot_digest):
    # SERVICE_NAME replaces the protocol's own service in the digest-uri DIGEST-MD5 answers with.
    t = trace(curl)
    curl.setopt(pycurl.SERVICE_NAME, "mailsvc")
    try:
        perform(curl, dovecot_digest.url("imap", "/"))
    except pycurl.error:
        pass  # whether the server takes another service is its own business
    cmds = sent(t)
    assert cmds[1] == b"A002 AUTHENTICATE DIGEST-MD5\r\n"
    answer = dict(kv.split("=", 1) for kv in base64.b64decode(cmds[2]).decode().split(","))
    assert answer["digest-uri"] == '"mailsvc/127.0.0.1"'


def test_digest_md5_wrong_password_and_login_options(curl, dovecot_digest):
    assert perform_error(curl, dovecot_digest.url("imap", "/", auth="user:bad@")) == (pycurl.E_LOGIN_DENIED,
                                                                                      "Login denied")
    t = trace(curl)
    perform(curl, dovecot_digest.url("imap", "/"), LOGIN_OPTIONS="AUTH=CRAM-MD5")
    assert sent(t)[1] == b"B002 AUTHENTICATE CRAM-MD5\r\n"


def test_append_mimepost(curl, dovecot_digest):
    m = pycurl.CurlMime(curl)
    p = m.addpart()
    p.data(b"mime body")
    p.type("text/plain")
    t = trace(curl)
    curl.setopt(pycurl.MIMEPOST, m)
    curl.setopt(pycurl.HTTPHEADER, ["Subject: mime"])
    perform(curl, dovecot_digest.url("imap", "/INBOX"))
    append = sent(t)[-2]
    size = int(append[append.index(b"{") + 1:-3])
    assert append == b"A003 APPEND INBOX (\\Seen) {%d}\r\n" % size
    c2 = pycurl.Curl()
    try:
        body, _ = perform(c2, dovecot_digest.url("imap", "/INBOX/;UID=1"))
    finally:
        c2.close()
    assert len(body) == size
    assert re.fullmatch(
        rb"Content-Type: multipart/mixed; boundary=(-{24}\w{22})\r\nMime-Version: 1\.0\r\nSubject: mime\r\n\r\n"
        rb"--\1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nmime body\r\n--\1--\r\n", body)


def test_append_mimepost_of_unknown_size(curl, dovecot_digest):
    m = pycurl.CurlMime(curl)
    p = m.addpart()
    p.data(b"=")
    p.encoder("quoted-printable")
    curl.setopt(pycurl.MIMEPOST, m)
    err = perform_error(curl, dovecot_digest.url("imap", "/INBOX"))
    assert err == (pycurl.E_UPLOAD_FAILED, "Cannot APPEND with unknown input file size")


def test_pool_limit_closes_with_logout(dovecot):
    relays = [mailservers.Relay(dovecot.ports["imap"]) for _ in range(2)]
    c = pycurl.Curl()
    try:
        perform(c, relay_url(relays[0], "/"))
        c.setopt(pycurl.MAXCONNECTS, 1)
        perform(c, relay_url(relays[1], "/"))
        # Keeping the second connection closes the first: the server hears LOGOUT.
        assert relays[0].seen()[0][-3:] == [b'A003 LIST "" *\r\n', b"A004 LOGOUT\r\n", b"EOF"]
        assert relays[1].seen()[0][-1] == b'B003 LIST "" *\r\n'
        c.close()
        assert relays[1].seen()[0][-2:] == [b"B004 LOGOUT\r\n", b"EOF"]
    finally:
        for r in relays:
            r.stop()
