"""Shared helpers for the compat scenarios (not a scenario itself: the runner skips files that
start with an underscore).

Every scenario is a standalone script run once under real pycurl and once under pycurl-rs. It
records observations into an :class:`Obs` and prints them as one JSON object on stdout. Values that
differ by nature between two runs (port numbers, fd numbers, timings, object addresses, paths and
line numbers in tracebacks) are normalised here, so that the two JSON objects can be compared key
by key.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
import traceback
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for _p in (os.path.join(REPO, "tests"), HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import pycurl  # noqa: E402
import servers  # noqa: E402  (tests/servers.py)

# ---------------------------------------------------------------------------
# normalisation

_PORTS: set[int] = set()
_ADDR_RE = re.compile(r" at 0x[0-9a-fA-F]+")
_MS_RE = re.compile(r"\b\d+ (ms|milliseconds)\b")
_FILE_RE = re.compile(r'File "([^"]*)", line \d+')
_CARETS_RE = re.compile(r"^\s*[\^~]+\s*$")


_REPLACE: list = []


def add_replacement(old: str, new: str) -> None:
    """Register a run-specific string (e.g. a temp dir) to be written as ``new``."""
    _REPLACE.append((old, new))


def add_port(port) -> None:
    """Register a port number so that it is written as PORT wherever it shows up."""
    if isinstance(port, int) and port > 0:
        _PORTS.add(port)


def norm_str(s: str) -> str:
    # the default User-Agent is pycurl.version, which names the library stack by design
    s = s.replace(pycurl.version, "<pycurl.version>")
    for old, new in _REPLACE:
        s = s.replace(old, new)
    for p in sorted(_PORTS, key=lambda x: -len(str(x))):
        s = re.sub(r"(?<![0-9])%d(?![0-9])" % p, "PORT", s)
    s = _ADDR_RE.sub(" at 0xADDR", s)
    s = _MS_RE.sub(lambda m: "N " + m.group(1), s)
    return s


def norm(v):
    """Turn a value into something JSON can carry without losing its Python type:
    bytes -> "b'...'" (repr), tuple -> {"tuple": [...]}, other objects -> {"repr": ...}."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return "PORT" if v in _PORTS else v
    if isinstance(v, float):
        return v
    if isinstance(v, str):
        return norm_str(v)
    if isinstance(v, (bytes, bytearray)):
        return norm_str(repr(bytes(v)))
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, tuple):
        if hasattr(v, "_fields"):
            return {"namedtuple": type(v).__name__,
                    "fields": {f: norm(x) for f, x in zip(v._fields, v)}}
        return {"tuple": [norm(x) for x in v]}
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in v.items()}
    if isinstance(v, BaseException):
        return exc_info(v)
    return {"repr": norm_str(repr(v))}


def type_name(obj_or_type) -> str:
    t = obj_or_type if isinstance(obj_or_type, type) else type(obj_or_type)
    mod = t.__module__
    return t.__qualname__ if mod == "builtins" else f"{mod}.{t.__qualname__}"


def exc_info(e: BaseException) -> dict:
    return {"exc": type_name(e), "args": norm(list(e.args))}


def call(fn, *args, **kw):
    """Call fn; return {"ret": value} or {"exc": type, "args": [...]}."""
    try:
        r = fn(*args, **kw)
    except Exception as e:  # noqa: BLE001
        return exc_info(e)
    return {"ret": norm(r)}


def timing_class(v):
    """Only the type and sign class of a timing."""
    if isinstance(v, float):
        return "float>0" if v > 0 else ("float=0" if v == 0 else "float<0")
    if isinstance(v, int) and not isinstance(v, bool):
        return "int>0" if v > 0 else ("int=0" if v == 0 else "int<0")
    return type_name(v)


def ordered(values) -> str:
    """Describe the ordering of a sequence of numbers: e.g. '<=,<=,<' or 'unordered'."""
    rel = []
    for a, b in zip(values, values[1:]):
        rel.append("<=" if a <= b else ">")
    return ",".join(rel)


