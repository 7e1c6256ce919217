"""FTPS against real servers on loopback: explicit (USE_SSL: AUTH, PBSZ, PROT) on vsftpd and
pyftpdlib's TLS_FTPHandler, implicit (ftps://, TLS from the first byte) on vsftpd, with the test's
own certificates. vsftpd refuses a data connection that does not resume the control connection's
TLS session (require_ssl_reuse), so every download from it shows the session was resumed. What is
checked was observed with real pycurl (libcurl 8, OpenSSL) on the same servers."""

import io

import pytest

import pycurl

import ftpservers
from helpers import perform, perform_all, perform_error, sent_commands

CONTENT = b"hello world\n"
BIG = bytes(range(256)) * 4096
WRONG_PIN = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def _fill(root):
    (root / "hello.txt").write_bytes(CONTENT)
    (root / "big.bin").write_bytes(BIG)
    (root / "up").mkdir()
    root.chmod(0o777)
    (root / "up").chmod(0o777)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("ftps-root")
    _fill(r)
    return r


@pytest.fixture(scope="module", params=["vsftpd", "pyftpdlib"])
def ftps(request, root, certs, tmp_path_factory):
    """A server that speaks explicit FTPS (and plain FTP to a client that does not ask for TLS)."""
    if request.param == "vsftpd":
        srv = ftpservers.start_vsftpd(root, tmp_path_factory.mktemp("vsftpd-tls"), certs)
    else:
        srv = ftpservers.start_pyftpdlib(root, certs)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def vsftpd(root, certs, tmp_path_factory):
    srv = ftpservers.start_vsftpd(root, tmp_path_factory.mktemp("vsftpd-explicit"), certs)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def implicit(root, certs, tmp_path_factory):
    srv = ftpservers.start_vsftpd(root, tmp_path_factory.mktemp("vsftpd-implicit"), certs, implicit=True)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def plain(root):
    """pyftpdlib without TLS: it answers AUTH with 500."""
    srv = ftpservers.start_pyftpdlib(root)
    yield srv
    srv.stop()


@pytest.fixture
def tls_curl(curl, certs):
    curl.setopt(pycurl.CAINFO, certs.ca_pem)
    curl.setopt(pycurl.TIMEOUT, 20)
    return curl


def codes(headers):
    return [150 if h[:3] == b"125" else int(h[:3]) for h in headers if h[:3].isdigit()]


LOGIN_TLS = [b"USER anonymous\r\n", b"PASS ftp@example.com\r\n", b"PBSZ 0\r\n", b"PROT P\r\n", b"PWD\r\n"]
GET_HELLO = [b"EPSV\r\n", b"TYPE I\r\n", b"SIZE hello.txt\r\n", b"RETR hello.txt\r\n"]


def test_explicit_download(tls_curl, ftps):
    cmds = sent_commands(tls_curl)
    body, headers = perform(tls_curl, ftps.url("/hello.txt"), USE_SSL=pycurl.USESSL_ALL)
    assert body == CONTENT
    # libcurl's default FTPSSLAUTH tries AUTH SSL first.
    assert cmds == [b"AUTH SSL\r\n", *LOGIN_TLS, *GET_HELLO]
    assert codes(headers) == [220, 234, 331, 230, 200, 200, 257, 229, 200, 213, 150, 226]
    assert tls_curl.getinfo(pycurl.RESPONSE_CODE) == 226
    assert tls_curl.getinfo(pycurl.SSL_VERIFYRESULT) == 0
    assert tls_curl.getinfo(pycurl.NUM_CONNECTS) == 2
    assert tls_curl.getinfo(pycurl.SCHEME).lower() == "ftp"
    assert tls_curl.getinfo(pycurl.APPCONNECT_TIME) > 0


def test_explicit_big_download_and_listing(tls_curl, ftps):
    body, _ = perform(tls_curl, ftps.url("/big.bin"), USE_SSL=pycurl.USESSL_ALL)
    assert body == BIG
    listing, _ = perform(tls_curl, ftps.url("/"), USE_SSL=pycurl.USESSL_ALL)
    assert b"hello.txt" in listing and b"big.bin" in listing
    names, _ = perform(tls_curl, ftps.url("/"), USE_SSL=pycurl.USESSL_ALL, DIRLISTONLY=1)
    assert set(names.split()) >= {b"hello.txt", b"big.bin", b"up"}


