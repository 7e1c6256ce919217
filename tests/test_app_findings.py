"""What running real pycurl applications' own test suites against us turned up (tornado's
curl client, pycurl-requests, curldl, ...), each checked under real pycurl on a loopback server.

curldl sets OPT_FILETIME and copies INFO_FILETIME onto the downloaded file: a Last-Modified of
the epoch itself must come back as 0, not as "unknown" (-1)."""
import io
import os
import socket
import ssl
import threading
import time
import urllib.parse

import pytest

import pycurl

from helpers import accept_loop, perform, perform_error, recv_head, trace

EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def lm_url(server, value):
    return server.url("/last-modified?lm=" + urllib.parse.quote(value))


@pytest.mark.parametrize("value,expected", [
    (EPOCH, 0),
    ("Thu, 01 Jan 1970 00:00:01 GMT", 1),
    ("Wed, 31 Dec 1969 23:59:59 GMT", -1),
    # A value that does not parse is libcurl's time 0 ("no usable date"), not -1.
    ("not a date at all", 0),
])
def test_filetime_of_last_modified_at_and_around_the_epoch(server, curl, value, expected):
    body, _ = perform(curl, lm_url(server, value), OPT_FILETIME=1)
    assert body == b"fresh body\n"
    assert (curl.getinfo(pycurl.INFO_FILETIME), curl.getinfo(pycurl.FILETIME_T)) == (expected, expected)


def test_epoch_filetime_replaces_the_previous_transfers(server, curl):
    perform(curl, server.url("/last-modified?t=1234567890"), OPT_FILETIME=1)
    assert curl.getinfo(pycurl.INFO_FILETIME) == 1234567890
    perform(curl, lm_url(server, EPOCH))
    assert curl.getinfo(pycurl.INFO_FILETIME) == 0


@pytest.mark.parametrize("cond", [pycurl.TIMECONDITION_IFMODSINCE, pycurl.TIMECONDITION_IFUNMODSINCE])
def test_unparsable_last_modified_does_not_decide_a_time_condition(server, curl, cond):
    # The server ignores the condition and sends a date libcurl cannot read: the document's
    # time is unknown, so the body is delivered and the condition counts as met.
    body, _ = perform(curl, lm_url(server, "garbage"), TIMECONDITION=cond, TIMEVALUE=1700000000)
    assert (body, curl.getinfo(pycurl.RESPONSE_CODE), curl.getinfo(pycurl.CONDITION_UNMET)) == (
        b"fresh body\n", 200, 0)


# ---- RESUME_FROM on an upload -----------------------------------------------------------------
# Found while checking curldl's resumed downloads: libcurl resumes downloads only. Any HTTP upload
# with RESUME_FROM fails with 43 before a request is sent, even with a SEEKFUNCTION to skip by.

def _reader(data):
    chunks = [data]
    return lambda n: chunks.pop() if chunks else b""


@pytest.mark.parametrize("opts,message", [
    ({"POSTFIELDS": "abcdefgh"}, "cannot mix POSTFIELDS with RESUME_FROM"),
    ({"COPYPOSTFIELDS": ""}, "cannot mix POSTFIELDS with RESUME_FROM"),
    ({"POSTFIELDS": "abcdefgh", "CUSTOMREQUEST": "PATCH"}, "cannot mix POSTFIELDS with RESUME_FROM"),
    ({"UPLOAD": 1, "INFILESIZE": 8}, "HTTP upload cannot be resumed"),
    ({"POST": 1, "POSTFIELDSIZE": 8}, "HTTP upload cannot be resumed"),
    ({"HTTPPOST": [("field", "value")]}, "HTTP upload cannot be resumed"),
])
@pytest.mark.filterwarnings("ignore:HTTPPOST is deprecated:DeprecationWarning")
def test_an_upload_cannot_be_resumed(server, curl, opts, message):
    before = len(server.requests)
    curl.setopt(pycurl.READFUNCTION, _reader(b"abcdefgh"))
    curl.setopt(pycurl.SEEKFUNCTION, lambda offset, origin: pycurl.SEEKFUNC_OK)
    with pytest.raises(pycurl.error) as ei:
        perform(curl, server.url("/echo"), RESUME_FROM=3, **opts)
    assert ei.value.args == (pycurl.E_BAD_FUNCTION_ARGUMENT, message)
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 0
    assert len(server.requests) == before


