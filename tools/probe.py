#!/usr/bin/env python3
"""Probe the real pycurl's observable behaviour (types, errors, callbacks).

Run with the reference interpreter:

    /tmp/ref/bin/python tools/probe.py            # all sections
    /tmp/ref/bin/python tools/probe.py errors     # one or more sections by name

Sections: module errors closed perform misc callbacks cbraise writeret cbreturns
All traffic goes to an HTTP server this script starts on 127.0.0.1.
Output is plain "label: value" lines; tools/probe_notes.md summarises it.
"""
import http.server
import io
import os
import socket
import subprocess
import sys
import threading
import warnings

import pycurl

# ---------------------------------------------------------------- server


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def do_GET(self):
        if self.path.startswith("/big"):
            self._send(200, b"x" * 300000, [("Content-Type", "application/octet-stream")])
        elif self.path.startswith("/redirect307"):
            self._send(307, b"", [("Location", "/echo")])
        elif self.path.startswith("/notfound"):
            self._send(404, b"nope", [("Content-Type", "text/plain")])
        else:
            self._send(200, b"hello world", [("Content-Type", "text/plain; charset=utf-8"),
                                             ("X-Probe", "1")])

    do_HEAD = do_GET

    def do_POST(self):
        body = self._read_body()
        if self.path.startswith("/redirect307"):
            self._send(307, b"", [("Location", "/echo")])
        else:
            self._send(200, body, [("Content-Type", "application/octet-stream")])

    do_PUT = do_POST


def start_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.handle_error = lambda request, client_address: None  # keep probe output clean
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv, "http://127.0.0.1:%d" % srv.server_address[1]


SRV, BASE = None, None


def base():
    global SRV, BASE
    if SRV is None:
        SRV, BASE = start_server()
    return BASE


# ---------------------------------------------------------------- helpers


def show(label, value):
    print("%s: %s" % (label, value))


def exc_text(e):
    return "%s%r str=%r" % (type(e).__name__, e.args, str(e))


def attempt(label, fn):
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        try:
            r = fn()
        except BaseException as e:  # noqa: BLE001 - probing
            show(label, "RAISES " + exc_text(e))
            r = e
        else:
            show(label, "returns %r (type %s)" % (r, type(r).__name__))
    for w in wl:
        show("    warning", "%s: %s" % (w.category.__name__, w.message))
    return r


def new(url=None, **opts):
    c = pycurl.Curl()
    if url is not None:
        c.setopt(pycurl.URL, url)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c


def section(name):
    print()
    print("=" * 20, name, "=" * 20)


# ---------------------------------------------------------------- sections


def s_module():
    section("module")
    show("pycurl.version", pycurl.version)
    show("pycurl.version_info()", pycurl.version_info())
    show("len(version_info())", len(pycurl.version_info()))
    e = pycurl.error
    show("pycurl.error", e)
    show("pycurl.error.__mro__", e.__mro__)
    show("pycurl.error.__module__", e.__module__)
    show("repr(pycurl.error(7, 'msg'))", repr(pycurl.error(7, "msg")))
    show("str(pycurl.error(7, 'msg'))", str(pycurl.error(7, "msg")))
    show("repr(pycurl.error())", repr(pycurl.error()))
    show("type(Curl.closed)", type(pycurl.Curl.__dict__.get("closed")))
    c = pycurl.Curl()
    attempt("Curl().closed()", lambda: c.closed())
    attempt("Curl().closed", lambda: c.closed)
    show("repr(Curl())", repr(c).split(" at ")[0])
    show("type(Curl())", type(c))
    show("CurlSockAddr", (pycurl.CurlSockAddr, pycurl.CurlSockAddr._fields))


