"""Real mail servers on loopback for the SMTP, POP3 and IMAP tests: aiosmtpd (a subprocess running
this file; each message it accepts lands as a file in a directory the test reads) and Debian's
dovecot for POP3 and IMAP (run unprivileged in the foreground with a configuration of its own)."""

import json
import os
import shutil
import subprocess
import sys
import time

from helpers import free_port, stop_process, wait_listening

HOST = "127.0.0.1"
USER, PASSWORD = "user", "secret"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"






class Relay:
    """A loopback TCP relay in front of a real server that records what each client connection
    sends (the commands the server sees, goodbyes included, and when the connection ends)."""

    def __init__(self, port):
        import socket
        import threading

        self.upstream, self.lock, self.conns = port, threading.Lock(), []
        self.ls = socket.socket()
        self.ls.bind((HOST, 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        import socket
        import threading

        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            u = socket.create_connection((HOST, self.upstream))
            with self.lock:
                log = []
                self.conns.append(log)
            for a, b, record in ((c, u, log), (u, c, None)):
                t = threading.Thread(target=self._pipe, args=(a, b, record), daemon=True)
                t.start()
                self.threads.append(t)

    @staticmethod
    def _pipe(a, b, record):
        import socket

        while True:
            try:
                data = a.recv(65536)
            except OSError:
                data = b""
            if record is not None:
                record.append(data)
            if not data:
                try:
                    b.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                break
            try:
                b.sendall(data)
            except OSError:
                break
        # Each direction closes the socket it reads from.
        a.close()

    def seen(self, settle=0.3):
        """Per connection made through the relay: the lines it sent, with "EOF" once it ended."""
        time.sleep(settle)
        with self.lock:
            out = []
            for log in self.conns:
                raw = b"".join(log)
                lines = [x + b"\r\n" for x in raw.split(b"\r\n")[:-1]]
                out.append(lines + ([b"EOF"] if log and log[-1] == b"" else []))
            return out

    def stop(self):
        self.ls.close()


class SmtpServer:
    """aiosmtpd: `port` speaks plain SMTP (STARTTLS offered when started with certificates),
    `tls_port` implicit TLS (smtps). Accepted messages: `messages()`."""

    def __init__(self, proc, port, tls_port, spool):
        self.proc, self.port, self.tls_port, self.spool = proc, port, tls_port, spool

    def url(self, path="/", tls=False):
        return f"smtp{'s' if tls else ''}://{HOST}:{self.tls_port if tls else self.port}{path}"

    def messages(self):
        """Each accepted message: {"from", "rcpt", "data" (bytes), "options"}, oldest first."""
        out = []
        for name in sorted(os.listdir(self.spool), key=int):
            with open(os.path.join(self.spool, name), "rb") as f:
                m = json.loads(f.read())
            m["data"] = m["data"].encode("latin-1")
            out.append(m)
        return out

    def clear(self):
        for name in os.listdir(self.spool):
            os.unlink(os.path.join(self.spool, name))

    def stop(self):
        stop_process(self.proc)


def start_smtp(spool, certs=None, auth=True, starttls_required=False):
    args = [sys.executable, os.path.abspath(__file__), "smtp", str(spool), "1" if auth else "0",
            "1" if starttls_required else "0"]
    if certs is not None:
        args += [certs.server_cert, certs.server_key]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    ports = proc.stdout.readline().split()
    if not ports:
        raise RuntimeError("aiosmtpd did not start")
    return SmtpServer(proc, int(ports[0]), int(ports[1]) if len(ports) > 1 else None, spool)


def _serve_smtp(spool, auth, starttls_required, cert=None, key=None):
    import asyncio
    import ssl

    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    counter = [0]

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("nobody@"):
                return "550 5.1.1 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_VRFY(self, server, session, envelope, address):
            if address.startswith("nobody"):
                return "550 5.1.1 no such user"
            return f"250 Some One <{address}>"

        async def handle_DATA(self, server, session, envelope):
            counter[0] += 1
            m = {"from": envelope.mail_from, "rcpt": envelope.rcpt_tos,
                 "options": envelope.mail_options, "data": envelope.original_content.decode("latin-1")}
            with open(os.path.join(spool, str(counter[0])), "w") as f:
                json.dump(m, f)
            return "250 Message accepted for delivery"

    def check(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    tls = None
    if cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)

    def factory(implicit):
        def make():
            kw = dict(hostname="mail.test", auth_require_tls=False, enable_SMTPUTF8=True)
            if auth:
                kw["authenticator"] = check
            if tls is not None and not implicit:
                kw["tls_context"] = tls
                kw["require_starttls"] = starttls_required
            return SMTP(Handler(), **kw)
        return make

    loop = asyncio.new_event_loop()
    srv = loop.run_until_complete(loop.create_server(factory(False), HOST, 0))
    ports = [srv.sockets[0].getsockname()[1]]
    if tls is not None:
        srv2 = loop.run_until_complete(loop.create_server(factory(True), HOST, 0, ssl=tls))
        ports.append(srv2.sockets[0].getsockname()[1])
    print(*ports, flush=True)
    loop.run_forever()


class Dovecot:
    """Dovecot serving POP3 and IMAP (plain ports with STARTTLS / STLS, and pop3s / imaps when
    started with certificates) for USER with PASSWORD; its maildir is `maildir`."""

    def __init__(self, proc, ports, workdir):
        self.proc, self.ports, self.workdir = proc, ports, workdir
        self.maildir = os.path.join(workdir, "mail", USER)

    def url(self, scheme, path="/", auth=f"{USER}:{PASSWORD}@"):
        return f"{scheme}://{auth}{HOST}:{self.ports[scheme]}{path}"

    def deliver(self, messages):
        """Puts `messages` (bytes) in INBOX as new mail, in order (dovecot numbers them)."""
        new = os.path.join(self.maildir, "new")
        for d in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.maildir, d), exist_ok=True)
        for i, m in enumerate(messages):
            with open(os.path.join(new, f"{int(time.time())}.M{i}P{os.getpid()}.test"), "wb") as f:
                f.write(m)
        _open_up(self.workdir)

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _open_up(root):
    """Lets dovecot (perhaps another user than the tests) read and write everything under root."""
    os.chmod(root, 0o777)
    for d, dirs, files in os.walk(root):
        for n in dirs:
            os.chmod(os.path.join(d, n), 0o777)
        for n in files:
            os.chmod(os.path.join(d, n), 0o666)


