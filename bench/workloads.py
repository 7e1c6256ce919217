"""Benchmark workloads for bench/run.

Each workload runs in a fresh interpreter (real pycurl's or ours), drives
`import pycurl` against the loopback nginx that bench/run started, and prints
exactly one JSON line on stdout, e.g.

    {"workload": "easy", "ops_per_s": 8123.4, "seconds": 0.61, "n": 5000,
     "peak_rss_kb": 23456, "pycurl": "PycURL/7.49.0 libcurl/8.23.0 ..."}

Usage:  python bench/workloads.py WORKLOAD --base http://127.0.0.1:PORT
            [--tls-base https://127.0.0.1:PORT --cainfo ca.pem] [-n N]

Only the standard library and pycurl are used, so the same file runs under
both interpreters.  Every loop is bounded by a deadline: a stuck transfer
ends the run with an error line instead of hanging the harness.
"""

import argparse
import asyncio
import gc
import json
import resource
import selectors
import sys
import time

import pycurl

DEADLINE_S = 300.0
TINY_BYTES = 100    # sizes of the files bench/run writes
SMALL_BYTES = 1024
MID_BYTES = 65536


class Stuck(Exception):
    pass


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field + " missing from /proc/self/status")


def reset_peak_rss():
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0); harmless if refused.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


class Sink:
    """WRITEFUNCTION target that only counts bytes (the same cost for both)."""

    __slots__ = ("nbytes",)

    def __init__(self):
        self.nbytes = 0

    def write(self, data):
        self.nbytes += len(data)


def new_handle(url, sink, cainfo=None, pipewait=False):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, sink.write)
    c.setopt(pycurl.NOSIGNAL, 1)
    if cainfo:
        c.setopt(pycurl.CAINFO, cainfo)
    if pipewait:
        # Wait for the connection being set up instead of opening another: one h2 connection.
        c.setopt(pycurl.PIPEWAIT, 1)
    return c


def check_bytes(got, n, size):
    if got != n * size:
        raise RuntimeError("received %d body bytes for %d x %d" % (got, n, size))


def check_status(c, url):
    code = c.getinfo(pycurl.RESPONSE_CODE)
    if code != 200:
        raise RuntimeError("%s answered %s" % (url, code))


HTTP_VERSIONS = {1: "HTTP/1.0", 2: "HTTP/1.1", 3: "HTTP/2", 30: "HTTP/3"}


def http_version(c):
    """The protocol the last transfer used, as the table's note shows it."""
    try:
        return HTTP_VERSIONS.get(c.getinfo(pycurl.INFO_HTTP_VERSION), "?")
    except Exception:  # a build without this info must still report its numbers
        return "?"


# -- easy: one reused handle, sequential perform() ---------------------------

def run_easy(url, n, size, cainfo=None):
    sink = Sink()
    c = new_handle(url, sink, cainfo)
    for _ in range(min(50, n)):  # warm up: connection, TLS, caches
        c.perform()
    check_status(c, url)
    sink.nbytes = 0
    t0 = time.perf_counter()
    for _ in range(n):
        c.perform()
    dt = time.perf_counter() - t0
    check_status(c, url)
    check_bytes(sink.nbytes, n, size)
    proto = http_version(c)
    c.close()
    return {"ops_per_s": n / dt, "seconds": dt, "n": n, "bytes": sink.nbytes, "mode": proto}


# -- multi: perform()/select() loop over reused handles ----------------------

class Refill:
    """Hands out N transfers over a fixed set of handles, re-adding each
    handle to the multi as soon as its previous transfer finished."""

    def __init__(self, m, handles, n):
        self.m, self.n = m, n
        self.started = self.done = 0
        for c in handles:
            if self.started < n:
                m.add_handle(c)
                self.started += 1

    def drain(self):
        """Collect finished transfers; return True if any handle was re-added."""
        readded = False
        while True:
            queued, ok, failed = self.m.info_read()
            for c in ok:
                self.m.remove_handle(c)
                self.done += 1
                if self.started < self.n:
                    self.m.add_handle(c)
                    self.started += 1
                    readded = True
            if failed:
                c, errno, msg = failed[0]
                raise RuntimeError("transfer failed: %s %s" % (errno, msg))
            if not queued:
                return readded


