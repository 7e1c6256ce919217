"""What an event loop driving socket_action sees: pause(PAUSE_CONT) from outside the callbacks
reports a timer from inside pause(); M_TIMERFUNCTION / M_SOCKETFUNCTION results that are not valid
(ints that do not fit a C int, exceptions, other types) make add_handle / socket_action fail; a
KeyboardInterrupt in them comes out of socket_action as KeyboardInterrupt."""
import select
import time

from _common import Obs, capture_stderr, pycurl, url

o = Obs()


def loop_until(m, socks, timeout, cond, limit=5.0):
    t0 = time.monotonic()
    running = 1
    while running and not cond() and time.monotonic() - t0 < limit:
        r = [fd for fd, w in socks.items() if w & pycurl.POLL_IN]
        w = [fd for fd, w in socks.items() if w & pycurl.POLL_OUT]
        t = 0.2 if timeout[0] is None or timeout[0] < 0 else min(0.2, timeout[0] / 1000)
        rr, ww, _ = select.select(r, w, [], t)
        if not rr and not ww:
            running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]
        for fd in set(rr) | set(ww):
            ev = (pycurl.CSELECT_IN if fd in rr else 0) | (pycurl.CSELECT_OUT if fd in ww else 0)
            running = m.socket_action(fd, ev)[1]
    return running


# pause / PAUSE_CONT from outside the callbacks
m = pycurl.CurlMulti()
c = pycurl.Curl()
c.setopt(pycurl.URL, url("/bytes?n=200000"))
log, socks, timeout, state = [], {}, [None], {"paused": False, "got": 0}


def write(b):
    state["got"] += len(b)
    if not state["paused"]:
        state["paused"] = True
        return pycurl.WRITEFUNC_PAUSE


def sockf(what, fd, multi, sp):
    log.append(["socket", what])
    if what == pycurl.POLL_REMOVE:
        socks.pop(fd, None)
    else:
        socks[fd] = what


def timerf(ms):
    log.append(["timer", ms if ms <= 0 else "positive"])
    timeout[0] = ms


c.setopt(pycurl.WRITEFUNCTION, write)
m.setopt(pycurl.M_SOCKETFUNCTION, sockf)
m.setopt(pycurl.M_TIMERFUNCTION, timerf)
m.add_handle(c)
loop_until(m, socks, timeout, lambda: state["paused"])
loop_until(m, socks, timeout, lambda: False, limit=0.3)
o["pause.paused_sockets"] = sorted(socks.values())
del log[:]
c.pause(pycurl.PAUSE_CONT)
o["pause.inside_pause.timer"] = [x for x in log if x[0] == "timer"]
o["pause.inside_pause.socket"] = [x for x in log if x[0] == "socket"]
# an event loop that waits only on what the callbacks said must now finish the transfer
o["pause.running_after"] = loop_until(m, socks, timeout, lambda: False)
o["pause.got_all"] = state["got"] >= 200000
o["pause.result"] = m.info_read()[1:]
m.remove_handle(c)
m.close()


def bad_timer(name, ret):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url("/hello"))

    def timerf(ms):
        if isinstance(ret, BaseException):
            raise ret
        return ret
    m.setopt(pycurl.M_TIMERFUNCTION, timerf)
    with capture_stderr() as err:
        try:
            m.add_handle(c)
            o[f"timer.{name}.add"] = "ok"
        except BaseException as e:  # noqa: BLE001
            o[f"timer.{name}.add"] = [type(e).__name__, list(e.args)]
    o[f"timer.{name}.stderr_last"] = (err["py"] + err["fd"])[-1:]
    o[f"timer.{name}.in_multi"] = c in m
    m.close()


for name, ret in (("huge", 2 ** 40), ("int_max_plus_1", 2 ** 31), ("neg_huge", -2 ** 70), ("minus1", -1),
                  ("int_max", 2 ** 31 - 1), ("none", None), ("exc", ValueError("v")),
                  ("kbd", KeyboardInterrupt()), ("str", "x"), ("float", 1.5)):
    bad_timer(name, ret)


def bad_socket(name, ret):
    m = pycurl.CurlMulti()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda b: None)

    active = [True]

    def sockf(*a):
        if not active[0]:
            return None
        if isinstance(ret, BaseException):
            raise ret
        return ret
    m.setopt(pycurl.M_SOCKETFUNCTION, sockf)
    m.add_handle(c)
    res = []
    with capture_stderr() as err:
        for _ in range(50):
            try:
                n = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)[1]
            except BaseException as e:  # noqa: BLE001
                res.append([type(e).__name__, list(e.args)])
                break
            if n == 0:
                res.append("done")
                break
            time.sleep(0.01)
    o[f"socket.{name}.socket_action"] = res[-1:]
    o[f"socket.{name}.stderr_last"] = (err["py"] + err["fd"])[-1:]
    active[0] = False
    m.remove_handle(c)
    m.close()


for name, ret in (("huge", 2 ** 40), ("int_max_plus_1", 2 ** 31), ("minus1", -1), ("none", None),
                  ("exc", ValueError("v")), ("kbd", KeyboardInterrupt()), ("str", "x")):
    bad_socket(name, ret)

# A timer callback set after add_handle: nothing is reported until a timeout is set.
m = pycurl.CurlMulti()
c = pycurl.Curl()
c.setopt(pycurl.URL, url("/hello"))
c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
calls = []
m.add_handle(c)
m.setopt(pycurl.M_TIMERFUNCTION, calls.append)
for _ in range(3):
    m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
o["late_timer.calls"] = calls
m.close()
o.emit()
