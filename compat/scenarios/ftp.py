"""ftp:// against vsftpd on loopback: the commands sent (DEBUGFUNCTION), every reply line given to
HEADERFUNCTION, bodies, errors and infos for downloads, listings, NOBODY, uploads, QUOTE and
connection reuse on one handle."""
import io
import re
import tempfile

from _common import Obs, add_port, add_replacement, getinfos, norm, perform, pycurl

import ftpservers

o = Obs()
INFOS = ["RESPONSE_CODE", "EFFECTIVE_URL", "SIZE_DOWNLOAD_T", "SIZE_UPLOAD_T", "CONTENT_LENGTH_DOWNLOAD_T",
         "NUM_CONNECTS", "HEADER_SIZE", "SCHEME", "PRIMARY_PORT"]
# the data connection's port, which the server picks
PASSIVE = re.compile(rb"^(22[79] [^(]*\().*(\).*)$", re.S)

root = tempfile.mkdtemp(prefix="compat-ftp-")
work = tempfile.mkdtemp(prefix="compat-ftp-conf-")
add_replacement(root, "ROOT")
with open(f"{root}/hello.txt", "wb") as f:
    f.write(b"hello world\n")
import os  # noqa: E402

os.makedirs(f"{root}/sub/deeper")
os.makedirs(f"{root}/up")
os.chmod(f"{root}/up", 0o777)
with open(f"{root}/sub/deeper/d.txt", "wb") as f:
    f.write(b"deep\r\nfile\r\n")
srv = ftpservers.start_vsftpd(root, work)
add_port(srv.port)

c = pycurl.Curl()
ACTIVE = re.compile(rb"^((?:EPRT \|1\|127\.0\.0\.1\||PORT 127,0,0,1,)).*", re.S)


def run(name, path, **opts):
    body = io.BytesIO()
    headers, sent = [], []
    c.setopt(pycurl.URL, srv.url(path))
    c.setopt(pycurl.WRITEDATA, body)
    c.setopt(pycurl.HEADERFUNCTION, lambda h: headers.append(PASSIVE.sub(rb"\1...\2", h)))
    c.setopt(pycurl.VERBOSE, 1)
    # The port an active-mode transfer listens on differs from run to run.
    c.setopt(pycurl.DEBUGFUNCTION, lambda k, d: k == pycurl.INFOTYPE_HEADER_OUT and sent.append(ACTIVE.sub(rb"\1...", d)))
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    perform(c, o, f"{name}.perform")
    o[f"{name}.body"] = body.getvalue()
    o[f"{name}.headers"] = headers
    o[f"{name}.sent"] = sent
    o.raw(f"{name}.infos", getinfos(c, INFOS))
    for k in opts:
        c.unsetopt(getattr(pycurl, k)) if k in ("QUOTE", "POSTQUOTE") else None


try:
    run("download", "/sub/deeper/d.txt")
    run("reuse_root_file", "/hello.txt")
    run("listing", "/sub/")
    run("nlst_ascii", "/sub/", DIRLISTONLY=1)
    run("type_a", "/sub/deeper/d.txt;type=a")
    run("nobody", "/hello.txt", NOBODY=1, DIRLISTONLY=0)
    c.setopt(pycurl.NOBODY, 0)
    run("missing_dir", "/nosuch/x")
    run("missing_file", "/nofile")
    run("upload", "/up/u.txt", UPLOAD=1, READDATA=io.BytesIO(b"up\n"))
    c.setopt(pycurl.UPLOAD, 0)
    run("active_eprt", "/sub/deeper/d.txt", FTPPORT="-")
    run("active_port_listing", "/sub/", FTPPORT="127.0.0.1", FTP_USE_EPRT=0)
    c.setopt(pycurl.FTPPORT, None)
    c.setopt(pycurl.FTP_USE_EPRT, 1)
    run("quote", "/hello.txt", QUOTE=["NOOP"], POSTQUOTE=["*BOGUS"])
    run("quote_error", "/hello.txt", QUOTE=["BOGUS"])
    run("login_denied", "/hello.txt", USERPWD="bob:pw")
    o["uploaded"] = norm(open(f"{root}/up/u.txt", "rb").read())
finally:
    c.close()
    srv.stop()
o.emit()
