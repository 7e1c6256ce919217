"""Real HTTP/2 servers for the h2 tests: nginx (Debian's package; TLS with ALPN h2 and a
cleartext prior-knowledge port), started per test session from a config in a temp dir.

nginx proxies /echo to the project's HTTP/1 test server (tests/servers.py), which answers with the
request it saw: that is how a test checks what an upload delivered. The access log records, per
request, nginx's connection serial number and the protocol, so a test can assert from the server's
side which requests shared one connection.
"""

import os
import shutil
import socket
import subprocess
import time

import servers
from helpers import stop_process

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# What the access log holds per request, space separated (see `Nginx.log`).
LOG_FIELDS = ("connection", "protocol", "method", "uri", "status", "request_length", "body_bytes")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def nginx_prelude(d: str, connections: int) -> str:
    """The start of an nginx config run from directory `d` (foreground, one worker, every path in
    `d`), open at `http {`: the caller adds its directives, servers and the closing braces."""
    return f"""
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;"""


def launch_nginx(d: str, conf: str) -> subprocess.Popen:
    """Writes `conf` to d/nginx.conf and starts nginx on it (its stderr in d/stderr.log)."""
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return subprocess.Popen([NGINX, "-c", path, "-p", d], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(d, "stderr.log"), "wb"))


def body_of(size: int) -> bytes:
    """The bytes of /big/<size> (a repeating pattern, so a test can check every byte)."""
    return servers.pattern(size)


class Nginx:
    """One nginx: `tls_port` speaks TLS with ALPN h2 (and http/1.1), `h2c_port` cleartext h2 by
    prior knowledge, `h1_port` cleartext HTTP/1.1."""

    def __init__(self, tmpdir, certs, backend):
        self.dir = str(tmpdir)
        self.tls_port = free_port()
        self.h2c_port = free_port()
        self.h1_port = free_port()
        self.access_log = os.path.join(self.dir, "access.log")
        www = os.path.join(self.dir, "www")
        os.makedirs(os.path.join(www, "big"), exist_ok=True)
        with open(os.path.join(www, "index.html"), "wb") as f:
            f.write(b"hello over h2\n")
        for size in (100_000, 1_000_000, 4_000_000):
            with open(os.path.join(www, "big", str(size)), "wb") as f:
                f.write(body_of(size))
        self.certs = certs
        conf = nginx_prelude(self.dir, 256) + f"""
    log_format h2 '$connection $server_protocol $request_method $request_uri $status $request_length $body_bytes_sent';
    access_log {self.access_log} h2;
    default_type application/octet-stream;
    keepalive_requests 1000;
    client_max_body_size 64m;
    http2_max_concurrent_streams 128;
    server {{
        listen 127.0.0.1:{self.tls_port} ssl http2;
        listen 127.0.0.1:{self.h2c_port} http2;
        listen 127.0.0.1:{self.h1_port};
        server_name localhost;
        ssl_certificate {certs.server_cert};
        ssl_certificate_key {certs.server_key};
        root {www};
        location /echo {{
            proxy_pass http://127.0.0.1:{backend.port};
            proxy_http_version 1.1;
            proxy_request_buffering on;
        }}
        location = /trailers {{
            add_trailer x-checksum abc123;
            add_trailer x-done yes;
            try_files /index.html =404;
        }}
        location = /status/404 {{ return 404 "missing\\n"; }}
        location = /redirect {{ return 302 /index.html; }}
    }}
}}
"""
        self.proc = launch_nginx(self.dir, conf)
        deadline = time.time() + 10
        while True:
            try:
                for p in (self.tls_port, self.h2c_port, self.h1_port):
                    socket.create_connection(("127.0.0.1", p), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    err = open(os.path.join(self.dir, "stderr.log")).read()
                    raise RuntimeError(f"nginx did not start: {err}")
                time.sleep(0.05)

    def url(self, path="/index.html") -> str:
        return f"https://localhost:{self.tls_port}{path}"

    def h2c_url(self, path="/index.html") -> str:
        return f"http://localhost:{self.h2c_port}{path}"

    def log(self) -> list[dict]:
        """The access log so far, one dict per request (oldest first)."""
        # nginx flushes its log buffer within a second; wait for the lines to settle.
        time.sleep(0.05)
        out = []
        with open(self.access_log) as f:
            for line in f:
                parts = line.split()
                if len(parts) == len(LOG_FIELDS):
                    out.append(dict(zip(LOG_FIELDS, parts)))
        return out

    def log_since(self, n: int) -> list[dict]:
        deadline = time.time() + 3
        while True:
            rows = self.log()[n:]
            if rows or time.time() > deadline:
                return rows
            time.sleep(0.1)

    def stop(self):
        stop_process(self.proc)


HYPERCORN_APP = '''
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    if path == "/reset":
        # Headers and part of the body, then the app fails: hypercorn closes the connection.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"100000")]})
        await send({"type": "http.response.body", "body": b"x" * 1000, "more_body": True})
        raise RuntimeError("app failed mid-body")
    out = scope["http_version"].encode() + b" " + scope["method"].encode() + b" " + body
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"x-served-by", b"hypercorn")]})
    await send({"type": "http.response.body", "body": out})
'''


class Hypercorn:
    """hypercorn (PyPI) serving a small ASGI app: over TLS with ALPN h2 when given certificates (a
    second h2 stack), else on plain HTTP (HTTP/1.1, the h2c upgrade, h2 by prior knowledge)."""

    def __init__(self, tmpdir, certs=None, app=HYPERCORN_APP, module="h2app", keep_alive=None):
        import sys
        self.dir = str(tmpdir)
        self.port = free_port()
        self.tls = certs is not None
        with open(os.path.join(self.dir, module + ".py"), "w") as f:
            f.write(app)
        args = [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{self.port}"]
        if self.tls:
            args += ["--certfile", certs.server_cert, "--keyfile", certs.server_key]
        if keep_alive is not None:
            args += ["--keep-alive", str(keep_alive)]
        self.proc = subprocess.Popen(args + [module + ":app"], cwd=self.dir, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "hypercorn.log"), "wb"))
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("hypercorn did not start: " + open(os.path.join(self.dir, "hypercorn.log")).read())
                time.sleep(0.1)

    def url(self, path="/") -> str:
        if self.tls:
            return f"https://localhost:{self.port}{path}"
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        stop_process(self.proc)


def fetch(c, url, **opts):
    """Performs `c` on `url` with extra options (by pycurl name); returns (header lines, body)."""
    import io

    import pycurl

    headers, body = [], io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.HEADERFUNCTION, headers.append)
    c.setopt(pycurl.WRITEDATA, body)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    c.perform()
    return headers, body.getvalue()
