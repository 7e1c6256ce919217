"""Debian's dictd on loopback for test_dict: a small dictionary the test writes with dictfmt, served
by dictd in the foreground on a free port with its own configuration."""

import os
import shutil
import subprocess
import tempfile

from helpers import free_port, stop_process, wait_listening

HOST = "127.0.0.1"
DICTD = shutil.which("dictd") or "/usr/sbin/dictd"
DICTFMT = shutil.which("dictfmt") or "/usr/bin/dictfmt"

ENTRIES = {
    "apple": "A round fruit of the rose family.",
    "apricot": "An orange stone fruit.",
    "banana": "A long yellow fruit.",
    "cherry": "A small red stone fruit.",
}




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
        self.port = free_port()
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
        try:
            wait_listening(self.port, self.proc, "dictd")
        except RuntimeError:
            self.stop()
            raise

    def url(self, path):
        return f"dict://{HOST}:{self.port}/{path}"

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)