def test_explicit_upload(tls_curl, ftps, root):
    data = bytes(range(256)) * 300
    perform(tls_curl, ftps.url(f"/up/{ftps.kind}.bin"), USE_SSL=pycurl.USESSL_ALL, UPLOAD=1,
            READDATA=io.BytesIO(data), INFILESIZE=len(data))
    assert tls_curl.getinfo(pycurl.RESPONSE_CODE) == 226
    assert (root / "up" / f"{ftps.kind}.bin").read_bytes() == data


def test_auth_tls_first_and_clear_data(tls_curl, ftps):
    cmds = sent_commands(tls_curl)
    body, _ = perform(tls_curl, ftps.url("/hello.txt"), USE_SSL=pycurl.USESSL_CONTROL,
                      FTPSSLAUTH=pycurl.FTPAUTH_TLS)
    assert body == CONTENT
    assert cmds[:6] == [b"AUTH TLS\r\n", b"USER anonymous\r\n", b"PASS ftp@example.com\r\n", b"PBSZ 0\r\n",
                        b"PROT C\r\n", b"PWD\r\n"]


def test_implicit_download_upload_listing(tls_curl, implicit, root):
    cmds = sent_commands(tls_curl)
    body, headers = perform(tls_curl, implicit.url("/hello.txt", scheme="ftps"))
    assert body == CONTENT
    assert cmds == [*LOGIN_TLS, *GET_HELLO]
    # The greeting came over TLS: the first reply is 220, with no AUTH.
    assert codes(headers)[:2] == [220, 331]
    assert tls_curl.getinfo(pycurl.SCHEME).lower() == "ftps"
    assert tls_curl.getinfo(pycurl.NUM_CONNECTS) == 2
    data = b"implicit upload\n" * 1000
    perform(tls_curl, implicit.url("/up/implicit.txt", scheme="ftps"), UPLOAD=1, READDATA=io.BytesIO(data))
    assert (root / "up" / "implicit.txt").read_bytes() == data
    listing, _ = perform(tls_curl, implicit.url("/up/", scheme="ftps"), UPLOAD=0)
    assert b"implicit.txt" in listing


def test_reuse_keeps_tls_and_plain_apart(tls_curl, ftps):
    cmds = sent_commands(tls_curl)
    perform(tls_curl, ftps.url("/hello.txt"), USE_SSL=pycurl.USESSL_ALL)
    first = tls_curl.getinfo(pycurl.LOCAL_PORT)
    del cmds[:]
    body, _ = perform(tls_curl, ftps.url("/hello.txt"))
    assert body == CONTENT
    # The TLS control connection is kept, the session goes on: no AUTH, no login, TYPE I still set.
    assert cmds == [b"EPSV\r\n", b"SIZE hello.txt\r\n", b"RETR hello.txt\r\n"]
    assert tls_curl.getinfo(pycurl.NUM_CONNECTS) == 1
    assert tls_curl.getinfo(pycurl.LOCAL_PORT) == first
    # Without USE_SSL the pooled TLS connection does not serve: a new one, in clear.
    del cmds[:]
    tls_curl.setopt(pycurl.USE_SSL, pycurl.USESSL_NONE)
    body, _ = perform(tls_curl, ftps.url("/hello.txt"))
    assert body == CONTENT
    assert cmds == [b"USER anonymous\r\n", b"PASS ftp@example.com\r\n", b"PWD\r\n", *GET_HELLO]
    assert tls_curl.getinfo(pycurl.NUM_CONNECTS) == 2
    # And back: the first (TLS) connection serves again, not the plain one.
    del cmds[:]
    tls_curl.setopt(pycurl.USE_SSL, pycurl.USESSL_ALL)
    perform(tls_curl, ftps.url("/hello.txt"))
    assert cmds == [b"EPSV\r\n", b"SIZE hello.txt\r\n", b"RETR hello.txt\r\n"]
    assert tls_curl.getinfo(pycurl.LOCAL_PORT) == first


def test_multi_transfers_over_tls(certs, vsftpd):
    m = pycurl.CurlMulti()
    handles = []
    for i in range(3):
        c = pycurl.Curl()
        c.buf = io.BytesIO()
        c.setopt(pycurl.URL, vsftpd.url("/big.bin" if i else "/hello.txt"))
        c.setopt(pycurl.USE_SSL, pycurl.USESSL_ALL)
        c.setopt(pycurl.CAINFO, certs.ca_pem)
        c.setopt(pycurl.TIMEOUT, 20)
        c.setopt(pycurl.WRITEDATA, c.buf)
        m.add_handle(c)
        handles.append(c)
    perform_all(m, 3)
    assert [c.buf.getvalue() for c in handles] == [CONTENT, BIG, BIG]
    for c in handles:
        m.remove_handle(c)
        c.close()
    m.close()


