"""WILDCARDMATCH and FNMATCH_FUNCTION on real FTP servers (pyftpdlib and vsftpd): the directory
is listed, then every regular file whose name matches is fetched in the same perform(). What is
checked was observed with real pycurl (libcurl 8) on the same servers."""

import io
import os

import pytest

import pycurl

import ftpservers
from helpers import SocketActionDriver, perform, perform_all, perform_error, sent_commands

FILES = {"a.txt": b"AAA\n", "b.txt": b"BB\n", "c.bin": b"CCCCC", "e[1].txt": b"E1", "-.txt": b"dash"}


@pytest.fixture(scope="module", params=["pyftpdlib", "vsftpd"])
def ftp(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"wild-{request.param}")
    for name, data in FILES.items():
        (root / name).write_bytes(data)
    (root / "d.txt").mkdir()  # a directory whose name matches: skipped
    os.symlink("a.txt", root / "l.txt")  # a symlink: skipped too
    (root / "sub").mkdir()
    (root / "sub" / "x.txt").write_bytes(b"xx")
    (root / "sub" / "y.txt").write_bytes(b"yyy")
    if request.param == "pyftpdlib":
        srv = ftpservers.start_pyftpdlib(root)
    else:
        srv = ftpservers.start_vsftpd(root, tmp_path_factory.mktemp("vsftpd-wild"))
    yield srv
    srv.stop()


def retrieved(cmds):
    return [c[5:-2].decode() for c in cmds if c.startswith(b"RETR ")]


def test_star_fetches_each_matching_file(curl, ftp):
    cmds = sent_commands(curl)
    body, headers = perform(curl, ftp.url("/*.txt"), WILDCARDMATCH=1)
    names = retrieved(cmds)
    assert sorted(names) == ["-.txt", "a.txt", "b.txt", "e[1].txt"]
    assert body == b"".join(FILES[n] for n in names)
    # One listing, then one passive connection per file, with no SIZE: the listing gave it.
    assert cmds[:6] == [b"USER anonymous\r\n", b"PASS ftp@example.com\r\n", b"PWD\r\n", b"EPSV\r\n",
                        b"TYPE A\r\n", b"LIST\r\n"]
    assert cmds[6:9] == [b"EPSV\r\n", b"TYPE I\r\n", f"RETR {names[0]}\r\n".encode()]
    assert cmds.count(b"EPSV\r\n") == 5 and not any(c.startswith(b"SIZE") for c in cmds)
    assert any(h.startswith(b"226") for h in headers)
    # The infos are those of libcurl's last, empty pass.
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == ftp.url("/*.txt")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 0
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 0
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == -1
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 0
    assert curl.getinfo(pycurl.PRIMARY_PORT) == ftp.port


@pytest.mark.parametrize("pattern, expected", [
    ("[a-b].txt", ["a.txt", "b.txt"]),
    ("[!a-z].txt", ["-.txt"]),
    ("e\\[1\\].txt", ["e[1].txt"]),
    ("c*.b*n", ["c.bin"]),
    ("A.TXT", None),
    ("[", None),
])
def test_patterns(curl, ftp, pattern, expected):
    cmds = sent_commands(curl)
    if expected is None:
        assert perform_error(curl, ftp.url("/" + pattern), WILDCARDMATCH=1) == (78, "Remote file not found")
        assert cmds[-1] == b"LIST\r\n"
        return
    body, _ = perform(curl, ftp.url("/" + pattern), WILDCARDMATCH=1)
    assert sorted(retrieved(cmds)) == expected
    assert body == b"".join(FILES[n] for n in retrieved(cmds))


