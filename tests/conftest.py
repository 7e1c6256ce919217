"""Shared fixtures: loopback servers, certificates, a refused port."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import pycurl  # noqa: E402

import servers  # noqa: E402

IS_RS = "pycurl-rs" in pycurl.version


def pytest_collection_modifyitems(items):
    """tests/test_embed.py runs last: scripts/test.sh builds the static library it links in the
    background meanwhile (the sort is stable, so every other test keeps its order)."""
    items.sort(key=lambda item: item.path.name == "test_embed.py")


@pytest.fixture(scope="session")
def server():
    srv = servers.start_server()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return servers.make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def tls_server(certs):
    srv = servers.start_server(tls=certs)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def tls_servers(certs):
    """TLS servers keyed by the leaf they present: "server", "selfsigned",
    "expired", "wrongname"."""
    srvs = {leaf: servers.start_server(tls=certs, leaf=leaf)
            for leaf in ("server", "selfsigned", "expired", "wrongname")}
    yield srvs
    for s in srvs.values():
        s.stop()


@pytest.fixture(scope="session")
def client_auth_server(certs):
    """TLS server that requires a client certificate signed by the test CA."""
    srv = servers.start_server(tls=certs, client_auth=True)
    yield srv
    srv.stop()


@pytest.fixture
def refused_port():
    sock, port = servers.refused_port()
    yield port
    sock.close()


@pytest.fixture
def curl():
    """A fresh easy handle, closed after the test."""
    c = pycurl.Curl()
    yield c
    c.close()


@pytest.fixture
def blackhole_port():
    """A port whose listen queue is full, so new SYNs go unanswered and a
    connect() hangs until the client gives up (for connect timeouts)."""
    import socket
    import time

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(8):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(s)
    time.sleep(0.05)
    # sanity check: one more connection attempt must not complete
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.2)
    try:
        probe.connect(("127.0.0.1", port))
        hangs = False
    except (socket.timeout, TimeoutError):
        hangs = True
    finally:
        probe.close()
    assert hangs, "listen-queue overflow did not make connect() hang on this kernel"
    yield port
    for s in fillers:
        s.close()
    lsock.close()


@pytest.fixture(scope="module")
def hostile(certs):
    """The hostile HTTP/2 server (tests/h2hostile.py, on hyper-h2) of the HTTP/2 retry and stream tests."""
    import h2hostile

    srv = h2hostile.HostileH2(certs)
    yield srv
    srv.stop()
