"""pycurl.CurlMime / CurlMimePart as pycurl 7.49 exposes them: construction, setters and their
argument errors, subparts rules, closed states, free callbacks, the checks setopt(MIMEPOST) and
setopt(HTTPPOST) make. Expected values were checked against real pycurl; this file passes under
both. Sending forms is tests/test_forms.py."""
import gc
import pickle
import warnings
import weakref

import pytest

import pycurl

M = pycurl.CurlMime
E_READ_ERROR = 26
E_BAD_FUNCTION_ARGUMENT = 43


@pytest.fixture
def c():
    h = pycurl.Curl()
    yield h
    h.close()


def err(fn, *args, **kw):
    with pytest.raises(pycurl.error) as e:
        fn(*args, **kw)
    return e.value.args


def test_construction(c):
    m = M(c)
    assert not m.closed
    assert repr(m).startswith("<pycurl.CurlMime object at 0x")
    assert type(M(curl=c)) is M
    with pytest.raises(TypeError, match=r"function missing required argument 'curl' \(pos 1\)"):
        M()
    with pytest.raises(TypeError, match="argument 1 must be pycurl.Curl, not None"):
        M(None)
    with pytest.raises(TypeError, match="argument 1 must be pycurl.Curl, not int"):
        M(1)
    with pytest.raises(TypeError, match=r"function takes at most 1 argument \(2 given\)"):
        M(c, c)
    with pytest.raises(TypeError, match="cannot create 'pycurl.CurlMimePart' instances"):
        pycurl.CurlMimePart()
    closed = pycurl.Curl()
    closed.close()
    assert err(M, closed) == ("cannot invoke CurlMime() - no curl handle",)
    p = m.addpart()
    assert repr(p).startswith("<pycurl.CurlMimePart object at 0x")
    with pytest.raises(TypeError, match=r"CurlMime.addpart\(\) takes no arguments \(1 given\)"):
        m.addpart(1)
    with pytest.raises(TypeError, match="cannot pickle 'pycurl.CurlMime' object"):
        pickle.dumps(m)
    with pytest.raises(AttributeError):
        m.x = 1


@pytest.mark.parametrize("meth", ["name", "filename", "type", "encoder"])
def test_string_setters(c, meth):
    p = M(c).addpart()
    good = "base64" if meth == "encoder" else "x"
    assert getattr(p, meth)(good) is None
    assert getattr(p, meth)(good.encode()) is None
    with pytest.raises(TypeError, match="expected bytes or an ASCII string, got NoneType"):
        getattr(p, meth)(None)
    with pytest.raises(TypeError, match="expected bytes or an ASCII string, got int"):
        getattr(p, meth)(1)
    with pytest.raises(UnicodeEncodeError):
        getattr(p, meth)("\u00e9")
    with pytest.raises(ValueError, match="embedded null byte"):
        getattr(p, meth)("a\0b")
    with pytest.raises(TypeError, match=rf"CurlMimePart.{meth}\(\) takes no keyword arguments"):
        getattr(p, meth)(x=1)
    with pytest.raises(TypeError, match=rf"CurlMimePart.{meth}\(\) takes exactly one argument \(0 given\)"):
        getattr(p, meth)()


def test_data_and_files(c, tmp_path):
    p = M(c).addpart()
    for v in ["abc", b"a\0b", bytearray(b"x"), memoryview(b"x")]:
        assert p.data(v) is None
    for v in [None, 1]:
        with pytest.raises(TypeError, match="data\\(\\) argument must be a byte string, ASCII-only Unicode string, "
                                            "or a buffer object"):
            p.data(v)
    with pytest.raises(UnicodeEncodeError):
        p.data("\u00e9")
    f = tmp_path / "f.txt"
    f.write_bytes(b"x")
    assert p.filedata(str(f)) is None
    assert p.filedata(str(f).encode()) is None
    assert p.filedata(str(tmp_path)) is None
    assert err(p.filedata, str(tmp_path / "missing")) == (E_READ_ERROR,
                                                          "Failed to open/read local data from file/application")