def test_resume_from_zero_uploads_the_whole_body(server, curl):
    body, _ = perform(curl, server.url("/echo"), RESUME_FROM=0, POSTFIELDS="abcdefgh")
    assert body == b"POST\nabcdefgh"


# ---- VERBOSE text about a connection that ends with its response ------------------------------
# Found running pycurl's documentation examples (its DEBUGFUNCTION example against a server that
# answers "Connection: close"): libcurl says it shuts a connection down when the server ends it,
# skips a redirect's body without "Ignoring the response-body" when the connection is not kept,
# and says why it closes one whose Content-Length is over MAXFILESIZE.

def _texts(curl, url, **opts):
    texts = []
    curl.setopt(pycurl.VERBOSE, 1)
    curl.setopt(pycurl.DEBUGFUNCTION, lambda kind, msg: kind == pycurl.INFOTYPE_TEXT and texts.append(
        msg.decode("latin-1").rstrip("\n")))
    try:
        perform(curl, url, **opts)
    except pycurl.error as e:
        texts.append("error %d" % e.args[0])
    # Which address the connection came from is not the point here.
    return [t for t in texts if not t.startswith(("  Trying", "Established connection"))]


def test_verbose_says_a_closed_connection_is_shut_down(server, curl):
    assert _texts(curl, server.url("/close?n=10")) == [
        "using HTTP/1.x", "Request completely sent off", "shutting down connection #0"]


def test_verbose_of_a_redirect_whose_connection_closes(server, curl):
    texts = _texts(curl, server.url("/redirect/1"), FOLLOWLOCATION=1, HTTPHEADER=["Connection: close"])
    assert texts[:4] == ["using HTTP/1.x", "Request completely sent off", "shutting down connection #0",
                         "Issue another request to this URL: '%s'" % server.url("/hello")]
    assert texts[-1] == "shutting down connection #1"
    assert "Ignoring the response-body" not in texts


def test_verbose_of_a_redirect_on_a_kept_connection(server, curl):
    texts = _texts(curl, server.url("/redirect/1"), FOLLOWLOCATION=1)
    assert texts[:5] == ["using HTTP/1.x", "Request completely sent off", "Ignoring the response-body",
                         "setting size while ignoring", "Connection #0 to host %s left intact"
                         % server.url("/")[len("http://"):-1]]
    assert not any(t.startswith("shutting down") for t in texts)


def test_verbose_says_why_a_too_large_download_closes(server, curl):
    assert _texts(curl, server.url("/bytes?n=100"), MAXFILESIZE=10) == [
        "using HTTP/1.x", "Request completely sent off", "Maximum file size exceeded",
        "closing connection #0", "error %d" % pycurl.E_FILESIZE_EXCEEDED]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_verbose_says_a_second_connection_found_its_host_in_the_dns_cache(server, curl, host):
    # An IP literal and localhost are cached like a looked-up name.
    url = server.url("/close?n=5").replace("127.0.0.1", host)
    first = _texts(curl, url)
    second = _texts(curl, url)
    found = "Hostname %s was found in DNS cache" % host
    assert found not in first
    assert second[0] == found
    assert second.count(found) == 1


def test_verbose_says_nothing_of_the_dns_cache_when_it_is_off(server, curl):
    url = server.url("/close?n=5")
    _texts(curl, url, DNS_CACHE_TIMEOUT=0)
    assert not any("DNS cache" in t for t in _texts(curl, url))


# ---- libcurl option numbers pycurl does not name ----------------------------------------------
# Found with curl-adapter, which sets options by libcurl's numbers (curl_cffi's CurlOpt):
# CURLOPT_POSTFIELDSIZE (60), the `long` form of POSTFIELDSIZE_LARGE, which pycurl passes through.

def test_long_postfieldsize_by_number(server, curl):
    # As curl-adapter does: the size after the data (pycurl sets it from the data otherwise).
    curl.setopt(pycurl.POSTFIELDS, b"ab\0cdef")
    curl.setopt(60, 3)
    body, _ = perform(curl, server.url("/echo"))
    assert body == b"POST\nab\0"
    assert server.last_request().header("content-length") == "3"


