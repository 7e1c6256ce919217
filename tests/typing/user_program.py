"""A realistic pycurl program, type-checked with mypy --strict against pycurl-rs's stubs
(tests/test_stubs.py runs it; it is never executed). It must give no errors.

CurlShare and the mime API (Curl.mime_init, CurlMime) are not in pycurl-rs yet, so this
program does not use them: the stubs only describe what the module really has.
"""

from __future__ import annotations

import asyncio
import io
import select
from typing import Any, Dict, List, Optional, Tuple

import pycurl
from pycurl import AsyncCurlMulti, Curl, CurlMulti


def fetch(url: str, cainfo: Optional[str] = None) -> Tuple[int, bytes]:
    buf = io.BytesIO()
    headers: List[bytes] = []
    c = pycurl.Curl()
    c.setopt(c.URL, url)  # instance constants, as in pycurl's own examples
    c.setopt(pycurl.WRITEDATA, buf)
    c.setopt(pycurl.HEADERFUNCTION, headers.append)
    c.setopt(pycurl.FOLLOWLOCATION, True)
    c.setopt(pycurl.HTTPHEADER, ["Accept: */*", "X-Trace: 1"])
    c.setopt(pycurl.TIMEOUT_MS, 5000)
    if cainfo is not None:
        c.setopt(pycurl.CAINFO, cainfo)
    try:
        c.perform()
    except pycurl.error as e:
        code, message = e.args
        raise RuntimeError(f"{url}: curl error {code}: {message} ({c.errstr()})") from e
    status: int = c.getinfo(pycurl.RESPONSE_CODE)
    total: float = c.getinfo(pycurl.TOTAL_TIME)
    print(f"{url}: {status} in {total:.3f}s, {len(headers)} header lines")
    c.close()
    return status, buf.getvalue()


def post_json(url: str, body: bytes) -> str:
    with Curl() as c:
        c.setopt(pycurl.URL, url)
        c.setopt(pycurl.POSTFIELDS, body)
        c.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json"])
        text = c.perform_rs()
        if c.closed:
            raise AssertionError("closed inside its with block")
        return text


def progress(dltotal: int, dlnow: int, ultotal: int, ulnow: int) -> int:
    return 0 if dltotal == 0 or dlnow <= dltotal else 1


def fetch_many(urls: List[str]) -> Dict[str, int]:
    m = CurlMulti()
    m.setopt(pycurl.M_MAX_HOST_CONNECTIONS, 4)
    handles: Dict[Curl, str] = {}
    for url in urls:
        c = Curl()
        c.setopt(pycurl.URL, url)
        c.setopt(pycurl.WRITEFUNCTION, lambda data: None)
        c.setopt(pycurl.NOPROGRESS, False)
        c.setopt(pycurl.XFERINFOFUNCTION, progress)
        m.add_handle(c)
        handles[c] = url
    result: Dict[str, int] = {}
    running = len(handles)
    while running:
        ret, running = m.perform()
        while ret == pycurl.E_CALL_MULTI_PERFORM:
            ret, running = m.perform()
        if running and m.select(1.0) == -1:
            continue
        while True:
            queued, ok, failed = m.info_read()
            for c in ok:
                result[handles[c]] = c.getinfo(pycurl.RESPONSE_CODE)
            for c, errno, errmsg in failed:
                print(f"{handles[c]}: {errno} {errmsg}")
                result[handles[c]] = -errno
            if queued == 0:
                break
    for c in handles:
        m.remove_handle(c)
        c.close()
    m.close()
    return result


class SocketLoop:
    """The socket_action interface driven by select.poll, as an event loop would."""

    def __init__(self) -> None:
        self.multi = CurlMulti()
        self.poll = select.poll()
        self.timeout_ms: Optional[int] = None
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self.on_socket)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self.on_timer)

    def on_socket(self, event: int, fd: int, multi: CurlMulti, data: Any) -> None:
        if event == pycurl.POLL_REMOVE:
            self.poll.unregister(fd)
            return
        mask = 0
        if event in (pycurl.POLL_IN, pycurl.POLL_INOUT):
            mask |= select.POLLIN
        if event in (pycurl.POLL_OUT, pycurl.POLL_INOUT):
            mask |= select.POLLOUT
        self.poll.register(fd, mask)
        multi.assign(fd, {"fd": fd})

    def on_timer(self, timeout_ms: int) -> None:
        self.timeout_ms = None if timeout_ms < 0 else timeout_ms

    def run(self, curls: List[Curl]) -> List[Tuple[Curl, int, str]]:
        for c in curls:
            self.multi.add_handle(c)
        _, running = self.multi.socket_action(pycurl.SOCKET_TIMEOUT, 0)
        while running:
            events = self.poll.poll(self.timeout_ms if self.timeout_ms is not None else 1000)
            if not events:
                _, running = self.multi.socket_action(pycurl.SOCKET_TIMEOUT, 0)
            for fd, ev in events:
                bitmask = 0
                if ev & select.POLLIN:
                    bitmask |= pycurl.CSELECT_IN
                if ev & select.POLLOUT:
                    bitmask |= pycurl.CSELECT_OUT
                _, running = self.multi.socket_action(fd, bitmask)
        _, _, failed = self.multi.info_read()
        return failed


async def fetch_async(urls: List[str]) -> List[int]:
    async with AsyncCurlMulti() as multi:
        curls = []
        for url in urls:
            c = Curl()
            c.setopt(pycurl.URL, url)
            c.setopt(pycurl.WRITEFUNCTION, len)
            curls.append(c)
        done = await asyncio.gather(*(multi.perform(c) for c in curls))
        codes: List[int] = [c.getinfo(pycurl.RESPONSE_CODE) for c in done]
        fut = multi.add_handle(Curl())
        fut.cancel()
        return codes


def module_info() -> str:
    info = pycurl.version_info()
    protocols = ",".join(info[8])
    return f"{pycurl.version} ({protocols}); {pycurl.easy_strerror(pycurl.E_COULDNT_CONNECT)}"


if __name__ == "__main__":
    print(module_info())
    print(fetch("http://127.0.0.1:8000/"))
    print(fetch_many(["http://127.0.0.1:8000/a", "http://127.0.0.1:8000/b"]))
    print(asyncio.run(fetch_async(["http://127.0.0.1:8000/"])))
    print(post_json("http://127.0.0.1:8000/", b"{}"))
