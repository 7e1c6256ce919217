"""smtp:// and smtps:// against aiosmtpd on loopback: sending with SASL logins, the envelope,
dot-stuffing, refused recipients, commands without an upload, STARTTLS and implicit TLS, and the
multi interfaces. What is checked was observed with real pycurl (libcurl 8) on the same server."""

import io
import re

import pytest

import pycurl

import mailservers
from helpers import SocketActionDriver, perform, perform_all, perform_error, sent, trace

MAIL_RCPT_ALLOWFAILS = 290
WEIRD_SERVER_REPLY = 8  # pycurl has no constant for it


@pytest.fixture(scope="module")
def smtp(tmp_path_factory, certs):
    srv = mailservers.start_smtp(tmp_path_factory.mktemp("spool"), certs=certs)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def smtp_plain(tmp_path_factory):
    """No STARTTLS offered, no AUTH."""
    srv = mailservers.start_smtp(tmp_path_factory.mktemp("spool-plain"), auth=False)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _empty_spools(request):
    for name in ("smtp", "smtp_plain"):
        if name in request.fixturenames:
            request.getfixturevalue(name).clear()


def data_out(t):
    return b"".join(d for k, d in t if k == pycurl.INFOTYPE_DATA_OUT)


def data_out_chunks(t):
    return [d for k, d in t if k == pycurl.INFOTYPE_DATA_OUT]


def upload(c, data, **opts):
    c.setopt(pycurl.UPLOAD, 1)
    c.setopt(pycurl.READFUNCTION, io.BytesIO(data).read)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)


def test_send_with_auth_plain(curl, smtp):
    t = trace(curl)
    msg = b"Subject: hi\r\n\r\nline one\r\n.dot line\r\nend"
    upload(curl, msg, MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test", "<c@y.test>"], USERPWD="user:secret")
    body, headers = perform(curl, smtp.url("/client.test"))
    assert body == b""
    assert sent(t) == [
        b"EHLO client.test\r\n",
        b"AUTH PLAIN\r\n",
        b"AHVzZXIAc2VjcmV0\r\n",
        b"MAIL FROM:<a@x.test>\r\n",
        b"RCPT TO:<b@y.test>\r\n",
        b"RCPT TO:<c@y.test>\r\n",
        b"DATA\r\n",
    ]
    # A "." after CRLF is doubled on the wire; the end of data follows a CRLF of its own.
    assert data_out(t) == b"Subject: hi\r\n\r\nline one\r\n..dot line\r\nend\r\n.\r\n"
    assert headers[0].startswith(b"220 ")
    assert headers[-1] == b"250 Message accepted for delivery\r\n"
    assert b"334 \r\n" in headers and b"235 2.7.0 Authentication successful\r\n" in headers
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 250
    (m,) = smtp.messages()
    assert (m["from"], m["rcpt"]) == ("a@x.test", ["b@y.test", "c@y.test"])
    assert m["data"] == b"Subject: hi\r\n\r\nline one\r\n.dot line\r\nend\r\n"


def test_stuffing_is_only_after_crlf(curl, smtp):
    t = trace(curl)
    upload(curl, b".lead\nbare lf\n.\nx\r\n.\r\nlast.", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"])
    perform(curl, smtp.url())
    assert data_out(t) == b"..lead\nbare lf\n.\nx\r\n..\r\nlast.\r\n.\r\n"
    assert smtp.messages()[0]["data"] == b".lead\nbare lf\n.\nx\r\n.\r\nlast.\r\n"


def test_crlf_option_and_auth_login(curl, smtp):
    t = trace(curl)
    upload(curl, b".lead\nbare lf\n", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], CRLF=1,
           LOGIN_OPTIONS="AUTH=LOGIN", USERPWD="user:secret")
    perform(curl, smtp.url())
    assert sent(t)[1:4] == [b"AUTH LOGIN\r\n", b"dXNlcg==\r\n", b"c2VjcmV0\r\n"]
    assert data_out(t) == b"..lead\r\nbare lf\r\n.\r\n"
    assert smtp.messages()[0]["data"] == b".lead\r\nbare lf\r\n"


def test_sasl_ir_size_and_mail_auth(curl, smtp):
    t = trace(curl)
    upload(curl, b"x", MAIL_FROM="<a@x.test>", MAIL_RCPT=["b@y.test"], INFILESIZE=1, MAIL_AUTH="z@x.test",
           USERPWD="user:secret", SASL_IR=1)
    # aiosmtpd does not take AUTH= in MAIL FROM.
    assert perform_error(curl, smtp.url()) == (pycurl.E_SEND_ERROR, "MAIL failed: 555")
    assert sent(t)[1:3] == [b"AUTH PLAIN AHVzZXIAc2VjcmV0\r\n", b"MAIL FROM:<a@x.test> AUTH=<z@x.test> SIZE=1\r\n"]
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 555
    assert curl.errstr() == "MAIL failed: 555"
    assert (pycurl.INFOTYPE_TEXT, b"MAIL failed: 555\n") in t


def test_url_login_options_and_size(curl, smtp):
    t = trace(curl)
    upload(curl, b"x", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], INFILESIZE=1, SASL_IR=1)
    # With the size known, the end of data goes out with the last piece.
    perform(curl, f"smtp://user;AUTH=LOGIN:secret@127.0.0.1:{smtp.port}/")
    assert sent(t)[1:4] == [b"AUTH LOGIN dXNlcg==\r\n", b"c2VjcmV0\r\n", b"MAIL FROM:<a@x.test> SIZE=1\r\n"]
    assert smtp.messages()[0]["options"] == ["SIZE=1"]
    assert data_out_chunks(t) == [b"x\r\n.\r\n"]


