"""Every Curl method on a closed handle; context manager; closed property; attribute lookup."""
from _common import Obs, call, pycurl

o = Obs()
c = pycurl.Curl()
o["closed_before"] = c.closed
o["close"] = call(c.close)
o["closed_after"] = c.closed
o["close_again"] = call(c.close)
P = pycurl
for name, fn in (
    ("setopt", lambda: c.setopt(P.URL, "http://x/")),
    ("setopt_bad_opt", lambda: c.setopt(99999, 1)),
    ("setopt_string", lambda: c.setopt_string(P.URL, "x")),
    ("unsetopt", lambda: c.unsetopt(P.URL)),
    ("getinfo", lambda: c.getinfo(P.RESPONSE_CODE)),
    ("getinfo_bad", lambda: c.getinfo(99999)),
    ("getinfo_raw", lambda: c.getinfo_raw(P.EFFECTIVE_URL)),
    ("perform", lambda: c.perform()),
    ("perform_rb", lambda: c.perform_rb()),
    ("perform_rs", lambda: c.perform_rs()),
    ("errstr", lambda: c.errstr()),
    ("errstr_raw", lambda: c.errstr_raw()),
    ("reset", lambda: c.reset()),
    ("pause", lambda: c.pause(P.PAUSE_ALL)),
    ("unpause", lambda: c.unpause() if hasattr(c, "unpause") else "no unpause"),
    ("duphandle", lambda: c.duphandle()),
    ("attr_constant", lambda: c.URL),
    ("attr_missing", lambda: c.NO_SUCH_THING),
    ("enter", lambda: c.__enter__() is c),
):
    o[f"closed.{name}"] = call(fn)

with pycurl.Curl() as c2:
    o["ctx.inside_closed"] = c2.closed
o["ctx.after_closed"] = c2.closed
c3 = pycurl.Curl()
o["ctx.exit_ret"] = call(c3.__exit__, None, None, None)
o["ctx.exit_closed"] = c3.closed
o["closed_is_property"] = call(lambda: c3.closed())
c4 = pycurl.Curl()
o["attr.set"] = call(setattr, c4, "foo", 1)
o["attr.get"] = call(getattr, c4, "foo")
o["attr.shadow"] = [call(setattr, c4, "URL", 5), call(getattr, c4, "URL")]
o["attr.del"] = [call(delattr, c4, "URL"), call(getattr, c4, "URL")]
o["attr.del_never_set"] = call(delattr, c4, "URL")
o["attr.lowercase"] = call(getattr, c4, "url")
o["attr.in_dir"] = "URL" in dir(c4)
o["repr"] = repr(c4)
c5 = pycurl.Curl()
d = c5.duphandle()
o["dup.type"] = type(d).__name__
c5.close()
o["dup.alive_after_orig_close"] = d.closed
o.emit()
