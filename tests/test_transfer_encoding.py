"""TRANSFER_ENCODING: libcurl asks for gzip transfer coding and undoes it; unasked, it refuses it."""
import gzip
import io
import socket

import pytest

import pycurl

from helpers import accept_loop, recv_head

BODY = b"transfer-encoded hello " * 20


@pytest.fixture
def te_server():
    """Answers every request with a gzip transfer-coded, chunked body; records request heads."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    heads = []
    payload = gzip.compress(BODY)

    def serve(c):
        heads.append(recv_head(c).split(b"\r\n\r\n")[0])
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n"
                  + b"%x\r\n" % len(payload) + payload + b"\r\n0\r\n\r\n")

    accept_loop(s, serve)
    yield "http://127.0.0.1:%d/" % s.getsockname()[1], heads
    s.close()


def fetch(url, **opts):
    c = pycurl.Curl()
    buf = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, buf)
    c.setopt(pycurl.USERAGENT, "ua")
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    try:
        c.perform()
        return buf.getvalue(), None
    except pycurl.error as e:
        return buf.getvalue(), e.args
    finally:
        c.close()


def test_transfer_encoding_requested_and_decoded(te_server):
    url, heads = te_server
    body, err = fetch(url, TRANSFER_ENCODING=1)
    assert err is None and body == BODY
    assert heads[-1].endswith(b"\r\nTE: gzip\r\nConnection: TE")


def test_unsolicited_transfer_encoding_is_refused(te_server):
    url, heads = te_server
    body, err = fetch(url)
    assert err == (61, "Unsolicited Transfer-Encoding (gzip) found")
    assert b"TE:" not in heads[-1]


def test_size_download_counts_the_decoded_transfer_coding(te_server):
    # libcurl counts what a gzip transfer coding decodes to, not the bytes received.
    url, _ = te_server
    c = pycurl.Curl()
    buf = io.BytesIO()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, buf)
    c.setopt(pycurl.TRANSFER_ENCODING, 1)
    c.perform()
    assert (buf.getvalue(), c.getinfo(pycurl.SIZE_DOWNLOAD_T)) == (BODY, len(BODY))
    c.close()
