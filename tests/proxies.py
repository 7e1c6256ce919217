"""Real proxy servers for the proxy tests, each started on a free loopback port with its own
config file and log in a temp dir: tinyproxy (HTTP and CONNECT, optionally with Basic auth), squid
(Basic and Digest proxy auth), dante and microsocks (SOCKS), stunnel4 (TLS in front of tinyproxy).

A missing binary fails the test with the install line; nothing is skipped."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from helpers import recv_head, stop_process

INSTALL = "apt-get install -y tinyproxy dante-server microsocks stunnel4 squid"


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
            stop_process(self._proc)
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
                self.heads.append(recv_head(conn))
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


# alice's password "s3cret" as DES crypt(3) with salt "ab", for squid's basic_ncsa_auth (the crypt
# module is leaving Python, and this keeps the file the same everywhere).
SQUID_BASIC_LINE = "alice:abhWCwoTZY2c6"


def squid(schemes=("digest", "basic")) -> Proxy:
    """squid in the foreground, every request needing proxy auth by `schemes` (offered in that
    order) for alice/s3cret; its access log has one line per request:
    "METHOD URL STATUS USER" (USER "-" when none was accepted)."""
    binary = _binary("squid")
    helpers = "/usr/lib/squid"
    tmp = tempfile.TemporaryDirectory(prefix="squid-")
    # squid started as root works as the unprivileged "proxy" user: it must write here.
    os.chmod(tmp.name, 0o777)
    port = free_port()
    log = os.path.join(tmp.name, "access.log")
    with open(os.path.join(tmp.name, "digest.pw"), "w") as f:
        f.write("alice:s3cret\n")
    with open(os.path.join(tmp.name, "basic.pw"), "w") as f:
        f.write(SQUID_BASIC_LINE + "\n")
    programs = {
        "digest": f"{helpers}/digest_file_auth {tmp.name}/digest.pw",
        "basic": f"{helpers}/basic_ncsa_auth {tmp.name}/basic.pw",
        # Any user and password pass; squid runs the whole NTLM handshake with it.
        "ntlm": f"{helpers}/ntlm_fake_auth",
    }
    auth = []
    for scheme in schemes:
        auth += [f"auth_param {scheme} program {programs[scheme]}",
                 f"auth_param {scheme} children 1 startup=1 idle=1"]
        if scheme != "ntlm":  # NTLM has no realm
            auth.append(f"auth_param {scheme} realm squidrealm")
    conf = os.path.join(tmp.name, "squid.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            f"http_port 127.0.0.1:{port}",
            f"pid_filename {tmp.name}/squid.pid",
            f"cache_log {tmp.name}/cache.log",
            "logformat reqs %rm %ru %>Hs %un",
            f"access_log stdio:{log} reqs",
            "buffered_logs off",
            "strip_query_terms off",
            "cache deny all",
            "cache_mem 8 MB",
            f"coredump_dir {tmp.name}",
            "netdb_filename none",
            "pinger_enable off",
            "shutdown_lifetime 0 seconds",
            *auth,
            "acl authed proxy_auth REQUIRED",
            "http_access allow authed",
            "http_access deny all",
        ]) + "\n")
    for name in os.listdir(tmp.name):
        os.chmod(os.path.join(tmp.name, name), 0o644)
    return Proxy("squid", [binary, "-N", "-f", conf], port, log, tmp)


# -- fixtures the proxy tests share (imported by name into each test module) -------------------

@pytest.fixture(scope="module")
def tiny():
    p = tinyproxy()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def tiny_auth():
    p = tinyproxy(auth=("alice", "s3cret"))
    yield p
    p.stop()


@pytest.fixture(scope="module", name="dante")
def dante_proxy():
    p = dante()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def msocks():
    p = microsocks(auth=("bob", "pw"))
    yield p
    p.stop()


@pytest.fixture(autouse=True)
def no_env_proxy(monkeypatch):
    """The proxy variables libcurl reads, unset so that only the options under test apply."""
    for k in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(k, raising=False)
