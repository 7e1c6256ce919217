"""HTTP error statuses with and without FAILONERROR."""
import io

from _common import Obs, getinfos, perform, pycurl, url

o = Obs()
for code in (404, 400, 500, 401, 399, 200):
    for foe in (0, 1):
        name = f"s{code}_foe{foe}"
        c = pycurl.Curl()
        body = io.BytesIO()
        lines = []
        c.setopt(pycurl.URL, url(f"/status/{code}"))
        c.setopt(pycurl.WRITEDATA, body)
        c.setopt(pycurl.HEADERFUNCTION, lines.append)
        c.setopt(pycurl.FAILONERROR, foe)
        perform(c, o, f"{name}.perform")
        o[f"{name}.body"] = body.getvalue()
        o[f"{name}.header_lines"] = lines
        o[f"{name}.info"] = getinfos(c, ["RESPONSE_CODE", "SIZE_DOWNLOAD_T", "EFFECTIVE_URL"])
        c.close()
# reuse after a FAILONERROR failure: handle still works
c = pycurl.Curl()
c.setopt(pycurl.FAILONERROR, 1)
c.setopt(pycurl.URL, url("/status/404"))
c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
perform(c, o, "reuse.first")
c.setopt(pycurl.URL, url("/hello"))
perform(c, o, "reuse.second")
o["reuse.code"] = c.getinfo(pycurl.RESPONSE_CODE)
o.emit()
