"""CurlUrl (libcurl's URL API as pycurl exposes it): a table of parse / setpart / getpart
operations with their flags, relative resolution, errors, str/repr/copy, and the CURLU option
of a Curl handle used for a transfer."""
import copy
import io
import pickle

from _common import Obs, call, pycurl, server, url

P = pycurl
U = pycurl.CurlUrl
o = Obs()
ALL = range(0, 11)


def parts(u, flags=0):
    return [u.getpart(p, flags) for p in ALL]


def parsed(s, flags=0):
    u = U(s, flags)
    return [u.url] + parts(u, P.U_GET_EMPTY)


URLS = [
    "HTTP://us%41er:pa%20ss@Example.COM:8080/a/./b/../c%20d?x=1&y=%20#fr%20ag", "http://h", "http://h?q",
    "http://h#f", "http://h/?", "http://h/#", "http://h/?#", "https://h:443", "http://h:/", "http://h:0/",
    "http://h:080/", "http://h:00000000080/", "http://h:65535", "http://h:99999/", "http://h:+1/", "http://h:1a/",
    "http://", "", "example.com", "foo://h/", "x://h/", "http://h/a b", "http://h/\x01", "http://h/\x7f",
    "http://h/a\tb", " http://h/", "http://h/ ", "http://a b/", "http://h;opt/", "http://a@b@c/",
    "http://h%41/", "http://h%2f/", "http://127.1/", "http://0x7f.1/", "http://2130706433/", "http://256.1.1.1/",
    "http://1.2.3.4.5/", "http://0x/", "http://09/", "http://h/?a b", "http://h/#a b", "http://u s@h/",
    "http://u:p s@h/", "http:/h/x", "http:///h/x", "http:////h/x", "HTTP://H", "HtTp://h",
    "http://h/a?b?c#d#e", "http://u:@h/", "http://:p@h/", "http://@h/", "imap://u;o:p@h/", "imap://u:p;o@h/",
    "imap://;o@h/", "imap://u;AUTH=x@h/", "http://u;AUTH=x@h/", "http://[fe80::1%25eth0]:80/",
    "http://[::1%eth0]/", "http://[::1%25]/", "http://[fe80::1%25eth0/", "http://[::1]x/", "http://[zz]/",
    "http://[::1]:/", "http://[::1]/", "http://[::FFFF:127.0.0.1]/", "http://[0:0:0:0:0:0:0:1]/",
    "http://[1:2:3:4:5:6:7:8]/", "http://[::]/", "file:///etc/x", "file:/etc/x", "file://localhost/x",
    "file://127.0.0.1/x", "file://other/x", "file:///x?q#f", "file://", "file:x", "file:///",
    "http://h/%7e", "http://h/a/b/..", "http://h/a/b/.", "http://h/./a", "http://h/../a", "http://h/a/%2e%2e/b",
    "http://h/a/.../b", "http://h\\x/", "http://h/\\x", "ws://h/", "wss://h:443/", "ftp://h:21/",
    "http://h_x/", "http://h.-/", "http://h.example./", "http://h*/", "http://h!/", b"http://h/",
    b"http://h/\xe9", b"http://h\xc3\xa9.se/", "http://h/%zz", None, "http://HöSt.se/", 1, "http://h/a\x00b",
]
for i, s in enumerate(URLS):
    o[f"parse.{i}.input"] = repr(s)
    o[f"parse.{i}"] = call(parsed, s)