def test_long_infilesize_by_number(server, curl):
    curl.setopt(14, 4)
    body, _ = perform(curl, server.url("/echo"), UPLOAD=1, READFUNCTION=_reader(b"wxyz"))
    assert body == b"PUT\nwxyz"
    assert server.last_request().header("content-length") == "4"


def test_long_resume_from_by_number(server, curl):
    curl.setopt(21, 5)
    perform(curl, server.url("/range?n=20"))
    assert server.last_request().header("range") == "bytes=5-"


def test_long_maxfilesize_by_number(server, curl):
    curl.setopt(114, 10)
    with pytest.raises(pycurl.error) as ei:
        perform(curl, server.url("/bytes?n=100"))
    assert ei.value.args[0] == pycurl.E_FILESIZE_EXCEEDED


@pytest.mark.parametrize("option,value", [(60, "3"), (14, b"4")])
def test_long_forms_take_integers_only(curl, option, value):
    with pytest.raises(TypeError, match="strings are not supported for this option"):
        curl.setopt(option, value)


def test_unknown_long_option_numbers(curl):
    # Below the end of pycurl's table libcurl answers; from there on pycurl refuses the call.
    with pytest.raises(pycurl.error) as ei:
        curl.setopt(332, 0)
    assert ei.value.args[0] == pycurl.E_UNKNOWN_OPTION
    for option in (333, 999, 1021, 9999):
        with pytest.raises(TypeError, match="invalid arguments to setopt"):
            curl.setopt(option, 0)


# ---- a server certificate that says it is a CA ------------------------------------------------
# Found with cyinfo's TLS inspection against a certificate made by `openssl req -x509`, which
# marks it CA:TRUE. OpenSSL looks for a trusted issuer and reports its absence (18, or 20 when
# the issuer is merely unknown); a CA flag on a leaf does not fail it, so one that a trusted CA
# signed is accepted. The answer is what SSL_VERIFYRESULT gives too.

def _ca_flagged_certs(tmpdir):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def cert(subject, key, issuer, issuer_key):
        return (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - day).not_valid_after(now + 30 * day)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName("localhost")]), critical=False)
                .sign(issuer_key, hashes.SHA256()))

    def write(fname, data):
        path = os.path.join(str(tmpdir), fname)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def pem_key(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    self_key, ca_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    pem = serialization.Encoding.PEM
    return {
        "ca": (write("ca.pem", cert("unknown CA", ca_key, "unknown CA", ca_key).public_bytes(pem)), None),
        "selfsigned": (write("ss.pem", cert("localhost", self_key, "localhost", self_key).public_bytes(pem)),
                       write("ss.key", pem_key(self_key))),
        "leaf": (write("leaf.pem", cert("localhost", leaf_key, "unknown CA", ca_key).public_bytes(pem)),
                 write("leaf.key", pem_key(leaf_key))),
    }


@pytest.fixture(scope="module")
def ca_flagged_servers(tmp_path_factory):
    files = _ca_flagged_certs(tmp_path_factory.mktemp("caflag"))
    ports, listeners = {}, []
    for kind, (cert, key) in files.items():
        if key is None:
            continue
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def handshake(conn, ctx=ctx):
            # A client that refuses the certificate ends the handshake; that is no error here.
            try:
                tls = ctx.wrap_socket(conn, server_side=True)
                recv_head(tls)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\ntrusted")
                tls.close()
            except (ssl.SSLError, OSError):
                pass

        accept_loop(listener, handshake)
        ports[kind] = listener.getsockname()[1]
    yield ports, files
    for listener in listeners:
        listener.close()


@pytest.mark.parametrize("kind,cainfo,number,text", [
    ("selfsigned", None, 18, "self-signed certificate"),
    ("selfsigned", "leaf", 18, "self-signed certificate"),
    ("leaf", None, 20, "unable to get local issuer certificate"),
    ("leaf", "selfsigned", 20, "unable to get local issuer certificate"),
])
def test_a_ca_flagged_leaf_without_a_trusted_issuer(ca_flagged_servers, curl, kind, cainfo, number, text):
    ports, files = ca_flagged_servers
    if cainfo:
        curl.setopt(pycurl.CAINFO, files[cainfo][0])
    with pytest.raises(pycurl.error) as ei:
        perform(curl, "https://localhost:%d/" % ports[kind])
    assert ei.value.args == (pycurl.E_PEER_FAILED_VERIFICATION,
                             "SSL certificate OpenSSL verify result: %s (%d)" % (text, number))
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) == number


