"""Small things libcurl does that pycurl programs can see, each checked against real pycurl:
SSLKEYLOGFILE (NSS key-log lines for every TLS session, origin, proxy and h2), PRIMARY_IP of a
Unix-socket transfer (the path's first 45 bytes) and VERBOSE's lines for a refused connect."""

import io
import os
import re
import shutil
import socket
import tempfile
import threading

import pytest

import pycurl

import h2servers
import proxies
from helpers import perform
from proxies import no_env_proxy  # noqa: F401 (fixtures)

TLS13_LABELS = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}


def keylog(path):
    """{client random: set of labels} of an NSS key-log file, each line checked for its form."""
    sessions = {}
    with open(path) as f:
        for line in f:
            assert re.fullmatch(r"[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64,}\n", line), line
            label, random, _ = line.split()
            sessions.setdefault(random, set()).add(label)
    return sessions


@pytest.fixture(scope="module")
def keylog_path(tmp_path_factory):
    # libcurl reads the variable once, when TLS is first used: one file for the whole module.
    path = tmp_path_factory.mktemp("keylog") / "keys.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSLKEYLOGFILE", str(path))
        yield path


@pytest.fixture
def new_sessions(keylog_path):
    """Returns the key-log sessions written since the test began."""
    before = set(keylog(keylog_path)) if keylog_path.exists() else set()
    return lambda: {k: v for k, v in keylog(keylog_path).items() if k not in before}


def test_sslkeylogfile_gets_tls13_secrets(tls_server, certs, new_sessions):
    c = pycurl.Curl()
    perform(c, tls_server.url("/hello"), CAINFO=certs.ca_pem)
    c.close()
    assert list(new_sessions().values()) == [TLS13_LABELS]


def test_sslkeylogfile_gets_the_tls12_client_random(tls_server, certs, new_sessions):
    c = pycurl.Curl()
    perform(c, tls_server.url("/hello"), CAINFO=certs.ca_pem, SSLVERSION=pycurl.SSLVERSION_MAX_TLSv1_2)
    c.close()
    assert list(new_sessions().values()) == [{"CLIENT_RANDOM"}]


def test_sslkeylogfile_for_proxy_and_origin_tls(tls_server, certs, new_sessions):
    tiny = proxies.tinyproxy()
    tls = proxies.stunnel(tiny.port, certs.server_cert, certs.server_key)
    try:
        c = pycurl.Curl()
        body, _ = perform(c, tls_server.url("/hello"), PROXY=f"https://localhost:{tls.port}",
                          PROXY_CAINFO=certs.ca_pem, CAINFO=certs.ca_pem)
        c.close()
    finally:
        tls.stop()
        tiny.stop()
    assert body == b"hello world"
    # Two sessions: the proxy's and the origin's inside it.
    sessions = new_sessions()
    assert len(sessions) == 2
    assert all(labels in (TLS13_LABELS, {"CLIENT_RANDOM"}) for labels in sessions.values())


def test_sslkeylogfile_over_h2(tmp_path_factory, certs, server, new_sessions):
    ng = h2servers.Nginx(tmp_path_factory.mktemp("nginx"), certs, server)
    try:
        c = pycurl.Curl()
        perform(c, f"https://127.0.0.1:{ng.tls_port}/", CAINFO=certs.ca_pem,
                HTTP_VERSION=pycurl.CURL_HTTP_VERSION_2TLS)
        assert c.getinfo(pycurl.INFO_HTTP_VERSION) == pycurl.CURL_HTTP_VERSION_2_0
        c.close()
    finally:
        ng.stop()
    # nginx may settle on TLS 1.2 (libcurl's log then has its CLIENT_RANDOM line).
    assert list(new_sessions().values()) in ([TLS13_LABELS], [{"CLIENT_RANDOM"}])


def test_unix_socket_primary_ip_is_cut_to_45_bytes():
    # pytest's tmp_path can be longer than a socket path may be.
    d = tempfile.mkdtemp(dir="/tmp")
    path = os.path.join(d, "abcdefghij" * 5 + ".sock")
    assert 45 < len(path) < 100
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(2)

    def serve():
        conn, _ = s.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    c = pycurl.Curl()
    body = io.BytesIO()
    c.setopt(pycurl.URL, "http://localhost/")
    c.setopt(pycurl.UNIX_SOCKET_PATH, path)
    c.setopt(pycurl.WRITEDATA, body)
    c.perform()
    t.join()
    s.close()
    shutil.rmtree(d)
    assert body.getvalue() == b"ok"
    assert c.getinfo(pycurl.PRIMARY_IP) == path[:45]
    assert c.getinfo(pycurl.LOCAL_IP) == ""
    c.close()


def refused(family, host):
    s = socket.socket(family)
    s.bind((host, 0))
    return s, s.getsockname()[1]


@pytest.mark.parametrize("family,ip,url_host", [
    (socket.AF_INET, "127.0.0.1", "127.0.0.1"),
    (socket.AF_INET6, "::1", "[::1]"),
])
def test_refused_connect_verbose_lines(family, ip, url_host):
    s, port = refused(family, ip)
    lines = []
    c = pycurl.Curl()
    c.setopt(pycurl.URL, f"http://{url_host}:{port}/")
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, m: lines.append(m.decode().rstrip("\n")) if kind == 0 else None)
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    s.close()
    c.close()
    assert ei.value.args[0] == pycurl.E_COULDNT_CONNECT
    assert lines[0] == f"  Trying {url_host}:{port}..."
    assert re.fullmatch(rf"connect to {re.escape(ip)} port {port} from {re.escape(ip)} port \d+ failed: "
                        r"Connection refused", lines[1]), lines
    assert re.fullmatch(rf"Failed to connect to {re.escape(ip)}:{port} after \d+ ms: Could not connect to server",
                        lines[2]), lines
    assert ei.value.args[1] == lines[2]
    assert lines[3:] == ["closing connection #0"]