def test_wrong_password(curl, smtp):
    upload(curl, b"x", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], USERPWD="user:wrong")
    assert perform_error(curl, smtp.url()) == (pycurl.E_LOGIN_DENIED, "Login denied")
    # libcurl wrote no message of its own: pycurl raised the code's text.
    assert curl.errstr() == ""
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 535
    assert smtp.messages() == []


def test_no_common_mechanism(curl, smtp):
    t = trace(curl)
    assert perform_error(curl, f"smtp://user;AUTH=CRAM-MD5:secret@127.0.0.1:{smtp.port}/") == (
        pycurl.E_LOGIN_DENIED, "Login denied")
    assert (pycurl.INFOTYPE_TEXT, b"SASL: no overlap between offered and configured auth mechanisms\n") in t


@pytest.mark.parametrize("opts", ["AUTH=FOO", "BAR=FOO"])
def test_bad_login_options(curl, smtp, opts):
    t = trace(curl)
    err = perform_error(curl, smtp.url(), LOGIN_OPTIONS=opts, USERPWD="user:secret")
    assert err == (pycurl.E_URL_MALFORMAT, "URL using bad/illegal format or missing URL")
    assert sent(t) == []
    # libcurl reads the login options once connected.
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 1


def test_refused_recipient(curl, smtp):
    upload(curl, b"x\r\n", MAIL_FROM="a@x.test", MAIL_RCPT=["nobody@y.test", "b@y.test"])
    assert perform_error(curl, smtp.url()) == (pycurl.E_SEND_ERROR, "RCPT failed: 550")
    assert smtp.messages() == []


def test_refused_recipient_allowed(curl, smtp):
    t = trace(curl)
    curl.setopt(MAIL_RCPT_ALLOWFAILS, 1)
    upload(curl, b"x\r\n", MAIL_FROM="a@x.test", MAIL_RCPT=["nobody@y.test", "b@y.test"])
    perform(curl, smtp.url())
    assert data_out(t) == b"x\r\n.\r\n"
    assert smtp.messages()[0]["rcpt"] == ["b@y.test"]


def test_every_recipient_refused(curl, smtp):
    curl.setopt(MAIL_RCPT_ALLOWFAILS, 1)
    upload(curl, b"x\r\n", MAIL_FROM="a@x.test", MAIL_RCPT=["nobody@y.test"])
    assert perform_error(curl, smtp.url()) == (pycurl.E_SEND_ERROR, "RCPT failed: 550 (last error)")


def test_empty_upload_and_null_sender(curl, smtp):
    t = trace(curl)
    upload(curl, b"", MAIL_RCPT=["b@y.test"])
    perform(curl, smtp.url())
    assert sent(t)[1] == b"MAIL FROM:<>\r\n"
    assert data_out(t) == b".\r\n"
    assert smtp.messages()[0]["data"] == b""


def test_vrfy_replies_are_the_body(curl, smtp):
    t = trace(curl)
    err = perform_error(curl, smtp.url(), MAIL_RCPT=["someone@y.test", "nobody"])
    assert err == (WEIRD_SERVER_REPLY, "Command failed: 550")
    assert sent(t)[1:] == [b"VRFY someone@y.test\r\n", b"VRFY nobody\r\n"]


def test_vrfy_body(curl, smtp):
    body, headers = perform(curl, smtp.url(), MAIL_RCPT=["<someone@y.test>"])
    assert body == b"250 Some One <someone@y.test>\r\n"
    assert headers[-1] == body


def test_expn_announces_smtputf8(curl, smtp):
    t = trace(curl)
    err = perform_error(curl, smtp.url(), MAIL_RCPT=["someone"], CUSTOMREQUEST="EXPN")
    assert err == (WEIRD_SERVER_REPLY, "Command failed: 502")
    assert sent(t)[-1] == b"EXPN someone SMTPUTF8\r\n"


