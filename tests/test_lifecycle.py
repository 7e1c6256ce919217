"""Handle lifecycle: close/closed, reset, duphandle, context manager,
subclassing, errstr, argument validation and garbage collection."""

import copy
import gc
import io
import pickle
import weakref

import pytest

import pycurl

from helpers import perform, perform_error


# -- close / closed ---------------------------------------------------------

def test_closed_property():
    c = pycurl.Curl()
    assert c.closed is False
    c.close()
    assert c.closed is True
    c.close()  # idempotent
    assert c.closed is True


@pytest.mark.parametrize("name,call", [
    ("setopt", lambda c: c.setopt(pycurl.URL, "http://127.0.0.1/")),
    ("perform", lambda c: c.perform()),
    ("getinfo", lambda c: c.getinfo(pycurl.RESPONSE_CODE)),
    ("errstr", lambda c: c.errstr()),
    ("reset", lambda c: c.reset()),
    ("duphandle", lambda c: c.duphandle()),
    ("unsetopt", lambda c: c.unsetopt(pycurl.URL)),
    ("pause", lambda c: c.pause(pycurl.PAUSE_CONT)),
])
def test_methods_on_closed_handle(name, call):
    c = pycurl.Curl()
    c.close()
    with pytest.raises(pycurl.error) as ei:
        call(c)
    assert ei.value.args == (f"cannot invoke {name}() - no curl handle",)


def test_close_releases_connection(server):
    closed = []
    c = pycurl.Curl()
    c.setopt(pycurl.CLOSESOCKETFUNCTION, lambda fd: closed.append(fd) or 0)
    perform(c, server.url("/hello"))
    c.close()
    assert len(closed) == 1


# -- context manager ---------------------------------------------------------

def test_context_manager(server):
    with pycurl.Curl() as c:
        assert c.closed is False
        body, _ = perform(c, server.url("/hello"))
        assert body == b"hello world"
    assert c.closed is True


def test_context_manager_enter_returns_self():
    c = pycurl.Curl()
    with c as inner:
        assert inner is c
    assert c.closed


def test_context_manager_exception_propagates():
    with pytest.raises(KeyError):
        with pycurl.Curl() as c:
            raise KeyError("x")
    assert c.closed


def test_exit_returns_none():
    c = pycurl.Curl()
    assert c.__exit__(None, None, None) is None
    assert c.closed


# -- reset --------------------------------------------------------------------

def test_reset_clears_options(server):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/headers"))
    c.setopt(pycurl.HTTPHEADER, ["X-Before: 1"])
    c.setopt(pycurl.USERAGENT, "before/1")
    c.reset()
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (3, "No URL set")
    perform(c, server.url("/headers"))
    req = server.last_request()
    assert req.header("X-Before") is None
    assert req.header("User-Agent") == pycurl.version
    c.close()


def test_reset_clears_callbacks(server, capfd):
    calls = []
    c = pycurl.Curl()
    c.setopt(pycurl.WRITEFUNCTION, calls.append)
    c.reset()
    c.setopt(pycurl.URL, server.url("/hello"))
    c.perform()
    assert calls == []
    # libcurl's default writes to stdout
    assert capfd.readouterr().out == "hello world"
    c.close()


def test_reset_keeps_connections(server):
    c = pycurl.Curl()
    perform(c, server.url("/hello"))
    before = server.connections
    c.reset()
    perform(c, server.url("/hello"))
    assert server.connections == before
    c.close()


def test_reset_clears_infos(server):
    c = pycurl.Curl()
    perform(c, server.url("/hello"))
    c.reset()
    assert c.getinfo(pycurl.EFFECTIVE_URL) == ""
    c.close()


def _set_bearer(c):
    c.setopt(pycurl.HTTPAUTH, 1 << 6)  # CURLAUTH_BEARER: pycurl has no constant for it
    c.setopt(pycurl.XOAUTH2_BEARER, "tok123")


def test_reset_clears_rarely_set_options(server):
    # Options of the groups a handle stores only once set: other credentials, the proxy.
    # (Not RESOLVE: real pycurl crashes on a transfer after reset() of a handle that had it.)
    c = pycurl.Curl()
    _set_bearer(c)
    c.setopt(pycurl.PROXY, "http://127.0.0.1:1")
    c.reset()
    perform(c, server.url("/headers"))
    assert server.last_request().header("Authorization") is None
    c.close()


# -- duphandle ------------------------------------------------------------------