def s_errors():
    section("setopt/getinfo errors")
    c = pycurl.Curl()
    attempt("setopt(99999, 1)", lambda: c.setopt(99999, 1))
    attempt("setopt(99999, 'x')", lambda: c.setopt(99999, "x"))
    attempt("setopt(URL, 123)", lambda: c.setopt(pycurl.URL, 123))
    attempt("setopt(URL, None)", lambda: c.setopt(pycurl.URL, None))
    attempt("setopt(URL, b'http://x/')", lambda: c.setopt(pycurl.URL, b"http://x/"))
    attempt("setopt(URL, 'http://\\u00e9/')", lambda: c.setopt(pycurl.URL, "http://\u00e9/"))
    attempt("setopt(TIMEOUT, 'x')", lambda: c.setopt(pycurl.TIMEOUT, "x"))
    attempt("setopt(TIMEOUT, 1.5)", lambda: c.setopt(pycurl.TIMEOUT, 1.5))
    attempt("setopt(TIMEOUT, True)", lambda: c.setopt(pycurl.TIMEOUT, True))
    attempt("setopt(TIMEOUT, -1)", lambda: c.setopt(pycurl.TIMEOUT, -1))
    attempt("setopt(TIMEOUT, 2**40)", lambda: c.setopt(pycurl.TIMEOUT, 2 ** 40))
    attempt("setopt(TIMEOUT, None)", lambda: c.setopt(pycurl.TIMEOUT, None))
    attempt("setopt(HTTPHEADER, 'notalist')", lambda: c.setopt(pycurl.HTTPHEADER, "notalist"))
    attempt("setopt(HTTPHEADER, [1])", lambda: c.setopt(pycurl.HTTPHEADER, [1]))
    attempt("setopt(HTTPHEADER, ('A: b',))", lambda: c.setopt(pycurl.HTTPHEADER, ("A: b",)))
    attempt("setopt(HTTPHEADER, [b'A: b'])", lambda: c.setopt(pycurl.HTTPHEADER, [b"A: b"]))
    attempt("setopt(HTTPHEADER, [])", lambda: c.setopt(pycurl.HTTPHEADER, []))
    attempt("setopt(HTTPHEADER, None)", lambda: c.setopt(pycurl.HTTPHEADER, None))
    attempt("setopt(WRITEFUNCTION, 5)", lambda: c.setopt(pycurl.WRITEFUNCTION, 5))
    attempt("setopt(WRITEFUNCTION, None)", lambda: c.setopt(pycurl.WRITEFUNCTION, None))
    attempt("setopt(WRITEDATA, object())", lambda: c.setopt(pycurl.WRITEDATA, object()))
    attempt("setopt(WRITEDATA, io.BytesIO())", lambda: c.setopt(pycurl.WRITEDATA, io.BytesIO()))
    attempt("setopt(WRITEHEADER, object())", lambda: c.setopt(pycurl.WRITEHEADER, object()))
    attempt("setopt(READDATA, object())", lambda: c.setopt(pycurl.READDATA, object()))
    attempt("setopt(POSTFIELDS, 5)", lambda: c.setopt(pycurl.POSTFIELDS, 5))
    attempt("setopt('URL', 'x')", lambda: c.setopt("URL", "x"))
    attempt("setopt(URL)", lambda: c.setopt(pycurl.URL))
    attempt("  errstr() after setopt(TIMEOUT, -1)", c.errstr)
    attempt("setopt(CONNECTTIMEOUT, -1) on same handle",
            lambda: c.setopt(pycurl.CONNECTTIMEOUT, -1))
    c2 = pycurl.Curl()
    attempt("setopt(CONNECTTIMEOUT, -1) on fresh handle",
            lambda: c2.setopt(pycurl.CONNECTTIMEOUT, -1))
    c2.setopt(pycurl.URL, "http://127.0.0.1:1/")
    attempt("  perform() refused", c2.perform)
    attempt("  setopt(TIMEOUT, -1) after failed perform", lambda: c2.setopt(pycurl.TIMEOUT, -1))
    c3 = pycurl.Curl()
    c3.reset()
    attempt("setopt(CONNECTTIMEOUT, -1) after reset()",
            lambda: c3.setopt(pycurl.CONNECTTIMEOUT, -1))
    attempt("  errstr() after that", c3.errstr)
    c4 = pycurl.Curl()
    try:
        c4.setopt(pycurl.TIMEOUT, -1)
    except pycurl.error:
        pass
    c4.reset()
    attempt("setopt(TIMEOUT,-1); reset(); errstr()", c4.errstr)
    attempt("  then setopt(CONNECTTIMEOUT, -1)", lambda: c4.setopt(pycurl.CONNECTTIMEOUT, -1))
    attempt("  errstr() after that", c4.errstr)
    attempt("getinfo(99999)", lambda: c.getinfo(99999))
    attempt("getinfo('x')", lambda: c.getinfo("x"))

    section("getinfo on fresh handle")
    c = pycurl.Curl()
    for name in ("RESPONSE_CODE", "HTTP_CODE", "EFFECTIVE_URL", "CONTENT_TYPE", "TOTAL_TIME",
                 "TOTAL_TIME_T", "INFO_CERTINFO", "PRIMARY_IP", "LOCAL_PORT",
                 "SIZE_DOWNLOAD", "SIZE_DOWNLOAD_T", "REDIRECT_URL", "INFO_COOKIELIST",
                 "EFFECTIVE_METHOD", "SCHEME", "INFO_HTTP_VERSION", "NUM_CONNECTS", "LASTSOCKET",
                 "ACTIVESOCKET", "INFO_FILETIME", "OS_ERRNO", "CONTENT_LENGTH_DOWNLOAD",
                 "SSL_VERIFYRESULT", "SSL_ENGINES", "CONN_ID", "XFER_ID"):
        attempt("fresh getinfo(%s)" % name, lambda n=name: c.getinfo(getattr(pycurl, n)))
    for name in ("EFFECTIVE_URL", "CONTENT_TYPE", "RESPONSE_CODE"):
        attempt("fresh getinfo_raw(%s)" % name, lambda n=name: c.getinfo_raw(getattr(pycurl, n)))
    attempt("fresh errstr()", c.errstr)
    attempt("fresh errstr_raw()", c.errstr_raw)

    section("unsetopt")
    c = pycurl.Curl()
    for name in ("URL", "WRITEFUNCTION", "WRITEDATA", "HEADERFUNCTION", "TIMEOUT", "VERBOSE",
                 "HTTPHEADER", "CUSTOMREQUEST", "POSTFIELDS", "USERPWD", "PROXY", "COOKIE",
                 "RANGE", "REFERER", "USERAGENT", "ENCODING", "SHARE", "HTTPPOST", "MIMEPOST",
                 "FOLLOWLOCATION", "NOBODY", "CAINFO", "READFUNCTION",
                 "XFERINFOFUNCTION", "DEBUGFUNCTION", "RESOLVE", "HTTPGET", "PORT"):
        attempt("unsetopt(%s)" % name, lambda n=name: c.unsetopt(getattr(pycurl, n)))
    attempt("unsetopt(99999)", lambda: c.unsetopt(99999))
    for name in ("VERBOSE", "TIMEOUT", "FOLLOWLOCATION", "CUSTOMREQUEST", "WRITEFUNCTION"):
        attempt("setopt(%s, None)" % name, lambda n=name: c.setopt(getattr(pycurl, n), None))

    section("return values")
    c = pycurl.Curl()
    attempt("setopt(URL, ok)", lambda: c.setopt(pycurl.URL, base() + "/"))
    attempt("pause(PAUSE_CONT) idle", lambda: c.pause(pycurl.PAUSE_CONT))
    attempt("pause() idle", lambda: c.pause())
    attempt("reset()", c.reset)
    attempt("close()", c.close)
    attempt("close() again", c.close)

    section("PRIVATE")
    show("hasattr(pycurl, 'PRIVATE')", hasattr(pycurl, "PRIVATE"))
    c = pycurl.Curl()
    # libcurl's CURLOPT_PRIVATE number / CURLINFO_PRIVATE number, passed raw
    attempt("setopt(10103 [CURLOPT_PRIVATE], object())", lambda: c.setopt(10103, object()))
    attempt("getinfo(0x100015 [CURLINFO_PRIVATE])", lambda: c.getinfo(0x100015))
    if hasattr(pycurl, "PRIVATE"):
        o = object()
        c.setopt(pycurl.PRIVATE, o)
        show("getinfo(PRIVATE) is obj", c.getinfo(pycurl.PRIVATE) is o)

    section("instance attributes")
    c = pycurl.Curl()
    show("Curl().URL", c.URL)
    attempt("Curl().M_TIMERFUNCTION", lambda: c.M_TIMERFUNCTION)
    attempt("Curl().foo", lambda: c.foo)
    c.foo = 1
    show("Curl().foo after set", c.foo)
    c.URL = 5
    show("Curl().URL after c.URL=5", c.URL)
    attempt("del c.URL", lambda: delattr(c, "URL"))
    show("Curl().URL after del", c.URL)
    attempt("del c.URL again", lambda: delattr(c, "URL"))
    show("'URL' in dir(Curl())", "URL" in dir(pycurl.Curl()))