@pytest.mark.parametrize("how", ["explicit", "implicit"])
def test_bad_certificate(curl, certs, vsftpd, implicit, how):
    url = vsftpd.url("/hello.txt") if how == "explicit" else implicit.url("/hello.txt", scheme="ftps")
    err = perform_error(curl, url, CAINFO=certs.other_ca_pem, USE_SSL=pycurl.USESSL_ALL)
    assert err == (pycurl.E_PEER_FAILED_VERIFICATION,
                   "SSL certificate OpenSSL verify result: unable to get local issuer certificate (20)")
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) == 20
    assert curl.getinfo(pycurl.RESPONSE_CODE) == (234 if how == "explicit" else 0)
    # Host name checks apply as for https: VERIFYPEER off still checks the name (localhost matches 127.0.0.1
    # here, so the transfer goes through).
    body, _ = perform(curl, url, SSL_VERIFYPEER=0)
    assert body == CONTENT


@pytest.mark.parametrize("how", ["explicit", "implicit"])
def test_pinned_public_key_and_certinfo(tls_curl, certs, vsftpd, implicit, how):
    url = vsftpd.url("/hello.txt") if how == "explicit" else implicit.url("/hello.txt", scheme="ftps")
    err = perform_error(tls_curl, url, PINNEDPUBLICKEY=WRONG_PIN, USE_SSL=pycurl.USESSL_ALL)
    assert err == (pycurl.E_SSL_PINNEDPUBKEYNOTMATCH, "SSL: public key does not match pinned public key")
    body, _ = perform(tls_curl, url, PINNEDPUBLICKEY=certs.server_pin, OPT_CERTINFO=1, FRESH_CONNECT=1)
    assert body == CONTENT
    chain = tls_curl.getinfo(pycurl.INFO_CERTINFO)
    assert len(chain) == 1
    assert ("Subject", "C = XX, O = pycurl tests, CN = localhost") in chain[0] or any(
        k == "Subject" and "localhost" in v for k, v in chain[0])


def test_session_not_resumed(tls_curl, vsftpd):
    # Without the session cache the data connection's TLS cannot resume the control connection's:
    # vsftpd drops it, and the transfer ends short of what SIZE announced.
    err = perform_error(tls_curl, vsftpd.url("/hello.txt"), USE_SSL=pycurl.USESSL_ALL, SSL_SESSIONID_CACHE=0)
    assert err == (pycurl.E_PARTIAL_FILE, "transfer closed with 12 bytes remaining to read")
    assert tls_curl.getinfo(pycurl.RESPONSE_CODE) == 150


def test_auth_refused(curl, plain):
    cmds = sent_commands(curl)
    err = perform_error(curl, plain.url("/hello.txt"), USE_SSL=pycurl.USESSL_CONTROL)
    assert err == (pycurl.E_USE_SSL_FAILED, "Requested SSL level failed")
    assert cmds == [b"AUTH SSL\r\n", b"AUTH TLS\r\n"]
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 500
    assert perform_error(curl, plain.url("/hello.txt"), USE_SSL=pycurl.USESSL_ALL)[0] == pycurl.E_USE_SSL_FAILED


def test_try_falls_back_to_plain(curl, plain):
    cmds = sent_commands(curl)
    body, _ = perform(curl, plain.url("/hello.txt"), USE_SSL=pycurl.USESSL_TRY, FTPSSLAUTH=pycurl.FTPAUTH_TLS)
    assert body == CONTENT
    assert cmds[:4] == [b"AUTH TLS\r\n", b"AUTH SSL\r\n", b"USER anonymous\r\n", b"PASS ftp@example.com\r\n"]
    assert b"PBSZ 0\r\n" not in cmds


def test_ccc_refused_goes_on(tls_curl, ftps):
    cmds = sent_commands(tls_curl)
    body, _ = perform(tls_curl, ftps.url("/hello.txt"), USE_SSL=pycurl.USESSL_ALL, FTP_SSL_CCC=1)
    assert body == CONTENT
    assert cmds[4:7] == [b"PROT P\r\n", b"CCC\r\n", b"PWD\r\n"]


