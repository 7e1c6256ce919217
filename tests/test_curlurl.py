"""pycurl.CurlUrl: libcurl's URL API as pycurl 7.49 exposes it, and Curl's CURLU option.

Every expected value here was checked against real pycurl (libcurl 8.23); this file passes
under both (run it with /tmp/ref/bin/python -m pytest to see)."""
import copy
import io
import pickle

import pytest

import pycurl

U = pycurl.CurlUrl
P = pycurl


def err(fn, *args):
    with pytest.raises(pycurl.error) as e:
        fn(*args)
    return e.value.args


def test_parts_of_a_parsed_url():
    u = U("HTTP://us%41er:pa%20ss@Example.COM:8080/a/./b/../c%20d?x=1&y=%20#fr%20ag")
    assert u.url == "http://us%41er:pa%20ss@Example.COM:8080/a/c%20d?x=1&y=%20#fr%20ag"
    assert (u.scheme, u.user, u.password, u.options) == ("http", "us%41er", "pa%20ss", None)
    assert (u.host, u.port, u.path, u.query, u.fragment, u.zoneid) == (
        "Example.COM", "8080", "/a/c%20d", "x=1&y=%20", "fr%20ag", None)
    assert u.getpart(P.UPART_USER, P.U_URLDECODE) == "usAer"
    assert u.getpart(P.UPART_PATH, P.U_URLDECODE) == "/a/c d"
    assert u.getpart(P.UPART_QUERY, P.U_URLDECODE) == "x=1&y= "
    assert u.getpart(P.UPART_URL, P.U_URLDECODE) == u.url
    assert str(u) == u.url
    assert repr(u).startswith('<pycurl.CurlUrl "http://us%41er:pa%20ss@Example.COM:8080/')


def test_empty_handle():
    u = U()
    assert u.url is None and u.scheme is None and u.host is None and u.port is None
    assert u.path == "/"
    assert repr(u).startswith("<pycurl.CurlUrl (incomplete) at 0x")
    assert err(str, u) == ("cannot serialise an incomplete URL",)
    u.scheme = "http"
    assert u.url is None
    u.scheme = "file"
    assert u.url == "file://(nil)"


@pytest.mark.parametrize("text,expected", [
    ("http://h?q", "http://h/?q"),
    ("http://h:080/", "http://h:80/"),
    ("http://h:/", "http://h/"),
    ("HTTP://H", "http://H/"),
    ("http:/h/x", "http://h/x"),
    ("http:///h/x", "http://h/x"),
    ("http://127.1/", "http://127.0.0.1/"),
    ("http://0x7f.1/", "http://127.0.0.1/"),
    ("http://2130706433/", "http://127.0.0.1/"),
    ("http://256.1.1.1/", "http://256.1.1.1/"),
    ("http://h%41/", "http://hA/"),
    ("http://[0:0:0:0:0:0:0:1]/", "http://[::1]/"),
    ("http://[::FFFF:127.0.0.1]/", "http://[::ffff:127.0.0.1]/"),
    ("http://[::1%eth0]/", "http://[::1%25eth0]/"),
    ("http://h/a/%2e%2e/b", "http://h/b"),
    ("http://h/a/b/..", "http://h/a/"),
    ("http://h/a?b?c#d#e", "http://h/a?b?c#d#e"),
    ("http://@h/", "http://@h/"),
    ("imap://u;o:p@h/", "imap://u:p;o@h/"),
    ("file:/etc/x", "file:///etc/x"),
    ("file://localhost/x?q#f", "file:///x?q#f"),
    (b"http://h/\xe9", "http://h/\ufffd"),
])
def test_parse_normalises(text, expected):
    assert U(text).url == expected