def test_duphandle_copies_options(server):
    c = pycurl.Curl()
    chunks = []
    c.setopt(pycurl.URL, server.url("/headers"))
    c.setopt(pycurl.USERAGENT, "dup-ua")
    c.setopt(pycurl.HTTPHEADER, ["X-Dup-Test: 1"])
    c.setopt(pycurl.WRITEFUNCTION, chunks.append)
    d = c.duphandle()
    c.close()
    d.perform()
    req = server.last_request()
    assert req.header("User-Agent") == "dup-ua"
    assert req.header("X-Dup-Test") == "1"
    assert b"".join(chunks) == req.head
    d.close()


def test_duphandle_copies_rarely_set_options(server):
    c = pycurl.Curl()
    calls = []
    # Options of the groups a handle stores only once set: routing, other credentials.
    c.setopt(pycurl.RESOLVE, ["rare.test:%d:127.0.0.1" % server.port])
    _set_bearer(c)

    def sockopt(fd, purpose):  # a callback of the rarely set group
        calls.append(purpose)
        return 0
    c.setopt(pycurl.SOCKOPTFUNCTION, sockopt)
    d = c.duphandle()
    c.close()
    perform(d, server.url("/headers", host="rare.test"))
    assert server.last_request().header("Authorization") == "Bearer tok123"
    assert calls == [pycurl.SOCKTYPE_IPCXN]
    d.close()


def test_duphandle_is_independent(server):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/headers"))
    c.setopt(pycurl.HTTPHEADER, ["X-A: 1"])
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    d = c.duphandle()
    c.setopt(pycurl.HTTPHEADER, ["X-B: 1"])
    c.setopt(pycurl.URL, server.url("/hello"))
    d.perform()
    req = server.last_request()
    assert (req.path, req.header("X-A"), req.header("X-B")) == ("/headers", "1", None)
    c.perform()
    assert server.last_request().path == "/hello"
    c.close()
    d.close()


def test_duphandle_copies_postfields_and_callbacks(server):
    c = pycurl.Curl()
    buf = io.BytesIO()
    c.setopt(pycurl.URL, server.url("/echo"))
    c.setopt(pycurl.POSTFIELDS, "k=v")
    c.setopt(pycurl.WRITEDATA, buf)
    d = c.duphandle()
    del c
    gc.collect()
    d.perform()
    assert buf.getvalue() == b"POST\nk=v"
    d.close()


def test_duphandle_has_own_connection_cache(server):
    c = pycurl.Curl()
    perform(c, server.url("/hello"))
    before = server.connections
    d = c.duphandle()
    d.perform()
    assert server.connections - before == 1
    c.close()
    d.close()


def test_duphandle_of_subclass():
    class My(pycurl.Curl):
        pass
    m = My()
    m.tag = "x"
    d = m.duphandle()
    assert type(d) is My
    assert d.tag == "x"


# -- subclassing -------------------------------------------------------------------

def test_subclass(server):
    class Fetcher(pycurl.Curl):
        def __init__(self, url):
            super().__init__()
            self.buf = io.BytesIO()
            self.setopt(pycurl.URL, url)
            self.setopt(pycurl.WRITEDATA, self.buf)

        def fetch(self):
            self.perform()
            return self.buf.getvalue()

    f = Fetcher(server.url("/hello"))
    assert isinstance(f, pycurl.Curl)
    assert f.fetch() == b"hello world"
    assert f.getinfo(pycurl.RESPONSE_CODE) == 200
    f.close()
    assert f.closed


def test_subclass_override_perform(server):
    class Counting(pycurl.Curl):
        count = 0

        def perform(self):
            type(self).count += 1
            return super().perform()

    c = Counting()
    perform(c, server.url("/hello"))
    assert Counting.count == 1


def test_instance_attributes():
    c = pycurl.Curl()
    c.anything = 42
    assert c.anything == 42
    with pytest.raises(AttributeError):
        c.missing_attribute


# -- misc object protocol ---------------------------------------------------------

def test_constructor_takes_no_args():
    with pytest.raises(TypeError):
        pycurl.Curl(1)


@pytest.mark.parametrize("fn", [pickle.dumps, copy.copy, copy.deepcopy])
def test_not_serializable(fn):
    with pytest.raises(TypeError, match="Curl objects do not support serialization"):
        fn(pycurl.Curl())


def test_repr_and_hash():
    c = pycurl.Curl()
    assert repr(c).startswith("<pycurl.Curl object at 0x")
    assert hash(c) == hash(c)
    assert c == c and c != pycurl.Curl()