def test_pret_refused(curl, plain):
    cmds = sent_commands(curl)
    err = perform_error(curl, plain.url("/hello.txt"), FTP_USE_PRET=1)
    assert err == (84, "PRET command not accepted: 500")
    assert cmds[-1] == b"PRET RETR hello.txt\r\n"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 500


def test_alternative_to_user(curl, vsftpd):
    cmds = sent_commands(curl)
    body, _ = perform(curl, vsftpd.url("/hello.txt"), USERPWD="nobody:pw", FTP_ALTERNATIVE_TO_USER="USER anonymous")
    assert body == CONTENT
    assert cmds[:3] == [b"USER nobody\r\n", b"USER anonymous\r\n", b"PASS pw\r\n"]
    # Without it, vsftpd's refusal of USER ends the transfer.
    c = pycurl.Curl()
    assert perform_error(c, vsftpd.url("/hello.txt"), USERPWD="nobody:pw") == (pycurl.E_LOGIN_DENIED,
                                                                                "Access denied: 530")
    c.close()


def test_protocols_option(curl, implicit):
    err = perform_error(curl, implicit.url("/hello.txt", scheme="ftps"), PROTOCOLS=pycurl.PROTO_FTP)
    assert err == (pycurl.E_UNSUPPORTED_PROTOCOL, 'Protocol "ftps" is disabled')
    assert "ftps" in pycurl.version_info()[8]


@pytest.mark.parametrize("option,bad", [("FTPSSLAUTH", 3), ("FTPSSLAUTH", -1), ("FTP_SSL_CCC", 3),
                                        ("FTP_SSL_CCC", -1), ("USE_SSL", 4)])
def test_option_values(option, bad):
    c = pycurl.Curl()
    opt = getattr(pycurl, option)
    c.setopt(opt, 2)
    with pytest.raises(pycurl.error) as ei:
        c.setopt(opt, bad)
    assert ei.value.args == (pycurl.E_BAD_FUNCTION_ARGUMENT, f"setopt 0x{opt:x} got bad argument")
    with pytest.raises(TypeError, match="unsetopt"):
        c.setopt(opt, None)
    c.setopt(pycurl.FTP_USE_PRET, 5)
    c.close()


def test_account_and_alternative_types():
    c = pycurl.Curl()
    # pycurl 7.49 has FTP_ACCOUNT among no option types: every value is refused by its type.
    for value, msg in [("x", "strings"), (1, "integers")]:
        with pytest.raises(TypeError) as ei:
            c.setopt(pycurl.FTP_ACCOUNT, value)
        assert ei.value.args == (f"{msg} are not supported for this option",)
    with pytest.raises(TypeError, match="unsetopt"):
        c.setopt(pycurl.FTP_ACCOUNT, None)
    with pytest.raises(TypeError, match="integers"):
        c.setopt(pycurl.FTP_ALTERNATIVE_TO_USER, 1)
    with pytest.raises(TypeError, match="unsetopt"):
        c.setopt(pycurl.FTP_ALTERNATIVE_TO_USER, None)
    c.close()


@pytest.mark.parametrize("upload", [False, True])
def test_active_mode_over_tls(tls_curl, ftps, root, upload):
    # The server connects to us; TLS on that connection still has us as the client, resuming the
    # control connection's session.
    cmds = sent_commands(tls_curl)
    if upload:
        data = b"active upload\n" * 500
        perform(tls_curl, ftps.url(f"/up/active-{ftps.kind}.txt"), USE_SSL=pycurl.USESSL_ALL, FTPPORT="-",
                UPLOAD=1, READDATA=io.BytesIO(data))
        assert (root / "up" / f"active-{ftps.kind}.txt").read_bytes() == data
    else:
        body, _ = perform(tls_curl, ftps.url("/big.bin"), USE_SSL=pycurl.USESSL_ALL, FTPPORT="-")
        assert body == BIG
    assert [c for c in cmds if c.startswith(b"EPRT |1|127.0.0.1|")] == [cmds[7 if upload else 6]]
    assert tls_curl.getinfo(pycurl.NUM_CONNECTS) == 1


