"""Debian's OpenSSH server on loopback for test_sftp: sshd in the foreground (-D -e) with its own
sshd_config on a free port, a host key made for the run, and the "internal-sftp" subsystem.

The test user: run as root (CI), the fixture creates the user "pycurlssh" with a known password and
a home directory of its own, which password, keyboard-interactive and key logins reach. Not as root,
sshd can only log in the user it runs as, and only with keys (it cannot read the password database)."""

import base64
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from helpers import free_port, stop_process, wait_listening

HOST = "127.0.0.1"
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
USER = "pycurlssh"
PASSWORD = "s3cret-Pw"


def _keygen(path, kind, passphrase=""):
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path)]
    if kind == "rsa":
        args[4:4] = ["-b", "2048"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def key_blob(pub_path):
    """The SSH wire encoding of a public key file's key."""
    return base64.b64decode(open(pub_path).read().split()[1])


class Sshd:
    def __init__(self):
        # Not under pytest's tmp_path: that is private to root, and the test user must reach its home.
        base = self.base = Path(tempfile.mkdtemp(prefix="pycurl-rs-sshd-"))
        self.port = free_port()
        self.root = os.geteuid() == 0
        self.host_key = base / "host_ed25519"
        _keygen(self.host_key, "ed25519")
        self.keys = {}
        for name, kind in [("ed25519", "ed25519"), ("rsa", "rsa"), ("stranger", "ed25519")]:
            _keygen(base / f"user_{name}", kind)
            self.keys[name] = str(base / f"user_{name}")
        auth = base / "authorized_keys"
        auth.write_text("".join(open(self.keys[n] + ".pub").read() for n in ("ed25519", "rsa")))
        # sshd reads it as the user logging in.
        os.chmod(auth, 0o644)
        os.chmod(base, 0o755)
        self.home = base / "home"
        self.home.mkdir(exist_ok=True)
        if self.root:
            self.user = USER
            try:
                pwd.getpwnam(USER)
                subprocess.run(["usermod", "-d", str(self.home), USER], check=True)
            except KeyError:
                subprocess.run(["useradd", "-M", "-d", str(self.home), "-s", "/bin/sh", USER], check=True)
            subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True)
            os.makedirs("/run/sshd", exist_ok=True)
        else:
            self.user = pwd.getpwuid(os.getuid()).pw_name
        self.password = PASSWORD
        pid = base / "sshd.pid"
        (base / "sshd_config").write_text(
            f"""Port {self.port}
ListenAddress {HOST}
HostKey {self.host_key}
PidFile {pid}
AuthorizedKeysFile {auth}
StrictModes no
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
PermitRootLogin yes
UsePAM no
UseDNS no
MaxAuthTries 20
MaxStartups 100:30:200
Subsystem sftp internal-sftp
"""
        )
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(base / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=open(base / "sshd.log", "wb"),
        )
        wait_listening(self.port, self.proc, "sshd")
        blob = key_blob(str(self.host_key) + ".pub")
        self.host_blob = blob
        self.md5 = hashlib.md5(blob).hexdigest()
        self.sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode()

    def own(self, path):
        """Hands a path (and what is under it) to the test user, as if it had made them."""
        if not self.root:
            return
        uid = pwd.getpwnam(self.user).pw_uid
        for dirpath, dirs, files in os.walk(path):
            os.lchown(dirpath, uid, -1)
            for n in dirs + files:
                os.lchown(os.path.join(dirpath, n), uid, -1)

    def url(self, path, scheme="sftp"):
        return f"{scheme}://{HOST}:{self.port}{path}"

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.base, ignore_errors=True)
