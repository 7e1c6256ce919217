"""pycurl's API on pycurl-rs: a pure-Rust transfer engine (no libcurl, no OpenSSL)."""

from ._pycurl import *  # noqa: F401,F403
from ._pycurl import error, version, version_info  # noqa: F401
from . import _pycurl

__all__ = [n for n in dir(_pycurl) if not n.startswith("_")]

try:
    from .async_multi import AsyncCurlMulti  # noqa: F401

    __all__.append("AsyncCurlMulti")
except ImportError:  # pragma: no cover - built without the asyncio layer
    pass
