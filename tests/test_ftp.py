"""ftp:// against real servers on loopback (pyftpdlib and vsftpd): login, directories, passive
mode, downloads, listings, NOBODY, errors, connection reuse, the multi interfaces, uploads and
QUOTE commands. What is checked was observed with real pycurl (libcurl 8) on the same servers."""

import io
import socket
import threading
import time

import pytest

import pycurl

import ftpservers
from helpers import SocketActionDriver, perform, perform_all, perform_error, sent_commands

CONTENT = b"hello world\n"
DEEP = b"deep file\r\nsecond line\r\n"


def _fill(root):
    (root / "hello.txt").write_bytes(CONTENT)
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "deeper" / "d.txt").write_bytes(DEEP)
    (root / "big.bin").write_bytes(bytes(range(256)) * 4096)
    (root / "up").mkdir()
    for p in [root, root / "sub", root / "sub" / "deeper", root / "up"]:
        p.chmod(0o777)


@pytest.fixture(scope="module", params=["pyftpdlib", "vsftpd"])
def ftp(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"ftp-{request.param}")
    _fill(root)
    if request.param == "pyftpdlib":
        srv = ftpservers.start_pyftpdlib(root)
    else:
        srv = ftpservers.start_vsftpd(root, tmp_path_factory.mktemp("vsftpd-conf"))
    yield srv
    srv.stop()


def codes(headers):
    """The reply codes HEADERFUNCTION saw (a data connection opens with 150, or 125 when the
    server sees it open already, as pyftpdlib does)."""
    return [150 if h[:3] == b"125" else int(h[:3]) for h in headers if h[:3].isdigit()]


def test_download_in_subdirectory(curl, ftp):
    cmds = sent_commands(curl)
    body, headers = perform(curl, ftp.url("/sub/deeper/d.txt"))
    assert body == DEEP
    assert cmds == [
        b"USER anonymous\r\n",
        b"PASS ftp@example.com\r\n",
        b"PWD\r\n",
        b"CWD sub\r\n",
        b"CWD deeper\r\n",
        b"EPSV\r\n",
        b"TYPE I\r\n",
        b"SIZE d.txt\r\n",
        b"RETR d.txt\r\n",
    ]
    # Every reply line goes to HEADERFUNCTION, CRLF included.
    assert codes(headers) == [220, 331, 230, 257, 250, 250, 229, 200, 213, 150, 226]
    assert all(h.endswith(b"\r\n") for h in headers)
    assert headers[6].startswith(b"229 ")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 226
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == len(DEEP)
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == len(DEEP)
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 2
    assert curl.getinfo(pycurl.HEADER_SIZE) == 0
    assert curl.getinfo(pycurl.PRIMARY_IP) == "127.0.0.1"
    assert curl.getinfo(pycurl.PRIMARY_PORT) == ftp.port
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == ftp.url("/sub/deeper/d.txt")


def test_large_binary_download(curl, ftp):
    body, _ = perform(curl, ftp.url("/big.bin"))
    assert body == bytes(range(256)) * 4096


def test_listing_and_names_only(curl, ftp):
    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/sub/"))
    assert cmds[-3:] == [b"EPSV\r\n", b"TYPE A\r\n", b"LIST\r\n"]
    assert b"deeper" in body and b"\r\n" not in body
    del cmds[:]
    body, _ = perform(curl, ftp.url("/sub/"), DIRLISTONLY=1, FTP_USE_EPSV=0)
    # The reused connection is already in sub/ and in ASCII mode; FTP_USE_EPSV is read when a
    # connection is made, as libcurl does, so this one still says EPSV.
    assert cmds == [b"EPSV\r\n", b"NLST\r\n"]
    # ASCII transfers turn CRLF into LF, as libcurl does.
    assert body == b"deeper\n"
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 8


def test_pasv_without_epsv(curl, ftp):
    cmds = sent_commands(curl)
    body, headers = perform(curl, ftp.url("/hello.txt"), FTP_USE_EPSV=0)
    assert body == CONTENT
    assert cmds[3:] == [b"PASV\r\n", b"TYPE I\r\n", b"SIZE hello.txt\r\n", b"RETR hello.txt\r\n"]
    assert codes(headers)[4] == 227


