"""NTLM authentication (HTTPAUTH_NTLM, PROXYAUTH NTLM) as libcurl runs it: the type-1 with the first
request (NTLM alone) or after a probe's 401 (ANY), the type-3 on the same connection, POST bodies held
back from the type-1 request, an authenticated connection reused without headers and only for the
same user.

The server here is a real one on loopback that checks each type-3 completely: it knows the password
and recomputes the NTLMv2 and LMv2 responses (MS-NLMP 3.3.2), or the NTLMv1 and LM responses when its
challenge leaves out NEGOTIATE_NTLM2_KEY. Proxies: squid with its ntlm_fake_auth helper, for
absolute-form requests and CONNECT tunnels. The real pycurl's libcurl is built without NTLM (libcurl
8.23 leaves it out unless configured with --enable-ntlm), so each server case is also run through
the curl tool (libcurl with NTLM) and the requests it sends are compared with ours."""

import base64
import hashlib
import hmac
import os
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

import pycurl

import proxies
from proxies import no_env_proxy  # noqa: F401 (fixture)
from helpers import perform

NTLM = pycurl.HTTPAUTH_NTLM
USER, PASSWORD = "CORP\\alice", "s3cret"

UNICODE, OEM, NTLM_KEY, NTLM2_KEY, TARGET_INFO = 0x1, 0x2, 0x200, 0x80000, 0x800000
TYPE1 = b"NTLMSSP\0" + struct.pack("<II", 1, 0x00088206) + bytes(16)


# -- MS-NLMP on the server side -------------------------------------------------------------------

