"""HTTP authentication: USERPWD, USERNAME/PASSWORD, HTTPAUTH basic/digest."""

import base64

import pycurl

from helpers import perform
import servers


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_basic_preemptive(server, curl):
    body, _ = perform(curl, server.url("/basic-auth/u/p"), USERPWD="u:p")
    assert body == b"authenticated u\n"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200
    req = server.last_request()
    assert req.header("Authorization") == basic("u", "p")
    # Authorization comes straight after Host
    assert [k for k, _ in req.headers][:2] == ["Host", "Authorization"]


def test_basic_wrong_password_is_401_not_error(server, curl):
    body, _ = perform(curl, server.url("/basic-auth/u/p"), USERPWD="u:bad")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 401
    assert body == b"unauthorized\n"
    assert curl.getinfo(pycurl.HTTPAUTH_AVAIL) == pycurl.HTTPAUTH_BASIC


def test_no_credentials(server, curl):
    perform(curl, server.url("/basic-auth/u/p"))
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 401
    assert server.last_request().header("Authorization") is None


def test_username_password_options(server, curl):
    body, _ = perform(curl, server.url("/basic-auth/user/pw"), USERNAME="user", PASSWORD="pw")
    assert body == b"authenticated user\n"


def test_username_only(server, curl):
    perform(curl, server.url("/headers"), USERNAME="user")
    assert server.last_request().header("Authorization") == basic("user", "")


def test_password_with_colon(server, curl):
    body, _ = perform(curl, server.url("/basic-auth/u/p%3Aw"), USERPWD="u:p:w")
    assert body == b"authenticated u\n"


def test_credentials_in_url(server, curl):
    url = f"http://u:p@127.0.0.1:{server.port}/basic-auth/u/p"
    body, _ = perform(curl, url)
    assert body == b"authenticated u\n"
    # the userinfo is not part of the effective URL's request target
    assert server.last_request().target == "/basic-auth/u/p"


def test_percent_encoded_credentials_in_url(server, curl):
    url = f"http://us%40r:p%20w@127.0.0.1:{server.port}/headers"
    perform(curl, url)
    assert server.last_request().header("Authorization") == basic("us@r", "p w")


def test_httpauth_any_negotiates_basic(server, curl):
    body, _ = perform(curl, server.url("/basic-auth/u/p"), USERPWD="u:p",
                      HTTPAUTH=pycurl.HTTPAUTH_ANY)
    assert body == b"authenticated u\n"
    first, second = server.requests[-2:]
    assert first.header("Authorization") is None
    assert second.header("Authorization") == basic("u", "p")
    assert curl.getinfo(pycurl.HTTPAUTH_AVAIL) == pycurl.HTTPAUTH_BASIC


def test_anysafe_refuses_basic(server, curl):
    perform(curl, server.url("/basic-auth/u/p"), USERPWD="u:p", HTTPAUTH=pycurl.HTTPAUTH_ANYSAFE)
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 401
    assert server.last_request().header("Authorization") is None


def test_digest(server, curl):
    body, _ = perform(curl, server.url("/digest-auth/u/p"), USERPWD="u:p",
                      HTTPAUTH=pycurl.HTTPAUTH_DIGEST)
    assert body == b"digest authenticated u\n"
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 200
    first, second = server.requests[-2:]
    assert first.header("Authorization") is None
    auth = second.header("Authorization")
    assert auth.startswith("Digest ")
    p = servers.parse_auth_params(auth[7:])
    assert p["username"] == "u"
    assert p["realm"] == servers.DIGEST_REALM
    assert p["nonce"] == servers.DIGEST_NONCE
    assert p["uri"] == "/digest-auth/u/p"
    assert p["qop"] == "auth"
    assert p["nc"] == "00000001"
    assert p["opaque"] == servers.DIGEST_OPAQUE
    assert p["algorithm"] == "MD5"
    assert len(p["cnonce"]) > 0
    assert p["response"] == servers.digest_response("u", "p", "GET", p["uri"], p["nonce"],
                                                    p["nc"], p["cnonce"])
    # both requests on one connection
    assert first.connection_id == second.connection_id
    assert curl.getinfo(pycurl.HTTPAUTH_AVAIL) == pycurl.HTTPAUTH_DIGEST


def test_digest_with_query(server, curl):
    body, _ = perform(curl, server.url("/digest-auth/u/p?x=1"), USERNAME="u", PASSWORD="p",
                      HTTPAUTH=pycurl.HTTPAUTH_DIGEST)
    assert body == b"digest authenticated u\n"
    p = servers.parse_auth_params(server.last_request().header("Authorization")[7:])
    assert p["uri"] == "/digest-auth/u/p?x=1"


def test_digest_post(server, curl):
    body, _ = perform(curl, server.url("/digest-auth/u/p"), USERPWD="u:p",
                      HTTPAUTH=pycurl.HTTPAUTH_DIGEST, POSTFIELDS="a=1")
    assert body == b"digest authenticated u\n"
    req = server.last_request()
    assert req.method == "POST" and req.body == b"a=1"


def test_digest_wrong_password(server, curl):
    perform(curl, server.url("/digest-auth/u/p"), USERPWD="u:bad",
            HTTPAUTH=pycurl.HTTPAUTH_DIGEST)
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 401
    # exactly one retry with credentials
    assert [r.header("Authorization") is None for r in server.requests[-2:]] == [True, False]


def test_any_picks_digest(server, curl):
    body, _ = perform(curl, server.url("/digest-auth/u/p"), USERPWD="u:p",
                      HTTPAUTH=pycurl.HTTPAUTH_ANY)
    assert body == b"digest authenticated u\n"


def test_basic_against_digest_server_fails(server, curl):
    perform(curl, server.url("/digest-auth/u/p"), USERPWD="u:p")
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 401
    assert server.last_request().header("Authorization") == basic("u", "p")


def test_digest_only_against_basic_server(server, curl):
    perform(curl, server.url("/basic-auth/u/p"), USERPWD="u:p", HTTPAUTH=pycurl.HTTPAUTH_DIGEST)
    assert curl.getinfo(pycurl.RESPONSE_CODE) == 401
    assert server.last_request().header("Authorization") is None


def test_auth_reused_on_same_handle(server, curl):
    curl.setopt(pycurl.USERPWD, "u:p")
    curl.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_DIGEST)
    for _ in range(2):
        body, _ = perform(curl, server.url("/digest-auth/u/p"))
        assert body == b"digest authenticated u\n"


def test_httpauth_any_value_accepted(curl):
    # HTTPAUTH_ANY does not fit a C long on every platform: setopt must take it
    curl.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_ANY)
    curl.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_ANYSAFE)
    curl.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_BASIC | pycurl.HTTPAUTH_ONLY)
