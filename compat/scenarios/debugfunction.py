"""DEBUGFUNCTION: the sequence of infotypes (runs of equal types collapsed and in full), the
HEADER_OUT bytes (ports normalised), HEADER_IN lines, DATA_IN/DATA_OUT sizes, TEXT messages."""
import re

from _common import Obs, norm_str, perform, pycurl, url

o = Obs()


def collapse(seq):
    out = []
    for t in seq:
        if not out or out[-1] != t:
            out.append(t)
    return out


def run(name, path, setup=None, verbose=1):
    c = pycurl.Curl()
    events = []
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    c.setopt(pycurl.VERBOSE, verbose)
    c.setopt(pycurl.DEBUGFUNCTION, lambda t, d: events.append((t, d)))
    if setup:
        setup(c)
    perform(c, o, f"{name}.perform")
    kinds = [t for t, _ in events]
    o[f"{name}.arg_types"] = sorted({(type(t).__name__, type(d).__name__) for t, d in events})
    o[f"{name}.kinds"] = kinds
    o[f"{name}.kinds_without_text"] = collapse([k for k in kinds if k != pycurl.INFOTYPE_TEXT])
    o[f"{name}.header_out"] = [d for t, d in events if t == pycurl.INFOTYPE_HEADER_OUT]
    o[f"{name}.header_in"] = [d for t, d in events if t == pycurl.INFOTYPE_HEADER_IN]
    o[f"{name}.data_in_total"] = sum(len(d) for t, d in events if t == pycurl.INFOTYPE_DATA_IN)
    o[f"{name}.data_out_total"] = sum(len(d) for t, d in events
                                      if t == pycurl.INFOTYPE_DATA_OUT)
    # TEXT wording is libcurl's verbose output; numbers (ms, connection ids) masked
    o[f"{name}.text"] = [re.sub(r"\d+", "N", norm_str(d.decode("latin-1")))
                         for t, d in events if t == pycurl.INFOTYPE_TEXT]
    c.close()


run("get", "/hello")
run("post", "/echo", lambda c: c.setopt(pycurl.POSTFIELDS, "a=1&b=2"))
run("redirect", "/redirect/1", lambda c: c.setopt(pycurl.FOLLOWLOCATION, 1))
run("not_verbose", "/hello", verbose=0)
run("error_404", "/status/404", lambda c: c.setopt(pycurl.FAILONERROR, 1))
o["constants"] = [pycurl.INFOTYPE_TEXT, pycurl.INFOTYPE_HEADER_IN, pycurl.INFOTYPE_HEADER_OUT,
                  pycurl.INFOTYPE_DATA_IN, pycurl.INFOTYPE_DATA_OUT,
                  pycurl.INFOTYPE_SSL_DATA_IN, pycurl.INFOTYPE_SSL_DATA_OUT]
o.emit()