def md4(data: bytes) -> bytes:
    """RFC 1320 (hashlib has no MD4 once OpenSSL 3 drops it)."""
    def rol(x, n):
        x &= 0xFFFFFFFF
        return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF

    def f(x, y, z):
        return (x & y) | (~x & z)

    def g(x, y, z):
        return (x & y) | (x & z) | (y & z)

    def h(x, y, z):
        return x ^ y ^ z

    msg = data + b"\x80" + bytes((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        a, b, c, d = state
        for i in (0, 4, 8, 12):
            a = rol(a + f(b, c, d) + x[i], 3)
            d = rol(d + f(a, b, c) + x[i + 1], 7)
            c = rol(c + f(d, a, b) + x[i + 2], 11)
            b = rol(b + f(c, d, a) + x[i + 3], 19)
        for i in (0, 1, 2, 3):
            a = rol(a + g(b, c, d) + x[i] + 0x5A827999, 3)
            d = rol(d + g(a, b, c) + x[i + 4] + 0x5A827999, 5)
            c = rol(c + g(d, a, b) + x[i + 8] + 0x5A827999, 9)
            b = rol(b + g(c, d, a) + x[i + 12] + 0x5A827999, 13)
        for i in (0, 2, 1, 3):
            a = rol(a + h(b, c, d) + x[i] + 0x6ED9EBA1, 3)
            d = rol(d + h(a, b, c) + x[i + 8] + 0x6ED9EBA1, 9)
            c = rol(c + h(d, a, b) + x[i + 4] + 0x6ED9EBA1, 11)
            b = rol(b + h(c, d, a) + x[i + 12] + 0x6ED9EBA1, 15)
        state = [(v + w) & 0xFFFFFFFF for v, w in zip(state, (a, b, c, d))]
    return struct.pack("<4I", *state)


def test_md4_of_the_server_is_rfc1320():
    assert md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
    assert md4(b"1234567890" * 8).hex() == "e33b4ddc9c38f2199c3e7b164fcc0536"


def des(key7: bytes, block: bytes) -> bytes:
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # cryptography before 43
        from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes
    k = int.from_bytes(key7, "big")
    key = bytes(((k >> (56 - 7 * (i + 1))) & 0x7F) << 1 for i in range(8))
    enc = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def nt_hash(password: str) -> bytes:
    return md4(password.encode("utf-16-le"))


def ntowf_v2(user: str, domain: str, password: str) -> bytes:
    return hmac.new(nt_hash(password), (user.upper() + domain).encode("utf-16-le"), hashlib.md5).digest()


def av_pairs() -> bytes:
    out = b""
    for av_id, text in ((2, "CORP"), (1, "SERVER"), (4, "corp.example")):
        value = text.encode("utf-16-le")
        out += struct.pack("<HH", av_id, len(value)) + value
    return out + struct.pack("<HH", 0, 0)


def type2(flags: int, nonce: bytes, target_info: bytes) -> bytes:
    name = "CORP".encode("utf-16-le")
    head_len = 48
    return (b"NTLMSSP\0" + struct.pack("<I", 2)
            + struct.pack("<HHI", len(name), len(name), head_len)
            + struct.pack("<I", flags) + nonce + bytes(8)
            + struct.pack("<HHI", len(target_info), len(target_info), head_len + len(name))
            + name + target_info)


def check_type3(msg: bytes, flags: int, nonce: bytes, target_info: bytes, password: str) -> list:
    """Everything wrong with a type-3 answering our type-2, as libcurl builds it (empty: none)."""
    errors = []
    if msg[:12] != b"NTLMSSP\0\x03\0\0\0" or len(msg) < 64:
        return ["not a type-3"]

    def field(at):
        length, alloc, off = struct.unpack_from("<HHI", msg, at)
        if alloc != length or off + length > len(msg):
            errors.append(f"security buffer at {at} is wrong: {length} {alloc} {off}")
        return msg[off:off + length], off

    (lm, lm_off), (nt, nt_off) = field(12), field(20)
    (dom, dom_off), (user, user_off), (host, host_off) = field(28), field(36), field(44)
    session, _ = field(52)
    sent_flags = struct.unpack_from("<I", msg, 60)[0]
    # libcurl's layout: header, LM response, NT response, domain, user, workstation.
    if (lm_off, nt_off, dom_off, user_off, host_off) != (64, 88, 88 + len(nt), 88 + len(nt) + len(dom),
                                                         88 + len(nt) + len(dom) + len(user)):
        errors.append("layout differs from libcurl's")
    if len(msg) != host_off + len(host) or session:
        errors.append("trailing bytes or a session key")
    text = (lambda b: b.decode("utf-16-le")) if flags & UNICODE else (lambda b: b.decode("latin-1"))
    domain, _, user_name = USER.partition("\\")
    if (text(dom), text(user), text(host)) != (domain, user_name, "WORKSTATION"):
        errors.append(f"names: {text(dom)!r} {text(user)!r} {text(host)!r}")
    if flags & NTLM2_KEY:
        if sent_flags != flags:
            errors.append(f"flags {sent_flags:#x} are not the challenge's {flags:#x}")
        key = ntowf_v2(user_name, domain, password)
        proof, blob = nt[:16], nt[16:]
        if hmac.new(key, nonce + blob, hashlib.md5).digest() != proof:
            errors.append("NTProofStr does not verify")
        if blob[:8] != b"\x01\x01" + bytes(6):
            errors.append("blob signature")
        filetime = struct.unpack_from("<Q", blob, 8)[0]
        unix = filetime / 10_000_000 - 11644473600
        if abs(unix - time.time()) > 300:
            errors.append(f"timestamp {unix} is not now")
        client = blob[16:24]
        if blob[24:28] != bytes(4) or blob[28:] != target_info + bytes(4):
            errors.append("blob does not carry our target info as libcurl lays it out")
        if lm != hmac.new(key, nonce + client, hashlib.md5).digest() + client:
            errors.append("LMv2 response does not verify")
    else:
        if sent_flags != flags & ~NTLM2_KEY:
            errors.append(f"flags {sent_flags:#x}")
        nt_key = nt_hash(password) + bytes(5)
        want_nt = b"".join(des(nt_key[i:i + 7], nonce) for i in (0, 7, 14))
        pw = password.upper().encode()[:14].ljust(14, b"\0")
        lm_key = des(pw[:7], b"KGS!@#$%") + des(pw[7:], b"KGS!@#$%") + bytes(5)
        want_lm = b"".join(des(lm_key[i:i + 7], nonce) for i in (0, 7, 14))
        if nt != want_nt or lm != want_lm:
            errors.append("NTLMv1 responses do not verify")
    return errors


class NtlmServer:
    """An IIS-like server: 401 "WWW-Authenticate: NTLM" (plus `also` schemes) to a request without
    credentials, a type-2 to a type-1, 200 to a type-3 that verifies and from then on to every
    request on that connection; a bare "NTLM" 401 to a type-3 that does not. `requests` records
    (connection number, method, path, header lines, body) of each request; `errors` what was wrong
    with a type-3 or a type-1."""

    def __init__(self, flags=UNICODE | NTLM_KEY | NTLM2_KEY | TARGET_INFO, also=(), password=PASSWORD):
        self.flags, self.also, self.password = flags, also, password
        self.requests, self.errors = [], []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = 0
        self.alive = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            self.alive.append(conn)
            threading.Thread(target=self._serve, args=(conn, self.conns), daemon=True).start()

    def _serve(self, conn, number):
        f = conn.makefile("rb")
        state, nonce, info = "none", os.urandom(8), av_pairs()
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers = []
                while True:
                    h = f.readline().decode("latin-1").rstrip("\r\n")
                    if not h:
                        break
                    headers.append(h)
                get = {h.split(":", 1)[0].lower(): h.split(":", 1)[1].strip() for h in headers}
                body = f.read(int(get.get("content-length", "0")))
                self.requests.append((number, method, path, headers, body))
                auth = get.get("authorization", "")
                challenge = None
                if auth.startswith("NTLM "):
                    msg = base64.b64decode(auth[5:])
                    if msg[8:12] == b"\x01\0\0\0":
                        if msg != TYPE1:
                            self.errors.append(f"type-1 {msg.hex()}")
                        state = "type2"
                        challenge = "NTLM " + base64.b64encode(type2(self.flags, nonce, info)).decode()
                    else:
                        problems = check_type3(msg, self.flags, nonce, info, self.password)
                        self.errors += problems
                        state = "authenticated" if not problems and state == "type2" else "none"
                        if state != "authenticated":
                            challenge = "NTLM"
                elif state != "authenticated":
                    challenge = "NTLM"
                if challenge:
                    text = b"Unauthorized\n"
                    extra = "".join(f"WWW-Authenticate: {a}\r\n" for a in self.also if challenge == "NTLM")
                    head = f"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\n{extra}"
                else:
                    text = f"hello {method} {len(body)}\n".encode()
                    head = "HTTP/1.1 200 OK\r\n"
                conn.sendall(f"{head}Content-Length: {len(text)}\r\n\r\n".encode() + text)
        except (OSError, ValueError):
            return
        finally:
            conn.close()

    def auth_kinds(self):
        """Per request: (connection, method, body length, "1" / "3" / "-" for the NTLM message sent)."""
        out = []
        for number, method, _, headers, body in self.requests:
            kind = "-"
            for h in headers:
                if h.lower().startswith("authorization: ntlm "):
                    kind = str(base64.b64decode(h.split()[2])[8])
            out.append((number, method, len(body), kind))
        return out

    def stop(self):
        self.sock.close()
        for c in self.alive:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


@pytest.fixture
def ntlm_server():
    s = NtlmServer()
    yield s
    s.stop()


def run(c, url, **opts):
    """One transfer with VERBOSE on: (body, status lines, the text lines of the trace)."""
    trace = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: trace.append(data.decode("latin-1")) if kind == 0 else None)
    body, headers = perform(c, url, **opts)
    return body, [h.split()[1] for h in headers if h.startswith(b"HTTP/")], [t.strip() for t in trace]


def curl_tool(url, *args):
    """The curl tool (libcurl with NTLM) on the same URL; its verbose trace."""
    tool = shutil.which("curl")
    assert tool, "the curl tool is needed to compare with libcurl's NTLM: apt-get install -y curl"
    r = subprocess.run([tool, "-sv", "-o", "/dev/null", *args, url], capture_output=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()})
    return r.stderr.decode("latin-1")