@pytest.mark.parametrize("custom,cmd", [(None, b"HELP\r\n"), ("NOOP", b"NOOP\r\n")])
def test_commands_without_recipients(curl, smtp, custom, cmd):
    t = trace(curl)
    if custom:
        curl.setopt(pycurl.CUSTOMREQUEST, custom)
    body, headers = perform(curl, smtp.url())
    assert sent(t)[-1] == cmd
    assert body == headers[-1] and body.startswith(b"250 ")


def test_nobody_sends_the_command_but_writes_nothing(curl, smtp):
    t = trace(curl)
    body, headers = perform(curl, smtp.url(), NOBODY=1)
    assert sent(t)[-1] == b"HELP\r\n"
    assert body == b"" and headers[-1].startswith(b"250 ")


def test_upload_without_recipients_runs_help(curl, smtp):
    t = trace(curl)
    upload(curl, b"abc")
    body, _ = perform(curl, smtp.url())
    assert sent(t)[-1] == b"HELP\r\n" and body.startswith(b"250 ")


def test_starttls_required(curl, smtp, certs):
    t = trace(curl)
    upload(curl, b"secret mail\r\n", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], USERPWD="user:secret",
           USE_SSL=pycurl.USESSL_ALL, CAINFO=certs.ca_pem)
    perform(curl, smtp.url())
    s = sent(t)
    assert s[:2] == [b"EHLO " + s[0][5:], b"STARTTLS\r\n"]
    assert s[2].startswith(b"EHLO ") and s[3] == b"AUTH PLAIN\r\n"
    assert smtp.messages()[0]["data"] == b"secret mail\r\n"


def test_starttls_not_offered(curl, smtp_plain):
    upload(curl, b"x", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], USE_SSL=pycurl.USESSL_CONTROL)
    assert perform_error(curl, smtp_plain.url()) == (64, "STARTTLS not supported.")
    assert smtp_plain.messages() == []


def test_starttls_try_goes_on_in_clear(curl, smtp_plain):
    upload(curl, b"x", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], USE_SSL=pycurl.USESSL_TRY, INFILESIZE=1)
    perform(curl, smtp_plain.url())
    assert smtp_plain.messages()[0]["options"] == ["SIZE=1"]


def test_smtps(curl, smtp, certs):
    t = trace(curl)
    upload(curl, b"over tls\r\n", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], CAINFO=certs.ca_pem)
    perform(curl, smtp.url(tls=True))
    assert b"STARTTLS\r\n" not in sent(t)
    assert smtp.messages()[0]["data"] == b"over tls\r\n"


def test_smtps_untrusted(curl, smtp):
    upload(curl, b"x", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"])
    err = perform_error(curl, smtp.url(tls=True))
    assert err[0] == pycurl.E_PEER_FAILED_VERIFICATION
    assert smtp.messages() == []


def test_multi_perform(smtp):
    m = pycurl.CurlMulti()
    handles = []
    for i in range(3):
        c = pycurl.Curl()
        upload(c, b"message %d\r\n" % i, MAIL_FROM="a@x.test", MAIL_RCPT=[f"r{i}@y.test"])
        c.setopt(pycurl.URL, smtp.url())
        m.add_handle(c)
        handles.append(c)
    perform_all(m, len(handles))
    got = sorted((mm["rcpt"][0], mm["data"]) for mm in smtp.messages())
    assert got == [(f"r{i}@y.test", b"message %d\r\n" % i) for i in range(3)]
    for c in handles:
        m.remove_handle(c)
        c.close()
    m.close()


def test_socket_action(smtp):
    m = pycurl.CurlMulti()
    drive = SocketActionDriver(m)
    c = pycurl.Curl()
    upload(c, b"via socket_action\r\n", MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], USERPWD="user:secret")
    c.setopt(pycurl.URL, smtp.url())
    m.add_handle(c)
    running = drive.run()
    assert not running and drive.seen
    assert m.info_read()[1] == [c]
    assert smtp.messages()[0]["data"] == b"via socket_action\r\n"
    m.remove_handle(c)
    c.close()
    m.close()


def test_protocols_option_disables_smtp(curl, smtp):
    curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP)
    err = perform_error(curl, smtp.url())
    assert err == (pycurl.E_UNSUPPORTED_PROTOCOL, 'Protocol "smtp" is disabled')


