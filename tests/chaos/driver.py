#!/usr/bin/env python3
"""Chaos driver: random misuse of pycurl's API, seeded, recording what every call did.

    python tests/chaos/driver.py --seed 7 --steps 400            # one seed, prints a line per step
    python tests/chaos/driver.py --seed 7 --seconds 600 --quiet --out r.txt  # long run: RSS, fds

Each step picks (from the seed alone, never from an outcome) an object slot and a call: Curl
setopt/perform/reset/close/pause/duphandle/pickle/copy, CurlMulti add/remove/perform-select
loops and socket_action loops, CurlShare setopt/close while attached, CurlMime built, attached
and closed; callbacks that raise, return a wrong type or a huge value, or call back into their
own handle or multi (perform, close, reset, setopt, remove_handle, socket_action, pause from
another thread). The line printed for a step is the outcome: ``ok`` with a small summary, or the
exception's type and, for pycurl.error, its code and message. Running the same seed under real
pycurl (/tmp/ref/bin/python) and under ours must print the same lines (tests/chaos/compare.py).
Loopback only: the server is tests/servers.py in a thread of this process.
"""
from __future__ import annotations

import argparse
import copy
import gc
import os
import pickle
import random
import select
import socket
import sys
import threading
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import pycurl  # noqa: E402

import servers  # noqa: E402

NCURL, NMULTI, NSHARE, NMIME = 4, 2, 2, 2
PATHS = ["/hello", "/bytes?n=70000", "/status/404", "/nothing", "/redirect/2", "REFUSED", "BADURL"]
BEHAVIOURS = ["ok", "ok", "raise", "badtype", "huge", "neg", "perform", "close", "reset",
              "setopt", "remove", "mperform", "mclose", "duphandle", "unpause_thread",
              "getinfo", "socket_action"]


def outcome(exc: BaseException) -> str:
    if isinstance(exc, pycurl.error):
        return f"pycurl.error{tuple(exc.args)!r}"
    return f"{type(exc).__name__}({exc})"