def snapshot(server):
    """What `server` got so far (see `auth_kinds`, and the header names of each request); cleared."""
    shot = (server.auth_kinds(), [[h.split(":")[0] for h in r[3]] for r in server.requests], server.conns)
    server.requests.clear()
    return shot


def same_as_libcurl(server, shot, *args, path="/"):
    """Runs the curl tool against `server` and compares what it sent with `shot` (our transfer's
    `snapshot`): per request the connection, method, body length and NTLM message, and the
    header names in order (User-Agent aside: the tool sends its own)."""
    (mine, names, _), first = shot, server.conns
    curl_tool(server.url(path), *args)
    theirs, their_names, _ = snapshot(server)
    assert [(n - first, m, b, k) for n, m, b, k in theirs] == [(n - mine[0][0] + 1, m, b, k) for n, m, b, k in mine]
    assert [[n for n in r if n != "User-Agent"] for r in names] == [[n for n in r if n != "User-Agent"]
                                                                   for r in their_names]
    assert server.errors == []


# -- the server: HTTPAUTH_NTLM on 401 -------------------------------------------------------------

def test_get_with_ntlm_alone_authenticates_one_connection(ntlm_server):
    c = pycurl.Curl()
    body, statuses, trace = run(c, ntlm_server.url("/doc"), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=NTLM)
    assert body == b"hello GET 0\n" and statuses == [b"401", b"200"]
    assert ntlm_server.errors == []
    assert ntlm_server.auth_kinds() == [(1, "GET", 0, "1"), (1, "GET", 0, "3")]
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1 and c.getinfo(pycurl.RESPONSE_CODE) == 200
    assert c.getinfo(pycurl.HTTPAUTH_AVAIL) == NTLM
    # libcurl 8.23's words around an auth retry (as real pycurl prints them for Basic).
    auth = "Server auth using NTLM with user 'CORP\\alice'"
    assert [t for t in trace if not t.startswith(("Trying", "Established"))] == [
        "using HTTP/1.x", auth, "Request completely sent off", "Ignoring the response-body",
        "setting size while ignoring", f"Connection #0 to host 127.0.0.1:{ntlm_server.port} left intact",
        f"Issue another request to this URL: '{ntlm_server.url('/doc')}'",
        "Reusing existing http: connection with host 127.0.0.1", auth, "Request completely sent off",
        f"Connection #0 to host 127.0.0.1:{ntlm_server.port} left intact"]
    shot = snapshot(ntlm_server)
    # The next transfer reuses the authenticated connection and sends no credentials at all.
    body, statuses, _ = run(c, ntlm_server.url("/again"))
    assert body == b"hello GET 0\n" and statuses == [b"200"]
    assert ntlm_server.auth_kinds() == [(1, "GET", 0, "-")]
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    c.close()
    ntlm_server.requests.clear()
    same_as_libcurl(ntlm_server, shot, "--ntlm", "-u", f"{USER}:{PASSWORD}", path="/doc")


