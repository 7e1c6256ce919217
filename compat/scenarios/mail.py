"""smtp://, pop3:// and imap:// against aiosmtpd and dovecot on loopback: the commands sent
(DEBUGFUNCTION), every reply line given to HEADERFUNCTION, bodies, errors and infos, with one
fresh handle per transfer, and series of transfers on one handle reusing its connection."""
import io
import re
import tempfile

from _common import Obs, add_port, getinfos, perform, pycurl

import mailservers

o = Obs()
INFOS = ["RESPONSE_CODE", "EFFECTIVE_URL", "SIZE_DOWNLOAD_T", "SCHEME", "PRIMARY_PORT", "NUM_CONNECTS"]
# Dovecot's replies carry timings, UIDVALIDITY and dates that differ from run to run.
DIGITS = re.compile(rb"\d")
TIMING = re.compile(rb"\([0-9.+ ]+ secs\)")

smtp = mailservers.start_smtp(tempfile.mkdtemp(prefix="compat-smtp-"))
add_port(smtp.port)
dove = mailservers.start_dovecot()
for p in dove.ports.values():
    add_port(p)
dove.deliver([b"Subject: one\r\n\r\nfirst body\r\n.dotted\r\n", b"Subject: two\r\n\r\nsecond\r\n"])


def run(name, url, mask=False, **opts):
    c = pycurl.Curl()
    body = io.BytesIO()
    headers, sent = [], []
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.HEADERFUNCTION, lambda h: headers.append(DIGITS.sub(b"N", TIMING.sub(b"(T)", h)) if mask else h))
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda k, d: k in (pycurl.INFOTYPE_HEADER_OUT, pycurl.INFOTYPE_DATA_OUT)
             and sent.append(d))
    for k, v in opts.items():
        c.setopt(int(k[1:]) if k.startswith("_") else getattr(pycurl, k), v)
    perform(c, o, f"{name}.perform")
    o[f"{name}.body"] = DIGITS.sub(b"N", body.getvalue()) if mask else body.getvalue()
    o[f"{name}.headers"] = headers
    o[f"{name}.sent"] = sent
    o.raw(f"{name}.infos", getinfos(c, INFOS))
    c.close()


def series(name, steps):
    """Transfers on one handle: what each sends, whether it reused the connection, and errors."""
    c = pycurl.Curl()
    sent = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda k, d: (k == pycurl.INFOTYPE_HEADER_OUT or d.startswith(b"Reusing"))
             and sent.append(d))
    for i, (url, opts) in enumerate(steps):
        c.setopt(pycurl.URL, url)
        c.setopt(pycurl.WRITEDATA, io.BytesIO())
        for k, v in opts.items():
            c.setopt(getattr(pycurl, k), v)
        perform(c, o, f"{name}.{i}.perform")
        o[f"{name}.{i}.sent"] = sent[:]
        o[f"{name}.{i}.num_connects"] = c.getinfo(pycurl.NUM_CONNECTS)
        del sent[:]
    c.close()


def reader(data):
    return io.BytesIO(data).read


try:
    msg = b"Subject: hi\r\n\r\nline one\r\n.dot line\r\nend"
    run("smtp_send", smtp.url("/client.test"), UPLOAD=1, READFUNCTION=reader(msg), MAIL_FROM="a@x.test",
        MAIL_RCPT=["b@y.test", "<c@y.test>"], USERPWD="user:secret")
    run("smtp_login_ir", smtp.url("/client.test"), UPLOAD=1, READFUNCTION=reader(b"x\n.y\n"), CRLF=1,
        MAIL_FROM="a@x.test", MAIL_RCPT=["b@y.test"], USERPWD="user:secret", LOGIN_OPTIONS="AUTH=LOGIN",
        SASL_IR=1, INFILESIZE=5)
    run("smtp_denied", smtp.url("/client.test"), UPLOAD=1, READFUNCTION=reader(b"x"), MAIL_FROM="a@x.test",
        MAIL_RCPT=["b@y.test"], USERPWD="user:wrong")
    run("smtp_rcpt_refused", smtp.url("/client.test"), UPLOAD=1, READFUNCTION=reader(b"x"),
        MAIL_RCPT=["nobody@y.test", "b@y.test"])
    run("smtp_allowfails", smtp.url("/client.test"), UPLOAD=1, READFUNCTION=reader(b"x"),
        MAIL_RCPT=["nobody@y.test", "b@y.test"], _290=1)
    run("smtp_vrfy", smtp.url("/client.test"), MAIL_RCPT=["someone@y.test", "nobody"])
    run("smtp_help", smtp.url("/client.test"))
    run("smtp_bad_options", smtp.url("/client.test"), LOGIN_OPTIONS="AUTH=FOO", USERPWD="user:secret")
    run("pop3_list", dove.url("pop3", "/"), LOGIN_OPTIONS="AUTH=PLAIN")
    run("pop3_retr", dove.url("pop3", "/1"), LOGIN_OPTIONS="AUTH=LOGIN")
    run("pop3_missing", dove.url("pop3", "/9"), LOGIN_OPTIONS="AUTH=PLAIN")
    run("pop3_stat", dove.url("pop3", "/"), LOGIN_OPTIONS="AUTH=PLAIN", CUSTOMREQUEST="STAT", NOBODY=1)
    run("imap_list", dove.url("imap", "/"), mask=True, LOGIN_OPTIONS="AUTH=PLAIN")
    run("imap_fetch", dove.url("imap", "/INBOX/;UID=1"), mask=True, LOGIN_OPTIONS="AUTH=PLAIN")
    run("imap_section", dove.url("imap", "/INBOX;MAILINDEX=2/;SECTION=TEXT"), mask=True,
        LOGIN_OPTIONS="AUTH=+LOGIN")
    run("imap_search", dove.url("imap", "/INBOX?ALL"), mask=True, LOGIN_OPTIONS="AUTH=PLAIN")
    run("imap_missing", dove.url("imap", "/INBOX/;UID=7"), mask=True, LOGIN_OPTIONS="AUTH=PLAIN")
    run("imap_bogus", dove.url("imap", "/INBOX"), mask=True, LOGIN_OPTIONS="AUTH=PLAIN", CUSTOMREQUEST="BOGUS")
    plain = {"LOGIN_OPTIONS": "AUTH=PLAIN"}
    series("imap_series", [(dove.url("imap", "/INBOX/;UID=1"), plain), (dove.url("imap", "/INBOX/;UID=2"), {}),
                           (dove.url("imap", "/"), {}), (dove.url("imap", "/INBOX;UIDVALIDITY=1/;UID=1"), {}),
                           (dove.url("imap", "/INBOX/;UID=1"), {})])
    series("pop3_series", [(dove.url("pop3", "/1"), plain), (dove.url("pop3", "/"), {}),
                           (dove.url("pop3", "/2"), {"FORBID_REUSE": 1}), (dove.url("pop3", "/9"), {"FORBID_REUSE": 0}),
                           (dove.url("pop3", "/1"), {"FRESH_CONNECT": 1})])
    series("smtp_series", [(smtp.url("/client.test"), {"MAIL_RCPT": ["someone@y.test"], "USERPWD": "user:secret"}),
                           (smtp.url("/client.test"), {"MAIL_RCPT": ["other@y.test"]})])
    o["smtp_messages"] = [(m["from"], m["rcpt"], m["data"]) for m in smtp.messages()]
finally:
    smtp.stop()
    dove.stop()
o.emit()
