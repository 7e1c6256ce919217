"""OPENSOCKETFUNCTION, SOCKOPTFUNCTION, CLOSESOCKETFUNCTION, PREREQFUNCTION."""

import gc
import os
import socket

import pytest

import pycurl

from helpers import UnixServer, perform, perform_error


def test_opensocket_args_and_use(server, curl):
    seen = []
    keep = []

    def opensock(purpose, addr):
        seen.append((purpose, addr))
        s = socket.socket(addr.family, addr.socktype, addr.protocol)
        keep.append(s)
        return s

    body, _ = perform(curl, server.url("/hello"), OPENSOCKETFUNCTION=opensock)
    for s in keep:
        s.close()
    assert body == b"hello world"
    assert len(seen) == 1
    purpose, addr = seen[0]
    assert purpose == pycurl.SOCKTYPE_IPCXN
    assert isinstance(addr, tuple) and len(addr) == 4
    assert addr.family == socket.AF_INET
    assert addr.socktype == socket.SOCK_STREAM | socket.SOCK_CLOEXEC
    assert addr.protocol == socket.IPPROTO_TCP
    assert addr.addr == ("127.0.0.1", server.port)
    assert tuple(addr) == (addr.family, addr.socktype, addr.protocol, addr.addr)
    assert type(addr).__name__ == "CurlSockAddr"


def test_opensocket_socket_is_duplicated(server, curl):
    """pycurl dup()s the returned socket: the Python object may be dropped."""
    fds = {}
    made = []

    def opensock(purpose, addr):
        s = socket.socket(addr.family, addr.socktype, addr.protocol)
        fds["py"] = s.fileno()
        made.append(s)
        return s

    def sockopt(fd, purpose):
        fds["curl"] = fd
        return pycurl.SOCKOPT_OK

    body, _ = perform(curl, server.url("/hello"), OPENSOCKETFUNCTION=opensock,
                      SOCKOPTFUNCTION=sockopt)
    # closing our object does not disturb the handle's own descriptor
    made[0].close()
    assert body == b"hello world"
    assert fds["curl"] != fds["py"]
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 0


def test_opensocket_bad_return(server, curl, capfd):
    for ret in (None, -1, "x"):
        code, msg = perform_error(curl, server.url("/hello"), OPENSOCKETFUNCTION=lambda p, a: ret)
        assert code == pycurl.E_COULDNT_CONNECT
        assert msg.startswith(f"Failed to connect to 127.0.0.1:{server.port} after ")
        assert msg.endswith(" ms: Could not connect to server")
    err = capfd.readouterr().err
    assert "Open socket callback's return value must be a socket" in err


def test_opensocket_exception(server, curl, capfd):
    def boom(purpose, addr):
        raise ValueError("open boom")
    code, _ = perform_error(curl, server.url("/hello"), OPENSOCKETFUNCTION=boom)
    assert code == 7
    assert "ValueError: open boom" in capfd.readouterr().err


def test_opensocket_preconnected(server, curl):
    keep = []

    def opensock(purpose, addr):
        s = socket.create_connection(("127.0.0.1", server.port))
        keep.append(s)
        return s

    before = server.connections
    body, _ = perform(curl, server.url("/hello"), OPENSOCKETFUNCTION=opensock,
                      SOCKOPTFUNCTION=lambda fd, p: pycurl.SOCKOPT_ALREADY_CONNECTED)
    for s in keep:
        s.close()
    assert body == b"hello world"
    assert server.connections - before == 1


def test_sockopt_args(server, curl):
    calls = []

    def sockopt(fd, purpose):
        calls.append((fd, purpose))
        # a real socket option on the real descriptor
        s = socket.socket(fileno=os.dup(fd))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.close()
        return pycurl.SOCKOPT_OK

    perform(curl, server.url("/hello"), SOCKOPTFUNCTION=sockopt)
    assert len(calls) == 1
    fd, purpose = calls[0]
    assert isinstance(fd, int) and fd >= 0
    assert purpose == pycurl.SOCKTYPE_IPCXN
    assert curl.getinfo(pycurl.LASTSOCKET) == fd


def test_sockopt_not_called_on_reuse(server, curl):
    calls = []
    curl.setopt(pycurl.SOCKOPTFUNCTION, lambda fd, p: calls.append(fd) or 0)
    perform(curl, server.url("/hello"))
    perform(curl, server.url("/hello"))
    assert len(calls) == 1


def test_sockopt_error(server, curl):
    code, msg = perform_error(curl, server.url("/hello"),
                              SOCKOPTFUNCTION=lambda fd, p: pycurl.SOCKOPT_ERROR)
    assert code == pycurl.E_ABORTED_BY_CALLBACK
    assert msg.startswith(f"Failed to connect to 127.0.0.1:{server.port} after ")
    assert msg.endswith(" ms: Operation was aborted by an application callback")


