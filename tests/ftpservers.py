"""Real FTP servers on loopback for the FTP tests: pyftpdlib (a subprocess running this file)
and vsftpd from Debian (a foreground process with its own configuration, as pycurl's own test
suite runs it). Both serve a directory the test fills."""

import os
import shutil
import subprocess
import sys

from helpers import free_port, stop_process, wait_listening

HOST = "127.0.0.1"
USER, PASSWORD = "user", "secret"
VSFTPD = shutil.which("vsftpd") or "/usr/sbin/vsftpd"


class FtpServer:
    def __init__(self, kind, proc, port, root):
        self.kind, self.proc, self.port, self.root = kind, proc, port, root

    def url(self, path="/", auth="", scheme="ftp"):
        return f"{scheme}://{auth}{HOST}:{self.port}{path}"

    def stop(self):
        stop_process(self.proc)






def start_pyftpdlib(root, certs=None):
    """certs: a servers.Certs to serve FTPS with (TLS_FTPHandler: AUTH TLS/SSL, PBSZ, PROT)."""
    tls = [certs.server_cert, certs.server_key] if certs else []
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "pyftpdlib", str(root), *tls],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(proc.stdout.readline())
    return FtpServer("pyftpdlib", proc, port, root)


def start_vsftpd(root, workdir, certs=None, implicit=False):
    """certs: serve FTPS (AUTH TLS, or TLS from the first byte with implicit) with the test's
    certificate; vsftpd then refuses a data connection that does not resume the control
    connection's TLS session (require_ssl_reuse, its default)."""
    port = free_port()
    tls = []
    if certs:
        tls = [
            "ssl_enable=yes",
            "allow_anon_ssl=yes",
            f"rsa_cert_file={certs.server_cert}",
            f"rsa_private_key_file={certs.server_key}",
            "require_ssl_reuse=yes",
            f"implicit_ssl={'yes' if implicit else 'no'}",
        ]
    conf = os.path.join(workdir, "vsftpd.conf")
    with open(conf, "w") as f:
        f.write(
            "\n".join(
                [
                    "listen=yes",
                    "background=no",
                    f"listen_address={HOST}",
                    f"listen_port={port}",
                    "run_as_launching_user=yes",
                    "anonymous_enable=yes",
                    "local_enable=no",
                    f"anon_root={root}",
                    "write_enable=yes",
                    "anon_upload_enable=yes",
                    "anon_mkdir_write_enable=yes",
                    "anon_other_write_enable=yes",
                    "anon_world_readable_only=no",
                    "anon_umask=022",
                    "seccomp_sandbox=no",
                    "pasv_enable=yes",
                    "xferlog_enable=no",
                    f"vsftpd_log_file={os.path.join(workdir, 'vsftpd.log')}",
                    *tls,
                    "",
                ]
            )
        )
    proc = subprocess.Popen([VSFTPD, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc, "vsftpd")
    return FtpServer("vsftpd", proc, port, root)


def _serve_pyftpdlib(root, cert=None, key=None):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    auth = DummyAuthorizer()
    auth.add_user(USER, PASSWORD, root, perm="elradfmwMT")
    auth.add_anonymous(root, perm="elradfmwMT")
    attrs = {"authorizer": auth, "banner": "pyftpdlib ready"}
    base = FTPHandler
    if cert:
        from pyftpdlib.handlers import TLS_FTPHandler

        base = TLS_FTPHandler
        attrs.update(certfile=cert, keyfile=key)
    handler = type("Handler", (base,), attrs)
    srv = FTPServer((HOST, 0), handler)
    print(srv.address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    if sys.argv[1] == "pyftpdlib":
        _serve_pyftpdlib(*sys.argv[2:])
