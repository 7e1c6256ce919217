"""tftp:// against Debian's tftpd-hpa on loopback (downloads, uploads, options, errors) and a
scripted UDP peer (retransmission, repeats, a stranger's packets, every TFTP error code), under
easy perform, CurlMulti perform/select and the socket API. Each case was checked against real
pycurl (libcurl 8) with the same servers: bytes, errors and messages, the VERBOSE lines."""

import io
import os
import re
import select
import socket
import struct
import time

import pytest

import pycurl
import tftpservers
from tftpservers import Scripted, data, error

BLOB = bytes(range(256)) * 12 + b"tail"  # 3076 bytes: six full 512-byte blocks and a short one


@pytest.fixture(scope="module")
def tftpd(tmp_path_factory):
    root = tmp_path_factory.mktemp("tftproot")
    os.chmod(root, 0o777)
    (root / "blob.bin").write_bytes(BLOB)
    (root / "exact1024").write_bytes(b"q" * 1024)
    (root / "text.txt").write_bytes(b"line1\nline2\n")
    (root / "empty").write_bytes(b"")
    (root / "a b.txt").write_bytes(b"spaced")
    srv = tftpservers.TftpdHpa(root)
    yield srv
    srv.stop()


def run(url, **opts):
    """One transfer; returns (error args or None, body, trace text lines, handle's infos)."""
    c = pycurl.Curl()
    body = io.BytesIO()
    trace = []
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, msg: trace.append(msg.decode()) if kind == 0 else None)
    c.setopt(pycurl.TIMEOUT, 5)
    for k, v in opts.items():
        c.setopt(242 if k == "TFTP_NO_OPTIONS" else getattr(pycurl, k), v)
    err = None
    try:
        c.perform()
    except pycurl.error as e:
        err = e.args
    infos = {
        "code": c.getinfo(pycurl.RESPONSE_CODE),
        "size": c.getinfo(pycurl.SIZE_DOWNLOAD_T),
        "length": c.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T),
        "ip": c.getinfo(pycurl.PRIMARY_IP),
        "port": c.getinfo(pycurl.PRIMARY_PORT),
        "local_ip": c.getinfo(pycurl.LOCAL_IP),
        "local_port": c.getinfo(pycurl.LOCAL_PORT),
        "connects": c.getinfo(pycurl.NUM_CONNECTS),
        "scheme": c.getinfo(pycurl.SCHEME),
    }
    c.close()
    lines = [re.sub(r"Total \d+", "Total N", t.rstrip("\n")) for t in trace]
    return err, body.getvalue(), lines, infos


def test_download_over_several_blocks_with_libcurls_trace(tftpd):
    err, body, lines, infos = run(tftpd.url("blob.bin"))
    assert err is None
    assert body == BLOB
    assert infos["code"] == 0 and infos["size"] == len(BLOB) and infos["length"] == len(BLOB)
    assert (infos["ip"], infos["port"], infos["local_ip"], infos["local_port"]) == ("127.0.0.1", tftpd.port, "", 0)
    assert infos["connects"] == 1 and infos["scheme"].lower() == "tftp"
    assert lines == [
        f"  Trying 127.0.0.1:{tftpd.port}...",
        f"Established connection to 127.0.0.1 (127.0.0.1 port {tftpd.port}) from  port 0 ",
        "set timeouts for state 0; Total N, retry 1 maxtry 3",
        f"got option=(tsize) value=({len(BLOB)})",
        f"tsize parsed from OACK ({len(BLOB)})",
        "got option=(blksize) value=(512)",
        "blksize parsed from OACK (512) requested (512)",
        "got option=(timeout) value=(1)",
        "Connected for receive",
        "set timeouts for state 1; Total N, retry 1 maxtry 3",
        "shutting down connection #0",
    ]


def test_a_file_of_whole_blocks_ends_with_an_empty_one(tftpd):
    err, body, _, infos = run(tftpd.url("exact1024"))
    assert (err, body, infos["size"]) == (None, b"q" * 1024, 1024)


