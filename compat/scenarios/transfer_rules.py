"""Issue 8's transfer rules: OPT_FILETIME / TIMECONDITION (server honouring or ignoring the
condition), infos between CurlMulti perform() calls, HTTPHEADER credentials on redirects to another
origin, PORT, RESUME_FROM past the end, MAXFILESIZE on a body without length."""
import io

from _common import Obs, add_port, getinfos, perform, pycurl, server, url

import servers

o = Obs()
srv = server()
other = servers.start_server()
add_port(other.port)
T = 1700000000
INFOS = ["RESPONSE_CODE", "INFO_FILETIME", "FILETIME_T", "CONDITION_UNMET", "SIZE_DOWNLOAD_T"]


def run(name, path, infos=INFOS, **opts):
    c = pycurl.Curl()
    body = io.BytesIO()
    lines = []
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.HEADERFUNCTION, lines.append)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k) if isinstance(k, str) else k, v)
    perform(c, o, name + ".perform")
    o[name + ".body"] = body.getvalue()
    o[name + ".header_lines"] = len(lines)
    o[name + ".info"] = getinfos(c, infos)
    c.close()
    return c


o["fresh"] = getinfos(pycurl.Curl(), INFOS)
lm = "/last-modified?t=%d" % T
run("filetime", lm, OPT_FILETIME=1)
run("filetime_none", "/hello", OPT_FILETIME=1)
run("ims_304", lm, TIMECONDITION=1, TIMEVALUE=T + 10)
o["ims_304.sent"] = srv.last_request().header("If-Modified-Since")
run("ims_met", lm, TIMECONDITION=1, TIMEVALUE=T - 10)
run("ims_ignored", lm + "&honour=0", TIMECONDITION=1, TIMEVALUE=T + 10, OPT_FILETIME=1)
run("ius_ignored", lm + "&honour=0", TIMECONDITION=2, TIMEVALUE=T - 10)
run("ius_412", lm, TIMECONDITION=2, TIMEVALUE=T - 10)
run("lastmod", lm, TIMECONDITION=3, TIMEVALUE=T - 10)
o["lastmod.sent"] = srv.last_request().header("Last-Modified")
run("resume_past_end", "/range?n=100&err=1", RESUME_FROM=200)
run("resume_past_end_failonerror", "/range?n=100&err=1", RESUME_FROM=200, FAILONERROR=1)
run("maxfilesize_chunked", "/chunked?n=30000&chunks=30", MAXFILESIZE=1000)
run("port_override", "/hello", PORT=srv.port)
for name, target, extra in [("other_port", other.url("/headers"), {}),
                            ("same_origin", srv.url("/headers"), {}),
                            ("unrestricted", other.url("/headers"), {"UNRESTRICTED_AUTH": 1})]:
    # (the echoed request heads differ in the default User-Agent's length: no sizes here)
    run("redirect_" + name, "/redirect-to?url=" + target, INFOS[:1], FOLLOWLOCATION=1, HTTPHEADER=[
        "Authorization: Bearer secret", "Cookie: sid=1", "X-Other: yes"], **extra)

# Infos between perform() calls of a multi, once the body has started.
m = pycurl.CurlMulti()
c = pycurl.Curl()
c.setopt(pycurl.URL, url("/slowbody?chunks=3&delay=0.2"))
got = []
c.setopt(pycurl.WRITEFUNCTION, got.append)
m.add_handle(c)
mid = set()
while True:
    _, running = m.perform()
    if not running:
        break
    if got:
        mid.add((c.getinfo(pycurl.RESPONSE_CODE), c.getinfo(pycurl.CONTENT_TYPE)))
    m.select(0.05)
o["multi_mid_body"] = sorted(mid)
m.remove_handle(c)
other.stop()
o.emit()
