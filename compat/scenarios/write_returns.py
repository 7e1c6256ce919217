"""WRITEFUNCTION / HEADERFUNCTION return values: None, right count, wrong counts, wrong types,
WRITEFUNC_PAUSE; plus what gets printed to stderr for invalid values."""
from _common import Obs, capture_stderr, perform, pycurl, url

o = Obs()
VALUES = {
    "none": None, "len": "LEN", "zero": 0, "short": 10, "long": 12, "minus1": -1, "str": "x",
    "float": 1.5, "true": True, "false": False, "huge": 2 ** 40, "list": [1],
}


def run(name, opt, ret, path="/hello", timeout_ms=None):
    c = pycurl.Curl()
    calls = []

    def cb(data):
        calls.append(len(data))
        return len(data) if ret == "LEN" else ret
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEFUNCTION, (lambda d: None))
    c.setopt(opt, cb)
    if timeout_ms:
        c.setopt(pycurl.TIMEOUT_MS, timeout_ms)
    with capture_stderr() as err:
        perform(c, o, f"{name}.perform")
    o[f"{name}.calls"] = calls
    o[f"{name}.stderr"] = err
    o[f"{name}.code"] = c.getinfo(pycurl.RESPONSE_CODE)
    c.close()


for k, v in VALUES.items():
    run(f"write.{k}", pycurl.WRITEFUNCTION, v)
for k in ("none", "len", "zero", "short", "str", "minus1"):
    run(f"header.{k}", pycurl.HEADERFUNCTION, VALUES[k])
# WRITEFUNC_PAUSE and never unpaused: the transfer sits until the timeout
run("write.pause_forever", pycurl.WRITEFUNCTION, pycurl.WRITEFUNC_PAUSE, timeout_ms=400)
# callables with the wrong signature
for name, fn in (("noargs", lambda: None), ("twoargs", lambda a, b: None)):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, fn)
    with capture_stderr() as err:
        perform(c, o, f"arity.{name}.perform")
    o[f"arity.{name}.stderr"] = err
    c.close()
# WRITEDATA objects: file-like with write returning various things, StringIO
import io  # noqa: E402


class W:
    def __init__(self, ret):
        self.ret, self.got = ret, []

    def write(self, b):
        self.got.append(type(b).__name__)
        return self.ret


for name, ret in (("none", None), ("zero", 0), ("count", 11), ("str", "s")):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url("/hello"))
    w = W(ret)
    c.setopt(pycurl.WRITEDATA, w)
    with capture_stderr() as err:
        perform(c, o, f"writedata.{name}.perform")
    o[f"writedata.{name}.got"] = w.got
    o[f"writedata.{name}.stderr"] = err
    c.close()
c = pycurl.Curl()
c.setopt(pycurl.URL, url("/hello"))
c.setopt(pycurl.WRITEDATA, io.StringIO())
with capture_stderr() as err:
    perform(c, o, "writedata.stringio.perform")
o["writedata.stringio.stderr"] = err
o.emit()
