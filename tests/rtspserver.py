"""A scripted RTSP server on loopback for test_rtsp: it reads requests (head and any body) on a
connection and answers each with the next response of its script, a function of the request
(bytes of the whole response, optionally followed by interleaved "$" frames). Requests are
recorded."""

import time

from helpers import LoopbackServer


def frame(channel, data):
    return b"$" + bytes([channel]) + len(data).to_bytes(2, "big") + data


class RtspServer(LoopbackServer):
    scheme = "rtsp"

    def __init__(self, answer):
        # answer(request_head: bytes, body: bytes) -> bytes to send back (b"" closes), or a pair
        # (bytes now, bytes 0.2 s later).
        self.answer = answer
        self.requests = []
        self.connections = 0
        super().__init__()

    def _accepted(self, conn):
        self.connections += 1
        return ()

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