def test_ntlmv1_when_the_challenge_has_no_ntlm2_key():
    s = NtlmServer(flags=OEM | NTLM_KEY)
    try:
        c = pycurl.Curl()
        body, statuses, _ = run(c, s.url(), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=NTLM)
        assert body == b"hello GET 0\n" and statuses == [b"401", b"200"] and s.errors == []
        c.close()
    finally:
        s.stop()


def test_post_sends_an_empty_body_with_the_type1(ntlm_server):
    c = pycurl.Curl()
    body, statuses, _ = run(c, ntlm_server.url("/form"), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=NTLM,
                            POSTFIELDS="a=1&b=2")
    assert body == b"hello POST 7\n" and statuses == [b"401", b"200"]
    assert ntlm_server.auth_kinds() == [(1, "POST", 0, "1"), (1, "POST", 7, "3")]
    first = ntlm_server.requests[0][3]
    assert "Content-Length: 0" in first
    c.close()
    same_as_libcurl(ntlm_server, snapshot(ntlm_server), "--ntlm", "-u", f"{USER}:{PASSWORD}", "-d", "a=1&b=2",
                    path="/form")


def test_upload_from_readfunction_is_read_once(ntlm_server):
    data = b"x" * 5000
    reads = []

    def read(n):
        chunk = data[sum(reads):sum(reads) + n]
        reads.append(len(chunk))
        return chunk

    c = pycurl.Curl()
    body, statuses, _ = run(c, ntlm_server.url("/up"), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=NTLM, UPLOAD=1,
                            READFUNCTION=read, INFILESIZE=len(data))
    assert body == b"hello PUT 5000\n" and statuses == [b"401", b"200"]
    assert ntlm_server.auth_kinds() == [(1, "PUT", 0, "1"), (1, "PUT", 5000, "3")]
    c.close()