@pytest.mark.parametrize("asked,used", [(1024, 1024), (4, 8), (0, 8), (100000, 65464)])
def test_blksize_is_asked_for_and_clamped(tftpd, asked, used):
    err, body, lines, _ = run(tftpd.url("blob.bin"), TFTP_BLKSIZE=asked)
    assert (err, body) == (None, BLOB)
    assert f"blksize parsed from OACK ({used}) requested ({used})" in lines


def test_blksize_refuses_a_negative_value():
    c = pycurl.Curl()
    with pytest.raises(pycurl.error) as e:
        c.setopt(pycurl.TFTP_BLKSIZE, -1)
    assert e.value.args == (43, "setopt 0xb2 got bad argument")


def test_no_options_sends_a_plain_request(tftpd):
    err, body, lines, infos = run(tftpd.url("blob.bin"), TFTP_NO_OPTIONS=1, TFTP_BLKSIZE=1024)
    assert (err, body) == (None, BLOB)
    assert infos["length"] == -1
    assert not any(line.startswith("got option") for line in lines)
    assert "Connected for receive" in lines
    # Without options an empty file is an empty download (with them, see below).
    err, body, _, _ = run(tftpd.url("empty"), TFTP_NO_OPTIONS=1)
    assert (err, body) == (None, b"")


def test_missing_file_is_68_with_the_servers_words(tftpd):
    err, body, lines, infos = run(tftpd.url("missing"))
    assert err == (68, "TFTP: File Not Found")
    assert "TFTP error: File not found" in lines
    assert lines[-1] == "shutting down connection #0"
    assert infos["code"] == 0 and body == b""


def test_empty_file_with_options_is_an_invalid_tsize(tftpd):
    err, _, lines, _ = run(tftpd.url("empty"))
    assert err == (71, "invalid tsize -::- value in OACK packet")
    assert lines[-3:] == [
        "got option=(tsize) value=(0)",
        "invalid tsize -::- value in OACK packet",
        "shutting down connection #0",
    ]


def test_mode_in_the_url(tftpd):
    err, body, _, _ = run(tftpd.url("text.txt;mode=octet"))
    assert (err, body) == (None, b"line1\nline2\n")
    # tftpd-hpa cannot tell a netascii file's size: it refuses the options (TFTP error 8), which
    # libcurl reports as an aborted transfer. TRANSFERTEXT asks for netascii too.
    for url, opts in ((tftpd.url("text.txt;mode=netascii"), {}), (tftpd.url("text.txt"), {"TRANSFERTEXT": 1})):
        err, _, lines, _ = run(url, **opts)
        assert err == (42, "Operation was aborted by an application callback")
        assert "TFTP error: Unsupported option(s) requested" in lines


def test_percent_encoded_name_and_missing_name(tftpd):
    err, body, _, _ = run(tftpd.url("a%20b.txt"))
    assert (err, body) == (None, b"spaced")
    err, _, lines, _ = run(tftpd.url(""))
    assert err == (71, "Missing filename")
    assert "Missing filename" in lines


def test_upload_with_and_without_infilesize(tftpd):
    payload = os.urandom(1500)
    err, _, lines, _ = run(
        tftpd.url("up1.bin"), UPLOAD=1, READDATA=io.BytesIO(payload), INFILESIZE=len(payload)
    )
    assert err is None
    assert (tftpd.root / "up1.bin").read_bytes() == payload
    assert lines[3:8] == [
        "got option=(tsize) value=(1500)",
        "got option=(blksize) value=(512)",
        "blksize parsed from OACK (512) requested (512)",
        "got option=(timeout) value=(1)",
        "Connected for transmit",
    ]
    assert lines[8] == "set timeouts for state 2; Total N, retry 1 maxtry 3"
    # Whole blocks: an empty last block ends it; unknown size sends tsize 0.
    err, _, lines, _ = run(tftpd.url("up2.bin"), UPLOAD=1, READDATA=io.BytesIO(b"a" * 1024))
    assert err is None
    assert (tftpd.root / "up2.bin").read_bytes() == b"a" * 1024
    assert "got option=(tsize) value=(0)" in lines