def multi_handles(url, conns, cainfo, pipewait=False):
    sink = Sink()
    return sink, [new_handle(url, sink, cainfo, pipewait) for _ in range(conns)]


def drive_perform_select(m, refill, deadline):
    while True:
        while True:
            ret, _running = m.perform()
            if ret != pycurl.E_CALL_MULTI_PERFORM:
                break
        readded = refill.drain()
        if refill.done >= refill.n:
            return
        if time.perf_counter() > deadline:
            raise Stuck("multi loop passed its deadline at %d/%d" % (refill.done, refill.n))
        if readded:
            continue  # let perform() start the re-added transfers first
        t = m.timeout()
        if t == 0:
            continue
        m.select(1.0 if t < 0 else min(t / 1000.0, 1.0))


def run_multi(url, n, size, conns, cainfo=None, pipewait=False):
    sink, handles = multi_handles(url, conns, cainfo, pipewait)
    m = pycurl.CurlMulti()
    # warm up: open every connection once
    warm = Refill(m, handles, conns)
    drive_perform_select(m, warm, time.perf_counter() + 60)
    for c in handles:
        check_status(c, url)
    opened = sum(c.getinfo(pycurl.NUM_CONNECTS) for c in handles)
    sink.nbytes = 0
    t0 = time.perf_counter()
    refill = Refill(m, handles, n)
    drive_perform_select(m, refill, t0 + DEADLINE_S)
    dt = time.perf_counter() - t0
    check_bytes(sink.nbytes, n, size)
    proto = http_version(handles[0])
    if pipewait:
        proto += ", %d connection%s" % (opened, "" if opened == 1 else "s")
    for c in handles:
        c.close()
    m.close()
    return {"ops_per_s": n / dt, "seconds": dt, "n": n, "conns": conns, "bytes": sink.nbytes,
            "mode": proto}


# -- h2_streams: 1,000 concurrent streams on one h2 connection ---------------

def run_h2_streams(url, batches, size, streams, cainfo):
    """`streams` handles added at once, all streams of one connection; `batches` timed rounds
    after a warm-up one (which opens the connection)."""
    raise_nofile(streams + 256)
    sink, handles = multi_handles(url, streams, cainfo, pipewait=True)
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_MAX_CONCURRENT_STREAMS, streams)
    gc.collect()
    base = status_kb("VmRSS")
    drive_perform_select(m, Refill(m, handles, streams), time.perf_counter() + 60)
    for c in handles:
        check_status(c, url)
    opened = sum(c.getinfo(pycurl.NUM_CONNECTS) for c in handles)
    sink.nbytes = 0
    t0 = time.perf_counter()
    for _ in range(batches):
        drive_perform_select(m, Refill(m, handles, streams), t0 + DEADLINE_S)
    dt = time.perf_counter() - t0
    n = batches * streams
    check_bytes(sink.nbytes, n, size)
    ports = {c.getinfo(pycurl.LOCAL_PORT) for c in handles}
    proto = "%s, %d connection%s opened, %d in use at the end" % (
        http_version(handles[0]), opened, "" if opened == 1 else "s", len(ports))
    peak = max(status_kb("VmHWM"), status_kb("VmRSS"))
    for c in handles:
        c.close()
    m.close()
    return {"ops_per_s": n / dt, "mb_per_s": sink.nbytes / 1e6 / dt, "seconds": dt, "n": n,
            "streams": streams, "bytes": sink.nbytes, "mode": proto,
            "rss_over_baseline_kb": peak - base}


# -- socket_action: M_SOCKETFUNCTION / M_TIMERFUNCTION + selectors -----------

