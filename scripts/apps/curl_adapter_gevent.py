"""curl-adapter's gevent path (GeventPyCurl: CurlMulti on gevent io watchers through
M_SOCKETFUNCTION/M_TIMERFUNCTION and socket_action) under requests, against a loopback server."""
from gevent import monkey

monkey.patch_all()

import gzip  # noqa: E402
import hashlib  # noqa: E402
import http.server  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402

from curl_adapter import PyCurlAdapter  # noqa: E402
from curl_adapter.stream.handler import CurlStreamHandler  # noqa: E402

BIG = bytes(range(256)) * 8192  # 2 MiB


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

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        self.send(200, json.dumps({"len": len(data), "md5": hashlib.md5(data).hexdigest(),
                                   "ct": self.headers.get("Content-Type", "").split(";")[0]}).encode())

    do_PUT = do_POST

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/big":
            return self.send(200, BIG, [("Content-Type", "application/octet-stream")])
        if u.path == "/slow":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(int(q.get("n", 5))):
                chunk = b"part%d;" % i
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                time.sleep(float(q.get("d", 0.05)))
            self.wfile.write(b"0\r\n\r\n")
            return
        if u.path == "/redir":
            return self.send(302, b"", [("Location", "/hello?from=redir")])
        if u.path == "/gzip":
            return self.send(200, gzip.compress(b"gz " * 1000), [("Content-Encoding", "gzip")])
        if u.path == "/status":
            return self.send(int(q["c"]), b"status", [])
        if u.path == "/stall":
            time.sleep(3)
            return self.send(200, b"late")
        self.send(200, ("hello " + self.path).encode(), [("Content-Type", "text/plain"),
                                                        ("Set-Cookie", "k=v; Path=/")])


# The server runs in a real OS thread, untouched by gevent's patching.
real_threading = monkey.get_original("threading", "Thread")
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
real_threading(target=srv.serve_forever, daemon=True).start()
BASE = "http://127.0.0.1:%d" % srv.server_port


def out(*a):
    print(*(str(x).replace("127.0.0.1:%d" % srv.server_port, "127.0.0.1:PORT") for x in a), flush=True)


out("handler", CurlStreamHandler.__name__)
s = requests.Session()
s.mount("http://", PyCurlAdapter())


def job(name, fn):
    try:
        return name, fn()
    except Exception as e:  # noqa: BLE001
        return name, "raised %s %s" % (type(e).__name__, str(e)[:160])


def get(path, **kw):
    r = s.get(BASE + path, **kw)
    return r.status_code, r.text[:60], r.url


def stream(path):
    r = s.get(BASE + path, stream=True)
    parts = [c for c in r.iter_content(chunk_size=None)]
    return r.status_code, b"".join(parts)[:80], len(b"".join(parts))


def big():
    r = s.get(BASE + "/big")
    return r.status_code, len(r.content), hashlib.md5(r.content).hexdigest() == hashlib.md5(BIG).hexdigest()


def big_stream():
    r = s.get(BASE + "/big", stream=True)
    h = hashlib.md5()
    n = 0
    for c in r.iter_content(65536):
        h.update(c)
        n += len(c)
    return r.status_code, n, h.hexdigest() == hashlib.md5(BIG).hexdigest()


def early_close():
    r = s.get(BASE + "/slow?n=20&d=0.05", stream=True)
    first = next(r.iter_content(chunk_size=None))
    r.close()
    return r.status_code, first[:6]


jobs = [
    ("hello", lambda: get("/hello")),
    ("redirect", lambda: get("/redir")),
    ("no-redirect", lambda: (lambda r: (r.status_code, r.headers.get("Location")))(s.get(BASE + "/redir", allow_redirects=False))),
    ("gzip", lambda: get("/gzip")),
    ("404", lambda: get("/status?c=404")),
    ("500", lambda: get("/status?c=500")),
    ("post-form", lambda: s.post(BASE + "/p", data={"a": "b" * 100}).json()),
    ("post-json", lambda: s.post(BASE + "/p", json={"k": list(range(100))}).json()),
    ("post-big", lambda: s.post(BASE + "/p", data=BIG).json()),
    ("put-files", lambda: (lambda j: (j["len"], j["ct"]))(s.put(BASE + "/p", files={"f": ("f.bin", b"x" * 5000)}).json())),
    ("slow-stream", lambda: stream("/slow?n=5")),
    ("big", big),
    ("big-stream", big_stream),
    ("early-close", early_close),
    ("timeout", lambda: get("/stall", timeout=0.5)),
    ("refused", lambda: s.get("http://127.0.0.1:1/")),
]
t0 = time.time()
greenlets = [gevent.spawn(job, n, f) for n, f in jobs]
for _ in range(3):
    greenlets += [gevent.spawn(job, "par-%d" % i, lambda i=i: get("/hello?i=%d" % i)) for i in range(10)]
gevent.joinall(greenlets, timeout=30)
for g in greenlets:
    out(*(g.value if g.ready() else ("unfinished",)))
out("sequential", [get("/hello?seq=%d" % i)[0] for i in range(20)])
out("elapsed-ok", time.time() - t0 < 20)
srv.shutdown()
