"""AsyncCurlMulti as clients use it: a transfer ending on the timer path, a transfer unpaused from
outside, remove_handle / aclose cancelling pending futures, a cancelled await staying cancelled,
and the error for a second event loop."""
import asyncio

from _common import Obs, pycurl, url

o = Obs()


def handle(path, **opts):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url(path))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c


async def timer_path():
    async with pycurl.AsyncCurlMulti() as m:
        try:
            await asyncio.wait_for(m.perform(handle("/slow?delay=3", TIMEOUT_MS=300)), 2)
            return "ok"
        except pycurl.error as e:
            return e.args[0]
        except asyncio.TimeoutError:
            return "hang"


async def unpause():
    async with pycurl.AsyncCurlMulti() as m:
        st = {"paused": False, "got": 0}

        def write(b):
            st["got"] += len(b)
            if not st["paused"]:
                st["paused"] = True
                return pycurl.WRITEFUNC_PAUSE
        c = handle("/bytes?n=200000")
        c.setopt(pycurl.WRITEFUNCTION, write)
        fut = m.add_handle(c)
        while not st["paused"]:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        c.pause(pycurl.PAUSE_CONT)
        try:
            return [await asyncio.wait_for(fut, 2) is c, st["got"] >= 200000]
        except asyncio.TimeoutError:
            return "hang"


async def cancelling():
    out = {}
    async with pycurl.AsyncCurlMulti() as m:
        c = handle("/slow?delay=0.5")
        fut = m.add_handle(c)
        await asyncio.sleep(0.05)
        m.remove_handle(c)
        out["remove_cancels"] = fut.cancelled()
        c2 = handle("/slow?delay=0.3")
        f2 = m.add_handle(c2)
        await asyncio.sleep(0.05)
        f2.cancel()
        await asyncio.sleep(0.6)
        out["cancelled_stays_cancelled"] = [f2.cancelled(), len(m.futures())]
        f3 = m.add_handle(handle("/slow?delay=0.5"))
        await asyncio.sleep(0.05)
    out["aclose_cancels"] = f3.cancelled()
    return out


o["timer_path"] = asyncio.run(timer_path())
o["unpause"] = asyncio.run(unpause())
o["cancelling"] = asyncio.run(cancelling())

m = pycurl.AsyncCurlMulti()
asyncio.run(m.perform(handle("/hello")))


async def second():
    try:
        m.add_handle(handle("/hello"))
        return "ok"
    except RuntimeError as e:
        return str(e)
o["second_loop"] = asyncio.run(second())
o.emit()
