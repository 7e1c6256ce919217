"""The fault matrix of tests/test_faults.py (hostile peers from tests/hostile.py): the libcurl code
of each row, that it came within the row's time bound, and that the same handle then works."""
import re
import time

from _common import Obs, add_port, perform, pycurl

import hostile
import test_faults

o = Obs()
srv = hostile.start()
add_port(srv.port)
add_port(srv.junk_port)


def row(key, url, opts, limit):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    t0 = time.monotonic()
    r = perform(c)
    o[key + ".code"] = r["args"][0] if "exc" in r else 0
    o[key + ".in_time"] = time.monotonic() - t0 < limit
    c.reset()
    c.setopt(pycurl.URL, srv.url("/ok"))
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    o[key + ".then_ok"] = perform(c)
    o[key + ".then_code"] = c.getinfo(pycurl.RESPONSE_CODE)
    c.close()


# Each bomb is built once, before the clock runs, so the bounds time the client.
hostile.warm_bombs(r[1] for r in test_faults.ROWS)
for name, path, opts, _code, limit in test_faults.ROWS:
    row(re.sub(r"\W+", "_", name).strip("_"), srv.url(path), opts, limit)
row("tls_junk", "https://127.0.0.1:%d/" % srv.junk_port, {"SSL_VERIFYPEER": 0, "SSL_VERIFYHOST": 0}, 1)
srv.stop()
o.emit()