def timer_class(ms) -> str:
    if not isinstance(ms, int) or isinstance(ms, bool):
        return type_name(ms)
    return "-1" if ms == -1 else ("0" if ms == 0 else ("pos" if ms > 0 else "neg"))


class Labels:
    """Stable labels for values whose identity matters but whose value does not (fds)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.seen: dict = {}

    def __call__(self, v):
        if not isinstance(v, int) or isinstance(v, bool):
            return norm(v)
        if v < 0:
            return v
        if v not in self.seen:
            self.seen[v] = f"{self.prefix}{len(self.seen)}"
        return self.seen[v]


def norm_traceback(text: str) -> list:
    """Normalise captured stderr: paths -> basename, line numbers dropped, caret lines removed."""
    out = []
    for line in text.splitlines():
        if _CARETS_RE.match(line):
            continue
        line = _FILE_RE.sub(lambda m: 'File "%s"' % os.path.basename(m.group(1)), line)
        out.append(norm_str(line.rstrip()))
    return out


@contextlib.contextmanager
def capture_stderr():
    """Capture both what goes through sys.stderr (Python-level printing, e.g. PyErr_Print) and
    what is written straight to file descriptor 2 (C-level fprintf). Yields a dict that gets
    keys "py" and "fd" (lists of normalised lines) when the block ends."""
    res: dict = {}
    old_py = sys.stderr
    buf = io.StringIO()
    sys.stderr.flush()
    saved = os.dup(2)
    tmp = tempfile.TemporaryFile()
    os.dup2(tmp.fileno(), 2)
    sys.stderr = buf
    try:
        yield res
    finally:
        sys.stderr = old_py
        os.dup2(saved, 2)
        os.close(saved)
        tmp.seek(0)
        res["py"] = norm_traceback(buf.getvalue())
        res["fd"] = norm_traceback(tmp.read().decode("utf-8", "replace"))
        tmp.close()


@contextlib.contextmanager
def record_warnings():
    res: list = []
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        yield res
    for x in w:
        res.append([type_name(x.category), norm_str(str(x.message))])


# ---------------------------------------------------------------------------
# servers

_server = None


def server():
    global _server
    if _server is None:
        _server = servers.start_server()
        add_port(_server.port)
    return _server


def url(path="/hello"):
    return server().url(path)


def refused_url(path="/"):
    s, port = servers.refused_port()
    _keep.append(s)
    add_port(port)
    return f"http://127.0.0.1:{port}{path}"


_keep: list = []


def request_head(req) -> str:
    """A received request head, normalised (ports), as a str."""
    return norm_str(req.head.decode("latin-1"))


# ---------------------------------------------------------------------------
# observations


class Obs(dict):
    def __setitem__(self, k, v):
        super().__setitem__(k, norm(v))

    def raw(self, k, v):
        """Store an already-normalised value."""
        super().__setitem__(k, v)

    def guard(self, key):
        """Context manager: records an unexpected exception under key instead of dying."""
        return _Guard(self, key)

    def emit(self):
        sys.stdout.write(json.dumps(self, sort_keys=False) + "\n")
        sys.stdout.flush()


class _Guard:
    def __init__(self, obs, key):
        self.obs, self.key = obs, key

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            return False
        if issubclass(et, Exception):
            self.obs.raw(self.key + ".UNEXPECTED", {
                "exc": type_name(et), "args": norm(list(ev.args)),
                "where": norm_traceback("".join(traceback.format_tb(tb)))[-2:]})
            return True
        return False


def perform(c, obs=None, key=None):
    """perform() and return {"ret": None} or the exception description; also the errstr."""
    r = call(c.perform)
    try:
        r["errstr"] = norm(c.errstr())
    except Exception as e:  # noqa: BLE001
        r["errstr"] = exc_info(e)
    if obs is not None:
        obs.raw(key, r)
    return r


def getinfos(c, names):
    """getinfo for each name (constant names) -> dict of normalised results."""
    out = {}
    for n in names:
        with record_warnings() as w:
            r = call(c.getinfo, getattr(pycurl, n))
        if w:
            r["warnings"] = w
        out[n] = r
    return out
