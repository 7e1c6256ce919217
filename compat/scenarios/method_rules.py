"""POST / UPLOAD / NOBODY / HTTPGET / POSTFIELDS / HTTPPOST / CUSTOMREQUEST set in various orders:
the request line, body and infos each order gives (libcurl's setopt rules)."""
import io
import warnings

from _common import Obs, getinfos, perform, pycurl, request_head, server, url

warnings.simplefilter("ignore", DeprecationWarning)
o = Obs()
srv = server()
P = pycurl
STEPS = {
    "POST1": (P.POST, 1), "POST0": (P.POST, 0), "UP1": (P.UPLOAD, 1), "UP0": (P.UPLOAD, 0),
    "PUT1": (P.PUT, 1), "NB1": (P.NOBODY, 1), "NB0": (P.NOBODY, 0), "GET1": (P.HTTPGET, 1),
    "GET0": (P.HTTPGET, 0), "PF": (P.POSTFIELDS, "a=1"), "CPF": (P.COPYPOSTFIELDS, "b=2"),
    "CR": (P.CUSTOMREQUEST, "PATCH"), "CRN": (P.CUSTOMREQUEST, None),
    "FORM": (P.HTTPPOST, [("x", "1")]),
}
ORDERS = [
    "NB1,PF", "NB1,CPF", "UP1,POST1", "POST1,UP1", "PF,POST0", "PF,POST0,POST1", "PF,GET1,POST1",
    "UP1,NB1,NB0", "PF,NB1,NB0", "POST1,NB1,NB0", "PF,UP1", "UP1,PF", "PF,UP0", "UP1,POST0",
    "NB1,GET0", "PF,CR,NB1", "UP1,CR", "PUT1,PF", "FORM,POST1", "FORM,POST0", "NB1,FORM",
    "PF,FORM,POST1", "FORM,NB1,NB0", "PF,CR,CRN",
]

for order in ORDERS:
    c = pycurl.Curl()
    out = io.BytesIO()
    c.setopt(P.URL, url("/echo"))
    c.setopt(P.WRITEDATA, out)
    c.setopt(P.READFUNCTION, io.BytesIO(b"read-body").read)
    c.setopt(P.INFILESIZE, 9)
    for s in order.split(","):
        c.setopt(*STEPS[s])
    perform(c, o, f"{order}.perform")
    req = srv.last_request()
    o[f"{order}.request_line"] = request_head(req).split("\r\n", 1)[0]
    o[f"{order}.received"] = req.body if not req.body.startswith(b"--") else "<multipart>"
    # the echo's first line is the method the server saw; a form's boundary is random
    o[f"{order}.echo_method"] = out.getvalue().split(b"\n", 1)[0]
    o[f"{order}.info"] = getinfos(c, ["RESPONSE_CODE", "EFFECTIVE_METHOD", "SIZE_UPLOAD_T"])
    c.close()
o.emit()
