"""Debian's mosquitto on loopback for test_mqtt, in the foreground with a configuration the test
writes: a listener open to anyone, one that refuses clients without a user (CONNACK 5), and a TLS
one with the test CA's server certificate. `RawClient` is a minimal MQTT client over a socket, to
publish retained messages and to subscribe beside the handle under test."""

import os
import shutil
import socket
import subprocess
import tempfile

from helpers import free_port, stop_process, wait_listening

HOST = "127.0.0.1"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Mosquitto:
    def __init__(self, certs=None):
        # mosquitto started as root runs as its own user, which must read the files.
        self.workdir = tempfile.mkdtemp(prefix="pycurl-mosquitto-")
        os.chmod(self.workdir, 0o755)
        self.port, self.closed_port, self.tls_port = free_port(), free_port(), free_port()
        conf = [
            "per_listener_settings true",
            "persistence false",
            f"listener {self.port} {HOST}",
            "allow_anonymous true",
            f"listener {self.closed_port} {HOST}",
            "allow_anonymous false",
        ]
        if certs:
            for name in ("server_cert", "server_key"):
                dst = os.path.join(self.workdir, name + ".pem")
                shutil.copy(getattr(certs, name), dst)
                os.chmod(dst, 0o644)
            conf += [
                f"listener {self.tls_port} {HOST}",
                "allow_anonymous true",
                f"certfile {self.workdir}/server_cert.pem",
                f"keyfile {self.workdir}/server_key.pem",
            ]
        path = os.path.join(self.workdir, "mosquitto.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for p in (self.port, self.closed_port) + ((self.tls_port,) if certs else ()):
                wait_listening(p, self.proc, "mosquitto")
        except RuntimeError:
            self.stop()
            raise

    def url(self, topic, port=None, scheme="mqtt"):
        return f"{scheme}://{HOST}:{port or self.port}/{topic}"

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _packet(kind, body):
    out = bytearray([kind])
    n = len(body)
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out) + body


def _str(s):
    return len(s).to_bytes(2, "big") + s


class RawClient:
    def __init__(self, port, client_id=b"raw"):
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.sock.sendall(_packet(0x10, _str(b"MQTT") + b"\x04\x02\x00\x3c" + _str(client_id)))
        assert self.read_packet() == (0x20, b"\x00\x00")

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def read_packet(self):
        kind = self._exact(1)[0]
        n, shift = 0, 0
        while True:
            b = self._exact(1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return kind, self._exact(n)

    def publish(self, topic, payload, retain=False):
        self.sock.sendall(_packet(0x31 if retain else 0x30, _str(topic) + payload))

    def subscribe(self, topic):
        self.sock.sendall(_packet(0x82, b"\x00\x07" + _str(topic) + b"\x00"))
        assert self.read_packet() == (0x90, b"\x00\x07\x00")

    def close(self):
        self.sock.sendall(b"\xe0\x00")
        self.sock.close()
