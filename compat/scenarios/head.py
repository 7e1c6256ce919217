"""HEAD via NOBODY: header lines, no body, request line; also NOBODY on a chunked endpoint and
switching back to GET with HTTPGET."""
from _common import Obs, getinfos, perform, pycurl, request_head, server, url

o = Obs()
srv = server()
for name, path in (("hello", "/head-check"), ("chunked", "/chunked?n=100"),
                   ("big", "/big?mb=1")):
    c = pycurl.Curl()
    lines, data = [], []
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.NOBODY, 1)
    c.setopt(pycurl.HEADERFUNCTION, lines.append)
    c.setopt(pycurl.WRITEFUNCTION, data.append)
    perform(c, o, f"{name}.perform")
    o[f"{name}.header_lines"] = lines
    o[f"{name}.write_calls"] = data
    o[f"{name}.request_head"] = request_head(srv.last_request())
    o[f"{name}.info"] = getinfos(c, ["RESPONSE_CODE", "EFFECTIVE_METHOD", "SIZE_DOWNLOAD_T",
                                     "CONTENT_LENGTH_DOWNLOAD_T", "HEADER_SIZE", "NUM_CONNECTS"])
    c.close()

# NOBODY then HTTPGET on the same handle: back to GET, body delivered
c = pycurl.Curl()
data = []
c.setopt(pycurl.URL, url("/head-check"))
c.setopt(pycurl.NOBODY, 1)
c.setopt(pycurl.WRITEFUNCTION, data.append)
perform(c, o, "toggle.head")
c.setopt(pycurl.HTTPGET, 1)
perform(c, o, "toggle.get")
o["toggle.method"] = srv.last_request().method
o["toggle.writes"] = data
o["toggle.info"] = getinfos(c, ["EFFECTIVE_METHOD", "NUM_CONNECTS"])
# CUSTOMREQUEST HEAD with NOBODY
c.setopt(pycurl.CUSTOMREQUEST, "HEAD")
c.setopt(pycurl.NOBODY, 1)
perform(c, o, "custom_head")
o["custom_head.request_line"] = request_head(srv.last_request()).split("\r\n")[0]
c.close()
o.emit()
