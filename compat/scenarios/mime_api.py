"""CurlMime / CurlMimePart (pycurl 7.49's mime API) and the HTTPPOST list-of-tuples syntax:
constructors, every setter with good and bad arguments, subparts rules, closed states, free
callbacks, the checks Curl.setopt(MIMEPOST / HTTPPOST) makes and the DeprecationWarning.
Only what is observable without sending the form is recorded here (tests/test_forms.py sends
forms to a server)."""
import pickle
import warnings

from _common import Obs, call, pycurl, record_warnings

P = pycurl
M = pycurl.CurlMime
o = Obs()
c = pycurl.Curl()
c2 = pycurl.Curl()
F = __file__


def closed_curl(what):
    cc = pycurl.Curl()
    m = M(cc) if what != "ctor" else None
    cc.close()
    return M(cc) if what == "ctor" else m.addpart()


o["ctor.none"] = call(lambda: M())
o["ctor.None"] = call(lambda: M(None))
o["ctor.int"] = call(lambda: M(1))
o["ctor.two"] = call(lambda: M(c, c))
o["ctor.kw"] = call(lambda: type(M(curl=c)).__name__)
o["ctor.closed_curl"] = call(closed_curl, "ctor")
o["ctor.curl_closed_later"] = call(closed_curl, "later")
o["part.ctor"] = call(lambda: P.CurlMimePart())
o["names"] = [M.__name__, M.__module__, P.CurlMimePart.__name__, P.CurlMimePart.__module__]
m = M(c)
o["repr"] = call(lambda: repr(m).split(" at ")[0])
o["closed"] = m.closed
p = m.addpart()
o["part.repr"] = call(lambda: repr(p).split(" at ")[0])
o["addpart.arg"] = call(lambda: m.addpart(1))
VALUES = [("str", "n"), ("bytes", b"n"), ("None", None), ("int", 1), ("nonascii", "\u00e9"), ("nul", "a\0b"),
          ("bytearray", bytearray(b"x")), ("memoryview", memoryview(b"x")), ("list", ["a"])]
for meth in ["name", "data", "filename", "type", "encoder"]:
    for label, v in VALUES:
        o[f"{meth}.{label}"] = call(lambda: getattr(p, meth)(v))
    o[f"{meth}.kw"] = call(lambda: getattr(p, meth)(x=1))
    o[f"{meth}.noargs"] = call(lambda: getattr(p, meth)())
    o[f"{meth}.twoargs"] = call(lambda: getattr(p, meth)("a", "b"))
for label, v in [("ok", "base64"), ("upper", "QUOTED-PRINTABLE"), ("7bit", b"7bit"), ("bad", "nope"), ("empty", "")]:
    o[f"encoder.value.{label}"] = call(lambda: p.encoder(v))
for label, v in [("ok", F), ("missing", "/nonexistent/x"), ("None", None), ("int", 1), ("dir", "/tmp"),
                 ("bytes", F.encode())]:
    o[f"filedata.{label}"] = call(lambda: p.filedata(v))
for label, v in [("list", ["A: b"]), ("tuple", ("A: b",)), ("None", None), ("str", "A: b"), ("int_item", [1]),
                 ("bytes_item", [b"A: b"]), ("empty", []), ("nonascii", ["A: \u00e9"])]:
    o[f"headers.{label}"] = call(lambda: p.headers(v))
rd = lambda ud, n: b""  # noqa: E731
for label, args, kw in [("ok", (3, rd), {}), ("notcallable", (3, 1), {}), ("seek_bad", (3, rd, 1), {}),
                        ("free_bad", (3, rd, None, 1), {}), ("size_None", (None, rd), {}), ("size_str", ("x", rd), {}),
                        ("size_-1", (-1, rd), {}), ("size_-2", (-2, rd), {}), ("size_float", (1.5, rd), {}),
                        ("kw", (), dict(datasize=3, read=rd, seek=None, free=None, userdata=None)),
                        ("missing", (3,), {})]:
    o[f"data_cb.{label}"] = call(lambda: p.data_cb(*args, **kw))