class SelectorDriver:
    """The event loop a libcurl application writes around socket_action."""

    def __init__(self, m):
        self.m = m
        self.sel = selectors.DefaultSelector()
        self.timer_at = None  # perf_counter() deadline, None = no timer
        m.setopt(pycurl.M_SOCKETFUNCTION, self.on_socket)
        m.setopt(pycurl.M_TIMERFUNCTION, self.on_timer)

    def on_socket(self, what, fd, multi, socketp):
        if what == pycurl.POLL_REMOVE:
            try:
                self.sel.unregister(fd)
            except (KeyError, ValueError):
                pass
            return
        events = 0
        if what & pycurl.POLL_IN:
            events |= selectors.EVENT_READ
        if what & pycurl.POLL_OUT:
            events |= selectors.EVENT_WRITE
        try:
            self.sel.modify(fd, events)
        except KeyError:
            self.sel.register(fd, events)

    def on_timer(self, timeout_ms):
        self.timer_at = None if timeout_ms < 0 else time.perf_counter() + timeout_ms / 1000.0

    def run(self, refill, deadline):
        m = self.m
        m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        while refill.done < refill.n:
            now = time.perf_counter()
            if now > deadline:
                raise Stuck("socket_action loop passed its deadline at %d/%d"
                            % (refill.done, refill.n))
            if self.timer_at is None:
                wait = 1.0
            else:
                wait = max(0.0, min(self.timer_at - now, 1.0))
            ready = self.sel.select(wait) if self.sel.get_map() else (time.sleep(wait) or [])
            for key, mask in ready:
                flags = 0
                if mask & selectors.EVENT_READ:
                    flags |= pycurl.CSELECT_IN
                if mask & selectors.EVENT_WRITE:
                    flags |= pycurl.CSELECT_OUT
                m.socket_action(key.fd, flags)
            if self.timer_at is not None and time.perf_counter() >= self.timer_at:
                self.timer_at = None
                m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
            refill.drain()  # re-added handles arm the timer (0 ms): next pass kicks them

    def close(self):
        self.sel.close()


def run_socket_action(url, n, size, conns, cainfo=None):
    sink, handles = multi_handles(url, conns, cainfo)
    m = pycurl.CurlMulti()
    drv = SelectorDriver(m)
    drv.run(Refill(m, handles, conns), time.perf_counter() + 60)
    for c in handles:
        check_status(c, url)
    sink.nbytes = 0
    t0 = time.perf_counter()
    drv.run(Refill(m, handles, n), t0 + DEADLINE_S)
    dt = time.perf_counter() - t0
    check_bytes(sink.nbytes, n, size)
    for c in handles:
        c.close()
    m.close()
    drv.close()
    return {"ops_per_s": n / dt, "seconds": dt, "n": n, "conns": conns, "bytes": sink.nbytes}


# -- download: one large body through WRITEFUNCTION --------------------------

def run_download(url, expect_bytes, repeats=3):
    """One untimed download to warm up, then `repeats` timed ones on the same
    handle; a single 100 MiB transfer lasts tens of ms here, so the median of
    a few is far steadier than one."""
    sink = Sink()
    c = new_handle(url, sink)
    times = []
    for i in range(repeats + 1):
        sink.nbytes = 0
        t0 = time.perf_counter()
        c.perform()
        dt = time.perf_counter() - t0
        check_status(c, url)
        if expect_bytes and sink.nbytes != expect_bytes:
            raise RuntimeError("got %d bytes, expected %d" % (sink.nbytes, expect_bytes))
        if i:
            times.append(dt)
    c.close()
    dt = sorted(times)[len(times) // 2]
    return {"mb_per_s": sink.nbytes / 1e6 / dt, "seconds": dt, "bytes": sink.nbytes,
            "timed_downloads": repeats}


# -- asyncio: pycurl.AsyncCurlMulti -------------------------------------------
#
# 50 tasks, one handle each, loop on `await multi.perform(curl)` until N
# transfers are done.  Modules without AsyncCurlMulti are skipped.

async def _asyncio_main(url, n, size, conns):
    sink, handles = multi_handles(url, conns, None)
    remaining = [0]
    async with pycurl.AsyncCurlMulti() as m:
        async def worker(c):
            while remaining[0] > 0:
                remaining[0] -= 1
                await m.perform(c)

        remaining[0] = conns  # warm-up: one transfer per handle
        await asyncio.wait_for(asyncio.gather(*(worker(c) for c in handles)), 60)
        for c in handles:
            check_status(c, url)
        sink.nbytes = 0
        remaining[0] = n
        t0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker(c) for c in handles)), DEADLINE_S)
        dt = time.perf_counter() - t0
    check_bytes(sink.nbytes, n, size)
    for c in handles:
        c.close()
    return {"ops_per_s": n / dt, "seconds": dt, "n": n, "conns": conns, "bytes": sink.nbytes}


def run_asyncio(url, n, size, conns):
    if not hasattr(pycurl, "AsyncCurlMulti"):
        return {"skipped": "this pycurl has no AsyncCurlMulti"}
    return asyncio.run(_asyncio_main(url, n, size, conns))


