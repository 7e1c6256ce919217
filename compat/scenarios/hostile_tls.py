"""Hostile TLS peers and bad certificates: TLS_ROWS and CERT_ROWS of tests/test_faults.py, compared
field by field as faults.py compares the HTTP/1 rows (hostile_h2_proxies.py has the HTTP/2 and
proxy rows: one scenario would outlast compat/run's time limit on a busy machine)."""
import re

from _common import add_port, servers
from _faults import certs, o, row, srv

import test_faults


def key(prefix, name):
    return prefix + re.sub(r"\W+", "_", name.split(": ", 1)[-1]).strip("_").lower()


# Session 6: hostile TLS peers, certificates, HTTP/2 servers and proxies (tests/test_faults.py).
for name, mode, path, opts, _code, limit in test_faults.TLS_ROWS:
    row(key("tls_", name), srv.tls_mode_url(mode, path), test_faults.tls_opts(opts, certs), limit)
cert_srvs = {}
for name, leaf, opts, _code in test_faults.CERT_ROWS:
    if leaf not in cert_srvs:
        cert_srvs[leaf] = servers.start_server(tls=certs, leaf=leaf)
        add_port(cert_srvs[leaf].port)
    opts = dict(opts)
    if opts.pop("CA", 0):
        opts["CAINFO"] = certs.ca_pem
    row(key("cert_", name), cert_srvs[leaf].url("/hello"), opts, 1)
for s in cert_srvs.values():
    s.stop()

srv.stop()
o.emit()