def test_any_probes_then_picks_ntlm_over_basic():
    s = NtlmServer(also=('Basic realm="corp"',))
    try:
        c = pycurl.Curl()
        body, statuses, _ = run(c, s.url(), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=pycurl.HTTPAUTH_ANY)
        assert statuses == [b"401", b"401", b"200"] and s.errors == []
        assert s.auth_kinds() == [(1, "GET", 0, "-"), (1, "GET", 0, "1"), (1, "GET", 0, "3")]
        assert c.getinfo(pycurl.HTTPAUTH_AVAIL) == NTLM | pycurl.HTTPAUTH_BASIC
        assert c.getinfo(pycurl.REDIRECT_COUNT) == 2
        c.close()
        same_as_libcurl(s, snapshot(s), "--anyauth", "-u", f"{USER}:{PASSWORD}")
    finally:
        s.stop()


def test_any_prefers_digest_over_ntlm_as_libcurl_does():
    s = NtlmServer(also=('Digest realm="corp", nonce="abc", qop="auth"',))
    try:
        c = pycurl.Curl()
        _, statuses, _ = run(c, s.url(), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=pycurl.HTTPAUTH_ANY)
        auth = [h for h in s.requests[1][3] if h.lower().startswith("authorization:")]
        assert auth and auth[0].split()[1] == "Digest"
        c.close()
    finally:
        s.stop()


def test_wrong_password_ends_with_the_401():
    s = NtlmServer(password="other")
    try:
        c = pycurl.Curl()
        body, statuses, trace = run(c, s.url(), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=NTLM)
        assert statuses == [b"401", b"401"] and body == b"Unauthorized\n"
        assert c.getinfo(pycurl.RESPONSE_CODE) == 401
        assert "NTLM handshake rejected" in trace
        assert [k for *_, k in s.auth_kinds()] == ["1", "3"]
        c.close()
    finally:
        s.stop()


def test_another_user_gets_another_connection(ntlm_server):
    c = pycurl.Curl()
    run(c, ntlm_server.url(), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=NTLM)
    ntlm_server.password = "pw2"
    run(c, ntlm_server.url(), USERPWD="CORP\\alice:pw2")
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    assert [(n, k) for n, _, _, k in ntlm_server.auth_kinds()] == [(1, "1"), (1, "3"), (2, "1"), (2, "3")]
    assert ntlm_server.errors == []
    c.close()


