"""Real proxy servers for the proxy tests, each started on a free loopback port with its own
config file and log in a temp dir: tinyproxy (HTTP and CONNECT, optionally with Basic auth).

A missing binary fails the test with the install line; nothing is skipped."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

INSTALL = "apt-get install -y tinyproxy dante-server microsocks stunnel4"


def _binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        raise AssertionError(f"proxy binary {name!r} not found: install it with `{INSTALL}`")
    return path


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait_listening(port: int, proc: subprocess.Popen, what: str, log: str):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}: {_read(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on port {port}: {_read(log)}")


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class Proxy:
    """One running proxy process; `log()` is what it wrote so far."""

    def __init__(self, kind: str, argv, port: int, logfile: str, tmp):
        self.kind = kind
        self.port = port
        self.logfile = logfile
        self._tmp = tmp
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(logfile + ".err", "w"))
        _wait_listening(port, self._proc, kind, logfile + ".err")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return _read(self.logfile)

    def wait_log(self, needle: str, timeout: float = 5.0) -> str:
        """The log once it contains `needle` (proxies write their log lines a little later)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()
            if needle in text or time.monotonic() > deadline:
                return text
            time.sleep(0.05)

    def stop(self):
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._tmp.cleanup()


def tinyproxy(auth: tuple | None = None) -> Proxy:
    """tinyproxy in the foreground: HTTP proxy and CONNECT to any port, Info-level log."""
    binary = _binary("tinyproxy")
    tmp = tempfile.TemporaryDirectory(prefix="tinyproxy-")
    port = free_port()
    log = os.path.join(tmp.name, "tinyproxy.log")
    conf = os.path.join(tmp.name, "tinyproxy.conf")
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Timeout 30",
        f'LogFile "{log}"',
        "LogLevel Info",
        "MaxClients 50",
        "Allow 127.0.0.1",
        "DisableViaHeader Yes",
    ]
    if os.geteuid() == 0:
        lines += ["User root", "Group root"]
    if auth:
        lines.append(f"BasicAuth {auth[0]} {auth[1]}")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return Proxy("tinyproxy", [binary, "-d", "-c", conf], port, log, tmp)


class Recorder:
    """A loopback server that keeps the raw request heads it gets and answers each with `reply`:
    for seeing exactly which lines a client sends to a proxy (tinyproxy does not log headers)."""

    def __init__(self, reply: bytes):
        import threading
        self.reply = reply
        self.heads: list[bytes] = []
        self._stopping = False
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            if self._stopping:
                conn.close()
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.heads.append(data)
                try:
                    conn.sendall(self.reply)
                except OSError:
                    pass

    def lines(self, i: int = -1) -> list:
        return self.heads[i].decode("latin-1").split("\r\n")

    def stop(self):
        self._stopping = True
        try:
            # accept() is not woken by close() from another thread: connect once to end the loop.
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self._thread.join(5)
        self._sock.close()


def dante(method: str = "none") -> Proxy:
    """dante-server (danted) in the foreground: SOCKS4, 4a and 5 with socksmethod `method`."""
    binary = _binary("danted")
    tmp = tempfile.TemporaryDirectory(prefix="dante-")
    port = free_port()
    log = os.path.join(tmp.name, "danted.log")
    conf = os.path.join(tmp.name, "danted.conf")
    with open(conf, "w") as f:
        f.write(f"""logoutput: {log}
internal: 127.0.0.1 port = {port}
external: 127.0.0.1
clientmethod: none
socksmethod: {method}
user.privileged: root
user.unprivileged: nobody
client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect disconnect error }}
socks block {{ from: 0.0.0.0/0 to: 127.0.0.2/32 log: connect error }}
socks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect disconnect error }}
""")
    return Proxy("danted", [binary, "-f", conf, "-N", "1", "-p", os.path.join(tmp.name, "pid")], port, log, tmp)


def microsocks(auth: tuple | None = None) -> Proxy:
    """microsocks: SOCKS5, optionally with username/password; its log is its stderr."""
    binary = _binary("microsocks")
    tmp = tempfile.TemporaryDirectory(prefix="microsocks-")
    port = free_port()
    log = os.path.join(tmp.name, "microsocks.log")
    argv = [binary, "-i", "127.0.0.1", "-p", str(port)]
    if auth:
        argv += ["-u", auth[0], "-P", auth[1]]
    p = Proxy("microsocks", argv, port, log + ".x", tmp)
    p.logfile = log + ".x.err"
    return p


def stunnel(target_port: int, cert: str, key: str) -> Proxy:
    """stunnel4 terminating TLS in front of `target_port` (tinyproxy): an HTTPS proxy."""
    binary = _binary("stunnel4") if shutil.which("stunnel4") else _binary("stunnel")
    tmp = tempfile.TemporaryDirectory(prefix="stunnel-")
    port = free_port()
    log = os.path.join(tmp.name, "stunnel.log")
    conf = os.path.join(tmp.name, "stunnel.conf")
    with open(conf, "w") as f:
        f.write(f"""foreground = yes
pid =
output = {log}
debug = info
[proxy]
accept = 127.0.0.1:{port}
connect = 127.0.0.1:{target_port}
cert = {cert}
key = {key}
""")
    return Proxy("stunnel", [binary, conf], port, log, tmp)
