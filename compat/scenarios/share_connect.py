"""CurlShare LOCK_DATA_CONNECT: which transfers reuse a connection (NUM_CONNECTS, the local port,
the server's count of accepted connections) across perform() calls, a multi and a thread, with and
without the share; unsharing while in use, and after."""
import io
import threading

from _common import Obs, call, pycurl, server, url

o = Obs()


def fetch(c):
    c.setopt(pycurl.URL, url("/hello"))
    c.setopt(pycurl.WRITEDATA, io.BytesIO())
    c.perform()
    return c.getinfo(pycurl.NUM_CONNECTS), c.getinfo(pycurl.LOCAL_PORT)


for shared in (True, False):
    key = "shared" if shared else "unshared"
    s = pycurl.CurlShare()
    if shared:
        s.share(pycurl.LOCK_DATA_CONNECT)
    before = server().connections
    a, b, d = pycurl.Curl(), pycurl.Curl(), pycurl.Curl()
    for c in (a, b, d):
        c.setopt(pycurl.SHARE, s)
    seen = [fetch(a), fetch(b), fetch(a)]
    m = pycurl.CurlMulti()
    d.setopt(pycurl.URL, url("/hello"))
    d.setopt(pycurl.WRITEDATA, io.BytesIO())
    m.add_handle(d)
    while m.perform()[1]:
        m.select(1.0)
    seen.append((d.getinfo(pycurl.NUM_CONNECTS), d.getinfo(pycurl.LOCAL_PORT)))
    m.remove_handle(d)

    def other_thread():
        e = pycurl.Curl()
        e.setopt(pycurl.SHARE, s)
        seen.append(fetch(e))
        e.close()
    t = threading.Thread(target=other_thread)
    t.start()
    t.join(10)
    a.close()
    seen.append(fetch(b))
    o[key + ".num_connects"] = [n for n, _ in seen]
    o[key + ".distinct_local_ports"] = len({p for _, p in seen})
    o[key + ".server_connections"] = server().connections - before
    o[key + ".unshare_in_use"] = call(s.unshare, pycurl.LOCK_DATA_CONNECT)
    for c in (b, d):
        c.setopt(pycurl.SHARE, None)
    o[key + ".unshare_idle"] = call(s.unshare, pycurl.LOCK_DATA_CONNECT)
    o[key + ".close"] = call(s.close)
    b.close()
    d.close()
    m.close()
o.emit()
