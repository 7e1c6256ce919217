"""Drive pyload-ng's network layer (HTTPRequest, HTTPDownload with chunks, Browser, CookieJar)
against a loopback server and print what it observed, to compare under two pycurls."""
import gzip
import hashlib
import http.server
import os
import re
import shutil
import tempfile
import threading
import urllib.parse

from pyload.core.network.browser import Browser
from pyload.core.network.cookie_jar import CookieJar
from pyload.core.network.http.http_download import HTTPDownload
from pyload.core.network.http.http_request import FormFile, HTTPRequest


def blob(n):
    return bytes((i * 7 + i // 251) & 0xFF for i in range(n))


FILES = {"small": blob(1000), "mid": blob(300_000), "big": blob(3_000_000)}


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

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_HEAD(self):
        self.do_GET()

    def do_PUT(self):
        data = self.body()
        self.send(201, b"put %d %s" % (len(data), hashlib.md5(data).hexdigest().encode()),
                  [("Content-Type", "text/plain")])

    def do_POST(self):
        data = self.body()
        ct = self.headers.get("Content-Type", "")
        m = re.search(r"boundary=(\S+)", ct)
        if m:
            data = data.replace(m.group(1).encode(), b"BOUNDARY")
            ct = ct.replace(m.group(1), "BOUNDARY")
        self.send(200, b"ct=" + ct.encode() + b"\n" + data, [("Content-Type", "text/plain; charset=utf-8")])

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        p = u.path
        if p.startswith("/file/"):
            name = p[6:]
            data = FILES[name]
            hdrs = [("Content-Type", "application/octet-stream")]
            if q.get("cd"):
                hdrs.append(("Content-Disposition", 'attachment; filename="%s"' % q["cd"]))
            if q.get("ranges", "1") == "1":
                hdrs.append(("Accept-Ranges", "bytes"))
                rng = self.headers.get("Range")
                if rng:
                    a, _, b = rng[6:].partition("-")
                    a = int(a)
                    b = int(b) if b else len(data) - 1
                    if a >= len(data):
                        return self.send(416, b"", hdrs + [("Content-Range", "bytes */%d" % len(data))])
                    b = min(b, len(data) - 1)
                    return self.send(206, data[a:b + 1], hdrs + [
                        ("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))])
            return self.send(200, data, hdrs)
        if p == "/redir":
            return self.send(302, b"moved", [("Location", "/page?via=redir")])
        if p == "/loop":
            return self.send(302, b"", [("Location", "/loop")])
        if p == "/page":
            lines = ["path=" + self.path]
            for h in ("Referer", "Cookie", "User-Agent", "Authorization", "X-Extra", "Accept-Encoding"):
                lines.append("%s=%s" % (h, self.headers.get(h)))
            return self.send(200, ("\n".join(lines) + "\n&amp; caf\u00e9").encode("latin-1"), [
                ("Content-Type", "text/html; charset=iso-8859-1"),
                ("Set-Cookie", "sess=abc%s; Path=/" % q.get("n", "")),
                ("Set-Cookie", "other=1; Path=/; HttpOnly")])
        if p == "/gzip":
            raw = b"compressed body " * 100
            return self.send(200, gzip.compress(raw), [("Content-Encoding", "gzip"), ("Content-Type", "text/plain")])
        if p == "/huge":
            return self.send(200, FILES["big"], [("Content-Type", "text/plain")])
        if p.startswith("/status/"):
            return self.send(int(p[8:]), b"status body " + p[8:].encode(), [("Content-Type", "text/plain")])
        if p == "/bom":
            return self.send(200, b"\xef\xbb\xbfhello bom", [("Content-Type", "text/plain; charset=utf-8")])
        self.send(404, b"nope")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
BASE = "http://127.0.0.1:%d" % srv.server_port
OPTS = {"interface": None, "proxies": None, "ipv6": False}


def out(*a):
    print(*(str(x).replace("127.0.0.1:%d" % srv.server_port, "127.0.0.1:PORT") for x in a), flush=True)


def req(**kw):
    r = HTTPRequest(options=OPTS, **kw)
    r.allow_private_ip = True
    return r


def step(name, fn):
    try:
        res = fn()
        if isinstance(res, bytes):
            res = res[:300]
        elif isinstance(res, str):
            res = res[:300]
        out(name, "->", repr(res))
    except Exception as e:  # noqa: BLE001
        out(name, "raised", type(e).__name__, str(getattr(e, "args", e))[:200])


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


tmp = tempfile.mkdtemp()
try:
    r = req()
    step("get", lambda: r.load(BASE + "/page", get={"a": "1 2"}))
    step("code+url", lambda: (r.code, r.last_effective_url))
    step("headers", lambda: sorted((k, r.response_headers.get_list(k)) for k in r.response_headers.keys()
                                   if k.lower() not in ("date", "server")))
    step("redirect", lambda: (r.load(BASE + "/redir"), r.last_effective_url, r.code))
    step("no-redirect", lambda: (r.load(BASE + "/redir", redirect=False), r.code, r.last_effective_url))
    step("redirect-limit", lambda: r.load(BASE + "/loop", redirect=3))
    step("after-limit", lambda: (r.load(BASE + "/page?x=after"), r.code))
    step("post-dict", lambda: r.load(BASE + "/post", post={"k": "v w", "z": "&"}))
    step("post-str", lambda: r.load(BASE + "/post", post="raw=body"))
    step("post-true", lambda: r.load(BASE + "/post", post=True))
    up = os.path.join(tmp, "up.txt")
    with open(up, "wb") as f:
        f.write(b"file contents\n" * 50)
    step("multipart", lambda: r.load(BASE + "/post", post={"field": "value", "n": 5,
                                                            "file": FormFile(up),
                                                            "buf": FormFile("x.bin", data=b"\x00\x01data")},
                                     multipart=True))
    step("get-after-post", lambda: r.load(BASE + "/page?after=post"))
    step("upload", lambda: (r.upload(up, BASE + "/put"), r.code))
    step("get-after-upload", lambda: (r.load(BASE + "/page?after=upload"), r.code))
    r.add_header("X-Extra", "one")
    r.add_auth("user:pass")
    step("headers+auth", lambda: r.load(BASE + "/page?h=1"))
    r.remove_auth()
    r.remove_header("X-Extra")
    step("headers-removed", lambda: r.load(BASE + "/page?h=2"))
    step("head", lambda: sorted(line for line in r.load(BASE + "/file/mid", just_header=True).as_lines()
                                if not line.lower().startswith(("date", "server"))))
    step("gzip", lambda: r.load(BASE + "/gzip"))
    step("bom", lambda: r.load(BASE + "/bom"))
    step("no-decode", lambda: r.load(BASE + "/page?d=0", decode=False))
    for code in (403, 404, 500, 503, 418):
        step("status%d" % code, lambda code=code: (r.load(BASE + "/status/%d" % code), r.code))
    try:
        r.load(BASE + "/status/500")
    except Exception as e:  # noqa: BLE001
        out("badheader", type(e).__name__, getattr(e, "code", None), getattr(e, "content", None))
    step("over-limit", lambda: r.load(BASE + "/huge"))
    step("refused", lambda: r.load("http://127.0.0.1:1/x"))
    r.close()

    priv = HTTPRequest(options=OPTS)
    step("private-ip-refused", lambda: priv.load(BASE + "/page"))
    step("private-ip-code", lambda: priv.c.getinfo(__import__("pycurl").RESPONSE_CODE))
    priv.allow_private_ip = True
    step("private-ip-allowed", lambda: priv.load(BASE + "/page?p=1"))
    priv.close()

    # Cookies through pyload's CookieJar (INFO_COOKIELIST out, COOKIELIST in).
    cj = CookieJar("plugin")
    cj.set_cookie("127.0.0.1", "pre", "set", exp=2000000000)
    r = req(cookies=cj)
    step("cookie-send", lambda: r.load(BASE + "/page?n=1"))
    step("jar", lambda: sorted((k, v.split("\t")[:4] + v.split("\t")[5:]) for k, v in cj.cookies.items()))
    r2 = req(cookies=cj)
    step("cookie-second-handle", lambda: r2.load(BASE + "/page?n=2"))
    step("jar2", lambda: sorted((k, v.split("\t")[:4] + v.split("\t")[5:]) for k, v in cj.cookies.items()))
    step("clear-cookies", lambda: (r2.clear_cookies(), r2.load(BASE + "/page?n=3", cookies=False))[1])
    r.close()
    r2.close()

    # Browser: referer handling across loads.
    b = Browser(options=OPTS)
    b.http.allow_private_ip = True
    b.set_cookie_jar(CookieJar("b"))
    step("browser1", lambda: b.load(BASE + "/page?b=1"))
    step("browser2-referer", lambda: b.load(BASE + "/page?b=2"))
    step("browser-code", lambda: (b.code, b.last_effective_url))

    # HTTPDownload: single and chunked, with and without server range support, resume.
    def dl(name, url, chunks, resume=False, disposition=False, keep=False):
        target = os.path.join(tmp, name)
        notes = []
        d = HTTPDownload(url, target, options=OPTS, status_notify=notes.append, disposition=disposition)
        # chunks build their HTTPRequests lazily: let every one reach loopback
        import pyload.core.network.http.http_chunk as hc
        real_init = hc.HTTPRequest.__init__

        def init(self, *a, **k):
            real_init(self, *a, **k)
            self.allow_private_ip = True
        hc.HTTPRequest.__init__ = init
        try:
            res = d.download(chunks, resume)
        finally:
            hc.HTTPRequest.__init__ = real_init
        final = os.path.join(tmp, res) if res else target
        left = sorted(f for f in os.listdir(tmp) if f.startswith(name) and f != name)
        return res, d.code, os.path.getsize(final), md5(final), left, [n for n in notes if "disposition" in n]

    exp = {k: hashlib.md5(v).hexdigest() for k, v in FILES.items()}
    out("expected", exp)
    step("dl-small-1", lambda: dl("s1", BASE + "/file/small", 1))
    step("dl-mid-1", lambda: dl("m1", BASE + "/file/mid", 1))
    step("dl-mid-3", lambda: dl("m3", BASE + "/file/mid", 3))
    step("dl-big-4", lambda: dl("b4", BASE + "/file/big", 4))
    step("dl-big-norange-4", lambda: dl("bn4", BASE + "/file/big?ranges=0", 4))
    step("dl-disposition", lambda: dl("d1", BASE + "/file/small?cd=named.bin", 2, disposition=True))
    step("dl-404", lambda: dl("e1", BASE + "/status/404", 1))
    step("dl-503", lambda: dl("e2", BASE + "/status/503", 2))
    step("dl-refused", lambda: dl("e3", "http://127.0.0.1:1/x", 1))

    # Resume: a partial single-chunk download (info file and .chunk0) picked up again.
    target = os.path.join(tmp, "res1")
    with open(target + ".chunk0", "wb") as f:
        f.write(FILES["mid"][:100_000])
    with open(target + ".chunks", "w") as f:
        f.write("name:%s\nsize:%d\n#0:\n\tname:%s.chunk0\n\trange:0-%d\n" % (
            target, len(FILES["mid"]), target, len(FILES["mid"]) - 1))
    step("dl-resume-single", lambda: dl("res1", BASE + "/file/mid", 1, resume=True))

    # Resume of a two-chunk download whose chunks are each partly there.
    target = os.path.join(tmp, "res2")
    half = len(FILES["big"]) // 2
    with open(target + ".chunk0", "wb") as f:
        f.write(FILES["big"][:1000])
    with open(target + ".chunk1", "wb") as f:
        f.write(FILES["big"][half + 1:half + 1 + 5000])
    with open(target + ".chunks", "w") as f:
        f.write("name:%s\nsize:%d\n#0:\n\tname:%s.chunk0\n\trange:0-%d\n#1:\n\tname:%s.chunk1\n\trange:%d-%d\n" % (
            target, len(FILES["big"]), target, half, target, half + 1, len(FILES["big"]) - 1))
    step("dl-resume-2chunks", lambda: dl("res2", BASE + "/file/big", 2, resume=True))

    # Resume past the end: 416 from the server, pyload restarts without resume.
    target = os.path.join(tmp, "res3")
    with open(target + ".chunk0", "wb") as f:
        f.write(FILES["small"] + b"extra")
    with open(target + ".chunks", "w") as f:
        f.write("name:%s\nsize:%d\n#0:\n\tname:%s.chunk0\n\trange:0-%d\n" % (
            target, len(FILES["small"]), target, len(FILES["small"]) - 1))
    step("dl-resume-416", lambda: dl("res3", BASE + "/file/small", 1, resume=True))
    # Resume against a server without ranges.
    target = os.path.join(tmp, "res4")
    with open(target + ".chunk0", "wb") as f:
        f.write(FILES["mid"][:5000])
    with open(target + ".chunks", "w") as f:
        f.write("name:%s\nsize:%d\n#0:\n\tname:%s.chunk0\n\trange:0-%d\n" % (
            target, len(FILES["mid"]), target, len(FILES["mid"]) - 1))
    step("dl-resume-norange", lambda: dl("res4", BASE + "/file/mid?ranges=0", 1, resume=True))
    # A download that a private address refuses (the default).
    d = HTTPDownload(BASE + "/file/small", os.path.join(tmp, "priv"), options=OPTS)
    step("dl-private-refused", lambda: d.download(1))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
    srv.shutdown()
