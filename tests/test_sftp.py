"""sftp:// against Debian's OpenSSH server (sshd with internal-sftp) on loopback: downloads with
RANGE / RESUME_FROM, uploads, directory listings, NOBODY and FILETIME, QUOTE / POSTQUOTE with
libcurl's SFTP commands, password / keyboard-interactive / key logins, host key checks
(fingerprints, SSH_KNOWNHOSTS and SSH_KEYFUNCTION), under easy perform, CurlMulti perform/select
and the socket API. Each case was checked against real pycurl (libcurl 8 with libssh2) and the
same sshd: bytes, errors and their messages, getinfo values, files left on the server."""

import io
import itertools
import os
import re
import stat

import pytest

import pycurl
from helpers import SocketActionDriver, perform_all
from sshservers import Sshd


@pytest.fixture(scope="module")
def sshd():
    srv = Sshd()
    yield srv
    srv.stop()


_serial = itertools.count()


@pytest.fixture
def tree(sshd, request):
    """A directory of the user's, fresh for each test: f.txt (10 bytes, old times), sub/, ln -> f.txt."""
    d = sshd.home / f"{re.sub(r'[^A-Za-z0-9]+', '_', request.node.name)[:40]}_{next(_serial)}"
    d.mkdir()
    (d / "f.txt").write_bytes(b"0123456789")
    (d / "sub").mkdir()
    os.symlink("f.txt", d / "ln")
    os.utime(d / "f.txt", (1500000000, 1600000000))
    sshd.own(d)
    return d


def handle(sshd, url, auth=True, **opts):
    c = pycurl.Curl()
    body, head = io.BytesIO(), io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.HEADERFUNCTION, head.write)
    c.setopt(pycurl.TIMEOUT, 20)
    if auth:
        c.setopt(pycurl.USERPWD, f"{sshd.user}:{sshd.password}")
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c, body, head


def run(sshd, url, **opts):
    """One transfer: (error args or None, body, header bytes, the handle's infos)."""
    c, body, head = handle(sshd, url, **opts)
    err = None
    try:
        c.perform()
    except pycurl.error as e:
        err = e.args
    infos = {
        "length": c.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T),
        "size": c.getinfo(pycurl.SIZE_DOWNLOAD_T),
        "up": c.getinfo(pycurl.SIZE_UPLOAD_T),
        "filetime": c.getinfo(pycurl.INFO_FILETIME),
        "port": c.getinfo(pycurl.PRIMARY_PORT),
        "scheme": c.getinfo(pycurl.SCHEME),
        "code": c.getinfo(pycurl.RESPONSE_CODE),
    }
    c.close()
    return err, body.getvalue(), head.getvalue(), infos


def upload(sshd, url, data, **opts):
    return run(sshd, url, UPLOAD=1, READDATA=io.BytesIO(data), **opts)


def test_download_with_its_infos(sshd, tree):
    err, body, head, i = run(sshd, sshd.url(f"{tree}/f.txt"))
    assert err is None and body == b"0123456789" and head == b""
    assert (i["length"], i["size"], i["filetime"], i["code"]) == (10, 10, -1, 0)
    assert i["port"] == sshd.port and i["scheme"] == "sftp"


def test_home_relative_path(sshd, tree):
    err, body, _, _ = run(sshd, sshd.url(f"/~/{tree.name}/f.txt"))
    assert err is None and body == b"0123456789"


@pytest.mark.parametrize(
    "opts, want, length",
    [
        ({"RANGE": "2-5"}, b"2345", 4),
        ({"RANGE": "7-"}, b"789", 3),
        ({"RANGE": "-3"}, b"789", 3),
        ({"RESUME_FROM": 4}, b"456789", 6),
    ],
)
def test_ranges_and_resume(sshd, tree, opts, want, length):
    err, body, _, i = run(sshd, sshd.url(f"{tree}/f.txt"), **opts)
    assert err is None and body == want and i["length"] == length


@pytest.mark.parametrize(
    "opts, msg",
    [
        ({"RESUME_FROM": 40}, "Offset (40) was beyond file size (10)"),
        ({"RANGE": "20-30"}, "Offset (20) was beyond file size (10)"),
        ({"RANGE": "5-2"}, "Bad range: start offset larger than end offset"),
        ({"RANGE": "1-2,4-5"}, "Requested range was not delivered by the server"),
    ],
)
def test_bad_ranges(sshd, tree, opts, msg):
    err, body, _, _ = run(sshd, sshd.url(f"{tree}/f.txt"), **opts)
    assert err == (pycurl.E_RANGE_ERROR, msg) and body == b""


