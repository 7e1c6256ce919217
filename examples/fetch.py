"""Fetch a page with pycurl: starts a small HTTP server on 127.0.0.1 and downloads from it."""
import http.server
import io
import threading

import pycurl


class Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"hello from a real HTTP server on loopback\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
threading.Thread(target=srv.serve_forever, daemon=True).start()

buf = io.BytesIO()
c = pycurl.Curl()
c.setopt(pycurl.URL, "http://127.0.0.1:%d/" % srv.server_address[1])
c.setopt(pycurl.WRITEDATA, buf)
c.perform()
print(pycurl.version)
print("status", c.getinfo(pycurl.RESPONSE_CODE), "bytes", c.getinfo(pycurl.SIZE_DOWNLOAD_T))
print(buf.getvalue().decode(), end="")
c.close()
srv.shutdown()
