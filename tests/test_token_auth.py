"""XOAUTH2_BEARER with HTTPAUTH_BEARER, and AWS_SIGV4 request signing, against the project's HTTP
server. A SigV4 signature is checked by computing it again here, independently, from the request
the server received (its x-amz-date included); the same tests pass under real pycurl."""

import hashlib
import hmac
import urllib.parse

import pycurl
import pytest

from helpers import perform

# CURLAUTH_BEARER and CURLAUTH_AWS_SIGV4: pycurl 7.49 has no constants for them.
HTTPAUTH_BEARER = 1 << 6
HTTPAUTH_AWS_SIGV4 = 1 << 7


def run(server, path="/hello", **opts):
    c = pycurl.Curl()
    try:
        perform(c, server.url(path), **opts)
        return server.last_request(), c.getinfo(pycurl.RESPONSE_CODE)
    finally:
        c.close()


# -- Bearer -------------------------------------------------------------------------------------

def test_bearer_sent_at_once_when_it_is_the_only_method(server):
    req, _ = run(server, HTTPAUTH=HTTPAUTH_BEARER, XOAUTH2_BEARER="tok123")
    assert req.header("Authorization") == "Bearer tok123"
    # with USERPWD too: Bearer is the method asked for
    req, _ = run(server, HTTPAUTH=HTTPAUTH_BEARER, XOAUTH2_BEARER="tok123", USERPWD="u:p")
    assert req.header_all("Authorization") == ["Bearer tok123"]


def test_bearer_needs_the_method_and_a_token(server):
    req, _ = run(server, XOAUTH2_BEARER="tok123")
    assert req.header("Authorization") is None
    req, _ = run(server, HTTPAUTH=HTTPAUTH_BEARER)
    assert req.header("Authorization") is None
    req, _ = run(server, HTTPAUTH=HTTPAUTH_BEARER, XOAUTH2_BEARER="")
    assert req.header("Authorization") is None


def test_bearer_with_other_methods_waits_for_the_challenge(server):
    # /basic-auth answers 401 with a Basic challenge: no Bearer challenge, no Bearer sent
    req, code = run(server, "/basic-auth/u/p", HTTPAUTH=pycurl.HTTPAUTH_ANY, XOAUTH2_BEARER="tok", USERPWD="u:p")
    assert code == 200
    assert req.header("Authorization").startswith("Basic ")


# -- AWS SigV4 ----------------------------------------------------------------------------------

def _enc(b: bytes, safe: str) -> str:
    return urllib.parse.quote(b, safe=safe)


def canonical_query(q: str) -> str:
    parts = []
    for p in q.split("&"):
        if not p:
            continue
        k, _, v = p.partition("=")
        parts.append((_enc(urllib.parse.unquote_plus(k).encode(), "-_.~"),
                      _enc(urllib.parse.unquote_plus(v).encode(), "-_.~")))
    parts.sort()
    return "&".join(f"{k}={v}" for k, v in parts)


