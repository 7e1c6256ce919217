"""Issue 11 part A: credentials from .netrc per NETRC mode, Bearer tokens, the shape of an
AWS_SIGV4 request (names, order, scope; the signature itself changes with the clock), HTTP200ALIASES,
a transfer over UNIX_SOCKET_PATH, and setopt's answers for these options."""
import os
import socket
import tempfile
import threading

from _common import Obs, add_replacement, call, getinfos, perform, pycurl, server, url

o = Obs()
srv = server()
tmp = tempfile.mkdtemp()
add_replacement(tmp, "TMP")
netrc = os.path.join(tmp, "netrc")
with open(netrc, "w") as f:
    f.write('machine 127.0.0.1 login alice password apw\nmachine 127.0.0.1 login bob password bpw\n'
            'macdef x\nmachine 127.0.0.1 login mac password mac\n\ndefault login "d q" password "p\\tw"\n')

for mode in (0, 1, 2):
    for name, userinfo, extra in (("plain", "", {}), ("user", "bob@", {}), ("userpass", "bob:zz@", {}),
                                  ("userpwd", "", {"USERPWD": "x:y"})):
        c = pycurl.Curl()
        c.setopt(pycurl.URL, url("/hello").replace("://", "://" + userinfo))
        c.setopt(pycurl.NETRC, mode)
        c.setopt(pycurl.NETRC_FILE, netrc)
        c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
        for k, v in extra.items():
            c.setopt(getattr(pycurl, k), v)
        perform(c, o, f"netrc.{mode}.{name}.perform")
        o[f"netrc.{mode}.{name}.auth"] = srv.last_request().header("Authorization")
        c.close()
for mode in (1, 2):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url("/hello"))
    c.setopt(pycurl.NETRC, mode)
    c.setopt(pycurl.NETRC_FILE, os.path.join(tmp, "missing"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    perform(c, o, f"netrc.missing.{mode}")
    c.close()

for name, opts in (("bearer", {"HTTPAUTH": 64, "XOAUTH2_BEARER": "tok"}),
                   ("bearer_any", {"HTTPAUTH": pycurl.HTTPAUTH_ANY, "XOAUTH2_BEARER": "tok"}),
                   ("sigv4", {"AWS_SIGV4": "aws:amz:us-east-1:s3", "USERPWD": "AKID:SECRET"}),
                   ("sigv4_osc", {"AWS_SIGV4": "osc", "USERPWD": "AKID:SECRET", "HTTPHEADER": ["X-A: 1"]})):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url("/hello?b=1&a=2"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    perform(c, o, f"{name}.perform")
    req = srv.last_request()
    o[f"{name}.header_names"] = [n for n, _ in req.headers]
    auth = req.header("Authorization") or ""
    # the signature and the date change every second: keep what does not
    o[f"{name}.auth"] = auth.split(", Signature=")[0].split("Credential=AKID/")[0] + (
        "/".join(auth.split("Credential=AKID/")[1].split(",")[0].split("/")[1:]) if "Credential=" in auth else "")
    o[f"{name}.signed_headers"] = auth.split("SignedHeaders=")[1].split(",")[0] if "SignedHeaders=" in auth else None
    c.close()

# ICY replies with and without an alias
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(8)
icy_port = ls.getsockname()[1]


def icy():
    while True:
        try:
            s, _ = ls.accept()
        except OSError:
            return
        with s:
            s.recv(65536)
            s.sendall(b"ICY 404 Nope\r\nContent-Length: 2\r\n\r\nhi")


threading.Thread(target=icy, daemon=True).start()
for name, aliases in (("none", None), ("icy", ["ICY"]), ("lower", ["icy 4"])):
    c = pycurl.Curl()
    lines, data = [], []
    c.setopt(pycurl.URL, f"http://127.0.0.1:{icy_port}/")
    c.setopt(pycurl.HEADERFUNCTION, lines.append)
    c.setopt(pycurl.WRITEFUNCTION, data.append)
    if aliases is not None:
        c.setopt(pycurl.HTTP200ALIASES, aliases)
    perform(c, o, f"alias.{name}.perform")
    o[f"alias.{name}.lines"] = lines
    o[f"alias.{name}.data"] = data
    o[f"alias.{name}.info"] = getinfos(c, ["RESPONSE_CODE", "INFO_HTTP_VERSION"])
    c.close()
ls.close()

# HTTP over a Unix socket (a plain HTTP server on one)
sock_path = os.path.join(tmp, "s.sock")
us = socket.socket(socket.AF_UNIX)
us.bind(sock_path)
us.listen(8)


def unix_srv():
    while True:
        try:
            s, _ = us.accept()
        except OSError:
            return
        with s:
            data = b""
            while b"\r\n\r\n" not in data:
                d = s.recv(4096)
                if not d:
                    break
                data += d
            head = data.split(b"\r\n\r\n")[0].split(b"\r\nUser-Agent")[0]
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(head) + head)


threading.Thread(target=unix_srv, daemon=True).start()
c = pycurl.Curl()
data = []
c.setopt(pycurl.URL, "http://unix.invalid:8080/p")
c.setopt(pycurl.UNIX_SOCKET_PATH, sock_path)
c.setopt(pycurl.WRITEFUNCTION, data.append)
perform(c, o, "unix.perform")
o["unix.body"] = b"".join(data)
o["unix.info"] = getinfos(c, ["RESPONSE_CODE", "PRIMARY_PORT", "LOCAL_IP", "LOCAL_PORT", "NUM_CONNECTS"])
o["unix.primary_is_path"] = c.getinfo(pycurl.PRIMARY_IP) == sock_path
c.setopt(pycurl.UNIX_SOCKET_PATH, os.path.join(tmp, "none.sock"))
perform(c, o, "unix.missing")
c.close()
us.close()

# setopt's answers
for name, value in (("NETRC", 3), ("NETRC", -1), ("NETRC_FILE", 1), ("UPLOAD_BUFFERSIZE", -1),
                    ("UPLOAD_BUFFERSIZE", 10**9), ("ADDRESS_SCOPE", 2**32), ("ADDRESS_SCOPE", 5),
                    ("HTTP200ALIASES", "ICY"), ("HTTP200ALIASES", [1]), ("AWS_SIGV4", 1),
                    ("XOAUTH2_BEARER", None), ("UNIX_SOCKET_PATH", None), ("HTTP200ALIASES", None)):
    c = pycurl.Curl()
    o[f"setopt.{name}.{value!r}"] = call(c.setopt, getattr(pycurl, name), value)
    c.close()
o.emit()
