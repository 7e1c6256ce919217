"""The default trust store is found at run time: SSL_CERT_FILE and SSL_CERT_DIR are honoured.

Without CAINFO / CAPATH / a CA blob, HTTPS transfers trust the platform's store, which the
engine loads once per process (rustls-native-certs: the files OpenSSL would look for on Linux,
the certificate store on Windows, the keychain on macOS; SSL_CERT_FILE / SSL_CERT_DIR replace
it on every platform). Each case therefore runs in a fresh interpreter with its own
environment, against a loopback TLS server whose certificate is signed by a generated CA.
"""

import os
import shutil
import subprocess
import sys

import pytest

import pycurl

# What libcurl reports for a server certificate no trusted CA signed.
UNTRUSTED = ["error", str(pycurl.E_PEER_FAILED_VERIFICATION)]

FETCH = """
import sys, pycurl
c = pycurl.Curl()
c.setopt(pycurl.URL, sys.argv[1])
c.setopt(pycurl.WRITEFUNCTION, lambda data: None)
if len(sys.argv) > 2:
    c.setopt(pycurl.CAINFO, sys.argv[2])
try:
    c.perform()
    print("ok", c.getinfo(pycurl.RESPONSE_CODE))
except pycurl.error as e:
    print("error", e.args[0])
"""


def _fetch(url, env_overrides, cainfo=None):
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    env.update(env_overrides)
    argv = [sys.executable, "-c", FETCH, url] + ([cainfo] if cainfo else [])
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.fixture(scope="module")
def ca_dirs(certs, tmp_path_factory):
    """A directory holding only the test CA, one holding only an unrelated CA, and an empty one."""
    good = tmp_path_factory.mktemp("ca-good")
    other = tmp_path_factory.mktemp("ca-other")
    empty = tmp_path_factory.mktemp("ca-empty")
    shutil.copy(certs.ca_pem, good / "test-ca.pem")
    shutil.copy(certs.other_ca_pem, other / "other-ca.pem")
    return str(good), str(other), str(empty)


def test_generated_ca_is_not_trusted_by_default(tls_server):
    # The control: the system store does not know the test CA.
    assert _fetch(tls_server.url("/hello"), {}) == UNTRUSTED


def test_ssl_cert_file_is_honoured(tls_server, certs):
    assert _fetch(tls_server.url("/hello"), {"SSL_CERT_FILE": certs.ca_pem}) == ["ok", "200"]


def test_ssl_cert_file_replaces_the_system_store(tls_server, certs):
    # An unrelated CA in SSL_CERT_FILE: the server is not trusted, and nothing else is consulted.
    assert _fetch(tls_server.url("/hello"), {"SSL_CERT_FILE": certs.other_ca_pem}) == UNTRUSTED


def test_ssl_cert_dir_is_honoured(tls_server, ca_dirs):
    good, other, empty = ca_dirs
    assert _fetch(tls_server.url("/hello"), {"SSL_CERT_DIR": good}) == ["ok", "200"]
    # Several directories, separated as on the platform's PATH.
    assert _fetch(tls_server.url("/hello"), {"SSL_CERT_DIR": os.pathsep.join([empty, good])}) == ["ok", "200"]
    assert _fetch(tls_server.url("/hello"), {"SSL_CERT_DIR": other}) == UNTRUSTED


def test_cainfo_wins_over_ssl_cert_file(tls_server, certs):
    url = tls_server.url("/hello")
    assert _fetch(url, {"SSL_CERT_FILE": certs.other_ca_pem}, cainfo=certs.ca_pem) == ["ok", "200"]
    assert _fetch(url, {"SSL_CERT_FILE": certs.ca_pem}, cainfo=certs.other_ca_pem) == UNTRUSTED