def s_closed():
    section("closed handle")
    c = pycurl.Curl()
    c.close()
    calls = [
        ("setopt(URL, 'x')", lambda: c.setopt(pycurl.URL, "x")),
        ("setopt_string(URL, 'x')", lambda: c.setopt_string(pycurl.URL, "x")),
        ("unsetopt(URL)", lambda: c.unsetopt(pycurl.URL)),
        ("getinfo(RESPONSE_CODE)", lambda: c.getinfo(pycurl.RESPONSE_CODE)),
        ("getinfo_raw(EFFECTIVE_URL)", lambda: c.getinfo_raw(pycurl.EFFECTIVE_URL)),
        ("perform()", c.perform),
        ("perform_rb()", c.perform_rb),
        ("perform_rs()", c.perform_rs),
        ("errstr()", c.errstr),
        ("errstr_raw()", c.errstr_raw),
        ("reset()", c.reset),
        ("pause(PAUSE_ALL)", lambda: c.pause(pycurl.PAUSE_ALL)),
        ("unpause()", lambda: c.unpause()),
        ("duphandle()", c.duphandle),
        ("close()", c.close),
        ("closed()", c.closed),
        ("URL attr", lambda: c.URL),
        ("with-block", lambda: c.__enter__()),
    ]
    for label, fn in calls:
        attempt("closed " + label, fn)
    m = pycurl.CurlMulti()
    m.close()
    attempt("closed multi.perform()", m.perform)
    attempt("closed multi.add_handle(Curl())", lambda: m.add_handle(pycurl.Curl()))
    attempt("closed multi.setopt(M_MAXCONNECTS,1)", lambda: m.setopt(pycurl.M_MAXCONNECTS, 1))
    s = pycurl.CurlShare()
    s.close()
    attempt("closed share.setopt(SH_SHARE, LOCK_DATA_COOKIE)",
            lambda: s.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_COOKIE))