def test_headers_encoder_data_cb(c):
    p = M(c).addpart()
    for v in (["A: b"], ("A: b",), [b"A: b"], [], None):
        assert p.headers(v) is None
    with pytest.raises(TypeError, match="headers must be a list or tuple of strings"):
        p.headers("A: b")
    with pytest.raises(TypeError, match="headers must contain only byte or ascii-unicode strings"):
        p.headers([1])
    for enc in ["binary", "8bit", "7bit", "base64", "quoted-printable", "QUOTED-PRINTABLE"]:
        assert p.encoder(enc) is None
    assert err(p.encoder, "nope") == (E_BAD_FUNCTION_ARGUMENT, "A libcurl function was given a bad argument")
    rd = lambda ud, n: b""  # noqa: E731
    assert p.data_cb(3, rd) is None
    assert p.data_cb(None, rd) is None
    assert p.data_cb(datasize=-1, read=rd, seek=None, free=None, userdata=None) is None
    with pytest.raises(TypeError, match="read must be callable"):
        p.data_cb(3, 1)
    with pytest.raises(TypeError, match="seek must be callable or None"):
        p.data_cb(3, rd, 1)
    with pytest.raises(TypeError, match="datasize must be an integer >= -1 or None"):
        p.data_cb("x", rd)
    with pytest.raises(ValueError, match="datasize must be >= -1"):
        p.data_cb(-2, rd)
    with pytest.raises(TypeError, match=r"data_cb\(\) missing required argument 'read' \(pos 2\)"):
        p.data_cb(3)


def test_builders(c, tmp_path):
    f = tmp_path / "f.txt"
    f.write_bytes(b"x")
    m = M(c)
    assert type(m.add("a")) is pycurl.CurlMimePart
    assert type(m.add("a", None, str(f), "f.txt", "text/x", ["A: b"], "base64")) is pycurl.CurlMimePart
    assert type(m.add_field("a", "b", "text/plain", "8bit", ["X: y"])) is pycurl.CurlMimePart
    assert type(m.add_file("a", str(f), "x.txt", "text/plain", ["X: y"], "binary")) is pycurl.CurlMimePart
    with pytest.raises(ValueError, match="add\\(\\) accepts at most one of data or file"):
        m.add(name="a", data="x", file=str(f))
    with pytest.raises(TypeError, match="'nope' is an invalid keyword argument for add\\(\\)"):
        m.add(nope=1)
    with pytest.raises(TypeError, match=r"add_field\(\) missing required argument 'value' \(pos 2\)"):
        m.add_field("a")
    with pytest.raises(TypeError, match=r"add_file\(\) missing required argument 'path' \(pos 2\)"):
        m.add_file("a")
    assert err(m.add_file, "a", str(tmp_path / "missing"))[0] == E_READ_ERROR
    assert err(m.add, encoder="zz")[0] == E_BAD_FUNCTION_ARGUMENT
    nested = m.add_multipart("n")
    assert type(nested) is M and not nested.closed
    assert type(m.add_multipart(None, None)) is M
    assert type(m.add_multipart(name="k", subtype="alternative")) is M
    with pytest.raises(TypeError, match="subtype must be a byte string or ascii-unicode string"):
        m.add_multipart("x", subtype=1)
    m.close()
    assert nested.closed


def test_subparts_rules(c):
    m = M(c)
    p = m.addpart()
    with pytest.raises(ValueError, match="subparts\\(\\) does not accept the parent mime object"):
        p.subparts(m)
    for bad in (1, None):
        with pytest.raises(TypeError, match="subparts\\(\\) expects a CurlMime object"):
            p.subparts(bad)
    child = M(c)
    p.subparts(child)
    assert not child.closed
    child.addpart()
    with pytest.raises(ValueError, match="already attached as subparts"):
        m.addpart().subparts(child)
    other = pycurl.Curl()
    with pytest.raises(ValueError, match="subparts\\(\\) requires both mime objects to use the same Curl handle"):
        m.addpart().subparts(M(other))
    with pytest.raises(ValueError, match="setopt\\(option=MIMEPOST\\) received a mime object already attached"):
        c.setopt(pycurl.MIMEPOST, child)
    p.data("x")  # replacing the content releases the child
    assert child.closed
    other.close()


def test_closed_states(c, tmp_path):
    m = M(c)
    p = m.addpart()
    with m as entered:
        assert entered is m and not m.closed
    assert m.closed
    assert m.close() is None
    assert err(m.addpart) == ("cannot invoke addpart() - no mime handle",)
    assert err(m.add_field, "a", "b") == ("cannot invoke addpart() - no mime handle",)
    with pytest.raises(TypeError, match=r"function missing required argument 'curl' \(pos 1\)"):
        m.add_multipart()
    for meth, arg in [("name", "x"), ("data", "x"), ("filename", "x"), ("type", "x"), ("headers", []),
                      ("encoder", "base64"), ("subparts", M(c))]:
        assert err(getattr(p, meth), arg) == (f"cannot invoke {meth}() - no mime handle",)
    h = pycurl.Curl()
    m2 = M(h)
    h.close()
    assert err(m2.addpart) == ("cannot invoke addpart() - no curl handle",)


def test_free_callbacks(c):
    log = []
    m = M(c)
    p = m.addpart()
    p.data_cb(1, lambda u, n: b"", None, lambda u: log.append(u), "UD1")
    p.data("x")
    log.append("after data")
    p.data_cb(1, lambda u, n: b"", None, lambda u: log.append(u), "UD2")
    m.close()
    assert log == ["UD1", "after data", "UD2"]


