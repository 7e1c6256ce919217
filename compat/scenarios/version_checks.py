"""What programs test in pycurl.version / version_info() before asking for compressed bodies, and
that the answer holds: what the checks promise is decoded."""
from _common import Obs, perform, pycurl, url

o = Obs()
v = pycurl.version
vi = pycurl.version_info()
o["checks.zlib_in_version"] = "zlib" in v
o["checks.zlib_slash_in_version"] = "zlib/" in v
o["checks.brotli_in_version"] = "brotli" in v
o["checks.libz_feature"] = bool(vi[4] & pycurl.VERSION_LIBZ)
o["checks.brotli_feature"] = bool(vi[4] & pycurl.VERSION_BROTLI)
o["checks.libz_version_is_str"] = isinstance(vi[7], str) and bool(vi[7])
o["checks.libz_version_in_version"] = f"zlib/{vi[7]}" in v
for path in ("/gzip", "/deflate", "/br"):
    c = pycurl.Curl()
    chunks = []
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.ACCEPT_ENCODING, "")
    c.setopt(pycurl.WRITEFUNCTION, chunks.append)
    perform(c, o, f"decode{path}")
    o[f"decode{path}.body"] = b"".join(chunks)
    c.close()
o.emit()