def test_root_listing_without_cwd(curl, ftp):
    cmds = sent_commands(curl)
    body, _ = perform(curl, f"ftp://127.0.0.1:{ftp.port}", DIRLISTONLY=1)
    assert b"CWD" not in b"".join(cmds)
    assert sorted(body.split()) == [b"big.bin", b"hello.txt", b"sub", b"up"]


@pytest.mark.parametrize(
    "method,expect",
    [
        (pycurl.FTPMETHOD_MULTICWD, [b"CWD sub\r\n", b"CWD deeper\r\n", b"RETR d.txt\r\n"]),
        (pycurl.FTPMETHOD_SINGLECWD, [b"CWD sub/deeper\r\n", b"RETR d.txt\r\n"]),
        (pycurl.FTPMETHOD_NOCWD, [b"RETR sub/deeper/d.txt\r\n"]),
    ],
)
def test_file_methods(curl, ftp, method, expect):
    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/sub/deeper/d.txt;type=a"), FTP_FILEMETHOD=method)
    assert body == b"deep file\nsecond line\n"
    # ";type=a" asks for ASCII, which sends no SIZE.
    assert [c for c in cmds if c.startswith((b"CWD", b"RETR"))] == expect
    assert b"TYPE A\r\n" in cmds and not any(c.startswith(b"SIZE") for c in cmds)


def test_transfertext(curl, ftp):
    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/sub/deeper/d.txt"), TRANSFERTEXT=1)
    assert body == b"deep file\nsecond line\n"
    assert b"TYPE A\r\n" in cmds


def test_nobody_with_filetime(curl, ftp):
    cmds = sent_commands(curl)
    body, headers = perform(curl, ftp.url("/sub/deeper/d.txt"), NOBODY=1, OPT_FILETIME=1)
    assert cmds[-4:] == [b"MDTM d.txt\r\n", b"TYPE I\r\n", b"SIZE d.txt\r\n", b"REST 0\r\n"]
    mtime = int((ftp.root / "sub" / "deeper" / "d.txt").stat().st_mtime)
    assert curl.getinfo(pycurl.INFO_FILETIME) == mtime
    # libcurl's made-up header lines go to both callbacks.
    fake = [h for h in headers if not h[:3].isdigit()]
    assert fake[0].startswith(b"Last-Modified: ") and fake[0].endswith(b" GMT\r\n")
    assert fake[1:] == [b"Content-Length: %d\r\n" % len(DEEP), b"Accept-ranges: bytes\r\n"]
    assert body == b"".join(fake)
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 350
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 1
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == len(DEEP)


