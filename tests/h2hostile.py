"""A hostile HTTP/2 server on hyper-h2 (the `h2` PyPI library, a real protocol implementation):
it refuses streams, sends GOAWAY and resets streams on cue, and records from its side what each
connection and stream saw and sent, so a test can check retries and flow control from the server.

Cues are in the request path:
  /refuse/<n>/<key>      the first n requests with this key get RST_STREAM(REFUSED_STREAM) once
                         their request (body included) has fully arrived, later ones are served
  /refuse-early/<n>/<key> the same, as soon as the request head arrives (an upload is still
                         going out, held by flow control)
  /goaway/<n>/<key>      the first n: GOAWAY whose last-stream-id is below this stream, then the
                         connection closes once the streams it still covers are answered
  /rst/<code>            RST_STREAM with that error code instead of a response
  /rst-mid/<code>        response head and 1,000 body bytes, then RST_STREAM with that code
                         (with ?nolen the head has no Content-Length)
  /big/<n>               n bytes of servers.pattern, sent only as the client's windows allow
  /slow/<n>              as /big, after a pause of 0.3 s (keeps a stream open meanwhile)
  /trickle/<n>           n bytes of servers.pattern, 1,000 every 20 ms (a stream that stays open)
  /close/<key>           echoed, then the connection closes at once (no GOAWAY, no close_notify)
  anything else          echoes "<method> <path> <request body>"
"""

import select
import socket
import ssl
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import hyperframe.frame

import servers


class _Stream:
    def __init__(self, sid, headers):
        self.sid = sid
        self.headers = dict(headers)
        self.body = b""
        self.out = None  # the response body, once the request has ended
        self.out_started = False
        self.not_before = 0.0
        self.piece = None  # at most this much per send, every 20 ms
        self.close_after = False  # close the connection once this response is out