FLAGGED = [
    ("example.com", P.U_GUESS_SCHEME), ("ftp.example.com/x", P.U_GUESS_SCHEME), ("example.com", P.U_DEFAULT_SCHEME),
    ("example.com", P.U_GUESS_SCHEME | P.U_DEFAULT_SCHEME), ("example.com:80/x", P.U_GUESS_SCHEME),
    ("example.com:80/x", 0), ("IMAP.x.com", P.U_GUESS_SCHEME), ("dict.x", P.U_GUESS_SCHEME),
    ("ldap.x", P.U_GUESS_SCHEME), ("pop3.x", P.U_GUESS_SCHEME), ("smtp.x", P.U_GUESS_SCHEME),
    ("ftp.", P.U_GUESS_SCHEME), ("ftpx.com", P.U_GUESS_SCHEME), ("//h/x", P.U_GUESS_SCHEME),
    ("u@h/x", P.U_DEFAULT_SCHEME), ("foo://h/", P.U_NON_SUPPORT_SCHEME), ("http://h/a b", P.U_ALLOW_SPACE),
    ("http://h/?a b", P.U_ALLOW_SPACE), ("http://h/#a b", P.U_ALLOW_SPACE), ("http://h/a b", P.U_URLENCODE),
    ("http://h/a b?c d#e f", P.U_URLENCODE), ("http://h/a%20b", P.U_URLENCODE),
    ("http://h/a b", P.U_ALLOW_SPACE | P.U_URLENCODE), ("http://h/a/../b", P.U_PATH_AS_IS),
    ("http://u@h/", P.U_DISALLOW_USER), ("foo:bar", P.U_NON_SUPPORT_SCHEME | P.U_NO_AUTHORITY),
    ("foo:///bar", P.U_NON_SUPPORT_SCHEME | P.U_NO_AUTHORITY), ("foo:x", P.U_NON_SUPPORT_SCHEME),
    ("foo://", P.U_NON_SUPPORT_SCHEME | P.U_NO_AUTHORITY), ("foo:/x", P.U_NON_SUPPORT_SCHEME | P.U_NO_AUTHORITY),
    ("http:///x", P.U_NO_AUTHORITY), ("foo://h:1/x", P.U_NON_SUPPORT_SCHEME | P.U_DEFAULT_PORT),
    ("http://u@h/", -1), ("http://h", 2 ** 64), ("http://u@h/", 2 ** 32 + 32), ("http://h", 1.0), ("http://h", None),
    ("http://h", "x"),
]
for i, (s, fl) in enumerate(FLAGGED):
    o[f"flagged.{i}.input"] = [s, repr(fl)]
    o[f"flagged.{i}"] = call(parsed, s, fl)

GETS = [
    ("http://h", P.UPART_PORT, P.U_DEFAULT_PORT), ("https://h:443", P.UPART_PORT, P.U_NO_DEFAULT_PORT),
    ("https://h:443", P.UPART_URL, P.U_NO_DEFAULT_PORT), ("https://h", P.UPART_URL, P.U_DEFAULT_PORT),
    ("ftp://h:21/", P.UPART_URL, P.U_NO_DEFAULT_PORT), ("http://h/", P.UPART_URL, -1), ("http://h/", P.UPART_URL, 2 ** 33),
    ("http://us%41er@h/a%20b?x=%20+y#f%20g", P.UPART_USER, P.U_URLDECODE),
    ("http://us%41er@h/a%20b?x=%20+y#f%20g", P.UPART_PATH, P.U_URLDECODE),
    ("http://us%41er@h/a%20b?x=%20+y#f%20g", P.UPART_QUERY, P.U_URLDECODE),
    ("http://us%41er@h/a%20b?x=%20+y#f%20g", P.UPART_FRAGMENT, P.U_URLDECODE),
    ("http://us%41er@h/a%20b?x=%20+y#f%20g", P.UPART_URL, P.U_URLDECODE),
    ("http://h/%00", P.UPART_PATH, P.U_URLDECODE), ("http://h/%01", P.UPART_PATH, P.U_URLDECODE),
    ("http://h/%1f", P.UPART_PATH, P.U_URLDECODE), ("http://h/%7f", P.UPART_PATH, P.U_URLDECODE),
    ("http://h/%2", P.UPART_PATH, P.U_URLDECODE), ("http://h/%c3%a9", P.UPART_PATH, P.U_URLDECODE),
    ("http://h/%ff", P.UPART_PATH, P.U_URLDECODE), ("http://h/%zz", P.UPART_PATH, P.U_URLDECODE),
    ("http://abc.se/", P.UPART_HOST, P.U_PUNYCODE), ("http://abc.se/", P.UPART_HOST, P.U_PUNY2IDN),
    ("http://xn--abc.se/", P.UPART_URL, P.U_PUNY2IDN), ("http://h/", 11, 0), ("http://h/", -1, 0),
    ("http://h/", "x", 0), ("http://h/", 2 ** 40, 0), ("http://h/", None, 0),
]
for i, (s, p, fl) in enumerate(GETS):
    o[f"get.{i}.input"] = [s, repr(p), repr(fl)]
    o[f"get.{i}"] = call(lambda: U(s).getpart(p, fl))


