"""NETRC / NETRC_FILE: credentials from a .netrc file, against the project's HTTP server (which
records the Authorization header each request carried). What wins over what per NETRC mode was
read off real pycurl (libcurl 8.23) for the same files and URLs."""

import base64

import pycurl
import pytest

from helpers import perform

NETRC = """# the test's .netrc
machine 127.0.0.1 login alice password apw
machine 127.0.0.1 login bob password bpw
machine localhost
    login "q u" password "p\\"w\\n"
macdef init
machine 127.0.0.1 login mac password mac

default login dflt password dpw
"""


@pytest.fixture
def netrc(tmp_path):
    p = tmp_path / "netrc"
    p.write_text(NETRC)
    return str(p)


def sent_credentials(server):
    """The user:password of the last request's Basic header, or None."""
    auth = server.last_request().header("Authorization")
    if auth is None:
        return None
    scheme, _, token = auth.partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(token).decode()


def fetch(server, netrc_file, mode, userinfo="", host="127.0.0.1", **opts):
    c = pycurl.Curl()
    try:
        opts.setdefault("NETRC", mode)
        if netrc_file is not None:
            opts["NETRC_FILE"] = netrc_file
        url = f"http://{userinfo}{host}:{server.port}/hello"
        body, _ = perform(c, url, **opts)
        assert body == b"hello world"
        return sent_credentials(server)
    finally:
        c.close()


@pytest.mark.parametrize("mode", [pycurl.NETRC_OPTIONAL, pycurl.NETRC_REQUIRED])
def test_first_machine_entry_is_used(server, netrc, mode):
    assert fetch(server, netrc, mode) == "alice:apw"


def test_ignored_by_default_and_with_netrc_ignored(server, netrc):
    c = pycurl.Curl()
    c.setopt(pycurl.NETRC_FILE, netrc)
    perform(c, server.url("/hello"))
    assert sent_credentials(server) is None
    assert fetch(server, netrc, pycurl.NETRC_IGNORED, userinfo="u:p@") == "u:p"


@pytest.mark.parametrize("mode", [pycurl.NETRC_OPTIONAL, pycurl.NETRC_REQUIRED])
def test_url_user_picks_its_entry_and_password(server, netrc, mode):
    assert fetch(server, netrc, mode, userinfo="bob@") == "bob:bpw"
    # a user the file does not know keeps an empty password
    assert fetch(server, netrc, mode, userinfo="carl@") == "carl:"


def test_url_password_wins_when_optional_loses_when_required(server, netrc):
    assert fetch(server, netrc, pycurl.NETRC_OPTIONAL, userinfo="bob:zz@") == "bob:zz"
    assert fetch(server, netrc, pycurl.NETRC_REQUIRED, userinfo="bob:zz@") == "bob:bpw"
    # an empty user in the URL counts as none: the file gives both parts
    assert fetch(server, netrc, pycurl.NETRC_OPTIONAL, userinfo=":zz@") == "alice:apw"


@pytest.mark.parametrize("mode", [pycurl.NETRC_OPTIONAL, pycurl.NETRC_REQUIRED])
def test_userpwd_and_username_bypass_the_file(server, netrc, mode):
    assert fetch(server, netrc, mode, USERPWD="x:y") == "x:y"
    assert fetch(server, netrc, mode, USERNAME="bob") == "bob:"


def test_quoted_tokens_and_case_insensitive_machine(server, netrc):
    assert fetch(server, netrc, pycurl.NETRC_OPTIONAL, host="localhost") == 'q u:p"w\n'


def test_macdef_is_skipped_and_default_matches_other_hosts(server, tmp_path):
    p = tmp_path / "n"
    p.write_text("macdef m\nmachine 127.0.0.1 login mac password mac\n\ndefault login d password dp\n")
    assert fetch(server, str(p), pycurl.NETRC_OPTIONAL) == "d:dp"
    p.write_text("machine 127.0.0.1 password pp login ll account x\n")
    assert fetch(server, str(p), pycurl.NETRC_OPTIONAL) == "ll:pp"
    p.write_text("machine 127.0.0.1 login onlylogin\n")
    assert fetch(server, str(p), pycurl.NETRC_OPTIONAL) == "onlylogin:"


def test_missing_file_is_an_error_only_when_required(server, tmp_path):
    missing = str(tmp_path / "none")
    assert fetch(server, missing, pycurl.NETRC_OPTIONAL) is None
    c = pycurl.Curl()
    c.setopt(pycurl.NETRC, pycurl.NETRC_REQUIRED)
    c.setopt(pycurl.NETRC_FILE, missing)
    c.setopt(pycurl.URL, server.url("/hello"))
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (pycurl.E_READ_ERROR, ".netrc error: no such file")


def test_syntax_error_is_an_error_only_when_required(server, tmp_path):
    p = tmp_path / "bad"
    p.write_text('machine 127.0.0.1 login "unterminated password x')
    assert fetch(server, str(p), pycurl.NETRC_OPTIONAL) is None
    c = pycurl.Curl()
    c.setopt(pycurl.NETRC, pycurl.NETRC_REQUIRED)
    c.setopt(pycurl.NETRC_FILE, str(p))
    c.setopt(pycurl.URL, server.url("/hello"))
    with pytest.raises(pycurl.error) as ei:
        c.perform()
    assert ei.value.args == (pycurl.E_READ_ERROR, ".netrc error: syntax error")


def test_no_match_when_required_sends_nothing(server, tmp_path):
    p = tmp_path / "other"
    p.write_text("machine elsewhere login o password op\n")
    assert fetch(server, str(p), pycurl.NETRC_REQUIRED) is None


def test_home_netrc_is_the_default_file(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert fetch(server, None, pycurl.NETRC_OPTIONAL) is None
    (tmp_path / ".netrc").write_text("default login h password hp\n")
    assert fetch(server, None, pycurl.NETRC_REQUIRED) == "h:hp"


def test_setopt_checks(curl):
    for bad in (3, -1):
        with pytest.raises(pycurl.error) as ei:
            curl.setopt(pycurl.NETRC, bad)
        assert ei.value.args[0] == pycurl.E_BAD_FUNCTION_ARGUMENT
    with pytest.raises(TypeError):
        curl.setopt(pycurl.NETRC_FILE, 1)
    with pytest.raises(TypeError):
        curl.unsetopt(pycurl.NETRC_FILE)
    with pytest.raises(TypeError):
        curl.unsetopt(pycurl.NETRC)