@pytest.mark.parametrize("text,code,msg", [
    ("", 3, "Malformed input to a URL function"),
    ("http://h:99999/", 4, "Port number was not a decimal number between 0 and 65535"),
    ("http://[::1]x/", 4, "Port number was not a decimal number between 0 and 65535"),
    ("foo://h/", 5, "Unsupported URL scheme"),
    ("http://", 14, "No host present"),
    ("file://other/x", 19, "Bad file:// URL"),
    ("http://h/#a b", 20, "Bad fragment"),
    ("http://a b/", 21, "Bad hostname"),
    ("http://a@b@c/", 21, "Bad hostname"),
    ("http://[zz]/", 22, "Bad IPv6 address"),
    ("http://u:p s@h/", 24, "Bad password"),
    ("http://h/a b", 25, "Bad path"),
    ("http://h/\x7f", 25, "Bad path"),
    ("http://h/?a b", 26, "Bad query"),
    ("example.com", 27, "Bad scheme"),
    ("http:////h/x", 28, "Unsupported number of slashes following scheme"),
    ("http://u s@h/", 29, "Bad user"),
])
def test_parse_errors(text, code, msg):
    assert err(U, text) == (code, msg)


def test_parse_flags():
    assert U("example.com", P.U_GUESS_SCHEME).url == "http://example.com/"
    assert U("ftp.example.com/x", P.U_GUESS_SCHEME).url == "ftp://ftp.example.com/x"
    assert U("example.com:80/x", P.U_GUESS_SCHEME).url == "http://example.com:80/x"
    assert U("example.com", P.U_DEFAULT_SCHEME).url == "https://example.com/"
    assert U("example.com", P.U_GUESS_SCHEME | P.U_DEFAULT_SCHEME).url == "https://example.com/"
    assert U("foo://h/", P.U_NON_SUPPORT_SCHEME).url == "foo://h/"
    assert U("http://h/a b", P.U_ALLOW_SPACE).url == "http://h/a b"
    assert U("http://h/a b?c d#e f", P.U_URLENCODE).url == "http://h/a%20b?c+d#e%20f"
    assert U("http://h/a/../b", P.U_PATH_AS_IS).url == "http://h/a/../b"
    assert U("http:///x", P.U_NO_AUTHORITY).url == "http:///x"
    assert U("foo:///bar", P.U_NON_SUPPORT_SCHEME | P.U_NO_AUTHORITY).url == "foo:///bar"
    assert err(U, "foo:bar", P.U_NON_SUPPORT_SCHEME | P.U_NO_AUTHORITY)[0] == 28
    assert err(U, "http://u@h/", P.U_DISALLOW_USER) == (8, "Credentials was passed in the URL when prohibited")
    # flags are a C unsigned int: -1 sets every bit, 2**64 none
    assert err(U, "http://u@h/", -1)[0] == 8
    assert U("http://u@h/", 2 ** 64).url == "http://u@h/"
    guessed = U("x.com", P.U_GUESS_SCHEME)
    assert guessed.getpart(P.UPART_SCHEME, P.U_NO_GUESS_SCHEME) is None
    assert guessed.getpart(P.UPART_URL, P.U_NO_GUESS_SCHEME) == "x.com/"


def test_ports_and_defaults():
    assert U("http://h").getpart(P.UPART_PORT, P.U_DEFAULT_PORT) == "80"
    assert U("https://h:443").port == "443"
    assert U("https://h:443").getpart(P.UPART_PORT, P.U_NO_DEFAULT_PORT) is None
    assert U("https://h:443").getpart(P.UPART_URL, P.U_NO_DEFAULT_PORT) == "https://h/"
    assert U("https://h").getpart(P.UPART_URL, P.U_DEFAULT_PORT) == "https://h:443/"
    assert U("ftp://h:21/").getpart(P.UPART_URL, P.U_NO_DEFAULT_PORT) == "ftp://h/"
    assert U("http://h/").getpart(P.UPART_URL, -1) == "http://h:80/"


def test_empty_query_and_fragment():
    u = U("http://h/?#")
    assert u.url == "http://h/"
    assert u.query is None and u.fragment is None
    assert u.getpart(P.UPART_QUERY, P.U_GET_EMPTY) == ""
    assert u.getpart(P.UPART_URL, P.U_GET_EMPTY) == "http://h/?#"
    u = U("http://h/p?q#f")
    u.setpart(P.UPART_QUERY, "")
    u.setpart(P.UPART_FRAGMENT, "")
    assert u.url == "http://h/p#"
    assert (u.query, u.fragment) == (None, "")


