"""Drive webdavclient 1.0.8 (pycurl WebDAV client) against a loopback WsgiDAV server."""
import io
import os
import shutil
import tempfile
import threading

from cheroot import wsgi
from wsgidav.wsgidav_app import WsgiDAVApp

import webdav.client as wc

root = tempfile.mkdtemp()
os.makedirs(os.path.join(root, "share", "sub"))
with open(os.path.join(root, "share", "hello.txt"), "wb") as f:
    f.write(b"hello webdav\n" * 100)
with open(os.path.join(root, "share", "sub", "deep.bin"), "wb") as f:
    f.write(bytes(range(256)) * 400)

config = {
    "host": "127.0.0.1", "port": 0,
    "provider_mapping": {"/": os.path.join(root, "share")},
    "http_authenticator": {"domain_controller": None, "accept_basic": True, "accept_digest": False,
                           "default_to_digest": False},
    "simple_dc": {"user_mapping": {"*": {"alice": {"password": "secret"}}}},
    "verbose": 0, "logging": {"enable": False},
    "lock_storage": True,
}
app = WsgiDAVApp(config)
server = wsgi.Server(("127.0.0.1", 0), app)
server.prepare()
port = server.bind_addr[1]
threading.Thread(target=server.serve, daemon=True).start()


def out(*a):
    print(*a, flush=True)


def step(name, fn):
    try:
        out(name, "->", repr(fn()))
    except Exception as e:  # noqa: BLE001
        out(name, "raised", type(e).__name__, str(e)[:200].replace("127.0.0.1:%d" % port, "127.0.0.1:PORT"))


host = "http://127.0.0.1:%d" % port
c = wc.Client({"webdav_hostname": host, "webdav_login": "alice", "webdav_password": "secret"})
bad = wc.Client({"webdav_hostname": host, "webdav_login": "alice", "webdav_password": "wrong"})
gone = wc.Client({"webdav_hostname": "http://127.0.0.1:1", "webdav_login": "a", "webdav_password": "b"})
local = tempfile.mkdtemp()
try:
    step("valid", c.valid)
    step("list", lambda: sorted(c.list()))
    step("list-sub", lambda: sorted(c.list("sub/")))
    step("check-file", lambda: c.check("hello.txt"))
    step("check-missing", lambda: c.check("nope.txt"))
    step("check-bad-auth", lambda: bad.check("hello.txt"))
    step("list-bad-auth", lambda: bad.list())
    step("list-refused", lambda: gone.list())
    step("free", lambda: type(c.free()).__name__)
    step("is_dir", lambda: (c.is_dir("sub"), c.is_dir("hello.txt")))
    step("info", lambda: sorted((k, v) for k, v in c.info("hello.txt").items() if k in ("size", "name")))
    step("mkdir", lambda: (c.mkdir("newdir"), c.check("newdir/")))
    buf = io.BytesIO()
    step("download_to", lambda: (c.download_to(buf, "hello.txt"), len(buf.getvalue()), buf.getvalue()[:13]))
    step("download-file", lambda: (c.download("sub/deep.bin", os.path.join(local, "deep.bin")),
                                   os.path.getsize(os.path.join(local, "deep.bin"))))
    seen = []
    step("download-progress", lambda: (c.download_file("sub/deep.bin", os.path.join(local, "d2.bin"),
                                                       progress=lambda *a: seen.append(a) and 0),
                                       bool(seen), seen[-1] if seen else None))
    step("download-dir", lambda: (c.download("sub/", os.path.join(local, "subcopy")),
                                  sorted(os.listdir(os.path.join(local, "subcopy")))))
    step("upload_from", lambda: (c.upload_from(io.BytesIO(b"uploaded bytes"), "newdir/up.txt"),
                                 open(os.path.join(root, "share", "newdir", "up.txt"), "rb").read()))
    with open(os.path.join(local, "big.bin"), "wb") as f:
        f.write(bytes(range(256)) * 4096)
    step("upload-file", lambda: (c.upload("newdir/big.bin", os.path.join(local, "big.bin")),
                                 os.path.getsize(os.path.join(root, "share", "newdir", "big.bin"))))
    step("upload-dir", lambda: (c.upload("updir/", os.path.join(local, "subcopy")),
                                sorted(os.listdir(os.path.join(root, "share", "updir")))))
    step("upload-missing-parent", lambda: c.upload_from(io.BytesIO(b"x"), "nodir/x.txt"))
    step("copy", lambda: (c.copy("hello.txt", "newdir/copy.txt"),
                          os.path.getsize(os.path.join(root, "share", "newdir", "copy.txt"))))
    step("move", lambda: (c.move("newdir/copy.txt", "moved.txt"),
                          os.path.exists(os.path.join(root, "share", "moved.txt")),
                          os.path.exists(os.path.join(root, "share", "newdir", "copy.txt"))))
    step("get_property", lambda: c.get_property("hello.txt", {"namespace": "urn:x", "name": "color"}))
    step("set_property", lambda: c.set_property("hello.txt", {"namespace": "urn:x", "name": "color",
                                                              "value": "blue"}))
    step("get_property2", lambda: c.get_property("hello.txt", {"namespace": "urn:x", "name": "color"}))
    step("clean-file", lambda: (c.clean("moved.txt"), c.check("moved.txt")))
    step("clean-dir", lambda: (c.clean("updir/"), c.check("updir/")))
    r = c.resource("newdir/up.txt")
    step("resource-read", lambda: (lambda b: (r.read_from(b), b.getvalue())[1])(io.BytesIO()))
    step("resource-rename", lambda: (r.rename("up2.txt"), sorted(c.list("newdir/"))))
    os.makedirs(os.path.join(local, "pulled"))
    step("pull", lambda: (c.pull("sub/", os.path.join(local, "pulled")),
                          sorted(os.listdir(os.path.join(local, "pulled")))))
    step("final-list", lambda: sorted(c.list()))
finally:
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(local, ignore_errors=True)
