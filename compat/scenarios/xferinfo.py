"""XFERINFOFUNCTION / PROGRESSFUNCTION: argument types, first/last values, NOPROGRESS default,
abort via non-zero return values."""
from _common import Obs, capture_stderr, perform, pycurl, record_warnings, url

o = Obs()


def run(name, opt, ret=0, noprogress=0, path="/bytes?n=20000"):
    c = pycurl.Curl()
    calls = []

    def cb(*args):
        calls.append(args)
        return ret
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    with record_warnings() as w:
        c.setopt(opt, cb)
    if noprogress is not None:
        c.setopt(pycurl.NOPROGRESS, noprogress)
    with capture_stderr() as err:
        perform(c, o, f"{name}.perform")
    o[f"{name}.called"] = bool(calls)
    o[f"{name}.setopt_warnings"] = w
    if calls:
        o[f"{name}.arg_types"] = sorted({tuple(type(a).__name__ for a in x) for x in calls})
        o[f"{name}.first"] = list(calls[0])
        o[f"{name}.last"] = list(calls[-1])
        o[f"{name}.monotonic_dlnow"] = all(a[1] <= b[1] for a, b in zip(calls, calls[1:]))
    o[f"{name}.stderr"] = err
    c.close()


run("xfer.default_noprogress", pycurl.XFERINFOFUNCTION, noprogress=None)
run("xfer.ok", pycurl.XFERINFOFUNCTION)
run("xfer.none", pycurl.XFERINFOFUNCTION, ret=None)
for k, v in (("one", 1), ("true", True), ("minus1", -1), ("str", "x"), ("float", 0.5)):
    run(f"xfer.abort_{k}", pycurl.XFERINFOFUNCTION, ret=v)
run("xfer.abort_upload_side", pycurl.XFERINFOFUNCTION, ret=1, path="/hello")
run("progress.ok", pycurl.PROGRESSFUNCTION)
run("progress.abort", pycurl.PROGRESSFUNCTION, ret=1)
o.emit()
