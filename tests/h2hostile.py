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
  /hang                  response head and 100 of 100,000 body bytes, then nothing (the stream stays open)
  /goaway-mid/<code>     head and 1,000 of 2,000 body bytes, GOAWAY(last-stream-id = this stream,
                         <code>); with code 0 the rest of the body follows, then the connection closes
  /raw/<name>            a response written as raw frames (RAW_RESPONSES: invalid HPACK, a
                         connection-specific header, DATA beyond content-length, PUSH_PROMISE ...)
  /early-hints           a 103 with a link header, then 200 and its body
  /trailers              200, a body, then trailer fields in a HEADERS frame that ends the stream
  anything else          echoes "<method> <path> <request body>"
A TLS client that offers only http/1.1 in ALPN (libcurl after HTTP_1_1_REQUIRED) gets HTTP/1.1 answers
that echo the same way, with `x-served-by: http/1.1`.
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
import h2.settings
import hyperframe.frame

import servers


# A marker in a connection's raw_out: close the connection once the frames before it are out.
CLOSE = object()


def _headers(conn, sid, fields, end_stream=False, block=None):
    # HPACK through the connection's own encoder, so its dynamic table stays in step with the client.
    if block is None:
        block = conn.encoder.encode(fields)
    flags = ["END_HEADERS"] + (["END_STREAM"] if end_stream else [])
    return hyperframe.frame.HeadersFrame(sid, data=block, flags=flags).serialize()


def _data(sid, data, end_stream=True):
    return hyperframe.frame.DataFrame(sid, data, flags=["END_STREAM"] if end_stream else []).serialize()


def _huge_headers(conn, sid):
    # A 400 KB header list: one HEADERS frame and CONTINUATION frames of 16 KiB.
    block = conn.encoder.encode([(":status", "200")] + [("x-big-%d" % i, "v" * 1000) for i in range(400)])
    pieces = [block[i:i + 16384] for i in range(0, len(block), 16384)]
    frames = [hyperframe.frame.HeadersFrame(sid, data=pieces[0]).serialize()]
    for i, p in enumerate(pieces[1:], 2):
        frames.append(hyperframe.frame.ContinuationFrame(
            sid, data=p, flags=["END_HEADERS"] if i == len(pieces) else []).serialize())
    return frames + [_data(sid, b"ok")]


