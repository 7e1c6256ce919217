"""TFTP servers on loopback for test_tftp: Debian's tftpd-hpa (in.tftpd in the foreground on a
free UDP port, serving a directory the test fills) and a scripted UDP peer of ours for what a
well-behaved server never does (lost packets, repeats, strangers, every error code)."""

import os
import pwd
import shutil
import socket
import struct
import subprocess
import threading
import time

from helpers import free_port, stop_process

HOST = "127.0.0.1"
TFTPD = shutil.which("in.tftpd") or "/usr/sbin/in.tftpd"




class TftpdHpa:
    """in.tftpd -L: one foreground process; -c lets uploads create files, -p skips its own
    permission checks beyond the file system's."""

    def __init__(self, root):
        self.root = root
        self.port = free_port(socket.SOCK_DGRAM)
        user = pwd.getpwuid(os.getuid()).pw_name
        self.proc = subprocess.Popen(
            [TFTPD, "-L", "-a", f"{HOST}:{self.port}", "-s", "-c", "-p", "-u", user, str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()

    def _wait_ready(self):
        # A read request for a missing file is answered with an ERROR packet once it listens.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"in.tftpd exited with {self.proc.returncode}")
                s.sendto(b"\x00\x01.probe-missing\x00octet\x00", (HOST, self.port))
                try:
                    s.recvfrom(600)
                    return
                except OSError:
                    continue
            raise RuntimeError("in.tftpd did not answer")
        finally:
            s.close()

    def url(self, name):
        return f"tftp://{HOST}:{self.port}/{name}"

    def stop(self):
        stop_process(self.proc)


def data(block, payload):
    return struct.pack("!HH", 3, block) + payload


def error(code, msg):
    return struct.pack("!HH", 5, code) + msg + b"\x00"


class Scripted:
    """A UDP peer that answers a request with a script: a function given the request and a
    transfer socket (a new port, as TFTP servers do), run in a thread. It records what came in."""

    def __init__(self, script):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.listener.bind((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.requests = []
        self.received = []
        self.failure = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def url(self, name="f"):
        return f"tftp://{HOST}:{self.port}/{name}"

    def _run(self):
        self.listener.settimeout(10)
        try:
            req, client = self.listener.recvfrom(70000)
        except OSError:
            return
        self.requests.append(req)
        xfer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        xfer.bind((HOST, 0))
        xfer.settimeout(5)
        try:
            self.script(self, xfer, client)
        except Exception as e:  # reported by the test through `failure`
            self.failure = e
        finally:
            xfer.close()

    def recv(self, sock):
        pkt, _ = sock.recvfrom(70000)
        self.received.append(pkt)
        return pkt

    def close(self):
        self.thread.join(15)
        self.listener.close()