def guessed():
    u = U("x.com", P.U_GUESS_SCHEME)
    return [u.getpart(P.UPART_SCHEME, P.U_NO_GUESS_SCHEME), u.getpart(0, P.U_NO_GUESS_SCHEME), u.scheme,
            U("http://x.com").getpart(0, P.U_NO_GUESS_SCHEME)]


o["guessed"] = call(guessed)

SETS = [
    (P.UPART_SCHEME, "https", 0), (P.UPART_SCHEME, "HTTPS", 0), (P.UPART_SCHEME, "foo", 0),
    (P.UPART_SCHEME, "foo", P.U_NON_SUPPORT_SCHEME), (P.UPART_SCHEME, "1x", P.U_NON_SUPPORT_SCHEME),
    (P.UPART_SCHEME, "", 0), (P.UPART_USER, "a b", 0), (P.UPART_USER, "a b", P.U_URLENCODE),
    (P.UPART_USER, "a:b@c", P.U_URLENCODE), (P.UPART_USER, "a:b", 0), (P.UPART_USER, "/a =:@b/?", P.U_URLENCODE),
    (P.UPART_PASSWORD, "x y", P.U_URLENCODE), (P.UPART_PASSWORD, "pw", 0), (P.UPART_OPTIONS, "o", 0),
    (P.UPART_HOST, "NEW.example", 0), (P.UPART_HOST, "a b", 0), (P.UPART_HOST, "a b", P.U_URLENCODE),
    (P.UPART_HOST, "[::1]", 0), (P.UPART_HOST, "::1", 0), (P.UPART_HOST, "[::1", 0), (P.UPART_HOST, "h%41", 0),
    (P.UPART_HOST, "", 0), (P.UPART_HOST, "h:80", 0), (P.UPART_HOST, "h/x", 0), (P.UPART_HOST, "\x01", 0),
    (P.UPART_HOST, "[0:0::1]", 0), (P.UPART_HOST, "[fe80::1%25eth0]", 0), (P.UPART_HOST, "[fe80::1%eth0]", 0),
    (P.UPART_HOST, "127.1", 0), (P.UPART_HOST, "A_b", 0), (P.UPART_HOST, "a!b", 0),
    (P.UPART_HOST, b"h\xc3\xa9.se", 0), (P.UPART_PORT, "8080", 0), (P.UPART_PORT, "0", 0),
    (P.UPART_PORT, "65536", 0), (P.UPART_PORT, "x", 0), (P.UPART_PORT, "", 0), (P.UPART_PORT, " 1", 0),
    (P.UPART_PORT, "080", 0), (P.UPART_PORT, 8080, 0), (P.UPART_PATH, "x/y", 0), (P.UPART_PATH, "/a b", 0),
    (P.UPART_PATH, "/a b", P.U_URLENCODE), (P.UPART_PATH, "/a?b#c%", P.U_URLENCODE),
    (P.UPART_PATH, "/a-._~!$&'()*+,;=:@b/", P.U_URLENCODE), (P.UPART_PATH, b"/\xe9\x01", P.U_URLENCODE),
    (P.UPART_PATH, "/a/../b", 0), (P.UPART_PATH, "", 0), (P.UPART_PATH, "/\u00e9", P.U_URLENCODE),
    (P.UPART_PATH, b"/bytes", 0), (P.UPART_PATH, "/\x01", 0), (P.UPART_PATH, "/a\x00b", 0),
    (P.UPART_QUERY, "a=b c&d=e+f", P.U_URLENCODE), (P.UPART_QUERY, "a=b c", 0), (P.UPART_QUERY, "n=1", P.U_APPENDQUERY),
    (P.UPART_QUERY, "n=1 2&x", P.U_APPENDQUERY | P.U_URLENCODE), (P.UPART_QUERY, "a=b=c d", P.U_APPENDQUERY | P.U_URLENCODE),
    (P.UPART_QUERY, "a=b c", P.U_APPENDQUERY), (P.UPART_QUERY, "/a-._~!$&'()*+,;=:@b/?", P.U_URLENCODE),
    (P.UPART_QUERY, "", 0), (P.UPART_QUERY, "?x", 0), (P.UPART_FRAGMENT, "f g", P.U_URLENCODE),
    (P.UPART_FRAGMENT, "/a =:@b/?", P.U_URLENCODE), (P.UPART_FRAGMENT, "#x", 0), (P.UPART_FRAGMENT, "", 0),
    (P.UPART_ZONEID, "eth0", 0), (P.UPART_URL, "", 0), (11, "x", 0), (-1, "x", 0), (None, "x", 0),
    (P.UPART_URL, bytearray(b"http://x/"), 0), (P.UPART_URL, "http://x/", "x"),
    (P.UPART_QUERY, None, 0), (P.UPART_URL, None, 0), (P.UPART_HOST, None, 0), (P.UPART_SCHEME, None, 0),
    (P.UPART_PATH, None, 0), (P.UPART_FRAGMENT, None, 0), (P.UPART_PORT, None, 0),
]