@pytest.mark.parametrize("kind,cainfo", [("selfsigned", "selfsigned"), ("leaf", "ca")])
def test_a_ca_flagged_leaf_that_is_or_has_a_trusted_issuer(ca_flagged_servers, curl, kind, cainfo):
    ports, files = ca_flagged_servers
    curl.setopt(pycurl.CAINFO, files[cainfo][0])
    body, _ = perform(curl, "https://localhost:%d/" % ports[kind])
    assert body == b"trusted"
    assert curl.getinfo(pycurl.SSL_VERIFYRESULT) == 0


def test_a_ca_flagged_leaf_with_a_trusted_issuer_still_needs_the_name(ca_flagged_servers, curl):
    ports, files = ca_flagged_servers
    curl.setopt(pycurl.CAINFO, files["ca"][0])
    with pytest.raises(pycurl.error) as ei:
        perform(curl, "https://127.0.0.1:%d/" % ports["leaf"])
    assert ei.value.args == (pycurl.E_PEER_FAILED_VERIFICATION,
                             "SSL: no alternative certificate subject name matches target IPv4 address '127.0.0.1'")


# ---- a transfer's timeout is judged before its waiting data -----------------------------------
# Found with thumbor's HTTP loader tests: tornado's curl client shares its IOLoop with the test's
# server, which blocks it past the request timeout; the answer is then in the socket when the
# client's periodic socket_all runs. libcurl checks a transfer's timeouts before anything else it
# does for it, so the transfer fails with 28 rather than completing late.

@pytest.mark.parametrize("drive", ["perform", "socket_all"])
@pytest.mark.filterwarnings("ignore:socket_all is deprecated:DeprecationWarning")
def test_timeout_passed_while_the_answer_waited_is_a_timeout(curl, drive):
    got_request = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def answer(conn):
        recv_head(conn)
        got_request.set()
        time.sleep(0.1)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHello")
        time.sleep(1)

    accept_loop(listener, answer)
    body = []
    curl.setopt(pycurl.URL, "http://127.0.0.1:%d/" % listener.getsockname()[1])
    curl.setopt(pycurl.WRITEFUNCTION, body.append)
    curl.setopt(pycurl.TIMEOUT_MS, 300)
    multi = pycurl.CurlMulti()
    multi.add_handle(curl)
    try:
        run = multi.perform if drive == "perform" else multi.socket_all
        while not got_request.wait(0.005):
            run()
        time.sleep(0.5)  # past TIMEOUT_MS, with the whole answer waiting
        run()
        queued, ok, failed = multi.info_read()
        assert (ok, [(c is curl, code) for c, code, _ in failed]) == ([], [(True, pycurl.E_OPERATION_TIMEDOUT)])
        assert failed[0][2].startswith("Operation timed out after ")
        assert failed[0][2].endswith(" milliseconds with 0 bytes received")
        assert body == []
    finally:
        multi.remove_handle(curl)
        multi.close()
        listener.close()


# ---- Name lookups that fail: the message's length, the trace, the connection number -----------
# Found while comparing request-curl's and pyload-ng's error handling under both: libcurl formats
# an error into its 256-byte error buffer (255 characters survive), traces a failed lookup with
# failf lines, and had numbered the connection it was opening (CONN_ID, "closing connection #n").

LONG_HOST = ("a" * 60 + ".") * 4 + "invalid"  # 251 characters, labels short enough to be asked


def test_an_error_message_keeps_what_libcurls_error_buffer_holds(curl):
    code, msg = perform_error(curl, "http://%s/" % LONG_HOST)
    expected = ("Could not resolve host: " + LONG_HOST)[:255]
    assert (code, msg, curl.errstr()) == (pycurl.E_COULDNT_RESOLVE_HOST, expected, expected)


