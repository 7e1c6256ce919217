"""OPENSOCKETFUNCTION / SOCKOPTFUNCTION / CLOSESOCKETFUNCTION / PREREQFUNCTION: arguments
(fds labelled, ports normalised), call order relative to perform/close, return-value handling."""
import socket

from _common import Labels, Obs, add_port, capture_stderr, perform, pycurl, url

o = Obs()


def run(name, open_ret="socket", sockopt_ret=0, prereq_ret=0, close_ret=0):
    fdl = Labels("fd")
    events = []
    keep = []
    c = pycurl.Curl()

    def opensocket(purpose, addr):
        events.append(["open", purpose, type(addr).__name__, list(getattr(addr, "_fields", [])),
                       addr.family, addr.socktype & 0xFF, addr.protocol, addr.addr])
        if open_ret != "socket":
            return open_ret
        s = socket.socket(addr.family, addr.socktype & 0xFF, addr.protocol)
        keep.append(s)
        events.append(["opened", fdl(s.fileno())])
        return s

    def sockopt(fd, purpose):
        events.append(["sockopt", fdl(fd), purpose])
        return sockopt_ret

    def closesocket(fd):
        events.append(["closesocket", fdl(fd)])
        return close_ret

    def prereq(primary_ip, local_ip, primary_port, local_port):
        add_port(local_port)
        events.append(["prereq", primary_ip, local_ip, primary_port, local_port])
        return prereq_ret

    c.setopt(pycurl.URL, url("/hello"))
    c.setopt(pycurl.WRITEFUNCTION, lambda d: None)
    c.setopt(pycurl.OPENSOCKETFUNCTION, opensocket)
    c.setopt(pycurl.SOCKOPTFUNCTION, sockopt)
    c.setopt(pycurl.CLOSESOCKETFUNCTION, closesocket)
    c.setopt(pycurl.PREREQFUNCTION, prereq)
    with capture_stderr() as err:
        events.append(["perform begin"])
        perform(c, o, f"{name}.perform")
        events.append(["perform end"])
        last = c.getinfo(pycurl.ACTIVESOCKET)
        events.append(["ACTIVESOCKET", fdl(last) if last >= 0 else last])
        events.append(["close begin"])
        c.close()
        events.append(["close end"])
    o[f"{name}.events"] = events
    o[f"{name}.stderr"] = err
    o[f"{name}.python_socket_still_open"] = [s.fileno() >= 0 for s in keep]
    for s in keep:
        s.close()


run("ok")
run("open_none", open_ret=None)
run("open_minus1", open_ret=-1)
run("sockopt_error", sockopt_ret=1)
run("sockopt_none", sockopt_ret=None)
run("prereq_abort", prereq_ret=1)
run("prereq_none", prereq_ret=None)
run("close_ret_none", close_ret=None)
o.emit()
