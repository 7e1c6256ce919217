"""Content-Encoding: ACCEPT_ENCODING, HTTP_CONTENT_DECODING and errors."""

import gzip
import zlib

import pytest

import pycurl

from helpers import perform, perform_error
from servers import COMPRESSIBLE


def test_no_accept_encoding_passes_raw(server, curl):
    body, _ = perform(curl, server.url("/gzip"))
    assert body == gzip.compress(COMPRESSIBLE, mtime=0)
    assert server.last_request().header("Accept-Encoding") is None


def test_accept_encoding_empty_lists_all(server, curl):
    body, _ = perform(curl, server.url("/gzip"), ACCEPT_ENCODING="")
    assert body == COMPRESSIBLE
    assert server.last_request().header("Accept-Encoding") == "deflate, gzip, br"


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/br"])
def test_decodes(server, curl, path):
    body, headers = perform(curl, server.url(path), ACCEPT_ENCODING="")
    assert body == COMPRESSIBLE
    # headers are passed on untouched, including the compressed length
    enc = path[1:].encode()
    assert b"Content-Encoding: " + enc + b"\r\n" in headers


def test_sizes_count_compressed_bytes(server, curl):
    raw = gzip.compress(COMPRESSIBLE, mtime=0)
    perform(curl, server.url("/gzip"), ACCEPT_ENCODING="")
    assert curl.getinfo(pycurl.SIZE_DOWNLOAD_T) == len(raw)
    assert curl.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == len(raw)


def test_specific_accept_encoding_value(server, curl):
    body, _ = perform(curl, server.url("/gzip"), ACCEPT_ENCODING="gzip")
    assert body == COMPRESSIBLE
    assert server.last_request().header("Accept-Encoding") == "gzip"


def test_decodes_supported_encoding_even_if_not_asked(server, curl):
    body, _ = perform(curl, server.url("/br"), ACCEPT_ENCODING="gzip")
    assert body == COMPRESSIBLE


def test_accept_encoding_sent_verbatim(server, curl):
    perform(curl, server.url("/headers"), ACCEPT_ENCODING="br, gzip")
    assert server.last_request().header("Accept-Encoding") == "br, gzip"


def test_accept_encoding_none_disables(server, curl):
    perform(curl, server.url("/gzip"), ACCEPT_ENCODING="")
    body, _ = perform(curl, server.url("/gzip"), ACCEPT_ENCODING=None)
    assert server.last_request().header("Accept-Encoding") is None
    assert body == gzip.compress(COMPRESSIBLE, mtime=0)


def test_content_decoding_off(server, curl):
    body, _ = perform(curl, server.url("/deflate"), ACCEPT_ENCODING="", HTTP_CONTENT_DECODING=0)
    assert body == zlib.compress(COMPRESSIBLE)
    assert server.last_request().header("Accept-Encoding") == "deflate, gzip, br"


def test_encoding_alias(server, curl):
    body, _ = perform(curl, server.url("/gzip"), ENCODING="")
    assert body == COMPRESSIBLE


def test_stacked_encodings(server, curl):
    body, _ = perform(curl, server.url("/encoded?ce=gzip,br"), ACCEPT_ENCODING="")
    assert body == COMPRESSIBLE
    body, _ = perform(curl, server.url("/encoded?ce=deflate,gzip"), ACCEPT_ENCODING="")
    assert body == COMPRESSIBLE


@pytest.mark.parametrize("label", ["GZIP", "x-gzip"])
def test_encoding_name_variants(server, curl, label):
    body, _ = perform(curl, server.url(f"/encoded?ce=gzip&label={label}"), ACCEPT_ENCODING="")
    assert body == COMPRESSIBLE


def test_identity_encoding(server, curl):
    body, _ = perform(curl, server.url("/encoded?ce=identity"), ACCEPT_ENCODING="")
    assert body == COMPRESSIBLE


def test_unknown_encoding_error(server, curl):
    code, msg = perform_error(curl, server.url("/encoded?ce=xyz"), ACCEPT_ENCODING="")
    assert (code, msg) == (pycurl.E_BAD_CONTENT_ENCODING, "Unrecognized content encoding type")


def test_unknown_encoding_without_decoding_passes(server, curl):
    body, _ = perform(curl, server.url("/encoded?ce=xyz"))
    assert body == COMPRESSIBLE


def test_bad_gzip_data(server, curl):
    code, msg = perform_error(curl, server.url("/badgzip"), ACCEPT_ENCODING="")
    assert code == pycurl.E_BAD_CONTENT_ENCODING == 61
    # the tail of the message comes from the inflate library
    # (zlib says "invalid block type")
    assert msg.startswith("Error while processing content unencoding: ")


def test_bad_gzip_passes_without_decoding(server, curl):
    body, _ = perform(curl, server.url("/badgzip"))
    assert body.startswith(b"\x1f\x8b")
    assert len(body) == 50


def test_gzip_chunked_keepalive(server, curl):
    before = server.connections
    for _ in range(3):
        body, _ = perform(curl, server.url("/gzip"), ACCEPT_ENCODING="")
        assert body == COMPRESSIBLE
    assert server.connections - before == 1