# /raw/<name>: the frames of a response hyper-h2 would refuse to send.
RAW_RESPONSES = {
    "bad-hpack": lambda conn, sid: [_headers(conn, sid, None, block=b"\xff\xff\xff\xff\x7f")],
    "connection-header": lambda conn, sid: [
        _headers(conn, sid, [(":status", "200"), ("connection", "keep-alive"), ("content-length", "2")]),
        _data(sid, b"ok")],
    "transfer-encoding": lambda conn, sid: [
        _headers(conn, sid, [(":status", "200"), ("transfer-encoding", "chunked")]), _data(sid, b"ok")],
    "uppercase-name": lambda conn, sid: [
        _headers(conn, sid, [(":status", "200"), ("X-Upper", "1"), ("content-length", "2")]), _data(sid, b"ok")],
    "no-status": lambda conn, sid: [_headers(conn, sid, [("content-length", "2")]), _data(sid, b"ok")],
    "data-over-length": lambda conn, sid: [
        _headers(conn, sid, [(":status", "200"), ("content-length", "5")]), _data(sid, b"0123456789")],
    "data-under-length": lambda conn, sid: [
        _headers(conn, sid, [(":status", "200"), ("content-length", "50")]), _data(sid, b"0123456789")],
    "huge-headers": _huge_headers,
    "push-promise": lambda conn, sid: [
        hyperframe.frame.PushPromiseFrame(sid, promised_stream_id=2, flags=["END_HEADERS"], data=conn.encoder.encode(
            [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"), (":path", "/pushed")])).serialize(),
        _headers(conn, sid, [(":status", "200"), ("content-length", "2")]), _data(sid, b"ok")],
    "data-before-headers": lambda conn, sid: [_data(sid, b"early", end_stream=False),
                                              _headers(conn, sid, [(":status", "200")], end_stream=True)],
}


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

    def __init__(self, certs=None, settings=None, ack_data=True):
        # SETTINGS announced on top of hyper-h2's (h2.settings.SettingCodes -> value), which hyper-h2
        # itself does not enforce: with MAX_CONCURRENT_STREAMS 0 every stream is refused (REFUSED_STREAM).
        self.settings = settings or {}
        self.ack_data = ack_data  # False: no WINDOW_UPDATE ever, so an upload stalls once its window is spent
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
            # h2 first: a client offering both gets h2 (the server's preference).
            self.ctx.set_alpn_protocols(["h2", "http/1.1"])
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
                if s.selected_alpn_protocol() != "h2":
                    self._http11(s, conn_no)
                    return
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
        conn.raw_out = []  # frames written around hyper-h2's state machine (the /raw/ cues)
        conn.initiate_connection()
        first = conn.data_to_send()
        if self.settings:
            f = hyperframe.frame.SettingsFrame(0, settings=dict(conn.local_settings.items()))
            f.settings.update(self.settings)
            first = f.serialize()
        s.sendall(first)
        refuse_all = self.settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS) == 0
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
                    if refuse_all:
                        conn.reset_stream(st.sid, error_code=7)
                        self._record(conn_no, st, "refused")
                    elif parts[0] == "refuse-early" and self._take_cue("refuse", int(parts[1]), parts[2]):
                        conn.reset_stream(st.sid, error_code=7)
                        self._record(conn_no, st, "refused")
                    else:
                        streams[ev.stream_id] = st
                elif isinstance(ev, h2.events.DataReceived):
                    st = streams.get(ev.stream_id)
                    if st is not None:
                        st.body += ev.data
                    if self.ack_data:
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
            out = conn.data_to_send() + b"".join(f for f in conn.raw_out if f is not CLOSE)
            close_now = any(f is CLOSE for f in conn.raw_out)
            conn.raw_out = []
            if goaway_last is not None and before is None:
                out += hyperframe.frame.GoAwayFrame(stream_id=0, last_stream_id=goaway_last, error_code=0).serialize()
            if out:
                s.sendall(out)
            if close_now:
                time.sleep(0.1)
                s.shutdown(socket.SHUT_RDWR)
                return
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

    def _http11(self, s, conn_no):
        """HTTP/1.1 keep-alive echo for a client that did not take h2."""
        buf = b""
        while not self.stopping:
            while b"\r\n\r\n" not in buf:
                data = s.recv(65536)
                if not data:
                    return
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            while len(buf) < length:
                data = s.recv(65536)
                if not data:
                    return
                buf += data
            body, buf = buf[:length], buf[length:]
            with self.lock:
                self.requests.append({"conn": conn_no, "sid": None, "method": method, "path": path, "body": body,
                                      "outcome": "http/1.1"})
            out = method.encode() + b" " + path.encode() + b" " + body
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nx-served-by: http/1.1\r\n\r\n" % len(out) + out)

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
        if kind in ("hang", "goaway-mid", "raw", "early-hints", "trailers"):
            self._scripted(conn, st, kind, parts)
            streams.pop(st.sid)
            self._record(conn_no, st, kind)
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

    def _scripted(self, conn, st, kind, parts):
        sid = st.sid
        if kind == "hang":
            conn.send_headers(sid, [(":status", "200"), ("content-length", "100000")])
            conn.send_data(sid, b"h" * 100)
        elif kind == "goaway-mid":
            code = int(parts[1])
            conn.send_headers(sid, [(":status", "200"), ("content-length", "2000")])
            conn.send_data(sid, b"g" * 1000)
            conn.raw_out.append(conn.data_to_send())
            conn.raw_out.append(hyperframe.frame.GoAwayFrame(0, last_stream_id=sid, error_code=code).serialize())
            if code == 0:
                conn.raw_out.append(hyperframe.frame.DataFrame(sid, b"G" * 1000, flags=["END_STREAM"]).serialize())
            conn.raw_out.append(CLOSE)
        elif kind == "early-hints":
            conn.send_headers(sid, [(":status", "103"), ("link", "</s.css>; rel=preload")])
            conn.send_headers(sid, [(":status", "200"), ("content-length", "5")])
            conn.send_data(sid, b"hints", end_stream=True)
        elif kind == "trailers":
            conn.send_headers(sid, [(":status", "200"), ("trailer", "x-checksum")])
            conn.send_data(sid, b"trailed")
            conn.send_headers(sid, [("x-checksum", "abc123"), ("x-more", "1")], end_stream=True)
        else:
            conn.raw_out.append(conn.data_to_send())
            conn.raw_out.extend(RAW_RESPONSES[parts[1]](conn, sid))

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