def test_wildcard_over_tls(tls_curl, ftps, implicit):
    # Each pass's data connection is TLS (PROT P) on the one control connection.
    cmds = sent_commands(tls_curl)
    body, _ = perform(tls_curl, ftps.url("/h*.t[x]t"), USE_SSL=pycurl.USESSL_ALL, WILDCARDMATCH=1)
    assert body == CONTENT
    assert [c for c in cmds if c[:4] in (b"LIST", b"RETR", b"PROT")] == [b"PROT P\r\n", b"LIST\r\n",
                                                                         b"RETR hello.txt\r\n"]
    body, _ = perform(tls_curl, implicit.url("/[a-h]*", scheme="ftps"), WILDCARDMATCH=1)
    assert body == BIG + CONTENT


class _CccServer:
    """A scripted FTPS server that accepts CCC: after its 200 it ends TLS with Python's
    SSLSocket.unwrap() (its close_notify, then the client's awaited) and reads the next commands in
    clear text; data connections stay TLS. `seen` has the commands as received, each with how."""

    def __init__(self, certs):
        import socket
        import ssl
        import threading
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certs.server_cert, certs.server_key)
        self.lsn = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsn.getsockname()[1]
        self.seen = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import socket
        while True:
            try:
                c, _ = self.lsn.accept()
            except OSError:
                return
            try:
                self._session(c, socket)
            except OSError as e:
                self.seen.append(f"error {type(e).__name__}")
            c.close()

    def _session(self, c, socket):
        c.sendall(b"220 ccc\r\n")
        buf, data = b"", None
        while True:
            while b"\n" not in buf:
                got = c.recv(4096)
                if not got:
                    return
                buf += got
            line, buf = buf.split(b"\n", 1)
            cmd, _, arg = line.decode().strip().partition(" ")
            self.seen.append(f"{cmd} {'clear' if getattr(c, '_sslobj', None) is None else 'tls'}")
            reply = {"USER": "331 ok", "PASS": "230 ok", "PBSZ": "200 ok", "PROT": "200 ok", "TYPE": "200 ok",
                     "PWD": '257 "/"', "SIZE": "213 5"}.get(cmd)
            if reply:
                c.sendall(reply.encode() + b"\r\n")
            elif cmd == "AUTH":
                c.sendall(b"234 ok\r\n")
                c = self.ctx.wrap_socket(c, server_side=True)
            elif cmd == "CCC":
                c.sendall(b"200 ok\r\n")
                c = c.unwrap()
            elif cmd == "EPSV":
                data = socket.create_server(("127.0.0.1", 0))
                c.sendall(b"229 ok (|||%d|)\r\n" % data.getsockname()[1])
            elif cmd == "RETR":
                c.sendall(b"150 go\r\n")
                d, _ = data.accept()
                d = self.ctx.wrap_socket(d, server_side=True)
                d.sendall(b"hello")
                d.unwrap()
                d.close()
                data.close()
                c.sendall(b"226 done\r\n")
            else:
                c.sendall(b"500 no\r\n")

    def stop(self):
        self.lsn.close()


def test_ccc_active_goes_on_in_clear(tls_curl, certs):
    srv = _CccServer(certs)
    try:
        cmds = sent_commands(tls_curl)
        body, _ = perform(tls_curl, f"ftp://127.0.0.1:{srv.port}/x.txt", USE_SSL=pycurl.USESSL_ALL,
                          FTP_SSL_CCC=2)  # CCC_ACTIVE (pycurl names no constant)
        assert body == b"hello"  # over TLS (PROT P)
        assert cmds[5:8] == [b"CCC\r\n", b"PWD\r\n", b"EPSV\r\n"]
        # The server read the commands after CCC from the plain socket.
        assert srv.seen[:2] == ["AUTH clear", "USER tls"]
        assert srv.seen[5:9] == ["CCC tls", "PWD clear", "EPSV clear", "TYPE clear"]
    finally:
        srv.stop()


def test_ccc_passive_waits_for_the_server(tls_curl, certs):
    # CCC_PASSIVE sends no close_notify: a server that waits for one (as unwrap() does) reads the
    # clear PWD as a bad record and hangs up.
    srv = _CccServer(certs)
    try:
        cmds = sent_commands(tls_curl)
        err = perform_error(tls_curl, f"ftp://127.0.0.1:{srv.port}/x.txt", USE_SSL=pycurl.USESSL_ALL,
                            FTP_SSL_CCC=1)  # CCC_PASSIVE
        # Real pycurl fails with 56 "response reading failed (errno: 11)", pycurl-rs with 8.
        assert err[0] in (56, 8)
        assert cmds[-2:] == [b"CCC\r\n", b"PWD\r\n"]
        assert srv.seen[-1] == "error SSLError"
    finally:
        srv.stop()
