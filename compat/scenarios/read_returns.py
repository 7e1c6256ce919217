"""READFUNCTION and SEEKFUNCTION return values (upload of 3 bytes): accepted types, EOF too early,
invalid values (stderr), READFUNC_ABORT, READFUNC_PAUSE; SEEKFUNCTION on a 307 rewind."""
from _common import Obs, capture_stderr, perform, pycurl, request_head, server, url

o = Obs()
srv = server()


def run(name, ret, path="/echo", timeout_ms=2000, seek=None):
    c = pycurl.Curl()
    calls = []

    def rf(size):
        calls.append(size)
        if ret == "ONCE":
            return b"abc" if len(calls) == 1 else b""
        return ret
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    c.setopt(pycurl.POST, 1)
    c.setopt(pycurl.POSTFIELDSIZE, 3)
    c.setopt(pycurl.READFUNCTION, rf)
    c.setopt(pycurl.TIMEOUT_MS, timeout_ms)
    if seek is not None:
        seeks = []

        def sf(offset, origin):
            seeks.append([offset, origin])
            return seek
        c.setopt(pycurl.SEEKFUNCTION, sf)
        c.setopt(pycurl.FOLLOWLOCATION, 1)
    n = len(srv.requests)
    with capture_stderr() as err:
        perform(c, o, f"{name}.perform")
    o[f"{name}.calls_first"] = calls[:2]
    o[f"{name}.stderr"] = err
    if seek is not None:
        o[f"{name}.seeks"] = seeks
    o[f"{name}.received"] = [request_head(r).split("\r\n")[0] + " " + repr(r.body)
                             for r in srv.requests[n:]]
    c.close()


for k, v in (("bytes", "ONCE"), ("str", "abc"), ("bytearray", bytearray(b"abc")),
             ("memoryview", memoryview(b"abc")), ("empty", b""), ("none", None), ("int", 5),
             ("nonascii", "\u00e9"), ("too_long", b"abcdef"),
             ("abort", pycurl.READFUNC_ABORT), ("list", [b"a"])):
    run(f"read.{k}", v)
run("read.pause", pycurl.READFUNC_PAUSE, timeout_ms=400)
for k, v in (("ok", 0), ("none", None), ("fail", 1), ("cantseek", 2), ("str", "x"), ("seven", 7)):
    run(f"seek.{k}", b"abc", path="/redirect-to?url=%2Fecho&code=307", seek=v)
o.emit()
