#!/usr/bin/env python3
"""Soak: many transfers on loopback, printing RSS and open fds as they go (nothing may grow).

    .venv/bin/python scripts/soak.py                     # every mode, 300k transfers each, <= 120 s each
    .venv/bin/python scripts/soak.py easy refused -n 1000000 --every 100000 --seconds 600

Modes: easy (one reused Curl), multi (a CurlMulti perform/select loop, one reused Curl),
socket_action (an M_SOCKETFUNCTION/M_TIMERFUNCTION loop over select.poll), refused (a reused Curl
against a port that refuses). The server runs in a child process, so the RSS shown is the client's.
Each mode stops after -n transfers or --seconds, whichever comes first; loopback only.
Works under real pycurl too (/tmp/ref/bin/python scripts/soak.py) for comparison.
"""
import argparse
import multiprocessing
import os
import select
import socket
import sys
import time

import pycurl

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def serve(lsock):
    """A keep-alive server answering every request with a 2-byte body (child process)."""
    poller = select.poll()
    poller.register(lsock, select.POLLIN)
    conns = {}
    while True:
        for fd, _ in poller.poll():
            if fd == lsock.fileno():
                s, _ = lsock.accept()
                conns[s.fileno()] = (s, bytearray())
                poller.register(s, select.POLLIN)
                continue
            s, buf = conns[fd]
            data = s.recv(65536)
            if not data:
                poller.unregister(fd)
                del conns[fd]
                s.close()
                continue
            buf += data
            while b"\r\n\r\n" in buf:
                del buf[: buf.index(b"\r\n\r\n") + 4]
                s.sendall(RESPONSE)


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def nfds():
    return len(os.listdir("/proc/self/fd"))


def handle(url):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    return c


def run_easy(url, step):
    c = handle(url)
    while True:
        for _ in range(step):
            c.perform()
        yield


def run_refused(url, step):
    c = handle(url)
    while True:
        for _ in range(step):
            try:
                c.perform()
            except pycurl.error as e:
                assert e.args[0] == pycurl.E_COULDNT_CONNECT, e.args
        yield


def run_multi(url, step):
    m = pycurl.CurlMulti()
    c = handle(url)
    while True:
        for _ in range(step):
            m.add_handle(c)
            running = 1
            while running:
                _, running = m.perform()
                if running:
                    m.select(1.0)
            _, ok, failed = m.info_read()
            assert ok == [c] and not failed, failed
            m.remove_handle(c)
        yield


def run_socket_action(url, step):
    m = pycurl.CurlMulti()
    poller = select.poll()
    watched = set()
    timer = [None]

    def on_socket(what, fd, multi, data):
        if what == pycurl.POLL_REMOVE:
            if fd in watched:
                poller.unregister(fd)
                watched.discard(fd)
            return
        mask = {pycurl.POLL_IN: select.POLLIN, pycurl.POLL_OUT: select.POLLOUT}.get(
            what, select.POLLIN | select.POLLOUT
        )
        if fd in watched:
            poller.modify(fd, mask)
        else:
            poller.register(fd, mask)
            watched.add(fd)

    def on_timer(ms):
        timer[0] = None if ms < 0 else ms

    m.setopt(pycurl.M_SOCKETFUNCTION, on_socket)
    m.setopt(pycurl.M_TIMERFUNCTION, on_timer)
    c = handle(url)
    while True:
        for _ in range(step):
            m.add_handle(c)
            running = 1
            while running:
                events = poller.poll(timer[0] if timer[0] is not None else 1000)
                if not events:
                    _, running = m.socket_action(pycurl.SOCKET_TIMEOUT, 0)
                for fd, ev in events:
                    mask = (pycurl.CSELECT_IN if ev & select.POLLIN else 0) | (
                        pycurl.CSELECT_OUT if ev & select.POLLOUT else 0
                    )
                    _, running = m.socket_action(fd, mask or pycurl.CSELECT_ERR)
            _, ok, failed = m.info_read()
            assert ok == [c] and not failed, failed
            m.remove_handle(c)
        yield


MODES = {"easy": run_easy, "multi": run_multi, "socket_action": run_socket_action, "refused": run_refused}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modes", nargs="*", help="any of: " + ", ".join(MODES) + " (default: all)")
    ap.add_argument("-n", "--transfers", type=int, default=300_000)
    ap.add_argument("--every", type=int, default=100_000, help="print a line every N transfers")
    ap.add_argument("--seconds", type=float, default=120.0, help="time limit per mode")
    args = ap.parse_args()
    args.modes = args.modes or list(MODES)
    unknown = set(args.modes) - set(MODES)
    if unknown:
        ap.error("unknown mode(s): " + ", ".join(sorted(unknown)))
    step = min(1000, args.every)

    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(128)
    port = lsock.getsockname()[1]
    child = multiprocessing.get_context("fork").Process(target=serve, args=(lsock,), daemon=True)
    child.start()
    lsock.close()
    # A bound socket that never listens: connects to it are refused.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_url = "http://127.0.0.1:%d/" % closed.getsockname()[1]
    url = "http://127.0.0.1:%d/" % port
    print(pycurl.version.split()[0], "pid", os.getpid(), flush=True)
    try:
        for mode in args.modes:
            gen = MODES[mode](refused_url if mode == "refused" else url, step)
            t0 = time.monotonic()
            done = 0
            print("%-13s %9s %9s %5s %7s" % ("mode", "transfers", "rss_kb", "fds", "secs"), flush=True)
            print("%-13s %9d %9d %5d %7.1f" % (mode, 0, rss_kb(), nfds(), 0.0), flush=True)
            while done < args.transfers and time.monotonic() - t0 < args.seconds:
                next(gen)
                done += step
                if done % args.every == 0:
                    print(
                        "%-13s %9d %9d %5d %7.1f" % (mode, done, rss_kb(), nfds(), time.monotonic() - t0),
                        flush=True,
                    )
            gen.close()
            if done % args.every:
                print("%-13s %9d %9d %5d %7.1f" % (mode, done, rss_kb(), nfds(), time.monotonic() - t0), flush=True)
    finally:
        child.kill()
        child.join()
        closed.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