class Driver:
    def __init__(self, seed: int, base: str, refused: int, out=None):
        self.rng = random.Random(seed)
        self.base = base
        self.refused = refused
        self.out = out
        self.curls: list = [None] * NCURL
        self.multis: list = [None] * NMULTI
        self.shares: list = [None] * NSHARE
        self.mimes: list = [None] * NMIME
        # what callbacks saw, by handle slot: first outcome of the nested call only, so the
        # number of times a callback runs (chunking) does not change the record
        self.seen: dict = {}
        self.sockets: dict = {}
        self.timer = None

    # -- helpers ---------------------------------------------------------
    def url(self, path: str) -> str:
        if path == "REFUSED":
            return f"http://127.0.0.1:{self.refused}/"
        if path == "BADURL":
            return "htp//bad url"
        return self.base + path

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def nested(self, key: str, fn):
        """Run a call from inside a callback; remember its first outcome under key."""
        try:
            r = fn()
            res = "ok" if r is None or isinstance(r, (pycurl.Curl,)) else f"ok {r!r}"
        except BaseException as e:  # noqa: BLE001 - we record everything
            res = outcome(e)
        self.seen.setdefault(key, res)
        return res

    def make_cb(self, slot: int, behaviour: str, kind: str):
        d = self

        def cb(*args):
            c = d.curls[slot]
            key = f"{kind}{slot}:{behaviour}"
            m = d.multi_of(c)
            if behaviour == "raise":
                raise ValueError("chaos")
            if behaviour == "badtype":
                return "not a number"
            if behaviour == "huge":
                return 2**70
            if behaviour == "neg":
                return -1
            if c is None:
                return None
            if behaviour == "perform":
                d.nested(key, c.perform)
            elif behaviour == "close":
                d.nested(key, c.close)
            elif behaviour == "reset":
                d.nested(key, c.reset)
            elif behaviour == "setopt":
                d.nested(key, lambda: c.setopt(pycurl.URL, d.url("/hello")))
            elif behaviour == "remove" and m is not None:
                d.nested(key, lambda: m.remove_handle(c))
            elif behaviour == "mperform" and m is not None:
                d.nested(key, m.perform)
            elif behaviour == "mclose" and m is not None:
                d.nested(key, m.close)
            elif behaviour == "socket_action" and m is not None:
                d.nested(key, lambda: m.socket_action(pycurl.SOCKET_TIMEOUT, 0))
            elif behaviour == "duphandle":
                d.nested(key, lambda: c.duphandle().close())
            elif behaviour == "getinfo":
                d.nested(key, lambda: c.getinfo(pycurl.EFFECTIVE_URL).replace(d.base, "BASE"))
            elif behaviour == "unpause_thread":
                box = []

                def other():
                    try:
                        c.pause(pycurl.PAUSE_CONT)
                        box.append("ok")
                    except BaseException as e:  # noqa: BLE001
                        box.append(outcome(e))

                t = threading.Thread(target=other)
                t.start()
                t.join(5)
                d.seen.setdefault(key, box[0] if box else "thread hung")
            return None

        return cb

    def multi_of(self, c):
        if c is None:
            return None
        for m in self.multis:
            if m is not None and c in getattr(m, "_chaos_handles", ()):
                return m
        return None

    def flush_seen(self) -> str:
        if not self.seen:
            return ""
        s = " | " + "; ".join(f"{k}={v}" for k, v in sorted(self.seen.items()))
        self.seen.clear()
        return s

    # -- operations: each returns a short description of what it did ----
    def op_curl_new(self, i):
        self.curls[i] = pycurl.Curl()
        self.curls[i].setopt(pycurl.URL, self.url("/hello"))
        self.curls[i].setopt(pycurl.WRITEFUNCTION, lambda b: None)
        return "ok"

    def op_curl_url(self, i):
        self.curls[i].setopt(pycurl.URL, self.url(self.pick(PATHS)))
        self.curls[i].setopt(pycurl.CONNECTTIMEOUT_MS, 2000)
        self.curls[i].setopt(pycurl.TIMEOUT_MS, 2000)
        return "ok"

    def op_curl_badsetopt(self, i):
        opt, val = self.pick([
            (pycurl.URL, 123), (pycurl.WRITEFUNCTION, 5), (99999, 1), (pycurl.TIMEOUT, "x"),
            (pycurl.HTTPHEADER, "notalist"), (pycurl.HTTPHEADER, [1, 2]), (pycurl.POSTFIELDS, 1.5),
            (pycurl.SHARE, 3), (pycurl.MIMEPOST, "x"), (pycurl.VERBOSE, 2**70), (pycurl.URL, "a\0b"),
            (pycurl.TIMEOUT_MS, -1), (pycurl.HTTPHEADER, None), (pycurl.READDATA, 3),
            (pycurl.WRITEDATA, object()), (pycurl.RESOLVE, ["bad"]),
        ])
        self.curls[i].setopt(opt, val)
        return "ok"

    def op_curl_cb(self, i):
        kind = self.pick(["write", "header", "xferinfo", "progress", "debug", "seek"])
        beh = self.pick(BEHAVIOURS)
        cb = self.make_cb(i, beh, kind)
        opt = {"write": pycurl.WRITEFUNCTION, "header": pycurl.HEADERFUNCTION,
               "xferinfo": pycurl.XFERINFOFUNCTION, "progress": pycurl.PROGRESSFUNCTION,
               "debug": pycurl.DEBUGFUNCTION, "seek": pycurl.SEEKFUNCTION}[kind]
        c = self.curls[i]
        c.setopt(opt, cb)
        if kind in ("xferinfo", "progress"):
            c.setopt(pycurl.NOPROGRESS, 0)
        if kind == "debug":
            c.setopt(pycurl.VERBOSE, 1)
        return f"ok {kind}={beh}"

    def op_curl_perform(self, i):
        c = self.curls[i]
        how = self.pick(["perform", "perform", "perform_rb", "perform_rs"])
        try:
            r = getattr(c, how)()
            res = "ok" if how == "perform" else f"ok {type(r).__name__}"
        except pycurl.error as e:
            res = outcome(e)
        return res + self.flush_seen()

    def op_curl_info(self, i):
        info = self.pick([pycurl.RESPONSE_CODE, pycurl.EFFECTIVE_URL, pycurl.HTTP_CODE,
                          pycurl.SIZE_DOWNLOAD, 99999, pycurl.OS_ERRNO,
                          pycurl.REDIRECT_COUNT, pycurl.NUM_CONNECTS])
        v = self.curls[i].getinfo(info)
        if isinstance(v, str):
            v = v.replace(self.base, "BASE").replace(str(self.refused), "RPORT")
        if info == pycurl.NUM_CONNECTS:
            v = v > 0
        return f"ok {v!r}"

    def op_curl_misc(self, i):
        c = self.curls[i]
        what = self.pick(["reset", "close", "close", "unsetopt", "pause", "errstr", "pickle",
                          "copy", "deepcopy", "dup", "drop", "setopt_string", "unsetopt_bad"])
        if what == "reset":
            c.reset()
        elif what == "close":
            c.close()
        elif what == "unsetopt":
            c.unsetopt(self.pick([pycurl.URL, pycurl.WRITEFUNCTION, pycurl.SHARE, pycurl.HTTPHEADER]))
        elif what == "unsetopt_bad":
            c.unsetopt(self.pick([pycurl.TIMEOUT, 99999, pycurl.MIMEPOST]))
        elif what == "pause":
            c.pause(self.pick([pycurl.PAUSE_CONT, pycurl.PAUSE_ALL, 99]))
            c.pause(pycurl.PAUSE_CONT)
        elif what == "errstr":
            return f"ok {c.errstr()!r}"
        elif what == "pickle":
            pickle.dumps(c)
        elif what == "copy":
            copy.copy(c)
        elif what == "deepcopy":
            copy.deepcopy(c)
        elif what == "dup":
            self.curls[(i + 1) % NCURL] = c.duphandle()
        elif what == "drop":
            self.curls[i] = None
            gc.collect()
        elif what == "setopt_string":
            c.setopt_string(pycurl.URL, self.url("/hello"))
        return f"ok {what}"

    def op_multi_new(self, j):
        m = pycurl.CurlMulti()
        m._chaos_handles = []
        self.multis[j] = m
        return "ok"

    def op_multi_add(self, j):
        m, i = self.multis[j], self.rng.randrange(NCURL)
        c = self.curls[i]
        m.add_handle(c)
        if c not in m._chaos_handles:
            m._chaos_handles.append(c)
        return f"ok add {i}"

    def op_multi_remove(self, j):
        m, i = self.multis[j], self.rng.randrange(NCURL)
        c = self.curls[i]
        m.remove_handle(c)
        if c in m._chaos_handles:
            m._chaos_handles.remove(c)
        return f"ok remove {i}"

    def done_msgs(self, m):
        out = []
        while True:
            n, ok, bad = m.info_read()
            out += [f"ok{self.curls.index(c) if c in self.curls else '?'}" for c in ok]
            out += [f"err{self.curls.index(c) if c in self.curls else '?'}:{e}" for c, e, _ in bad]
            if n == 0:
                return out

    def op_multi_perform(self, j):
        m = self.multis[j]
        msgs, deadline = [], time.monotonic() + 3
        while time.monotonic() < deadline:
            ret, running = m.perform()
            msgs += self.done_msgs(m)
            if running == 0:
                break
            m.select(0.2)
        else:
            msgs.append("TIMEOUT")
        return "ok " + ",".join(sorted(msgs)) + self.flush_seen()

    def op_multi_socket(self, j):
        m = self.multis[j]
        sbeh = self.pick(["ok", "ok", "ok", "raise", "badtype", "close_sock", "perform", "reentrant"])
        tbeh = self.pick(["ok", "ok", "ok", "raise", "reentrant", "huge", "perform"])
        d = self
        socks = {}
        timer = [0.0]

        def sockfn(what, fd, multi, data):
            if sbeh == "raise":
                raise RuntimeError("sockfn")
            if sbeh == "badtype":
                return "x"
            if sbeh == "perform":
                d.nested(f"sock:{sbeh}", m.perform)
            if sbeh == "reentrant":
                d.nested(f"sock:{sbeh}", lambda: m.socket_action(fd, 0))
            if sbeh == "close_sock" and what != pycurl.POLL_REMOVE:
                # closes a duplicate, not the handle's own fd: closing the real one lets the
                # number be reused by anything in this process, which no library can survive
                os.close(os.dup(fd))
            if what == pycurl.POLL_REMOVE:
                socks.pop(fd, None)
            else:
                socks[fd] = what
            return None

        def timerfn(ms):
            if tbeh == "raise":
                raise RuntimeError("timerfn")
            if tbeh == "huge":
                return 2**70
            if tbeh == "reentrant":
                d.nested(f"timer:{tbeh}", lambda: m.socket_action(pycurl.SOCKET_TIMEOUT, 0))
            if tbeh == "perform":
                d.nested(f"timer:{tbeh}", m.perform)
            timer[0] = -1 if ms < 0 else time.monotonic() + ms / 1000
            return None

        m.setopt(pycurl.M_SOCKETFUNCTION, sockfn)
        m.setopt(pycurl.M_TIMERFUNCTION, timerfn)
        msgs, deadline = [], time.monotonic() + 3
        ret, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        msgs += self.done_msgs(m)
        while running and time.monotonic() < deadline:
            r = [f for f, w in socks.items() if w & pycurl.POLL_IN]
            w = [f for f, w in socks.items() if w & pycurl.POLL_OUT]
            wait = 0.1
            if timer[0] > 0:
                wait = max(0.0, min(wait, timer[0] - time.monotonic()))
            try:
                rr, ww, _ = select.select(r, w, [], wait)
            except (OSError, ValueError):
                rr, ww = [], []
            acted = False
            for fd in set(rr) | set(ww):
                ev = (pycurl.CSELECT_IN if fd in rr else 0) | (pycurl.CSELECT_OUT if fd in ww else 0)
                ret, running = m.socket_action(fd, ev)
                acted = True
            if not acted:
                ret, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
            msgs += self.done_msgs(m)
        if running and time.monotonic() >= deadline:
            msgs.append("TIMEOUT")
        return f"ok s={sbeh} t={tbeh} " + ",".join(sorted(msgs)) + self.flush_seen()

    def op_multi_misc(self, j):
        m = self.multis[j]
        what = self.pick(["close", "timeout", "fdset", "select", "info_read", "setopt_bad",
                          "pickle", "drop", "setopt", "unsetfn"])
        if what == "close":
            m.close()
        elif what == "timeout":
            m.timeout()
        elif what == "fdset":
            m.fdset()
        elif what == "select":
            m.select(0)
        elif what == "info_read":
            return "ok " + ",".join(self.done_msgs(m))
        elif what == "setopt_bad":
            m.setopt(*self.pick([(pycurl.M_MAXCONNECTS, "x"), (99999, 1), (pycurl.M_SOCKETFUNCTION, 3),
                                 (pycurl.M_PIPELINING, -5), (pycurl.M_MAX_HOST_CONNECTIONS, 2**70)]))
        elif what == "setopt":
            m.setopt(pycurl.M_MAXCONNECTS, 3)
        elif what == "unsetfn":
            m.setopt(pycurl.M_SOCKETFUNCTION, None)
            m.setopt(pycurl.M_TIMERFUNCTION, None)
        elif what == "pickle":
            pickle.dumps(m)
        elif what == "drop":
            self.multis[j] = None
            gc.collect()
        return f"ok {what}"

    def op_share(self, k):
        what = self.pick(["new", "share", "share_bad", "attach", "detach", "close", "pickle", "drop"])
        if what == "new":
            self.shares[k] = pycurl.CurlShare()
        s = self.shares[k]
        if what == "share":
            s.setopt(self.pick([pycurl.SH_SHARE, pycurl.SH_UNSHARE]),
                     self.pick([pycurl.LOCK_DATA_COOKIE, pycurl.LOCK_DATA_DNS, pycurl.LOCK_DATA_SSL_SESSION,
                                pycurl.LOCK_DATA_CONNECT]))
        elif what == "share_bad":
            s.setopt(*self.pick([(pycurl.SH_SHARE, 99), (99999, 1), (pycurl.SH_SHARE, "x"),
                                 (pycurl.SH_UNSHARE, -1)]))
        elif what == "attach":
            self.curls[self.rng.randrange(NCURL)].setopt(pycurl.SHARE, s)
        elif what == "detach":
            self.curls[self.rng.randrange(NCURL)].unsetopt(pycurl.SHARE)
        elif what == "close":
            s.close()
        elif what == "pickle":
            pickle.dumps(s)
        elif what == "drop":
            self.shares[k] = None
            gc.collect()
        return f"ok {what}"

    def op_mime(self, k):
        what = self.pick(["new", "part", "part_bad", "attach", "close", "drop", "unset"])
        if what == "new":
            self.mimes[k] = pycurl.CurlMime(self.curls[self.rng.randrange(NCURL)])
        mm = self.mimes[k]
        if what == "part":
            p = mm.addpart()
            p.name("f")
            p.data(b"x" * self.rng.randrange(0, 3000))
        elif what == "part_bad":
            p = mm.addpart()
            self.pick([lambda: p.name(5), lambda: p.data(None), lambda: p.filedata("/nonexistent/x"),
                       lambda: p.subparts("x"), lambda: p.type(b"\xff"), lambda: p.headers("x")])()
        elif what == "attach":
            self.curls[self.rng.randrange(NCURL)].setopt(pycurl.MIMEPOST, mm)
        elif what == "unset":
            self.curls[self.rng.randrange(NCURL)].unsetopt(pycurl.MIMEPOST)
        elif what == "close":
            mm.close()
        elif what == "drop":
            self.mimes[k] = None
            gc.collect()
        return f"ok {what}"

    OPS = [
        ("curl_new", NCURL, 3), ("curl_url", NCURL, 6), ("curl_badsetopt", NCURL, 3),
        ("curl_cb", NCURL, 6), ("curl_perform", NCURL, 6), ("curl_info", NCURL, 3),
        ("curl_misc", NCURL, 4), ("multi_new", NMULTI, 2), ("multi_add", NMULTI, 6),
        ("multi_remove", NMULTI, 3), ("multi_perform", NMULTI, 4), ("multi_socket", NMULTI, 4),
        ("multi_misc", NMULTI, 2), ("share", NSHARE, 3), ("mime", NMIME, 3),
    ]

    def step(self, n: int) -> str:
        names = [o for o, _, w in self.OPS for _ in range(w)]
        name = self.pick(names)
        slots = dict((o, s) for o, s, _ in self.OPS)[name]
        idx = self.rng.randrange(slots)
        # an empty slot gets a fresh object first, so most steps do something
        if name.startswith("curl_") and self.curls[idx] is None:
            self.op_curl_new(idx)
        if name.startswith("multi_") and self.multis[idx] is None:
            self.op_multi_new(idx)
        try:
            res = getattr(self, "op_" + name)(idx)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            res = outcome(e) + self.flush_seen()
        # ports differ from run to run; the rest of a message must not
        res = res.replace(self.base, "BASE").replace(f":{self.refused}", ":RPORT")
        return f"{n} {name}[{idx}] -> {res}"

    def teardown(self):
        for m in self.multis:
            if m is not None:
                for c in list(m._chaos_handles):
                    try:
                        m.remove_handle(c)
                    except Exception:  # noqa: BLE001 - closed or already gone
                        pass
        self.curls = self.multis = self.shares = self.mimes = []
        gc.collect()


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=300, help="steps per seed")
    ap.add_argument("--seeds", type=int, default=1, help="run seeds seed..seed+N-1")
    ap.add_argument("--seconds", type=float, default=0, help="keep cycling seeds this long")
    ap.add_argument("--quiet", action="store_true", help="print only the resource lines")
    ap.add_argument("--out", default="-", help="write the record here (a reset handle writes bodies to stdout)")
    ap.add_argument("--every", type=int, default=10, help="resource line every N seeds (with --quiet)")
    a = ap.parse_args(argv)
    out = sys.stdout if a.out == "-" else open(a.out, "w")
    srv = servers.start_server()
    lsock, refused = servers.refused_port()
    trace = os.environ.get("CHAOS_TRACEMALLOC") == "1"
    if trace:
        tracemalloc.start()
    start = time.monotonic()
    seed, done = a.seed, 0
    while True:
        d = Driver(seed, srv.base, refused)
        for n in range(a.steps):
            line = d.step(n)
            if not a.quiet:
                print(f"seed {seed} {line}", file=out, flush=True)
        d.teardown()
        done += 1
        seed += 1
        if a.seconds:
            if time.monotonic() - start >= a.seconds:
                break
        elif done >= a.seeds:
            break
        if a.quiet and done % a.every == 0:
            # the server keeps every request it saw: not ours to count
            with srv._lock:
                srv.requests.clear()
                srv.peers.clear()
            gc.collect()
            tm = tracemalloc.get_traced_memory()[0] if trace else -1
            print(f"resources seeds={done} rss_kb={rss_kb()} fds={len(os.listdir('/proc/self/fd'))} "
                  f"traced={tm} t={time.monotonic() - start:.0f}", file=out, flush=True)
    srv.stop()
    lsock.close()
    print(f"done seeds={done}", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