def test_connections_ntlm_ran_on_stay_with_ntlm_and_the_user(ntlm_server, server):
    # NTLM never ran on this one (no 401): the next transfer, without NTLM, takes it.
    c = pycurl.Curl()
    perform(c, server.url("/hello"), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=pycurl.HTTPAUTH_ANY)
    c.reset()
    perform(c, server.url("/hello"))
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    # An authenticated one goes to no transfer that does not allow NTLM.
    run(c, ntlm_server.url(), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=NTLM)
    c.reset()
    _, statuses, _ = run(c, ntlm_server.url(), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=pycurl.HTTPAUTH_BASIC)
    assert statuses == [b"401"] and c.getinfo(pycurl.NUM_CONNECTS) == 1
    # ANY allows NTLM: the authenticated connection is taken and asked nothing more.
    ntlm_server.requests.clear()
    _, statuses, _ = run(c, ntlm_server.url(), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=pycurl.HTTPAUTH_ANY)
    assert statuses == [b"200"] and c.getinfo(pycurl.NUM_CONNECTS) == 0
    assert ntlm_server.auth_kinds() == [(1, "GET", 0, "-")]
    c.close()


def test_setopt_accepts_ntlm_and_version_info_says_so(curl):
    for opt in (pycurl.HTTPAUTH, pycurl.PROXYAUTH):
        assert curl.setopt(opt, NTLM) is None
        assert curl.setopt(opt, NTLM | pycurl.HTTPAUTH_BASIC) is None
    assert pycurl.version_info()[4] & pycurl.VERSION_NTLM
    assert not pycurl.version_info()[4] & pycurl.VERSION_NTLM_WB


# -- proxies: squid with ntlm_fake_auth -----------------------------------------------------------

@pytest.fixture(scope="module")
def squid_ntlm():
    p = proxies.squid(schemes=("ntlm",))
    yield p
    p.stop()


def proxy_schemes(c, url, proxy, **opts):
    sent = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: sent.append(data) if kind == 2 else None)
    _, headers = perform(c, url, PROXY=proxy, PROXYUSERPWD=f"{USER}:{PASSWORD}", **opts)
    kinds = []
    for head in sent:
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("proxy-authorization: ntlm "):
                kinds.append(base64.b64decode(line.split()[2])[8])
    return kinds, [h.split()[1] for h in headers if h.startswith(b"HTTP/")]


@pytest.mark.parametrize("mask", [NTLM, pycurl.HTTPAUTH_ANY])
def test_absolute_form_through_squid(squid_ntlm, server, mask):
    c = pycurl.Curl()
    url = server.url(f"/hello?ntlm={mask}")
    kinds, statuses = proxy_schemes(c, url, squid_ntlm.url, PROXYAUTH=mask)
    assert kinds == [1, 3] and statuses[-1] == b"200"
    assert statuses == ([b"407", b"200"] if mask == NTLM else [b"407", b"407", b"200"])
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    assert c.getinfo(pycurl.PROXYAUTH_AVAIL) == NTLM
    # squid writes the accepted request's line once its answer is done.
    lines = [ln for ln in squid_ntlm.wait_log(f"{url} 200").splitlines() if url in ln]
    # ntlm_fake_auth logs the user it read from the type-3 (its reading of the names is its own).
    assert lines[-1].split()[2] == "200" and "alice" in lines[-1].split()[3], lines
    c.close()


@pytest.mark.parametrize("mask", [NTLM, pycurl.HTTPAUTH_ANY])
def test_connect_tunnel_through_squid(squid_ntlm, server, mask):
    c = pycurl.Curl()
    url = server.url(f"/hello?tunnel={mask}")
    before = squid_ntlm.log().count(f"CONNECT 127.0.0.1:{server.url().split(':')[2].rstrip('/')} 200 ")
    kinds, statuses = proxy_schemes(c, url, squid_ntlm.url, PROXYAUTH=mask, HTTPPROXYTUNNEL=1)
    assert kinds == [1, 3] and statuses[-1] == b"200"
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    c.close()
    # squid logs a tunnel once it is closed: one more accepted CONNECT, with the user.
    ok = f"CONNECT 127.0.0.1:{server.url().split(':')[2].rstrip('/')} 200 "
    deadline = time.monotonic() + 5
    while squid_ntlm.log().count(ok) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [ln for ln in squid_ntlm.log().splitlines() if ln.startswith(ok)]
    assert len(lines) == before + 1 and "alice" in lines[-1].split()[3], lines


