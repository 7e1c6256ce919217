"""setopt(WRITEFUNCTION / HEADERFUNCTION, f, use_memoryview=True): pycurl 7.49 hands the callback a
read-only memoryview instead of bytes, released when the callback returns. (pycurl 7.49 has no
Curl(use_memoryview=...) argument.)"""

import io

import pytest

import pycurl

from helpers import IS_RS
from servers import pattern


def test_curl_takes_no_keyword():
    with pytest.raises(TypeError):
        pycurl.Curl(use_memoryview=True)


def test_write_and_header_get_memoryviews(server, curl):
    seen, body, heads, kept = [], [], [], []

    def write(mv):
        # pycurl's view has no owner (obj None); ours is over a bytes copy that owns the memory.
        seen.append((type(mv), mv.readonly, mv.format, mv.ndim, type(mv.obj)))
        body.append(bytes(mv))
        kept.append(mv)

    def header(mv):
        assert isinstance(mv, memoryview)
        heads.append(bytes(mv))

    curl.setopt(pycurl.URL, server.url("/bytes?n=70000"))
    curl.setopt(pycurl.WRITEFUNCTION, write, use_memoryview=True)
    curl.setopt(pycurl.HEADERFUNCTION, header, use_memoryview=True)
    curl.perform()
    assert b"".join(body) == pattern(70000)
    assert set(seen) == {(memoryview, True, "B", 1, bytes if IS_RS else type(None))}
    assert heads[0].startswith(b"HTTP/1.1 200")
    assert heads[-1] == b"\r\n"
    with pytest.raises(ValueError, match="released"):
        bytes(kept[0])


def test_return_values_as_for_bytes(server, curl):
    curl.setopt(pycurl.URL, server.url("/bytes?n=100"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda mv: len(mv) - 1, use_memoryview=True)
    with pytest.raises(pycurl.error) as ei:
        curl.perform()
    assert ei.value.args == (pycurl.E_WRITE_ERROR, "Failure writing output to destination, passed 100 returned 99")


def test_setting_without_keyword_goes_back_to_bytes(server, curl):
    types = []
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: types.append(type(b)), use_memoryview=True)
    curl.perform()
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: types.append(type(b)))
    curl.perform()
    buf = io.BytesIO()
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: types.append(type(b)), use_memoryview=1)
    curl.setopt(pycurl.WRITEDATA, buf)
    curl.perform()
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: types.append(type(b)), use_memoryview=False)
    curl.perform()
    assert types == [memoryview, bytes, bytes]
    assert buf.getvalue() == b"hello world"


def test_duphandle_keeps_it(server, curl):
    types = []
    curl.setopt(pycurl.URL, server.url("/hello"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda b: types.append(type(b)), use_memoryview=True)
    dup = curl.duphandle()
    dup.perform()
    dup.close()
    assert types == [memoryview]


def test_other_options_refuse_the_keyword(curl):
    for opt, value in ((pycurl.URL, "http://x/"), (pycurl.READFUNCTION, lambda n: b""),
                       (pycurl.WRITEDATA, io.BytesIO()), (pycurl.WRITEHEADER, io.BytesIO())):
        for flag in (True, False, None):
            with pytest.raises(TypeError, match="use_memoryview is only supported for WRITEFUNCTION and HEADERFUNCTION"):
                curl.setopt(opt, value, use_memoryview=flag)


def test_truthiness_errors_propagate(curl):
    class Bad:
        def __bool__(self):
            raise ValueError("nope")
    with pytest.raises(ValueError, match="nope"):
        curl.setopt(pycurl.WRITEFUNCTION, lambda b: None, use_memoryview=Bad())


def test_a_kept_slice_stays_readable(server, curl):
    """A slice taken in the callback outlives the released view with its own data intact."""
    slices = []
    curl.setopt(pycurl.URL, server.url("/bytes?n=70000"))
    curl.setopt(pycurl.WRITEFUNCTION, lambda mv: slices.append(mv[:]), use_memoryview=True)
    curl.perform()
    if IS_RS:  # pycurl's slices point into libcurl's reused buffer
        assert b"".join(bytes(s) for s in slices) == pattern(70000)