class HostileH2:
    """Serves h2 on 127.0.0.1: over TLS with ALPN h2 when `certs` is given, else cleartext h2 by
    prior knowledge."""

    def __init__(self, certs=None):
        self.lock = threading.Lock()
        self.requests = []  # dicts: conn, sid, method, path, body, outcome
        self.sent = {}  # (conn, sid) -> DATA bytes sent so far
        self.client_window = {}  # conn -> the client's SETTINGS_INITIAL_WINDOW_SIZE
        self.close_conns = set()  # connections to close (a /close/ response went out)
        self.peak_window = {}  # (conn, sid) -> the largest send window the client gave the stream
        self.connections = 0
        self.cues = {}
        self.ctx = None
        if certs is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(certs.server_cert, certs.server_key)
            self.ctx.set_alpn_protocols(["h2"])
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def url(self, path):
        scheme = "https" if self.ctx else "http"
        host = "localhost" if self.ctx else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{path}"

    def stop(self):
        self.stopping = True
        self.sock.close()
        for t in self.threads:
            t.join(5)

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                n = self.connections
            t = threading.Thread(target=self._serve, args=(s, n), daemon=True)
            t.start()
            self.threads.append(t)

    def _take_cue(self, kind, count, key):
        with self.lock:
            used = self.cues.get((kind, key), 0)
            if used < count:
                self.cues[(kind, key)] = used + 1
                return True
            return False

    def _record(self, conn_no, st, outcome):
        with self.lock:
            self.requests.append({"conn": conn_no, "sid": st.sid, "method": st.headers.get(":method"),
                                  "path": st.headers.get(":path"), "body": st.body, "outcome": outcome})

    def _serve(self, s, conn_no):
        try:
            if self.ctx:
                s = self.ctx.wrap_socket(s, server_side=True)
            self._run(s, conn_no)
        except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass

    def _run(self, s, conn_no):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        s.sendall(conn.data_to_send())
        streams = {}
        goaway_last = None  # set once a GOAWAY went out: close when no covered stream is left
        while not self.stopping:
            data = b""
            # Blocking sends (the client's flow control bounds them); reads wait at most 10 ms.
            if (self.ctx and s.pending()) or select.select([s], [], [], 0.01)[0]:
                data = s.recv(65536)
                if not data:
                    return
            before = goaway_last
            for ev in conn.receive_data(data) if data else ():
                if isinstance(ev, h2.events.RemoteSettingsChanged):
                    with self.lock:
                        self.client_window[conn_no] = conn.remote_settings.initial_window_size
                elif isinstance(ev, h2.events.RequestReceived):
                    st = _Stream(ev.stream_id, ev.headers)
                    parts = st.headers.get(":path", "/").strip("/").split("/")
                    if parts[0] == "refuse-early" and self._take_cue("refuse", int(parts[1]), parts[2]):
                        conn.reset_stream(st.sid, error_code=7)
                        self._record(conn_no, st, "refused")
                    else:
                        streams[ev.stream_id] = st
                elif isinstance(ev, h2.events.DataReceived):
                    st = streams.get(ev.stream_id)
                    if st is not None:
                        st.body += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    st = streams.get(ev.stream_id)
                    if st is not None and goaway_last is not None and st.sid > goaway_last:
                        # Above the GOAWAY's last-stream-id: never processed.
                        streams.pop(st.sid)
                        self._record(conn_no, st, "ignored after goaway")
                    elif st is not None:
                        goaway_last = self._respond(conn, conn_no, st, streams, goaway_last)
                elif isinstance(ev, h2.events.StreamReset):
                    st = streams.pop(ev.stream_id, None)
                    if st is not None:
                        self._record(conn_no, st, "reset by client")
            self._pump(conn, conn_no, streams)
            out = conn.data_to_send()
            if goaway_last is not None and before is None:
                out += hyperframe.frame.GoAwayFrame(stream_id=0, last_stream_id=goaway_last, error_code=0).serialize()
            if out:
                s.sendall(out)
            if self._closing(conn_no):
                # Unannounced: the client finds out only when it reads the socket again.
                time.sleep(0.05)
                s.shutdown(socket.SHUT_RDWR)
                return
            if goaway_last is not None and not any(sid <= goaway_last for sid in streams):
                # Let the client read the GOAWAY before the close (no RST for unread data).
                time.sleep(0.1)
                try:
                    s.shutdown(socket.SHUT_WR)
                    while select.select([s], [], [], 0.2)[0] and s.recv(65536):
                        pass
                except OSError:
                    pass
                return

    def _closing(self, conn_no):
        with self.lock:
            return conn_no in self.close_conns

    def _respond(self, conn, conn_no, st, streams, goaway_last):
        path = st.headers.get(":path", "/")
        parts = path.split("?")[0].strip("/").split("/")
        kind = parts[0]
        if kind == "refuse" and self._take_cue("refuse", int(parts[1]), parts[2]):
            conn.reset_stream(st.sid, error_code=7)
            streams.pop(st.sid)
            self._record(conn_no, st, "refused")
            return goaway_last
        if kind == "goaway" and self._take_cue("goaway", int(parts[1]), parts[2]):
            # The GOAWAY goes out raw (see _run): hyper-h2 would stop serving the streams it covers.
            last = max(0, st.sid - 2)
            streams.pop(st.sid)
            self._record(conn_no, st, "goaway")
            return last
        if kind == "rst":
            conn.reset_stream(st.sid, error_code=int(parts[1]))
            streams.pop(st.sid)
            self._record(conn_no, st, "rst")
            return goaway_last
        if kind == "rst-mid":
            hdrs = [(":status", "200")] + ([] if "nolen" in path else [("content-length", "100000")])
            conn.send_headers(st.sid, hdrs)
            conn.send_data(st.sid, b"x" * 1000)
            conn.reset_stream(st.sid, error_code=int(parts[1]))
            streams.pop(st.sid)
            self._record(conn_no, st, "rst-mid")
            return goaway_last
        if kind in ("big", "slow", "trickle"):
            st.out = servers.pattern(int(parts[1]))
            if kind == "slow":
                st.not_before = time.time() + 0.3
            if kind == "trickle":
                st.piece = 1000
        else:
            st.out = st.headers.get(":method", "").encode() + b" " + path.encode() + b" " + st.body
            st.close_after = kind == "close"
        self._record(conn_no, st, "served")
        return goaway_last

    def _pump(self, conn, conn_no, streams):
        """Sends what the flow-control windows allow of every pending response."""
        now = time.time()
        for sid in list(streams):
            st = streams[sid]
            if st.out is None or st.not_before > now:
                continue
            if not st.out_started:
                conn.send_headers(sid, [(":status", "200"), ("content-length", str(len(st.out))),
                                        ("x-served-by", "hostile")])
                st.out_started = True
            while st.out:
                granted = conn.local_flow_control_window(sid)
                with self.lock:
                    self.peak_window[(conn_no, sid)] = max(granted, self.peak_window.get((conn_no, sid), 0))
                window = min(granted, conn.max_outbound_frame_size)
                if st.piece is not None:
                    if st.not_before > now:
                        break
                    window = min(window, st.piece)
                    st.not_before = now + 0.02
                if window <= 0:
                    break
                piece, st.out = st.out[:window], st.out[window:]
                conn.send_data(sid, piece)
                with self.lock:
                    self.sent[(conn_no, sid)] = self.sent.get((conn_no, sid), 0) + len(piece)
            if not st.out and st.out_started:
                conn.end_stream(sid)
                del streams[sid]
                if st.close_after:
                    with self.lock:
                        self.close_conns.add(conn_no)