def s_perform():
    section("perform errors")
    c = pycurl.Curl()
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    e = attempt("perform() without URL", c.perform)
    if isinstance(e, pycurl.error):
        show("  e.args", e.args)
        show("  type(e.args[0])", type(e.args[0]))
        show("  e.__context__/__cause__", (e.__context__, e.__cause__))
    attempt("  errstr() after", c.errstr)
    attempt("  errstr_raw() after", c.errstr_raw)

    c = pycurl.Curl()
    c.setopt(pycurl.URL, "http://127.0.0.1:1/")
    e = attempt("perform() refused port 127.0.0.1:1", c.perform)
    if isinstance(e, pycurl.error):
        show("  e.args", e.args)
        show("  repr(e)", repr(e))
        show("  str(e)", str(e))
    attempt("  errstr() after", c.errstr)
    attempt("  errstr_raw() after", c.errstr_raw)
    attempt("  getinfo(RESPONSE_CODE) after", lambda: c.getinfo(pycurl.RESPONSE_CODE))
    attempt("  getinfo(OS_ERRNO) after", lambda: c.getinfo(pycurl.OS_ERRNO))
    attempt("  getinfo(EFFECTIVE_URL) after", lambda: c.getinfo(pycurl.EFFECTIVE_URL))
    c.setopt(pycurl.URL, base() + "/")
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  perform() ok after failure", c.perform)
    attempt("  errstr() after successful perform", c.errstr)

    c = pycurl.Curl()
    c.setopt(pycurl.URL, "nosuchproto://x/")
    e = attempt("perform() unsupported protocol", c.perform)

    c = pycurl.Curl()
    c.setopt(pycurl.URL, base() + "/notfound")
    c.setopt(pycurl.FAILONERROR, 1)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("perform() 404 with FAILONERROR", c.perform)

    c = pycurl.Curl()
    c.setopt(pycurl.URL, base() + "/")
    attempt("perform_rb()", c.perform_rb)
    attempt("perform_rs()", c.perform_rs)

    section("getinfo after plain http perform")
    c = pycurl.Curl()
    c.setopt(pycurl.URL, base() + "/")
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    c.perform()
    for name in ("RESPONSE_CODE", "EFFECTIVE_URL", "CONTENT_TYPE", "TOTAL_TIME",
                 "TOTAL_TIME_T", "INFO_CERTINFO", "PRIMARY_IP", "PRIMARY_PORT", "LOCAL_IP",
                 "SIZE_DOWNLOAD", "HEADER_SIZE", "REQUEST_SIZE", "INFO_HTTP_VERSION", "SCHEME",
                 "EFFECTIVE_METHOD", "NUM_CONNECTS", "REDIRECT_COUNT", "REDIRECT_URL",
                 "CONTENT_LENGTH_DOWNLOAD", "CONTENT_LENGTH_DOWNLOAD_T", "INFO_FILETIME",
                 "SSL_VERIFYRESULT", "INFO_COOKIELIST", "OS_ERRNO"):
        attempt("after-perform getinfo(%s)" % name,
                lambda n=name: c.getinfo(getattr(pycurl, n)))


def s_misc():
    section("WRITEDATA / file objects")
    c = pycurl.Curl()
    c.setopt(pycurl.URL, base() + "/")
    buf = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, buf)
    c.perform()
    show("WRITEDATA BytesIO result", buf.getvalue())
    c = pycurl.Curl()
    c.setopt(pycurl.URL, base() + "/")
    sio = io.StringIO()
    c.setopt(pycurl.WRITEDATA, sio)
    attempt("WRITEDATA StringIO perform", c.perform)

    class W:
        def write(self, b):
            self.seen = type(b).__name__
    w = W()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, base() + "/")
    c.setopt(pycurl.WRITEDATA, w)
    c.perform()
    show("WRITEDATA custom .write arg type", w.seen)

    section("pause during transfer")
    c = pycurl.Curl()
    c.setopt(pycurl.URL, base() + "/")
    res = []

    def wf(b):
        res.append(attempt("  pause(PAUSE_CONT) inside WRITEFUNCTION",
                           lambda: c.pause(pycurl.PAUSE_CONT)))
    c.setopt(pycurl.WRITEFUNCTION, wf)
    c.perform()