def test_nobody_and_filetime(sshd, tree):
    err, body, _, i = run(sshd, sshd.url(f"{tree}/f.txt"), NOBODY=1, OPT_FILETIME=1)
    assert err is None and body == b"" and (i["length"], i["filetime"], i["size"]) == (10, 1600000000, 0)
    err, body, _, i = run(sshd, sshd.url(f"{tree}/f.txt"), OPT_FILETIME=1)
    assert err is None and body == b"0123456789" and i["filetime"] == 1600000000


def test_missing_file_and_directory(sshd, tree):
    err, _, _, i = run(sshd, sshd.url(f"{tree}/nope.txt"))
    assert err == (78, "Could not open remote file for reading: No such file or directory")
    assert i["length"] == -1
    err, _, _, _ = run(sshd, sshd.url(f"{tree}/nodir/"))
    assert err == (78, "Could not open directory for reading: No such file or directory")


def test_directory_listing_long_and_names_only(sshd, tree):
    err, body, _, i = run(sshd, sshd.url(f"{tree}/"))
    assert err is None and i["length"] == -1
    lines = body.decode().splitlines()
    by_name = {line.split(" ")[-1] if " -> " not in line else line.split(" -> ")[0].split(" ")[-1]: line for line in lines}
    assert sorted(by_name) == [".", "..", "f.txt", "ln", "sub"]
    assert by_name["f.txt"].startswith("-rw-r--r--") and " 10 Sep 13  2020 f.txt" in by_name["f.txt"]
    assert by_name["sub"].startswith("d") and by_name["ln"].startswith("l") and by_name["ln"].endswith("ln -> f.txt")
    err, body, _, _ = run(sshd, sshd.url(f"{tree}/"), DIRLISTONLY=1)
    assert err is None and sorted(body.decode().splitlines()) == [".", "..", "f.txt", "ln", "sub"]
    # "/~" is the home directory, listed.
    err, body, _, _ = run(sshd, sshd.url("/~"), DIRLISTONLY=1)
    assert err is None and tree.name in body.decode().splitlines()


def test_password_logins_and_refusals(sshd, tree):
    url = sshd.url(f"{tree}/f.txt")
    # The URL's credentials work as USERPWD's.
    err, body, _, _ = run(sshd, url.replace("sftp://", f"sftp://{sshd.user}:{sshd.password}@"), auth=False)
    assert err is None and body == b"0123456789"
    # libcurl's "Login denied" comes after keyboard-interactive failed too, else "Authentication failure".
    assert run(sshd, url, USERPWD=f"{sshd.user}:wrong")[0] == (67, "Login denied")
    assert run(sshd, url, USERPWD=f"{sshd.user}:wrong", SSH_AUTH_TYPES=pycurl.SSH_AUTH_PASSWORD)[0] == (
        67,
        "Authentication failure",
    )
    assert run(sshd, url, SSH_AUTH_TYPES=pycurl.SSH_AUTH_NONE)[0] == (67, "Authentication failure")
    assert run(sshd, url, SSH_AUTH_TYPES=pycurl.SSH_AUTH_AGENT)[0] == (67, "Authentication failure")
    err, body, _, _ = run(sshd, url, SSH_AUTH_TYPES=pycurl.SSH_AUTH_PASSWORD)
    assert err is None and body == b"0123456789"


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_public_key_login(sshd, tree, kind):
    url = sshd.url(f"{tree}/f.txt")
    key = sshd.keys[kind]
    err, body, _, _ = run(
        sshd, url, USERPWD=f"{sshd.user}:", SSH_PRIVATE_KEYFILE=key, SSH_PUBLIC_KEYFILE=key + ".pub", SSH_AUTH_TYPES=1
    )
    assert err is None and body == b"0123456789"


