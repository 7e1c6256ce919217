"""Hostile HTTP/2 servers and proxies: H2_ROWS and PROXY_ROWS of tests/test_faults.py, compared
field by field as faults.py compares the HTTP/1 rows, plus CURLINFO_PROXY_ERROR and
HTTP_CONNECTCODE for the proxies."""
import re

import h2.settings
from _common import add_port
from _faults import certs, o, row, srv

import h2hostile
import test_faults


def key(prefix, name):
    return prefix + re.sub(r"\W+", "_", name.split(": ", 1)[-1]).strip("_").lower()


# Session 6 (tests/test_faults.py).
_codes = h2.settings.SettingCodes
h2_srvs = {
    "main": h2hostile.HostileH2(certs),
    "no-streams": h2hostile.HostileH2(certs, settings={_codes.MAX_CONCURRENT_STREAMS: 0}),
    "no-window": h2hostile.HostileH2(certs, settings={_codes.INITIAL_WINDOW_SIZE: 0}, ack_data=False),
}
for s in h2_srvs.values():
    add_port(s.port)
for name, which, path, opts, _code, limit in test_faults.H2_ROWS:
    row(key("h2_", name), h2_srvs[which].url(path), dict(opts, CAINFO=certs.ca_pem), limit)
for s in h2_srvs.values():
    s.stop()

for name, mode, target, _code, _px, _cc in test_faults.PROXY_ROWS:
    url, extra = test_faults.proxy_target(srv, target)
    opts = dict(extra, PROXY=srv.proxy_url(mode), CAINFO=certs.ca_pem, TIMEOUT_MS=3000)
    row(key("proxy_", name), url, opts, 2.5)
srv.stop()
o.emit()
