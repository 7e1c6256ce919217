"""The small high-level wrapper that pycurl installs as ``curl`` (deprecated there too).

``curl.Curl(base_url)`` keeps one ``pycurl.Curl`` with the body and the headers of the last
response in memory: ``get``/``head``/``post`` take a URL relative to ``base_url`` and return the
body; ``body()``, ``header()``, ``info()`` and ``get_info()`` describe the last response.
"""

from __future__ import annotations

import io
import urllib.parse
import warnings
from typing import Any

import pycurl

warnings.warn(
    "The 'curl' high-level wrapper module is deprecated and will be removed in a future release. "
    "Use 'pycurl' directly instead.",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["Curl"]

# info() keys and the getinfo() constant each one reads.
_INFO = (
    ("effective-url", "EFFECTIVE_URL"),
    ("http-code", "HTTP_CODE"),
    ("total-time", "TOTAL_TIME"),
    ("namelookup-time", "NAMELOOKUP_TIME"),
    ("connect-time", "CONNECT_TIME"),
    ("pretransfer-time", "PRETRANSFER_TIME"),
    ("redirect-time", "REDIRECT_TIME"),
    ("redirect-count", "REDIRECT_COUNT"),
    ("size-upload", "SIZE_UPLOAD"),
    ("size-download", "SIZE_DOWNLOAD"),
    ("speed-upload", "SPEED_UPLOAD"),
    ("header-size", "HEADER_SIZE"),
    ("request-size", "REQUEST_SIZE"),
    ("content-length-download", "CONTENT_LENGTH_DOWNLOAD"),
    ("content-length-upload", "CONTENT_LENGTH_UPLOAD"),
    ("content-type", "CONTENT_TYPE"),
    ("response-code", "RESPONSE_CODE"),
    ("speed-download", "SPEED_DOWNLOAD"),
    ("ssl-verifyresult", "SSL_VERIFYRESULT"),
    ("filetime", "INFO_FILETIME"),
    ("starttransfer-time", "STARTTRANSFER_TIME"),
    ("http-connectcode", "HTTP_CONNECTCODE"),
    ("httpauth-avail", "HTTPAUTH_AVAIL"),
    ("proxyauth-avail", "PROXYAUTH_AVAIL"),
    ("os-errno", "OS_ERRNO"),
    ("num-connects", "NUM_CONNECTS"),
    ("ssl-engines", "SSL_ENGINES"),
    ("cookielist", "INFO_COOKIELIST"),
    ("lastsocket", "LASTSOCKET"),
    ("ftp-entry-path", "FTP_ENTRY_PATH"),
)


class Curl:
    """One reusable handle; every request replaces the stored body and headers."""

    def __init__(self, base_url: str = "", fakeheaders: list[str] | None = None) -> None:
        self.handle = pycurl.Curl()
        self.set_url(base_url)
        self.verbosity = 0
        self.fakeheaders = list(fakeheaders or [])
        self.payload: bytes | None = None
        self.payload_io = io.BytesIO()
        self.hdr = ""
        self.handle.setopt(pycurl.SSL_VERIFYHOST, 2)
        self.handle.setopt(pycurl.FOLLOWLOCATION, 1)
        self.handle.setopt(pycurl.MAXREDIRS, 5)
        self.handle.setopt(pycurl.NOSIGNAL, 1)
        # an empty cookie file switches the cookie engine on without reading anything
        self.handle.setopt(pycurl.COOKIEFILE, "")
        self.handle.setopt(pycurl.HTTPHEADER, self.fakeheaders)
        self.handle.setopt(pycurl.WRITEFUNCTION, self.payload_io.write)
        self.handle.setopt(pycurl.HEADERFUNCTION, self._header_line)
        self.set_timeout(30)

    def _header_line(self, line: bytes) -> None:
        self.hdr += line.decode("iso-8859-1")

    def set_timeout(self, timeout: int) -> None:
        self.handle.setopt(pycurl.TIMEOUT, timeout)

    def set_url(self, url: str) -> None:
        self.base_url = url
        self.handle.setopt(pycurl.URL, url)

    def set_option(self, *args: Any) -> None:
        self.handle.setopt(*args)

    def set_verbosity(self, level: int) -> None:
        self.handle.setopt(pycurl.VERBOSE, level)

    def _perform(self, relative_url: str | None = None) -> bytes:
        if relative_url:
            self.handle.setopt(pycurl.URL, urllib.parse.urljoin(self.base_url, relative_url))
        self.payload = None
        self.hdr = ""
        self.payload_io.seek(0)
        self.payload_io.truncate()
        self.handle.perform()
        self.payload = self.payload_io.getvalue()
        return self.payload

    @staticmethod
    def _with_query(url: str, params: Any) -> str:
        return url + "?" + urllib.parse.urlencode(params) if params else url

    def get(self, url: str = "", params: Any = None) -> bytes:
        """GET base_url joined with url (and params as a query string); returns the body."""
        self.handle.setopt(pycurl.HTTPGET, 1)
        return self._perform(self._with_query(url, params))

    def head(self, url: str = "", params: Any = None) -> bytes:
        """HEAD request; the body returned is empty, header() has the response headers."""
        self.handle.setopt(pycurl.NOBODY, 1)
        try:
            return self._perform(self._with_query(url, params))
        finally:
            self.handle.setopt(pycurl.NOBODY, 0)

    def post(self, cgi: str, params: Any) -> bytes:
        """POST params (form-encoded) to base_url joined with cgi; returns the body."""
        self.handle.setopt(pycurl.POST, 1)
        self.handle.setopt(pycurl.POSTFIELDS, urllib.parse.urlencode(params))
        return self._perform(cgi)

    def body(self) -> bytes | None:
        return self.payload

    def header(self) -> str:
        return self.hdr

    def get_info(self, *args: Any) -> Any:
        return self.handle.getinfo(*args)

    def info(self) -> dict[str, Any]:
        """Facts about the last transfer, by name (see _INFO)."""
        m: dict[str, Any] = {}
        for key, name in _INFO:
            const = getattr(pycurl, name, None)
            if const is None:
                continue
            try:
                m[key] = self.handle.getinfo(const)
            except pycurl.error:
                continue
        return m

    def answered(self, check: bytes) -> bool:
        """Whether the last body contains check."""
        return self.payload is not None and check in self.payload

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
        self.handle = None  # type: ignore[assignment]
        self.payload_io = io.BytesIO()

    def __del__(self) -> None:
        if getattr(self, "handle", None) is not None:
            self.close()
