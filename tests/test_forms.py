"""Forms sent for real: MIMEPOST (CurlMime) and HTTPPOST (pycurl's list of tuples) posted to a
loopback server that parses multipart/form-data with Python's email parser and answers with
what it found (JSON), plus the raw body for byte-exact checks with the boundary normalised.

Every test here passes under real pycurl (run: /tmp/ref/bin/python -m pytest tests/test_forms.py).

pycurl-rs sends forms through its transfer engine (a form is one of its request-body sources), so
``SENDS_FORMS`` is True under both.
"""
import base64
import email.parser
import email.policy
import http.server
import io
import json
import os
import re
import threading
import warnings

import pytest

import pycurl

IS_RS = "pycurl-rs" in pycurl.version
SENDS_FORMS = True

BOUNDARY_RE = re.compile(rb"-{24}[A-Za-z0-9]{22}")


def describe(part):
    """A parsed MIME part as plain data."""
    d = {"headers": [[k, str(v)] for k, v in part.items()]}
    if part.is_multipart():
        d["type"] = part.get_content_type()
        d["parts"] = [describe(p) for p in part.iter_parts()]
        return d
    d["name"] = part.get_param("name", header="content-disposition")
    d["filename"] = part.get_param("filename", header="content-disposition")
    d["disposition"] = part.get_content_disposition()
    d["type"] = part["content-type"] and part.get_content_type()
    d["cte"] = part["content-transfer-encoding"]
    d["data"] = base64.b64encode(part.get_payload(decode=True) or b"").decode()
    return d


class FormHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline()
                if not line:  # the client gave up mid-body (e.g. an encoder refused the data)
                    return out
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.read_body()
        self.server.log.append((self.path, body))
        if self.path.startswith("/redirect307"):
            return self.reply(307, headers=[("Location", "/form")])
        if self.path.startswith("/auth") and self.headers.get("Authorization") != "Basic dTpw":
            return self.reply(401, headers=[("WWW-Authenticate", 'Basic realm="forms"')])
        ctype = self.headers.get("Content-Type", "")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        answer = {
            "method": self.command,
            "content_type": ctype,
            "content_length": self.headers.get("Content-Length"),
            "transfer_encoding": self.headers.get("Transfer-Encoding"),
            "expect": self.headers.get("Expect"),
            "raw": body.decode("latin-1"),
            "form": describe(msg),
        }
        self.reply(200, json.dumps(answer).encode(), [("Content-Type", "application/json")])

    do_PUT = do_POST


@pytest.fixture(scope="module")
def form_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FormHandler)
    srv.log = []
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "f.txt"
    p.write_bytes(b"file content\nline2\n")
    return str(p)


def post(server, build, path="/form", **opts):
    """Build a form on a fresh handle with build(c) (which sets MIMEPOST or HTTPPOST), send it,
    return the server's answer."""
    c = pycurl.Curl()
    out = io.BytesIO()
    c.setopt(pycurl.URL, server.base + path)
    c.setopt(pycurl.WRITEDATA, out)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    keep = build(c)
    c.perform()
    answer = json.loads(out.getvalue())
    answer["info"] = [c.getinfo(pycurl.RESPONSE_CODE), c.getinfo(pycurl.EFFECTIVE_METHOD),
                      c.getinfo(pycurl.SIZE_UPLOAD_T)]
    del keep
    c.close()
    return answer


def mime(fill):
    def build(c):
        m = pycurl.CurlMime(c)
        fill(m, c)
        c.setopt(pycurl.MIMEPOST, m)
        return m
    return build


def raw(answer):
    return BOUNDARY_RE.sub(b"B", answer["raw"].encode("latin-1"))


def data(part):
    return base64.b64decode(part["data"])


def test_forms_refused_until_wired(form_server, text_file):
    """Interim behaviour (pycurl-rs before the transfer engine takes body sources): forms are
    checked like pycurl checks them, then refused with E_NOT_BUILT_IN. Under real pycurl, and
    once SENDS_FORMS is True, the same forms are sent (see TestSendsForms)."""
    c = pycurl.Curl()
    m = pycurl.CurlMime(c)
    m.add_field("a", "b")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        calls = [lambda: c.setopt(pycurl.MIMEPOST, m),
                 lambda: c.setopt(pycurl.HTTPPOST, [("a", (pycurl.FORM_FILE, text_file))])]
        for call in calls:
            if SENDS_FORMS:
                assert call() is None
            else:
                with pytest.raises(pycurl.error) as e:
                    call()
                assert e.value.args[0] == pycurl.E_NOT_BUILT_IN
    assert [str(x.message) for x in w] == ["HTTPPOST is deprecated; use MIMEPOST"]
    with pytest.raises(TypeError, match="unsupported second type in tuple"), \
            pytest.warns(DeprecationWarning, match="HTTPPOST is deprecated; use MIMEPOST"):
        c.setopt(pycurl.HTTPPOST, [("a", 1)])
    c.setopt(pycurl.MIMEPOST, None)
    c.unsetopt(pycurl.HTTPPOST)


