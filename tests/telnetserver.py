"""A scripted telnet server on loopback for test_telnet: on each connection it sends the opening
bytes of the scenario (option requests, subnegotiation requests, text), then reads what the
client sends, answers each option request of the client's with the reply given for it, echoes
data lines back upper-cased, and closes after a line "quit" (or when the client closes). Every
byte received is recorded per connection."""

import threading

from helpers import LoopbackServer

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
BINARY, ECHO, SGA, TTYPE, NAWS, XDISPLOC, NEW_ENVIRON = 0, 1, 3, 24, 31, 35, 39
SEND = 1


def sb(opt, *payload):
    return bytes([IAC, SB, opt, *payload, IAC, SE])


class TelnetServer(LoopbackServer):
    scheme = "telnet"

    def __init__(self):
        # What a connection gets first, and whether it closes at once after that.
        self.opening = b""
        self.close_after_opening = False
        self.received = []
        super().__init__()

    def _accepted(self, conn):
        rec = Received()
        self.received.append(rec)
        return (rec,)

    def _serve(self, conn, rec):
        conn.settimeout(10)
        try:
            conn.sendall(self.opening)
            if self.close_after_opening:
                return
            line = bytearray()
            state = "data"
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                rec.extend(chunk)
                for c in chunk:
                    if state == "data":
                        if c == IAC:
                            state = "iac"
                        else:
                            line.append(c)
                            if c == 10:
                                if line.strip() == b"quit":
                                    conn.sendall(b"BYE\r\n")
                                    return
                                conn.sendall(bytes(line).upper().replace(b"\xff", b"\xff\xff"))
                                line.clear()
                    elif state == "iac":
                        if c == IAC:
                            line.append(IAC)
                            state = "data"
                        elif c in (WILL, WONT, DO, DONT):
                            state = c
                        elif c == SB:
                            state = "sb"
                        else:
                            state = "data"
                    elif state == "sb":
                        if c == IAC:
                            state = "sbiac"
                    elif state == "sbiac":
                        state = "data" if c == SE else "sb"
                    else:
                        state = "data"
        except OSError:
            pass
        finally:
            conn.close()
            rec.done.set()

    def last(self):
        """What the last connection received, once the server is done with it."""
        rec = self.received[-1]
        assert rec.done.wait(5)
        return bytes(rec)


class Received(bytearray):
    def __init__(self):
        super().__init__()
        self.done = threading.Event()