def s_callbacks():
    section("callbacks")
    url = base()

    def log(name):
        def cb(*args):
            show("  %s args" % name, "%r types=%s" % (
                tuple(a if not isinstance(a, bytes) or len(a) < 80 else a[:60] + b"..."
                      for a in args),
                tuple(type(a).__name__ for a in args)))
        return cb

    # WRITEFUNCTION / HEADERFUNCTION
    c = new(url + "/")
    seen = []
    c.setopt(pycurl.WRITEFUNCTION, lambda b: seen.append(("W", b)))
    c.setopt(pycurl.HEADERFUNCTION, lambda b: seen.append(("H", b)))
    c.perform()
    for k, b in seen:
        show("  %s" % ("WRITEFUNCTION" if k == "W" else "HEADERFUNCTION"),
             "%r (%s)" % (b, type(b).__name__))

    # READFUNCTION with upload and various return types
    for label, ret in (("bytes", b"abc"), ("str", "abc"), ("nonascii str", "\u00e9"),
                       ("bytearray", bytearray(b"abc")), ("int", 5), ("None", None)):
        c = new(url + "/echo", POST=1)
        c.setopt(pycurl.POSTFIELDSIZE, 3)
        state = {"n": 0}
        out = io.BytesIO()

        def rf(size, ret=ret, state=state):
            state["n"] += 1
            if state["n"] == 1:
                state["size"] = (size, type(size).__name__)
                return ret
            return b""
        c.setopt(pycurl.READFUNCTION, rf)
        c.setopt(pycurl.WRITEDATA, out)
        c.setopt(pycurl.TIMEOUT, 3)
        r = attempt("  READFUNCTION returning %s" % label, c.perform)
        show("    size arg", state.get("size"))
        show("    body echoed", out.getvalue())

    # READDATA object with read()
    c = new(url + "/echo", UPLOAD=1)
    c.setopt(pycurl.READDATA, io.BytesIO(b"hello"))
    c.setopt(pycurl.INFILESIZE, 5)
    out = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, out)
    attempt("  READDATA BytesIO PUT", c.perform)
    show("    body echoed", out.getvalue())

    # SEEKFUNCTION: POST with READFUNCTION redirected by 307 -> rewind
    c = new(url + "/redirect307", POST=1, FOLLOWLOCATION=1)
    data = io.BytesIO(b"payload")
    c.setopt(pycurl.POSTFIELDSIZE, 7)
    c.setopt(pycurl.READFUNCTION, data.read)

    def sk(offset, origin):
        log("SEEKFUNCTION")(offset, origin)
        data.seek(offset, origin)
        return pycurl.SEEKFUNC_OK
    c.setopt(pycurl.SEEKFUNCTION, sk)
    out = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, out)
    attempt("  perform with SEEKFUNCTION (307)", c.perform)
    show("    body echoed", out.getvalue())

    # SEEKFUNCTION absent -> what happens on rewind
    c = new(url + "/redirect307", POST=1, FOLLOWLOCATION=1)
    data2 = io.BytesIO(b"payload")
    c.setopt(pycurl.POSTFIELDSIZE, 7)
    c.setopt(pycurl.READFUNCTION, data2.read)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  perform 307 rewind without SEEKFUNCTION", c.perform)

    # XFERINFOFUNCTION / PROGRESSFUNCTION
    for opt in ("XFERINFOFUNCTION", "PROGRESSFUNCTION"):
        c = new(url + "/big", NOPROGRESS=0)
        calls = []
        c.setopt(getattr(pycurl, opt), lambda *a: calls.append(a))
        c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
        c.perform()
        show("  %s ncalls" % opt, len(calls))
        show("  %s first/last" % opt, (calls[0], calls[-1]))
        show("  %s arg types" % opt, tuple(type(a).__name__ for a in calls[-1]))
    c = new(url + "/", NOPROGRESS=0)
    c.setopt(pycurl.XFERINFOFUNCTION, lambda *a: None)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  XFERINFOFUNCTION returning None -> perform", c.perform)
    c = new(url + "/", NOPROGRESS=0)
    c.setopt(pycurl.XFERINFOFUNCTION, lambda *a: 1)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  XFERINFOFUNCTION returning 1 -> perform", c.perform)
    c = new(url + "/", NOPROGRESS=0)
    c.setopt(pycurl.XFERINFOFUNCTION, lambda *a: True)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  XFERINFOFUNCTION returning True -> perform", c.perform)
    c = new(url + "/", NOPROGRESS=0)
    c.setopt(pycurl.XFERINFOFUNCTION, lambda *a: "x")
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  XFERINFOFUNCTION returning 'x' -> perform", c.perform)
    c = new(url + "/", NOPROGRESS=1)
    n = []
    c.setopt(pycurl.XFERINFOFUNCTION, lambda *a: n.append(a))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    c.perform()
    show("  XFERINFOFUNCTION calls with NOPROGRESS=1", len(n))

    # DEBUGFUNCTION
    c = new(url + "/", VERBOSE=1)
    dbg = []
    c.setopt(pycurl.DEBUGFUNCTION, lambda t, b: dbg.append((t, b)))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    c.perform()
    show("  DEBUGFUNCTION arg types", {(type(t).__name__, type(b).__name__) for t, b in dbg})
    show("  DEBUGFUNCTION types seen", sorted({t for t, _ in dbg}))
    for t, b in dbg[:12]:
        show("  DEBUGFUNCTION", (t, b[:70]))
    c = new(url + "/", VERBOSE=0)
    dbg2 = []
    c.setopt(pycurl.DEBUGFUNCTION, lambda t, b: dbg2.append(t))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    c.perform()
    show("  DEBUGFUNCTION calls with VERBOSE=0", len(dbg2))

    # OPENSOCKETFUNCTION / SOCKOPTFUNCTION / CLOSESOCKETFUNCTION
    c = new(url + "/")
    socks = []

    def opensock(purpose, address):
        show("  OPENSOCKETFUNCTION args", (purpose, address))
        show("  OPENSOCKETFUNCTION types", (type(purpose).__name__, type(address).__name__,
                                            type(address).__mro__))
        show("  address fields", getattr(address, "_fields", None))
        show("  address.addr type", type(address.addr).__name__)
        s = socket.socket(address.family, address.socktype, address.protocol)
        socks.append(s)
        return s

    def sockopt(fd, purpose):
        show("  SOCKOPTFUNCTION args", ((fd, purpose), type(fd).__name__, type(purpose).__name__))
        show("  SOCKOPTFUNCTION fd == opened socket fileno", fd == socks[-1].fileno())
        return 0

    def closesock(fd):
        show("  CLOSESOCKETFUNCTION args", ((fd,), type(fd).__name__))
        return 0
    c.setopt(pycurl.OPENSOCKETFUNCTION, opensock)
    c.setopt(pycurl.SOCKOPTFUNCTION, sockopt)
    c.setopt(pycurl.CLOSESOCKETFUNCTION, closesock)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  perform with socket callbacks", c.perform)
    attempt("  close() (may trigger CLOSESOCKETFUNCTION)", c.close)

    # OPENSOCKETFUNCTION return variants
    for label, fn in (("None", lambda p, a: None),
                      ("int -1", lambda p, a: -1),
                      ("fileno int", lambda p, a: socks.append(socket.socket()) or
                       socks[-1].fileno()),
                      ("raw socket.socket", lambda p, a: socket.socket(a.family, a.socktype,
                                                                        a.protocol))):
        c = new(url + "/")
        c.setopt(pycurl.OPENSOCKETFUNCTION, fn)
        c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
        c.setopt(pycurl.TIMEOUT, 3)
        attempt("  OPENSOCKETFUNCTION returning %s -> perform" % label, c.perform)

    c = new(url + "/")
    c.setopt(pycurl.SOCKOPTFUNCTION, lambda fd, p: pycurl.SOCKOPT_ERROR)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  SOCKOPTFUNCTION returning SOCKOPT_ERROR -> perform", c.perform)

    # PREREQFUNCTION
    c = new(url + "/")

    def prereq(*args):
        show("  PREREQFUNCTION args", (args, tuple(type(a).__name__ for a in args)))
        return pycurl.PREREQFUNC_OK
    c.setopt(pycurl.PREREQFUNCTION, prereq)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  perform with PREREQFUNCTION", c.perform)
    c = new(url + "/")
    c.setopt(pycurl.PREREQFUNCTION, lambda *a: pycurl.PREREQFUNC_ABORT)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    attempt("  PREREQFUNCTION returning PREREQFUNC_ABORT", c.perform)

    # number of args checks: callbacks with wrong arity
    c = new(url + "/")
    c.setopt(pycurl.WRITEFUNCTION, lambda: None)
    attempt("  WRITEFUNCTION with 0-arg callable -> perform", c.perform)


