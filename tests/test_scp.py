"""scp:// against Debian's OpenSSH server on loopback (the remote "scp -f" / "scp -t" on an exec
channel): downloads, "/~/" paths, uploads with INFILESIZE and NEW_FILE_PERMS, and libcurl's errors,
under easy perform and CurlMulti. Each case was checked against real pycurl (libcurl 8 with
libssh2) and the same sshd."""

import io
import itertools
import os
import stat

import pytest

import pycurl
from helpers import perform_all
from sshservers import Sshd

_serial = itertools.count()


@pytest.fixture(scope="module")
def sshd():
    srv = Sshd()
    yield srv
    srv.stop()


@pytest.fixture
def tree(sshd):
    d = sshd.home / f"scp{next(_serial)}"
    d.mkdir()
    (d / "f.txt").write_bytes(b"0123456789")
    (d / "sub").mkdir()
    sshd.own(d)
    return d


def handle(sshd, url, **opts):
    c = pycurl.Curl()
    body = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.TIMEOUT, 20)
    c.setopt(pycurl.USERPWD, f"{sshd.user}:{sshd.password}")
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c, body


def run(sshd, url, **opts):
    c, body = handle(sshd, url, **opts)
    err = None
    try:
        c.perform()
    except pycurl.error as e:
        err = e.args
    infos = (
        c.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T),
        c.getinfo(pycurl.SIZE_DOWNLOAD_T),
        c.getinfo(pycurl.SIZE_UPLOAD_T),
        c.getinfo(pycurl.SCHEME),
    )
    c.close()
    return err, body.getvalue(), infos


def test_download(sshd, tree):
    assert run(sshd, sshd.url(f"{tree}/f.txt", "scp")) == (None, b"0123456789", (10, 10, 0, "scp"))
    # RANGE and QUOTE are not SCP's: the whole file comes.
    assert run(sshd, sshd.url(f"{tree}/f.txt", "scp"), RANGE="2-5", QUOTE=["rm x"])[1] == b"0123456789"
    # NOBODY: the size only.
    assert run(sshd, sshd.url(f"{tree}/f.txt", "scp"), NOBODY=1) == (None, b"", (10, 0, 0, "scp"))


def test_home_relative_download(sshd, tree):
    assert run(sshd, sshd.url(f"/~/{tree.name}/f.txt", "scp"))[:2] == (None, b"0123456789")


@pytest.mark.parametrize("name", ["nope.txt", "sub", "sub/"])
def test_missing_file_or_directory(sshd, tree, name):
    assert run(sshd, sshd.url(f"{tree}/{name}", "scp"))[:2] == ((78, "Failed to recv file"), b"")


def test_login_denied(sshd, tree):
    err = run(sshd, sshd.url(f"{tree}/f.txt", "scp"), USERPWD=f"{sshd.user}:wrong")[0]
    assert err == (67, "Login denied")


def up(sshd, url, data, **opts):
    return run(sshd, url, UPLOAD=1, READDATA=io.BytesIO(data), **opts)


def test_uploads(sshd, tree):
    err, _, infos = up(sshd, sshd.url(f"{tree}/new.txt", "scp"), b"abc", INFILESIZE=3)
    assert err is None and infos[2] == 3 and (tree / "new.txt").read_bytes() == b"abc"
    assert stat.S_IMODE(os.stat(tree / "new.txt").st_mode) == 0o644
    assert up(sshd, sshd.url(f"{tree}/p.txt", "scp"), b"abc", INFILESIZE=3, NEW_FILE_PERMS=0o600)[0] is None
    assert stat.S_IMODE(os.stat(tree / "p.txt").st_mode) == 0o600
    # Only INFILESIZE bytes go.
    assert up(sshd, sshd.url(f"{tree}/long.txt", "scp"), b"abcdef", INFILESIZE=3)[0] is None
    assert (tree / "long.txt").read_bytes() == b"abc"
    assert up(sshd, sshd.url(f"/~/{tree.name}/h.txt", "scp"), b"xyz", INFILESIZE=3)[0] is None
    assert (tree / "h.txt").read_bytes() == b"xyz"


def test_upload_errors(sshd, tree):
    assert up(sshd, sshd.url(f"{tree}/new.txt", "scp"), b"abc")[0] == (
        25,
        "SCP requires a known file size for upload",
    )
    assert up(sshd, sshd.url(f"{tree}/x/new.txt", "scp"), b"abc", INFILESIZE=3)[0] == (25, "failed to send file")
    err, _, infos = up(sshd, sshd.url(f"{tree}/short.txt", "scp"), b"ab", INFILESIZE=3)
    assert err == (26, "client read function EOF fail, only 2/3 of needed bytes read") and infos[2] == 2


def test_large_file_both_ways(sshd, tree):
    blob = os.urandom(2 * 1024 * 1024 + 5)
    err, _, infos = up(sshd, sshd.url(f"{tree}/big.bin", "scp"), blob, INFILESIZE=len(blob))
    assert err is None and (tree / "big.bin").read_bytes() == blob
    assert run(sshd, sshd.url(f"{tree}/big.bin", "scp"))[1] == blob


def test_multi(sshd, tree):
    m = pycurl.CurlMulti()
    hs = [handle(sshd, sshd.url(f"{tree}/f.txt", "scp")) for _ in range(2)]
    for c, _ in hs:
        m.add_handle(c)
    perform_all(m, 2)
    assert [b.getvalue() for _, b in hs] == [b"0123456789"] * 2
    for c, _ in hs:
        m.remove_handle(c)
        c.close()
    m.close()