if SENDS_FORMS:
    class TestSendsForms:
        def test_fields_as_libcurl_writes_them(self, form_server):
            a = post(form_server, mime(lambda m, c: (m.add_field("a", "hello"), m.add_field("b", b"y\x00z"))))
            assert re.fullmatch(r"multipart/form-data; boundary=-{24}[A-Za-z0-9]{22}", a["content_type"])
            assert a["content_type"].endswith(BOUNDARY_RE.search(a["raw"].encode()).group().decode())
            assert raw(a) == (b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nhello\r\n'
                              b'--B\r\nContent-Disposition: form-data; name="b"\r\n\r\ny\x00z\r\n--B--\r\n')
            assert a["content_length"] == str(len(a["raw"]))
            assert a["info"] == [200, "POST", len(a["raw"])]
            parts = a["form"]["parts"]
            assert [(p["name"], data(p)) for p in parts] == [("a", b"hello"), ("b", b"y\x00z")]

        def test_file_is_streamed(self, form_server, tmp_path):
            big = bytes(range(256)) * 20000  # 5 MB
            path = tmp_path / "big.bin"
            path.write_bytes(big)
            a = post(form_server, mime(lambda m, c: m.add_file("f", str(path))))
            (p,) = a["form"]["parts"]
            assert (p["name"], p["filename"], p["type"]) == ("f", "big.bin", "application/octet-stream")
            assert data(p) == big
            assert int(a["content_length"]) == len(a["raw"]) > len(big)

        def test_names_types_headers(self, form_server, text_file):
            def fill(m, c):
                m.add_file("f", text_file, filename="other.dat", content_type="text/x-foo")
                m.add(name="d", data=b"abc", filename="d.bin")
                m.add(name="g", data=b"q", filename="x.gif")
                m.add(name="h", data=b"abc", content_type="text/plain", headers=["X-One: 1", "X-Two: 2"])
                m.add(data=b"anon")
                m.add_field('a"b\r\nc', "v")
            a = post(form_server, mime(fill))
            assert raw(a) == (
                b'--B\r\nContent-Disposition: form-data; name="f"; filename="other.dat"\r\n'
                b"Content-Type: text/x-foo\r\n\r\nfile content\nline2\n\r\n"
                b'--B\r\nContent-Disposition: form-data; name="d"; filename="d.bin"\r\n\r\nabc\r\n'
                b'--B\r\nContent-Disposition: form-data; name="g"; filename="x.gif"\r\nContent-Type: image/gif\r\n\r\nq\r\n'
                b'--B\r\nContent-Disposition: form-data; name="h"\r\nContent-Type: text/plain\r\n'
                b"X-One: 1\r\nX-Two: 2\r\n\r\nabc\r\n"
                b"--B\r\nContent-Disposition: form-data\r\n\r\nanon\r\n"
                b'--B\r\nContent-Disposition: form-data; name="a%22b%0D%0Ac"\r\n\r\nv\r\n--B--\r\n')
            h = a["form"]["parts"][3]
            assert ["X-One", "1"] in h["headers"] and ["X-Two", "2"] in h["headers"]

        @pytest.mark.parametrize("encoder", ["binary", "8bit", "base64", "quoted-printable"])
        def test_encoders_round_trip(self, form_server, encoder):
            payload = b"line one\r\nl\xe9 = two\ttab \r\n" + b"x" * 80 + bytes(range(256))
            a = post(form_server, mime(lambda m, c: m.add(name="e", data=payload, encoder=encoder)))
            (p,) = a["form"]["parts"]
            assert p["cte"] == encoder
            assert data(p) == payload
            if encoder == "quoted-printable":
                # the size is not known in advance: chunked, with Expect: 100-continue
                assert (a["transfer_encoding"], a["expect"], a["content_length"]) == ("chunked", "100-continue", None)
                assert max(len(line) for line in raw(a).split(b"\r\n")) <= 76
            else:
                assert a["content_length"] == str(len(a["raw"]))

        def test_base64_lines(self, form_server):
            a = post(form_server, mime(lambda m, c: m.add(name="e", data=bytes(range(256)), encoder="base64")))
            body = raw(a).split(b"\r\n\r\n", 1)[1]
            assert body.startswith(b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\r\n")
            assert body.endswith(b"+/w==\r\n--B--\r\n")

        def test_7bit_refuses_8bit_data(self, form_server):
            with pytest.raises(pycurl.error) as e:
                post(form_server, mime(lambda m, c: m.add(name="e", data=b"\xe9", encoder="7bit")))
            assert e.value.args[0] == pycurl.E_READ_ERROR

        def test_nested_multipart(self, form_server, text_file):
            def fill(m, c):
                sub = m.add_multipart("sub")
                sub.add_field("s1", "one")
                sub.add_file("s2", text_file)
                alt = m.add_multipart(None, subtype="alternative")
                alt.add(data=b"plain", content_type="text/plain")
                child = pycurl.CurlMime(c)
                child.add_field("in", "v")
                p = m.addpart()
                p.name("outer")
                p.subparts(child)
                m.add_field("after", "x")
            a = post(form_server, mime(fill))
            sub, alt, outer, after = a["form"]["parts"]
            assert sub["type"] == "multipart/mixed"
            assert [(p["name"], p["filename"], p["disposition"], data(p)) for p in sub["parts"]] == [
                ("s1", None, "attachment", b"one"), ("s2", "f.txt", "attachment", b"file content\nline2\n")]
            assert alt["type"] == "multipart/alternative"
            assert [(p["disposition"], p["type"], data(p)) for p in alt["parts"]] == [(None, "text/plain", b"plain")]
            assert outer["type"] == "multipart/mixed" and data(outer["parts"][0]) == b"v"
            assert (after["name"], data(after)) == ("after", b"x")
            assert b'--B\r\nContent-Disposition: form-data; name="sub"\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n' \
                in raw(a)

        def test_callback_parts(self, form_server):
            def fill(m, c):
                chunks = [b"hel", "lo"]
                m.addpart().data_cb(5, lambda ud, n: chunks.pop(0) if chunks else b"")
                p = m.addpart()
                p.name("cb")
                left = [b"hi"]
                p.data_cb(None, lambda ud, n: ud.pop() if ud else b"", None, None, left)
            a = post(form_server, mime(fill))
            assert [data(p) for p in a["form"]["parts"]] == [b"hello", b"hi"]
            assert a["transfer_encoding"] == "chunked"

        def test_body_rewinds_on_redirect(self, form_server, text_file):
            log = []
            state = {"pos": 0}

            def read(ud, n):
                d = b"hello"[state["pos"]:state["pos"] + n]
                state["pos"] += len(d)
                return d

            def seek(ud, offset, origin):
                log.append((ud, offset, origin))
                state["pos"] = offset
                return pycurl.SEEKFUNC_OK

            def fill(m, c):
                m.add_file("f", text_file)
                m.addpart().data_cb(5, read, seek, None, "U")
            form_server.log.clear()
            a = post(form_server, mime(fill), "/redirect307", FOLLOWLOCATION=1)
            assert [p for p, _ in form_server.log] == ["/redirect307", "/form"]
            assert form_server.log[0][1] == a["raw"].encode("latin-1")
            assert [data(p) for p in a["form"]["parts"]] == [b"file content\nline2\n", b"hello"]
            assert log == [("U", 0, 0)]

        def test_body_without_seek_cannot_rewind(self, form_server):
            state = {"pos": 0}

            def read(ud, n):
                d = b"hello"[state["pos"]:state["pos"] + n]
                state["pos"] += len(d)
                return d
            with pytest.raises(pycurl.error) as e:
                post(form_server, mime(lambda m, c: m.addpart().data_cb(5, read)), "/redirect307", FOLLOWLOCATION=1)
            assert e.value.args == (65, "Cannot rewind mime/post data")

        def test_body_rewinds_on_auth_retry(self, form_server, text_file):
            form_server.log.clear()
            a = post(form_server, mime(lambda m, c: (m.add_field("a", "1"), m.add_file("f", text_file))), "/auth",
                     USERPWD="u:p", HTTPAUTH=pycurl.HTTPAUTH_ANY)
            assert a["info"][0] == 200
            assert [p for p, _ in form_server.log][-1] == "/auth"
            assert [data(p) for p in a["form"]["parts"]] == [b"1", b"file content\nline2\n"]

        def test_httppost_tuples(self, form_server, text_file, tmp_path):
            gif = tmp_path / "x.gif"
            gif.write_bytes(b"GIF")

            def build(c):
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    c.setopt(pycurl.HTTPPOST, [
                        ("a", "1"),
                        (b"b", (pycurl.FORM_CONTENTS, "two", pycurl.FORM_CONTENTTYPE, "application/json")),
                        ("f", (pycurl.FORM_FILE, text_file, pycurl.FORM_FILENAME, "n.txt")),
                        ("buf", (pycurl.FORM_BUFFER, "buf.bin", pycurl.FORM_BUFFERPTR, b"\x00\x01data")),
                        ("two", (pycurl.FORM_FILE, text_file, pycurl.FORM_FILE, str(gif))),
                    ])
                assert [(x.category, str(x.message)) for x in w] == [
                    (DeprecationWarning, "HTTPPOST is deprecated; use MIMEPOST")]
            a = post(form_server, build)
            p = a["form"]["parts"]
            assert [(x["name"], data(x)) for x in p[:2]] == [("a", b"1"), ("b", b"two")]
            assert p[1]["type"] == "application/json"
            assert (p[2]["filename"], p[2]["type"], data(p[2])) == ("n.txt", "text/plain", b"file content\nline2\n")
            assert (p[3]["filename"], p[3]["type"], data(p[3])) == ("buf.bin", "application/octet-stream",
                                                                    b"\x00\x01data")
            assert p[4]["type"] == "multipart/mixed"
            assert [(x["filename"], x["type"]) for x in p[4]["parts"]] == [("f.txt", "text/plain"),
                                                                           ("x.gif", "image/gif")]

        def test_httppost_missing_file_fails_at_perform(self, form_server):
            with pytest.raises(pycurl.error) as e, pytest.warns(DeprecationWarning):
                post(form_server, lambda c: c.setopt(pycurl.HTTPPOST, [("a", (pycurl.FORM_FILE, "/nonexistent"))]))
            assert e.value.args[0] == pycurl.E_READ_ERROR

        def test_empty_form(self, form_server):
            a = post(form_server, mime(lambda m, c: None))
            assert raw(a) == b"--B--\r\n"
            assert a["content_length"] == "52"


@pytest.fixture
def files(tmp_path):
    """f.txt, f.bin (bytes 0..255) and x.gif in a temporary directory."""
    (tmp_path / "f.txt").write_bytes(b"file content\nline2\n")
    (tmp_path / "f.bin").write_bytes(bytes(range(256)))
    (tmp_path / "x.gif").write_bytes(b"GIF")
    return tmp_path


def _nested(m, c, d):
    sub = m.add_multipart("sub")
    sub.add_field("s1", "one")
    sub.add_file("s2", str(d / "f.txt"))
    sub.add(data=b"x", filename="q.bin")
    alt = m.add_multipart(None, subtype="alternative")
    alt.add(data=b"plain", content_type="text/plain")
    child = pycurl.CurlMime(c)
    child.add_field("in", "v")
    p = m.addpart()
    p.subparts(child)
    p.type("multipart/form-data")
    m.add_field("after", "x")


def _callbacks(m, c, d):
    def reader(payload):
        state = {"pos": 0}

        def read(ud, n):
            chunk = payload[state["pos"]:state["pos"] + min(n, 3)]
            state["pos"] += len(chunk)
            return chunk if ud == "bytes" else chunk.decode("ascii")

        def seek(ud, offset, origin):
            state["pos"] = offset
            return pycurl.SEEKFUNC_OK
        return read, seek
    read, seek = reader(b"hello callback")
    p = m.addpart()
    p.name("cb")
    p.data_cb(14, read, seek, None, "bytes")
    read2, seek2 = reader(b"unknown size, as str")
    m.addpart().data_cb(None, read2, seek2, None, "str")


TEXT = b"line one\r\nl\xe9 = two\ttab \r\n" + b"x" * 80 + b"\r\n" + b"=" * 30 + b"y" * 70 + b"\r\na \t"
# (option, build(mime or None, curl, files dir) -> value for setopt)
BODY_CASES = {
    "fields": (pycurl.MIMEPOST, lambda m, c, d: (m.add_field("a", "hello"), m.add_field("b", b"y\x00z"), m.add(data=b"anon"),
                                                 m.addpart(), m.add_field('q"\\\r\n', "v"))),
    "files": (pycurl.MIMEPOST, lambda m, c, d: (m.add_file("f", str(d / "f.txt")), m.add_file("b", str(d / "f.bin")),
                                                m.add_file("g", str(d / "x.gif"), filename="noext"),
                                                m.add_file("t", str(d / "f.txt"), filename="o.dat", content_type="t/x"))),
    "headers": (pycurl.MIMEPOST, lambda m, c, d: (
        m.add(name="h", data=b"abc", content_type="text/x", headers=["X-A: b"], encoder="base64"),
        m.add(name="w", data=b"abc", headers=["Content-Transfer-Encoding: weird"], encoder="base64"),
        m.add(name="l", data=b"abc", headers=["content-type: x/y", "content-disposition: inline"]),
        m.add(name="d", data=b"abc", filename="d.bin"), m.add(data=b"abc", filename="a.gif"))),
    "encoders": (pycurl.MIMEPOST, lambda m, c, d: [m.add(name=e, data=TEXT, encoder=e) for e in
                                                   ("binary", "8bit", "base64", "quoted-printable")]),
    "encoded_file": (pycurl.MIMEPOST, lambda m, c, d: (m.add_file("b", str(d / "f.bin"), encoder="base64"),
                                                       m.add_file("q", str(d / "f.bin"), encoder="quoted-printable"))),
    "nested": (pycurl.MIMEPOST, _nested),
    "callbacks": (pycurl.MIMEPOST, _callbacks),
    "httppost": (pycurl.HTTPPOST, lambda m, c, d: [
        ("a", "1"), (b"b", (pycurl.FORM_CONTENTS, "two", pycurl.FORM_CONTENTTYPE, "application/json")),
        ("f", (pycurl.FORM_FILE, str(d / "f.txt"), pycurl.FORM_FILENAME, "n.txt")),
        ("buf", (pycurl.FORM_BUFFER, "buf.bin", pycurl.FORM_BUFFERPTR, b"\x00\x01data")),
        ("ptr", (pycurl.FORM_BUFFERPTR, b"xyz")), ("cf", (pycurl.FORM_CONTENTS, "v", pycurl.FORM_FILENAME, "x.txt")),
        ("two", (pycurl.FORM_FILE, str(d / "f.txt"), pycurl.FORM_FILE, str(d / "x.gif"), pycurl.FORM_CONTENTTYPE, "a/b"))]),
}


# What libcurl 8.23 sends for BODY_CASES (captured from real pycurl), boundaries as B.
EXPECTED_BODIES = {
    'callbacks': (
        b'--B\r\n'
        b'Content-Disposition: form-data; name="cb"\r\n'
        b'\r\n'
        b'hello callback\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data\r\n'
        b'\r\n'
        b'unknown size, as str\r\n'
        b'--B--\r\n'
        ,
        False),
    'encoded_file': (
        b'--B\r\n'
        b'Content-Disposition: form-data; name="b"; filename="f.bin"\r\n'
        b'Content-Type: application/octet-stream\r\n'
        b'Content-Transfer-Encoding: base64\r\n'
        b'\r\n'
        b'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\r\n'
        b'OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx\r\n'
        b'cnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmq\r\n'
        b'q6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj\r\n'
        b'5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="q"; filename="f.bin"\r\n'
        b'Content-Type: application/octet-stream\r\n'
        b'Content-Transfer-Encoding: quoted-printable\r\n'
        b'\r\n'
        b'=00=01=02=03=04=05=06=07=08\t=0A=0B=0C=0D=0E=0F=10=11=12=13=14=15=16=17=18=\r\n'
        b'=19=1A=1B=1C=1D=1E=1F !"#$%&\'()*+,-./0123456789:;<=3D>?@ABCDEFGHIJKLMNOPQRS=\r\n'
        b'TUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~=7F=80=81=82=83=84=85=86=87=88=\r\n'
        b'=89=8A=8B=8C=8D=8E=8F=90=91=92=93=94=95=96=97=98=99=9A=9B=9C=9D=9E=9F=A0=A1=\r\n'
        b'=A2=A3=A4=A5=A6=A7=A8=A9=AA=AB=AC=AD=AE=AF=B0=B1=B2=B3=B4=B5=B6=B7=B8=B9=BA=\r\n'
        b'=BB=BC=BD=BE=BF=C0=C1=C2=C3=C4=C5=C6=C7=C8=C9=CA=CB=CC=CD=CE=CF=D0=D1=D2=D3=\r\n'
        b'=D4=D5=D6=D7=D8=D9=DA=DB=DC=DD=DE=DF=E0=E1=E2=E3=E4=E5=E6=E7=E8=E9=EA=EB=EC=\r\n'
        b'=ED=EE=EF=F0=F1=F2=F3=F4=F5=F6=F7=F8=F9=FA=FB=FC=FD=FE=FF\r\n'
        b'--B--\r\n'
        ,
        False),
    'encoders': (
        b'--B\r\n'
        b'Content-Disposition: form-data; name="binary"\r\n'
        b'Content-Transfer-Encoding: binary\r\n'
        b'\r\n'
        b'line one\r\n'
        b'l\xe9 = two\ttab \r\n'
        b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'
        b'==============================yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n'
        b'a \t\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="8bit"\r\n'
        b'Content-Transfer-Encoding: 8bit\r\n'
        b'\r\n'
        b'line one\r\n'
        b'l\xe9 = two\ttab \r\n'
        b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'
        b'==============================yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n'
        b'a \t\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="base64"\r\n'
        b'Content-Transfer-Encoding: base64\r\n'
        b'\r\n'
        b'bGluZSBvbmUNCmzpID0gdHdvCXRhYiANCnh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4\r\n'
        b'eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4DQo9PT09PT09\r\n'
        b'PT09PT09PT09PT09PT09PT09PT09PT15eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5\r\n'
        b'eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5DQphIAk=\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="quoted-printable"\r\n'
        b'Content-Transfer-Encoding: quoted-printable\r\n'
        b'\r\n'
        b'line one\r\n'
        b'l=E9 =3D two\ttab=20\r\n'
        b'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\r\n'
        b'xxxxx\r\n'
        b'=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=3D=\r\n'
        b'=3D=3D=3D=3D=3Dyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy=\r\n'
        b'yyyyyyyyyy\r\n'
        b'a =09\r\n'
        b'--B--\r\n'
        ,
        False),
    'fields': (
        b'--B\r\n'
        b'Content-Disposition: form-data; name="a"\r\n'
        b'\r\n'
        b'hello\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="b"\r\n'
        b'\r\n'
        b'y\x00z\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data\r\n'
        b'\r\n'
        b'anon\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data\r\n'
        b'\r\n'
        b'\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="q%22\\%0D%0A"\r\n'
        b'\r\n'
        b'v\r\n'
        b'--B--\r\n'
        ,
        True),
    'files': (
        b'--B\r\n'
        b'Content-Disposition: form-data; name="f"; filename="f.txt"\r\n'
        b'Content-Type: text/plain\r\n'
        b'\r\n'
        b'file content\nline2\n\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="b"; filename="f.bin"\r\n'
        b'Content-Type: application/octet-stream\r\n'
        b'\r\n'
        b'\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf\xe0\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="g"; filename="noext"\r\n'
        b'Content-Type: image/gif\r\n'
        b'\r\n'
        b'GIF\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="t"; filename="o.dat"\r\n'
        b'Content-Type: t/x\r\n'
        b'\r\n'
        b'file content\nline2\n\r\n'
        b'--B--\r\n'
        ,
        True),
    'headers': (
        b'--B\r\n'
        b'Content-Disposition: form-data; name="h"\r\n'
        b'Content-Type: text/x\r\n'
        b'Content-Transfer-Encoding: base64\r\n'
        b'X-A: b\r\n'
        b'\r\n'
        b'YWJj\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="w"\r\n'
        b'Content-Transfer-Encoding: weird\r\n'
        b'\r\n'
        b'YWJj\r\n'
        b'--B\r\n'
        b'Content-Type: x/y\r\n'
        b'content-disposition: inline\r\n'
        b'\r\n'
        b'abc\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="d"; filename="d.bin"\r\n'
        b'\r\n'
        b'abc\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; filename="a.gif"\r\n'
        b'Content-Type: image/gif\r\n'
        b'\r\n'
        b'abc\r\n'
        b'--B--\r\n'
        ,
        True),
    'httppost': (
        b'--B\r\n'
        b'Content-Disposition: form-data; name="a"\r\n'
        b'\r\n'
        b'1\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="b"\r\n'
        b'Content-Type: application/json\r\n'
        b'\r\n'
        b'two\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="f"; filename="n.txt"\r\n'
        b'Content-Type: text/plain\r\n'
        b'\r\n'
        b'file content\nline2\n\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="buf"; filename="buf.bin"\r\n'
        b'Content-Type: application/octet-stream\r\n'
        b'\r\n'
        b'\x00\x01data\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="ptr"\r\n'
        b'Content-Type: application/octet-stream\r\n'
        b'\r\n'
        b'xyz\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="cf"\r\n'
        b'\r\n'
        b'v\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="two"\r\n'
        b'Content-Type: multipart/mixed; boundary=B\r\n'
        b'\r\n'
        b'--B\r\n'
        b'Content-Disposition: attachment; filename="f.txt"\r\n'
        b'Content-Type: text/plain\r\n'
        b'\r\n'
        b'file content\nline2\n\r\n'
        b'--B\r\n'
        b'Content-Disposition: attachment; filename="x.gif"\r\n'
        b'Content-Type: a/b\r\n'
        b'\r\n'
        b'GIF\r\n'
        b'--B--\r\n'
        b'\r\n'
        b'--B--\r\n'
        ,
        True),
    'nested': (
        b'--B\r\n'
        b'Content-Disposition: form-data; name="sub"\r\n'
        b'Content-Type: multipart/mixed; boundary=B\r\n'
        b'\r\n'
        b'--B\r\n'
        b'Content-Disposition: attachment; name="s1"\r\n'
        b'\r\n'
        b'one\r\n'
        b'--B\r\n'
        b'Content-Disposition: attachment; name="s2"; filename="f.txt"\r\n'
        b'Content-Type: text/plain\r\n'
        b'\r\n'
        b'file content\nline2\n\r\n'
        b'--B\r\n'
        b'Content-Disposition: attachment; filename="q.bin"\r\n'
        b'\r\n'
        b'x\r\n'
        b'--B--\r\n'
        b'\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data\r\n'
        b'Content-Type: multipart/alternative; boundary=B\r\n'
        b'\r\n'
        b'--B\r\n'
        b'Content-Type: text/plain\r\n'
        b'\r\n'
        b'plain\r\n'
        b'--B--\r\n'
        b'\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data\r\n'
        b'Content-Type: multipart/form-data; boundary=B\r\n'
        b'\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="in"\r\n'
        b'\r\n'
        b'v\r\n'
        b'--B--\r\n'
        b'\r\n'
        b'--B\r\n'
        b'Content-Disposition: form-data; name="after"\r\n'
        b'\r\n'
        b'x\r\n'
        b'--B--\r\n'
        ,
        True),
}


def form_body(server, case, files):
    """(Content-Type, body) of a form: sent to the server when forms are sent, else encoded by
    pycurl-rs's engine directly (the bytes its transfer will send), with the boundary as B."""
    option, build = BODY_CASES[case]
    c = pycurl.Curl()
    m = pycurl.CurlMime(c)
    value = build(m, c, files)
    if option == pycurl.MIMEPOST:
        value = m
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if SENDS_FORMS:
            out = io.BytesIO()
            c.setopt(pycurl.URL, server.base + "/form")
            c.setopt(pycurl.WRITEDATA, out)
            c.setopt(option, value)
            c.perform()
            a = json.loads(out.getvalue())
            ctype, body, size = a["content_type"], a["raw"].encode("latin-1"), a["content_length"]
            size = int(size) if size is not None else None
        else:
            ctype, size, body = pycurl._pycurl._form_body(c, option, value)
    assert size in (None, len(body))
    return BOUNDARY_RE.sub(b"B", ctype.encode()), BOUNDARY_RE.sub(b"B", body), size is not None


@pytest.mark.parametrize("case", sorted(BODY_CASES))
def test_form_bodies_as_libcurl_writes_them(form_server, files, case):
    ctype, body, sized = form_body(form_server, case, files)
    assert ctype == b"multipart/form-data; boundary=B"
    assert (body, sized) == EXPECTED_BODIES[case]


def test_server_parses_multipart(form_server):
    """The loopback server itself: what it reports for a hand-made multipart body."""
    body = (b'--XX\r\nContent-Disposition: form-data; name="a"; filename="f.txt"\r\nContent-Type: text/plain\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n--XX--\r\n")
    c = pycurl.Curl()
    out = io.BytesIO()
    c.setopt(pycurl.URL, form_server.base + "/form")
    c.setopt(pycurl.POSTFIELDS, body)
    c.setopt(pycurl.HTTPHEADER, ["Content-Type: multipart/form-data; boundary=XX"])
    c.setopt(pycurl.WRITEDATA, out)
    c.perform()
    c.close()
    (p,) = json.loads(out.getvalue())["form"]["parts"]
    assert (p["name"], p["filename"], p["type"], p["cte"], data(p)) == ("a", "f.txt", "text/plain", "base64", b"hi")
    assert os.path.basename(__file__) == "test_forms.py"


def send(server, build, path="/form", **opts):
    """Like post() but returns (answer or the pycurl.error args, getinfo method)."""
    c = pycurl.Curl()
    out = io.BytesIO()
    c.setopt(pycurl.URL, server.base + path)
    c.setopt(pycurl.WRITEDATA, out)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    keep = build(c)
    try:
        c.perform()
    except pycurl.error as e:
        return e.args
    finally:
        del keep
    return json.loads(out.getvalue())


def with_mime(fill, after=None):
    def build(c):
        m = pycurl.CurlMime(c)
        fill(m)
        c.setopt(pycurl.MIMEPOST, m)
        if after:
            after(c, m)
        return m
    return build


def test_mime_is_read_when_the_transfer_starts(form_server):
    a = send(form_server, with_mime(lambda m: m.add_field("a", "1"), lambda c, m: m.add_field("late", "2")))
    assert [p["name"] for p in a["form"]["parts"]] == ["a", "late"]


@pytest.mark.parametrize("after", [lambda c, m: m.close(), lambda c, m: c.setopt(pycurl.MIMEPOST, None),
                                   lambda c, m: c.unsetopt(pycurl.MIMEPOST)])
def test_closed_or_unset_mime_posts_nothing(form_server, after):
    a = send(form_server, with_mime(lambda m: m.add_field("a", "1"), after))
    assert (a["method"], a["content_type"], a["content_length"], a["raw"]) == ("POST", "", "0", "")


def test_other_body_options_replace_the_form(form_server):
    a = send(form_server, with_mime(lambda m: m.add_field("a", "1"), lambda c, m: c.setopt(pycurl.POSTFIELDS, "x=1")))
    assert (a["content_type"], a["raw"]) == ("application/x-www-form-urlencoded", "x=1")
    a = send(form_server, with_mime(lambda m: m.add_field("a", "1"), lambda c, m: c.setopt(pycurl.CUSTOMREQUEST, "PUT")))
    assert a["method"] == "PUT" and a["content_type"].startswith("multipart/form-data; boundary=")


def test_form_read_errors_carry_libcurls_codes(form_server):
    assert send(form_server, with_mime(lambda m: m.addpart().data_cb(5, lambda ud, n: pycurl.READFUNC_ABORT))) == (
        42, "operation aborted by callback")
    assert send(form_server, with_mime(lambda m: m.add(name="e", data=b"\xe9", encoder="7bit"))) == (
        26, "read error getting mime data")
    assert send(form_server, with_mime(lambda m: m.addpart().data_cb(10, lambda ud, n: b""))) == (
        26, "client mime read EOF fail, only 138/148 of needed bytes read")

    def read(ud, n, state={"pos": 0}):
        d = b"hello"[state["pos"]:state["pos"] + n]
        state["pos"] += len(d)
        return d
    failing_seek = with_mime(lambda m: m.addpart().data_cb(5, read, lambda ud, o, w: pycurl.SEEKFUNC_FAIL))
    assert send(form_server, failing_seek, "/redirect307", FOLLOWLOCATION=1) == (65, "Cannot rewind mime/post data")


def test_httppost_bufferptr_keeps_the_bytes_object():
    """pycurl hands libcurl the bytes object's own buffer: the handle keeps a reference to each
    FORM_BUFFERPTR bytes (not to a str, which is encoded), until HTTPPOST is replaced or unset,
    reset() or close(); a duphandle() copy shares them."""
    import sys

    payload = bytes(40)
    base = sys.getrefcount(payload)

    def refs():
        return sys.getrefcount(payload) - base

    def form(*extra):
        return [("f", (pycurl.FORM_BUFFER, "n.txt", pycurl.FORM_BUFFERPTR, payload))] + list(extra)

    c = pycurl.Curl()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        c.setopt(pycurl.HTTPPOST, form(("g", (pycurl.FORM_BUFFER, "m.txt", pycurl.FORM_BUFFERPTR, payload))))
        assert refs() == 2
        d = c.duphandle()
        assert refs() == 2
        d.close()
        c.setopt(pycurl.MIMEPOST, None)  # another option: the form's buffers stay
        assert refs() == 2
        c.setopt(pycurl.HTTPPOST, [("f", (pycurl.FORM_BUFFER, "n.txt", pycurl.FORM_BUFFERPTR, "text"))])
        assert refs() == 0
        c.setopt(pycurl.HTTPPOST, form())
        assert refs() == 1
        c.unsetopt(pycurl.HTTPPOST)
        assert refs() == 0
        c.setopt(pycurl.HTTPPOST, form())
        c.reset()
        assert refs() == 0
        c.setopt(pycurl.HTTPPOST, form())
        assert refs() == 1
        c.close()
        assert refs() == 0