# -- memory --------------------------------------------------------------------

def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def run_memory_idle(url, count):
    sink = Sink()
    warm = [new_handle(url, sink) for _ in range(10)]  # load lazily-initialised state
    del warm
    gc.collect()
    base = status_kb("VmRSS")
    reset_peak_rss()
    handles = [new_handle(url, sink) for _ in range(count)]
    gc.collect()
    peak = max(status_kb("VmHWM"), status_kb("VmRSS"))
    kb = peak - base
    for c in handles:
        c.close()
    return {"kb_per_handle": kb / count, "kb_total": kb, "count": count, "baseline_kb": base}


def run_memory_inflight(url, count):
    """`count` transfers of a rate-limited body, all started and receiving,
    in one multi; peak RSS over baseline while they are in flight."""
    raise_nofile(count + 256)
    sinks = [Sink() for _ in range(count)]
    gc.collect()
    base = status_kb("VmRSS")
    reset_peak_rss()
    m = pycurl.CurlMulti()
    handles = [new_handle(url, s) for s in sinks]
    for c in handles:
        m.add_handle(c)
    deadline = time.perf_counter() + 60
    receiving = 0
    while True:
        while True:
            ret, running = m.perform()
            if ret != pycurl.E_CALL_MULTI_PERFORM:
                break
        _q, _ok, failed = m.info_read()
        if failed:
            raise RuntimeError("transfer failed: %s %s" % (failed[0][1], failed[0][2]))
        receiving = sum(1 for s in sinks if s.nbytes > 0)
        if receiving >= count:
            break
        if time.perf_counter() > deadline:
            raise Stuck("only %d/%d transfers started receiving" % (receiving, count))
        time.sleep(0.01)
    # keep them going a little so buffers reach their steady size
    t_end = time.perf_counter() + 0.5
    while time.perf_counter() < t_end:
        m.perform()
        time.sleep(0.01)
    peak = max(status_kb("VmHWM"), status_kb("VmRSS"))
    kb = peak - base
    for c in handles:
        m.remove_handle(c)
        c.close()
    m.close()
    return {"kb_per_transfer": kb / count, "kb_total": kb, "count": count,
            "baseline_kb": base, "in_flight": receiving, "peak_mb": peak / 1024}


# -----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload")
    ap.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--tls-base", help="https://127.0.0.1:PORT")
    ap.add_argument("--cainfo")
    ap.add_argument("-n", type=int, default=0, help="requests (or handles for memory)")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--big-bytes", type=int, default=0)
    a = ap.parse_args()

    tiny = a.base + "/tiny.bin"
    small = a.base + "/small.bin"
    w = a.workload
    if w == "easy":
        r = run_easy(tiny, a.n or 5000, TINY_BYTES)
    elif w == "multi":
        r = run_multi(small, a.n or 20000, SMALL_BYTES, a.conns)
    elif w == "socket_action":
        r = run_socket_action(small, a.n or 20000, SMALL_BYTES, a.conns)
    elif w == "download":
        r = run_download(a.base + "/big.bin", a.big_bytes)
    elif w == "https_easy":
        r = run_easy(a.tls_base + "/tiny.bin", a.n or 2000, TINY_BYTES, a.cainfo)
    elif w == "https_multi":
        r = run_multi(a.tls_base + "/small.bin", a.n or 20000, SMALL_BYTES, a.conns, a.cainfo, pipewait=True)
    elif w == "h2_streams":
        r = run_h2_streams(a.tls_base + "/mid.bin", a.n or 5, MID_BYTES, 1000, a.cainfo)
    elif w == "asyncio":
        r = run_asyncio(small, a.n or 20000, SMALL_BYTES, a.conns)
    elif w == "memory_idle":
        r = run_memory_idle(tiny, a.n or 1000)
    elif w == "memory_inflight":
        r = run_memory_inflight(a.base + "/slow/big.bin", a.n or 1000)
    elif w == "memory_10k":
        r = run_memory_inflight(a.base + "/slow/big.bin", a.n or 10000)
    else:
        ap.error("unknown workload " + w)
    r["workload"] = w
    r["peak_rss_kb"] = peak_rss_kb()
    r["pycurl"] = getattr(pycurl, "version", "?")
    r["python"] = sys.version.split()[0]
    print(json.dumps(r))


if __name__ == "__main__":
    main()
