"""Options libcurl answers for HTTP that change bytes on the wire or at the write callback, each
checked against real pycurl: HTTP_TRANSFER_DECODING=0 (the chunked body as received), CRLF (bare
LFs of a request body sent as CRLF, the body then chunked), Digest kept across the transfers of a
handle, and the rarely used options libcurl's OpenSSL build takes as no-ops for HTTP."""

import gzip
import io
import socket

import pytest

import pycurl

from helpers import accept_loop, perform, recv_head


@pytest.fixture
def raw_server():
    """A loopback server answering each connection's request with the next canned response;
    records the raw requests (head and body, chunked bodies read to their last chunk)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    responses, requests = [], []

    def read_request(c):
        data = recv_head(c)
        if b"\r\n\r\n" not in data:
            return data
        head = data.split(b"\r\n\r\n")[0].lower()
        if b"transfer-encoding: chunked" in head:
            while not data.endswith(b"\r\n0\r\n\r\n"):
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
        elif b"content-length:" in head:
            n = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
            while len(data) < len(head) + 4 + n:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data

    def serve(c):
        while True:
            req = read_request(c)
            if not req:
                break
            requests.append(req)
            resp = responses.pop(0) if responses else b"HTTP/1.1 500 x\r\nContent-Length: 0\r\n\r\n"
            c.sendall(resp)
            if b"Connection: close" in resp:
                break

    accept_loop(s, serve)
    yield "http://127.0.0.1:%d/" % s.getsockname()[1], responses, requests
    s.close()


def fetch(url, **opts):
    """One transfer on a new handle: (error args or None, body chunks, header lines, SIZE_DOWNLOAD)."""
    c = pycurl.Curl()
    chunks, headers = [], []
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, chunks.append)
    c.setopt(pycurl.HEADERFUNCTION, headers.append)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    try:
        c.perform()
        err = None
    except pycurl.error as e:
        err = e.args
    size = c.getinfo(pycurl.SIZE_DOWNLOAD_T)
    c.close()
    return err, b"".join(chunks), headers, size


GZ = gzip.compress(b"hello hello hello\n", mtime=0)
# Two chunks (one with an extension) and a trailer.
CHUNKED_GZ = b"a\r\n" + GZ[:10] + b"\r\n%x;ext=1\r\n" % (len(GZ) - 10) + GZ[10:] + b"\r\n0\r\nX-T: 1\r\n\r\n"


def test_transfer_decoding_off_hands_on_the_chunks(raw_server):
    url, responses, _ = raw_server
    body = b"7\r\nabcdefg\r\n3\r\nhij\r\n0\r\nX-Trailer: yes\r\n\r\n"
    # Keep-alive: the framing is still parsed to find the end, and the connection is reused.
    for _ in range(2):
        responses.append(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    c = pycurl.Curl()
    c.setopt(pycurl.HTTP_TRANSFER_DECODING, 0)
    for _ in range(2):
        got, headers = perform(c, url)
        assert got == body
        # The trailer stays in the data; HEADERFUNCTION sees only the head.
        assert not any(h.startswith(b"X-Trailer") for h in headers)
        assert c.getinfo(pycurl.SIZE_DOWNLOAD_T) == len(body)
        assert c.getinfo(pycurl.CONTENT_LENGTH_DOWNLOAD_T) == -1
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    c.setopt(pycurl.HTTP_TRANSFER_DECODING, 1)
    responses.append(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    got, headers = perform(c, url)
    assert got == b"abcdefghij" and b"X-Trailer: yes\r\n" in headers
    c.close()


def test_transfer_decoding_off_with_content_decoding(raw_server):
    url, responses, _ = raw_server
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    responses.append(head + CHUNKED_GZ)
    err, body, _, size = fetch(url, HTTP_TRANSFER_DECODING=0)
    assert (err, body, size) == (None, CHUNKED_GZ, len(CHUNKED_GZ))
    # ACCEPT_ENCODING makes libcurl gunzip the still chunked bytes: they are no gzip stream.
    responses.append(head + CHUNKED_GZ)
    err, body, _, size = fetch(url, HTTP_TRANSFER_DECODING=0, ACCEPT_ENCODING="")
    assert err == (pycurl.E_BAD_CONTENT_ENCODING,
                   "Error while processing content unencoding: incorrect header check")
    assert body == b""
    responses.append(head + CHUNKED_GZ)
    err, body, _, _ = fetch(url, HTTP_TRANSFER_DECODING=0, ACCEPT_ENCODING="", HTTP_CONTENT_DECODING=0)
    assert (err, body) == (None, CHUNKED_GZ)
    # Decoding on: SIZE_DOWNLOAD counts the gzip bytes, the callback gets the text.
    responses.append(head + CHUNKED_GZ)
    err, body, _, size = fetch(url, ACCEPT_ENCODING="")
    assert (err, body, size) == (None, b"hello hello hello\n", len(GZ))


def test_transfer_decoding_off_and_other_transfer_codings(raw_server):
    url, responses, _ = raw_server
    te = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n"
    # Unasked transfer codings are an error only while libcurl decodes.
    responses.append(te + CHUNKED_GZ)
    assert fetch(url)[0] == (pycurl.E_BAD_CONTENT_ENCODING, "Unsolicited Transfer-Encoding (gzip) found")
    responses.append(te + CHUNKED_GZ)
    assert fetch(url, HTTP_TRANSFER_DECODING=0)[:2] == (None, CHUNKED_GZ)
    # Asked for (TRANSFER_ENCODING), gzip is undone, here over the undecoded chunks.
    responses.append(te + CHUNKED_GZ)
    err = fetch(url, HTTP_TRANSFER_DECODING=0, TRANSFER_ENCODING=1)[0]
    assert err == (pycurl.E_BAD_CONTENT_ENCODING, "Error while processing content unencoding: incorrect header check")
    responses.append(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n" + GZ)
    assert fetch(url, HTTP_TRANSFER_DECODING=0, TRANSFER_ENCODING=1)[:2] == (None, b"hello hello hello\n")


def test_transfer_decoding_off_bad_and_short_chunks(raw_server):
    url, responses, _ = raw_server
    # The bytes read with a bad chunk size reach the callback before the error, as in libcurl.
    responses.append(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nabcde\r\nzz\r\n")
    err, body, _, _ = fetch(url, HTTP_TRANSFER_DECODING=0)
    assert err == (pycurl.E_RECV_ERROR, "chunk hex-length char not a hex digit: 0x7a")
    assert body == b"5\r\nabcde\r\nzz\r\n"
    responses.append(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nabcde\r\n")
    err, body, _, size = fetch(url, HTTP_TRANSFER_DECODING=0)
    assert err == (pycurl.E_PARTIAL_FILE, "transfer closed with outstanding read data remaining")
    assert (body, size) == (b"5\r\nabcde\r\n", 10)


DATA = b"a\nb\r\nc\n\n"
CRLF_CHUNKED = b"b\r\na\r\nb\r\nc\r\n\r\n\r\n0\r\n\r\n"


@pytest.mark.parametrize("how", ["postfields", "postfields_sized", "readfunction_put", "readfunction_post"])
def test_crlf_converts_bare_lfs_and_sends_chunked(raw_server, how):
    url, responses, requests = raw_server
    responses.append(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    opts = {
        "postfields": dict(POSTFIELDS=DATA),
        "postfields_sized": dict(POSTFIELDS=DATA, POSTFIELDSIZE=len(DATA)),
        "readfunction_put": dict(UPLOAD=1, READFUNCTION=io.BytesIO(DATA).read, INFILESIZE=len(DATA)),
        "readfunction_post": dict(POST=1, READFUNCTION=io.BytesIO(DATA).read, POSTFIELDSIZE=len(DATA)),
    }[how]
    c = pycurl.Curl()
    c.setopt(pycurl.CRLF, 1)
    body, _ = perform(c, url, **opts)
    assert body == b"ok"
    head, _, sent = requests[-1].partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    # A declared small size asks for no 100-continue, as in libcurl.
    assert b"Expect:" not in head
    assert sent == CRLF_CHUNKED
    # libcurl counts the chunk framing in SIZE_UPLOAD.
    assert c.getinfo(pycurl.SIZE_UPLOAD_T) == len(CRLF_CHUNKED)
    c.close()


def test_crlf_off_and_on_for_the_same_handle(raw_server):
    url, responses, requests = raw_server
    responses.extend([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"] * 2)
    c = pycurl.Curl()
    perform(c, url, POSTFIELDS=DATA)
    head, _, sent = requests[-1].partition(b"\r\n\r\n")
    assert b"Content-Length: %d\r\n" % len(DATA) in head + b"\r\n" and sent == DATA
    perform(c, url, CRLF=1)
    assert requests[-1].endswith(b"\r\n\r\n" + CRLF_CHUNKED)
    c.close()


def test_digest_kept_for_the_next_transfers_of_a_handle(server):
    c = pycurl.Curl()
    sent = []
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: sent.append(data) if kind == 2 else None)
    c.setopt(pycurl.VERBOSE, 1)
    statuses = []
    for i in range(3):
        _, headers = perform(c, server.url(f"/digest-auth/bob/pw?{i}"), USERPWD="bob:pw",
                             HTTPAUTH=pycurl.HTTPAUTH_DIGEST if i < 2 else pycurl.HTTPAUTH_ANY)
        statuses.append([h.split()[1] for h in headers if h.startswith(b"HTTP/")])
    # Only the first transfer meets a 401; the next ones answer with the kept nonce, counting up.
    assert statuses == [[b"401", b"200"], [b"200"], [b"200"]]
    ncs = [line.split(b"nc=")[1][:8] for h in sent for line in h.split(b"\r\n") if line.startswith(b"Authorization:")]
    assert ncs == [b"00000001", b"00000002", b"00000003"]
    # Other credentials start over; so does reset().
    _, headers = perform(c, server.url("/digest-auth/eve/pw2"), USERPWD="eve:pw2")
    assert [h.split()[1] for h in headers if h.startswith(b"HTTP/")] == [b"401", b"200"]
    c.reset()
    _, headers = perform(c, server.url("/digest-auth/eve/pw2"), USERPWD="eve:pw2", HTTPAUTH=pycurl.HTTPAUTH_DIGEST)
    assert [h.split()[1] for h in headers if h.startswith(b"HTTP/")] == [b"401", b"200"]
    c.close()


def test_openssl_engine_options():
    c = pycurl.Curl()
    # No engine can be loaded: libcurl's OpenSSL build answers any name with "not found", and
    # making no engine the default does nothing.
    with pytest.raises(pycurl.error) as ei:
        c.setopt(pycurl.SSLENGINE, "nosuchengine")
    assert ei.value.args[0] == pycurl.E_SSL_ENGINE_NOTFOUND
    assert c.setopt(pycurl.SSLENGINE, "") is None
    assert c.setopt(pycurl.SSLENGINE_DEFAULT, 1) is None
    for option in (pycurl.SSLENGINE, pycurl.SSLENGINE_DEFAULT):
        with pytest.raises(TypeError):
            c.setopt(option, None)
    c.close()


# List options, and the string options pycurl itself takes no string for (FTP_ACCOUNT, FNMATCH_DATA).
@pytest.mark.parametrize("option", ["QUOTE", "POSTQUOTE", "PREQUOTE", "TELNETOPTIONS", "MAIL_RCPT",
                                    "FTP_ACCOUNT", "FNMATCH_DATA"])
def test_unbuilt_options_refuse_strings(option):
    c = pycurl.Curl()
    with pytest.raises(TypeError) as ei:
        c.setopt(getattr(pycurl, option), "x")
    assert ei.value.args == ("strings are not supported for this option",)
    c.close()


@pytest.mark.parametrize("option", ["FTPPORT", "KRB4LEVEL", "TLSAUTH_USERNAME", "SSH_KNOWNHOSTS", "ECH"])
def test_unbuilt_string_options_refuse_lists(option):
    c = pycurl.Curl()
    with pytest.raises(TypeError) as ei:
        c.setopt(getattr(pycurl, option), ["x"])
    assert ei.value.args == ("lists are not supported for this option",)
    c.close()


@pytest.mark.parametrize("option,off", [("KRB4LEVEL", ""), ("TLSAUTH_USERNAME", ""), ("TLSAUTH_TYPE", ""),
                                        ("PROXY_TLSAUTH_PASSWORD", ""), ("ECH", ""), ("SSL_FALSESTART", 0)])
def test_options_libcurl_never_builds_refuse_even_off(option, off):
    c = pycurl.Curl()
    with pytest.raises(pycurl.error) as ei:
        c.setopt(getattr(pycurl, option), off)
    assert ei.value.args == (pycurl.E_NOT_BUILT_IN, pycurl.easy_strerror(pycurl.E_NOT_BUILT_IN))
    with pytest.raises(TypeError) as ei:
        c.setopt(getattr(pycurl, option), None)
    assert ei.value.args == ("unsetopt() is not supported for this option",)
    c.close()


def test_crlf_over_http10_fails_as_a_chunked_upload(raw_server):
    url, _, requests = raw_server
    err = fetch(url, CRLF=1, POSTFIELDS=DATA, HTTP_VERSION=pycurl.CURL_HTTP_VERSION_1_0)[0]
    assert err == (pycurl.E_UPLOAD_FAILED, "Chunky upload is not supported by HTTP 1.0")
    assert requests == []
