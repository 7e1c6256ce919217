"""A small gopher server of ours on loopback (RFC 1436): it reads one selector line, records it and
answers from a table (a menu, a text file, a search that echoes its query), then closes. With an
SSL context it serves gophers:// (TLS from the first byte), ending with close_notify unless told
not to."""

import socket
import threading

HOST = "127.0.0.1"

MENU = (
    b"iWelcome to the test hole\tfake\t(NULL)\t0\r\n"
    b"0About this server\t/about.txt\t127.0.0.1\t70\r\n"
    b"7Search the fruits\t/search\t127.0.0.1\t70\r\n"
    b".\r\n"
)
ABOUT = b"This is a plain text file.\r\nIt has two lines.\r\n"


def answer(selector):
    if selector in (b"", b"/"):
        return MENU
    if selector == b"/about.txt":
        return ABOUT
    if selector.startswith(b"/search\t"):
        query = selector.split(b"\t", 1)[1]
        return b"0Result for " + query + b"\t/r\t127.0.0.1\t70\r\n.\r\n"
    return b"3'" + selector + b"' does not exist\t\terror.host\t1\r\n.\r\n"


class GopherServer:
    def __init__(self, ssl_context=None, close_notify=True):
        self.close_notify = close_notify
        self.listener = socket.socket()
        self.listener.bind((HOST, 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.ctx = ssl_context
        self.selectors = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            if self.ctx is not None:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            conn.settimeout(5)
            data = b""
            while b"\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            selector = data.split(b"\r\n", 1)[0]
            self.selectors.append(selector)
            conn.sendall(answer(selector))
            if self.ctx is not None and self.close_notify:
                conn = conn.unwrap()
        except OSError:
            pass
        finally:
            conn.close()

    def url(self, path="/", scheme="gopher"):
        return f"{scheme}://{HOST}:{self.port}{path}"

    def stop(self):
        self.listener.close()
