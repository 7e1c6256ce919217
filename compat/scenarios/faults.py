"""The fault matrix of tests/test_faults.py (hostile peers from tests/hostile.py), compared field by
field: the pycurl.error (code and message), what WRITEFUNCTION and HEADERFUNCTION got, getinfo
RESPONSE_CODE / SIZE_DOWNLOAD / HEADER_SIZE / NUM_CONNECTS / EFFECTIVE_URL / REDIRECT_COUNT, the
cookies kept, that the row ended within its time bound, and what the next transfer on the same
handle does (a fresh connection or a reused one). Values that depend on timing are reduced to a
property: rows with a timeout or speed limit keep the message's wording without its numbers and
only whether any body came; the gzip bombs (whose compressed size depends on the server's zlib)
keep only how many header lines came."""
import re

from _faults import certs, hostile, o, row, srv

import test_faults

# Each bomb is built once, before the clock runs, so the bounds time the client.
hostile.warm_bombs(r[1] for r in test_faults.ROWS)
for name, path, opts, _code, limit in test_faults.ROWS:
    row(re.sub(r"\W+", "_", name).strip("_"), srv.url(path), opts, limit)
for path in ("/eof-no-length", "/eof-short"):
    key = "tls_no_close_notify" + path.replace("/", "_").replace("-", "_")
    row(key, srv.tls_url(path), {"CAINFO": certs.ca_pem}, 1)
row("tls_junk", "https://127.0.0.1:%d/" % srv.junk_port, {"SSL_VERIFYPEER": 0, "SSL_VERIFYHOST": 0}, 1)

srv.stop()
o.emit()
