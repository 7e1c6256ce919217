"""file:// URLs: reading, errors, ranges and uploads."""

import io
import os

import pytest

import pycurl

from helpers import perform, perform_error


@pytest.fixture
def sample(tmp_path):
    p = tmp_path / "a.txt"
    p.write_bytes(b"file contents\n")
    return p


def test_read_file(curl, sample):
    body, headers = perform(curl, f"file://{sample}")
    assert body == b"file contents\n"
    assert headers[:2] == [b"Content-Length: 14\r\n", b"Accept-ranges: bytes\r\n"]
    assert headers[2].startswith(b"Last-Modified: ") and headers[2].endswith(b" GMT\r\n")
    assert headers[-1] == b"\r\n"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 0
    assert curl.getinfo(pycurl.SCHEME) == "file"
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == 14
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == 14
    assert curl.getinfo(pycurl.CONTENT_TYPE) is None
    assert curl.getinfo(pycurl.NUM_CONNECTS) == 0
    assert curl.getinfo(pycurl.PRIMARY_IP) == ""
    assert curl.getinfo(pycurl.INFO_FILETIME) == int(os.stat(sample).st_mtime)


def test_read_large_file(curl, tmp_path):
    p = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    p.write_bytes(data)
    body, _ = perform(curl, f"file://{p}")
    assert body == data


def test_file_localhost_host(curl, sample):
    body, _ = perform(curl, f"file://localhost{sample}")
    assert body == b"file contents\n"
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == f"file://{sample}"


def test_file_uppercase_scheme(curl, sample):
    body, _ = perform(curl, f"FILE://{sample}")
    assert body == b"file contents\n"


def test_file_single_slash_form(curl, sample):
    body, _ = perform(curl, f"file:{sample}")
    assert body == b"file contents\n"


def test_default_protocol_file(curl, sample):
    body, _ = perform(curl, str(sample), DEFAULT_PROTOCOL="file")
    assert body == b"file contents\n"


def test_percent_decoding(curl, tmp_path):
    p = tmp_path / "a b.txt"
    p.write_bytes(b"sp")
    body, _ = perform(curl, f"file://{tmp_path}/a%20b.txt")
    assert body == b"sp"


def test_missing_file(curl, tmp_path):
    path = tmp_path / "missing.txt"
    code, msg = perform_error(curl, f"file://{path}")
    assert (code, msg) == (pycurl.E_FILE_COULDNT_READ_FILE, f"Could not open file {path}")


def test_remote_host_rejected(curl, sample):
    code, msg = perform_error(curl, f"file://otherhost{sample}")
    assert (code, msg) == (3, "URL rejected: Bad file:// URL")


def test_directory_listing(curl, tmp_path):
    (tmp_path / "only.txt").write_bytes(b"x")
    body, _ = perform(curl, f"file://{tmp_path}/")
    assert body == b"only.txt\n"


def test_nobody(curl, sample):
    body, headers = perform(curl, f"file://{sample}", NOBODY=1)
    assert body == b""
    assert headers[0] == b"Content-Length: 14\r\n"
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == 14


def test_range(curl, sample):
    body, _ = perform(curl, f"file://{sample}", RANGE="0-3")
    assert body == b"file"
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == 4


def test_resume_from(curl, sample):
    body, _ = perform(curl, f"file://{sample}", RESUME_FROM=5)
    assert body == b"contents\n"


def test_write_error(curl, sample):
    code, msg = perform_error(curl, f"file://{sample}", WRITEFUNCTION=lambda d: 0)
    assert (code, msg) == (23, "Failure writing output to destination, passed 14 returned 0")


def test_upload(curl, tmp_path):
    dest = tmp_path / "up.txt"
    body, headers = perform(curl, f"file://{dest}", UPLOAD=1,
                            READDATA=io.BytesIO(b"uploaded"), INFILESIZE=8)
    assert dest.read_bytes() == b"uploaded"
    assert body == b"" and headers == []
    assert curl.getinfo(pycurl.SIZE_UPLOAD_T) == 8


def test_upload_truncates_existing(curl, tmp_path):
    dest = tmp_path / "up.txt"
    dest.write_bytes(b"x" * 100)
    perform(curl, f"file://{dest}", UPLOAD=1, READDATA=io.BytesIO(b"short"), INFILESIZE=5)
    assert dest.read_bytes() == b"short"


def test_upload_missing_dir(curl, tmp_path):
    dest = tmp_path / "nodir" / "up.txt"
    code, msg = perform_error(curl, f"file://{dest}", UPLOAD=1,
                              READDATA=io.BytesIO(b"uploaded"), INFILESIZE=8)
    assert (code, msg) == (23, f"cannot open {dest} for writing")


def test_file_then_http_on_same_handle(server, curl, sample):
    perform(curl, f"file://{sample}")
    body, _ = perform(curl, server.url("/hello"))
    assert body == b"hello world"
    assert curl.getinfo(pycurl.SCHEME) == "http"
