"""WebSocket (ws://, wss://) as pycurl 7.49 on libcurl 8.x: CONNECT_ONLY=2 with ws_send / ws_recv /
ws_recv_into / ws_close and WsFrame meta, callback mode (frames through WRITEFUNCTION with
ws_meta()), under CurlMulti too; against the `websockets` package's server (plain and TLS) and
small raw servers that break the protocol. Expectations were taken from real pycurl."""

import base64
import hashlib
import select
import socket
import ssl
import threading
import time

import pytest
from websockets.sync.server import serve

import pycurl

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def handler(ws):
    path = ws.request.path
    if path == "/push":
        # Callback-mode script: a text, a fragmented binary message, a ping, then close.
        ws.send("first")
        ws.send([b"ab", b"cd", b"ef"])
        ws.ping(b"hb")
        ws.send(b"x" * 70000)
        ws.close(1000, "done")
        return
    if path == "/greet":
        ws.send("hello")
    for msg in ws:
        if msg == "close":
            ws.close(4001, "bye")
            return
        if msg == "ping":
            pong = ws.ping(b"pp")
            ws.send("ponged" if pong.wait(5) else "no pong")
            continue
        if msg == "frag":
            ws.send(["ab", "cd", "ef"])
            continue
        if isinstance(msg, str) and msg.startswith("big:"):
            ws.send(bytes(range(256)) * (int(msg[4:]) // 256))
            continue
        ws.send(msg)


class WsServer:
    def __init__(self, ctx=None):
        self.srv = serve(handler, "127.0.0.1", 0, ssl=ctx, compression=None, max_size=None, ping_interval=None,
                         close_timeout=0.5)
        self.port = self.srv.socket.getsockname()[1]
        self.scheme = "wss" if ctx else "ws"
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def url(self, path="/"):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.srv.shutdown()
        self.t.join(5)


@pytest.fixture(scope="module")
def ws_server():
    s = WsServer()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def wss_server(certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    s = WsServer(ctx)
    yield s
    s.stop()


def open_ws(url, cainfo=None, **opts):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.CONNECT_ONLY, 2)
    if cainfo:
        c.setopt(pycurl.CAINFO, cainfo)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    c.perform()
    return c


def recv(c, size=1 << 20, timeout=5.0):
    """One ws_recv, waiting on ACTIVESOCKET while it would block."""
    fd = c.getinfo(pycurl.ACTIVESOCKET)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            return c.ws_recv(size)
        except BlockingIOError:
            select.select([fd], [], [], 0.1)
    raise AssertionError("no frame arrived")


def recv_frame(c, size=1 << 20):
    """A whole frame's payload, and the meta of its last chunk."""
    data, meta = recv(c, size)
    while meta.bytesleft:
        more, meta = recv(c, size)
        data += more
    return data, meta


@pytest.fixture(params=["ws", "wss"])
def ws_url(request, certs):
    srv = request.getfixturevalue("ws_server" if request.param == "ws" else "wss_server")
    return srv, certs.ca_pem if request.param == "wss" else None


def test_handshake_and_echo(ws_url):
    srv, ca = ws_url
    c = pycurl.Curl()
    hdrs = []
    c.setopt(pycurl.URL, srv.url())
    c.setopt(pycurl.CONNECT_ONLY, 2)
    c.setopt(pycurl.HEADERFUNCTION, hdrs.append)
    if ca:
        c.setopt(pycurl.CAINFO, ca)
    c.perform()
    assert c.getinfo(pycurl.RESPONSE_CODE) == 101
    assert hdrs[0].startswith(b"HTTP/1.1 101")
    assert any(h.lower().startswith(b"sec-websocket-accept:") for h in hdrs)
    assert hdrs[-1] == b"\r\n"
    assert c.ws_meta() is None
    with pytest.raises(BlockingIOError):
        c.ws_recv(10)
    assert c.ws_send("hello") == 5
    data, meta = recv(c)
    assert data == b"hello"
    assert meta == pycurl.WsFrame(age=0, flags=pycurl.WS_TEXT, offset=0, bytesleft=0, len=5)
    assert c.ws_send(b"\x00\x01") == 2
    assert recv(c) == (b"\x00\x01", pycurl.WsFrame(0, pycurl.WS_BINARY, 0, 0, 2))
    c.close()


def test_partial_reads_and_zero_size(ws_server):
    c = open_ws(ws_server.url())
    assert c.ws_send(b"abcdef", pycurl.WS_BINARY) == 6
    data, meta = recv(c, 0)
    assert data == b"" and meta == pycurl.WsFrame(0, pycurl.WS_BINARY, 0, 6, 0)
    assert c.ws_recv(2) == (b"ab", pycurl.WsFrame(0, pycurl.WS_BINARY, 0, 4, 2))
    assert c.ws_recv(2) == (b"cd", pycurl.WsFrame(0, pycurl.WS_BINARY, 2, 2, 2))
    buf = bytearray(10)
    n, meta = c.ws_recv_into(buf)
    assert (n, bytes(buf[:n]), meta) == (2, b"ef", pycurl.WsFrame(0, pycurl.WS_BINARY, 4, 0, 2))
    with pytest.raises(BlockingIOError):
        c.ws_recv(10)
    c.close()


def test_large_frames_both_ways(ws_url):
    srv, ca = ws_url
    c = open_ws(srv.url(), ca)
    big = bytes(range(256)) * 1024  # 256 KiB, a 64-bit length frame
    sent = 0
    fd = c.getinfo(pycurl.ACTIVESOCKET)
    while not sent:
        try:
            sent = c.ws_send(big)
        except BlockingIOError:
            select.select([], [fd], [], 1)
    assert sent == len(big)
    data, meta = recv_frame(c, 65536)
    assert data == big and meta.flags == pycurl.WS_BINARY
    c.ws_send("big:300000")
    data, _ = recv_frame(c, 100000)
    assert len(data) == 299776 and data == (bytes(range(256)) * 1171)
    c.close()


def test_fragmented_messages(ws_server):
    c = open_ws(ws_server.url())
    # Sent in fragments: the server reassembles them into one message.
    assert c.ws_send(b"ab", pycurl.WS_TEXT | pycurl.WS_CONT) == 2
    assert c.ws_send(b"cd", pycurl.WS_TEXT | pycurl.WS_CONT) == 2
    assert c.ws_send(b"ef", pycurl.WS_TEXT) == 2
    assert recv(c) == (b"abcdef", pycurl.WsFrame(0, pycurl.WS_TEXT, 0, 0, 6))
    # Received in fragments (websockets ends them with an empty final frame): every frame but the
    # last carries WS_CONT.
    c.ws_send("frag")
    frames = [recv(c) for _ in range(4)]
    assert [d for d, _ in frames] == [b"ab", b"cd", b"ef", b""]
    assert [m.flags for _, m in frames] == [pycurl.WS_TEXT | pycurl.WS_CONT] * 3 + [pycurl.WS_TEXT]
    c.close()


def test_offset_send(ws_server):
    c = open_ws(ws_server.url())
    # One 6-byte frame announced up front, its payload given in two calls.
    assert c.ws_send(b"abc", pycurl.WS_BINARY | pycurl.WS_OFFSET, 6) == 3
    assert c.ws_send(b"def", pycurl.WS_BINARY | pycurl.WS_OFFSET) == 3
    assert recv(c) == (b"abcdef", pycurl.WsFrame(0, pycurl.WS_BINARY, 0, 0, 6))
    c.close()


def test_ping_pong(ws_server):
    c = open_ws(ws_server.url())
    assert c.ws_send(b"xy", pycurl.WS_PING) == 2
    assert recv(c) == (b"xy", pycurl.WsFrame(0, pycurl.WS_PONG, 0, 0, 2))
    # The server's ping is not handed to the application; it is answered automatically, with the
    # application's next send (libcurl queues the pong until then).
    c.ws_send("ping")
    fd = c.getinfo(pycurl.ACTIVESOCKET)
    for _ in range(5):
        select.select([fd], [], [], 0.1)
        with pytest.raises(BlockingIOError):
            c.ws_recv(100)
    c.ws_send("after")
    assert recv(c) == (b"ponged", pycurl.WsFrame(0, pycurl.WS_TEXT, 0, 0, 6))
    assert recv(c)[0] == b"after"
    c.close()


def client_frame(first_byte, payload, mask=b"\x01\x02\x03\x04"):
    """A small masked client frame, built by hand for raw mode."""
    return bytes([first_byte, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_raw_mode_hands_pings_over(ws_server):
    c = open_ws(ws_server.url(), WS_OPTIONS=pycurl.WS_RAW_MODE)
    # In raw mode the application frames what it sends: flags must be 0.
    with pytest.raises(pycurl.error) as ei:
        c.ws_send("ping")
    assert ei.value.args == (43, "[WS] fragsize and flags must be zero in raw mode")
    frame = client_frame(0x81, b"ping")
    assert c.ws_send(frame, 0) == len(frame)
    data, meta = recv(c)
    assert (data, meta.flags) == (b"pp", pycurl.WS_PING)
    pong = client_frame(0x8A, b"pp")
    assert c.ws_send(pong, 0) == len(pong)
    assert recv(c)[0] == b"ponged"
    c.close()


def test_server_initiated_close(ws_url):
    srv, ca = ws_url
    c = open_ws(srv.url(), ca)
    c.ws_send("close")
    data, meta = recv(c)
    assert data == (4001).to_bytes(2, "big") + b"bye"
    assert meta.flags == pycurl.WS_CLOSE
    c.close()


def test_client_close(ws_server):
    c = open_ws(ws_server.url())
    assert c.ws_close(1000, "fine") == 6
    data, meta = recv(c)
    # The server echoes the close code back.
    assert meta.flags == pycurl.WS_CLOSE and data[:2] == (1000).to_bytes(2, "big")
    c.close()


def test_argument_errors(ws_server):
    c = open_ws(ws_server.url())
    with pytest.raises(TypeError, match="not NoneType"):
        c.ws_send(None)
    with pytest.raises(TypeError, match="incompatible with WS_BINARY"):
        c.ws_send("x", pycurl.WS_BINARY)
    for code in (1004, 1005, 999, 5000):
        with pytest.raises(ValueError, match="valid wire close status code"):
            c.ws_close(code)
    with pytest.raises(ValueError, match="reason requires code"):
        c.ws_close(None, "r")
    with pytest.raises(ValueError, match=r"payload too large \(126 bytes"):
        c.ws_close(1000, "x" * 124)
    with pytest.raises(ValueError, match="negative buffersize"):
        c.ws_recv(-1)
    c.close()
    plain = pycurl.Curl()
    with pytest.raises(pycurl.error) as ei:
        plain.ws_recv(1)
    assert ei.value.args == (1, "[WS] CONNECT_ONLY is required")
    with pytest.raises(pycurl.error) as ei:
        plain.ws_send(b"x")
    assert ei.value.args == (55, "[WS] CONNECT_ONLY is required")
    assert plain.ws_meta() is None
    plain.close()
    # The message is the first error since the last perform, as libcurl's error buffer keeps it.
    other = pycurl.Curl()
    with pytest.raises(pycurl.error) as ei:
        other.send(b"x")
    assert ei.value.args == (1, "CONNECT_ONLY is required")
    with pytest.raises(pycurl.error) as ei:
        other.ws_send(b"x")
    assert ei.value.args == (55, "CONNECT_ONLY is required")
    other.close()


def test_ws_options_accepts_any_long(curl):
    for v in (0, 1, 2, 3, -1):
        curl.setopt(pycurl.WS_OPTIONS, v)


# Callback mode ----------------------------------------------------------------------------------


def test_callback_mode(ws_url):
    srv, ca = ws_url
    c = pycurl.Curl()
    c.setopt(pycurl.URL, srv.url("/push"))
    if ca:
        c.setopt(pycurl.CAINFO, ca)
    got = []
    c.setopt(pycurl.WRITEFUNCTION, lambda b: got.append((bytes(b), c.ws_meta())))
    if ca:
        # The transfer runs until the server closes, which websockets does over TLS without a
        # close_notify: libcurl reports that as a receive error.
        with pytest.raises(pycurl.error) as ei:
            c.perform()
        assert ei.value.args[0] == pycurl.E_RECV_ERROR
    else:
        c.perform()
    assert c.ws_meta() is None
    assert got[0] == (b"first", pycurl.WsFrame(0, pycurl.WS_TEXT, 0, 0, 5))
    assert [g[0] for g in got[1:4]] == [b"ab", b"cd", b"ef"]
    assert [g[1].flags for g in got[1:4]] == [pycurl.WS_BINARY | pycurl.WS_CONT] * 3
    # The empty final fragment is not a WRITEFUNCTION call; the ping was answered, not delivered;
    # the large frame may come in chunks with offsets.
    big = [g for g in got[4:] if g[1].flags == pycurl.WS_BINARY]
    assert b"".join(g[0] for g in big) == b"x" * 70000
    assert big[0][1].offset == 0 and big[-1][1].bytesleft == 0
    assert all(g[1].offset + g[1].len + g[1].bytesleft == 70000 for g in big)
    assert got[-1] == ((1000).to_bytes(2, "big") + b"done", pycurl.WsFrame(0, pycurl.WS_CLOSE, 0, 0, 6))
    assert c.getinfo(pycurl.RESPONSE_CODE) == 101
    c.close()


# Servers that break the protocol ----------------------------------------------------------------


class RawServer:
    """Answers the upgrade (or not), then sends the scripted bytes and closes."""

    def __init__(self, script, accept_ok=True, status=101):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.script, self.accept_ok, self.status = script, accept_ok, status
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        c, _ = self.lsock.accept()
        with c:
            req = b""
            while b"\r\n\r\n" not in req:
                req += c.recv(1000)
            key = [ln.split(b":", 1)[1].strip() for ln in req.split(b"\r\n")
                   if ln.lower().startswith(b"sec-websocket-key:")][0]
            acc = base64.b64encode(hashlib.sha1(key + GUID).digest()) if self.accept_ok else b"A" * 27 + b"="
            c.sendall(b"HTTP/1.1 %d X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: %s\r\n\r\n" % (self.status, acc))
            for item in self.script:
                c.sendall(item)
            time.sleep(0.3)
        self.lsock.close()

    def url(self):
        return f"ws://127.0.0.1:{self.port}/"


def connect_only_outcome(srv):
    """What ws_recv hands out until it fails."""
    c = pycurl.Curl()
    c.setopt(pycurl.URL, srv.url())
    c.setopt(pycurl.CONNECT_ONLY, 2)
    c.perform()
    out = []
    fd = c.getinfo(pycurl.ACTIVESOCKET)
    for _ in range(50):
        select.select([fd], [], [], 0.1)
        try:
            out.append(c.ws_recv(1000))
        except BlockingIOError:
            continue
        except pycurl.error as e:
            out.append(e.args)
            break
    c.close()
    srv.t.join(5)
    return out


def callback_outcome(srv):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, srv.url())
    got = []
    c.setopt(pycurl.WRITEFUNCTION, lambda b: got.append((bytes(b), c.ws_meta())))
    try:
        c.perform()
        r = None
    except pycurl.error as e:
        r = e.args
    c.close()
    srv.t.join(5)
    return r, got


def test_refused_upgrade():
    c = pycurl.Curl()
    srv = RawServer([], status=200)
    c.setopt(pycurl.URL, srv.url())
    c.setopt(pycurl.CONNECT_ONLY, 2)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (22, "Refused WebSocket upgrade: 200")
    c.close()


def test_wrong_accept_is_taken_as_libcurl_does():
    # libcurl 8.x does not compare Sec-WebSocket-Accept with the key: the upgrade succeeds and
    # the connection then ends with the server's close.
    out = connect_only_outcome(RawServer([b"\x81\x02hi"], accept_ok=False))
    assert out == [(b"hi", pycurl.WsFrame(0, pycurl.WS_TEXT, 0, 0, 2)),
                   (52, "Server returned nothing (no headers, no data)")]
    r, got = callback_outcome(RawServer([], accept_ok=False))
    assert (r, got) == ((52, "Empty reply from server"), [])


def test_masked_frame_from_server():
    assert connect_only_outcome(RawServer([b"\x81\x82abcd\x00\x00"])) == [(56, "[WS] masked input frame")]
    assert callback_outcome(RawServer([b"\x81\x82abcd\x00\x00"])) == ((56, "[WS] masked input frame"), [])


def test_reserved_bits_and_opcodes():
    assert connect_only_outcome(RawServer([b"\xc1\x02hi"])) == [(56, "[WS] invalid reserved bits: c1")]
    assert connect_only_outcome(RawServer([b"\x83\x02hi"])) == [(56, "[WS] invalid opcode: 83")]


def test_truncated_frame():
    out = connect_only_outcome(RawServer([b"\x81\x05he"]))
    assert out == [(b"he", pycurl.WsFrame(0, pycurl.WS_TEXT, 0, 3, 2)),
                   (52, "Server returned nothing (no headers, no data)")]
    r, got = callback_outcome(RawServer([b"\x81\x05he"]))
    assert r == (56, "[WS] decode ended with incomplete frame")
    assert got == [(b"he", pycurl.WsFrame(0, pycurl.WS_TEXT, 0, 3, 2))]


def test_callback_mode_ends_at_close_or_eof():
    r, got = callback_outcome(RawServer([b"\x81\x01x", b"\x88\x05\x03\xe8bye"]))
    assert r is None
    assert got == [(b"x", pycurl.WsFrame(0, pycurl.WS_TEXT, 0, 0, 1)),
                   (b"\x03\xe8bye", pycurl.WsFrame(0, pycurl.WS_CLOSE, 0, 0, 5))]
    r, got = callback_outcome(RawServer([b"\x81\x02hi", b"\x82\x03abc"]))
    assert r is None and [g[0] for g in got] == [b"hi", b"abc"]


def test_ws_send_inside_write_callback(ws_server):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, ws_server.url("/greet"))
    got = []
    replies = {b"hello": "again", b"again": "close"}

    def write(b):
        got.append(bytes(b))
        if bytes(b) in replies:
            assert c.ws_send(replies[bytes(b)]) == len(replies[bytes(b)])

    c.setopt(pycurl.WRITEFUNCTION, write)
    c.perform()
    assert got == [b"hello", b"again", (4001).to_bytes(2, "big") + b"bye"]
    c.close()


def test_callback_raw_mode():
    script = [b"\x81\x02hi", b"\x89\x01p", b"\x82\x01z"]
    srv = RawServer(script)
    c = pycurl.Curl()
    c.setopt(pycurl.URL, srv.url())
    c.setopt(pycurl.WS_OPTIONS, pycurl.WS_RAW_MODE)
    got = []
    c.setopt(pycurl.WRITEFUNCTION, lambda b: got.append((bytes(b), c.ws_meta())))
    c.perform()
    assert b"".join(g[0] for g in got) == b"".join(script)
    assert all(g[1] is None for g in got)
    c.close()
    srv.t.join(5)


# Under CurlMulti --------------------------------------------------------------------------------


def drive(m, handles, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        _, running = m.perform()
        if not running:
            return
        m.select(0.1)
    raise AssertionError("multi never finished")


def test_under_multi(ws_server):
    co = pycurl.Curl()
    co.setopt(pycurl.URL, ws_server.url())
    co.setopt(pycurl.CONNECT_ONLY, 2)
    cb = pycurl.Curl()
    cb.setopt(pycurl.URL, ws_server.url("/push"))
    got = []
    cb.setopt(pycurl.WRITEFUNCTION, lambda b: got.append(cb.ws_meta().flags))
    m = pycurl.CurlMulti()
    m.add_handle(co)
    m.add_handle(cb)
    drive(m, [co, cb])
    _, ok, bad = m.info_read()
    assert sorted(map(id, ok)) == sorted([id(co), id(cb)]) and bad == []
    assert got[0] == pycurl.WS_TEXT and got[-1] == pycurl.WS_CLOSE
    assert co.ws_send("via multi") == 9
    assert recv(co)[0] == b"via multi"
    for c in (co, cb):
        m.remove_handle(c)
        c.close()
    m.close()


def test_under_multi_socket_api(ws_server):
    """Both modes driven through socket_action with SOCKETFUNCTION / TIMERFUNCTION."""
    co = pycurl.Curl()
    co.setopt(pycurl.URL, ws_server.url())
    co.setopt(pycurl.CONNECT_ONLY, 2)
    cb = pycurl.Curl()
    cb.setopt(pycurl.URL, ws_server.url("/push"))
    got = []
    cb.setopt(pycurl.WRITEFUNCTION, lambda b: got.append((bytes(b), cb.ws_meta().flags)))
    m = pycurl.CurlMulti()
    socks = {}

    def on_socket(what, fd, multi, data):
        if what == pycurl.POLL_REMOVE:
            socks.pop(fd, None)
        else:
            socks[fd] = what

    m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
    m.add_handle(co)
    m.add_handle(cb)
    _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    end = time.monotonic() + 10
    while running and time.monotonic() < end:
        rd = [fd for fd, w in socks.items() if w in (pycurl.POLL_IN, pycurl.POLL_INOUT)]
        wr = [fd for fd, w in socks.items() if w in (pycurl.POLL_OUT, pycurl.POLL_INOUT)]
        r, w, _ = select.select(rd, wr, [], 0.05)
        if not r and not w:
            _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        for fd in set(r) | set(w):
            ev = (pycurl.CSELECT_IN if fd in r else 0) | (pycurl.CSELECT_OUT if fd in w else 0)
            _, running = m.socket_action(fd, ev)
    assert running == 0
    assert socks == {}  # every socket was reported removed
    _, ok, bad = m.info_read()
    assert len(ok) == 2 and bad == []
    assert got[0] == (b"first", pycurl.WS_TEXT) and got[-1][1] == pycurl.WS_CLOSE
    assert co.ws_send("socket api") == 10
    assert recv(co)[0] == b"socket api"
    for c in (co, cb):
        m.remove_handle(c)
        c.close()
    m.close()