def test_perform_rb_and_rs(server):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello"))
    assert c.perform_rb() == b"hello world"
    assert c.perform_rs() == "hello world"
    c.close()


# -- errstr ---------------------------------------------------------------------------

def test_errstr_initially_empty():
    c = pycurl.Curl()
    assert c.errstr() == ""
    assert c.errstr_raw() == b""


def test_errstr_after_error(curl, refused_port):
    code, msg = perform_error(curl, f"http://127.0.0.1:{refused_port}/")
    assert curl.errstr() == msg
    assert isinstance(curl.errstr(), str)


def test_errstr_after_setopt_error(curl):
    with pytest.raises(pycurl.error):
        curl.setopt(pycurl.TIMEOUT, -1)
    assert curl.errstr() == "setopt 0xd got bad argument"


# -- argument validation -----------------------------------------------------------

@pytest.mark.parametrize("opt,value,exc,msg", [
    ("URL", 1, TypeError, "integers are not supported for this option"),
    ("URL", None, TypeError, r"unsetopt\(\) is not supported for this option"),
    ("URL", "http://x/\0", ValueError, "embedded null byte"),
    ("FOLLOWLOCATION", "yes", TypeError, "strings are not supported for this option"),
    ("FOLLOWLOCATION", 1.0, TypeError, "invalid arguments to setopt"),
    ("FOLLOWLOCATION", None, TypeError, r"unsetopt\(\) is not supported for this option"),
    ("FOLLOWLOCATION", 2 ** 70, OverflowError, None),
    ("HTTPHEADER", "X: y", TypeError, "strings are not supported for this option"),
    ("WRITEFUNCTION", 1, TypeError, "integers are not supported for this option"),
    ("WRITEDATA", object(), TypeError, "object given without a write method"),
    ("READDATA", object(), TypeError, "object given without a read method"),
    ("POSTFIELDS", 5, TypeError, "integers are not supported for this option"),
    ("INFILESIZE", "5", TypeError, "strings are not supported for this option"),
    ("RESOLVE", "a:1:127.0.0.1", TypeError, "strings are not supported for this option"),
])
def test_setopt_type_errors(curl, opt, value, exc, msg):
    with pytest.raises(exc) as ei:
        curl.setopt(getattr(pycurl, opt), value)
    if msg is not None:
        assert ei.match(msg)


def test_setopt_non_ascii_str(curl):
    with pytest.raises(UnicodeEncodeError):
        curl.setopt(pycurl.URL, "http://x/\u00e9")


def test_setopt_bytes_url(server, curl):
    curl.setopt(pycurl.URL, server.url("/hello").encode())
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    curl.perform()
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200


@pytest.mark.parametrize("opt", [99999, -1])
def test_setopt_unknown_option(curl, opt):
    with pytest.raises(TypeError, match="invalid arguments to setopt"):
        curl.setopt(opt, 1)


def test_setopt_arity(curl):
    with pytest.raises(TypeError):
        curl.setopt()
    with pytest.raises(TypeError):
        curl.setopt(pycurl.URL)
    with pytest.raises(TypeError):
        curl.setopt("URL", "x")


@pytest.mark.parametrize("opt,value,hexopt", [
    ("TIMEOUT", -1, "0xd"),
    ("MAXREDIRS", -2, "0x44"),
    ("FOLLOWLOCATION", 2 ** 40, "0x34"),
    ("FOLLOWLOCATION", -1, "0x34"),
    ("SSLVERSION", 999, "0x20"),
    ("POSTREDIR", -1, "0xa1"),
    ("IPRESOLVE", 9, "0x71"),
    ("CONNECTTIMEOUT_MS", -5, "0x9c"),
    ("RESUME_FROM", -5, "0x75a4"),
    ("INFILESIZE", -2, "0x75a3"),
])
def test_setopt_bad_values_raise_pycurl_error(curl, opt, value, hexopt):
    with pytest.raises(pycurl.error) as ei:
        curl.setopt(getattr(pycurl, opt), value)
    assert ei.value.args == (pycurl.E_BAD_FUNCTION_ARGUMENT, f"setopt {hexopt} got bad argument")


def test_setopt_bad_http_version(curl):
    with pytest.raises(pycurl.error) as ei:
        curl.setopt(pycurl.HTTP_VERSION, 999)
    assert ei.value.args == (1, "Unsupported protocol")


