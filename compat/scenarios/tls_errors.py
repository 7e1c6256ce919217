"""HTTPS against the loopback TLS server: success with CAINFO, and the error paths (unknown CA,
self-signed, expired, wrong name, CAINFO missing, TLS to a plain-HTTP port). Codes are compared
exactly; the message text of TLS failures comes from the TLS library (OpenSSL in real pycurl)."""
import io
import socket
import threading
import tempfile

from _common import Obs, add_port, add_replacement, exc_info, getinfos, pycurl, servers

o = Obs()
tmp = tempfile.mkdtemp(prefix="compat-tls-")
add_replacement(tmp, "TMPDIR")
certs = servers.make_certs(tmp)


def run(name, leaf="server", cainfo=None, setup=None, target=None, timeout_ms=5000):
    if target is None:
        srv = servers.start_server(tls=certs, leaf=leaf)
        add_port(srv.port)
        target = srv.url("/hello")
    c = pycurl.Curl()
    buf = io.BytesIO()
    c.setopt(pycurl.URL, target)
    c.setopt(pycurl.WRITEDATA, buf)
    c.setopt(pycurl.TIMEOUT_MS, timeout_ms)
    if cainfo is not None:
        c.setopt(pycurl.CAINFO, cainfo)
    if setup:
        setup(c)
    try:
        c.perform()
        o[f"{name}.code"] = "ok"
    except pycurl.error as e:
        o[f"{name}.code"] = e.args[0]
        o[f"{name}.message"] = e.args[1]
        o[f"{name}.errstr_is_message"] = c.errstr() == e.args[1]
    except Exception as e:  # noqa: BLE001
        o[f"{name}.code"] = exc_info(e)
    o[f"{name}.body"] = buf.getvalue()
    o[f"{name}.info"] = getinfos(c, ["RESPONSE_CODE", "SSL_VERIFYRESULT", "SCHEME",
                                     "INFO_CERTINFO"])
    c.close()


run("ok", cainfo=certs.ca_pem)
run("ok_noverify", setup=lambda c: (c.setopt(pycurl.SSL_VERIFYPEER, 0),
                                    c.setopt(pycurl.SSL_VERIFYHOST, 0)))
run("unknown_ca", cainfo=certs.other_ca_pem)
run("selfsigned", leaf="selfsigned", cainfo=certs.ca_pem)
run("expired", leaf="expired", cainfo=certs.ca_pem)
run("wrongname", leaf="wrongname", cainfo=certs.ca_pem)
run("wrongname_verifyhost0", leaf="wrongname", cainfo=certs.ca_pem,
    setup=lambda c: c.setopt(pycurl.SSL_VERIFYHOST, 0))
run("cainfo_missing", cainfo=tmp + "/does-not-exist.pem")


def plain_http_answerer():
    """A listener that answers whatever arrives with a plain-HTTP 400, then closes: a TLS client
    gets an HTTP status line where it expects a ServerHello."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)

    def loop():
        while True:
            try:
                s, _ = ls.accept()
            except OSError:
                return
            try:
                s.settimeout(2)
                s.recv(4096)
                s.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                          b"Connection: close\r\n\r\n")
            except OSError:
                pass
            finally:
                s.close()
    threading.Thread(target=loop, daemon=True).start()
    port = ls.getsockname()[1]
    add_port(port)
    return port


run("tls_to_plain_http", target=f"https://127.0.0.1:{plain_http_answerer()}/hello",
    cainfo=certs.ca_pem)
o.emit()
