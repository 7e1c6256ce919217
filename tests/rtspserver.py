"""A scripted RTSP server on loopback for test_rtsp: it reads requests (head and any body) on a
connection and answers each with the next response of its script, a function of the request
(bytes of the whole response, optionally followed by interleaved "$" frames). Requests are
recorded."""

import socket
import threading
import time


def frame(channel, data):
    return b"$" + bytes([channel]) + len(data).to_bytes(2, "big") + data


class RtspServer:
    def __init__(self, answer):
        # answer(request_head: bytes, body: bytes) -> bytes to send back (b"" closes), or a pair
        # (bytes now, bytes 0.2 s later).
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def url(self, path=""):
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def stop(self):
        self._stop = True
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self._thread.join(5)
        self.sock.close()

    def _accept_loop(self):
        while True:
            conn, _ = self.sock.accept()
            if self._stop:
                conn.close()
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(10)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                head += b"\r\n\r\n"
                n = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":", 1)[1])
                while len(buf) < n:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:n], buf[n:]
                self.requests.append((head, body))
                out = self.answer(head, body)
                if not out:
                    return
                later = b""
                if isinstance(out, tuple):
                    out, later = out
                conn.sendall(out)
                if later:
                    time.sleep(0.2)
                    conn.sendall(later)
        except OSError:
            pass
        finally:
            conn.close()


def cseq(head):
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"cseq:"):
            return int(line.split(b":", 1)[1])
    return None