def test_sockopt_none_is_error(server, curl, capfd):
    code, _ = perform_error(curl, server.url("/hello"), SOCKOPTFUNCTION=lambda fd, p: None)
    assert code == 42
    assert "sockopt callback returned None which is not an integer" in capfd.readouterr().err


def test_sockopt_exception_propagates(server, curl):
    def boom(fd, purpose):
        raise ValueError("sockopt boom")
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.SOCKOPTFUNCTION, boom)
    # pycurl lets this one escape from perform() as is
    with pytest.raises(ValueError, match="sockopt boom"):
        curl.perform()


def test_closesocket(server):
    closed = []
    opened = []
    c = pycurl.Curl()
    c.setopt(pycurl.SOCKOPTFUNCTION, lambda fd, p: opened.append(fd) or 0)
    c.setopt(pycurl.CLOSESOCKETFUNCTION, lambda fd: closed.append(fd) or 0)
    perform(c, server.url("/hello"))
    # the connection stays cached until the handle goes away
    assert closed == []
    c.close()
    assert closed == opened and len(closed) == 1


def test_closesocket_on_server_close(server, curl):
    closed = []
    curl.setopt(pycurl.CLOSESOCKETFUNCTION, lambda fd: closed.append(fd) or 0)
    perform(curl, server.url("/close?n=3"))
    assert len(closed) == 1


def test_closesocket_exception_is_unraisable(server, monkeypatch):
    seen = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: seen.append(u.exc_value))

    def boom(fd):
        raise ValueError("close boom")
    c = pycurl.Curl()
    c.setopt(pycurl.CLOSESOCKETFUNCTION, boom)
    perform(c, server.url("/hello"))
    c.close()
    assert len(seen) == 1
    assert isinstance(seen[0], ValueError) and seen[0].args == ("close boom",)


@pytest.mark.parametrize("how", ["del", "cycle", "cycle through the callback"])
@pytest.mark.parametrize("own_socket", [False, True])
def test_closesocket_when_the_handle_is_freed_without_close(server, how, own_socket):
    """A Curl never closed: its cached connection is closed through CLOSESOCKETFUNCTION when the
    object goes, also when the garbage collector frees it from a reference cycle."""
    closed, opened, sockets = [], [], []

    class Closer:
        c = None  # with "cycle through the callback", the callback refers to the handle

        def __call__(self, fd):
            closed.append(fd)
            return 0

    def opensock(purpose, addr):
        s = socket.socket(addr.family, addr.socktype, addr.protocol)
        sockets.append(s)
        return s

    closer = Closer()
    c = pycurl.Curl()
    c.setopt(pycurl.CLOSESOCKETFUNCTION, closer)
    c.setopt(pycurl.SOCKOPTFUNCTION, lambda fd, p: opened.append(fd) or 0)
    if own_socket:
        c.setopt(pycurl.OPENSOCKETFUNCTION, opensock)
    perform(c, server.url("/hello"))
    assert closed == [] and len(opened) == 1
    if how == "cycle":
        c.me = c
    elif how == "cycle through the callback":
        closer.c = c
    gc.disable()
    try:
        del c, closer
        assert closed == (opened if how == "del" else [])
        gc.collect()
    finally:
        gc.enable()
    assert closed == opened
    for s in sockets:
        s.close()


@pytest.mark.parametrize("cycle", [False, True])
def test_closesocket_for_connect_only_when_the_handle_is_freed(server, cycle):
    """The connection CONNECT_ONLY left to the application closes through CLOSESOCKETFUNCTION
    when the handle is freed without close()."""
    closed = []
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.setopt(pycurl.CONNECT_ONLY, 1)
    c.setopt(pycurl.CLOSESOCKETFUNCTION, lambda fd: closed.append(fd) or 0)
    c.perform()
    fd = c.getinfo(pycurl.ACTIVESOCKET)
    assert fd != -1 and closed == []
    if cycle:
        c.me = c
    gc.disable()
    try:
        del c
        gc.collect()
    finally:
        gc.enable()
    assert closed == [fd]


@pytest.fixture
def unix_server(tmp_path):
    srv = UnixServer(str(tmp_path / "s.sock"))
    yield srv
    srv.stop()