# -------------------------------------------- callbacks raising (subprocess)

RAISE_CASES = {
    "write": ("WRITEFUNCTION", "/"),
    "header": ("HEADERFUNCTION", "/"),
    "xferinfo": ("XFERINFOFUNCTION", "/"),
    "progress": ("PROGRESSFUNCTION", "/"),
    "debug": ("DEBUGFUNCTION", "/"),
    "read": ("READFUNCTION", "/echo"),
    "prereq": ("PREREQFUNCTION", "/"),
    "opensocket": ("OPENSOCKETFUNCTION", "/"),
    "write_kbint": ("WRITEFUNCTION", "/"),
    "write_sysexit": ("WRITEFUNCTION", "/"),
}


def raise_child(case):
    """Runs in a subprocess; stderr is captured by the parent."""
    opt, path = RAISE_CASES[case]
    url = base() + path

    def boom(*a):
        if case == "write_kbint":
            raise KeyboardInterrupt("kb from " + opt)
        if case == "write_sysexit":
            raise SystemExit("exit from " + opt)
        raise ValueError("boom from " + opt)
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    if opt in ("XFERINFOFUNCTION", "PROGRESSFUNCTION"):
        c.setopt(pycurl.NOPROGRESS, 0)
    if opt == "DEBUGFUNCTION":
        c.setopt(pycurl.VERBOSE, 1)
    if opt == "READFUNCTION":
        c.setopt(pycurl.POST, 1)
        c.setopt(pycurl.POSTFIELDSIZE, 3)
    if opt != "WRITEFUNCTION":
        c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    c.setopt(getattr(pycurl, opt), boom)
    try:
        c.perform()
    except BaseException as e:  # noqa: BLE001
        print("exception:", type(e).__name__, repr(e.args))
        print("__context__:", repr(e.__context__))
        print("__cause__:", repr(e.__cause__))
        print("__suppress_context__:", e.__suppress_context__)
        print("errstr():", repr(c.errstr()))
        print("sys.last_value set (PyErr_Print-style):", repr(getattr(sys, "last_value", None)))
    else:
        print("no exception from perform()")
    sys.stdout.flush()


