"""Calls from another thread while a handle performs: pause() on an easy perform() and on a handle
driven by a CurlMulti loop, and the multi's own methods (what tests/test_threads.py asserts)."""
import threading
import time

from _common import Obs, call, pycurl, url

o = Obs()

# Easy perform() in a thread; pause() and friends from the main thread while it waits.
c = pycurl.Curl()
c.setopt(pycurl.URL, url("/slowbody?delay=0.1&chunks=4"))
c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
t = threading.Thread(target=c.perform)
t.start()
time.sleep(0.15)
o["easy.pause_all"] = call(c.pause, pycurl.PAUSE_ALL)
o["easy.pause_cont"] = call(c.pause, pycurl.PAUSE_CONT)
o["easy.getinfo"] = call(c.getinfo, pycurl.RESPONSE_CODE)
o["easy.perform"] = call(c.perform)
t.join(10)
o["easy.finished"] = not t.is_alive()
o["easy.code"] = c.getinfo(pycurl.RESPONSE_CODE)
c.close()

# A CurlMulti loop in a thread whose write callback sleeps (GIL released).
c = pycurl.Curl()
c.setopt(pycurl.URL, url("/slowbody?delay=0.05&chunks=3"))
m = pycurl.CurlMulti()
m.add_handle(c)
other = pycurl.Curl()


def calls(prefix):
    o[prefix + ".pause"] = call(c.pause, pycurl.PAUSE_CONT)
    o[prefix + ".perform"] = call(m.perform)
    o[prefix + ".select"] = call(m.select, 0.01)
    o[prefix + ".socket_action"] = call(m.socket_action, pycurl.SOCKET_TIMEOUT, 0)
    o[prefix + ".add_handle"] = call(m.add_handle, other)
    o[prefix + ".remove_handle"] = call(m.remove_handle, c)
    o[prefix + ".timeout"] = call(m.timeout)
    o[prefix + ".fdset"] = call(m.fdset)
    o[prefix + ".setopt"] = call(m.setopt, pycurl.M_MAXCONNECTS, 3)
    o[prefix + ".close"] = call(m.close)
    o[prefix + ".easy_perform"] = call(c.perform)


seen = []


def write(data):
    if not seen:
        seen.append(1)
        calls("multi.same_thread")
    time.sleep(0.2)


c.setopt(pycurl.WRITEFUNCTION, write)


def loop():
    running = 1
    while running:
        _, running = m.perform()
        m.select(0.1)


t = threading.Thread(target=loop)
t.start()
time.sleep(0.12)
calls("multi.other_thread")
t.join(10)
o["multi.finished"] = not t.is_alive()
o["multi.info_read"] = call(lambda: [len(x) if isinstance(x, list) else x for x in m.info_read()])
o["multi.code"] = c.getinfo(pycurl.RESPONSE_CODE)
o.emit()
