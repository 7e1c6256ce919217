"""UNIX_SOCKET_PATH against nginx listening on Unix sockets (plain HTTP and TLS), and
ABSTRACT_UNIX_SOCKET (Linux's abstract namespace) against a small Python server; ADDRESS_SCOPE.

The Host header still comes from the URL, no name is resolved, proxies are not used, and a pooled
connection is reused only for the same socket path."""

import os
import socket
import sys
import threading
import time

import pycurl
import pytest

from helpers import IS_RS, UnixServer, perform, perform_error, stop_process
from h2servers import launch_nginx, nginx_prelude

# CURLOPT_ABSTRACT_UNIX_SOCKET: pycurl 7.49 has no constant and refuses the number.
ABSTRACT_UNIX_SOCKET = 10264


class UnixNginx:
    """nginx with a plain and a TLS listener on Unix sockets; it answers with the Host header it got
    and its connection serial number."""

    def __init__(self, tmpdir, certs):
        self.dir = str(tmpdir)
        self.plain = os.path.join(self.dir, "plain.sock")
        self.tls = os.path.join(self.dir, "tls.sock")
        self.other = os.path.join(self.dir, "other.sock")
        conf = nginx_prelude(self.dir, 64) + f"""
    access_log off;
    server {{
        listen unix:{self.plain};
        listen unix:{self.other};
        listen unix:{self.tls} ssl;
        ssl_certificate {certs.server_cert};
        ssl_certificate_key {certs.server_key};
        location / {{ return 200 "host=$host conn=$connection scheme=$scheme\\n"; }}
    }}
}}
"""
        self.proc = launch_nginx(self.dir, conf)
        deadline = time.time() + 10
        while not all(os.path.exists(p) for p in (self.plain, self.tls, self.other)):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("nginx did not start: " + open(os.path.join(self.dir, "stderr.log")).read())
            time.sleep(0.05)

    def stop(self):
        stop_process(self.proc)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, certs):
    # sun_path is short: keep the directory name short too
    d = tmp_path_factory.mktemp("ux")
    n = UnixNginx(d, certs)
    yield n
    n.stop()


def fields(body):
    return dict(kv.split("=", 1) for kv in body.decode().split())


def test_http_over_a_unix_socket(nginx):
    c = pycurl.Curl()
    body, _ = perform(c, "http://example.invalid:8080/x", UNIX_SOCKET_PATH=nginx.plain)
    # no name resolution: example.invalid would not resolve; Host comes from the URL
    assert fields(body)["host"] == "example.invalid"
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.PRIMARY_IP) == nginx.plain
    assert c.getinfo(pycurl.PRIMARY_PORT) == -1
    assert c.getinfo(pycurl.LOCAL_IP) == ""
    assert c.getinfo(pycurl.LOCAL_PORT) == -1
    c.close()


def test_tls_over_a_unix_socket(nginx, certs):
    c = pycurl.Curl()
    body, _ = perform(c, "https://localhost/", UNIX_SOCKET_PATH=nginx.tls, CAINFO=certs.ca_pem)
    f = fields(body)
    assert (f["host"], f["scheme"]) == ("localhost", "https")
    # the certificate is still checked against the URL's host name
    c.setopt(pycurl.URL, "https://wrong.example/")
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args[0] == pycurl.E_PEER_FAILED_VERIFICATION
    c.close()


def test_connections_are_reused_per_socket_path(nginx):
    c = pycurl.Curl()
    first = fields(perform(c, "http://h/", UNIX_SOCKET_PATH=nginx.plain)[0])["conn"]
    again = fields(perform(c, "http://h/")[0])["conn"]
    assert again == first and c.getinfo(pycurl.NUM_CONNECTS) == 0
    # another path is another connection, even for the same URL
    other = fields(perform(c, "http://h/", UNIX_SOCKET_PATH=nginx.other)[0])["conn"]
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1 and other != first
    c.close()


def test_proxy_is_not_used(nginx):
    c = pycurl.Curl()
    body, _ = perform(c, "http://h/", UNIX_SOCKET_PATH=nginx.plain, PROXY="http://127.0.0.1:9")
    assert fields(body)["host"] == "h"
    c.close()