def test_a_multis_error_message_is_cut_the_same_way(curl):
    curl.setopt(pycurl.URL, "http://%s/" % LONG_HOST)
    multi = pycurl.CurlMulti()
    multi.add_handle(curl)
    try:
        failed = []
        deadline = time.monotonic() + 20
        while not failed and time.monotonic() < deadline:
            multi.perform()
            failed = multi.info_read()[2]
            if not failed:
                multi.select(0.2)
        assert [(code, msg) for _, code, msg in failed] == [
            (pycurl.E_COULDNT_RESOLVE_HOST, ("Could not resolve host: " + LONG_HOST)[:255])]
    finally:
        multi.remove_handle(curl)
        multi.close()


def _text(t):
    return [data for kind, data in t if kind == pycurl.INFOTYPE_TEXT]


def test_a_failed_lookup_is_traced_and_closes_a_numbered_connection(curl):
    t = trace(curl)
    assert perform_error(curl, "http://nonexistent.invalid:8080/x")[0] == pycurl.E_COULDNT_RESOLVE_HOST
    assert _text(t) == [b"Could not resolve host: nonexistent.invalid\n"] * 2 + [
        b"Could not resolve: nonexistent.invalid:8080\n", b"closing connection #0\n"]
    assert curl.getinfo(pycurl.CONN_ID) == 0
    # The next connection of this handle is #1, whether it fails to resolve or to connect.
    del t[:]
    assert perform_error(curl, "http://127.0.0.1:1/")[0] == pycurl.E_COULDNT_CONNECT
    assert _text(t)[-1] == b"closing connection #1\n"
    assert curl.getinfo(pycurl.CONN_ID) == 1


def test_a_proxy_that_does_not_resolve_is_traced_by_its_name(curl):
    t = trace(curl)
    code, msg = perform_error(curl, "http://example.com/", PROXY="http://badproxy.invalid:3128")
    assert (code, msg) == (pycurl.E_COULDNT_RESOLVE_PROXY, "Could not resolve proxy: badproxy.invalid")
    assert _text(t) == [b"Could not resolve proxy: badproxy.invalid\n"] * 2 + [
        b"Could not resolve: badproxy.invalid:3128\n", b"closing connection #0\n"]


def test_a_long_name_is_cut_in_the_trace_too(curl):
    t = trace(curl)
    perform_error(curl, "http://%s/" % LONG_HOST)
    lines = _text(t)
    assert [len(line) for line in lines[:3]] == [256, 256, 256]
    assert lines[2] == ("Could not resolve: %s:80" % LONG_HOST)[:255].encode() + b"\n"


# ---- An application's "Transfer-Encoding: chunked" line -----------------------------------------
# Found with WMCore's pycurl_manager pattern (CUSTOMREQUEST PUT/DELETE, POSTFIELDS and an HTTPHEADER
# "Transfer-Encoding: chunked"): libcurl then frames the body chunked whatever its known size, sends
# no Content-Length of its own, and reports the upload's length as unknown (-1).

def _chunk_reader(data):
    src = io.BytesIO(data)
    return src.read


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_postfields_go_chunked_when_the_application_says_so(server, curl, method):
    opts = {"POST": 1} if method == "POST" else {"CUSTOMREQUEST": method}
    body, _ = perform(curl, server.url("/echo"), POSTFIELDS="a=1&b=2", TIMEOUT=10,
                      HTTPHEADER=["Transfer-Encoding: chunked"], **opts)
    req = server.last_request()
    assert (body, req.raw_body) == (method.encode() + b"\na=1&b=2", b"7\r\na=1&b=2\r\n0\r\n\r\n")
    assert req.header("content-length") is None and req.header("expect") is None
    assert curl.getinfo(pycurl.CONTENT_LENGTH_UPLOAD_T) == -1
    # The framing counts as uploaded, and as part of the request.
    assert curl.getinfo(pycurl.SIZE_UPLOAD_T) == 17
    assert curl.getinfo(pycurl.REQUEST_SIZE) == len(req)


