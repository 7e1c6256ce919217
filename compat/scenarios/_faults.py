"""The row machinery of the fault scenarios (faults.py, hostile_peers.py): the hostile servers of
tests/hostile.py started once per scenario, and ``row()``, which runs one row and records what
faults.py's docstring lists."""
import re
import tempfile
import time

from _common import Obs, add_port, perform, pycurl, servers

import hostile

o = Obs()
certs = servers.make_certs(tempfile.mkdtemp())
srv = hostile.start(certs)
add_port(srv.port)
add_port(srv.junk_port)
add_port(srv.tls_port)
for _p in srv.tls_mode_ports:
    add_port(_p)

_DIGITS = re.compile(r"\d+")


def _cookie(line):
    # The expiry is "now + max-age" or capped at now + 400 days: only whether it is a session cookie.
    f = line.split("\t")
    if len(f) == 7 and f[4] != "0":
        f[4] = "EXPIRES"
    return "\t".join(f)


def row(key, url, opts, limit):
    timed = any(k.startswith(("TIMEOUT", "LOW_SPEED")) for k in opts)
    bomb = "/bomb" in url
    c = pycurl.Curl()
    body, heads = [], []
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, lambda d: body.append(bytes(d)))
    c.setopt(pycurl.HEADERFUNCTION, lambda h: heads.append(bytes(h)))
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    t0 = time.monotonic()
    r = perform(c)
    o[key + ".in_time"] = time.monotonic() - t0 < limit
    code, msg = r["args"] if "exc" in r else (0, None)
    o[key + ".code"] = code
    o[key + ".message"] = _DIGITS.sub("N", msg) if timed and msg else msg
    got = b"".join(body)
    if timed:
        o[key + ".body"] = "some" if got else "none"
    else:
        o[key + ".body_len"] = len(got)
        o[key + ".body"] = got if len(got) <= 256 else got[:64]
        o[key + ".size_download"] = c.getinfo(pycurl.SIZE_DOWNLOAD)
    o[key + ".header_lines"] = len(heads)
    if not bomb:
        o[key + ".header_size"] = c.getinfo(pycurl.HEADER_SIZE)
        o[key + ".headers"] = heads if len(heads) <= 12 else heads[:6] + heads[-3:]
        if heads and len(heads) <= 12:
            o[key + ".header_bytes"] = sum(map(len, heads))
    o[key + ".response_code"] = c.getinfo(pycurl.RESPONSE_CODE)
    o[key + ".num_connects"] = c.getinfo(pycurl.NUM_CONNECTS)
    o[key + ".effective_url"] = c.getinfo(pycurl.EFFECTIVE_URL)
    o[key + ".redirect_count"] = c.getinfo(pycurl.REDIRECT_COUNT)
    if "PROXY" in opts:
        o[key + ".proxy_error"] = c.getinfo(pycurl.PROXY_ERROR)
        o[key + ".connect_code"] = c.getinfo(pycurl.HTTP_CONNECTCODE)
    if "COOKIEFILE" in opts:
        jar = c.getinfo(pycurl.INFO_COOKIELIST)
        o[key + ".cookies"] = len(jar)
        o[key + ".cookielist"] = [_cookie(x) for x in jar[:12]]
    # The next transfer on the same handle: it works, and reuses the connection only when the
    # broken one was left at a message boundary.
    c.reset()
    c.setopt(pycurl.URL, srv.url("/ok"))
    nxt = []
    c.setopt(pycurl.WRITEFUNCTION, lambda d: nxt.append(bytes(d)))
    o[key + ".then_ok"] = perform(c)
    o[key + ".then"] = [c.getinfo(pycurl.RESPONSE_CODE), c.getinfo(pycurl.NUM_CONNECTS), b"".join(nxt)]
    c.close()
