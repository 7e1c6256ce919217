"""Redirects followed (header blocks per response, REDIRECT_COUNT, EFFECTIVE_URL, method changes)
and not followed (REDIRECT_URL), MAXREDIRS, relative Location, POST over 302/303/307."""
import io
import urllib.parse

from _common import Obs, getinfos, perform, pycurl, request_head, server, url, timing_class

o = Obs()
srv = server()
INFOS = ["RESPONSE_CODE", "REDIRECT_COUNT", "EFFECTIVE_URL", "REDIRECT_URL", "EFFECTIVE_METHOD",
         "NUM_CONNECTS", "CONTENT_TYPE", "HEADER_SIZE"]


def blocks(lines):
    out = []
    for ln in lines:
        if ln.startswith(b"HTTP/"):
            out.append([])
        if out:
            out[-1].append(ln)
    return out


def run(name, path, follow=True, setup=None):
    c = pycurl.Curl()
    lines = []
    body = io.BytesIO()
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.HEADERFUNCTION, lines.append)
    c.setopt(pycurl.WRITEDATA, body)
    if follow:
        c.setopt(pycurl.FOLLOWLOCATION, 1)
    if setup:
        setup(c)
    n_before = len(srv.requests)
    perform(c, o, f"{name}.perform")
    o[f"{name}.header_blocks"] = blocks(lines)
    o[f"{name}.body"] = body.getvalue()
    o[f"{name}.info"] = getinfos(c, INFOS)
    o[f"{name}.redirect_time"] = timing_class(c.getinfo(pycurl.REDIRECT_TIME))
    o[f"{name}.requests"] = [request_head(r).split("\r\n")[0] + " body=" + repr(r.body)
                             for r in srv.requests[n_before:]]
    c.close()


run("follow3", "/redirect/3")
run("nofollow", "/redirect/3", follow=False)
run("relative_follow", "/relative-redirect")
run("relative_nofollow", "/relative-redirect", follow=False)
run("maxredirs", "/redirect/5", setup=lambda c: c.setopt(pycurl.MAXREDIRS, 2))
run("maxredirs0", "/redirect/1", setup=lambda c: c.setopt(pycurl.MAXREDIRS, 0))
run("maxredirs0_nofollow", "/redirect/1", follow=False,
    setup=lambda c: c.setopt(pycurl.MAXREDIRS, 0))
for code in (301, 302, 303, 307, 308):
    target = urllib.parse.quote("/echo", safe="")
    run(f"post_{code}", f"/redirect-to?url={target}&code={code}",
        setup=lambda c: c.setopt(pycurl.POSTFIELDS, "p=1"))
run("post_307_readfunc_noseek", f"/redirect-to?url=%2Fecho&code=307",
    setup=lambda c: (c.setopt(pycurl.POST, 1), c.setopt(pycurl.POSTFIELDSIZE, 3),
                     c.setopt(pycurl.READFUNCTION, lambda n: b"abc")))
run("unsupported_scheme", "/redirect-to?url=nosuch%3A%2F%2Fhost%2F")
run("absolute_other_path", f"/redirect-to?url={urllib.parse.quote(url('/bytes?n=3'), safe='')}")
run("nofollow_absolute", f"/redirect-to?url={urllib.parse.quote(url('/bytes?n=3'), safe='')}",
    follow=False)
run("location_303_head", "/redirect-to?url=%2Fhead-check&code=303",
    setup=lambda c: c.setopt(pycurl.NOBODY, 1))
o.emit()
