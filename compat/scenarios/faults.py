"""The fault matrix of tests/test_faults.py (hostile peers from tests/hostile.py), compared field by
field: the pycurl.error (code and message), what WRITEFUNCTION and HEADERFUNCTION got, getinfo
RESPONSE_CODE / SIZE_DOWNLOAD / HEADER_SIZE / NUM_CONNECTS / EFFECTIVE_URL / REDIRECT_COUNT, the
cookies kept, that the row ended within its time bound, and what the next transfer on the same
handle does (a fresh connection or a reused one). Values that depend on timing are reduced to a
property: rows with a timeout or speed limit keep the message's wording without its numbers and
only whether any body came; the gzip bombs (whose compressed size depends on the server's zlib)
keep only how many header lines came."""
import re
import tempfile
import time

from _common import Obs, add_port, perform, pycurl, servers

import hostile
import test_faults

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


# Each bomb is built once, before the clock runs, so the bounds time the client.
hostile.warm_bombs(r[1] for r in test_faults.ROWS)
for name, path, opts, _code, limit in test_faults.ROWS:
    row(re.sub(r"\W+", "_", name).strip("_"), srv.url(path), opts, limit)
for path in ("/eof-no-length", "/eof-short"):
    key = "tls_no_close_notify" + path.replace("/", "_").replace("-", "_")
    row(key, srv.tls_url(path), {"CAINFO": certs.ca_pem}, 1)
row("tls_junk", "https://127.0.0.1:%d/" % srv.junk_port, {"SSL_VERIFYPEER": 0, "SSL_VERIFYHOST": 0}, 1)


def key(prefix, name):
    return prefix + re.sub(r"\W+", "_", name.split(": ", 1)[-1]).strip("_").lower()


# Session 6: hostile TLS peers, certificates, HTTP/2 servers and proxies (tests/test_faults.py).
for name, mode, path, opts, _code, limit in test_faults.TLS_ROWS:
    row(key("tls_", name), srv.tls_mode_url(mode, path), test_faults.tls_opts(opts, certs), limit)
cert_srvs = {}
for name, leaf, opts, _code in test_faults.CERT_ROWS:
    if leaf not in cert_srvs:
        cert_srvs[leaf] = servers.start_server(tls=certs, leaf=leaf)
        add_port(cert_srvs[leaf].port)
    opts = dict(opts)
    if opts.pop("CA", 0):
        opts["CAINFO"] = certs.ca_pem
    row(key("cert_", name), cert_srvs[leaf].url("/hello"), opts, 1)
for s in cert_srvs.values():
    s.stop()

import h2.settings  # noqa: E402

import h2hostile  # noqa: E402

_codes = h2.settings.SettingCodes
h2_srvs = {
    "main": h2hostile.HostileH2(certs),
    "no-streams": h2hostile.HostileH2(certs, settings={_codes.MAX_CONCURRENT_STREAMS: 0}),
    "no-window": h2hostile.HostileH2(certs, settings={_codes.INITIAL_WINDOW_SIZE: 0}, ack_data=False),
}
for s in h2_srvs.values():
    add_port(s.port)
for name, which, path, opts, _code, limit in test_faults.H2_ROWS:
    row(key("h2_", name), h2_srvs[which].url(path), dict(opts, CAINFO=certs.ca_pem), limit)
for s in h2_srvs.values():
    s.stop()

for name, mode, target, _code, _px, _cc in test_faults.PROXY_ROWS:
    url, extra = test_faults.proxy_target(srv, target)
    opts = dict(extra, PROXY=srv.proxy_url(mode), CAINFO=certs.ca_pem, TIMEOUT_MS=3000)
    row(key("proxy_", name), url, opts, 2.5)
srv.stop()
o.emit()
