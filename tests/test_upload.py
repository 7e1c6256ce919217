"""Request bodies: READFUNCTION/READDATA uploads, POST variants, Expect,
chunked uploads and rewinding on redirects."""

import io
import urllib.parse

import pytest

import pycurl

from helpers import perform, perform_error


def chunked_reader(data, chunk=7):
    bio = io.BytesIO(data)
    return lambda n: bio.read(min(n, chunk))


def redirect_url(server, target, code):
    return server.url("/redirect-to?" + urllib.parse.urlencode({"url": target, "code": code}))


def test_put_with_size(server, curl):
    body, _ = perform(curl, server.url("/echo"), UPLOAD=1,
                      READFUNCTION=chunked_reader(b"hello upload"), INFILESIZE=12)
    assert body == b"PUT\nhello upload"
    req = server.last_request()
    assert req.method == "PUT"
    assert req.header("Content-Length") == "12"
    assert req.header("Transfer-Encoding") is None
    assert req.header("Expect") is None
    assert req.raw_body == b"hello upload"
    assert curl.getinfo(pycurl.SIZE_UPLOAD_T) == 12
    assert curl.getinfo(pycurl.CONTENT_LENGTH_UPLOAD_T) == 12


def test_put_option(server, curl):
    body, _ = perform(curl, server.url("/echo"), PUT=1,
                      READFUNCTION=chunked_reader(b"put opt"), INFILESIZE=7)
    assert body == b"PUT\nput opt"


def test_upload_readdata_file_object(server, curl, tmp_path):
    p = tmp_path / "in.bin"
    payload = bytes(range(256)) * 100
    p.write_bytes(payload)
    with open(p, "rb") as f:
        body, _ = perform(curl, server.url("/echo"), UPLOAD=1, READDATA=f,
                          INFILESIZE=len(payload))
    assert body == b"PUT\n" + payload
    assert server.last_request().body == payload


def test_upload_readdata_bytesio(server, curl):
    body, _ = perform(curl, server.url("/echo"), UPLOAD=1,
                      READDATA=io.BytesIO(b"from readdata"), INFILESIZE=13)
    assert body == b"PUT\nfrom readdata"


def test_readdata_without_read_method(curl):
    with pytest.raises(TypeError, match="object given without a read method"):
        curl.setopt(pycurl.READDATA, object())


def test_chunked_upload_without_size(server, curl):
    body, headers = perform(curl, server.url("/echo"), UPLOAD=1,
                            READFUNCTION=chunked_reader(b"hello upload"))
    assert body == b"PUT\nhello upload"
    req = server.last_request()
    assert req.header("Transfer-Encoding") == "chunked"
    assert req.header("Content-Length") is None
    # unknown-size uploads ask for 100-continue; the server's 100 shows up
    # as its own header block
    assert req.header("Expect") == "100-continue"
    assert headers[:2] == [b"HTTP/1.1 100 Continue\r\n", b"\r\n"]
    # each read result becomes one chunk
    assert req.raw_body == b"7\r\nhello u\r\n5\r\npload\r\n0\r\n\r\n"


def test_chunked_upload_no_expect(server, curl):
    body, headers = perform(curl, server.url("/echo"), UPLOAD=1,
                            READFUNCTION=chunked_reader(b"abc"), HTTPHEADER=["Expect:"])
    assert server.last_request().header("Expect") is None
    assert headers[0] == b"HTTP/1.1 200 OK\r\n"
    assert body == b"PUT\nabc"


def test_read_returns_str(server, curl):
    parts = ["str", "data", ""]
    body, _ = perform(curl, server.url("/echo"), UPLOAD=1,
                      READFUNCTION=lambda n: parts.pop(0), INFILESIZE=7)
    assert body == b"PUT\nstrdata"


def test_read_returns_bytearray_and_memoryview(server, curl):
    parts = [bytearray(b"ab"), memoryview(b"cd"), b""]
    body, _ = perform(curl, server.url("/echo"), UPLOAD=1,
                      READFUNCTION=lambda n: parts.pop(0), INFILESIZE=4)
    assert body == b"PUT\nabcd"


def test_read_abort(server, curl):
    code, msg = perform_error(curl, server.url("/echo"), UPLOAD=1,
                              READFUNCTION=lambda n: pycurl.READFUNC_ABORT, INFILESIZE=7)
    assert (code, msg) == (pycurl.E_ABORTED_BY_CALLBACK, "operation aborted by callback")


