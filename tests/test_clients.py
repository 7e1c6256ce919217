"""What real pycurl clients found (issue 8): option values, streaming decode, bytes on the wire,
handles changed between multi calls."""

import pytest

import pycurl

from helpers import perform


def _setopt_error(option, value):
    c = pycurl.Curl()
    try:
        with pytest.raises(pycurl.error) as ei:
            c.setopt(option, value)
        return ei.value.args
    finally:
        c.close()


@pytest.mark.parametrize("name,hexid", [
    ("BUFFERSIZE", "62"), ("LOW_SPEED_LIMIT", "13"), ("LOW_SPEED_TIME", "14"),
    ("MAXFILESIZE", "75a5"), ("MAXFILESIZE_LARGE", "75a5"), ("MAX_RECV_SPEED_LARGE", "75c2"),
    ("MAX_SEND_SPEED_LARGE", "75c1"),
])
def test_negative_values_are_bad_arguments(name, hexid):
    assert _setopt_error(getattr(pycurl, name), -1) == (43, f"setopt 0x{hexid} got bad argument")


def test_postfieldsize_below_minus_one_and_http_version_minus_one():
    assert _setopt_error(pycurl.POSTFIELDSIZE, -2) == (43, "setopt 0x75a8 got bad argument")
    assert _setopt_error(pycurl.POSTFIELDSIZE_LARGE, -2) == (43, "setopt 0x75a8 got bad argument")
    assert _setopt_error(pycurl.HTTP_VERSION, -1) == (43, "setopt 0x54 got bad argument")
    assert _setopt_error(pycurl.HTTP_VERSION, 99) == (1, "Unsupported protocol")
    assert _setopt_error(pycurl.USE_SSL, 4) == (43, "setopt 0x77 got bad argument")
    assert _setopt_error(pycurl.PROXYAUTH, 1 << 40)[0] == pycurl.E_NOT_BUILT_IN


@pytest.mark.parametrize("option,value", [
    (pycurl.USE_SSL, pycurl.USESSL_ALL), (pycurl.USE_SSL, pycurl.USESSL_TRY),
    (pycurl.PROXYAUTH, pycurl.HTTPAUTH_BASIC), (pycurl.PROXYAUTH, pycurl.HTTPAUTH_ANY),
    (pycurl.PROXYAUTH, 0), (pycurl.POSTFIELDSIZE, -1),
])
def test_accepted_values_leave_http_transfer_alone(server, curl, option, value):
    curl.setopt(option, value)
    body, _ = perform(curl, server.url("/bytes?n=5000"))
    assert len(body) == 5000
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200


def test_buffersize_zero_means_minimum(server, curl):
    chunks = []
    curl.setopt(pycurl.BUFFERSIZE, 0)
    curl.setopt(pycurl.URL, server.url("/bytes?n=50000"))
    curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
    curl.perform()
    assert sum(map(len, chunks)) == 50000
    assert max(map(len, chunks)) == 1024