def test_unset_goes_back_to_tcp(nginx, server):
    c = pycurl.Curl()
    c.setopt(pycurl.UNIX_SOCKET_PATH, nginx.plain)
    with pytest.raises(TypeError):
        c.setopt(pycurl.UNIX_SOCKET_PATH, None)
    c.close()
    c = pycurl.Curl()
    perform(c, server.url("/hello"), UNIX_SOCKET_PATH=nginx.plain)
    c.reset()
    body, _ = perform(c, server.url("/hello"))
    assert body == b"hello world"
    c.close()


def test_errors(tmp_path):
    missing = str(tmp_path / "none.sock")
    code, msg = perform_error(pycurl.Curl(), "http://x/", UNIX_SOCKET_PATH=missing)
    assert code == pycurl.E_COULDNT_CONNECT
    assert msg.startswith(f"Failed to connect to x:80 over unix://{missing} after ")
    assert msg.endswith(" ms: Could not connect to server")
    long = "/tmp/" + "x" * 200
    assert perform_error(pycurl.Curl(), "http://x/", UNIX_SOCKET_PATH=long) == (
        pycurl.E_COULDNT_RESOLVE_HOST, f"Unix socket path too long: '{long}'")
    assert perform_error(pycurl.Curl(), "http://x/", UNIX_SOCKET_PATH="") == (
        pycurl.E_FAILED_INIT, "Failed initialization")


def test_abstract_unix_socket():
    name = f"pycurl-rs-test-{os.getpid()}"
    c = pycurl.Curl()
    if not IS_RS:
        # pycurl 7.49 refuses the option number it has no constant for
        with pytest.raises(TypeError):
            c.setopt(ABSTRACT_UNIX_SOCKET, name)
        return
    if not sys.platform.startswith("linux"):
        # no abstract namespace: libcurl fails at connect time there
        code, _ = perform_error(c, "http://x/", ABSTRACT_UNIX_SOCKET=name)
        assert code == pycurl.E_COULDNT_CONNECT
        return
    srv = UnixServer("\0" + name, echo=True)
    try:
        c.setopt(ABSTRACT_UNIX_SOCKET, name)
        body, _ = perform(c, "http://abstract.invalid/p")
        assert body.startswith(b"GET /p HTTP/1.1\r\nHost: abstract.invalid\r\n")
        assert srv.accepted == 1
        assert c.getinfo(pycurl.PRIMARY_IP) == name
        # a file of that name does not exist, so the plain option cannot reach it
        code, _ = perform_error(pycurl.Curl(), "http://x/", UNIX_SOCKET_PATH=name)
        assert code == pycurl.E_COULDNT_CONNECT
    finally:
        srv.stop()


def test_address_scope_setopt_checks(curl, server):
    assert curl.setopt(pycurl.ADDRESS_SCOPE, 2**32 - 1) is None
    for bad in (-1, 2**32):
        with pytest.raises(pycurl.error) as ei:
            curl.setopt(pycurl.ADDRESS_SCOPE, bad)
        assert ei.value.args[0] == pycurl.E_BAD_FUNCTION_ARGUMENT
    with pytest.raises(TypeError):
        curl.unsetopt(pycurl.ADDRESS_SCOPE)
    # an IPv4 transfer is unaffected by a scope id
    body, _ = perform(curl, server.url("/hello"), ADDRESS_SCOPE=1)
    assert body == b"hello world"


def link_local():
    """(address, interface index) of an IPv6 link-local address of this host, if it has one."""
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                hexaddr, idx, _, scope, _, _name = line.split()
                if int(scope, 16) == 0x20:
                    return socket.inet_ntop(socket.AF_INET6, bytes.fromhex(hexaddr)), int(idx, 16)
    except OSError:
        pass
    return None


def test_address_scope_reaches_a_link_local_address():
    """A link-local address is reached through the interface ADDRESS_SCOPE names, and not through
    another one. Hosts without a link-local address use ::1 (any scope id works there)."""
    found = link_local()
    addr, idx = found if found else ("::1", 1)
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind((addr, 0, 0, idx))
    s.listen(4)
    port = s.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    try:
        url = f"http://[{addr}]:{port}/"
        if found:
            # another interface's scope id does not reach the address
            code, _ = perform_error(pycurl.Curl(), url, ADDRESS_SCOPE=99)
            assert code == pycurl.E_COULDNT_CONNECT
        body, _ = perform(pycurl.Curl(), url, ADDRESS_SCOPE=idx)
        assert body == b"ok"
    finally:
        s.close()
