"""POST with POSTFIELDS (str, bytes, with POSTFIELDSIZE, COPYPOSTFIELDS, empty), what the server
received, and EFFECTIVE_METHOD / SIZE_UPLOAD_T."""
import io

from _common import Obs, getinfos, perform, pycurl, request_head, server, url

o = Obs()
srv = server()


def post(name, setup):
    c = pycurl.Curl()
    out = io.BytesIO()
    c.setopt(pycurl.URL, url("/echo"))
    c.setopt(pycurl.WRITEDATA, out)
    try:
        setup(c)
    except Exception as e:  # noqa: BLE001
        o[f"{name}.setup_error"] = e
        return
    perform(c, o, f"{name}.perform")
    o[f"{name}.body"] = out.getvalue()
    req = srv.last_request()
    o[f"{name}.request_head"] = request_head(req)
    o[f"{name}.received"] = req.body
    o[f"{name}.info"] = getinfos(c, ["RESPONSE_CODE", "EFFECTIVE_METHOD", "SIZE_UPLOAD_T",
                                     "CONTENT_LENGTH_UPLOAD_T"])
    c.close()


post("str", lambda c: c.setopt(pycurl.POSTFIELDS, "a=1&b=two"))
post("bytes", lambda c: c.setopt(pycurl.POSTFIELDS, b"x=\x00\xff"))
post("size", lambda c: (c.setopt(pycurl.POSTFIELDS, "abcdefgh"),
                        c.setopt(pycurl.POSTFIELDSIZE, 3)))
post("copy", lambda c: c.setopt(pycurl.COPYPOSTFIELDS, "copied=yes"))
post("empty", lambda c: c.setopt(pycurl.POSTFIELDS, ""))
_parts = iter([b"rf-", b"body"])
post("post_readfunction", lambda c: (c.setopt(pycurl.POST, 1),
                                     c.setopt(pycurl.READFUNCTION, lambda n: next(_parts, b""))))
post("custom_put", lambda c: (c.setopt(pycurl.POSTFIELDS, "z=1"),
                              c.setopt(pycurl.CUSTOMREQUEST, "PUT")))
post("with_headers", lambda c: (c.setopt(pycurl.POSTFIELDS, '{"k": 1}'),
                                c.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json",
                                                             "X-Extra: 1"])))
post("unicode", lambda c: c.setopt(pycurl.POSTFIELDS, "caf\u00e9"))
o.emit()
