"""HTTP_TRANSFER_DECODING=0 (the chunked body as received), CRLF (bare LFs of a body sent as CRLF,
chunked), Digest kept across the transfers of one handle, and the engine / never-built options:
what the application sees under each."""
import io

from _common import Obs, call, getinfos, perform, pycurl, request_head, server, url

o = Obs()
srv = server()


def fetch(name, path, **opts):
    c = pycurl.Curl()
    out = io.BytesIO()
    headers = []
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEDATA, out)
    c.setopt(pycurl.HEADERFUNCTION, headers.append)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    perform(c, o, f"{name}.perform")
    o[f"{name}.body"] = out.getvalue()
    o[f"{name}.statuses"] = [h.split()[1] for h in headers if h.startswith(b"HTTP/")]
    o[f"{name}.info"] = getinfos(c, ["RESPONSE_CODE", "SIZE_DOWNLOAD_T", "SIZE_UPLOAD_T"])
    return c


fetch("chunked_raw", "/chunked?n=20&chunks=3", HTTP_TRANSFER_DECODING=0).close()
fetch("chunked_decoded", "/chunked?n=20&chunks=3", HTTP_TRANSFER_DECODING=1).close()
fetch("chunked_raw_head", "/chunked?n=20", HTTP_TRANSFER_DECODING=0, NOBODY=1).close()

for name, opts in [("postfields", dict(POSTFIELDS="a\nb\r\nc\n")),
                   ("readfunction", dict(UPLOAD=1, READFUNCTION=io.BytesIO(b"x\ny\n").read, INFILESIZE=4))]:
    c = fetch(f"crlf_{name}", "/echo", CRLF=1, **opts)
    req = srv.last_request()
    o[f"crlf_{name}.request_head"] = request_head(req)
    o[f"crlf_{name}.received"] = req.body
    c.close()

c = pycurl.Curl()
for i in range(3):
    statuses = []
    c.setopt(pycurl.URL, url(f"/digest-auth/bob/pw?{i}"))
    c.setopt(pycurl.USERPWD, "bob:pw")
    c.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_DIGEST)
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    c.setopt(pycurl.HEADERFUNCTION, lambda h: statuses.append(h.split()[1]) if h.startswith(b"HTTP/") else None)
    perform(c, o, f"digest_kept.{i}.perform")
    o[f"digest_kept.{i}.statuses"] = statuses
c.close()

c = pycurl.Curl()
for name, value in [("SSLENGINE", ""), ("SSLENGINE_DEFAULT", 1), ("SSLENGINE_DEFAULT", 0),
                    ("TLSAUTH_USERNAME", ""), ("ECH", ""), ("SSL_FALSESTART", 0), ("KRB4LEVEL", None),
                    ("QUOTE", "x"), ("FTPPORT", ["x"]), ("FTP_ACCOUNT", "x"), ("CRLF", 1), ("CRLF", None),
                    ("HTTP_TRANSFER_DECODING", 0)]:
    o[f"setopt.{name}.{value!r}"] = call(c.setopt, getattr(pycurl, name), value)
r = call(c.setopt, pycurl.SSLENGINE, "nosuchengine")
# The message is OpenSSL's loader error in libcurl: only the code is compared.
o["setopt.SSLENGINE.name"] = [r.get("exc"), r.get("args", [None])[0]]
c.close()
o.emit()