def start_dovecot(certs=None, mechanisms="plain login cram-md5"):
    """Starts dovecot (offering SASL `mechanisms`) in a directory of its own under the system's temporary directory (not under
    pytest's, whose parents only root may enter, when dovecot runs as nobody)."""
    import grp
    import pwd
    import tempfile

    workdir = tempfile.mkdtemp(prefix="pycurl-dovecot-")
    ports = {k: free_port() for k in ("imap", "imaps", "pop3", "pop3s")}
    # Dovecot refuses to run its login processes as root: as root, the whole server runs as nobody.
    run_as = "nobody" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    pw = pwd.getpwnam(run_as)
    uid, gid, me, group = pw.pw_uid, pw.pw_gid, run_as, grp.getgrgid(pw.pw_gid).gr_name
    for d in ("run", "state", "mail", "home"):
        os.makedirs(os.path.join(workdir, d), exist_ok=True)
    if certs is not None:
        for src, name in ((certs.server_cert, "cert.pem"), (certs.server_key, "key.pem")):
            shutil.copy(src, os.path.join(workdir, name))
    with open(os.path.join(workdir, "passwd"), "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{workdir}/home\n")
    ssl = "no"
    if certs is not None:
        ssl = f"yes\nssl_cert = <{workdir}/cert.pem\nssl_key = <{workdir}/key.pem"
    conf = f"""
protocols = imap pop3
listen = {HOST}
base_dir = {workdir}/run
state_dir = {workdir}/state
log_path = {workdir}/dovecot.log
default_internal_user = {me}
default_internal_group = {group}
default_login_user = {me}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
ssl = {ssl}
mail_location = maildir:{workdir}/mail/%u
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = {workdir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={workdir}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {ports["imap"]}
  }}
  inet_listener imaps {{
    port = {ports["imaps"] if certs else 0}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {ports["pop3"]}
  }}
  inet_listener pop3s {{
    port = {ports["pop3s"] if certs else 0}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {me}
}}
service auth-worker {{
  user = {me}
}}
"""
    path = os.path.join(workdir, "dovecot.conf")
    with open(path, "w") as f:
        f.write(conf)
    _open_up(workdir)
    kw = {"user": uid, "group": gid} if os.getuid() == 0 else {}
    proc = subprocess.Popen([DOVECOT, "-F", "-c", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    wait_listening(ports["imap"], proc, "dovecot", timeout=15)
    wait_listening(ports["pop3"], proc, "dovecot", timeout=15)
    srv = Dovecot(proc, ports, workdir)
    os.makedirs(os.path.join(srv.maildir, "new"), exist_ok=True)
    return srv


if __name__ == "__main__":
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    if sys.argv[1] == "smtp":
        _serve_smtp(sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1", *sys.argv[5:7])
