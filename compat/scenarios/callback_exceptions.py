"""Exceptions raised inside callbacks: what perform() raises, how often the callback ran, and what
was printed to stderr (paths and line numbers normalised)."""
import sys

from _common import Obs, capture_stderr, exc_info, pycurl, type_name, url

o = Obs()


class Boom(Exception):
    pass


def run(name, opt, path="/hello", setup=None, exc=Boom):
    c = pycurl.Curl()
    calls = []

    def cb(*args):
        calls.append(len(args))
        raise exc(f"boom from {name}")
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    if setup:
        setup(c)
    c.setopt(opt, cb)
    if hasattr(sys, "last_value"):
        del sys.last_value
    with capture_stderr() as err:
        try:
            c.perform()
            r = {"ret": None}
        except BaseException as e:  # noqa: BLE001
            r = exc_info(e)
            r["chained"] = [type_name(e.__cause__) if e.__cause__ else None,
                            type_name(e.__context__) if e.__context__ else None]
    o.raw(f"{name}.perform", r)
    if opt == pycurl.DEBUGFUNCTION:
        # how many debug events there are is compared in the debugfunction scenario; here only
        # that every call printed its own traceback
        tb = "Traceback (most recent call last):"
        o[f"{name}.calls_more_than_one"] = len(calls) > 1
        o[f"{name}.one_traceback_per_call"] = err["py"].count(tb) == len(calls)
        o[f"{name}.stderr_first_block"] = err["py"][:err["py"].index(tb, 1)]
        o[f"{name}.stderr_fd"] = err["fd"]
    else:
        o[f"{name}.calls"] = len(calls)
        o[f"{name}.stderr"] = err
    o[f"{name}.errstr"] = c.errstr()
    lv = getattr(sys, "last_value", None)
    o[f"{name}.sys_last_value"] = type_name(lv) if lv is not None else None
    c.close()


run("write", pycurl.WRITEFUNCTION)
run("header", pycurl.HEADERFUNCTION)
run("read", pycurl.READFUNCTION, path="/echo",
    setup=lambda c: (c.setopt(pycurl.UPLOAD, 1), c.setopt(pycurl.INFILESIZE, 3)))
run("xferinfo", pycurl.XFERINFOFUNCTION, setup=lambda c: c.setopt(pycurl.NOPROGRESS, 0))
run("progress", pycurl.PROGRESSFUNCTION, setup=lambda c: c.setopt(pycurl.NOPROGRESS, 0))
run("debug", pycurl.DEBUGFUNCTION, setup=lambda c: c.setopt(pycurl.VERBOSE, 1))
run("seek", pycurl.SEEKFUNCTION, path="/redirect-to?url=%2Fecho&code=307",
    setup=lambda c: (c.setopt(pycurl.FOLLOWLOCATION, 1), c.setopt(pycurl.POST, 1),
                     c.setopt(pycurl.POSTFIELDSIZE, 3),
                     c.setopt(pycurl.READFUNCTION, lambda n: b"abc")))
run("prereq", pycurl.PREREQFUNCTION)
run("write_keyboardinterrupt", pycurl.WRITEFUNCTION, exc=KeyboardInterrupt)
run("write_systemexit", pycurl.WRITEFUNCTION, exc=SystemExit)
o.emit()