def test_connection_reused_for_the_next_mail(smtp):
    relay = mailservers.Relay(smtp.port)
    url = f"smtp://127.0.0.1:{relay.port}/client.test"
    c = pycurl.Curl()
    t = trace(c)
    try:
        for n in (1, 2):
            upload(c, b"Subject: %d\r\n\r\nbody\r\n" % n, MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"],
                   USERPWD="user:secret", INFILESIZE=20)
            perform(c, url)
        # The second mail goes straight to MAIL FROM (SIZE= still: EHLO's answer is remembered).
        assert sent(t)[-3:] == [b"MAIL FROM:<a@x.test> SIZE=20\r\n", b"RCPT TO:<b@y.test>\r\n", b"DATA\r\n"]
        assert sent(t).count(b"EHLO client.test\r\n") == 1
        assert c.getinfo(pycurl.NUM_CONNECTS) == 0
        c.setopt(pycurl.UPLOAD, 0)
        body, _ = perform(c, url)
        assert body == b"250 Some One <b@y.test>\r\n"
        assert [m["data"] for m in smtp.messages()] == [b"Subject: 1\r\n\r\nbody\r\n", b"Subject: 2\r\n\r\nbody\r\n"]
        c.close()
        (conn,) = relay.seen()
        assert conn[-3:] == [b"VRFY b@y.test\r\n", b"QUIT\r\n", b"EOF"]
    finally:
        relay.stop()


def boundaries_named(data):
    """The message with each MIME boundary (24 dashes, 22 random characters) named B1, B2, ... in
    order of appearance: libcurl's are random, their places are not."""
    for i, b in enumerate(dict.fromkeys(re.findall(rb"-{24}[A-Za-z0-9]{22}", data))):
        data = data.replace(b, b"B%d" % (i + 1))
    return data


def mail_mime(c, attachment):
    m = pycurl.CurlMime(c)
    p = m.addpart()
    p.data(b"hello\r\n.dot")
    p.type("text/plain")
    p = m.addpart()
    p.filedata(str(attachment))
    p.encoder("base64")
    p = m.addpart()
    p.data(b"x\xe9y=z")
    p.encoder("quoted-printable")
    p.name("bin")
    p = m.addpart()
    p.data(b"<b>x</b>")
    p.filename("x.html")
    alt = pycurl.CurlMime(c)
    q = alt.addpart()
    q.data(b"alt1")
    q = alt.addpart()
    q.data(b"<p>alt2</p>")
    q.type("text/html")
    p = m.addpart()
    p.subparts(alt)
    p.type("multipart/alternative")
    return m


MIME_MESSAGE = (
    b"Content-Type: multipart/mixed; boundary=B1\r\nMime-Version: 1.0\r\nFrom: A <a@x.test>\r\nSubject: hi\r\n\r\n"
    b"--B1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nhello\r\n.dot\r\n"
    b'--B1\r\nContent-Disposition: attachment; filename="att.txt"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b"YXR0YWNoZWQKLmRvdAo=\r\n"
    b'--B1\r\nContent-Disposition: attachment; name="bin"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    b"x=E9y=3Dz\r\n"
    b'--B1\r\nContent-Disposition: attachment; filename="x.html"\r\nContent-Type: text/html\r\n'
    b"Content-Transfer-Encoding: 8bit\r\n\r\n<b>x</b>\r\n"
    b"--B1\r\nContent-Type: multipart/alternative; boundary=B2\r\n\r\n"
    b"--B2\r\n\r\nalt1\r\n"
    b"--B2\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>alt2</p>\r\n"
    b"--B2--\r\n\r\n--B1--\r\n"
)


def test_mimepost_is_the_message(curl, smtp, tmp_path):
    att = tmp_path / "att.txt"
    att.write_bytes(b"attached\n.dot\n")
    t = trace(curl)
    curl.setopt(pycurl.MIMEPOST, mail_mime(curl, att))
    curl.setopt(pycurl.HTTPHEADER, ["From: A <a@x.test>", "Subject: hi"])
    perform(curl, smtp.url("/client.test"), MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"])
    (m,) = smtp.messages()
    assert boundaries_named(m["data"]) == MIME_MESSAGE
    # Quoted-printable has no size known in advance: no SIZE= then.
    assert sent(t)[-3] == b"MAIL FROM:<a@x.test>\r\n"
    assert b"\r\n..dot\r\n" in data_out(t) and data_out(t).endswith(b"--\r\n.\r\n")


def test_mimepost_size(curl, smtp):
    m = pycurl.CurlMime(curl)
    m.addpart().data(b"only")
    t = trace(curl)
    curl.setopt(pycurl.MIMEPOST, m)
    perform(curl, smtp.url("/client.test"), MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"])
    (msg,) = smtp.messages()
    assert sent(t)[-3] == b"MAIL FROM:<a@x.test> SIZE=%d\r\n" % len(msg["data"])
    assert boundaries_named(msg["data"]).endswith(b"Mime-Version: 1.0\r\n\r\n--B1\r\n\r\nonly\r\n--B1--\r\n")
