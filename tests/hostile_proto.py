"""Scripted hostile servers for the FTP, mail, DICT and Gopher rows of the fault matrix
(tests/test_hostile_ftp.py, tests/test_hostile_mail.py).

A ``Scripted`` listener hands each connection to a script: a function given a ``Peer`` (line
reading and writing on the accepted socket) that plays a friendly server up to the step it
misbehaves at. Every socket has a timeout and every loop ends when the client goes away, so
``stop()`` returns at once and no test leaves a thread spinning.
"""
import socket
import threading
import time

from helpers import accept_loop

HOST = "127.0.0.1"


class Gone(Exception):
    """The client closed or reset its end."""


class Peer:
    def __init__(self, conn, srv):
        self.conn = conn
        self.srv = srv
        self.buf = b""
        conn.settimeout(8)

    def send(self, data):
        try:
            self.conn.sendall(data)
        except OSError:
            raise Gone

    def line(self):
        """The next line the client sent, without its CRLF (Gone when it closes)."""
        while b"\n" not in self.buf:
            try:
                chunk = self.conn.recv(65536)
            except OSError:
                raise Gone
            if not chunk:
                raise Gone
            self.buf += chunk
        l, self.buf = self.buf.split(b"\n", 1)
        l = l.rstrip(b"\r")
        self.srv.commands.append(l.decode("latin-1"))
        return l

    def flood(self, chunk, seconds=6):
        """Sends ``chunk`` again and again until the client goes away (or ``seconds`` pass)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.srv.stopped:
            self.send(chunk)

    def wait_close(self, seconds=6):
        """Reads and drops whatever comes until the client closes (silence, from our side)."""
        end = time.monotonic() + seconds
        self.conn.settimeout(0.2)
        while time.monotonic() < end and not self.srv.stopped:
            try:
                if not self.conn.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return


class Scripted:
    """A TCP listener on loopback running ``script(peer)`` for each connection."""

    def __init__(self, script):
        self.script = script
        self.commands = []
        self.stopped = False
        self.failure = None
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.extra = []  # data listeners opened by the script
        self.data = None  # the last one, until a transfer command takes it
        accept_loop(self.sock, self._handle)

    def _handle(self, conn):
        try:
            self.script(Peer(conn, self))
        except Gone:
            pass
        except Exception as e:  # the test reports it through `failure`
            self.failure = e

    def url(self, scheme, path="/"):
        return "%s://%s:%d%s" % (scheme, HOST, self.port, path)

    def listener(self):
        """A data listener on loopback the script announces (closed by ``stop()``)."""
        s = socket.socket()
        s.bind((HOST, 0))
        s.listen(1)
        s.settimeout(5)
        self.extra.append(s)
        self.data = s
        return s

    def stop(self):
        self.stopped = True
        self.sock.close()
        for s in self.extra:
            s.close()


# --- FTP ---------------------------------------------------------------------------------------


def pasv_reply(port, host=(127, 0, 0, 1)):
    return b"227 Entering Passive Mode (%d,%d,%d,%d,%d,%d)\r\n" % (*host, port >> 8, port & 255)


def ftp_script(**steps):
    """An FTP server that logs in anyone and serves one file: ``steps`` replace the answer to a
    command (key: the command, ``greet`` for the greeting) with bytes to send or a function
    ``f(peer, arg)`` that does the talking itself and returns False to end the connection.
    RETR's default sends ``data`` (keyword ``data``, default 10 bytes) on the PASV connection."""
    body = steps.pop("data", b"0123456789")

    def default(peer, cmd, arg):
        if cmd == "USER":
            peer.send(b"331 password please\r\n")
        elif cmd == "PASS":
            peer.send(b"230 logged in\r\n")
        elif cmd == "PWD":
            peer.send(b'257 "/" is current\r\n')
        elif cmd in ("CWD", "TYPE"):
            peer.send(b"250 ok\r\n" if cmd == "CWD" else b"200 ok\r\n")
        elif cmd == "EPSV":
            peer.send(b"500 no EPSV\r\n")
        elif cmd == "PASV":
            pasv_to(peer)
        elif cmd == "SIZE":
            peer.send(b"213 %d\r\n" % len(body))
        elif cmd == "RETR":
            lst, peer.srv.data = peer.srv.data, None
            if lst is None:
                peer.send(b"425 no data connection\r\n")
                return True
            try:
                d, _ = lst.accept()
            except OSError:
                return False
            peer.send(b"150 here it comes\r\n")
            with d:
                try:
                    d.sendall(body)
                except OSError:
                    pass
            peer.send(b"226 done\r\n")
        elif cmd == "QUIT":
            peer.send(b"221 bye\r\n")
            return False
        else:
            peer.send(b"502 not here\r\n")
        return True

    def run(peer):
        g = steps.get("greet", b"220 hostile ftp\r\n")
        if callable(g):
            if g(peer, "") is False:
                return
        else:
            peer.send(g)
        while True:
            l = peer.line().decode("latin-1")
            cmd, _, arg = l.partition(" ")
            step = steps.get(cmd.upper())
            if step is None:
                go = default(peer, cmd.upper(), arg)
            elif callable(step):
                go = step(peer, arg)
            else:
                peer.send(step)
                go = True
            if go is False:
                return

    return run


def data_conn(peer, how, body=b""):
    """Accepts the data connection the last PASV announced and misbehaves on it: ``how`` is
    "forever" (sends until the client leaves), "silent" (sends nothing, keeps it open),
    "short" (sends ``body`` and closes). Returns the accepted socket's fate only."""
    lst, peer.srv.data = peer.srv.data, None
    if lst is None:
        return
    try:
        d, _ = lst.accept()
    except OSError:
        return
    d.settimeout(0.5)
    with d:
        end = time.monotonic() + 6
        if how == "forever":
            chunk = b"x" * 65536
            while time.monotonic() < end and not peer.srv.stopped:
                try:
                    d.sendall(chunk)
                except socket.timeout:
                    continue
                except OSError:
                    return
        elif how == "silent":
            while time.monotonic() < end and not peer.srv.stopped:
                try:
                    if not d.recv(100):
                        return
                except socket.timeout:
                    continue
                except OSError:
                    return
        else:
            try:
                d.sendall(body)
            except OSError:
                pass


def pasv_to(peer, host=(127, 0, 0, 1)):
    lst = peer.srv.listener()
    peer.send(pasv_reply(lst.getsockname()[1], host))


# --- mail --------------------------------------------------------------------------------------


def line_script(greeting, answers, default=b""):
    """A line server: sends ``greeting``, then answers each line by the first entry of
    ``answers`` (prefix, reply) whose prefix the line starts with (case-insensitive): bytes to
    send, or a function ``f(peer, line)`` returning False to end the connection. Lines no entry
    matches get ``default``."""

    def run(peer):
        if callable(greeting):
            if greeting(peer) is False:
                return
        else:
            peer.send(greeting)
        while True:
            l = peer.line()
            up = l.upper()
            for prefix, reply in answers:
                if up.startswith(prefix):
                    break
            else:
                reply = default
            if callable(reply):
                if reply(peer, l) is False:
                    return
            else:
                peer.send(reply)

    return run

