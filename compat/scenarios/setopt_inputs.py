"""Curl.setopt / unsetopt / getinfo with bad inputs: exception types and messages; options that
accept None; errstr after a bad setopt."""
import io

from _common import Obs, call, pycurl, record_warnings

o = Obs()
P = pycurl


def s(name, opt, *value):
    c = pycurl.Curl()
    with record_warnings() as w:
        r = call(c.setopt, opt, *value)
    if w:
        r["warnings"] = w
    o.raw(f"setopt.{name}", r)
    c.close()


s("unknown_int", 99999, 1)
s("unknown_str", 99999, "x")
s("negative_opt", -1, 1)
s("url_int", P.URL, 123)
s("url_none", P.URL, None)
s("url_bytes", P.URL, b"http://x/")
s("url_nonascii", P.URL, "http://\u00e9/")
s("url_float", P.URL, 1.5)
s("url_list", P.URL, ["x"])
s("url_nul", P.URL, "http://a\0b/")
s("timeout_str", P.TIMEOUT, "x")
s("timeout_float", P.TIMEOUT, 1.5)
s("timeout_true", P.TIMEOUT, True)
s("timeout_neg", P.TIMEOUT, -1)
s("timeout_huge", P.TIMEOUT, 2 ** 40)
s("timeout_too_huge", P.TIMEOUT, 2 ** 70)
s("timeout_none", P.TIMEOUT, None)
s("connecttimeout_neg", P.CONNECTTIMEOUT, -1)
s("maxredirs_neg2", P.MAXREDIRS, -2)
s("sslversion_bad", P.SSLVERSION, 99)
s("httpheader_str", P.HTTPHEADER, "notalist")
s("httpheader_int_item", P.HTTPHEADER, [1])
s("httpheader_tuple", P.HTTPHEADER, ("A: b",))
s("httpheader_bytes_items", P.HTTPHEADER, [b"A: b"])
s("httpheader_empty", P.HTTPHEADER, [])
s("httpheader_none", P.HTTPHEADER, None)
s("httpheader_dict", P.HTTPHEADER, {"A": "b"})
s("httpheader_nonascii", P.HTTPHEADER, ["X: \u00e9"])
s("writefunction_int", P.WRITEFUNCTION, 5)
s("writefunction_none", P.WRITEFUNCTION, None)
s("writefunction_str", P.WRITEFUNCTION, "x")
s("writedata_object", P.WRITEDATA, object())
s("writeheader_object", P.WRITEHEADER, object())
s("readdata_object", P.READDATA, object())
s("writedata_bytesio", P.WRITEDATA, io.BytesIO())
s("postfields_int", P.POSTFIELDS, 5)
s("postfields_none", P.POSTFIELDS, None)
s("postfields_list", P.POSTFIELDS, ["a"])
s("opt_as_str", "URL", "x")
s("missing_value", P.URL)
s("too_many_args", P.URL, "x", "y")
s("verbose_str", P.VERBOSE, "yes")
s("followlocation_none", P.FOLLOWLOCATION, None)
s("progressfunction", P.PROGRESSFUNCTION, lambda *a: 0)
s("resolve_str", P.RESOLVE, "host:80:127.0.0.1")
s("resolve_list", P.RESOLVE, ["host:80:127.0.0.1"])
s("share_wrong_type", P.SHARE, object())
s("httppost_bad", P.HTTPPOST, [("name", 5)])
s("httppost_ok", P.HTTPPOST, [("name", "value")])
s("ipresolve_bad", P.IPRESOLVE, 42)
s("proxytype_bad", P.PROXYTYPE, 999)
s("http_version_bad", P.HTTP_VERSION, 99)

c = pycurl.Curl()
for name, fn in (
    ("getinfo_unknown", lambda: c.getinfo(99999)),
    ("getinfo_str", lambda: c.getinfo("x")),
    ("getinfo_option_not_info", lambda: c.getinfo(P.HTTP_VERSION)),
    ("getinfo_raw_unknown", lambda: c.getinfo_raw(99999)),
    ("getinfo_noarg", lambda: c.getinfo()),
    ("unsetopt_unknown", lambda: c.unsetopt(99999)),
    ("unsetopt_str", lambda: c.unsetopt("x")),
    ("setopt_string_url", lambda: c.setopt_string(P.URL, "http://x/")),
    ("setopt_string_int_opt", lambda: c.setopt_string(P.TIMEOUT, "5")),
    ("setopt_string_unknown", lambda: c.setopt_string(99999, "5")),
    ("setopt_string_bytes", lambda: c.setopt_string(P.URL, b"http://x/")),
):
    o[name] = call(fn)

for name in ("WRITEFUNCTION", "HEADERFUNCTION", "READFUNCTION", "XFERINFOFUNCTION",
             "DEBUGFUNCTION", "HTTPHEADER", "CUSTOMREQUEST", "USERPWD", "PROXY", "COOKIE",
             "RANGE", "ENCODING", "SHARE", "HTTPPOST", "CAINFO", "RESOLVE", "URL", "WRITEDATA",
             "TIMEOUT", "VERBOSE", "POSTFIELDS", "REFERER", "USERAGENT", "FOLLOWLOCATION",
             "NOBODY", "HTTPGET", "PORT", "COOKIEFILE", "COOKIEJAR", "MAXREDIRS", "NOPROGRESS"):
    o[f"unsetopt.{name}"] = call(c.unsetopt, getattr(P, name))

# errstr bookkeeping around bad setopts
c = pycurl.Curl()
o["errseq.first"] = call(c.setopt, P.TIMEOUT, -1)
o["errseq.errstr1"] = c.errstr()
o["errseq.second"] = call(c.setopt, P.CONNECTTIMEOUT, -1)
c.reset()
o["errseq.errstr_after_reset"] = c.errstr()
o["errseq.third"] = call(c.setopt, P.CONNECTTIMEOUT, -1)
o["errseq.errstr3"] = c.errstr()
c2 = pycurl.Curl()
c2.reset()
o["errseq.reset_first"] = call(c2.setopt, P.MAXREDIRS, -5)

# return values
c = pycurl.Curl()
o["returns"] = [c.setopt(P.URL, "http://x/"), c.unsetopt(P.HTTPHEADER), c.reset(), c.close(),
                c.close()]
o.emit()