def test_decoding():
    assert err(U("http://h/%00").getpart, P.UPART_PATH, P.U_URLDECODE) == (
        6, "URL decode error, most likely because of rubbish in the input")
    assert err(U("http://h/%1f").getpart, P.UPART_PATH, P.U_URLDECODE)[0] == 6
    assert U("http://h/%7f").getpart(P.UPART_PATH, P.U_URLDECODE) == "/\x7f"
    assert U("http://h/%zz").getpart(P.UPART_PATH, P.U_URLDECODE) == "/%zz"
    assert U("http://h/%c3%a9").getpart(P.UPART_PATH, P.U_URLDECODE) == "/\u00e9"
    assert U("http://h/%ff").getpart(P.UPART_PATH, P.U_URLDECODE) == "/\ufffd"
    assert U("http://h/?a+b").getpart(P.UPART_QUERY, P.U_URLDECODE) == "a b"


@pytest.mark.parametrize("part,value,flags,url,got", [
    (P.UPART_SCHEME, "HTTPS", 0, "HTTPS://h/p?q#f", "HTTPS"),
    (P.UPART_SCHEME, "foo", P.U_NON_SUPPORT_SCHEME, "foo://h/p?q#f", "foo"),
    (P.UPART_USER, "a:b@c", P.U_URLENCODE, "http://a%3Ab%40c@h/p?q#f", "a%3Ab%40c"),
    (P.UPART_USER, "a b", 0, "http://a b@h/p?q#f", "a b"),
    (P.UPART_PASSWORD, "pw", 0, "http://:pw@h/p?q#f", "pw"),
    (P.UPART_OPTIONS, "o", 0, "http://h/p?q#f", "o"),
    (P.UPART_HOST, "[::1]", 0, "http://[::1]/p?q#f", "[::1]"),
    (P.UPART_HOST, "h%41", 0, "http://h%41/p?q#f", "h%41"),
    (P.UPART_HOST, "127.1", 0, "http://127.0.0.1/p?q#f", "127.0.0.1"),
    (P.UPART_PORT, "080", 0, "http://h:80/p?q#f", "80"),
    (P.UPART_PATH, "x/y", 0, "http://h/x/y?q#f", "/x/y"),
    (P.UPART_PATH, "/a/../b", 0, "http://h/a/../b?q#f", "/a/../b"),
    (P.UPART_PATH, "/a?b#c%", P.U_URLENCODE, "http://h/a%3Fb%23c%25?q#f", "/a%3Fb%23c%25"),
    (P.UPART_PATH, "/a:@!b/", P.U_URLENCODE, "http://h/a:@!b/?q#f", "/a:@!b/"),
    (P.UPART_PATH, b"/\xe9\x01", P.U_URLENCODE, "http://h/%E9%01?q#f", "/%E9%01"),
    (P.UPART_QUERY, "a=b c&d=e+f", P.U_URLENCODE, "http://h/p?a%3Db+c%26d%3De%2Bf#f", "a%3Db+c%26d%3De%2Bf"),
    (P.UPART_QUERY, "n=1", P.U_APPENDQUERY, "http://h/p?q&n=1#f", "q&n=1"),
    (P.UPART_QUERY, "a=b=c d", P.U_APPENDQUERY | P.U_URLENCODE, "http://h/p?q&a=b%3Dc+d#f", "q&a=b%3Dc+d"),
    (P.UPART_FRAGMENT, "f g", P.U_URLENCODE, "http://h/p?q#f%20g", "f%20g"),
    (P.UPART_ZONEID, "eth0", 0, "http://h/p?q#f", "eth0"),
    (P.UPART_QUERY, None, 0, "http://h/p#f", None),
    (P.UPART_PATH, None, 0, "http://h/?q#f", "/"),
])
def test_setpart(part, value, flags, url, got):
    u = U("http://h/p?q#f")
    u.setpart(part, value, flags)
    assert u.url == url
    assert u.getpart(part) == got


