"""Debian's dictd on loopback for test_dict: a small dictionary the test writes with dictfmt, served
by dictd in the foreground on a free port with its own configuration."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

from helpers import stop_process

HOST = "127.0.0.1"
DICTD = shutil.which("dictd") or "/usr/sbin/dictd"
DICTFMT = shutil.which("dictfmt") or "/usr/bin/dictfmt"

ENTRIES = {
    "apple": "A round fruit of the rose family.",
    "apricot": "An orange stone fruit.",
    "banana": "A long yellow fruit.",
    "cherry": "A small red stone fruit.",
}


def _free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Dictd:
    def __init__(self):
        # dictd, started as root, drops to its own user, which must reach the files: a directory
        # of its own right under /tmp (pytest's are private to root).
        workdir = self.workdir = tempfile.mkdtemp(prefix="pycurl-dictd-")
        os.chmod(workdir, 0o755)
        src = "".join(f":{w}: {d}\n" for w, d in ENTRIES.items())
        subprocess.run(
            [DICTFMT, "-j", "-s", "Test fruits", "-u", "http://fruits.example", os.path.join(workdir, "fruits")],
            input=src.encode(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
        )
        for f in ("fruits.dict", "fruits.index"):
            os.chmod(os.path.join(workdir, f), 0o644)
        self.port = _free_port()
        conf = os.path.join(workdir, "dictd.conf")
        with open(conf, "w") as f:
            f.write(
                f"global {{\n  listen_to {HOST}\n  port {self.port}\n  pid_file {workdir}/dictd.pid\n}}\n"
                f"database fruits {{ data {workdir}/fruits.dict index {workdir}/fruits.index }}\n"
            )
        self.proc = subprocess.Popen(
            [DICTD, "--config", conf, "-d", "nodetach", "--locale", "C.UTF-8"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                shutil.rmtree(workdir, ignore_errors=True)
                raise RuntimeError(f"dictd exited with {self.proc.returncode}")
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("dictd did not listen")

    def url(self, path):
        return f"dict://{HOST}:{self.port}/{path}"

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)