def test_missing_directory(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/nosuch/d.txt"))
    assert (code, msg) == (pycurl.E_REMOTE_ACCESS_DENIED, "Server denied you to change to the given directory")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 550


def test_missing_file(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/nofile.txt"))
    assert (code, msg) == (pycurl.E_REMOTE_FILE_NOT_FOUND, "The file does not exist")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 550


def test_missing_file_in_ascii_mode(curl, ftp):
    # No SIZE in ASCII mode: RETR itself fails.
    code, msg = perform_error(curl, ftp.url("/nofile.txt;type=a"))
    assert (code, msg) == (pycurl.E_REMOTE_FILE_NOT_FOUND, "RETR response: 550")


def test_login_denied(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/hello.txt", auth="nobody:wrong@"))
    assert (code, msg) == (pycurl.E_LOGIN_DENIED, "Access denied: 530")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 530


@pytest.fixture(scope="module")
def pyftpd(tmp_path_factory):
    """pyftpdlib alone: it has a user with a password (vsftpd here serves anonymous users)."""
    root = tmp_path_factory.mktemp("ftp-users")
    _fill(root)
    srv = ftpservers.start_pyftpdlib(root)
    yield srv
    srv.stop()


def test_login_with_userpwd(curl, pyftpd):
    ftp = pyftpd
    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/hello.txt"), USERPWD=f"{ftpservers.USER}:{ftpservers.PASSWORD}")
    assert body == CONTENT
    assert cmds[:2] == [b"USER user\r\n", b"PASS secret\r\n"]
    del cmds[:]
    # Another user on the same handle does not reuse the connection.
    perform(curl, ftp.url("/hello.txt"), USERPWD="anonymous:a@b")
    assert cmds[:2] == [b"USER anonymous\r\n", b"PASS a@b\r\n"]


def test_connect_refused(curl, refused_port):
    code, msg = perform_error(curl, f"ftp://127.0.0.1:{refused_port}/x")
    assert code == pycurl.E_COULDNT_CONNECT
    assert msg.startswith(f"Failed to connect to 127.0.0.1:{refused_port} after ")


def test_reuse_goes_back_to_entry_path(curl, ftp):
    perform(curl, ftp.url("/sub/deeper/d.txt"))
    cmds = sent_commands(curl)
    body, headers = perform(curl, ftp.url("/hello.txt"))
    assert body == CONTENT
    assert cmds[0].startswith(b"CWD /") and cmds[1:] == [b"EPSV\r\n", b"SIZE hello.txt\r\n", b"RETR hello.txt\r\n"]
    assert codes(headers) == [250, 229, 213, 150, 226]
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 1
    del cmds[:]
    perform(curl, ftp.url("/hello.txt"))
    assert cmds == [b"EPSV\r\n", b"SIZE hello.txt\r\n", b"RETR hello.txt\r\n"]


def test_resume_download(curl, ftp):
    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/hello.txt"), RESUME_FROM=6)
    assert body == CONTENT[6:]
    assert b"REST 6\r\n" in cmds
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == len(CONTENT) - 6


def test_multi_perform(ftp):
    m = pycurl.CurlMulti()
    handles = []
    for path in ["/hello.txt", "/sub/deeper/d.txt", "/big.bin"]:
        c = pycurl.Curl()
        c.buf = io.BytesIO()
        c.setopt(pycurl.URL, ftp.url(path))
        c.setopt(pycurl.WRITEDATA, c.buf)
        m.add_handle(c)
        handles.append(c)
    perform_all(m, len(handles))
    assert [c.buf.getvalue() for c in handles] == [CONTENT, DEEP, bytes(range(256)) * 4096]
    for c in handles:
        m.remove_handle(c)
        c.close()
    m.close()


def test_socket_action_sees_control_and_data_sockets(ftp):
    m = pycurl.CurlMulti()
    drive = SocketActionDriver(m)
    c = pycurl.Curl()
    buf = io.BytesIO()
    c.setopt(pycurl.URL, ftp.url("/big.bin"))
    c.setopt(pycurl.WRITEDATA, buf)
    m.add_handle(c)
    drive.run(100000)
    assert buf.getvalue() == bytes(range(256)) * 4096
    # The control connection and the data connection were both handed to SOCKETFUNCTION.
    assert len(drive.seen) >= 2
    m.remove_handle(c)
    c.close()
    m.close()


@pytest.mark.parametrize("port", ["-", "127.0.0.1"])
def test_active_mode_download(curl, ftp, port):
    cmds = sent_commands(curl)
    body, headers = perform(curl, ftp.url("/sub/deeper/d.txt"), FTPPORT=port)
    assert body == DEEP
    assert cmds[5].startswith(b"EPRT |1|127.0.0.1|") and cmds[6:] == [
        b"TYPE I\r\n", b"SIZE d.txt\r\n", b"RETR d.txt\r\n"]
    assert codes(headers)[-1] == 226
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 1


def test_active_mode_port_listing_and_upload(curl, ftp):
    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/sub/"), FTPPORT="-", FTP_USE_EPRT=0)
    assert b"deeper" in body
    port = [c for c in cmds if c.startswith(b"PORT ")]
    assert len(port) == 1 and port[0].startswith(b"PORT 127,0,0,1,")
    assert not [c for c in cmds if c.startswith((b"EPRT", b"EPSV", b"PASV"))]
    del cmds[:]
    perform(curl, ftp.url("/up/active.bin"), FTPPORT="-", UPLOAD=1, READDATA=io.BytesIO(b"x" * 70000))
    assert (ftp.root / "up" / "active.bin").read_bytes() == b"x" * 70000
    # FTP_USE_EPRT=0 is still set on the handle.
    assert [c[:5] for c in cmds if c[:4] in (b"PORT", b"EPRT", b"STOR")] == [b"PORT ", b"STOR "]


def test_active_mode_server_never_connects():
    """A server that takes EPRT and RETR but never connects: ACCEPTTIMEOUT_MS ends it with 12."""
    lsn, done, t = _scripted_ftp({b"EPRT": b"200 ok\r\n", b"TYPE": b"200 ok\r\n", b"SIZE": b"213 5\r\n",
                                  b"RETR": b"150 go\r\n"})
    c = pycurl.Curl()
    try:
        code, msg = perform_error(c, f"ftp://127.0.0.1:{lsn.getsockname()[1]}/x", FTPPORT="-",
                                  ACCEPTTIMEOUT_MS=500)
        assert (code, msg) == (12, "Accept timeout occurred while waiting server connect")
    finally:
        c.close()
        done.set()
        t.join(5)
        lsn.close()


def test_bad_option_values(curl):
    for opt, value in [(pycurl.FTP_FILEMETHOD, 4), (pycurl.FTP_CREATE_MISSING_DIRS, 3)]:
        with pytest.raises(pycurl.error) as ei:
            curl.setopt(opt, value)
        assert ei.value.args[0] == pycurl.E_BAD_FUNCTION_ARGUMENT


def test_response_timeout():
    # A server that accepts and never greets.
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(1)
    held = []
    t = threading.Thread(target=lambda: held.append(lsn.accept()[0]), daemon=True)
    t.start()
    c = pycurl.Curl()
    try:
        code, msg = perform_error(c, f"ftp://127.0.0.1:{lsn.getsockname()[1]}/x", FTP_RESPONSE_TIMEOUT=1)
        assert (code, msg) == (pycurl.E_OPERATION_TIMEDOUT, "server response timeout")
    finally:
        c.close()
        t.join(5)
        for s in held:
            s.close()
        lsn.close()


def _scripted_ftp(more=None):
    """A server that greets, answers the login, PWD and the commands in `more`, then stays
    silent (the first command it has no answer for stops it reading) until `done` is set."""
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(1)
    done = threading.Event()
    answers = {b"USER": b"331 pw\r\n", b"PASS": b"230 in\r\n", b"PWD": b'257 "/" here\r\n', **(more or {})}

    def serve():
        s, _ = lsn.accept()
        f = s.makefile("rb")
        s.sendall(b"220 hi\r\n")
        for line in f:
            a = answers.get(line.split()[0].upper())
            if a is None:
                break
            s.sendall(a)
        done.wait(30)
        s.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return lsn, done, t


@pytest.mark.parametrize("opts, expect", [
    # TIMEOUT sooner than the reply timeout ends the transfer first, with its own message.
    ({"TIMEOUT": 1, "FTP_RESPONSE_TIMEOUT": 5}, "Operation timed out after"),
    ({"TIMEOUT": 5, "FTP_RESPONSE_TIMEOUT": 1}, "server response timeout"),
])
def test_response_timeout_and_timeout(opts, expect):
    lsn, done, t = _scripted_ftp()
    c = pycurl.Curl()
    try:
        t0 = time.monotonic()
        code, msg = perform_error(c, f"ftp://127.0.0.1:{lsn.getsockname()[1]}/x", **opts)
        took = time.monotonic() - t0
        assert code == pycurl.E_OPERATION_TIMEDOUT and msg.startswith(expect), msg
        assert 0.9 < took < 3
    finally:
        c.close()
        done.set()
        t.join(5)
        lsn.close()


def upload(curl, url, data, **opts):
    return perform(curl, url, UPLOAD=1, READDATA=io.BytesIO(data), **opts)


def test_upload(curl, ftp):
    cmds = sent_commands(curl)
    payload = b"uploaded\n" * 5000
    _, headers = upload(curl, ftp.url("/up/new.bin"), payload, INFILESIZE=len(payload))
    assert (ftp.root / "up" / "new.bin").read_bytes() == payload
    assert cmds[3:] == [b"CWD up\r\n", b"EPSV\r\n", b"TYPE I\r\n", b"STOR new.bin\r\n"]
    assert codes(headers)[-2:] == [150, 226]
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 226
    assert curl.getinfo(pycurl.SIZE_UPLOAD_T) == len(payload)


def test_upload_append(curl, ftp):
    (ftp.root / "up" / "log.txt").write_bytes(b"one\n")
    cmds = sent_commands(curl)
    upload(curl, ftp.url("/up/log.txt"), b"two\n", APPEND=1)
    assert (ftp.root / "up" / "log.txt").read_bytes() == b"one\ntwo\n"
    assert cmds[-1] == b"APPE log.txt\r\n"


def test_upload_resume_appends(curl, ftp):
    (ftp.root / "up" / "part.txt").write_bytes(b"0123")
    cmds = sent_commands(curl)
    # Without SEEKFUNCTION libcurl 8 appends the whole input.
    upload(curl, ftp.url("/up/part.txt"), b"0123456789", RESUME_FROM=4)
    assert (ftp.root / "up" / "part.txt").read_bytes() == b"01230123456789"
    assert cmds[-1] == b"APPE part.txt\r\n"
    # With one, the input is moved on to the resume offset first.
    (ftp.root / "up" / "part.txt").write_bytes(b"0123")
    src = io.BytesIO(b"0123456789")
    curl.setopt(pycurl.SEEKFUNCTION, lambda offset, origin: src.seek(offset, origin) and 0)
    upload(curl, ftp.url("/up/part.txt"), b"", READFUNCTION=src.read, RESUME_FROM=4)
    assert (ftp.root / "up" / "part.txt").read_bytes() == b"0123456789"


def test_upload_creates_missing_dirs(curl, ftp):
    cmds = sent_commands(curl)
    upload(curl, ftp.url("/up/made/here/f.txt"), b"x", FTP_CREATE_MISSING_DIRS=1)
    assert (ftp.root / "up" / "made" / "here" / "f.txt").read_bytes() == b"x"
    assert cmds[3:9] == [
        b"CWD up\r\n",
        b"CWD made\r\n",
        b"MKD made\r\n",
        b"CWD made\r\n",
        b"CWD here\r\n",
        b"MKD here\r\n",
    ]


def test_upload_into_missing_dir_fails(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/up/absent/f.txt"), UPLOAD=1, READDATA=io.BytesIO(b"x"))
    assert (code, msg) == (pycurl.E_REMOTE_ACCESS_DENIED, "Server denied you to change to the given directory")


def test_quote_commands(curl, ftp):
    (ftp.root / "up" / "gone.txt").write_bytes(b"x")
    (ftp.root / "up" / "stay.txt").write_bytes(b"in up\n")
    cmds = sent_commands(curl)
    body, _ = perform(
        curl,
        ftp.url("/stay.txt"),
        QUOTE=["CWD up", "DELE gone.txt"],
        PREQUOTE=["*NOOPE"],
        POSTQUOTE=["NOOP"],
    )
    assert not (ftp.root / "up" / "gone.txt").exists()
    # QUOTE before the directory changes, PREQUOTE after TYPE, POSTQUOTE after the transfer; the
    # "*" lets the unknown command fail. QUOTE's CWD moved the session: stay.txt is read in up/.
    assert body == b"in up\n"
    assert cmds[3:5] == [b"CWD up\r\n", b"DELE gone.txt\r\n"]
    assert cmds[-4:] == [b"NOOPE\r\n", b"SIZE stay.txt\r\n", b"RETR stay.txt\r\n", b"NOOP\r\n"]


def test_quote_list_on_root(curl, ftp):
    # pycurl's own ftp test: QUOTE "CWD sub" changes what the listing shows.
    body, _ = perform(curl, ftp.url("/"), QUOTE=["CWD sub"], DIRLISTONLY=1)
    assert body == b"deeper\n"


def test_quote_failure(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/hello.txt"), QUOTE=["NOSUCHCMD"])
    assert code == pycurl.E_QUOTE_ERROR
    assert msg.startswith("QUOT command failed with 5")


def test_postquote_failure(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/hello.txt"), POSTQUOTE=["NOSUCHCMD"])
    assert code == pycurl.E_QUOTE_ERROR


def test_upload_without_filename(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/up/"), UPLOAD=1, READDATA=io.BytesIO(b"x"))
    assert (code, msg) == (pycurl.E_URL_MALFORMAT, "Uploading to a URL without a filename")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 257


def test_range(curl, ftp):
    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/big.bin"), RANGE="1-2")
    assert body == b"\x01\x02"
    assert b"REST 1\r\n" in cmds
    # The connection stays usable after the data connection was cut short.
    body, _ = perform(curl, ftp.url("/hello.txt"), RANGE="-6")
    assert body == CONTENT[-6:]


def test_resume_beyond_the_end(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/hello.txt"), RESUME_FROM=100)
    assert (code, msg) == (pycurl.E_BAD_DOWNLOAD_RESUME, f"Offset (100) was beyond file size ({len(CONTENT)})")


def test_maxfilesize(curl, ftp):
    code, msg = perform_error(curl, ftp.url("/hello.txt"), MAXFILESIZE=3)
    assert (code, msg) == (pycurl.E_FILESIZE_EXCEEDED, "Maximum file size exceeded")


def test_upload_resume_from_server_size(curl, ftp):
    (ftp.root / "up" / "grow.txt").write_bytes(b"01234")
    src = io.BytesIO(b"0123456789")
    cmds = sent_commands(curl)
    curl.setopt(pycurl.SEEKFUNCTION, lambda offset, origin: src.seek(offset, origin) and 0)
    perform(curl, ftp.url("/up/grow.txt"), UPLOAD=1, READFUNCTION=src.read, RESUME_FROM=-1)
    # -1 asks the server (SIZE) where to resume.
    assert (ftp.root / "up" / "grow.txt").read_bytes() == b"0123456789"
    assert cmds[-2:] == [b"SIZE grow.txt\r\n", b"APPE grow.txt\r\n"]


def test_abort_mid_download_then_reuse(curl, ftp):
    # A write callback that refuses the data ends the transfer with 23; the next one on the same
    # handle still gets its own file (no reply left over from the aborted one).
    code, _ = perform_error(curl, ftp.url("/big.bin"), WRITEFUNCTION=lambda b: 0)
    assert code == pycurl.E_WRITE_ERROR
    body, _ = perform(curl, ftp.url("/hello.txt"))
    assert body == CONTENT
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 226


@pytest.mark.parametrize("opts, expect", [
    ({}, ["Request has same path as previous transfer", "Connect data stream passively",
          "Connecting to 127.0.0.1 port ", "Maxdownload = -1", "Getting file with size: 12"]),
    ({"FTPPORT": "-"}, ["Request has same path as previous transfer", "Connect data stream actively",
                        "Ready to accept data connection from server", "Maxdownload = -1",
                        "Getting file with size: 12"]),
])
def test_verbose_text(curl, ftp, opts, expect):
    """The informational lines libcurl gives DEBUGFUNCTION for a download, in its order."""
    lines = []
    curl.setopt(pycurl.VERBOSE, 1)
    curl.setopt(pycurl.DEBUGFUNCTION,
                lambda kind, data: kind == pycurl.INFOTYPE_TEXT and lines.append(data.decode()))
    perform(curl, ftp.url("/hello.txt"), **opts)
    found = [next((l for l in lines if l.startswith(e)), None) for e in expect]
    assert None not in found, (expect, lines)
    assert [lines.index(l) for l in found] == sorted(lines.index(l) for l in found)
    if "FTPPORT" in opts:
        assert "Connection accepted from server\n" in lines


@pytest.mark.parametrize("opts, code, connects", [
    ({"QUOTE": ["BOGUS"]}, 21, 2),  # libcurl closes the control connection after a quote error
    ({"URL": "/nofile"}, 78, 1),  # and keeps it after a missing file
])
def test_control_connection_after_failure(curl, ftp, opts, code, connects):
    opts = dict(opts)
    url = ftp.url(opts.pop("URL", "/hello.txt"))
    assert perform_error(curl, url, **opts)[0] == code
    curl.unsetopt(pycurl.QUOTE)
    body, _ = perform(curl, ftp.url("/hello.txt"))
    assert body == CONTENT
    # New connections of the second transfer: the data connection, plus the control one if closed.
    assert curl.getinfo(pycurl.NUM_CONNECTS) == connects