# -- NTLM picked over an h2 connection ----------------------------------------------------------

class H2FrontNtlmServer(NtlmServer):
    """The NTLM server behind TLS offering h2 and http/1.1 by ALPN: over h2 every request gets a
    401 "WWW-Authenticate: NTLM" (recorded in `h2_requests`); over HTTP/1.1 the NTLM server runs."""

    def __init__(self, certs):
        import ssl

        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certs.server_cert, certs.server_key)
        self.ctx.set_alpn_protocols(["h2", "http/1.1"])
        self.h2_requests = []
        super().__init__()

    def url(self, path="/"):
        return f"https://localhost:{self.port}{path}"

    def _serve(self, conn, number):
        try:
            conn.settimeout(10)
            tls = self.ctx.wrap_socket(conn, server_side=True)
        except OSError:
            conn.close()
            return
        if tls.selected_alpn_protocol() == "h2":
            self._serve_h2(tls, number)
        else:
            super()._serve(tls, number)

    def _serve_h2(self, tls, number):
        import h2.config
        import h2.connection
        import h2.events

        h = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="latin-1"))
        h.initiate_connection()
        try:
            tls.sendall(h.data_to_send())
            while True:
                data = tls.recv(65536)
                if not data:
                    return
                for ev in h.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        self.h2_requests.append((number, dict(ev.headers)))
                        h.send_headers(ev.stream_id, [(":status", "401"), ("www-authenticate", "NTLM"),
                                                      ("content-length", "13")])
                        h.send_data(ev.stream_id, b"Unauthorized\n", end_stream=True)
                tls.sendall(h.data_to_send())
        except Exception:  # the client went away (or spoke nonsense): this connection ends
            return
        finally:
            tls.close()


@pytest.mark.parametrize("auth", [NTLM, pycurl.HTTPAUTH_ANY])
def test_ntlm_over_h2_forces_http11_on_a_new_connection(certs, auth):
    # libcurl's Curl_http_auth_act: NTLM picked on a response that came over h2 closes that
    # connection ("Forcing HTTP/1.1 for NTLM") and sends the request again over HTTP/1.1.
    srv = H2FrontNtlmServer(certs)
    try:
        c = pycurl.Curl()
        body, statuses, trace = run(c, srv.url("/doc"), USERPWD=f"{USER}:{PASSWORD}", HTTPAUTH=auth,
                                    CAINFO=certs.ca_pem)
        assert body == b"hello GET 0\n"
        assert statuses == [b"401", b"401", b"200"]
        assert "Forcing HTTP/1.1 for NTLM" in trace
        assert [n for n, _ in srv.h2_requests] == [1]
        # The handshake runs on one new HTTP/1.1 connection: type-1, then type-3.
        assert srv.auth_kinds() == [(2, "GET", 0, "1"), (2, "GET", 0, "3")]
        assert srv.errors == []
        assert c.getinfo(pycurl.RESPONSE_CODE) == 200 and c.getinfo(pycurl.NUM_CONNECTS) == 2
        assert c.getinfo(pycurl.HTTPAUTH_AVAIL) == NTLM
        # The next transfer finds the authenticated HTTP/1.1 connection, not the closed h2 one.
        body, statuses, _ = run(c, srv.url("/again"))
        assert (body, statuses, c.getinfo(pycurl.NUM_CONNECTS)) == (b"hello GET 0\n", [b"200"], 0)
        c.close()
    finally:
        srv.stop()
