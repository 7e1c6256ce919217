"""TRAILERFUNCTION, IOCTLFUNCTION, RESOLVER_START_FUNCTION and setopt(use_memoryview=True): what the
callbacks get, what their return values do, what reaches the server and what is printed."""
import io

from _common import Obs, capture_stderr, perform, pycurl, record_warnings, server, url

o = Obs()
srv = server()


def trailer(name, ret):
    c = pycurl.Curl()
    pieces = [b"hello ", b"world"]
    calls = []
    c.setopt(pycurl.URL, url("/echo"))
    c.setopt(pycurl.UPLOAD, 1)
    c.setopt(pycurl.HTTPHEADER, ["Transfer-Encoding: chunked"])
    c.setopt(pycurl.READFUNCTION, lambda n: pieces.pop(0) if pieces else b"")
    c.setopt(pycurl.TRAILERFUNCTION, lambda *a: calls.append(len(a)) or ret)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    before = len(srv.requests)
    with capture_stderr() as err:
        perform(c, o, f"trailer.{name}.perform")
    o[f"trailer.{name}.calls"] = calls
    o[f"trailer.{name}.stderr"] = err
    o[f"trailer.{name}.raw"] = [r.raw_body for r in srv.requests[before:]]
    c.close()


for name, ret in [("list", ["X-A: 1", b"X-B: two", "bad", "X-C:1"]), ("tuple", ("X-A: 1",)), ("empty", []),
                  ("none", None), ("zero", 0), ("abort", pycurl.TRAILERFUNC_ABORT), ("str", "X-A: 1"),
                  ("items", [1])]:
    trailer(name, ret)


def ioctl(name, ret):
    c = pycurl.Curl()
    src = io.BytesIO(b"hello world")
    calls = []

    def f(*args):
        calls.append(args)
        if ret == "rewind":
            src.seek(0)
            return pycurl.IOE_OK
        if ret == "raise":
            raise ValueError("cannot")
        return ret
    c.setopt(pycurl.URL, url("/redirect-to?code=307&url=/echo"))
    c.setopt(pycurl.UPLOAD, 1)
    c.setopt(pycurl.INFILESIZE, 11)
    c.setopt(pycurl.FOLLOWLOCATION, 1)
    c.setopt(pycurl.READFUNCTION, src.read)
    with record_warnings() as w:
        c.setopt(pycurl.IOCTLFUNCTION, f)
    o[f"ioctl.{name}.warnings"] = w
    out = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, out)
    with capture_stderr() as err:
        perform(c, o, f"ioctl.{name}.perform")
    o[f"ioctl.{name}.calls"] = calls
    o[f"ioctl.{name}.stderr"] = err
    o[f"ioctl.{name}.body"] = out.getvalue()
    c.close()


for name, ret in [("rewind", "rewind"), ("ok", 0), ("none", None), ("fail", 2), ("unknown", 1), ("neg", -1),
                  ("seven", 7), ("str", "x"), ("big", 2 ** 40), ("raise", "raise")]:
    ioctl(name, ret)


def resolver_start(name, ret, host="localhost"):
    c = pycurl.Curl()
    calls = []

    def f(*args):
        calls.append(args)
        if ret == "raise":
            raise ValueError("no lookups")
        return ret
    c.setopt(pycurl.URL, url("/hello").replace("127.0.0.1", host))
    c.setopt(pycurl.RESOLVER_START_FUNCTION, f)
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    with capture_stderr() as err:
        perform(c, o, f"resolver_start.{name}.perform")
        perform(c, o, f"resolver_start.{name}.again")
    o[f"resolver_start.{name}.calls"] = calls
    o[f"resolver_start.{name}.stderr"] = err
    c.close()


for name, ret in [("zero", 0), ("none", None), ("one", 1), ("str", "x"), ("raise", "raise")]:
    resolver_start(name, ret)
resolver_start("literal", 0, host="127.0.0.1")


def memoryview_writes(name, **kw):
    c = pycurl.Curl()
    seen = []
    c.setopt(pycurl.URL, url("/bytes?n=20000"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: seen.append((type(b).__name__, len(b))), **kw)
    c.setopt(pycurl.HEADERFUNCTION, lambda b: seen.append(("h", type(b).__name__)), **kw)
    perform(c, o, f"memoryview.{name}.perform")
    o[f"memoryview.{name}.types"] = sorted({s[0] if s[0] != "h" else "h-" + s[1] for s in seen})
    o[f"memoryview.{name}.bytes"] = sum(s[1] for s in seen if s[0] != "h")
    c.close()


memoryview_writes("on", use_memoryview=True)
memoryview_writes("off", use_memoryview=False)
memoryview_writes("default")
o.emit()
