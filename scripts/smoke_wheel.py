"""Smoke test of an installed pycurl-rs wheel, run by scripts/build-wheels.sh under each CPython.

Standard library only (plus the `openssl` command to make a CA), so that it runs in a bare venv
that holds nothing but the wheel. Checks: the import is the installed wheel's and does not load
asyncio, a loopback GET, HTTPS against a server whose certificate a freshly generated CA signed
(trusted through CAINFO, refused without it), a CurlMulti perform/select loop, AsyncCurlMulti.
Prints one line per check; exits non-zero on the first failure.
"""

import http.server
import io
import os
import ssl
import subprocess
import sys
import tempfile
import threading

BODY = b"smoke " * 1000


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        n = int(self.path.rsplit("/", 1)[1]) if self.path.startswith("/n/") else len(BODY)
        body = (BODY * (n // len(BODY) + 1))[:n]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(context=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    scheme = "https" if context else "http"
    return srv, f"{scheme}://127.0.0.1:{srv.server_address[1]}"


def make_ca(d):
    """A CA and a leaf for 127.0.0.1 signed by it, with the openssl command."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca, key, csr, leaf, ext = (os.path.join(d, n) for n in
                                       ("ca.key", "ca.pem", "leaf.key", "leaf.csr", "leaf.pem", "ext.cnf"))
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
        "-out", ca, "-days", "2", "-subj", "/CN=pycurl-rs smoke CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", leaf,
        "-days", "2", "-extfile", ext)
    return ca, leaf, key


def check(name, cond, detail=""):
    print(f"{'ok  ' if cond else 'FAIL'} {name} {detail}".rstrip())
    if not cond:
        sys.exit(1)


def main():
    import pycurl

    check("no asyncio at import", "asyncio" not in sys.modules)
    native = pycurl._pycurl.__file__
    check("native module from the installed wheel", "site-packages" in native, native)
    check("version", pycurl.version.startswith("PycURL/7.49.0"), pycurl.version.split()[0])

    plain, base = serve()
    c = pycurl.Curl()
    buf = io.BytesIO()
    c.setopt(pycurl.URL, base + "/")
    c.setopt(pycurl.WRITEDATA, buf)
    c.perform()
    check("loopback GET", c.getinfo(pycurl.RESPONSE_CODE) == 200 and buf.getvalue() == BODY)

    with tempfile.TemporaryDirectory() as d:
        ca, leaf, key = make_ca(d)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(leaf, key)
        tls, tls_base = serve(ctx)
        buf = io.BytesIO()
        c.setopt(pycurl.URL, tls_base + "/n/5000")
        c.setopt(pycurl.WRITEDATA, buf)
        c.setopt(pycurl.CAINFO, ca)
        c.perform()
        check("HTTPS with a generated CA", len(buf.getvalue()) == 5000,
              f"{c.getinfo(pycurl.RESPONSE_CODE)} {c.getinfo(pycurl.SSL_VERIFYRESULT)}")
        c.unsetopt(pycurl.CAINFO)
        c.setopt(pycurl.FRESH_CONNECT, True)
        c.setopt(pycurl.SSL_SESSIONID_CACHE, False)
        try:
            c.perform()
            refused = None
        except pycurl.error as e:
            refused = e.args[0]
        check("HTTPS refused without the CA", refused == pycurl.E_PEER_FAILED_VERIFICATION, str(refused))
        tls.shutdown()
    c.close()

    m = pycurl.CurlMulti()
    sizes = {}
    for n in (1, 1000, 100000, 1000000):
        h = pycurl.Curl()
        h.setopt(pycurl.URL, f"{base}/n/{n}")
        h.setopt(pycurl.WRITEFUNCTION, lambda data, n=n: sizes.__setitem__(n, sizes.get(n, 0) + len(data)))
        m.add_handle(h)
    running = 4
    while running:
        _, running = m.perform()
        if running:
            m.select(1.0)
    _, ok, failed = m.info_read()
    check("CurlMulti loop", len(ok) == 4 and not failed and all(sizes[n] == n for n in sizes), str(sizes))

    import asyncio

    async def fetch_all():
        async with pycurl.AsyncCurlMulti() as am:
            hs = []
            for n in (10, 20000):
                h = pycurl.Curl()
                h.setopt(pycurl.URL, f"{base}/n/{n}")
                h.setopt(pycurl.WRITEFUNCTION, lambda data: None)
                hs.append(h)
            done = await asyncio.gather(*(am.perform(h) for h in hs))
            return [h.getinfo(pycurl.SIZE_DOWNLOAD_T) for h in done]

    check("AsyncCurlMulti", asyncio.run(fetch_all()) == [10, 20000])
    plain.shutdown()
    print(f"smoke passed on Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