def expected_signature(req, secret, signed_names, provider, region, service, payload_hash):
    """SigV4 over the request as received: the headers named in SignedHeaders, values with runs
    of spaces squeezed; the path as sent for s3, percent-encoded again otherwise."""
    path, _, query = req.target.partition("?")
    canon_path = path if service == "s3" else _enc(path.encode(), "/-_.~")
    values = {}
    for n, v in req.headers:
        n = n.lower()
        if n in signed_names:
            v = " ".join(v.split())
            values[n] = v if n not in values else values[n] + "," + v
    canon_headers = "".join(f"{n}:{values[n]}\n" for n in sorted(values))
    assert sorted(values) == signed_names
    creq = "\n".join([req.method, canon_path, canonical_query(query), canon_headers, ";".join(signed_names),
                      payload_hash])
    date = req.header(f"x-{provider}-date") or req.header("x-amz-date")
    scope = f"{date[:8]}/{region}/{service}/{provider}4_request"
    to_sign = "\n".join([f"{provider.upper()}4-HMAC-SHA256", date, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
    k = (provider.upper() + "4" + secret).encode()
    for part in (date[:8], region, service, provider + "4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value):
    alg, _, rest = value.partition(" ")
    fields = dict(p.strip().split("=", 1) for p in rest.split(","))
    return alg, fields


def check_signed(req, secret, provider="aws", payload=b""):
    alg, f = parse_authorization(req.header("Authorization"))
    assert alg == f"{provider.upper()}4-HMAC-SHA256"
    key, day, region, service, term = f["Credential"].split("/")
    assert term == f"{provider}4_request"
    signed = f["SignedHeaders"].split(";")
    payload_hash = req.header("x-amz-content-sha256") or hashlib.sha256(payload).hexdigest()
    want = expected_signature(req, secret, signed, provider, region, service, payload_hash)
    assert f["Signature"] == want
    return key, day, region, service, signed


def test_sigv4_get_s3(server):
    req, code = run(server, "/hello?b=2&a=1&c&y=a+b&z=%41", AWS_SIGV4="aws:amz:us-east-1:s3", USERPWD="AKID:SECRET")
    assert code == 200
    key, day, region, service, signed = check_signed(req, "SECRET")
    assert (key, region, service) == ("AKID", "us-east-1", "s3")
    assert signed == ["host", "x-amz-content-sha256", "x-amz-date"]
    assert req.header("x-amz-content-sha256") == hashlib.sha256(b"").hexdigest()
    date = req.header("X-Amz-Date")
    assert len(date) == 16 and date[8] == "T" and date.endswith("Z") and day == date[:8]
    # libcurl's order: Host, Authorization, the date, the content hash
    names = [n for n, _ in req.headers]
    assert names[:4] == ["Host", "Authorization", "X-Amz-Date", "x-amz-content-sha256"]


def test_sigv4_region_and_service_from_the_host(server):
    req, _ = run(server, AWS_SIGV4="aws:amz", USERPWD="AKID:SECRET")
    _, _, region, service, signed = check_signed(req, "SECRET")
    # 127.0.0.1: the service is the first label, the region the second
    assert (region, service) == ("0", "127")
    assert signed == ["host", "x-amz-date"]
    # HTTPAUTH_AWS_SIGV4 alone means the same defaults
    req, _ = run(server, HTTPAUTH=HTTPAUTH_AWS_SIGV4, USERPWD="AKID:SECRET")
    assert check_signed(req, "SECRET")[2:4] == ("0", "127")


def test_sigv4_post_signs_custom_headers_and_the_body(server):
    req, _ = run(server, "/echo", AWS_SIGV4="aws:amz:eu-west-1:execute-api", USERPWD="AKID:SECRET",
                 POSTFIELDS="hello=1", HTTPHEADER=["X-Custom:   a   b ", "Content-Type: application/json",
                                                   "X-Empty;", "Accept:"])
    _, _, region, service, signed = check_signed(req, "SECRET", payload=b"hello=1")
    assert (region, service) == ("eu-west-1", "execute-api")
    assert signed == ["content-type", "host", "x-amz-date", "x-custom", "x-empty"]


def test_sigv4_other_provider_and_path_encoding(server):
    req, _ = run(server, "/hello/a%2Fb~c", AWS_SIGV4="osc", USERPWD="AK:SE")
    assert req.header("X-Osc-Date") is not None and req.header("X-Amz-Date") is None
    alg, f = parse_authorization(req.header("Authorization"))
    assert alg == "OSC4-HMAC-SHA256"
    assert f["SignedHeaders"] == "host;x-osc-date"
    check_signed(req, "SE", provider="osc")


def test_sigv4_application_headers_win(server):
    req, _ = run(server, AWS_SIGV4="aws:amz:r:svc", USERPWD="AKID:SECRET",
                 HTTPHEADER=["X-Amz-Date: 20200101T000000Z"])
    assert req.header_all("X-Amz-Date") == ["20200101T000000Z"]
    assert check_signed(req, "SECRET")[1] == "20200101"
    req, _ = run(server, AWS_SIGV4="aws:amz:us-east-1:s3", USERPWD="AKID:SECRET",
                 HTTPHEADER=["x-amz-content-sha256: UNSIGNED-PAYLOAD"])
    assert req.header_all("x-amz-content-sha256") == ["UNSIGNED-PAYLOAD"]
    check_signed(req, "SECRET")
    # an Authorization header of the application's own: no signing at all
    req, _ = run(server, AWS_SIGV4="aws:amz:r:svc", USERPWD="AKID:SECRET", HTTPHEADER=["Authorization: mine"])
    assert req.header_all("Authorization") == ["mine"] and req.header("X-Amz-Date") is None


def test_sigv4_s3_upload_from_a_callback_is_unsigned_payload(server):
    import io
    req, _ = run(server, "/echo", AWS_SIGV4="aws:amz:r:s3", USERPWD="AKID:SECRET", UPLOAD=1,
                 READFUNCTION=io.BytesIO(b"data!").read, INFILESIZE=5)
    assert req.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    check_signed(req, "SECRET")


def test_sigv4_without_a_user_sends_nothing(server):
    req, _ = run(server, AWS_SIGV4="aws:amz:r:s")
    assert req.header("Authorization") is None and req.header("X-Amz-Date") is None


def test_setopt_types(curl):
    assert curl.setopt(pycurl.AWS_SIGV4, "") is None
    assert curl.setopt(pycurl.XOAUTH2_BEARER, b"tok") is None
    for opt in (pycurl.AWS_SIGV4, pycurl.XOAUTH2_BEARER):
        with pytest.raises(TypeError):
            curl.setopt(opt, 1)
        with pytest.raises(TypeError):
            curl.unsetopt(opt)
    assert curl.setopt(pycurl.HTTPAUTH, HTTPAUTH_BEARER | pycurl.HTTPAUTH_BASIC) is None


def test_sigv4_among_other_methods_probes_first(server):
    # HTTPAUTH_ANY includes the SigV4 bit: libcurl then asks the server first and answers its
    # Basic challenge; nothing is signed
    req, code = run(server, "/basic-auth/u/p", AWS_SIGV4="aws:amz:r:s", HTTPAUTH=pycurl.HTTPAUTH_ANY, USERPWD="u:p")
    assert code == 200
    first, second = server.requests[-2:]
    assert first.header("Authorization") is None and first.header("X-Amz-Date") is None
    assert second.header("Authorization").startswith("Basic ")