@pytest.mark.parametrize("part,value,flags,code", [
    (P.UPART_SCHEME, "foo", 0, 5),
    (P.UPART_SCHEME, "", 0, 27),
    (P.UPART_SCHEME, "1x", P.U_NON_SUPPORT_SCHEME, 27),
    (P.UPART_HOST, "a b", P.U_URLENCODE, 21),
    (P.UPART_HOST, "::1", 0, 21),
    (P.UPART_HOST, "h:80", 0, 21),
    (P.UPART_HOST, "", 0, 21),
    (P.UPART_PORT, "65536", 0, 4),
    (P.UPART_PORT, "", 0, 4),
    (P.UPART_PORT, " 1", 0, 4),
    (11, "x", 0, 9),
    (-1, "x", 0, 9),
])
def test_setpart_errors(part, value, flags, code):
    assert err(U("http://h/").setpart, part, value, flags)[0] == code


def test_zoneid_and_ipv6():
    u = U("http://[fe80::1%25eth0]:80/")
    assert (u.host, u.zoneid, u.url) == ("[fe80::1]", "eth0", "http://[fe80::1%25eth0]:80/")
    u = U("http://[fe80::1]/")
    u.zoneid = "eth1"
    assert u.url == "http://[fe80::1%25eth1]/"
    assert err(U, "http://[::1%25]/")[0] == 22


@pytest.mark.parametrize("rel,expected", [
    ("d", "http://u:p@h:81/a/b/d"),
    ("../d", "http://u:p@h:81/a/d"),
    ("/d", "http://u:p@h:81/d"),
    ("?z", "http://u:p@h:81/a/b/c?z"),
    ("#g", "http://u:p@h:81/a/b/c?q=1#g"),
    ("", "http://u:p@h:81/a/b/c?q=1"),
    (".", "http://u:p@h:81/a/b/"),
    ("../../../../d", "http://u:p@h:81/d"),
    ("./d/./e/../f", "http://u:p@h:81/a/b/d/f"),
    ("//o/x", "http://o/x"),
    ("//v@o/x", "http://v@o/x"),
    ("https://s/", "https://s/"),
    ("d e", "http://u:p@h:81/a/b/d%20e"),
    ("a?b c#d e", "http://u:p@h:81/a/b/a?b+c#d+e"),
    ("a\tb", "http://u:p@h:81/a/b/a%09b"),
    (b"\xe9x", "http://u:p@h:81/a/b/%E9x"),
    ("./x?../y", "http://u:p@h:81/a/b/x?../y"),
])
def test_relative_url_resolves_against_the_handle(rel, expected):
    u = U("http://u:p@h:81/a/b/c?q=1#f")
    u.url = rel
    assert u.url == expected


def test_relative_url_errors_and_flags():
    assert err(U("http://h/a/b").setpart, P.UPART_URL, "g:h") == (5, "Unsupported URL scheme")
    assert err(U("http://h/a/b").setpart, P.UPART_URL, "//o p/x")[0] == 21
    assert err(U().setpart, P.UPART_URL, "d")[0] == 27
    u = U("http://h/a/b")
    u.setpart(P.UPART_URL, "../x/./y", P.U_PATH_AS_IS)
    assert u.url == "http://h/x/y"
    u = U()
    u.scheme, u.host = "http", "h"
    u.url = "x/y"
    assert u.url == "http://h/x/y"


def test_properties():
    u = U("http://h/")
    u.port = 8080
    assert u.url == "http://h:8080/"
    del u.port
    assert u.url == "http://h/"
    u.query = "x y"
    assert u.url == "http://h/?x y"
    assert err(setattr, u, "port", 70000)[0] == 4
    assert err(setattr, u, "port", True)[0] == 4
    with pytest.raises(TypeError, match="a URL part must be a string, bytes, or None"):
        u.port = 1.5
    with pytest.raises(TypeError, match="a URL part must be a string, bytes, or None"):
        u.host = 5
    with pytest.raises(AttributeError, match="'pycurl.CurlUrl' object has no attribute 'foo'"):
        u.foo = 5
    u.host = b"x"
    assert u.url == "http://x/?x y"
    u.host = None
    assert u.url is None
    del u.url
    assert u.scheme is None


