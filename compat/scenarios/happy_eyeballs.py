"""Happy eyeballs on loopback (::1, 127.0.0.1, 127.0.0.2 behind one RESOLVE name; silent addresses
are listeners with a full accept queue): the order of attempts, the winner, the losers closed,
how long it took (as a class), and what the socket API reports."""
from _common import Obs, pycurl
from eyeballs_servers import HAPPY_EYEBALLS_TIMEOUT_MS, Loopback, attempt

o = Obs()


def pace(t):
    # 0: no wait; 1: one 200 ms pacing step; 5: about a second; 10: much longer
    return 0 if t < 0.15 else 1 if t < 0.6 else 5 if t < 1.6 else 10


def case(key, roles, addresses, **opts):
    lb = Loopback(roles)
    try:
        took, result, events = attempt(lb.port, addresses, **opts)
    finally:
        lb.close()
    o[key] = {"result": result, "opened": [e[1] for e in events if e[0] == "open"], "pace": pace(took)}
    if not opts.get("multi"):
        # Under a multi the winner closes with the multi, where pycurl fails to call back.
        o[key + "_closed"] = sum(1 for e in events if e[0] == "close")
    return events


case("v6_silent", {"::1": "silent", "127.0.0.1": "serve"}, "[::1],127.0.0.1")
case("v4_listed_first_silent", {"::1": "serve", "127.0.0.1": "silent"}, "127.0.0.1,[::1]")
case("v6_refused", {"127.0.0.1": "serve"}, "[::1],127.0.0.1", HAPPY_EYEBALLS_TIMEOUT_MS=3000)
case("one_family", {"127.0.0.2": "silent", "127.0.0.1": "serve"}, "127.0.0.2,127.0.0.1")
case("timeout_1000", {"::1": "silent", "127.0.0.1": "serve"}, "[::1],127.0.0.1",
     HAPPY_EYEBALLS_TIMEOUT_MS=1000)
case("both_silent", {"::1": "silent", "127.0.0.1": "silent"}, "[::1],127.0.0.1", CONNECTTIMEOUT_MS=700)
case("all_refused", {"127.0.0.2": "serve"}, "[::1],127.0.0.1")
case("ipresolve_v4", {"::1": "silent", "127.0.0.1": "serve"}, "[::1],127.0.0.1",
     IPRESOLVE=pycurl.IPRESOLVE_V4)
ev = case("socket_api", {"::1": "silent", "127.0.0.1": "serve"}, "[::1],127.0.0.1", multi=True)
outs = [e[2] for e in ev if e[:2] == ("sock", pycurl.POLL_OUT)]
o["socket_api_pollout_reports"] = len(outs)
if len(outs) == 2:
    loser, winner = outs
    o["socket_api_loser_removed_then_closed"] = (
        ("sock", pycurl.POLL_REMOVE, loser) in ev and ("close", loser) in ev
        and ev.index(("sock", pycurl.POLL_REMOVE, loser)) < ev.index(("close", loser)))
    o["socket_api_winner_removed"] = ("sock", pycurl.POLL_REMOVE, winner) in ev
o.emit()