def test_upload_where_the_server_cannot_write(tftpd):
    err, _, lines, _ = run(tftpd.url("no/such/dir/up.bin"), UPLOAD=1, READDATA=io.BytesIO(b"abc"))
    assert err == (68, "TFTP: File Not Found")
    assert "TFTP error: File not found" in lines


def test_upload_read_callback_feeds_whole_blocks(tftpd):
    # A read callback giving 100 bytes at a time still makes 512-byte blocks (a short block
    # would end the transfer early).
    payload = bytes(65 + i % 26 for i in range(1300))
    src = io.BytesIO(payload)
    asked = []
    err, _, _, _ = run(tftpd.url("up3.bin"), UPLOAD=1, READFUNCTION=lambda n: asked.append(n) or src.read(min(n, 100)))
    assert err is None
    assert (tftpd.root / "up3.bin").read_bytes() == payload
    assert asked[:6] == [512, 412, 312, 212, 112, 12]


@pytest.mark.parametrize(
    "tftp_code,curl_code,msg",
    [
        (0, 71, "TFTP: Illegal operation"),
        (1, 68, "TFTP: File Not Found"),
        (2, 69, "TFTP: Access Violation"),
        (3, 70, "Disk full or allocation exceeded"),
        (4, 71, "TFTP: Illegal operation"),
        (5, 72, "TFTP: Unknown transfer ID"),
        (6, 73, "Remote file already exists"),
        (7, 74, "TFTP: No such user"),
        (8, 42, "Operation was aborted by an application callback"),
    ],
)
def test_every_error_code(tftp_code, curl_code, msg):
    peer = Scripted(lambda s, sock, client: sock.sendto(error(tftp_code, b"nope"), client))
    err, _, lines, _ = run(peer.url())
    peer.close()
    assert err == (curl_code, msg)
    assert "TFTP error: nope" in lines


def test_lost_ack_is_sent_again_after_the_retry_interval():
    def script(s, sock, client):
        sock.sendto(data(1, b"x" * 512), client)
        s.recv(sock)  # ACK 1, "lost": answered only when it comes again
        s.recv(sock)
        sock.sendto(data(2, b"end"), client)
        s.recv(sock)

    peer = Scripted(script)
    t0 = time.monotonic()
    err, body, lines, _ = run(peer.url(), TFTP_NO_OPTIONS=1, TIMEOUT=5)
    took = time.monotonic() - t0
    peer.close()
    assert peer.failure is None
    assert (err, body) == (None, b"x" * 512 + b"end")
    assert peer.received == [struct.pack("!HH", 4, 1)] * 2 + [struct.pack("!HH", 4, 2)]
    assert "Timeout waiting for block 2 ACK. Retries = 1" in lines
    assert 0.9 < took < 4


def test_repeated_and_unexpected_blocks_are_logged():
    def script(s, sock, client):
        sock.sendto(data(1, b"a" * 512), client)
        s.recv(sock)
        sock.sendto(data(1, b"a" * 512), client)  # a repeat: acknowledged again, not delivered
        s.recv(sock)
        sock.sendto(data(3, b"z"), client)  # out of order: logged, ignored
        sock.sendto(data(2, b"bb"), client)
        s.recv(sock)

    peer = Scripted(script)
    err, body, lines, _ = run(peer.url(), TFTP_NO_OPTIONS=1)
    peer.close()
    assert peer.failure is None
    assert (err, body) == (None, b"a" * 512 + b"bb")
    assert peer.received == [struct.pack("!HH", 4, n) for n in (1, 1, 2)]
    assert "Received last DATA packet block 1 again." in lines
    assert "Received unexpected DATA packet block 3, expecting block 2" in lines