def test_subdirectory_with_fnmatch_function(curl, ftp):
    seen = []

    def only_y(pattern, name):
        seen.append((pattern, name))
        return pycurl.FNMATCHFUNC_MATCH if name == b"y.txt" else pycurl.FNMATCHFUNC_NOMATCH

    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/sub/*"), WILDCARDMATCH=1, FNMATCH_FUNCTION=only_y)
    assert body == b"yyy"
    assert sorted(seen) == [(b"*", b"x.txt"), (b"*", b"y.txt")]
    assert cmds[3:5] == [b"CWD sub\r\n", b"EPSV\r\n"]
    assert retrieved(cmds) == ["y.txt"]


def test_fnmatch_fail_skips_the_file(curl, ftp):
    body, _ = perform(curl, ftp.url("/sub/*"), WILDCARDMATCH=1,
                      FNMATCH_FUNCTION=lambda p, n: pycurl.FNMATCHFUNC_FAIL if n == b"x.txt" else 0)
    assert body == b"yyy"
    err = perform_error(curl, ftp.url("/sub/*"), WILDCARDMATCH=1, FNMATCH_FUNCTION=lambda p, n: 2)
    assert err == (78, "Remote file not found")


def test_fnmatch_not_an_int_is_no_match(curl, ftp, capfd):
    err = perform_error(curl, ftp.url("/sub/*"), WILDCARDMATCH=1, FNMATCH_FUNCTION=lambda p, n: None)
    assert err == (78, "Remote file not found")
    assert "fnmatch callback returned None which is not an integer" in capfd.readouterr().err


def test_fnmatch_exception_leaves_perform(curl, ftp):
    calls = []

    def boom(pattern, name):
        calls.append(name)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        perform(curl, ftp.url("/sub/*"), WILDCARDMATCH=1, FNMATCH_FUNCTION=boom)
    assert len(calls) == 1  # no callback is called once one has raised
    # A callback returning an int too big for C raises OverflowError out of perform().
    c = pycurl.Curl()
    with pytest.raises(OverflowError, match="^fnmatch callback returned 1180591620717411303424 which does not fit in an int$"):
        perform(c, ftp.url("/sub/*"), WILDCARDMATCH=1, FNMATCH_FUNCTION=lambda p, n: 2**70)
    c.close()


def test_no_pattern_lists_the_directory(curl, ftp):
    body, _ = perform(curl, ftp.url("/sub/"), WILDCARDMATCH=1)
    assert b"x.txt" in body and b"y.txt" in body
    # Switched off again: the pattern is a file name.
    curl.setopt(pycurl.WILDCARDMATCH, 0)
    assert perform_error(curl, ftp.url("/sub/*"))[0] == 78


def test_multi_and_socket_action(ftp):
    m = pycurl.CurlMulti()
    bufs = []
    handles = []
    for path in ["/sub/*", "/*.bin"]:
        c = pycurl.Curl()
        b = io.BytesIO()
        c.setopt(pycurl.URL, ftp.url(path))
        c.setopt(pycurl.WILDCARDMATCH, 1)
        c.setopt(pycurl.WRITEDATA, b)
        m.add_handle(c)
        handles.append(c)
        bufs.append(b)
    perform_all(m, 2)
    assert bufs[0].getvalue() in (b"xxyyy", b"yyyxx") and bufs[1].getvalue() == b"CCCCC"
    for c in handles:
        m.remove_handle(c)
    drive = SocketActionDriver(m)
    c = handles[0]
    bufs[0].truncate(0)
    bufs[0].seek(0)
    m.add_handle(c)
    assert drive.run() == 0
    assert sorted(bufs[0].getvalue()) == sorted(b"xxyyy")
    m.remove_handle(c)
    for c in handles:
        c.close()
    m.close()


def test_options(curl):
    for v in ["*", b"", 1, 0]:
        assert curl.setopt(pycurl.WILDCARDMATCH, v) is None
    with pytest.raises(TypeError, match="unsetopt"):
        curl.setopt(pycurl.WILDCARDMATCH, None)
    # pycurl passes no user data to the fnmatch callback.
    for v, msg in [(1, "integers are not"), ("x", "strings are not"), ([1], "lists are not"),
                   (object(), "invalid arguments to setopt")]:
        with pytest.raises(TypeError, match=msg):
            curl.setopt(pycurl.FNMATCH_DATA, v)
    with pytest.raises(TypeError):
        curl.setopt(pycurl.FNMATCH_FUNCTION, 42)
    curl.setopt(pycurl.FNMATCH_FUNCTION, lambda p, n: 0)
    curl.unsetopt(pycurl.FNMATCH_FUNCTION)


def test_nocwd_and_dirlistonly(curl, ftp):
    cmds = sent_commands(curl)
    body, _ = perform(curl, ftp.url("/sub/*"), WILDCARDMATCH=1, FTP_FILEMETHOD=pycurl.FTPMETHOD_NOCWD)
    assert body == b"xxyyy" or body == b"yyyxx"
    # libcurl changes into the directory even under NOCWD, and fetches the names as listed.
    assert cmds[3] == b"CWD sub\r\n" and sorted(retrieved(cmds)) == ["x.txt", "y.txt"]
    c = pycurl.Curl()
    cmds = sent_commands(c)
    # NLST's bare names are no listing libcurl can read.
    assert perform_error(c, ftp.url("/*.txt"), WILDCARDMATCH=1, DIRLISTONLY=1) == (
        87, "Unable to parse FTP file list")
    assert cmds[-1] == b"NLST\r\n"
    c.close()


class _DosServer:
    """A scripted FTP server whose LIST answers in Windows/DOS format (as IIS does), each file's
    content being its name."""

    LISTING = (b"11-30-26  04:13AM       <DIR>          sub.txt\r\n"
               b"11-30-26  04:13PM                    5 a.txt\r\n"
               b"01-02-99  11:59AM                    7 b b.txt\r\n"
               b"01-02-99  11:59AM                    5 c.bin\r\n")

    def __init__(self):
        import socket
        import threading
        self.lsn = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsn.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import socket
        while True:
            try:
                c, _ = self.lsn.accept()
            except OSError:
                return
            f = c.makefile("rb")
            c.sendall(b"220 dos\r\n")
            data = None
            for line in f:
                cmd, _, arg = line.decode().rstrip("\r\n").partition(" ")
                if cmd in ("USER", "PASS"):
                    c.sendall(b"331 ok\r\n" if cmd == "USER" else b"230 ok\r\n")
                elif cmd == "PWD":
                    c.sendall(b'257 "/"\r\n')
                elif cmd == "EPSV":
                    data = socket.create_server(("127.0.0.1", 0))
                    c.sendall(b"229 ok (|||%d|)\r\n" % data.getsockname()[1])
                elif cmd == "TYPE":
                    c.sendall(b"200 ok\r\n")
                elif cmd in ("LIST", "RETR"):
                    c.sendall(b"150 go\r\n")
                    d, _ = data.accept()
                    d.sendall(self.LISTING if cmd == "LIST" else arg.encode())
                    d.close()
                    data.close()
                    c.sendall(b"226 done\r\n")
                else:
                    c.sendall(b"500 no\r\n")
            c.close()

    def stop(self):
        self.lsn.close()


def test_windows_listing(curl):
    srv = _DosServer()
    try:
        cmds = sent_commands(curl)
        body, _ = perform(curl, f"ftp://127.0.0.1:{srv.port}/*.txt", WILDCARDMATCH=1)
        # The <DIR> entry is skipped; a name with a space is kept whole.
        assert body == b"a.txtb b.txt"
        assert retrieved(cmds) == ["a.txt", "b b.txt"]
    finally:
        srv.stop()
