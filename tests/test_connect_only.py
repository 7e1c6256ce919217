"""CONNECT_ONLY=1: perform() connects (TCP, TLS) and returns; the application then talks on the
raw connection with send / recv / recv_into, waiting on ACTIVESOCKET itself. Expectations were
taken from real pycurl 7.49 / libcurl 8.x."""

import errno
import select
import socket
import threading

import pytest

import pycurl
from servers import HELLO


def wait_readable(c, timeout=5.0):
    fd = c.getinfo(pycurl.ACTIVESOCKET)
    r, _, _ = select.select([fd], [], [], timeout)
    assert r, "socket never became readable"


def recv_all(c, until=b"", limit=1 << 20):
    """Reads until EOF or until `until` is seen."""
    got = b""
    while len(got) < limit:
        try:
            chunk = c.recv(65536)
        except BlockingIOError:
            wait_readable(c)
            continue
        if not chunk:
            break
        got += chunk
        if until and until in got:
            break
    return got


def send_all(c, data):
    while data:
        try:
            n = c.send(data)
        except BlockingIOError:
            select.select([], [c.getinfo(pycurl.ACTIVESOCKET)], [], 5)
            continue
        data = data[n:]


class EchoServer:
    """Echoes every byte back; closes when the client does."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.lsock.settimeout(0.1)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(None)
            self.conns.append(s)
            threading.Thread(target=self.echo, args=(s,), daemon=True).start()

    def echo(self, s):
        with s:
            while True:
                try:
                    b = s.recv(65536)
                except OSError:
                    return
                if not b:
                    return
                s.sendall(b)

    def close(self):
        self.stop = True
        self.t.join(5)
        self.lsock.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def echo():
    srv = EchoServer()
    yield srv
    srv.close()


def connect_only(c, url):
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.CONNECT_ONLY, 1)
    c.perform()


def test_http_request_by_hand(curl, server):
    connect_only(curl, server.url("/hello"))
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 0
    fd = curl.getinfo(pycurl.ACTIVESOCKET)
    assert fd >= 0 and curl.getinfo(pycurl.LASTSOCKET) == fd
    # Nothing was sent yet, so nothing can be read.
    with pytest.raises(BlockingIOError) as ei:
        curl.recv(10)
    assert ei.value.errno == errno.EAGAIN
    send_all(curl, f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode())
    resp = recv_all(curl)
    assert resp.startswith(b"HTTP/1.1 200")
    assert resp.endswith(HELLO)
    assert curl.recv(10) == b""  # the server closed


def test_https_request_by_hand(curl, tls_server, certs):
    curl.setopt(pycurl.CAINFO, certs.ca_pem)
    connect_only(curl, tls_server.url("/hello"))
    assert curl.getinfo(pycurl.ACTIVESOCKET) >= 0
    send_all(curl, f"GET /hello HTTP/1.1\r\nHost: localhost:{tls_server.port}\r\nConnection: close\r\n\r\n".encode())
    resp = recv_all(curl, until=HELLO)
    assert resp.startswith(b"HTTP/1.1 200")
    assert resp.endswith(HELLO)
    # The server closes without a TLS close_notify: libcurl reports a receive error for that.
    with pytest.raises(pycurl.error) as ei:
        recv_all(curl)
    assert ei.value.args[0] == pycurl.E_RECV_ERROR


def test_https_verification_still_applies(curl, tls_servers, certs):
    curl.setopt(pycurl.CAINFO, certs.ca_pem)
    curl.setopt(pycurl.URL, tls_servers["selfsigned"].url("/"))
    curl.setopt(pycurl.CONNECT_ONLY, 1)
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args[0] == pycurl.E_PEER_FAILED_VERIFICATION


def test_echo_large_and_recv_into(curl, echo):
    connect_only(curl, f"http://127.0.0.1:{echo.port}/")
    data = bytes(range(256)) * 4096  # 1 MiB: send() takes it in parts
    got = bytearray()
    sent = 0
    fd = curl.getinfo(pycurl.ACTIVESOCKET)
    buf = bytearray(70000)
    while len(got) < len(data):
        if sent < len(data):
            try:
                sent += curl.send(memoryview(data)[sent:])
            except BlockingIOError:
                pass
        try:
            n = curl.recv_into(buf)
            got += buf[:n]
        except BlockingIOError:
            select.select([fd], [fd] if sent < len(data) else [], [], 5)
    assert bytes(got) == data


def test_recv_into_nbytes_and_views(curl, echo):
    connect_only(curl, f"http://127.0.0.1:{echo.port}/")
    assert curl.send(b"abcdef") == 6
    wait_readable(curl)
    buf = bytearray(b"......")
    assert curl.recv_into(buf, 2) == 2
    assert buf == b"ab...."
    mv = memoryview(buf)[2:]
    wait_readable(curl)
    assert curl.recv_into(mv) == 4
    assert buf == b"abcdef"


def test_argument_errors(curl, echo):
    connect_only(curl, f"http://127.0.0.1:{echo.port}/")
    with pytest.raises(TypeError, match="bytes-like object is required, not 'str'"):
        curl.send("text")
    with pytest.raises(ValueError, match="negative buffersize in recv"):
        curl.recv(-1)
    with pytest.raises(ValueError, match="buffer too small for requested bytes"):
        curl.recv_into(bytearray(10), 11)
    with pytest.raises(TypeError, match="read-write bytes-like object, not bytes"):
        curl.recv_into(b"abc")


def test_without_connect_only(curl, server):
    for call in (lambda: curl.send(b"x"), lambda: curl.recv(3), lambda: curl.recv_into(bytearray(3))):
        with pytest.raises(pycurl.error) as ei:
            call()
        assert ei.value.args == (1, "CONNECT_ONLY is required")
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    curl.perform()
    with pytest.raises(pycurl.error) as ei:
        curl.send(b"x")
    assert ei.value.args[0] == pycurl.E_UNSUPPORTED_PROTOCOL


def test_option_values(curl):
    for bad in (-1, 3):
        with pytest.raises(pycurl.error) as ei:
            curl.setopt(pycurl.CONNECT_ONLY, bad)
        assert ei.value.args == (43, "setopt 0x8d got bad argument")
    with pytest.raises(TypeError):
        curl.setopt(pycurl.CONNECT_ONLY, None)


def test_next_perform_closes_the_held_connection(curl, echo, server):
    connect_only(curl, f"http://127.0.0.1:{echo.port}/")
    fd = curl.getinfo(pycurl.ACTIVESOCKET)
    assert curl.send(b"x") == 1
    curl.setopt(pycurl.CONNECT_ONLY, 0)
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    curl.perform()
    with pytest.raises(pycurl.error):
        curl.recv(1)
    assert curl.getinfo(pycurl.LASTSOCKET) != -1 or fd >= 0


def test_under_multi_with_socket_api(echo):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, f"http://127.0.0.1:{echo.port}/")
    c.setopt(pycurl.CONNECT_ONLY, 1)
    m = pycurl.CurlMulti()
    events = []
    m.setopt(pycurl.M_SOCKETFUNCTION, lambda what, fd, multi, data: events.append((what, fd)))
    m.add_handle(c)
    running = 1
    for _ in range(200):
        _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        if not running:
            break
        for what, fd in list(events):
            if what != pycurl.POLL_REMOVE:
                select.select([fd], [fd], [], 0.05)
                _, running = m.socket_action(fd, 0)
    assert running == 0
    n, ok, bad = m.info_read()
    assert ok == [c] and bad == []
    fd = c.getinfo(pycurl.ACTIVESOCKET)
    # The connection left the multi: its socket was reported removed.
    assert (pycurl.POLL_REMOVE, fd) in events
    assert c.send(b"ping") == 4
    wait_readable(c)
    assert c.recv(10) == b"ping"
    m.remove_handle(c)
    c.close()
    m.close()
