"""Which method and body a request gets after POST / UPLOAD / NOBODY / HTTPGET / POSTFIELDS /
HTTPPOST / CUSTOMREQUEST were set in some order: libcurl's setopt rules (engine/setopt.rs).
Every expectation is what real pycurl (libcurl 8.23) sent to the same server."""

import io

import pytest

import pycurl

STEPS = {
    "POST1": (pycurl.POST, 1), "POST0": (pycurl.POST, 0),
    "UP1": (pycurl.UPLOAD, 1), "UP0": (pycurl.UPLOAD, 0), "PUT1": (pycurl.PUT, 1),
    "NB1": (pycurl.NOBODY, 1), "NB0": (pycurl.NOBODY, 0),
    "GET1": (pycurl.HTTPGET, 1), "GET0": (pycurl.HTTPGET, 0),
    "PF": (pycurl.POSTFIELDS, "a=1"), "CPF": (pycurl.COPYPOSTFIELDS, "b=2"),
    "CR": (pycurl.CUSTOMREQUEST, "PATCH"), "CRN": (pycurl.CUSTOMREQUEST, None),
    "FORM": (pycurl.HTTPPOST, [("x", "1")]),
}

# steps -> (method sent, body the server got: "" none, "read" READFUNCTION's, "form" multipart)
CASES = {
    "PF,NB1": ("HEAD", ""), "NB1,PF": ("HEAD", ""), "NB1,CPF": ("HEAD", ""),
    "UP1,POST1": ("POST", "read"), "POST1,UP1": ("PUT", "read"),
    "PF,POST0": ("GET", ""), "PF,POST0,POST1": ("POST", "a=1"),
    "PF,GET1": ("GET", ""), "PF,GET1,POST1": ("POST", "a=1"), "PF,GET0": ("POST", "a=1"),
    "UP1,GET1": ("GET", ""), "UP1,NB1": ("HEAD", ""), "NB1,UP1": ("PUT", "read"),
    "NB1,POST1": ("POST", "read"), "NB1,NB0": ("GET", ""), "NB1,GET0": ("HEAD", ""),
    "UP1,NB1,NB0": ("GET", ""), "PF,NB1,NB0": ("GET", ""), "POST1,NB1,NB0": ("GET", ""),
    "PF,UP1": ("PUT", "read"), "UP1,PF": ("POST", "a=1"), "PUT1,PF": ("POST", "a=1"),
    "PF,UP0": ("GET", ""), "UP1,POST0": ("GET", ""), "POST1,UP0": ("GET", ""),
    "PF,CR": ("PATCH", "a=1"), "PF,CR,NB1": ("PATCH", ""), "CR,NB1,PF": ("PATCH", ""), "UP1,CR": ("PATCH", "read"), "PF,CR,CRN": ("POST", "a=1"),
    "FORM": ("POST", "form"), "NB1,FORM": ("POST", "form"), "FORM,PF": ("POST", "a=1"),
    "FORM,POST1": ("POST", "read"), "FORM,POST0": ("GET", ""), "FORM,UP1": ("PUT", "read"),
    "PF,FORM,POST1": ("POST", "a=1"), "FORM,NB1,NB0": ("GET", ""),
}


@pytest.mark.filterwarnings("ignore:HTTPPOST is deprecated")
@pytest.mark.parametrize("steps", sorted(CASES))
def test_method_and_body_after(server, curl, steps):
    method, body = CASES[steps]
    curl.setopt(pycurl.URL, server.url("/echo"))
    curl.setopt(pycurl.WRITEDATA, io.BytesIO())
    curl.setopt(pycurl.READFUNCTION, io.BytesIO(b"read").read)
    curl.setopt(pycurl.INFILESIZE, 4)
    for s in steps.split(","):
        curl.setopt(*STEPS[s])
    curl.perform()
    req = server.last_request()
    assert req.method == method
    if body == "form":
        assert req.header("Content-Type").startswith("multipart/form-data")
        assert b'name="x"' in req.body
    else:
        assert req.body == body.encode()