def s_cbraise():
    section("callback raising")
    for case in RAISE_CASES:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--raise", case],
                           capture_output=True, text=True, timeout=60)
        print("--- %s raises %s" % (RAISE_CASES[case][0],
                                    {"write_kbint": "KeyboardInterrupt",
                                     "write_sysexit": "SystemExit"}.get(case, "ValueError")))
        for line in p.stdout.splitlines():
            print("  stdout| " + line)
        for line in p.stderr.splitlines():
            print("  stderr| " + line)
    # in-process: is the pending exception visible via sys.exc_info/unraisablehook?
    hooks = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: hooks.append((u.exc_type.__name__, u.err_msg))
    old_stderr = sys.stderr
    sys.stderr = io.StringIO()
    try:
        c = new(base() + "/big")
        ncalls = []

        def bad(b):
            ncalls.append(len(b))
            raise KeyError("k")
        c.setopt(pycurl.WRITEFUNCTION, bad)
        try:
            c.perform()
        except pycurl.error:
            pass
        captured = sys.stderr.getvalue()
    finally:
        sys.stderr = old_stderr
        sys.unraisablehook = old
    show("in-process sys.stderr text for raising WRITEFUNCTION", repr(captured))
    show("in-process sys.unraisablehook calls", hooks)
    show("WRITEFUNCTION calls before abort (300000-byte body)", len(ncalls))


def s_writeret():
    section("WRITEFUNCTION return values")
    body_len = len(b"hello world")
    for label, ret in (("None", None), ("len(data)", body_len), ("0", 0),
                       ("len-1", body_len - 1), ("len+1", body_len + 1), ("-1", -1),
                       ("'x'", "x"), ("True", True), ("False", False), ("1.5", 1.5),
                       ("WRITEFUNC_PAUSE", pycurl.WRITEFUNC_PAUSE), ("2**40", 2 ** 40)):
        c = new(base() + "/")
        c.setopt(pycurl.WRITEFUNCTION, lambda b, ret=ret: ret)
        c.setopt(pycurl.TIMEOUT, 3)
        old_stderr = sys.stderr
        sys.stderr = io.StringIO()
        try:
            e = attempt("WRITEFUNCTION returning %s" % label, c.perform)
            err = sys.stderr.getvalue()
        finally:
            sys.stderr = old_stderr
        if err:
            show("    sys.stderr", repr(err))
        if isinstance(e, BaseException):
            show("    __context__", repr(e.__context__))
    section("HEADERFUNCTION return values")
    for label, ret in (("None", None), ("0", 0), ("-1", -1), ("'x'", "x")):
        c = new(base() + "/")
        c.setopt(pycurl.HEADERFUNCTION, lambda b, ret=ret: ret)
        c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
        old_stderr = sys.stderr
        sys.stderr = io.StringIO()
        try:
            attempt("HEADERFUNCTION returning %s" % label, c.perform)
            err = sys.stderr.getvalue()
        finally:
            sys.stderr = old_stderr
        if err:
            show("    sys.stderr", repr(err))


