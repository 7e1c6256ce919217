"""gopher:// and gophers:// against a small gopher server of ours on loopback: the selector
libcurl sends for each URL (item type dropped, percent-decoded, %09 for a search), the selector
handed to HEADERFUNCTION as libcurl does, the answer to WRITEFUNCTION, TLS for gophers://, and
CurlMulti. Checked against real pycurl (libcurl 8) with the same server."""

import io
import ssl

import pytest

import gopherserver
import pycurl
from gopherserver import ABOUT, MENU
from helpers import perform_all


@pytest.fixture(scope="module")
def gopher():
    srv = gopherserver.GopherServer()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def gophers(certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    srv = gopherserver.GopherServer(ctx)
    yield srv
    srv.stop()


def run(url, **opts):
    c = pycurl.Curl()
    body = io.BytesIO()
    headers = []
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.HEADERFUNCTION, headers.append)
    c.setopt(pycurl.TIMEOUT, 10)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    err = None
    try:
        c.perform()
    except pycurl.error as e:
        err = e.args
    code = c.getinfo(pycurl.RESPONSE_CODE)
    c.close()
    return err, body.getvalue(), headers, code


@pytest.mark.parametrize("path", ["", "/", "/1"])
def test_root_menu(gopher, path):
    err, body, headers, code = run(gopher.url(path))
    assert (err, body, headers, code) == (None, MENU, [b"\r\n"], 0)
    assert gopher.selectors[-1] == b""


def test_text_file_selector(gopher):
    err, body, headers, _ = run(gopher.url("/0/about.txt"))
    assert (err, body) == (None, ABOUT)
    assert headers == [b"/about.txt", b"\r\n"]
    assert gopher.selectors[-1] == b"/about.txt"


def test_search_with_a_tab_and_query(gopher):
    err, body, _, _ = run(gopher.url("/7/search%09apple%20pie"))
    assert err is None
    assert gopher.selectors[-1] == b"/search\tapple pie"
    assert body.startswith(b"0Result for apple pie\t")
    err, body, headers, _ = run(gopher.url("/1/x?y=1"))
    assert headers == [b"/x?y=1", b"\r\n"]
    assert body.startswith(b"3'/x?y=1' does not exist")


def test_nul_in_selector_is_refused(gopher):
    err, _, headers, _ = run(gopher.url("/0/a%00b"))
    assert err == (3, "URL using bad/illegal format or missing URL")
    assert headers == []


def test_gophers_over_tls(gophers, certs):
    err, body, headers, _ = run(gophers.url("/0/about.txt", scheme="gophers"), CAINFO=certs.ca_pem)
    assert (err, body, headers) == (None, ABOUT, [b"/about.txt", b"\r\n"])
    err, _, _, _ = run(gophers.url("/", scheme="gophers"))
    assert err[0] == 60


def test_gophers_peer_closing_without_close_notify(certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs.server_cert, certs.server_key)
    srv = gopherserver.GopherServer(ctx, close_notify=False)
    try:
        err, body, _, _ = run(srv.url("/0/about.txt", scheme="gophers"), CAINFO=certs.ca_pem)
    finally:
        srv.stop()
    assert err == (
        56,
        "OpenSSL SSL_read: OpenSSL/3.6.5: error:0A000126:SSL routines::unexpected eof while reading, errno 0",
    )
    assert body == ABOUT


def test_under_multi(gopher):
    m = pycurl.CurlMulti()
    hs = []
    for path in ("/", "/0/about.txt"):
        c = pycurl.Curl()
        c.body = io.BytesIO()
        c.setopt(pycurl.URL, gopher.url(path))
        c.setopt(pycurl.WRITEDATA, c.body)
        m.add_handle(c)
        hs.append(c)
    perform_all(m, 2)
    assert [c.body.getvalue() for c in hs] == [MENU, ABOUT]
    for c in hs:
        m.remove_handle(c)
        c.close()
    m.close()