def subparts_rules():
    out = {}
    mm = M(c)
    pp = mm.addpart()
    out["self"] = call(lambda: pp.subparts(mm))
    out["int"] = call(lambda: pp.subparts(1))
    out["None"] = call(lambda: pp.subparts(None))
    child = M(c)
    out["child"] = call(lambda: pp.subparts(child))
    out["child.closed"] = child.closed
    out["child.usable"] = call(lambda: type(child.addpart()).__name__)
    out["again"] = call(lambda: mm.addpart().subparts(child))
    out["other_curl"] = call(lambda: mm.addpart().subparts(M(c2)))
    closed = M(c)
    closed.close()
    out["closed_child"] = call(lambda: mm.addpart().subparts(closed))
    out["setopt_child"] = call(lambda: c.setopt(P.MIMEPOST, child))
    pp.data("x")
    out["child.closed_after_replace"] = child.closed
    nested = mm.add_multipart("n")
    out["add_multipart.type"] = type(nested).__name__
    out["add_multipart.closed"] = nested.closed
    out["add_multipart.setopt"] = call(lambda: c.setopt(P.MIMEPOST, nested))
    out["add_multipart.bad_subtype"] = call(lambda: mm.add_multipart("x", subtype=1))
    out["add_multipart.None"] = call(lambda: type(mm.add_multipart(None, None)).__name__)
    out["add_multipart.kw"] = call(lambda: type(mm.add_multipart(name="k", subtype="alternative")).__name__)
    mm.close()
    out["parent_close.nested_closed"] = nested.closed
    return out


o["subparts"] = subparts_rules()
o["add.both"] = call(lambda: m.add(name="a", data="x", file=F))
o["add.unknown_kw"] = call(lambda: m.add(nope=1))
o["add.positional"] = call(lambda: type(m.add("a")).__name__)
o["add.all"] = call(lambda: type(m.add("a", None, F, "f.txt", "text/x", ["A: b"], "base64")).__name__)
o["add.headers_bad"] = call(lambda: m.add(headers=5))
o["add.encoder_bad"] = call(lambda: m.add(encoder="zz"))
o["add_field.ok"] = call(lambda: type(m.add_field("a", "b", "text/plain", "8bit", ["X: y"])).__name__)
o["add_field.missing"] = call(lambda: m.add_field("a"))
o["add_file.ok"] = call(lambda: type(m.add_file("a", F, "x.txt", "text/plain", ["X: y"], "binary")).__name__)
o["add_file.missing_file"] = call(lambda: m.add_file("a", "/nonexistent"))
o["add_file.missing_arg"] = call(lambda: m.add_file("a"))


def ctx():
    with M(c) as mm:
        inside = mm.closed
    return [inside, mm.closed]


o["context_manager"] = call(ctx)


def closed_use():
    mm = M(c)
    pp = mm.addpart()
    mm.close()
    out = {"close_again": call(mm.close), "addpart": call(mm.addpart), "add_field": call(lambda: mm.add_field("a", "b")),
           "add_multipart": call(lambda: mm.add_multipart())}
    for meth, arg in [("name", "x"), ("data", "x"), ("filename", "x"), ("type", "x"), ("headers", []),
                      ("encoder", "base64"), ("filedata", F)]:
        out[meth] = call(lambda: getattr(pp, meth)(arg))
    out["subparts"] = call(lambda: pp.subparts(M(c)))
    out["data_cb"] = call(lambda: pp.data_cb(1, rd))
    return out


o["closed_use"] = closed_use()


def free_callbacks():
    log = []
    mm = M(c)
    pp = mm.addpart()
    pp.data_cb(1, rd, None, lambda u: log.append(["free", u]), "UD1")
    pp.data("x")
    log.append("after data")
    pp.data_cb(1, rd, None, lambda u: log.append(["free", u]), "UD2")
    mm.close()
    log.append("closed")
    mm2 = M(c)
    mm2.addpart().data_cb(1, rd, None, lambda u: log.append(["free", u]), "UD3")
    del mm2
    log.append("deleted")
    return log


o["free_callbacks"] = call(free_callbacks)
o["mimepost.none"] = call(lambda: c.setopt(P.MIMEPOST, None))
o["mimepost.unset"] = call(lambda: c.unsetopt(P.MIMEPOST))
for label, v in [("str", "x"), ("int", 1), ("list", []), ("obj", object()), ("other_curl", M(c2))]:
    o[f"mimepost.{label}"] = call(lambda: c.setopt(P.MIMEPOST, v))
o["mimepost.closed"] = call(lambda: (lambda mm: (mm.close(), c.setopt(P.MIMEPOST, mm)))(M(c)))
o["mimepost.setopt_string"] = call(lambda: c.setopt_string(P.MIMEPOST, "x"))
o["eq"] = call(lambda: M(c) == M(c))
o["pickle"] = call(lambda: pickle.dumps(M(c)))
o["setattr.mime"] = call(lambda: setattr(M(c), "x", 1))
o["setattr.part"] = call(lambda: setattr(M(c).addpart(), "x", 1))