def test_a_known_size_upload_is_chunked_and_cut_at_its_size(server, curl):
    perform(curl, server.url("/echo"), UPLOAD=1, INFILESIZE=10, TIMEOUT=10,
            READFUNCTION=_chunk_reader(b"0123456789ABCDEF"), HTTPHEADER=["transfer-encoding: gzip, CHUNKED"])
    req = server.last_request()
    assert req.raw_body == b"a\r\n0123456789\r\n0\r\n\r\n"
    # A PUT of a known size gets no Expect: 100-continue, chunked or not.
    assert (req.header("content-length"), req.header("expect")) == (None, None)


def test_a_read_callback_post_chunked_by_the_application_announces_itself(server, curl):
    perform(curl, server.url("/echo"), POST=1, POSTFIELDSIZE=10, TIMEOUT=10,
            READFUNCTION=_chunk_reader(b"0123456789"), HTTPHEADER=["Transfer-Encoding: chunked"])
    req = server.last_request()
    assert (req.raw_body, req.header("expect"), req.header("content-length")) == (
        b"a\r\n0123456789\r\n0\r\n\r\n", "100-continue", None)


def test_a_get_with_a_chunked_line_ends_with_the_last_chunk(server, curl):
    body, _ = perform(curl, server.url("/echo"), TIMEOUT=10, HTTPHEADER=["Transfer-Encoding: chunked"])
    assert (body, server.last_request().raw_body) == (b"GET\n", b"0\r\n\r\n")
    assert curl.getinfo(pycurl.SIZE_UPLOAD_T) == 5


@pytest.mark.parametrize("line", ["Transfer-Encoding: gzip", "Transfer-Encoding:"])
def test_other_transfer_encoding_lines_keep_the_length(server, curl, line):
    perform(curl, server.url("/echo"), POSTFIELDS="xyz", HTTPHEADER=[line])
    req = server.last_request()
    assert (req.header("content-length"), req.raw_body) == ("3", b"xyz")
    assert curl.getinfo(pycurl.CONTENT_LENGTH_UPLOAD_T) == 3


def test_a_chunked_uploads_request_size_counts_its_framing(server, curl):
    # No size: libcurl chunks on its own; REQUEST_SIZE is every byte sent, framing included.
    perform(curl, server.url("/echo"), UPLOAD=1, READFUNCTION=_chunk_reader(b"0123456789"))
    req = server.last_request()
    assert req.raw_body == b"a\r\n0123456789\r\n0\r\n\r\n"
    assert curl.getinfo(pycurl.REQUEST_SIZE) == len(req)


# ---- Values libcurl refuses that were accepted ----------------------------------------------------
# Found with pystreamdl, which sets MAX_RECV_SPEED_LARGE to -1 by default (refused by both), and the
# sweep of long options it led to: these refuse values no count, port or time could be.

@pytest.mark.parametrize("name,good,bad", [
    ("MAXCONNECTS", [0, 1, 2**31 - 1], [-1, -2]),
    ("TCP_KEEPIDLE", [0, 60, 70000], [-1]),
    ("TCP_KEEPINTVL", [0, 60, 70000], [-1]),
    ("EXPECT_100_TIMEOUT_MS", [0, 1000], [-1]),
    ("MAXAGE_CONN", [0, 118], [-1]),
    ("MAXLIFETIME_CONN", [0, 3600], [-1]),
    ("DNS_CACHE_TIMEOUT", [-1, 0, 60], [-2, -100]),
    ("LOCALPORT", [0, 1, 65535], [-1, 65536, 2**31 - 1]),
    ("LOCALPORTRANGE", [0, 1, 65535], [-1, 65536]),
    ("OPT_RTSP_CLIENT_CSEQ", [0, 1, 2**31 - 1], [-1]),
    ("OPT_RTSP_SERVER_CSEQ", [0, 1, 2**31 - 1], [-1]),
    ("NEW_FILE_PERMS", [0, 0o644, 0o777], [-1, 0o1000]),
    ("NEW_DIRECTORY_PERMS", [0, 0o755, 0o777], [-1, 0o1000]),
])
def test_long_options_refuse_what_libcurl_refuses(curl, name, good, bad):
    option = getattr(pycurl, name)
    for v in good:
        curl.setopt(option, v)
    for v in bad:
        with pytest.raises(pycurl.error) as ei:
            curl.setopt(option, v)
        assert ei.value.args == (pycurl.E_BAD_FUNCTION_ARGUMENT, "setopt 0x%x got bad argument" % option)