def test_read_too_long(server, curl, capfd):
    code, msg = perform_error(curl, server.url("/echo"), UPLOAD=1,
                              READFUNCTION=lambda n: b"x" * (n + 1), INFILESIZE=7)
    assert (code, msg) == (42, "operation aborted by callback")
    assert "invalid return value for read callback" in capfd.readouterr().err


def test_read_wrong_type(server, curl, capfd):
    code, msg = perform_error(curl, server.url("/echo"), UPLOAD=1,
                              READFUNCTION=lambda n: 5, INFILESIZE=7)
    assert (code, msg) == (42, "operation aborted by callback")
    assert "read callback must return" in capfd.readouterr().err


def test_read_exception(server, curl, capfd):
    def boom(n):
        raise RuntimeError("read boom")
    code, msg = perform_error(curl, server.url("/echo"), UPLOAD=1,
                              READFUNCTION=boom, INFILESIZE=7)
    assert (code, msg) == (42, "operation aborted by callback")
    assert "RuntimeError: read boom" in capfd.readouterr().err


def test_read_short_of_infilesize(server, curl):
    code, msg = perform_error(curl, server.url("/echo"), UPLOAD=1,
                              READFUNCTION=chunked_reader(b"abc"), INFILESIZE=10)
    assert code == pycurl.E_READ_ERROR
    assert msg == "client read function EOF fail, only 3/10 of needed bytes read"


def test_read_size_argument(server, curl):
    sizes = []
    data = io.BytesIO(b"q" * 200_000)

    def read(n):
        sizes.append(n)
        return data.read(n)
    perform(curl, server.url("/echo"), UPLOAD=1, READFUNCTION=read, INFILESIZE=200_000)
    assert all(isinstance(n, int) and n > 0 for n in sizes)
    assert server.last_request().body == b"q" * 200_000


def test_post_with_readfunction_and_size(server, curl):
    body, _ = perform(curl, server.url("/echo"), POST=1,
                      READFUNCTION=chunked_reader(b"a=1&b=2"), POSTFIELDSIZE=7)
    assert body == b"POST\na=1&b=2"
    req = server.last_request()
    assert req.header("Content-Length") == "7"
    assert req.header("Content-Type") == "application/x-www-form-urlencoded"


def test_post_chunked_without_size(server, curl):
    body, _ = perform(curl, server.url("/echo"), POST=1,
                      READFUNCTION=chunked_reader(b"a=1&b=2"))
    assert body == b"POST\na=1&b=2"
    req = server.last_request()
    assert req.header("Transfer-Encoding") == "chunked"
    assert req.header("Content-Length") is None


def test_postfields_str(server, curl):
    body, _ = perform(curl, server.url("/echo"), POSTFIELDS="x=1&y=2")
    assert body == b"POST\nx=1&y=2"
    req = server.last_request()
    assert req.method == "POST"
    assert req.header("Content-Length") == "7"
    assert req.header("Content-Type") == "application/x-www-form-urlencoded"
    assert curl.getinfo(pycurl.EFFECTIVE_METHOD) == "POST"


def test_postfields_header_order(server, curl):
    perform(curl, server.url("/echo"), POSTFIELDS="x=1")
    names = [k for k, _ in server.last_request().headers]
    assert names == ["Host", "User-Agent", "Accept", "Content-Length", "Content-Type"]


def test_postfields_binary_with_size(server, curl):
    body, _ = perform(curl, server.url("/echo"), POSTFIELDS=b"a\0b\xff", POSTFIELDSIZE=4)
    assert body == b"POST\na\0b\xff"


def test_postfields_empty(server, curl):
    body, _ = perform(curl, server.url("/echo"), POSTFIELDS="")
    assert body == b"POST\n"
    assert server.last_request().header("Content-Length") == "0"


def test_copypostfields(server, curl):
    data = bytearray(b"copy=1")
    curl.setopt(pycurl.COPYPOSTFIELDS, bytes(data))
    data[:] = b"xxxxxx"
    body, _ = perform(curl, server.url("/echo"))
    assert body == b"POST\ncopy=1"


def test_copypostfields_rejects_nul(curl):
    with pytest.raises(ValueError, match="embedded null byte"):
        curl.setopt(pycurl.COPYPOSTFIELDS, b"a\0b")


