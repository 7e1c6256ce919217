"""A DNS-over-HTTPS server on loopback (RFC 8484 POST application/dns-message), answering from a
table with responses built by dnspython, and recording every query it was asked."""

import http.server
import ssl
import threading
import time

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DohServer:
    """``answers`` maps a lower-case name (no trailing dot) to a list of IP strings; names absent
    from it get NXDOMAIN.  ``queries`` lists (name, type name, content type) in arrival order."""

    def __init__(self, certs, answers):
        self.answers = answers
        self.queries: list[tuple[str, str, str]] = []
        self.status = 200
        # name -> seconds to wait before answering it
        self.delay: dict[str, float] = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                q = dns.message.from_wire(body)
                question = q.question[0]
                name = question.name.to_text(omit_final_dot=True).lower()
                rtype = dns.rdatatype.to_text(question.rdtype)
                outer.queries.append((name, rtype, self.headers.get("Content-Type", "")))
                time.sleep(outer.delay.get(name, 0))
                r = dns.message.make_response(q)
                if name not in outer.answers:
                    r.set_rcode(dns.rcode.NXDOMAIN)
                else:
                    want = [a for a in outer.answers[name] if (":" in a) == (rtype == "AAAA")]
                    if want:
                        r.answer.append(dns.rrset.from_text(question.name, 30, "IN", rtype, *want))
                wire = r.to_wire()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/dns-message")
                self.send_header("Content-Length", str(len(wire)))
                self.end_headers()
                self.wfile.write(wire)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs.server_cert, certs.server_key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/dns-query"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