def test_a_packet_from_another_port_ends_the_transfer():
    def script(s, sock, client):
        sock.sendto(data(1, b"a" * 512), client)
        s.recv(sock)
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.sendto(data(2, b"EVIL"), client)
        stranger.close()

    peer = Scripted(script)
    err, body, lines, _ = run(peer.url(), TFTP_NO_OPTIONS=1)
    peer.close()
    assert err == (56, "Data received from another address")
    assert body == b"a" * 512
    assert lines[-2:] == ["Data received from another address", "shutting down connection #0"]


def test_no_answer_is_could_not_connect_after_the_retries():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    t0 = time.monotonic()
    try:
        err, _, _, _ = run(f"tftp://127.0.0.1:{port}/x", CONNECTTIMEOUT=2, TIMEOUT=0)
    finally:
        took = time.monotonic() - t0
        got = []
        silent.setblocking(False)
        while True:
            try:
                got.append(silent.recv(600))
            except OSError:
                break
        silent.close()
    assert err == (7, "Could not connect to server")
    # The request and two more tries (libcurl counts the request as the first of its three).
    assert len(got) == 3 and all(g.startswith(b"\x00\x01x\x00octet\x00") for g in got)
    assert 5 < took < 9


def test_total_timeout_wins():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        err, _, _, _ = run(f"tftp://127.0.0.1:{silent.getsockname()[1]}/x", TIMEOUT=1)
    finally:
        silent.close()
    assert err[0] == 28
    assert re.fullmatch(r"Operation timed out after \d+ milliseconds with 0 bytes received", err[1])


def test_multi_perform_and_select(tftpd):
    handles = []
    for name in ("blob.bin", "exact1024", "missing"):
        c = pycurl.Curl()
        c.body = io.BytesIO()
        c.setopt(pycurl.URL, tftpd.url(name))
        c.setopt(pycurl.WRITEDATA, c.body)
        handles.append(c)
    m = pycurl.CurlMulti()
    for c in handles:
        m.add_handle(c)
    running = len(handles)
    deadline = time.monotonic() + 20
    while running and time.monotonic() < deadline:
        _, running = m.perform()
        if running:
            m.select(1.0)
    _, ok, failed = m.info_read()
    assert sorted(c.body.getvalue() for c in ok) == sorted([BLOB, b"q" * 1024])
    assert [(c.getinfo(pycurl.EFFECTIVE_URL), n) for c, n, _ in failed] == [(tftpd.url("missing"), 68)]
    for c in handles:
        m.remove_handle(c)
        c.close()
    m.close()