def test_custom_content_type(server, curl):
    perform(curl, server.url("/echo"), POSTFIELDS='{"a": 1}',
            HTTPHEADER=["Content-Type: application/json"])
    req = server.last_request()
    assert req.header_all("Content-Type") == ["application/json"]
    assert req.body == b'{"a": 1}'


def test_large_post_uses_expect(server, curl):
    big = b"z" * (1024 * 1024 + 1)
    body, headers = perform(curl, server.url("/expect"), POSTFIELDS=big)
    req = server.last_request()
    assert req.header("Expect") == "100-continue"
    assert len(req.body) == len(big)
    assert headers[0] == b"HTTP/1.1 100 Continue\r\n"
    assert body == big


def test_one_mib_post_has_no_expect(server, curl):
    perform(curl, server.url("/expect"), POSTFIELDS=b"z" * (1024 * 1024))
    assert server.last_request().header("Expect") is None


def test_expect_disabled_by_empty_header(server, curl):
    big = b"z" * (1024 * 1024 + 1)
    perform(curl, server.url("/expect"), POSTFIELDS=big, HTTPHEADER=["Expect:"])
    req = server.last_request()
    assert req.header("Expect") is None
    assert len(req.body) == len(big)


def test_expect_final_response_skips_body(server, curl):
    big = b"z" * (2 * 1024 * 1024)
    body, headers = perform(curl, server.url("/expect?final=417"), POSTFIELDS=big)
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 417
    assert body == b"rejected with 417\n"
    req = server.last_request()
    assert req.target == "/expect?final=417" and req.body == b""


def test_seekfunction_on_307_redirect(server, curl):
    data = b"seekable body"
    bio = io.BytesIO(data)
    seeks = []

    def seek(offset, origin):
        seeks.append((offset, origin))
        bio.seek(offset, origin)
        return pycurl.SEEKFUNC_OK

    body, headers = perform(curl, redirect_url(server, "/echo", 307), UPLOAD=1,
                            READFUNCTION=bio.read, SEEKFUNCTION=seek,
                            INFILESIZE=len(data), FOLLOWLOCATION=1)
    assert body == b"PUT\nseekable body"
    assert seeks == [(0, 0)]
    first, second = server.requests[-2:]
    assert (first.path, second.path) == ("/redirect-to", "/echo")
    assert first.body == second.body == data
    assert second.method == "PUT"


def test_no_seekfunction_rewind_fails(server, curl):
    bio = io.BytesIO(b"seekable body")
    code, msg = perform_error(curl, redirect_url(server, "/echo", 307), UPLOAD=1,
                              READFUNCTION=bio.read, INFILESIZE=13, FOLLOWLOCATION=1)
    assert (code, msg) == (pycurl.E_SEND_FAIL_REWIND, "necessary data rewind was not possible")


@pytest.mark.parametrize("ret", [pycurl.SEEKFUNC_FAIL, pycurl.SEEKFUNC_CANTSEEK])
def test_seekfunction_failure(server, curl, ret):
    bio = io.BytesIO(b"seekable body")
    code, msg = perform_error(curl, redirect_url(server, "/echo", 307), UPLOAD=1,
                              READFUNCTION=bio.read, SEEKFUNCTION=lambda o, w: ret,
                              INFILESIZE=13, FOLLOWLOCATION=1)
    assert (code, msg) == (65, f"seek callback returned error {ret}")


def test_postfields_on_307_resent(server, curl):
    body, _ = perform(curl, redirect_url(server, "/echo", 307), POSTFIELDS="a=1",
                      FOLLOWLOCATION=1)
    assert body == b"POST\na=1"


def test_upload_to_keepalive_connection_reused(server, curl):
    before = server.connections
    for i in range(3):
        data = b"round %d" % i
        body, _ = perform(curl, server.url("/echo"), UPLOAD=1,
                          READDATA=io.BytesIO(data), INFILESIZE=len(data))
        assert body == b"PUT\n" + data
    assert server.connections - before == 1


def test_large_upload(server, curl):
    size = 5 * 1024 * 1024
    body, _ = perform(curl, server.url("/echo"), UPLOAD=1, READDATA=io.BytesIO(b"u" * size),
                      INFILESIZE=size)
    req = server.last_request()
    assert len(req.body) == size
    assert body == b"PUT\n" + b"u" * size
    assert curl.getinfo(pycurl.SIZE_UPLOAD_T) == size