def test_opensocket_for_a_unix_socket(unix_server, curl):
    """OPENSOCKETFUNCTION gets AF_UNIX and the path as bytes; the returned socket is connected
    there, SOCKOPTFUNCTION and CLOSESOCKETFUNCTION see it as for TCP."""
    seen, keep, events = [], [], []

    def opensock(purpose, addr):
        seen.append((purpose, addr))
        s = socket.socket(addr.family, addr.socktype, addr.protocol)
        keep.append(s)
        return s

    curl.setopt(pycurl.UNIX_SOCKET_PATH, unix_server.path)
    curl.setopt(pycurl.CLOSESOCKETFUNCTION, lambda fd: events.append(("close", fd)) or 0)
    body, _ = perform(curl, "http://x/y", OPENSOCKETFUNCTION=opensock,
                      SOCKOPTFUNCTION=lambda fd, p: events.append(("sockopt", fd, p)) or 0)
    assert body == b"ok"
    assert seen == [(pycurl.SOCKTYPE_IPCXN,
                     (socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC, 0, unix_server.path.encode()))]
    assert type(seen[0][1]).__name__ == "CurlSockAddr"
    curl.close()
    assert [e[0] for e in events] == ["sockopt", "close"]
    assert events[0][1] == events[1][1] and events[0][2] == pycurl.SOCKTYPE_IPCXN
    for s in keep:
        s.close()


@pytest.mark.parametrize("ret", ["refuse", "junk", "raise", "tcp"])
def test_opensocket_for_a_unix_socket_failing(unix_server, curl, capfd, ret):
    keep = []

    def opensock(purpose, addr):
        if ret == "refuse":
            return pycurl.SOCKET_BAD
        if ret == "junk":
            return "x"
        if ret == "raise":
            raise ValueError("unix open boom")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        keep.append(s)
        return s

    curl.setopt(pycurl.UNIX_SOCKET_PATH, unix_server.path)
    code, msg = perform_error(curl, "http://x/y", OPENSOCKETFUNCTION=opensock)
    assert code == pycurl.E_COULDNT_CONNECT
    assert msg.startswith(f"Failed to connect to x:80 over unix://{unix_server.path} after ")
    assert msg.endswith(" ms: Could not connect to server")
    err = capfd.readouterr().err
    if ret == "junk":
        assert "Open socket callback's return value must be a socket" in err
    if ret == "raise":
        assert "ValueError: unix open boom" in err
    assert unix_server.accepted == 0
    for s in keep:
        s.close()


def test_sockopt_for_a_unix_socket(unix_server, curl):
    curl.setopt(pycurl.UNIX_SOCKET_PATH, unix_server.path)
    code, msg = perform_error(curl, "http://x/y", SOCKOPTFUNCTION=lambda fd, p: pycurl.SOCKOPT_ERROR)
    assert code == pycurl.E_ABORTED_BY_CALLBACK
    assert msg.startswith(f"Failed to connect to x:80 over unix://{unix_server.path} after ")
    assert msg.endswith(" ms: Operation was aborted by an application callback")
    keep = []

    def preconnected(purpose, addr):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(unix_server.path)
        keep.append(s)
        return s

    body, _ = perform(curl, "http://x/y", OPENSOCKETFUNCTION=preconnected,
                      SOCKOPTFUNCTION=lambda fd, p: pycurl.SOCKOPT_ALREADY_CONNECTED)
    assert body == b"ok" and unix_server.accepted == 1
    for s in keep:
        s.close()


def test_prereq_args(server, curl):
    calls = []

    def prereq(*args):
        calls.append(args)
        return pycurl.PREREQFUNC_OK

    perform(curl, server.url("/hello"), PREREQFUNCTION=prereq)
    assert len(calls) == 1
    primary_ip, local_ip, primary_port, local_port = calls[0]
    assert (primary_ip, local_ip) == ("127.0.0.1", "127.0.0.1")
    assert primary_port == server.port
    assert local_port == curl.getinfo(pycurl.LOCAL_PORT) == server.last_request().peer[1]


def test_prereq_called_per_request(server, curl):
    calls = []
    perform(curl, server.url("/redirect/2"), FOLLOWLOCATION=1,
            PREREQFUNCTION=lambda *a: calls.append(a) or pycurl.PREREQFUNC_OK)
    assert len(calls) == 3


def test_prereq_abort(server, curl):
    before = len(server.requests)
    code, msg = perform_error(curl, server.url("/hello"),
                              PREREQFUNCTION=lambda *a: pycurl.PREREQFUNC_ABORT)
    assert (code, msg) == (pycurl.E_ABORTED_BY_CALLBACK,
                           "operation aborted by pre-request callback")
    assert len(server.requests) == before


def test_prereq_none_aborts(server, curl, capfd):
    code, msg = perform_error(curl, server.url("/hello"), PREREQFUNCTION=lambda *a: None)
    assert (code, msg) == (42, "operation aborted by pre-request callback")
    assert "prereq callback returned None which is not an integer" in capfd.readouterr().err


def test_prereq_exception_propagates(server, curl):
    def boom(*a):
        raise KeyError("prereq boom")
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.PREREQFUNCTION, boom)
    with pytest.raises(KeyError):
        curl.perform()
