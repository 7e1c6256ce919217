"""pycurl's API on pycurl-rs: a pure-Rust transfer engine (no libcurl, no OpenSSL)."""

from ._pycurl import *  # noqa: F401,F403
from ._pycurl import error, version, version_info  # noqa: F401
import importlib as _importlib

from . import _pycurl

__all__ = [n for n in dir(_pycurl) if not n.startswith("_")]
__all__.append("AsyncCurlMulti")

# AsyncCurlMulti lives in async_multi, which imports asyncio (about 20 ms): load it on first use
# (PEP 562) so that `import pycurl` costs no more than real pycurl's import.
_LAZY = {"AsyncCurlMulti": "AsyncCurlMulti", "async_multi": None}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # import_module, not "from . import": that would look the name up here again and recurse.
    async_multi = _importlib.import_module(".async_multi", __name__)
    return async_multi if _LAZY[name] is None else getattr(async_multi, _LAZY[name])


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