def returns_child():
    """Runs in a subprocess: callback return values. Per case, sys.stderr is
    swapped for a StringIO ("pystderr") so text written through Python's
    sys.stderr can be told apart from text written straight to fd 2."""
    url = base()

    def run(label, path, setup, close=False):
        c = pycurl.Curl()
        c.setopt(pycurl.URL, url + path)
        c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
        c.setopt(pycurl.TIMEOUT, 5)
        setup(c)
        old = sys.stderr
        sys.stderr = io.StringIO()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    r = "returns %r" % (c.perform(),)
                except BaseException as e:  # noqa: BLE001
                    r = "RAISES " + exc_text(e)
                if close:
                    c.close()
                    r += "; close() ok"
            err = sys.stderr.getvalue()
        finally:
            sys.stderr = old
        print("%s: %s" % (label, r))
        if err:
            print("    pystderr: %r" % err)
        sys.stdout.flush()
        # give anything written straight to fd 2 a marker line to follow
        sys.stderr.write("  [fd2 after %s]\n" % label)
        sys.stderr.flush()

    def opensock_keep(p, a):
        s = socket.socket(a.family, a.socktype, a.protocol)
        keep.append(s)
        print("    OPENSOCKETFUNCTION returned socket fileno %d" % s.fileno())
        return s
    keep = []
    run("socket fds (opened vs seen by SOCKOPT/CLOSESOCKET)", "/",
        lambda c: (c.setopt(pycurl.OPENSOCKETFUNCTION, opensock_keep),
                   c.setopt(pycurl.SOCKOPTFUNCTION,
                            lambda fd, p: print("    SOCKOPTFUNCTION fd %d" % fd) or 0),
                   c.setopt(pycurl.CLOSESOCKETFUNCTION,
                            lambda fd: print("    CLOSESOCKETFUNCTION fd %d" % fd) or 0)),
        close=True)
    print("    returned python socket still open after close():", keep[0].fileno() != -1)
    for ret in (0, 1, None, "x"):
        run("CLOSESOCKETFUNCTION returning %r" % (ret,), "/",
            lambda c, r=ret: c.setopt(pycurl.CLOSESOCKETFUNCTION, lambda fd: r), close=True)
    for ret in (0, None, "x", pycurl.SOCKOPT_ERROR, pycurl.SOCKOPT_ALREADY_CONNECTED):
        run("SOCKOPTFUNCTION returning %r" % (ret,), "/",
            lambda c, r=ret: c.setopt(pycurl.SOCKOPTFUNCTION, lambda fd, p: r))
    for ret in (0, None, "x", 5, pycurl.PREREQFUNC_ABORT):
        run("PREREQFUNCTION returning %r" % (ret,), "/",
            lambda c, r=ret: c.setopt(pycurl.PREREQFUNCTION, lambda *a: r))

    def seek_setup(c, r):
        d = io.BytesIO(b"payload")
        c.setopt(pycurl.POST, 1)
        c.setopt(pycurl.FOLLOWLOCATION, 1)
        c.setopt(pycurl.POSTFIELDSIZE, 7)
        c.setopt(pycurl.READFUNCTION, d.read)
        c.setopt(pycurl.SEEKFUNCTION, lambda o, w: (d.seek(o, w), r)[1])
    for ret in (None, pycurl.SEEKFUNC_OK, pycurl.SEEKFUNC_FAIL, pycurl.SEEKFUNC_CANTSEEK, "x", 7):
        run("SEEKFUNCTION returning %r (307 rewind)" % (ret,), "/redirect307",
            lambda c, r=ret: seek_setup(c, r))

    def read_setup(c, r):
        c.setopt(pycurl.POST, 1)
        c.setopt(pycurl.POSTFIELDSIZE, 3)
        state = []
        c.setopt(pycurl.READFUNCTION, lambda n: r if not state.append(1) and len(state) == 1
                 else b"")
    for ret in (b"abc", "abc", bytearray(b"abc"), memoryview(b"abc"), b"", None, 5,
                "\u00e9", b"abcdef", pycurl.READFUNC_ABORT, pycurl.READFUNC_PAUSE):
        run("READFUNCTION returning %r (POSTFIELDSIZE 3, size arg 3)" % (ret,), "/echo",
            lambda c, r=ret: read_setup(c, r))
    for ret in (None, 0, 1, True, "x", -1):
        run("XFERINFOFUNCTION returning %r" % (ret,), "/",
            lambda c, r=ret: (c.setopt(pycurl.NOPROGRESS, 0),
                              c.setopt(pycurl.XFERINFOFUNCTION, lambda *a: r)))
    for ret in (None, 0, 1, "x"):
        run("DEBUGFUNCTION returning %r" % (ret,), "/",
            lambda c, r=ret: (c.setopt(pycurl.VERBOSE, 1),
                              c.setopt(pycurl.DEBUGFUNCTION, lambda t, b: r)))
    for label, fn in (("None", lambda p, a: None), ("-1", lambda p, a: -1),
                      ("'x'", lambda p, a: "x")):
        run("OPENSOCKETFUNCTION returning %s" % label, "/",
            lambda c, f=fn: c.setopt(pycurl.OPENSOCKETFUNCTION, f))
    run("WRITEFUNCTION taking 0 args", "/",
        lambda c: c.setopt(pycurl.WRITEFUNCTION, lambda: None))


def s_cbreturns():
    section("callback return values (subprocess; fd 2 shown as stderr|)")
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--returns"],
                       capture_output=True, text=True, timeout=120)
    for line in p.stdout.splitlines():
        print("  stdout| " + line)
    for line in p.stderr.splitlines():
        print("  stderr| " + line)


SECTIONS = {
    "module": s_module,
    "errors": s_errors,
    "closed": s_closed,
    "perform": s_perform,
    "misc": s_misc,
    "callbacks": s_callbacks,
    "cbraise": s_cbraise,
    "writeret": s_writeret,
    "cbreturns": s_cbreturns,
}


def main(argv):
    if len(argv) >= 2 and argv[0] == "--raise":
        raise_child(argv[1])
        return
    if argv[:1] == ["--returns"]:
        returns_child()
        return
    names = argv or list(SECTIONS)
    for n in names:
        SECTIONS[n]()
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
