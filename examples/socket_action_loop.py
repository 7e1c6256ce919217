"""Drive pycurl.CurlMulti from a small event loop built on ``selectors``.

    python examples/socket_action_loop.py URL [URL ...]

fetches the URLs concurrently and prints one line per finished transfer:

    200 http://127.0.0.1:8000/hello
    error 7 Failed to connect to ... http://127.0.0.1:1/

followed by ``done: N transfers``.  Without URLs it starts a tiny HTTP
server on 127.0.0.1 and fetches a few pages from it.

How the pieces fit together:

* libcurl tells us which sockets to watch through M_SOCKETFUNCTION
  (POLL_IN / POLL_OUT / POLL_INOUT, or POLL_REMOVE to stop watching).  We
  mirror that into a selector.
* libcurl tells us when it wants to be called back even if no socket is
  ready through M_TIMERFUNCTION (milliseconds, -1 = no timer).  We keep one
  deadline.
* Whenever a socket is ready we call ``socket_action(fd, CSELECT_...)``;
  when the deadline passes we call ``socket_action(SOCKET_TIMEOUT, 0)``.
  Neither is called from inside the callbacks themselves.
* Finished transfers are collected with ``info_read()``.
"""

import http.server
import selectors
import sys
import threading
import time

import pycurl


class EventLoop:
    def __init__(self):
        self.multi = pycurl.CurlMulti()
        self.selector = selectors.DefaultSelector()
        self.watched = set()
        self.deadline = None  # monotonic time at which libcurl wants a timeout call
        self.running = 0
        self.urls = {}  # id(curl) -> url
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self.on_socket)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self.on_timer)

    # -- callbacks: only bookkeeping, no calls back into the multi ----------

    def on_socket(self, what, fd, multi, socketp):
        if what == pycurl.POLL_REMOVE:
            if fd in self.watched:
                self.selector.unregister(fd)
                self.watched.discard(fd)
            return
        events = 0
        if what & pycurl.POLL_IN:
            events |= selectors.EVENT_READ
        if what & pycurl.POLL_OUT:
            events |= selectors.EVENT_WRITE
        if fd in self.watched:
            self.selector.modify(fd, events)
        else:
            self.selector.register(fd, events)
            self.watched.add(fd)

    def on_timer(self, timeout_ms):
        if timeout_ms < 0:
            self.deadline = None
        else:
            self.deadline = time.monotonic() + timeout_ms / 1000.0

    # -- the loop ----------------------------------------------------------

    def add(self, url):
        curl = pycurl.Curl()
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.WRITEFUNCTION, lambda data: None)  # discard bodies
        curl.setopt(pycurl.FOLLOWLOCATION, True)
        self.urls[id(curl)] = url
        self.multi.add_handle(curl)  # the multi keeps the handle alive
        self.running += 1

    def action(self, fd, event_mask):
        _, self.running = self.multi.socket_action(fd, event_mask)
        self.report()

    def report(self):
        while True:
            queued, ok, failed = self.multi.info_read()
            for curl in ok:
                print(curl.getinfo(pycurl.RESPONSE_CODE), self.urls[id(curl)], flush=True)
                self.finish(curl)
            for curl, errno, message in failed:
                print("error", errno, message, self.urls[id(curl)], flush=True)
                self.finish(curl)
            if not queued:
                return

    def finish(self, curl):
        self.multi.remove_handle(curl)
        del self.urls[id(curl)]
        curl.close()
        self.finished += 1

    def run(self):
        self.finished = 0
        while self.running:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.deadline = None
                self.action(pycurl.SOCKET_TIMEOUT, 0)
                continue
            wait = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            for key, mask in self.selector.select(wait):
                flags = 0
                if mask & selectors.EVENT_READ:
                    flags |= pycurl.CSELECT_IN
                if mask & selectors.EVENT_WRITE:
                    flags |= pycurl.CSELECT_OUT
                self.action(key.fd, flags)
        self.report()
        return self.finished

    def close(self):
        self.multi.close()
        self.selector.close()


class DemoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        code = 404 if self.path.startswith("/missing") else 200
        body = ("%s\n" % self.path).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(argv):
    urls = argv[1:]
    server = None
    if not urls:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DemoHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = "http://127.0.0.1:%d" % server.server_address[1]
        urls = [base + "/one", base + "/two", base + "/three", base + "/missing"]
    loop = EventLoop()
    for url in urls:
        loop.add(url)
    count = loop.run()
    loop.close()
    print("done: %d transfers" % count)
    if server is not None:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
