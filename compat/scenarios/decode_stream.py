"""Content decoding as a stream: sync-flushed pieces arrive as sent, decoded output comes in pieces
of at most 16 KiB, MAXFILESIZE applies to the decoded size, at most 5 stacked encodings, and a
transfer paused on its first decoded piece gets no more until unpaused."""
import time

from _common import Obs, perform, pycurl, url

o = Obs()

for ce in ("gzip", "deflate"):
    c = pycurl.Curl()
    got = []
    start = time.monotonic()
    c.setopt(pycurl.URL, url(f"/gzip-flushed?ce={ce}&pieces=3&delay=0.7"))
    c.setopt(pycurl.ACCEPT_ENCODING, "")
    c.setopt(pycurl.WRITEFUNCTION, lambda b: got.append((time.monotonic() - start, b)))
    perform(c, o, f"flushed.{ce}")
    o[f"flushed.{ce}.pieces"] = [b for _, b in got]
    # piece i is sent at 0.7 * i seconds: each is seen before the next one is sent
    o[f"flushed.{ce}.in_time"] = [0.7 * i <= t < 0.7 * i + 0.6 for i, (t, _) in enumerate(got)]
    c.close()


def bomb(key, path, **opts):
    c = pycurl.Curl()
    sizes = []
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.ACCEPT_ENCODING, "")
    c.setopt(pycurl.WRITEFUNCTION, lambda b: sizes.append(len(b)))
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    perform(c, o, key)
    o[f"{key}.max_piece_le_16k"] = max(sizes) <= 16384 if sizes else None
    c.close()
    return sum(sizes)


n = bomb("bomb.maxfilesize", "/gzip-bomb?mib=64", MAXFILESIZE=4 << 20)
o["bomb.maxfilesize.delivered_within_one_piece_of_limit"] = (4 << 20) - 2 * 16384 < n <= 4 << 20
o["bomb.whole.delivered"] = bomb("bomb.whole", "/gzip-bomb?mib=64")
o["bomb.twice.delivered"] = bomb("bomb.twice", "/gzip-bomb?mib=64&layers=2")
o["stack.five.delivered"] = bomb("stack.five", "/encoded?ce=gzip,gzip,gzip,gzip,gzip")
o["stack.six.delivered"] = bomb("stack.six", "/encoded?ce=gzip,gzip,gzip,gzip,gzip,gzip")
o["stack.identity.delivered"] = bomb(
    "stack.identity", "/encoded?ce=gzip,gzip,gzip,gzip,gzip&label=gzip,identity,gzip,gzip,gzip,gzip")

# Paused on the first decoded piece: nothing more is delivered until PAUSE_CONT.
m = pycurl.CurlMulti()
c = pycurl.Curl()
sizes = []


def write(b):
    sizes.append(len(b))
    if len(sizes) == 1:
        return pycurl.WRITEFUNC_PAUSE


c.setopt(pycurl.URL, url("/gzip-bomb?mib=16"))
c.setopt(pycurl.ACCEPT_ENCODING, "")
c.setopt(pycurl.WRITEFUNCTION, write)
m.add_handle(c)
deadline = time.monotonic() + 30
while not sizes and time.monotonic() < deadline:
    m.perform()
    m.select(0.05)
deadline = time.monotonic() + 0.5
while time.monotonic() < deadline:
    m.perform()
    m.select(0.05)
o["paused.while_paused"] = list(sizes)
c.pause(pycurl.PAUSE_CONT)
running = 1
while running:
    _, running = m.perform()
    if running:
        m.select(0.1)
o["paused.total"] = sum(sizes)
o["paused.result"] = m.info_read()[1:]
m.remove_handle(c)
o.emit()
