"""dict:// against Debian's dictd on loopback, with a dictionary made by dictfmt: the request
libcurl builds from each URL form (DEFINE, MATCH, raw commands), the answer handed on whole, and
the same transfer under CurlMulti. Checked against real pycurl (libcurl 8) with the same server."""

import io
import re

import pytest

import dictservers
import pycurl
from helpers import perform_all


@pytest.fixture(scope="module")
def dictd():
    srv = dictservers.Dictd()
    yield srv
    srv.stop()


def run(url):
    c = pycurl.Curl()
    body = io.BytesIO()
    trace = []
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, msg: trace.append((kind, msg)))
    c.setopt(pycurl.TIMEOUT, 10)
    err = None
    try:
        c.perform()
    except pycurl.error as e:
        err = e.args
    code = c.getinfo(pycurl.RESPONSE_CODE)
    c.close()
    sent = b"".join(m for k, m in trace if k == pycurl.INFOTYPE_DATA_OUT)
    text = [m.decode().rstrip("\n") for k, m in trace if k == pycurl.INFOTYPE_TEXT]
    return err, body.getvalue(), sent, text, code


def status_lines(body):
    return [line[:3] for line in body.split(b"\r\n") if re.match(rb"^\d{3} ", line)]


def test_define_with_and_without_a_database(dictd):
    err, body, sent, text, code = run(dictd.url("d:apple"))
    assert err is None and code == 0
    assert sent == b"CLIENT libcurl 8.23.0\r\nDEFINE ! apple\r\nQUIT\r\n"
    assert b'151 "apple" fruits "Test fruits"\r\n' in body
    assert b"A round fruit of the rose family." in body
    assert status_lines(body) == [b"220", b"250", b"150", b"151", b"250", b"221"]
    assert text[-1] == "shutting down connection #0"
    err, body, sent, _, _ = run(dictd.url("lookup:cherry:fruits"))
    assert sent.endswith(b"DEFINE fruits cherry\r\nQUIT\r\n")
    assert b"A small red stone fruit." in body
    err, body, sent, _, _ = run(dictd.url("define:zzz:fruits"))
    assert err is None and b"552 no match" in body


def test_match_with_database_and_strategy(dictd):
    err, body, sent, _, _ = run(dictd.url("m:ap:fruits:prefix"))
    assert err is None
    assert sent.endswith(b"MATCH fruits prefix ap\r\nQUIT\r\n")
    assert b'fruits "apple"\r\nfruits "apricot"\r\n.\r\n' in body
    err, body, sent, _, _ = run(dictd.url("find:ban"))
    assert sent.endswith(b"MATCH ! . ban\r\nQUIT\r\n")


def test_missing_word_looks_up_default(dictd):
    err, _, sent, text, _ = run(dictd.url("m:"))
    assert err is None
    assert sent.endswith(b"MATCH ! . default\r\nQUIT\r\n")
    assert "lookup word is missing" in text


def test_raw_commands_and_escaped_words(dictd):
    err, body, sent, _, _ = run(dictd.url("SHOW:DB"))
    assert sent.endswith(b"\r\nSHOW DB\r\nQUIT\r\n")
    assert b'fruits "Test fruits"\r\n' in body
    err, _, sent, _, _ = run(dictd.url("d:a%20b%22c%5C"))
    assert err is None
    assert sent.endswith(b'DEFINE ! a\\ b\\"c\\\\\r\nQUIT\r\n')
    err, _, sent, _, _ = run(dictd.url("d:w?q=1"))
    assert sent.endswith(b"DEFINE ! w\r\nQUIT\r\n")


def test_control_characters_are_refused(dictd):
    err, _, sent, _, _ = run(dictd.url("d:a%0Ab"))
    assert err == (3, "URL using bad/illegal format or missing URL")
    assert sent == b""


def test_refused_connection():
    err, _, _, _, _ = run("dict://127.0.0.1:1/d:x")
    assert err[0] == 7


def test_under_multi(dictd):
    handles = []
    m = pycurl.CurlMulti()
    for word in ("apple", "banana"):
        c = pycurl.Curl()
        c.body = io.BytesIO()
        c.setopt(pycurl.URL, dictd.url(f"d:{word}:fruits"))
        c.setopt(pycurl.WRITEDATA, c.body)
        m.add_handle(c)
        handles.append(c)
    perform_all(m, 2)
    assert b"A round fruit" in handles[0].body.getvalue()
    assert b"A long yellow fruit" in handles[1].body.getvalue()
    for c in handles:
        m.remove_handle(c)
        c.close()
    m.close()
