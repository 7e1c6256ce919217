"""CurlMulti socket_action loop: the exact M_SOCKETFUNCTION calls (what, fd label, socketp) and
M_TIMERFUNCTION calls (-1 / 0 / positive), socket_action return values, assign()/unassign() effect
on socketp, info_read at the end. fds are labelled in order of first appearance.

libcurl 8.23 registers an internal wakeup socket with the socket callback (an extra POLL_IN socket,
POLL_REMOVE at the end): it is recorded like any other socket."""
import io
import select
import time

from _common import Labels, Obs, call, pycurl, timer_class, url

o = Obs()
WHAT = {pycurl.POLL_NONE: "NONE", pycurl.POLL_IN: "IN", pycurl.POLL_OUT: "OUT",
        pycurl.POLL_INOUT: "INOUT", pycurl.POLL_REMOVE: "REMOVE"}


def settle(events):
    """Drops a socket's IN between its OUT and its REMOVE: whether the answer is already there when
    the request has gone out (no IN) is a race with the server thread, for libcurl as for us."""
    out = []
    for e in events:
        if e[0] == "sock" and e[1] == "IN":
            mine = [x for x in events if x[0] == "sock" and x[2] == e[2]]
            k = next(j for j, x in enumerate(mine) if x is e)
            if 0 < k < len(mine) - 1 and mine[k - 1][1] == "OUT" and mine[k + 1][1] == "REMOVE":
                continue
        out.append(e)
    return out


def run(name, paths, mode):
    """mode: 'plain' (no assign), 'assign' (assign on first sight), 'unassign' (assign on first
    sight, unassign on the second callback for that fd)."""
    m = pycurl.CurlMulti()
    fdl = Labels("fd")
    events = []
    socks = {}
    timer = {"deadline": None}
    seen = {}
    arg_types = set()

    def sockcb(what, fd, multi, socketp):
        arg_types.add((type(what).__name__, type(fd).__name__, multi is m,
                       type(socketp).__name__))
        lab = fdl(fd)
        events.append(["sock", WHAT.get(what, what), lab, socketp])
        if what == pycurl.POLL_REMOVE:
            socks.pop(fd, None)
        else:
            socks[fd] = what
        seen[fd] = seen.get(fd, 0) + 1
        if mode in ("assign", "unassign") and seen[fd] == 1 and what != pycurl.POLL_REMOVE:
            r = m.assign(fd, f"sp-{lab}")
            if r is not None:
                events.append(["assign returned", repr(r)])
        elif mode == "unassign" and seen[fd] == 2:
            r = m.unassign(fd)
            if r is not None:
                events.append(["unassign returned", repr(r)])

    def timercb(ms):
        arg_types.add(("timer", type(ms).__name__))
        events.append(["timer", timer_class(ms)])
        timer["deadline"] = None if ms < 0 else time.monotonic() + ms / 1000.0

    m.setopt(pycurl.M_SOCKETFUNCTION, sockcb)
    m.setopt(pycurl.M_TIMERFUNCTION, timercb)
    handles = []
    for p in paths:
        c = pycurl.Curl()
        c.buf = io.BytesIO()
        c.setopt(pycurl.URL, url(p))
        c.setopt(pycurl.WRITEDATA, c.buf)
        handles.append(c)
        events.append(["add_handle begin"])
        events.append(["add_handle returned", call(m.add_handle, c)])
    rets = set()
    running = len(handles)
    end = time.monotonic() + 5
    events.append(["socket_action(SOCKET_TIMEOUT) begin"])
    kick = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
    events.append(["socket_action returned", [type(x).__name__ for x in kick]])
    running = kick[1]
    while running and time.monotonic() < end:
        now = time.monotonic()
        wait = 0.5 if timer["deadline"] is None else max(0.0, timer["deadline"] - now)
        rl = [fd for fd, w in socks.items() if w in (pycurl.POLL_IN, pycurl.POLL_INOUT)]
        wl = [fd for fd, w in socks.items() if w in (pycurl.POLL_OUT, pycurl.POLL_INOUT)]
        r, w, _ = select.select(rl, wl, [], min(wait, 0.5))
        if not r and not w:
            if timer["deadline"] is not None and time.monotonic() >= timer["deadline"]:
                timer["deadline"] = None
                ret, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
                rets.add(ret)
            continue
        for fd in set(r) | set(w):
            ev = (pycurl.CSELECT_IN if fd in r else 0) | (pycurl.CSELECT_OUT if fd in w else 0)
            ret, running = m.socket_action(fd, ev)
            rets.add(ret)
    if len(handles) == 1:
        o[f"{name}.events"] = settle(events)
    else:
        # with several transfers the completion order is up to the server threads: compare the
        # calls per socket and the timer calls, not their interleaving
        per_fd = {}
        for e in events:
            if e[0] == "sock":
                per_fd.setdefault(e[2], []).append([e[1], e[3]])
        o[f"{name}.events_per_fd"] = per_fd
        o[f"{name}.timer_events"] = [e[1] for e in events if e[0] == "timer"]
    o[f"{name}.arg_types"] = sorted(arg_types, key=repr)
    o[f"{name}.socket_action_rets"] = sorted(rets)
    o[f"{name}.running_at_end"] = running
    q, ok, err = m.info_read()
    o[f"{name}.info_read"] = [q, len(ok), [(e[1], e[2]) for e in err]]
    o[f"{name}.bodies"] = [len(c.buf.getvalue()) for c in handles]
    after = len(events)
    for c in handles:
        m.remove_handle(c)
    o[f"{name}.events_on_remove"] = events[after:]
    after = len(events)
    m.close()
    o[f"{name}.events_on_close"] = events[after:]
    o[f"{name}.open_sockets_after_close"] = len(socks)


run("one_plain", ["/hello"], "plain")
run("one_assign", ["/hello"], "assign")
run("one_unassign", ["/slowbody?chunks=3&delay=0.05"], "unassign")
run("two_assign", ["/hello", "/bytes?n=100000"], "assign")

m = pycurl.CurlMulti()
o["assign_unknown_fd"] = call(m.assign, 12345, "x")
o["unassign_unknown_fd"] = call(m.unassign, 12345)
o["assign_bad_fd_type"] = call(m.assign, "x", "y")
o["socket_action_bad_fd_no_handles"] = call(m.socket_action, 12345, 0)
o["socket_action_timeout_no_handles"] = call(m.socket_action, pycurl.SOCKET_TIMEOUT, 0)
o["socket_all"] = call(m.socket_all)
m.close()
o["closed.socket_action"] = call(m.socket_action, pycurl.SOCKET_TIMEOUT, 0)
o["closed.assign"] = call(m.assign, 3, "x")
o["closed.socket_all"] = call(m.socket_all)
o.emit()