def test_setopt_accepts_bool_and_large_ints(curl):
    curl.setopt(pycurl.FOLLOWLOCATION, True)
    curl.setopt(pycurl.NOPROGRESS, 5)
    curl.setopt(pycurl.INFILESIZE, 2 ** 40)
    curl.setopt(pycurl.MAX_RECV_SPEED_LARGE, 2 ** 40)


def test_unsetopt(curl):
    curl.unsetopt(pycurl.WRITEFUNCTION)
    curl.unsetopt(pycurl.HTTPHEADER)
    with pytest.raises(TypeError, match=r"unsetopt\(\) is not supported for this option"):
        curl.unsetopt(pycurl.URL)
    with pytest.raises(TypeError, match=r"unsetopt\(\) is not supported for this option"):
        curl.unsetopt(pycurl.FOLLOWLOCATION)
    with pytest.raises(TypeError, match="invalid arguments to unsetopt"):
        curl.unsetopt(99999)


@pytest.mark.parametrize("opt", [
    "WRITEFUNCTION", "HEADERFUNCTION", "READFUNCTION", "HTTPHEADER", "ACCEPT_ENCODING",
    "CAINFO", "CUSTOMREQUEST", "COOKIE", "RANGE", "USERPWD", "USERNAME", "PASSWORD", "PROXY",
    "RESOLVE", "CONNECT_TO", "COOKIEJAR", "CAPATH", "XFERINFOFUNCTION", "PREREQFUNCTION",
    "OPENSOCKETFUNCTION", "SOCKOPTFUNCTION", "CLOSESOCKETFUNCTION", "SEEKFUNCTION",
    "WRITEHEADER", "SHARE"])
def test_setopt_none_unsets(curl, opt):
    assert curl.setopt(getattr(pycurl, opt), None) is None


@pytest.mark.parametrize("opt", [
    "POSTFIELDS", "REFERER", "COPYPOSTFIELDS", "COOKIEFILE", "SSLCERT", "SSLKEY",
    "PINNEDPUBLICKEY", "USERAGENT", "URL", "WRITEDATA", "READDATA", "DEFAULT_PROTOCOL",
    "INTERFACE", "NOPROXY"])
def test_setopt_none_not_supported(curl, opt):
    with pytest.raises(TypeError, match=r"unsetopt\(\) is not supported for this option"):
        curl.setopt(getattr(pycurl, opt), None)


def test_setopt_string(server, curl):
    curl.setopt_string(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    curl.perform()
    with pytest.raises(TypeError, match="strings are not supported for this option"):
        curl.setopt_string(pycurl.FOLLOWLOCATION, "1")


# -- garbage collection ---------------------------------------------------------------

def test_refcount_release():
    c = pycurl.Curl()
    r = weakref.ref(c)
    del c
    assert r() is None


def test_cycle_through_callback_is_collected(server):
    c = pycurl.Curl()
    # handle -> callback -> list -> handle
    c.setopt(pycurl.WRITEFUNCTION, lambda d, me=[c]: None)
    perform(c, server.url("/hello"))
    c.setopt(pycurl.HEADERFUNCTION, lambda h, me=[c]: None)
    r = weakref.ref(c)
    del c
    gc.collect()
    assert r() is None


def test_gc_of_unclosed_handles_with_live_connections(server):
    refs = []
    for _ in range(20):
        c = pycurl.Curl()
        c.setopt(pycurl.HEADERFUNCTION, lambda h, c=c: None)
        perform(c, server.url("/hello"))
        refs.append(weakref.ref(c))
    del c
    gc.collect()
    assert all(r() is None for r in refs)


def test_gc_inside_callback_of_other_handle(server):
    """Collecting a dead handle while another handle is mid-transfer."""
    victim = pycurl.Curl()
    perform(victim, server.url("/hello"))
    victim.setopt(pycurl.WRITEFUNCTION, lambda d, me=[victim]: None)  # a cycle
    holder = [victim]
    del victim

    def write(d):
        holder.clear()
        gc.collect()

    c = pycurl.Curl()
    perform(c, server.url("/bytes?n=10"))
    c.setopt(pycurl.WRITEFUNCTION, write)
    c.setopt(pycurl.URL, server.url("/bytes?n=10"))
    c.perform()
    assert c.getinfo(pycurl.RESPONSE_CODE) == 200
    c.close()


def test_many_handles(server):
    for _ in range(200):
        c = pycurl.Curl()
        c.setopt(pycurl.URL, server.url("/hello"))
        del c
    gc.collect()