def test_socket_api_reports_the_udp_socket(tftpd):
    socks = {}
    kinds = []
    timeout = [None]

    def on_socket(what, fd, multi, data):
        if what == pycurl.POLL_REMOVE:
            socks.pop(fd, None)
        else:
            socks[fd] = what
            dup = os.dup(fd)
            try:
                s = socket.socket(fileno=dup)
            except OSError:  # a resolver's pipe or eventfd, not a socket
                os.close(dup)
                return
            kinds.append(s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
            s.close()

    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
    m.setopt(pycurl.M_TIMERFUNCTION, lambda ms: timeout.__setitem__(0, ms))
    c = pycurl.Curl()
    body = io.BytesIO()
    c.setopt(pycurl.URL, tftpd.url("blob.bin"))
    c.setopt(pycurl.WRITEDATA, body)
    m.add_handle(c)
    running = 1
    deadline = time.monotonic() + 20
    _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    while running and time.monotonic() < deadline:
        rl = [fd for fd, w in socks.items() if w in (pycurl.POLL_IN, pycurl.POLL_INOUT)]
        wait = 1.0 if timeout[0] is None or timeout[0] < 0 else timeout[0] / 1000
        r, _, _ = select.select(rl, [], [], wait)
        if not r:
            _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        for fd in r:
            _, running = m.socket_action(fd, pycurl.CSELECT_IN)
    assert body.getvalue() == BLOB
    assert socket.SOCK_DGRAM in kinds
    assert not socks, "the UDP socket is removed at the end"
    m.remove_handle(c)
    c.close()
    m.close()


# -- hostile peers: the fault matrix rows for TFTP ----------------------------------------------

def oack(**kv):
    return struct.pack("!H", 6) + b"".join(k.encode() + b"\0" + str(v).encode() + b"\0" for k, v in kv.items())


def then_ack(*packets, more=()):
    """Sends each of ``packets`` and reads the client's answer to it, then sends ``more``."""
    def script(s, sock, client):
        sock.settimeout(1)  # the client gives up at 0.8 s
        for p in packets:
            sock.sendto(p, client)
            try:
                s.recv(sock)
            except OSError:
                return
        for p in more:
            sock.sendto(p, client)

    return script


def endless_duplicates(s, sock, client):
    end = time.monotonic() + 1.2  # the client gives up at 0.8 s
    sock.settimeout(0.01)
    while time.monotonic() < end:
        try:
            sock.sendto(data(1, b"z" * 512), client)
        except OSError:
            return
        try:
            sock.recvfrom(100)
        except OSError:
            pass


E_TFTP_ILLEGAL = 71
BAD_BLKSIZE = "blksize is larger than max supported (65464)"
HOSTILE_TFTP = [
    # A DATA packet bigger than the block size: libcurl takes a block's worth and waits for more.
    ("oversize DATA", then_ack(data(1, b"z" * 60000)), {}, 28, None, 512),
    ("DATA past the OACK's blksize", then_ack(oack(blksize=1024), data(1, b"z" * 1500)), {"TFTP_BLKSIZE": 1024},
     28, None, 1024),
    ("the same block forever", endless_duplicates, {}, 28, None, 512),
    ("OACK blksize 99999999", then_ack(oack(blksize=99999999)), {}, E_TFTP_ILLEGAL, BAD_BLKSIZE, 0),
    ("OACK blksize not a number", then_ack(oack(blksize="abc")), {}, E_TFTP_ILLEGAL, BAD_BLKSIZE, 0),
    ("OACK blksize 0", then_ack(oack(blksize=0)), {}, E_TFTP_ILLEGAL, "invalid blocksize value in OACK packet", 0),
    ("OACK blksize over the one asked", then_ack(oack(blksize=65464)), {"TFTP_BLKSIZE": 1024}, E_TFTP_ILLEGAL,
     "server requested blksize larger than allocated (65464)", 0),
    # A tsize that is no number is ignored: the transfer goes on.
    ("OACK tsize of 23 digits", then_ack(oack(tsize="9" * 23), data(1, b"q" * 10)), {}, 0, None, 10),
    ("OACK tsize negative", then_ack(oack(tsize=-5), data(1, b"q" * 10)), {}, 0, None, 10),
    ("OACK tsize not a number", then_ack(oack(tsize="zz"), data(1, b"q" * 10)), {}, 0, None, 10),
    ("OACK cut mid-option", then_ack(struct.pack("!H", 6) + b"blksize\x0012"), {}, E_TFTP_ILLEGAL,
     "Malformed ACK packet, rejecting", 0),
    ("a one-byte packet", then_ack(b"\x00"), {}, 28, None, 0),
    ("an unknown opcode", then_ack(b"\x00\x09abc"), {}, E_TFTP_ILLEGAL, "Internal error: Unexpected packet", 0),
    ("ERROR without its terminating zero", then_ack(struct.pack("!HH", 5, 1) + b"x" * 1000), {}, 68,
     "TFTP: File Not Found", 0),
]


@pytest.mark.parametrize("script, opts, code, msg, nbytes", [r[1:] for r in HOSTILE_TFTP],
                         ids=[r[0] for r in HOSTILE_TFTP])
def test_hostile_peer(script, opts, code, msg, nbytes):
    peer = Scripted(script)
    t0 = time.monotonic()
    err, body, _, _ = run(peer.url(), TIMEOUT_MS=800, **opts)
    took = time.monotonic() - t0
    peer.close()
    assert peer.failure is None
    assert (err[0] if err else 0) == code
    if msg is not None:
        assert err[1] == msg
    assert len(body) == nbytes
    assert took < 3