def setpart(base, p, v, fl):
    u = U(base) if base else U()
    u.setpart(p, v, fl)
    return [u.url] + parts(u) + [u.getpart(0, P.U_GET_EMPTY)]


for i, (p, v, fl) in enumerate(SETS):
    o[f"set.{i}.input"] = [repr(p), repr(v), repr(fl)]
    o[f"set.{i}"] = call(setpart, "http://h/p?q#f", p, v, fl)
o["set.append_empty"] = call(setpart, "http://h/", P.UPART_QUERY, "n=1", P.U_APPENDQUERY)
o["set.append_amp"] = call(setpart, "http://h/?a&", P.UPART_QUERY, "n=1", P.U_APPENDQUERY)
o["set.zone_v6"] = call(setpart, "http://[fe80::1]/", P.UPART_ZONEID, "eth0", 0)
o["set.query_empty_get_empty"] = call(setpart, "http://x/?a", P.UPART_QUERY, "", 0)
for i, (p, v) in enumerate([(P.UPART_OPTIONS, "o"), (P.UPART_USER, "u"), (P.UPART_PASSWORD, "p")]):
    o[f"set.imap.{i}"] = call(setpart, "imap://h/", p, v, 0)

RELS = ["d", "../d", "/d", "?z", "#g", "//o/x", "https://s/", "", ".", "..", "../../../../d", "d?x#y",
        "./d/./e/../f", "g:h", "mailto:x", "//o", "  d", "d e", "/x y", "http://", b"\xe9x", "a\tb", "a?b c#d e",
        "./x?../y", "//v@o/x", "//o p/x", "/../a"]
B = "http://u:p@h:81/a/b/c?q=1#f"
for i, r in enumerate(RELS):
    o[f"rel.{i}.input"] = repr(r)
    o[f"rel.{i}"] = call(setpart, B, P.UPART_URL, r, 0)
for i, (base, r, fl) in enumerate([(B, "../x/./y", P.U_PATH_AS_IS), (B, "d e", P.U_ALLOW_SPACE), (B, "d e", P.U_URLENCODE),
                                   (B, "h2/x", P.U_GUESS_SCHEME), ("http://h", "a", 0), ("http://h/d/?q", "a?x", 0),
                                   ("file:///a/x", "b", 0), ("http://h:8080/a/b", "/x", 0), (None, "d", 0)]):
    o[f"rel_flags.{i}"] = call(setpart, base, P.UPART_URL, r, fl)


def build():
    u = U()
    steps = [u.url]
    u.scheme = "https"
    steps.append(u.url)
    u.host = "h"
    u.path = "x"
    u.port = "99"
    u.query = "a"
    u.fragment = "f"
    u.user = "u"
    u.password = "p"
    steps.append(u.url)
    u.setpart(P.UPART_URL, "y/z")
    steps.append(u.url)
    return steps


o["build"] = call(build)


def props():
    u = U("http://h/")
    out = []
    for name, v in [("port", 8080), ("port", None), ("query", "x y"), ("port", 80), ("port", "x"), ("port", 1.5),
                    ("port", 70000), ("port", -1), ("port", True), ("host", 5), ("host", b"x"), ("zoneid", "e"),
                    ("url", "d"), ("foo", 5)]:
        try:
            setattr(u, name, v)
            out.append(["ok", u.url])
        except Exception as e:  # noqa: BLE001
            out.append([type(e).__name__, list(e.args)])
    del u.query
    out.append(u.url)
    del u.url
    out.append(u.url)
    return out