def test_parts_keep_their_tree_alive(c):
    m = M(c)
    p = m.addpart()
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is not None
    p.name("still usable")
    del p
    gc.collect()
    assert ref() is None
    child = M(c).add_multipart("x")
    assert not child.closed
    child.addpart()


def test_mimepost_checks(c):
    other = pycurl.Curl()
    c.setopt(pycurl.MIMEPOST, None)
    c.unsetopt(pycurl.MIMEPOST)
    for v, msg in [("x", "strings are not supported for this option"), (1, "integers are not supported for this option"),
                   ([], "lists are not supported for this option"),
                   (object(), r"setopt\(option=MIMEPOST\) expects a CurlMime object")]:
        with pytest.raises(TypeError, match=msg):
            c.setopt(pycurl.MIMEPOST, v)
    with pytest.raises(ValueError, match=r"setopt\(option=MIMEPOST\) requires a CurlMime created with this Curl handle"):
        c.setopt(pycurl.MIMEPOST, M(other))
    closed = M(c)
    closed.close()
    with pytest.raises(ValueError, match=r"setopt\(option=MIMEPOST\) received a closed mime object"):
        c.setopt(pycurl.MIMEPOST, closed)
    other.close()


@pytest.mark.parametrize("value,exc,msg", [
    ("x", TypeError, "strings are not supported for this option"),
    (1, TypeError, "integers are not supported for this option"),
    ({}, TypeError, "invalid arguments to setopt"),
])
def test_httppost_type_errors_without_warning(c, value, exc, msg):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(exc, match=msg):
            c.setopt(pycurl.HTTPPOST, value)


P = pycurl


@pytest.mark.parametrize("value,exc,args", [
    (["a"], TypeError, ("list items must be list or tuple objects",)),
    ([("a",)], TypeError, ("list or tuple must contain two elements (name, value)",)),
    ([(1, "1")], TypeError, ("list or tuple must contain a byte string or Unicode string with ASCII code points only "
                             "as first element",)),
    ([("a", 1)], TypeError, ("unsupported second type in tuple",)),
    ([("a", "\u00e9")], pycurl.error, (43, "A libcurl function was given a bad argument")),
    ([("a", ())], TypeError, ("list or tuple must contain at least one option and one value",)),
    ([("a", (P.FORM_CONTENTS, "v", "x"))], TypeError, ("list or tuple must contain an even number of items",)),
    ([("a", (99, "v"))], TypeError, ("unsupported option",)),
    ([("a", ("x", "v"))], TypeError, ("option must be an integer",)),
    ([("a", (P.FORM_CONTENTS, 1))], TypeError, ("value must be a byte string or a Unicode string with ASCII code "
                                                "points only",)),
    ([("a", (P.FORM_CONTENTS, "v", P.FORM_CONTENTS, "w"))], pycurl.error, (2, "Failed initialization")),
    ([("a", (P.FORM_CONTENTS, "v", P.FORM_FILE, "/x"))], pycurl.error, (2, "Failed initialization")),
    ([("a", (P.FORM_BUFFER, "b"))], pycurl.error, (5, "Could not resolve proxy name")),
    ([("a", (P.FORM_CONTENTTYPE, "t/x"))], pycurl.error, (5, "Could not resolve proxy name")),
    ([("a\0b", "v")], pycurl.error, (3, "URL using bad/illegal format or missing URL")),
    ([("a", "1"), 5], TypeError, ("list items must be list or tuple objects",)),
])
def test_httppost_errors(c, value, exc, args):
    with pytest.raises(exc) as e, pytest.warns(DeprecationWarning, match="HTTPPOST is deprecated; use MIMEPOST"):
        c.setopt(pycurl.HTTPPOST, value)
    assert e.value.args == args


def test_httppost_unset_and_empty(c):
    c.setopt(pycurl.HTTPPOST, None)
    c.unsetopt(pycurl.HTTPPOST)
    with pytest.warns(DeprecationWarning, match="HTTPPOST is deprecated; use MIMEPOST"):
        c.setopt(pycurl.HTTPPOST, [])
    with pytest.raises(TypeError, match="strings are not supported for this option"):
        c.setopt_string(pycurl.HTTPPOST, "x")


def test_callback_cycle_is_collected(c):
    """A tree whose part callbacks refer back to the tree is garbage (pycurl-rs's classes take
    part in the cycle collector; real pycurl 7.49 keeps such a tree alive forever)."""
    m = M(c)
    m.addpart().data_cb(1, lambda u, n: b"", None, None, m)
    ref = weakref.ref(m)
    del m
    gc.collect()
    if "pycurl-rs" in pycurl.version:
        assert ref() is None
    else:
        assert ref() is not None
