"""Drive small pycurl wrappers from PyPI (request_curl, curlquest, curlreq, http_pycurl, http_client)
against loopback HTTP and HTTPS servers and print what they observed. APPS_CERT_DIR holds the HTTPS
server's cert.pem and key.pem."""
import gzip
import http.server
import json
import os
import re
import ssl
import tempfile
import threading
import urllib.parse
import warnings

warnings.simplefilter("ignore")
CERTS = os.environ.get("APPS_CERT_DIR", ".")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def echo(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if not size:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        ct = self.headers.get("Content-Type", "")
        m = re.search(r"boundary=(\S+)", ct)
        if m:
            data = data.replace(m.group(1).encode(), b"B")
            ct = ct.replace(m.group(1), "B")
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        body = json.dumps({"method": self.command, "path": self.path, "ct": ct,
                           "body": data.decode("latin-1"), "headers": hdrs}, sort_keys=True).encode()
        self.send(200, body, [("Content-Type", "application/json"),
                              ("Set-Cookie", "sid=%s; Path=/" % self.command.lower())])

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = echo

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/redir":
            return self.send(301, b"", [("Location", "/echo?r=1")])
        if u.path == "/gzip":
            return self.send(200, gzip.compress(b"zipped " * 50), [("Content-Encoding", "gzip"),
                                                                   ("Content-Type", "text/plain")])
        if u.path == "/auth":
            return self.send(401, b"no", [("WWW-Authenticate", 'Basic realm="r"'),
                                          ("WWW-Authenticate", 'Digest realm="r", nonce="n"')])
        if u.path == "/cookie":
            return self.send(200, b"c", [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/; Secure")])
        if u.path == "/big":
            return self.send(200, b"x" * 500_000, [("Content-Type", "application/octet-stream")])
        self.echo()


def serve(tls):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(CERTS, "cert.pem"), os.path.join(CERTS, "key.pem"))
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


plain, secure = serve(False), serve(True)
HTTP = "http://127.0.0.1:%d" % plain.server_port
HTTPS = "https://127.0.0.1:%d" % secure.server_port
PORTS = {str(plain.server_port): "P", str(secure.server_port): "S"}


def norm(s):
    s = str(s)
    for p, n in PORTS.items():
        s = s.replace("127.0.0.1:" + p, "127.0.0.1:" + n)
    return s


def out(*a):
    print(*(norm(x) for x in a), flush=True)


def step(name, fn):
    try:
        out(name, "->", repr(fn()))
    except Exception as e:  # noqa: BLE001
        out(name, "raised", type(e).__name__, str(e)[:300])


def jb(text):
    d = json.loads(text)
    d["headers"] = {k: v for k, v in d["headers"].items()
                    if k.lower() not in ("user-agent",)}
    return d


STABLE = ["HTTP_CODE", "REDIRECT_COUNT", "REDIRECT_URL", "SIZE_UPLOAD", "SIZE_DOWNLOAD", "HEADER_SIZE",
          "REQUEST_SIZE", "SSL_VERIFYRESULT", "CONTENT_LENGTH_DOWNLOAD",
          "CONTENT_LENGTH_UPLOAD", "CONTENT_TYPE", "HTTPAUTH_AVAIL", "PROXYAUTH_AVAIL", "OS_ERRNO",
          "NUM_CONNECTS", "PRIMARY_IP", "EFFECTIVE_URL", "INFO_COOKIELIST", "RESPONSE_CODE",
          "HTTP_CONNECTCODE"]

# ---- request_curl and its fork curlquest ------------------------------------------------------
for modname in ("request_curl", "curlquest"):
    mod = __import__(modname)
    # A User-Agent of our own: the default one names the library stack, and the echo holds it.
    s = mod.Session(headers={"User-Agent": "apps-drive"})
    step(modname + " get", lambda: (lambda r: (r.status_code, jb(r.text), r.url))(s.get(HTTP + "/echo", params={"a": "b"})))
    step(modname + " info", lambda: (lambda r: {k: r._response_info.get(k) for k in STABLE if k in r._response_info}
                                     if hasattr(r, "_response_info") else None)(s.get(HTTP + "/echo?i=1")))
    step(modname + " post", lambda: jb(s.post(HTTP + "/form", data={"x": "1", "y": "2"}).text))
    step(modname + " json", lambda: jb(s.post(HTTP + "/json", json={"k": [1, 2]}).text))
    step(modname + " put", lambda: jb(s.put(HTTP + "/put", data={"p": "q"}).text))
    step(modname + " delete", lambda: jb(s.delete(HTTP + "/del").text))
    step(modname + " options", lambda: jb(s.options(HTTP + "/opt").text))
    step(modname + " redirect", lambda: (lambda r: (r.status_code, r.url, jb(r.text)["path"]))(s.get(HTTP + "/redir")))
    step(modname + " no-redirect", lambda: (lambda r: (r.status_code, r.url))(s.get(HTTP + "/redir", allow_redirects=False)))
    step(modname + " gzip", lambda: s.get(HTTP + "/gzip", headers={"Accept-Encoding": "gzip"}).text[:40])
    step(modname + " cookies", lambda: sorted((c.name, c.value) for c in s.get(HTTP + "/cookie").cookies))
    step(modname + " cookie-sent", lambda: jb(s.get(HTTP + "/echo?c=1").text)["headers"].get("Cookie"))
    step(modname + " auth-avail", lambda: (lambda r: (r.status_code, r._response_info.get("HTTPAUTH_AVAIL")))(s.get(HTTP + "/auth")))
    step(modname + " https-noverify", lambda: (lambda r: (r.status_code, jb(r.text)["path"]))(s.get(HTTPS + "/tls", verify=False)))
    step(modname + " https-verify", lambda: s.get(HTTPS + "/tls").status_code)
    for suite in ("CHROME_CIPHER_SUITE", "FIREFOX98_CIPHER_SUITE"):
        if hasattr(mod, suite):
            cs = mod.Session(cipher_suite=getattr(mod, suite), verify=False,
                             headers=getattr(mod, suite.replace("CIPHER_SUITE", "HEADERS"), None))
            step(modname + " " + suite, lambda cs=cs: (lambda r: (r.status_code, jb(r.text)["path"]))(cs.get(HTTPS + "/ciphers", verify=False)))
    h2 = mod.Session(http2=True, verify=False)
    step(modname + " http2-over-h1", lambda: (lambda r: (r.status_code, jb(r.text)["path"]))(h2.get(HTTPS + "/h2", verify=False)))
    step(modname + " refused", lambda: s.get("http://127.0.0.1:1/"))
    step(modname + " timeout", lambda: s.get("http://10.255.255.1/", timeout=0.001))

# ---- curlreq (subclasses pycurl.Curl) -----------------------------------------------------------
import curlreq  # noqa: E402

c = curlreq.Client(verify=False, cookie_share=True)
step("curlreq get", lambda: (lambda r: (r.status_code, r.url, jb(r.content)))(c.get(HTTP + "/echo?q=1")))
step("curlreq post", lambda: jb(c.post(HTTP + "/post", data={"a": "b"}).content))
step("curlreq put", lambda: jb(c.put(HTTP + "/put", data="put body").content))
step("curlreq patch", lambda: jb(c.request("PATCH", HTTP + "/patch", data="patch body").content))
step("curlreq delete", lambda: jb(c.request("DELETE", HTTP + "/delete").content))
step("curlreq head", lambda: (lambda r: (r.status_code, r.content))(c.request("HEAD", HTTP + "/head")))
step("curlreq cookies", lambda: c.get(HTTP + "/cookie").cookies)
step("curlreq cookie-shared", lambda: jb(curlreq.Client(verify=False, cookie_share=c._cookie_share).get(HTTP + "/echo").content)["headers"].get("Cookie"))
step("curlreq redirect", lambda: (lambda r: (r.status_code, r.url))(c.get(HTTP + "/redir")))
step("curlreq no-redirect", lambda: (lambda r: (r.status_code, r.url))(c.get(HTTP + "/redir", allow_redirects=False)))
step("curlreq https", lambda: (lambda r: (r.status_code, jb(r.content)["path"]))(c.get(HTTPS + "/s")))
ssl_opt = curlreq.SSLOptions()
ssl_opt.ciphers = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"
ssl_opt.ssl_ec_curves = "X25519:P-256"
ssl_opt.ssl_version = __import__("pycurl").SSLVERSION_TLSv1_2
c2 = curlreq.Client(verify=False)
c2.curl_opts.append(ssl_opt)
step("curlreq ssl-options", lambda: (lambda r: (r.status_code, jb(r.content)["path"]))(c2.get(HTTPS + "/opts")))
ja3 = curlreq.JA3Option(ciphers="TLS_AES_128_GCM_SHA256", alpn=True, grease=True)
c3 = curlreq.Client(verify=False)
c3.curl_opts.append(ja3)
step("curlreq ja3", lambda: c3.get(HTTPS + "/ja3").status_code)
step("curlreq timeout", lambda: c.get("http://10.255.255.1/", timeout=0.001))

# ---- http_pycurl, http_client, requestz -----------------------------------------------------------
import http_pycurl  # noqa: E402

step("http_pycurl get", lambda: (lambda r: (r.status_code, jb(r.text)))(http_pycurl.get(HTTP + "/get", params={"k": "v"}, headers={"X-T": "1"})))
step("http_pycurl post", lambda: jb(http_pycurl.post(HTTP + "/post", data={"f": "v"}).text))
step("http_pycurl head", lambda: http_pycurl.head(HTTP + "/head").status_code)
step("http_pycurl redirect", lambda: (lambda r: (r.status_code, getattr(r, "url", None)))(http_pycurl.get(HTTP + "/redir")))
step("http_pycurl cookies", lambda: sorted(dict(http_pycurl.get(HTTP + "/cookie").cookies).items()))

import http_client  # noqa: E402

tmp = tempfile.mkdtemp()
step("http_client fetch", lambda: (lambda r: (r.status_code, jb(r.content)["path"]))(http_client.fetch(url=HTTP + "/one")))
step("http_client save", lambda: (lambda r: (r.status_code, os.path.getsize(os.path.join(tmp, "f"))))(
    http_client.fetch(save_to=os.path.join(tmp, "f"), url=HTTP + "/big")))
step("http_client fetchmany", lambda: [(r.status_code, len(r.content)) for r in http_client.fetchmany(
    *[http_client.Request(url=HTTP + ("/big" if i % 2 else "/m%d" % i), useragent="apps-drive") for i in range(6)])])
step("http_client post", lambda: jb(http_client.fetch(url=HTTP + "/p", postfields="a=b").content)["body"])

plain.shutdown()
secure.shutdown()