o["props"] = call(props)


def incomplete():
    out = []
    for setup in [lambda u: None, lambda u: setattr(u, "scheme", "http"), lambda u: setattr(u, "host", "h"),
                  lambda u: setattr(u, "scheme", "file")]:
        u = U()
        setup(u)
        out.append([u.url, u.path, u.getpart(0), repr(u).split(" at ")[0]])
        try:
            out.append(str(u))
        except pycurl.error as e:
            out.append(["error", list(e.args)])
    return out


o["incomplete"] = call(incomplete)
o["repr"] = call(lambda: repr(U("http://h/x?y")).split(" at ")[0])
o["str"] = call(lambda: str(U("http://h/x?y")))
o["copy"] = call(lambda: copy.copy(U("http://h/x")).url)
o["deepcopy"] = call(lambda: copy.deepcopy(U("http://h/x")).url)
o["copy_independent"] = call(lambda: (lambda a: (lambda b: (setattr(b, "path", "/y"), a.url, b.url))(copy.copy(a)))(U("http://h/x")))
o["pickle"] = call(lambda: pickle.dumps(U("http://h/x")))
o["eq"] = call(lambda: U("http://h") == U("http://h"))
o["hashable"] = call(lambda: isinstance(hash(U("http://h")), int))
o["ctor_kw"] = call(lambda: U(url="http://h/", flags=0).url)
o["ctor_3"] = call(lambda: U("a", 0, 1))
o["getpart_none"] = call(lambda: U("http://h").getpart())
o["getpart_kw"] = call(lambda: U("http://h").getpart(part=0, flags=0))
o["setpart_kw"] = call(lambda: U("http://h").setpart(part=0, value="http://x", flags=0))
o["setpart_one"] = call(lambda: U("http://h").setpart(0))
o["type"] = call(lambda: [U.__name__, U.__module__, type(U()).__qualname__])
o["constants"] = {n: getattr(pycurl, n) for n in dir(pycurl) if n.startswith(("U_", "UPART_", "CURLU"))}

# the CURLU option of a Curl handle
srv = server()


def transfer(setup):
    c = pycurl.Curl()
    c.setopt(pycurl.WRITEDATA, io.BytesIO())
    try:
        setup(c)
        c.perform()
    except pycurl.error as e:
        return ["error", list(e.args)]
    return [bytes(srv.last_request()).split(b"\r\n")[0], c.getinfo(pycurl.EFFECTIVE_URL), c.getinfo(pycurl.RESPONSE_CODE)]


o["curlu.basic"] = call(transfer, lambda c: c.setopt(pycurl.CURLU, U(url("/hello?a=1"))))
o["curlu.url_then_curlu"] = call(transfer, lambda c: (c.setopt(pycurl.URL, url("/hello?url")),
                                                      c.setopt(pycurl.CURLU, U(url("/hello?curlu")))))
o["curlu.none"] = call(transfer, lambda c: (c.setopt(pycurl.URL, url("/hello?url")),
                                            c.setopt(pycurl.CURLU, U(url("/hello?curlu"))), c.setopt(pycurl.CURLU, None)))
o["curlu.unset"] = call(transfer, lambda c: (c.setopt(pycurl.URL, url("/hello?url")),
                                             c.setopt(pycurl.CURLU, U(url("/hello?curlu"))), c.unsetopt(pycurl.CURLU)))
o["curlu.incomplete"] = call(transfer, lambda c: c.setopt(pycurl.CURLU, U()))
o["curlu.redirect"] = call(transfer, lambda c: (c.setopt(pycurl.CURLU, U(url("/redirect/1"))),
                                                c.setopt(pycurl.FOLLOWLOCATION, 1)))
for i, bad in enumerate(["http://x/", b"http://x/", 1, [], lambda: 0, 1.5, object()]):
    o[f"curlu.bad.{i}"] = call(lambda: pycurl.Curl().setopt(pycurl.CURLU, bad))
o["curlu.setopt_string"] = call(lambda: pycurl.Curl().setopt_string(pycurl.CURLU, "http://x/"))
o.emit()
