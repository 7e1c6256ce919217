"""Happy eyeballs as libcurl 8.23 does it, on loopback: ::1 and 127.0.0.1 (and 127.0.0.2) behind
one name through RESOLVE, a silent address made by a listener whose backlog is full (the kernel
drops further SYNs, so a connect there neither succeeds nor fails). libcurl tries IPv6 first, starts
the next address after HAPPY_EYEBALLS_TIMEOUT_MS (200 ms by default) or at once when one is refused,
keeps the first that connects and closes the others; CONNECTTIMEOUT covers the whole race.
Every expectation here was observed with real pycurl 7.49 / libcurl 8.23."""
import io
import socket

import pytest

import pycurl
from eyeballs_servers import HAPPY_EYEBALLS_TIMEOUT_MS, Loopback, attempt


@pytest.fixture
def loopback():
    made = []

    def make(**roles):
        names = {"v6": "::1", "v4": "127.0.0.1", "v4b": "127.0.0.2"}
        lb = Loopback({names[k]: v for k, v in roles.items() if v})
        made.append(lb)
        return lb
    yield make
    for lb in made:
        lb.close()


def opened(events):
    return [e[1] for e in events if e[0] == "open"]


def test_silent_ipv6_falls_back_to_ipv4_after_the_eyeballs_timeout(loopback):
    lb = loopback(v6="silent", v4="serve")
    took, result, events = attempt(lb.port, "[::1],127.0.0.1")
    assert result == ("ok", b"ok", "127.0.0.1")
    assert opened(events) == ["::1", "127.0.0.1"]
    # The loser is closed through CLOSESOCKETFUNCTION too (and the winner with the handle).
    assert sum(1 for e in events if e[0] == "close") == 2
    assert 0.18 <= took < 3, took  # 200 ms, not the 10 s CONNECTTIMEOUT


def test_ipv6_is_tried_first_whatever_the_order(loopback):
    lb = loopback(v6="serve", v4="silent")
    took, result, events = attempt(lb.port, "127.0.0.1,[::1]")
    assert result == ("ok", b"ok", "::1")
    assert opened(events) == ["::1"]
    assert took < 0.18, took


def test_the_timeout_option_paces_the_attempts(loopback):
    lb = loopback(v6="silent", v4="serve")
    took, result, _ = attempt(lb.port, "[::1],127.0.0.1", HAPPY_EYEBALLS_TIMEOUT_MS=1000)
    assert result == ("ok", b"ok", "127.0.0.1")
    assert 0.95 <= took < 4, took
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", HAPPY_EYEBALLS_TIMEOUT_MS=0)
    assert result == ("ok", b"ok", "127.0.0.1") and opened(events) == ["::1", "127.0.0.1"]
    assert took < 0.18, took


def test_a_refused_address_moves_on_at_once(loopback):
    lb = loopback(v4="serve")  # nothing on ::1: refused
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", HAPPY_EYEBALLS_TIMEOUT_MS=3000)
    assert result == ("ok", b"ok", "127.0.0.1")
    assert opened(events) == ["::1", "127.0.0.1"]
    assert took < 1.5, took


def test_addresses_of_one_family_are_paced_too(loopback):
    lb = loopback(v4b="silent", v4="serve")
    took, result, events = attempt(lb.port, "127.0.0.2,127.0.0.1")
    assert result == ("ok", b"ok", "127.0.0.1")
    assert opened(events) == ["127.0.0.2", "127.0.0.1"]
    assert 0.18 <= took < 3, took


def test_connecttimeout_covers_the_whole_race(loopback):
    lb = loopback(v6="silent", v4="silent")
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", CONNECTTIMEOUT_MS=700)
    assert result == ("error", 28)
    assert opened(events) == ["::1", "127.0.0.1"]
    assert sum(1 for e in events if e[0] == "close") == 2
    assert 0.65 <= took < 3, took


def test_every_address_refused(loopback):
    lb = loopback(v4b="serve")  # the port is free on ::1 and 127.0.0.1
    took, result, events = attempt(lb.port, "[::1],127.0.0.1")
    assert result == ("error", 7)
    assert opened(events) == ["::1", "127.0.0.1"]
    assert took < 1.5, took


def test_ipresolve_restricts_the_families(loopback):
    lb = loopback(v6="silent", v4="serve")
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", IPRESOLVE=pycurl.IPRESOLVE_V4)
    assert result == ("ok", b"ok", "127.0.0.1") and opened(events) == ["127.0.0.1"]
    assert took < 0.18, took
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", IPRESOLVE=pycurl.IPRESOLVE_V6,
                                   CONNECTTIMEOUT_MS=500)
    assert result == ("error", 28) and opened(events) == ["::1"]


def test_socket_api_sees_both_attempts_and_the_loser_removed(loopback):
    lb = loopback(v6="silent", v4="serve")
    took, result, events = attempt(lb.port, "[::1],127.0.0.1", multi=True)
    assert result == ("ok", b"ok", "127.0.0.1")
    assert 0.18 <= took < 3, took
    outs = [e[2] for e in events if e[:2] == ("sock", pycurl.POLL_OUT)]
    assert len(outs) == 2, events  # each attempt waits for writability, reported as libcurl does
    loser, winner = outs
    removed = [e[2] for e in events if e[:2] == ("sock", pycurl.POLL_REMOVE)]
    assert loser in removed and winner in removed
    # The loser's fd is closed only after its REMOVE was reported.
    assert events.index(("sock", pycurl.POLL_REMOVE, loser)) < events.index(("close", loser))


def test_option_values():
    c = pycurl.Curl()
    for ok in (0, 1, 200, 2 ** 31):
        c.setopt(HAPPY_EYEBALLS_TIMEOUT_MS, ok)
    with pytest.raises(pycurl.error) as e:
        c.setopt(HAPPY_EYEBALLS_TIMEOUT_MS, -1)
    assert e.value.args == (43, "setopt 0x10f got bad argument")
    with pytest.raises(TypeError, match="unsetopt\\(\\) is not supported for this option"):
        c.unsetopt(HAPPY_EYEBALLS_TIMEOUT_MS)
    with pytest.raises(TypeError, match="strings are not supported for this option"):
        c.setopt(HAPPY_EYEBALLS_TIMEOUT_MS, "x")
    c.close()


def test_an_opensocket_refusal_moves_on_to_the_next_address(loopback):
    lb = loopback(v6="serve", v4="serve")
    for refuse in (lambda: -1, lambda: 1 / 0):
        c = pycurl.Curl()
        c.setopt(pycurl.URL, f"http://he.test:{lb.port}/")
        c.setopt(pycurl.RESOLVE, [f"he.test:{lb.port}:[::1],127.0.0.1"])
        c.setopt(pycurl.WRITEDATA, io.BytesIO())
        c.setopt(pycurl.OPENSOCKETFUNCTION, lambda purpose, addr, refuse=refuse: (
            refuse() if addr[0] == socket.AF_INET6 else socket.socket(addr[0], addr[1], addr[2]).detach()))
        c.perform()
        assert c.getinfo(pycurl.PRIMARY_IP) == "127.0.0.1"
        c.close()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, f"http://he.test:{lb.port}/")
    c.setopt(pycurl.RESOLVE, [f"he.test:{lb.port}:[::1],127.0.0.1"])
    c.setopt(pycurl.OPENSOCKETFUNCTION, lambda purpose, addr: -1)
    with pytest.raises(pycurl.error) as e:
        c.perform()
    assert e.value.args[0] == 7
    assert e.value.args[1].startswith(f"Failed to connect to he.test:{lb.port} after ")
    c.close()