def test_idn_is_not_built():
    assert U("http://abc.se/").getpart(P.UPART_HOST, P.U_PUNYCODE) == "abc.se"
    assert err(U("http://abc.se/").getpart, P.UPART_HOST, P.U_PUNY2IDN) == (30, "libcurl lacks IDN support")
    u = U()
    u.setpart(P.UPART_URL, b"http://h\xc3\xa9.se/")
    assert err(u.getpart, P.UPART_HOST, P.U_PUNYCODE)[0] == 30


def test_argument_errors():
    with pytest.raises(TypeError, match=r"CurlUrl\(\) takes at most 2 arguments \(3 given\)"):
        U("a", 0, 1)
    with pytest.raises(TypeError, match="a URL part must be a string, bytes, or None"):
        U(1)
    with pytest.raises(TypeError, match="'str' object cannot be interpreted as an integer"):
        U("http://h", "x")
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        U("http://h", 1.0)
    with pytest.raises(UnicodeEncodeError):
        U("http://h/\u00e9")
    with pytest.raises(ValueError, match="embedded null byte"):
        U("http://h/a\x00b")
    with pytest.raises(TypeError, match=r"getpart\(\) takes at least 1 argument \(0 given\)"):
        U("http://h").getpart()
    with pytest.raises(TypeError, match=r"CurlUrl.getpart\(\) takes no keyword arguments"):
        U("http://h").getpart(part=0)
    with pytest.raises(TypeError, match=r"setpart\(\) takes at least 2 arguments \(1 given\)"):
        U("http://h").setpart(0)
    with pytest.raises(OverflowError, match="signed integer is greater than maximum"):
        U("http://h").getpart(2 ** 40)
    with pytest.raises(TypeError, match="a URL part must be a string, bytes, or None"):
        U("http://h").setpart(0, bytearray(b"http://x/"))
    assert U(url="http://h/", flags=0).url == "http://h/"
    assert U(None).url is None


def test_copy_and_pickle():
    a = U("http://h/x")
    b = copy.copy(a)
    b.path = "/y"
    assert (a.url, b.url, copy.deepcopy(a).url) == ("http://h/x", "http://h/y", "http://h/x")
    assert a != U("http://h/x")
    with pytest.raises(TypeError, match="CurlUrl objects do not support serialization"):
        pickle.dumps(a)


def perform(c):
    c.setopt(pycurl.WRITEDATA, io.BytesIO())
    c.perform()
    return c.getinfo(pycurl.EFFECTIVE_URL), c.getinfo(pycurl.RESPONSE_CODE)


def test_curlu_option_drives_a_transfer(server):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, server.url("/hello?url"))
    c.setopt(pycurl.CURLU, U(server.url("/hello?a=1")))
    assert perform(c) == (server.url("/hello?a=1"), 200)
    assert server.last_request().startswith(b"GET /hello?a=1 HTTP/1.1\r\n")
    u = U(server.url("/redirect/1"))
    c = pycurl.Curl()
    c.setopt(pycurl.CURLU, u)
    c.setopt(pycurl.FOLLOWLOCATION, 1)
    assert perform(c) == (server.url("/hello"), 200)
    assert u.url == server.url("/redirect/1")
    c.close()


def test_curlu_option_unset_and_incomplete(server):
    for unset in (lambda c: c.setopt(pycurl.CURLU, None), lambda c: c.unsetopt(pycurl.CURLU)):
        c = pycurl.Curl()
        c.setopt(pycurl.URL, server.url("/hello"))
        c.setopt(pycurl.CURLU, U(server.url("/hello")))
        unset(c)
        assert err(perform, c) == (3, "No URL set")
    c = pycurl.Curl()
    c.setopt(pycurl.CURLU, U())
    assert err(perform, c) == (3, "No URL set")


@pytest.mark.parametrize("value,msg", [
    ("http://x/", "strings are not supported for this option"),
    (1, "integers are not supported for this option"),
    ([], "lists are not supported for this option"),
    (lambda: 0, "functions are not supported for this option"),
    (1.5, r"setopt\(option=CURLU\) expects a CurlUrl object"),
])
def test_curlu_option_type_errors(value, msg):
    with pytest.raises(TypeError, match=msg):
        pycurl.Curl().setopt(pycurl.CURLU, value)


