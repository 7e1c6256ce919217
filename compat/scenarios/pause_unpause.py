"""WRITEFUNC_PAUSE from the write callback, unpaused with pause(PAUSE_CONT) from
XFERINFOFUNCTION: event order, body integrity, pause() return values; pause on an idle handle."""
import time

from _common import Obs, call, perform, pycurl, url
from servers import pattern

o = Obs()


def run(name, path, expected, pause_on=(1,)):
    c = pycurl.Curl()
    events = []
    state = {"writes": 0, "paused": False, "chunks": []}

    def write(data):
        state["writes"] += 1
        n = state["writes"]
        if n in pause_on and not state.get(f"p{n}"):
            state[f"p{n}"] = True
            # libcurl redelivers the same data after unpause: do not count it as a new write
            state["writes"] -= 1
            state["paused"] = True
            events.append(["write", "-> PAUSE"])
            state["paused_at"] = time.monotonic()
            return pycurl.WRITEFUNC_PAUSE
        state["chunks"].append(data)
        if len(events) < 12:
            events.append(["write", "accepted", "in pause()" if state.get("in_pause") else ""])
        return None

    def xferinfo(dltotal, dlnow, ultotal, ulnow):
        if state["paused"]:
            state["paused"] = False
            events.append(["xferinfo", "unpausing"])
            state.setdefault("gaps", []).append(time.monotonic() - state["paused_at"])
            state["in_pause"] = True
            r = call(c.pause, pycurl.PAUSE_CONT)
            state["in_pause"] = False
            events.append(["pause() returned", r])
        return 0

    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEFUNCTION, write)
    c.setopt(pycurl.NOPROGRESS, 0)
    c.setopt(pycurl.XFERINFOFUNCTION, xferinfo)
    c.setopt(pycurl.TIMEOUT, 5)
    perform(c, o, f"{name}.perform")
    # How many chunks arrive after the pause() call depends on TCP segmentation (the server writes
    # each chunk separately), so for the chunked body only the events up to pause()'s return count.
    o[f"{name}.events_head"] = events[:4] if name == "chunked" else events[:6]
    # libcurl keeps calling XFERINFOFUNCTION while a transfer is paused; how soon after the
    # pause the first call comes is recorded only as "within 250 ms"
    o[f"{name}.xferinfo_soon_after_pause"] = [g < 0.25 for g in state.get("gaps", [])]
    body = b"".join(state["chunks"])
    o[f"{name}.body_ok"] = body == expected
    o[f"{name}.body_len"] = len(body)
    o[f"{name}.code"] = c.getinfo(pycurl.RESPONSE_CODE)
    o[f"{name}.size_download"] = c.getinfo(pycurl.SIZE_DOWNLOAD_T)
    c.close()


run("small", "/hello", b"hello world")
run("large", "/bytes?n=300000", pattern(300000), pause_on=(1, 3))
run("chunked", "/chunked?n=5000&chunks=5", pattern(5000))

c = pycurl.Curl()
o["idle.pause_cont"] = call(c.pause, pycurl.PAUSE_CONT)
o["idle.pause_all"] = call(c.pause, pycurl.PAUSE_ALL)
o["idle.pause_bad_type"] = call(c.pause, "x")
o["idle.pause_noarg"] = call(c.pause)
o["constants"] = [pycurl.PAUSE_ALL, pycurl.PAUSE_CONT, pycurl.PAUSE_RECV, pycurl.PAUSE_SEND,
                  pycurl.WRITEFUNC_PAUSE, pycurl.READFUNC_PAUSE, pycurl.READFUNC_ABORT]
o.emit()
