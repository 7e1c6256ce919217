"""IOCTLFUNCTION (deprecated in libcurl and pycurl): called with IOCMD_RESTARTREAD when an upload
must start over (a 307 redirect here) and no SEEKFUNCTION is set; IOE_OK (or None) means the
application rewound its source, anything else fails with E_SEND_FAIL_REWIND."""

import io

import pytest

import pycurl

REDIRECT = "/redirect-to?code=307&url=/echo"


def put(curl, server, answer, seek=None):
    src = io.BytesIO(b"hello world")
    calls = []

    def ioctl(*args):
        calls.append(args)
        r = answer(src) if callable(answer) else answer
        return r

    curl.setopt(pycurl.URL, server.url(REDIRECT))
    curl.setopt(pycurl.UPLOAD, 1)
    curl.setopt(pycurl.INFILESIZE, 11)
    curl.setopt(pycurl.FOLLOWLOCATION, 1)
    curl.setopt(pycurl.READFUNCTION, src.read)
    with pytest.warns(DeprecationWarning, match="IOCTLFUNCTION is deprecated; use SEEKFUNCTION"):
        curl.setopt(pycurl.IOCTLFUNCTION, ioctl)
    if seek is not None:
        curl.setopt(pycurl.SEEKFUNCTION, seek(src))
    out = io.BytesIO()
    curl.setopt(pycurl.WRITEDATA, out)
    before = len(server.requests)
    try:
        curl.perform()
    finally:
        reqs = server.requests[before:]
    return calls, reqs, out.getvalue()


def rewind(src):
    src.seek(0)
    return pycurl.IOE_OK


def test_restartread_rewinds_the_upload(server, curl):
    calls, reqs, body = put(curl, server, rewind)
    assert calls == [(pycurl.IOCMD_RESTARTREAD,)] == [(1,)]
    assert [(r.method, r.path, r.body) for r in reqs] == [("PUT", "/redirect-to", b"hello world"),
                                                          ("PUT", "/echo", b"hello world")]
    assert body == b"PUT\nhello world"


@pytest.mark.parametrize("ret", [pycurl.IOE_FAILRESTART, pycurl.IOE_UNKNOWNCMD, -1, 3])
def test_failure_codes(server, curl, capfd, ret):
    with pytest.raises(pycurl.error) as ei:
        put(curl, server, ret)
    assert ei.value.args == (pycurl.E_SEND_FAIL_REWIND, f"ioctl callback returned error {ret}")
    # Numbers outside the IOE_* range are passed on, with a complaint.
    assert ("ioctl callback returned invalid value" in capfd.readouterr().err) == (ret not in (1, 2))


@pytest.mark.parametrize("ret", [pycurl.IOE_OK, None])
def test_ok_without_rewinding_runs_dry(server, curl, ret):
    # The application said it rewound but did not: the second request finds its source at EOF.
    with pytest.raises(pycurl.error) as ei:
        put(curl, server, ret)
    assert ei.value.args == (pycurl.E_READ_ERROR, "client read function EOF fail, only 0/11 of needed bytes read")


@pytest.mark.parametrize("ret, printed", [("x", ""),
                                          (2 ** 40, "ioctl callback returned 1099511627776 which does not fit in an int")])
def test_invalid_returns(server, curl, capfd, ret, printed):
    with pytest.raises(pycurl.error) as ei:
        put(curl, server, ret)
    assert ei.value.args == (pycurl.E_SEND_FAIL_REWIND, "ioctl callback returned error 2")
    err = capfd.readouterr().err
    assert printed in err
    assert ("invalid value" in err) is False


def test_raising_callback(server, curl, capfd):
    def boom(src):
        raise ValueError("cannot rewind")
    with pytest.raises(pycurl.error) as ei:
        put(curl, server, boom)
    assert ei.value.args == (pycurl.E_SEND_FAIL_REWIND, "ioctl callback returned error 2")
    assert "cannot rewind" in capfd.readouterr().err


def test_seekfunction_wins(server, curl):
    seen = []

    def seek(src):
        def f(offset, origin):
            seen.append((offset, origin))
            src.seek(offset, origin)
            return pycurl.SEEKFUNC_OK
        return f

    calls, reqs, body = put(curl, server, rewind, seek=seek)
    assert calls == []
    assert seen == [(0, 0)]
    assert body == b"PUT\nhello world"


def test_option_types(curl):
    with pytest.raises(TypeError, match="integers are not supported"):
        curl.setopt(pycurl.IOCTLFUNCTION, 1)
    curl.setopt(pycurl.IOCTLFUNCTION, None)
    curl.unsetopt(pycurl.IOCTLFUNCTION)
    assert (pycurl.IOCMD_NOP, pycurl.IOCMD_RESTARTREAD) == (0, 1)
    assert (pycurl.IOE_OK, pycurl.IOE_UNKNOWNCMD, pycurl.IOE_FAILRESTART) == (0, 1, 2)