@pytest.mark.parametrize("text,flags,code", [
    ("http://h/a b?a b#f g", 0, 20),  # fragment first, then query, then path
    ("http://h/a b?a b", 0, 26),
    ("http://u:@:65536/", 0, 14),  # an empty host before the port
    ("http://[1::2::3]:x/", 0, 4),  # the port before the IPv6 address
    ("http:h%41:443/", P.U_GUESS_SCHEME, 4),  # the port starts at the first colon
    ("u:p@1.2.3.4:/", P.U_GUESS_SCHEME, 4),  # no scheme, no default for an empty port
    ("https://u:p@:0/a", P.U_NON_SUPPORT_SCHEME | P.U_NO_AUTHORITY, 14),
    ("http://./a", 0, 21),
])
def test_parse_error_order(text, flags, code):
    assert err(U, text, flags)[0] == code


def test_parse_order_successes():
    assert U("u:p@1.2.3.4:80?a=1", P.U_DEFAULT_SCHEME).url == "https://u:p@1.2.3.4:80/?a=1"
    assert U("u:@h:?", P.U_DEFAULT_SCHEME).url == "https://u:@h/"
    assert U("http://u@4294967295/").host == "255.255.255.255"
    assert U("http://4294967296/").host == "4294967296"


def test_getpart_urlencode():
    u = U("http://:p@h/%2e%2e/x?a b", P.U_PATH_AS_IS | P.U_ALLOW_SPACE)
    assert u.getpart(P.UPART_PATH, P.U_URLENCODE) == "/%2E%2E/x"
    assert u.getpart(P.UPART_QUERY, P.U_URLENCODE) == "a+b"
    # libcurl hands pycurl no string for an empty part it was asked to encode
    with pytest.raises(TypeError, match="decoding to str: need a bytes-like object, NoneType found"):
        u.getpart(P.UPART_USER, P.U_URLENCODE)


def test_relative_url_is_parsed_again():
    u = U("http://h/a b?c d#f", P.U_ALLOW_SPACE)
    u.url = ""  # the base itself, fragment dropped, nothing re-parsed
    assert u.url == "http://h/a b?c d"
    assert err(u.setpart, P.UPART_URL, "#g") == (26, "Bad query")
    assert err(U("foo://h/a", P.U_NON_SUPPORT_SCHEME).setpart, P.UPART_URL, "x") == (5, "Unsupported URL scheme")
    u = U("http://h/%2e%2e/x?q", P.U_PATH_AS_IS)
    u.url = ""
    assert u.url == "http://h/%2e%2e/x?q"


def test_setpart_details():
    u = U("http://h/p?q#f")
    u.setpart(P.UPART_USER, "", P.U_URLENCODE)  # an empty encoded login part is no part
    assert (u.user, u.url) == (None, "http://h/p?q#f")
    u.setpart(P.UPART_ZONEID, "a\tb", P.U_URLENCODE)
    assert u.zoneid == "a%09b"
    assert err(U("http://h/").setpart, P.UPART_HOST, ".")[0] == 21
    assert err(U("http://h/").setpart, P.UPART_HOST, "[::1]", P.U_URLENCODE)[0] == 21
    u = U("http://h/p")
    u.setpart(P.UPART_HOST, "h%41")
    assert u.getpart(P.UPART_URL, P.U_URLENCODE) == "http://h%2541/p"
    u.setpart(P.UPART_PATH, "/[a]:@", P.U_URLENCODE)
    assert u.path == "/[a]:@"
    f = U("file:///x/y")
    f.path = ""
    assert (f.url, f.getpart(P.UPART_PORT, P.U_DEFAULT_PORT)) == ("file:///", "0")
    o = U("foo://h/x", P.U_NON_SUPPORT_SCHEME)
    o.options = "opt"
    assert o.url == "foo://;opt@h/x"
    z = U("http://h/")
    z.setpart(P.UPART_ZONEID, "a\tb")
    assert err(z.getpart, P.UPART_ZONEID, P.U_URLDECODE)[0] == 6