HP = [
    ("empty", []), ("None", None), ("str", "x"), ("int", 1), ("dict", {}), ("item_str", ["a"]),
    ("one", [("a",)]), ("three", [("a", "1", "2")]), ("name_int", [(1, "1")]),
    ("name_nonascii", [("\u00e9", "1")]), ("value_int", [("a", 1)]), ("value_nonascii", [("a", "\u00e9")]),
    ("value_None", [("a", None)]), ("empty_opts", [("a", ())]), ("odd", [("a", (P.FORM_CONTENTS,))]),
    ("three_opts", [("a", (P.FORM_CONTENTS, "v", "x"))]), ("bad_option", [("a", (99, "v"))]),
    ("option_str", [("a", ("x", "v"))]), ("option_float", [("a", (1.5, "v"))]), ("option_big", [("a", (2 ** 40, "v"))]),
    ("opt_value_int", [("a", (P.FORM_CONTENTS, 1))]), ("opt_value_nonascii", [("a", (P.FORM_CONTENTS, "\u00e9"))]),
    ("file_contents", [("a", (P.FORM_FILE, F, P.FORM_CONTENTS, "x"))]),
    ("contents_file", [("a", (P.FORM_CONTENTS, "v", P.FORM_FILE, F))]), ("buffer_only", [("a", (P.FORM_BUFFER, "b"))]),
    ("ptr_bytearray", [("a", (P.FORM_BUFFER, "b", P.FORM_BUFFERPTR, bytearray(b"x")))]),
    ("ct_only", [("a", (P.FORM_CONTENTTYPE, "t/x"))]), ("filename_only", [("a", (P.FORM_FILENAME, "x"))]),
    ("dup_contents", [("a", (P.FORM_CONTENTS, "v", P.FORM_CONTENTS, "w"))]),
    ("ct_twice", [("a", (P.FORM_CONTENTS, "v", P.FORM_CONTENTTYPE, "a/b", P.FORM_CONTENTTYPE, "c/d"))]),
    ("filename_twice", [("a", (P.FORM_CONTENTS, "v", P.FORM_FILENAME, "a", P.FORM_FILENAME, "b"))]),
    ("buffer_twice", [("a", (P.FORM_BUFFER, "a", P.FORM_BUFFERPTR, b"x", P.FORM_BUFFER, "b"))]),
    ("ptr_twice", [("a", (P.FORM_BUFFER, "a", P.FORM_BUFFERPTR, b"x", P.FORM_BUFFERPTR, b"y"))]),
    ("buffer_contents", [("a", (P.FORM_BUFFER, "b", P.FORM_BUFFERPTR, b"x", P.FORM_CONTENTS, "v"))]),
    ("ptr_contents", [("a", (P.FORM_BUFFERPTR, b"x", P.FORM_CONTENTS, "v"))]),
    ("name_nul", [("a\0b", "v")]), ("second_bad", [("a", "1"), 5]),
]
# forms that pycurl accepts (pycurl-rs then refuses them as not built: see known_differences.txt)
HP_OK = [
    ("basic", [("a", "1")]), ("item_list", [["a", "1"]]), ("bytes", [(b"a", b"1")]), ("tuple", (("a", "1"),)), ("contents", [("a", (P.FORM_CONTENTS, "v"))]),
    ("file", [("a", (P.FORM_FILE, F))]), ("file_missing", [("a", (P.FORM_FILE, "/nonexistent"))]),
    ("two_files", [("a", (P.FORM_FILE, F, P.FORM_FILE, F))]), ("buffer", [("a", (P.FORM_BUFFER, "b", P.FORM_BUFFERPTR, b"x"))]),
    ("ptr_only", [("a", (P.FORM_BUFFERPTR, b"x"))]), ("ct", [("a", (P.FORM_CONTENTS, "v", P.FORM_CONTENTTYPE, "t/x"))]),
    ("contents_buffer", [("a", (P.FORM_CONTENTS, "v", P.FORM_BUFFER, "b", P.FORM_BUFFERPTR, b"x"))]),
    ("value_nul", [("a", "a\0b")]), ("name_empty", [("", "v")]),
]


def httppost(v):
    with record_warnings() as w:
        r = call(lambda: pycurl.Curl().setopt(P.HTTPPOST, v))
    return {"result": r, "warnings": w}


for label, v in HP:
    o[f"httppost.{label}"] = httppost(v)
for label, v in HP_OK:
    o[f"httppost_ok.{label}"] = httppost(v)
o["httppost.unset"] = call(lambda: pycurl.Curl().unsetopt(P.HTTPPOST))
o["httppost.setopt_string"] = call(lambda: pycurl.Curl().setopt_string(P.HTTPPOST, "x"))
with warnings.catch_warnings():
    warnings.simplefilter("error")
    o["httppost.warning_as_error"] = call(lambda: pycurl.Curl().setopt(P.HTTPPOST, [("a", "1")]))
mm_ok = M(c)
mm_ok.add_field("a", "b")
o["mimepost_ok"] = call(lambda: c.setopt(P.MIMEPOST, mm_ok))
o.emit()
