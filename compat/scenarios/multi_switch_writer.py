"""WRITEFUNCTION / WRITEDATA / HEADERFUNCTION changed (or unset) between CurlMulti.perform() calls,
mid-body: the bytes after the change go to the new writer."""
import io

from _common import Obs, capture_stderr, pycurl, url

o = Obs()
for mode in ("WRITEFUNCTION", "WRITEDATA", "HEADERFUNCTION", "unset_to_stdout"):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url("/gzip-flushed?ce=gzip&pieces=3&delay=0.3"))
    c.setopt(pycurl.ACCEPT_ENCODING, "")
    first, second = io.BytesIO(), io.BytesIO()
    if mode == "WRITEDATA":
        c.setopt(pycurl.WRITEDATA, first)
    else:
        c.setopt(pycurl.WRITEFUNCTION, first.write)
    m.add_handle(c)
    switched = False
    running = 1
    with capture_stderr() as err:
        while running:
            _, running = m.perform()
            if first.getvalue() and not switched:
                switched = True
                if mode == "WRITEDATA":
                    c.setopt(pycurl.WRITEDATA, second)
                elif mode == "HEADERFUNCTION":
                    c.setopt(pycurl.HEADERFUNCTION, second.write)
                    c.setopt(pycurl.WRITEFUNCTION, second.write)
                elif mode == "unset_to_stdout":
                    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
                else:
                    c.setopt(pycurl.WRITEFUNCTION, second.write)
            if running:
                m.select(0.1)
    o[f"{mode}.first"] = first.getvalue()
    o[f"{mode}.second"] = second.getvalue()
    o[f"{mode}.done"] = len(m.info_read()[1])
    o[f"{mode}.stderr"] = err
    m.remove_handle(c)
    c.close()
    m.close()
o.emit()