def test_public_key_refused_or_missing(sshd, tree):
    url = sshd.url(f"{tree}/f.txt")
    stranger = sshd.keys["stranger"]
    assert run(sshd, url, USERPWD=f"{sshd.user}:", SSH_PRIVATE_KEYFILE=stranger, SSH_AUTH_TYPES=1)[0] == (
        67,
        "Authentication failure",
    )
    missing = str(sshd.base / "no-such-key")
    assert run(sshd, url, USERPWD=f"{sshd.user}:", SSH_PRIVATE_KEYFILE=missing, SSH_AUTH_TYPES=1)[0] == (
        67,
        "Authentication failure",
    )


def test_host_key_fingerprints(sshd, tree):
    url = sshd.url(f"{tree}/f.txt")
    assert run(sshd, url, SSH_HOST_PUBLIC_KEY_MD5=sshd.md5)[0] is None
    assert run(sshd, url, SSH_HOST_PUBLIC_KEY_SHA256=sshd.sha256)[0] is None
    assert run(sshd, url, SSH_HOST_PUBLIC_KEY_SHA256=sshd.sha256.rstrip("="))[0] is None
    assert run(sshd, url, SSH_HOST_PUBLIC_KEY_MD5="0" * 32)[0] == (
        60,
        f"Denied establishing ssh session: mismatch MD5 fingerprint. Remote {sshd.md5} is not equal to {'0' * 32}",
    )
    assert run(sshd, url, SSH_HOST_PUBLIC_KEY_SHA256="x")[0] == (
        60,
        f"Denied establishing ssh session: mismatch SHA256 fingerprint. Remote {sshd.sha256} is not equal to x",
    )


def test_known_hosts_and_key_function(sshd, tree):
    url = sshd.url(f"{tree}/f.txt")
    kh = sshd.base / f"kh-{tree.name}"
    kh.write_text("")
    calls = []

    def keyfunc(ret):
        def f(known, found, match):
            calls.append((known, found, match))
            return ret

        return f

    not_ok = (60, "SSL peer certificate or SSH remote key was not OK")
    # Missing from the file, no callback: refused.
    assert run(sshd, url, SSH_KNOWNHOSTS=str(kh))[0] == not_ok
    # The callback sees (None, the server's key, KHMATCH_MISSING); FINE_ADD_TO_FILE writes it.
    assert run(sshd, url, SSH_KNOWNHOSTS=str(kh), SSH_KEYFUNCTION=keyfunc(pycurl.KHSTAT_FINE_ADD_TO_FILE))[0] is None
    known, found, match = calls.pop()
    assert known is None and match == pycurl.KHMATCH_MISSING
    assert isinstance(found, pycurl.KhKey) and found == (sshd.host_blob, pycurl.KHTYPE_ED25519)
    line = kh.read_text().split()
    assert line[0] == f"[127.0.0.1]:{sshd.port}" and line[1] == "ssh-ed25519"
    # Now known: accepted without a callback, and the callback sees KHMATCH_OK with the base64 key.
    assert run(sshd, url, SSH_KNOWNHOSTS=str(kh))[0] is None
    assert run(sshd, url, SSH_KNOWNHOSTS=str(kh), SSH_KEYFUNCTION=keyfunc(pycurl.KHSTAT_FINE))[0] is None
    known, found, match = calls.pop()
    assert known == (line[2].encode(), pycurl.KHTYPE_ED25519) and match == pycurl.KHMATCH_OK
    # Another key under the name: a mismatch the callback may still accept, or reject.
    other = open(sshd.keys["stranger"] + ".pub").read().split()
    kh.write_text(f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n")
    assert run(sshd, url, SSH_KNOWNHOSTS=str(kh))[0] == not_ok
    assert run(sshd, url, SSH_KNOWNHOSTS=str(kh), SSH_KEYFUNCTION=keyfunc(pycurl.KHSTAT_FINE))[0] is None
    assert calls.pop()[2] == pycurl.KHMATCH_MISMATCH
    for ret in (pycurl.KHSTAT_REJECT, pycurl.KHSTAT_DEFER, "x"):
        assert run(sshd, url, SSH_KNOWNHOSTS=str(kh), SSH_KEYFUNCTION=keyfunc(ret))[0] == not_ok


def test_quote_commands(sshd, tree):
    t = str(tree)
    err, body, head, _ = run(
        sshd,
        sshd.url(f"{t}/f.txt"),
        QUOTE=[
            f"mkdir {t}/new",
            f"rename {t}/new {t}/new2",
            f"chmod 600 {t}/f.txt",
            f"ln {t}/f.txt {t}/l2",
            f'mtime "Sat, 01 Jan 2022 00:00:00 GMT" {t}/f.txt',
            f"*rm {t}/zz",
            "pwd",
            f"statvfs {t}/f.txt",
        ],
        POSTQUOTE=[f"rm {t}/f.txt", f"rmdir {t}/new2"],
        OPT_FILETIME=1,
    )
    assert err is None and body == b"0123456789"
    h = head.decode()
    assert h.startswith(f'257 "{t}/f.txt" is current directory.\nstatvfs:\nf_bsize: ')
    assert h.endswith("\n") and "\nf_namemax: " in h
    assert not (tree / "f.txt").exists() and not (tree / "new2").exists()
    assert os.readlink(tree / "l2") == f"{t}/f.txt"


def test_quote_command_effects(sshd, tree):
    t = str(tree)
    # NOBODY: a download would move the access time on again.
    quote = [f"chmod 640 {t}/f.txt", f'atime "20200101 00:00:00" {t}/f.txt']
    err, _, _, i = run(sshd, sshd.url(f"{t}/f.txt"), QUOTE=quote, OPT_FILETIME=1, NOBODY=1)
    assert err is None and i["filetime"] == 1600000000
    st = os.stat(tree / "f.txt")
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_atime == 1577836800


@pytest.mark.parametrize(
    "cmd, msg",
    [
        ("bogus x", "Unknown SFTP command"),
        ("rm", "Syntax error command 'rm', missing parameter"),
        ("rm {t}/zz", 'rm "{t}/zz" failed: No such file or directory'),
        ("rename /nope/a /nope/b", 'rename "/nope/a" to "/nope/b" failed: No such file or directory'),
        ("rename /a", "Syntax error in rename: Bad second parameter"),
        ("ln /a", "Syntax error in ln/symlink: Bad second parameter"),
        ("mtime 5", "Syntax error in mtime 5: Bad second parameter"),
        ("chmod 644", "Syntax error in chmod 644: Bad second parameter"),
        ("chmod xyz {t}/f.txt", "Syntax error: chmod permissions not a number"),
        ("chmod 644 /nope/a", 'Attempt to set SFTP stats for "/nope/a" failed: No such file or directory'),
        ("chown 0 /nope/a", "Attempt to get SFTP stats failed: No such file or directory"),
        ("chown 0 {t}/f.txt", "Syntax error: chown uid not a number"),
        ('mtime "garbage" {t}/f.txt', "incorrect date format for mtime"),
        ("mkdir /nope/a", 'mkdir "/nope/a" failed: No such file or directory'),
        ("rmdir /nope/a", 'rmdir "/nope/a" failed: No such file or directory'),
        ("symlink /nope/a /nope/b", 'symlink "/nope/a" to "/nope/b" failed: No such file or directory'),
        ("statvfs /nope/a", 'statvfs "/nope/a" failed: No such file or directory'),
    ],
)
def test_quote_errors(sshd, tree, cmd, msg):
    t = str(tree)
    err, body, _, _ = run(sshd, sshd.url(f"{t}/f.txt"), QUOTE=[cmd.format(t=t)])
    assert err == (21, msg.format(t=t)) and body == b""


def test_uploads(sshd, tree):
    t = str(tree)
    err, _, _, i = upload(sshd, sshd.url(f"{t}/new.txt"), b"abc")
    assert err is None and i["up"] == 3
    assert (tree / "new.txt").read_bytes() == b"abc" and stat.S_IMODE(os.stat(tree / "new.txt").st_mode) == 0o644
    assert upload(sshd, sshd.url(f"{t}/f.txt"), b"abc")[0] is None
    assert (tree / "f.txt").read_bytes() == b"abc"
    assert upload(sshd, sshd.url(f"{t}/p.txt"), b"abc", NEW_FILE_PERMS=0o600)[0] is None
    assert stat.S_IMODE(os.stat(tree / "p.txt").st_mode) == 0o600
    assert upload(sshd, sshd.url(f"{t}/new.txt"), b"def", APPEND=1)[0] is None
    assert (tree / "new.txt").read_bytes() == b"abcdef"
    # RESUME_FROM writes the input from its start at that offset; -1 after what the server has.
    assert upload(sshd, sshd.url(f"{t}/new.txt"), b"XY", RESUME_FROM=1)[0] is None
    assert (tree / "new.txt").read_bytes() == b"aXYdef"
    assert upload(sshd, sshd.url(f"{t}/new.txt"), b"!", RESUME_FROM=-1)[0] is None
    assert (tree / "new.txt").read_bytes() == b"aXYdef!"
    err, _, _, i = upload(sshd, sshd.url(f"{t}/sized.txt"), b"abcdef-more", INFILESIZE=6)
    assert err is None and (tree / "sized.txt").read_bytes() == b"abcdef" and i["up"] == 6


def test_upload_directories_and_errors(sshd, tree):
    t = str(tree)
    assert upload(sshd, sshd.url(f"{t}/x/y/new.txt"), b"abc")[0] == (
        78,
        "Upload failed: No such file or directory (2/-31)",
    )
    err = upload(sshd, sshd.url(f"{t}/x/y/new.txt"), b"abc", FTP_CREATE_MISSING_DIRS=1, NEW_DIRECTORY_PERMS=0o700)[0]
    assert err is None and (tree / "x/y/new.txt").read_bytes() == b"abc"
    assert stat.S_IMODE(os.stat(tree / "x/y").st_mode) == 0o700
    if sshd.root:
        assert upload(sshd, sshd.url("/etc/pycurl-nope.txt"), b"abc")[0] == (
            9,
            "Upload failed: Permission denied (3/-31)",
        )


def test_large_file_both_ways(sshd, tree):
    blob = os.urandom(3 * 1024 * 1024 + 17)
    t = str(tree)
    err, _, _, i = upload(sshd, sshd.url(f"{t}/big.bin"), blob)
    assert err is None and i["up"] == len(blob) and (tree / "big.bin").read_bytes() == blob
    err, body, _, i = run(sshd, sshd.url(f"{t}/big.bin"))
    assert err is None and body == blob and i["length"] == len(blob)


def test_multi_perform_select(sshd, tree):
    m = pycurl.CurlMulti()
    handles = []
    for name in ("f.txt", "f.txt", "sub/"):
        c, body, _ = handle(sshd, sshd.url(f"{tree}/{name}"), DIRLISTONLY=1 if name.endswith("/") else 0)
        m.add_handle(c)
        handles.append((c, body))
    perform_all(m, 3)
    assert [b.getvalue() for _, b in handles] == [b"0123456789", b"0123456789", b".\n..\n"]
    for c, _ in handles:
        m.remove_handle(c)
        c.close()
    m.close()


def test_socket_api(sshd, tree):
    m = pycurl.CurlMulti()
    drv = SocketActionDriver(m)
    c, body, _ = handle(sshd, sshd.url(f"{tree}/f.txt"))
    m.add_handle(c)
    drv.run()
    assert body.getvalue() == b"0123456789" and drv.seen
    m.remove_handle(c)
    c.close()
    m.close()


def test_ssh_options_setopt_checks():
    c = pycurl.Curl()
    for opt in ("SSH_PUBLIC_KEYFILE", "SSH_PRIVATE_KEYFILE", "SSH_HOST_PUBLIC_KEY_MD5", "SSH_KNOWNHOSTS"):
        with pytest.raises(TypeError, match="integers are not supported"):
            c.setopt(getattr(pycurl, opt), 1)
        with pytest.raises(TypeError, match="unsetopt"):
            c.setopt(getattr(pycurl, opt), None)
    with pytest.raises(pycurl.error) as e:
        c.setopt(pycurl.NEW_FILE_PERMS, 0o1000)
    assert e.value.args == (43, "setopt 0x9f got bad argument")
    with pytest.raises(TypeError, match="strings are not supported"):
        c.setopt(pycurl.SSH_AUTH_TYPES, "x")
    c.setopt(pycurl.SSH_AUTH_TYPES, pycurl.SSH_AUTH_ANY)
    c.setopt(pycurl.SSH_COMPRESSION, 1)
    c.setopt(pycurl.SSH_KEYFUNCTION, None)
    with pytest.raises(TypeError):
        c.setopt(pycurl.SSH_KEYFUNCTION, 1)
    c.close()
    assert "sftp" in pycurl.version_info()[8]
